//! The loopback redirect of the interactive flow (RFC 8252 §7.3): a one-shot HTTP listener on
//! the redirect's loopback address (127.0.0.1 unless `--redirect-uri` names [::1]) and its port
//! or a free one, that waits for the browser to come back to the redirect's path (any other
//! path is 404) with `code` and `state`.
//!
//! ```text
//! browser: GET /?code=0.AX...&state=Xy7... HTTP/1.1      → 200 "you can close this window"
//! browser: GET /favicon.ico                               → 404, keep waiting
//! browser: GET /?error=consent_required&error_description=AADSTS65001...&state=...
//! ```
//! The `state` must match (it binds the answer to this request: RFC 6749 §10.12); a redirect
//! with another state is refused and ignored, and the wait goes on. Requests are
//! size-capped and each read has a timeout; the whole wait is bounded by `--login-wait`.

use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::{TcpListener, TcpStream};

use crate::outcome::{Failure, FailureKind, Stage};
use crate::secret::Secret;
use crate::token::redirect::LoopbackRedirect;
use crate::transport::util::escape;

const MAX_REQUEST: usize = 16 * 1024;
const READ_TIMEOUT: Duration = Duration::from_secs(10);

#[derive(Debug, thiserror::Error)]
pub enum LoopbackError {
    #[error("cannot listen for the sign-in redirect on the loopback address: {0}")]
    Bind(std::io::Error),
    #[error(
        "nobody completed this sign-in within --login-wait ({} s){}",
        wait.as_secs_f64(),
        match stray {
            0 => String::new(),
            n => format!(
                "; {n} redirect(s) arrived whose state did not match this sign-in (from another \
                 browser tab, an older run, or a forged request) and were ignored"
            ),
        }
    )]
    TimedOut { wait: Duration, stray: usize },
    #[error("the identity provider returned an error to the redirect: {error}")]
    Provider {
        error: String,
        description: Option<String>,
    },
}

impl LoopbackError {
    pub fn into_failure(self) -> Failure {
        let kind = match &self {
            LoopbackError::Bind(_) => FailureKind::CredentialUnusable,
            LoopbackError::TimedOut { .. } => FailureKind::SignInIncomplete,
            LoopbackError::Provider { .. } => FailureKind::TokenRejected,
        };
        let reply = match &self {
            LoopbackError::Provider { error, description } => {
                let mut lines = vec![format!("error: {}", escape(error.as_bytes()))];
                if let Some(d) = description {
                    lines.extend(
                        d.split(['\r', '\n'])
                            .filter(|l| !l.trim().is_empty())
                            .map(|l| escape(l.as_bytes())),
                    );
                }
                lines
            }
            _ => Vec::new(),
        };
        let advice = match &self {
            LoopbackError::Bind(_) => Some((
                "xoauth could not listen on the loopback address for the browser's redirect (a \
                 port given in --redirect-uri may be taken by another program)"
                    .to_string(),
                "use --flow device-code where no local port can be opened".to_string(),
            )),
            LoopbackError::TimedOut { stray: 0, wait } => Some((
                format!(
                    "the browser did not come back to xoauth within --login-wait ({} s)",
                    wait.as_secs_f64()
                ),
                "run again and finish the sign-in in the browser on this machine, or raise \
                 --login-wait"
                    .to_string(),
            )),
            LoopbackError::TimedOut { .. } => Some((
                "a sign-in was finished, but not the one this run started (its state did not \
                 match, so its code was not used)"
                    .to_string(),
                "sign in again from the link this run prints, and close older sign-in tabs; \
                 if you started no other sign-in, something on this machine sent the redirect"
                    .to_string(),
            )),
            LoopbackError::Provider { .. } => None,
        };
        let mut f = Failure::new(Stage::Token, kind, self.to_string()).with_reply(reply);
        if let LoopbackError::Provider {
            description: Some(d),
            ..
        } = &self
        {
            f = f.with_provider_ids(crate::outcome::ProviderIds::from_description(d));
        }
        if let Some((cause, fix)) = advice {
            f = f.with_advice(cause, Some(fix));
        }
        f
    }
}

pub struct Listener {
    listener: TcpListener,
    port: u16,
    redirect: LoopbackRedirect,
}

impl Listener {
    /// Listens where `redirect` says: its loopback address, its port or a free one.
    pub async fn bind(redirect: &LoopbackRedirect) -> Result<Listener, LoopbackError> {
        let listener = TcpListener::bind((redirect.bind_ip(), redirect.port.unwrap_or(0)))
            .await
            .map_err(LoopbackError::Bind)?;
        let port = listener.local_addr().map_err(LoopbackError::Bind)?.port();
        Ok(Listener {
            listener,
            port,
            redirect: redirect.clone(),
        })
    }

    /// The redirect URI to send, with the port bound: `http://localhost:PORT` by default
    /// (Entra matches a registered `http://localhost` on any port).
    pub fn redirect_uri(&self) -> String {
        self.redirect.uri(self.port)
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// Waits for the redirect and returns the authorization code. A redirect with another
    /// `state` is refused and ignored (it may come from another tab or a forger; ending the
    /// wait on it would let any local page cancel the sign-in).
    pub async fn wait(self, state: &str, wait: Duration) -> Result<Secret<String>, LoopbackError> {
        let deadline = Instant::now() + wait;
        let mut stray = 0;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let accepted = tokio::time::timeout(left, self.listener.accept()).await;
            let Ok(Ok((stream, _))) = accepted else {
                if Instant::now() >= deadline {
                    return Err(LoopbackError::TimedOut { wait, stray });
                }
                continue;
            };
            match handle(stream, state, &self.redirect).await {
                Handled::Answer(answer) => return answer,
                Handled::Stray => {
                    stray += 1;
                    eprintln!(
                        "Ignored a sign-in redirect whose state does not match this sign-in \
                         (another browser tab, an older run, or a forged request); still \
                         waiting for this one."
                    );
                }
                Handled::Other => {}
            }
        }
    }
}

enum Handled {
    Answer(Result<Secret<String>, LoopbackError>),
    /// A redirect for some other sign-in.
    Stray,
    /// Not a redirect at all (favicon, garbage).
    Other,
}

/// Serves one request: the redirect on the registered path, 404 on any other.
async fn handle(mut stream: TcpStream, state: &str, redirect: &LoopbackRedirect) -> Handled {
    let Some(head) = read_head(&mut stream).await else {
        return Handled::Other;
    };
    let Some(target) = parse_target(&head) else {
        return Handled::Other;
    };
    let (path, query) = target.split_once('?').unwrap_or((&target, ""));
    if !redirect.is_callback(path) {
        respond(&mut stream, "404 Not Found", "Not the sign-in redirect.").await;
        return Handled::Other;
    }
    let mut code = None;
    let mut got_state = None;
    let mut error = None;
    let mut description = None;
    for (k, v) in url::form_urlencoded::parse(query.as_bytes()) {
        match k.as_ref() {
            "code" => code = Some(v.into_owned()),
            "state" => got_state = Some(v.into_owned()),
            "error" => error = Some(v.into_owned()),
            "error_description" => description = Some(v.into_owned()),
            _ => {}
        }
    }
    if code.is_none() && error.is_none() {
        respond(&mut stream, "404 Not Found", "Not the sign-in redirect.").await;
        return Handled::Other;
    }
    if got_state.as_deref() != Some(state) {
        respond(
            &mut stream,
            "400 Bad Request",
            "This sign-in does not belong to the one xoauth is waiting for (its state does not \
             match), so it was ignored. Finish the sign-in from the link xoauth printed last.",
        )
        .await;
        return Handled::Stray;
    }
    if let Some(error) = error {
        respond(
            &mut stream,
            "200 OK",
            "Sign-in failed. xoauth shows the reason; you can close this window.",
        )
        .await;
        return Handled::Answer(Err(LoopbackError::Provider { error, description }));
    }
    respond(
        &mut stream,
        "200 OK",
        "Signed in. You can close this window and return to xoauth.",
    )
    .await;
    match code {
        Some(c) => Handled::Answer(Ok(Secret::new(c))),
        None => Handled::Other,
    }
}

async fn read_head(stream: &mut TcpStream) -> Option<Vec<u8>> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 2048];
    while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
        let n = tokio::time::timeout(READ_TIMEOUT, stream.read(&mut chunk))
            .await
            .ok()?
            .ok()?;
        if n == 0 {
            break;
        }
        buf.extend_from_slice(&chunk[..n]);
        if buf.len() > MAX_REQUEST {
            respond(stream, "431 Request Header Fields Too Large", "Too large.").await;
            return None;
        }
    }
    Some(buf)
}

/// The request target of `GET <target> HTTP/1.x`.
fn parse_target(head: &[u8]) -> Option<String> {
    let line = head.split(|&b| b == b'\n').next()?;
    let line = std::str::from_utf8(line).ok()?.trim_end();
    let mut parts = line.split(' ');
    let (method, target, version) = (parts.next()?, parts.next()?, parts.next()?);
    (method == "GET" && version.starts_with("HTTP/1.")).then(|| target.to_string())
}

async fn respond(stream: &mut TcpStream, status: &str, text: &str) {
    let body = format!(
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>xoauth</title></head>\
         <body><p>{text}</p></body></html>"
    );
    let response = format!(
        "HTTP/1.1 {status}\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: {}\r\n\
         Connection: close\r\nCache-Control: no-store\r\n\r\n{body}",
        body.len()
    );
    let _ = tokio::time::timeout(READ_TIMEOUT, stream.write_all(response.as_bytes())).await;
    let _ = stream.shutdown().await;
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn get(port: u16, target: &str) -> String {
        let mut s = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
        s.write_all(format!("GET {target} HTTP/1.1\r\nHost: localhost\r\n\r\n").as_bytes())
            .await
            .unwrap();
        let mut out = String::new();
        s.read_to_string(&mut out).await.unwrap();
        out
    }

    #[tokio::test]
    async fn returns_the_code_after_ignoring_other_requests() {
        let l = Listener::bind(&LoopbackRedirect::entra_default())
            .await
            .unwrap();
        let port = l.port();
        let waiter = tokio::spawn(async move { l.wait("st-1", Duration::from_secs(5)).await });
        assert!(get(port, "/favicon.ico").await.starts_with("HTTP/1.1 404"));
        assert!(
            get(port, "/?code=abc%2Fdef&state=st-1")
                .await
                .starts_with("HTTP/1.1 200")
        );
        assert_eq!(waiter.await.unwrap().unwrap().expose(), "abc/def");
    }

    #[tokio::test]
    async fn rejects_a_wrong_state_and_reports_provider_errors() {
        let l = Listener::bind(&LoopbackRedirect::entra_default())
            .await
            .unwrap();
        let port = l.port();
        let waiter = tokio::spawn(async move { l.wait("st-1", Duration::from_secs(5)).await });
        // A forged or stale redirect is refused and does not end the wait.
        assert!(
            get(port, "/?code=forged-code&state=forged")
                .await
                .starts_with("HTTP/1.1 400")
        );
        get(port, "/?code=abc&state=st-1").await;
        assert_eq!(waiter.await.unwrap().unwrap().expose(), "abc");

        let l = Listener::bind(&LoopbackRedirect::entra_default())
            .await
            .unwrap();
        let port = l.port();
        let waiter = tokio::spawn(async move { l.wait("st-1", Duration::from_millis(800)).await });
        get(port, "/?code=abc&state=forged").await;
        let e = waiter.await.unwrap().unwrap_err();
        assert!(
            matches!(e, LoopbackError::TimedOut { stray: 1, .. }),
            "{e:?}"
        );
        let f = e.into_failure();
        assert_eq!(f.kind, FailureKind::SignInIncomplete);
        assert!(f.message.contains("state did not match"), "{}", f.message);
        assert!(!f.message.contains("refused"), "{}", f.message);
        assert!(f.advice.unwrap().fix.unwrap().contains("sign in again"));

        let l = Listener::bind(&LoopbackRedirect::entra_default())
            .await
            .unwrap();
        let port = l.port();
        let waiter = tokio::spawn(async move { l.wait("s", Duration::from_secs(5)).await });
        get(
            port,
            "/?error=consent_required&error_description=AADSTS65001%3A+no&state=s",
        )
        .await;
        let f = waiter.await.unwrap().unwrap_err().into_failure();
        assert_eq!(f.kind, FailureKind::TokenRejected);
        assert_eq!(
            f.server_reply,
            vec!["error: consent_required", "AADSTS65001: no"]
        );
    }

    #[tokio::test]
    async fn times_out_and_survives_garbage() {
        let l = Listener::bind(&LoopbackRedirect::entra_default())
            .await
            .unwrap();
        let port = l.port();
        let waiter = tokio::spawn(async move { l.wait("s", Duration::from_millis(800)).await });
        let mut s = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
        s.write_all(&[b'x'; 20_000]).await.unwrap();
        drop(s);
        assert!(matches!(
            waiter.await.unwrap(),
            Err(LoopbackError::TimedOut { stray: 0, .. })
        ));
    }

    #[tokio::test]
    async fn only_the_registered_path_is_the_callback() {
        let redirect = LoopbackRedirect::parse("http://127.0.0.1/callback").unwrap();
        let l = Listener::bind(&redirect).await.unwrap();
        let port = l.port();
        assert_eq!(
            l.redirect_uri(),
            format!("http://127.0.0.1:{port}/callback")
        );
        let waiter = tokio::spawn(async move { l.wait("st-1", Duration::from_secs(5)).await });
        // The right code and state on another path are not the redirect.
        for other in ["/?code=abc&state=st-1", "/callbackx?code=abc&state=st-1"] {
            assert!(
                get(port, other).await.starts_with("HTTP/1.1 404"),
                "{other}"
            );
        }
        assert!(
            get(port, "/callback?code=abc&state=st-1")
                .await
                .starts_with("HTTP/1.1 200")
        );
        assert_eq!(waiter.await.unwrap().unwrap().expose(), "abc");
    }

    #[test]
    fn request_line_parsing() {
        assert_eq!(
            parse_target(b"GET /?a=b HTTP/1.1\r\n"),
            Some("/?a=b".into())
        );
        assert_eq!(parse_target(b"POST / HTTP/1.1\r\n"), None);
        assert_eq!(parse_target(b"GET /\r\n"), None);
        assert_eq!(parse_target(&[0xff, 0xfe]), None);
    }
}
