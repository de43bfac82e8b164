//! Bot Insight pages saved as files: the answers of `getbotrundata`, `getaudittraildata`
//! and `gettasklogdata` as a script or an archive kept them, one page per file or many
//! pages one after another (a page a line, or pretty-printed), gzip or plain.
//!
//! A page's records land as if they had been fetched: the same decoders, the same upsert
//! by key (so ingesting a file again adds nothing), the same `rejected_records` for a
//! record that does not fit. Which table a page feeds follows from its list
//! (`botRunDataList`, `auditData`, `logData`); a task log record's task is its `taskName`,
//! or the caller's where it names none. No ingest cursor moves: files are not windows of a Control Room.
//!
//! Inputs are read and decoded on one thread per core, each taking every n-th input, and
//! handed over in chunks of [`CHUNK_ROWS`]; the committer takes the chunks back in input
//! order (so the last record of a key still wins) and commits a table whenever
//! `commit_rows` of its rows are gathered. Memory holds one commit's rows being written
//! and half as many decoded ahead, whatever the volume.

use std::collections::BTreeMap;
use std::io::Read;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use botlake_lake::{Lake, TableDef};
use chrono::{DateTime, Utc};
use datafusion::arrow::array::{Array, AsArray, RecordBatch};
use datafusion::arrow::datatypes::Date32Type;
use datafusion::arrow::error::ArrowError;
use serde::Deserialize;
use serde_json::value::RawValue;

use crate::aa::botinsight::Endpoint;
use crate::aa::records::{TASK_NOT_NAMED, TaskLogBatchBuilder};
use crate::aa::runs::{Rows, RunRecords, ends_inside_value, parse_run_page};
use crate::decode::{mend_utf8, not_utf8, unmended_offset};
use crate::progress::{Event, Observer};
use crate::quarantine::{Origin, Quarantine, Rejected};
use crate::{Error, Result};

/// What `rejected_records.source` says for records from page files.
pub const SOURCE: &str = "aa-pages";

/// Bytes read at a time; a page longer than that is read in growing steps.
const READ_SIZE: usize = 4 << 20;

/// Rows a decoder hands over at a time (fewer if `commit_rows` is smaller): small enough
/// that decoders hold little, large enough that a chunk's overhead does not count.
const CHUNK_ROWS: usize = 16 * 1024;

/// How to ingest page files.
#[derive(Debug, Clone)]
pub struct PagesConfig {
    /// The Control Room the records came from (their `control_room`).
    pub control_room: String,
    /// The task of `logData` records that name none (`taskName`); without it such a
    /// record is an error.
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
    /// Commits made (an upsert whose rows were all there already makes none).
    pub commits: u64,
    /// Wall time.
    pub elapsed: Duration,
}

impl PagesSummary {
    fn count_commit(&mut self, stats: &botlake_lake::UpsertStats) {
        if stats.inserted + stats.updated > 0 {
            self.commits += 1;
        }
    }
}

/// A page of any of the three paged endpoints; unknown properties are ignored. `R` is
/// how its runs are held: decoded in the same pass ([`RunRecords`]), or raw, one by one.
#[derive(Deserialize)]
#[serde(bound(deserialize = "R: Deserialize<'de>"))]
struct AnyPage<'a, R> {
    #[serde(rename = "botRunDataList", default)]
    runs: Option<R>,
    #[serde(rename = "auditData", borrow, default)]
    audit: Option<Vec<&'a RawValue>>,
    #[serde(rename = "logData", borrow, default)]
    logs: Option<Vec<&'a RawValue>>,
}

/// A page as [`read_pages`] hands it over.
enum Page<'a, 'p> {
    /// Runs decoded while the page was parsed, the fast way for pages that fit.
    Runs(&'p mut RunRecords<'a>),
    /// Records kept raw, to be decoded (or rejected) one by one; whether the page was
    /// mended to parse (see [`mend_utf8`]), so that its records may hold bytes that are not
    /// UTF-8; and its text (to name its keys if it holds no list).
    Raw(AnyPage<'a, Vec<&'a RawValue>>, bool, &'a [u8]),
}

/// What to do after a page.
enum Next {
    /// Read on.
    Continue,
    /// Stop reading: the committer has stopped.
    Stop,
    /// Hand the same page over again as [`Page::Raw`]: a record of it does not fit.
    AgainRaw,
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
    crate::at_least_one(&[("the rows of a commit", config.commit_rows)])?;
    let started = Instant::now();
    let received_at = Utc::now();
    let counters = Arc::new(Counters::default());
    let files = inputs.len();
    // One decoder per core, each taking every n-th input; the committer takes their
    // chunks back in input order, so the last record of a key still wins.
    let decoders = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .clamp(1, files.max(1));
    let mut queues: Vec<Vec<Input>> = (0..decoders).map(|_| Vec::new()).collect();
    for (i, input) in inputs.into_iter().enumerate() {
        queues[i % decoders].push(input);
    }
    // Together the decoders may run half a commit's worth of rows ahead, so that they keep
    // decoding while the committer writes: with a quarter, a 10M-run ingest (100 files of
    // `botlake sim pages --runs 100000000`) took 7.1 s at 218 MB peak RSS, against 6.5 s at
    // 236 MB (two runs each).
    let ahead = (config.commit_rows / CHUNK_ROWS / decoders / 2).max(1);
    let mut receivers = Vec::with_capacity(decoders);
    let mut handles = Vec::with_capacity(decoders);
    for queue in queues {
        let (tx, rx) = tokio::sync::mpsc::channel::<Decoded>(ahead);
        let config = config.clone();
        let counters = counters.clone();
        handles.push(tokio::task::spawn_blocking(move || {
            decode_inputs(queue, &config, received_at, &counters, &tx)
        }));
        receivers.push(rx);
    }

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
    let mut gathered: Vec<Gathered> = Vec::new();
    let mut outcome: Result<()> = Ok(());
    let mut commit_failed = false;
    'files: for file in 0..files {
        let rx = &mut receivers[file % decoders];
        loop {
            let message = tokio::select! {
                message = rx.recv() => message,
                _ = tick.tick() => {
                    report(summary);
                    continue;
                }
            };
            report(summary);
            let chunk = match message {
                Some(Decoded::Chunk(chunk)) => chunk,
                Some(Decoded::FileDone) => break,
                Some(Decoded::Failed(e)) => {
                    outcome = Err(e);
                    break 'files;
                }
                // The decoder stopped: its error comes with its result.
                None => break 'files,
            };
            let at = match gathered
                .iter()
                .position(|g| g.table.name == chunk.table.name)
            {
                Some(at) => at,
                None => {
                    gathered.push(Gathered::new(chunk.table));
                    gathered.len() - 1
                }
            };
            let g = &mut gathered[at];
            g.add(chunk);
            if g.rows >= config.commit_rows
                && let Err(e) = g
                    .commit(lake, false, config, received_at, observer, summary)
                    .await
            {
                outcome = Err(e);
                commit_failed = true;
                break 'files;
            }
        }
    }
    // What was decoded before an error is committed all the same: it is correct data, and
    // ingesting the mended file again adds only the rest.
    if !commit_failed {
        for g in &mut gathered {
            if let Err(e) = g
                .commit(lake, true, config, received_at, observer, summary)
                .await
            {
                outcome = outcome.and(Err(e));
                break;
            }
        }
    }
    // Dropping the receivers stops decoders still sending.
    drop(receivers);
    for handle in handles {
        let decoded = handle.await.map_err(|source| Error::Task {
            task: "a page decoder",
            source,
        })?;
        outcome = outcome.and(decoded);
    }
    report(summary);
    summary.elapsed += started.elapsed();
    outcome
}

/// What a decoder hands the committer.
enum Decoded {
    /// Rows of the input being read.
    Chunk(Chunk),
    /// The input is read to its end; the next message is about the decoder's next input.
    FileDone,
    /// The input failed here; what it held before came as chunks.
    Failed(Error),
}

/// Chunks of one table gathered for its next commit.
struct Gathered {
    table: &'static TableDef,
    batches: Vec<RecordBatch>,
    rows: usize,
    quarantine: Quarantine,
}

impl Gathered {
    fn new(table: &'static TableDef) -> Self {
        Gathered {
            table,
            batches: Vec::new(),
            rows: 0,
            quarantine: Quarantine::new(),
        }
    }

    fn add(&mut self, chunk: Chunk) {
        self.rows += chunk.batch.num_rows() + chunk.rejected.len();
        if chunk.batch.num_rows() > 0 {
            self.batches.push(chunk.batch);
        }
        self.quarantine.extend(chunk.rejected);
    }

    /// Commits what was gathered: all of it if `last`, else all but the rows of the day
    /// decoded last (see [`hold_back`]), which wait for the next commit.
    async fn commit(
        &mut self,
        lake: &Lake,
        last: bool,
        config: &PagesConfig,
        received_at: DateTime<Utc>,
        observer: &dyn Observer,
        summary: &mut PagesSummary,
    ) -> Result<()> {
        if self.rows == 0 {
            return Ok(());
        }
        let table = self.table;
        let batches = std::mem::take(&mut self.batches);
        let (now, later) = match table
            .partition
            .filter(|_| table.partition_follows_key && !last)
        {
            None => (batches, Vec::new()),
            Some(partition) => {
                hold_back(batches, partition).map_err(|source| Error::Arrow { source })?
            }
        };
        self.rows = later.iter().map(RecordBatch::num_rows).sum();
        self.batches = later;
        commit(
            lake,
            table,
            now,
            &mut self.quarantine,
            config,
            received_at,
            observer,
            summary,
        )
        .await
    }
}

#[expect(
    clippy::too_many_arguments,
    reason = "the commit's rows and where it reports"
)]
async fn commit(
    lake: &Lake,
    table: &'static TableDef,
    batches: Vec<RecordBatch>,
    quarantine: &mut Quarantine,
    config: &PagesConfig,
    received_at: DateTime<Utc>,
    observer: &dyn Observer,
    summary: &mut PagesSummary,
) -> Result<()> {
    summary.rejected += quarantine.waiting() as u64;
    // Rejects first, as the HTTP ingest does: their key makes a rerun add them once.
    let origin = Origin {
        source: SOURCE,
        control_room: &config.control_room,
    };
    if let Some(stats) = quarantine
        .commit(lake, origin, received_at, observer)
        .await?
    {
        summary.count_commit(&stats);
    }
    let rows: usize = batches.iter().map(RecordBatch::num_rows).sum();
    if rows > 0 {
        *summary.records.entry(table.name).or_default() += rows as u64;
        let stats = lake.upsert(table, batches, None).await?;
        *summary.inserted.entry(table.name).or_default() += stats.inserted;
        *summary.updated.entry(table.name).or_default() += stats.updated;
        observer.on(Event::Committed {
            table: table.name,
            stats,
        });
        summary.count_commit(&stats);
    }
    Ok(())
}

/// One table's builder and the rejects that go with its next commit.
struct Pending<'a> {
    endpoint: Endpoint<'a>,
    rows: Box<dyn Rows + Send>,
    /// This chunk's rejects, so a record repeated in the input is kept once (the commit's
    /// upsert by key does the same across chunks).
    quarantine: Quarantine,
}

impl<'a> Pending<'a> {
    fn new(endpoint: Endpoint<'a>, control_room: &str, received_at: DateTime<Utc>) -> Self {
        Pending {
            endpoint,
            rows: endpoint.builder(control_room, received_at),
            quarantine: Quarantine::new(),
        }
    }

    fn len(&self) -> usize {
        self.rows.len() + self.quarantine.waiting()
    }

    /// Decodes `raw`, or keeps it in `rejected_records` with the reason; false for a task
    /// log record that names no task when none was given, which is the caller's error.
    fn push(&mut self, raw: &RawValue, location: impl FnOnce() -> String) -> bool {
        match self.rows.push(raw) {
            Ok(_) => true,
            Err(reason) if reason == TASK_NOT_NAMED => false,
            Err(reason) => {
                self.reject(location, reason, raw.get().to_string());
                true
            }
        }
    }

    /// Keeps `raw` in `rejected_records`, once.
    fn reject(&mut self, location: impl FnOnce() -> String, reason: String, raw: String) {
        let table = self.endpoint.table().name;
        self.quarantine.reject(table, location, reason, raw);
    }

    /// Hands the waiting rows over once there are a chunk's worth of them.
    fn send_if_full(
        &mut self,
        tx: &tokio::sync::mpsc::Sender<Decoded>,
        config: &PagesConfig,
    ) -> Result<Next> {
        if self.len() < config.commit_rows.min(CHUNK_ROWS) || self.send(tx)? {
            Ok(Next::Continue)
        } else {
            Ok(Next::Stop)
        }
    }

    /// Hands the waiting rows over; false if the committer has stopped (it says why).
    fn send(&mut self, tx: &tokio::sync::mpsc::Sender<Decoded>) -> Result<bool> {
        let chunk = Chunk {
            table: self.endpoint.table(),
            batch: self
                .rows
                .finish()
                .map_err(|source| Error::Arrow { source })?,
            rejected: self.quarantine.take(),
        };
        Ok(tx.blocking_send(Decoded::Chunk(chunk)).is_ok())
    }
}

/// `batches` split into the rows to commit now and the rows at their end that are of the
/// day of the last row, which wait for the next commit. Pages come in time order, so the
/// next pages likely hold more runs of that day: committed with them, the day is written
/// once, as a new partition, instead of being merged into. Nothing waits if that day is
/// most of the rows.
fn hold_back(
    mut batches: Vec<RecordBatch>,
    partition: &str,
) -> Result<(Vec<RecordBatch>, Vec<RecordBatch>), ArrowError> {
    let days = |batch: &RecordBatch| {
        batch
            .column_by_name(partition)
            .and_then(|c| c.as_primitive_opt::<Date32Type>())
            .cloned()
            .ok_or_else(|| ArrowError::SchemaError(format!("{partition} is not a date column")))
    };
    let total: usize = batches.iter().map(RecordBatch::num_rows).sum();
    let last_day = match batches.last() {
        Some(batch) => {
            let days = days(batch)?;
            days.len()
                .checked_sub(1)
                .filter(|&i| days.is_valid(i))
                .map(|i| days.value(i))
        }
        None => None,
    };
    let Some(last_day) = last_day else {
        return Ok((batches, Vec::new()));
    };
    let mut held = 0;
    'batches: for batch in batches.iter().rev() {
        let days = days(batch)?;
        for i in (0..days.len()).rev() {
            if !days.is_valid(i) || days.value(i) != last_day {
                break 'batches;
            }
            held += 1;
        }
    }
    if held * 2 > total {
        return Ok((batches, Vec::new()));
    }
    // Slices, no copy.
    let mut later = Vec::new();
    let mut need = held;
    while need > 0 {
        let Some(batch) = batches.pop() else { break };
        let n = batch.num_rows();
        if n <= need {
            need -= n;
            later.push(batch);
        } else {
            later.push(batch.slice(n - need, need));
            batches.push(batch.slice(0, n - need));
            need = 0;
        }
    }
    later.reverse();
    Ok((batches, later))
}

/// The rows waiting for each table pages may feed.
struct Tables<'a> {
    runs: Pending<'a>,
    audit: Pending<'a>,
    logs: Pending<'a>,
}

impl<'a> Tables<'a> {
    fn all(&mut self) -> impl Iterator<Item = &mut Pending<'a>> {
        [&mut self.runs, &mut self.audit, &mut self.logs].into_iter()
    }
}

/// Reads and decodes `inputs` in turn, handing a chunk over whenever a table has a chunk's
/// worth of rows waiting and the rest at the end of each input, which it marks.
fn decode_inputs(
    inputs: Vec<Input>,
    config: &PagesConfig,
    received_at: DateTime<Utc>,
    counters: &Counters,
    tx: &tokio::sync::mpsc::Sender<Decoded>,
) -> Result<()> {
    let room = config.control_room.as_str();
    let mut tables = Tables {
        runs: Pending::new(Endpoint::Runs, room, received_at),
        audit: Pending::new(Endpoint::Audit, room, received_at),
        logs: Pending {
            // The endpoint says the table; each record says its task, else the one given.
            endpoint: Endpoint::TaskLogs { task: "" },
            rows: Box::new(TaskLogBatchBuilder::new(
                room,
                config.task.as_deref(),
                received_at,
            )),
            quarantine: Quarantine::new(),
        },
    };
    for input in inputs {
        let read = decode_input(input, config, counters, tx, &mut tables);
        // What the input held up to here goes over, also before an error.
        for pending in tables.all() {
            if pending.len() > 0 && !pending.send(tx)? {
                return Ok(());
            }
        }
        let next = match read {
            Ok(true) => {
                counters.files.fetch_add(1, Ordering::Relaxed);
                Decoded::FileDone
            }
            // The committer stopped.
            Ok(false) => return Ok(()),
            Err(e) => Decoded::Failed(e),
        };
        let failed = matches!(next, Decoded::Failed(_));
        if tx.blocking_send(next).is_err() || failed {
            return Ok(());
        }
    }
    Ok(())
}

/// Reads and decodes one input; false if the committer has stopped.
fn decode_input(
    input: Input,
    config: &PagesConfig,
    counters: &Counters,
    tx: &tokio::sync::mpsc::Sender<Decoded>,
    tables: &mut Tables<'_>,
) -> Result<bool> {
    let name = input.name.clone();
    let mut page_no = 0u64;
    let read = read_pages(input, counters, |page| {
        let (page, mended, text) = match page {
            Page::Runs(runs) => {
                if !tables.runs.rows.push_runs(runs) {
                    return Ok(Next::AgainRaw);
                }
                page_no += 1;
                counters.pages.fetch_add(1, Ordering::Relaxed);
                counters
                    .records
                    .fetch_add(runs.len() as u64, Ordering::Relaxed);
                return tables.runs.send_if_full(tx, config);
            }
            Page::Raw(p, mended, text) => (p, mended, text),
        };
        page_no += 1;
        counters.pages.fetch_add(1, Ordering::Relaxed);
        let (records, pending) = match (page.runs, page.audit, page.logs) {
            (Some(r), _, _) => (r, &mut tables.runs),
            (_, Some(a), _) => (a, &mut tables.audit),
            (_, _, Some(l)) => (l, &mut tables.logs),
            _ => {
                return Err(Error::NotAPage {
                    input: name.to_string(),
                    page: page_no,
                    had: crate::decode::keys_of(text),
                });
            }
        };
        counters
            .records
            .fetch_add(records.len() as u64, Ordering::Relaxed);
        for (i, raw) in records.iter().enumerate() {
            let location = || format!("{name} page {page_no} record {i}");
            match mended.then(|| not_utf8(raw.get())).flatten() {
                Some((reason, raw)) => pending.reject(location, reason, raw),
                None if pending.push(raw, location) => {}
                None => {
                    return Err(Error::TaskNotNamed {
                        input: name.to_string(),
                        page: page_no,
                    });
                }
            }
        }
        pending.send_if_full(tx, config)
    })?;
    Ok(read)
}

/// Calls `on_page` for every JSON value of `input`, reading it in steps so that memory
/// holds one step (or one page, if longer) at a time. A page is parsed with its runs typed
/// first and, if that fails or `on_page` asks for it, again with its records raw. Stops
/// early, returning false, when `on_page` says so.
fn read_pages(
    input: Input,
    counters: &Counters,
    mut on_page: impl FnMut(Page<'_, '_>) -> Result<Next>,
) -> Result<bool> {
    let Input { name, mut reader } = input;
    // Bytes read but not parsed yet are `room[..filled]`. The room is initialised once and
    // reused: `read_to_end` into spare capacity zeroed it before every read (a `dyn Read`
    // cannot take uninitialised memory), 2 % of an ingest's time (`perf record`).
    let mut room: Vec<u8> = vec![0; READ_SIZE];
    let mut filled = 0;
    // Offset in the input of room[0], for error messages.
    let mut base = 0u64;
    let mut eof = false;
    // The records of the last page of runs, emptied: the next page's go in the same room.
    let mut spare = RunRecords::default();
    // Where the hand-written parser unescapes strings, emptied after every read.
    let mut arena = bumpalo::Bump::new();
    while !eof {
        // Fill the room; make it larger only when what waits (a long page) leaves less than
        // half of it, by READ_SIZE or as much again as waits.
        if room.len() - filled < READ_SIZE / 2 {
            room.resize(filled + READ_SIZE.max(filled), 0);
        }
        let want = room.len() - filled;
        let read = read_full(&mut reader, &mut room[filled..filled + want]).map_err(|source| {
            Error::Read {
                input: name.to_string(),
                source,
            }
        })?;
        counters.bytes.fetch_add(read as u64, Ordering::Relaxed);
        eof = read < want;
        filled += read;
        let buf = &room[..filled];
        let mut done = 0;
        let pages = Pages {
            buf,
            // Checked once here, so that the hand-written parser borrows its strings
            // unchecked: up to a character the read cut in two, or to a byte that is not
            // UTF-8 (a page holding it goes to serde_json, which says where it is).
            text: match std::str::from_utf8(buf) {
                Ok(text) => text,
                Err(e) => std::str::from_utf8(&buf[..e.valid_up_to()]).unwrap_or_default(),
            },
            eof,
            arena: &arena,
        };
        loop {
            match pages.next(done, &mut spare, &mut on_page)? {
                Step::Read(end) => done += end,
                Step::Stop => return Ok(false),
                Step::Wait => break,
                Step::End => {
                    done = buf.len();
                    break;
                }
                Step::Broken { what, page, fault } => {
                    return Err(Error::BrokenPage {
                        input: name.to_string(),
                        page_byte: base + (done + page) as u64,
                        what,
                        fault_byte: base + (done + fault) as u64,
                    });
                }
            }
        }
        arena.reset();
        room.copy_within(done..filled, 0);
        filled -= done;
        base += done as u64;
    }
    Ok(true)
}

/// The bytes of one read, as pages.
struct Pages<'a> {
    buf: &'a [u8],
    /// `buf` up to its first byte that is not UTF-8.
    text: &'a str,
    /// Whether the input ends with `buf`.
    eof: bool,
    /// Where the hand-written parser unescapes strings.
    arena: &'a bumpalo::Bump,
}

/// What became of the page at an offset of a read.
enum Step {
    /// Handed over; it ends this many bytes further.
    Read(usize),
    /// Handed over, and `on_page` said to stop.
    Stop,
    /// The page goes on past the bytes read: the next read brings the rest.
    Wait,
    /// Nothing but white space is left.
    End,
    /// It is not JSON: what serde_json says, and where the page and the fault are (from
    /// the offset it was read at).
    Broken {
        what: String,
        page: usize,
        fault: usize,
    },
}

impl Pages<'_> {
    /// Hands the page at `done` over to `on_page`: typed runs if it is a page of runs that
    /// all fit (in their common shape by hand, else by serde_json), else raw records, mended
    /// if it holds bytes that are not UTF-8. `spare` lends its room to the typed runs.
    fn next(
        &self,
        done: usize,
        spare: &mut RunRecords<'static>,
        on_page: &mut impl FnMut(Page<'_, '_>) -> Result<Next>,
    ) -> Result<Step> {
        let rest = &self.buf[done..];
        let mut runs = std::mem::take(spare).recycle();
        let typed = match self
            .text
            .get(done..)
            .and_then(|t| parse_run_page(t, self.arena, &mut runs))
        {
            Some(end) => Some(Ok((None, end))),
            None if !self.eof && ends_inside_value(rest) => return Ok(Step::Wait),
            None => {
                let mut typed = serde_json::Deserializer::from_slice(rest)
                    .into_iter::<AnyPage<'_, RunRecords<'_>>>();
                typed
                    .next()
                    .map(|page| page.map(|page| (Some(page), typed.byte_offset())))
            }
        };
        match typed {
            None => return Ok(Step::End),
            Some(Ok((page, end))) => {
                let next = match page {
                    // By hand.
                    None => on_page(Page::Runs(&mut runs))?,
                    Some(AnyPage {
                        runs: Some(typed), ..
                    }) => {
                        runs = typed;
                        on_page(Page::Runs(&mut runs))?
                    }
                    // Audit or log records are decoded one by one in any case.
                    Some(AnyPage { audit, logs, .. }) => on_page(Page::Raw(
                        AnyPage {
                            runs: None,
                            audit,
                            logs,
                        },
                        false,
                        &rest[..end],
                    ))?,
                };
                *spare = runs.recycle();
                match next {
                    Next::Continue => return Ok(Step::Read(end)),
                    Next::Stop => return Ok(Step::Stop),
                    Next::AgainRaw => {}
                }
            }
            Some(Err(e)) if e.is_eof() && !self.eof => return Ok(Step::Wait),
            // A record that is not a BotRunRecord, or not JSON at all: see which.
            Some(Err(_)) => {}
        }
        self.next_raw(rest, on_page)
    }

    /// Hands the page at the start of `rest` over with its records raw.
    fn next_raw(
        &self,
        rest: &[u8],
        on_page: &mut impl FnMut(Page<'_, '_>) -> Result<Next>,
    ) -> Result<Step> {
        let mut raw =
            serde_json::Deserializer::from_slice(rest).into_iter::<AnyPage<'_, Vec<&RawValue>>>();
        let e = match raw.next() {
            None => return Ok(Step::End),
            Some(Ok(page)) => {
                let end = raw.byte_offset();
                return Ok(match on_page(Page::Raw(page, false, &rest[..end]))? {
                    Next::Stop => Step::Stop,
                    Next::Continue | Next::AgainRaw => Step::Read(end),
                });
            }
            Some(Err(e)) if e.is_eof() && !self.eof => return Ok(Step::Wait),
            Some(Err(e)) => e,
        };
        // Bytes that are not UTF-8 in a string: the page mended parses, and the records
        // that held them are rejected.
        match read_mended(rest, on_page)? {
            Mended::Read(end) => return Ok(Step::Read(end)),
            Mended::Stop => return Ok(Step::Stop),
            Mended::Incomplete if !self.eof => return Ok(Step::Wait),
            Mended::Incomplete | Mended::Broken => {}
        }
        // serde's line and column count from the start of the page, not of the input: byte
        // offsets say where instead.
        let text = e.to_string();
        let what = text.rsplit_once(" at line ").map_or(text.as_str(), |t| t.0);
        Ok(Step::Broken {
            what: what.to_string(),
            page: rest.iter().take_while(|b| b.is_ascii_whitespace()).count(),
            fault: offset_of(rest, e.line(), e.column()),
        })
    }
}

/// What became of a page that did not parse, mended.
enum Mended {
    /// Read, up to this offset of the unmended text.
    Read(usize),
    /// Read, and `on_page` said to stop.
    Stop,
    /// The page goes on past the bytes read.
    Incomplete,
    /// All UTF-8, or broken even mended.
    Broken,
}

/// Hands over the first page of `text` mended (see [`mend_utf8`]) if it holds bytes that
/// are not UTF-8 and parses so.
fn read_mended(
    text: &[u8],
    on_page: &mut impl FnMut(Page<'_, '_>) -> Result<Next>,
) -> Result<Mended> {
    let Some((mended, marks)) = mend_utf8(text) else {
        return Ok(Mended::Broken);
    };
    let mut pages =
        serde_json::Deserializer::from_slice(&mended).into_iter::<AnyPage<'_, Vec<&RawValue>>>();
    Ok(match pages.next() {
        Some(Ok(page)) => {
            let end = unmended_offset(pages.byte_offset(), &marks);
            match on_page(Page::Raw(page, true, &mended[..pages.byte_offset()]))? {
                Next::Stop => Mended::Stop,
                Next::Continue | Next::AgainRaw => Mended::Read(end),
            }
        }
        Some(Err(e)) if e.is_eof() => Mended::Incomplete,
        _ => Mended::Broken,
    })
}

/// The byte offset in `text` of serde_json's 1-based `line` and 0-based `column`.
fn offset_of(text: &[u8], line: usize, column: usize) -> usize {
    let start_of_line = if line <= 1 {
        0
    } else {
        memchr::memchr_iter(b'\n', text)
            .nth(line - 2)
            .map_or(text.len(), |newline| newline + 1)
    };
    (start_of_line + column).min(text.len())
}

/// Reads into `out` until it is full or the input ends; how much it read.
fn read_full(reader: &mut impl Read, out: &mut [u8]) -> std::io::Result<usize> {
    let mut read = 0;
    while read < out.len() {
        match reader.read(&mut out[read..]) {
            Ok(0) => break,
            Ok(n) => read += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(read)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pages_of(text: impl AsRef<[u8]>, step: usize) -> Result<Vec<usize>> {
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
        let owned: &'static [u8] = Box::leak(text.as_ref().to_vec().into_boxed_slice());
        let input = Input {
            name: "t.json".into(),
            reader: Box::new(Slow(owned, step)),
        };
        let mut sizes = Vec::new();
        read_pages(input, &Counters::default(), |p| {
            sizes.push(match p {
                Page::Runs(r) => r.len(),
                Page::Raw(p, _, _) => {
                    p.runs.map_or(0, |r| r.len()) + p.audit.map_or(0, |a| a.len())
                }
            });
            Ok(Next::Continue)
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
    fn a_page_not_all_utf8_is_read_mended_even_across_reads() {
        // Pages with long names, one of which the first read ends inside.
        let mut text = Vec::new();
        let mut pages = 0;
        let mut straddling = None;
        while text.len() < READ_SIZE + 4096 {
            text.extend_from_slice(format!("{{\"botRunDataList\":[{{\"id\":{pages},").as_bytes());
            let name = text.len() + "\"userName\":\"".len();
            text.extend_from_slice(
                format!("\"userName\":\"{}\"}}]}}\n", "n".repeat(900)).as_bytes(),
            );
            if (name..name + 900).contains(&(READ_SIZE - 1)) {
                straddling = Some(name);
            }
            pages += 1;
        }
        // Its name holds a byte that is not UTF-8, before the read's end.
        text[straddling.unwrap()] = 0xE9;
        let sizes = pages_of(&text, 1 << 16).unwrap();
        assert_eq!(sizes.len(), pages);
        let odd: Vec<_> = sizes.iter().enumerate().filter(|(_, n)| **n != 1).collect();
        assert!(odd.is_empty(), "{odd:?}");
    }

    #[test]
    fn a_broken_page_names_the_file_and_byte() {
        let text = "{\"botRunDataList\":[{\"id\":1}]}\n{\"botRunDataList\":[{\"id\":";
        let e = pages_of(text, 5).unwrap_err().to_string();
        assert!(
            e.contains("t.json: the page at byte 30 is not JSON: EOF while parsing")
                && e.ends_with("near byte 55"),
            "{e}"
        );
        let e = pages_of("{\"botRunDataList\":[]} nonsense", 100)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("page at byte 22") && e.ends_with("near byte 24"),
            "{e}"
        );
        // A key that is not a string.
        let e = pages_of("{\"botRunDataList\":[]}\n{\"a\":1,\u{e9}}", 3)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("page at byte 22") && e.ends_with("near byte 30"),
            "{e}"
        );
    }

    fn days(values: &[i32]) -> RecordBatch {
        use datafusion::arrow::array::{Date32Array, Int64Array};
        use datafusion::arrow::datatypes::{DataType, Field, Schema};
        let schema = Arc::new(Schema::new(vec![
            Field::new("id", DataType::Int64, false),
            Field::new("day", DataType::Date32, true),
        ]));
        let ids = Int64Array::from_iter_values(0..values.len() as i64);
        RecordBatch::try_new(
            schema,
            vec![Arc::new(ids), Arc::new(Date32Array::from(values.to_vec()))],
        )
        .unwrap()
    }

    fn day_lists(batches: &[RecordBatch]) -> Vec<Vec<i32>> {
        batches
            .iter()
            .map(|b| b.column(1).as_primitive::<Date32Type>().values().to_vec())
            .collect()
    }

    #[test]
    fn the_last_day_waits_across_batches_unless_it_is_most_rows() {
        let (now, later) =
            hold_back(vec![days(&[1, 1, 2, 3]), days(&[3]), days(&[3])], "day").unwrap();
        assert_eq!(day_lists(&now), [vec![1, 1, 2]]);
        assert_eq!(day_lists(&later), [vec![3], vec![3], vec![3]]);

        // Only the run at the end waits; an earlier row of that day goes now.
        let (now, later) = hold_back(vec![days(&[3, 1, 1, 2, 2, 3])], "day").unwrap();
        assert_eq!(day_lists(&now), [vec![3, 1, 1, 2, 2]]);
        assert_eq!(day_lists(&later), [vec![3]]);

        let (now, later) = hold_back(vec![days(&[1, 2, 2]), days(&[2])], "day").unwrap();
        assert_eq!(day_lists(&now), [vec![1, 2, 2], vec![2]]);
        assert!(later.is_empty());

        let (now, later) = hold_back(Vec::new(), "day").unwrap();
        assert!(now.is_empty() && later.is_empty());
    }
}
