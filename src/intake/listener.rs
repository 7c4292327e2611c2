//! The HTTP listener: `POST /leads` and `GET /health`, on hyper over a small tokio runtime of
//! its own. Each accepted post becomes one `add` through the same service the Unix socket
//! uses, as the intake of the token's source; the answer is sent once the lead is on disk.
//!
//! Nothing a poster sends is trusted: the token decides the source, the form never names an
//! owner, bodies and headers are bounded and timed, and no internal error text goes back (the
//! server's log has it, without the request's text).

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::header::{self, HeaderValue};
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use serde_json::json;

use super::form::{self, FieldError, Refusal};
use super::guard::{Answer, BODY_MEMORY, KEY_MEMORY, Memory, Rates};
use super::tokens::{Entry, Tokens};
use crate::domain::sanitize::for_display;
use crate::service::{Identity, Local, Role, ServiceError};

/// The largest body accepted by default (a form of a few dozen fields is a few KB).
pub const DEFAULT_MAX_BODY: usize = 64 * 1024;
/// How long a poster has to send its headers, and then its body.
const HEADER_TIME: Duration = Duration::from_secs(5);
const BODY_TIME: Duration = Duration::from_secs(10);
/// Connections open at once; more are closed as they come.
const MAX_CONNECTIONS: usize = 1024;
/// Connections open at once from one address (a reverse proxy on this machine aside): one
/// client holding connections open cannot starve the others.
const PER_PEER: usize = 16;
/// The longest `Idempotency-Key` accepted.
const MAX_KEY: usize = 200;

pub struct IntakeOptions {
    pub addr: SocketAddr,
    pub tokens: Tokens,
    pub max_body: usize,
    /// The country code national phone numbers are read with.
    pub country_code: String,
}

/// Where the listener writes what happened (the server's log).
pub type Logger = Arc<dyn Fn(&str) + Send + Sync>;

struct State {
    base: Local,
    tokens: Tokens,
    max_body: usize,
    country_code: String,
    rates: Mutex<Rates>,
    memory: Mutex<Memory>,
    log: Logger,
}

/// A running listener; dropping it stops it.
pub struct Running {
    pub addr: SocketAddr,
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Drop for Running {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Binds `opts.addr` and serves the intake on a thread of its own.
pub fn start(base: Local, opts: IntakeOptions, log: Logger) -> Result<Running, String> {
    let listener = std::net::TcpListener::bind(opts.addr)
        .map_err(|e| format!("cannot listen for HTTP on {}: {e}", opts.addr))?;
    listener
        .set_nonblocking(true)
        .map_err(|e| format!("cannot listen for HTTP on {}: {e}", opts.addr))?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .max_blocking_threads(32)
        .thread_name("leadq-intake")
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the HTTP listener: {e}"))?;
    let state = Arc::new(State {
        base,
        tokens: opts.tokens,
        max_body: opts.max_body,
        country_code: opts.country_code,
        rates: Mutex::new(Rates::default()),
        memory: Mutex::new(Memory::default()),
        log,
    });
    let stop = Arc::new(AtomicBool::new(false));
    let stopping = Arc::clone(&stop);
    let thread = std::thread::Builder::new()
        .name("leadq-intake".into())
        .spawn(move || runtime.block_on(accept(listener, state, stopping)))
        .map_err(|e| format!("cannot start the HTTP listener: {e}"))?;
    Ok(Running {
        addr,
        stop,
        thread: Some(thread),
    })
}

async fn accept(listener: std::net::TcpListener, state: Arc<State>, stop: Arc<AtomicBool>) {
    let listener = match tokio::net::TcpListener::from_std(listener) {
        Ok(l) => l,
        Err(e) => {
            (state.log)(&format!("intake: cannot listen: {e}"));
            return;
        }
    };
    let open = Arc::new(tokio::sync::Semaphore::new(MAX_CONNECTIONS));
    let peers: Arc<Mutex<std::collections::HashMap<std::net::IpAddr, usize>>> = Arc::default();
    while !stop.load(Ordering::Relaxed) {
        let Ok(accepted) =
            tokio::time::timeout(Duration::from_millis(200), listener.accept()).await
        else {
            continue;
        };
        let (stream, peer) = match accepted {
            Ok(a) => a,
            Err(e) => {
                (state.log)(&format!("intake: accept failed: {e}"));
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        // Beyond the limit a connection is closed at once: a crowd cannot take the memory.
        let Ok(permit) = Arc::clone(&open).try_acquire_owned() else {
            drop(stream);
            continue;
        };
        let Some(seat) = PeerSeat::take(&peers, peer.ip()) else {
            drop(stream);
            continue;
        };
        let state = Arc::clone(&state);
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |req| {
                let state = Arc::clone(&state);
                async move { Ok::<_, Infallible>(answer(&state, req, peer).await) }
            });
            let _ = hyper::server::conn::http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(HEADER_TIME)
                .max_buf_size(16 * 1024)
                .serve_connection(TokioIo::new(stream), service)
                .await;
            drop(permit);
            drop(seat);
        });
    }
}

/// One of an address's connections, given back when it ends.
struct PeerSeat {
    peers: Arc<Mutex<std::collections::HashMap<std::net::IpAddr, usize>>>,
    ip: std::net::IpAddr,
}

impl PeerSeat {
    fn take(
        peers: &Arc<Mutex<std::collections::HashMap<std::net::IpAddr, usize>>>,
        ip: std::net::IpAddr,
    ) -> Option<PeerSeat> {
        let mut map = peers.lock().unwrap_or_else(|p| p.into_inner());
        let n = map.entry(ip).or_default();
        if *n >= PER_PEER && !ip.is_loopback() {
            return None;
        }
        *n += 1;
        Some(PeerSeat {
            peers: Arc::clone(peers),
            ip,
        })
    }
}

impl Drop for PeerSeat {
    fn drop(&mut self) {
        let mut map = self.peers.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(n) = map.get_mut(&self.ip) {
            *n -= 1;
            if *n == 0 {
                map.remove(&self.ip);
            }
        }
    }
}

fn reply(status: StatusCode, body: serde_json::Value) -> Response<Full<Bytes>> {
    let mut r = Response::new(Full::new(Bytes::from(body.to_string())));
    *r.status_mut() = status;
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    r
}

fn refuse(status: StatusCode, error: &str) -> Response<Full<Bytes>> {
    reply(status, json!({ "error": error }))
}

fn bad_fields(errors: &[FieldError]) -> Response<Full<Bytes>> {
    let error = match errors {
        [one] if one.field.is_empty() => one.error.clone(),
        _ => "some fields are not right".to_string(),
    };
    reply(
        StatusCode::BAD_REQUEST,
        json!({ "error": error, "fields": errors }),
    )
}

async fn answer(
    state: &Arc<State>,
    req: Request<Incoming>,
    peer: SocketAddr,
) -> Response<Full<Bytes>> {
    match (req.method(), req.uri().path()) {
        (&Method::GET | &Method::HEAD, "/health") => health(state).await,
        (&Method::POST, "/leads") => post(state, req, peer).await,
        (_, "/health") | (_, "/leads") => {
            let mut r = refuse(
                StatusCode::METHOD_NOT_ALLOWED,
                "not a method this path takes",
            );
            let allow = if req.uri().path() == "/health" {
                "GET, HEAD"
            } else {
                "POST"
            };
            r.headers_mut()
                .insert(header::ALLOW, HeaderValue::from_static(allow));
            r
        }
        _ => refuse(
            StatusCode::NOT_FOUND,
            "nothing here: leads are posted to /leads",
        ),
    }
}

async fn health(state: &Arc<State>) -> Response<Full<Bytes>> {
    let base = state.base.clone();
    let ok = tokio::task::spawn_blocking(move || base.store().lead_count().is_ok())
        .await
        .unwrap_or(false);
    if ok {
        reply(StatusCode::OK, json!({ "status": "ok" }))
    } else {
        reply(
            StatusCode::SERVICE_UNAVAILABLE,
            json!({ "status": "unavailable" }),
        )
    }
}

/// The bearer token of the Authorization header.
fn bearer(req: &Request<Incoming>) -> Option<String> {
    let v = req.headers().get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = v.trim().split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim().to_string())
}

fn header_text(req: &Request<Incoming>, name: &str) -> Option<String> {
    req.headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(|s| s.trim().to_string())
}

async fn post(
    state: &Arc<State>,
    req: Request<Incoming>,
    peer: SocketAddr,
) -> Response<Full<Bytes>> {
    let too_big = || {
        refuse(
            StatusCode::PAYLOAD_TOO_LARGE,
            &format!("the body is over {} bytes", state.max_body),
        )
    };
    let declared = header_text(&req, "content-length").and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > state.max_body as u64) {
        return too_big();
    }
    let bearer = bearer(&req);
    // A wrong bearer token is told so before the body is read.
    if let Some(t) = &bearer
        && state.tokens.find(t).is_none()
    {
        return refuse(StatusCode::UNAUTHORIZED, "a missing or wrong token");
    }
    let content_type = header_text(&req, "content-type");
    // A key that is not printable ASCII is refused (after the token is known), not ignored.
    let key = match req.headers().get("idempotency-key") {
        None => Ok(None),
        Some(v) => match v.to_str().map(str::trim) {
            Ok(k)
                if !k.is_empty()
                    && k.len() <= MAX_KEY
                    && k.bytes().all(|b| b.is_ascii_graphic()) =>
            {
                Ok(Some(k.to_string()))
            }
            _ => Err(()),
        },
    };
    let body = Limited::new(req.into_body(), state.max_body).collect();
    let body = match tokio::time::timeout(BODY_TIME, body).await {
        Err(_) => return refuse(StatusCode::REQUEST_TIMEOUT, "the body took too long"),
        Ok(Err(e)) if e.is::<http_body_util::LengthLimitError>() => return too_big(),
        Ok(Err(_)) => return refuse(StatusCode::BAD_REQUEST, "the body could not be read"),
        Ok(Ok(b)) => b.to_bytes(),
    };
    let parsed = form::parse(content_type.as_deref(), &body);
    let token = bearer.or_else(|| parsed.as_ref().ok().and_then(|p| p.token.clone()));
    let Some(entry) = token.as_deref().and_then(|t| state.tokens.find(t)).cloned() else {
        return refuse(StatusCode::UNAUTHORIZED, "a missing or wrong token");
    };
    let now = Instant::now();
    let mut posted = match parsed {
        Ok(p) => p,
        Err(Refusal::Unsupported(why)) => {
            return refuse(StatusCode::UNSUPPORTED_MEDIA_TYPE, &why);
        }
        Err(Refusal::Bad(errors)) => return bad_fields(&errors),
    };
    if let Some(src) = &posted.lead.source
        && !src.eq_ignore_ascii_case(entry.source.trim())
    {
        return bad_fields(&[FieldError {
            field: for_display(&posted.posted_name("Source")),
            error: format!(
                "this token posts leads of source {:?}",
                for_display(&entry.source)
            ),
        }]);
    }
    posted.lead.source = Some(entry.source.trim().to_lowercase());
    let errors = form::check(&posted, &state.country_code);
    if !errors.is_empty() {
        return bad_fields(&errors);
    }
    let key = match key {
        Ok(k) => k,
        Err(()) => {
            return bad_fields(&[FieldError {
                field: "Idempotency-Key".into(),
                error: format!("a key is 1 to {MAX_KEY} printable ASCII characters"),
            }]);
        }
    };
    let body_digest = digest(&body);
    let (memo, keep) = match &key {
        Some(k) => (
            format!("{:016x}/{k}", digest(entry.token.as_bytes())),
            KEY_MEMORY,
        ),
        None => (
            format!(
                "{:016x}/body/{body_digest:016x}",
                digest(entry.token.as_bytes())
            ),
            BODY_MEMORY,
        ),
    };
    let seen = state
        .memory
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .claim(&memo, keep, now);
    // A key of another post is a mistake of the poster's, said so, not a lead lost quietly.
    let reused = || {
        refuse(
            StatusCode::UNPROCESSABLE_ENTITY,
            "this Idempotency-Key came with another post: a key names one post",
        )
    };
    match seen {
        Some(Answer::Pending) => {
            let mut r = refuse(
                StatusCode::CONFLICT,
                "the same post is being saved now; send it again in a moment",
            );
            r.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
            return r;
        }
        Some(Answer::Done { digest, .. }) if digest != body_digest => return reused(),
        Some(Answer::Done { id, created, .. }) => return saved(id, created, true),
        None => {}
    }
    // Remembered by the store (a server started since), for a day.
    if key.is_some() {
        let base = state.base.clone();
        let lookup = memo.clone();
        let stored = tokio::task::spawn_blocking(move || base.store().remembered(&lookup))
            .await
            .ok()
            .and_then(Result::ok)
            .flatten()
            .filter(|r| state.base.now() - r.at < KEY_MEMORY.as_millis() as i64);
        if let Some(r) = stored {
            let answer = Answer::Done {
                id: r.id,
                created: r.created,
                digest: r.digest,
            };
            state
                .memory
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .settle(&memo, Some(answer), now);
            return if r.digest == body_digest {
                saved(r.id, r.created, true)
            } else {
                reused()
            };
        }
    }
    // Only a post that would be written counts against its token's rate: bad posts cannot
    // use up the minute's allowance of good ones.
    let rate = state.rates.lock().unwrap_or_else(|p| p.into_inner()).take(
        &entry.token,
        entry.per_minute(),
        now,
    );
    if let Err(wait) = rate {
        state
            .memory
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .settle(&memo, None, now);
        let mut r = refuse(
            StatusCode::TOO_MANY_REQUESTS,
            &format!(
                "this token posts at most {} leads a minute",
                entry.per_minute()
            ),
        );
        r.headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(wait));
        return r;
    }
    let remember = key.as_ref().map(|_| (memo.clone(), body_digest));
    let result = write(state, &entry, posted.lead, remember).await;
    let settled = result.as_ref().ok().map(|&(id, created)| Answer::Done {
        id,
        created,
        digest: body_digest,
    });
    state
        .memory
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .settle(&memo, settled, Instant::now());
    match result {
        Ok((id, created)) => {
            (state.log)(&format!(
                "intake: {} lead {id} from source {:?} ({peer})",
                if created { "created" } else { "merged into" },
                for_display(&entry.source)
            ));
            saved(id, created, false)
        }
        Err(ServiceError::Invalid(e)) => bad_fields(&[FieldError {
            field: String::new(),
            error: e.to_string(),
        }]),
        Err(e) => {
            (state.log)(&format!(
                "intake: a post from source {:?} ({peer}) was not saved: {}",
                for_display(&entry.source),
                for_display(&e.to_string())
            ));
            refuse(
                StatusCode::SERVICE_UNAVAILABLE,
                "the lead could not be saved; nothing was kept: send it again later",
            )
        }
    }
}

/// The answer to a saved post (`again`: the answer of an earlier post with the same key).
fn saved(id: u64, created: bool, again: bool) -> Response<Full<Bytes>> {
    let status = if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    let mut r = reply(
        status,
        json!({ "id": id, "created": created, "merged": !created }),
    );
    if again {
        r.headers_mut()
            .insert("idempotent-replayed", HeaderValue::from_static("true"));
    }
    r
}

/// Adds the lead as the intake of `entry`'s source, on a thread that may block on the disk.
async fn write(
    state: &Arc<State>,
    entry: &Entry,
    lead: crate::domain::NewLead,
    remember: Option<(String, u64)>,
) -> Result<(u64, bool), ServiceError> {
    let session = state.base.session(Identity {
        user: format!("intake:{}", entry.source.trim().to_lowercase()),
        role: Role::Manager,
    });
    let log = Arc::clone(&state.log);
    tokio::task::spawn_blocking(move || {
        let key = remember.as_ref().map(|(k, d)| (k.as_str(), *d));
        let inbound = session.add_inbound_keyed(lead, key)?;
        if let Some(r) = &inbound.routed {
            log(&format!(
                "intake: lead {} {}",
                r.id,
                for_display(&match &r.owner {
                    Some(o) => format!("routed to {o} ({})", r.reason),
                    None => r.reason.clone(),
                })
            ));
        }
        Ok((inbound.added.id, inbound.added.created))
    })
    .await
    .unwrap_or_else(|_| Err(ServiceError::Refused("the write stopped".into())))
}

/// A digest of a post (FNV-1a, 64 bits): the same post gives the same digest in any run, so a
/// remembered answer can be matched to the post that asks again.
fn digest(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3)
    })
}
