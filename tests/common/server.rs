//! A `leadq serve` child process for tests, and the safety nets around it: bounded waits, and
//! no server of a test's folder outliving the test.

use std::io::Read;
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

/// The longest any wait may take before the test gives up (debug builds on a busy machine).
pub const LIMIT: Duration = Duration::from_secs(20);
pub const POLL: Duration = Duration::from_millis(10);
/// A server left behind by a failed test exits this many seconds after its last client.
pub const SAFETY_IDLE: &str = "60";

/// Polls `ok` until it holds; fails naming `what` after `LIMIT`.
pub fn wait_until(what: &str, mut ok: impl FnMut() -> bool) {
    let start = Instant::now();
    while !ok() {
        assert!(start.elapsed() < LIMIT, "waited {LIMIT:?} for {what}");
        std::thread::sleep(POLL);
    }
}

/// The ids of `leadq serve` processes whose command line names a path under `dir`.
pub fn servers_under(dir: &Path) -> Vec<u32> {
    let dir = dir.display().to_string();
    let Ok(procs) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    procs
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            let Ok(cmdline) = std::fs::read(format!("/proc/{pid}/cmdline")) else {
                return false;
            };
            let args: Vec<String> = cmdline
                .split(|b| *b == 0)
                .map(|a| String::from_utf8_lossy(a).into_owned())
                .collect();
            args.iter().any(|a| a == "serve") && args.iter().any(|a| a.starts_with(&dir))
        })
        .collect()
}

/// The safety net of a failed test: no server of its folder may outlive it.
pub fn kill_servers_under(dir: &Path) {
    for pid in servers_under(dir) {
        let _ = Command::new("kill")
            .args(["-KILL", &pid.to_string()])
            .status();
    }
}

pub fn signal(pid: u32, name: &str) {
    let ok = Command::new("kill")
        .args([format!("-{name}"), pid.to_string()])
        .status()
        .expect("run kill");
    assert!(ok.success(), "kill -{name} {pid} failed");
}

/// A `leadq serve --foreground` child process, stopped with SIGTERM when dropped.
pub struct Server {
    pub child: Child,
    pub socket: PathBuf,
}

impl Server {
    /// Starts the server and waits until its socket takes connections.
    pub fn start(mut cmd: Command, socket: PathBuf) -> Server {
        let child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start leadq serve");
        let mut server = Server { child, socket };
        let start = Instant::now();
        while UnixStream::connect(&server.socket).is_err() {
            if let Some(status) = server.child.try_wait().expect("poll the server") {
                let mut err = String::new();
                if let Some(mut e) = server.child.stderr.take() {
                    e.read_to_string(&mut err).ok();
                }
                panic!("leadq serve exited with {status:?}: {err}");
            }
            assert!(
                start.elapsed() < LIMIT,
                "leadq serve did not listen on {} within {LIMIT:?}",
                server.socket.display()
            );
            std::thread::sleep(POLL);
        }
        server
    }

    pub fn running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// Waits (bounded) for the server to exit by itself.
    pub fn wait_exit(&mut self) -> ExitStatus {
        let start = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().expect("poll the server") {
                return status;
            }
            assert!(
                start.elapsed() < LIMIT,
                "leadq serve did not exit within {LIMIT:?}"
            );
            std::thread::sleep(POLL);
        }
    }

    /// SIGTERM, as a service manager stops it: it must exit cleanly and remove its socket.
    pub fn stop(mut self) {
        signal(self.child.id(), "TERM");
        let status = self.wait_exit();
        assert!(status.success(), "leadq serve ended with {status:?}");
        assert!(
            !self.socket.exists(),
            "a stopped server left its socket {}",
            self.socket.display()
        );
    }

    /// SIGKILL: the server gets no chance to finish anything.
    pub fn kill9(&mut self) {
        self.child.kill().expect("SIGKILL the server");
        self.child.wait().expect("reap the server");
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if self.running() {
            let _ = Command::new("kill")
                .args(["-TERM", &self.child.id().to_string()])
                .status();
            let start = Instant::now();
            while self.running() && start.elapsed() < Duration::from_secs(5) {
                std::thread::sleep(POLL);
            }
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

impl super::home::Home {
    /// `leadq serve --foreground` on this home's store, with `env` on top of the home's.
    pub fn server_with(&self, env: &[(&str, &str)]) -> Server {
        let mut cmd = self.command();
        cmd.envs(env.iter().copied())
            .args(["serve", "--foreground", "--db"])
            .arg(self.store())
            .args(["--idle-exit", SAFETY_IDLE]);
        Server::start(cmd, self.socket())
    }

    pub fn server(&self) -> Server {
        self.server_with(&[])
    }

    /// `leadq serve --foreground` with these arguments besides.
    pub fn server_args(&self, args: &[&str]) -> Server {
        let mut cmd = self.command();
        cmd.args(["serve", "--foreground", "--db"])
            .arg(self.store())
            .args(["--idle-exit", SAFETY_IDLE])
            .args(args);
        Server::start(cmd, self.socket())
    }
}
