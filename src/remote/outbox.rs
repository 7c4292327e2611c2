//! What the server sends one client: a bounded queue and a thread of its own that writes it.
//! Nobody but that thread ever waits on the client's socket, so a client that stops reading
//! delays only itself: events for it are dropped once its queue is full (it is told to reload
//! everything once it catches up), its own replies wait for room (so it stops being read), and
//! a write that makes no progress for `WRITE_TIMEOUT` ends the connection.

use std::collections::VecDeque;
use std::io::Write;
use std::os::unix::net::UnixStream;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

use super::protocol::{ServerFrame, encode_frame};
use crate::service::ANY_LEAD;

/// Queued bytes beyond which events for a client are dropped.
const EVENT_LIMIT: usize = 1024 * 1024;
/// Queued bytes beyond which a client's next reply waits (its requests are not read meanwhile).
const REPLY_LIMIT: usize = 16 * 1024 * 1024;
/// Queued bytes, all clients together, beyond which a client with replies still queued waits
/// before queueing another, and events are dropped.
const ALL_LIMIT: usize = 256 * 1024 * 1024;

/// Bytes queued for every client together.
static QUEUED: AtomicUsize = AtomicUsize::new(0);
/// A write to a client that makes no progress for this long ends its connection.
pub const WRITE_TIMEOUT: Duration = Duration::from_secs(30);

#[derive(Default)]
struct Queue {
    frames: VecDeque<Vec<u8>>,
    bytes: usize,
    /// Events were dropped: the client must reload everything once it catches up.
    overflowed: bool,
    closed: bool,
}

#[derive(Default)]
pub struct Outbox {
    queue: Mutex<Queue>,
    ready: Condvar,
}

impl Outbox {
    /// An outbox for `stream`, with the thread that writes it.
    pub fn start(stream: UnixStream) -> Arc<Outbox> {
        let outbox = Arc::new(Outbox::default());
        let _ = stream.set_write_timeout(Some(WRITE_TIMEOUT));
        let writer = Arc::clone(&outbox);
        std::thread::spawn(move || writer.write_all(stream));
        outbox
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Queue> {
        self.queue.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Queues an event unless the client is too far behind (then it is told to reload).
    pub fn event(&self, frame: &ServerFrame) {
        let Some(bytes) = encode_frame(frame) else {
            return;
        };
        let mut q = self.lock();
        if q.closed {
            return;
        }
        if q.bytes + bytes.len() > EVENT_LIMIT || QUEUED.load(Ordering::Relaxed) > ALL_LIMIT {
            q.overflowed = true;
            return;
        }
        q.bytes += bytes.len();
        QUEUED.fetch_add(bytes.len(), Ordering::Relaxed);
        q.frames.push_back(bytes);
        self.ready.notify_all();
    }

    /// Queues a reply (or the handshake's answer), waiting while the client has too much
    /// unread; false if the connection is gone.
    pub fn reply<T: serde::Serialize>(&self, msg: &T) -> bool {
        let Some(bytes) = encode_frame(msg) else {
            return false;
        };
        let mut q = self.lock();
        // A client with replies queued waits for room, its own and everyone's (re-checked as
        // other clients drain).
        while !q.closed
            && q.bytes > 0
            && (q.bytes + bytes.len() > REPLY_LIMIT
                || QUEUED.load(Ordering::Relaxed) + bytes.len() > ALL_LIMIT)
        {
            q = self
                .ready
                .wait_timeout(q, Duration::from_millis(100))
                .unwrap_or_else(|p| p.into_inner())
                .0;
        }
        if q.closed {
            return false;
        }
        q.bytes += bytes.len();
        QUEUED.fetch_add(bytes.len(), Ordering::Relaxed);
        q.frames.push_back(bytes);
        self.ready.notify_all();
        true
    }

    /// Ends the connection: nothing more is queued, the writer stops.
    pub fn close(&self) {
        self.lock().closed = true;
        self.ready.notify_all();
    }

    /// Waits until everything queued is written (or the connection is gone), for a last word
    /// before the server exits.
    pub fn drain(&self, within: Duration) {
        let deadline = std::time::Instant::now() + within;
        let mut q = self.lock();
        while !q.closed && !q.frames.is_empty() {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            if left.is_zero() {
                return;
            }
            q = self
                .ready
                .wait_timeout(q, left)
                .unwrap_or_else(|p| p.into_inner())
                .0;
        }
    }

    fn write_all(&self, mut stream: UnixStream) {
        loop {
            let next = {
                let mut q = self.lock();
                loop {
                    if let Some(f) = q.frames.pop_front() {
                        q.bytes -= f.len();
                        QUEUED.fetch_sub(f.len(), Ordering::Relaxed);
                        break Some(f);
                    }
                    if q.overflowed {
                        q.overflowed = false;
                        break encode_frame(&ServerFrame::Changed(ANY_LEAD));
                    }
                    if q.closed {
                        break None;
                    }
                    q = self.ready.wait(q).unwrap_or_else(|p| p.into_inner());
                }
            };
            // Room was made: a reply waiting for it may go on.
            self.ready.notify_all();
            let Some(bytes) = next else { break };
            if stream
                .write_all(&bytes)
                .and_then(|()| stream.flush())
                .is_err()
            {
                break;
            }
        }
        self.close();
        // What is still queued will never be written: it no longer counts.
        let mut q = self.lock();
        QUEUED.fetch_sub(q.bytes, Ordering::Relaxed);
        q.bytes = 0;
        q.frames.clear();
        drop(q);
        let _ = stream.shutdown(std::net::Shutdown::Both);
    }
}
