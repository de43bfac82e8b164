//! Fuzz targets for every decoder of received data, run as tests for a bounded time:
//! Bot Insight pages (the hand-written run parser against serde_json, and every record
//! decoder), A360 audit pages, UiPath events, and HEC bodies (event and raw, plain and
//! gzip). Inputs are valid ones mutated (bytes flipped, cut, repeated, spliced, numbers
//! and times swapped for extreme ones). Each target must not panic, must land or reject
//! every record with a reason, and must keep what it holds bounded by its input.
//!
//! `BOTLAKE_FUZZ_SECS` (default 3) is each target's time, `BOTLAKE_FUZZ_SEED` its start:
//! a failure names the seed and the input, so that it can be run again.

use std::panic::AssertUnwindSafe;
use std::time::{Duration, Instant};

use bytes::Bytes;
use chrono::Utc;
use serde_json::value::RawValue;

use crate::aa::a360::ListPage;
use crate::aa::records::{AuditApi, AuditBatchBuilder, TaskLogBatchBuilder};
use crate::aa::runs::{Rows, RunBatchBuilder, RunPage, RunRecords, parse_run_page};
use crate::uipath::hec::{self, Encoding, HecConfig, Incoming, Kind};
use crate::uipath::{Batcher, Decoded};

/// Values a mutation puts where a number, a time or any byte was.
const TOKENS: &[&[u8]] = &[
    b"9999999999999999",
    b"-9223372036854775808",
    b"18446744073709551616",
    b"1e309",
    b"-1",
    b"0.5",
    b"null",
    b"true",
    b"\"\"",
    b"\"+200000-01-01T00:00:00\"",
    b"\"1969-12-31T23:59:59Z\"",
    b"\"2026-02-30T00:00:00Z\"",
    b"\"9999-12-31T23:59:59.999999999Z\"",
    b"{",
    b"}",
    b"[",
    b"]",
    b",",
    b":",
    b"\"",
    b"\\",
    b"\\u0000",
    b"\\ud800",
    b"\xff",
    b"\xe9",
    b"\n",
    b"{\"event\":",
    b"[1,[2,[3]]]",
];

/// A SplitMix64 step.
fn next(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

fn below(state: &mut u64, n: usize) -> usize {
    (next(state) % n.max(1) as u64) as usize
}

/// The longest input a mutation makes.
const MAX_INPUT: usize = 64 << 10;

/// `seed` changed in one to three ways; most often a value swapped for an extreme one, the
/// change that finds overflows and out-of-range values, which byte changes rarely reach.
fn mutate(seed: &[u8], seeds: &[Vec<u8>], rng: &mut u64) -> Vec<u8> {
    let mut v = seed.to_vec();
    for _ in 0..=below(rng, 3) {
        let at = below(rng, v.len() + 1);
        match below(rng, 12) {
            0 if !v.is_empty() => {
                let i = below(rng, v.len());
                v[i] ^= 1 << below(rng, 8);
            }
            1 => v.insert(at, next(rng) as u8),
            2 => {
                let end = (at + below(rng, 16)).min(v.len());
                v.drain(at..end);
            }
            3 => {
                let end = (at + below(rng, 64)).min(v.len());
                let piece = v[at..end].to_vec();
                let times = below(rng, 8);
                for _ in 0..times {
                    v.splice(at..at, piece.iter().copied());
                }
            }
            4 => v.truncate(at),
            5 => {
                let token = TOKENS[below(rng, TOKENS.len())];
                v.splice(at..at, token.iter().copied());
            }
            6 => {
                let other = &seeds[below(rng, seeds.len())];
                let from = below(rng, other.len() + 1);
                v.splice(at.., other[from..].iter().copied());
            }
            _ => {
                // The value after a colon (any of them alike) becomes a token.
                let colons: Vec<usize> = v
                    .iter()
                    .enumerate()
                    .filter(|(_, b)| **b == b':')
                    .map(|(i, _)| i)
                    .collect();
                if colons.is_empty() {
                    continue;
                }
                let start = colons[below(rng, colons.len())] + 1;
                let end = v[start..]
                    .iter()
                    .position(|b| matches!(b, b',' | b'}' | b']'))
                    .map_or(v.len(), |e| start + e);
                let token = TOKENS[below(rng, TOKENS.len())];
                v.splice(start..end, token.iter().copied());
            }
        }
        v.truncate(MAX_INPUT);
    }
    v
}

fn env_u64(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Runs `target` on the seeds, then on mutations of them for the time the environment
/// allows; a panic (an assertion of the target's, too) fails with the input.
fn fuzz(name: &str, seeds: &[Vec<u8>], target: impl Fn(&[u8])) {
    let of_name = u64::from_str_radix(&crate::quarantine::record_hash(name), 16).unwrap_or(0);
    let start = env_u64("BOTLAKE_FUZZ_SEED", 0x5eed) ^ of_name;
    let mut rng = start;
    let deadline = Instant::now() + Duration::from_secs(env_u64("BOTLAKE_FUZZ_SECS", 3));
    let mut runs = 0u64;
    let mut inputs = seeds.iter().cloned();
    loop {
        let input = match inputs.next() {
            Some(seed) => seed,
            None if Instant::now() >= deadline && runs >= 100 => break,
            None => mutate(&seeds[below(&mut rng, seeds.len())], seeds, &mut rng),
        };
        if let Err(panic) = std::panic::catch_unwind(AssertUnwindSafe(|| target(&input))) {
            let why = panic
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_default();
            panic!(
                "{name} (BOTLAKE_FUZZ_SEED={start}, input {runs}): {why}\ninput: {}",
                crate::decode::escape_invalid_utf8(&input)
            );
        }
        runs += 1;
    }
    eprintln!("{name}: {runs} inputs");
}

/// Pushes every record of `records` into `rows`; each lands or is rejected with a reason,
/// and the batch holds exactly the ones that landed.
fn decode_all(rows: &mut dyn Rows, records: &[Box<RawValue>]) {
    let mut landed = 0;
    for r in records {
        match rows.push(r) {
            Ok(_) => landed += 1,
            Err(reason) => assert!(!reason.is_empty(), "a record rejected with no reason"),
        }
    }
    assert_eq!(rows.len(), landed);
    let batch = rows.finish().expect("landed records make a batch");
    assert_eq!(batch.num_rows(), landed);
}

fn seeds(texts: &[&str]) -> Vec<Vec<u8>> {
    texts.iter().map(|t| t.as_bytes().to_vec()).collect()
}

const RUN_PAGE: &str = r#"{"totalRecords":3,"botRunDataList":[
{"id":1,"userName":"ana","firstName":"Ana","lastName":"Lima","email":"a@x.io","hostName":"H1","iPAddress":"10.0.0.1","fileName":"Invoices.atmx","startTime":"2026-11-01T08:00:00Z","endTime":"2026-11-01T08:00:30.5Z","status":"COMPLETED","totalLines":10,"timeTaken":30500,"successIndicator":true},
{"id":2,"userName":"bo\u00e9","hostName":"H2","fileName":"Claims.atmx","startTime":"2026-11-01T09:00:00+02:00","endTime":null,"status":"in_progress","totalLines":null,"timeTaken":null,"successIndicator":null},
{"id":3,"startTime":"2026-11-02T10:00:00","status":"FAILED","extra":"x"}]}"#;

const LOG_PAGE: &str = r#"{"totalRecords":2,"logData":[
{"id":7,"taskName":"Claims","runDate":"2026-10-01T10:00:00Z","variables":{"amount":"12.5","region":"North","n":3,"none":null}},
{"id":8,"runDate":"2026-10-01T11:00:00Z"}]}"#;

const AUDIT_PAGE: &str = r#"{"totalRecords":2,"auditData":[
{"id":12,"activityType":"LOGIN","createdBy":"ana","createdOn":"2026-10-01T10:00:00Z","status":"Unsuccessful","userName":"ana","hostName":"H1","source":"Control Room"},
{"id":13,"activityType":"RUN","createdOn":"2026-10-02T10:00:00.123Z","status":"Successful","detail":"d","requestId":"r-1"}]}"#;

const A360_PAGE: &str = r#"{"page":{"offset":0,"total":2,"totalFilter":2},"list":[
{"id":"XlHj6G4B","activityType":"LOGIN","createdBy":"7","createdOn":"2026-10-01T10:00:00.000Z","status":"Successful","userName":"ana","eventDescription":"Login"},
{"id":"b2","activityType":"DEPLOY","createdOn":"2026-10-01T10:05:00Z","status":"Unsuccessful","objectName":"Bots\\Claims"}]}"#;

#[test]
fn bot_insight_pages() {
    let corpus = seeds(&[RUN_PAGE, LOG_PAGE, AUDIT_PAGE]);
    fuzz("bot insight pages", &corpus, |input| {
        // The hand-written parser takes a page only where serde_json takes it the same.
        if let Ok(text) = std::str::from_utf8(input) {
            let arena = bumpalo::Bump::new();
            let mut runs = RunRecords::default();
            if let Some(end) = parse_run_page(text, &arena, &mut runs) {
                assert!(end <= text.len());
                #[derive(serde::Deserialize)]
                struct Page<'a> {
                    #[serde(rename = "botRunDataList", borrow)]
                    runs: RunRecords<'a>,
                }
                let by_serde: Page<'_> = serde_json::Deserializer::from_str(&text[..end])
                    .into_iter()
                    .next()
                    .expect("a page")
                    .expect("serde_json takes what the parser took");
                assert_eq!(by_serde.runs.len(), runs.len());
                let mut rows = RunBatchBuilder::new("fuzz", Utc::now());
                if rows.push_runs(&mut runs) {
                    assert_eq!(rows.len(), by_serde.runs.len());
                }
            }
        }
        let now = Utc::now();
        let mut builders: [(&str, Box<dyn Rows>); 3] = [
            (
                "botRunDataList",
                Box::new(RunBatchBuilder::new("fuzz", now)),
            ),
            (
                "logData",
                Box::new(TaskLogBatchBuilder::new("fuzz", None, now)),
            ),
            (
                "auditData",
                Box::new(AuditBatchBuilder::new("fuzz", AuditApi::V11, now)),
            ),
        ];
        for (list, rows) in &mut builders {
            // An answer without the list is unexpected, never a page of no records.
            match RunPage::parse(input, list) {
                Ok(Ok(page)) => decode_all(rows.as_mut(), &page.records),
                Ok(Err(unexpected)) => assert!(!unexpected.to_string().is_empty()),
                Err(_) => {}
            }
        }
    });
}

#[test]
fn a360_audit_pages() {
    fuzz("a360 audit pages", &seeds(&[A360_PAGE]), |input| {
        let page = match ListPage::parse(input) {
            Ok(Ok(page)) => page,
            Ok(Err(unexpected)) => return assert!(!unexpected.to_string().is_empty()),
            Err(_) => return,
        };
        decode_all(
            &mut AuditBatchBuilder::new("fuzz", AuditApi::A360, Utc::now()),
            page.records(),
        );
    });
}

const UIPATH: &[&str] = &[
    r#"{"body":{"Job":{"Key":"j-1","CreationTime":null,"State":"Running","StartTime":"2026-11-01T08:00:00Z","EndTime":null,"ProcessName":"Invoices","RobotName":"r1","HostMachineName":"M1"},"EventType":"job.started","SchemaVersion":"0.0.1","Timestamp":"2026-11-01T08:00:01Z","TenantKey":"t-key","TenantName":"Acme","FolderName":"Shared"},"x-opt-sequence-number":17,"x-opt-offset":"4096","x-opt-enqueued-time":1793520001000,"Diagnostic-Id":"d-1"}"#,
    r#"{"EventType":"queueItem.transactionFailed","Timestamp":"2026-11-01T08:06:00Z","TenantName":"T","QueueItem":{"Key":"i-1","QueueDefinitionId":4,"Status":"Failed","DueDate":"2026-11-01T10:00:00Z","CreationTime":"2026-11-01T08:00:00Z","SecondsInPreviousAttempt":12.5,"RetryNumber":1,"AnalyticsData":{"a":[1,2]},"SpecificData":"{}","ProcessExceptionType":"BusinessException"},"Queue":{"Key":"q","Name":"Q1","SlaInMinutes":30,"RiskSlaInMinutes":20,"MaxNumberOfRetries":2}}"#,
    r#"{"EventType":"machineSession.status","Timestamp":"2026-11-01T08:00:00Z","MachineSession":{"MachineKey":"m","MachineName":"M1","MachineId":3,"ReportingTime":"2026-11-01T08:00:00Z","IsUnresponsive":false,"UnattendedSlots":2}}"#,
    r#"{"EventType":"robotlog","Timestamp":"2026-11-01T08:00:00Z","Level":"Info","MachineKey":"m","RobotLog":{"message":"done","level":"Information","timeStamp":"2026-11-01T08:00:00.25Z","jobId":"j-1","fingerprint":"f","totalExecutionTimeInSeconds":4.5,"CustomFields":{"k":"v"}}}"#,
    r#"{"EventType":"process.created","Timestamp":"2026-11-01T08:00:00Z","Process":{"Name":"P"}}"#,
];

#[test]
fn uipath_events() {
    fuzz("uipath events", &seeds(UIPATH), |input| {
        let text = String::from_utf8_lossy(input);
        let mut batcher = Batcher::new(None);
        let mut landed = 0;
        let mut rejected = 0;
        // The same event twice, to see that a batch holds what went in.
        for _ in 0..2 {
            match batcher.push(&text, || "fuzz".into()) {
                Decoded::Event(_) => landed += 1,
                Decoded::Rejected => rejected += 1,
            }
        }
        assert_eq!(batcher.len(), landed + rejected.min(1));
        let (batches, rejects) = batcher.take().expect("landed events make batches");
        let rows: usize = batches
            .iter()
            .flat_map(|(_, b)| b)
            .map(|b| b.num_rows())
            .sum();
        assert_eq!(rows, landed);
        assert!(rejects.iter().all(|r| !r.reason.is_empty()));
        assert!(rejects.iter().all(|r| r.raw.len() <= text.len()));
    });
}

#[test]
fn hec_bodies() {
    let events: String = UIPATH
        .iter()
        .map(|e| format!(r#"{{"time":1700000000.5,"host":"h","event":{e}}}"#))
        .collect();
    let raw = UIPATH.join("\n");
    let corpus = seeds(&[&events, &raw, r#"{"event":"{\"EventType\":\"robotlog\"}"}"#]);
    let config = HecConfig {
        max_body_bytes: 256 << 10,
        max_pending: 50,
        ..HecConfig::new("t".into())
    };
    fuzz("hec bodies", &corpus, |input| {
        for (kind, encoding) in [
            (Kind::Event, Encoding::Plain),
            (Kind::Raw, Encoding::Plain),
            (Kind::Event, Encoding::Gzip),
            (Kind::Raw, Encoding::Gzip),
        ] {
            let body = match encoding {
                Encoding::Plain => Bytes::copy_from_slice(input),
                // Half the time the input zipped, half the time the input as if it were.
                Encoding::Gzip if input.len() % 2 == 0 => {
                    use std::io::Write;
                    let mut gz =
                        flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
                    gz.write_all(input).unwrap();
                    Bytes::from(gz.finish().unwrap())
                }
                Encoding::Gzip => Bytes::copy_from_slice(input),
            };
            match hec::decode_body(&config, body, encoding, kind) {
                Ok(events) => {
                    assert!(events.len() <= config.max_pending);
                    let held: usize = events
                        .iter()
                        .map(|e| match e {
                            Incoming::Event(text) => text.len(),
                            Incoming::Bad { raw, reason } => {
                                assert!(!reason.is_empty());
                                raw.len()
                            }
                        })
                        .sum();
                    // Bytes that are not UTF-8 are held as `\xNN`, four for one.
                    assert!(held <= 4 * config.max_body_bytes, "{held} bytes held");
                    // Every event decodes or is rejected with a reason.
                    let mut batcher = Batcher::new(None);
                    for e in &events {
                        if let Incoming::Event(text) = e {
                            batcher.push(text, || "fuzz".into());
                        }
                    }
                    let (_, rejects) = batcher.take().expect("batches");
                    assert!(rejects.iter().all(|r| !r.reason.is_empty()));
                }
                Err(response) => assert!(response.status().is_client_error()),
            }
        }
    });
}
