//! Bringing up `lo` in a new network namespace. The kernel gives an up loopback device
//! its 127.0.0.1/8 address itself.

use crate::error::SetupError;
use uapi::net::LoopbackError;

/// Sets `IFF_UP` on `lo`.
pub(crate) fn bring_up_lo() -> Result<(), SetupError> {
    match uapi::net::bring_up_lo() {
        Ok(()) => {}
        Err(LoopbackError::Socket(e)) => {
            return Err(SetupError::sys("loopback: Failed to create socket", e));
        }
        Err(LoopbackError::GetFlags(_)) => {
            return Err(SetupError::msg("loopback: Failed to look up lo"));
        }
        Err(e) => return Err(SetupError::sys("loopback: Failed RTM_NEWLINK", e.errno())),
    }
    Ok(())
}
