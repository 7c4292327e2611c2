//! The team file (`team.toml` in a team store's folder): the Unix group let in, and each
//! member's role. Identity always comes from the socket's peer credentials, never from what a
//! client says.

use std::collections::BTreeMap;
use std::path::Path;

use serde::Deserialize;

use crate::service::Role;

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Team {
    /// The Unix group whose members may reach the socket and read the store's folder.
    pub group: String,
    /// user name -> role
    pub members: BTreeMap<String, Role>,
}

#[derive(Debug, thiserror::Error)]
pub enum TeamError {
    #[error("{path}: {message}")]
    Bad { path: String, message: String },
}

impl Team {
    pub const FILE: &'static str = "team.toml";

    /// Gives `path` to the team's group (the folder and the socket members reach the server
    /// through).
    pub fn give_to_group(&self, path: &Path) -> anyhow::Result<()> {
        use anyhow::Context;
        let group = nix::unistd::Group::from_name(&self.group)
            .ok()
            .flatten()
            .with_context(|| {
                format!(
                    "the team's group {:?} does not exist on this machine",
                    self.group
                )
            })?;
        nix::unistd::chown(path, None, Some(group.gid))
            .with_context(|| format!("cannot give {} to group {}", path.display(), self.group))
    }

    pub fn load(dir: &Path) -> Result<Team, TeamError> {
        let path = dir.join(Team::FILE);
        let shown = path.display().to_string();
        let text = std::fs::read_to_string(&path).map_err(|e| TeamError::Bad {
            path: shown.clone(),
            message: format!(
                "{e}; a team store needs a team file such as:\n  group = \"sales\"\n  [members]\n  alice = \"rep\"\n  bob = \"manager\""
            ),
        })?;
        let team: Team = toml::from_str(&text).map_err(|e| {
            let line = e.span().map_or(1, |s| {
                text[..s.start.min(text.len())].matches('\n').count() + 1
            });
            TeamError::Bad {
                path: shown.clone(),
                message: format!("line {line}: {}", e.message().trim()),
            }
        })?;
        if team.members.is_empty() {
            return Err(TeamError::Bad {
                path: shown,
                message: "[members] lists nobody".into(),
            });
        }
        Ok(team)
    }

    pub fn role_of(&self, user: &str) -> Option<Role> {
        self.members.get(user).copied()
    }
}
