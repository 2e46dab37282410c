//! `--redirect-uri`: the loopback redirect a provider has registered for the app (RFC 8252
//! §7.3), kept as the admin registered it — host and path — because a standards-following
//! provider compares the path exactly and answers 400 to any other. The port is the one given,
//! else chosen when the listener binds (RFC 8252 §7.3: the provider must accept any port on a
//! loopback IP literal).
//!
//! ```text
//! http://127.0.0.1/callback  → http://127.0.0.1:53682/callback   (listener on 127.0.0.1)
//! http://localhost:8400/cb   → http://localhost:8400/cb          (listener on 127.0.0.1:8400)
//! http://[::1]/x             → http://[::1]:53682/x              (listener on ::1)
//! ```

use std::net::{IpAddr, Ipv4Addr};

/// Where the browser comes back to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoopbackRedirect {
    host: Host,
    /// The port given; `None` = any free one.
    pub port: Option<u16>,
    /// The path as given (`/callback`), or empty when none was given.
    pub path: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Host {
    Localhost,
    Ip(IpAddr),
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum RedirectError {
    #[error("--redirect-uri {0:?} is not a URL (e.g. http://127.0.0.1/callback)")]
    NotUrl(String),
    #[error(
        "--redirect-uri {0}: the interactive flow's redirect must be plain http on a loopback \
         address (RFC 8252 §7.3), where xoauth itself listens: no TLS certificate is involved \
         and nothing leaves the machine. Register and give http://127.0.0.1/PATH, \
         http://[::1]/PATH or http://localhost/PATH"
    )]
    NotHttp(String),
    #[error(
        "--redirect-uri {0}: the host must be a loopback address (127.0.0.1, [::1] or \
         localhost): the browser must come back to xoauth on this machine"
    )]
    NotLoopback(String),
    #[error(
        "--redirect-uri {0}: no user name, query or fragment: give the loopback address, an \
         optional port and the registered path only"
    )]
    Extra(String),
}

impl LoopbackRedirect {
    pub fn parse(raw: &str) -> Result<LoopbackRedirect, RedirectError> {
        let raw = raw.trim();
        let url = url::Url::parse(raw).map_err(|_| RedirectError::NotUrl(raw.to_string()))?;
        if url.scheme() != "http" {
            return Err(RedirectError::NotHttp(raw.to_string()));
        }
        let host = match url.host() {
            Some(url::Host::Domain(d)) if d.eq_ignore_ascii_case("localhost") => Host::Localhost,
            Some(url::Host::Ipv4(ip)) if ip.is_loopback() => Host::Ip(IpAddr::V4(ip)),
            Some(url::Host::Ipv6(ip)) if ip.is_loopback() => Host::Ip(IpAddr::V6(ip)),
            _ => return Err(RedirectError::NotLoopback(raw.to_string())),
        };
        if !url.username().is_empty()
            || url.password().is_some()
            || url.query().is_some()
            || url.fragment().is_some()
        {
            return Err(RedirectError::Extra(raw.to_string()));
        }
        // The url crate drops a default port (:80) and adds `/` to an empty path; the
        // provider compares what was registered, so both are read from the text.
        let rest = &raw[raw.find("://").map_or(0, |i| i + 3)..];
        let authority = rest.find('/').map_or(rest, |i| &rest[..i]);
        let port = url
            .port()
            .or_else(|| authority.ends_with(":80").then_some(80));
        let path = if rest.contains('/') {
            url.path().to_string()
        } else {
            String::new()
        };
        Ok(LoopbackRedirect { host, port, path })
    }

    /// The address the listener binds: `localhost` is 127.0.0.1 (what Entra and most
    /// browsers resolve it to first).
    pub fn bind_ip(&self) -> IpAddr {
        match self.host {
            Host::Localhost => IpAddr::V4(Ipv4Addr::LOCALHOST),
            Host::Ip(ip) => ip,
        }
    }

    /// The redirect URI sent to the provider, with the port the listener got.
    pub fn uri(&self, port: u16) -> String {
        let host = match self.host {
            Host::Localhost => "localhost".to_string(),
            Host::Ip(IpAddr::V4(ip)) => ip.to_string(),
            Host::Ip(IpAddr::V6(ip)) => format!("[{ip}]"),
        };
        format!("http://{host}:{port}{}", self.path)
    }

    /// xoauth's redirect when none is given: `http://localhost:PORT`, no path (Entra matches
    /// a registered `http://localhost` on any port).
    pub fn entra_default() -> LoopbackRedirect {
        LoopbackRedirect {
            host: Host::Localhost,
            port: None,
            path: String::new(),
        }
    }

    /// Whether a request for `target_path` is the redirect (an empty registered path is `/`).
    pub fn is_callback(&self, target_path: &str) -> bool {
        let want = if self.path.is_empty() {
            "/"
        } else {
            &self.path
        };
        target_path == want
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_and_path_are_kept_and_the_port_is_chosen_unless_given() {
        let r = LoopbackRedirect::parse("http://127.0.0.1/callback").unwrap();
        assert_eq!((r.port, r.path.as_str()), (None, "/callback"));
        assert_eq!(r.uri(53682), "http://127.0.0.1:53682/callback");
        assert_eq!(r.bind_ip(), IpAddr::V4(Ipv4Addr::LOCALHOST));
        let r = LoopbackRedirect::parse("http://localhost:8400/cb").unwrap();
        assert_eq!(r.port, Some(8400));
        assert_eq!(r.uri(8400), "http://localhost:8400/cb");
        let r = LoopbackRedirect::parse("http://[::1]/x").unwrap();
        assert_eq!(r.uri(9), "http://[::1]:9/x");
        assert_eq!(r.bind_ip(), IpAddr::V6(std::net::Ipv6Addr::LOCALHOST));
        let r = LoopbackRedirect::parse("http://127.0.0.1").unwrap();
        assert_eq!(r.uri(9), "http://127.0.0.1:9");
        assert!(r.is_callback("/") && !r.is_callback("/x"));
        let r = LoopbackRedirect::parse("http://127.0.0.1:80/").unwrap();
        assert_eq!((r.port, r.path.as_str()), (Some(80), "/"));
        let r = LoopbackRedirect::parse("http://127.0.0.1/a/b").unwrap();
        assert!(r.is_callback("/a/b") && !r.is_callback("/a") && !r.is_callback("/"));
        assert_eq!(
            LoopbackRedirect::entra_default().uri(5),
            "http://localhost:5"
        );
    }

    #[test]
    fn only_plain_http_on_loopback() {
        use RedirectError::*;
        let cases = [
            (
                "https://127.0.0.1/callback",
                NotHttp as fn(String) -> RedirectError,
            ),
            ("https://localhost:8400/cb", NotHttp),
            ("ftp://127.0.0.1/", NotHttp),
            ("http://app.example/callback", NotLoopback),
            ("http://10.0.0.1/cb", NotLoopback),
            ("http://localhost.evil.example/cb", NotLoopback),
            ("http://127.0.0.1/cb?x=1", Extra),
            ("http://127.0.0.1/cb#f", Extra),
            ("http://user@127.0.0.1/cb", Extra),
            ("127.0.0.1/callback", NotUrl),
        ];
        for (raw, want) in cases {
            assert_eq!(
                LoopbackRedirect::parse(raw),
                Err(want(raw.to_string())),
                "{raw}"
            );
        }
    }
}
