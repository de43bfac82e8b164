//! Bot Insight pages saved as files: the answers of `getbotrundata`, `getaudittraildata`
//! and `gettasklogdata` as a script or an archive kept them, one page per file or many
//! pages one after another (a page a line, or pretty-printed), gzip or plain.
//!
//! A page's records land as if they had been fetched: the same decoders, the same upsert
//! by key (so ingesting a file again adds nothing), the same `rejected_records` for a
//! record that does not fit. Which table a page feeds follows from its list
//! (`botRunDataList`, `auditData`, `logData`); task logs name no task, so their task comes
//! from the caller. No ingest cursor moves: files are not windows of a Control Room.
//!
//! Reading and decoding run on a thread of their own while the previous batch is encoded
//! and committed, so both cores work; at most `commit_rows` decoded rows per table wait
//! for their commit, which bounds memory whatever the volume.

use std::collections::{BTreeMap, HashSet};
use std::io::Read;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use botlake_lake::catalog::REJECTED_RECORDS;
use botlake_lake::{Lake, TableDef};
use chrono::{DateTime, Utc};
use datafusion::arrow::array::RecordBatch;
use serde::Deserialize;
use serde_json::value::RawValue;

use crate::botinsight::Endpoint;
use crate::decode::{Rejected, Rows, record_hash, rejected_batch};
use crate::progress::{Event, Observer};
use crate::{Error, Result};

/// What `rejected_records.source` says for records from page files.
pub const SOURCE: &str = "aa-pages";

/// Bytes read at a time; a page longer than that is read in growing steps.
const READ_SIZE: usize = 4 << 20;

/// How to ingest page files.
#[derive(Debug, Clone)]
pub struct PagesConfig {
    /// The Control Room the records came from (their `control_room`).
    pub control_room: String,
    /// The task of `logData` pages; without it such pages are an error.
    pub task: Option<String>,
    /// Decoded rows of one table per commit.
    pub commit_rows: usize,
}

/// What an ingest of page files did.
#[derive(Debug, Clone, Default)]
pub struct PagesSummary {
    /// Files read.
    pub files: u64,
    /// Pages read.
    pub pages: u64,
    /// Bytes of JSON read (after decompression).
    pub bytes: u64,
    /// Records decoded, per table.
    pub records: BTreeMap<&'static str, u64>,
    /// Rows new to their table, per table.
    pub inserted: BTreeMap<&'static str, u64>,
    /// Rows that replaced a different row with the same key, per table.
    pub updated: BTreeMap<&'static str, u64>,
    /// Records that did not fit (kept in `rejected_records`).
    pub rejected: u64,
    /// Commits made.
    pub commits: u64,
    /// Wall time.
    pub elapsed: Duration,
}

/// A page of any of the three paged endpoints; unknown properties are ignored.
#[derive(Deserialize)]
struct AnyPage<'a> {
    #[serde(rename = "botRunDataList", borrow, default)]
    runs: Option<Vec<&'a RawValue>>,
    #[serde(rename = "auditData", borrow, default)]
    audit: Option<Vec<&'a RawValue>>,
    #[serde(rename = "logData", borrow, default)]
    logs: Option<Vec<&'a RawValue>>,
}

/// A named input: a path, or `-` for standard input.
pub struct Input {
    /// How errors and rejects name it.
    pub name: String,
    /// Its bytes.
    pub reader: Box<dyn Read + Send>,
}

/// Decoded rows of one table, ready to commit.
struct Chunk {
    table: &'static TableDef,
    batch: RecordBatch,
    rejected: Vec<Rejected>,
}

/// Progress the decoding thread publishes for the committing side to report.
#[derive(Default)]
struct Counters {
    files: AtomicU64,
    pages: AtomicU64,
    records: AtomicU64,
    bytes: AtomicU64,
}

/// Ingests the pages of `inputs`, in order, into `lake`.
pub async fn ingest(
    lake: &Lake,
    inputs: Vec<Input>,
    config: &PagesConfig,
    observer: &dyn Observer,
    summary: &mut PagesSummary,
) -> Result<()> {
    if config.commit_rows == 0 {
        return Err(Error::Config("commit rows must be at least 1".into()));
    }
    let started = Instant::now();
    let received_at = Utc::now();
    let counters = Arc::new(Counters::default());
    let (tx, mut rx) = tokio::sync::mpsc::channel::<Chunk>(1);
    let decoder = {
        let config = config.clone();
        let counters = counters.clone();
        tokio::task::spawn_blocking(move || {
            decode_all(inputs, &config, received_at, &counters, &tx)
        })
    };

    let mut reported = (0u64, 0u64);
    let mut report = |summary: &mut PagesSummary| {
        let records = counters.records.load(Ordering::Relaxed);
        let bytes = counters.bytes.load(Ordering::Relaxed);
        if (records, bytes) != reported {
            observer.on(Event::Page {
                records: records - reported.0,
                bytes: bytes - reported.1,
            });
            reported = (records, bytes);
        }
        summary.files = counters.files.load(Ordering::Relaxed);
        summary.pages = counters.pages.load(Ordering::Relaxed);
        summary.bytes = bytes;
    };
    let mut tick = tokio::time::interval(Duration::from_millis(250));
    let mut committed: Result<()> = Ok(());
    loop {
        let chunk = tokio::select! {
            chunk = rx.recv() => chunk,
            _ = tick.tick() => {
                report(summary);
                continue;
            }
        };
        let Some(chunk) = chunk else { break };
        report(summary);
        if let Err(e) = commit(lake, chunk, config, received_at, observer, summary).await {
            committed = Err(e);
            break;
        }
    }
    // Dropping the receiver stops a decoder still sending.
    drop(rx);
    let decoded = decoder
        .await
        .map_err(|e| Error::Config(format!("the page decoder failed: {e}")))?;
    report(summary);
    summary.elapsed += started.elapsed();
    committed?;
    decoded
}

async fn commit(
    lake: &Lake,
    chunk: Chunk,
    config: &PagesConfig,
    received_at: DateTime<Utc>,
    observer: &dyn Observer,
    summary: &mut PagesSummary,
) -> Result<()> {
    let table = chunk.table;
    if !chunk.rejected.is_empty() {
        summary.rejected += chunk.rejected.len() as u64;
        // Rejects first, as the HTTP ingest does: their key makes a rerun add them once.
        let batch = rejected_batch(
            SOURCE,
            &config.control_room,
            table.name,
            received_at,
            &chunk.rejected,
        )
        .map_err(|source| Error::Arrow { source })?;
        let stats = lake.upsert(&REJECTED_RECORDS, vec![batch], None).await?;
        observer.on(Event::Committed {
            table: REJECTED_RECORDS.name,
            stats,
        });
        summary.commits += 1;
    }
    if chunk.batch.num_rows() > 0 {
        *summary.records.entry(table.name).or_default() += chunk.batch.num_rows() as u64;
        let stats = lake.upsert(table, vec![chunk.batch], None).await?;
        *summary.inserted.entry(table.name).or_default() += stats.inserted;
        *summary.updated.entry(table.name).or_default() += stats.updated;
        observer.on(Event::Committed {
            table: table.name,
            stats,
        });
        summary.commits += 1;
    }
    Ok(())
}

/// One table's builder and the rejects that go with its next commit.
struct Pending<'a> {
    endpoint: Endpoint<'a>,
    rows: Box<dyn Rows + Send>,
    rejected: Vec<Rejected>,
    /// Hashes of this commit's rejects, so a record repeated in the input is kept once.
    rejected_hashes: HashSet<String>,
}

impl<'a> Pending<'a> {
    fn new(endpoint: Endpoint<'a>, control_room: &str, received_at: DateTime<Utc>) -> Self {
        Pending {
            endpoint,
            rows: endpoint.builder(control_room, received_at),
            rejected: Vec::new(),
            rejected_hashes: HashSet::new(),
        }
    }

    fn len(&self) -> usize {
        self.rows.len() + self.rejected.len()
    }

    fn push(&mut self, raw: &RawValue, location: impl FnOnce() -> String) {
        if let Err(reason) = self.rows.push(raw)
            && self.rejected_hashes.insert(record_hash(raw.get()))
        {
            self.rejected.push(Rejected {
                location: location(),
                reason,
                raw: raw.get().to_string(),
            });
        }
    }

    /// Hands the waiting rows over; false if the committer has stopped (it says why).
    fn send(&mut self, tx: &tokio::sync::mpsc::Sender<Chunk>) -> Result<bool> {
        self.rejected_hashes.clear();
        let chunk = Chunk {
            table: self.endpoint.table(),
            batch: self
                .rows
                .finish()
                .map_err(|source| Error::Arrow { source })?,
            rejected: std::mem::take(&mut self.rejected),
        };
        Ok(tx.blocking_send(chunk).is_ok())
    }
}

/// The rows waiting for each table pages may feed.
struct Tables<'a> {
    runs: Pending<'a>,
    audit: Pending<'a>,
    /// Only with a task to give them.
    logs: Option<Pending<'a>>,
}

impl<'a> Tables<'a> {
    fn all(&mut self) -> impl Iterator<Item = &mut Pending<'a>> {
        [
            Some(&mut self.runs),
            Some(&mut self.audit),
            self.logs.as_mut(),
        ]
        .into_iter()
        .flatten()
    }
}

/// Reads and decodes every input, handing a chunk over whenever a table has
/// `commit_rows` rows waiting, and the rest at the end.
fn decode_all(
    inputs: Vec<Input>,
    config: &PagesConfig,
    received_at: DateTime<Utc>,
    counters: &Counters,
    tx: &tokio::sync::mpsc::Sender<Chunk>,
) -> Result<()> {
    let room = config.control_room.as_str();
    let mut tables = Tables {
        runs: Pending::new(Endpoint::Runs, room, received_at),
        audit: Pending::new(Endpoint::Audit, room, received_at),
        logs: config
            .task
            .as_deref()
            .map(|task| Pending::new(Endpoint::TaskLogs { task }, room, received_at)),
    };
    let result = decode_inputs(inputs, config, counters, tx, &mut tables);
    // What was decoded before an error is committed all the same: it is correct data, and
    // ingesting the mended file again adds only the rest.
    for pending in tables.all() {
        if pending.len() > 0 && !pending.send(tx)? {
            break;
        }
    }
    result
}

fn decode_inputs(
    inputs: Vec<Input>,
    config: &PagesConfig,
    counters: &Counters,
    tx: &tokio::sync::mpsc::Sender<Chunk>,
    tables: &mut Tables<'_>,
) -> Result<()> {
    for input in inputs {
        let name = input.name.clone();
        let mut page_no = 0u64;
        let read = read_pages(input, counters, |page| {
            page_no += 1;
            counters.pages.fetch_add(1, Ordering::Relaxed);
            let (records, pending) = match (page.runs, page.audit, page.logs) {
                (Some(r), _, _) => (r, &mut tables.runs),
                (_, Some(a), _) => (a, &mut tables.audit),
                (_, _, Some(l)) => match tables.logs.as_mut() {
                    Some(p) => (l, p),
                    None => {
                        return Err(Error::Config(format!(
                            "{name}: page {page_no} is a task log page (logData); name its task with --task"
                        )));
                    }
                },
                _ => {
                    return Err(Error::Config(format!(
                        "{name}: page {page_no} has none of botRunDataList, auditData, logData: \
                         not a Bot Insight page"
                    )));
                }
            };
            counters
                .records
                .fetch_add(records.len() as u64, Ordering::Relaxed);
            for (i, raw) in records.iter().enumerate() {
                pending.push(raw, || format!("{name} page {page_no} record {i}"));
            }
            if pending.len() >= config.commit_rows {
                return pending.send(tx);
            }
            Ok(true)
        })?;
        if !read {
            return Ok(());
        }
        counters.files.fetch_add(1, Ordering::Relaxed);
    }
    Ok(())
}

/// Calls `on_page` for every JSON value of `input`, reading it in steps so that memory
/// holds one step (or one page, if longer) at a time. Stops early, returning false, when
/// `on_page` returns false.
fn read_pages(
    input: Input,
    counters: &Counters,
    mut on_page: impl FnMut(AnyPage<'_>) -> Result<bool>,
) -> Result<bool> {
    let Input { name, mut reader } = input;
    let mut buf: Vec<u8> = Vec::with_capacity(READ_SIZE);
    // Offset in the input of buf[0], for error messages.
    let mut base = 0u64;
    let mut eof = false;
    while !eof {
        // Read at least READ_SIZE more, or as much again as is waiting (a long page).
        let want = READ_SIZE.max(buf.len());
        let before = buf.len();
        let read = (&mut reader)
            .take(want as u64)
            .read_to_end(&mut buf)
            .map_err(|e| Error::Config(format!("cannot read {name}: {e}")))?;
        counters.bytes.fetch_add(read as u64, Ordering::Relaxed);
        eof = read == 0 || buf.len() - before < want;
        let mut stream = serde_json::Deserializer::from_slice(&buf).into_iter::<AnyPage<'_>>();
        let mut done = 0;
        loop {
            match stream.next() {
                None => {
                    done = buf.len();
                    break;
                }
                Some(Ok(page)) => {
                    if !on_page(page)? {
                        return Ok(false);
                    }
                    done = stream.byte_offset();
                }
                Some(Err(e)) if e.is_eof() && !eof => break,
                Some(Err(e)) => {
                    // serde's line and column count from the start of the buffer, not
                    // of the input: the byte offset says where instead.
                    let text = e.to_string();
                    let what = text.rsplit_once(" at line ").map_or(text.as_str(), |t| t.0);
                    return Err(Error::Config(format!(
                        "{name}: not a sequence of JSON pages after byte {}: {what}",
                        base + done as u64
                    )));
                }
            }
        }
        buf.drain(..done);
        base += done as u64;
    }
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pages_of(text: &str, step: usize) -> Result<Vec<usize>> {
        // A reader that hands out `step` bytes at a time exercises pages split across reads.
        struct Slow<'a>(&'a [u8], usize);
        impl Read for Slow<'_> {
            fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
                let n = self.1.min(out.len()).min(self.0.len());
                out[..n].copy_from_slice(&self.0[..n]);
                self.0 = &self.0[n..];
                Ok(n)
            }
        }
        let owned: &'static [u8] = Box::leak(text.as_bytes().to_vec().into_boxed_slice());
        let input = Input {
            name: "t.json".into(),
            reader: Box::new(Slow(owned, step)),
        };
        let mut sizes = Vec::new();
        read_pages(input, &Counters::default(), |p| {
            sizes.push(p.runs.map_or(0, |r| r.len()) + p.audit.map_or(0, |a| a.len()));
            Ok(true)
        })?;
        Ok(sizes)
    }

    #[test]
    fn pages_one_a_line_pretty_or_run_together() {
        let text = "{\"totalRecords\":2,\"botRunDataList\":[{\"id\":1},{\"id\":2}]}\n\
                    {\n  \"auditData\": [\n    {\"id\": 3}\n  ]\n}{\"botRunDataList\":[]}\n\n";
        for step in [1, 7, 1 << 20] {
            assert_eq!(pages_of(text, step).unwrap(), vec![2, 1, 0], "step {step}");
        }
    }

    #[test]
    fn a_broken_page_names_the_file_and_byte() {
        let text = "{\"botRunDataList\":[{\"id\":1}]}\n{\"botRunDataList\":[{\"id\":";
        let e = pages_of(text, 5).unwrap_err().to_string();
        assert!(e.contains("t.json") && e.contains("after byte 29"), "{e}");
        let e = pages_of("{\"botRunDataList\":[]} nonsense", 100)
            .unwrap_err()
            .to_string();
        assert!(e.contains("after byte 21"), "{e}");
    }
}
