//! Recognising WSL1, where bwrap cannot work, from `/proc/version`.
//!
//! An explicit `WSL<n>` marker decides (`WSL1` is WSL1, any other number is not). Without
//! one, a `Microsoft` kernel that is not `microsoft-standard` is the WSL1 compatibility
//! kernel (`4.4.0-22621-Microsoft`).

/// The refusal shown when a policy needs bwrap on WSL1.
pub const WSL1_REFUSAL: &str = "bwrap cannot run on WSL1: WSL1 has no user namespaces, which \
    the sandbox needs; convert the distribution to WSL2 (`wsl --set-version <distro> 2`), or \
    use `--legacy-landlock` for policies it can express";

/// Which WSL, if any, a `/proc/version` text describes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Wsl {
    /// Not WSL (or unreadable `/proc/version`).
    None,
    /// WSL1: no user namespaces.
    Wsl1,
    /// WSL2 or later: a real Linux kernel, the normal path.
    Wsl2OrLater,
}

/// Classifies a `/proc/version` text.
pub fn classify(version: &str) -> Wsl {
    let lower = version.to_ascii_lowercase();
    let marker = lower.match_indices("wsl").find_map(|(at, _)| {
        let digits: String = lower[at + 3..]
            .chars()
            .take_while(char::is_ascii_digit)
            .collect();
        digits.parse::<u32>().ok()
    });
    match marker {
        Some(1) => Wsl::Wsl1,
        Some(_) => Wsl::Wsl2OrLater,
        None if lower.contains("microsoft") && !lower.contains("microsoft-standard") => Wsl::Wsl1,
        None if lower.contains("microsoft") => Wsl::Wsl2OrLater,
        None => Wsl::None,
    }
}

/// Classifies this host from `/proc/version`; an unreadable file means not WSL.
pub fn detect() -> Wsl {
    std::fs::read_to_string("/proc/version").map_or(Wsl::None, |text| classify(&text))
}

/// Whether this host is WSL1.
pub fn running_on_wsl1() -> bool {
    detect() == Wsl::Wsl1
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wsl1_kernels_are_recognised() {
        for v in [
            "Linux version 4.4.0-22621-Microsoft (Microsoft@Microsoft.com) (gcc version 5.4.0)",
            "Linux version 5.15.0-microsoft-standard-WSL1",
            "Linux version 5.15.0-wsl-microsoft-standard-WSL1",
        ] {
            assert_eq!(classify(v), Wsl::Wsl1, "{v}");
        }
    }

    #[test]
    fn wsl2_and_native_kernels_are_not_wsl1() {
        for (v, want) in [
            (
                "Linux version 5.15.153.1-microsoft-standard-WSL2",
                Wsl::Wsl2OrLater,
            ),
            (
                "Linux version 6.6.0-wsl-microsoft-standard-WSL2",
                Wsl::Wsl2OrLater,
            ),
            (
                "Linux version 4.19.104-microsoft-standard",
                Wsl::Wsl2OrLater,
            ),
            ("Linux version 6.6.0-WSL3", Wsl::Wsl2OrLater),
            ("Linux version 6.8.0 (builder@host)", Wsl::None),
        ] {
            assert_eq!(classify(v), want, "{v}");
        }
    }
}
