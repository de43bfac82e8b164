//! `botlake sim gen`: a large simulated lake written straight to Parquet, for benchmarks.
//!
//! Runs come day by day from the simulator's run plan (the runs `sim serve` would serve
//! for the same configuration, in the same order and with the same ids) and go through the
//! ingest crate's own builders, so the rows are what an ingest over HTTP would have
//! written. One thread generates the next chunk of days while the other encodes and
//! commits the last; a chunk is at most `--commit-rows` runs, so memory stays bounded
//! whatever the volume.

use std::process::ExitCode;
use std::sync::Arc;
use std::time::Instant;

use anyhow::{Context, Result};
use botlake_ingest::aa::records::{
    AuditApi, AuditBatchBuilder, TaskLogBatchBuilder, TaskMetadata, TaskVariable, metadata_batch,
};
use botlake_ingest::aa::runs::{Rows, RunBatchBuilder, RunRow};
use botlake_lake::catalog::{
    AA_AUDIT_EVENTS, AA_BOT_RUNS, AA_TASK_LOGS, AA_TASK_METADATA, UIPATH_JOB_EVENTS,
};
use botlake_lake::{Lake, TableDef};
use botlake_sim::activity::{Task, kpi_values, rfc3339};
use botlake_sim::{Dataset, RunPlan, SimConfig};
use chrono::{DateTime, Utc};
use datafusion::arrow::array::RecordBatch;
use serde_json::value::{RawValue, to_raw_value};

use super::Globals;
use crate::UserError;
use crate::args::SimGenArgs;

/// The days `first..=last` (indices into the plan) of runs and their task logs.
struct Chunk {
    first: usize,
    last: usize,
    runs: RecordBatch,
    logs: Vec<RecordBatch>,
}

/// Generates the lake `args` describes.
pub async fn run(g: &Globals, args: SimGenArgs) -> Result<ExitCode> {
    let lake = g.lake()?;
    let tables: [&TableDef; 5] = [
        &AA_BOT_RUNS,
        &AA_TASK_LOGS,
        &AA_TASK_METADATA,
        &AA_AUDIT_EVENTS,
        &UIPATH_JOB_EVENTS,
    ];
    for t in tables {
        if lake.version(t).await?.is_some() {
            return Err(UserError(format!(
                "the lake already has table {}; sim gen only writes new lakes (its rows are \
                 appended without a key check), so give it an empty --lake",
                t.name
            ))
            .into());
        }
    }
    if args.commit_rows == 0 {
        return Err(UserError("--commit-rows must be at least 1".into()).into());
    }
    let config = args.plan.config();
    let end = config.end;
    let ingested_at = Utc::now();
    let started = Instant::now();
    let plan = Arc::new(RunPlan::new(config.clone()));
    g.info(format!(
        "generating {} runs of {} bots on {} runners, {} to {}, into {}",
        config.runs,
        plan.bots.len(),
        plan.runners.len(),
        config.start(),
        config.end,
        lake.url()
    ));

    let (tx, mut rx) = tokio::sync::mpsc::channel::<Chunk>(1);
    let producer = {
        let plan = plan.clone();
        let control_room = args.control_room.clone();
        let commit_rows = args.commit_rows;
        tokio::task::spawn_blocking(move || {
            produce(&plan, &control_room, commit_rows, ingested_at, &tx)
        })
    };
    let (mut runs, mut logs) = (0u64, 0u64);
    let mut consumed: Result<()> = Ok(());
    while let Some(chunk) = rx.recv().await {
        let step = async {
            lake.append(&AA_BOT_RUNS, vec![chunk.runs.clone()]).await?;
            if !chunk.logs.is_empty() {
                lake.append(&AA_TASK_LOGS, chunk.logs.clone()).await?;
            }
            anyhow::Ok(())
        };
        if let Err(e) = step.await {
            consumed = Err(e);
            break;
        }
        runs += chunk.runs.num_rows() as u64;
        logs += chunk.logs.iter().map(|b| b.num_rows() as u64).sum::<u64>();
        let secs = started.elapsed().as_secs_f64();
        g.info(format!(
            "days {}..{} of {}: {runs} runs, {logs} task logs committed, {:.0} runs/s",
            chunk.first + 1,
            chunk.last + 1,
            config.days,
            runs as f64 / secs
        ));
    }
    // Dropping the receiver ends a producer still sending.
    drop(rx);
    let produced = producer.await.context("the generator panicked")?;
    consumed?;
    produced?;

    // Task metadata, the audit trail and a UiPath tenant: small next to the runs.
    let data = Dataset::generate(SimConfig { runs: 0, ..config });
    let metadata: Vec<RecordBatch> = data
        .tasks
        .iter()
        .map(|t| metadata_batch(&args.control_room, t.name, &task_metadata(t), ingested_at))
        .collect::<Result<_, _>>()?;
    lake.append(&AA_TASK_METADATA, metadata).await?;
    let audit = audit_batch(&data, &args.control_room, ingested_at)?;
    let audit_events = audit.num_rows();
    lake.append(&AA_AUDIT_EVENTS, vec![audit]).await?;
    let jobs = args
        .uipath_jobs
        .unwrap_or_else(|| (config.runs / 1000).min(5_000));
    let mut uipath_events = 0;
    if jobs > 0 {
        let events = botlake_sim::uipath::generate(&botlake_sim::uipath::UipathConfig {
            days: config.days.min(30),
            ..botlake_sim::uipath::UipathConfig::new(config.seed, jobs, end)
        });
        let export = events.lines.join("\n");
        let mut summary = botlake_ingest::uipath::FileSummary::default();
        botlake_ingest::uipath::ingest_reader(
            &lake,
            Box::new(std::io::Cursor::new(export.into_bytes())),
            "simulated UiPath export",
            None,
            botlake_ingest::uipath::CommitEvery {
                events: 100_000,
                ..Default::default()
            },
            &botlake_ingest::progress::Quiet,
            &mut summary,
        )
        .await?;
        uipath_events = summary.lines;
    }
    let secs = started.elapsed().as_secs_f64();
    let size = lake_bytes(&lake)
        .map(|b| format!(", {:.0} MB on disk", b as f64 / 1e6))
        .unwrap_or_default();
    g.info(format!(
        "wrote {runs} runs, {logs} task logs, {audit_events} audit events and {uipath_events} \
         UiPath events ({jobs} jobs) in {secs:.1} s ({:.0} runs/s){size}",
        runs as f64 / secs
    ));
    Ok(ExitCode::SUCCESS)
}

/// Generates every day of `plan`, handing over a chunk whenever `commit_rows` runs wait.
fn produce(
    plan: &RunPlan,
    control_room: &str,
    commit_rows: usize,
    ingested_at: DateTime<Utc>,
    tx: &tokio::sync::mpsc::Sender<Chunk>,
) -> Result<()> {
    let config = &plan.config;
    // The clock: midnight of the end day. Runs still going then are in progress.
    let now_ms = config
        .end
        .and_hms_opt(0, 0, 0)
        .expect("midnight exists")
        .and_utc()
        .timestamp_millis();
    let tasks = botlake_sim::activity::tasks(plan.bots.len());
    let mut task_of_bot: Vec<Option<usize>> = vec![None; plan.bots.len()];
    for (i, t) in tasks.iter().enumerate() {
        task_of_bot[usize::from(t.bot)] = Some(i);
    }
    let mut runs = RunBatchBuilder::new(control_room, ingested_at);
    let mut logs: Vec<TaskLogBatchBuilder> = tasks
        .iter()
        .map(|t| TaskLogBatchBuilder::new(control_room, Some(t.name), ingested_at))
        .collect();
    let mut id = 0i64;
    let mut first = 0;
    let days = config.days as usize;
    for d in 0..days {
        for run in plan.day(d) {
            id += 1;
            let bot = &plan.bots[usize::from(run.bot)];
            let runner = &plan.runners[usize::from(run.runner)];
            let (status, end_ms) = run.status_at(now_ms);
            runs.push_run(&RunRow {
                id,
                user_name: Some(&runner.user_name),
                first_name: Some(&runner.first_name),
                last_name: Some(&runner.last_name),
                email: Some(&runner.email),
                host_name: Some(&runner.host_name),
                ip_address: Some(&runner.ip_address),
                file_name: Some(&bot.file_name),
                start_micros: run.start_ms * 1000,
                end_micros: end_ms.map(|e| e * 1000),
                status: Some(status),
                total_lines: Some(i64::from(run.lines)),
                time_taken_ms: end_ms.map(|_| i64::from(run.duration_ms)),
                success: Some(status == "COMPLETED"),
            });
            // A task's bot writes a KPI log at the end of every completed run.
            if let (Some(end), Some(t)) = (
                end_ms.filter(|_| status == "COMPLETED"),
                task_of_bot[usize::from(run.bot)],
            ) {
                let raw = task_log_record(&tasks[t], config.seed, id, end)?;
                logs[t]
                    .push(&raw)
                    .map_err(|e| anyhow::anyhow!("a generated task log does not fit: {e}"))?;
            }
        }
        if runs.len() >= commit_rows || d + 1 == days {
            let chunk = Chunk {
                first,
                last: d,
                runs: runs.finish()?,
                logs: logs
                    .iter_mut()
                    .filter(|b| !b.is_empty())
                    .map(|b| b.finish())
                    .collect::<Result<_, _>>()?,
            };
            if tx.blocking_send(chunk).is_err() {
                // The committer stopped; it reports why.
                return Ok(());
            }
            first = d + 1;
        }
    }
    Ok(())
}

/// A task log as `gettasklogdata` sends it.
fn task_log_record(task: &Task, seed: u64, id: i64, time_ms: i64) -> Result<Box<RawValue>> {
    let values = kpi_values(task, seed, id as u64, time_ms);
    let variables: serde_json::Map<String, serde_json::Value> = task
        .variables
        .iter()
        .zip(values)
        .map(|(v, value)| (v.name.to_string(), serde_json::Value::String(value)))
        .collect();
    Ok(to_raw_value(&serde_json::json!({
        "id": id,
        "runDate": rfc3339(time_ms),
        "variables": variables,
    }))?)
}

fn task_metadata(task: &Task) -> TaskMetadata {
    TaskMetadata {
        variables: task
            .variables
            .iter()
            .map(|v| TaskVariable {
                name: v.name.to_string(),
                kind: Some(v.kind.type_name().to_string()),
                display_name: Some(v.display_name.to_string()),
            })
            .collect(),
    }
}

/// Every audit event of `data`, as `getaudittraildata` sends them.
fn audit_batch(
    data: &Dataset,
    control_room: &str,
    ingested_at: DateTime<Utc>,
) -> Result<RecordBatch> {
    let mut builder = AuditBatchBuilder::new(control_room, AuditApi::V11, ingested_at);
    for i in 0..data.audit.len() {
        let v = data.audit_view(i);
        let raw = to_raw_value(&serde_json::json!({
            "id": v.id,
            "activityType": v.activity_type,
            "createdBy": v.created_by,
            "createdOn": v.created_on,
            "detail": v.detail,
            "environmentName": v.environment_name,
            "eventDescription": v.event_description,
            "hostName": v.host_name,
            "objectName": v.object_name,
            "requestId": v.request_id,
            "source": v.source,
            "status": v.status,
            "userName": v.user_name,
        }))?;
        builder
            .push(&raw)
            .map_err(|e| anyhow::anyhow!("a generated audit event does not fit: {e}"))?;
    }
    Ok(builder.finish()?)
}

/// Bytes under a local lake's directory; `None` for object stores.
fn lake_bytes(lake: &Lake) -> Option<u64> {
    fn walk(path: &std::path::Path) -> u64 {
        let Ok(entries) = std::fs::read_dir(path) else {
            return 0;
        };
        entries
            .flatten()
            .map(|e| match e.file_type() {
                Ok(t) if t.is_dir() => walk(&e.path()),
                Ok(_) => e.metadata().map(|m| m.len()).unwrap_or(0),
                Err(_) => 0,
            })
            .sum()
    }
    lake.is_local()
        .then(|| lake.url().to_file_path().ok())
        .flatten()
        .map(|p| walk(&p))
}
