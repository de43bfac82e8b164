//! Hostile input and hostile peers (issue 28): values out of range, senders that trickle
//! or flood, servers that redirect or echo secrets, inputs cut short. Each test names the
//! finding it pins; each failed before its fix.

use std::io::Write as _;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use botlake_sim::uipath::{UipathConfig, UipathEvents, generate};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use crate::common::{botlake, botlake_env, end, lake_path, sql, stderr, stdout};
use crate::uipath::{listen, terminate};

fn events(seed: u64, jobs: usize) -> UipathEvents {
    generate(&UipathConfig::new(seed, jobs, end()))
}

/// `line` with its `x-opt-enqueued-time` set to `value`.
fn enqueued_at(line: &str, value: &str) -> String {
    let key = "\"x-opt-enqueued-time\":";
    let at = line
        .find(key)
        .expect("the simulator sends x-opt-enqueued-time")
        + key.len();
    let len = line[at..].find([',', '}']).expect("a value ends");
    format!("{}{value}{}", &line[..at], &line[at + len..])
}

/// Rows of every UiPath table.
async fn uipath_rows(lake: &str) -> u64 {
    let mut n = 0;
    for t in [
        "uipath_job_events",
        "uipath_queue_item_events",
        "uipath_machine_events",
        "uipath_robot_logs",
        "uipath_other_events",
    ] {
        n += sql(lake, &format!("SELECT count(*) FROM {t}")).await[0][0]
            .parse::<u64>()
            .unwrap();
    }
    n
}

// Regression (issue 28, 1): `x-opt-enqueued-time` 9999999999999999 overflowed a `* 1000`:
// `ingest uipath` panicked with exit 101 and committed nothing, and `listen` answered 500
// to every later request while its health check said 200.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_overflowing_value_is_rejected_and_the_events_around_it_land() {
    let e = events(71, 20);
    let mut lines = e.lines.clone();
    lines[3] = enqueued_at(&lines[3], "9999999999999999");
    lines[7] = enqueued_at(&lines[7], "-9223372036854775808");
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("events.ndjson");
    std::fs::write(&file, lines.join("\n")).unwrap();

    let lake = lake_path(dir.path());
    let out = botlake(&["--lake", &lake, "ingest", "uipath", file.to_str().unwrap()]).await;
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    assert_eq!(uipath_rows(&lake).await, lines.len() as u64 - 2);
    let reasons = sql(
        &lake,
        "SELECT location, reason FROM rejected_records ORDER BY location",
    )
    .await;
    assert_eq!(reasons.len(), 2, "{reasons:?}");
    assert!(reasons[0][0].ends_with(":4") && reasons[1][0].ends_with(":8"));
    assert!(reasons.iter().all(|r| r[1].contains("x-opt-enqueued-time")));

    // The receiver takes the same events: the bad ones rejected, and it stays healthy.
    let lake = lake_path(&dir.path().join("hec"));
    let (child, url) = listen(&lake, "t-71", &[]).await;
    let http = reqwest::Client::new();
    for chunk in lines.chunks(5) {
        let body: String = chunk.iter().map(|l| format!("{{\"event\":{l}}}")).collect();
        let r = http
            .post(format!("{url}/services/collector/event"))
            .header("Authorization", "Splunk t-71")
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
    }
    let health = http
        .get(format!("{url}/services/collector/health"))
        .send()
        .await
        .unwrap();
    assert_eq!(health.status(), 200);
    let out = terminate(child).await;
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(uipath_rows(&lake).await, lines.len() as u64 - 2);
    let rejected = sql(&lake, "SELECT count(*) FROM rejected_records").await;
    assert_eq!(rejected[0][0], "2");
}

// Regression (issue 28, 2): a job whose EndTime was year 200000 made `robot_utilization`
// take 4 GB. Times outside 1990 to ten years ahead are rejected at ingest.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn times_outside_the_plausible_range_are_rejected_at_ingest() {
    let e = events(72, 10);
    let job = e
        .lines
        .iter()
        .position(|l| l.contains("\"job.completed\"") || l.contains("\"job.faulted\""))
        .expect("a finished job");
    let mut lines = e.lines.clone();
    let line = &lines[job];
    let at = line.find("\"EndTime\":\"").unwrap() + "\"EndTime\":\"".len();
    let len = line[at..].find('"').unwrap();
    lines[job] = format!("{}+200000-01-01T00:00:00{}", &line[..at], &line[at + len..]);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("events.ndjson");
    std::fs::write(&file, lines.join("\n")).unwrap();
    let lake = lake_path(dir.path());
    let out = botlake(&["--lake", &lake, "ingest", "uipath", file.to_str().unwrap()]).await;
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    let reasons = sql(&lake, "SELECT reason FROM rejected_records").await;
    assert_eq!(reasons.len(), 1);
    assert!(reasons[0][0].contains("EndTime"), "{reasons:?}");
    let out = botlake(&[
        "--lake",
        &lake,
        "--memory-limit",
        "512M",
        "query",
        "robot_utilization",
    ])
    .await;
    assert!(out.status.success(), "{}", stderr(&out));
}

/// The first line of what a server answers on `stream`, or `None` if it closes first.
async fn status_line(stream: &mut TcpStream, within: Duration) -> Option<String> {
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    let deadline = tokio::time::Instant::now() + within;
    loop {
        let n = tokio::time::timeout_at(deadline, stream.read(&mut buf))
            .await
            .expect("the server answers or closes in time")
            .ok()?;
        if n == 0 {
            return None;
        }
        got.extend_from_slice(&buf[..n]);
        if let Some(end) = got.windows(2).position(|w| w == b"\r\n") {
            return Some(String::from_utf8_lossy(&got[..end]).into_owned());
        }
    }
}

/// The whole answer a server gives on `stream` before it closes it, if it closes it within
/// 10 s.
async fn closed_with(stream: &mut TcpStream) -> Option<String> {
    let mut got = Vec::new();
    match tokio::time::timeout(Duration::from_secs(10), stream.read_to_end(&mut got)).await {
        Ok(_) => Some(String::from_utf8_lossy(&got).into_owned()),
        Err(_) => None,
    }
}

fn addr_of(url: &str) -> String {
    url.trim_start_matches("http://").to_string()
}

// Regression (issue 28, 4): the receiver read a whole body before it checked the token:
// eight 60 MB posts with a wrong token took it from 135 to 561 MB. A wrong token is
// answered from the headers, before a byte of the body is read (here, none is sent).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_token_is_refused_before_the_body_is_read() {
    let dir = tempfile::tempdir().unwrap();
    let (child, url) = listen(&lake_path(dir.path()), "t-73", &[]).await;
    let mut stream = TcpStream::connect(addr_of(&url)).await.unwrap();
    stream
        .write_all(
            b"POST /services/collector/event HTTP/1.1\r\nHost: x\r\n\
              Authorization: Splunk wrong\r\nContent-Length: 60000000\r\n\r\n",
        )
        .await
        .unwrap();
    let line = status_line(&mut stream, Duration::from_secs(10)).await;
    assert_eq!(line.as_deref(), Some("HTTP/1.1 403 Forbidden"));
    // A body larger than the limit is refused from its announced length too.
    let mut stream = TcpStream::connect(addr_of(&url)).await.unwrap();
    stream
        .write_all(
            b"POST /services/collector/raw HTTP/1.1\r\nHost: x\r\n\
              Authorization: Splunk t-73\r\nContent-Length: 600000000\r\n\r\n",
        )
        .await
        .unwrap();
    let line = status_line(&mut stream, Duration::from_secs(10)).await;
    assert_eq!(line.as_deref(), Some("HTTP/1.1 413 Payload Too Large"));
    let out = terminate(child).await;
    assert!(out.status.success(), "{}", stderr(&out));
}

// Regression (issue 28, 5): slow-header and slow-body connections stayed open for 75 s,
// 1,000 idle connections stayed, and past the file-descriptor limit valid posts and the
// health check timed out.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_and_idle_connections_are_closed_and_connections_are_capped() {
    let dir = tempfile::tempdir().unwrap();
    let (child, url) = listen(
        &lake_path(dir.path()),
        "t-74",
        &[
            "--header-timeout-secs",
            "1",
            "--body-timeout-secs",
            "1",
            "--max-connections",
            "3",
        ],
    )
    .await;
    let addr = addr_of(&url);
    let started = Instant::now();
    // Headers that never end, and a connection that never says anything: both closed.
    let mut slow = TcpStream::connect(&addr).await.unwrap();
    slow.write_all(b"POST /services/collector/event HTTP/1.1\r\nHost: x\r\n")
        .await
        .unwrap();
    let mut idle = TcpStream::connect(&addr).await.unwrap();
    let closed = closed_with(&mut slow)
        .await
        .expect("slow headers are cut off");
    assert!(!closed.contains("200"), "{closed}");
    let closed = closed_with(&mut idle)
        .await
        .expect("an idle connection is closed");
    assert!(!closed.contains("200"), "{closed}");
    // A body that never completes: 408.
    let mut body = TcpStream::connect(&addr).await.unwrap();
    body.write_all(
        b"POST /services/collector/raw HTTP/1.1\r\nHost: x\r\n\
          Authorization: Splunk t-74\r\nContent-Length: 100\r\n\r\n{\"a\":",
    )
    .await
    .unwrap();
    let line = status_line(&mut body, Duration::from_secs(10)).await;
    assert_eq!(line.as_deref(), Some("HTTP/1.1 408 Request Timeout"));
    assert!(started.elapsed() < Duration::from_secs(30));
    drop(body);

    // Three connections held (within the second their headers may take): a fourth gets
    // 503, the health check saying why, and once they are gone, 200 again.
    let mut held = Vec::new();
    for _ in 0..3 {
        let mut s = TcpStream::connect(&addr).await.unwrap();
        s.write_all(b"GET /services/collector/health HTTP/1.1\r\n")
            .await
            .unwrap();
        held.push(s);
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    let http = reqwest::Client::new();
    let health = http
        .get(format!("{url}/services/collector/health"))
        .send()
        .await
        .unwrap();
    assert_eq!(health.status(), 503);
    assert!(health.text().await.unwrap().contains("every connection"));
    drop(held);
    let mut healthy = false;
    for _ in 0..50 {
        let r = reqwest::Client::new()
            .get(format!("{url}/services/collector/health"))
            .send()
            .await
            .unwrap();
        if r.status() == 200 {
            healthy = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(healthy, "the health check never came back");
    let out = terminate(child).await;
    assert!(out.status.success(), "{}", stderr(&out));
}

// Regression (issue 28, 7): one byte that was not UTF-8 lost a whole HEC request (400,
// none of its good events stored). And (9): a request of more events than may be pending
// is refused before they are held.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_bad_event_is_rejected_alone_and_a_flood_of_events_is_refused() {
    let e = events(75, 3);
    let dir = tempfile::tempdir().unwrap();
    let lake = lake_path(dir.path());
    let (child, url) = listen(&lake, "t-75", &["--max-pending", "1000"]).await;
    let mut body = Vec::new();
    for line in &e.lines[..3] {
        body.extend_from_slice(format!("{{\"event\":{line}}}").as_bytes());
    }
    body.extend_from_slice(b"{\"event\":{\"EventType\":\"job.started\",\"Name\":\"Jos\xe9\"}}");
    let http = reqwest::Client::new();
    let post = |path: &str, body: Vec<u8>, gzip: bool| {
        let mut r = http
            .post(format!("{url}/services/collector/{path}"))
            .header("Authorization", "Splunk t-75");
        if gzip {
            r = r.header("Content-Encoding", "gzip");
        }
        r.body(body).send()
    };
    let r = post("event", body, false).await.unwrap();
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
    // Tiny events, many more than may be pending, in a small gzip body.
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    for _ in 0..300_000 {
        gz.write_all(b"{}\n").unwrap();
    }
    let r = post("raw", gz.finish().unwrap(), true).await.unwrap();
    assert_eq!(r.status(), 413);
    assert!(r.text().await.unwrap().contains("more than 1000 events"));
    let out = terminate(child).await;
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(uipath_rows(&lake).await, 3);
    let rejected = sql(
        &lake,
        r"SELECT starts_with(reason, 'not UTF-8'), strpos(raw, 'Jos\xE9') > 0 FROM rejected_records",
    )
    .await;
    assert_eq!(rejected, [["true", "true"]]);
}

// Regression (issue 28, 12): a gzip file cut in the middle committed nothing ("incomplete
// deflate stream", exit 2). Every whole line before the cut lands; the cut line is
// rejected with the reason; exit 3.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_gzip_file_cut_short_keeps_every_whole_line_before_the_cut() {
    let e = events(76, 200);
    let text = e.lines.join("\n") + "\n";
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(text.as_bytes()).unwrap();
    let whole = gz.finish().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("export.ndjson.gz");
    std::fs::write(&file, &whole[..whole.len() / 2]).unwrap();
    let lake = lake_path(dir.path());
    let out = botlake(&["--lake", &lake, "ingest", "uipath", file.to_str().unwrap()]).await;
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    let kept = uipath_rows(&lake).await;
    // What a reader of the same bytes can decode: the lines before the cut, all of them.
    let mut decoded = Vec::new();
    let _ = flate2::read::GzDecoder::new(&whole[..whole.len() / 2]).read_to_end_sync(&mut decoded);
    let whole_lines = decoded.iter().filter(|b| **b == b'\n').count() as u64;
    assert!(kept > 0);
    assert_eq!(
        kept, whole_lines,
        "every whole line before the cut, and no other"
    );
    let reasons = sql(&lake, "SELECT reason FROM rejected_records").await;
    assert_eq!(reasons.len(), 1);
    assert!(reasons[0][0].contains("cut off"), "{reasons:?}");
}

/// `Read::read_to_end`, named apart from tokio's.
trait ReadToEndSync {
    fn read_to_end_sync(&mut self, out: &mut Vec<u8>) -> std::io::Result<usize>;
}

impl<R: std::io::Read> ReadToEndSync for R {
    fn read_to_end_sync(&mut self, out: &mut Vec<u8>) -> std::io::Result<usize> {
        std::io::Read::read_to_end(self, out)
    }
}

/// A request a fake server saw: its first line, headers and body, as text.
type Seen = Arc<Mutex<Vec<String>>>;

/// A fake HTTP server on a loopback port answering every request with what `answer`
/// makes of it (a whole HTTP response); returns its URL and what it saw.
async fn fake_server(answer: impl Fn(&str) -> String + Send + Sync + 'static) -> (String, Seen) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let seen: Seen = Arc::default();
    let answer = Arc::new(answer);
    let log = seen.clone();
    tokio::spawn(async move {
        loop {
            let Ok((mut stream, _)) = listener.accept().await else {
                return;
            };
            let (answer, log) = (answer.clone(), log.clone());
            tokio::spawn(async move {
                let mut got = Vec::new();
                let mut buf = [0u8; 8192];
                loop {
                    let Ok(n) = stream.read(&mut buf).await else {
                        return;
                    };
                    if n == 0 {
                        break;
                    }
                    got.extend_from_slice(&buf[..n]);
                    let text = String::from_utf8_lossy(&got);
                    if let Some(head) = text.find("\r\n\r\n") {
                        let length = text[..head]
                            .lines()
                            .find_map(|l| {
                                l.to_ascii_lowercase()
                                    .strip_prefix("content-length:")
                                    .map(|v| v.trim().parse::<usize>().unwrap_or(0))
                            })
                            .unwrap_or(0);
                        if got.len() >= head + 4 + length {
                            break;
                        }
                    }
                }
                let request = String::from_utf8_lossy(&got).into_owned();
                log.lock().unwrap().push(request.clone());
                let _ = stream.write_all(answer(&request).as_bytes()).await;
                let _ = stream.shutdown().await;
            });
        }
    });
    (url, seen)
}

fn response(status: &str, headers: &str, body: &str) -> String {
    format!(
        "HTTP/1.1 {status}\r\n{headers}Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
}

/// `botlake ingest aa-botinsight` against `url`, logging in as `reader` with `password`.
async fn ingest_from(url: &str, password: &str, dir: &std::path::Path) -> std::process::Output {
    let lake = lake_path(dir);
    botlake_env(
        &[
            "-vv",
            "--lake",
            &lake,
            "ingest",
            "aa-botinsight",
            "--url",
            url,
            "--user",
            "reader",
            "--control-room",
            "cr",
            "--only",
            "runs",
            "--from",
            "2026-10-01",
            "--to",
            "2026-10-02",
            "--retry-base-ms",
            "10",
            "--max-attempts",
            "2",
        ],
        &[("BOTLAKE_AA_PASSWORD", password)],
    )
    .await
}

// Regression (issue 28, 6): a 307 on the login made botlake send the password to another
// host, a 302 on a data request sent the token there, a server echoing the login body in
// a 400 got the password printed, and `--url http://user:PW@host` printed PW.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_secret_goes_to_another_host_or_into_a_message() {
    const PASSWORD: &str = "pw-\"Q7s3cret\\x";
    const TOKEN: &str = "tok-9f8e7d6c5b4a";
    let (elsewhere, taken) = fake_server(|_| response("200 OK", "", "{\"token\":\"x\"}")).await;
    let dir = tempfile::tempdir().unwrap();
    let shown = |out: &std::process::Output| format!("{}{}", stdout(out), stderr(out));

    // The login is redirected elsewhere: not followed.
    let to = elsewhere.clone();
    let (url, _) = fake_server(move |_| {
        response(
            "307 Temporary Redirect",
            &format!("Location: {to}/v1/authentication\r\n"),
            "",
        )
    })
    .await;
    let out = ingest_from(&url, PASSWORD, dir.path()).await;
    assert!(!out.status.success());
    assert!(shown(&out).contains("redirect"), "{}", shown(&out));
    assert!(!shown(&out).contains("Q7s3cret"), "{}", shown(&out));

    // A data request redirected elsewhere: not followed, so the token stays.
    let to = elsewhere.clone();
    let (url, _) = fake_server(move |request| {
        if request.starts_with("POST /v1/authentication") {
            response("200 OK", "", &format!("{{\"token\":\"{TOKEN}\"}}"))
        } else {
            response("302 Found", &format!("Location: {to}/elsewhere\r\n"), "")
        }
    })
    .await;
    let out = ingest_from(&url, PASSWORD, dir.path()).await;
    assert!(!out.status.success());
    assert!(shown(&out).contains("redirect"), "{}", shown(&out));
    assert!(!shown(&out).contains(TOKEN), "{}", shown(&out));
    assert!(
        taken.lock().unwrap().is_empty(),
        "a request went to the other host: {:?}",
        taken.lock().unwrap()
    );

    // A server that echoes the login body in its error: the password is not printed, in
    // any of the forms JSON gives it.
    let (url, _) = fake_server(|request| {
        let body = request.split("\r\n\r\n").nth(1).unwrap_or_default();
        let echoed = serde_json::json!({ "message": format!("bad request: {body}") });
        response("400 Bad Request", "", &echoed.to_string())
    })
    .await;
    let out = ingest_from(&url, PASSWORD, dir.path()).await;
    assert!(!out.status.success());
    assert!(shown(&out).contains("bad request"), "{}", shown(&out));
    assert!(!shown(&out).contains("Q7s3cret"), "{}", shown(&out));

    // A password in the URL is neither used nor printed.
    let (plain, _) = fake_server(|_| response("401 Unauthorized", "", "{}")).await;
    let with_password = plain.replace("http://", "http://reader:url-Q7s3cret@");
    let out = ingest_from(&with_password, "other", dir.path()).await;
    assert!(!out.status.success());
    assert!(!shown(&out).contains("Q7s3cret"), "{}", shown(&out));
    let unparsable = format!("{with_password}:port");
    let out = ingest_from(&unparsable, "other", dir.path()).await;
    assert_eq!(out.status.code(), Some(2), "{}", shown(&out));
    assert!(!shown(&out).contains("Q7s3cret"), "{}", shown(&out));
}

// Issue 32, 5: an answer without the list its endpoint answers with was stored as zero
// records. Each endpoint's: an error naming the keys the answer had, exit code 1, and
// nothing of the answer committed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_answer_of_an_unknown_shape_is_an_error_naming_its_keys() {
    let (url, _) = fake_server(|request| {
        let path = request.split(' ').nth(1).unwrap_or_default();
        let body = if path.starts_with("/v1/authentication") {
            r#"{"token":"t-1"}"#
        } else if path.contains("getbotrundata") {
            r#"{"totalRecords":2,"data":[{"id":1,"startTime":"2026-10-01T10:00:00Z"}]}"#
        } else if path.contains("gettaskmetadata") {
            r#"{"variables":[]}"#
        } else if path.contains("gettasklogdata") {
            r#"{"totalRecords":0,"logData":[]}"#
        } else if path.contains("gettaskvariableprofile") {
            r#"{"taskName":"T","values":null}"#
        } else if path.contains("/v1/audit/messages/list") {
            r#"{"page":{"offset":0,"total":1,"totalFilter":1},"items":[{"id":"a"}]}"#
        } else {
            "{}"
        };
        response("200 OK", "", body)
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let lake = lake_path(dir.path());
    let run = |source: &'static str, extra: &'static [&'static str]| {
        let (url, lake) = (url.clone(), lake.clone());
        async move {
            let mut args = vec![
                "--lake",
                &lake,
                "ingest",
                source,
                "--url",
                &url,
                "--control-room",
                "cr",
            ];
            args.extend_from_slice(extra);
            botlake_env(&args, &[("BOTLAKE_AA_PASSWORD", "pw")]).await
        }
    };
    let dates: &[&str] = &["--from", "2026-10-01", "--to", "2026-10-02"];
    for (source, extra, said) in [
        (
            "aa-botinsight",
            &["--user", "u", "--only", "runs"][..],
            "getbotrundata/0/2026-10-01?endDate=2026-10-03 answered without botRunDataList (its keys: data, totalRecords)",
        ),
        (
            "aa-botinsight",
            &["--user", "u", "--only", "tasks", "--tasks", "T"][..],
            "answered without profiles or profileVariables (its keys: taskName, values (null))",
        ),
        (
            "aa-audit",
            &["--login", "u"][..],
            "v1/audit/messages/list answered without list (its keys: items, page)",
        ),
    ] {
        let extra: &'static [&'static str] = [extra, dates].concat().leak();
        let out = run(source, extra).await;
        assert_eq!(out.status.code(), Some(1), "{source}: {}", stderr(&out));
        assert!(stderr(&out).contains(said), "{source}: {}", stderr(&out));
        assert!(stderr(&out).contains("nothing of this answer was stored"));
    }
    for table in [
        "aa_bot_runs",
        "aa_task_variable_profiles",
        "aa_audit_events",
    ] {
        let rows = sql(&lake, &format!("SELECT count(*) FROM {table}")).await;
        assert_eq!(rows[0][0], "0", "{table}");
    }
}
