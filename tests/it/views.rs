//! Views through the command line, where what is tested needs a parameter or a lake that
//! the `.slt` files cannot make: lakes built from saved Bot Insight pages of hand-made
//! runs.

use crate::common::{botlake, lake_path, stderr, stdout};

/// A Bot Insight run record: `bot` ran on `day` at `hour`, for `minutes`, ending `status`.
pub(crate) fn run(id: i64, bot: &str, day: &str, hour: u32, minutes: u32, status: &str) -> String {
    let start = format!("{day}T{hour:02}:00:00Z");
    let end = chrono::DateTime::parse_from_rfc3339(&start).unwrap()
        + chrono::Duration::minutes(i64::from(minutes));
    format!(
        r#"{{"id":{id},"userName":"u","hostName":"H","fileName":"{bot}","startTime":"{start}","endTime":"{}","status":"{status}","timeTaken":{}}}"#,
        end.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        u64::from(minutes) * 60_000
    )
}

/// A lake of control room `cr` holding `runs`, ingested as one saved page.
pub(crate) async fn lake_of(dir: &std::path::Path, runs: &[String]) -> String {
    let page = format!(
        r#"{{"totalRecords":{},"botRunDataList":[{}]}}"#,
        runs.len(),
        runs.join(",")
    );
    let file = dir.join("page.json");
    std::fs::write(&file, page).unwrap();
    let lake = lake_path(dir);
    let out = botlake(&[
        "--lake",
        &lake,
        "ingest",
        "aa-pages",
        "--control-room",
        "cr",
        file.to_str().unwrap(),
    ])
    .await;
    assert!(out.status.success(), "{}", stderr(&out));
    lake
}

// Regression (issue 29, 4): with min_finished=0, every bot's first day was a spike against
// a NULL baseline. A spike needs a baseline, whatever the parameters.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_spike_needs_a_baseline_whatever_the_parameters() {
    let dir = tempfile::tempdir().unwrap();
    let mut runs = Vec::new();
    // X fails 4 of 4 on its first day: no baseline.
    for i in 0..4 {
        runs.push(run(i, "X.atmx", "2026-10-01", 8 + i as u32, 5, "FAILED"));
    }
    // Y: 5 runs without failure on 10-02, then 4 failures of 5 on 10-03: a spike.
    for i in 0..5 {
        runs.push(run(
            10 + i,
            "Y.atmx",
            "2026-10-02",
            8 + i as u32,
            5,
            "COMPLETED",
        ));
        let status = if i < 4 { "FAILED" } else { "COMPLETED" };
        runs.push(run(20 + i, "Y.atmx", "2026-10-03", 8 + i as u32, 5, status));
    }
    let lake = lake_of(dir.path(), &runs).await;
    for min_finished in ["0", "1"] {
        let out = botlake(&[
            "--lake",
            &lake,
            "--format",
            "csv",
            "query",
            "failure_spikes",
            "-p",
            &format!("min_finished={min_finished}"),
        ])
        .await;
        assert!(out.status.success(), "{}", stderr(&out));
        let rows: Vec<String> = stdout(&out).lines().skip(1).map(str::to_string).collect();
        assert_eq!(rows.len(), 1, "min_finished={min_finished}: {rows:?}");
        assert!(
            rows[0].contains("Y.atmx") && rows[0].contains("2026-10-03"),
            "{rows:?}"
        );
    }
}

/// A Bot Insight run of `bot` on host `host` from `start` (RFC 3339) for `minutes`.
fn run_from(id: i64, bot: &str, host: &str, start: &str, minutes: i64) -> String {
    let end =
        chrono::DateTime::parse_from_rfc3339(start).unwrap() + chrono::Duration::minutes(minutes);
    format!(
        r#"{{"id":{id},"userName":"u","hostName":"{host}","fileName":"{bot}","startTime":"{start}","endTime":"{}","status":"COMPLETED","timeTaken":{}}}"#,
        end.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        minutes * 60_000
    )
}

/// `query VIEW` with `flags` and `env`, as CSV lines after the header.
async fn rows_of(lake: &str, env: &[(&str, &str)], flags: &[&str], view: &str) -> Vec<String> {
    let mut args = vec!["--lake", lake, "--format", "csv"];
    args.extend_from_slice(flags);
    args.extend_from_slice(&["query", view]);
    let out = crate::common::botlake_env(&args, env).await;
    assert!(out.status.success(), "{args:?}: {}", stderr(&out));
    stdout(&out).lines().skip(1).map(str::to_string).collect()
}

// Issue 31, 9: --tz makes every view's day the local calendar day, and splits run time at
// local midnight; the lake stays partitioned by UTC day, and the rollups (UTC days) are
// left for raw rows.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn local_days_move_late_runs_and_split_at_local_midnight() {
    let dir = tempfile::tempdir().unwrap();
    let runs = [
        // 23:30 UTC is 01:30 the next day in Berlin (summer time).
        run_from(1, "Late.atmx", "L", "2026-10-14T23:30:00Z", 10),
        run_from(2, "Noon.atmx", "L", "2026-10-14T12:00:00Z", 10),
        // Berlin's clocks went forward on 2026-03-29: its day ran from 23:00 UTC the day
        // before to 22:00 UTC, 23 hours, all of them this run's.
        run_from(3, "Long.atmx", "D", "2026-03-28T23:00:00Z", 23 * 60),
    ];
    let lake = lake_of(dir.path(), &runs).await;
    let out = botlake(&["--lake", &lake, "rollup"]).await;
    assert!(out.status.success(), "{}", stderr(&out));
    let berlin = ["--tz", "Europe/Berlin"];
    let days = |rows: Vec<String>| -> Vec<String> {
        rows.iter()
            .map(|r| r.split(',').take(3).collect::<Vec<_>>().join(","))
            .collect()
    };

    // kpi_daily: day, vendor, runs.
    let utc = days(rows_of(&lake, &[], &[], "kpi_daily").await);
    assert_eq!(
        utc,
        [
            "2026-03-28,automation_anywhere,1",
            "2026-10-14,automation_anywhere,2"
        ]
    );
    let local = days(rows_of(&lake, &[], &berlin, "kpi_daily").await);
    assert_eq!(
        local,
        [
            "2026-03-29,automation_anywhere,1",
            "2026-10-14,automation_anywhere,1",
            "2026-10-15,automation_anywhere,1"
        ]
    );
    assert_eq!(
        days(rows_of(&lake, &[("BOTLAKE_TZ", "Europe/Berlin")], &[], "kpi_daily").await),
        local
    );
    let config = dir.path().join("botlake.toml");
    std::fs::write(&config, "tz = \"Europe/Berlin\"\n").unwrap();
    let config_flag = ["--config", config.to_str().unwrap()];
    assert_eq!(
        days(rows_of(&lake, &[], &config_flag, "kpi_daily").await),
        local
    );
    // --tz wins over the file.
    let mut both = config_flag.to_vec();
    both.extend_from_slice(&["--tz", "UTC"]);
    assert_eq!(days(rows_of(&lake, &[], &both, "kpi_daily").await), utc);

    // kpi_by_host: day, vendor, source, host, runs, failed, bots, busy_hours, utilisation.
    let host_d = |rows: Vec<String>| -> Vec<String> {
        rows.into_iter()
            .filter(|r| r.split(',').nth(3) == Some("D"))
            .map(|r| {
                let f: Vec<&str> = r.split(',').collect();
                format!("{} {} {}", f[0], f[7], f[8])
            })
            .collect()
    };
    assert_eq!(
        host_d(rows_of(&lake, &[], &[], "kpi_by_host").await),
        ["2026-03-28 1.0 0.0417", "2026-03-29 22.0 0.9167"]
    );
    assert_eq!(
        host_d(rows_of(&lake, &[], &berlin, "kpi_by_host").await),
        ["2026-03-29 23.0 1.0"],
        "a 23-hour day, all of it busy"
    );

    // A range of local days picks the late run, from the UTC days it overlaps.
    let mut one_day = berlin.to_vec();
    one_day.extend_from_slice(&["--from", "2026-10-15", "--to", "2026-10-15"]);
    let by_bot = rows_of(&lake, &[], &one_day, "kpi_by_bot").await;
    assert_eq!(by_bot.len(), 1, "{by_bot:?}");
    assert!(by_bot[0].contains("Late.atmx"), "{by_bot:?}");
    let by_bot = rows_of(
        &lake,
        &[],
        &["--from", "2026-10-15", "--to", "2026-10-15"],
        "kpi_by_bot",
    )
    .await;
    assert!(
        by_bot.is_empty(),
        "no run started on 2026-10-15 UTC: {by_bot:?}"
    );

    // At the prompt: SET TIME ZONE moves the days of the session's views, rollups or not.
    let shown = crate::common::at_the_prompt(
        &lake,
        &[],
        &[
            "SELECT day, runs FROM kpi_daily ORDER BY day;",
            "SET TIME ZONE 'Europe/Berlin';",
            "SELECT day, runs FROM kpi_daily ORDER BY day;",
            "SELECT day, utc_day FROM runs WHERE bot = 'Late.atmx';",
        ],
    );
    assert!(shown.contains("2026-10-14,2"), "{shown}");
    assert!(shown.contains("2026-10-15,1"), "{shown}");
    assert!(shown.contains("2026-10-15,2026-10-14"), "{shown}");

    // A zone that is none is a mistake, said before anything runs.
    let out = botlake(&[
        "--lake",
        &lake,
        "--tz",
        "Mars/Olympus",
        "query",
        "kpi_daily",
    ])
    .await;
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("is not a time zone"),
        "{}",
        stderr(&out)
    );
}
