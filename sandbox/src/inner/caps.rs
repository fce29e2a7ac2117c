//! `no_new_privs` and the check that no capability survived into the sandbox.

use std::io;

/// `_LINUX_CAPABILITY_VERSION_3`: two 32-bit words per set.
const CAPABILITY_VERSION_3: u32 = 0x2008_0522;

#[repr(C)]
struct CapHeader {
    version: u32,
    pid: libc::c_int,
}

#[repr(C)]
#[derive(Clone, Copy, Default)]
struct CapData {
    effective: u32,
    permitted: u32,
    inheritable: u32,
}

/// Sets `PR_SET_NO_NEW_PRIVS`: no later exec can gain privileges (setuid, file caps).
pub fn set_no_new_privs() -> io::Result<()> {
    // SAFETY: prctl with PR_SET_NO_NEW_PRIVS takes integer arguments only.
    let rc = unsafe { libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// The effective, permitted and inheritable sets of this thread, as 64-bit masks.
pub fn current() -> io::Result<[u64; 3]> {
    let mut header = CapHeader {
        version: CAPABILITY_VERSION_3,
        pid: 0,
    };
    let mut data = [CapData::default(); 2];
    // SAFETY: capget writes two CapData structs for version 3, and data has room for two.
    let rc = unsafe {
        libc::syscall(
            libc::SYS_capget,
            &mut header as *mut CapHeader,
            data.as_mut_ptr(),
        )
    };
    if rc != 0 {
        return Err(io::Error::last_os_error());
    }
    let join = |lo: u32, hi: u32| u64::from(lo) | (u64::from(hi) << 32);
    Ok([
        join(data[0].effective, data[1].effective),
        join(data[0].permitted, data[1].permitted),
        join(data[0].inheritable, data[1].inheritable),
    ])
}

/// Empties the effective, permitted and inheritable sets of this thread (used by the
/// legacy Landlock mode, which has no bwrap to drop them). One system call: safe between
/// fork and exec.
pub fn clear() -> io::Result<()> {
    let mut header = CapHeader {
        version: CAPABILITY_VERSION_3,
        pid: 0,
    };
    let data = [CapData::default(); 2];
    // SAFETY: capset reads two CapData structs for version 3 from data, which has two.
    let rc = unsafe {
        libc::syscall(
            libc::SYS_capset,
            &mut header as *mut CapHeader,
            data.as_ptr(),
        )
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// Fails unless the effective, permitted and inheritable sets are all empty.
pub fn ensure_none() -> Result<(), String> {
    let [effective, permitted, inheritable] =
        current().map_err(|e| format!("capget failed: {e}"))?;
    if effective | permitted | inheritable != 0 {
        return Err(format!(
            "capabilities survived into the sandbox (effective {effective:#x}, permitted {permitted:#x}, inheritable {inheritable:#x}); the bwrap in use did not drop them: run it with --cap-drop ALL"
        ));
    }
    Ok(())
}

/// The highest capability number to drop from the bounding set (the kernel refuses
/// numbers past its own last one with `EINVAL`, which is ignored).
const LAST_CAPABILITY: libc::c_ulong = 63;

/// Empties the bounding and ambient capability sets and the thread's own sets, so an
/// exec'd program has no capability even when this one holds some (the bounding set is
/// left alone when none is held: dropping from it needs `CAP_SETPCAP`). Only system
/// calls: safe between fork and exec.
pub fn drop_all() -> io::Result<()> {
    let [effective, permitted, _] = current()?;
    if effective | permitted != 0 {
        for cap in 0..=LAST_CAPABILITY {
            // SAFETY: prctl with integer arguments only.
            let rc = unsafe { libc::prctl(libc::PR_CAPBSET_DROP, cap, 0, 0, 0) };
            if rc != 0 && io::Error::last_os_error().raw_os_error() != Some(libc::EINVAL) {
                return Err(io::Error::last_os_error());
            }
        }
    }
    // SAFETY: prctl with integer arguments only.
    let rc = unsafe {
        libc::prctl(
            libc::PR_CAP_AMBIENT,
            libc::PR_CAP_AMBIENT_CLEAR_ALL,
            0,
            0,
            0,
        )
    };
    if rc != 0 {
        return Err(io::Error::last_os_error());
    }
    clear()
}
