//! Time from start to the first drawn queue, and peak memory, of the real `leadq` binary in a
//! pseudo-terminal of 140x40, on demo stores of 100k and 1M leads, three ways: in-process
//! (`LEADQ_SERVER=off`), a first start that starts the store's server, and with that server
//! already running. Issue 3's targets: the first queue under 100 ms at 100k, 300 ms at 1M.
//!
//! `cargo bench --bench tui_start`; not part of `cargo test`. The stores are made once with
//! `leadq demo --count N` (1M takes over a minute) in `$STORES` (default
//! `/tmp/bench-leadq-stores`) and reused; `SIZES=100000` and `RUNS=` change the work, and
//! `LEADQ=path/to/leadq` times another build (a "before").
//!
//! The time runs from the spawn until a queue row (score, temperature) is on the parsed
//! screen, taken by the reader thread as the bytes arrive; "loaded" is when the header has its
//! counts and the status line no longer says loading (the whole view, not just its first
//! page). Peak memory comes from separate runs under `/usr/bin/time -f %M` that wait until
//! loaded, then quit.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use portable_pty::{CommandBuilder, PtySize, native_pty_system};

const NOW: &str = "2026-11-22T09:00:00Z";
const COLS: u16 = 140;
const ROWS: u16 = 40;
/// The longest one start may take before the bench gives up.
const LIMIT: Duration = Duration::from_secs(120);

/// The binary under test: this build's, or another one named by `$LEADQ` (a "before" build).
fn leadq_bin() -> String {
    std::env::var("LEADQ").unwrap_or_else(|_| env!("CARGO_BIN_EXE_leadq").to_string())
}

#[derive(Clone, Copy, PartialEq)]
enum Mode {
    /// `LEADQ_SERVER=off`: the TUI opens the store itself.
    InProcess,
    /// No server runs: the TUI starts one and waits for it (stopped after each run).
    FirstStart,
    /// A server already owns the store.
    ServerRunning,
}

impl Mode {
    fn label(self) -> &'static str {
        match self {
            Mode::InProcess => "in-process (LEADQ_SERVER=off)",
            Mode::FirstStart => "server started by the TUI",
            Mode::ServerRunning => "server already running",
        }
    }
}

/// When the reader saw what: the first queue row, the first row with the header's counts (issue
/// 10's "first frame with the header counts"), then the whole view loaded.
#[derive(Default, Clone, Copy)]
struct Seen {
    first_row: Option<Duration>,
    counts: Option<Duration>,
    loaded: Option<Duration>,
}

struct Bench {
    home: PathBuf,
}

impl Bench {
    fn env(&self, store: &Path) -> Vec<(&'static str, String)> {
        let home = self.home.display().to_string();
        vec![
            ("LEADQ_DB", store.display().to_string()),
            ("LEADQ_NOW", NOW.into()),
            ("TZ", "UTC".into()),
            ("HOME", home.clone()),
            ("XDG_CONFIG_HOME", format!("{home}/config")),
            ("XDG_DATA_HOME", format!("{home}/data")),
            ("XDG_STATE_HOME", format!("{home}/state")),
            ("USER", "bench".into()),
            ("LOGNAME", "bench".into()),
            ("TERM", "xterm-256color".into()),
            // A server the bench fails to stop still goes away on its own.
            ("LEADQ_SERVER_IDLE", "30".into()),
        ]
    }

    fn cli(&self, store: &Path, args: &[&str], server: bool) -> std::process::Output {
        let mut cmd = Command::new(leadq_bin());
        cmd.env_clear().envs(self.env(store)).args(args);
        if !server {
            cmd.env("LEADQ_SERVER", "off");
        }
        cmd.output().expect("leadq runs")
    }

    /// The demo store of `n` leads, made on first use.
    fn store(&self, dir: &Path, n: usize) -> PathBuf {
        let store = dir.join(format!("demo-{n}"));
        let done = store.join(".complete");
        if !done.exists() {
            let _ = std::fs::remove_dir_all(&store);
            eprintln!("making a demo store of {n} leads in {}", store.display());
            let out = self.cli(&store, &["demo", "--count", &n.to_string()], false);
            assert!(out.status.success(), "leadq demo failed: {out:?}");
            std::fs::write(&done, b"").expect("mark the store complete");
        }
        store
    }

    /// Runs the TUI until its queue is loaded, then quits; `wrap` runs it under another
    /// program (GNU time).
    fn run_tui(&self, store: &Path, mode: Mode, wrap: &[&str]) -> Seen {
        let pair = native_pty_system()
            .openpty(PtySize {
                rows: ROWS,
                cols: COLS,
                pixel_width: 0,
                pixel_height: 0,
            })
            .expect("open a pty");
        let mut cmd = match wrap.split_first() {
            Some((program, args)) => {
                let mut c = CommandBuilder::new(program);
                c.args(args);
                c.arg(leadq_bin());
                c
            }
            None => CommandBuilder::new(leadq_bin()),
        };
        cmd.env_clear();
        for (k, v) in self.env(store) {
            cmd.env(k, v);
        }
        if mode == Mode::InProcess {
            cmd.env("LEADQ_SERVER", "off");
        }
        cmd.cwd(&self.home);
        let seen = Arc::new(Mutex::new(Seen::default()));
        let mut reader = pair.master.try_clone_reader().expect("pty reader");
        let start = Instant::now();
        let mut child = pair.slave.spawn_command(cmd).expect("start leadq");
        drop(pair.slave);
        let shared = Arc::clone(&seen);
        let reading = std::thread::spawn(move || {
            let mut parser = vt100::Parser::new(nz(ROWS), nz(COLS), 0);
            let mut buf = [0u8; 16384];
            while let Ok(n) = reader.read(&mut buf) {
                if n == 0 {
                    break;
                }
                parser.process(&buf[..n]);
                let mut s = shared.lock().unwrap_or_else(|e| e.into_inner());
                if s.first_row.is_none() && first_row(parser.screen()) {
                    s.first_row = Some(start.elapsed());
                }
                if s.counts.is_none() && s.first_row.is_some() && counts(parser.screen()) {
                    s.counts = Some(start.elapsed());
                }
                if s.loaded.is_none() && s.first_row.is_some() && loaded(parser.screen()) {
                    s.loaded = Some(start.elapsed());
                }
            }
        });
        loop {
            let s = *seen.lock().unwrap_or_else(|e| e.into_inner());
            if s.loaded.is_some() {
                break;
            }
            let exited = child.try_wait().expect("poll leadq").is_some();
            assert!(
                !exited && start.elapsed() < LIMIT,
                "leadq ({}) showed no loaded queue within {LIMIT:?}",
                mode.label()
            );
            std::thread::sleep(Duration::from_millis(2));
        }
        let mut writer = pair.master.take_writer().expect("pty writer");
        writer.write_all(b"q").expect("type q");
        writer.flush().expect("flush q");
        let status = child.wait().expect("leadq exits");
        assert!(status.success(), "leadq exited with {status:?}");
        drop(writer);
        drop(pair.master);
        let _ = reading.join();
        *seen.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The pid of the server that last started on `store`, from the server's log.
    fn server_pid(&self, store: &Path) -> Option<u32> {
        let log = std::fs::read_to_string(self.home.join("state/leadq/server.log")).ok()?;
        let serving = format!("] serving {} ", store.display());
        let line = log.lines().rev().find(|l| l.contains(&serving))?;
        let pid = line.split_once(" [")?.1.split_once(']')?.0;
        pid.parse().ok()
    }

    /// Asks the server of `store` to stop and waits until its process is gone.
    fn stop_server(&self, store: &Path) {
        let pid = self.server_pid(store);
        let _ = self.cli(store, &["serve", "--stop"], true);
        if let Some(pid) = pid {
            wait_gone(pid);
        }
    }
}

/// Waits until process `pid` has exited (a zombie left for init counts as gone).
fn wait_gone(pid: u32) {
    let start = Instant::now();
    loop {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
        let state = stat.rsplit_once(") ").map(|(_, rest)| rest.chars().next());
        if matches!(state, None | Some(Some('Z'))) {
            return;
        }
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "leadq server {pid} did not stop"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// The peak memory of process `pid` so far, in MiB.
fn peak_mib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024)
}

fn nz(n: u16) -> std::num::NonZeroU16 {
    std::num::NonZeroU16::new(n).expect("a terminal size is not zero")
}

/// A queue row under the column titles: " 100 HOT  Noah Lindqvist ...".
fn first_row(screen: &vt100::Screen) -> bool {
    let row = screen.rows(0, COLS).nth(2).unwrap_or_default();
    let mut cells = row.split_whitespace();
    let score = cells.next().is_some_and(|c| c.parse::<u8>().is_ok());
    score && matches!(cells.next(), Some("HOT" | "warm" | "cold"))
}

/// The header has its counts (the rest of the view may still be loading).
fn counts(screen: &vt100::Screen) -> bool {
    let header = screen.rows(0, COLS).next().unwrap_or_default();
    header.contains("hot ") && !header.contains("hot 0 · warm 0 · cold 0")
}

/// The header has its counts and nothing says loading any more.
fn loaded(screen: &vt100::Screen) -> bool {
    let text = screen.contents();
    !text.contains("loading…") && !text.contains("hot 0 · warm 0 · cold 0")
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// "min / median / max" of some durations, in ms.
fn spread(mut ds: Vec<Duration>) -> String {
    ds.sort();
    let (min, med, max) = (ds[0], ds[ds.len() / 2], ds[ds.len() - 1]);
    format!(
        "min {:.0} ms, median {:.0} ms, max {:.0} ms",
        ms(min),
        ms(med),
        ms(max)
    )
}

fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Times `runs` starts in `mode` (after one unrecorded start that warms the page cache).
fn time_starts(b: &Bench, store: &Path, mode: Mode, runs: usize) {
    let mut server = None;
    if mode == Mode::ServerRunning {
        let mut child = Command::new(leadq_bin())
            .env_clear()
            .envs(b.env(store))
            .args(["serve", "--foreground", "--idle-exit", "0"])
            .spawn()
            .expect("start leadq serve");
        let socket = store.join("leadq.sock");
        let start = Instant::now();
        while std::os::unix::net::UnixStream::connect(&socket).is_err() {
            if let Some(status) = child.try_wait().expect("poll the server") {
                panic!("leadq serve exited with {status:?}");
            }
            assert!(start.elapsed() < LIMIT, "the server did not answer");
            std::thread::sleep(Duration::from_millis(10));
        }
        server = Some(child);
    }
    let (mut first, mut counted, mut whole) = (Vec::new(), Vec::new(), Vec::new());
    for run in 0..=runs {
        let seen = b.run_tui(store, mode, &[]);
        if mode == Mode::FirstStart {
            b.stop_server(store);
        }
        if run > 0 {
            first.push(seen.first_row.expect("a row was seen"));
            counted.push(seen.counts.expect("the counts were seen"));
            whole.push(seen.loaded.expect("the view loaded"));
        }
    }
    println!("  {}: first queue row {}", mode.label(), spread(first));
    println!(
        "  {}: first frame with the header counts {}",
        mode.label(),
        spread(counted)
    );
    println!("  {}: whole view loaded {}", mode.label(), spread(whole));
    let wrap = ["/usr/bin/time", "-f", "%M", "-o"];
    let out = b.home.join("time.txt");
    let out = out.display().to_string();
    let wrap = [wrap.as_slice(), &[out.as_str()]].concat();
    if Path::new("/usr/bin/time").exists() {
        b.run_tui(store, mode, &wrap);
        let kib: u64 = std::fs::read_to_string(&out)
            .ok()
            .and_then(|t| t.lines().last().and_then(|l| l.trim().parse().ok()))
            .unwrap_or(0);
        let server_peak = match mode {
            Mode::InProcess => String::new(),
            Mode::FirstStart => b
                .server_pid(store)
                .and_then(peak_mib)
                .map_or_else(String::new, |m| format!(", its server {m} MiB")),
            Mode::ServerRunning => server
                .as_ref()
                .and_then(|c| peak_mib(c.id()))
                .map_or_else(String::new, |m| format!(", the server {m} MiB")),
        };
        println!(
            "  {}: peak RSS of the TUI {} MiB{server_peak}",
            mode.label(),
            kib / 1024
        );
        if mode == Mode::FirstStart {
            b.stop_server(store);
        }
    }
    if let Some(mut child) = server {
        let _ = b.cli(store, &["serve", "--stop"], true);
        let _ = child.wait();
    }
}

fn main() {
    // `cargo bench` passes `--bench`; anything else (a filter) is not understood here.
    let stores =
        PathBuf::from(std::env::var("STORES").unwrap_or_else(|_| "/tmp/bench-leadq-stores".into()));
    let sizes: Vec<usize> = std::env::var("SIZES")
        .unwrap_or_else(|_| "100000,1000000".into())
        .split(',')
        .filter_map(|s| s.trim().parse().ok())
        .collect();
    let runs = env_or("RUNS", 10usize).max(1);
    std::fs::create_dir_all(&stores).expect("the stores folder");
    let home = stores.join("home");
    std::fs::create_dir_all(&home).expect("a home for the bench");
    let b = Bench { home };
    println!(
        "# leadq TUI start in a {COLS}x{ROWS} pty, {} cores, load average {}",
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        std::fs::read_to_string("/proc/loadavg")
            .unwrap_or_default()
            .trim()
    );
    for n in sizes {
        let store = b.store(&stores, n);
        println!("{n} leads ({runs} runs each):");
        for mode in [Mode::InProcess, Mode::FirstStart, Mode::ServerRunning] {
            time_starts(&b, &store, mode, runs);
        }
    }
}
