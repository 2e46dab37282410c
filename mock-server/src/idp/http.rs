//! The identity platform over HTTPS: axum routes, and one hyper HTTP/1.1 connection per
//! accepted TLS stream (axum's own `serve` only takes plain listeners). Request bodies are
//! capped at 64 KiB, a request head must arrive within the idle timeout (at most 30 s, also
//! between keep-alive requests), and a connection is wound down gracefully at the session
//! deadline (at most 5 minutes). At the connection cap, a 503 instead. Handlers only translate between HTTP and the pure endpoint
//! functions, and record token requests.

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{DefaultBodyLimit, Path, RawQuery, State};
use axum::http::header::{
    AUTHORIZATION, CACHE_CONTROL, CONTENT_TYPE, LOCATION, PRAGMA, RETRY_AFTER,
};
use axum::http::{HeaderMap, HeaderValue, StatusCode, Uri};
use axum::response::Response;
use axum::routing::{get, post};
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpStream;
use tokio_rustls::TlsAcceptor;

use super::Idp;
use super::authorize::{self, Outcome};
use super::client_auth;
use super::device;
use super::errors::{AadError, ErrorIds};
use super::grants::{self, TokenRequest};
use super::params::Params;
use super::records::TokenRequestRecord;
use crate::{clock, ids};

/// Largest accepted request body.
pub(crate) const MAX_BODY: usize = 64 * 1024;
/// Largest request head hyper buffers.
const MAX_HEAD: usize = 64 * 1024;
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(30);
/// Longest wait for a request head (also between keep-alive requests), whatever the
/// configured idle timeout.
const HEADER_TIMEOUT: Duration = Duration::from_secs(30);
/// Longest a connection lasts, whatever the configured session timeout: then it finishes
/// its current request and closes.
const CONNECTION_LIFETIME: Duration = Duration::from_secs(300);
const GRACE: Duration = Duration::from_secs(30);
/// Time a refused client has to send its request head before the 503 goes out anyway.
const REFUSE_HEADER_TIMEOUT: Duration = Duration::from_secs(2);

/// The routes, sharing `idp`.
pub(crate) fn router(idp: Arc<Idp>) -> Router {
    Router::new()
        .route("/{tenant}/oauth2/v2.0/authorize", get(authorize_endpoint))
        .route("/{tenant}/oauth2/v2.0/token", post(token_endpoint))
        .route(
            "/{tenant}/oauth2/v2.0/devicecode",
            post(devicecode_endpoint),
        )
        .route(
            "/{tenant}/v2.0/.well-known/openid-configuration",
            get(discovery_endpoint),
        )
        .route("/beta/auditLogs/signIns", get(graph_sign_ins))
        .route("/v1.0/auditLogs/signIns", get(graph_sign_ins))
        .route("/devicelogin", get(devicelogin_page))
        .route("/mock/devicecode/approve", post(approve_hook))
        .route("/mock/devicecode/decline", post(decline_hook))
        .fallback(not_found)
        .layer(DefaultBodyLimit::max(MAX_BODY))
        .with_state(idp)
}

/// Serves one connection: TLS handshake, then HTTP/1.1 until the client is done, it stays
/// silent for `idle` (capped at 30 s) or the connection is `session` old (capped at 5 min).
pub(crate) async fn serve(
    stream: TcpStream,
    router: Router,
    acceptor: TlsAcceptor,
    idle: Duration,
    session: Duration,
) {
    let Ok(Ok(tls)) = tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(stream)).await else {
        return;
    };
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(idle.min(HEADER_TIMEOUT))
        .max_buf_size(MAX_HEAD);
    let conn = builder.serve_connection(TokioIo::new(tls), TowerToHyperService::new(router));
    tokio::pin!(conn);
    tokio::select! {
        _ = conn.as_mut() => return,
        () = tokio::time::sleep(session.min(CONNECTION_LIFETIME)) => conn.as_mut().graceful_shutdown(),
    }
    let _ = tokio::time::timeout(GRACE, conn).await;
}

/// Turns a client away when the server is at its connection cap: TLS handshake, then
/// `503 Service Unavailable` with `Retry-After` to whatever it asks, and close.
pub(crate) async fn refuse(stream: TcpStream, acceptor: TlsAcceptor) {
    let Ok(Ok(tls)) = tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(stream)).await else {
        return;
    };
    let busy = Router::new().fallback(too_many_connections);
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .keep_alive(false)
        .header_read_timeout(REFUSE_HEADER_TIMEOUT)
        .max_buf_size(MAX_HEAD);
    let _ = builder
        .serve_connection(TokioIo::new(tls), TowerToHyperService::new(busy))
        .await;
}

async fn too_many_connections() -> Response {
    let mut r = response(
        503,
        TEXT,
        "too many connections to the server; try again later\n".to_owned(),
    );
    r.headers_mut()
        .insert(RETRY_AFTER, HeaderValue::from_static("1"));
    r
}

/// Form parameters of a POST, if it is `application/x-www-form-urlencoded`.
fn form(headers: &HeaderMap, body: &[u8]) -> Params {
    let is_form = headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| {
            ct.split(';').next().is_some_and(|m| {
                m.trim()
                    .eq_ignore_ascii_case("application/x-www-form-urlencoded")
            })
        });
    if is_form {
        Params::parse(body)
    } else {
        Params::default()
    }
}

/// Trace id, correlation id (the client's `client-request-id` if it is a UUID) and time.
fn error_ids(headers: &HeaderMap, now_ms: i64) -> ErrorIds {
    let correlation_id = headers
        .get("client-request-id")
        .and_then(|v| v.to_str().ok())
        .filter(|v| ids::is_uuid(v))
        .map_or_else(ids::random_uuid, str::to_ascii_lowercase);
    ErrorIds {
        trace_id: ids::random_uuid(),
        correlation_id,
        timestamp: clock::aad_timestamp(now_ms / 1000),
    }
}

fn response(status: u16, content_type: &'static str, body: String) -> Response {
    let mut r = Response::new(Body::from(body));
    *r.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST);
    let h = r.headers_mut();
    h.insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    h.insert(
        CACHE_CONTROL,
        HeaderValue::from_static("no-store, no-cache"),
    );
    h.insert(PRAGMA, HeaderValue::from_static("no-cache"));
    r
}

const JSON: &str = "application/json; charset=utf-8";
const HTML: &str = "text/html; charset=utf-8";
const TEXT: &str = "text/plain; charset=utf-8";

fn json_result(result: Result<String, AadError>, ids: &ErrorIds) -> (u16, Option<u32>, Response) {
    match result {
        Ok(body) => (200, None, response(200, JSON, body)),
        Err(e) => {
            let status = e.status();
            (status, Some(e.code), response(status, JSON, e.to_json(ids)))
        }
    }
}

async fn token_endpoint(
    State(idp): State<Arc<Idp>>,
    Path(tenant): Path<String>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let now_ms = clock::now_ms();
    let params = form(&headers, &body);
    let authorization = headers.get(AUTHORIZATION).and_then(|v| v.to_str().ok());
    let presented = client_auth::presented(&params, authorization);
    let request = TokenRequest {
        tenant: &tenant,
        params: &params,
        now_ms,
    };
    let result = grants::token(&idp, &request, &presented);
    let (status, error_code, response) = json_result(result, &error_ids(&headers, now_ms));
    idp.records.push(TokenRequestRecord {
        path: uri.path().to_owned(),
        grant_type: params.get("grant_type").unwrap_or_default().to_owned(),
        client_id: presented.client_id.clone(),
        scope: params.get("scope").map(str::to_owned),
        client_auth: presented.kind,
        had_code_verifier: params.get("code_verifier").is_some(),
        status,
        error_code,
    });
    response
}

async fn devicecode_endpoint(
    State(idp): State<Arc<Idp>>,
    Path(tenant): Path<String>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let now_ms = clock::now_ms();
    let params = form(&headers, &body);
    let presented = client_auth::presented(&params, None);
    let result = device::device_authorization(&idp, &tenant, &params, now_ms);
    let (status, error_code, response) = json_result(result, &error_ids(&headers, now_ms));
    idp.records.push(TokenRequestRecord {
        path: uri.path().to_owned(),
        grant_type: params.get("grant_type").unwrap_or_default().to_owned(),
        client_id: presented.client_id.clone(),
        scope: params.get("scope").map(str::to_owned),
        client_auth: presented.kind,
        had_code_verifier: params.get("code_verifier").is_some(),
        status,
        error_code,
    });
    response
}

async fn authorize_endpoint(
    State(idp): State<Arc<Idp>>,
    Path(tenant): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Response {
    let now_ms = clock::now_ms();
    let params = Params::parse(query.unwrap_or_default().as_bytes());
    let ids = error_ids(&headers, now_ms);
    match authorize::authorize(&idp, &tenant, &params, now_ms, &ids) {
        Outcome::Redirect(location) => match HeaderValue::from_str(&location) {
            Ok(value) => {
                let mut r = response(302, HTML, String::new());
                r.headers_mut().insert(LOCATION, value);
                r
            }
            Err(_) => response(
                400,
                TEXT,
                "redirect_uri cannot go in a Location header\n".to_owned(),
            ),
        },
        Outcome::Page(e) => response(400, HTML, e.to_html(&ids)),
    }
}

async fn discovery_endpoint(
    State(idp): State<Arc<Idp>>,
    Path(tenant): Path<String>,
    headers: HeaderMap,
) -> Response {
    let ids = error_ids(&headers, clock::now_ms());
    json_result(super::discovery::document(&idp, &tenant), &ids).2
}

/// The device login page; `?user_code=…` (a `verification_uri_complete`) fills in the code.
async fn devicelogin_page(State(idp): State<Arc<Idp>>, RawQuery(query): RawQuery) -> Response {
    let params = Params::parse(query.unwrap_or_default().as_bytes());
    let code = params.get("user_code").unwrap_or_default();
    let clean = |s: &str| s.replace(['"', '<', '>', '&'], "");
    let user = idp
        .ctx
        .idp
        .default_user
        .clone()
        .or_else(|| idp.ctx.directory.first_user().map(|u| u.address.clone()))
        .unwrap_or_default();
    let page = format!(
        "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>Enter code</title></head><body>\n\
         <h1>xoauth-mock device login</h1>\n<p>Enter the code shown by the app. The mock signs you in \
         as the user below and consents on your behalf.</p>\n\
         <form method=\"post\" action=\"/mock/devicecode/approve\">\n\
         <label>Code <input name=\"user_code\" value=\"{}\" autofocus></label>\n\
         <label>User <input name=\"user\" value=\"{}\"></label>\n\
         <button>Next</button></form>\n</body></html>\n",
        clean(code),
        clean(&user)
    );
    response(200, HTML, page)
}

async fn approve_hook(State(idp): State<Arc<Idp>>, headers: HeaderMap, body: Bytes) -> Response {
    let params = form(&headers, &body);
    let code = params.get("user_code").unwrap_or_default();
    let user = params.get("user").unwrap_or_default();
    if idp.approve_device_code(code, user) {
        response(200, TEXT, "approved\n".to_owned())
    } else {
        response(
            400,
            TEXT,
            "no pending device code with this user_code, or user is not a user mailbox\n"
                .to_owned(),
        )
    }
}

async fn decline_hook(State(idp): State<Arc<Idp>>, headers: HeaderMap, body: Bytes) -> Response {
    let params = form(&headers, &body);
    if idp.decline_device_code(params.get("user_code").unwrap_or_default()) {
        response(200, TEXT, "declined\n".to_owned())
    } else {
        response(
            400,
            TEXT,
            "no pending device code with this user_code\n".to_owned(),
        )
    }
}

/// The mock's Graph sign-in logs (see `graph`).
async fn graph_sign_ins(
    State(idp): State<Arc<Idp>>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    let auth = headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    let answer = super::graph::sign_ins(&idp, auth, &query.unwrap_or_default());
    let mut r = response(answer.status, JSON, answer.body);
    if let Some(secs) = answer.retry_after {
        r.headers_mut()
            .insert(axum::http::header::RETRY_AFTER, HeaderValue::from(secs));
    }
    r
}

async fn not_found() -> Response {
    response(404, TEXT, "not found\n".to_owned())
}
