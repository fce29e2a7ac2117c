//! Network actions: create sockets, connect to and bind loopback addresses.

use std::io::{self, Read};
use std::net::{TcpListener, TcpStream};
use std::os::linux::net::SocketAddrExt;
use std::os::unix::net::{SocketAddr, UnixListener, UnixStream};
use std::time::Duration;

use crate::{Dispatched, Failure, Outcome, Usage, args, fail};

/// Runs a network action, or returns `None` if `action` is not one.
pub fn dispatch(action: &str, rest: &[&str]) -> Dispatched {
    let a = action;
    Some(match action {
        "socket" => socket_args(rest).map(|(f, t)| socket(f, t)),
        "socketpair" => args::<0>(a, rest).map(|[]| socketpair()),
        "connect-tcp" => args::<1>(a, rest).map(|[addr]| connect_tcp(addr)),
        "connect-unix-abstract" => args::<1>(a, rest).map(|[name]| connect_abstract(name)),
        "bind-tcp" => args::<1>(a, rest).map(|[addr]| {
            TcpListener::bind(addr)
                .map(|_| println!("bound: {addr}"))
                .map_err(|e| fail(a, addr, e))
        }),
        "bind-unix" => args::<1>(a, rest).map(|[path]| {
            UnixListener::bind(path)
                .map(|_| println!("bound: {path}"))
                .map_err(|e| fail(a, path, e))
        }),
        _ => return None,
    })
}

fn socket_args<'a>(rest: &[&'a str]) -> Result<(&'a str, &'a str), Usage> {
    match rest {
        [family] => Ok((family, "stream")),
        [family, kind] => Ok((family, kind)),
        _ => Err(Usage("socket takes FAMILY [TYPE]".into())),
    }
}

fn socket(family: &str, kind: &str) -> Outcome {
    let domain = match family {
        "inet" => libc::AF_INET,
        "inet6" => libc::AF_INET6,
        "unix" => libc::AF_UNIX,
        "netlink" => libc::AF_NETLINK,
        "packet" => libc::AF_PACKET,
        _ => {
            return Err(Failure::Unexpected(format!(
                "socket: unknown family {family:?} (inet inet6 unix netlink packet)"
            )));
        }
    };
    let ty = match kind {
        "stream" => libc::SOCK_STREAM,
        "dgram" => libc::SOCK_DGRAM,
        "raw" => libc::SOCK_RAW,
        _ => {
            return Err(Failure::Unexpected(format!(
                "socket: unknown type {kind:?} (stream dgram raw)"
            )));
        }
    };
    // SAFETY: scalar arguments; the descriptor is closed below.
    let fd = unsafe { libc::socket(domain, ty | libc::SOCK_CLOEXEC, 0) };
    if fd < 0 {
        return Err(fail(
            "socket",
            &format!("{family} {kind}"),
            io::Error::last_os_error(),
        ));
    }
    // SAFETY: `fd` is the socket created above.
    unsafe { libc::close(fd) };
    println!("socket ok: {family} {kind}");
    Ok(())
}

fn socketpair() -> Outcome {
    let (mut a, b) = UnixStream::pair().map_err(|e| fail("socketpair", "unix", e))?;
    drop(b);
    let mut buf = [0u8; 1];
    a.read(&mut buf)
        .map_err(|e| fail("socketpair", "read", e))?;
    println!("socketpair ok");
    Ok(())
}

fn print_greeting(action: &str, target: &str, mut stream: impl Read) -> Outcome {
    let mut buf = [0u8; 64];
    let n = stream.read(&mut buf).map_err(|e| fail(action, target, e))?;
    println!(
        "connected: {target}: {}",
        String::from_utf8_lossy(&buf[..n]).trim_end()
    );
    Ok(())
}

fn connect_tcp(addr: &str) -> Outcome {
    let sock_addr = addr.parse().map_err(|e| fail("connect-tcp", addr, e))?;
    let stream = TcpStream::connect_timeout(&sock_addr, Duration::from_secs(3))
        .map_err(|e| fail("connect-tcp", addr, e))?;
    let _ = stream.set_read_timeout(Some(Duration::from_secs(3)));
    print_greeting("connect-tcp", addr, stream)
}

fn connect_abstract(name: &str) -> Outcome {
    let action = "connect-unix-abstract";
    let addr =
        SocketAddr::from_abstract_name(name.as_bytes()).map_err(|e| fail(action, name, e))?;
    let stream = UnixStream::connect_addr(&addr).map_err(|e| fail(action, name, e))?;
    let _ = stream.set_read_timeout(Some(Duration::from_secs(3)));
    print_greeting(action, name, stream)
}
