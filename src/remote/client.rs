//! A client of a leadq server, behind the same `LeadService` trait as the in-process service.
//! One reader thread takes the server's frames: replies go to the request waiting for them,
//! change and presence events to the subscribers. When the server goes away the client says
//! so (`connection_problem`) and reconnects by itself, starting a server if there is none.

use std::collections::HashMap;
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::protocol::*;
use super::server::socket_path;
use crate::domain::edit::LeadEdit;
use crate::domain::time::utc_now;
use crate::domain::{LeadId, LostReason, Millis, NewLead, Stage};
use crate::service::{
    ANY_LEAD, ActionId, Activity, AddOutcome, Change, Delta, DemoReport, Identity, ImportOptions,
    ImportReport, LeadDetail, LeadService, LeadView, LogEntry, PRESENCE_CHANGED, Presence, Query,
    ServiceError, Stats,
};
use crate::service::{DupePair, Found, ViewPage, Window};

type Pending = Arc<Mutex<HashMap<u64, Sender<Result<Reply, Failure>>>>>;

struct Connection {
    writer: Mutex<UnixStream>,
    pending: Pending,
    alive: Arc<AtomicBool>,
    subscribed: AtomicBool,
}

/// What the reader thread and the client share.
struct Shared {
    subscribers: Mutex<Vec<Sender<LeadId>>>,
    presence: Mutex<Vec<Presence>>,
    problem: Mutex<Option<String>>,
    /// The deltas pushed and not yet taken (`take_deltas`).
    deltas: Mutex<Vec<Delta>>,
}

/// Deltas kept for a subscriber that does not take them: past this, they are dropped and
/// the subscriber told to read everything again.
const DELTAS_KEPT: usize = 10_000;

impl Shared {
    fn tell(&self, id: LeadId) {
        self.subscribers
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .retain(|tx| tx.send(id).is_ok());
    }
}

pub struct Client {
    store: PathBuf,
    socket: PathBuf,
    /// Start a server when none answers (single-user stores).
    autostart: bool,
    /// The server's clock, as it said when it accepted us.
    clock: Mutex<Clock>,
    conn: Mutex<Option<Arc<Connection>>>,
    identity: Mutex<Identity>,
    /// Where the server logs, as it said when it accepted us.
    server_log: Mutex<Option<String>>,
    next_id: AtomicU64,
    my_presence: Mutex<Option<(LeadId, Activity)>>,
    shared: Arc<Shared>,
    reconnecting: Arc<AtomicBool>,
}

/// How often a long-lived client pings its server (which drops connections idle for 5 min).
const KEEPALIVE: Duration = Duration::from_secs(60);

/// How long a client waits for a server it started to answer.
const START_WAIT: Duration = Duration::from_secs(10);

fn gone() -> ServiceError {
    ServiceError::Refused(
        "the leadq server went away before answering: the last change may not be saved; check \
         it once leadq has reconnected"
            .into(),
    )
}

/// Why a server this client started stopped at once: what it said on its way out.
fn server_died(child: &mut std::process::Child, fallback: ServiceError) -> ServiceError {
    let mut said = String::new();
    if let Some(mut err) = child.stderr.take() {
        let _ = std::io::Read::read_to_string(&mut err, &mut said);
    }
    let said = said.trim().trim_start_matches("leadq: ").to_string();
    if said.is_empty() {
        fallback
    } else {
        ServiceError::Refused(said)
    }
}

fn from_failure(f: Failure) -> ServiceError {
    match f {
        Failure::NotFound(id) => ServiceError::NotFound(id),
        Failure::Refused(m) => ServiceError::Refused(m),
    }
}

/// The store owner's clock, which rules: a client shows ages and parses "tomorrow" by it.
#[derive(Debug, Clone, Copy)]
enum Clock {
    /// The server's clock is fixed (`LEADQ_NOW`) at this instant.
    Fixed(Millis),
    /// The server's clock runs this many milliseconds ahead of ours.
    Offset(i64),
}

impl Clock {
    fn now(self) -> Millis {
        match self {
            Clock::Fixed(t) => t,
            Clock::Offset(d) => utc_now().saturating_add(d),
        }
    }
}

/// A connection the server accepted: the stream, who the server says we are, where it logs,
/// and its clock.
struct Accepted {
    stream: UnixStream,
    identity: Identity,
    log: Option<String>,
    clock: Clock,
}

fn handshake(socket: &Path) -> Result<Accepted, ServiceError> {
    let mut stream = UnixStream::connect(socket).map_err(|e| {
        ServiceError::Refused(format!(
            "cannot reach the leadq server at {}: {e}",
            socket.display()
        ))
    })?;
    let _ = stream.set_read_timeout(Some(Duration::from_secs(10)));
    let hello = Hello {
        protocol: PROTOCOL,
        version: env!("CARGO_PKG_VERSION").into(),
    };
    let io = |e: FrameError| {
        ServiceError::Refused(format!(
            "the leadq server at {} did not answer: {e}",
            socket.display()
        ))
    };
    // A server that refuses (too many connections) may say why and close before the hello
    // is written: read its answer even when the write failed.
    let wrote = write_frame(&mut stream, &hello);
    let asked = utc_now();
    let welcome = read_frame::<Welcome>(&mut stream);
    let welcome = match (wrote, welcome) {
        (_, Ok(w)) => w,
        (Err(e), Err(_)) | (Ok(()), Err(e)) => return Err(io(e)),
    };
    match welcome {
        Welcome::Accepted {
            identity,
            log,
            now,
            clock_fixed,
            ..
        } => {
            let _ = stream.set_read_timeout(None);
            let clock = if clock_fixed {
                Clock::Fixed(now)
            } else {
                // Saturating: a server's "now" is outside data too.
                let ours = asked / 2 + utc_now() / 2;
                Clock::Offset(now.saturating_sub(ours))
            };
            Ok(Accepted {
                stream,
                identity,
                log,
                clock,
            })
        }
        Welcome::Refused { reason } => Err(ServiceError::Refused(format!(
            "the leadq server at {} refused: {reason}",
            socket.display()
        ))),
    }
}

/// Starts `leadq serve` for `store` in the background, detached from this terminal. Its
/// standard error comes back to the caller, to say why if it stops at once (a damaged store).
pub fn start_server(store: &Path) -> std::io::Result<std::process::Child> {
    use std::os::unix::process::CommandExt;
    let idle = std::env::var("LEADQ_SERVER_IDLE")
        .ok()
        .and_then(|s| s.parse::<u64>().ok())
        .unwrap_or(300);
    std::process::Command::new(std::env::current_exe()?)
        .arg("serve")
        .arg("--foreground")
        .arg("--db")
        .arg(store)
        .arg("--idle-exit")
        .arg(idle.to_string())
        .arg("--started-by-client")
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .process_group(0)
        .spawn()
}

impl Client {
    /// Connects to the server of `store`; with `autostart`, starts one if none answers.
    pub fn connect(store: &Path, autostart: bool) -> Result<Client, ServiceError> {
        let socket = socket_path(store);
        let shared = Arc::new(Shared {
            subscribers: Mutex::new(Vec::new()),
            presence: Mutex::new(Vec::new()),
            problem: Mutex::new(None),
            deltas: Mutex::new(Vec::new()),
        });
        let client = Client {
            store: store.to_path_buf(),
            socket,
            autostart,
            clock: Mutex::new(Clock::Offset(0)),
            conn: Mutex::new(None),
            identity: Mutex::new(Identity {
                user: String::new(),
                role: crate::service::Role::Rep,
            }),
            server_log: Mutex::new(None),
            next_id: AtomicU64::new(1),
            my_presence: Mutex::new(None),
            shared,
            reconnecting: Arc::new(AtomicBool::new(false)),
        };
        client.connection()?;
        Ok(client)
    }

    /// Where the server logs: its own state folder, which for a team store is the admin's who
    /// runs it, not the caller's.
    pub fn server_log(&self) -> Option<String> {
        self.server_log
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    fn open(&self) -> Result<Arc<Connection>, ServiceError> {
        let first = handshake(&self.socket);
        let accepted = match first {
            Ok(ok) => ok,
            Err(e) if !self.autostart => return Err(e),
            Err(_) => {
                let mut child = start_server(&self.store).map_err(|e| {
                    ServiceError::Refused(format!("cannot start a leadq server: {e}"))
                })?;
                let deadline = Instant::now() + START_WAIT;
                loop {
                    match handshake(&self.socket) {
                        Ok(ok) => break ok,
                        Err(e) if Instant::now() >= deadline => return Err(e),
                        Err(e) => {
                            if let Ok(Some(_)) = child.try_wait() {
                                return Err(server_died(&mut child, e));
                            }
                            std::thread::sleep(Duration::from_millis(20));
                        }
                    }
                }
            }
        };
        let Accepted {
            stream,
            identity,
            log,
            clock,
        } = accepted;
        *self.identity.lock().unwrap_or_else(|p| p.into_inner()) = identity;
        *self.server_log.lock().unwrap_or_else(|p| p.into_inner()) = log;
        *self.clock.lock().unwrap_or_else(|p| p.into_inner()) = clock;
        let reader = stream
            .try_clone()
            .map_err(|e| ServiceError::Refused(e.to_string()))?;
        let conn = Arc::new(Connection {
            writer: Mutex::new(stream),
            pending: Arc::new(Mutex::new(HashMap::new())),
            alive: Arc::new(AtomicBool::new(true)),
            subscribed: AtomicBool::new(false),
        });
        let pending = Arc::clone(&conn.pending);
        let alive = Arc::clone(&conn.alive);
        let shared = Arc::clone(&self.shared);
        std::thread::spawn(move || read_loop(reader, pending, alive, shared));
        Ok(conn)
    }

    /// The live connection, opening one if there is none.
    fn connection(&self) -> Result<Arc<Connection>, ServiceError> {
        let mut slot = self.conn.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(c) = slot.as_ref().filter(|c| c.alive.load(Ordering::SeqCst)) {
            return Ok(Arc::clone(c));
        }
        let conn = self.open()?;
        *slot = Some(Arc::clone(&conn));
        drop(slot);
        *self
            .shared
            .problem
            .lock()
            .unwrap_or_else(|p| p.into_inner()) = None;
        if !self
            .shared
            .subscribers
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .is_empty()
        {
            self.resubscribe(&conn);
        }
        Ok(conn)
    }

    fn resubscribe(&self, conn: &Connection) {
        if !conn.subscribed.swap(true, Ordering::SeqCst) {
            let _ = self.send(conn, Request::Subscribe);
            let mine = *self.my_presence.lock().unwrap_or_else(|p| p.into_inner());
            if mine.is_some() {
                let _ = self.send(conn, Request::SetPresence(mine));
            }
        }
    }

    fn send(&self, conn: &Connection, request: Request) -> Result<Reply, ServiceError> {
        let id = self.next_id.fetch_add(1, Ordering::SeqCst);
        let (tx, rx) = mpsc::channel();
        conn.pending
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(id, tx);
        let written = write_frame(
            &mut *conn.writer.lock().unwrap_or_else(|p| p.into_inner()),
            &ClientFrame { id, request },
        );
        if written.is_err() {
            conn.alive.store(false, Ordering::SeqCst);
            conn.pending
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .remove(&id);
            return Err(gone());
        }
        match rx.recv() {
            Ok(result) => result.map_err(from_failure),
            Err(_) => Err(gone()),
        }
    }

    /// Sends a request. A read that finds the connection dead is retried once on a new one; a
    /// write is not (the server may have saved it before it died), its caller hears so.
    fn call(&self, request: Request, retry: bool) -> Result<Reply, ServiceError> {
        let conn = self.connection()?;
        match self.send(&conn, request.clone()) {
            Err(e) if retry && !conn.alive.load(Ordering::SeqCst) => {
                let _ = e;
                let conn = self.connection()?;
                self.send(&conn, request)
            }
            other => {
                if !conn.alive.load(Ordering::SeqCst) {
                    self.start_reconnecting();
                }
                other
            }
        }
    }

    /// While subscribers listen, keeps trying to get the connection back, then tells them to
    /// reload.
    fn start_reconnecting(&self) {
        if self.reconnecting.swap(true, Ordering::SeqCst) {
            return;
        }
        *self
            .shared
            .problem
            .lock()
            .unwrap_or_else(|p| p.into_inner()) = Some("reconnecting to the leadq server…".into());
        self.shared.tell(PRESENCE_CHANGED);
    }
}

fn read_loop(
    mut reader: UnixStream,
    pending: Pending,
    alive: Arc<AtomicBool>,
    shared: Arc<Shared>,
) {
    loop {
        match read_frame::<ServerFrame>(&mut reader) {
            Ok(ServerFrame::Reply { id, result }) => {
                if let Some(tx) = pending
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .remove(&id)
                {
                    let _ = tx.send(result);
                }
            }
            Ok(ServerFrame::Changed(id)) => shared.tell(id),
            Ok(ServerFrame::Delta(d)) => {
                let id = d.id;
                let mut kept = shared.deltas.lock().unwrap_or_else(|p| p.into_inner());
                let many = kept.len() >= DELTAS_KEPT;
                if many {
                    kept.clear();
                } else {
                    kept.push(*d);
                }
                drop(kept);
                shared.tell(if many { ANY_LEAD } else { id });
            }
            Ok(ServerFrame::Presence(list)) => {
                *shared.presence.lock().unwrap_or_else(|p| p.into_inner()) = list;
                shared.tell(PRESENCE_CHANGED);
            }
            Ok(ServerFrame::Bye(reason)) => {
                *shared.problem.lock().unwrap_or_else(|p| p.into_inner()) = Some(format!(
                    "the leadq server stopped ({reason}); reconnecting…"
                ));
            }
            Err(_) => break,
        }
    }
    alive.store(false, Ordering::SeqCst);
    // Waiting requests hear that the server is gone when their sender is dropped here.
    pending.lock().unwrap_or_else(|p| p.into_inner()).clear();
    let mut problem = shared.problem.lock().unwrap_or_else(|p| p.into_inner());
    if problem.is_none() {
        *problem = Some("reconnecting to the leadq server…".into());
    }
    drop(problem);
    shared
        .presence
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .clear();
    shared.tell(PRESENCE_CHANGED);
}

impl Client {
    fn changed(&self, request: Request) -> Result<Change, ServiceError> {
        match self.call(request, false)? {
            Reply::Changed(c) => Ok(*c),
            other => Err(unexpected(&other)),
        }
    }

    fn leads(&self, request: Request) -> Result<Vec<LeadView>, ServiceError> {
        match self.call(request, true)? {
            Reply::Leads(l) => Ok(l),
            other => Err(unexpected(&other)),
        }
    }

    /// Keeps trying to reconnect in the background while anyone listens; on success the
    /// listeners reload everything.
    pub fn keep_connected(self: &Arc<Self>) {
        let me = Arc::clone(self);
        std::thread::spawn(move || {
            let mut pinged = Instant::now();
            loop {
                std::thread::sleep(Duration::from_millis(250));
                if Arc::strong_count(&me) == 1 {
                    return;
                }
                // The server hangs up on a connection idle for five minutes: one that stays
                // says it is there.
                if pinged.elapsed() >= KEEPALIVE {
                    pinged = Instant::now();
                    let _ = me.call(Request::Ping, false);
                }
                let dead = me
                    .conn
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .as_ref()
                    .is_none_or(|c| !c.alive.load(Ordering::SeqCst));
                if dead && me.connection().is_ok() {
                    me.reconnecting.store(false, Ordering::SeqCst);
                    me.shared.tell(ANY_LEAD);
                }
            }
        });
    }
}

fn unexpected(r: &Reply) -> ServiceError {
    ServiceError::Refused(format!("the leadq server answered out of turn: {r:?}"))
}

impl LeadService for Client {
    fn now(&self) -> Millis {
        self.clock.lock().unwrap_or_else(|p| p.into_inner()).now()
    }

    fn identity(&self) -> Identity {
        self.identity
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    fn location(&self) -> String {
        format!("{} (through its server)", self.store.display())
    }

    fn add(&self, request: NewLead) -> Result<AddOutcome, ServiceError> {
        match self.call(Request::Add(request), false)? {
            Reply::Added(a) => Ok(a),
            other => Err(unexpected(&other)),
        }
    }

    fn import(
        &self,
        rows: Vec<NewLead>,
        options: &ImportOptions,
    ) -> Result<ImportReport, ServiceError> {
        match self.call(
            Request::Import {
                rows,
                options: options.clone(),
            },
            false,
        )? {
            Reply::Imported(r) => Ok(r),
            other => Err(unexpected(&other)),
        }
    }

    fn log(&self, id: LeadId, entry: LogEntry) -> Result<Change, ServiceError> {
        self.changed(Request::Log { id, entry })
    }

    fn set_stage(
        &self,
        id: LeadId,
        stage: Stage,
        reason: Option<LostReason>,
    ) -> Result<Change, ServiceError> {
        self.changed(Request::SetStage { id, stage, reason })
    }

    fn won(&self, id: LeadId, note: Option<String>) -> Result<Change, ServiceError> {
        self.changed(Request::Won { id, note })
    }

    fn snooze(&self, id: LeadId, until: Millis) -> Result<Change, ServiceError> {
        self.changed(Request::Snooze { id, until })
    }

    fn assign(&self, id: LeadId, owner: Option<String>) -> Result<Change, ServiceError> {
        self.changed(Request::Assign { id, owner })
    }

    fn edit(&self, id: LeadId, edit: LeadEdit) -> Result<Change, ServiceError> {
        self.changed(Request::Edit { id, edit })
    }

    fn set_next(&self, id: LeadId, at: Option<Millis>) -> Result<Change, ServiceError> {
        self.changed(Request::SetNext { id, at })
    }

    fn annotate(&self, action: ActionId, note: String) -> Result<(), ServiceError> {
        self.call(Request::Annotate { action, note }, false)
            .map(|_| ())
    }

    fn undo(&self, action: ActionId) -> Result<Change, ServiceError> {
        self.changed(Request::Undo { action })
    }

    fn take_deltas(&self) -> Option<Vec<Delta>> {
        Some(std::mem::take(
            &mut *self.shared.deltas.lock().unwrap_or_else(|p| p.into_inner()),
        ))
    }

    fn subscribe(&self) -> Receiver<LeadId> {
        let (tx, rx) = mpsc::channel();
        self.shared
            .subscribers
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(tx);
        if let Ok(conn) = self.connection() {
            self.resubscribe(&conn);
        }
        rx
    }

    fn search(&self, query: &Query, text: &str, limit: usize) -> Result<Found, ServiceError> {
        let request = Request::Search {
            query: query.clone(),
            text: text.to_string(),
            limit,
        };
        match self.call(request, true)? {
            Reply::Found(f) => Ok(*f),
            other => Err(unexpected(&other)),
        }
    }

    fn dupes(&self, min_confidence: u8, limit: usize) -> Result<Vec<DupePair>, ServiceError> {
        let request = Request::Dupes {
            min_confidence,
            limit,
        };
        match self.call(request, true)? {
            Reply::Dupes(d) => Ok(d),
            other => Err(unexpected(&other)),
        }
    }

    fn check_now(&self) -> Result<crate::service::Health, ServiceError> {
        match self.call(Request::CheckNow, false)? {
            Reply::Health(h) => Ok(*h),
            other => Err(unexpected(&other)),
        }
    }

    fn report(
        &self,
        request: &crate::service::ReportRequest,
    ) -> Result<crate::service::Report, ServiceError> {
        match self.call(Request::Report(request.clone()), true)? {
            Reply::Report(r) => Ok(*r),
            other => Err(unexpected(&other)),
        }
    }

    fn route(
        &self,
        request: &crate::service::RouteRequest,
    ) -> Result<Vec<crate::service::Routed>, ServiceError> {
        match self.call(Request::Route(request.clone()), true)? {
            Reply::Routed(r) => Ok(r),
            other => Err(unexpected(&other)),
        }
    }

    fn away(
        &self,
        request: &crate::service::AwayRequest,
    ) -> Result<crate::service::AwayList, ServiceError> {
        match self.call(Request::Away(request.clone()), true)? {
            Reply::Away(a) => Ok(a),
            other => Err(unexpected(&other)),
        }
    }

    fn awaiting(&self) -> Result<Vec<crate::service::Awaiting>, ServiceError> {
        match self.call(Request::Awaiting, true)? {
            Reply::Awaiting(a) => Ok(a),
            other => Err(unexpected(&other)),
        }
    }

    fn erase(&self, id: LeadId) -> Result<crate::service::Erased, ServiceError> {
        match self.call(Request::Erase(id), false)? {
            Reply::Erased(e) => Ok(e),
            other => Err(unexpected(&other)),
        }
    }

    fn merge(&self, request: crate::service::MergeRequest) -> Result<Change, ServiceError> {
        self.changed(Request::Merge(request))
    }

    fn not_dupes(&self, a: LeadId, b: LeadId) -> Result<(), ServiceError> {
        self.call(Request::NotDupes { a, b }, false).map(|_| ())
    }

    fn tags(&self) -> Result<Vec<String>, ServiceError> {
        match self.call(Request::Tags, true)? {
            Reply::Tags(t) => Ok(t),
            other => Err(unexpected(&other)),
        }
    }

    fn sources(&self) -> Result<Vec<String>, ServiceError> {
        match self.call(Request::Sources, true)? {
            Reply::Sources(s) => Ok(s),
            other => Err(unexpected(&other)),
        }
    }

    fn list(&self, query: &Query) -> Result<Vec<LeadView>, ServiceError> {
        self.leads(Request::List(query.clone()))
    }

    fn page(&self, query: &Query, window: Window) -> Result<ViewPage, ServiceError> {
        let request = Request::Page {
            query: query.clone(),
            window,
        };
        match self.call(request, true)? {
            Reply::Page(p) => Ok(*p),
            other => Err(unexpected(&other)),
        }
    }

    fn show(&self, id: LeadId) -> Result<LeadDetail, ServiceError> {
        match self.call(Request::Show(id), true)? {
            Reply::Detail(d) => Ok(*d),
            other => Err(unexpected(&other)),
        }
    }

    fn export(&self) -> Result<Vec<LeadView>, ServiceError> {
        self.leads(Request::Export)
    }

    fn demo(&self, count: usize, seed: u64) -> Result<DemoReport, ServiceError> {
        match self.call(Request::Demo { count, seed }, false)? {
            Reply::Demo(r) => Ok(r),
            other => Err(unexpected(&other)),
        }
    }

    fn stats(&self) -> Result<Stats, ServiceError> {
        match self.call(Request::Stats, true)? {
            Reply::Stats(s) => Ok(s),
            other => Err(unexpected(&other)),
        }
    }

    fn health(&self) -> Result<crate::service::Health, ServiceError> {
        match self.call(Request::Health, true)? {
            Reply::Health(h) => Ok(*h),
            other => Err(unexpected(&other)),
        }
    }

    fn train_model(
        &self,
        exclude: Option<Vec<String>>,
    ) -> Result<crate::domain::model::Model, ServiceError> {
        match self.call(Request::TrainModel { exclude }, false)? {
            Reply::Model(Some(m)) => Ok(*m),
            other => Err(unexpected(&other)),
        }
    }

    fn model(&self) -> Result<Option<crate::domain::model::Model>, ServiceError> {
        match self.call(Request::Model, true)? {
            Reply::Model(m) => Ok(m.map(|m| *m)),
            other => Err(unexpected(&other)),
        }
    }

    fn backup(&self, path: &str, force: bool) -> Result<u64, ServiceError> {
        match self.call(
            Request::Backup {
                path: path.to_string(),
                force,
            },
            false,
        )? {
            Reply::Entries(n) => Ok(n),
            other => Err(unexpected(&other)),
        }
    }

    fn set_presence(&self, presence: Option<(LeadId, Activity)>) {
        *self.my_presence.lock().unwrap_or_else(|p| p.into_inner()) = presence;
        let _ = self.call(Request::SetPresence(presence), true);
    }

    fn presence(&self) -> Vec<Presence> {
        let me = self.identity().user;
        self.shared
            .presence
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
            .filter(|p| p.user != me)
            .cloned()
            .collect()
    }

    fn connection_problem(&self) -> Option<String> {
        self.shared
            .problem
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }
}

impl Drop for Client {
    /// Hangs up, so that the server sees this client leave: the reader thread holds the socket
    /// too, and would keep the connection (and an idle server) alive.
    fn drop(&mut self) {
        let conn = self.conn.lock().unwrap_or_else(|p| p.into_inner()).take();
        if let Some(c) = conn {
            let w = c.writer.lock().unwrap_or_else(|p| p.into_inner());
            let _ = w.shutdown(std::net::Shutdown::Both);
        }
    }
}

impl Client {
    /// Returns once the server has pushed this client every change made before the call
    /// (its deltas are then in `take_deltas`).
    pub fn settle(&self) -> Result<(), ServiceError> {
        self.call(Request::Ping, false).map(|_| ())
    }

    /// Asks the server to stop.
    pub fn shutdown(&self) -> Result<(), ServiceError> {
        self.call(Request::Shutdown, false).map(|_| ())
    }
}
