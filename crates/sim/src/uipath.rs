//! A simulated UiPath Orchestrator tenant's real-time event stream, as Insights exports it:
//! jobs (Pending → Running → Successful, Faulted or Stopped), queue items with retries and
//! both exception types, machine sessions, robot logs with custom fields, and a few event
//! types botlake has no table for. Every event is one JSON line in the export's envelope
//! (`body` plus Event Hubs metadata), sorted by time.

use chrono::{DateTime, Duration, NaiveDate, SecondsFormat, Utc};
use serde_json::{Value, json};

use crate::rng::Rng;

/// How to generate a tenant's events.
#[derive(Debug, Clone)]
pub struct UipathConfig {
    /// Everything random derives from this.
    pub seed: u64,
    /// Jobs over the whole date range.
    pub jobs: usize,
    /// Days the jobs span.
    pub days: u32,
    /// The day after the last day of jobs.
    pub end: NaiveDate,
    /// The tenant's name.
    pub tenant: String,
}

impl UipathConfig {
    /// `jobs` jobs over the 30 days before `end`, for tenant `AcmeCorp`.
    pub fn new(seed: u64, jobs: usize, end: NaiveDate) -> UipathConfig {
        UipathConfig {
            seed,
            jobs,
            days: 30,
            end,
            tenant: "AcmeCorp".into(),
        }
    }
}

/// The events, and how many there are of each kind.
#[derive(Debug, Clone, Default)]
pub struct UipathEvents {
    /// One JSON object per event, sorted by `Timestamp`.
    pub lines: Vec<String>,
    /// Events per table: job, queue item, machine, robot log, other.
    pub counts: [u64; 5],
    /// Jobs in a final state (Successful, Faulted, Stopped) at the clock.
    pub finished_jobs: u64,
    /// Jobs not finished at the clock: pending or running.
    pub running_jobs: u64,
    /// Of them, faulted.
    pub faulted_jobs: u64,
}

const PROCESSES: [(&str, &str); 6] = [
    ("InvoiceProcessing", "Finance"),
    ("VendorMasterUpdate", "Finance"),
    ("EmployeeOnboarding", "HR/Onboarding"),
    ("ClaimsTriage", "Claims"),
    ("OrderToCash", "Finance"),
    ("PasswordReset", "IT"),
];
const REASONS_APP: [&str; 3] = [
    "Selector not found: Save button",
    "Timeout waiting for SAP login",
    "Null reference in ReadInvoice",
];
const REASONS_BIZ: [&str; 3] = [
    "Invoice amount exceeds approval limit",
    "Vendor not found in master data",
    "Duplicate claim",
];

/// The events up to the clock: later ones have not happened yet.
struct Emitter {
    events: Vec<(i64, u8, Value)>,
    counts: [u64; 5],
    clock_ms: i64,
}

impl Emitter {
    /// Emits the event if it happened by the clock; whether it did.
    fn push(&mut self, at_ms: i64, table: u8, body: Value) -> bool {
        if at_ms > self.clock_ms {
            return false;
        }
        self.counts[usize::from(table)] += 1;
        self.events.push((at_ms, table, body));
        true
    }
}

fn iso(ms: i64) -> String {
    DateTime::<Utc>::from_timestamp_millis(ms)
        .expect("times of the simulation are in range")
        .to_rfc3339_opts(SecondsFormat::Millis, true)
}

fn guid(rng: &mut Rng) -> String {
    format!(
        "{:08x}-{:04x}-4{:03x}-a{:03x}-{:012x}",
        rng.next_u64() as u32,
        rng.below(0x10000),
        rng.below(0x1000),
        rng.below(0x1000),
        rng.next_u64() & 0xffff_ffff_ffff
    )
}

/// A folder: its path and key.
type Folder = (String, String);

/// The tenant's fixed parts, and how its events begin.
struct Tenant<'a> {
    config: &'a UipathConfig,
    key: String,
    folders: Vec<Folder>,
    /// Name, key, id.
    machines: Vec<(String, String, i64)>,
    /// Name, and the index of its machine.
    robots: Vec<(String, usize)>,
    /// Per process: the queue's name, key, id and SLA in minutes.
    queues: Vec<(String, String, i64, i64)>,
}

impl Tenant<'_> {
    fn new(config: &UipathConfig) -> Tenant<'_> {
        let mut rng = Rng::stream(config.seed, 0x0051_9a7f);
        let key = guid(&mut rng);
        let folders = ["Finance", "HR/Onboarding", "Claims", "IT"]
            .iter()
            .map(|f| (f.to_string(), guid(&mut rng)))
            .collect();
        let machines: Vec<(String, String, i64)> = (0..4)
            .map(|i| (format!("UIP-VM-{:02}", i + 1), guid(&mut rng), 100 + i))
            .collect();
        let robots = (0..6)
            .map(|i| (format!("robot-{:02}", i + 1), i % machines.len()))
            .collect();
        let queues = PROCESSES
            .iter()
            .enumerate()
            .map(|(i, (p, _))| {
                let sla = [0, 60, 240, 30, 0, 15][i];
                (format!("{p}Queue"), guid(&mut rng), 10 + i as i64, sla)
            })
            .collect();
        Tenant {
            config,
            key,
            folders,
            machines,
            robots,
            queues,
        }
    }

    /// `body` with the fields every event has: an event of `event_type` at `at` in
    /// `folder`.
    fn event(&self, body: Value, event_type: &str, at: i64, folder: &Folder) -> Value {
        let common = json!({
            "EventType": event_type,
            "SchemaVersion": "0.0.1",
            "Timestamp": iso(at),
            "TenantKey": self.key,
            "TenantName": self.config.tenant,
            "FolderName": folder.0.rsplit('/').next().unwrap_or(&folder.0),
            "FullFolderPath": folder.0,
            "FolderKey": folder.1,
        });
        with(body, common)
    }
}

/// `base` with the properties of `extra` added.
fn with(mut base: Value, extra: Value) -> Value {
    if let (Some(b), Value::Object(e)) = (base.as_object_mut(), extra) {
        b.extend(e);
    }
    base
}

/// Generates the event stream `config` describes.
pub fn generate(config: &UipathConfig) -> UipathEvents {
    let tenant = Tenant::new(config);
    let start = config.end - Duration::days(i64::from(config.days));
    // The simulation's clock: the end of its last day. Jobs still going then are running.
    let clock_ms = config
        .end
        .and_hms_opt(0, 0, 0)
        .expect("midnight")
        .and_utc()
        .timestamp_millis();
    let mut out = Emitter {
        events: Vec::new(),
        counts: [0; 5],
        clock_ms,
    };
    let start_ms = start
        .and_hms_opt(0, 0, 0)
        .expect("midnight")
        .and_utc()
        .timestamp_millis();
    let span_ms = i64::from(config.days) * 86_400_000;
    let (mut finished, mut faulted) = (0, 0);
    let mut item_seq = 0i64;
    // The last jobs, one in 500 and at least one, are created in the 9 seconds before the
    // clock, less than any job takes: they are pending or running then, as some jobs are
    // whenever one looks.
    let late_jobs = (config.jobs / 500).max(1);
    for j in 0..config.jobs {
        let mut rng = Rng::keyed(config.seed ^ 0x0051_9a7f, j as u64 + 1);
        let created = |rng: &mut Rng| {
            if j + late_jobs >= config.jobs {
                clock_ms - rng.below(9_000) as i64
            } else {
                start_ms + rng.below(span_ms as u64) as i64
            }
        };
        if let Some(state) = emit_job(&tenant, &mut out, &mut rng, j, created, &mut item_seq) {
            finished += 1;
            faulted += u64::from(state == "Faulted");
        }
    }
    emit_machines(&tenant, &mut out, start_ms, span_ms);
    out.events.sort_by_key(|e| e.0);
    UipathEvents {
        lines: envelopes(out.events, config.seed),
        counts: out.counts,
        finished_jobs: finished,
        running_jobs: config.jobs as u64 - finished,
        faulted_jobs: faulted,
    }
}

/// What a job's queue items and logs need of it.
struct JobOf<'a> {
    /// Its number, from 0.
    number: usize,
    key: &'a str,
    process: &'a str,
    folder: &'a Folder,
    robot: &'a str,
    /// Name, key, id.
    machine: &'a (String, String, i64),
    created: i64,
}

impl JobOf<'_> {
    /// A robot log of this job's robot at `at`, with the fields of `extra`.
    fn log(&self, at: i64, message: &str, extra: Value) -> Value {
        let (robot, machine, job_key) = (self.robot, self.machine, self.key);
        let robot_log = json!({
            "message": message, "level": "Information", "logType": "Default",
            "timeStamp": iso(at), "fingerprint": format!("{job_key}-{at}-{message}"),
            "windowsIdentity": format!("ACME\\{robot}"), "machineName": machine.0,
            "fileName": "Main", "initiatedBy": "Orchestrator", "processName": self.process,
            "processVersion": "1.0.6", "jobId": job_key, "robotName": robot,
            "machineId": machine.2, "organizationUnitId": 7,
        });
        json!({ "Level": "Info", "MachineKey": machine.1, "RobotLog": with(robot_log, extra) })
    }
}

/// Emits job `j`'s events (created at the time `created` draws) with its queue items and
/// logs, numbering items on from `item_seq`; its final state, if it ended by the clock.
fn emit_job(
    tenant: &Tenant<'_>,
    out: &mut Emitter,
    rng: &mut Rng,
    j: usize,
    created: impl FnOnce(&mut Rng) -> i64,
    item_seq: &mut i64,
) -> Option<&'static str> {
    let p = rng.below(PROCESSES.len() as u64) as usize;
    let (process, folder_name) = PROCESSES[p];
    let folders = &tenant.folders;
    let folder = folders
        .iter()
        .find(|f| f.0 == folder_name)
        .unwrap_or(&folders[0]);
    let (robot, m) = &tenant.robots[rng.below(tenant.robots.len() as u64) as usize];
    let machine = &tenant.machines[*m];
    let created = created(rng);
    let started = created + 2_000 + rng.below(180_000) as i64;
    let items = 1 + rng.below(4) as usize;
    let roll = rng.f64();
    let (state, final_type) = if roll < 0.08 {
        ("Faulted", "job.faulted")
    } else if roll < 0.11 {
        ("Stopped", "job.stopped")
    } else {
        ("Successful", "job.completed")
    };
    let job_key = guid(rng);
    let job = |state: &str, start: Option<i64>, end: Option<i64>, creation: Option<i64>| {
        json!({ "Job": {
            "Key": job_key, "CreationTime": creation.map(iso), "State": state,
            "StartTime": start.map(iso), "EndTime": end.map(iso), "ProcessName": process,
            "DisplayName": process.to_string() + "_" + &folder.0.replace('/', "_"),
            "RobotName": robot, "HostMachineName": machine.0,
        }})
    };
    let of = JobOf {
        number: j,
        key: &job_key,
        process,
        folder,
        robot,
        machine,
        created,
    };
    let pending = job("Pending", None, None, Some(created));
    out.push(
        created,
        0,
        tenant.event(pending, "job.created", created, folder),
    );
    let running = job("Running", Some(started), None, None);
    out.push(
        started,
        0,
        tenant.event(running, "job.started", started, folder),
    );
    let log = of.log(started + 500, "execution started", json!({}));
    out.push(
        started + 500,
        3,
        tenant.event(log, "robotlog", started + 500, folder),
    );
    let mut t = started + 1_000;
    for _ in 0..items {
        *item_seq += 1;
        t = emit_queue_item(tenant, out, rng, &of, &tenant.queues[p], *item_seq, t);
    }
    let end = t + 500;
    let took = json!({ "totalExecutionTimeInSeconds": (end - started) as f64 / 1000.0 });
    let log = of.log(end, "execution ended", took);
    out.push(end, 3, tenant.event(log, "robotlog", end, folder));
    let last = job(state, Some(started), Some(end), Some(created));
    let ended = out.push(
        end + 20,
        0,
        tenant.event(last, final_type, end + 20, folder),
    );
    ended.then_some(state)
}

/// Emits the events of one queue item of job `of` in `queue` (name, key, id, SLA), the
/// `item_seq`-th, whose first attempt starts at `t`: its attempts, retries and logs. Where
/// the job's time stands after it.
fn emit_queue_item(
    tenant: &Tenant<'_>,
    out: &mut Emitter,
    rng: &mut Rng,
    of: &JobOf<'_>,
    (queue, queue_key, queue_id, sla): &(String, String, i64, i64),
    item_seq: i64,
    mut t: i64,
) -> i64 {
    let process = of.process;
    let folder = of.folder;
    let queue_json = json!({
        "Key": queue_key, "Name": queue, "Description": format!("Work items of {process}"),
        "MaxNumberOfRetries": 2, "EnforceUniqueReference": false,
        "SlaInMinutes": sla, "RiskSlaInMinutes": sla / 2,
    });
    let item_key = guid(rng);
    let added = of.created - rng.below(7_200_000) as i64;
    let due = rng
        .chance(0.4)
        .then(|| added + 3_600_000 + rng.below(14_400_000) as i64);
    let priority = ["High", "Normal", "Normal", "Low"][rng.below(4) as usize];
    let item = |status: &str,
                retry: i64,
                start: Option<i64>,
                end: Option<i64>,
                exc: Option<(&str, &str)>| {
        json!({
            "QueueItem": {
                "Key": item_key, "QueueDefinitionId": queue_id, "Status": status,
                "ReviewStatus": "None", "DueDate": due.map(iso), "Priority": priority,
                "CreationTime": iso(added), "StartProcessing": start.map(iso),
                "EndProcessing": end.map(iso), "DefferDate": null,
                "SecondsInPreviousAttempt": 0, "RetryNumber": retry,
                "Progress": if end.is_some() { "Done" } else { "Reading input" },
                "AnalyticsData": { "Amount": 100 + (item_seq % 900), "Region": "EMEA" },
                "Output": if status == "Successful" { json!({ "Reference": format!("DOC-{item_seq}") }) } else { Value::Null },
                "SpecificData": { "InvoiceNo": format!("INV-{item_seq:06}") },
                "CreatorJobId": null, "ExecutorJobId": 1000 + of.number as i64,
                "ProcessExceptionReason": exc.map(|e| e.1),
                "ProcessExceptionDetails": exc.map(|e| format!("at Main.xaml: {}", e.1)),
                "ProcessExceptionType": exc.map_or("None", |e| e.0),
            },
            "Queue": queue_json,
        })
    };
    let new = item("New", 0, None, None, None);
    out.push(
        added,
        1,
        tenant.event(new, "queueitem.added", added, folder),
    );
    let mut retry = 0;
    loop {
        let begin = t;
        let end = begin + 5_000 + rng.below(240_000) as i64;
        let started = item("InProgress", retry, Some(begin), None, None);
        let started = tenant.event(started, "queueItem.transactionStarted", begin, folder);
        out.push(begin, 1, started);
        let r = rng.f64();
        let outcome = if r < 0.07 {
            Some(("ApplicationException", REASONS_APP[rng.below(3) as usize]))
        } else if r < 0.13 {
            Some(("BusinessException", REASONS_BIZ[rng.below(3) as usize]))
        } else {
            None
        };
        let (status, event) = match outcome {
            None => ("Successful", "queueItem.transactionCompleted"),
            Some(_) => ("Failed", "queueItem.transactionFailed"),
        };
        let ended = item(status, retry, Some(begin), Some(end), outcome);
        out.push(end, 1, tenant.event(ended, event, end, folder));
        let (tx_status, exc_type, reason) = match outcome {
            None => ("Successful", "", ""),
            Some((kind, reason)) => (kind, kind, reason),
        };
        let log = of.log(
            end + 10,
            "Transaction Ended",
            json!({
                "transactionExecutionTime": (end - begin) as f64 / 1000.0,
                "queueItemPriority": priority, "processingExceptionReason": reason,
                "transactionStatus": tx_status, "queueName": queue,
                "transactionState": "Ended", "processingExceptionType": exc_type,
                "transactionId": item_key, "queueItemReviewStatus": "None",
                "CustomFields": { "InvoiceNo": format!("INV-{item_seq:06}"), "Attempt": retry + 1 },
            }),
        );
        out.push(end + 10, 3, tenant.event(log, "robotlog", end + 10, folder));
        t = end + 1_000;
        // Application exceptions are retried (twice at most); business ones are not.
        if matches!(outcome, Some(("ApplicationException", _))) && retry < 2 {
            retry += 1;
            let retried = item("Retried", retry, None, None, None);
            out.push(
                t,
                1,
                tenant.event(retried, "queueItem.transactionRetried", t, folder),
            );
            t += 1_000;
            continue;
        }
        if outcome.is_some() && retry >= 2 && rng.chance(0.5) {
            let abandoned = item("Abandoned", retry, None, None, None);
            let abandoned = tenant.event(abandoned, "queueItem.transactionAbandoned", t, folder);
            out.push(t, 1, abandoned);
            t += 500;
        }
        return t;
    }
}

/// Emits machine sessions every few hours over the `span_ms` from `start_ms`, and a few
/// configuration changes.
fn emit_machines(tenant: &Tenant<'_>, out: &mut Emitter, start_ms: i64, span_ms: i64) {
    let folder = &tenant.folders[0];
    for (i, machine) in tenant.machines.iter().enumerate() {
        let mut rng = Rng::stream(tenant.config.seed ^ 0x3ac1, i as u64);
        let mut at = start_ms + rng.below(3_600_000) as i64;
        while at < start_ms + span_ms {
            let status = ["Available", "Busy", "Busy", "Disconnected"][rng.below(4) as usize];
            let session = json!({ "MachineSession": {
                "MachineKey": machine.1, "MachineName": machine.0, "MachineId": machine.2,
                "HostMachineName": machine.0, "ServiceUsername": "ACME\\svc-robot",
                "MachineStatus": status, "ReportingTime": iso(at), "IsUnresponsive": status == "Disconnected",
            }});
            out.push(
                at,
                2,
                tenant.event(session, "machineSession.status", at, folder),
            );
            at += 3_600_000 * (2 + rng.below(6) as i64);
        }
        let at = start_ms + rng.below(span_ms as u64) as i64;
        let updated = json!({ "Machine": {
            "MachineName": machine.0, "MachineKey": machine.1, "NonProductionSlots": 0,
            "HeadlessSlots": 0, "AutomationCloudSlots": 0, "UnattendedSlots": 2,
        }});
        out.push(at, 2, tenant.event(updated, "machine.updated", at, folder));
        let assigned = json!({ "MachineAssign": {
            "MachineKey": machine.1, "MachineName": machine.0,
        }});
        let assigned = tenant.event(assigned, "machine.assign", at + 1_000, folder);
        out.push(at + 1_000, 2, assigned);
        // An event type botlake has no table for.
        let asset =
            json!({ "Asset": { "Name": format!("Credential-{i}"), "ValueType": "Credential" } });
        out.push(
            at + 2_000,
            4,
            tenant.event(asset, "asset.updated", at + 2_000, folder),
        );
    }
}

/// Each event (sorted by time) in the export's envelope, as a JSON line.
fn envelopes(events: Vec<(i64, u8, Value)>, seed: u64) -> Vec<String> {
    let mut rng = Rng::stream(seed, 0xe4e7);
    events
        .into_iter()
        .enumerate()
        .map(|(seq, (at, _, body))| {
            json!({
                "body": body,
                "x-opt-sequence-number": seq,
                "x-opt-offset": (seq * 1024).to_string(),
                "x-opt-enqueued-time": at + 50 + rng.below(500) as i64,
                "Diagnostic-Id": format!("00-{:032x}-{:016x}-01", rng.next_u64() as u128 * 3, rng.next_u64()),
            })
            .to_string()
        })
        .collect()
}

/// Posts `lines` to the HEC endpoint at `url` (`.../services/collector/event`) in requests
/// of `batch` events, as UiPath's export to Splunk does; returns the events acknowledged.
/// A refused request (busy, or any error answer) is retried after a pause, up to 20 times.
pub async fn push_hec(
    url: &str,
    token: &str,
    lines: &[String],
    batch: usize,
) -> Result<u64, String> {
    let http = reqwest::Client::new();
    let mut acked = 0;
    for chunk in lines.chunks(batch.max(1)) {
        let body: String = chunk.iter().map(|l| format!("{{\"event\":{l}}}")).collect();
        let mut attempt = 0;
        loop {
            attempt += 1;
            let sent = http
                .post(url)
                .header("Authorization", format!("Splunk {token}"))
                .body(body.clone())
                .send()
                .await;
            let answer = match sent {
                Ok(r) => (r.status().as_u16(), r.text().await.unwrap_or_default()),
                Err(e) => (0, e.to_string()),
            };
            if answer.0 == 200 {
                acked += chunk.len() as u64;
                break;
            }
            if attempt >= 20 || answer.0 == 401 || answer.0 == 403 || answer.0 == 400 {
                return Err(format!("{url} answered {}: {}", answer.0, answer.1));
            }
            tokio::time::sleep(std::time::Duration::from_millis(250 * attempt)).await;
        }
    }
    Ok(acked)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn streams_are_deterministic_sorted_and_counted() {
        let config = UipathConfig::new(7, 50, NaiveDate::from_ymd_opt(2026, 11, 1).unwrap());
        let a = generate(&config);
        let b = generate(&config);
        assert_eq!(a.lines, b.lines);
        assert_eq!(a.counts.iter().sum::<u64>(), a.lines.len() as u64);
        // Three events per finished job, one or two per job still running at the clock.
        assert_eq!(a.finished_jobs + a.running_jobs, 50);
        assert!(a.running_jobs >= 1, "a job is still running at the clock");
        let running_events = a.counts[0] - 3 * a.finished_jobs;
        assert!((a.running_jobs..=2 * a.running_jobs).contains(&running_events));
        assert!(a.counts[4] > 0);
        let times: Vec<String> = a
            .lines
            .iter()
            .map(|l| {
                let v: Value = serde_json::from_str(l).unwrap();
                v["body"]["Timestamp"].as_str().unwrap().to_string()
            })
            .collect();
        assert!(times.windows(2).all(|w| w[0] <= w[1]));
        let all = a.lines.join("\n");
        assert!(all.contains("BusinessException") && all.contains("ApplicationException"));
        assert!(all.contains("queueItem.transactionRetried"));
        // Nothing happens after the clock.
        assert!(times.last().unwrap().as_str() < "2026-11-01T00:00:00.001Z");
    }

    // Regression (issue 29, 8): the jobs' random streams overlapped, so queue items of
    // different jobs had the same key, and queue_sla showed an item created long before
    // its job. Every key is one job's, or one queue item's of one job.
    #[test]
    fn keys_are_unique() {
        // The seed whose job streams were one stream shifted draw by draw, and another.
        for seed in [0x0051_9a7f, 42] {
            let day = NaiveDate::from_ymd_opt(2026, 11, 1).unwrap();
            let events = generate(&UipathConfig::new(seed, 1500, day));
            let mut job_of_item: std::collections::HashMap<String, i64> = Default::default();
            let mut jobs = std::collections::HashSet::new();
            for line in &events.lines {
                let v: Value = serde_json::from_str(line).unwrap();
                let body = &v["body"];
                if let Some(key) = body["Job"]["Key"].as_str()
                    && body["EventType"] == "job.created"
                {
                    assert!(jobs.insert(key.to_string()), "job key {key} twice");
                }
                if let Some(key) = body["QueueItem"]["Key"].as_str() {
                    let job = body["QueueItem"]["ExecutorJobId"].as_i64().unwrap();
                    let first = *job_of_item.entry(key.to_string()).or_insert(job);
                    assert_eq!(first, job, "queue item {key} of two jobs");
                    assert!(!jobs.contains(key), "{key} is a job's key and an item's");
                }
            }
            assert_eq!(jobs.len(), 1500);
        }
    }
}
