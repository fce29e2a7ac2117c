//! Bringing up `lo` in a new network namespace. The kernel gives an up loopback device
//! its 127.0.0.1/8 address itself.

use crate::diag::{die, die_errno};
use nix::errno::Errno;
use nix::sys::socket::{AddressFamily, SockFlag, SockType, socket};
use std::os::fd::AsRawFd;

/// Sets `IFF_UP` on `lo`.
pub fn bring_up_lo() {
    let sock = socket(
        AddressFamily::Inet,
        SockType::Datagram,
        SockFlag::SOCK_CLOEXEC,
        None,
    )
    .unwrap_or_else(|e| die_errno("loopback: Failed to create socket", e));
    // SAFETY: an all-zero ifreq is a valid value; we fill in the name below.
    let mut req: libc::ifreq = unsafe { std::mem::zeroed() };
    for (dst, src) in req.ifr_name.iter_mut().zip(b"lo\0") {
        *dst = *src as libc::c_char;
    }
    // SAFETY: SIOCGIFFLAGS reads the flags of the named interface into `req`.
    if unsafe { libc::ioctl(sock.as_raw_fd(), libc::SIOCGIFFLAGS, &mut req) } != 0 {
        die("loopback: Failed to look up lo");
    }
    // SAFETY: after SIOCGIFFLAGS the flags member of the union is the active one.
    unsafe { req.ifr_ifru.ifru_flags |= libc::IFF_UP as libc::c_short };
    // SAFETY: SIOCSIFFLAGS reads the name and flags from `req`.
    if unsafe { libc::ioctl(sock.as_raw_fd(), libc::SIOCSIFFLAGS, &req) } != 0 {
        die_errno("loopback: Failed RTM_NEWLINK", Errno::last());
    }
}
