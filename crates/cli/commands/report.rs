//! `botlake report`: one HTML file of charts and tables, every number from a built-in view's
//! rows (run as `botlake query` runs them, through the session's policy), so that each has
//! one definition. The report only picks rows (a period, a vendor, a source, the busiest),
//! counts or adds them up where a chart needs it, and draws them.

use std::collections::{BTreeMap, BTreeSet};
use std::io::IsTerminal;
use std::process::ExitCode;

use anyhow::Result;
use botlake_query::Session;
use chrono::{Days, NaiveDate, Utc};

use super::Globals;
use crate::UserError;
use crate::args::{Format, ReportArgs, Vendor};
use crate::html::svg::{self, Series, Width};
use crate::html::{Column, Num, Origin, Page, Rows, Value, col, vendor_title};
use crate::output::{Destination, Output};

/// Days a report covers unless --from says otherwise.
const DEFAULT_DAYS: u64 = 90;
/// Days of each period the fleet summary compares.
const PERIOD_DAYS: u64 = 30;

/// Writes the report.
pub async fn run(g: &Globals, args: ReportArgs, to: Option<String>) -> Result<ExitCode> {
    if args.options.format.is_some_and(|f| f != Format::Table) || args.options.max_rows.is_some() {
        return Err(UserError(
            "--format and --max-rows do not apply to a report: it is HTML, with every row".into(),
        )
        .into());
    }
    let Some(to_location) = to else {
        return Err(UserError(
            "name the report's file: -o report.html (or s3://bucket/key.html; - for standard output)"
                .into(),
        )
        .into());
    };
    let destination = Destination::parse(&to_location)?;
    if destination == Destination::Stdout && std::io::stdout().is_terminal() {
        return Err(UserError(
            "a report is an HTML file: write it with -o report.html, or pipe it".into(),
        )
        .into());
    }
    let output = Output::new(Format::Table, destination);
    let lake = g.lake()?;
    let started = std::time::Instant::now();
    let session = g.session(&lake).await?;
    let report = Report {
        session: &session,
        vendor: args.vendor,
        source: args.control_room.clone(),
        top: args.top as usize,
        verbose: g.verbosity >= 1,
    };
    let name = g.lake_name().unwrap_or_default();
    let html = report
        .write(&args, &name, g.session_options.time_zone.as_deref())
        .await?;
    output.write_document(html.as_bytes()).await?;
    g.info(format!(
        "report of {name} written to {} ({} KB) in {:.1} s",
        output.destination(),
        html.len().div_ceil(1024),
        started.elapsed().as_secs_f64()
    ));
    Ok(ExitCode::SUCCESS)
}

/// What the report shows: the session its views run in, and its filters.
struct Report<'a> {
    session: &'a Session,
    vendor: Option<Vendor>,
    /// Only this Control Room or tenant.
    source: Option<String>,
    /// Rows of each top list and heat map.
    top: usize,
    /// Say each view's rows and time (-v).
    verbose: bool,
}

/// What the lake holds, from `ingest_health`: which vendors' data, and audit events.
struct Holds {
    automation_anywhere: bool,
    uipath: bool,
    audit: bool,
}

/// A view's rows as the report uses them, with where they came from.
struct ViewRows {
    view: &'static str,
    params: Vec<(String, String)>,
    filters: Vec<(String, String)>,
    rows: Rows,
}

impl ViewRows {
    fn origin(&self) -> Origin<'_> {
        Origin {
            view: self.view,
            params: &self.params,
            filters: &self.filters,
            group_by: &[],
        }
    }

    /// Where rows counted or added up by the columns `keys` come from.
    fn grouped<'a>(&'a self, keys: &'a [&'a str]) -> Origin<'a> {
        Origin {
            group_by: keys,
            ..self.origin()
        }
    }

    fn all(&self) -> Vec<usize> {
        (0..self.rows.len()).collect()
    }
}

/// `(from, to)` as a view's parameters.
fn days(from: NaiveDate, to: NaiveDate) -> Vec<(String, String)> {
    vec![
        ("from".to_string(), from.to_string()),
        ("to".to_string(), to.to_string()),
    ]
}

/// A vendor in a chart's label, short.
fn vendor_short(vendor: &str) -> &str {
    match vendor {
        "automation_anywhere" => "AA",
        other => vendor_title(other),
    }
}

/// The palette index of a vendor.
fn vendor_colour(vendor: &str) -> usize {
    match vendor {
        "automation_anywhere" => 0,
        "uipath" => 1,
        _ => 5,
    }
}

/// Every day from `from` to `to`.
fn every_day(from: NaiveDate, to: NaiveDate) -> Vec<NaiveDate> {
    from.iter_days().take_while(|d| *d <= to).collect()
}

/// A signed change for a table: `+12.3 %`; none without a base.
fn change_percent(now: Option<f64>, before: Option<f64>) -> String {
    match (now, before) {
        (Some(now), Some(before)) if before != 0.0 => {
            let change = (now - before) / before * 100.0;
            format!(
                "{}{} %",
                if change > 0.0 { "+" } else { "" },
                crate::html::grouped(change, 1)
            )
        }
        _ => "–".to_string(),
    }
}

/// A signed change of a rate in percentage points: `+1.2 pp`.
fn change_points(now: Option<f64>, before: Option<f64>) -> String {
    match (now, before) {
        (Some(now), Some(before)) => {
            let change = (now - before) * 100.0;
            format!(
                "{}{} pp",
                if change > 0.0 { "+" } else { "" },
                crate::html::grouped(change, 1)
            )
        }
        _ => "–".to_string(),
    }
}

impl Report<'_> {
    /// The rows of `view` with `params`, as `botlake query` gives them, less those of
    /// other vendors or sources than the filters name: `vendor` and `source` are the
    /// view's columns for them (`None`: it has none, and holds one vendor's rows).
    async fn view(
        &self,
        view: &'static str,
        params: Vec<(String, String)>,
        vendor: Option<&str>,
        source: Option<&str>,
    ) -> Result<ViewRows> {
        let started = std::time::Instant::now();
        let df = self.session.query(view, &params).await?;
        let rows = Rows::from_batches(&df.collect().await?)?;
        if self.verbose {
            say!(
                "{view}: {} rows in {:.2} s",
                rows.len(),
                started.elapsed().as_secs_f64()
            );
        }
        let all = ViewRows {
            view,
            params,
            filters: Vec::new(),
            rows,
        };
        Ok(self.filtered(all, vendor, source))
    }

    /// `result`'s rows of the vendor and source the report keeps to: `vendor` and
    /// `source` are the columns that say them (`None`: there is none).
    fn filtered(
        &self,
        mut result: ViewRows,
        vendor: Option<&str>,
        source: Option<&str>,
    ) -> ViewRows {
        if let (Some(column), Some(v)) = (vendor, self.vendor) {
            result.rows = result.rows.filter(column, Some(v.column_value()));
            result
                .filters
                .push((column.to_string(), v.column_value().to_string()));
        }
        if let (Some(column), Some(s)) = (source, &self.source) {
            result.rows = result.rows.filter(column, Some(s));
            result.filters.push((column.to_string(), s.clone()));
        }
        result
    }

    /// Why a section of `vendor`'s data shows nothing, if the filters or the lake say so
    /// before any row is read.
    fn left_out(&self, vendor: Vendor, holds: &Holds, what: &str) -> Option<String> {
        if self.vendor.is_some_and(|v| v != vendor) {
            return Some(format!(
                "Not in this report: {what} come from {}, and --vendor leaves it out.",
                vendor.title()
            ));
        }
        let has = match vendor {
            Vendor::AutomationAnywhere => holds.automation_anywhere,
            Vendor::Uipath => holds.uipath,
        };
        (!has).then(|| {
            format!(
                "The lake holds no {} data: {what} come from it.",
                vendor.title()
            )
        })
    }

    /// The whole page.
    async fn write(&self, args: &ReportArgs, lake: &str, tz: Option<&str>) -> Result<String> {
        let everything = self.view("ingest_health", Vec::new(), None, None).await?;
        // Tables of a vendor with rows (not only rejected records).
        let stored = |column: &str, value: &str| {
            (0..everything.rows.len()).any(|r| {
                everything.rows.text(r, column) == value
                    && everything.rows.num(r, "rows").is_some_and(|n| n > 0.0)
            })
        };
        let holds = Holds {
            automation_anywhere: stored("vendor", "automation_anywhere"),
            uipath: stored("vendor", "uipath"),
            audit: stored("table_name", "aa_audit_events"),
        };
        // A source no table holds rows of is a mistake (a misspelt name), not an empty report.
        if let Some(source) = &self.source {
            let known: BTreeSet<String> = (0..everything.rows.len())
                .filter(|&r| everything.rows.num(r, "rows").is_some_and(|n| n > 0.0))
                .map(|r| everything.rows.text(r, "source"))
                .collect();
            if !known.contains(source) {
                return Err(UserError(format!(
                    "--control-room {source:?}: the lake holds no rows of it (it holds {})",
                    if known.is_empty() {
                        "none".to_string()
                    } else {
                        known.into_iter().collect::<Vec<_>>().join(", ")
                    }
                ))
                .into());
            }
        }
        let health = self.filtered(everything, Some("vendor"), Some("source"));
        // The last day: --to, else the last day with runs, else today.
        let source_param: Vec<(String, String)> = self
            .source
            .iter()
            .map(|s| ("source".to_string(), s.clone()))
            .collect();
        let all_days = self
            .view("kpi_daily", source_param.clone(), Some("vendor"), None)
            .await?;
        let run_days: Vec<NaiveDate> = (0..all_days.rows.len())
            .filter_map(|r| all_days.rows.day(r, "day"))
            .collect();
        let to = match args.options.to {
            Some(to) => to,
            // Never before --from.
            None => run_days
                .iter()
                .max()
                .copied()
                .unwrap_or_else(|| Utc::now().date_naive())
                .max(args.options.from.unwrap_or(NaiveDate::MIN)),
        };
        // The 90 days up to `to`, or fewer if the runs start later.
        let from = args.options.from.unwrap_or_else(|| {
            let first = run_days.iter().min().copied().unwrap_or(to).min(to);
            to.checked_sub_days(Days::new(DEFAULT_DAYS - 1))
                .unwrap_or(NaiveDate::MIN)
                .max(first)
        });
        let mut page = Page::new();
        self.fleet(&mut page, to, &holds).await?;
        self.daily(&mut page, from, to, &source_param, &holds)
            .await?;
        self.spikes(&mut page, from, to, &holds).await?;
        self.bots(&mut page, from, to, &holds).await?;
        self.utilisation(&mut page, from, to, &holds).await?;
        self.queues(&mut page, from, to, &holds).await?;
        self.logins(&mut page, from, to, &holds).await?;
        self.ingest(&mut page, &health, &holds);
        let mut filters = Vec::new();
        if let Some(v) = self.vendor {
            filters.push(format!("vendor {}", v.title()));
        }
        if let Some(s) = &self.source {
            filters.push(format!("Control Room or tenant {s}"));
        }
        let meta = vec![
            format!(
                "{from} to {to} ({} days, {}){}",
                every_day(from, to).len(),
                match tz {
                    Some(tz) => format!("days of the zone {tz}"),
                    None => "days in UTC".to_string(),
                },
                if filters.is_empty() {
                    String::new()
                } else {
                    format!("; only {}", filters.join(" and "))
                }
            ),
            format!(
                "Lake {lake}; written {} by botlake {}. Every number comes from a built-in view, named over its table: botlake query VIEW gives the same rows.",
                Utc::now().format("%Y-%m-%d %H:%M UTC"),
                env!("CARGO_PKG_VERSION")
            ),
        ];
        Ok(page.finish(&args.title, &meta))
    }

    /// Runs, success rate and run time per vendor and source: the last 30 days against
    /// the 30 before (`kpi_by_source`).
    async fn fleet(&self, page: &mut Page, to: NaiveDate, holds: &Holds) -> Result<()> {
        page.section(
            "fleet",
            "Fleet summary",
            "Runs, success rate (of finished runs) and run time per vendor and Control Room or tenant: the last 30 days against the 30 days before.",
        );
        let back = |days: u64| {
            to.checked_sub_days(Days::new(days))
                .unwrap_or(NaiveDate::MIN)
        };
        let (last_from, before_to, before_from) = (
            back(PERIOD_DAYS - 1),
            back(PERIOD_DAYS),
            back(2 * PERIOD_DAYS - 1),
        );
        let last = self
            .view(
                "kpi_by_source",
                days(last_from, to),
                Some("vendor"),
                Some("source"),
            )
            .await?;
        let before = self
            .view(
                "kpi_by_source",
                days(before_from, before_to),
                Some("vendor"),
                Some("source"),
            )
            .await?;
        if last.rows.is_empty() && before.rows.is_empty() {
            page.empty(
                &self
                    .no_runs(holds)
                    .unwrap_or_else(|| format!("No runs from {before_from} to {to}.")),
            );
            return Ok(());
        }
        let key = |rows: &Rows, r: usize| (rows.text(r, "vendor"), rows.text(r, "source"));
        let sources: BTreeSet<(String, String)> = (0..last.rows.len())
            .map(|r| key(&last.rows, r))
            .chain((0..before.rows.len()).map(|r| key(&before.rows, r)))
            .collect();
        let find =
            |rows: &Rows, k: &(String, String)| (0..rows.len()).find(|&r| key(rows, r) == *k);
        let labels: Vec<String> = sources
            .iter()
            .map(|(v, s)| format!("{s} · {}", vendor_short(v)))
            .collect();
        let series = |column: &str| {
            vec![
                Series {
                    name: format!("Last 30 days ({last_from} to {to})"),
                    colour: 0,
                    values: sources
                        .iter()
                        .map(|k| find(&last.rows, k).and_then(|r| last.rows.num(r, column)))
                        .collect(),
                },
                Series {
                    name: format!("30 days before ({before_from} to {before_to})"),
                    colour: 7,
                    values: sources
                        .iter()
                        .map(|k| find(&before.rows, k).and_then(|r| before.rows.num(r, column)))
                        .collect(),
                },
            ]
        };
        let legend = vec![
            (format!("Last 30 days ({last_from} to {to})"), 0),
            (format!("30 days before ({before_from} to {before_to})"), 7),
        ];
        page.raw("<div class=\"grid2\">");
        for (column, title, axis, num) in [
            ("runs", "Runs per source", "Runs (count)", Num::Count),
            (
                "success_rate",
                "Success rate per source",
                "Success rate (% of finished runs)",
                Num::Percent,
            ),
        ] {
            page.raw("<div>");
            page.chart(
                &svg::hbars(title, &labels, &series(column), axis, num, Width::Half),
                title,
                &legend,
            );
            page.raw("</div>");
        }
        page.raw("</div>");
        let columns = [
            col("vendor", "Vendor", None),
            col("source", "Source", None),
            col("runs", "Runs", Some(Num::Count)),
            col("finished", "Finished", Some(Num::Count)),
            col("success_rate", "Success rate", Some(Num::Percent)),
            col("failure_rate", "Failure rate", Some(Num::Percent)),
            col("runtime_hours", "Run time", Some(Num::Hours)),
            col("bots", "Bots", Some(Num::Count)),
        ];
        page.heading(&format!(
            "Last 30 days, {last_from} to {to} (kpi_by_source)"
        ));
        page.table_with(
            &last.origin(),
            &last.rows,
            &last.all(),
            &columns,
            true,
            &["Runs, change", "Success, change"],
            |r| {
                let before_row = find(&before.rows, &key(&last.rows, r));
                let was = |column: &str| before_row.and_then(|b| before.rows.num(b, column));
                vec![
                    change_percent(last.rows.num(r, "runs"), was("runs")),
                    change_points(last.rows.num(r, "success_rate"), was("success_rate")),
                ]
            },
        );
        page.heading(&format!(
            "The 30 days before, {before_from} to {before_to} (kpi_by_source)"
        ));
        if before.rows.is_empty() {
            page.empty(&format!("No runs from {before_from} to {before_to}."));
        } else {
            page.table(
                &before.origin(),
                &before.rows,
                &before.all(),
                &columns,
                true,
            );
        }
        Ok(())
    }

    /// Why there are no runs to show, if the filters or the lake say so.
    fn no_runs(&self, holds: &Holds) -> Option<String> {
        match self.vendor {
            Some(v) => self.left_out(v, holds, "runs"),
            None if !holds.automation_anywhere && !holds.uipath => {
                Some("The lake holds no runs yet: nothing has been ingested.".to_string())
            }
            None => None,
        }
    }

    /// Runs per day, stacked by vendor, and the success rate per day (`kpi_daily`).
    async fn daily(
        &self,
        page: &mut Page,
        from: NaiveDate,
        to: NaiveDate,
        source_param: &[(String, String)],
        holds: &Holds,
    ) -> Result<()> {
        page.section(
            "daily",
            "Runs and success rate per day",
            "Every run that started on the day (running ones included) and the share of the day's finished runs that succeeded, per vendor.",
        );
        let mut params = days(from, to);
        params.extend(source_param.iter().cloned());
        let daily = self.view("kpi_daily", params, Some("vendor"), None).await?;
        if daily.rows.is_empty() {
            page.empty(
                &self
                    .no_runs(holds)
                    .unwrap_or_else(|| format!("No runs from {from} to {to}.")),
            );
            return Ok(());
        }
        let all = every_day(from, to);
        let vendors: BTreeSet<String> = (0..daily.rows.len())
            .map(|r| daily.rows.text(r, "vendor"))
            .collect();
        let series = |column: &str| -> Vec<Series> {
            vendors
                .iter()
                .map(|v| Series {
                    name: vendor_title(v).to_string(),
                    colour: vendor_colour(v),
                    values: all
                        .iter()
                        .map(|d| {
                            (0..daily.rows.len())
                                .find(|&r| {
                                    daily.rows.day(r, "day") == Some(*d)
                                        && daily.rows.text(r, "vendor") == *v
                                })
                                .and_then(|r| daily.rows.num(r, column))
                        })
                        .collect(),
                })
                .collect()
        };
        let legend: Vec<(String, usize)> = vendors
            .iter()
            .map(|v| (vendor_title(v).to_string(), vendor_colour(v)))
            .collect();
        page.chart(
            &svg::day_bars(
                "Runs per day",
                &all,
                &series("runs"),
                "Runs (count)",
                Num::Count,
            ),
            "Runs per day, stacked by vendor.",
            &legend,
        );
        page.chart(
            &svg::day_lines(
                "Success rate per day",
                &all,
                &series("success_rate"),
                "Success rate (% of finished runs)",
                Num::Percent,
                1.0,
            ),
            "Success rate per day and vendor: succeeded of finished runs (a day without finished runs has no point).",
            &legend,
        );
        page.heading("Per day and vendor (kpi_daily)");
        page.table(
            &daily.origin(),
            &daily.rows,
            &daily.all(),
            &[
                col("day", "Day", None),
                col("vendor", "Vendor", None),
                col("runs", "Runs", Some(Num::Count)),
                col("finished", "Finished", Some(Num::Count)),
                col("failed", "Failed", Some(Num::Count)),
                col("running", "Running", Some(Num::Count)),
                col("success_rate", "Success rate", Some(Num::Percent)),
                col("runtime_hours", "Run time", Some(Num::Hours)),
                col("bots", "Bots", Some(Num::Count)),
            ],
            true,
        );
        Ok(())
    }

    /// Bot-days whose failure rate spiked above the bot's baseline (`failure_spikes`).
    async fn spikes(
        &self,
        page: &mut Page,
        from: NaiveDate,
        to: NaiveDate,
        holds: &Holds,
    ) -> Result<()> {
        page.section(
            "spikes",
            "Failure spikes",
            "Bot-days whose failure rate reached twice the bot's rate of the 7 days before, with at least 5 finished runs and 3 failures (failure_spikes' defaults), newest first.",
        );
        let spikes = self
            .view(
                "failure_spikes",
                days(from, to),
                Some("vendor"),
                Some("source"),
            )
            .await?;
        if spikes.rows.is_empty() {
            page.empty(
                &self
                    .no_runs(holds)
                    .unwrap_or_else(|| format!("No failure spikes from {from} to {to}.")),
            );
            return Ok(());
        }
        let shown: Vec<usize> = (0..spikes.rows.len()).take(self.top).collect();
        let labels: Vec<String> = shown
            .iter()
            .map(|&r| {
                format!(
                    "{} ({}), {}",
                    spikes.rows.text(r, "bot"),
                    spikes.rows.text(r, "source"),
                    spikes.rows.text(r, "day")
                )
            })
            .collect();
        let series = vec![
            Series {
                name: "Failure rate of the day".into(),
                colour: 3,
                values: shown
                    .iter()
                    .map(|&r| spikes.rows.num(r, "failure_rate"))
                    .collect(),
            },
            Series {
                name: "Baseline (the 7 days before)".into(),
                colour: 4,
                values: shown
                    .iter()
                    .map(|&r| spikes.rows.num(r, "baseline_rate"))
                    .collect(),
            },
        ];
        let legend: Vec<(String, usize)> =
            series.iter().map(|s| (s.name.clone(), s.colour)).collect();
        let caption = if shown.len() < spikes.rows.len() {
            format!(
                "The newest {} of {} spikes; all in the table.",
                shown.len(),
                spikes.rows.len()
            )
        } else {
            "Each spike's failure rate against its baseline.".to_string()
        };
        page.chart(
            &svg::hbars(
                "Failure spikes against their baseline",
                &labels,
                &series,
                "Failure rate (% of finished runs)",
                Num::Percent,
                Width::Full,
            ),
            &caption,
            &legend,
        );
        page.heading("Spikes (failure_spikes)");
        page.table(
            &spikes.origin(),
            &spikes.rows,
            &spikes.all(),
            &[
                col("day", "Day", None),
                col("source", "Source", None),
                col("bot", "Bot", None),
                col("finished", "Finished", Some(Num::Count)),
                col("failed", "Failed", Some(Num::Count)),
                col("failure_rate", "Failure rate", Some(Num::Percent)),
                col("baseline_rate", "Baseline", Some(Num::Percent)),
                col("times_baseline", "Times baseline", Some(Num::Times)),
                col("excess_failures", "Excess failures", Some(Num::Count)),
            ],
            true,
        );
        Ok(())
    }

    /// The top and bottom bots by volume, run time and failure rate (`bot_ranking`).
    async fn bots(
        &self,
        page: &mut Page,
        from: NaiveDate,
        to: NaiveDate,
        holds: &Holds,
    ) -> Result<()> {
        page.section(
            "bots",
            "Top and bottom bots",
            "Bots ranked over the whole fleet by runs, run time and failure rate (a failure-rate rank needs 10 finished runs); a bot is one of a Control Room or tenant.",
        );
        let ranking = self
            .view(
                "bot_ranking",
                days(from, to),
                Some("vendor"),
                Some("source"),
            )
            .await?;
        if ranking.rows.is_empty() {
            page.empty(
                &self
                    .no_runs(holds)
                    .unwrap_or_else(|| format!("No runs from {from} to {to}.")),
            );
            return Ok(());
        }
        let rows = &ranking.rows;
        for (rank, value, what, axis, num) in [
            ("volume_rank", "runs", "runs", "Runs (count)", Num::Count),
            (
                "runtime_rank",
                "runtime_hours",
                "run time",
                "Run time (hours)",
                Num::Hours,
            ),
            (
                "failure_rank",
                "failure_rate",
                "failure rate",
                "Failure rate (% of finished runs)",
                Num::Percent,
            ),
        ] {
            let mut ranked: Vec<usize> = (0..rows.len())
                .filter(|&r| rows.num(r, rank).is_some())
                .collect();
            ranked.sort_by(|&a, &b| {
                rows.num(a, rank)
                    .partial_cmp(&rows.num(b, rank))
                    .unwrap_or(std::cmp::Ordering::Equal)
                    .then_with(|| rows.text(a, "bot").cmp(&rows.text(b, "bot")))
            });
            if ranked.is_empty() {
                page.empty(&format!(
                    "No bot has a {what} rank: none has 10 finished runs from {from} to {to}."
                ));
                continue;
            }
            let top: Vec<usize> = ranked.iter().copied().take(self.top).collect();
            let bottom: Vec<usize> = ranked.iter().rev().copied().take(self.top).collect();
            page.raw("<div class=\"grid2\">");
            for (title, picked) in [
                (format!("Highest {what}"), &top),
                (format!("Lowest {what}"), &bottom),
            ] {
                let labels: Vec<String> = picked
                    .iter()
                    .map(|&r| format!("{} ({})", rows.text(r, "bot"), rows.text(r, "source")))
                    .collect();
                let series = [Series {
                    name: what.to_string(),
                    colour: if rank == "failure_rank" { 3 } else { 0 },
                    values: picked.iter().map(|&r| rows.num(r, value)).collect(),
                }];
                // Ties share a rank: say when more share the list's first than it shows.
                let first = picked.first().and_then(|&r| rows.num(r, rank));
                let tied = ranked
                    .iter()
                    .filter(|&&r| rows.num(r, rank) == first)
                    .count();
                let caption = if tied > picked.len() {
                    format!(
                        "{title}: {tied} bots share rank {}, {} of them shown.",
                        crate::html::grouped(first.unwrap_or_default(), 0),
                        picked.len()
                    )
                } else {
                    title.clone()
                };
                page.raw("<div>");
                page.chart(
                    &svg::hbars(&title, &labels, &series, axis, num, Width::Half),
                    &caption,
                    &[],
                );
                page.table(
                    &ranking.origin(),
                    rows,
                    picked,
                    &[
                        col(rank, "Rank", Some(Num::Count)),
                        col("bot", "Bot", None),
                        col("source", "Source", None),
                        col(value, axis.split(" (").next().unwrap_or(axis), Some(num)),
                    ],
                    picked.len() == rows.len(),
                );
                page.raw("</div>");
            }
            page.raw("</div>");
        }
        Ok(())
    }

    /// Host × day and robot × day heat maps of utilisation (`kpi_by_host`,
    /// `robot_utilization`).
    async fn utilisation(
        &self,
        page: &mut Page,
        from: NaiveDate,
        to: NaiveDate,
        holds: &Holds,
    ) -> Result<()> {
        page.section(
            "utilisation",
            "Host and robot utilisation",
            "Busy time per day as a share of the day: each run's time split at midnight over the days it ran on. Above 100 % only where runs overlapped on one host.",
        );
        let all = every_day(from, to);
        let hosts = self
            .view(
                "kpi_by_host",
                days(from, to),
                Some("vendor"),
                Some("source"),
            )
            .await?;
        page.heading("Hosts (Bot Runner devices and UiPath machines)");
        if hosts.rows.is_empty() {
            page.empty(
                &self
                    .no_runs(holds)
                    .unwrap_or_else(|| format!("No runs from {from} to {to}.")),
            );
        } else {
            self.heatmap(
                page,
                &hosts,
                &all,
                &["source", "host"],
                "utilisation",
                "Host utilisation per day",
                &[
                    col("day", "Day", None),
                    col("source", "Source", None),
                    col("host", "Host", None),
                    col("runs", "Runs", Some(Num::Count)),
                    col("busy_hours", "Busy", Some(Num::Hours)),
                    col("utilisation", "Utilisation", Some(Num::Percent)),
                ],
            );
        }
        page.heading("UiPath robots");
        if let Some(why) = self.left_out(Vendor::Uipath, holds, "robots' busy hours") {
            page.empty(&why);
            return Ok(());
        }
        let robots = self
            .view("robot_utilization", days(from, to), None, Some("tenant"))
            .await?;
        if robots.rows.is_empty() {
            page.empty(&format!("No finished UiPath job from {from} to {to}."));
        } else {
            self.heatmap(
                page,
                &robots,
                &all,
                &["robot_name", "host_machine_name"],
                "utilization",
                "UiPath robot utilisation per day",
                &[
                    col("day", "Day", None),
                    col("tenant", "Tenant", None),
                    col("robot_name", "Robot", None),
                    col("host_machine_name", "Machine", None),
                    col("jobs", "Jobs", Some(Num::Count)),
                    col("busy_hours", "Busy", Some(Num::Hours)),
                    col("utilization", "Utilisation", Some(Num::Percent)),
                ],
            );
        }
        Ok(())
    }

    /// A heat map of `value` per day for the busiest rows named by `keys` (their busy hours
    /// added up), and the table of its cells.
    #[allow(clippy::too_many_arguments)]
    fn heatmap(
        &self,
        page: &mut Page,
        result: &ViewRows,
        all: &[NaiveDate],
        keys: &[&str],
        value: &str,
        title: &str,
        columns: &[Column<'_>],
    ) {
        let rows = &result.rows;
        let name = |r: usize| {
            let parts: Vec<String> = keys.iter().map(|k| rows.text(r, k)).collect();
            parts.join(" · ")
        };
        let mut busy: BTreeMap<String, f64> = BTreeMap::new();
        for r in 0..rows.len() {
            *busy.entry(name(r)).or_default() += rows.num(r, "busy_hours").unwrap_or(0.0);
        }
        let mut names: Vec<(String, f64)> = busy.into_iter().collect();
        names.sort_by(|a, b| {
            b.1.partial_cmp(&a.1)
                .unwrap_or(std::cmp::Ordering::Equal)
                .then_with(|| a.0.cmp(&b.0))
        });
        let total = names.len();
        names.truncate(self.top);
        let shown: Vec<String> = names.into_iter().map(|(n, _)| n).collect();
        let index: BTreeMap<&str, usize> = shown
            .iter()
            .enumerate()
            .map(|(i, n)| (n.as_str(), i))
            .collect();
        let day_index: BTreeMap<NaiveDate, usize> =
            all.iter().enumerate().map(|(i, d)| (*d, i)).collect();
        let mut cells = vec![vec![None; all.len()]; shown.len()];
        let mut picked = Vec::new();
        for r in 0..rows.len() {
            let Some(&i) = index.get(name(r).as_str()) else {
                continue;
            };
            picked.push(r);
            if let Some(&d) = rows.day(r, "day").and_then(|d| day_index.get(&d)) {
                cells[i][d] = rows.num(r, value);
            }
        }
        let caption = if shown.len() < total {
            format!(
                "The {} busiest of {total}, by busy hours over the period; the table has their days.",
                shown.len()
            )
        } else {
            format!("{title}; a blank cell: nothing ran that day.")
        };
        page.chart(
            &svg::heatmap(title, &shown, all, &cells, Num::Percent),
            &caption,
            &[],
        );
        page.shade_legend();
        page.table(
            &result.origin(),
            rows,
            &picked,
            columns,
            picked.len() == rows.len(),
        );
    }

    /// UiPath queue items past their deadline, and transaction exceptions by type
    /// (`queue_sla`, `exceptions_by_type`).
    async fn queues(
        &self,
        page: &mut Page,
        from: NaiveDate,
        to: NaiveDate,
        holds: &Holds,
    ) -> Result<()> {
        page.section(
            "queues",
            "Queue SLA breaches and exceptions",
            "UiPath queue items done after their deadline (DueDate, or creation plus the queue's SLA) or still open past it, and transaction exceptions by type.",
        );
        if let Some(why) = self.left_out(Vendor::Uipath, holds, "queue items and exceptions") {
            page.empty(&why);
            return Ok(());
        }
        let all = every_day(from, to);
        let late = self
            .view("queue_sla", days(from, to), None, Some("tenant"))
            .await?;
        page.heading("Queue items past their deadline");
        if late.rows.is_empty() {
            page.empty(&format!(
                "No queue item was past its deadline from {from} to {to}."
            ));
        } else {
            let per_queue_keys = ["tenant", "queue_name"];
            let per_queue = count_by(&late.rows, &per_queue_keys, None);
            let mut queues: Vec<usize> = (0..per_queue.len()).collect();
            queues.sort_by(|&a, &b| {
                per_queue
                    .num(b, "count")
                    .partial_cmp(&per_queue.num(a, "count"))
                    .unwrap_or(std::cmp::Ordering::Equal)
            });
            // Six queues in colours of their own, the others together.
            let named: Vec<String> = queues
                .iter()
                .take(6)
                .map(|&q| per_queue.text(q, "queue_name"))
                .collect();
            let mut series: Vec<Series> = named
                .iter()
                .enumerate()
                .map(|(i, q)| Series {
                    name: q.clone(),
                    colour: i,
                    values: vec![None; all.len()],
                })
                .collect();
            if queues.len() > named.len() {
                series.push(Series {
                    name: "Other queues".into(),
                    colour: 6,
                    values: vec![None; all.len()],
                });
            }
            for r in 0..late.rows.len() {
                let Some(d) = late
                    .rows
                    .day(r, "day")
                    .and_then(|d| all.iter().position(|x| *x == d))
                else {
                    continue;
                };
                let queue = late.rows.text(r, "queue_name");
                let s = named
                    .iter()
                    .position(|q| *q == queue)
                    .unwrap_or(named.len());
                let cell = &mut series[s].values[d];
                *cell = Some(cell.unwrap_or(0.0) + 1.0);
            }
            let legend: Vec<(String, usize)> =
                series.iter().map(|s| (s.name.clone(), s.colour)).collect();
            page.chart(
                &svg::day_bars(
                    "Queue items past their deadline per day",
                    &all,
                    &series,
                    "Queue items (count)",
                    Num::Count,
                ),
                "Late queue items per day of their creation, stacked by queue.",
                &legend,
            );
            page.table(
                &late.grouped(&per_queue_keys),
                &per_queue,
                &queues,
                &[
                    col("tenant", "Tenant", None),
                    col("queue_name", "Queue", None),
                    col("count", "Items past deadline", Some(Num::Count)),
                ],
                true,
            );
        }
        let exceptions = self
            .view("exceptions_by_type", days(from, to), None, Some("tenant"))
            .await?;
        page.heading("Transaction exceptions by type");
        if exceptions.rows.is_empty() {
            page.empty(&format!("No transaction exceptions from {from} to {to}."));
            return Ok(());
        }
        let types: BTreeSet<String> = (0..exceptions.rows.len())
            .map(|r| exceptions.rows.text(r, "exception_type"))
            .collect();
        let series: Vec<Series> = types
            .iter()
            .enumerate()
            .map(|(i, t)| Series {
                name: t.clone(),
                colour: match t.as_str() {
                    "ApplicationException" => 3,
                    "BusinessException" => 1,
                    _ => 5 + i % 2,
                },
                values: sum_per_day(&exceptions.rows, &all, ("exception_type", t), "exceptions"),
            })
            .collect();
        let legend: Vec<(String, usize)> =
            series.iter().map(|s| (s.name.clone(), s.colour)).collect();
        page.chart(
            &svg::day_bars("Transaction exceptions per day", &all, &series, "Exceptions (count)", Num::Count),
            "ApplicationException: a system error, usually retried; BusinessException: bad data, not retried.",
            &legend,
        );
        let process_keys = ["tenant", "process_name", "exception_type"];
        let per_process = count_by(&exceptions.rows, &process_keys, Some("exceptions"));
        page.table(
            &exceptions.grouped(&process_keys),
            &per_process,
            &(0..per_process.len()).collect::<Vec<_>>(),
            &[
                col("tenant", "Tenant", None),
                col("process_name", "Process", None),
                col("exception_type", "Type", None),
                col("sum(exceptions)", "Exceptions", Some(Num::Count)),
            ],
            true,
        );
        Ok(())
    }

    /// Unsuccessful logins per day and per user (`audit_failed_logins`).
    async fn logins(
        &self,
        page: &mut Page,
        from: NaiveDate,
        to: NaiveDate,
        holds: &Holds,
    ) -> Result<()> {
        page.section(
            "logins",
            "Failed logins",
            "Unsuccessful logins to Automation Anywhere Control Rooms, from their audit trails.",
        );
        if let Some(why) = self.left_out(Vendor::AutomationAnywhere, holds, "failed logins") {
            page.empty(&why);
            return Ok(());
        }
        if !holds.audit {
            page.empty("The lake holds no audit events: failed logins come from them (botlake ingest aa audit).");
            return Ok(());
        }
        let logins = self
            .view(
                "audit_failed_logins",
                days(from, to),
                None,
                Some("control_room"),
            )
            .await?;
        if logins.rows.is_empty() {
            page.empty(&format!("No failed logins from {from} to {to}."));
            return Ok(());
        }
        let all = every_day(from, to);
        let rooms: BTreeSet<String> = (0..logins.rows.len())
            .map(|r| logins.rows.text(r, "control_room"))
            .collect();
        let series: Vec<Series> = rooms
            .iter()
            .enumerate()
            .map(|(i, room)| Series {
                name: room.clone(),
                colour: i % 6,
                values: sum_per_day(&logins.rows, &all, ("control_room", room), "failed_logins"),
            })
            .collect();
        let legend: Vec<(String, usize)> =
            series.iter().map(|s| (s.name.clone(), s.colour)).collect();
        page.chart(
            &svg::day_bars(
                "Failed logins per day",
                &all,
                &series,
                "Failed logins (count)",
                Num::Count,
            ),
            "Failed logins per day, stacked by Control Room.",
            &legend,
        );
        let user_keys = ["control_room", "user_name"];
        let per_user = count_by(&logins.rows, &user_keys, Some("failed_logins"));
        let mut users: Vec<usize> = (0..per_user.len()).collect();
        users.sort_by(|&a, &b| {
            per_user
                .num(b, "sum(failed_logins)")
                .partial_cmp(&per_user.num(a, "sum(failed_logins)"))
                .unwrap_or(std::cmp::Ordering::Equal)
        });
        page.heading("Per user (audit_failed_logins)");
        page.table(
            &logins.grouped(&user_keys),
            &per_user,
            &users,
            &[
                col("control_room", "Control Room", None),
                col("user_name", "User", None),
                col("sum(failed_logins)", "Failed logins", Some(Num::Count)),
                col("count", "Days", Some(Num::Count)),
            ],
            true,
        );
        Ok(())
    }

    /// Rows and rejects per table and source, when rows last came, and stale sources
    /// (`ingest_health`).
    fn ingest(&self, page: &mut Page, health: &ViewRows, holds: &Holds) {
        page.section(
            "ingest",
            "Ingest health",
            "Rows and rejected records per table and source, when new rows last arrived, and sources stale for 24 hours (ingest_health).",
        );
        if health.rows.is_empty() {
            page.empty(if !holds.automation_anywhere && !holds.uipath {
                "The lake holds nothing yet: no ingest has stored a row."
            } else {
                "No table holds rows of the vendor or source this report is filtered to."
            });
            return;
        }
        let rows = &health.rows;
        let stale: BTreeSet<String> = (0..rows.len())
            .filter(|&r| matches!(rows.get(r, "stale"), Value::Bool(true)))
            .map(|r| match rows.text(r, "source") {
                source if source.is_empty() => "(no source named)".to_string(),
                source => source,
            })
            .collect();
        if stale.is_empty() {
            page.text("No stale source: every source brought new rows within 24 hours.");
        } else {
            page.empty(&format!(
                "Stale: no new rows for more than 24 hours from {} (marked in the table).",
                stale.into_iter().collect::<Vec<_>>().join(", ")
            ));
        }
        let labels: Vec<String> = (0..rows.len())
            .map(|r| {
                format!(
                    "{} · {}",
                    rows.text(r, "source"),
                    rows.text(r, "table_name")
                )
            })
            .collect();
        let series = vec![
            Series {
                name: "Rows".into(),
                colour: 0,
                values: (0..rows.len()).map(|r| rows.num(r, "rows")).collect(),
            },
            Series {
                name: "Rejected records".into(),
                colour: 3,
                values: (0..rows.len()).map(|r| rows.num(r, "rejects")).collect(),
            },
        ];
        page.chart(
            &svg::hbars("Rows and rejected records per source and table", &labels, &series, "Records (count)", Num::Count, Width::Full),
            "Rows each table holds from each source, and the records of it rejected at ingest (in rejected_records, with their reason).",
            &[("Rows".into(), 0), ("Rejected records".into(), 3)],
        );
        page.table(
            &health.origin(),
            rows,
            &health.all(),
            &[
                col("vendor", "Vendor", None),
                col("source", "Source", None),
                col("table_name", "Table", None),
                col("rows", "Rows", Some(Num::Count)),
                col("rejects", "Rejected", Some(Num::Count)),
                col("last_ingested_at", "New rows last", None),
                col("hours_since", "Hours since", Some(Num::Count)),
                col("stale", "Stale", None),
            ],
            true,
        );
    }
}

/// For each of `days`, `value` added up over the rows of the day whose column `key.0` is
/// `key.1`; `None` for a day without such rows (or a sum of 0: no bar to draw).
fn sum_per_day(
    rows: &Rows,
    days: &[NaiveDate],
    key: (&str, &str),
    value: &str,
) -> Vec<Option<f64>> {
    let mut sums: BTreeMap<NaiveDate, f64> = BTreeMap::new();
    for r in 0..rows.len() {
        if rows.text(r, key.0) == key.1
            && let Some(day) = rows.day(r, "day")
        {
            *sums.entry(day).or_default() += rows.num(r, value).unwrap_or(0.0);
        }
    }
    days.iter()
        .map(|d| sums.get(d).copied().filter(|s| *s > 0.0))
        .collect()
}

/// The rows of `rows` grouped by the columns `keys`: those columns, `count` (rows in the
/// group) and, if `sum` names a column, `sum(COLUMN)`, ordered by the keys.
fn count_by(rows: &Rows, keys: &[&str], sum: Option<&str>) -> Rows {
    let mut groups: BTreeMap<Vec<String>, (i64, f64)> = BTreeMap::new();
    for r in 0..rows.len() {
        let key = keys.iter().map(|k| rows.text(r, k)).collect();
        let group = groups.entry(key).or_default();
        group.0 += 1;
        if let Some(column) = sum {
            group.1 += rows.num(r, column).unwrap_or(0.0);
        }
    }
    let mut columns: Vec<String> = keys.iter().map(|k| k.to_string()).collect();
    columns.push("count".into());
    if let Some(column) = sum {
        columns.push(format!("sum({column})"));
    }
    let values = groups
        .into_iter()
        .map(|(key, (count, total))| {
            let mut row: Vec<Value> = key.into_iter().map(Value::Text).collect();
            row.push(Value::Int(count));
            if sum.is_some() {
                row.push(Value::Int(total as i64));
            }
            row
        })
        .collect();
    Rows::new(columns, values)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rows() -> Rows {
        let row = |day: &str, room: &str, n: i64| {
            vec![
                Value::Text(day.into()),
                Value::Text(room.into()),
                Value::Int(n),
            ]
        };
        Rows::new(
            vec!["day".into(), "control_room".into(), "failed_logins".into()],
            vec![
                row("2026-11-01", "a", 2),
                row("2026-11-01", "a", 3),
                row("2026-11-01", "b", 7),
                row("2026-11-03", "a", 1),
            ],
        )
    }

    #[test]
    fn sums_per_day_keep_to_their_key_and_leave_days_without_rows_empty() {
        let days = every_day(
            NaiveDate::from_ymd_opt(2026, 11, 1).unwrap(),
            NaiveDate::from_ymd_opt(2026, 11, 3).unwrap(),
        );
        assert_eq!(
            sum_per_day(&rows(), &days, ("control_room", "a"), "failed_logins"),
            [Some(5.0), None, Some(1.0)]
        );
    }

    #[test]
    fn groups_count_their_rows_and_add_up_a_column() {
        let grouped = count_by(&rows(), &["control_room"], Some("failed_logins"));
        assert_eq!(grouped.len(), 2);
        assert_eq!(grouped.text(0, "control_room"), "a");
        assert_eq!(grouped.num(0, "count"), Some(3.0));
        assert_eq!(grouped.num(0, "sum(failed_logins)"), Some(6.0));
        assert_eq!(grouped.num(1, "sum(failed_logins)"), Some(7.0));
    }
}
