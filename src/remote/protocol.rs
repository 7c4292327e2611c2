//! The wire between a leadq server and its clients: length-prefixed frames (a 4-byte
//! big-endian length, then that many bytes of JSON), a handshake that names the protocol
//! version, requests with ids, replies that echo them, and events the server pushes.
//!
//! JSON rather than the store's binary codec: frames are small, a person can read them in a
//! capture, and the store's format stays private to the store.

use std::io::{self, Read, Write};

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::domain::{LeadId, LostReason, Millis, NewLead, Stage};
use crate::service::{
    ActionId, Activity, AddOutcome, Change, DemoReport, Health, Identity, ImportOptions,
    ImportReport, LeadDetail, LeadView, LogEntry, Presence, Query, Stats,
};

/// Bumped on any change a peer of the previous version could misread.
/// 2: undo and annotate name a change the server keeps (`ActionId`) instead of carrying it;
/// the owner filter is an enum; the welcome says the server's clock.
pub const PROTOCOL: u32 = 2;

/// The largest frame either side accepts: an export of 100k leads fits; a bogus length from a
/// garbage frame does not get a buffer allocated.
pub const MAX_FRAME: u32 = 256 * 1024 * 1024;

#[derive(Debug, thiserror::Error)]
pub enum FrameError {
    #[error("the peer closed the connection")]
    Closed,
    #[error("a frame of {0} bytes is over the limit of {MAX_FRAME}")]
    Oversized(u32),
    #[error("a frame cannot be read: {0}")]
    Garbage(String),
    #[error(transparent)]
    Io(#[from] io::Error),
}

pub fn write_frame<T: Serialize>(w: &mut impl Write, msg: &T) -> Result<(), FrameError> {
    let body = serde_json::to_vec(msg).map_err(|e| FrameError::Garbage(e.to_string()))?;
    let len = u32::try_from(body.len()).ok().filter(|l| *l <= MAX_FRAME);
    let Some(len) = len else {
        return Err(FrameError::Oversized(u32::MAX));
    };
    let mut out = Vec::with_capacity(body.len() + 4);
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(&body);
    w.write_all(&out)?;
    w.flush()?;
    Ok(())
}

pub fn read_frame<T: DeserializeOwned>(r: &mut impl Read) -> Result<T, FrameError> {
    let mut len = [0u8; 4];
    match r.read_exact(&mut len) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return Err(FrameError::Closed),
        Err(e) => return Err(e.into()),
    }
    let len = u32::from_be_bytes(len);
    if len > MAX_FRAME {
        return Err(FrameError::Oversized(len));
    }
    let mut body = vec![0u8; len as usize];
    r.read_exact(&mut body).map_err(|e| match e.kind() {
        io::ErrorKind::UnexpectedEof => {
            FrameError::Garbage(format!("the frame ended after fewer than {len} bytes"))
        }
        _ => FrameError::Io(e),
    })?;
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
    Show(LeadId),
    Export,
    Demo {
        count: usize,
        seed: u64,
    },
    Stats,
    /// The store's health, for `doctor`.
    Health,
    Sources,
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
    Detail(Box<LeadDetail>),
    Demo(DemoReport),
    Stats(Stats),
    Health(Box<Health>),
    Sources(Vec<String>),
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
    /// A lead changed (0: many leads at once).
    Changed(LeadId),
    /// Everyone's presence, whenever it changes.
    Presence(Vec<Presence>),
    /// The server is going away (idle, or shut down).
    Bye(String),
}
