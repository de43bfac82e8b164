//! Every Automation Anywhere endpoint against the simulator: reconciliation with its ground
//! truth under faults, the A360 cursor overlap, two Control Rooms from one configuration
//! file, token refresh, and secrets kept out of all output.

use std::sync::Arc;

use botlake_sim::{Dataset, ServerConfig, SimConfig};
use chrono::Utc;

use crate::common::{
    assert_exactly_once, botlake_env, dataset, end, faults, ingest, lake_path, sim, sql, stderr,
};

fn task_names(data: &Dataset) -> String {
    data.tasks
        .iter()
        .map(|t| t.name)
        .collect::<Vec<_>>()
        .join(",")
}

/// `botlake ingest aa-audit` against `url` with quick retries.
async fn ingest_a360(url: &str, lake: &str, extra: &[&str]) -> std::process::Output {
    let mut args = vec![
        "--lake",
        lake,
        "ingest",
        "aa-audit",
        "--url",
        url,
        "--login",
        "botlake",
        "--control-room",
        "a360",
        "--retry-base-ms",
        "10",
    ];
    args.extend_from_slice(extra);
    botlake_env(&args, &[("BOTLAKE_AA_PASSWORD", "botlake-demo")]).await
}

fn one(rows: &[Vec<String>]) -> Vec<i64> {
    rows[0].iter().map(|v| v.parse().unwrap()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_endpoint_reconciles_with_the_simulator_under_faults() {
    let data = dataset(21, 6000);
    let now = data.end_time().timestamp_millis();
    let (runs, logs, audit) = (data.truth(now), data.log_truth(now), data.audit_truth(now));
    let tasks = task_names(&data);
    let server = sim(data.clone(), crate::common::config(faults(0.2))).await;
    let dir = tempfile::tempdir().unwrap();
    let lake = lake_path(dir.path());
    let start = (end() - chrono::Duration::days(30)).to_string();
    let args = [
        "--only",
        "runs,audit,tasks",
        "--tasks",
        &tasks,
        "--from",
        &start,
    ];
    let out = ingest(&server, &lake, &args).await;
    assert!(out.status.success(), "{}", stderr(&out));
    for table in [
        "aa_bot_runs",
        "aa_audit_events",
        "aa_task_metadata",
        "aa_task_logs",
        "aa_task_variable_profiles",
    ] {
        assert!(
            stderr(&out).contains(&format!("{table}: ")),
            "{table}: {}",
            stderr(&out)
        );
    }
    assert!(
        server
            .stats()
            .faults
            .load(std::sync::atomic::Ordering::Relaxed)
            > 0
    );
    assert_exactly_once(&lake, runs).await;

    let rows = sql(
        &lake,
        "SELECT count(*), count(DISTINCT event_id), sum(CAST(event_id AS BIGINT)), \
         sum(CASE WHEN status = 'Unsuccessful' THEN 1 ELSE 0 END) FROM aa_audit_events WHERE api = 'v11'",
    )
    .await;
    let e = audit.events as i64;
    assert_eq!(one(&rows), [e, e, audit.id_sum, audit.failed_logins as i64]);

    let rows = sql(
        &lake,
        "SELECT count(*), count(DISTINCT log_id), sum(log_id) FROM aa_task_logs",
    )
    .await;
    let l = logs.logs as i64;
    assert_eq!(one(&rows), [l, l, logs.id_sum]);
    // Each task's count variable (the second) adds up to the simulator's sum.
    for (t, task) in data.tasks.iter().enumerate() {
        let var = task.variables[1].name;
        let name = task.name.replace('\'', "''");
        let rows = sql(
            &lake,
            &format!(
                "SELECT coalesce(sum(CAST(variables['{var}'] AS BIGINT)), 0) FROM aa_task_logs WHERE task_name = '{name}'"
            ),
        )
        .await;
        assert_eq!(one(&rows), [logs.count_sums[t]], "{}", task.name);
    }
    let rows = sql(
        &lake,
        "SELECT count(*), count(DISTINCT task_name) FROM aa_task_metadata",
    )
    .await;
    assert_eq!(
        one(&rows),
        [data.tasks.len() as i64 * 4, data.tasks.len() as i64]
    );
    // The profile totals of each numeric variable equal the logs' sums over the same days
    // (the one profile window covers every log).
    let rows = sql(
        &lake,
        "SELECT count(*), sum(CASE WHEN abs(p.total_value_number - l.total) < 0.005 THEN 1 ELSE 0 END) \
         FROM aa_task_variable_profiles p \
         JOIN (SELECT task_name, variable_name, sum(number_value) AS total FROM task_log_values \
               WHERE variable_type = 'NUMBER' GROUP BY task_name, variable_name) l \
           ON l.task_name = p.task_name AND l.variable_name = p.variable_name",
    )
    .await;
    let r = one(&rows);
    assert_eq!(
        r[0],
        2 * data.tasks.len() as i64,
        "two numeric profiles per task"
    );
    assert_eq!(r[0], r[1], "profile totals equal the logs' sums");

    // The A360 API of the same Control Room, with the same faults.
    let url = server.url();
    let to = end().to_string();
    let out = ingest_a360(&url, &lake, &["--from", &start, "--to", &to]).await;
    assert!(out.status.success(), "{}", stderr(&out));
    let rows = sql(
        &lake,
        "SELECT count(*), count(DISTINCT event_id) FROM aa_audit_events WHERE api = 'a360' AND control_room = 'a360'",
    )
    .await;
    assert_eq!(one(&rows), [e, e]);

    // Again: nothing new anywhere.
    let out = ingest(&server, &lake, &args).await;
    assert!(out.status.success(), "{}", stderr(&out));
    let lines: Vec<String> = stderr(&out)
        .lines()
        .filter(|l| l.contains(" new, "))
        .map(str::to_string)
        .collect();
    assert_eq!(lines.len(), 5, "{lines:?}");
    assert!(lines.iter().all(|l| l.contains(" 0 new, ")), "{lines:?}");
    assert_exactly_once(&lake, runs).await;
    let rows = sql(&lake, "SELECT count(*) FROM aa_audit_events").await;
    assert_eq!(one(&rows), [2 * e]);
    server.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn task_and_audit_records_that_do_not_fit_are_rejected_with_the_reason() {
    let data = dataset(22, 3000);
    let now = data.end_time().timestamp_millis();
    let (logs, audit) = (data.log_truth(now), data.audit_truth(now));
    let tasks = task_names(&data);
    let server = sim(
        data,
        ServerConfig {
            bad_record_every: Some(10),
            ..ServerConfig::default()
        },
    )
    .await;
    let dir = tempfile::tempdir().unwrap();
    let lake = lake_path(dir.path());
    let start = (end() - chrono::Duration::days(30)).to_string();
    let args = ["--only", "audit,tasks", "--tasks", &tasks, "--from", &start];
    let out = ingest(&server, &lake, &args).await;
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    let rows = sql(
        &lake,
        "SELECT table_name, count(*), min(reason) FROM rejected_records GROUP BY table_name ORDER BY table_name",
    )
    .await;
    assert_eq!(rows.len(), 2, "{rows:?}");
    assert_eq!(rows[0][0], "aa_audit_events");
    assert!(rows[0][2].contains("createdOn"), "{rows:?}");
    assert_eq!(rows[1][0], "aa_task_logs");
    assert!(rows[1][2].contains("runDate"), "{rows:?}");
    let bad_audit: i64 = rows[0][1].parse().unwrap();
    let bad_logs: i64 = rows[1][1].parse().unwrap();
    assert_eq!(bad_audit, audit.events as i64 / 10);
    let landed = sql(&lake, "SELECT count(*) FROM aa_audit_events").await;
    assert_eq!(one(&landed), [audit.events as i64 - bad_audit]);
    let landed = sql(&lake, "SELECT count(*) FROM aa_task_logs").await;
    assert_eq!(one(&landed), [logs.logs as i64 - bad_logs]);
    server.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_a360_cursor_overlap_ingests_nothing_twice() {
    let data = dataset(23, 2000);
    let truth = data.audit_truth(data.end_time().timestamp_millis());
    let server = sim(data, crate::common::config(faults(0.1))).await;
    let url = server.url();
    let dir = tempfile::tempdir().unwrap();
    let lake = lake_path(dir.path());
    let start = (end() - chrono::Duration::days(30)).to_string();
    // The first ingest stops mid-day; small pages and windows exercise the paging.
    let mid = format!("{}T13:30:00Z", end() - chrono::Duration::days(10));
    let paging = ["--page-length", "37", "--window-hours", "72"];
    let mut args = vec!["--from", start.as_str(), "--to", mid.as_str()];
    args.extend_from_slice(&paging);
    let out = ingest_a360(&url, &lake, &args).await;
    assert!(out.status.success(), "{}", stderr(&out));
    // The next one starts at the stored cursor less a 12-hour overlap.
    let to = end().to_string();
    let mut args = vec!["--to", to.as_str(), "--overlap-minutes", "720"];
    args.extend_from_slice(&paging);
    let out = ingest_a360(&url, &lake, &args).await;
    assert!(out.status.success(), "{}", stderr(&out));
    let line = stderr(&out);
    let unchanged: u64 = line
        .split(" unchanged")
        .next()
        .and_then(|s| s.rsplit(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no unchanged count in {line}"));
    assert!(unchanged > 0, "the overlap re-fetched events: {line}");
    let rows = sql(
        &lake,
        "SELECT count(*), count(DISTINCT event_id) FROM aa_audit_events",
    )
    .await;
    let e = truth.events as i64;
    assert_eq!(one(&rows), [e, e]);
    server.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_control_rooms_from_one_config_file_stay_apart() {
    // Both end today, so the default window (the last 60 days) covers them.
    let today = Utc::now().date_naive();
    let prod = Arc::new(Dataset::generate(SimConfig::new(31, 3000, today)));
    let dev = Arc::new(Dataset::generate(SimConfig::new(32, 1200, today)));
    let (prod_truth, dev_truth) = (
        prod.truth(prod.end_time().timestamp_millis()),
        dev.truth(dev.end_time().timestamp_millis()),
    );
    let prod_server = sim(prod, crate::common::config(faults(0.1))).await;
    let dev_server = sim(
        dev,
        ServerConfig {
            password: "dev-secret".into(),
            ..ServerConfig::default()
        },
    )
    .await;
    let dir = tempfile::tempdir().unwrap();
    let lake = lake_path(dir.path());
    let config = dir.path().join("botlake.toml");
    std::fs::write(
        &config,
        format!(
            r#"lake = "{lake}"

[control_room.prod]
url = "{}"
user = "botlake"
password_env = "PROD_AA_PASSWORD"
only = ["runs"]
retry_base_ms = 10

[control_room.dev]
url = "{}"
user = "botlake"
password_env = "DEV_AA_PASSWORD"
only = ["runs"]
pagination = "offset"
window_days = 45
"#,
            prod_server.url(),
            dev_server.url()
        ),
    )
    .unwrap();
    let config = config.to_str().unwrap();
    let out = botlake_env(
        &["--config", config, "ingest", "--all"],
        &[
            ("PROD_AA_PASSWORD", "botlake-demo"),
            ("DEV_AA_PASSWORD", "dev-secret"),
        ],
    )
    .await;
    assert!(out.status.success(), "{}", stderr(&out));
    let rows = sql(
        &lake,
        "SELECT control_room, count(*), count(DISTINCT run_id), sum(run_id) FROM aa_bot_runs GROUP BY control_room ORDER BY control_room",
    )
    .await;
    let row = |t: botlake_sim::Truth, name: &str| {
        vec![
            name.to_string(),
            t.runs.to_string(),
            t.runs.to_string(),
            t.id_sum.to_string(),
        ]
    };
    assert_eq!(rows, [row(dev_truth, "dev"), row(prod_truth, "prod")]);

    // A flag overrides the file: only dev, and its secret from another variable.
    let out = botlake_env(
        &[
            "--config",
            config,
            "ingest",
            "aa-botinsight",
            "--control-room",
            "dev",
            "--password-env",
            "OTHER_PASSWORD",
        ],
        &[("OTHER_PASSWORD", "wrong")],
    )
    .await;
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("login as botlake refused"),
        "{}",
        stderr(&out)
    );
    prod_server.stop().await.unwrap();
    dev_server.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tokens_are_refreshed_before_they_expire() {
    let data = dataset(24, 1000);
    let truth = data.audit_truth(data.end_time().timestamp_millis());
    let server = sim(
        data,
        ServerConfig {
            token_ttl: Some(std::time::Duration::from_secs(600)),
            ..ServerConfig::default()
        },
    )
    .await;
    let dir = tempfile::tempdir().unwrap();
    let lake = lake_path(dir.path());
    let start = (end() - chrono::Duration::days(30)).to_string();
    let to = end().to_string();
    let args = [
        "--from",
        start.as_str(),
        "--to",
        to.as_str(),
        "--refresh-minutes",
        "0",
        "--page-length",
        "100",
    ];
    let out = ingest_a360(&server.url(), &lake, &args).await;
    assert!(out.status.success(), "{}", stderr(&out));
    let stats = server.stats();
    let load = |a: &std::sync::atomic::AtomicU64| a.load(std::sync::atomic::Ordering::Relaxed);
    assert_eq!(load(&stats.logins), 1, "one login");
    assert!(load(&stats.refreshes) > 1, "refreshed before requests");
    let rows = sql(&lake, "SELECT count(*) FROM aa_audit_events").await;
    assert_eq!(one(&rows), [truth.events as i64]);
    server.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn secrets_never_appear_in_the_output_of_a_failing_verbose_run() {
    let server = sim(dataset(25, 100), ServerConfig::default()).await;
    let url = server.url();
    let dir = tempfile::tempdir().unwrap();
    let lake = lake_path(dir.path());
    let secret = r"k3y-with\backslash-Zq9";
    for (source, user_flag, env) in [
        ("aa-audit", "--login", "BOTLAKE_AA_API_KEY"),
        ("aa-botinsight", "--user", "BOTLAKE_AA_API_KEY"),
        ("aa-audit", "--login", "BOTLAKE_AA_PASSWORD"),
        ("aa-botinsight", "--user", "BOTLAKE_AA_TOKEN"),
    ] {
        let out = botlake_env(
            &[
                "--lake",
                &lake,
                "-vv",
                "ingest",
                source,
                "--url",
                &url,
                user_flag,
                "botlake",
                "--max-attempts",
                "2",
                "--retry-base-ms",
                "1",
            ],
            &[(env, secret)],
        )
        .await;
        assert!(!out.status.success());
        let all = format!("{}{}", stderr(&out), String::from_utf8_lossy(&out.stdout));
        assert!(all.contains("botlake"), "{all}");
        assert!(
            !all.contains("k3y-with") && !all.contains("Zq9"),
            "{source} with {env} shows the secret: {all}"
        );
        let hint = if env == "BOTLAKE_AA_TOKEN" {
            "token"
        } else {
            "refused"
        };
        assert!(all.contains(hint), "{all}");
    }
    server.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a360_filters_become_filter_operands() {
    let data = dataset(26, 1000);
    let truth = data.audit_truth(data.end_time().timestamp_millis());
    let server = sim(data, ServerConfig::default()).await;
    let dir = tempfile::tempdir().unwrap();
    let lake = lake_path(dir.path());
    let start = (end() - chrono::Duration::days(30)).to_string();
    let to = end().to_string();
    let args = [
        "--from",
        start.as_str(),
        "--to",
        to.as_str(),
        "--status",
        "Unsuccessful",
        "--activity",
        "LOGIN",
    ];
    let out = ingest_a360(&server.url(), &lake, &args).await;
    assert!(out.status.success(), "{}", stderr(&out));
    let rows = sql(
        &lake,
        "SELECT count(*), count(DISTINCT status), sum(failed_logins) FROM aa_audit_events \
         CROSS JOIN (SELECT sum(failed_logins) AS failed_logins FROM audit_failed_logins)",
    )
    .await;
    let n = truth.failed_logins as i64;
    assert_eq!(one(&rows), [n, 1, n * n]);
    // A user filter narrows it further: the strangers' names are not runners'.
    let dir = tempfile::tempdir().unwrap();
    let lake = lake_path(dir.path());
    let mut args = args.to_vec();
    args.extend_from_slice(&["--user", "runner"]);
    let out = ingest_a360(&server.url(), &lake, &args).await;
    assert!(out.status.success(), "{}", stderr(&out));
    let rows = sql(
        &lake,
        "SELECT count(*), sum(CASE WHEN user_name LIKE 'runner%' THEN 1 ELSE 0 END) FROM aa_audit_events",
    )
    .await;
    let r = one(&rows);
    assert!(r[0] > 0 && r[0] < n, "{r:?} of {n}");
    assert_eq!(r[0], r[1]);
    server.stop().await.unwrap();
}

/// Logs (count, distinct ids, id sum) and v11 audit events (the same) in `lake`.
async fn log_and_audit_totals(lake: &str) -> Vec<i64> {
    let logs = sql(
        lake,
        "SELECT count(*), count(DISTINCT log_id), coalesce(sum(log_id), 0) FROM aa_task_logs",
    )
    .await;
    let audit = sql(
        lake,
        "SELECT count(*), count(DISTINCT event_id), coalesce(sum(CAST(event_id AS BIGINT)), 0) \
         FROM aa_audit_events WHERE api = 'v11'",
    )
    .await;
    one(&logs).into_iter().chain(one(&audit)).collect()
}

// Regression (issue 29, 9): the v11 task-log and audit cursors had no overlap and followed
// this machine's clock. With the Control Room's clock a day behind, or records it made
// visible late, the cursor passed records not yet seen, and they were never fetched. The
// cursors follow the Control Room's data now (the newest record seen, less an overlap of
// --overlap-days, 1), and keys keep what is read again from being stored twice.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn late_records_and_a_control_room_clock_behind_or_ahead_lose_nothing() {
    let data = dataset(29, 3000);
    let tasks = task_names(&data);
    let at = |t: &str| t.parse::<chrono::DateTime<Utc>>().unwrap();
    let dir = tempfile::tempdir().unwrap();
    // (what happens, the Control Room's clock at each ingest, the client's last day at
    // each ingest, records whose index lags at the first one)
    let cases = [
        (
            "its clock a day behind",
            ["2026-10-20T18:00:00Z", "2026-10-21T18:00:00Z"],
            ["2026-10-21", "2026-10-22"],
            None,
        ),
        (
            "records visible late",
            ["2026-10-20T12:00:00Z", "2026-10-21T12:00:00Z"],
            ["2026-10-20", "2026-10-21"],
            Some((3, std::time::Duration::from_secs(20 * 3600))),
        ),
        (
            "its clock ahead",
            ["2026-10-21T06:00:00Z", "2026-10-22T06:00:00Z"],
            ["2026-10-20", "2026-10-21"],
            None,
        ),
    ];
    for (i, (case, clocks, days, late)) in cases.into_iter().enumerate() {
        let lake = lake_path(&dir.path().join(i.to_string()));
        for (n, (clock, day)) in clocks.iter().zip(days).enumerate() {
            let server = sim(
                data.clone(),
                ServerConfig {
                    now: Some(at(clock)),
                    late: if n == 0 { late } else { None },
                    ..ServerConfig::default()
                },
            )
            .await;
            let url = server.url();
            let mut args = vec![
                "--lake",
                &lake,
                "ingest",
                "aa-botinsight",
                "--url",
                &url,
                "--user",
                "botlake",
                "--control-room",
                "late",
                "--only",
                "audit,tasks",
                "--tasks",
                &tasks,
                "--to",
                day,
                "--retry-base-ms",
                "10",
            ];
            if n == 0 {
                args.extend(["--from", "2026-10-01"]);
            }
            let out = botlake_env(&args, &[("BOTLAKE_AA_PASSWORD", "botlake-demo")]).await;
            assert!(out.status.success(), "{case}: {}", stderr(&out));
            server.stop().await.unwrap();
        }
        // Everything the Control Room had made visible by the last ingest, up to the
        // client's last day, and nothing twice.
        let last = at(clocks[1])
            .min(at(&format!("{}T00:00:00Z", days[1])) + chrono::Duration::days(1))
            .timestamp_millis()
            - 1;
        let (logs, audit) = (data.log_truth(last), data.audit_truth(last));
        let (l, a) = (logs.logs as i64, audit.events as i64);
        assert_eq!(
            log_and_audit_totals(&lake).await,
            [l, l, logs.id_sum, a, a, audit.id_sum],
            "{case}"
        );
    }
}

// Issue 32 (1, 2, 4, 6, 8): each generation the simulator plays, with 20 % faults and a
// token that the Control Room refuses after 10 requests, reconciles exactly with its truth.
// 11.3's documented shapes (page numbers, task logs by from/to, profileVariables) land the
// rows the spec's do; Automation 360's run data lands with api = 'a360' beside its
// executions (asked at v2 once v3 answers 404) and audit log, from a Control Room that
// takes only `Authorization: Bearer`, and `runs` counts each of its runs once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_generation_reconciles_under_faults_and_an_expiring_token() {
    use botlake_sim::Generation;
    let data = dataset(32, 6000);
    let now = data.end_time().timestamp_millis();
    let (runs, logs, audit) = (data.truth(now), data.log_truth(now), data.audit_truth(now));
    let tasks = task_names(&data);
    let start = (end() - chrono::Duration::days(30)).to_string();
    let dir = tempfile::tempdir().unwrap();
    let mut lakes = Vec::new();
    for (generation, name, api) in [
        (Generation::V11, "11.x", "v11"),
        (Generation::V113, "11.3", "v11"),
        (Generation::A360, "a360", "a360"),
    ] {
        let a360 = generation == Generation::A360;
        let config = ServerConfig {
            generation,
            token_uses: Some(10),
            bearer_only: a360,
            // A Control Room whose activity API answers at v2 only: v3 is 404.
            activity_v2_only: a360,
            ..crate::common::config(faults(0.2))
        };
        let server = sim(data.clone(), config).await;
        let lake = lake_path(&dir.path().join(name));
        let mut args = vec!["--generation", name, "--from", &start, "--tasks", &tasks];
        args.extend_from_slice(match a360 {
            true => &["--only", "runs,executions,audit", "--auth", "bearer"],
            false => &["--only", "runs,audit,tasks"],
        });
        let out = ingest(&server, &lake, &args).await;
        assert!(out.status.success(), "{name}: {}", stderr(&out));
        let logins = server
            .stats()
            .logins
            .load(std::sync::atomic::Ordering::Relaxed);
        assert!(logins > 1, "{name}: the token expired, so {logins} logins");
        assert_exactly_once(&lake, runs).await;
        let rows = sql(
            &lake,
            &format!("SELECT count(*) FROM aa_bot_runs WHERE api = '{api}'"),
        )
        .await;
        assert_eq!(one(&rows), [runs.runs as i64], "{name}");
        let rows = sql(
            &lake,
            "SELECT count(DISTINCT event_id), min(api) FROM aa_audit_events",
        )
        .await;
        assert_eq!(
            rows[0],
            [audit.events.to_string(), api.to_string()],
            "{name}"
        );
        if !a360 {
            let rows = sql(
                &lake,
                "SELECT count(DISTINCT log_id), sum(log_id) FROM aa_task_logs",
            )
            .await;
            assert_eq!(one(&rows), [logs.logs as i64, logs.id_sum], "{name}");
        }
        server.stop().await.unwrap();
        lakes.push(lake);
    }
    // What 11.3 answers in its own shapes lands as what 11.x answers in the spec's.
    for query in [
        "SELECT run_id, status, start_time, end_time, time_taken_ms, file_name, user_name FROM aa_bot_runs ORDER BY run_id",
        "SELECT log_id, task_name, run_date, array_to_string(map_keys(variables), '|'), array_to_string(map_values(variables), '|') FROM aa_task_logs ORDER BY log_id",
        "SELECT task_name, from_date, to_date, variable_name, round(total_value_number, 2), run_count \
         FROM aa_task_variable_profiles ORDER BY task_name, variable_name",
        "SELECT event_id, activity_type, status, created_on FROM aa_audit_events ORDER BY event_id",
    ] {
        let (spec, documented) = (sql(&lakes[0], query).await, sql(&lakes[1], query).await);
        assert!(!spec.is_empty(), "{query}");
        assert_eq!(spec, documented, "{query}");
    }
}

// Issue 32 (3, 7): without --generation, the login answer says which Control Room it is
// (Automation 360's names a tenant), and botlake says what it detected; a --from before
// the 60 days of run data a Control Room keeps (by its clock, its answers' Date) is refused
// with both ways on, and --clamp starts at the oldest day it keeps, saying so.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_generation_is_detected_and_a_range_beyond_what_is_kept_is_refused_or_clamped() {
    use botlake_sim::Generation;
    let data = dataset(33, 2000);
    let now = data.end_time().timestamp_millis();
    let runs = data.truth(now);
    let dir = tempfile::tempdir().unwrap();
    for (generation, detected, api) in [
        (Generation::V11, "detected 11.x", "v11"),
        (Generation::A360, "detected Automation 360", "a360"),
    ] {
        let config = ServerConfig {
            generation,
            ..crate::common::config(faults(0.0))
        };
        let server = sim(data.clone(), config).await;
        let lake = lake_path(&dir.path().join(api));
        let today = data.end_time().date_naive();
        let long_ago = (today - chrono::Duration::days(75)).to_string();
        let oldest = (today - chrono::Duration::days(60)).to_string();
        let out = ingest(&server, &lake, &["--from", &long_ago]).await;
        assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
        let said = stderr(&out);
        assert!(said.contains(detected), "{said}");
        assert!(
            said.contains(&format!(
                "--from {long_ago} lies beyond the 60 days of run data"
            )) && said.contains(&format!("pass --clamp to start at {oldest}"))
                && said.contains(&format!("or --from {oldest} or later")),
            "{said}"
        );
        let out = ingest(&server, &lake, &["--from", &long_ago, "--clamp"]).await;
        assert!(out.status.success(), "{}", stderr(&out));
        assert!(
            stderr(&out).contains(&format!("starting at {oldest}, the oldest day it can give")),
            "{}",
            stderr(&out)
        );
        assert_exactly_once(&lake, runs).await;
        let rows = sql(
            &lake,
            &format!("SELECT count(*) FROM aa_bot_runs WHERE api = '{api}'"),
        )
        .await;
        assert_eq!(one(&rows), [runs.runs as i64]);
        server.stop().await.unwrap();
    }
}
