//! The Control Room's fixed parts: how it is generated, its bots and Bot Runner users, and
//! its runs, compactly, with the status a run shows at a clock time.

use chrono::{Duration, NaiveDate};

/// How to generate a Control Room.
#[derive(Debug, Clone)]
pub struct SimConfig {
    /// Everything random derives from this.
    pub seed: u64,
    /// Number of bots (task files).
    pub bots: usize,
    /// Number of Bot Runner users, each with its own device.
    pub runners: usize,
    /// Number of runs over the whole date range.
    pub runs: usize,
    /// Number of days the runs span.
    pub days: u32,
    /// The day after the last day of runs.
    pub end: NaiveDate,
}

impl SimConfig {
    /// A small Control Room ending at `end`: 40 bots, 12 runners, 30 days.
    pub fn new(seed: u64, runs: usize, end: NaiveDate) -> SimConfig {
        SimConfig {
            seed,
            bots: 40,
            runners: 12,
            runs,
            days: 30,
            end,
        }
    }

    /// The first day with runs.
    pub fn start(&self) -> NaiveDate {
        self.end - Duration::days(i64::from(self.days))
    }
}

/// A bot: one task file with its own habits.
#[derive(Debug, Clone)]
pub struct Bot {
    /// The task file, as Bot Insight's `fileName` reports it.
    pub file_name: String,
    /// The share of its finished runs that fail, outside spikes.
    pub failure_rate: f64,
    /// The share of its runs that someone stops.
    pub stop_rate: f64,
    /// The median duration of a run, in seconds.
    pub median_secs: f64,
    /// Lines in the task.
    pub lines: u32,
}

/// A Bot Runner user and its device.
#[derive(Debug, Clone)]
pub struct Runner {
    /// Control Room user name.
    pub user_name: String,
    /// First name.
    pub first_name: String,
    /// Last name.
    pub last_name: String,
    /// E-mail address.
    pub email: String,
    /// Host name of the device.
    pub host_name: String,
    /// IP address of the device.
    pub ip_address: String,
}

/// How a run ends, if it ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Ran to the end.
    Completed,
    /// Failed.
    Failed,
    /// Stopped by someone.
    Stopped,
    /// Hangs and never reports an end.
    Stuck,
}

/// One run, compactly: a million of them take about 32 MB.
#[derive(Debug, Clone, Copy)]
pub struct Run {
    /// Start, in milliseconds since the epoch.
    pub start_ms: i64,
    /// How long it takes, in milliseconds.
    pub duration_ms: u32,
    /// Index into [`Dataset::bots`].
    pub bot: u16,
    /// Index into [`Dataset::runners`].
    pub runner: u16,
    /// How it ends.
    pub outcome: Outcome,
    /// Lines executed.
    pub lines: u32,
}

impl Run {
    /// Bot Insight's status of the run at `now_ms`, and its end once it has ended:
    /// `COMPLETED`, `FAILED`, `STOPPED` or `IN_PROGRESS`.
    pub fn status_at(&self, now_ms: i64) -> (&'static str, Option<i64>) {
        let end = self.start_ms + i64::from(self.duration_ms);
        if self.outcome == Outcome::Stuck || end > now_ms {
            return ("IN_PROGRESS", None);
        }
        let status = match self.outcome {
            Outcome::Completed => "COMPLETED",
            Outcome::Failed => "FAILED",
            Outcome::Stopped => "STOPPED",
            Outcome::Stuck => unreachable!("handled above"),
        };
        (status, Some(end))
    }
}
