//! `xoauth legacy-auth --graph`: the sign-in logs read live from Microsoft Graph, page after
//! page, into the same [`Summary`] an export fills. The pure half (the URL, what each answer
//! means) is `legacy::graph`; here are the requests, bounded: a timeout on each, at most
//! [`MAX_PAGE_BYTES`] per page, [`MAX_PAGES`] pages, `Retry-After` honoured up to the cap
//! `legacy::graph` sets. The token goes only to the Graph host given: a next link that points
//! elsewhere is refused rather than followed with the token.

use std::time::Duration;

use crate::legacy::graph::{self, Answer};
use crate::legacy::{Reader, Summary};
use crate::secret::Secret;

/// Largest page body read: Graph's pages of 1,000 sign-ins are a few MB.
pub const MAX_PAGE_BYTES: usize = 64 << 20;
/// Most pages followed (1,000 sign-ins each): a runaway `nextLink` chain ends here.
pub const MAX_PAGES: u32 = 10_000;
/// Sign-ins asked for per page.
const PAGE_SIZE: u32 = 1000;

#[derive(Debug, thiserror::Error)]
pub enum GraphError {
    #[error("{0}")]
    Http(String),
    #[error("{}", graph::NO_LICENCE_ADVICE)]
    NoLicence,
    #[error("{0}")]
    Refused(String),
    #[error("Graph's page could not be read: {0}")]
    Page(String),
    #[error(
        "Graph's next page is on {0}, not on the Graph host given; not following it with the token"
    )]
    ForeignNextLink(String),
}

/// What the reading took.
#[derive(Debug, Default, Clone, Copy)]
pub struct Fetched {
    pub pages: u32,
    pub retries: u32,
}

/// Reads every page of sign-ins since `since` from `base` (`https://graph.microsoft.com`)
/// into `summary`.
pub async fn fetch(
    client: &reqwest::Client,
    base: &str,
    token: &Secret<String>,
    since: i64,
    summary: &mut Summary,
) -> Result<Fetched, GraphError> {
    let base = base.trim_end_matches('/');
    let mut url = graph::first_url(base, since, PAGE_SIZE);
    let mut fetched = Fetched::default();
    let mut attempt = 0;
    loop {
        let response = client
            .get(&url)
            .bearer_auth(token.expose())
            .header("Accept", "application/json")
            .send()
            .await
            .map_err(|e| {
                // Without the URL: its filter is long, and --graph-url already names the host.
                GraphError::Http(format!(
                    "Graph at {base} did not answer: {}; check --graph-url and the network",
                    chain(&e.without_url())
                ))
            })?;
        let status = response.status().as_u16();
        let retry_after = response
            .headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let body = read_bounded(response).await?;
        match graph::classify(status, retry_after.as_deref(), &body, attempt) {
            Answer::Retry(secs) => {
                attempt += 1;
                fetched.retries += 1;
                tokio::time::sleep(Duration::from_secs(secs)).await;
                continue;
            }
            Answer::NoLicence => return Err(GraphError::NoLicence),
            Answer::Error(message) => return Err(GraphError::Refused(message)),
            Answer::Page => {}
        }
        attempt = 0;
        fetched.pages += 1;
        let mut reader = Reader::new(Box::new(std::io::Cursor::new(body)))
            .map_err(|e| GraphError::Page(e.to_string()))?;
        summary.format = Some(reader.format());
        summary
            .read_all(reader.by_ref())
            .map_err(|e| GraphError::Page(e.to_string()))?;
        let Some(next) = reader.next_link().map(str::to_string) else {
            return Ok(fetched);
        };
        if !next.starts_with(&format!("{base}/")) {
            return Err(GraphError::ForeignNextLink(origin(&next)));
        }
        if fetched.pages >= MAX_PAGES {
            return Err(GraphError::Page(format!(
                "more than {MAX_PAGES} pages; use a shorter --since window"
            )));
        }
        url = next;
    }
}

/// The body, refused past [`MAX_PAGE_BYTES`].
async fn read_bounded(mut response: reqwest::Response) -> Result<Vec<u8>, GraphError> {
    let mut body = Vec::new();
    while let Some(chunk) = response
        .chunk()
        .await
        .map_err(|e| GraphError::Http(format!("Graph's answer broke off: {e}")))?
    {
        if body.len() + chunk.len() > MAX_PAGE_BYTES {
            return Err(GraphError::Page(format!(
                "a page larger than {} MiB",
                MAX_PAGE_BYTES >> 20
            )));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// An error with its causes (reqwest's own message is only "error sending request").
fn chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        out.push_str(": ");
        out.push_str(&s.to_string());
        source = s.source();
    }
    out
}

/// `scheme://host[:port]` of a URL, for the message (never the query, which may be long).
fn origin(url: &str) -> String {
    url::Url::parse(url)
        .ok()
        .map(|u| u.origin().ascii_serialization())
        .unwrap_or_else(|| "another host".into())
}
