//! Automation 360's activity API (`POST /v3/activity/list`, the deprecated
//! `/v2/activity/list`): an execution for every run, under an id of its own (not the run
//! data's), and deployments that failed before a run began: one for every
//! [`DEPLOY_FAILED_EVERY`]-th run, a minute before it.

use serde::Serialize;

use crate::activity::rfc3339;
use crate::data::Dataset;

/// Every n-th run (by id) has a deployment that failed a minute before it.
pub const DEPLOY_FAILED_EVERY: i64 = 25;

/// An execution as the activity API lists it.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Execution {
    /// Its id, a string.
    pub id: String,
    /// The bot's name.
    pub automation_name: String,
    /// The bot's file.
    pub file_name: String,
    /// Where the bot lives in the repository.
    pub file_path: String,
    /// `RUN_NOW` or `TASK` (scheduled).
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// When it started (deployment, then the run).
    pub start_date_time: String,
    /// When it ended, once it has.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub end_date_time: Option<String>,
    /// One of the documented statuses.
    pub status: &'static str,
    /// Percent done.
    pub progress: u8,
    /// The Bot Runner device.
    pub device_name: String,
    /// The Bot Runner user.
    pub user_name: String,
    /// Its start, for filtering and sorting.
    #[serde(skip)]
    pub start_ms: i64,
}

/// What ingesting every execution visible at a time must give.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ExecutionTruth {
    /// Executions.
    pub executions: u64,
    /// Of them, failed: `RUN_FAILED`, `RUN_TIMED_OUT`, `DEPLOY_FAILED`.
    pub failed: u64,
    /// Of them, not finished.
    pub running: u64,
    /// Of them, `DEPLOY_FAILED` (no run data has them).
    pub deploy_failed: u64,
}

/// The executions of the runs started in `[from_ms, to_ms)` and visible at `now_ms`, and
/// of the failed deployments in that range, by start.
pub fn executions(data: &Dataset, from_ms: i64, to_ms: i64, now_ms: i64) -> Vec<Execution> {
    let mut out = Vec::new();
    let lo = from_ms.saturating_sub(60_000);
    for i in data.range(lo, to_ms.saturating_add(60_000), now_ms) {
        let v = data.view(i, now_ms);
        let path = format!("Automation Anywhere\\Bots\\{}", v.bot.file_name);
        let base = Execution {
            id: String::new(),
            automation_name: v.bot.file_name.trim_end_matches(".atmx").to_string(),
            file_name: v.bot.file_name.clone(),
            file_path: path,
            kind: if v.id % 3 == 0 { "TASK" } else { "RUN_NOW" },
            start_date_time: rfc3339(v.run.start_ms),
            end_date_time: v.end_ms.map(rfc3339),
            status: "",
            progress: 100,
            device_name: v.runner.host_name.clone(),
            user_name: v.runner.user_name.clone(),
            start_ms: v.run.start_ms,
        };
        if v.id % DEPLOY_FAILED_EVERY == 0 {
            let at = v.run.start_ms - 60_000;
            out.push(Execution {
                id: format!("{:016x}-d", mix(v.id)),
                status: "DEPLOY_FAILED",
                progress: 0,
                start_date_time: rfc3339(at),
                end_date_time: Some(rfc3339(at + 5_000)),
                start_ms: at,
                ..base.clone()
            });
        }
        let (status, progress) = match v.status {
            "COMPLETED" => ("COMPLETED", 100),
            "FAILED" if v.id % 5 == 0 => ("RUN_TIMED_OUT", 100),
            "FAILED" => ("RUN_FAILED", 100),
            "STOPPED" => ("RUN_ABORTED", 100),
            _ if v.id % 3 == 0 => ("RUN_PAUSED", 50),
            _ => ("RUNNING", 50),
        };
        out.push(Execution {
            id: format!("{:016x}", mix(v.id)),
            status,
            progress,
            ..base
        });
    }
    out.retain(|e| (from_ms..to_ms).contains(&e.start_ms) && e.start_ms <= now_ms);
    out.sort_by(|a, b| a.start_ms.cmp(&b.start_ms).then_with(|| a.id.cmp(&b.id)));
    out
}

/// What ingesting every execution visible at `now_ms` must give.
pub fn execution_truth(data: &Dataset, now_ms: i64) -> ExecutionTruth {
    let mut truth = ExecutionTruth::default();
    for e in executions(data, i64::MIN / 2, i64::MAX / 2, now_ms) {
        truth.executions += 1;
        truth.failed += u64::from(matches!(
            e.status,
            "RUN_FAILED" | "RUN_TIMED_OUT" | "DEPLOY_FAILED"
        ));
        truth.running += u64::from(matches!(e.status, "RUNNING" | "RUN_PAUSED"));
        truth.deploy_failed += u64::from(e.status == "DEPLOY_FAILED");
    }
    truth
}

/// An id unlike the run's: its bits mixed.
fn mix(id: i64) -> u64 {
    let mut x = (id as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    x ^= x >> 31;
    x
}
