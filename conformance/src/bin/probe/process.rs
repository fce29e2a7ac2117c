//! Process actions: capabilities, no_new_privs, pids, ptrace, signals and exit statuses.

use std::io;

use nix::sys::signal::{SigHandler, SigSet, Signal, kill, signal};
use nix::unistd::{ForkResult, Pid, fork};

use crate::{Dispatched, Failure, Outcome, Usage, args, fail, number};

/// Runs a process action, or returns `None` if `action` is not one.
pub fn dispatch(action: &str, rest: &[&str]) -> Dispatched {
    let a = action;
    Some(match action {
        "caps" => args::<0>(a, rest).map(|[]| caps()),
        "pid" => args::<0>(a, rest).map(|[]| {
            println!("pid: {}", std::process::id());
            Ok(())
        }),
        "proc-pids" => args::<0>(a, rest).map(|[]| proc_pids()),
        "sid" => args::<0>(a, rest).map(|[]| {
            // getsid is 0 when the session leader is outside this PID namespace.
            let sid = nix::unistd::getsid(None).map_err(|e| fail(a, "getsid", e))?;
            println!("sid: {sid}");
            Ok(())
        }),
        "ns" => args::<1>(a, rest).map(|[kind]| {
            let link = format!("/proc/self/ns/{kind}");
            let target = std::fs::read_link(&link).map_err(|e| fail(a, &link, e))?;
            println!("ns: {}", target.display());
            Ok(())
        }),
        "kill0" => args::<1>(a, rest).and_then(|[p]| Ok(kill0(number(a, p)? as i32))),
        "ptrace" => args::<0>(a, rest).map(|[]| ptrace_attach()),
        "signal" => args::<1>(a, rest).map(|[s]| raise(s)),
        "exit" => args::<1>(a, rest).and_then(|[n]| std::process::exit(number(a, n)? as i32)),
        "sleep" => match rest.first() {
            // Further arguments are labels, visible in the process's command line.
            Some(n) => number(a, n).map(|secs| {
                std::thread::sleep(std::time::Duration::from_secs(secs as u64));
                Ok(())
            }),
            None => Err(Usage("sleep takes SECS [LABEL...]".into())),
        },
        "io-uring" => args::<0>(a, rest).map(|[]| io_uring_setup()),
        "process-vm-readv" => args::<0>(a, rest).map(|[]| process_vm_readv_self()),
        "print" => {
            println!("{}", rest.join(" "));
            Ok(Ok(()))
        }
        "env" => args::<1>(a, rest).map(|[name]| {
            std::env::var(name)
                .map(|v| println!("{name}={v}"))
                .map_err(|e| fail(a, name, e))
        }),
        _ => return None,
    })
}

/// Prints the five capability sets (bounding and ambient read through prctl, the others
/// through capget) and the no_new_privs flag, in `/proc/self/status` style.
fn caps() -> Outcome {
    let sets = uapi::caps::get().map_err(|e| fail("caps", "capget", io::Error::from(e)))?;
    let mut bounding = 0u64;
    let mut ambient = 0u64;
    for cap in 0..64u32 {
        // An unknown capability is in neither set (the kernel answers EINVAL).
        bounding |= u64::from(uapi::caps::bounding_has(cap).unwrap_or(false)) << cap;
        ambient |= u64::from(uapi::caps::ambient_has(cap).unwrap_or(false)) << cap;
    }
    // -1 if the kernel refused the query, as prctl itself reports it.
    let nnp = nix::sys::prctl::get_no_new_privs().map_or(-1, i32::from);
    println!("CapInh: {:016x}", sets.inheritable);
    println!("CapPrm: {:016x}", sets.permitted);
    println!("CapEff: {:016x}", sets.effective);
    println!("CapBnd: {bounding:016x}");
    println!("CapAmb: {ambient:016x}");
    println!("NoNewPrivs: {nnp}");
    Ok(())
}

fn proc_pids() -> Outcome {
    let mut pids: Vec<u32> = std::fs::read_dir("/proc")
        .map_err(|e| fail("proc-pids", "/proc", e))?
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse().ok())
        .collect();
    pids.sort_unstable();
    println!("count: {}", pids.len());
    let list: Vec<String> = pids.iter().map(u32::to_string).collect();
    println!("pids: {}", list.join(" "));
    Ok(())
}

fn kill0(pid: i32) -> Outcome {
    kill(Pid::from_raw(pid), None).map_err(|e| fail("kill0", &pid.to_string(), e))?;
    println!("alive: {pid}");
    Ok(())
}

/// Forks a child that pauses and tries to PTRACE_ATTACH to it.
fn ptrace_attach() -> Outcome {
    // SAFETY: the child only calls async-signal-safe functions (pause, _exit).
    let child = match unsafe { fork() }.map_err(|e| fail("ptrace", "fork", e))? {
        ForkResult::Child => loop {
            // SAFETY: pause is async-signal-safe; the parent kills this process.
            unsafe { libc::pause() };
        },
        ForkResult::Parent { child } => child,
    };
    // SAFETY: PTRACE_ATTACH with scalar arguments.
    let ret = unsafe { libc::ptrace(libc::PTRACE_ATTACH, child.as_raw(), 0, 0) };
    let err = io::Error::last_os_error();
    let _ = kill(child, Signal::SIGKILL);
    let _ = nix::sys::wait::waitpid(child, None);
    if ret != 0 {
        return Err(fail("ptrace", &format!("attach {child}"), err));
    }
    println!("ptrace attached: {child}");
    Ok(())
}

/// Restores the default action for `name` and sends it to this process.
fn raise(name: &str) -> Outcome {
    let upper = name.to_ascii_uppercase();
    let full = if upper.starts_with("SIG") {
        upper
    } else {
        format!("SIG{upper}")
    };
    let sig: Signal = full.parse().map_err(|e| fail("signal", name, e))?;
    if !matches!(sig, Signal::SIGKILL | Signal::SIGSTOP) {
        // SAFETY: installing SIG_DFL runs no handler code.
        unsafe { signal(sig, SigHandler::SigDfl) }.map_err(|e| fail("signal", name, e))?;
    }
    kill(Pid::this(), sig).map_err(|e| fail("signal", name, e))?;
    std::thread::sleep(std::time::Duration::from_secs(2));
    let blocked = SigSet::thread_get_mask().is_ok_and(|mask| mask.contains(sig));
    Err(Failure::Unexpected(format!(
        "signal {name}: still alive after sending it to myself (pid {}, {name} {} in the \
         inherited signal mask; a pid 1 also ignores signals it has no handler for)",
        std::process::id(),
        if blocked { "blocked" } else { "not blocked" }
    )))
}

/// Calls `io_uring_setup` for a one-entry ring (closing it if it was created).
fn io_uring_setup() -> Outcome {
    let mut params = [0u8; 120];
    // SAFETY: io_uring_setup writes one io_uring_params (120 bytes) into `params`.
    let fd = unsafe { libc::syscall(libc::SYS_io_uring_setup, 1u32, params.as_mut_ptr()) };
    if fd < 0 {
        return Err(fail(
            "io-uring",
            "io_uring_setup",
            io::Error::last_os_error(),
        ));
    }
    // SAFETY: `fd` is the ring descriptor just created.
    unsafe { libc::close(fd as libc::c_int) };
    println!("io_uring ok");
    Ok(())
}

/// Reads a word of this process's own memory through `process_vm_readv`.
fn process_vm_readv_self() -> Outcome {
    let source = 0x0123_4567_89ab_cdef_u64;
    let mut target = 0u64;
    let local = libc::iovec {
        iov_base: (&mut target as *mut u64).cast(),
        iov_len: 8,
    };
    let remote = libc::iovec {
        iov_base: (&source as *const u64).cast_mut().cast(),
        iov_len: 8,
    };
    // SAFETY: both iovecs describe 8 live bytes of this process; the kernel writes only into
    // `target`.
    let n = unsafe { libc::process_vm_readv(libc::getpid(), &local, 1, &remote, 1, 0) };
    if n != 8 {
        return Err(fail("process-vm-readv", "self", io::Error::last_os_error()));
    }
    println!("process_vm_readv ok: {target:#x}");
    Ok(())
}
