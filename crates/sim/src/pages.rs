//! Bot Insight `getbotrundata` pages: the records the server sends, and the same pages
//! written to files straight from a [`RunPlan`], for ingest benchmarks and for trying
//! `botlake ingest aa-pages` without a Control Room.

use std::io::Write;
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::activity::rfc3339;
use crate::data::{Bot, Run, RunPlan, Runner};

/// Records per page, as Bot Insight serves them.
pub const PAGE_SIZE: usize = 1000;

/// One page of `getbotrundata`.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct BotRunPage<'a> {
    /// Records of the window the page belongs to.
    pub total_records: usize,
    /// The page's records.
    pub bot_run_data_list: Vec<BotRunRecord<'a>>,
}

/// A `BotRunRecord` of the spec.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
#[allow(missing_docs)]
pub struct BotRunRecord<'a> {
    pub id: i64,
    pub user_name: &'a str,
    pub first_name: &'a str,
    pub last_name: &'a str,
    pub email: &'a str,
    pub host_name: &'a str,
    #[serde(rename = "iPAddress")]
    pub ip_address: &'a str,
    pub file_name: &'a str,
    pub start_time: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub end_time: Option<String>,
    pub status: &'a str,
    pub total_lines: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub time_taken: Option<i64>,
    pub success_indicator: bool,
}

impl<'a> BotRunRecord<'a> {
    /// The record of run `id` as the Control Room reports it at `now_ms`.
    pub fn new(id: i64, run: &Run, bot: &'a Bot, runner: &'a Runner, now_ms: i64) -> Self {
        let (status, end_ms) = run.status_at(now_ms);
        BotRunRecord {
            id,
            user_name: &runner.user_name,
            first_name: &runner.first_name,
            last_name: &runner.last_name,
            email: &runner.email,
            host_name: &runner.host_name,
            ip_address: &runner.ip_address,
            file_name: &bot.file_name,
            start_time: rfc3339(run.start_ms),
            end_time: end_ms.map(rfc3339),
            status,
            total_lines: run.lines,
            time_taken: end_ms.map(|_| i64::from(run.duration_ms)),
            success_indicator: status == "COMPLETED",
        }
    }
}

/// What [`write_run_pages`] wrote.
#[derive(Debug, Clone, Default)]
pub struct PagesWritten {
    /// The files, in order.
    pub files: Vec<PathBuf>,
    /// Pages in them.
    pub pages: u64,
    /// Records on the pages.
    pub records: u64,
    /// Bytes written.
    pub bytes: u64,
}

/// Writes every run of `plan` as `getbotrundata` pages of [`PAGE_SIZE`] records, one page a
/// line, `pages_per_file` pages to a file `runs-000001.json`, ... in `dir`. Runs are
/// numbered from 1 in start order, as `sim gen` numbers them, and reported as at midnight
/// of the plan's end day.
pub fn write_run_pages(
    plan: &RunPlan,
    dir: &Path,
    pages_per_file: usize,
) -> std::io::Result<PagesWritten> {
    std::fs::create_dir_all(dir)?;
    let now_ms = plan
        .config
        .end
        .and_hms_opt(0, 0, 0)
        .expect("midnight exists")
        .and_utc()
        .timestamp_millis();
    let days = 0..plan.config.days as usize;
    let total: usize = days.clone().map(|d| plan.runs_on(d)).sum();
    let mut records = days
        .flat_map(|d| plan.day(d))
        .zip(1i64..)
        .map(|(run, id)| {
            let bot = &plan.bots[usize::from(run.bot)];
            let runner = &plan.runners[usize::from(run.runner)];
            BotRunRecord::new(id, &run, bot, runner, now_ms)
        })
        .peekable();
    let mut written = PagesWritten::default();
    let mut file: Option<std::io::BufWriter<std::fs::File>> = None;
    let mut line = Vec::new();
    while records.peek().is_some() {
        let page: Vec<BotRunRecord<'_>> = records.by_ref().take(PAGE_SIZE).collect();
        if written.pages.is_multiple_of(pages_per_file.max(1) as u64) {
            if let Some(mut f) = file.take() {
                f.flush()?;
            }
            let path = dir.join(format!("runs-{:06}.json", written.files.len() + 1));
            file = Some(std::io::BufWriter::with_capacity(
                1 << 20,
                std::fs::File::create(&path)?,
            ));
            written.files.push(path);
        }
        written.records += page.len() as u64;
        line.clear();
        serde_json::to_writer(
            &mut line,
            &BotRunPage {
                total_records: total,
                bot_run_data_list: page,
            },
        )?;
        line.push(b'\n');
        file.as_mut().expect("a file is open").write_all(&line)?;
        written.pages += 1;
        written.bytes += line.len() as u64;
    }
    if let Some(mut f) = file {
        f.flush()?;
    }
    Ok(written)
}
