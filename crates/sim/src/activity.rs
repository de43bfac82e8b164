//! What else a Control Room records besides runs: Bot Insight tasks with their KPI
//! variables and log records, and the audit trail (logins, deployments, role changes).
//!
//! Task logs are written when a run of an analytics-enabled bot completes, so a log's
//! `runDate` is its run's end and it becomes visible once the simulator's clock passes it.
//! Audit events happen through each day. Both are sorted by time and numbered in that
//! order, like runs.

use chrono::{DateTime, Duration, SecondsFormat};

use crate::rng::Rng;
use crate::world::{Outcome, Run, Runner, SimConfig};

/// The type of a KPI variable, as `gettaskmetadata` names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VarKind {
    /// A decimal amount with two places.
    Decimal,
    /// A whole count.
    Count,
    /// Free text.
    Text,
    /// A date, `YYYY-MM-DD`.
    Date,
}

impl VarKind {
    /// The name Bot Insight gives the type.
    pub fn type_name(self) -> &'static str {
        match self {
            VarKind::Decimal | VarKind::Count => "NUMBER",
            VarKind::Text => "STRING",
            VarKind::Date => "DATE",
        }
    }
}

/// A KPI variable of a task.
#[derive(Debug, Clone)]
pub struct TaskVariable {
    /// The variable's name in the bot.
    pub name: &'static str,
    /// Its display name on dashboards.
    pub display_name: &'static str,
    /// Its type.
    pub kind: VarKind,
}

/// An analytics-enabled task: a bot whose runs log KPI variables.
#[derive(Debug, Clone)]
pub struct Task {
    /// The Analytics display name; names carry spaces and punctuation, as real ones do.
    pub name: &'static str,
    /// Index of the bot whose completed runs log this task.
    pub bot: u16,
    /// Its variables: a decimal, a count, a text and a date, in that order.
    pub variables: Vec<TaskVariable>,
}

/// One task log record, compactly; its values derive from the seed and its index.
#[derive(Debug, Clone, Copy)]
pub struct TaskLog {
    /// `runDate`: when the run ended, in milliseconds since the epoch.
    pub time_ms: i64,
    /// Index into [`Dataset::tasks`].
    pub task: u16,
}

/// The kind of an audit event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuditKind {
    /// A login that worked.
    Login,
    /// A login with a wrong password or an unknown user.
    FailedLogin,
    /// A bot deployed to a runner.
    Deploy,
    /// A user's roles changed.
    RoleChange,
}

impl AuditKind {
    /// The `activityType` the Control Room reports.
    pub fn activity_type(self) -> &'static str {
        match self {
            AuditKind::Login | AuditKind::FailedLogin => "USER_LOGIN",
            AuditKind::Deploy => "BOT_DEPLOY",
            AuditKind::RoleChange => "ROLE_UPDATE",
        }
    }
}

/// One audit event, compactly.
#[derive(Debug, Clone, Copy)]
pub struct AuditEvent {
    /// `createdOn`, in milliseconds since the epoch.
    pub time_ms: i64,
    /// What happened.
    pub kind: AuditKind,
    /// Index of the acting user in [`audit_users`] order: runners first, then admins,
    /// then names nobody has (failed logins only).
    pub user: u16,
    /// A bot (deployments) or a user (role changes) the event is about.
    pub object: u16,
    /// Index of the host the request came from.
    pub host: u16,
}

/// An audit event as a client sees it.
#[derive(Debug, Clone)]
pub struct AuditView {
    /// The v11 id (`index + 1`).
    pub id: i64,
    /// The A360 id: 20 characters, derived from the seed and the index.
    pub string_id: String,
    /// `createdOn`.
    pub created_on: String,
    /// Milliseconds since the epoch.
    pub time_ms: i64,
    /// `activityType`.
    pub activity_type: &'static str,
    /// `status`: `Successful` or `Unsuccessful`.
    pub status: &'static str,
    /// `userName`.
    pub user_name: String,
    /// `createdBy`.
    pub created_by: String,
    /// `hostName`.
    pub host_name: String,
    /// `eventDescription`.
    pub event_description: String,
    /// `objectName`.
    pub object_name: String,
    /// `detail`.
    pub detail: String,
    /// `source`.
    pub source: &'static str,
    /// `requestId`.
    pub request_id: String,
    /// `environmentName`.
    pub environment_name: &'static str,
}

const TASK_NAMES: [&str; 5] = [
    "Analytics_ATM Reconciliation",
    "Invoice Processing: EU/UK",
    "Claims 50% Review",
    "KYC & AML Check #2",
    "Is Customer Eligible?",
];
const VARIABLES: [[(&str, &str); 4]; 5] = [
    [
        ("CashDispensed", "Cash dispensed"),
        ("ATMCount", "ATMs reconciled"),
        ("Branch", "Branch"),
        ("SettlementDate", "Settlement date"),
    ],
    [
        ("InvoiceAmount", "Invoice amount"),
        ("LineItems", "Line items"),
        ("Country", "Country"),
        ("InvoiceDate", "Invoice date"),
    ],
    [
        ("ClaimAmount", "Claim amount"),
        ("Documents", "Documents read"),
        ("ClaimType", "Claim type"),
        ("IncidentDate", "Incident date"),
    ],
    [
        ("RiskScore", "Risk score"),
        ("Checks", "Checks run"),
        ("Outcome", "Outcome"),
        ("ReviewDate", "Review date"),
    ],
    [
        ("Premium", "Premium"),
        ("Rules", "Rules evaluated"),
        ("Segment", "Segment"),
        ("PolicyStart", "Policy start"),
    ],
];
const TEXTS: [&str; 6] = ["North", "South", "East", "West", "Central", "Online"];
const ADMINS: [&str; 3] = ["cr.admin", "ops.lead", "sec.officer"];
const STRANGERS: [&str; 3] = ["guest", "svc-test", "j.doe"];
pub(crate) const ROLES: [&str; 4] = [
    "AAE_Basic",
    "AAE_Bot Insight Admin",
    "Bot Runner",
    "AAE_Admin",
];
const SALT_LOGS: u64 = 0x7a5c_0000_0000_0001;
pub(crate) const SALT_AUDIT: u64 = 0x7a5c_0000_0000_0002;

/// Makes the tasks, each bound to one of the first bots.
pub fn tasks(bots: usize) -> Vec<Task> {
    let kinds = [
        VarKind::Decimal,
        VarKind::Count,
        VarKind::Text,
        VarKind::Date,
    ];
    TASK_NAMES
        .iter()
        .zip(VARIABLES.iter())
        .enumerate()
        .map(|(i, (name, vars))| Task {
            name,
            bot: (i % bots.max(1)) as u16,
            variables: vars
                .iter()
                .zip(kinds)
                .map(|(&(name, display_name), kind)| TaskVariable {
                    name,
                    display_name,
                    kind,
                })
                .collect(),
        })
        .collect()
}

/// A log for every completed run of a task's bot, at the run's end, sorted by time.
pub(crate) fn task_logs(bots: usize, tasks: &[Task], runs: &[Run]) -> Vec<TaskLog> {
    let mut by_bot: Vec<Option<u16>> = vec![None; bots];
    for (i, t) in tasks.iter().enumerate() {
        by_bot[usize::from(t.bot)] = Some(i as u16);
    }
    let mut logs: Vec<TaskLog> = runs
        .iter()
        .filter(|r| r.outcome == Outcome::Completed)
        .filter_map(|r| {
            by_bot[usize::from(r.bot)].map(|task| TaskLog {
                time_ms: r.start_ms + i64::from(r.duration_ms),
                task,
            })
        })
        .collect();
    logs.sort_by_key(|l| l.time_ms);
    logs
}

/// The names audit events use for users: runners, admins, then strangers.
pub fn audit_users(runners: &[Runner]) -> Vec<String> {
    runners
        .iter()
        .map(|r| r.user_name.clone())
        .chain(ADMINS.iter().map(|s| s.to_string()))
        .chain(STRANGERS.iter().map(|s| s.to_string()))
        .collect()
}

/// A day's audit trail: each runner logs in once or twice (sometimes mistyping its
/// password first), admins deploy bots and now and then change someone's roles, and
/// strangers try to log in from unknown hosts.
pub(crate) fn audit_events(config: &SimConfig, runners: usize, bots: usize) -> Vec<AuditEvent> {
    let runners = runners as u16;
    let admins = ADMINS.len() as u16;
    let mut events = Vec::new();
    let start = config.start();
    for d in 0..config.days {
        let mut rng = Rng::stream(config.seed ^ SALT_AUDIT, u64::from(d));
        let day_ms = (start + Duration::days(i64::from(d)))
            .and_hms_opt(0, 0, 0)
            .expect("midnight exists")
            .and_utc()
            .timestamp_millis();
        let at = |rng: &mut Rng, from_h: u64, hours: u64| {
            day_ms + ((from_h * 3600 + rng.below(hours * 3600)) * 1000) as i64
        };
        for u in 0..runners {
            for _ in 0..1 + rng.below(2) {
                let t = at(&mut rng, 6, 10);
                if rng.chance(0.05) {
                    events.push(AuditEvent {
                        time_ms: t - 20_000,
                        kind: AuditKind::FailedLogin,
                        user: u,
                        object: 0,
                        host: u,
                    });
                }
                events.push(AuditEvent {
                    time_ms: t,
                    kind: AuditKind::Login,
                    user: u,
                    object: 0,
                    host: u,
                });
            }
        }
        for _ in 0..2 + rng.below(6) {
            events.push(AuditEvent {
                time_ms: at(&mut rng, 8, 9),
                kind: AuditKind::Deploy,
                user: runners + rng.below(u64::from(admins)) as u16,
                object: rng.below(bots as u64) as u16,
                host: runners + rng.below(2) as u16,
            });
        }
        if rng.chance(0.3) {
            events.push(AuditEvent {
                time_ms: at(&mut rng, 9, 8),
                kind: AuditKind::RoleChange,
                user: runners,
                object: rng.below(u64::from(runners)) as u16,
                host: runners,
            });
        }
        // A stranger's burst of failed logins, some days.
        if rng.chance(0.4) {
            let who = runners + admins + rng.below(STRANGERS.len() as u64) as u16;
            let host = runners + 2 + rng.below(3) as u16;
            let t = at(&mut rng, 0, 24);
            for k in 0..1 + rng.below(5) as i64 {
                events.push(AuditEvent {
                    time_ms: t + k * 7_000,
                    kind: AuditKind::FailedLogin,
                    user: who,
                    object: 0,
                    host,
                });
            }
        }
    }
    events.sort_by_key(|e| e.time_ms);
    events
}

pub(crate) fn host_name(runners: &[Runner], host: u16) -> String {
    let h = usize::from(host);
    if h < runners.len() {
        runners[h].host_name.clone()
    } else if h < runners.len() + 2 {
        format!("ADMIN-WS-{:02}", h - runners.len() + 1)
    } else {
        format!("UNKNOWN-{:03}", 100 + h)
    }
}

/// Milliseconds since the epoch as the RFC 3339 timestamps Control Rooms send.
pub fn rfc3339(ms: i64) -> String {
    DateTime::from_timestamp_millis(ms)
        .expect("timestamps of the simulation are in range")
        .to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// The KPI values of log number `index` (any stable number) of `task`, written at
/// `time_ms`, one per variable, as sent: decimals, counts, text and dates.
pub fn kpi_values(task: &Task, seed: u64, index: u64, time_ms: i64) -> Vec<String> {
    let mut rng = Rng::stream(seed ^ SALT_LOGS, index);
    task.variables
        .iter()
        .map(|v| match v.kind {
            VarKind::Decimal => {
                let cents = (100.0 * (4.0 + 1.2 * rng.normal()).exp()).round() as i64;
                format!("{}.{:02}", cents / 100, cents % 100)
            }
            VarKind::Count => (1 + rng.below(50)).to_string(),
            VarKind::Text => TEXTS[rng.below(TEXTS.len() as u64) as usize].to_string(),
            VarKind::Date => {
                let back = Duration::days(rng.below(5) as i64);
                (DateTime::from_timestamp_millis(time_ms).expect("in range") - back)
                    .format("%Y-%m-%d")
                    .to_string()
            }
        })
        .collect()
}
