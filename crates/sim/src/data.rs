//! The synthetic Control Room: bots, runners and runs generated from a seed.
//!
//! Runs are generated day by day from a stream of the seed, sorted by start time and
//! numbered in that order, so the same configuration gives the same runs. What a client
//! sees depends on the simulator's clock (`now`): runs that have not started yet are
//! invisible and runs that have not ended yet are `IN_PROGRESS`, so moving the clock
//! forward turns in-progress runs into finished ones, as a real Control Room does.

use chrono::{DateTime, Datelike, Duration, Utc, Weekday};

use crate::activity::{
    self, AuditEvent, AuditKind, AuditView, ROLES, SALT_AUDIT, Task, TaskLog, audit_users,
    host_name, kpi_values, rfc3339,
};
use crate::rng::Rng;
pub use crate::world::{Bot, Outcome, Run, Runner, SimConfig};

/// A run as a client sees it at some clock time.
#[derive(Debug, Clone, Copy)]
pub struct RunView<'a> {
    /// The run's id (`id` in Bot Insight).
    pub id: i64,
    /// The run.
    pub run: &'a Run,
    /// Its bot.
    pub bot: &'a Bot,
    /// Its runner.
    pub runner: &'a Runner,
    /// `COMPLETED`, `FAILED`, `STOPPED` or `IN_PROGRESS`.
    pub status: &'static str,
    /// End in milliseconds since the epoch, once it has ended.
    pub end_ms: Option<i64>,
}

/// What a client should have after ingesting everything visible at a clock time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Truth {
    /// Number of visible runs.
    pub runs: u64,
    /// Sum of their ids.
    pub id_sum: i64,
    /// How many are in progress.
    pub in_progress: u64,
    /// How many failed.
    pub failed: u64,
}

/// What ingesting every visible task log must give.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct LogTruth {
    /// Number of visible logs.
    pub logs: u64,
    /// Sum of their ids.
    pub id_sum: i64,
    /// Per task, the sum of its count variable (the second one).
    pub count_sums: Vec<i64>,
}

/// What ingesting every visible audit event must give.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct AuditTruth {
    /// Number of visible events.
    pub events: u64,
    /// Sum of their v11 ids.
    pub id_sum: i64,
    /// How many are failed logins.
    pub failed_logins: u64,
}

/// A generated Control Room.
#[derive(Debug, Clone)]
pub struct Dataset {
    /// How it was generated.
    pub config: SimConfig,
    /// Its bots.
    pub bots: Vec<Bot>,
    /// Its runners.
    pub runners: Vec<Runner>,
    /// Every run, by start time; run `i` has id `i + 1`.
    pub runs: Vec<Run>,
    /// The analytics-enabled tasks.
    pub tasks: Vec<Task>,
    /// Every task log, by time; log `i` has id `i + 1`.
    pub task_logs: Vec<TaskLog>,
    /// For each task, the indices of its logs in [`Dataset::task_logs`], by time.
    pub logs_by_task: Vec<Vec<u32>>,
    /// The audit trail, by time; event `i` has v11 id `i + 1`.
    pub audit: Vec<AuditEvent>,
}

const DEPARTMENTS: [&str; 8] = [
    "Finance",
    "HR",
    "Procurement",
    "Claims",
    "IT Ops",
    "Sales",
    "Logistics",
    "Compliance",
];
const PROCESSES: [&str; 12] = [
    "Invoice Entry",
    "Vendor Onboarding",
    "Payroll Check",
    "Claim Intake",
    "Password Reset",
    "Order Sync",
    "Bank Reconciliation",
    "Report Export",
    "Email Triage",
    "KYC Review",
    "Price Update",
    "Shipment Tracking",
];
const FIRST_NAMES: [&str; 10] = [
    "Ana", "Ben", "Chen", "Dara", "Emil", "Fatima", "Goran", "Hana", "Ivo", "Jun",
];
const LAST_NAMES: [&str; 10] = [
    "Silva", "Okafor", "Nakamura", "Weber", "Haddad", "Novak", "Rossi", "Kaur", "Larsen", "Moreau",
];
/// Relative number of runs starting in each hour of the day (UTC).
const HOURLY: [f64; 24] = [
    1.0, 0.8, 0.8, 0.8, 1.0, 1.5, 3.0, 5.0, 7.0, 8.0, 8.0, 7.5, 6.0, 7.0, 8.0, 7.5, 6.5, 5.0, 3.5,
    2.5, 2.0, 1.5, 1.2, 1.0,
];

/// What decides a Control Room's runs: its bots and runners and their habits. Each day's
/// runs come from their own stream of the seed, so days can be generated one at a time
/// (and in any order) with the same result as all at once.
#[derive(Debug, Clone)]
pub struct RunPlan {
    /// How it was generated.
    pub config: SimConfig,
    /// Its bots.
    pub bots: Vec<Bot>,
    /// Its runners.
    pub runners: Vec<Runner>,
    cumulative: Vec<f64>,
    bot_runners: Vec<Vec<u16>>,
    spikes: Vec<(usize, u32)>,
    hourly_cumulative: Vec<f64>,
    counts: Vec<usize>,
}

impl RunPlan {
    /// The plan that `config` describes.
    pub fn new(config: SimConfig) -> RunPlan {
        let mut rng = Rng::new(config.seed);
        let bots: Vec<Bot> = (0..config.bots.max(1))
            .map(|i| {
                let copy = i / (DEPARTMENTS.len() * PROCESSES.len());
                let suffix = if copy == 0 {
                    String::new()
                } else {
                    format!(" {}", copy + 1)
                };
                // Most bots rarely fail; a few fail often (up to about 30 %).
                let failure_rate = 0.002 + 0.30 * rng.f64().powi(3);
                Bot {
                    file_name: format!(
                        "{}\\{}{suffix}.atmx",
                        DEPARTMENTS[i % DEPARTMENTS.len()],
                        PROCESSES[(i / DEPARTMENTS.len()) % PROCESSES.len()],
                    ),
                    failure_rate,
                    stop_rate: 0.005 + 0.02 * rng.f64(),
                    median_secs: (20f64.ln() + rng.f64() * (1800f64.ln() - 20f64.ln())).exp(),
                    lines: 20 + rng.below(2000) as u32,
                }
            })
            .collect();
        let runners: Vec<Runner> = (0..config.runners.max(1))
            .map(|i| {
                let first = FIRST_NAMES[i % FIRST_NAMES.len()];
                let last = LAST_NAMES[(i / FIRST_NAMES.len() + i) % LAST_NAMES.len()];
                let user_name = format!("runner{:02}", i + 1);
                Runner {
                    email: format!("{user_name}@example.com"),
                    user_name,
                    first_name: first.to_string(),
                    last_name: last.to_string(),
                    host_name: format!("BR-PROD-{:02}", i + 1),
                    ip_address: format!("10.20.{}.{}", i / 250, 10 + i % 250),
                }
            })
            .collect();

        // Popular bots run far more often than the rest (Zipf-like), in an order of the
        // seed's choosing rather than the order of their names.
        let mut ranks: Vec<usize> = (0..bots.len()).collect();
        for i in (1..ranks.len()).rev() {
            ranks.swap(i, rng.below(i as u64 + 1) as usize);
        }
        let mut cumulative = Vec::with_capacity(bots.len());
        let mut total = 0.0;
        for rank in &ranks {
            total += 1.0 / ((rank + 1) as f64).powf(0.8);
            cumulative.push(total);
        }
        // Each bot runs on a few runners of its own.
        let bot_runners: Vec<Vec<u16>> = (0..bots.len())
            .map(|_| {
                let n = 1 + rng.below(3.min(runners.len() as u64)) as usize;
                (0..n)
                    .map(|_| rng.below(runners.len() as u64) as u16)
                    .collect()
            })
            .collect();
        // A few failure spikes: a bot failing most of its runs for a day.
        let spikes: Vec<(usize, u32)> = (0..(config.days / 10).max(1))
            .map(|_| {
                (
                    rng.below(bots.len().min(10) as u64) as usize,
                    rng.below(u64::from(config.days)) as u32,
                )
            })
            .collect();

        let hourly_cumulative: Vec<f64> = HOURLY
            .iter()
            .scan(0.0, |s, w| {
                *s += w;
                Some(*s)
            })
            .collect();
        let start = config.start();
        let day_weights: Vec<f64> = (0..config.days)
            .map(|d| match (start + Duration::days(i64::from(d))).weekday() {
                Weekday::Sat | Weekday::Sun => 0.35,
                _ => 1.0,
            })
            .collect();
        let weight_sum: f64 = day_weights.iter().sum();
        let mut counts: Vec<usize> = day_weights
            .iter()
            .map(|w| (config.runs as f64 * w / weight_sum) as usize)
            .collect();
        // Flooring loses less than one run a day; the first days take the remainder.
        let missing = config.runs - counts.iter().sum::<usize>();
        for c in counts.iter_mut().take(missing) {
            *c += 1;
        }

        RunPlan {
            config,
            bots,
            runners,
            cumulative,
            bot_runners,
            spikes,
            hourly_cumulative,
            counts,
        }
    }

    /// The number of runs starting on day `d` (0 is [`SimConfig::start`]).
    pub fn runs_on(&self, d: usize) -> usize {
        self.counts[d]
    }

    /// The runs starting on day `d`, by start time.
    pub fn day(&self, d: usize) -> Vec<Run> {
        let (bots, cumulative) = (&self.bots, &self.cumulative);
        let mut rng = Rng::stream(self.config.seed, d as u64 + 1);
        let day_start_ms = (self.config.start() + Duration::days(d as i64))
            .and_hms_opt(0, 0, 0)
            .expect("midnight exists")
            .and_utc()
            .timestamp_millis();
        let mut runs = Vec::with_capacity(self.counts[d]);
        for _ in 0..self.counts[d] {
            let b = rng.weighted(cumulative);
            let bot = &bots[b];
            let choices = &self.bot_runners[b];
            let runner = choices[rng.below(choices.len() as u64) as usize];
            let hour = rng.weighted(&self.hourly_cumulative) as i64;
            let start_ms = day_start_ms + hour * 3_600_000 + rng.below(3_600_000) as i64;
            let mut secs = bot.median_secs * (0.5 * rng.normal()).exp();
            if rng.chance(0.03) {
                // The long tail: a run that waits on a slow application.
                secs *= 3.0 + 20.0 * rng.f64();
            }
            let spike = self
                .spikes
                .iter()
                .any(|&(sb, sd)| sb == b && sd as usize == d);
            let failure_rate = if spike { 0.7 } else { bot.failure_rate };
            let roll = rng.f64();
            let outcome = if roll < 0.001 {
                Outcome::Stuck
            } else if roll < 0.001 + failure_rate {
                Outcome::Failed
            } else if roll < 0.001 + failure_rate + bot.stop_rate {
                Outcome::Stopped
            } else {
                Outcome::Completed
            };
            let mut lines = bot.lines;
            if matches!(outcome, Outcome::Failed | Outcome::Stopped) {
                let part = 0.1 + 0.8 * rng.f64();
                secs *= part;
                lines = (f64::from(lines) * part) as u32;
            }
            let duration_ms = (secs * 1000.0).clamp(1000.0, 20.0 * 3_600_000.0) as u32;
            runs.push(Run {
                start_ms,
                duration_ms,
                bot: b as u16,
                runner,
                outcome,
                lines,
            });
        }
        runs.sort_by_key(|r| r.start_ms);
        runs
    }
}

impl Dataset {
    /// Generates the Control Room that `config` describes.
    pub fn generate(config: SimConfig) -> Dataset {
        let plan = RunPlan::new(config);
        let mut runs = Vec::with_capacity(plan.config.runs);
        for d in 0..plan.counts.len() {
            runs.extend(plan.day(d));
        }
        let RunPlan {
            config,
            bots,
            runners,
            ..
        } = plan;
        let tasks = activity::tasks(bots.len());
        let mut data = Dataset {
            config,
            bots,
            runners,
            runs,
            tasks,
            task_logs: Vec::new(),
            logs_by_task: Vec::new(),
            audit: Vec::new(),
        };
        data.task_logs = activity::task_logs(data.bots.len(), &data.tasks, &data.runs);
        data.logs_by_task = vec![Vec::new(); data.tasks.len()];
        for (i, log) in data.task_logs.iter().enumerate() {
            data.logs_by_task[usize::from(log.task)].push(i as u32);
        }
        data.audit = activity::audit_events(&data.config, data.runners.len(), data.bots.len());
        data
    }

    /// The index range of runs starting in `[from_ms, to_ms)` and before `now_ms`.
    pub fn range(&self, from_ms: i64, to_ms: i64, now_ms: i64) -> std::ops::Range<usize> {
        let to = to_ms.min(now_ms);
        let lo = self.runs.partition_point(|r| r.start_ms < from_ms);
        let hi = self.runs.partition_point(|r| r.start_ms < to).max(lo);
        lo..hi
    }

    /// Run `index` as a client sees it at `now_ms`.
    pub fn view(&self, index: usize, now_ms: i64) -> RunView<'_> {
        let run = &self.runs[index];
        let (status, end_ms) = run.status_at(now_ms);
        RunView {
            id: index as i64 + 1,
            run,
            bot: &self.bots[usize::from(run.bot)],
            runner: &self.runners[usize::from(run.runner)],
            status,
            end_ms,
        }
    }

    /// What ingesting every run visible at `now_ms` must give.
    pub fn truth(&self, now_ms: i64) -> Truth {
        let mut truth = Truth::default();
        for i in self.range(i64::MIN, i64::MAX, now_ms) {
            let v = self.view(i, now_ms);
            truth.runs += 1;
            truth.id_sum += v.id;
            truth.in_progress += u64::from(v.status == "IN_PROGRESS");
            truth.failed += u64::from(v.status == "FAILED");
        }
        truth
    }

    /// What ingesting every task log visible at `now_ms` must give: logs, the sum of
    /// their ids, and per task the sum of its count variable.
    pub fn log_truth(&self, now_ms: i64) -> LogTruth {
        let mut truth = LogTruth {
            count_sums: vec![0; self.tasks.len()],
            ..LogTruth::default()
        };
        for i in self.log_range(i64::MIN, i64::MAX, now_ms) {
            truth.logs += 1;
            truth.id_sum += i as i64 + 1;
            let task = usize::from(self.task_logs[i].task);
            truth.count_sums[task] += self.log_values(i)[1].parse::<i64>().expect("a count");
        }
        truth
    }

    /// What ingesting every audit event visible at `now_ms` must give.
    pub fn audit_truth(&self, now_ms: i64) -> AuditTruth {
        let mut truth = AuditTruth::default();
        for i in self.audit_range(i64::MIN, i64::MAX, now_ms) {
            truth.events += 1;
            truth.id_sum += i as i64 + 1;
            truth.failed_logins +=
                u64::from(self.audit[i].kind == activity::AuditKind::FailedLogin);
        }
        truth
    }

    /// The end of the date range as a clock time: every run has started by then.
    pub fn end_time(&self) -> DateTime<Utc> {
        self.config
            .end
            .and_hms_opt(0, 0, 0)
            .expect("midnight exists")
            .and_utc()
    }
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
        let users = audit_users(&self.runners);
        let user = users[usize::from(e.user)].clone();
        let host_name = host_name(&self.runners, e.host);
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

#[cfg(test)]
mod tests {
    use chrono::NaiveDate;

    use super::*;

    fn small() -> Dataset {
        Dataset::generate(SimConfig::new(
            42,
            5000,
            NaiveDate::from_ymd_opt(2026, 11, 1).unwrap(),
        ))
    }

    #[test]
    fn generation_is_deterministic_and_sorted() {
        let (a, b) = (small(), small());
        assert_eq!(a.runs.len(), 5000);
        assert!(a.runs.windows(2).all(|w| w[0].start_ms <= w[1].start_ms));
        let now = a.end_time().timestamp_millis();
        assert_eq!(a.truth(now), b.truth(now));
    }

    #[test]
    fn failure_rates_and_statuses_are_realistic() {
        let d = small();
        let now = d.end_time().timestamp_millis();
        let t = d.truth(now);
        let rate = t.failed as f64 / t.runs as f64;
        assert!((0.01..0.30).contains(&rate), "overall failure rate {rate}");
        assert!(t.in_progress > 0, "some runs are still in progress");
        assert!(d.bots.iter().all(|b| b.failure_rate <= 0.31));
    }

    #[test]
    fn moving_the_clock_finishes_runs() {
        let d = small();
        let end = d.end_time().timestamp_millis();
        let earlier = d.truth(end - 6 * 3_600_000);
        let later = d.truth(end);
        assert!(later.runs > earlier.runs);
        assert!(later.in_progress < earlier.in_progress + (later.runs - earlier.runs));
    }
}
