//! What else a Control Room records besides runs: Bot Insight tasks with their KPI
//! variables and log records, and the audit trail (logins, deployments, role changes).
//!
//! Task logs are written when a run of an analytics-enabled bot completes, so a log's
//! `runDate` is its run's end and it becomes visible once the simulator's clock passes it.
//! Audit events happen through each day. Both are sorted by time and numbered in that
//! order, like runs.

use chrono::{DateTime, Duration, SecondsFormat};

use crate::data::{Dataset, Outcome};
use crate::rng::Rng;

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
const ROLES: [&str; 4] = [
    "AAE_Basic",
    "AAE_Bot Insight Admin",
    "Bot Runner",
    "AAE_Admin",
];
const SALT_LOGS: u64 = 0x7a5c_0000_0000_0001;
const SALT_AUDIT: u64 = 0x7a5c_0000_0000_0002;

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
pub(crate) fn task_logs(data: &Dataset) -> Vec<TaskLog> {
    let mut by_bot: Vec<Option<u16>> = vec![None; data.bots.len()];
    for (i, t) in data.tasks.iter().enumerate() {
        by_bot[usize::from(t.bot)] = Some(i as u16);
    }
    let mut logs: Vec<TaskLog> = data
        .runs
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
pub fn audit_users(data: &Dataset) -> Vec<String> {
    data.runners
        .iter()
        .map(|r| r.user_name.clone())
        .chain(ADMINS.iter().map(|s| s.to_string()))
        .chain(STRANGERS.iter().map(|s| s.to_string()))
        .collect()
}

/// A day's audit trail: each runner logs in once or twice (sometimes mistyping its
/// password first), admins deploy bots and now and then change someone's roles, and
/// strangers try to log in from unknown hosts.
pub(crate) fn audit_events(data: &Dataset) -> Vec<AuditEvent> {
    let config = &data.config;
    let runners = data.runners.len() as u16;
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
                object: rng.below(data.bots.len() as u64) as u16,
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

fn host_name(data: &Dataset, host: u16) -> String {
    let runners = data.runners.len();
    let h = usize::from(host);
    if h < runners {
        data.runners[h].host_name.clone()
    } else if h < runners + 2 {
        format!("ADMIN-WS-{:02}", h - runners + 1)
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

impl Dataset {
    /// The index range of task logs of `task` written in `[from_ms, to_ms)` and by `now_ms`.
    pub fn log_range(&self, from_ms: i64, to_ms: i64, now_ms: i64) -> std::ops::Range<usize> {
        time_range(&self.task_logs, |l| l.time_ms, from_ms, to_ms, now_ms)
    }

    /// The index range of audit events in `[from_ms, to_ms)` and by `now_ms`.
    pub fn audit_range(&self, from_ms: i64, to_ms: i64, now_ms: i64) -> std::ops::Range<usize> {
        time_range(&self.audit, |e| e.time_ms, from_ms, to_ms, now_ms)
    }

    /// The values of task log `index`, one per variable of its task, as sent.
    pub fn log_values(&self, index: usize) -> Vec<String> {
        let log = &self.task_logs[index];
        let task = &self.tasks[usize::from(log.task)];
        kpi_values(task, self.config.seed, index as u64, log.time_ms)
    }

    /// Audit event `index` as a client sees it.
    pub fn audit_view(&self, index: usize) -> AuditView {
        let e = &self.audit[index];
        let users = audit_users(self);
        let user = users[usize::from(e.user)].clone();
        let host_name = host_name(self, e.host);
        let mut rng = Rng::stream(self.config.seed ^ SALT_AUDIT, u64::MAX - index as u64);
        const ALPHABET: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
        let string_id: String = (0..20)
            .map(|_| char::from(ALPHABET[rng.below(ALPHABET.len() as u64) as usize]))
            .collect();
        let request_id = format!(
            "{:08x}-{:04x}-4{:03x}-a{:03x}-{:012x}",
            rng.next_u64() as u32,
            rng.below(0x10000),
            rng.below(0x1000),
            rng.below(0x1000),
            rng.next_u64() & 0xffff_ffff_ffff
        );
        let (status, description, object_name, detail, created_by) = match e.kind {
            AuditKind::Login => (
                "Successful",
                "User logged in".to_string(),
                user.clone(),
                format!("Login from {host_name}"),
                user.clone(),
            ),
            AuditKind::FailedLogin => (
                "Unsuccessful",
                "User login failed".to_string(),
                user.clone(),
                format!("Invalid credentials from {host_name}"),
                user.clone(),
            ),
            AuditKind::Deploy => {
                let bot = &self.bots[usize::from(e.object) % self.bots.len()].file_name;
                (
                    "Successful",
                    "Bot deployed".to_string(),
                    bot.clone(),
                    format!("Deployed {bot} to a Bot Runner"),
                    user.clone(),
                )
            }
            AuditKind::RoleChange => {
                let target = users[usize::from(e.object)].clone();
                let role = ROLES[usize::from(e.object) % ROLES.len()];
                (
                    "Successful",
                    "User roles updated".to_string(),
                    target.clone(),
                    format!("Role {role} assigned to {target}"),
                    user.clone(),
                )
            }
        };
        AuditView {
            id: index as i64 + 1,
            string_id,
            created_on: rfc3339(e.time_ms),
            time_ms: e.time_ms,
            activity_type: e.kind.activity_type(),
            status,
            user_name: user,
            created_by,
            host_name,
            event_description: description,
            object_name,
            detail,
            source: if e.kind == AuditKind::Deploy {
                "Control Room"
            } else {
                "Client"
            },
            request_id,
            environment_name: "Production",
        }
    }
}

fn time_range<T>(
    items: &[T],
    time: impl Fn(&T) -> i64,
    from_ms: i64,
    to_ms: i64,
    now_ms: i64,
) -> std::ops::Range<usize> {
    let to = to_ms.min(now_ms.saturating_add(1));
    let lo = items.partition_point(|x| time(x) < from_ms);
    let hi = items.partition_point(|x| time(x) < to).max(lo);
    lo..hi
}
