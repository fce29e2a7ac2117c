//! Bringing up `lo` in a new network namespace. The kernel gives an up loopback device
//! its 127.0.0.1/8 address itself.

use crate::diag::{die, die_errno};
use uapi::net::LoopbackError;

/// Sets `IFF_UP` on `lo`.
pub fn bring_up_lo() {
    match uapi::net::bring_up_lo() {
        Ok(()) => {}
        Err(LoopbackError::Socket(e)) => die_errno("loopback: Failed to create socket", e),
        Err(LoopbackError::GetFlags(_)) => die("loopback: Failed to look up lo"),
        Err(e) => die_errno("loopback: Failed RTM_NEWLINK", e.errno()),
    }
}
