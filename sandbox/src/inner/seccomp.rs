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
//! (the i386 ABI on x86_64) kill the process.

use std::collections::BTreeMap;

use seccompiler::{
    BpfProgram, SeccompAction, SeccompCmpArgLen, SeccompCmpOp, SeccompCondition, SeccompFilter,
    SeccompRule, TargetArch,
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
        for nr in aliases(nr) {
            rules.insert(nr, rule.clone());
        }
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
    filter
        .try_into()
        .map_err(|e: seccompiler::BackendError| SeccompError(e.to_string()))
}

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

/// The syscall number and, on x86_64, its x32-ABI numbers (harmless where x32 is off).
fn aliases(nr: libc::c_long) -> Vec<i64> {
    #[cfg(target_arch = "x86_64")]
    {
        const X32: i64 = 0x4000_0000;
        // x32 has its own numbers for calls whose structures differ.
        let own = match nr {
            libc::SYS_ptrace => Some(521),
            libc::SYS_recvmmsg => Some(537),
            libc::SYS_sendmmsg => Some(538),
            libc::SYS_process_vm_readv => Some(539),
            libc::SYS_process_vm_writev => Some(540),
            libc::SYS_setsockopt => Some(541),
            libc::SYS_getsockopt => Some(542),
            _ => None,
        };
        let mut all = vec![nr, nr | X32];
        all.extend(own.map(|n| n | X32));
        all
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        vec![nr]
    }
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

    #[test]
    fn programs_build_for_every_mode() {
        let restricted = program(NetworkMode::Restricted).unwrap();
        let enabled = program(NetworkMode::Enabled).unwrap();
        let proxy = program(NetworkMode::Proxy).unwrap();
        assert!(restricted.len() > proxy.len());
        assert!(proxy.len() > enabled.len());
    }
}
