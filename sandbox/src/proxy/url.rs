//! Proxy URLs as found in the environment: just enough parsing to find the endpoint and to
//! put a different port in, keeping everything else of the value byte for byte.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

/// Why a proxy variable's value is not a usable loopback proxy URL.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum UrlError {
    /// The value is not UTF-8.
    #[error("not UTF-8")]
    NotUtf8,
    /// Empty, or whitespace or control characters in it.
    #[error("empty or contains whitespace")]
    Blank,
    /// A scheme that is not `ALPHA *( ALPHA / DIGIT / "+" / "-" / "." )`.
    #[error("invalid scheme {0:?}")]
    Scheme(String),
    /// A port that is not 1-65535.
    #[error("invalid port {0:?}")]
    Port(String),
    /// `[` without `]`.
    #[error("unclosed `[` in {0:?}")]
    UnclosedBracket(String),
    /// Something other than `:port` after `[v6]`.
    #[error("unexpected {0:?} after the host")]
    AfterHost(String),
    /// No host at all.
    #[error("no host")]
    NoHost,
    /// A host that is not loopback.
    #[error("host {0:?} is not localhost, 127.0.0.1 or [::1]")]
    NotLoopback(String),
}

/// A proxy variable's value split into the parts the bridge cares about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProxyUrl {
    /// `scheme://` as written (empty when the value had no scheme).
    prefix: String,
    /// `user:password@` as written, or empty.
    userinfo: String,
    /// The loopback endpoint the value names.
    endpoint: SocketAddr,
    /// Path, query and fragment as written.
    rest: String,
}

impl ProxyUrl {
    /// Parses `value`; the host must be `localhost`, `127.0.0.1` or `[::1]`.
    pub fn parse(value: &str) -> Result<ProxyUrl, UrlError> {
        if value.is_empty() || value.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(UrlError::Blank);
        }
        let (prefix, scheme, after) = match value.split_once("://") {
            Some((scheme, after)) => {
                let valid = scheme.starts_with(|c: char| c.is_ascii_alphabetic())
                    && scheme
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || "+.-".contains(c));
                if !valid {
                    return Err(UrlError::Scheme(scheme.to_owned()));
                }
                (format!("{scheme}://"), scheme.to_ascii_lowercase(), after)
            }
            None => (String::new(), "http".to_string(), value),
        };
        let end = after.find(['/', '?', '#']).unwrap_or(after.len());
        let (authority, rest) = after.split_at(end);
        let (userinfo, hostport) = match authority.rfind('@') {
            Some(at) => authority.split_at(at + 1),
            None => ("", authority),
        };
        let (host, port) = split_host_port(hostport)?;
        let ip = loopback(host)?;
        let port = match port {
            Some(p) => p
                .parse::<u16>()
                .ok()
                .filter(|&p| p != 0)
                .ok_or_else(|| UrlError::Port(p.to_owned()))?,
            None => default_port(&scheme),
        };
        Ok(ProxyUrl {
            prefix,
            userinfo: userinfo.to_string(),
            endpoint: SocketAddr::new(ip, port),
            rest: rest.to_string(),
        })
    }

    /// The TCP endpoint on the host's loopback.
    pub fn endpoint(&self) -> SocketAddr {
        self.endpoint
    }

    /// The same value pointing at `127.0.0.1:port` (scheme, userinfo, path kept).
    pub fn with_local_port(&self, port: u16) -> String {
        format!(
            "{}{}127.0.0.1:{port}{}",
            self.prefix, self.userinfo, self.rest
        )
    }
}

/// Splits `host[:port]` or `[v6][:port]`.
fn split_host_port(hostport: &str) -> Result<(&str, Option<&str>), UrlError> {
    if let Some(bracketed) = hostport.strip_prefix('[') {
        let (host, after) = bracketed
            .split_once(']')
            .ok_or_else(|| UrlError::UnclosedBracket(hostport.to_owned()))?;
        return match after {
            "" => Ok((host, None)),
            _ => match after.strip_prefix(':') {
                Some(port) => Ok((host, Some(port))),
                None => Err(UrlError::AfterHost(after.to_owned())),
            },
        };
    }
    Ok(match hostport.split_once(':') {
        Some((host, port)) => (host, Some(port)),
        None => (hostport, None),
    })
}

/// The loopback address a host names, or why it is not allowed.
fn loopback(host: &str) -> Result<IpAddr, UrlError> {
    match host.to_ascii_lowercase().as_str() {
        "localhost" | "127.0.0.1" => Ok(IpAddr::V4(Ipv4Addr::LOCALHOST)),
        "::1" => Ok(IpAddr::V6(Ipv6Addr::LOCALHOST)),
        "" => Err(UrlError::NoHost),
        other => Err(UrlError::NotLoopback(other.to_owned())),
    }
}

fn default_port(scheme: &str) -> u16 {
    match scheme {
        "https" => 443,
        "socks4" | "socks4a" | "socks5" | "socks5h" => 1080,
        _ => 80,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ep(s: &str) -> SocketAddr {
        s.parse().unwrap()
    }

    #[test]
    fn loopback_hosts_and_default_ports() {
        let cases = [
            ("http://127.0.0.1:3128", "127.0.0.1:3128"),
            ("localhost:8080", "127.0.0.1:8080"),
            ("https://LOCALHOST", "127.0.0.1:443"),
            ("socks5h://[::1]", "[::1]:1080"),
            ("http://u:p@127.0.0.1/", "127.0.0.1:80"),
        ];
        for (value, endpoint) in cases {
            assert_eq!(
                ProxyUrl::parse(value).unwrap().endpoint(),
                ep(endpoint),
                "{value}"
            );
        }
    }

    #[test]
    fn non_loopback_hosts_and_bad_ports_are_refused() {
        for value in [
            "http://10.0.0.1:3128",
            "http://proxy.example:80",
            "http://127.0.0.2:80",
            "http://127.0.0.1:0",
            "http://127.0.0.1:70000",
            "http://127.0.0.1:x",
            "http://[::1",
            "http://:8080",
            "",
            "http://127.0.0.1:80 x",
            "1http://127.0.0.1",
        ] {
            assert!(ProxyUrl::parse(value).is_err(), "{value:?} accepted");
        }
    }

    #[test]
    fn rewriting_keeps_scheme_userinfo_and_path() {
        let cases = [
            ("socks5h://127.0.0.1:8081", "socks5h://127.0.0.1:43210"),
            ("localhost:3128", "127.0.0.1:43210"),
            (
                "http://u:p%40@[::1]:3128/a/?q#f",
                "http://u:p%40@127.0.0.1:43210/a/?q#f",
            ),
            ("HTTP://127.0.0.1", "HTTP://127.0.0.1:43210"),
        ];
        for (value, rewritten) in cases {
            assert_eq!(
                ProxyUrl::parse(value).unwrap().with_local_port(43210),
                rewritten
            );
        }
    }
}
