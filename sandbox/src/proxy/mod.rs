//! Network mode `proxy`: the command gets no host network, only the loopback proxy
//! endpoints named by the standard proxy variables (TCP -> Unix socket -> TCP).
//!
//! * [`ProxyRoutes::from_env`] reads `HTTP_PROXY`, `HTTPS_PROXY`, `ALL_PROXY` and the other
//!   [`PROXY_ENV_KEYS`] (any case). Every non-empty one must name `localhost`, `127.0.0.1`
//!   or `[::1]`; one that does not, or none at all, refuses the run before anything starts.
//! * Outside, in the host's network namespace (`host`): one bridge process per unique
//!   endpoint listens on a Unix socket in a private 0700 directory and connects each
//!   connection to the endpoint. The bridges die with the `sandbox` process
//!   (`PR_SET_PDEATHSIG`) and are killed, and the directory removed, after the run. The
//!   directory is never mounted into the sandbox and is masked wherever a writable root
//!   would show it; the inner stage gets it only as a descriptor opened before bwrap
//!   started (`O_DIRECTORY | O_NOFOLLOW`, `run::PROXY_DIR_FD`).
//! * Inside, in the new network namespace, before seccomp (`inner`): per socket a TCP
//!   listener on `127.0.0.1:0` (bringing `lo` up if needed) forwards to it (the bridge
//!   process's working directory is the descriptor, so it connects by bare name), and each
//!   variable is rewritten to that port, keeping its scheme, userinfo and path. The
//!   descriptor is closed before the command starts.
//! * Then the proxy seccomp filter (`inner::seccomp`): `socket` only for `AF_INET` and
//!   `AF_INET6`, `socketpair` only for `AF_UNIX`. `AF_UNIX` sockets are denied because
//!   `connect` must stay allowed for TCP, and a Unix socket could reach host services
//!   through the filesystem (`/run/docker.sock`, a D-Bus or ssh-agent socket); abstract Unix
//!   sockets are per network namespace, but pathname ones are not.

pub(crate) mod host;
pub(crate) mod inner;
mod relay;
mod url;

use std::collections::BTreeSet;
use std::ffi::OsString;
use std::net::SocketAddr;

pub use url::{ProxyUrl, UrlError};

/// The variables (compared upper-case) whose values are proxy URLs.
pub const PROXY_ENV_KEYS: &[&str] = &[
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "WS_PROXY",
    "WSS_PROXY",
    "ALL_PROXY",
    "FTP_PROXY",
    "YARN_HTTP_PROXY",
    "YARN_HTTPS_PROXY",
    "NPM_CONFIG_HTTP_PROXY",
    "NPM_CONFIG_HTTPS_PROXY",
    "NPM_CONFIG_PROXY",
    "BUNDLE_HTTP_PROXY",
    "BUNDLE_HTTPS_PROXY",
    "PIP_PROXY",
    "DOCKER_HTTP_PROXY",
    "DOCKER_HTTPS_PROXY",
];

/// Why proxy mode cannot run.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ProxyError {
    /// No proxy variable is set.
    #[error(
        "network.mode = \"proxy\" needs a proxy variable (HTTP_PROXY, HTTPS_PROXY, ALL_PROXY, ...) naming a loopback endpoint, and none is set; fix: set e.g. HTTP_PROXY=http://127.0.0.1:PORT, or use mode \"restricted\""
    )]
    NoProxyVariable,
    /// A proxy variable is not a loopback URL.
    #[error(
        "network.mode = \"proxy\": {key}={value:?} is not usable ({problem}); fix: point it at a proxy on localhost, 127.0.0.1 or [::1], or unset it"
    )]
    Unusable {
        /// The variable.
        key: String,
        /// Its value.
        value: String,
        /// What is wrong with it.
        problem: UrlError,
    },
    /// Setting up a bridge failed.
    #[error("proxy bridge: cannot {action} {what}: {source}")]
    Io {
        /// What was being done.
        action: &'static str,
        /// The path or endpoint.
        what: String,
        /// The error.
        source: std::io::Error,
    },
}

impl ProxyError {
    fn io(action: &'static str, what: impl std::fmt::Display, source: std::io::Error) -> Self {
        ProxyError::Io {
            action,
            what: what.to_string(),
            source,
        }
    }
}

/// One proxy variable and the endpoint it names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    /// The variable's name as set (case kept).
    pub key: String,
    /// Its parsed value.
    pub url: ProxyUrl,
}

/// The validated proxy variables of a run, sorted by name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProxyRoutes {
    routes: Vec<Route>,
}

impl ProxyRoutes {
    /// Reads the proxy variables of this process's environment.
    pub fn from_env() -> Result<ProxyRoutes, ProxyError> {
        Self::from_vars(std::env::vars_os())
    }

    /// Reads the proxy variables among `vars`; empty values are ignored, any other value
    /// must be a loopback proxy URL, and at least one must be set.
    pub fn from_vars(
        vars: impl IntoIterator<Item = (OsString, OsString)>,
    ) -> Result<ProxyRoutes, ProxyError> {
        let mut routes = Vec::new();
        for (key, value) in vars {
            let Some(key) = key.to_str() else { continue };
            if !PROXY_ENV_KEYS.contains(&key.to_ascii_uppercase().as_str()) || value.is_empty() {
                continue;
            }
            let unusable = |problem: UrlError| ProxyError::Unusable {
                key: key.to_string(),
                value: value.to_string_lossy().into_owned(),
                problem,
            };
            let text = value.to_str().ok_or_else(|| unusable(UrlError::NotUtf8))?;
            let url = ProxyUrl::parse(text).map_err(unusable)?;
            routes.push(Route {
                key: key.to_string(),
                url,
            });
        }
        if routes.is_empty() {
            return Err(ProxyError::NoProxyVariable);
        }
        routes.sort_by(|a, b| a.key.cmp(&b.key));
        Ok(ProxyRoutes { routes })
    }

    /// The routes, sorted by variable name.
    pub fn routes(&self) -> &[Route] {
        &self.routes
    }

    /// The distinct endpoints, in a stable order (one host bridge each).
    pub fn endpoints(&self) -> Vec<SocketAddr> {
        let set: BTreeSet<SocketAddr> = self.routes.iter().map(|r| r.url.endpoint()).collect();
        set.into_iter().collect()
    }

    /// The socket file name (in the bridge directory) of the endpoint `route` names.
    pub fn socket_name(&self, route: &Route) -> String {
        let index = self
            .endpoints()
            .iter()
            .position(|e| *e == route.url.endpoint())
            .unwrap_or_default();
        format!("route-{index}.sock")
    }

    /// The inner stage's `--proxy-route KEY=SOCKET` pairs, socket names in the bridge
    /// directory.
    pub fn inner_routes(&self) -> Vec<(String, String)> {
        self.routes
            .iter()
            .map(|r| (r.key.clone(), self.socket_name(r)))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(pairs: &[(&str, &str)]) -> Vec<(OsString, OsString)> {
        pairs.iter().map(|(k, v)| (k.into(), v.into())).collect()
    }

    #[test]
    fn proxy_variables_in_any_case_share_bridges_per_endpoint() {
        let routes = ProxyRoutes::from_vars(vars(&[
            ("https_proxy", "http://127.0.0.1:3128"),
            ("PATH", "/usr/bin"),
            ("HTTP_PROXY", "localhost:3128"),
            ("ALL_PROXY", "socks5h://[::1]:1080"),
            ("NO_PROXY", "example.com"),
            ("FTP_PROXY", ""),
        ]))
        .unwrap();
        let keys: Vec<&str> = routes.routes().iter().map(|r| r.key.as_str()).collect();
        assert_eq!(keys, ["ALL_PROXY", "HTTP_PROXY", "https_proxy"]);
        assert_eq!(routes.endpoints().len(), 2);
        assert_eq!(
            routes.inner_routes(),
            [
                ("ALL_PROXY".into(), "route-1.sock".into()),
                ("HTTP_PROXY".into(), "route-0.sock".into()),
                ("https_proxy".into(), "route-0.sock".into()),
            ]
        );
    }

    #[test]
    fn no_variable_or_a_remote_one_refuses() {
        let none = ProxyRoutes::from_vars(vars(&[("PATH", "/bin"), ("HTTP_PROXY", "")]));
        assert!(matches!(none, Err(ProxyError::NoProxyVariable)));
        let remote = ProxyRoutes::from_vars(vars(&[
            ("HTTP_PROXY", "http://127.0.0.1:3128"),
            ("https_proxy", "http://proxy.corp:3128"),
        ]))
        .unwrap_err()
        .to_string();
        assert!(
            remote.contains("https_proxy") && remote.contains("fix:"),
            "{remote}"
        );
    }
}
