//! Ingest and queries against a real S3-compatible server (moto).
//!
//! `.ci/run` installs moto into `.ci/venv`; to run this test locally, do the same:
//! `python3 -m venv .ci/venv && .ci/venv/bin/pip install 'moto[server]'`, or point
//! `BOTLAKE_MOTO_SERVER` at a `moto_server` executable.

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::common::*;

struct Moto {
    child: Child,
    endpoint: String,
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn moto_server() -> PathBuf {
    crate::common::peer("BOTLAKE_MOTO_SERVER", ".ci/venv/bin/moto_server", "")
}

async fn start_moto() -> Moto {
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let child = Command::new(moto_server())
        .args(["-H", "127.0.0.1", "-p", &port.to_string()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("moto_server starts");
    let endpoint = format!("http://127.0.0.1:{port}");
    let moto = Moto { child, endpoint };
    let http = reqwest::Client::new();
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if http.get(&moto.endpoint).send().await.is_ok() {
            break;
        }
        assert!(Instant::now() < deadline, "moto did not start within 30 s");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let created = http
        .put(format!("{}/botlake-test", moto.endpoint))
        .send()
        .await
        .unwrap();
    assert!(
        created.status().is_success(),
        "bucket: {}",
        created.status()
    );
    moto
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ingest_and_query_through_s3() {
    let moto = start_moto().await;
    let data = dataset(21, 3000);
    let truth = data.truth(data.end_time().timestamp_millis());
    let server = sim(data, config(faults(0.1))).await;
    let env = [
        ("AWS_ENDPOINT_URL", moto.endpoint.as_str()),
        ("AWS_ALLOW_HTTP", "true"),
        ("AWS_ACCESS_KEY_ID", "test"),
        ("AWS_SECRET_ACCESS_KEY", "test"),
        ("AWS_REGION", "us-east-1"),
        ("BOTLAKE_AA_PASSWORD", "botlake-demo"),
        ("BOTLAKE_LAKE", "s3://botlake-test/lakes/prod"),
    ];
    let url = server.url();
    let args = [
        "ingest",
        "aa-botinsight",
        "--url",
        &url,
        "--user",
        "botlake",
        "--control-room",
        "s3",
        "--from",
        "2026-09-25",
        "--to",
        "2026-10-31",
        "--retry-base-ms",
        "10",
    ];
    for _ in 0..2 {
        let out = botlake_env(&args, &env).await;
        assert!(out.status.success(), "{}", stderr(&out));
    }
    let out = botlake_env(
        &[
            "--format",
            "csv",
            "sql",
            "SELECT count(*), count(DISTINCT run_id), sum(run_id) FROM aa_bot_runs",
        ],
        &env,
    )
    .await;
    assert!(out.status.success(), "{}", stderr(&out));
    let expected = format!("{},{},{}", truth.runs, truth.runs, truth.id_sum);
    assert!(
        String::from_utf8_lossy(&out.stdout).contains(&expected),
        "{:?}",
        out
    );

    // A bucket that is not there is one clear error.
    let out = botlake_env(
        &["--lake", "s3://no-such-bucket/lake", "sql", "SELECT 1"],
        &env,
    )
    .await;
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(stderr(&out).contains("NoSuchBucket"), "{}", stderr(&out));
    assert!(!stderr(&out).contains("panicked"), "{}", stderr(&out));
    // A statement that reads no table needs a lake there, and opens none of its tables.
    let out = botlake_env(&["--format", "csv", "sql", "SELECT 1 AS one"], &env).await;
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(stdout(&out), "one\n1\n");
    let out = botlake_env(
        &["--lake", "s3://botlake-test/elsewhere", "sql", "SELECT 1"],
        &env,
    )
    .await;
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("no lake at"), "{}", stderr(&out));

    let out = botlake_env(&["--format", "csv", "query", "kpi_by_bot"], &env).await;
    assert!(out.status.success(), "{}", stderr(&out));
    let csv = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(csv.lines().count() > 10);

    // Results to an object: the format from its name, the object whole.
    // Into another bucket than the lake's.
    let created = reqwest::Client::new()
        .put(format!("{}/botlake-reports", moto.endpoint))
        .send()
        .await
        .unwrap();
    assert!(created.status().is_success(), "{}", created.status());
    let report = "s3://botlake-reports/daily/kpi_by_bot.csv";
    let out = botlake_env(&["-o", report, "query", "kpi_by_bot"], &env).await;
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stderr(&out).contains(&format!("rows to {report}")),
        "{}",
        stderr(&out)
    );
    let bucket = object_store::aws::AmazonS3Builder::new()
        .with_endpoint(&moto.endpoint)
        .with_allow_http(true)
        .with_bucket_name("botlake-reports")
        .with_region("us-east-1")
        .with_access_key_id("test")
        .with_secret_access_key("test")
        .build()
        .unwrap();
    let object = object_store::ObjectStoreExt::get(
        &bucket,
        &object_store::path::Path::from("daily/kpi_by_bot.csv"),
    )
    .await
    .unwrap();
    assert_eq!(object.bytes().await.unwrap(), csv.as_bytes());
    // SQL names such objects directly, in any bucket, as it names local files.
    let parquet = "s3://botlake-reports/daily/kpi_by_bot.parquet";
    let out = botlake_env(&["-o", parquet, "query", "kpi_by_bot"], &env).await;
    assert!(out.status.success(), "{}", stderr(&out));
    let out = botlake_env(
        &[
            "--format",
            "csv",
            "sql",
            &format!("SELECT count(*) AS n, sum(runs) AS runs FROM '{parquet}'"),
        ],
        &env,
    )
    .await;
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        format!("n,runs\n{},{}\n", csv.lines().count() - 1, truth.runs)
    );
    let out = botlake_env(
        &["-o", "s3://botlake-test/reports/", "query", "kpi_by_bot"],
        &env,
    )
    .await;
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    // A report of the lake on S3, into an object: the whole page, its numbers the views'.
    let out = botlake_env(
        &[
            "report",
            "-o",
            "s3://botlake-reports/daily/report.html",
            "--from",
            "2026-09-01",
        ],
        &env,
    )
    .await;
    assert!(out.status.success(), "{}", stderr(&out));
    let page = object_store::ObjectStoreExt::get(
        &bucket,
        &object_store::path::Path::from("daily/report.html"),
    )
    .await
    .unwrap()
    .bytes()
    .await
    .unwrap();
    let page = String::from_utf8_lossy(&page);
    assert!(page.starts_with("<!DOCTYPE html>") && page.ends_with("</html>\n"));
    // The runs per day add up to the lake's.
    let daily = page
        .split("<tbody")
        .find(|t| t.contains("data-view=\"kpi_daily\""))
        .expect("the page has kpi_daily's rows");
    let runs: u64 = daily
        .split("data-col=\"runs\" data-value=\"")
        .skip(1)
        .map(|cell| cell[..cell.find('"').unwrap()].parse::<u64>().unwrap())
        .sum();
    assert_eq!(runs, truth.runs);
    server.stop().await.unwrap();

    // The prompt over S3 sees what is committed while it is open, and only that.
    let events =
        botlake_sim::uipath::generate(&botlake_sim::uipath::UipathConfig::new(3, 10, end()));
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("export.ndjson");
    std::fs::write(&file, events.lines.join("\n")).unwrap();
    let ingest = format!(
        "!{} -q ingest uipath {}",
        env!("CARGO_BIN_EXE_botlake"),
        file.display()
    );
    let lake = "s3://botlake-test/lakes/prod";
    let shown = at_the_prompt(
        lake,
        &env,
        &[
            "SELECT count(*) AS before FROM uipath_job_events;",
            &ingest,
            "SELECT count(*) AS after FROM uipath_job_events;",
        ],
    );
    assert!(shown.contains("before\n0\n"), "{shown}");
    let said = shown
        .lines()
        .find(|l| l.starts_with("(the lake changed: "))
        .unwrap_or_else(|| panic!("{shown}"));
    assert!(said.contains("uipath_job_events new"), "{shown}");
    assert!(!said.contains("aa_bot_runs"), "{shown}");
    assert!(
        shown.contains(&format!("after\n{}\n", events.counts[0])),
        "{shown}"
    );
}
