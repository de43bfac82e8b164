//! Rollups: every view that can read them answers exactly as it does from raw rows, before
//! any rollup, from a fresh one, from one that an ingest left behind (changed and new days
//! come from raw rows) and after `botlake rollup` and `botlake compact` bring it up to date.

use crate::common::{botlake, end, lake_path, sorted_lines, sql, stderr, stdout};

/// The views with a rollup variant or that read one, and the two views kept as rollups.
const VIEWS: [&str; 8] = [
    "kpi_daily",
    "kpi_by_bot",
    "kpi_by_host",
    "bot_ranking",
    "failure_rate_daily",
    "failure_spikes",
    "runs_bot_day",
    "runs_host_day",
];

/// Each view's CSV answer (lines sorted: runs_bot_day and runs_host_day have no ORDER BY).
async fn answers(lake: &str, flags: &[&str]) -> Vec<Vec<String>> {
    let mut out = Vec::new();
    for view in VIEWS {
        let mut args = vec!["--lake", lake, "--format", "csv"];
        args.extend_from_slice(flags);
        args.extend_from_slice(&["query", view]);
        let o = botlake(&args).await;
        assert!(o.status.success(), "{view}: {}", stderr(&o));
        let lines = sorted_lines(&o);
        assert!(lines.len() > 1, "{view} has rows");
        out.push(lines);
    }
    out
}

/// `--from` and `--to` over the generated lake `lake` (40 days ending the day before `end`),
/// whose views' whole answers are `raw`: a daily view gives the rows of its days, its 7-day
/// rates and baselines counted over the days before `from` too; a view over the whole range
/// counts the runs of its days; rollups or not, the same; and only the days' files are read.
async fn days_from_to(lake: &str, raw: &[Vec<String>], end: &str) {
    let end: chrono::NaiveDate = end.parse().unwrap();
    let (from, to) = (end - chrono::Days::new(20), end - chrono::Days::new(11));
    let (from_arg, to_arg) = (from.to_string(), to.to_string());
    let range = ["--from", from_arg.as_str(), "--to", to_arg.as_str()];
    let ranged = answers(lake, &range).await;
    let mut no_rollups = range.to_vec();
    no_rollups.push("--no-rollups");
    assert_eq!(answers(lake, &no_rollups).await, ranged);
    for (i, view) in VIEWS.iter().enumerate() {
        let header = raw[i]
            .iter()
            .find(|l| l.starts_with("vendor") || l.starts_with("day"));
        let Some(at) = header.unwrap().split(',').position(|c| c == "day") else {
            continue;
        };
        let in_range = |line: &String| {
            line.split(',')
                .nth(at)
                .and_then(|d| d.parse::<chrono::NaiveDate>().ok())
                .is_some_and(|d| d >= from && d <= to)
        };
        match *view {
            "kpi_daily" | "kpi_by_host" | "failure_rate_daily" | "failure_spikes" => {
                let expected: Vec<&String> = raw[i]
                    .iter()
                    .filter(|l| in_range(l) || header == Some(l))
                    .collect();
                let got: Vec<&String> = ranged[i].iter().collect();
                assert!(expected.len() > 10, "{view}");
                assert_eq!(got, expected, "{view} from {from} to {to}");
            }
            // The views without the parameters keep every day.
            "runs_bot_day" | "runs_host_day" => assert_eq!(ranged[i], raw[i], "{view}"),
            _ => {}
        }
    }
    // kpi_by_bot counts the runs of the days, as the runs themselves do.
    let counted = sql(
        lake,
        &format!(
            "SELECT vendor || ' ' || source || ' ' || bot, COUNT(*) FROM runs \
             WHERE day BETWEEN DATE '{from}' AND DATE '{to}' GROUP BY 1 ORDER BY 1"
        ),
    )
    .await;
    let by_bot = sql(
        lake,
        "SELECT vendor || ' ' || source || ' ' || bot, runs FROM kpi_by_bot ORDER BY 1",
    )
    .await;
    assert!(by_bot.len() > 25, "the 25 bots and the UiPath processes");
    assert_ne!(by_bot, counted, "without --from/--to every day counts");
    let out = botlake(&[
        "--lake",
        lake,
        "--format",
        "csv",
        "--from",
        &from_arg,
        "--to",
        &to_arg,
        "sql",
        "SELECT vendor || ' ' || source || ' ' || bot, runs FROM kpi_by_bot ORDER BY 1",
    ])
    .await;
    assert!(out.status.success(), "{}", stderr(&out));
    let ranged_by_bot: Vec<Vec<String>> = stdout(&out)
        .lines()
        .skip(1)
        .map(|l| l.split(',').map(str::to_string).collect())
        .collect();
    assert_eq!(ranged_by_bot, counted);
    // The same with the view's own parameters.
    let out = botlake(&[
        "--lake",
        lake,
        "--format",
        "csv",
        "query",
        "kpi_by_bot",
        "-p",
        &format!("from={from}"),
        "-p",
        &format!("to={to}"),
    ])
    .await;
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        sorted_lines(&out),
        ranged[VIEWS.iter().position(|v| *v == "kpi_by_bot").unwrap()]
    );
    // Pruned: the runs table's scan reads the 10 days' files of the 40 (one a day).
    for flags in [&[][..], &["--no-rollups"][..]] {
        let mut args = vec!["--lake", lake, "--format", "csv"];
        args.extend_from_slice(&range);
        args.extend_from_slice(flags);
        args.extend_from_slice(&["sql", "EXPLAIN SELECT * FROM kpi_by_bot"]);
        let out = botlake(&args).await;
        assert!(out.status.success(), "{}", stderr(&out));
        let plan = stdout(&out);
        let scans: Vec<&str> = plan.matches("DayFilesExec: files=").collect();
        assert!(!scans.is_empty(), "{plan}");
        assert!(
            plan.contains("DayFilesExec: files=10 of 40") || flags.is_empty(),
            "{flags:?}: {plan}"
        );
    }
    // A range the wrong way round is refused before anything runs.
    let out = botlake(&[
        "--lake",
        lake,
        "--from",
        &to_arg,
        "--to",
        &from_arg,
        "query",
        "kpi_daily",
    ])
    .await;
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("is after --to"), "{}", stderr(&out));
}

/// What `-v query kpi_daily` says about where runs_bot_day's rows come from.
async fn source_of_kpi_daily(lake: &str) -> String {
    let o = botlake(&[
        "--lake",
        lake,
        "-v",
        "--format",
        "csv",
        "query",
        "kpi_daily",
    ])
    .await;
    assert!(o.status.success(), "{}", stderr(&o));
    stderr(&o)
        .lines()
        .find(|l| l.starts_with("runs_bot_day: "))
        .unwrap_or_default()
        .to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn views_agree_with_and_without_rollups() {
    let dir = tempfile::tempdir().unwrap();
    let lake = lake_path(dir.path());
    let end_arg = end().to_string();
    let out = botlake(&[
        "--lake",
        &lake,
        "sim",
        "gen",
        "--runs",
        "30000",
        "--bots",
        "25",
        "--runners",
        "7",
        "--days",
        "40",
        "--end",
        &end_arg,
        "--uipath-jobs",
        "300",
        "--commit-rows",
        "4000",
    ])
    .await;
    assert!(out.status.success(), "{}", stderr(&out));

    // No rollup yet: every session reads raw rows.
    let raw = answers(&lake, &["--no-rollups"]).await;

    // failure_spikes' parameters narrow it: every row keeps to them.
    let out = botlake(&[
        "--lake",
        &lake,
        "--format",
        "csv",
        "query",
        "failure_spikes",
        "--param",
        "factor=4",
        "--param",
        "min_failed=4",
    ])
    .await;
    assert!(out.status.success(), "{}", stderr(&out));
    let strict: Vec<String> = stdout(&out).lines().skip(1).map(str::to_string).collect();
    let spikes = &raw[VIEWS.iter().position(|v| *v == "failure_spikes").unwrap()];
    assert!(!strict.is_empty() && strict.len() < spikes.len() - 1);
    for line in &strict {
        // vendor,bot,day,finished,failed,failure_rate,baseline_finished,baseline_failed,…
        let f: Vec<&str> = line.rsplitn(9, ',').collect();
        let n = |i: usize| f[i].parse::<i64>().unwrap();
        let (finished, failed, base_finished, base_failed) = (n(7), n(6), n(4), n(3));
        assert!(
            failed >= 4 && failed * base_finished >= 4 * finished * base_failed,
            "{line}"
        );
        assert!(
            spikes.contains(line),
            "{line} is a spike by the defaults too"
        );
    }
    assert_eq!(answers(&lake, &[]).await, raw);
    assert!(
        source_of_kpi_daily(&lake)
            .await
            .contains("answered from raw rows (0 parts up to date in the rollup, 41 newer)")
    );

    let out = botlake(&["--lake", &lake, "rollup"]).await;
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("rollup of runs_bot_day: 41 parts recomputed from raw rows, 0 kept"),
        "40 days of runs and the UiPath jobs: {}",
        stderr(&out)
    );
    assert!(
        source_of_kpi_daily(&lake)
            .await
            .contains("answered from its rollup (41 parts up to date in the rollup, 0 newer)")
    );
    // failure_spikes has no variant: it reads runs_bot_day, so now the rollup.
    let plan = |flags: &'static [&'static str]| {
        let lake = lake.clone();
        async move {
            let mut args = vec!["--lake", lake.as_str(), "--format", "csv"];
            args.extend_from_slice(flags);
            args.extend_from_slice(&["sql", "EXPLAIN SELECT * FROM failure_spikes"]);
            let out = botlake(&args).await;
            assert!(out.status.success(), "{}", stderr(&out));
            stdout(&out)
        }
    };
    assert!(plan(&[]).await.contains("rollup_runs_bot_day"));
    assert!(
        !plan(&["--no-rollups"])
            .await
            .contains("rollup_runs_bot_day")
    );
    assert_eq!(answers(&lake, &[]).await, raw);
    assert_eq!(answers(&lake, &["--memory-limit", "64M"]).await, raw);
    days_from_to(&lake, &raw, &end_arg).await;

    // An ingest that leaves the rollup behind: one run of a middle day now failed, and a
    // run on a day the lake did not have.
    let rows = sql(
        &lake,
        "SELECT run_id, user_name, host_name, file_name, \
         to_char(start_time, '%Y-%m-%dT%H:%M:%S%.6fZ'), time_taken_ms, \
         (SELECT max(run_id) FROM aa_bot_runs) \
         FROM aa_bot_runs WHERE status = 'COMPLETED' AND time_taken_ms IS NOT NULL \
         ORDER BY day, run_id LIMIT 1 OFFSET 15000",
    )
    .await;
    let r = &rows[0];
    let page = serde_json::json!({
        "totalRecords": 2,
        "botRunDataList": [
            {
                "id": r[0].parse::<i64>().unwrap(),
                "userName": r[1], "hostName": r[2], "fileName": r[3],
                "startTime": r[4], "status": "FAILED",
                "timeTaken": r[5].parse::<i64>().unwrap(),
            },
            {
                "id": r[6].parse::<i64>().unwrap() + 1,
                "userName": r[1], "hostName": r[2], "fileName": r[3],
                "startTime": format!("{end_arg}T10:00:00Z"),
                "endTime": format!("{end_arg}T10:01:00Z"),
                "status": "COMPLETED", "timeTaken": 60000,
            },
        ],
    })
    .to_string();
    let page_file = dir.path().join("page.json");
    std::fs::write(&page_file, page).unwrap();
    let out = botlake(&[
        "--lake",
        &lake,
        "--no-rollups",
        "ingest",
        "aa-pages",
        "--control-room",
        "gen",
        page_file.to_str().unwrap(),
    ])
    .await;
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("2 records, 1 new, 1 updated"),
        "{}",
        stderr(&out)
    );
    let changed = answers(&lake, &["--no-rollups"]).await;
    assert_ne!(changed, raw, "the ingest changed what the views say");
    assert!(
        source_of_kpi_daily(&lake)
            .await
            .contains("answered from its rollup (40 parts up to date in the rollup, 2 newer)")
    );
    assert_eq!(answers(&lake, &[]).await, changed);

    // Brought up to date: only the two days are recomputed.
    let out = botlake(&["--lake", &lake, "rollup"]).await;
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("rollup of runs_bot_day: 2 parts recomputed from raw rows, 40 kept"),
        "{}",
        stderr(&out)
    );
    assert_eq!(answers(&lake, &[]).await, changed);

    // Compaction (which here finds one file a day and rewrites none) refreshes them too.
    let out = botlake(&["--lake", &lake, "compact", "aa_bot_runs"]).await;
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("rollup of runs_host_day: "),
        "{}",
        stderr(&out)
    );
    assert!(source_of_kpi_daily(&lake).await.contains("0 newer"),);
    assert_eq!(answers(&lake, &[]).await, changed);

    // Vacuum deletes the files refreshes replaced; its commits keep the rollups usable.
    let out = botlake(&["--lake", &lake, "vacuum", "--retention-hours", "0"]).await;
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("rollup_runs_bot_day: deleted"),
        "{}",
        stderr(&out)
    );
    assert!(
        source_of_kpi_daily(&lake)
            .await
            .contains("answered from its rollup (42 parts up to date in the rollup, 0 newer)")
    );
    assert_eq!(answers(&lake, &[]).await, changed);

    // A memory limit that is not a size is refused before anything runs.
    let out = botlake(&[
        "--lake",
        &lake,
        "--memory-limit",
        "4X",
        "query",
        "kpi_daily",
    ])
    .await;
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("the unit must be K, M, G or T"),
        "{}",
        stderr(&out)
    );
}
