//! `botlake.toml`: the default lake and the Control Rooms botlake ingests, each under
//! `[control_room.NAME]`. Command-line flags override the file; the README lists every key.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use serde::Deserialize;

use crate::UserError;
use crate::args::{AuthArg, GenerationArg, PaginationArg, ReconcileArg};

/// The file botlake reads when `--config` is not given and it exists.
pub const DEFAULT_FILE: &str = "botlake.toml";

/// The whole file.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConfigFile {
    /// The lake used when `--lake` and `BOTLAKE_LAKE` are not given.
    pub lake: Option<String>,
    /// The time zone of the views' days when `--tz` and `BOTLAKE_TZ` are not given.
    pub tz: Option<String>,
    /// Control Rooms by name (the value of `control_room` in every table).
    #[serde(default)]
    pub control_room: BTreeMap<String, RoomConfig>,
}

/// What botlake ingests from one Control Room.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RoomConfig {
    /// Base URL.
    pub url: Option<String>,
    /// The user to log in as.
    pub user: Option<String>,
    /// `x-authorization` or `bearer`.
    pub auth: Option<AuthArg>,
    /// `11.x`, `11.3` or `a360`.
    pub generation: Option<GenerationArg>,
    /// Environment variable holding the password.
    pub password_env: Option<String>,
    /// Environment variable holding an API key.
    pub api_key_env: Option<String>,
    /// Environment variable holding a token from an earlier login.
    pub token_env: Option<String>,
    /// What `ingest --all` pulls: `aa-botinsight` (11.x) and/or `aa-audit` (A360).
    pub sources: Option<Vec<String>>,
    /// Bot Insight parts: `runs`, `audit`, `tasks`.
    pub only: Option<Vec<String>>,
    /// Analytics task names for the task endpoints.
    pub tasks: Option<Vec<String>>,
    /// Longest window of run, audit and profile requests, in days.
    pub window_days: Option<u32>,
    /// Longest window of task log requests, in days.
    pub log_window_days: Option<u32>,
    /// Days before the newest record seen that the next ingest reads again.
    pub overlap_days: Option<u32>,
    /// `offset` or `page`.
    pub pagination: Option<PaginationArg>,
    /// Where the v11 API lives under the URL.
    pub api_path: Option<String>,
    /// `strict` or `lenient`.
    pub reconcile: Option<ReconcileArg>,
    /// Requests in flight at once.
    pub concurrency: Option<u16>,
    /// Rows gathered before a commit.
    pub commit_rows: Option<u32>,
    /// Seconds at most between commits.
    pub commit_secs: Option<u32>,
    /// Attempts per request.
    pub max_attempts: Option<u32>,
    /// First retry delay in milliseconds.
    pub retry_base_ms: Option<u64>,
    /// A360 audit: longest createdOn window, in hours.
    pub audit_window_hours: Option<u32>,
    /// A360 audit: how far before the cursor to start again, in minutes.
    pub overlap_minutes: Option<u32>,
    /// A360 audit: records per request.
    pub page_length: Option<u32>,
    /// A360: refresh the token when it is this many minutes old.
    pub refresh_minutes: Option<u32>,
}

impl ConfigFile {
    /// Reads `path`, or `./botlake.toml` if no path is given and it exists, or nothing.
    pub fn load(path: Option<&Path>) -> Result<(ConfigFile, Option<PathBuf>)> {
        let path = match path {
            Some(p) => p.to_path_buf(),
            None if Path::new(DEFAULT_FILE).is_file() => PathBuf::from(DEFAULT_FILE),
            None => return Ok((ConfigFile::default(), None)),
        };
        let text = std::fs::read_to_string(&path)
            .map_err(|e| UserError(format!("cannot read {}: {e}", path.display())))?;
        let file = Self::parse(&text)
            .map_err(|e| UserError(format!("{}: {e}", path.display())))
            .with_context(|| format!("in configuration file {}", path.display()))?;
        Ok((file, Some(path)))
    }

    /// Parses and checks the text of a configuration file.
    pub fn parse(text: &str) -> Result<ConfigFile, String> {
        let file: ConfigFile = toml::from_str(text).map_err(|e| e.to_string())?;
        for (name, room) in &file.control_room {
            if name.is_empty() {
                return Err("a control room needs a name".into());
            }
            for s in room.sources.iter().flatten() {
                if !matches!(s.as_str(), "aa-botinsight" | "aa-audit") {
                    return Err(format!(
                        "control_room.{name}.sources: unknown source {s:?} (aa-botinsight, aa-audit)"
                    ));
                }
            }
            for p in room.only.iter().flatten() {
                if !matches!(p.as_str(), "runs" | "audit" | "tasks") {
                    return Err(format!(
                        "control_room.{name}.only: unknown part {p:?} (runs, audit, tasks)"
                    ));
                }
            }
            if let Some(url) = &room.url {
                crate::args::parse_url(url).map_err(|e| format!("control_room.{name}.url: {e}"))?;
            }
        }
        Ok(file)
    }

    /// The section of `name`, or an empty one.
    pub fn room(&self, name: Option<&str>) -> RoomConfig {
        name.and_then(|n| self.control_room.get(n))
            .cloned()
            .unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_two_control_rooms() {
        let file = ConfigFile::parse(
            r#"
            lake = "s3://bucket/lake"
            [control_room.prod]
            url = "https://cr.example.com"
            user = "svc-botlake"
            password_env = "PROD_PASSWORD"
            tasks = ["Analytics_ATM Reconciliation"]
            pagination = "page"
            auth = "bearer"
            [control_room.dev]
            generation = "a360"
            url = "https://dev.example.com"
            sources = ["aa-botinsight", "aa-audit"]
            "#,
        )
        .unwrap();
        assert_eq!(file.control_room.len(), 2);
        let prod = file.room(Some("prod"));
        assert_eq!(prod.pagination, Some(PaginationArg::Page));
        assert_eq!(prod.auth, Some(AuthArg::Bearer));
        assert_eq!(file.room(Some("dev")).generation, Some(GenerationArg::A360));
        assert_eq!(prod.tasks.unwrap().len(), 1);
        assert!(file.room(Some("nope")).url.is_none());
    }

    #[test]
    fn rejects_unknown_keys_and_values() {
        let e = ConfigFile::parse("[control_room.a]\nurll = \"x\"").unwrap_err();
        assert!(e.contains("urll"), "{e}");
        let e = ConfigFile::parse("[control_room.a]\nsources = [\"uipath\"]").unwrap_err();
        assert!(e.contains("unknown source"), "{e}");
        let e = ConfigFile::parse("[control_room.a]\nurl = \"ftp://x\"").unwrap_err();
        assert!(e.contains("http"), "{e}");
    }
}
