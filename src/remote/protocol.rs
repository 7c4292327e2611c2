//! The wire between a leadq server and its clients: length-prefixed frames (a 4-byte
//! big-endian length, then that many bytes of JSON), a handshake that names the protocol
//! version, requests with ids, replies that echo them, and events the server pushes.
//!
//! JSON rather than the store's binary codec: frames are small, a person can read them in a
//! capture, and the store's format stays private to the store.

use std::io::{self, Read, Write};
use std::time::{Duration, Instant};

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::domain::edit::LeadEdit;
use crate::domain::model::Model;
use crate::domain::{LeadId, LostReason, Millis, NewLead, Stage};
use crate::service::{
    ActionId, Activity, AddOutcome, Change, DemoReport, DupePair, Erased, Health, Identity,
    ImportOptions, ImportReport, LeadDetail, LeadView, LogEntry, MergeRequest, Presence, Query,
    Stats, ViewPage, Window,
};

/// Bumped on any change a peer of the previous version could misread.
/// 2: undo and annotate name a change the server keeps (`ActionId`) instead of carrying it;
/// the owner filter is an enum; the welcome says the server's clock.
/// 3: the learned model (train, status), a lead's chance and closed history on import.
/// 4: health can say derived data was rebuilt (`Verification::Rebuilt`).
/// 5: a view is asked for a page at a time (`Page`), with its total.
pub const PROTOCOL: u32 = 11;

/// The largest frame either side accepts: an export of 100k leads fits; a bogus length from a
/// garbage frame does not get a buffer allocated.
pub const MAX_FRAME: u32 = 256 * 1024 * 1024;

/// The largest frame a client may send before the server knows who it is (the handshake), and
/// afterwards as a rep (whose requests are small); a manager's may be `MAX_FRAME` (an import).
pub const HANDSHAKE_FRAME: u32 = 64 * 1024;
pub const REP_FRAME: u32 = 1024 * 1024;

/// How much of a frame is read at a time: the buffer grows with what arrives, never to the
/// length a peer merely declares.
const STEP: usize = 64 * 1024;

#[derive(Debug, thiserror::Error)]
pub enum FrameError {
    #[error("the peer closed the connection")]
    Closed,
    #[error("a frame of {0} bytes is over the limit of {1}")]
    Oversized(u32, u32),
    #[error("a frame did not arrive whole in time ({0:?} plus a second per MiB)")]
    Stalled(std::time::Duration),
    #[error("a frame cannot be read: {0}")]
    Garbage(String),
    #[error(transparent)]
    Io(#[from] io::Error),
}

/// A message as a frame: its length, then its JSON (None if it would be over `MAX_FRAME`).
pub fn encode_frame<T: Serialize>(msg: &T) -> Option<Vec<u8>> {
    let mut out = vec![0u8; 4];
    serde_json::to_writer(&mut out, msg).ok()?;
    let len = u32::try_from(out.len() - 4)
        .ok()
        .filter(|l| *l <= MAX_FRAME)?;
    out[..4].copy_from_slice(&len.to_be_bytes());
    Some(out)
}

pub fn write_frame<T: Serialize>(w: &mut impl Write, msg: &T) -> Result<(), FrameError> {
    let out = encode_frame(msg).ok_or(FrameError::Oversized(u32::MAX, MAX_FRAME))?;
    w.write_all(&out)?;
    w.flush()?;
    Ok(())
}

/// Where frames come from: a socket, which can be told how long a read may wait, or bytes
/// in memory (tests), which never wait.
pub trait FrameSource: Read {
    fn wait_at_most(&mut self, _left: Duration) -> io::Result<()> {
        Ok(())
    }
}

impl FrameSource for std::os::unix::net::UnixStream {
    fn wait_at_most(&mut self, left: Duration) -> io::Result<()> {
        self.set_read_timeout(Some(left.max(Duration::from_millis(1))))
    }
}

impl FrameSource for &[u8] {}

/// How long a frame may take once its length has arrived: `base`, plus a second per MiB.
fn frame_deadline(base: Duration, len: u32) -> Instant {
    Instant::now() + base + Duration::from_secs(u64::from(len >> 20))
}

pub fn read_frame<T: DeserializeOwned>(r: &mut impl FrameSource) -> Result<T, FrameError> {
    read_frame_within(r, MAX_FRAME, None)
}

/// Reads a frame of at most `max` bytes in steps (see `STEP`). With `budget`, once the length
/// has arrived each step must come within it, and the whole body within it plus a second per
/// MiB: a peer that declares a frame and stalls, or trickles it, is cut off.
pub fn read_frame_within<R: FrameSource, T: DeserializeOwned>(
    r: &mut R,
    max: u32,
    budget: Option<Duration>,
) -> Result<T, FrameError> {
    let mut len = [0u8; 4];
    match r.read_exact(&mut len) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return Err(FrameError::Closed),
        Err(e) => return Err(e.into()),
    }
    let len = u32::from_be_bytes(len);
    if len > max {
        return Err(FrameError::Oversized(len, max));
    }
    let deadline = budget.map(|b| (b, frame_deadline(b, len)));
    let mut body = Vec::with_capacity((len as usize).min(STEP));
    let mut chunk = vec![0u8; (len as usize).min(STEP)];
    while body.len() < len as usize {
        if let Some((b, until)) = deadline {
            let left = until.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(FrameError::Stalled(b));
            }
            // Each step must come within the budget too: a peer that stops sending is cut
            // off then, not when a large frame's whole allowance runs out.
            r.wait_at_most(left.min(b))?;
        }
        let want = (len as usize - body.len()).min(STEP);
        match r.read(&mut chunk[..want]) {
            Ok(0) => {
                return Err(FrameError::Garbage(format!(
                    "the frame ended after {} of its {len} bytes",
                    body.len()
                )));
            }
            Ok(n) => body.extend_from_slice(&chunk[..n]),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                ) && deadline.is_some() =>
            {
                return Err(FrameError::Stalled(
                    deadline.map_or(Duration::ZERO, |d| d.0),
                ));
            }
            Err(e) => return Err(e.into()),
        }
    }
    serde_json::from_slice(&body).map_err(|e| FrameError::Garbage(e.to_string()))
}

/// The first frame a client sends.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Hello {
    pub protocol: u32,
    /// The client's leadq version, for the server's log.
    pub version: String,
}

/// The server's answer to `Hello`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum Welcome {
    Accepted {
        protocol: u32,
        version: String,
        identity: Identity,
        team: bool,
        /// Where this server logs (in the state folder of the user it runs as), for `doctor`.
        #[serde(default)]
        log: Option<String>,
        /// The server's "now": one clock rules, the store owner's, and clients show times by it.
        now: Millis,
        /// The server's clock is fixed (`LEADQ_NOW`): it does not move.
        clock_fixed: bool,
    },
    Refused {
        reason: String,
    },
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum Request {
    Add(NewLead),
    Import {
        rows: Vec<NewLead>,
        options: ImportOptions,
    },
    Log {
        id: LeadId,
        entry: LogEntry,
    },
    SetStage {
        id: LeadId,
        stage: Stage,
        reason: Option<LostReason>,
    },
    Won {
        id: LeadId,
        note: Option<String>,
    },
    Snooze {
        id: LeadId,
        until: Millis,
    },
    Assign {
        id: LeadId,
        owner: Option<String>,
    },
    SetNext {
        id: LeadId,
        at: Option<Millis>,
    },
    /// Change the card; the server checks it as `add` checks a request.
    Edit {
        id: LeadId,
        edit: LeadEdit,
    },
    /// A note for the interaction the caller's own change `action` logged.
    Annotate {
        action: ActionId,
        note: String,
    },
    /// Take back the caller's own change `action`.
    Undo {
        action: ActionId,
    },
    List(Query),
    /// A window of a view, and its total.
    Page {
        query: Query,
        window: Window,
    },
    Show(LeadId),
    Export,
    Demo {
        count: usize,
        seed: u64,
    },
    Stats,
    /// The store's health, for `doctor`.
    Health,
    /// Train the scoring model (managers), leaving these columns out (None: as before).
    TrainModel {
        exclude: Option<Vec<String>>,
    },
    /// The last model trained.
    Model,
    Sources,
    /// The tags on the leads the caller may see.
    Tags,
    /// Likely duplicate pairs among the leads the caller may see.
    Dupes {
        min_confidence: u8,
        limit: usize,
    },
    /// Mark two leads as not one person (managers).
    NotDupes {
        a: LeadId,
        b: LeadId,
    },
    /// Join one lead into another (managers).
    Merge(MergeRequest),
    /// Erase a lead for good (managers).
    Erase(LeadId),
    /// A full check of the store now (managers).
    CheckNow,
    /// A report: a rep's own figures, a manager's of anyone.
    Report(crate::service::ReportRequest),
    /// A lead's route explained, or the pool routed (managers).
    Route(crate::service::RouteRequest),
    /// Who is away; the caller away or back (a manager: anyone).
    Away(crate::service::AwayRequest),
    /// The web leads waiting for a first touch that the caller may see.
    Awaiting,
    /// The best `limit` leads of view `query` that `text` matches, and how many do.
    Search {
        query: Query,
        text: String,
        limit: usize,
    },
    /// Start pushing `Event`s to this connection.
    Subscribe,
    /// What this client is doing now (None: nothing).
    SetPresence(Option<(LeadId, Activity)>),
    /// Write a consistent copy of the whole store to this file (on the server's machine).
    Backup {
        path: String,
        /// Replace an existing regular file.
        #[serde(default)]
        force: bool,
    },
    Ping,
    /// Stop the server (its owner, or a manager of a team).
    Shutdown,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum Reply {
    Added(AddOutcome),
    Imported(ImportReport),
    Changed(Box<Change>),
    Done,
    Leads(Vec<LeadView>),
    Page(Box<ViewPage>),
    Detail(Box<LeadDetail>),
    Demo(DemoReport),
    Stats(Stats),
    Health(Box<Health>),
    Model(Option<Box<Model>>),
    Sources(Vec<String>),
    Tags(Vec<String>),
    Dupes(Vec<DupePair>),
    Erased(Erased),
    Report(Box<crate::service::Report>),
    Routed(Vec<crate::service::Routed>),
    Away(crate::service::AwayList),
    Awaiting(Vec<crate::service::Awaiting>),
    Found(Box<crate::service::Found>),
    Pong { now: Millis },
    Entries(u64),
}

/// Why a request failed, as the client will say it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum Failure {
    NotFound(LeadId),
    Refused(String),
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ClientFrame {
    pub id: u64,
    pub request: Request,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum ServerFrame {
    Reply {
        id: u64,
        result: Result<Reply, Failure>,
    },
    /// Many leads changed at once (`ANY_LEAD`): read everything again.
    Changed(LeadId),
    /// What a write means for this client's window and counts.
    Delta(Box<crate::service::Delta>),
    /// Everyone's presence, whenever it changes.
    Presence(Vec<Presence>),
    /// The server is going away (idle, or shut down).
    Bye(String),
}
