//! Bringing up `lo` in a new network namespace. The kernel gives an up loopback device
//! its 127.0.0.1/8 address itself.

use crate::error::{SetupError, failed};
use nix::errno::Errno;
use nix::sys::socket::{AddressFamily, SockFlag, SockType, socket};
use std::os::fd::AsRawFd;

/// Sets `IFF_UP` on `lo`.
pub(crate) fn bring_up_lo() -> Result<(), SetupError> {
    let sock = socket(
        AddressFamily::Inet,
        SockType::Datagram,
        SockFlag::SOCK_CLOEXEC,
        None,
    )
    .map_err(failed("loopback: Failed to create socket"))?;
    // SAFETY: an all-zero ifreq is a valid value; we fill in the name below.
    let mut req: libc::ifreq = unsafe { std::mem::zeroed() };
    for (dst, src) in req.ifr_name.iter_mut().zip(b"lo\0") {
        *dst = *src as libc::c_char;
    }
    // SAFETY: SIOCGIFFLAGS reads the flags of the named interface into `req`.
    if unsafe { libc::ioctl(sock.as_raw_fd(), libc::SIOCGIFFLAGS, &mut req) } != 0 {
        return Err(SetupError::msg("loopback: Failed to look up lo"));
    }
    // SAFETY: after SIOCGIFFLAGS the flags member of the union is the active one.
    unsafe { req.ifr_ifru.ifru_flags |= libc::IFF_UP as libc::c_short };
    // SAFETY: SIOCSIFFLAGS reads the name and flags from `req`.
    if unsafe { libc::ioctl(sock.as_raw_fd(), libc::SIOCSIFFLAGS, &req) } != 0 {
        return Err(SetupError::sys(
            "loopback: Failed RTM_NEWLINK",
            Errno::last(),
        ));
    }
    Ok(())
}
