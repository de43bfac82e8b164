//! `botlake report`: the HTML file opened by headless Chromium (Debian's `chromium`, from
//! `.ci/peers`) with the network cut off; every number of its tables checked against
//! `botlake query` of the view and parameters the table names; lakes with no runs or no
//! Automation Anywhere data said so per section.

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::Value;

use crate::common::{botlake_env, lake_path, stderr};

/// A table of the page: where its rows come from (`data-` attributes of its `tbody`), and
/// its rows as column → exact value (`None`: NULL).
#[derive(Debug)]
struct Table {
    attributes: BTreeMap<String, String>,
    rows: Vec<BTreeMap<String, Option<String>>>,
}

/// `text` with the entities `esc` writes turned back.
fn unescape(text: &str) -> String {
    text.replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

/// The attributes of the tag that starts `tag` (`<td data-col="x" data-null>`).
fn attributes(tag: &str) -> BTreeMap<String, String> {
    let end = tag.find('>').expect("a tag ends");
    let mut rest = &tag[..end];
    let mut found = BTreeMap::new();
    // Past the tag's name.
    rest = rest.split_once(' ').map_or("", |(_, r)| r);
    while let Some(start) = rest.find(|c: char| c.is_ascii_alphabetic()) {
        rest = &rest[start..];
        let name_end = rest.find(['=', ' ']).unwrap_or(rest.len());
        let name = rest[..name_end].to_string();
        if rest[name_end..].starts_with("=\"") {
            let value_start = name_end + 2;
            let value_end = value_start + rest[value_start..].find('"').expect("a value ends");
            found.insert(name, unescape(&rest[value_start..value_end]));
            rest = &rest[value_end + 1..];
        } else {
            found.insert(name, String::new());
            rest = &rest[name_end..];
        }
    }
    found
}

/// Every table of the page whose rows come from a view.
fn tables(html: &str) -> Vec<Table> {
    let mut found = Vec::new();
    for part in html.split("<tbody").skip(1) {
        let body = &part[..part.find("</tbody>").expect("a tbody ends")];
        let of_body = attributes(body);
        let rows = body
            .split("<tr")
            .skip(1)
            .map(|row| {
                row.split("<td")
                    .skip(1)
                    .filter_map(|cell| {
                        let a = attributes(cell);
                        let column = a.get("data-col")?.clone();
                        let value = (!a.contains_key("data-null"))
                            .then(|| a.get("data-value").cloned().unwrap_or_default());
                        Some((column, value))
                    })
                    .collect()
            })
            .collect();
        found.push(Table {
            attributes: of_body,
            rows,
        });
    }
    found
}

/// `botlake query VIEW -p PARAM... --format json` on `lake`, as objects.
async fn query_json(lake: &str, view: &str, params: &str) -> Vec<serde_json::Map<String, Value>> {
    let mut args = vec!["--lake", lake, "query", view, "--format", "json"];
    for param in params.split('&').filter(|p| !p.is_empty()) {
        args.extend(["-p", param]);
    }
    let out = botlake_env(&args, &[]).await;
    assert!(out.status.success(), "{view}: {}", stderr(&out));
    let rows: Vec<Value> = serde_json::from_slice(&out.stdout).unwrap();
    rows.into_iter()
        .map(|r| r.as_object().unwrap().clone())
        .collect()
}

/// A JSON value as the page writes it exactly: text as it is, numbers compared as numbers.
fn same(page: &Option<String>, json: Option<&Value>) -> bool {
    match (page, json) {
        (None, None | Some(Value::Null)) => true,
        (Some(p), Some(Value::Number(n))) => {
            let (p, n): (f64, f64) = (p.parse().unwrap_or(f64::NAN), n.as_f64().unwrap());
            (p - n).abs() <= 1e-9 * n.abs().max(1.0)
        }
        (Some(p), Some(Value::String(s))) => p == s,
        (Some(p), Some(Value::Bool(b))) => *p == b.to_string(),
        _ => false,
    }
}

/// The value of `row`'s `column` as a grouping key: text, a number's text, or empty.
fn key_text(row: &serde_json::Map<String, Value>, column: &str) -> String {
    match row.get(column) {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Null) | None => String::new(),
        Some(other) => other.to_string(),
    }
}

/// The query's rows, with the page's filters applied and, if the page grouped them, grouped
/// as it says: `count` rows and `sum(COLUMN)` per group.
fn as_the_page_has_them(
    table: &Table,
    rows: Vec<serde_json::Map<String, Value>>,
) -> Vec<serde_json::Map<String, Value>> {
    let filters = &table.attributes["data-filters"];
    let rows: Vec<_> = rows
        .into_iter()
        .filter(|r| {
            filters.split('&').filter(|f| !f.is_empty()).all(|f| {
                let (column, value) = f.split_once('=').unwrap();
                key_text(r, column) == value
            })
        })
        .collect();
    let Some(group_by) = table.attributes.get("data-group-by") else {
        return rows;
    };
    let keys: Vec<&str> = group_by.split(',').collect();
    let sums: Vec<String> = table.rows[0]
        .keys()
        .filter_map(|c| {
            c.strip_prefix("sum(")?
                .strip_suffix(')')
                .map(str::to_string)
        })
        .collect();
    let mut groups: BTreeMap<Vec<String>, (u64, Vec<f64>)> = BTreeMap::new();
    for row in &rows {
        let key = keys.iter().map(|k| key_text(row, k)).collect();
        let group = groups.entry(key).or_insert((0, vec![0.0; sums.len()]));
        group.0 += 1;
        for (i, column) in sums.iter().enumerate() {
            group.1[i] += row.get(column).and_then(Value::as_f64).unwrap_or(0.0);
        }
    }
    groups
        .into_iter()
        .map(|(key, (count, totals))| {
            let mut row: serde_json::Map<String, Value> = keys
                .iter()
                .zip(key)
                .map(|(k, v)| (k.to_string(), Value::String(v)))
                .collect();
            row.insert("count".into(), count.into());
            for (column, total) in sums.iter().zip(totals) {
                row.insert(format!("sum({column})"), total.into());
            }
            row
        })
        .collect()
}

/// Headless Chromium on `page` (a file) with the network cut off: its exit, what it logged,
/// and the screenshot it took (`shot`).
fn chromium(page: &Path, shot: &Path, profile: &Path) -> (bool, String) {
    let binary = std::env::var("BOTLAKE_CHROMIUM").unwrap_or_else(|_| "chromium".into());
    let out = std::process::Command::new(&binary)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            // No name resolves and every request goes to a closed port: nothing is fetched.
            "--proxy-server=http://127.0.0.1:9",
            "--host-resolver-rules=MAP * ~NOTFOUND",
            // The page's console, on standard error.
            "--enable-logging=stderr",
            "--v=0",
            "--hide-scrollbars",
            "--window-size=1100,2200",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .arg(format!("--screenshot={}", shot.display()))
        .arg(format!("file://{}", page.display()))
        .output()
        .unwrap_or_else(|e| {
            panic!("cannot run {binary}: {e}; run `bash .ci/peers` (Debian's chromium) or set BOTLAKE_CHROMIUM")
        });
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// The page's console messages in what Chromium logged.
fn console(log: &str) -> Vec<&str> {
    log.lines().filter(|l| l.contains(":CONSOLE")).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_lakes_report_opens_offline_and_its_numbers_are_the_views() {
    let lake = crate::pg::demo_lake();
    let dir = tempfile::tempdir().unwrap();
    let page = dir.path().join("report.html");
    let out = botlake_env(
        &["--lake", lake, "report", "-o", page.to_str().unwrap()],
        &[],
    )
    .await;
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stderr(&out).contains("report.html"), "{}", stderr(&out));
    let html = std::fs::read_to_string(&page).unwrap();
    assert!(html.len() < 2 << 20, "{} bytes", html.len());
    // Nothing to fetch: no script, no image or style from elsewhere, no link off the page.
    for outside in ["<script", "src=", "href=\"http", "@import", "url("] {
        assert!(!html.contains(outside), "the page holds {outside}");
    }
    for id in [
        "fleet",
        "daily",
        "spikes",
        "bots",
        "utilisation",
        "queues",
        "logins",
        "ingest",
    ] {
        let body = section(&html, id);
        assert!(
            body.contains("<svg class=\"chart\"") && body.contains("<table>"),
            "the demo lake's {id} has a chart and a table"
        );
    }

    // Every table's rows are rows of the view it names, as `botlake query` gives them.
    let tables = tables(&html);
    let mut views: Vec<&str> = tables
        .iter()
        .map(|t| t.attributes["data-view"].as_str())
        .collect();
    views.sort();
    views.dedup();
    assert_eq!(
        views,
        [
            "audit_failed_logins",
            "bot_ranking",
            "exceptions_by_type",
            "failure_spikes",
            "ingest_health",
            "kpi_by_host",
            "kpi_by_source",
            "kpi_daily",
            "queue_sla",
            "robot_utilization"
        ]
    );
    let mut checked = 0;
    for table in &tables {
        let view = &table.attributes["data-view"];
        let theirs = as_the_page_has_them(
            table,
            query_json(lake, view, &table.attributes["data-params"]).await,
        );
        if table.attributes["data-rows"] == "all" {
            assert_eq!(
                table.rows.len(),
                theirs.len(),
                "{view}: {:?}",
                table.attributes
            );
        }
        assert!(!table.rows.is_empty(), "{view}");
        for row in &table.rows {
            let found = theirs.iter().any(|r| {
                row.iter()
                    // How long ago rows came changes with the clock.
                    .filter(|(c, _)| !(view == "ingest_health" && *c == "hours_since"))
                    .all(|(c, v)| same(v, r.get(c)))
            });
            assert!(
                found,
                "{view} {:?}: no row of botlake query is {row:?}",
                table.attributes
            );
            checked += row.len();
        }
    }
    assert!(checked > 1000, "{checked} values checked");

    // Chromium opens it with the network cut off, says nothing on its console, and takes a
    // screenshot. A page that reaches out is caught the same way.
    let shot = dir.path().join("report.png");
    let (ok, log) = chromium(&page, &shot, &dir.path().join("profile"));
    assert!(ok, "{log}");
    assert_eq!(console(&log), Vec::<&str>::new(), "{log}");
    let png = std::fs::read(&shot).unwrap();
    assert!(
        png.starts_with(b"\x89PNG") && png.len() > 20_000,
        "{} bytes",
        png.len()
    );
    let reaching = dir.path().join("reaching.html");
    std::fs::write(
        &reaching,
        html.replace(
            "</main>",
            "<img src=\"http://example.com/pixel.png\"></main>",
        ),
    )
    .unwrap();
    let (_, log) = chromium(
        &reaching,
        &dir.path().join("reaching.png"),
        &dir.path().join("p2"),
    );
    assert!(
        console(&log).iter().any(|l| l.contains("example.com")),
        "a page that fetches is told apart: {log}"
    );
}

/// The section `id` of the page.
fn section<'a>(html: &'a str, id: &str) -> &'a str {
    let start = html.find(&format!("<section id=\"{id}\"")).expect(id);
    &html[start..start + html[start..].find("</section>").unwrap()]
}

/// Each section of runs, hosts, queues and logins draws no axes and says why.
fn each_says_why_it_draws_nothing(html: &str) {
    for id in [
        "fleet",
        "daily",
        "spikes",
        "bots",
        "utilisation",
        "queues",
        "logins",
    ] {
        let body = section(html, id);
        assert!(!body.contains("<svg"), "{id} draws nothing: {body}");
        assert!(body.contains("class=\"empty\""), "{id} says why: {body}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lake_without_runs_or_without_a_vendor_says_so_in_each_section() {
    let dir = tempfile::tempdir().unwrap();
    let report = |lake: String, extra: &'static [&'static str]| {
        let page = dir.path().join("r.html");
        async move {
            let mut args = vec![
                "--lake",
                lake.as_str(),
                "report",
                "-o",
                page.to_str().unwrap(),
            ];
            args.extend(extra);
            let out = botlake_env(&args, &[]).await;
            assert!(out.status.success(), "{}", stderr(&out));
            std::fs::read_to_string(&page).unwrap()
        }
    };

    // A lake that holds no row: its one ingest's line was rejected.
    let empty = lake_path(&dir.path().join("empty"));
    let file = dir.path().join("bad.ndjson");
    std::fs::write(&file, "{\"Type\":\"job.created\",\"EventId\":\n").unwrap();
    let out = botlake_env(
        &["--lake", &empty, "ingest", "uipath", file.to_str().unwrap()],
        &[],
    )
    .await;
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    let html = report(empty.clone(), &[]).await;
    each_says_why_it_draws_nothing(&html);
    assert!(section(&html, "fleet").contains("The lake holds no runs yet"));
    assert!(section(&html, "queues").contains("The lake holds no UiPath data"));
    assert!(section(&html, "logins").contains("The lake holds no Automation Anywhere data"));
    // What it does hold: the rejected record.
    assert!(section(&html, "ingest").contains("data-col=\"rejects\" data-value=\"1\""));

    // A lake of UiPath events only.
    let uipath = lake_path(&dir.path().join("uipath"));
    let events = dir.path().join("events.ndjson");
    let out = botlake_env(
        &[
            "sim",
            "uipath",
            "--jobs",
            "300",
            "--out",
            events.to_str().unwrap(),
        ],
        &[],
    )
    .await;
    assert!(out.status.success(), "{}", stderr(&out));
    let out = botlake_env(
        &[
            "--lake",
            &uipath,
            "-q",
            "ingest",
            "uipath",
            events.to_str().unwrap(),
        ],
        &[],
    )
    .await;
    assert!(out.status.success(), "{}", stderr(&out));
    let html = report(uipath.clone(), &[]).await;
    for id in ["fleet", "daily", "bots", "utilisation", "queues"] {
        assert!(
            section(&html, id).contains("<svg class=\"chart\""),
            "{id} of UiPath's runs"
        );
    }
    assert!(section(&html, "logins").contains("The lake holds no Automation Anywhere data"));
    assert!(!section(&html, "logins").contains("<svg"));
    // Asked for the other vendor only, each section says so rather than drawing nothing.
    let html = report(uipath, &["--vendor", "automation_anywhere"]).await;
    each_says_why_it_draws_nothing(&html);
    assert!(section(&html, "queues").contains("--vendor leaves it out"));
    // A source the lake does not hold is a mistake to fix, and says which there are.
    let typo = dir.path().join("typo.html");
    let out = botlake_env(
        &[
            "--lake",
            &lake_path(&dir.path().join("uipath")),
            "report",
            "-o",
            typo.to_str().unwrap(),
            "--control-room",
            "AcmeCrop",
        ],
        &[],
    )
    .await;
    assert!(!typo.exists());
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("it holds AcmeCorp"),
        "{}",
        stderr(&out)
    );
}
