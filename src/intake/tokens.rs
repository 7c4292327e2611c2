//! The intake's token file: which secret posts leads for which source, and how often. The file
//! holds secrets, so it must be private to the user who runs the server (mode 0600); one that
//! others may read is refused, naming the file and the `chmod` that fixes it.
//!
//! ```toml
//! [[token]]
//! source = "web-form"
//! token = "3b9f2c0e8d1a4f6b9c7e5a2d1f0e8c6b"
//! per_minute = 60        # optional: posts a minute before 429 (default 60)
//! ```

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use serde::Deserialize;

/// The shortest token accepted: a guessable secret is no secret.
pub const MIN_TOKEN_CHARS: usize = 16;
pub const DEFAULT_PER_MINUTE: u32 = 60;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    #[serde(default)]
    token: Vec<Entry>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Entry {
    pub source: String,
    pub token: String,
    pub per_minute: Option<u32>,
}

impl Entry {
    pub fn per_minute(&self) -> u32 {
        self.per_minute.unwrap_or(DEFAULT_PER_MINUTE)
    }
}

/// The tokens the intake accepts.
#[derive(Debug, Clone, Default)]
pub struct Tokens {
    entries: Vec<Entry>,
}

impl Tokens {
    /// Reads and checks the token file at `path` (private, well formed, every entry usable).
    pub fn load(path: &Path) -> Result<Tokens, String> {
        let shown = path.display();
        let meta = std::fs::metadata(path).map_err(|e| {
            format!("cannot read the intake's token file {shown}: {e} (see README: Intake)")
        })?;
        let mode = meta.permissions().mode() & 0o777;
        if mode & 0o077 != 0 {
            return Err(format!(
                "the intake's token file {shown} may be read by others (mode {mode:04o}): it \
                 holds secrets; make it private with `chmod 600 {shown}`"
            ));
        }
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read the intake's token file {shown}: {e}"))?;
        Tokens::parse(&text).map_err(|e| format!("{shown}: {e}"))
    }

    /// Reads token entries from TOML text.
    pub fn parse(text: &str) -> Result<Tokens, String> {
        let file: File = toml::from_str(text).map_err(|e| e.to_string().trim().to_string())?;
        for (n, e) in file.token.iter().enumerate() {
            let at = format!("token entry {} (source {:?})", n + 1, e.source);
            let source = e.source.trim();
            if source.is_empty() || source.chars().any(char::is_control) {
                return Err(format!("{at}: the source must be a name"));
            }
            // A lead's source has the limit every source has: else every post is refused.
            crate::domain::limits::text("the source", source, crate::domain::limits::SOURCE)
                .map_err(|e| format!("{at}: {e}"))?;
            if e.token.chars().count() < MIN_TOKEN_CHARS
                || e.token.chars().any(|c| c.is_whitespace() || c.is_control())
            {
                return Err(format!(
                    "{at}: a token is at least {MIN_TOKEN_CHARS} characters, without spaces \
                     (`leadq intake token SOURCE` makes one)"
                ));
            }
            if e.per_minute == Some(0) {
                return Err(format!("{at}: per_minute is at least 1"));
            }
            if file.token[..n].iter().any(|o| o.token == e.token) {
                return Err(format!("{at}: the same token is given twice"));
            }
        }
        Ok(Tokens {
            entries: file.token,
        })
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// The entry `token` opens, compared in constant time against every entry (how long the
    /// answer takes says nothing of how close a guess came).
    pub fn find(&self, token: &str) -> Option<&Entry> {
        let mut found = None;
        for e in &self.entries {
            if same_secret(e.token.as_bytes(), token.as_bytes()) {
                found = Some(e);
            }
        }
        found
    }
}

fn same_secret(a: &[u8], b: &[u8]) -> bool {
    let mut diff = a.len() ^ b.len();
    for (i, x) in a.iter().enumerate() {
        diff |= usize::from(x ^ b.get(i).copied().unwrap_or(!x));
    }
    diff == 0
}

/// A new random token: 32 hex digits (128 bits from the kernel's random source).
pub fn new_token() -> std::io::Result<String> {
    use std::io::Read;
    let mut bytes = [0u8; 16];
    std::fs::File::open("/dev/urandom")?.read_exact(&mut bytes)?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_opens_its_entry_and_nothing_else() {
        let t = Tokens::parse(
            "[[token]]\nsource = \"web-form\"\ntoken = \"aaaaaaaaaaaaaaaa1\"\n\
             [[token]]\nsource = \"ads\"\ntoken = \"bbbbbbbbbbbbbbbb2\"\nper_minute = 5\n",
        )
        .unwrap();
        assert_eq!(t.find("aaaaaaaaaaaaaaaa1").unwrap().source, "web-form");
        assert_eq!(t.find("bbbbbbbbbbbbbbbb2").unwrap().per_minute(), 5);
        assert!(t.find("aaaaaaaaaaaaaaaa").is_none());
        assert!(t.find("aaaaaaaaaaaaaaaa12").is_none());
        assert!(t.find("").is_none());
    }

    #[test]
    fn a_weak_or_repeated_token_is_refused_with_its_entry() {
        let short = Tokens::parse("[[token]]\nsource = \"x\"\ntoken = \"short\"\n").unwrap_err();
        assert!(
            short.contains("token entry 1") && short.contains("16"),
            "{short}"
        );
        let twice = Tokens::parse(
            "[[token]]\nsource = \"x\"\ntoken = \"cccccccccccccccc\"\n\
             [[token]]\nsource = \"y\"\ntoken = \"cccccccccccccccc\"\n",
        )
        .unwrap_err();
        assert!(
            twice.contains("token entry 2") && twice.contains("twice"),
            "{twice}"
        );
        let unknown = Tokens::parse("[[token]]\nsource = \"x\"\ntokn = \"y\"\n").unwrap_err();
        assert!(unknown.contains("tokn"), "{unknown}");
    }

    #[test]
    fn new_tokens_are_long_and_differ() {
        let (a, b) = (new_token().unwrap(), new_token().unwrap());
        assert_eq!(a.len(), 32);
        assert_ne!(a, b);
    }
}
