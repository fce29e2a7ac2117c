//! Hints that this process runs in a container, a user namespace or under a cgroup that
//! explain sandbox failures (Docker's seccomp profile, masked `/proc`, no mount rights).

use std::path::Path;

/// What the host looks like from inside.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Container {
    /// The container runtime, if one is recognisable (`docker`, `podman`, `kubernetes`, `lxc`).
    pub runtime: Option<String>,
    /// This process is in a user namespace other than the initial one.
    pub in_user_namespace: bool,
    /// The cgroup hierarchy: `v2`, `v1` or `unknown`.
    pub cgroup: &'static str,
    /// This process's cgroup path (v2) or first line (v1).
    pub cgroup_path: Option<String>,
}

/// Looks at marker files, `/proc/self/cgroup` and `/proc/self/uid_map`.
pub fn detect() -> Container {
    let cgroup_text = std::fs::read_to_string("/proc/self/cgroup").unwrap_or_default();
    let runtime = if Path::new("/.dockerenv").exists() {
        Some("docker")
    } else if Path::new("/run/.containerenv").exists() {
        Some("podman")
    } else if cgroup_text.contains("kubepods") {
        Some("kubernetes")
    } else if cgroup_text.contains("docker") {
        Some("docker")
    } else if cgroup_text.contains("/lxc") {
        Some("lxc")
    } else {
        None
    };
    let uid_map = std::fs::read_to_string("/proc/self/uid_map").unwrap_or_default();
    Container {
        runtime: runtime.map(str::to_owned),
        in_user_namespace: !is_initial_uid_map(&uid_map),
        cgroup: if Path::new("/sys/fs/cgroup/cgroup.controllers").exists() {
            "v2"
        } else if Path::new("/sys/fs/cgroup").exists() {
            "v1"
        } else {
            "unknown"
        },
        cgroup_path: cgroup_text.lines().next().map(str::to_owned),
    }
}

/// The initial user namespace maps all 2^32-1 ids onto themselves.
fn is_initial_uid_map(uid_map: &str) -> bool {
    let fields: Vec<&str> = uid_map.split_whitespace().collect();
    fields == ["0", "0", "4294967295"]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn initial_and_nested_uid_maps_are_told_apart() {
        assert!(is_initial_uid_map("         0          0 4294967295\n"));
        assert!(!is_initial_uid_map("         0       1001          1\n"));
    }
}
