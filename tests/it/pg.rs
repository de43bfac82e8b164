//! `botlake serve` with real PostgreSQL clients: psql (Debian's `postgresql-client`), the
//! JDBC driver (Debian's `libpostgresql-jdbc-java`, run by a headless JRE), and psycopg 3
//! with SQLAlchemy and pandas (`.ci/venv`), each installed by `.ci/peers`. Each lists the
//! views and gets the rows `botlake` itself answers.

use std::process::Stdio;
use std::sync::OnceLock;

use botlake_sim::uipath::{UipathConfig, generate};
use serde_json::Value;
use tokio::io::AsyncBufReadExt;

use crate::common::{botlake_env, end, lake_path, peer, stderr, stdout};

const PASSWORD: &str = "pg-test-password";

/// A demo lake of 2,000 runs, made once for the tests that only read it.
pub(crate) fn demo_lake() -> &'static str {
    static LAKE: OnceLock<String> = OnceLock::new();
    LAKE.get_or_init(|| {
        let dir = concat!(env!("CARGO_TARGET_TMPDIR"), "/pg-demo-lake");
        let _ = std::fs::remove_dir_all(dir);
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_botlake"))
            .args(["--lake", dir, "demo", "--runs", "2000", "-q"])
            .env_remove("BOTLAKE_LAKE")
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", stderr(&out));
        dir.to_string()
    })
}

/// `botlake serve --pg` on a free loopback port: the child, and its URL.
async fn serve(lake: &str, extra: &[&str]) -> (tokio::process::Child, String) {
    let mut cmd = tokio::process::Command::new(env!("CARGO_BIN_EXE_botlake"));
    for (k, _) in std::env::vars() {
        if k.starts_with("BOTLAKE_") {
            cmd.env_remove(k);
        }
    }
    let mut child = cmd
        .args(["--lake", lake, "serve", "--pg", "127.0.0.1:0"])
        .args(extra)
        .env("BOTLAKE_PG_PASSWORD", PASSWORD)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut line = String::new();
    tokio::io::BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .await
        .unwrap();
    assert!(
        line.starts_with("postgresql://botlake@127.0.0.1:"),
        "no URL from botlake serve: {line:?}"
    );
    (child, line.trim().to_string())
}

/// `psql URL` with `args`, the password in the environment, no ~/.psqlrc.
async fn psql(url: &str, password: &str, args: &[&str]) -> std::process::Output {
    tokio::process::Command::new("psql")
        .arg(url)
        .args(["-X", "-v", "ON_ERROR_STOP=1", "-v", "VERBOSITY=verbose"])
        .args(args)
        .env("PGPASSWORD", password)
        .env("PGCONNECT_TIMEOUT", "10")
        .output()
        .await
        .expect("psql runs: install Debian's postgresql-client (.ci/peers does)")
}

/// `botlake --lake LAKE sql SQL --format csv`, as rows of cells (header first).
async fn botlake_csv(lake: &str, sql: &str) -> Vec<Vec<String>> {
    let out = botlake_env(&["--lake", lake, "--format", "csv", "sql", sql], &[]).await;
    assert!(out.status.success(), "{}", stderr(&out));
    csv_rows(&stdout(&out))
}

/// `botlake --lake LAKE query VIEW -p PARAM... --format csv`, as rows of cells.
async fn query_csv(lake: &str, view: &str, params: &[&str]) -> Vec<Vec<String>> {
    let mut args = vec!["--lake", lake, "query", view, "--format", "csv"];
    for param in params {
        args.extend(["-p", param]);
    }
    let out = botlake_env(&args, &[]).await;
    assert!(out.status.success(), "{}", stderr(&out));
    csv_rows(&stdout(&out))
}

fn csv_rows(text: &str) -> Vec<Vec<String>> {
    text.lines()
        .map(|l| l.split(',').map(str::to_string).collect())
        .collect()
}

/// Whether two result cells say the same: equal text, or equal numbers (`0` and `0.0`).
fn same_cell(a: &str, b: &str) -> bool {
    a == b || matches!((a.parse::<f64>(), b.parse::<f64>()), (Ok(x), Ok(y)) if x == y)
}

fn assert_same_rows(ours: &[Vec<String>], theirs: &[Vec<String>], what: &str) {
    assert_eq!(ours.len(), theirs.len(), "{what}: row counts differ");
    for (a, b) in ours.iter().zip(theirs) {
        assert!(
            a.len() == b.len() && a.iter().zip(b).all(|(x, y)| same_cell(x, y)),
            "{what}: {a:?} != {b:?}"
        );
    }
}

/// The names of the lake's views, as `botlake views` lists them.
async fn view_names() -> Vec<String> {
    let out = botlake_env(&["views", "--format", "csv"], &[]).await;
    assert!(out.status.success(), "{}", stderr(&out));
    let mut names: Vec<String> = csv_rows(&stdout(&out))
        .into_iter()
        .skip(1)
        .map(|r| r[0].clone())
        .collect();
    names.sort();
    names
}

fn table_names() -> Vec<String> {
    let mut names: Vec<String> = botlake_lake::catalog::tables()
        .into_iter()
        .chain(botlake_lake::catalog::rollups())
        .map(|t| t.name.to_string())
        .collect();
    names.sort();
    names
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn psql_lists_describes_and_queries_the_lake_as_botlake_does() {
    let lake = demo_lake();
    let (child, url) = serve(lake, &[]).await;

    // \dt and \dv: every table and view of the lake, in schema `lake`.
    let listed = |out: &std::process::Output| -> Vec<String> {
        assert!(out.status.success(), "{}", stderr(out));
        let mut names: Vec<String> = stdout(out)
            .lines()
            .filter_map(|l| l.split('|').nth(1).map(str::to_string))
            .collect();
        names.sort();
        names
    };
    let tables = listed(&psql(&url, PASSWORD, &["-A", "-t", "-c", r"\dt"]).await);
    assert_eq!(tables, table_names());
    let views = listed(&psql(&url, PASSWORD, &["-A", "-t", "-c", r"\dv"]).await);
    assert_eq!(views, view_names().await);

    // \d kpi_daily: its columns and types, as `botlake describe` has them.
    let out = psql(&url, PASSWORD, &["-A", "-c", r"\d kpi_daily"]).await;
    assert!(out.status.success(), "{}", stderr(&out));
    let described = stdout(&out);
    assert!(described.contains("View \"lake.kpi_daily\""), "{described}");
    let columns: Vec<(String, String)> = described
        .lines()
        .filter_map(|l| {
            let mut cells = l.split('|');
            Some((cells.next()?.to_string(), cells.next()?.to_string()))
        })
        .skip(1)
        .collect();
    let expected = botlake_csv(
        lake,
        "SELECT column_name FROM information_schema.columns WHERE table_name = 'kpi_daily' ORDER BY ordinal_position",
    )
    .await;
    let names: Vec<&str> = columns.iter().map(|(n, _)| n.as_str()).collect();
    let expected: Vec<&str> = expected[1..].iter().map(|r| r[0].as_str()).collect();
    assert_eq!(names, expected);
    assert!(
        columns.contains(&("day".into(), "date".into())),
        "{columns:?}"
    );
    assert!(
        columns.contains(&("runs".into(), "bigint".into())),
        "{columns:?}"
    );
    assert!(
        columns.contains(&("success_rate".into(), "double precision".into())),
        "{columns:?}"
    );

    // A view's rows, as `botlake query` answers them.
    let out = psql(
        &url,
        PASSWORD,
        &[
            "--csv",
            "-c",
            "SELECT * FROM kpi_daily ORDER BY day, vendor",
        ],
    )
    .await;
    assert!(out.status.success(), "{}", stderr(&out));
    let theirs = csv_rows(&stdout(&out));
    let ours = botlake_csv(lake, "SELECT * FROM kpi_daily ORDER BY day, vendor").await;
    assert!(ours.len() > 20, "{ours:?}");
    assert_same_rows(&ours, &theirs, "kpi_daily through psql");

    // A view's parameters as a table function's arguments; too many of them is an error.
    let out = psql(
        &url,
        PASSWORD,
        &[
            "-A",
            "-t",
            "-c",
            "SELECT count(*) FROM failure_spikes(1, 1, 1.5)",
        ],
    )
    .await;
    assert!(out.status.success(), "{}", stderr(&out));
    let spikes = query_csv(
        lake,
        "failure_spikes",
        &["min_finished=1", "min_failed=1", "factor=1.5"],
    )
    .await;
    assert_eq!(
        stdout(&out).trim().parse::<usize>().unwrap(),
        spikes.len() - 1
    );
    let out = psql(&url, PASSWORD, &["-c", "SELECT * FROM kpi_daily_x(1)"]).await;
    assert!(stderr(&out).contains("ERROR:"), "{}", stderr(&out));
    let out = psql(
        &url,
        PASSWORD,
        &["-c", "SELECT * FROM failure_spikes(1, 2, 3, NULL, NULL, 6)"],
    )
    .await;
    assert!(
        stderr(&out).contains("failure_spikes() takes at most 5 arguments"),
        "{}",
        stderr(&out)
    );

    // Bad input: a Postgres error with its SQLSTATE, never a dropped connection.
    for (sql, code) in [
        ("SELEC 1", "42601"),
        ("SELECT * FROM kpi_dialy", "42P01"),
        ("SELECT statuss FROM aa_bot_runs", "42703"),
        ("DELETE FROM aa_bot_runs", "25006"),
        ("DROP VIEW kpi_daily", "25006"),
        (
            "CREATE EXTERNAL TABLE x STORED AS CSV LOCATION '/etc/passwd'",
            "42501",
        ),
        ("SELECT * FROM '/etc/passwd'", "42P01"),
    ] {
        let out = psql(&url, PASSWORD, &["-c", sql]).await;
        let said = stderr(&out);
        assert_eq!(out.status.code(), Some(1), "{sql}: {said}");
        assert!(said.contains(&format!("ERROR:  {code}:")), "{sql}: {said}");
    }
    let out = psql(&url, PASSWORD, &["-c", "DELETE FROM aa_bot_runs"]).await;
    assert!(
        stderr(&out).contains("SQL reads the lake and never changes it"),
        "{}",
        stderr(&out)
    );
    // A wrong password, and a database that is not there.
    let out = psql(&url, "wrong", &["-c", "SELECT 1"]).await;
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("password authentication failed for user \"botlake\""),
        "{}",
        stderr(&out)
    );
    assert!(!stderr(&out).contains(PASSWORD));
    let other = format!("{}/other", url.strip_suffix("/botlake").unwrap());
    let out = psql(&other, PASSWORD, &["-c", "SELECT 1"]).await;
    assert!(
        stderr(&out).contains("database \"other\" does not exist"),
        "{}",
        stderr(&out)
    );
    // Still serving.
    let out = psql(
        &url,
        PASSWORD,
        &["-A", "-t", "-c", "SELECT count(*) FROM runs"],
    )
    .await;
    assert_eq!(
        stdout(&out).trim(),
        botlake_csv(lake, "SELECT count(*) FROM runs").await[1][0]
    );
    drop(child);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn psycopg_sqlalchemy_and_pandas_get_the_rows_botlake_answers() {
    let lake = demo_lake();
    let (child, url) = serve(lake, &[]).await;
    let python = peer("BOTLAKE_TEST_PYTHON", ".ci/venv/bin/python", "");
    let out = tokio::process::Command::new(python)
        .arg(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/pg/clients.py"))
        .args([&url, PASSWORD])
        .output()
        .await
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let got: Value = serde_json::from_str(&stdout(&out)).unwrap();
    let cells = |v: &Value| -> Vec<Vec<String>> {
        v.as_array()
            .unwrap()
            .iter()
            .map(|row| {
                row.as_array()
                    .unwrap()
                    .iter()
                    .map(|c| match c {
                        Value::String(s) => s.clone(),
                        other => other.to_string(),
                    })
                    .collect()
            })
            .collect()
    };

    let ours = botlake_csv(
        lake,
        "SELECT day, vendor, runs FROM kpi_daily WHERE vendor = 'automation_anywhere' AND runs >= 1 ORDER BY day",
    )
    .await;
    assert_same_rows(
        &ours[1..],
        &cells(&got["kpi_daily_aa"]),
        "psycopg kpi_daily",
    );
    // Grafana's query: timestamps bound to a date column.
    let range = cells(&Value::Array(vec![got["grafana_range"].clone()]));
    let (from, to) = (&range[0][0][..10], &range[0][1][..10]);
    let ours = botlake_csv(
        lake,
        &format!(
            "SELECT CAST(day AS TIMESTAMP) AS time, SUM(runs) AS runs FROM kpi_daily WHERE day BETWEEN DATE '{from}' AND DATE '{to}' GROUP BY day ORDER BY time"
        ),
    )
    .await;
    let theirs: Vec<Vec<String>> = cells(&got["grafana"])
        .into_iter()
        .map(|r| vec![r[0].replace('T', " "), r[1].clone()])
        .collect();
    let ours: Vec<Vec<String>> = ours[1..]
        .iter()
        .map(|r| vec![r[0].replace('T', " "), r[1].clone()])
        .collect();
    assert_same_rows(&ours, &theirs, "Grafana's time series");
    let ours = botlake_csv(lake, "SELECT count(*) FROM runs WHERE vendor = 'uipath'").await;
    assert_eq!(got["uipath_runs"].to_string(), ours[1][0]);
    let ours = botlake_csv(
        lake,
        "SELECT bot, runs, failed FROM kpi_by_bot ORDER BY runs DESC, bot",
    )
    .await;
    // Bot names hold commas in no demo Control Room; CSV quoting would differ otherwise.
    assert_same_rows(
        &ours[1..],
        &cells(&got["pandas_kpi_by_bot"]),
        "pandas kpi_by_bot",
    );
    assert_eq!(
        got["pandas_dtypes"],
        serde_json::json!(["str", "int64", "int64"])
    );

    // A view's parameters bound in a prepared statement, as `botlake query -p` binds them.
    let spikes = query_csv(lake, "failure_spikes", &["min_finished=1", "min_failed=1"]).await;
    let at = |name: &str| spikes[0].iter().position(|c| c == name).unwrap();
    let (day, bot, failed) = (at("day"), at("bot"), at("failed"));
    let mut ours: Vec<Vec<String>> = spikes[1..]
        .iter()
        .map(|r| vec![r[day].clone(), r[bot].clone(), r[failed].clone()])
        .collect();
    ours.sort();
    assert!(!ours.is_empty());
    // A bot can spike in two Control Rooms on one day: both sides in one order.
    let mut theirs = cells(&got["failure_spikes_1_1"]);
    theirs.sort();
    assert_same_rows(&ours, &theirs, "failure_spikes($1, $2)");

    // The schema browser's lists.
    assert_eq!(got["schemas"], serde_json::json!(["lake"]));
    assert_eq!(got["tables"], serde_json::json!(table_names()));
    assert_eq!(got["views"], serde_json::json!(view_names().await));
    // Each column of kpi_daily, named and typed as `botlake describe` has it.
    let described = botlake_env(
        &["--lake", lake, "describe", "kpi_daily", "--format", "csv"],
        &[],
    )
    .await;
    assert!(described.status.success(), "{}", stderr(&described));
    let expected: Vec<Value> = csv_rows(&stdout(&described))
        .into_iter()
        .skip(1)
        .map(|r| {
            let sql_type = match r[1].as_str() {
                "VARCHAR" => "TEXT",
                "DOUBLE" => "DOUBLE PRECISION",
                other => other,
            };
            serde_json::json!([r[0], sql_type, r[2] == "YES"])
        })
        .collect();
    assert_eq!(got["kpi_daily_columns"], Value::Array(expected));

    // Errors, each with its SQLSTATE; the connection answers after each.
    for (key, code) in [
        ("syntax", "42601"),
        ("unknown_table", "42P01"),
        ("write", "25006"),
        ("server_file", "42P01"),
        ("mid_stream", "22P02"),
        ("timeout", "57014"),
        ("cancel", "57014"),
    ] {
        assert_eq!(got[key][0], code, "{key}: {}", got[key]);
    }
    assert!(
        got["timeout"][1]
            .as_str()
            .unwrap()
            .contains("statement timeout")
    );
    assert!(got["cancel"][1].as_str().unwrap().contains("user request"));
    // The query would run for minutes: the timeout and the cancel end it at once.
    assert!(
        got["timeout_secs"].as_f64().unwrap() < 10.0,
        "{}",
        got["timeout_secs"]
    );
    assert!(
        got["cancel_secs"].as_f64().unwrap() < 10.0,
        "{}",
        got["cancel_secs"]
    );
    assert_eq!(got["still_answers"], 2);
    assert_eq!(got["after_cancel"], 4);
    assert_eq!(got["read_before_leaving"], 1000);

    // The client that left in the middle of a result did not take the server with it.
    let out = psql(&url, PASSWORD, &["-A", "-t", "-c", "SELECT 40 + 2"]).await;
    assert_eq!(stdout(&out).trim(), "42", "{}", stderr(&out));
    drop(child);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_jdbc_driver_browses_the_schema_and_runs_prepared_queries() {
    let lake = demo_lake();
    let (child, url) = serve(lake, &[]).await;
    let jdbc = url.replace("postgresql://botlake@", "jdbc:postgresql://") + "?prepareThreshold=1";
    let days = botlake_csv(lake, "SELECT min(day), max(day) FROM kpi_daily").await;
    let (from, to) = (days[1][0].clone(), days[1][1].clone());
    let out = tokio::process::Command::new("java")
        .args(["-cp", "/usr/share/java/postgresql.jar"])
        .arg(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/pg/Jdbc.java"))
        .args([&jdbc, PASSWORD, &from, &to])
        .output()
        .await
        .expect("java runs: install a headless JRE and libpostgresql-jdbc-java (.ci/peers does)");
    assert!(out.status.success(), "{}{}", stdout(&out), stderr(&out));
    let lines: Vec<Vec<String>> = stdout(&out)
        .lines()
        .map(|l| l.split('\t').map(str::to_string).collect())
        .collect();
    let of = |kind: &str| -> Vec<Vec<String>> {
        lines
            .iter()
            .filter(|l| l[0] == kind)
            .map(|l| l[1..].to_vec())
            .collect()
    };
    let mut tables: Vec<String> = of("table")
        .iter()
        .filter(|t| t[0] == "lake" && t[2] == "TABLE")
        .map(|t| t[1].clone())
        .collect();
    tables.sort();
    assert_eq!(tables, table_names());
    let mut views: Vec<String> = of("table")
        .iter()
        .filter(|t| t[0] == "lake" && t[2] == "VIEW")
        .map(|t| t[1].clone())
        .collect();
    views.sort();
    assert_eq!(views, view_names().await);
    let columns = of("column");
    assert_eq!(columns[0], ["day", "date"]);
    assert!(columns.contains(&vec!["runs".to_string(), "int8".to_string()]));
    let ours = botlake_csv(
        lake,
        &format!(
            "SELECT day, vendor, runs FROM kpi_daily WHERE day BETWEEN DATE '{from}' AND DATE '{to}' AND vendor = 'automation_anywhere' ORDER BY day"
        ),
    )
    .await;
    assert_same_rows(&ours[1..], &of("row"), "JDBC prepared kpi_daily");
    assert_eq!(of("write"), [["25006"]]);
    assert_eq!(
        of("runs")[0][0],
        botlake_csv(lake, "SELECT count(*) FROM runs").await[1][0]
    );
    drop(child);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sixty_four_clients_at_once_are_served_and_the_next_is_told_the_server_is_full() {
    let lake = demo_lake();
    let (child, url) = serve(lake, &["--max-connections", "64"]).await;
    let python = peer("BOTLAKE_TEST_PYTHON", ".ci/venv/bin/python", "");
    let out = tokio::process::Command::new(python)
        .arg(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/pg/many.py"))
        .args([&url, PASSWORD, "64"])
        .output()
        .await
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let got: Value = serde_json::from_str(&stdout(&out)).unwrap();
    let runs = botlake_csv(lake, "SELECT sum(runs) FROM kpi_daily").await[1][0].clone();
    let answers = got["answers"].as_array().unwrap();
    assert_eq!(answers.len(), 64, "{got}");
    assert!(
        answers.iter().all(|a| *a == runs.parse::<u64>().unwrap()),
        "{got}"
    );
    let one_more = got["one_more"].as_str().unwrap_or_default();
    assert!(
        one_more.contains("sorry, too many clients already"),
        "{got}"
    );
    // Once they have left, a client is served again.
    assert_eq!(got["after"], 1, "{got}");
    drop(child);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connection_reads_what_an_ingest_committed_since_its_last_statement() {
    let dir = tempfile::tempdir().unwrap();
    let lake = lake_path(dir.path());
    let write = |seed: u64| {
        let events = generate(&UipathConfig::new(seed, 30, end()));
        let file = dir.path().join(format!("events-{seed}.ndjson"));
        std::fs::write(&file, events.lines.join("\n")).unwrap();
        file.to_str().unwrap().to_string()
    };
    let (first, second) = (write(7), write(8));
    let out = botlake_env(&["--lake", &lake, "-q", "ingest", "uipath", &first], &[]).await;
    assert!(out.status.success(), "{}", stderr(&out));
    let count = "SELECT count(*) FROM uipath_job_events";
    let before: u64 = botlake_csv(&lake, count).await[1][0].parse().unwrap();
    let (child, url) = serve(&lake, &[]).await;
    // One connection: a statement, an ingest of other events, the statement again.
    let ingest = format!(
        r"\! {} --lake {lake} -q ingest uipath {second} > /dev/null",
        env!("CARGO_BIN_EXE_botlake")
    );
    let out = psql(
        &url,
        PASSWORD,
        &["-A", "-t", "-c", count, "-c", &ingest, "-c", count],
    )
    .await;
    assert!(out.status.success(), "{}", stderr(&out));
    let counts: Vec<u64> = stdout(&out)
        .lines()
        .filter_map(|l| l.trim().parse().ok())
        .collect();
    let after: u64 = botlake_csv(&lake, count).await[1][0].parse().unwrap();
    assert!(after > before, "{before} {after}");
    assert_eq!(counts, [before, after], "{}", stdout(&out));
    drop(child);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_is_offered_and_required_where_other_hosts_can_connect() {
    let lake = demo_lake();
    let dir = tempfile::tempdir().unwrap();
    let (cert, key) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
    let made = std::process::Command::new("openssl")
        .args([
            "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
        ])
        .args(["-subj", "/CN=localhost", "-keyout"])
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .output()
        .unwrap();
    assert!(made.status.success(), "{}", stderr(&made));
    let (cert, key) = (cert.to_str().unwrap(), key.to_str().unwrap());
    let (child, url) = serve(lake, &["--tls-cert", cert, "--tls-key", key]).await;
    for mode in ["require", "disable"] {
        let out = psql(
            &format!("{url}?sslmode={mode}"),
            PASSWORD,
            &["-A", "-t", "-c", "SELECT 1"],
        )
        .await;
        assert_eq!(stdout(&out).trim(), "1", "sslmode={mode}: {}", stderr(&out));
    }
    drop(child);

    // An address other hosts reach, without TLS: refused unless --allow-plaintext.
    let out = botlake_env(
        &["--lake", lake, "serve", "--pg", "0.0.0.0:0"],
        &[("BOTLAKE_PG_PASSWORD", PASSWORD)],
    )
    .await;
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("--tls-cert"), "{}", stderr(&out));
    // No password: refused, saying where it is read from.
    let out = botlake_env(&["--lake", lake, "serve"], &[]).await;
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("BOTLAKE_PG_PASSWORD"),
        "{}",
        stderr(&out)
    );
    // A key that is not one.
    let out = botlake_env(
        &[
            "--lake",
            lake,
            "serve",
            "--tls-cert",
            cert,
            "--tls-key",
            cert,
        ],
        &[("BOTLAKE_PG_PASSWORD", PASSWORD)],
    )
    .await;
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("--tls-key"), "{}", stderr(&out));
}
