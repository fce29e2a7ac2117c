//! IPC actions: System V objects by id or key, and POSIX message queues, shared memory and
//! named semaphores (the last two live in `/dev/shm`).

use std::ffi::CString;
use std::io;
use std::mem::MaybeUninit;

use crate::{Dispatched, Failure, Outcome, Usage, args, fail, number};

/// Runs an IPC action, or returns `None` if `action` is not one.
pub fn dispatch(action: &str, rest: &[&str]) -> Dispatched {
    let a = action;
    Some(match action {
        "shmat" => id_arg(a, rest).map(shmat),
        "shmget" => key_arg(a, rest).map(|k| by_key(a, k, get_shm)),
        "semget" => key_arg(a, rest).map(|k| by_key(a, k, get_sem)),
        "msgget" => key_arg(a, rest).map(|k| by_key(a, k, get_msg)),
        "shmctl" => id_arg(a, rest).map(|id| stat_by_id(a, id, shm_stat)),
        "semctl" => id_arg(a, rest).map(|id| stat_by_id(a, id, sem_stat)),
        "msgctl" => id_arg(a, rest).map(|id| stat_by_id(a, id, msg_stat)),
        "sysv-list" => args::<0>(a, rest).map(|[]| sysv_list()),
        "mq-open" => args::<1>(a, rest).map(|[n]| mq_open(n, false)),
        "mq-create" => args::<1>(a, rest).map(|[n]| mq_open(n, true)),
        "shm-open" => args::<1>(a, rest).map(|[n]| shm_roundtrip(n)),
        "sem-open" => args::<1>(a, rest).map(|[n]| sem_roundtrip(n)),
        _ => return None,
    })
}

fn id_arg(action: &str, rest: &[&str]) -> Result<libc::c_int, Usage> {
    let [text] = args::<1>(action, rest)?;
    Ok(number(action, text)? as libc::c_int)
}

fn key_arg(action: &str, rest: &[&str]) -> Result<libc::key_t, Usage> {
    let [text] = args::<1>(action, rest)?;
    Ok(number(action, text)? as libc::key_t)
}

fn check(ret: libc::c_int) -> io::Result<libc::c_int> {
    if ret < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(ret)
    }
}

fn get_shm(key: libc::key_t) -> libc::c_int {
    // SAFETY: scalar arguments only; size 0 and no flags look up an existing segment.
    unsafe { libc::shmget(key, 0, 0) }
}

fn get_sem(key: libc::key_t) -> libc::c_int {
    // SAFETY: scalar arguments only; looks up an existing set.
    unsafe { libc::semget(key, 0, 0) }
}

fn get_msg(key: libc::key_t) -> libc::c_int {
    // SAFETY: scalar arguments only; looks up an existing queue.
    unsafe { libc::msgget(key, 0) }
}

fn by_key(action: &str, key: libc::key_t, get: fn(libc::key_t) -> libc::c_int) -> Outcome {
    let id = check(get(key)).map_err(|e| fail(action, &format!("key {key:#x}"), e))?;
    println!("found: key {key:#x} id {id}");
    Ok(())
}

fn shmat(id: libc::c_int) -> Outcome {
    // SAFETY: a null address lets the kernel choose; SHM_RDONLY maps without write access.
    let addr = unsafe { libc::shmat(id, std::ptr::null(), libc::SHM_RDONLY) };
    if addr as isize == -1 {
        return Err(fail(
            "shmat",
            &format!("id {id}"),
            io::Error::last_os_error(),
        ));
    }
    // SAFETY: `addr` was returned by a successful shmat above.
    unsafe { libc::shmdt(addr) };
    println!("attached: id {id}");
    Ok(())
}

fn sem_stat(id: libc::c_int) -> libc::c_int {
    let mut ds = MaybeUninit::<libc::semid_ds>::uninit();
    // SAFETY: IPC_STAT writes one semid_ds into `ds`, which has room for it; it is never read.
    unsafe { libc::semctl(id, 0, libc::IPC_STAT, ds.as_mut_ptr()) }
}

fn msg_stat(id: libc::c_int) -> libc::c_int {
    let mut ds = MaybeUninit::<libc::msqid_ds>::uninit();
    // SAFETY: IPC_STAT writes one msqid_ds into `ds`, which has room for it; it is never read.
    unsafe { libc::msgctl(id, libc::IPC_STAT, ds.as_mut_ptr()) }
}

fn shm_stat(id: libc::c_int) -> libc::c_int {
    let mut ds = MaybeUninit::<libc::shmid_ds>::uninit();
    // SAFETY: IPC_STAT writes one shmid_ds into `ds`, which has room for it; it is never read.
    unsafe { libc::shmctl(id, libc::IPC_STAT, ds.as_mut_ptr()) }
}

fn stat_by_id(action: &str, id: libc::c_int, stat: fn(libc::c_int) -> libc::c_int) -> Outcome {
    check(stat(id)).map_err(|e| fail(action, &format!("id {id}"), e))?;
    println!("stat: id {id}");
    Ok(())
}

/// The System V object kinds, for `sysv-list`.
#[derive(Clone, Copy)]
enum Kind {
    Shm,
    Sem,
    Msg,
}

/// `shmctl`/`semctl`/`msgctl(index, cmd, buf)` for the read-only `*_INFO` and `*_STAT`
/// commands, which write one kernel struct into `buf`.
fn ctl(kind: Kind, index: libc::c_int, cmd: libc::c_int, buf: &mut [u8; 512]) -> libc::c_int {
    let ptr = buf.as_mut_ptr();
    // SAFETY: these commands write at most one of shminfo, seminfo, msginfo, shmid_ds,
    // semid_ds or msqid_ds (each far below 512 bytes) into `buf`.
    unsafe {
        match kind {
            Kind::Shm => libc::shmctl(index, cmd, ptr.cast()),
            Kind::Sem => libc::semctl(index, 0, cmd, ptr),
            Kind::Msg => libc::msgctl(index, cmd, ptr.cast()),
        }
    }
}

/// Lists every System V object this IPC namespace shows, without `/proc`: the highest index
/// comes from `IPC_INFO` and each index is read with `*_STAT`, which returns the object's id.
fn sysv_list() -> Outcome {
    // From <linux/ipc.h>, <linux/shm.h>, <linux/sem.h>, <linux/msg.h>.
    const IPC_INFO: libc::c_int = 3;
    const SHM_STAT: libc::c_int = 13;
    const SEM_STAT: libc::c_int = 18;
    const MSG_STAT: libc::c_int = 11;
    let mut buf = [0u8; 512];
    let kinds = [
        ("shm", Kind::Shm, SHM_STAT),
        ("sem", Kind::Sem, SEM_STAT),
        ("msg", Kind::Msg, MSG_STAT),
    ];
    for (label, kind, stat) in kinds {
        let highest = check(ctl(kind, 0, IPC_INFO, &mut buf));
        let highest = highest.map_err(|e| fail("sysv-list", label, e))?;
        let ids: Vec<libc::c_int> = (0..=highest)
            .filter_map(|i| check(ctl(kind, i, stat, &mut buf)).ok())
            .collect();
        println!("{label}: {} object(s)", ids.len());
        for id in ids {
            println!("{label} id {id}");
        }
    }
    Ok(())
}

fn cname(action: &str, name: &str) -> Result<CString, Failure> {
    CString::new(name).map_err(|e| fail(action, name, e))
}

fn mq_open(name: &str, create: bool) -> Outcome {
    let action = if create { "mq-create" } else { "mq-open" };
    let c = cname(action, name)?;
    let flags = if create {
        libc::O_CREAT | libc::O_EXCL | libc::O_RDWR
    } else {
        libc::O_RDONLY
    };
    // A one-message queue: queues count against the user's RLIMIT_MSGQUEUE.
    // SAFETY: mq_attr is a C struct of integers (and private padding): all zero bytes are a
    // valid value.
    let mut attr: libc::mq_attr = unsafe { std::mem::zeroed() };
    attr.mq_maxmsg = 1;
    attr.mq_msgsize = 64;
    // SAFETY: `c` is NUL-terminated and `attr` a live mq_attr (read only with O_CREAT).
    let fd = unsafe {
        libc::mq_open(
            c.as_ptr(),
            flags,
            0o600 as libc::mode_t,
            &mut attr as *mut libc::mq_attr,
        )
    };
    if fd < 0 {
        return Err(fail(action, name, io::Error::last_os_error()));
    }
    // SAFETY: `fd` came from mq_open above.
    unsafe { libc::mq_close(fd) };
    println!("opened: {name}");
    Ok(())
}

/// Creates POSIX shared memory `name`, maps it, writes and reads back a word. The object is
/// left in place (so a case can check that it never reaches the host's `/dev/shm`).
fn shm_roundtrip(name: &str) -> Outcome {
    const LEN: usize = 4096;
    let c = cname("shm-open", name)?;
    // SAFETY: `c` is NUL-terminated.
    let fd = unsafe { libc::shm_open(c.as_ptr(), libc::O_CREAT | libc::O_RDWR, 0o600) };
    let fd = check(fd).map_err(|e| fail("shm_open", name, e))?;
    // SAFETY: `fd` is the descriptor shm_open returned.
    let sized = check(unsafe { libc::ftruncate(fd, LEN as libc::off_t) });
    sized.map_err(|e| fail("ftruncate", name, e))?;
    let prot = libc::PROT_READ | libc::PROT_WRITE;
    // SAFETY: maps LEN bytes of an object just sized to LEN; checked for MAP_FAILED below.
    let addr = unsafe { libc::mmap(std::ptr::null_mut(), LEN, prot, libc::MAP_SHARED, fd, 0) };
    if addr == libc::MAP_FAILED {
        return Err(fail("mmap", name, io::Error::last_os_error()));
    }
    let word = addr.cast::<u32>();
    // SAFETY: `word` points to the start of a live, writable, page-aligned mapping.
    let read_back = unsafe {
        word.write_volatile(0x5eed_cafe);
        word.read_volatile()
    };
    // SAFETY: unmapping the mapping created above and closing its descriptor.
    unsafe {
        libc::munmap(addr, LEN);
        libc::close(fd);
    }
    if read_back != 0x5eed_cafe {
        return Err(Failure::Unexpected(format!(
            "shm-open {name}: read back {read_back:#x}"
        )));
    }
    println!("shm ok: {name}");
    Ok(())
}

/// Creates named semaphore `name`, posts and waits on it; left in place like `shm-open`.
fn sem_roundtrip(name: &str) -> Outcome {
    let c = cname("sem-open", name)?;
    // SAFETY: `c` is NUL-terminated; mode and initial value are passed as sem_open expects.
    let sem = unsafe {
        libc::sem_open(
            c.as_ptr(),
            libc::O_CREAT,
            0o600 as libc::c_uint,
            0 as libc::c_uint,
        )
    };
    if sem == libc::SEM_FAILED {
        return Err(fail("sem_open", name, io::Error::last_os_error()));
    }
    // SAFETY: `sem` is a valid semaphore from sem_open.
    let posted = check(unsafe { libc::sem_post(sem) });
    posted.map_err(|e| fail("sem_post", name, e))?;
    // SAFETY: as above; the post guarantees the wait does not block.
    let waited = check(unsafe { libc::sem_trywait(sem) });
    waited.map_err(|e| fail("sem_trywait", name, e))?;
    // SAFETY: closing the handle from sem_open.
    unsafe { libc::sem_close(sem) };
    println!("sem ok: {name}");
    Ok(())
}
