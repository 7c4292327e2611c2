//! A team for tests: Unix users and a group made once per machine (when the tests run as
//! root), a team store in a folder they can reach, its server, and commands run as each user.
//! The binaries run as those users are copied where they can reach them: a checkout under a
//! private folder (such as /root) would deny them.

use std::collections::BTreeSet;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::{Mutex, OnceLock};

use nix::unistd::{Group, User};
use serde_json::Value;

use super::home::{BIN, Home, NOW};
use super::server::{LIMIT, SAFETY_IDLE, Server};
use leadq::remote::server::socket_path;

pub const GROUP: &str = "lq_team";
pub const REP1: &str = "lq_rep1";
pub const REP2: &str = "lq_rep2";
pub const MANAGER: &str = "lq_mgr1";
/// In the team's group, not in the team file.
pub const OUTSIDER: &str = "lq_out1";
/// Not even in the group.
pub const STRANGER: &str = "lq_stranger";

pub fn run_tool(program: &str, args: &[&str]) -> Result<(), String> {
    let out = Command::new(program)
        .args(args)
        .output()
        .map_err(|e| format!("{program}: {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "{program} {args:?}: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

/// Creates the test's group and users once (reusing them if they exist), or says why it
/// cannot.
pub fn team_users() -> Result<(), String> {
    static READY: OnceLock<Result<(), String>> = OnceLock::new();
    READY
        .get_or_init(|| {
            if !nix::unistd::geteuid().is_root() {
                return Err("the tests do not run as root".into());
            }
            if Group::from_name(GROUP).ok().flatten().is_none() {
                run_tool("groupadd", &[GROUP])?;
            }
            let gid = Group::from_name(GROUP)
                .ok()
                .flatten()
                .ok_or("no group after groupadd")?
                .gid;
            let nologin = "/usr/sbin/nologin";
            for u in [REP1, REP2, MANAGER, OUTSIDER] {
                if User::from_name(u).ok().flatten().is_none() {
                    run_tool("useradd", &["-M", "-N", "-g", GROUP, "-s", nologin, u])?;
                }
            }
            if User::from_name(STRANGER).ok().flatten().is_none() {
                run_tool("useradd", &["-M", "-U", "-s", nologin, STRANGER])?;
            }
            for (u, member) in [
                (REP1, true),
                (REP2, true),
                (MANAGER, true),
                (OUTSIDER, true),
                (STRANGER, false),
            ] {
                let user = User::from_name(u).ok().flatten().ok_or("no user")?;
                if (user.gid == gid) != member {
                    return Err(format!(
                        "the existing user {u} is not set up as this test needs"
                    ));
                }
            }
            Ok(())
        })
        .clone()
}

/// Skips a test, loudly, when the machine does not let it create Unix users.
#[allow(unused_macros)]
macro_rules! require_team_users {
    () => {
        if let Err(why) = $crate::common::team::team_users() {
            eprintln!("SKIPPED: this test runs clients as other Unix users and cannot: {why}");
            return;
        }
    };
}

/// A team store in a folder the test users can reach, its server run by root, and a private
/// home for each user.
pub struct TeamSetup {
    pub home: Home,
}

impl TeamSetup {
    pub fn new() -> TeamSetup {
        let home = Home::new();
        // The temporary folder is private to root; the users must pass through it.
        std::fs::set_permissions(home.path(), std::fs::Permissions::from_mode(0o711))
            .expect("chmod");
        let dir = home.path().join("team");
        std::fs::create_dir(&dir).expect("team folder");
        std::fs::write(
            dir.join("team.toml"),
            format!(
                "group = \"{GROUP}\"\n[members]\n{REP1} = \"rep\"\n{REP2} = \"rep\"\n{MANAGER} = \"manager\"\n"
            ),
        )
        .expect("team file");
        TeamSetup { home }
    }

    pub fn dir(&self) -> PathBuf {
        self.home.path().join("team")
    }

    pub fn server(&self) -> Server {
        let mut cmd = self.home.command();
        cmd.arg("serve")
            .arg("--foreground")
            .arg("--team")
            .arg(self.dir());
        cmd.args(["--idle-exit", SAFETY_IDLE]);
        Server::start(cmd, socket_path(&self.dir()))
    }

    /// `program` run as `user`, with a private home and a USER that lies about who it is.
    pub fn as_user(&self, user: &str, program: &str) -> Command {
        let u = User::from_name(user).ok().flatten().expect("a test user");
        let home = self.home.path().join(format!("home-{user}"));
        if !home.exists() {
            std::fs::create_dir(&home).expect("a user's home");
            nix::unistd::chown(&home, Some(u.uid), Some(u.gid)).expect("chown");
        }
        let mut cmd = Command::new(reachable(Path::new(program)));
        cmd.uid(u.uid.as_raw())
            .gid(u.gid.as_raw())
            .env_clear()
            .env("HOME", &home)
            .env("XDG_CONFIG_HOME", home.join("config"))
            .env("XDG_DATA_HOME", home.join("data"))
            .env("XDG_STATE_HOME", home.join("state"))
            .env("USER", "liar")
            .env("LOGNAME", "liar")
            .env("LEADQ_NOW", NOW)
            .env("TZ", "UTC")
            .current_dir(&home);
        cmd
    }

    /// `leadq --db <team> ARGS` as `user`.
    pub fn leadq(&self, user: &str, args: &[&str]) -> Output {
        let mut cmd = self.as_user(user, BIN);
        cmd.arg("--db").arg(self.dir()).args(args);
        assert_cmd::Command::from_std(cmd)
            .timeout(LIMIT)
            .output()
            .expect("leadq runs")
    }

    pub fn ok(&self, user: &str, args: &[&str]) -> String {
        let out = self.leadq(user, args);
        assert!(
            out.status.success(),
            "{user}: leadq {args:?} failed with {:?}: {}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).expect("utf-8")
    }

    pub fn json(&self, user: &str, args: &[&str]) -> Value {
        let text = self.ok(user, args);
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{user}: {args:?}: {e}: {text}"))
    }

    /// Runs a command that must fail with exit 1 and a message containing `says`.
    pub fn refused(&self, user: &str, args: &[&str], says: &str) {
        let out = self.leadq(user, args);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(
            out.status.code(),
            Some(1),
            "{user}: leadq {args:?} should fail: {err}"
        );
        assert!(
            err.contains(says),
            "{user}: leadq {args:?}: {says:?} not in {err:?}"
        );
    }

    pub fn ids(&self, user: &str, args: &[&str]) -> BTreeSet<u64> {
        let v = self.json(user, args);
        let leads = v.as_array().expect("a JSON array of leads");
        leads
            .iter()
            .map(|l| l["id"].as_u64().expect("an id"))
            .collect()
    }

    /// The (author, note) pairs of a lead's timeline, as the manager sees them.
    pub fn authors(&self, id: u64) -> Vec<(String, String)> {
        let v = self.json(MANAGER, &["show", &id.to_string(), "--format", "json"]);
        let timeline = v["timeline"].as_array().expect("a timeline");
        timeline
            .iter()
            .map(|i| {
                let s = |k: &str| i[k].as_str().unwrap_or_default().to_string();
                (s("author"), s("note"))
            })
            .collect()
    }
}

#[allow(unused_imports)]
pub(crate) use require_team_users;

/// `program` as a file every user can run: a link (or a copy) in a folder of mode 0755 under
/// the system's temporary folder, made once per program and test process.
pub fn reachable(program: &Path) -> PathBuf {
    static DONE: OnceLock<Mutex<std::collections::HashMap<PathBuf, PathBuf>>> = OnceLock::new();
    let done = DONE.get_or_init(Default::default);
    let mut done = done.lock().unwrap_or_else(|p| p.into_inner());
    if let Some(p) = done.get(program) {
        return p.clone();
    }
    let tmp = std::env::temp_dir();
    // Folders of earlier runs whose process is gone.
    for entry in std::fs::read_dir(&tmp).into_iter().flatten().flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if let Some(pid) = name.strip_prefix("leadq-test-bin-")
            && !Path::new("/proc").join(pid).exists()
        {
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
    let dir = tmp.join(format!("leadq-test-bin-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("a folder for the test binaries");
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    let name = program.file_name().expect("a file name");
    let target = dir.join(name);
    if !target.exists() && std::fs::hard_link(program, &target).is_err() {
        std::fs::copy(program, &target).expect("copy a test binary");
    }
    std::fs::set_permissions(&target, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    done.insert(program.to_path_buf(), target.clone());
    target
}
