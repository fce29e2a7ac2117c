//! Network devices: bringing up `lo` in a new network namespace, where it starts down. The
//! kernel gives an up loopback device its 127.0.0.1/8 and ::1 addresses itself.

use std::fmt;
use std::os::fd::AsRawFd;

use nix::errno::Errno;
use nix::sys::socket::{AddressFamily, SockFlag, SockType, socket};

/// Which step of [`bring_up_lo`] failed, with the kernel's error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum LoopbackError {
    /// `socket(AF_INET, SOCK_DGRAM)`, the handle the ioctls go through.
    Socket(Errno),
    /// `SIOCGIFFLAGS`: reading `lo`'s flags (`ENODEV`: there is no `lo`).
    GetFlags(Errno),
    /// `SIOCSIFFLAGS`: setting `IFF_UP` (`EPERM` without `CAP_NET_ADMIN` over the namespace).
    SetFlags(Errno),
}

impl LoopbackError {
    /// The kernel's error, whichever step it came from.
    pub fn errno(self) -> Errno {
        match self {
            LoopbackError::Socket(e) | LoopbackError::GetFlags(e) | LoopbackError::SetFlags(e) => e,
        }
    }
}

impl fmt::Display for LoopbackError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let step = match self {
            LoopbackError::Socket(_) => "socket",
            LoopbackError::GetFlags(_) => "ioctl SIOCGIFFLAGS on lo",
            LoopbackError::SetFlags(_) => "ioctl SIOCSIFFLAGS on lo",
        };
        write!(f, "{step}: {}", std::io::Error::from(self.errno()))
    }
}

impl std::error::Error for LoopbackError {}

impl From<LoopbackError> for std::io::Error {
    /// The kernel's error alone (the step is dropped).
    fn from(e: LoopbackError) -> Self {
        e.errno().into()
    }
}

/// Sets `IFF_UP` on `lo` of the calling thread's network namespace (a no-op if it is up).
pub fn bring_up_lo() -> Result<(), LoopbackError> {
    let sock = socket(
        AddressFamily::Inet,
        SockType::Datagram,
        SockFlag::SOCK_CLOEXEC,
        None,
    )
    .map_err(LoopbackError::Socket)?;
    // SAFETY: ifreq is a C struct of a byte array and a union of integers and arrays: all
    // zero bytes are a valid value. The name is filled in below, NUL-terminated by the zeros.
    let mut req: libc::ifreq = unsafe { std::mem::zeroed() };
    for (dst, src) in req.ifr_name.iter_mut().zip(b"lo") {
        *dst = *src as libc::c_char;
    }
    // SAFETY: SIOCGIFFLAGS reads the name from `req` and writes the flags into it.
    let rc = unsafe { libc::ioctl(sock.as_raw_fd(), libc::SIOCGIFFLAGS, &mut req) };
    Errno::result(rc).map_err(LoopbackError::GetFlags)?;
    // SAFETY: after SIOCGIFFLAGS the flags member of the union is the active one.
    unsafe { req.ifr_ifru.ifru_flags |= libc::IFF_UP as libc::c_short };
    // SAFETY: SIOCSIFFLAGS only reads the name and flags from `req`.
    let rc = unsafe { libc::ioctl(sock.as_raw_fd(), libc::SIOCSIFFLAGS, &req) };
    Errno::result(rc).map(drop).map_err(LoopbackError::SetFlags)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::child::passes_in_child;
    use nix::sched::{CloneFlags, unshare};
    use std::net::{Ipv4Addr, TcpListener, TcpStream};

    /// A new user and network namespace for the (single-threaded) child.
    fn enter_new_netns() {
        unshare(CloneFlags::CLONE_NEWUSER | CloneFlags::CLONE_NEWNET).expect("unshare");
    }

    /// Whether a connection to a listener on 127.0.0.1 goes through (binding alone succeeds
    /// on a down `lo` on recent kernels; connecting fails with `ENETUNREACH`).
    fn loopback_connects() -> bool {
        let Ok(listener) = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)) else {
            return false;
        };
        listener
            .local_addr()
            .is_ok_and(|addr| TcpStream::connect(addr).is_ok())
    }

    #[test]
    fn a_new_namespace_reaches_127_0_0_1_only_once_lo_is_up() {
        assert!(passes_in_child(|| {
            enter_new_netns();
            let down = !loopback_connects();
            bring_up_lo().unwrap();
            down && loopback_connects()
        }));
    }

    #[test]
    fn bringing_up_lo_twice_is_harmless() {
        assert!(passes_in_child(|| {
            enter_new_netns();
            bring_up_lo().is_ok() && bring_up_lo().is_ok() && loopback_connects()
        }));
    }

    #[test]
    fn without_cap_net_admin_setting_the_flags_is_refused() {
        assert!(passes_in_child(|| {
            enter_new_netns();
            crate::caps::set(crate::caps::CapSets::default()).unwrap();
            let refused = bring_up_lo() == Err(LoopbackError::SetFlags(Errno::EPERM));
            refused && !loopback_connects()
        }));
    }
}
