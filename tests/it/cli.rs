//! The CLI's surface: errors a user can cause, their exit codes, and output formats.

use std::os::unix::fs::FileTypeExt;

use botlake_sim::ServerConfig;

use crate::common::*;

/// Replaces the temporary directory in messages, so snapshots are stable.
fn redact(text: &str, dir: &std::path::Path) -> String {
    text.replace(dir.to_str().unwrap(), "[TMP]")
}

/// A lake with the simulator's runs in it.
async fn demo_lake(dir: &std::path::Path) -> String {
    let lake = lake_path(dir);
    let server = sim(dataset(1, 1500), ServerConfig::default()).await;
    let out = ingest(&server, &lake, &["--from", "2026-10-01"]).await;
    assert!(out.status.success(), "{}", stderr(&out));
    server.stop().await.unwrap();
    lake
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn user_mistakes_exit_with_2_and_say_what_to_do() {
    let dir = tempfile::tempdir().unwrap();
    let lake = demo_lake(dir.path()).await;
    let missing = dir.path().join("missing").to_str().unwrap().to_string();
    let cases: [(&str, Vec<&str>); 13] = [
        ("unknown_view", vec!["--lake", &lake, "query", "nope"]),
        ("misspelt_view", vec!["--lake", &lake, "query", "kpi_daly"]),
        (
            "misspelt_table",
            vec!["--lake", &lake, "sql", "SELECT count(*) FROM aa_bot_run"],
        ),
        ("bad_sql", vec!["--lake", &lake, "sql", "SELEC 1"]),
        (
            "unknown_column",
            vec!["--lake", &lake, "sql", "SELECT nope FROM aa_bot_runs"],
        ),
        (
            "missing_lake",
            vec!["--lake", &missing, "query", "kpi_daily"],
        ),
        ("no_lake_given", vec!["query", "kpi_daily"]),
        (
            "bad_param",
            vec![
                "--lake",
                &lake,
                "query",
                "bot_ranking",
                "--param",
                "min_runs=ten",
            ],
        ),
        (
            "unknown_param",
            vec!["--lake", &lake, "query", "kpi_daily", "--param", "bot=x"],
        ),
        (
            "drop_a_lake_table",
            vec!["--lake", &lake, "sql", "DROP TABLE aa_bot_runs"],
        ),
        // Maintenance of a lake that is not there is one error, not a line per table.
        ("compact_missing_lake", vec!["--lake", &missing, "compact"]),
        ("vacuum_missing_lake", vec!["--lake", &missing, "vacuum"]),
        (
            "unknown_output_format",
            vec!["--lake", &lake, "-o", "kpi.docx", "query", "kpi_daily"],
        ),
    ];
    for (name, args) in cases {
        let out = botlake(&args).await;
        assert_eq!(out.status.code(), Some(2), "{name}: {}", stderr(&out));
        assert!(out.stdout.is_empty(), "{name}: nothing on stdout");
        insta::assert_snapshot!(name, redact(&stderr(&out), dir.path()));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_login_names_the_user_and_never_the_secret() {
    let server = sim(dataset(1, 100), ServerConfig::default()).await;
    let dir = tempfile::tempdir().unwrap();
    let lake = lake_path(dir.path());
    let secret = "Sup3r-Secret\\Value";
    let url = server.url();
    let out = botlake_env(
        &[
            "-vv",
            "--lake",
            &lake,
            "ingest",
            "aa-botinsight",
            "--url",
            &url,
            "--user",
            "botlake",
            "--from",
            "2026-10-01",
            "--to",
            "2026-10-31",
        ],
        &[("BOTLAKE_AA_PASSWORD", secret)],
    )
    .await;
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let all = format!("{}{}", String::from_utf8_lossy(&out.stdout), stderr(&out));
    assert!(all.contains("login as botlake refused"), "{all}");
    assert!(!all.contains("Sup3r"), "the secret leaked: {all}");
    server.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_that_is_not_there_is_retried_visibly_then_named() {
    // A port nothing listens on.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let dir = tempfile::tempdir().unwrap();
    let lake = lake_path(dir.path());
    let url = format!("http://127.0.0.1:{port}");
    let out = botlake_env(
        &[
            "--lake",
            &lake,
            "ingest",
            "aa-botinsight",
            "--url",
            &url,
            "--user",
            "botlake",
            "--max-attempts",
            "4",
            "--retry-base-ms",
            "10",
        ],
        &[("BOTLAKE_AA_PASSWORD", "x")],
    )
    .await;
    // Not a usage error: the server may be back on the next run.
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let err = stderr(&out);
    // Without -v, the third failure in a row is the first said.
    assert!(!err.contains("attempt 2 failed"), "{err}");
    assert!(
        err.contains(&format!(
            "{url}/v1/authentication: attempt 3 failed (Connection refused"
        )),
        "{err}"
    );
    assert!(err.contains("failed 4 times"), "{err}");
    assert!(err.contains("check the URL's host and port"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn query_formats_and_named_parameters() {
    let dir = tempfile::tempdir().unwrap();
    let lake = demo_lake(dir.path()).await;

    // kpi_by_bot's numbers agree with the raw table.
    let bots = sql(&lake, "SELECT sum(runs), sum(failed) FROM kpi_by_bot").await;
    let raw = sql(
        &lake,
        "SELECT count(*), sum(CASE WHEN status = 'FAILED' THEN 1 ELSE 0 END) FROM aa_bot_runs",
    )
    .await;
    assert_eq!(bots, raw);

    let out = botlake(&["--lake", &lake, "--format", "json", "query", "kpi_daily"]).await;
    assert!(out.status.success(), "{}", stderr(&out));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(json.as_array().is_some_and(|a| !a.is_empty()));

    let out = botlake(&[
        "--lake",
        &lake,
        "--format",
        "ndjson",
        "query",
        "kpi_by_host",
    ])
    .await;
    let lines = String::from_utf8(out.stdout).unwrap();
    assert!(
        lines
            .lines()
            .all(|l| serde_json::from_str::<serde_json::Value>(l).is_ok())
    );

    // A higher threshold leaves fewer bots with a failure-rate rank.
    let ranked = |min: &'static str| {
        let lake = lake.clone();
        async move {
            let out = botlake(&[
                "--lake",
                &lake,
                "--format",
                "csv",
                "query",
                "bot_ranking",
                "--param",
                &format!("min_runs={min}"),
            ])
            .await;
            assert!(out.status.success(), "{}", stderr(&out));
            String::from_utf8(out.stdout)
                .unwrap()
                .lines()
                .skip(1)
                .filter(|l| !l.ends_with(','))
                .count()
        }
    };
    assert!(ranked("1").await > ranked("100").await);

    let file = dir.path().join("runs.parquet");
    let out = botlake(&[
        "--lake",
        &lake,
        "--format",
        "parquet",
        "-o",
        file.to_str().unwrap(),
        "query",
        "runs",
    ])
    .await;
    assert!(out.status.success(), "{}", stderr(&out));
    let back = sql(
        &lake,
        &format!("SELECT count(*) FROM '{}'", file.to_str().unwrap()),
    )
    .await;
    let runs = sql(&lake, "SELECT count(*) FROM runs").await;
    assert_eq!(back, runs);

    let script = dir.path().join("two.sql");
    std::fs::write(&script, "SELECT 1 AS a;\nSELECT 2 AS b;").unwrap();
    let out = botlake(&[
        "--lake",
        &lake,
        "--format",
        "csv",
        "sql",
        "-f",
        script.to_str().unwrap(),
    ])
    .await;
    // Each result's CSV, a blank line between them (issue 31, 5).
    assert_eq!(String::from_utf8(out.stdout).unwrap(), "a\n1\n\nb\n2\n");

    // A script piped in runs as a file does, with the output flags; the first statement
    // that fails stops it with its exit code, and what ran before it was written.
    for args in [vec!["sql"], vec!["sql", "-f", "-"]] {
        let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_botlake"))
            .args(["--lake", &lake, "--format", "csv"])
            .args(&args)
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        std::io::Write::write_all(
            &mut child.stdin.take().unwrap(),
            b"SELECT 1 AS a;\nSELECT nope FROM runs;\nSELECT 3 AS c;\n",
        )
        .unwrap();
        let out = child.wait_with_output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stderr(&out));
        assert_eq!(stdout(&out), "a\n1\n", "{args:?}");
        assert!(stderr(&out).contains("nope"), "{}", stderr(&out));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_prompt_reads_what_was_committed_since_it_opened_and_keeps_what_was_made_in_it() {
    let dir = tempfile::tempdir().unwrap();
    let lake = demo_lake(dir.path()).await;
    let events =
        botlake_sim::uipath::generate(&botlake_sim::uipath::UipathConfig::new(5, 40, end()));
    let file = dir.path().join("export.ndjson");
    std::fs::write(&file, events.lines.join("\n")).unwrap();
    let ingest = format!(
        "!{} --lake {lake} -q ingest uipath {}",
        env!("CARGO_BIN_EXE_botlake"),
        file.display()
    );
    let shown = at_the_prompt(
        &lake,
        &[],
        &[
            "CREATE TABLE gone AS SELECT 1 AS x;",
            "CREATE VIEW over_gone AS SELECT x FROM gone;",
            "DROP TABLE gone;",
            "CREATE VIEW jobs AS SELECT count(*) AS n FROM uipath_job_events;",
            "CREATE TABLE kept AS SELECT 7 AS seven;",
            "SET datafusion.execution.batch_size = 1234;",
            "SELECT n AS before FROM jobs;",
            &ingest,
            "SELECT n AS after FROM jobs;",
            "SELECT seven FROM kept;",
            "SHOW datafusion.execution.batch_size;",
        ],
    );
    assert!(shown.contains("before\n0\n"), "{shown}");
    // The next statement said so, and read the new events through the view made before.
    assert!(
        shown.contains("(the lake changed: uipath_job_events new"),
        "{shown}"
    );
    assert!(
        shown.contains(&format!("after\n{}\n", events.counts[0])),
        "{shown}"
    );
    // A view over a table dropped since cannot be made again, and says so; the others
    // still are.
    assert!(
        shown.contains(
            "warning: CREATE VIEW over_gone AS SELECT x FROM gone could not be made again"
        ),
        "{shown}"
    );
    // The table and the setting made in the session are still there.
    assert!(shown.contains("seven\n7\n"), "{shown}");
    assert!(
        shown.contains("datafusion.execution.batch_size,1234"),
        "{shown}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_prompt_takes_statements_over_lines_and_its_commands() {
    let dir = tempfile::tempdir().unwrap();
    let lake = demo_lake(dir.path()).await;
    // Typed at a terminal (tests/prompt/drive.py waits for each prompt), with --format csv.
    let lines = [
        "SELECT count(*) AS n",
        "FROM aa_bot_runs;",
        "\\timing",
        "SELECT 41 + 1 AS answer;",
        "\\format table",
        "\\d aa_bot_runs",
        "\\dv",
        "SELECT nope FROM aa_bot_runs;",
        "\\nope",
        "SELECT 'still here' AS s;",
    ];
    let shown = at_the_prompt(&lake, &[], &lines);
    let runs = sql(&lake, "SELECT count(*) FROM aa_bot_runs").await;
    // A statement over two lines, in CSV; then timed.
    assert!(
        shown.contains(&format!("..> FROM aa_bot_runs;\nn\n{}\n", runs[0][0])),
        "{shown}"
    );
    assert!(shown.contains("timing on\n"), "{shown}");
    assert!(shown.contains("answer\n42\n"), "{shown}");
    let after_timing = &shown[shown.find("answer\n42\n").unwrap()..];
    assert!(
        after_timing
            .lines()
            .nth(2)
            .is_some_and(|l| l.ends_with(" s")),
        "{shown}"
    );
    // Tables after \format table: a table's columns, the views.
    assert!(shown.contains("| run_id "), "{shown}");
    assert!(shown.contains("| kpi_daily "), "{shown}");
    // Errors are said once, and the prompt goes on.
    assert!(
        shown.contains("error: Schema error: No field named nope.\n"),
        "{shown}"
    );
    assert!(shown.contains("error: unknown command \\nope"), "{shown}");
    assert!(shown.contains("| still here |"), "{shown}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn output_files_are_replaced_whole_and_take_their_format_from_the_name() {
    let dir = tempfile::tempdir().unwrap();
    let lake = demo_lake(dir.path()).await;
    let out_dir = dir.path().join("out");
    std::fs::create_dir(&out_dir).unwrap();
    let path = |name: &str| out_dir.join(name).to_str().unwrap().to_string();
    let query = |args: Vec<String>| {
        let lake = lake.clone();
        async move {
            let mut all = vec!["--lake".to_string(), lake];
            all.extend(args);
            botlake(&all.iter().map(String::as_str).collect::<Vec<_>>()).await
        }
    };
    let days = sql(&lake, "SELECT count(*) FROM kpi_daily").await;

    // No --format: the extension says which.
    for name in ["kpi.parquet", "kpi.csv", "kpi.ndjson", "kpi.json"] {
        let out = query(vec![
            "-o".into(),
            path(name),
            "query".into(),
            "kpi_daily".into(),
        ])
        .await;
        assert!(out.status.success(), "{}", stderr(&out));
        assert!(stderr(&out).contains(&format!(" rows to {}", path(name))));
    }
    let bytes = std::fs::read(path("kpi.parquet")).unwrap();
    assert!(bytes.starts_with(b"PAR1") && bytes.ends_with(b"PAR1"));
    let back = sql(
        &lake,
        &format!("SELECT count(*) FROM '{}'", path("kpi.parquet")),
    )
    .await;
    assert_eq!(back, days);
    let csv = std::fs::read_to_string(path("kpi.csv")).unwrap();
    assert!(csv.starts_with("day,vendor,runs,"), "{csv}");
    assert_eq!(
        csv.lines().count() - 1,
        days[0][0].parse::<usize>().unwrap()
    );
    let ndjson = std::fs::read_to_string(path("kpi.ndjson")).unwrap();
    assert!(
        ndjson
            .lines()
            .all(|l| serde_json::from_str::<serde_json::Value>(l).is_ok())
    );
    let json: serde_json::Value =
        serde_json::from_slice(&std::fs::read(path("kpi.json")).unwrap()).unwrap();
    assert_eq!(json.as_array().unwrap().len(), ndjson.lines().count());
    // SQL reads each back, the JSON array as well as the lines, and describe names their
    // columns.
    for name in ["kpi.csv", "kpi.ndjson", "kpi.json"] {
        let back = sql(&lake, &format!("SELECT count(*) FROM '{}'", path(name))).await;
        assert_eq!(back, days, "{name}");
        let out = query(vec![
            "--format".into(),
            "csv".into(),
            "describe".into(),
            path(name),
        ])
        .await;
        assert!(out.status.success(), "{}", stderr(&out));
        assert!(stdout(&out).contains("\nruns,BIGINT,"), "{}", stdout(&out));
    }
    // --format and a name that disagree are refused (issue 31, 5), and nothing is written.
    let out = query(vec![
        "--format".into(),
        "csv".into(),
        "-o".into(),
        path("kpi.json"),
        "query".into(),
        "kpi_daily".into(),
    ])
    .await;
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("disagree"), "{}", stderr(&out));
    assert!(
        !std::fs::read_to_string(path("kpi.json"))
            .unwrap()
            .starts_with("day,")
    );
    // .gz compresses whatever the name before it says; results without rows still have
    // CSV's header; an extension of no format is refused, and nothing is written.
    for (name, command, text) in [
        ("kpi.csv.gz", "query", "kpi_daily"),
        ("none.csv", "sql", "SELECT * FROM kpi_daily WHERE false"),
        ("kpi.docx", "query", "kpi_daily"),
    ] {
        let out = query(vec!["-o".into(), path(name), command.into(), text.into()]).await;
        if name.ends_with(".docx") {
            assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
            assert!(stderr(&out).contains("give --format"), "{}", stderr(&out));
        } else {
            assert!(out.status.success(), "{}", stderr(&out));
        }
    }
    let mut unzipped = String::new();
    std::io::Read::read_to_string(
        &mut flate2::read::GzDecoder::new(std::fs::File::open(path("kpi.csv.gz")).unwrap()),
        &mut unzipped,
    )
    .unwrap();
    assert_eq!(unzipped, csv);
    let header = csv.lines().next().unwrap();
    assert_eq!(
        std::fs::read_to_string(path("none.csv")).unwrap(),
        format!("{header}\n")
    );
    std::fs::remove_file(path("kpi.csv.gz")).unwrap();
    std::fs::remove_file(path("none.csv")).unwrap();

    // A query that fails while its rows are written leaves the file as it was, and nothing
    // beside it.
    let out = query(vec![
        "-o".into(),
        path("kpi.csv"),
        "sql".into(),
        "SELECT run_id / (run_id - (SELECT max(run_id) FROM aa_bot_runs)) FROM aa_bot_runs".into(),
    ])
    .await;
    assert!(!out.status.success());
    assert!(stderr(&out).contains("Divide by zero"), "{}", stderr(&out));
    assert_eq!(std::fs::read_to_string(path("kpi.csv")).unwrap(), csv);
    let mut names: Vec<String> = std::fs::read_dir(&out_dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    assert_eq!(names, ["kpi.csv", "kpi.json", "kpi.ndjson", "kpi.parquet"]);

    // A table shows --max-rows rows and says there are more; other formats write all.
    let table = |max: &'static str, sql: &'static str| {
        query(vec![
            "--max-rows".into(),
            max.into(),
            "sql".into(),
            sql.into(),
        ])
    };
    let out = table("5", "SELECT run_id FROM aa_bot_runs ORDER BY run_id").await;
    assert!(out.status.success(), "{}", stderr(&out));
    let shown: Vec<String> = stdout(&out)
        .lines()
        .filter(|l| l.starts_with("| ") && !l.contains("run_id"))
        .map(|l| l.trim_matches(|c| c == '|' || c == ' ').to_string())
        .collect();
    let first = sql(
        &lake,
        "SELECT run_id FROM aa_bot_runs ORDER BY run_id LIMIT 5",
    )
    .await;
    assert_eq!(shown, first.concat());
    assert!(stderr(&out).contains("more than 5 rows: the first 5 are shown"));
    let out = table("5", "SELECT run_id FROM aa_bot_runs LIMIT 5").await;
    assert!(!stderr(&out).contains("more than"), "{}", stderr(&out));
    let out = query(vec![
        "--max-rows".into(),
        "5".into(),
        "--format".into(),
        "csv".into(),
        "sql".into(),
        "SELECT run_id FROM aa_bot_runs".into(),
    ])
    .await;
    let all = sql(&lake, "SELECT count(*) FROM aa_bot_runs").await;
    assert_eq!((stdout(&out).lines().count() - 1).to_string(), all[0][0]);

    // Closed pipes: stdout (`| head`) and stderr (`2>&1 | head`) end the command quietly,
    // with success, never a panic (exit 101).
    for (closed, args) in [
        (
            "stdout",
            ["--format", "csv", "sql", "SELECT * FROM aa_bot_runs"].as_slice(),
        ),
        ("stderr", ["vacuum", "--dry-run"].as_slice()),
    ] {
        use std::process::Stdio;
        let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_botlake"))
            .args(["--lake", &lake])
            .args(args)
            .stdout(if closed == "stdout" {
                Stdio::piped()
            } else {
                Stdio::null()
            })
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        // The reading end closed before the command writes.
        if closed == "stdout" {
            drop(child.stdout.take());
        } else {
            drop(child.stderr.take());
        }
        let status = child.wait().unwrap();
        assert_eq!(status.code(), Some(0), "closed {closed}");
    }

    // A device is written, not replaced; a directory that is not there is a user error.
    let out = query(vec![
        "-o".into(),
        "/dev/null".into(),
        "query".into(),
        "kpi_daily".into(),
    ])
    .await;
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        std::fs::metadata("/dev/null")
            .unwrap()
            .file_type()
            .is_char_device()
    );
    let out = query(vec![
        "-o".into(),
        path("missing/kpi.csv"),
        "query".into(),
        "kpi_daily".into(),
    ])
    .await;
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("does not exist"), "{}", stderr(&out));
}

// Regression (issue 30, 3): a Parquet file the user names that is not one, or is broken
// past its footer, is the user's to mend (exit 2, the file named), never a panic or an
// internal error (exit 1); a good one next to them still reads.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_broken_parquet_file_the_user_names_exits_2_and_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let lake = demo_lake(dir.path()).await;
    let path = |name: &str| dir.path().join(name).to_str().unwrap().to_string();
    let out = botlake(&[
        "--lake",
        &lake,
        "-o",
        &path("good.parquet"),
        "sql",
        "SELECT * FROM runs",
    ])
    .await;
    assert!(out.status.success(), "{}", stderr(&out));
    let good = std::fs::read(path("good.parquet")).unwrap();
    let footer = u32::from_le_bytes(good[good.len() - 8..good.len() - 4].try_into().unwrap());
    let mut long_footer = good.clone();
    let at = long_footer.len() - 8;
    long_footer[at..at + 4].copy_from_slice(&(footer + 1_000_000).to_le_bytes());
    // Every page (between the leading magic and the footer) unreadable: found only when
    // rows are read.
    let mut broken_page = good.clone();
    let pages_end = good.len() - 8 - footer as usize;
    broken_page[4..pages_end].fill(0xff);
    let cases: [(&str, Vec<u8>, &str); 4] = [
        (
            "text.parquet",
            b"run_id,status\n1,FAILED\n".to_vec(),
            "PAR1",
        ),
        ("cut.parquet", good[..good.len() / 2].to_vec(), "PAR1"),
        ("long_footer.parquet", long_footer, "footer says"),
        ("broken_page.parquet", broken_page, "Parquet"),
    ];
    for (name, bytes, said) in cases {
        std::fs::write(path(name), bytes).unwrap();
        let statement = format!("SELECT * FROM '{}'", path(name));
        // Every row, so that every page is read.
        let args = ["--lake", &lake, "--format", "csv", "sql", &statement];
        let out = botlake(&args).await;
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(2), "{name}: {err}");
        assert!(
            err.contains(&format!("cannot read {}", path(name))) && err.contains(said),
            "{name}: {err}"
        );
        assert!(!err.contains("panicked"), "{name}: {err}");
    }
    let rows = sql(
        &lake,
        &format!("SELECT count(*) FROM '{}'", path("good.parquet")),
    )
    .await;
    assert_eq!(rows, sql(&lake, "SELECT count(*) FROM runs").await);
}

// Issue 31, 7: errors in botlake's terms. A missing file is said to be missing (not "table
// 'botlake.lake.x' not found"), a directory with no data files is said to be one (not a
// "bug in DataFusion"), and a query out of --memory-limit names that flag (not
// DataFusion's setting); all are the user's to mend, exit 2. `--fail-on-rows` exits 4
// when a result has rows, for alerts from cron, and 0 when it has none.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn errors_are_said_in_botlakes_terms_and_rows_can_fail_a_query() {
    let dir = tempfile::tempdir().unwrap();
    let lake = demo_lake(dir.path()).await;
    let missing = dir.path().join("missing.parquet").display().to_string();
    let empty = dir.path().join("x.parquet");
    std::fs::create_dir(&empty).unwrap();
    let empty = empty.display().to_string();
    let cases = [
        (
            vec!["sql".to_string(), format!("SELECT * FROM '{missing}'")],
            format!("no file {missing}"),
        ),
        (
            vec!["sql".to_string(), format!("SELECT * FROM '{empty}'")],
            "a directory without .parquet files".to_string(),
        ),
        (
            vec![
                "--memory-limit".to_string(),
                "64K".to_string(),
                "sql".to_string(),
                "SELECT run_id, host FROM runs ORDER BY host, start_time".to_string(),
            ],
            "needs more memory than --memory-limit".to_string(),
        ),
    ];
    for (args, said) in cases {
        let mut all = vec!["--lake", &lake];
        all.extend(args.iter().map(String::as_str));
        let out = botlake(&all).await;
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert!(err.contains(&said), "{args:?}: {err}");
        for internal in ["DataFusion", "datafusion.", "botlake.lake.", "bug"] {
            assert!(!err.contains(internal), "{args:?} says {internal}: {err}");
        }
    }
    let exit = |args: Vec<&'static str>| {
        let lake = lake.clone();
        async move {
            let mut all = vec!["--lake", lake.as_str(), "--format", "csv"];
            all.extend(args);
            botlake(&all).await
        }
    };
    let out = exit(vec!["sql", "--fail-on-rows", "SELECT 1 AS alert"]).await;
    assert_eq!(out.status.code(), Some(4), "{}", stderr(&out));
    assert_eq!(
        stdout(&out),
        "alert\n1\n",
        "the rows are written all the same"
    );
    let out = exit(vec![
        "sql",
        "--fail-on-rows",
        "SELECT 1 AS alert WHERE false",
    ])
    .await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let out = exit(vec!["query", "kpi_daily", "--fail-on-rows"]).await;
    assert_eq!(out.status.code(), Some(4), "{}", stderr(&out));
    let out = exit(vec!["query", "kpi_daily"]).await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
}

// Issue 31, 1 and 3: Ctrl-C while a statement runs cancels it and the prompt goes on, with
// what the session made; Ctrl-C at the prompt drops what was typed; the history is written
// after every statement (read here while the prompt still runs); a command typed in the
// middle of a statement runs as a command; \dv says each view's whole first sentence.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ctrl_c_cancels_the_statement_not_the_prompt() {
    let dir = tempfile::tempdir().unwrap();
    let lake = demo_lake(dir.path()).await;
    let home = dir.path().join("home");
    std::fs::create_dir(&home).unwrap();
    let history = home.join(".botlake_history");
    let saved = format!("!grep -q 'AS answer' {}", history.display());
    let shown = at_the_prompt(
        &lake,
        &[("HOME", home.to_str().unwrap())],
        &[
            "CREATE VIEW seven AS SELECT 7 AS seven;",
            "SELECT 41 + 1 AS answer;",
            &saved,
            "^C SELECT count(*) AS endless FROM range(1000000000000);",
            "SELECT seven FROM seven;",
            "SELECT 'lost' AS l",
            "^C",
            "SELECT 'kept' AS k",
            "\\timing",
            ";",
            "\\dv",
        ],
    );
    assert!(shown.contains("answer\n42\n"), "{shown}");
    assert!(shown.contains("cancelled\n"), "{shown}");
    assert!(!shown.contains("endless\n"), "{shown}");
    // The session's view outlived the cancelled statement.
    assert!(shown.contains("seven\n7\n"), "{shown}");
    // The dropped line is not part of the next statement, which the command did not end.
    assert!(shown.contains("timing on\n"), "{shown}");
    assert!(shown.contains("k\nkept\n"), "{shown}");
    assert!(!shown.contains("lost\n"), "{shown}");
    // A first sentence over two lines of a view's header, whole.
    assert!(
        shown.contains("add up over days: what the per-bot and daily views are made of."),
        "{shown}"
    );
    let history = std::fs::read_to_string(&history).unwrap();
    assert!(history.contains("SELECT seven FROM seven;"), "{history}");
}

// Issue 31, 5 and 6: a script of several results never silently keeps only the last. One
// file is refused before anything runs; a directory takes a file per result, named by a
// `-- name:` comment or numbered; CSV to standard output separates results with a blank
// line; a format and an extension that disagree are refused; an .xlsx file takes a sheet
// per result, its cells typed (read back by openpyxl, a real Excel reader).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn several_results_go_to_a_file_each_a_sheet_each_or_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let lake = demo_lake(dir.path()).await;
    let path = |name: &str| dir.path().join(name).to_str().unwrap().to_string();
    let script = path("report.sql");
    std::fs::write(
        &script,
        "-- name: daily\nSELECT day, runs FROM kpi_daily ORDER BY day;\n\
         CREATE VIEW one AS SELECT 1 AS a;\n\
         SELECT 'x;y' AS \"odd;name\", a, CAST(NULL AS BIGINT) AS nothing, true AS yes, \
         TIMESTAMP '2026-11-05 08:30:00' AS at FROM one; -- a trailing comment\n",
    )
    .unwrap();
    let run = |args: Vec<String>| {
        let lake = lake.clone();
        async move {
            let mut all = vec!["--lake".to_string(), lake];
            all.extend(args);
            botlake(&all.iter().map(String::as_str).collect::<Vec<_>>()).await
        }
    };
    let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();

    // One file, two results: refused, and nothing written.
    let out = run(s(&["-o", &path("out.csv"), "sql", "-f", &script])).await;
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("give 2 results"), "{}", stderr(&out));
    assert!(!std::path::Path::new(&path("out.csv")).exists());

    // A directory: a file each.
    let out = run(s(&[
        "-o",
        &format!("{}/", path("out")),
        "sql",
        "-f",
        &script,
    ]))
    .await;
    assert!(out.status.success(), "{}", stderr(&out));
    let days = sql(&lake, "SELECT count(*) FROM kpi_daily").await;
    let daily = std::fs::read_to_string(path("out/daily.csv")).unwrap();
    assert!(daily.starts_with("day,runs\n"), "{daily}");
    assert_eq!(
        daily.lines().count() - 1,
        days[0][0].parse::<usize>().unwrap()
    );
    let second = std::fs::read_to_string(path("out/2.csv")).unwrap();
    assert_eq!(
        second,
        "odd;name,a,nothing,yes,at\nx;y,1,,true,2026-11-05T08:30:00\n"
    );

    // Standard output: a blank line between results, a header each.
    let out = run(s(&[
        "--format",
        "csv",
        "sql",
        "SELECT 1 AS a; SELECT column1 AS b FROM (VALUES (2), (3)) ORDER BY b",
    ]))
    .await;
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(stdout(&out), "a\n1\n\nb\n2\n3\n");

    // A format the name contradicts.
    let out = run(s(&[
        "--format",
        "csv",
        "-o",
        &path("x.json"),
        "query",
        "kpi_daily",
    ]))
    .await;
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("disagree"), "{}", stderr(&out));

    // A workbook: a sheet per result, cells typed.
    let book = path("report.xlsx");
    let out = run(s(&["-o", &book, "sql", "-f", &script])).await;
    assert!(out.status.success(), "{}", stderr(&out));
    let python = crate::common::peer("BOTLAKE_DELTA_PYTHON", ".ci/venv/bin/python", "");
    let read = std::process::Command::new(python)
        .arg("-c")
        .arg(
            "import sys, openpyxl\n\
             wb = openpyxl.load_workbook(sys.argv[1])\n\
             for ws in wb.worksheets:\n\
             \x20   rows = list(ws.iter_rows(values_only=True))\n\
             \x20   print(ws.title, len(rows), [type(v).__name__ for v in rows[1]], rows[0], rows[1])\n",
        )
        .arg(&book)
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&read.stdout).to_string();
    assert!(
        read.status.success(),
        "{said}{}",
        String::from_utf8_lossy(&read.stderr)
    );
    let lines: Vec<&str> = said.lines().collect();
    assert_eq!(lines.len(), 2, "{said}");
    let header_and_days = days[0][0].parse::<usize>().unwrap() + 1;
    assert!(
        lines[0].starts_with(&format!("daily {header_and_days} ['datetime', 'int']")),
        "{said}"
    );
    assert!(
        lines[1].starts_with("2 2 ['str', 'int', 'NoneType', 'bool', 'datetime']"),
        "{said}"
    );
    assert!(
        lines[1].contains("datetime.datetime(2026, 11, 5, 8, 30)"),
        "{said}"
    );
}

// Issue 31, 2, 3 and 4 at a terminal: a table as wide as the terminal at most (columns that
// do not fit counted below it) and through the pager when longer than the terminal, `\x
// auto` blocks, NULL told from an empty string (and set by `\pset null`), numbers on the
// right, every result with its row count; `\o`, `\i` and `\e`; Tab completes a view's name.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_prompt_fits_the_terminal_and_has_psqls_commands() {
    let dir = tempfile::tempdir().unwrap();
    let lake = demo_lake(dir.path()).await;
    let home = dir.path().join("home");
    std::fs::create_dir(&home).unwrap();
    let at = |name: &str| home.join(name).to_str().unwrap().to_string();
    std::fs::write(at("script.sql"), "SELECT 41 + 1 AS from_file;\n").unwrap();
    let pager = format!("cat > {}", at("paged.txt"));
    let env = [
        ("HOME", at("")),
        ("COLUMNS", "50".to_string()),
        ("LINES", "12".to_string()),
        ("PAGER", pager),
        ("EDITOR", "sed -i s/41/42/".to_string()),
    ];
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let paged_has = |what: &str| format!("!grep -q '{what}' {}", at("paged.txt"));
    let lines = [
        "\\format table".to_string(),
        "\\pset null (none)".to_string(),
        "SELECT NULL AS nothing, '' AS empty, 12 AS n;".to_string(),
        "SELECT * FROM kpi_by_bot;".to_string(),
        paged_has("columns ("),
        "\\x auto".to_string(),
        "SELECT * FROM kpi_by_bot ORDER BY runs DESC LIMIT 2;".to_string(),
        paged_has("RECORD 2"),
        "\\x off".to_string(),
        "\\format csv".to_string(),
        format!("\\o {}", at("o.csv")),
        "SELECT 5 AS five;".to_string(),
        "\\o".to_string(),
        format!("!grep -q five {}", at("o.csv")),
        format!("\\i {}", at("script.sql")),
        "SELECT 41 AS edited;".to_string(),
        "\\e".to_string(),
        "SELECT count(*) AS n FROM kpi_dai\t;".to_string(),
    ];
    let lines: Vec<&str> = lines.iter().map(String::as_str).collect();
    let shown = at_the_prompt(&lake, &env, &lines);
    assert!(
        shown.contains("| (none)  |       | 12 |\n") && shown.contains("(1 row)\n"),
        "{shown}"
    );
    let paged = std::fs::read_to_string(at("paged.txt")).unwrap();
    assert!(paged.starts_with("-[ RECORD 1 ]"), "{paged}");
    assert!(paged.lines().all(|l| l.chars().count() <= 50), "{paged}");
    assert!(shown.contains("from_file\n42\n"), "{shown}");
    assert!(shown.contains("edited\n41\n"), "{shown}");
    assert!(shown.contains("edited\n42\n"), "{shown}");
    let days = sql(&lake, "SELECT count(*) FROM kpi_daily").await;
    assert!(shown.contains(&format!("n\n{}\n", days[0][0])), "{shown}");
    assert_eq!(std::fs::read_to_string(at("o.csv")).unwrap(), "five\n5\n");
}

// Issue 31, 10: completion scripts that the shells themselves accept, and a manual page.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn completions_and_the_manual_page() {
    let dir = tempfile::tempdir().unwrap();
    for (shell, marker) in [
        ("bash", "_botlake()"),
        ("zsh", "#compdef botlake"),
        ("fish", "complete -c botlake"),
    ] {
        let out = botlake(&["completions", shell]).await;
        assert!(out.status.success(), "{shell}: {}", stderr(&out));
        let script = stdout(&out);
        assert!(script.contains(marker), "{shell}: {script}");
        for word in ["query", "ingest", "memory-limit", "fail-on-rows"] {
            assert!(script.contains(word), "{shell} completes {word}");
        }
        if shell == "bash" {
            // Bash parses it (-n: read, not run).
            let file = dir.path().join("botlake.bash");
            std::fs::write(&file, &script).unwrap();
            let checked = std::process::Command::new("bash")
                .arg("-n")
                .arg(&file)
                .output()
                .unwrap();
            assert!(
                checked.status.success(),
                "{}",
                String::from_utf8_lossy(&checked.stderr)
            );
        }
    }
    let out = botlake(&["man"]).await;
    assert!(out.status.success(), "{}", stderr(&out));
    let page = stdout(&out);
    assert!(page.contains(".TH botlake"), "{page}");
    assert!(page.contains("completions"), "{page}");
    // A reader that stops early (`| head -1`) is no failure: clap_complete panicked there.
    for command in ["completions zsh", "man"] {
        let out = std::process::Command::new("bash")
            .arg("-c")
            .arg(format!(
                "set -o pipefail; {} {command} | head -1 > /dev/null",
                env!("CARGO_BIN_EXE_botlake")
            ))
            .output()
            .unwrap();
        assert!(out.status.success(), "{command}: {}", stderr(&out));
        assert!(
            !stderr(&out).contains("panicked"),
            "{command}: {}",
            stderr(&out)
        );
    }
}

// Issue 31, 10: a command's help puts its options in headed groups and ends with examples.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn help_groups_the_options_and_shows_examples() {
    for command in ["query", "sql", "ingest", "demo"] {
        let out = botlake(&[command, "--help"]).await;
        assert!(out.status.success(), "{}", stderr(&out));
        let help = stdout(&out);
        assert!(help.contains("\nExamples:\n  "), "{command}: {help}");
        let headings: &[&str] = if ["query", "sql"].contains(&command) {
            &["\nOutput:\n", "\nQueries:\n", "\nLake:\n"]
        } else {
            &["\nLake:\n"]
        };
        for heading in headings {
            assert!(help.contains(heading), "{command} has {heading}: {help}");
        }
    }
    let out = botlake(&["query", "--help"]).await;
    insta::assert_snapshot!("query_help", stdout(&out));
    // The query options are the query commands' alone; before the command they are still
    // taken (botlake 0.1's place), and not shown.
    let query_options = [
        "--format",
        "--max-rows",
        "--output",
        "--queries",
        "--memory-limit",
        "--from",
        "--to",
        "--tz",
        "--no-rollups",
    ];
    for command in ["query", "sql", "views", "describe", "tables"] {
        let help = stdout(&botlake(&[command, "--help"]).await);
        for option in query_options {
            assert!(help.contains(option), "{command} --help shows {option}");
        }
    }
    for command in [
        &["ingest", "--help"][..],
        &["compact", "--help"],
        &["listen", "--help"],
        &["sim", "serve", "--help"],
        &["--help"],
    ] {
        let help = stdout(&botlake(command).await);
        for option in query_options.iter().filter(|o| **o != "--no-rollups") {
            assert!(
                !help.contains(&format!("{option} ")),
                "{command:?} shows {option}: {help}"
            );
        }
    }
    // Commands that commit bring the rollups up to date, unless told not to.
    for command in [
        &["ingest", "aa-pages", "--help"][..],
        &["compact", "--help"],
    ] {
        let help = stdout(&botlake(command).await);
        assert!(help.contains("--no-rollups"), "{command:?}: {help}");
    }
}

// Issue 31, 8: a filter on a status no row has (upper case where the lake's statuses are
// lower case) says which values there are; one on a value there says nothing more.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_filter_on_a_status_that_never_occurs_lists_those_that_do() {
    let dir = tempfile::tempdir().unwrap();
    let lake = demo_lake(dir.path()).await;
    let out = botlake(&[
        "--lake",
        &lake,
        "--format",
        "csv",
        "sql",
        "SELECT count(*) AS n FROM runs WHERE vendor = 'automation_anywhere' AND status IN ('FAILED', 'failed')",
    ])
    .await;
    assert!(out.status.success(), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains("hint: no row of runs has status 'FAILED'; the values there are: failed,"),
        "{err}"
    );
    assert!(err.contains("succeeded"), "{err}");
    let out = botlake(&[
        "--lake",
        &lake,
        "sql",
        "SELECT count(*) FROM runs WHERE status = 'failed'",
    ])
    .await;
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(!stderr(&out).contains("hint"), "{}", stderr(&out));
}
