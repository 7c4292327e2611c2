//! End to end: the real `leadq` binary in a pseudo-terminal. A test types keys, reads the
//! screen through a `vt100` parser, and afterwards checks the store through the CLI.
//!
//! Every run is deterministic: a fixed clock (`LEADQ_NOW`), UTC, a private home and store in a
//! temporary folder, and an environment cleared of everything else (no NO_COLOR, COLORTERM or
//! developer config leaks in). Nothing sleeps for a guessed time: a reader thread feeds the
//! pty's output into the parser, and the test polls the parsed screen for the text it expects,
//! failing after a generous limit with the screen it saw.

mod common;

use common::home::{Home, NOW};

use std::io::{Read, Write};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use portable_pty::{Child, CommandBuilder, ExitStatus, MasterPty, PtySize, native_pty_system};
use serde_json::Value;

/// The longest any wait may take before the test gives up (debug builds on a busy machine).
const LIMIT: Duration = Duration::from_secs(20);
const POLL: Duration = Duration::from_millis(20);

impl Home {
    /// Bare `leadq` on a terminal of `cols` x `rows`: the TUI.
    fn tui(&self, cols: u16, rows: u16) -> Tui {
        Tui::start(self, cols, rows)
    }
}

/// Window titles and icon names the program asked the terminal for (OSC 0, 1 and 2).
#[derive(Default)]
struct Titles(Vec<String>);

impl vt100::Callbacks for Titles {
    fn set_window_title(&mut self, _: &mut vt100::Screen, title: &[u8]) {
        self.0.push(String::from_utf8_lossy(title).into_owned());
    }

    fn set_window_icon_name(&mut self, _: &mut vt100::Screen, name: &[u8]) {
        self.0.push(String::from_utf8_lossy(name).into_owned());
    }
}

/// What the terminal has seen: the parsed screen and every byte the program wrote.
struct Term {
    parser: vt100::Parser<Titles>,
    raw: Vec<u8>,
}

/// `leadq` running in a pseudo-terminal.
struct Tui {
    term: Arc<Mutex<Term>>,
    master: Option<Box<dyn MasterPty + Send>>,
    writer: Option<Box<dyn Write + Send>>,
    child: Box<dyn Child + Send + Sync>,
    /// Tells the reader to drop its end of the pty after its next read (the hang-up test).
    let_go: Arc<AtomicBool>,
    /// Says when the reader has seen the end of the output.
    reader_done: Receiver<()>,
    status: Option<ExitStatus>,
}

impl Tui {
    fn start(home: &Home, cols: u16, rows: u16) -> Tui {
        let pair = native_pty_system()
            .openpty(PtySize {
                rows,
                cols,
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
        // Only the child holds the terminal's end now, so its exit ends the output.
        drop(pair.slave);
        let term = Arc::new(Mutex::new(Term {
            parser: vt100::Parser::new_with_callbacks(nz(rows), nz(cols), 0, Titles::default()),
            raw: Vec::new(),
        }));
        let let_go = Arc::new(AtomicBool::new(false));
        let (done_tx, reader_done) = mpsc::channel();
        let mut reader = pair.master.try_clone_reader().expect("pty reader");
        let (shared, flag) = (Arc::clone(&term), Arc::clone(&let_go));
        std::thread::spawn(move || {
            let (mut buf, mut held) = ([0u8; 8192], Vec::new());
            loop {
                match reader.read(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => {
                        let mut t = shared.lock().unwrap_or_else(|e| e.into_inner());
                        t.raw.extend_from_slice(&buf[..n]);
                        held.extend_from_slice(&buf[..n]);
                        t.parser.process(&stand_in_for_fffd(&mut held));
                    }
                }
                if flag.load(Ordering::SeqCst) {
                    break;
                }
            }
            drop(reader);
            let _ = done_tx.send(());
        });
        let writer = pair.master.take_writer().expect("pty writer");
        Tui {
            term,
            master: Some(pair.master),
            writer: Some(writer),
            child,
            let_go,
            reader_done,
            status: None,
        }
    }

    fn term(&self) -> MutexGuard<'_, Term> {
        self.term.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn screen_text(&self) -> String {
        self.term().parser.screen().contents()
    }

    /// The screen's rows as text.
    fn rows(&self) -> Vec<String> {
        rows(self.term().parser.screen())
    }

    /// Types `keys` as the terminal would send them (`\r` is Enter).
    fn keys(&mut self, keys: &str) {
        let w = self.writer.as_mut().expect("the pty is open");
        w.write_all(keys.as_bytes()).expect("type keys");
        w.flush().expect("flush keys");
    }

    fn exited(&mut self) -> bool {
        if self.status.is_none() {
            self.status = self.child.try_wait().expect("poll the child");
        }
        self.status.is_some()
    }

    /// Waits until `ok` holds for the screen; fails with the screen after `LIMIT`, or at once
    /// if leadq exited.
    fn wait_until(&mut self, what: &str, ok: impl Fn(&vt100::Screen) -> bool) {
        let start = Instant::now();
        loop {
            if ok(self.term().parser.screen()) {
                return;
            }
            let gone = self.exited();
            assert!(
                !gone && start.elapsed() < LIMIT,
                "waited for {what} (leadq exited: {:?}); the screen:\n{}",
                self.status,
                self.screen_text()
            );
            std::thread::sleep(POLL);
        }
    }

    fn wait_for(&mut self, text: &str) {
        self.wait_until(&format!("{text:?}"), |s| s.contents().contains(text));
    }

    /// Waits for leadq to exit, then for the reader to have parsed all it wrote.
    fn wait_exit(&mut self) -> ExitStatus {
        let start = Instant::now();
        while !self.exited() {
            assert!(
                start.elapsed() < LIMIT,
                "leadq did not exit within {LIMIT:?}; the screen:\n{}",
                self.screen_text()
            );
            std::thread::sleep(POLL);
        }
        self.reader_done
            .recv_timeout(LIMIT)
            .expect("the output ends when leadq exits");
        self.status.clone().expect("exited")
    }

    /// Resizes the terminal as a window manager would: the emulator first, then the pty
    /// (which sends SIGWINCH).
    fn resize(&mut self, cols: u16, rows: u16) {
        self.term().parser.set_size(nz(rows), nz(cols));
        self.master
            .as_ref()
            .expect("the pty is open")
            .resize(PtySize {
                rows,
                cols,
                pixel_width: 0,
                pixel_height: 0,
            })
            .expect("resize the pty");
    }

    /// Sends a signal with kill(1): the test has no libc of its own.
    fn signal(&self, name: &str) {
        let pid = self.child.process_id().expect("leadq's pid");
        let ok = std::process::Command::new("kill")
            .args([format!("-{name}"), pid.to_string()])
            .status()
            .expect("run kill");
        assert!(ok.success(), "kill -{name} {pid} failed");
    }

    /// Closes the terminal as a dropped SSH session does: every handle on the pty's master
    /// side goes, so the kernel hangs the terminal up and sends leadq SIGHUP. `provoke` is
    /// typed first so leadq draws once more and the reader, blocked in a read, lets go.
    fn hang_up(&mut self, provoke: &str) {
        self.let_go.store(true, Ordering::SeqCst);
        self.keys(provoke);
        drop(self.writer.take());
        drop(self.master.take());
    }

    /// Asserts leadq put the terminal back: main screen, cursor shown.
    fn assert_restored(&self) {
        let t = self.term();
        let s = t.parser.screen();
        assert!(
            !s.alternate_screen(),
            "the alternate screen is still on:\n{}",
            s.contents()
        );
        assert!(!s.hide_cursor(), "the cursor is still hidden");
    }
}

impl Drop for Tui {
    fn drop(&mut self) {
        // A failed test must not leave leadq running (and must not panic again here).
        let running = self.status.is_none() && matches!(self.child.try_wait(), Ok(None));
        if running && let Some(pid) = self.child.process_id() {
            let _ = std::process::Command::new("kill")
                .args(["-KILL", &pid.to_string()])
                .status();
            let _ = self.child.wait();
        }
    }
}

/// vt100 takes U+FFFD for a decoding error and drops it without moving the cursor, which
/// shifts the rest of the row; a real terminal shows it. The parsed screen shows this instead.
const FFFD_SHOWN: char = '¤';

/// Takes the bytes of `held` that are ready for the parser, with U+FFFD as `FFFD_SHOWN`; keeps
/// back a tail that may be the start of a U+FFFD split across two reads.
fn stand_in_for_fffd(held: &mut Vec<u8>) -> Vec<u8> {
    const FFFD: &[u8] = "\u{fffd}".as_bytes();
    let keep = (1..FFFD.len())
        .rev()
        .find(|&k| held.ends_with(&FFFD[..k]))
        .unwrap_or(0);
    let ready: Vec<u8> = held.drain(..held.len() - keep).collect();
    let mut out = Vec::with_capacity(ready.len());
    let mut i = 0;
    while i < ready.len() {
        if ready[i..].starts_with(FFFD) {
            out.extend_from_slice(FFFD_SHOWN.encode_utf8(&mut [0; 4]).as_bytes());
            i += FFFD.len();
        } else {
            out.push(ready[i]);
            i += 1;
        }
    }
    out
}

fn nz(n: u16) -> std::num::NonZeroU16 {
    std::num::NonZeroU16::new(n).expect("a terminal size is not zero")
}

/// The screen's rows as text.
fn rows(s: &vt100::Screen) -> Vec<String> {
    s.rows(0, s.size().1.get()).collect()
}

fn row(s: &vt100::Screen, n: usize) -> String {
    rows(s).swap_remove(n)
}

/// The lead `id`'s card and timeline.
fn show(home: &Home, id: u64) -> Value {
    home.json(&["show", &id.to_string(), "--format", "json"])
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

#[test]
fn a_call_logged_with_keys_is_in_the_store_and_the_terminal_is_restored() {
    let home = Home::new();
    home.cli(&["demo", "--count", "50", "--seed", "3"]);
    let mut tui = home.tui(100, 30);
    // The column titles, then a first row: the queue is drawn.
    tui.wait_until("the first queue row", |s| {
        s.contents().contains("COMPANY") && row(s, 2).contains("HOT")
    });
    let first_row = tui.rows()[2].clone();
    // A quick rep types the whole touch at once: connected, a note, no follow-up.
    tui.keys("c1rang back\r\r");
    // The prompts are closed (the footer shows key hints again) and the status line says what
    // changed: `#<id> <name> ...`.
    tui.wait_until("the change message", |s| {
        hash_id(&row(s, 28)).is_some() && row(s, 29).contains("help")
    });
    let status = tui.rows()[28].clone();
    let id = hash_id(&status).expect("an id in the change message");
    tui.keys("q");
    let exit = tui.wait_exit();
    assert!(exit.success(), "leadq exited with {exit:?}");
    tui.assert_restored();

    let lead = show(&home, id);
    let name = lead["name"].as_str().expect("a name");
    assert!(
        first_row.contains(name),
        "the call went to #{id} {name}, not the first row: {first_row}"
    );
    assert!(
        status.contains(name),
        "the change message names the lead: {status}"
    );
    let timeline = lead["timeline"].as_array().expect("a timeline");
    let call = timeline
        .iter()
        .find(|e| e["at"] == NOW && e["author"] == "tester")
        .unwrap_or_else(|| panic!("no entry by tester at {NOW}: {timeline:#?}"));
    assert_eq!(call["kind"], "call");
    assert_eq!(call["outcome"], "connected");
    assert_eq!(
        call["note"], "rang back",
        "the typed-ahead note is on the call"
    );
}

#[test]
fn a_hostile_name_is_shown_neutralised() {
    let home = Home::new();
    let name = "Evil\x1b]0;pwned\x07\x1b[2J\x1b[31mRed\u{202e} Name";
    home.cli(&[
        "add",
        "--name",
        name,
        "--email",
        "evil@example.com",
        "--source",
        "web-form",
    ]);
    let mut tui = home.tui(100, 30);
    tui.wait_for("COMPANY");
    // A new lead is warm, not in the Hot view leadq opens on: show all.
    tui.keys("A");
    tui.wait_for("Evil");
    let row = tui
        .rows()
        .into_iter()
        .position(|r| r.contains("Evil"))
        .expect("the row");
    assert_eq!(
        row, 2,
        "the lead is the first row, nothing cleared or moved it"
    );
    tui.keys("\r");
    tui.wait_until("the lead's card", |s| {
        s.contents()
            .lines()
            .any(|l| l.contains("#1 Evil") && l.contains("Name"))
    });
    let rows = tui.rows();
    let title = rows
        .iter()
        .position(|r| r.contains("#1 Evil"))
        .expect("the card's title");
    let line = &rows[title];
    assert!(
        line.contains(FFFD_SHOWN),
        "control characters show as U+FFFD: {line}"
    );
    assert!(
        !line.contains('\u{202e}'),
        "the bidi override is gone: {line}"
    );
    {
        let t = tui.term();
        let s = t.parser.screen();
        assert!(
            t.parser.callbacks().0.is_empty(),
            "leadq set a title: {:?}",
            t.parser.callbacks().0
        );
        for needle in ["\x1b]0;pwned", "\x1b[31mRed", "\u{202e}"] {
            let found = t.raw.windows(needle.len()).any(|w| w == needle.as_bytes());
            assert!(!found, "leadq wrote the name's {needle:?} to the terminal");
        }
        // Every cell of the name, from "Evil" to "Name", keeps the title's own colour.
        let start = line.find("Evil").expect("Evil");
        let end = line.find("Name").expect("Name") + "Name".len();
        let (first, last) = (line[..start].chars().count(), line[..end].chars().count());
        let title_row = u16::try_from(title).expect("row");
        for col in first..last {
            let col = u16::try_from(col).expect("col");
            let cell = s.cell(title_row, col).expect("a cell");
            assert_eq!(
                cell.fgcolor(),
                vt100::Color::Default,
                "column {col} ({:?}) of the name is coloured",
                cell.contents()
            );
        }
    }
    tui.keys("q");
    assert!(tui.wait_exit().success());
    tui.assert_restored();
}

#[test]
fn sigterm_restores_the_terminal_and_a_hang_up_ends_leadq() {
    let home = Home::new();
    home.cli(&["demo", "--count", "50", "--seed", "3"]);

    let mut tui = home.tui(80, 24);
    tui.wait_for("COMPANY");
    tui.signal("TERM");
    let exit = tui.wait_exit();
    assert!(exit.success(), "SIGTERM is a clean quit, exit {exit:?}");
    tui.assert_restored();
    drop(tui);

    // The store was closed properly: the next leadq opens it.
    let mut tui = home.tui(80, 24);
    tui.wait_for("COMPANY");
    tui.hang_up("j");
    let start = Instant::now();
    while !tui.exited() {
        assert!(
            start.elapsed() < LIMIT,
            "leadq still runs {LIMIT:?} after its terminal hung up"
        );
        std::thread::sleep(POLL);
    }
    let exit = tui.status.clone().expect("exited");
    assert!(exit.success(), "a hang-up is a clean quit, exit {exit:?}");
    drop(tui);
    let leads = home.json(&["list", "--all", "--format", "json"]);
    assert_eq!(
        leads.as_array().map(Vec::len),
        Some(50),
        "the store opens after the hang-up"
    );
}

#[test]
fn the_welcome_screen_loads_demo_leads() {
    let home = Home::new();
    let mut tui = home.tui(80, 24);
    tui.wait_for("Welcome to leadq");
    tui.keys("d");
    tui.wait_for("loaded 200 demo leads");
    tui.wait_until("queue rows", |s| {
        s.contents().contains("COMPANY") && row(s, 2).contains("HOT")
    });
    tui.keys("q");
    assert!(tui.wait_exit().success());
    tui.assert_restored();
    let leads = home.json(&["list", "--all", "--format", "json"]);
    assert_eq!(leads.as_array().map(Vec::len), Some(200));
}

#[test]
fn a_small_terminal_says_so_until_it_is_enlarged() {
    let home = Home::new();
    home.cli(&["demo", "--count", "50", "--seed", "3"]);
    let mut tui = home.tui(60, 20);
    tui.wait_for("too small");
    tui.resize(100, 30);
    tui.wait_until("the queue at 100x30", |s| {
        !s.contents().contains("too small") && row(s, 2).contains("HOT")
    });
    tui.keys("q");
    assert!(tui.wait_exit().success());
    tui.assert_restored();

    // While it is too small, q still quits.
    let mut tui = home.tui(60, 20);
    tui.wait_for("too small");
    tui.keys("q");
    assert!(tui.wait_exit().success());
    tui.assert_restored();
}

/// The All view of a store many frames long works end to end: it opens on its first window with
/// the header's counts, `G` lands on its last row (the lowest score of the whole view, not of
/// the first window), and `g` comes back to the top.
#[test]
fn the_all_view_beyond_one_frame_opens_as_a_window_and_g_reaches_its_last_row() {
    let home = Home::new();
    home.cli(&["demo", "--count", "700", "--seed", "5"]);
    let whole: Value =
        serde_json::from_str(&home.cli(&["list", "--format", "json"])).expect("list prints JSON");
    let whole = whole.as_array().expect("an array");
    assert!(
        whole.len() > 400,
        "a view of several windows: {}",
        whole.len()
    );
    let last = whole.last().expect("a last row");
    let last_name = last["name"].as_str().expect("a name").to_string();
    let top_name: String = whole[0]["name"]
        .as_str()
        .expect("a name")
        .chars()
        .take(12)
        .collect();
    let mut tui = home.tui(100, 30);
    tui.wait_until("the first queue row with the header counts", |s| {
        row(s, 0).contains("hot ") && row(s, 2).contains(&top_name)
    });
    tui.keys("A");
    tui.wait_until("the All view", |s| row(s, 2).contains(&top_name));
    tui.keys("G");
    let short = last_name.chars().take(12).collect::<String>();
    tui.wait_until("the last row of the whole view, selected", |s| {
        rows(s).iter().any(|r| r.contains(&short))
    });
    tui.keys("g");
    tui.wait_until("the top again", |s| row(s, 2).contains(&top_name));
    tui.keys("q");
    assert!(tui.wait_exit().success());
}

#[test]
fn a_card_edited_and_tagged_with_keys_is_in_the_store() {
    let home = Home::new();
    home.cli(&["demo", "--count", "20", "--seed", "3"]);
    let mut tui = home.tui(100, 30);
    tui.wait_until("the first queue row", |s| {
        s.contents().contains("COMPANY") && row(s, 2).contains("HOT")
    });
    tui.keys("\r");
    tui.wait_for("Timeline");
    let id = hash_id(&tui.rows()[2]).expect("the card's id");
    // E opens the form on the name; ctrl-u clears it; tab to the company; enter saves.
    tui.keys("E");
    tui.wait_for("New attribute");
    tui.keys("\u{15}Mara Quinn\t\t\t\u{15}Quinn & Daughters\r");
    tui.wait_until("the edit said", |s| row(s, 28).contains("Mara Quinn"));
    tui.keys("t");
    tui.wait_for("Tags for");
    tui.keys("+key-account\r");
    tui.wait_until("the tag said", |s| row(s, 28).contains("tag +key-account"));
    // Back in the queue, # shows only the leads of a tag: this one.
    tui.keys("\x1b");
    tui.wait_until("the queue", |s| s.contents().contains("COMPANY"));
    tui.keys("A#KEY-AC");
    tui.wait_for("Show the tag");
    tui.keys("\t\r");
    tui.wait_until("the tag's view", |s| {
        s.contents().contains("tag:key-account") && row(s, 3).trim().is_empty()
    });
    assert!(
        tui.rows()[2].contains("Mara Quinn"),
        "{}",
        tui.rows().join("\n")
    );
    tui.keys("q");
    assert!(tui.wait_exit().success());
    tui.assert_restored();
    let lead = show(&home, id);
    assert_eq!(lead["name"], "Mara Quinn");
    assert_eq!(lead["company"], "Quinn & Daughters");
    assert!(
        lead["tags"]
            .as_array()
            .unwrap()
            .iter()
            .any(|t| t == "key-account"),
        "{lead:#}"
    );
}

#[test]
fn a_pair_merged_from_the_duplicates_screen_is_one_lead() {
    let home = Home::new();
    home.cli(&[
        "add",
        "--name",
        "Ann Lee",
        "--email",
        "ann@acme.example",
        "--company",
        "Acme",
    ]);
    home.cli(&[
        "add",
        "--name",
        "Ann Lee",
        "--email",
        "ann.lee@home.example",
        "--company",
        "Acme Ltd",
        "--phone",
        "+1 415 555 0100",
    ]);
    let mut tui = home.tui(100, 30);
    tui.wait_for("Ann Lee");
    tui.keys("D");
    tui.wait_for("same name and company");
    tui.keys("m");
    tui.wait_for("which card stays");
    tui.keys("1");
    tui.wait_until("the merge said", |s| row(s, 28).contains("joined #2"));
    tui.keys("q");
    assert!(tui.wait_exit().success());
    tui.assert_restored();
    let lead = show(&home, 2);
    assert_eq!(lead["id"], 1, "#2 names the survivor: {lead:#}");
    assert_eq!(lead["phone"], "+1 415 555 0100");
}

#[test]
fn a_lead_erased_with_keys_is_gone() {
    let home = Home::new();
    home.cli(&["demo", "--count", "10", "--seed", "3"]);
    let mut tui = home.tui(100, 30);
    tui.wait_until("the first queue row", |s| row(s, 2).contains("HOT"));
    tui.keys("\r");
    tui.wait_for("Timeline");
    let id = hash_id(&tui.rows()[2]).expect("the card's id");
    tui.keys("X");
    tui.wait_for("Type yes");
    tui.keys("yes\r");
    tui.wait_until("the erase said", |s| row(s, 28).contains("erased for good"));
    tui.keys("q");
    assert!(tui.wait_exit().success());
    tui.assert_restored();
    let out = home.run(&["show", &id.to_string()]);
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("was erased by"),
        "{out:?}"
    );
}
