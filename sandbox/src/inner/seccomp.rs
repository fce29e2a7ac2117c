//! The seccomp filter the inner stage installs before running the command.
//!
//! Every mode denies `ptrace`, `process_vm_readv/writev`, `io_uring_*`, the keyring calls
//! `keyctl`, `add_key` and `request_key`, and `AF_VSOCK` sockets (`socket`/`socketpair`:
//! vsock reaches the hypervisor host, and WSL2 interop runs host programs through it,
//! whatever the network namespace). The restricted
//! network mode also denies, with `EPERM`, creating sockets of any family but `AF_UNIX`
//! (`socket`, `socketpair`) and every call that reaches a new peer (`connect`, `bind`,
//! `listen`, `accept`, `accept4`, `sendmmsg`, `recvmmsg`, and `sendto` with a destination
//! address). Calls on sockets the command already has reach nothing new once `socket` is
//! limited to `AF_UNIX` and stay allowed: `read`/`write`, `sendmsg`/`recvmsg`, `sendto`
//! without a destination (glibc's `send`), `shutdown`, `getsockopt`, `setsockopt`,
//! `getsockname`, `getpeername`; so socketpair-based tools keep working (Node's
//! `child_process.execSync` shuts down one end of its pipes). Datagram
//! `AF_UNIX` sockets and pairs (`SOCK_DGRAM`, and `SOCK_RAW`, which the kernel turns into
//! a datagram socket) are denied too: `sendmsg` with a destination reaches any host socket
//! path the command can see (e.g. the system log), read-only mounts notwithstanding. The
//! proxy mode denies `socket` for every family but `AF_INET`/`AF_INET6` (no `AF_UNIX`: see
//! [`crate::proxy`]) and `socketpair` for every family but `AF_UNIX` and for datagram
//! pairs; the new network namespace limits IP to loopback and the proxy bridges. Syscalls of another architecture
//! (the i386 ABI on x86_64) kill the process, and on x86_64 every call of the x32 ABI (its
//! numbers have bit 30 set) is denied with `EPERM`: one test ahead of the rules, instead of
//! an x32 twin of each denied call, halves the program (the kernel's cost to install a filter
//! grows with its length: about 0.6 µs an instruction on the VMs measured, 190 µs for 284).

use std::collections::BTreeMap;

use seccompiler::{
    BpfProgram, SeccompAction, SeccompCmpArgLen, SeccompCmpOp, SeccompCondition, SeccompFilter,
    SeccompRule, TargetArch, sock_filter,
};

use crate::policy::NetworkMode;

/// Denied in every mode.
const ALWAYS_DENIED: &[libc::c_long] = &[
    libc::SYS_ptrace,
    libc::SYS_process_vm_readv,
    libc::SYS_process_vm_writev,
    libc::SYS_io_uring_setup,
    libc::SYS_io_uring_enter,
    libc::SYS_io_uring_register,
];

/// The kernel keyring calls, denied in every mode: the session keyring (and the user
/// keyring) are the caller's, so the command could read its keys or plant new ones.
const KEYRING_DENIED: &[libc::c_long] =
    &[libc::SYS_keyctl, libc::SYS_add_key, libc::SYS_request_key];

/// Denied unconditionally when the network is restricted.
const NETWORK_DENIED: &[libc::c_long] = &[
    libc::SYS_connect,
    libc::SYS_bind,
    libc::SYS_listen,
    libc::SYS_accept,
    libc::SYS_accept4,
    libc::SYS_sendmmsg,
    libc::SYS_recvmmsg,
];

/// `sendto`'s destination address argument: a non-NULL one is denied when the network is
/// restricted (a datagram-capable socket could name any host socket path with it).
const SENDTO_DEST_ARG: u8 = 4;

/// Denied when the first argument (the address family) is not `AF_UNIX`.
const FAMILY_CHECKED: &[libc::c_long] = &[libc::SYS_socket, libc::SYS_socketpair];

/// The socket type bits of `socket`/`socketpair`'s second argument (without
/// `SOCK_NONBLOCK`/`SOCK_CLOEXEC`).
const SOCK_TYPE_MASK: u64 = 0xf;

/// Why the filter could not be built or installed.
#[derive(Debug, thiserror::Error)]
#[error("seccomp: {0}")]
pub struct SeccompError(String);

/// Builds the BPF program for `mode`.
pub fn program(mode: NetworkMode) -> Result<BpfProgram, SeccompError> {
    let arch: TargetArch = std::env::consts::ARCH.try_into().map_err(|_| {
        SeccompError(format!(
            "unsupported architecture {}",
            std::env::consts::ARCH
        ))
    })?;
    let mut rules: BTreeMap<i64, Vec<SeccompRule>> = BTreeMap::new();
    let mut deny = |nr: libc::c_long, rule: Vec<SeccompRule>| {
        rules.insert(nr, rule);
    };
    for &nr in ALWAYS_DENIED.iter().chain(KEYRING_DENIED) {
        deny(nr, Vec::new());
    }
    let family = |op: SeccompCmpOp, family: libc::c_int| {
        SeccompCondition::new(0, SeccompCmpArgLen::Dword, op, family as u64)
            .map_err(|e| SeccompError(e.to_string()))
    };
    let rule = |conditions| SeccompRule::new(conditions).map_err(|e| SeccompError(e.to_string()));
    let not_unix = rule(vec![family(SeccompCmpOp::Ne, libc::AF_UNIX)?])?;
    match mode {
        NetworkMode::Enabled => {
            // The restricted and proxy rules below deny AF_VSOCK with every other family.
            let vsock = rule(vec![family(SeccompCmpOp::Eq, libc::AF_VSOCK)?])?;
            for &nr in FAMILY_CHECKED {
                deny(nr, vec![vsock.clone()]);
            }
        }
        NetworkMode::Restricted => {
            for &nr in NETWORK_DENIED {
                deny(nr, Vec::new());
            }
            let addressed = SeccompCondition::new(
                SENDTO_DEST_ARG,
                SeccompCmpArgLen::Qword,
                SeccompCmpOp::Ne,
                0,
            )
            .map_err(|e| SeccompError(e.to_string()))?;
            deny(libc::SYS_sendto, vec![rule(vec![addressed])?]);
            for &nr in FAMILY_CHECKED {
                let mut denied = vec![not_unix.clone()];
                denied.extend(unix_datagram_rules()?);
                deny(nr, denied);
            }
        }
        NetworkMode::Proxy => {
            // IP sockets only reach the namespace's loopback (the proxy bridges); Unix
            // sockets could reach host services by path, so only socketpair keeps them.
            let not_ip = rule(vec![
                family(SeccompCmpOp::Ne, libc::AF_INET)?,
                family(SeccompCmpOp::Ne, libc::AF_INET6)?,
            ])?;
            deny(libc::SYS_socket, vec![not_ip]);
            let mut denied = vec![not_unix];
            denied.extend(unix_datagram_rules()?);
            deny(libc::SYS_socketpair, denied);
        }
    }
    let filter = SeccompFilter::new(
        rules,
        SeccompAction::Allow,
        SeccompAction::Errno(libc::EPERM as u32),
        arch,
    )
    .map_err(|e| SeccompError(e.to_string()))?;
    let rules: BpfProgram = filter
        .try_into()
        .map_err(|e: seccompiler::BackendError| SeccompError(e.to_string()))?;
    Ok(with_abi_check(rules))
}

/// `AUDIT_ARCH_X86_64`: the `arch` of a native x86_64 system call in `seccomp_data`.
#[cfg(target_arch = "x86_64")]
const AUDIT_ARCH_X86_64: u32 = 0xc000_003e;

/// The x32 ABI's bit in a system call number.
#[cfg(target_arch = "x86_64")]
const X32_SYSCALL_BIT: u32 = 0x4000_0000;

/// `rules` (which start by checking the architecture themselves, see the tests) after a
/// prologue that denies every x32 call: `A = arch; if A != x86_64 goto rules; A = nr;
/// if A & X32 return EPERM; rules`. BPF jumps are relative, so the rules' own jumps are
/// unchanged. Elsewhere the rules alone.
fn with_abi_check(rules: BpfProgram) -> BpfProgram {
    #[cfg(target_arch = "x86_64")]
    {
        let op = |code: u32, k: u32, jt: u8, jf: u8| sock_filter {
            code: code as u16,
            jt,
            jf,
            k,
        };
        let load = |offset: u32| op(libc::BPF_LD | libc::BPF_W | libc::BPF_ABS, offset, 0, 0);
        let mut program = vec![
            load(SECCOMP_DATA_ARCH),
            // Not x86_64: on to the rules, which kill it.
            op(
                libc::BPF_JMP | libc::BPF_JEQ | libc::BPF_K,
                AUDIT_ARCH_X86_64,
                0,
                3,
            ),
            load(SECCOMP_DATA_NR),
            // No x32 bit: on to the rules.
            op(
                libc::BPF_JMP | libc::BPF_JSET | libc::BPF_K,
                X32_SYSCALL_BIT,
                0,
                1,
            ),
            op(
                libc::BPF_RET | libc::BPF_K,
                libc::SECCOMP_RET_ERRNO | (libc::EPERM as u32 & libc::SECCOMP_RET_DATA),
                0,
                0,
            ),
        ];
        program.extend(rules);
        program
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        rules
    }
}

/// The offset of the system call number in `struct seccomp_data`.
#[cfg(target_arch = "x86_64")]
const SECCOMP_DATA_NR: u32 = 0;

/// The offset of the architecture in `struct seccomp_data`.
const SECCOMP_DATA_ARCH: u32 = 4;

/// Rules matching a `socket`/`socketpair` call whose type (second argument) makes an
/// `AF_UNIX` datagram socket: `SOCK_DGRAM`, or `SOCK_RAW`, which `AF_UNIX` treats as
/// `SOCK_DGRAM`. A datagram socket, even one of a connected pair, can `sendmsg` to any
/// host socket path named in the message; stream and seqpacket sockets refuse a
/// destination once connected.
fn unix_datagram_rules() -> Result<Vec<SeccompRule>, SeccompError> {
    [libc::SOCK_DGRAM, libc::SOCK_RAW]
        .into_iter()
        .map(|kind| {
            let condition = SeccompCondition::new(
                1,
                SeccompCmpArgLen::Dword,
                SeccompCmpOp::MaskedEq(SOCK_TYPE_MASK),
                kind as u64,
            )
            .map_err(|e| SeccompError(e.to_string()))?;
            SeccompRule::new(vec![condition]).map_err(|e| SeccompError(e.to_string()))
        })
        .collect()
}

/// Installs the filter on the calling thread (inherited by children). `no_new_privs` must
/// already be set.
pub fn install(mode: NetworkMode) -> Result<(), SeccompError> {
    let program = program(mode)?;
    seccompiler::apply_filter(&program)
        .map_err(|e| SeccompError(format!("cannot install the filter: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The prologue jumps into the rules at their first instruction, which must therefore
    /// load the architecture itself (seccompiler's programs start by checking it).
    #[test]
    fn the_rules_check_the_architecture_first() {
        for mode in [
            NetworkMode::Restricted,
            NetworkMode::Enabled,
            NetworkMode::Proxy,
        ] {
            let program = program(mode).unwrap();
            let prologue = if cfg!(target_arch = "x86_64") { 5 } else { 0 };
            let first = &program[prologue];
            assert_eq!(
                (u32::from(first.code), first.k),
                (
                    libc::BPF_LD | libc::BPF_W | libc::BPF_ABS,
                    SECCOMP_DATA_ARCH
                ),
                "{mode:?}"
            );
            assert!(
                program.len() < 160,
                "{mode:?}: {} instructions",
                program.len()
            );
        }
    }

    #[test]
    fn programs_build_for_every_mode() {
        let restricted = program(NetworkMode::Restricted).unwrap();
        let enabled = program(NetworkMode::Enabled).unwrap();
        let proxy = program(NetworkMode::Proxy).unwrap();
        assert!(restricted.len() > proxy.len());
        assert!(proxy.len() > enabled.len());
    }
}
