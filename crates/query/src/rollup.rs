//! Maintained rollups: the views `runs_bot_day` and `runs_host_day` kept as tables, so
//! that the daily, per-bot, per-host and ranking views read thousands of rows instead of
//! every run.
//!
//! A rollup can never disagree with the raw rows. Its commit records, for each vendor of
//! `runs`, which raw files it was computed from: per day for Automation Anywhere (a run's
//! row lives in the partition of its day), as a whole for UiPath (a job's state gathers
//! events of several days). A session compares that with the files the raw tables hold
//! now: the rollup answers for the parts whose files are unchanged, and the view's own SQL
//! over the raw rows answers for every other part (new days, days an ingest rewrote, a
//! compacted table). `refresh` stores that union as the new rollup.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use botlake_lake::catalog::{
    AA_BOT_RUNS, AA_EXECUTIONS, ROLLUP_RUNS_BOT_DAY, ROLLUP_RUNS_HOST_DAY, UIPATH_JOB_EVENTS,
};
use botlake_lake::{Lake, Snapshot, TableDef};
use datafusion::arrow::array::RecordBatch;
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::catalog::TableProvider;
use datafusion::execution::SendableRecordBatchStream;
use datafusion::physical_plan::stream::RecordBatchStreamAdapter;
use datafusion::prelude::SessionContext;
use futures::{StreamExt, TryStreamExt, future};
use serde::{Deserialize, Serialize};

use crate::{Error, Result, Session, SessionOptions};

/// The commit information key under which a rollup records its coverage.
const COVERAGE_KEY: &str = "botlake.rollup";

/// A view kept as a rollup table.
pub struct Rollup {
    /// The view (`queries/<view>.sql`), one row per vendor, key and day.
    pub view: &'static str,
    /// The table that holds it.
    pub table: &'static TableDef,
}

/// Every rollup.
pub fn rollups() -> [Rollup; 2] {
    [
        Rollup {
            view: "runs_bot_day",
            table: &ROLLUP_RUNS_BOT_DAY,
        },
        Rollup {
            view: "runs_host_day",
            table: &ROLLUP_RUNS_HOST_DAY,
        },
    ]
}

/// Where the rows of `runs` come from, per vendor.
struct Source {
    vendor: &'static str,
    /// Its raw tables, the first the one whose name the coverage carries.
    tables: Vec<&'static TableDef>,
    /// Whether a day's rows depend on that day's partitions only.
    by_day: bool,
}

fn sources() -> [Source; 2] {
    [
        Source {
            vendor: "automation_anywhere",
            // Run data and executions: a run-data row counts unless an execution of the
            // same second matches it, so a day's rows depend on that day of both.
            tables: vec![&AA_BOT_RUNS, &AA_EXECUTIONS],
            by_day: true,
        },
        Source {
            vendor: "uipath",
            tables: vec![&UIPATH_JOB_EVENTS],
            by_day: false,
        },
    ]
}

/// The views a rollup's rows derive from: a rollup made with other definitions covers
/// nothing.
pub(crate) const DERIVED_FROM: [&str; 2] = ["runs", "uipath_jobs"];

/// Which raw files a rollup's rows were computed from, or the raw tables hold now.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Coverage {
    /// A fingerprint of the SQL of the view and of the views it reads.
    pub definition: String,
    /// Per vendor: its raw table's version and a fingerprint of the files of each part
    /// (a day `2026-10-01`, or `*` for the whole table).
    pub vendors: BTreeMap<String, VendorCoverage>,
}

/// One vendor's raw files.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct VendorCoverage {
    /// The raw table.
    pub table: String,
    /// Its version, if it was ever written.
    pub version: Option<u64>,
    /// Part → fingerprint of its files.
    pub parts: BTreeMap<String, String>,
    /// Part → rows of its files (of the raw tables now; not stored).
    #[serde(skip)]
    pub rows: BTreeMap<String, u64>,
}

/// FNV-1a, 64 bits: a fingerprint that stays the same across builds and machines.
fn fnv1a(chunks: impl IntoIterator<Item = impl AsRef<[u8]>>) -> String {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for chunk in chunks {
        for &b in chunk.as_ref().iter().chain(b"\n") {
            hash ^= u64::from(b);
            hash = hash.wrapping_mul(0x0100_0000_01b3);
        }
    }
    format!("{hash:016x}")
}

/// The fingerprint of the built-in definitions `view` derives from.
fn definition(view: &str) -> String {
    fnv1a(
        std::iter::once(view)
            .chain(DERIVED_FROM)
            .map(crate::builtin_sql),
    )
}

/// The day partition of a file path (`day=2026-10-01/part-….parquet`).
fn day_of(path: &str) -> Option<&str> {
    path.split('/')
        .find_map(|segment| segment.strip_prefix("day="))
}

impl VendorCoverage {
    /// The files of `tables` in `snapshots` (by table name), by part. Files of the tables
    /// after the first are named with their table, so that the fingerprints of a vendor
    /// with one table stay what earlier releases stored.
    fn of(
        tables: &[&TableDef],
        snapshots: &BTreeMap<&str, Snapshot>,
        by_day: bool,
    ) -> Result<Self> {
        let mut parts: BTreeMap<String, Vec<String>> = BTreeMap::new();
        let mut rows: BTreeMap<String, u64> = BTreeMap::new();
        let mut version = None;
        for (i, table) in tables.iter().enumerate() {
            let Some(s) = snapshots.get(table.name) else {
                continue;
            };
            if i == 0 {
                version = Some(s.version());
            }
            for file in s.files()? {
                let part = match (by_day, day_of(&file.path)) {
                    (true, Some(day)) => day.to_string(),
                    _ => "*".to_string(),
                };
                // A file whose rows the log does not give weighs a whole refresh step.
                *rows.entry(part.clone()).or_default() += file.rows.unwrap_or(REFRESH_ROWS);
                let path = match i {
                    0 => file.path,
                    _ => format!("{}/{}", table.name, file.path),
                };
                parts.entry(part).or_default().push(path);
            }
        }
        Ok(VendorCoverage {
            table: tables[0].name.to_string(),
            version,
            parts: parts
                .into_iter()
                .map(|(part, mut files)| {
                    files.sort();
                    (part, fnv1a(&files))
                })
                .collect(),
            rows,
        })
    }
}

/// Per vendor, the raw files that `runs` reads in `snapshots` (by table name).
pub(crate) fn raw_files(
    snapshots: &BTreeMap<&str, Snapshot>,
) -> Result<BTreeMap<String, VendorCoverage>> {
    sources()
        .into_iter()
        .map(|s| {
            let cov = VendorCoverage::of(&s.tables, snapshots, s.by_day)?;
            Ok((s.vendor.to_string(), cov))
        })
        .collect()
}

/// How much of a view a rollup can answer for, and the predicates that split the rows.
#[derive(Debug, Clone, Default)]
pub struct Split {
    /// Parts whose rows come from the rollup.
    pub fresh: usize,
    /// Parts whose rows come from the raw tables.
    pub stale: usize,
    /// Over the rollup's rows: the fresh parts (`None`: none).
    rollup_filter: Option<String>,
    /// Over `runs`: the stale parts (`None`: none).
    raw_filter: Option<String>,
    /// The stale parts again, as filters of about [`REFRESH_ROWS`] rows each.
    raw_chunks: Vec<String>,
}

/// Raw rows a refresh recomputes at a time, in whole days. The aggregation holds a group
/// per key and day it reads, so this bounds its memory whatever the lake's history: for
/// 10M runs over two years (710,418 bot-days), `botlake rollup` peaked at 635 MB computing
/// all days in one query, and at 191 MB in steps of this size (3.7 to 4.2 s, against 5.1
/// to 5.9 s). Each step costs a query: steps of 250,000 rows took 5.3 s for the same lake,
/// steps of 1M rows 285 MB for a 1M-run lake (228 MB with this size).
const REFRESH_ROWS: u64 = 500_000;

/// `day BETWEEN a AND b` ranges covering the days among `days` that `wanted` says yes to
/// and none it says no to, in groups whose wanted days weigh at most `max` (or one day, if
/// it weighs more alone); a day it has no opinion on (`None`: no rows there) neither opens
/// nor breaks a range, so ranges stay few.
fn day_ranges(
    days: &BTreeSet<&String>,
    wanted: impl Fn(&str) -> Option<bool>,
    weight: impl Fn(&str) -> u64,
    max: u64,
) -> Vec<Vec<String>> {
    let mut groups = Vec::new();
    let mut group = Vec::new();
    let mut in_group: u64 = 0;
    // The range open: its first and last day.
    let mut open: Option<(&str, &str)> = None;
    let close = |open: &mut Option<(&str, &str)>, group: &mut Vec<String>| {
        if let Some((a, b)) = open.take() {
            group.push(format!("day BETWEEN DATE '{a}' AND DATE '{b}'"));
        }
    };
    for day in days {
        match wanted(day) {
            Some(true) => {
                let w = weight(day);
                if in_group > 0 && in_group.saturating_add(w) > max {
                    close(&mut open, &mut group);
                    groups.push(std::mem::take(&mut group));
                    in_group = 0;
                }
                open = Some(match open {
                    Some((first, _)) => (first, day.as_str()),
                    None => (day.as_str(), day.as_str()),
                });
                in_group = in_group.saturating_add(w);
            }
            Some(false) => close(&mut open, &mut group),
            None => {}
        }
    }
    close(&mut open, &mut group);
    if !group.is_empty() {
        groups.push(group);
    }
    groups
}

fn or(terms: Vec<String>) -> Option<String> {
    (!terms.is_empty()).then(|| format!("({})", terms.join(" OR ")))
}

impl Split {
    /// Compares what the rollup covers (`stored`) with the raw files now (`current`).
    pub(crate) fn new(stored: Option<&Coverage>, current: &Coverage) -> Split {
        let stored = stored.filter(|s| s.definition == current.definition);
        let mut split = Split::default();
        let (mut fresh_terms, mut stale_terms) = (Vec::new(), Vec::new());
        for s in sources() {
            let now = current.vendors.get(s.vendor);
            let then = stored.and_then(|c| c.vendors.get(s.vendor));
            let now_parts = now.map(|v| &v.parts);
            let is_fresh = |part: &str| {
                let a = then.and_then(|v| v.parts.get(part));
                a.is_some() && a == now_parts.and_then(|p| p.get(part))
            };
            let all: BTreeSet<&String> = now_parts
                .into_iter()
                .chain(then.map(|v| &v.parts))
                .flat_map(|p| p.keys())
                .collect();
            split.fresh += all.iter().filter(|p| is_fresh(p)).count();
            split.stale += now_parts
                .into_iter()
                .flat_map(|p| p.keys())
                .filter(|p| !is_fresh(p))
                .count();
            let vendor = format!("vendor = '{}'", s.vendor);
            let (fresh, stale, chunks): (_, _, Vec<String>) = if s.by_day {
                let in_rollup = |p: &str| then.is_some_and(|v| v.parts.contains_key(p));
                let in_raw = |p: &str| now_parts.is_some_and(|n| n.contains_key(p));
                let stale = |p: &str| in_raw(p).then(|| !is_fresh(p));
                let all_in_one = |ranges: Vec<Vec<String>>| or(ranges.concat());
                let none = |_: &str| 0;
                let rows = |p: &str| now.and_then(|v| v.rows.get(p)).copied().unwrap_or(0);
                (
                    all_in_one(day_ranges(
                        &all,
                        |p| in_rollup(p).then(|| is_fresh(p)),
                        none,
                        u64::MAX,
                    )),
                    all_in_one(day_ranges(&all, stale, none, u64::MAX)),
                    day_ranges(&all, stale, rows, REFRESH_ROWS)
                        .into_iter()
                        .filter_map(or)
                        .collect(),
                )
            } else {
                let fresh = is_fresh("*");
                let any = !all.is_empty();
                let stale = (!fresh && any).then(|| "TRUE".to_string());
                (
                    (fresh && any).then(|| "TRUE".to_string()),
                    stale.clone(),
                    stale.into_iter().collect(),
                )
            };
            if let Some(f) = fresh {
                fresh_terms.push(format!("({vendor} AND {f})"));
            }
            if let Some(f) = stale {
                stale_terms.push(format!("({vendor} AND {f})"));
            }
            split
                .raw_chunks
                .extend(chunks.into_iter().map(|f| format!("({vendor} AND {f})")));
        }
        split.rollup_filter = or(fresh_terms);
        split.raw_filter = or(stale_terms);
        split
    }

    /// Whether reading the rollup beats the raw rows: most parts are fresh.
    pub fn worth_it(&self) -> bool {
        self.fresh > 0 && self.fresh >= self.stale
    }

    /// The view `view_sql` answered from `rollup_table` for the fresh parts and from the
    /// raw rows of `runs` for the others.
    pub(crate) fn sql(&self, rollup_table: &str, view_sql: &str) -> String {
        self.branches(rollup_table, view_sql, self.raw_filter.as_slice())
            .join("\nUNION ALL\n")
    }

    /// [`Split::sql`] as queries whose rows, one after another, are the view: the fresh
    /// parts from `rollup_table`, then the stale parts [`REFRESH_ROWS`] rows at a time.
    fn refresh_sql(&self, rollup_table: &str, view_sql: &str) -> Vec<String> {
        self.branches(rollup_table, view_sql, &self.raw_chunks)
    }

    /// The branch over the rollup, then one over the raw rows for each of `raw_filters`.
    fn branches(&self, rollup_table: &str, view_sql: &str, raw_filters: &[String]) -> Vec<String> {
        let mut branches = Vec::new();
        if let Some(f) = &self.rollup_filter {
            branches.push(format!("SELECT * FROM {rollup_table} WHERE {f}"));
        }
        branches.extend(raw_filters.iter().map(|f| {
            format!(
                "SELECT * FROM (WITH runs AS (SELECT * FROM botlake.lake.runs WHERE {f}) \
                 SELECT * FROM (\n{view_sql}\n) AS v) AS raw"
            )
        }));
        if branches.is_empty() {
            // Nothing at all: the view over no rows keeps its columns.
            branches.push(format!("SELECT * FROM (\n{view_sql}\n) AS v WHERE FALSE"));
        }
        branches
    }
}

/// A rollup as a session found it.
pub(crate) struct Found {
    pub rollup: Rollup,
    pub provider: Option<Arc<dyn TableProvider>>,
    /// The rollup table's version read, `None` if it was never written.
    pub version: Option<u64>,
    /// What a rollup made now, from the raw files the session reads, would cover.
    pub current: Coverage,
    pub split: Split,
}

/// Opens each rollup table of `lake` and splits its view against the raw files now.
pub(crate) async fn find(
    lake: &Lake,
    state: &dyn datafusion::catalog::Session,
    raw_files: &BTreeMap<String, VendorCoverage>,
) -> Result<Vec<Found>> {
    // Each rollup is opened and its coverage read at the same time as the others'.
    // To the end of each, as the session opens its tables.
    future::join_all(rollups().into_iter().map(|rollup| async move {
        let current = Coverage {
            definition: definition(rollup.view),
            vendors: raw_files.clone(),
        };
        let snapshot = lake.snapshot(rollup.table, state).await?;
        let stored: Option<Coverage> = match &snapshot {
            Some(s) => s
                .commit_info(COVERAGE_KEY)
                .await?
                .and_then(|v| serde_json::from_value(v).ok()),
            None => None,
        };
        let split = Split::new(stored.as_ref(), &current);
        Ok(Found {
            rollup,
            version: snapshot.as_ref().map(|s| s.version()),
            provider: snapshot.map(|s| s.provider),
            current,
            split,
        })
    }))
    .await
    .into_iter()
    .collect()
}

/// What `refresh` did to one rollup.
#[derive(Debug)]
pub struct Refreshed {
    /// The view.
    pub view: &'static str,
    /// Parts reused from the rollup.
    pub reused: usize,
    /// Parts recomputed from raw rows (0: it was up to date and was left alone).
    pub recomputed: usize,
    /// Rows the rollup holds now.
    pub rows: usize,
    /// The rollup table's version now, if written.
    pub version: Option<u64>,
    /// Seconds taken.
    pub seconds: f64,
}

/// How many times [`refresh`] starts again when another writer committed a rollup while
/// it computed one.
const REFRESH_ATTEMPTS: usize = 5;

/// Brings every rollup of `lake` up to date with its raw tables: the parts whose files
/// changed are recomputed, the others kept, and the result replaces the rollup in one
/// commit that records the raw files it covers. A rollup already up to date is left alone.
///
/// The commit replaces the rollup as this refresh read it, and only that: when another
/// process refreshed it meanwhile (two ingests ending together), the refresh starts again
/// from what is there now, which is then often up to date already.
pub async fn refresh(lake: &Lake, options: &SessionOptions) -> Result<Vec<Refreshed>> {
    // The rollups hold UTC days, whatever zone the command's views are in.
    let options = SessionOptions {
        rollups: true,
        time_zone: None,
        ..options.clone()
    };
    let mut done: Vec<Refreshed> = Vec::new();
    let mut attempt = 1;
    loop {
        // The built-in definitions only: user views never change what a rollup holds.
        let session = Session::open_with(lake, &[], &options).await?;
        let mut moved = false;
        for found in &session.rollups {
            if done.iter().any(|r| r.view == found.rollup.view) {
                continue;
            }
            match refresh_one(lake, &session, found).await {
                Ok(refreshed) => done.push(refreshed),
                Err(Error::Lake(e @ botlake_lake::Error::Moved { .. }))
                    if attempt < REFRESH_ATTEMPTS =>
                {
                    tracing::info!(view = found.rollup.view, "starting again: {e}");
                    moved = true;
                }
                Err(e) => return Err(e),
            }
        }
        if !moved {
            // In the order of the rollups, whatever order they were done in.
            done.sort_by_key(|r| rollups().iter().position(|rollup| rollup.view == r.view));
            return Ok(done);
        }
        attempt += 1;
    }
}

/// Brings `found`, a rollup of `session`, up to date.
async fn refresh_one(lake: &Lake, session: &Session, found: &Found) -> Result<Refreshed> {
    let started = Instant::now();
    let view = found.rollup.view;
    let split = &found.split;
    // Nothing newer than the rollup (or no runs at all): nothing to write.
    if split.stale == 0 {
        return Ok(Refreshed {
            view,
            reused: split.fresh,
            recomputed: 0,
            rows: 0,
            version: None,
            seconds: started.elapsed().as_secs_f64(),
        });
    }
    let queries = split.refresh_sql(found.rollup.table.name, crate::builtin_sql(view));
    let rows = Arc::new(AtomicUsize::new(0));
    let stream = one_after_another(
        session.context().clone(),
        queries,
        view_schema(session, view).await?,
        rows.clone(),
    );
    let mut metadata = serde_json::Map::new();
    metadata.insert(
        COVERAGE_KEY.to_string(),
        serde_json::to_value(&found.current).expect("coverage serializes"),
    );
    let version = lake
        .overwrite(found.rollup.table, stream, metadata, found.version)
        .await?;
    Ok(Refreshed {
        view,
        reused: split.fresh,
        recomputed: split.stale,
        rows: rows.load(Ordering::Relaxed),
        version: Some(version),
        seconds: started.elapsed().as_secs_f64(),
    })
}

/// The schema a rollup of `view` is written with: the view's plan's, its text as stored
/// text (a scan's string views are plain strings in Parquet), every column nullable. A changed
/// view writes its new schema (its definition's fingerprint changes, so the whole rollup is
/// written again), never its rows cast into the old one.
async fn view_schema(session: &Session, view: &str) -> Result<SchemaRef> {
    use datafusion::arrow::datatypes::{DataType, Field, Schema};
    let planned = session.context().sql(crate::builtin_sql(view)).await?;
    let fields: Vec<Field> = planned
        .schema()
        .fields()
        .iter()
        .map(|f| {
            let data_type = match f.data_type() {
                DataType::Utf8View | DataType::LargeUtf8 => DataType::Utf8,
                other => other.clone(),
            };
            Field::new(f.name(), data_type, true)
        })
        .collect();
    Ok(Arc::new(Schema::new(fields)))
}

/// The rows of `queries`, run one after another (so that only one aggregation holds its
/// groups at a time), cast to `schema`; `rows` counts them.
fn one_after_another(
    ctx: SessionContext,
    queries: Vec<String>,
    schema: SchemaRef,
    rows: Arc<AtomicUsize>,
) -> SendableRecordBatchStream {
    let target = schema.clone();
    let stream = futures::stream::iter(queries)
        .then(move |sql| {
            let ctx = ctx.clone();
            async move { ctx.sql(&sql).await?.execute_stream().await }
        })
        .try_flatten()
        .map(move |batch| {
            let batch = batch?;
            let columns = target
                .fields()
                .iter()
                .zip(batch.columns())
                .map(|(f, c)| cast(c, f.data_type()))
                .collect::<Result<Vec<_>, _>>()?;
            rows.fetch_add(batch.num_rows(), Ordering::Relaxed);
            Ok(RecordBatch::try_new(target.clone(), columns)?)
        });
    Box::pin(RecordBatchStreamAdapter::new(schema, stream))
}

#[cfg(test)]
pub(crate) mod tests {
    use chrono::NaiveDate;

    use super::*;

    fn coverage(aa: &[(&str, &str)], uipath: Option<&str>) -> Coverage {
        let vendor = |table: &str, parts: &[(&str, &str)]| VendorCoverage {
            table: table.into(),
            version: Some(1),
            parts: parts
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            rows: parts.iter().map(|(k, _)| (k.to_string(), 1)).collect(),
        };
        Coverage {
            definition: "d".into(),
            vendors: [
                ("automation_anywhere".into(), vendor("aa_bot_runs", aa)),
                (
                    "uipath".into(),
                    vendor(
                        "uipath_job_events",
                        &uipath.map(|u| vec![("*", u)]).unwrap_or_default(),
                    ),
                ),
            ]
            .into(),
        }
    }

    #[test]
    fn changed_and_new_days_come_from_raw_rows() {
        let stored = coverage(
            &[
                ("2026-10-01", "a"),
                ("2026-10-02", "b"),
                ("2026-10-03", "c"),
            ],
            Some("u"),
        );
        let now = coverage(
            &[
                ("2026-10-01", "a"),
                ("2026-10-02", "B"),
                ("2026-10-03", "c"),
                ("2026-10-04", "d"),
            ],
            Some("u"),
        );
        let split = Split::new(Some(&stored), &now);
        assert_eq!((split.fresh, split.stale), (3, 2));
        assert_eq!(
            split.rollup_filter.as_deref(),
            Some(
                "((vendor = 'automation_anywhere' AND (day BETWEEN DATE '2026-10-01' AND DATE '2026-10-01' \
                 OR day BETWEEN DATE '2026-10-03' AND DATE '2026-10-03')) OR (vendor = 'uipath' AND TRUE))"
            )
        );
        assert_eq!(
            split.raw_filter.as_deref(),
            Some(
                "((vendor = 'automation_anywhere' AND (day BETWEEN DATE '2026-10-02' AND DATE '2026-10-02' \
                 OR day BETWEEN DATE '2026-10-04' AND DATE '2026-10-04')))"
            )
        );
    }

    #[test]
    fn another_definition_or_no_rollup_covers_nothing() {
        let now = coverage(&[("2026-10-01", "a")], Some("u"));
        let mut stored = now.clone();
        assert_eq!(Split::new(Some(&stored), &now).stale, 0);
        stored.definition = "older".into();
        for split in [Split::new(Some(&stored), &now), Split::new(None, &now)] {
            assert_eq!((split.fresh, split.stale), (0, 2));
            assert!(split.rollup_filter.is_none() && !split.worth_it());
        }
    }

    #[test]
    fn a_day_gone_from_the_raw_table_is_not_read_from_the_rollup() {
        let stored = coverage(&[("2026-10-01", "a"), ("2026-10-02", "b")], None);
        let now = coverage(&[("2026-10-02", "b")], None);
        let split = Split::new(Some(&stored), &now);
        assert_eq!((split.fresh, split.stale), (1, 0));
        assert!(split.raw_filter.is_none());
        assert!(
            split
                .rollup_filter
                .unwrap()
                .contains("day BETWEEN DATE '2026-10-02' AND DATE '2026-10-02'")
        );
    }

    #[test]
    fn new_days_after_the_rollup_keep_one_range() {
        let days: Vec<(String, String)> = (1..=9)
            .map(|d| (format!("2026-10-0{d}"), format!("f{d}")))
            .collect();
        let parts = |n: usize| {
            days[..n]
                .iter()
                .map(|(d, f)| (d.as_str(), f.as_str()))
                .collect::<Vec<_>>()
        };
        let split = Split::new(Some(&coverage(&parts(6), None)), &coverage(&parts(9), None));
        assert_eq!((split.fresh, split.stale), (6, 3));
        assert_eq!(
            split.rollup_filter.as_deref(),
            Some(
                "((vendor = 'automation_anywhere' AND (day BETWEEN DATE '2026-10-01' AND DATE '2026-10-06')))"
            )
        );
        assert_eq!(
            split.raw_filter.as_deref(),
            Some(
                "((vendor = 'automation_anywhere' AND (day BETWEEN DATE '2026-10-07' AND DATE '2026-10-09')))"
            )
        );
    }

    #[test]
    fn a_refresh_reads_a_bounded_number_of_days_at_a_time() {
        let day =
            |d: usize| NaiveDate::from_ymd_opt(2026, 1, 1).unwrap() + chrono::Days::new(d as u64);
        let days: Vec<(String, String)> = (0..100)
            .map(|d| (day(d).to_string(), format!("f{d}")))
            .collect();
        // Days 10 to 19 are unchanged, the others new or rewritten.
        let stored: Vec<(&str, &str)> = days[10..20]
            .iter()
            .map(|(d, f)| (d.as_str(), f.as_str()))
            .chain([("2026-01-01", "old")])
            .collect();
        let now: Vec<(&str, &str)> = days.iter().map(|(d, f)| (d.as_str(), f.as_str())).collect();
        let mut now = coverage(&now, None);
        // 32 days to a refresh step.
        for rows in now.vendors.values_mut().flat_map(|v| v.rows.values_mut()) {
            *rows = REFRESH_ROWS / 32;
        }
        let split = Split::new(Some(&coverage(&stored, None)), &now);
        assert_eq!((split.fresh, split.stale), (10, 90));
        let range =
            |a: usize, b: usize| format!("day BETWEEN DATE '{}' AND DATE '{}'", day(a), day(b));
        let chunk = |terms: Vec<String>| {
            format!(
                "(vendor = 'automation_anywhere' AND ({}))",
                terms.join(" OR ")
            )
        };
        assert_eq!(
            split.raw_chunks,
            [
                // 10 days before the fresh ones and 22 after: 32.
                chunk(vec![range(0, 9), range(20, 41)]),
                chunk(vec![range(42, 73)]),
                chunk(vec![range(74, 99)]),
            ]
        );
        let queries = split.refresh_sql("rollup", "SELECT * FROM runs");
        assert_eq!(queries.len(), 4);
        assert!(queries[0].starts_with("SELECT * FROM rollup WHERE"));
        assert!(
            queries[1..]
                .iter()
                .zip(&split.raw_chunks)
                .all(|(q, c)| q.contains(c.as_str()))
        );
    }

    #[test]
    fn a_day_heavier_than_a_step_is_a_step_alone() {
        let days: Vec<String> = (1..=4).map(|d| format!("2026-10-0{d}")).collect();
        let all: BTreeSet<&String> = days.iter().collect();
        let weight = |d: &str| if d == "2026-10-02" { 20 } else { 5 };
        let range =
            |a: u32, b: u32| format!("day BETWEEN DATE '2026-10-0{a}' AND DATE '2026-10-0{b}'");
        assert_eq!(
            day_ranges(&all, |_| Some(true), weight, 10),
            [vec![range(1, 1)], vec![range(2, 2)], vec![range(3, 4)]]
        );
    }

    #[test]
    fn fingerprints_are_stable() {
        assert_eq!(fnv1a(["a", "b"]), fnv1a(["a", "b"]));
        assert_ne!(fnv1a(["a", "b"]), fnv1a(["ab"]));
        assert_eq!(fnv1a(Vec::<&str>::new()), "cbf29ce484222325");
        assert_eq!(day_of("day=2026-10-01/part-0.parquet"), Some("2026-10-01"));
        assert_eq!(day_of("part-0.parquet"), None);
    }

    #[tokio::test]
    async fn every_rollups_key_is_columns_of_its_view() {
        let docs = crate::catalogue(&[]).await.unwrap();
        for rollup in rollups() {
            let doc = docs.iter().find(|d| d.def.name == rollup.view).unwrap();
            for key in rollup.table.key {
                assert!(
                    doc.columns.iter().any(|(c, _)| c == key),
                    "{}: no column {key}",
                    rollup.view
                );
            }
        }
    }

    /// Runs of AA control room `prod` on `day` (`2026-10-01`), one per id.
    pub(crate) fn runs(day: &str, ids: &[i64]) -> RecordBatch {
        let lines: String = ids
            .iter()
            .map(|id| {
                format!(
                    r#"{{"control_room":"prod","run_id":{id},"file_name":"bot","host_name":"h","user_name":"u","start_time":"{day}T10:00:00Z","end_time":"{day}T10:01:00Z","status":"COMPLETED","time_taken_ms":60000,"_ingested_at":"{day}T11:00:00Z","day":"{day}"}}"#
                ) + "\n"
            })
            .collect();
        datafusion::arrow::json::ReaderBuilder::new(AA_BOT_RUNS.schema.clone())
            .build(lines.as_bytes())
            .unwrap()
            .next()
            .unwrap()
            .unwrap()
    }

    #[tokio::test]
    async fn a_refresh_that_another_overtook_commits_nothing_and_starts_again() {
        let dir = tempfile::tempdir().unwrap();
        let lake = Lake::parse(dir.path().to_str().unwrap()).unwrap();
        let options = SessionOptions::default();
        let moved = |e: Error| match e {
            Error::Lake(botlake_lake::Error::Moved {
                expected, found, ..
            }) => (expected, found),
            e => panic!("{e}"),
        };
        let rollup_rows = |lake: Lake| async move {
            let session = Session::open_with(&lake, &[], &SessionOptions::default())
                .await
                .unwrap();
            let sql = "SELECT sum(runs) AS n FROM rollup_runs_bot_day";
            let out = session.context().sql(sql).await.unwrap().collect().await;
            datafusion::arrow::util::pretty::pretty_format_batches(&out.unwrap())
                .unwrap()
                .to_string()
        };

        lake.upsert(&AA_BOT_RUNS, vec![runs("2026-10-01", &[1, 2])], None)
            .await
            .unwrap();
        // A refresh reads the lake: no rollup yet. Another one writes the rollups first.
        let late = Session::open_with(&lake, &[], &options).await.unwrap();
        let first = refresh(&lake, &options).await.unwrap();
        assert!(first.iter().all(|r| r.version == Some(0)), "{first:?}");
        let e = refresh_one(&lake, &late, &late.rollups[0])
            .await
            .err()
            .unwrap();
        assert_eq!(moved(e), (None, 0));

        // The same over an existing rollup, after runs of another day came in.
        lake.upsert(&AA_BOT_RUNS, vec![runs("2026-10-02", &[3])], None)
            .await
            .unwrap();
        let late = Session::open_with(&lake, &[], &options).await.unwrap();
        let second = refresh(&lake, &options).await.unwrap();
        assert!(second.iter().all(|r| r.version == Some(1)), "{second:?}");
        let e = refresh_one(&lake, &late, &late.rollups[0])
            .await
            .err()
            .unwrap();
        assert_eq!(moved(e), (Some(0), 1));

        // The rollup holds each run once, and a refresh now finds it up to date.
        assert!(rollup_rows(lake.clone()).await.contains("| 3 |"));
        let again = refresh(&lake, &options).await.unwrap();
        assert!(
            again
                .iter()
                .all(|r| r.recomputed == 0 && r.version.is_none())
        );
    }
}
