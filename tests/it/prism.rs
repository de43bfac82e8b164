//! Conformance with a server nobody here wrote: Stoplight Prism mocking the published Bot
//! Insight OpenAPI spec (`tests/conformance/aa-bot-insight-v11-openapi.yml`, a copy of
//! the reference), in static and dynamic mode, plus variants of the spec that make Prism
//! serve wrong-typed records, demand another auth scheme, or reject a parameter.
//!
//! `.ci/run` installs Prism into `.ci/node`; to run these tests locally, do the same
//! (`bash .ci/peers`) or point `BOTLAKE_PRISM` at a `prism` executable.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use crate::common::{botlake_env, lake_path, sql, stderr};

struct Prism {
    child: Child,
    url: String,
}

impl Drop for Prism {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn prism_bin() -> PathBuf {
    crate::common::peer("BOTLAKE_PRISM", ".ci/node/node_modules/.bin/prism", "")
}

fn reference_spec() -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/conformance/aa-bot-insight-v11-openapi.yml");
    std::fs::read_to_string(path).unwrap()
}

/// The reference spec with `from` replaced by `to`, which must occur in it.
fn variant(spec: &str, from: &str, to: &str) -> String {
    assert!(spec.contains(from), "the spec no longer contains {from:?}");
    spec.replace(from, to)
}

/// Starts Prism on `spec` (written into `dir`) and waits until it answers.
async fn start_prism(dir: &Path, spec: &str, dynamic: bool) -> Prism {
    let file = dir.join("spec.yml");
    std::fs::write(&file, spec).unwrap();
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut cmd = Command::new(prism_bin());
    cmd.args(["mock", "-h", "127.0.0.1", "-p", &port.to_string()]);
    if dynamic {
        // Seeded, so every answer is the same random-looking document on every run:
        // unseeded, json-schema-faker now and then sends an empty list (seed 2 sends
        // records in every list the test looks at).
        cmd.args(["--dynamic", "--seed", "2"]);
    }
    let child = cmd
        .arg(&file)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("prism starts");
    let prism = Prism {
        child,
        url: format!("http://127.0.0.1:{port}"),
    };
    let client = reqwest::Client::new();
    let deadline = Instant::now() + Duration::from_secs(90);
    loop {
        let probe = client
            .get(format!("{}/gettaskmetadata/probe", prism.url))
            .header("X-Authorization", "probe")
            .header("Authorization", "Bearer probe")
            .send()
            .await;
        if probe.is_ok() {
            return prism;
        }
        assert!(
            Instant::now() < deadline,
            "prism did not start on port {port}"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// `botlake ingest aa-botinsight` of every part against Prism, with a token (Prism has no
/// Authentication API) and the API at the mock's root.
async fn ingest(prism: &Prism, lake: &str, extra: &[&str]) -> Output {
    let mut args = vec![
        "--lake",
        lake,
        "ingest",
        "aa-botinsight",
        "--url",
        &prism.url,
        "--api-path",
        "/",
        "--token-env",
        "PRISM_TOKEN",
        "--control-room",
        "prism",
        "--tasks",
        "Analytics_ATM Reconciliation",
        "--from",
        "2026-10-01",
        "--to",
        "2026-10-05",
        "--max-attempts",
        "2",
        "--retry-base-ms",
        "10",
    ];
    args.extend_from_slice(extra);
    botlake_env(&args, &[("PRISM_TOKEN", "prism-token")]).await
}

async fn count(lake: &str, table: &str) -> i64 {
    sql(lake, &format!("SELECT count(*) FROM {table}")).await[0][0]
        .parse()
        .unwrap()
}

const TABLES: [&str; 5] = [
    "aa_bot_runs",
    "aa_audit_events",
    "aa_task_metadata",
    "aa_task_logs",
    "aa_task_variable_profiles",
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn static_examples_of_the_spec_land_in_every_table() {
    let dir = tempfile::tempdir().unwrap();
    let prism = start_prism(dir.path(), &reference_spec(), false).await;
    let lake = lake_path(dir.path());
    // Prism's static pages hold one record but say totalRecords 0: strict reconciliation
    // refuses that, and names the problem.
    let out = ingest(&prism, &lake, &["--only", "runs"]).await;
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("totalRecords is 0"),
        "{}",
        stderr(&out)
    );
    // Lenient reconciliation takes the records and warns.
    let out = ingest(&prism, &lake, &["--reconcile", "lenient"]).await;
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("warning: aa_bot_runs"),
        "{}",
        stderr(&out)
    );
    for table in TABLES {
        assert!(count(&lake, table).await >= 1, "{table} is empty");
    }
    let rows = sql(
        &lake,
        "SELECT run_id, status, time_taken_ms FROM aa_bot_runs",
    )
    .await;
    assert_eq!(rows, [["-9007199254740991", "COMPLETED", "0"]]);
    // Static answers are the same every time: a second ingest adds nothing.
    let before: Vec<i64> = futures::future::join_all(TABLES.map(|t| count(&lake, t))).await;
    let out = ingest(&prism, &lake, &["--reconcile", "lenient"]).await;
    assert!(out.status.success(), "{}", stderr(&out));
    let after: Vec<i64> = futures::future::join_all(TABLES.map(|t| count(&lake, t))).await;
    assert_eq!(before, after);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dynamic_answers_of_the_spec_are_decoded() {
    let dir = tempfile::tempdir().unwrap();
    let prism = start_prism(dir.path(), &reference_spec(), true).await;
    let lake = lake_path(dir.path());
    // Random records, random (even negative) totals: every page either lands or is
    // rejected with its reason; nothing fails the ingest, and the same answers
    // a second time add nothing.
    let mut counts = Vec::new();
    for _ in 0..2 {
        let out = ingest(&prism, &lake, &["--reconcile", "lenient"]).await;
        assert!(matches!(out.status.code(), Some(0 | 3)), "{}", stderr(&out));
        counts.push(futures::future::join_all(TABLES.map(|t| count(&lake, t))).await);
    }
    assert_eq!(counts[0], counts[1], "a second ingest of the same answers");
    for table in ["aa_task_metadata", "aa_task_variable_profiles"] {
        assert!(count(&lake, table).await >= 1, "{table} is empty");
    }
    // json-schema-faker's date-times lie in 1890 to 1960, and its durations may be
    // negative: every run it makes is rejected, each with the field out of range.
    let runs = sql(
        &lake,
        "SELECT count(*), count(CASE WHEN reason LIKE '%outside the times botlake takes%' \
         OR reason LIKE '%out of range%' THEN 1 END) FROM rejected_records \
         WHERE table_name = 'aa_bot_runs'",
    )
    .await;
    assert_ne!(runs[0][0], "0", "no run was fetched");
    assert_eq!(runs[0][0], runs[0][1], "a run rejected for another reason");
    assert_eq!(count(&lake, "aa_bot_runs").await, 0);
    let rows = sql(
        &lake,
        "SELECT count(*) FROM rejected_records WHERE reason = '' OR raw = ''",
    )
    .await;
    assert_eq!(
        rows[0][0], "0",
        "every rejected record has its reason and text"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_typed_records_are_rejected_with_the_reason_and_unknown_properties_ignored() {
    let spec = variant(
        &reference_spec(),
        "    BotRunDataResponse:\n      type: object\n",
        r#"    BotRunDataResponse:
      type: object
      example:
        totalRecords: 3
        botRunDataList:
          - {id: 1, userName: u1, startTime: "2026-10-01T08:00:00Z", status: COMPLETED, timeTaken: 1000, notInTheSpec: ignored}
          - {id: seven, startTime: "2026-10-01T09:00:00Z"}
          - {id: 3, startTime: 42}
"#,
    );
    let dir = tempfile::tempdir().unwrap();
    let prism = start_prism(dir.path(), &spec, false).await;
    let lake = lake_path(dir.path());
    let out = ingest(&prism, &lake, &["--only", "runs"]).await;
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    let rows = sql(&lake, "SELECT run_id, user_name, status FROM aa_bot_runs").await;
    assert_eq!(rows, [["1", "u1", "COMPLETED"]]);
    let rows = sql(
        &lake,
        "SELECT table_name, reason FROM rejected_records ORDER BY reason",
    )
    .await;
    assert_eq!(rows.len(), 2, "{rows:?}");
    assert!(rows.iter().all(|r| r[0] == "aa_bot_runs"), "{rows:?}");
    assert!(
        rows.iter().all(|r| r[1].contains("invalid type")),
        "{rows:?}"
    );
    let joined = format!("{rows:?}");
    assert!(
        joined.contains("seven") && joined.contains("integer `42`"),
        "{joined}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prisms_401_and_422_are_clear_errors() {
    // A server that accepts only bearer tokens answers botlake's X-Authorization with 401.
    let bearer_only = variant(
        &reference_spec(),
        "security:\n  - bearerAuth: []\n  - xAuthorization: []",
        "security:\n  - bearerAuth: []",
    );
    let dir = tempfile::tempdir().unwrap();
    let prism = start_prism(dir.path(), &bearer_only, false).await;
    let lake = lake_path(dir.path());
    let out = ingest(&prism, &lake, &["--only", "runs"]).await;
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(err.contains("refused the given token"), "{err}");
    assert!(err.contains("AAE_Admin"), "{err}");
    assert!(!err.contains("prism-token"), "{err}");
    drop(prism);

    // A server whose contract limits task names, and documents no 400 for it, answers 422.
    let short_names = variant(
        &reference_spec(),
        "        dashboard (e.g., \"Analytics_ATM Reconciliation\")\n      schema:\n        type: string\n",
        "        dashboard (e.g., \"Analytics_ATM Reconciliation\")\n      schema:\n        type: string\n        maxLength: 10\n",
    );
    let short_names = variant(
        &short_names,
        "        '400':\n          description: Bad request\n          content:\n            application/json:\n              schema:\n                $ref: '#/components/schemas/Error'\n",
        "",
    );
    let dir = tempfile::tempdir().unwrap();
    let prism = start_prism(dir.path(), &short_names, false).await;
    let lake = lake_path(dir.path());
    let out = ingest(&prism, &lake, &["--only", "tasks"]).await;
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(err.contains("422"), "{err}");
    assert!(
        err.contains("must NOT have more than 10 characters"),
        "{err}"
    );
    assert!(
        err.contains("gettaskmetadata/Analytics_ATM%20Reconciliation"),
        "{err}"
    );
}

fn a360_document() -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/conformance/aa-a360-openapi.yml");
    std::fs::read_to_string(path).unwrap()
}

/// `botlake ingest aa-botinsight --generation a360` of runs, executions and audit against
/// Prism, with a token (Prism has no Authentication API).
async fn ingest_a360(prism: &Prism, lake: &str, extra: &[&str]) -> Output {
    let mut args = vec![
        "--lake",
        lake,
        "ingest",
        "aa-botinsight",
        "--generation",
        "a360",
        "--url",
        &prism.url,
        "--token-env",
        "PRISM_TOKEN",
        "--control-room",
        "prism-a360",
        "--from",
        "2026-10-01",
        "--to",
        "2026-10-05",
        "--max-attempts",
        "2",
        "--retry-base-ms",
        "10",
    ];
    args.extend_from_slice(extra);
    botlake_env(&args, &[("PRISM_TOKEN", "prism-token")]).await
}

// Issue 32, 9: the Automation 360 endpoints, as our OpenAPI document of the vendor's pages
// describes them, served by Prism, which checks every request botlake sends (parameters,
// body shape, auth header). Static examples land in every table; dynamic answers are
// decoded or rejected with a reason, never refused by Prism; and a document that names a
// parameter otherwise makes botlake's request a 422 (exit 2), so the check is a real one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_a360_document_served_by_prism_takes_every_request_botlake_sends() {
    let dir = tempfile::tempdir().unwrap();
    let prism = start_prism(dir.path(), &a360_document(), false).await;
    let lake = lake_path(dir.path());
    for _ in 0..2 {
        let out = ingest_a360(&prism, &lake, &[]).await;
        assert!(out.status.success(), "{}", stderr(&out));
        let rows = sql(
            &lake,
            "SELECT (SELECT count(*) FROM aa_bot_runs WHERE api = 'a360') AS runs, \
             (SELECT count(*) FROM aa_executions WHERE status = 'RUN_TIMED_OUT') AS executions, \
             (SELECT count(*) FROM aa_audit_events WHERE api = 'a360') AS audit, \
             (SELECT count(*) FROM runs WHERE source = 'prism-a360' AND status = 'failed') AS failed",
        )
        .await;
        assert_eq!(rows, [["1", "1", "1", "1"]]);
    }
    drop(prism);

    let dynamic = start_prism(dir.path(), &a360_document(), true).await;
    let lake = lake_path(&dir.path().join("dynamic"));
    let out = ingest_a360(&dynamic, &lake, &["--reconcile", "lenient"]).await;
    assert!(matches!(out.status.code(), Some(0 | 3)), "{}", stderr(&out));
    assert!(!stderr(&out).contains("422"), "{}", stderr(&out));
    drop(dynamic);

    let renamed = variant(
        &a360_document(),
        "- name: pageno\n          in: query\n          required: false",
        "- name: pageNumber\n          in: query\n          required: true",
    );
    let prism = start_prism(dir.path(), &renamed, false).await;
    let lake = lake_path(&dir.path().join("renamed"));
    let out = ingest_a360(&prism, &lake, &["--only", "runs"]).await;
    // A refused request is the user's setup to mend (exit 2), naming the parameter.
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let said = stderr(&out).to_lowercase();
    assert!(
        said.contains("422") && said.contains("pagenumber"),
        "{said}"
    );
}
