//! `botlake sim pages` and `botlake ingest aa-pages`: saved Bot Insight pages land exactly
//! as the simulator's Control Room holds them, once however often they are ingested; a
//! record that does not fit is kept in `rejected_records`; a broken file says where.

use std::io::Write;

use botlake_sim::{Dataset, SimConfig};

use crate::common::{assert_exactly_once, botlake, end, lake_path, sql, stderr};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn saved_pages_land_exactly_once() {
    let dir = tempfile::tempdir().unwrap();
    let lake = lake_path(dir.path());
    let pages = dir.path().join("pages");
    let pages_arg = pages.to_str().unwrap();
    let end_arg = end().to_string();
    let plan = [
        "--runs",
        "12000",
        "--bots",
        "40",
        "--runners",
        "9",
        "--days",
        "20",
        "--end",
        &end_arg,
        "--seed",
        "5",
    ];
    let mut args = vec!["sim", "pages", "--out", pages_arg, "--pages-per-file", "5"];
    args.extend(plan);
    let out = botlake(&args).await;
    assert!(out.status.success(), "{}", stderr(&out));
    // Writing over pages already there is refused.
    let out = botlake(&args).await;
    assert!(!out.status.success());
    assert!(stderr(&out).contains("is not empty"), "{}", stderr(&out));

    let mut files: Vec<String> = std::fs::read_dir(&pages)
        .unwrap()
        .map(|e| e.unwrap().path().to_str().unwrap().to_string())
        .collect();
    files.sort();
    assert_eq!(files.len(), 3, "12 pages of 1000 runs, 5 a file: {files:?}");
    // One file gzip-compressed, as archives keep them.
    let gz = format!("{}.gz", files[1]);
    let mut encoder = flate2::write::GzEncoder::new(
        std::fs::File::create(&gz).unwrap(),
        flate2::Compression::fast(),
    );
    encoder
        .write_all(&std::fs::read(&files[1]).unwrap())
        .unwrap();
    encoder.finish().unwrap();
    files[1] = gz;

    // Small commits. The first file alone first: then the days it holds are merged into,
    // and the days after it are written as new day files, in the same ingest.
    let mut ingest = vec![
        "--lake",
        &lake,
        "ingest",
        "aa-pages",
        "--commit-rows",
        "2500",
    ];
    let mut first = ingest.clone();
    first.push(files[0].as_str());
    let out = botlake(&first).await;
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("aa_bot_runs: 5000 records, 5000 new"),
        "{}",
        stderr(&out)
    );
    ingest.extend(files.iter().map(String::as_str));
    let out = botlake(&ingest).await;
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("aa_bot_runs: 12000 records, 7000 new, 0 updated, 5000 unchanged"),
        "{}",
        stderr(&out)
    );
    let data = Dataset::generate(SimConfig {
        bots: 40,
        runners: 9,
        days: 20,
        ..SimConfig::new(5, 12_000, end())
    });
    let truth = data.truth(data.end_time().timestamp_millis());
    assert_exactly_once(&lake, truth).await;
    let rows = sql(
        &lake,
        "SELECT sum(CASE WHEN status = 'IN_PROGRESS' THEN 1 ELSE 0 END), \
         sum(CASE WHEN status = 'FAILED' THEN 1 ELSE 0 END), min(control_room) FROM aa_bot_runs",
    )
    .await;
    assert_eq!(
        rows[0],
        [
            truth.in_progress.to_string(),
            truth.failed.to_string(),
            "default".to_string()
        ]
    );

    // Again: every record is already there and nothing changes.
    let out = botlake(&ingest).await;
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("12000 records, 0 new, 0 updated, 12000 unchanged"),
        "{}",
        stderr(&out)
    );
    assert_exactly_once(&lake, truth).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_records_are_kept_and_broken_files_say_where() {
    let dir = tempfile::tempdir().unwrap();
    let lake = lake_path(dir.path());
    // A pretty-printed audit page, then a run page with one record that does not fit.
    let good = dir.path().join("good.json");
    std::fs::write(
        &good,
        r#"{
  "totalRecords": 1,
  "auditData": [
    {"id": 7, "createdOn": "2026-10-30T10:00:00Z", "activityType": "LOGIN", "status": "Successful",
     "userName": "ana", "hostName": "BR-1", "source": "Control Room"}
  ]
}
{"totalRecords":2,"botRunDataList":[
 {"id":1,"userName":"u","hostName":"h","fileName":"f.atmx","startTime":"2026-10-30T08:00:00Z","status":"COMPLETED"},
 {"id":2,"startTime":"31/02/2026 25:61"}]}
"#,
    )
    .unwrap();
    let out = botlake(&[
        "--lake",
        &lake,
        "ingest",
        "aa-pages",
        good.to_str().unwrap(),
    ])
    .await;
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    let rows = sql(
        &lake,
        "SELECT location, reason FROM rejected_records WHERE source = 'aa-pages'",
    )
    .await;
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert!(
        rows[0][0].ends_with("good.json page 2 record 1"),
        "{rows:?}"
    );
    assert!(rows[0][1].contains("startTime"), "{rows:?}");
    assert_eq!(
        sql(&lake, "SELECT count(*) FROM aa_bot_runs").await[0][0],
        "1"
    );
    assert_eq!(
        sql(&lake, "SELECT count(*) FROM aa_audit_events").await[0][0],
        "1"
    );

    // Task log records say whose task they are (issue 32, 4): a file mixing tasks lands
    // each record under its own; one that names none needs --task, and gets it.
    let logs = dir.path().join("logs.json");
    let log = |id: u32, task: &str| {
        let name = match task {
            "" => String::new(),
            t => format!(r#""taskName":"{t}","#),
        };
        format!(
            r#"{{"id":{id},{name}"runDate":"2026-10-0{id}T10:00:00Z","variables":{{"n":"{id}"}}}}"#
        )
    };
    let page = |records: &[String]| {
        format!(
            r#"{{"totalRecords":{},"logData":[{}]}}"#,
            records.len(),
            records.join(",")
        )
    };
    std::fs::write(
        &logs,
        [
            page(&[log(1, "Invoices"), log(2, "Claims")]),
            page(&[log(3, "Invoices")]),
        ]
        .join("\n"),
    )
    .unwrap();
    let ingest_logs = |extra: &'static [&'static str]| {
        let (lake, logs) = (lake.clone(), logs.to_str().unwrap().to_string());
        async move {
            let mut args = vec!["--lake", &lake, "ingest", "aa-pages", &logs];
            args.extend_from_slice(extra);
            botlake(&args).await
        }
    };
    let out = ingest_logs(&[]).await;
    assert!(out.status.success(), "{}", stderr(&out));
    let by_task = "SELECT task_name, log_id FROM aa_task_logs ORDER BY log_id";
    assert_eq!(
        sql(&lake, by_task).await,
        [["Invoices", "1"], ["Claims", "2"], ["Invoices", "3"]]
    );
    std::fs::write(&logs, page(&[log(4, "Claims"), log(5, "")])).unwrap();
    let out = ingest_logs(&[]).await;
    assert!(!out.status.success());
    assert!(stderr(&out).contains("--task"), "{}", stderr(&out));
    let out = ingest_logs(&["--task", "Audits"]).await;
    assert!(out.status.success(), "{}", stderr(&out));
    let rows = sql(&lake, by_task).await;
    assert_eq!(rows[3..], [["Claims", "4"], ["Audits", "5"]]);

    // A page of no shape Bot Insight answers with names the keys it had.
    std::fs::write(&logs, r#"{"totalRecords":1,"data":[{"id":1}]}"#).unwrap();
    let out = ingest_logs(&[]).await;
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("(its keys: data, totalRecords): not a Bot Insight page"),
        "{}",
        stderr(&out)
    );

    // A file cut off in its second page: the error names file and byte; the first page lands.
    let cut = dir.path().join("cut.json");
    std::fs::write(
        &cut,
        "{\"botRunDataList\":[{\"id\":3,\"startTime\":\"2026-10-30T09:00:00Z\"}]}\n{\"botRunDataList\":[{\"id\":",
    )
    .unwrap();
    let out = botlake(&["--lake", &lake, "ingest", "aa-pages", cut.to_str().unwrap()]).await;
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("cut.json: the page at byte 65 is not JSON: EOF"),
        "{}",
        stderr(&out)
    );
    assert_eq!(
        sql(&lake, "SELECT count(*) FROM aa_bot_runs").await[0][0],
        "2"
    );

    // A name written in Windows-1252 (0xE9 for é), as a Control Room on Windows may: that
    // record is rejected with the byte shown, the rest of its page and file land.
    let latin = dir.path().join("latin.json");
    let mut bytes = b"{\"botRunDataList\":[\n".to_vec();
    bytes.extend_from_slice(
        b"{\"id\":4,\"userName\":\"Jos\xe9\",\"startTime\":\"2026-10-30T10:00:00Z\"},\n",
    );
    bytes.extend_from_slice(
        b"{\"id\":5,\"userName\":\"ana\",\"startTime\":\"2026-10-30T11:00:00Z\"}]}\n",
    );
    bytes.extend_from_slice(
        b"{\"botRunDataList\":[{\"id\":6,\"startTime\":\"2026-10-30T12:00:00Z\"}]}\n",
    );
    std::fs::write(&latin, bytes).unwrap();
    let out = botlake(&[
        "--lake",
        &lake,
        "ingest",
        "aa-pages",
        latin.to_str().unwrap(),
    ])
    .await;
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    let rows = sql(
        &lake,
        r#"SELECT location, reason, strpos(raw, '"userName":"Jos\xE9"') > 0
           FROM rejected_records WHERE location LIKE '%latin.json%'"#,
    )
    .await;
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert!(
        rows[0][0].ends_with("latin.json page 1 record 0"),
        "{rows:?}"
    );
    assert!(rows[0][1].starts_with("not UTF-8: bytes 0xE9"), "{rows:?}");
    assert_eq!(rows[0][2], "true", "{rows:?}");
    assert_eq!(
        sql(
            &lake,
            "SELECT run_id FROM aa_bot_runs WHERE run_id > 3 ORDER BY run_id"
        )
        .await,
        [["5"], ["6"]]
    );
}
