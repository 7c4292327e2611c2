//! End to end, team mode on one machine: two `leadq` TUIs in two pseudo-terminals on one store.
//! The first starts the store's server, the second connects to it; a touch logged in one shows
//! in the other without a keypress, and both ride out a SIGKILL of the server.
//!
//! Both TUIs run as this Unix user, and a client never sees its own user's presence, so
//! presence is tested at the flow and render level (tests/tui_flow.rs, tests/tui_render.rs).
//!
//! Deterministic as tests/e2e.rs is: a fixed clock, UTC, a private home and store, a cleared
//! environment, and bounded waits for text on screen instead of sleeps. The server is started
//! with `LEADQ_SERVER_IDLE=1`, so it leaves a second after the last client; each test waits
//! for that, leaving no process behind.

mod common;

use common::home::{Home, NOW};

use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use portable_pty::{Child, CommandBuilder, ExitStatus, MasterPty, PtySize, native_pty_system};
use serde_json::Value;

/// The longest any wait may take before the test gives up (debug builds on a busy machine).
const LIMIT: Duration = Duration::from_secs(30);
const POLL: Duration = Duration::from_millis(20);
const COLS: u16 = 100;
const ROWS: u16 = 30;
/// The status line of a 30-row terminal (the footer is the last row).
const STATUS: usize = ROWS as usize - 2;

impl Home {
    fn show(&self, id: u64) -> Value {
        let text = self.cli(&["show", &id.to_string(), "--format", "json"]);
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("leadq show {id}: {e}: {text}"))
    }

    /// The pid of the process serving the store, from the socket's peer credentials (exact,
    /// where matching command lines could hit another test's server).
    fn server_pid(&self) -> i32 {
        let stream = UnixStream::connect(self.socket()).expect("the server answers");
        let cred =
            nix::sys::socket::getsockopt(&stream, nix::sys::socket::sockopt::PeerCredentials)
                .expect("the server's credentials");
        cred.pid()
    }

    /// Waits for the server to leave (it removes its socket on the way out). Polled by the
    /// socket file, not by connecting: every connection would restart its idle clock.
    fn wait_server_gone(&self) {
        let start = Instant::now();
        while self.socket().exists() {
            assert!(
                start.elapsed() < LIMIT,
                "the server of {} still runs {LIMIT:?} after its last client left",
                self.store().display()
            );
            std::thread::sleep(POLL);
        }
    }
}

/// `leadq` running in a pseudo-terminal, its screen parsed by `vt100`.
struct Tui {
    name: &'static str,
    parser: Arc<Mutex<vt100::Parser>>,
    _master: Box<dyn MasterPty + Send>,
    writer: Box<dyn Write + Send>,
    child: Box<dyn Child + Send + Sync>,
    status: Option<ExitStatus>,
}

impl Tui {
    fn start(home: &Home, name: &'static str) -> Tui {
        let pair = native_pty_system()
            .openpty(PtySize {
                rows: ROWS,
                cols: COLS,
                pixel_width: 0,
                pixel_height: 0,
            })
            .expect("open a pty");
        let mut cmd = CommandBuilder::new(env!("CARGO_BIN_EXE_leadq"));
        cmd.env_clear();
        for (k, v) in home.tui_env() {
            cmd.env(k, v);
        }
        cmd.cwd(home.path());
        let child = pair.slave.spawn_command(cmd).expect("start leadq");
        drop(pair.slave);
        let parser = Arc::new(Mutex::new(vt100::Parser::new(nz(ROWS), nz(COLS), 0)));
        let mut reader = pair.master.try_clone_reader().expect("pty reader");
        let shared = Arc::clone(&parser);
        std::thread::spawn(move || {
            let mut buf = [0u8; 8192];
            while let Ok(n) = reader.read(&mut buf) {
                if n == 0 {
                    break;
                }
                shared
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .process(&buf[..n]);
            }
        });
        let writer = pair.master.take_writer().expect("pty writer");
        Tui {
            name,
            parser,
            _master: pair.master,
            writer,
            child,
            status: None,
        }
    }

    fn parser(&self) -> MutexGuard<'_, vt100::Parser> {
        self.parser.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn rows(&self) -> Vec<String> {
        let p = self.parser();
        p.screen().rows(0, COLS).collect()
    }

    fn keys(&mut self, keys: &str) {
        self.writer.write_all(keys.as_bytes()).expect("type keys");
        self.writer.flush().expect("flush keys");
    }

    fn exited(&mut self) -> bool {
        if self.status.is_none() {
            self.status = self.child.try_wait().expect("poll the child");
        }
        self.status.is_some()
    }

    /// Waits until `ok` holds for the screen's rows; fails with the screen after `LIMIT`, or
    /// at once if leadq exited.
    fn wait_until(&mut self, what: &str, ok: impl Fn(&[String]) -> bool) {
        let start = Instant::now();
        loop {
            let rows = self.rows();
            if ok(&rows) {
                return;
            }
            let gone = self.exited();
            assert!(
                !gone && start.elapsed() < LIMIT,
                "TUI {} waited for {what} (exited: {:?}); the screen:\n{}",
                self.name,
                self.status,
                rows.join("\n")
            );
            std::thread::sleep(POLL);
        }
    }

    fn wait_for(&mut self, text: &str) {
        self.wait_until(&format!("{text:?}"), |rows| {
            rows.iter().any(|r| r.contains(text))
        });
    }

    /// Waits for the queue: the column titles and a first, hot row.
    fn wait_for_queue(&mut self) {
        self.wait_until("the queue", |rows| {
            rows[1].contains("COMPANY") && rows[2].contains("HOT")
        });
    }

    /// The queue row that shows `name`.
    fn row_of(&self, name: &str) -> Option<String> {
        self.rows().into_iter().find(|r| r.contains(name))
    }

    /// Logs a connected call on the selected lead, skipping note and follow-up, and returns
    /// the lead's id from the change message.
    fn log_call(&mut self) -> u64 {
        self.keys("c1\r\r");
        self.wait_until("the change message", |rows| {
            hash_id(&rows[STATUS]).is_some() && rows[STATUS + 1].contains("help")
        });
        hash_id(&self.rows()[STATUS]).expect("an id in the change message")
    }

    fn quit(&mut self) {
        self.keys("q");
        let start = Instant::now();
        while !self.exited() {
            assert!(
                start.elapsed() < LIMIT,
                "TUI {} did not quit within {LIMIT:?}",
                self.name
            );
            std::thread::sleep(POLL);
        }
        let status = self.status.clone().expect("exited");
        assert!(status.success(), "TUI {} exited with {status:?}", self.name);
    }
}

impl Drop for Tui {
    fn drop(&mut self) {
        // A failed test must not leave leadq running.
        if self.status.is_none() && matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

fn nz(n: u16) -> std::num::NonZeroU16 {
    std::num::NonZeroU16::new(n).expect("a terminal size is not zero")
}

/// The number after the first `#` followed by digits in `text`.
fn hash_id(text: &str) -> Option<u64> {
    text.match_indices('#').find_map(|(i, _)| {
        let digits: String = text[i + 1..]
            .chars()
            .take_while(char::is_ascii_digit)
            .collect();
        digits.parse().ok()
    })
}

/// A queue row's LAST column reads "now" (the row ends "... <stage> now <next> <owner>").
fn touched_now(row: &str) -> bool {
    row.split_whitespace().any(|w| w == "now")
}

/// Two TUIs on a store of 50 demo leads, both showing the queue: `a` started the server.
fn two_tuis(home: &Home) -> (Tui, Tui) {
    home.cli(&["demo", "--count", "50", "--seed", "3"]);
    let mut a = Tui::start(home, "A");
    a.wait_for_queue();
    assert!(home.socket().exists(), "the first TUI started a server");
    let mut b = Tui::start(home, "B");
    b.wait_for_queue();
    assert_eq!(
        a.rows()[2].trim(),
        b.rows()[2].trim(),
        "both show the same queue"
    );
    (a, b)
}

/// The call `id` got from tester at the fixed clock.
fn assert_call_saved(home: &Home, id: u64) {
    let lead = home.show(id);
    let timeline = lead["timeline"].as_array().expect("a timeline");
    let call = timeline
        .iter()
        .find(|e| e["at"] == NOW && e["author"] == "tester")
        .unwrap_or_else(|| panic!("no entry by tester at {NOW} on #{id}: {timeline:#?}"));
    assert_eq!(call["kind"], "call");
    assert_eq!(call["outcome"], "connected");
}

#[test]
fn a_call_logged_in_one_tui_shows_in_the_other_without_a_keypress() {
    let home = Home::new();
    let (mut a, mut b) = two_tuis(&home);
    let top = b.rows()[2].clone();
    assert!(!touched_now(&top), "not touched yet: {top}");

    let id = a.log_call();
    let name = home.show(id)["name"].as_str().expect("a name").to_string();
    assert!(top.contains(&name), "the call went to the top row: {top}");
    // B is not touched: its row of the lead says "now" by itself, with the score A shows.
    b.wait_until("the call from A", |rows| {
        rows.iter().any(|r| r.contains(&name) && touched_now(r))
    });
    a.wait_until("A's own row", |rows| {
        rows.iter().any(|r| r.contains(&name) && touched_now(r))
    });
    let (in_a, in_b) = (a.row_of(&name), b.row_of(&name));
    assert_eq!(
        in_a.as_deref().map(str::trim),
        in_b.as_deref().map(str::trim),
        "both show the lead alike"
    );

    a.quit();
    b.quit();
    assert_call_saved(&home, id);
    home.wait_server_gone();
}

#[test]
fn both_tuis_ride_out_a_killed_server_and_a_later_call_is_saved() {
    let home = Home::new();
    let (mut a, mut b) = two_tuis(&home);
    let first = home.server_pid();
    let killed = std::process::Command::new("kill")
        .args(["-KILL", &first.to_string()])
        .status()
        .expect("run kill");
    assert!(killed.success(), "kill -KILL {first}");

    // Each TUI says the server was away once it is back (a server one of them restarted);
    // the status line said "reconnecting" meanwhile (tests/tui_render.rs draws that state).
    for tui in [&mut a, &mut b] {
        tui.wait_for("reconnected to the leadq server");
    }
    let second = home.server_pid();
    assert_ne!(first, second, "a new server serves the store");

    // Both are live again: a call logged in B now shows in A without a keypress.
    let top = a.rows()[2].clone();
    let id = b.log_call();
    let name = home.show(id)["name"].as_str().expect("a name").to_string();
    assert!(top.contains(&name), "the call went to the top row: {top}");
    a.wait_until("the call from B", |rows| {
        rows.iter().any(|r| r.contains(&name) && touched_now(r))
    });

    a.quit();
    b.quit();
    assert_call_saved(&home, id);
    home.wait_server_gone();
}
