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
use std::time::Instant;

use botlake_lake::catalog::{
    AA_BOT_RUNS, ROLLUP_RUNS_BOT_DAY, ROLLUP_RUNS_HOST_DAY, UIPATH_JOB_EVENTS,
};
use botlake_lake::{Lake, Snapshot, TableDef};
use datafusion::arrow::array::RecordBatch;
use datafusion::arrow::compute::cast;
use datafusion::catalog::TableProvider;
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
    table: &'static TableDef,
    /// Whether a day's rows depend on that day's partition only.
    by_day: bool,
}

fn sources() -> [Source; 2] {
    [
        Source {
            vendor: "automation_anywhere",
            table: &AA_BOT_RUNS,
            by_day: true,
        },
        Source {
            vendor: "uipath",
            table: &UIPATH_JOB_EVENTS,
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
    fn of(table: &TableDef, snapshot: Option<&Snapshot>, by_day: bool) -> Result<Self> {
        let mut parts: BTreeMap<String, Vec<String>> = BTreeMap::new();
        let mut version = None;
        if let Some(s) = snapshot {
            version = Some(s.version());
            for file in s.files()? {
                let part = match (by_day, day_of(&file)) {
                    (true, Some(day)) => day.to_string(),
                    _ => "*".to_string(),
                };
                parts.entry(part).or_default().push(file);
            }
        }
        Ok(VendorCoverage {
            table: table.name.to_string(),
            version,
            parts: parts
                .into_iter()
                .map(|(part, mut files)| {
                    files.sort();
                    (part, fnv1a(&files))
                })
                .collect(),
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
            let cov = VendorCoverage::of(s.table, snapshots.get(s.table.name), s.by_day)?;
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
}

/// `day BETWEEN a AND b OR …` covering the days among `days` that `wanted` says yes to and
/// none it says no to; a day it has no opinion on (`None`: no rows there) neither opens
/// nor breaks a range, so ranges stay few.
fn day_ranges(days: &BTreeSet<&String>, wanted: impl Fn(&str) -> Option<bool>) -> Vec<String> {
    let mut ranges = Vec::new();
    let mut open: Option<(&str, &str)> = None;
    for day in days {
        match wanted(day) {
            Some(true) => {
                open = Some(match open {
                    Some((first, _)) => (first, day),
                    None => (day, day),
                })
            }
            Some(false) => {
                if let Some((a, b)) = open.take() {
                    ranges.push(format!("day BETWEEN DATE '{a}' AND DATE '{b}'"));
                }
            }
            None => {}
        }
    }
    if let Some((a, b)) = open {
        ranges.push(format!("day BETWEEN DATE '{a}' AND DATE '{b}'"));
    }
    ranges
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
            let (fresh, stale) = if s.by_day {
                let in_rollup = |p: &str| then.is_some_and(|v| v.parts.contains_key(p));
                let in_raw = |p: &str| now_parts.is_some_and(|n| n.contains_key(p));
                (
                    or(day_ranges(&all, |p| in_rollup(p).then(|| is_fresh(p)))),
                    or(day_ranges(&all, |p| in_raw(p).then(|| !is_fresh(p)))),
                )
            } else {
                let fresh = is_fresh("*");
                let any = !all.is_empty();
                (
                    (fresh && any).then(|| "TRUE".to_string()),
                    (!fresh && any).then(|| "TRUE".to_string()),
                )
            };
            if let Some(f) = fresh {
                fresh_terms.push(format!("({vendor} AND {f})"));
            }
            if let Some(f) = stale {
                stale_terms.push(format!("({vendor} AND {f})"));
            }
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
        let mut branches = Vec::new();
        if let Some(f) = &self.rollup_filter {
            branches.push(format!("SELECT * FROM {rollup_table} WHERE {f}"));
        }
        match &self.raw_filter {
            Some(f) => branches.push(format!(
                "SELECT * FROM (WITH runs AS (SELECT * FROM botlake.lake.runs WHERE {f}) \
                 SELECT * FROM (\n{view_sql}\n) AS v) AS raw"
            )),
            // Nothing at all: the view over no rows keeps its columns.
            None if branches.is_empty() => {
                branches.push(format!("SELECT * FROM (\n{view_sql}\n) AS v WHERE FALSE"))
            }
            None => {}
        }
        branches.join("\nUNION ALL\n")
    }
}

/// A rollup as a session found it.
pub(crate) struct Found {
    pub rollup: Rollup,
    pub provider: Option<Arc<dyn TableProvider>>,
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
    let mut found = Vec::new();
    for rollup in rollups() {
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
        found.push(Found {
            rollup,
            provider: snapshot.map(|s| s.provider),
            current,
            split,
        });
    }
    Ok(found)
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

/// Brings every rollup of `lake` up to date with its raw tables: the parts whose files
/// changed are recomputed, the others kept, and the result replaces the rollup in one
/// commit that records the raw files it covers. A rollup already up to date is left alone.
pub async fn refresh(lake: &Lake, options: &SessionOptions) -> Result<Vec<Refreshed>> {
    let options = SessionOptions {
        rollups: true,
        ..options.clone()
    };
    // The built-in definitions only: user views never change what a rollup holds.
    let session = Session::open_with(lake, &[], &options).await?;
    let mut out = Vec::new();
    for found in &session.rollups {
        let started = Instant::now();
        let view = found.rollup.view;
        let split = &found.split;
        // Nothing newer than the rollup (or no runs at all): nothing to write.
        if split.stale == 0 {
            out.push(Refreshed {
                view,
                reused: split.fresh,
                recomputed: 0,
                rows: 0,
                version: None,
                seconds: started.elapsed().as_secs_f64(),
            });
            continue;
        }
        let sql = split.sql(found.rollup.table.name, crate::builtin_sql(view));
        let mut batches = session.sql(&sql).await?.collect().await?;
        let schema = found.rollup.table.schema.clone();
        if batches.is_empty() {
            // Runs whose view holds no rows (UiPath jobs none of which finished): a rollup
            // with no rows still records what it covers.
            batches.push(RecordBatch::new_empty(schema.clone()));
        }
        let batches = batches
            .iter()
            .map(|b| {
                let columns = schema
                    .fields()
                    .iter()
                    .zip(b.columns())
                    .map(|(f, c)| cast(c, f.data_type()))
                    .collect::<Result<Vec<_>, _>>()?;
                RecordBatch::try_new(schema.clone(), columns)
            })
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| Error::DataFusion(e.into()))?;
        let rows = batches.iter().map(RecordBatch::num_rows).sum();
        let mut metadata = serde_json::Map::new();
        metadata.insert(
            COVERAGE_KEY.to_string(),
            serde_json::to_value(&found.current).expect("coverage serializes"),
        );
        let version = lake
            .overwrite(found.rollup.table, batches, metadata)
            .await?;
        out.push(Refreshed {
            view,
            reused: split.fresh,
            recomputed: split.stale,
            rows,
            version: Some(version),
            seconds: started.elapsed().as_secs_f64(),
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn coverage(aa: &[(&str, &str)], uipath: Option<&str>) -> Coverage {
        let vendor = |table: &str, parts: &[(&str, &str)]| VendorCoverage {
            table: table.into(),
            version: Some(1),
            parts: parts
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
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
    fn fingerprints_are_stable() {
        assert_eq!(fnv1a(["a", "b"]), fnv1a(["a", "b"]));
        assert_ne!(fnv1a(["a", "b"]), fnv1a(["ab"]));
        assert_eq!(fnv1a(Vec::<&str>::new()), "cbf29ce484222325");
        assert_eq!(day_of("day=2026-10-01/part-0.parquet"), Some("2026-10-01"));
        assert_eq!(day_of("part-0.parquet"), None);
    }
}
