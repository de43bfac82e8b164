//! Ingest of Bot Insight's paged endpoints (`getbotrundata`, `gettasklogdata`,
//! `getaudittraildata`): date windows within the API's limit, every page of every window
//! fetched with bounded concurrency, the count reconciled with `totalRecords`, and rows
//! committed with the cursor in the same commit.
//!
//! The cursor is the first day the next ingest must fetch again: the end of the last
//! window, or earlier if a run that started then was still in progress (so that its final
//! status replaces the in-progress row). It is stored as a Delta application transaction
//! (`aa-botinsight/runs/<control room>`, `.../tasklogs/<control room>/<task>`,
//! `.../audit/<control room>`) whose version is the cursor's day number, so it survives
//! checkpoints and log cleanup.
//!
//! An ingest goes from the cursor to the last day in one pass, window by window. Where the
//! pass stands (the window, and its first page not committed) rides in every commit too,
//! under `aa-botinsight/position/...`: an ingest cut short goes on from there, so that every
//! ingest that runs for a few seconds makes progress, where one restarted from the cursor
//! each time never finished a pass that took longer than it was let run.

use std::collections::HashSet;
use std::time::{Duration, Instant};

use botlake_lake::catalog::{AA_AUDIT_EVENTS, AA_BOT_RUNS, AA_TASK_LOGS};
use botlake_lake::{Checkpoint, Lake, TableDef};
use chrono::{DateTime, NaiveDate, Utc};
use futures::StreamExt;

use crate::aa::client::Client;
use crate::aa::records::{AuditApi, AuditBatchBuilder, TaskLogBatchBuilder};
use crate::aa::runs::{API_A360, API_V11, Rows, RunBatchBuilder, RunPage};
use crate::decode::not_utf8;
use crate::progress::{Event, Observer};
use crate::quarantine::{Origin, Quarantine};
use crate::{Error, Result};

/// What `rejected_records.source` says for records fetched from Bot Insight.
pub const SOURCE: &str = "aa-botinsight";

/// Records per page, as Bot Insight serves them.
pub const PAGE_SIZE: u64 = 1000;

/// How the Control Room counts `startIndex`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Pagination {
    /// A record offset incremented by 1000 (the OpenAPI spec).
    #[default]
    Offset,
    /// A page number (the Bot Insight 11.3 documentation).
    Page,
}

impl Pagination {
    fn start_index(self, page: u64) -> u64 {
        match self {
            Pagination::Offset => page * PAGE_SIZE,
            Pagination::Page => page,
        }
    }

    /// The other way.
    pub fn other(self) -> Pagination {
        match self {
            Pagination::Offset => Pagination::Page,
            Pagination::Page => Pagination::Offset,
        }
    }

    /// Its name: `offset` or `page`.
    pub fn name(self) -> &'static str {
        match self {
            Pagination::Offset => "offset",
            Pagination::Page => "page",
        }
    }
}

/// Which Control Room answers: its paths, paging and answer shapes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Generation {
    /// Enterprise 11.x as the OpenAPI spec has it: `getbotrundata/{startIndex}/{startDate}`,
    /// `gettasklogdata/{task}/{startIndex}/{startDate}`.
    #[default]
    V11,
    /// Enterprise 11.3 as its documentation has it: page numbers, and
    /// `gettasklogdata/{task}/{page}/{from}/{to}?limit=`.
    V113,
    /// Automation 360: `getbotrundata?pageno&limit&fromDate&toDate` (no v11 audit trail or
    /// task endpoints: its audit log is [`crate::aa::a360`]'s).
    A360,
}

impl Generation {
    /// Its name in the configuration: `11.x`, `11.3` or `a360`.
    pub fn name(self) -> &'static str {
        match self {
            Generation::V11 => "11.x",
            Generation::V113 => "11.3",
            Generation::A360 => "a360",
        }
    }
}

/// Where Bot Insight's v11 API lives on a Control Room, relative to its URL.
pub const DEFAULT_API_PATH: &str = "v2/botinsight/data/api";

/// What to do when the records fetched do not add up to `totalRecords`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Reconcile {
    /// Fail the window (nothing of it is lost: the cursor stays before it).
    #[default]
    Strict,
    /// Page until a short page and report the difference as a warning, for servers
    /// whose `totalRecords` cannot be trusted (mock servers, some proxies).
    Lenient,
}

/// One of Bot Insight's paged endpoints.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Endpoint<'a> {
    /// `getbotrundata` into `aa_bot_runs`.
    Runs,
    /// `gettasklogdata/{task}` into `aa_task_logs`.
    TaskLogs {
        /// The task's Analytics name.
        task: &'a str,
    },
    /// `getaudittraildata` into `aa_audit_events`.
    Audit,
}

impl Endpoint<'_> {
    /// The table it lands in.
    pub fn table(self) -> &'static TableDef {
        match self {
            Endpoint::Runs => &AA_BOT_RUNS,
            Endpoint::TaskLogs { .. } => &AA_TASK_LOGS,
            Endpoint::Audit => &AA_AUDIT_EVENTS,
        }
    }

    /// The list its answers hold their records in.
    pub fn list(self) -> &'static str {
        match self {
            Endpoint::Runs => "botRunDataList",
            Endpoint::TaskLogs { .. } => "logData",
            Endpoint::Audit => "auditData",
        }
    }

    /// The application id under which the cursor of `control_room` is stored: its parts
    /// joined by `/`, each escaped (see [`cursor_part`]) so that no two cursors share one.
    pub fn app_id(self, control_room: &str) -> String {
        format!("aa-botinsight/{}", self.id_parts(control_room))
    }

    /// The application id under which the position of `control_room`'s pass is stored.
    pub fn position_id(self, control_room: &str) -> String {
        format!("aa-botinsight/position/{}", self.id_parts(control_room))
    }

    fn id_parts(self, control_room: &str) -> String {
        let room = cursor_part(control_room);
        match self {
            Endpoint::Runs => format!("runs/{room}"),
            Endpoint::TaskLogs { task } => format!("tasklogs/{room}/{}", cursor_part(task)),
            Endpoint::Audit => format!("audit/{room}"),
        }
    }

    /// The request for page `index` of the window `from..to` (`to` excluded) of a Control
    /// Room of `generation`, relative to the API path.
    fn path(self, generation: Generation, index: u64, from: NaiveDate, to: NaiveDate) -> String {
        match (self, generation) {
            (Endpoint::Runs, Generation::A360) => format!(
                "getbotrundata?pageno={index}&limit={PAGE_SIZE}&fromDate={}&toDate={}",
                a360_time(from),
                a360_time(to)
            ),
            (Endpoint::Runs, _) => format!("getbotrundata/{index}/{from}?endDate={to}"),
            (Endpoint::TaskLogs { task }, Generation::V113) => format!(
                "gettasklogdata/{}/{index}/{from}/{}?limit={PAGE_SIZE}",
                path_segment(task),
                to.pred_opt().unwrap_or(to)
            ),
            (Endpoint::TaskLogs { task }, _) => format!(
                "gettasklogdata/{}/{index}/{from}?endDate={to}",
                path_segment(task)
            ),
            (Endpoint::Audit, _) => format!("getaudittraildata/{index}/{from}?endDate={to}"),
        }
    }

    pub(crate) fn builder(
        self,
        control_room: &str,
        received_at: DateTime<Utc>,
    ) -> Box<dyn Rows + Send> {
        self.builder_of(Generation::V11, control_room, received_at)
    }

    fn builder_of(
        self,
        generation: Generation,
        control_room: &str,
        received_at: DateTime<Utc>,
    ) -> Box<dyn Rows + Send> {
        let api = match generation {
            Generation::A360 => API_A360,
            Generation::V11 | Generation::V113 => API_V11,
        };
        match self {
            Endpoint::Runs => {
                Box::new(RunBatchBuilder::new(control_room, received_at).with_api(api))
            }
            Endpoint::TaskLogs { task } => Box::new(TaskLogBatchBuilder::new(
                control_room,
                Some(task),
                received_at,
            )),
            Endpoint::Audit => Box::new(AuditBatchBuilder::new(
                control_room,
                AuditApi::V11,
                received_at,
            )),
        }
    }
}

/// A name as one part of a cursor's id: `%` and `/` percent-encoded, the rest as it is (so
/// that ids of names without them are what they always were). Unescaped, room `x` with
/// task `EU/UK` and room `x/EU` with task `UK` shared a cursor, and the second ingest
/// started where the first had stopped.
pub fn cursor_part(name: &str) -> std::borrow::Cow<'_, str> {
    if !name.contains(['%', '/']) {
        return name.into();
    }
    name.replace('%', "%25").replace('/', "%2F").into()
}

/// A task name (or any text) as one percent-encoded URL path segment.
pub fn path_segment(text: &str) -> String {
    const SEGMENT: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
        .remove(b'-')
        .remove(b'.')
        .remove(b'_')
        .remove(b'~');
    percent_encoding::utf8_percent_encode(text, SEGMENT).to_string()
}

/// Midnight (UTC) of `day` as Automation 360's `fromDate`/`toDate` take it
/// (`yyyy-mm-ddThh:mm:ss`, as its documented example sends it: with a `Z`, URL-encoded).
fn a360_time(day: NaiveDate) -> String {
    format!("{day}T00%3A00%3A00Z")
}

/// What to ingest and how.
#[derive(Debug, Clone)]
pub struct RunIngestConfig {
    /// The name rows carry in `control_room`.
    pub control_room: String,
    /// First day to fetch; the stored cursor if not given, else the last `window_days`.
    pub from: Option<NaiveDate>,
    /// Last day to fetch; today (UTC) if not given.
    pub to: Option<NaiveDate>,
    /// Longest window one request may cover (60 days in the spec).
    pub window_days: u32,
    /// Days before the newest record seen that the next ingest reads again: the cursor
    /// follows the Control Room's data, not this machine's clock, so that records that
    /// become visible late, or a Control Room whose clock is behind, lose nothing.
    pub overlap_days: u32,
    /// How `startIndex` counts.
    pub pagination: Pagination,
    /// Pages in flight at once.
    pub concurrency: usize,
    /// Rows to gather before committing; bounds memory whatever the window holds.
    pub commit_rows: usize,
    /// The longest to go without a commit while pages arrive: what an ingest cut short
    /// loses at most.
    pub commit_interval: Duration,
    /// Runs still in progress after this many days are taken as hung and no longer hold
    /// the cursor back.
    pub revisit_days: u32,
    /// What a count that does not add up means.
    pub reconcile: Reconcile,
    /// Where the v11 API lives, relative to the Control Room's URL.
    pub api_path: String,
    /// Which Control Room answers.
    pub generation: Generation,
}

impl RunIngestConfig {
    /// The index a request for page `page` sends: Automation 360's `pageno` and 11.3's
    /// page counts pages, the spec's `startIndex` as `pagination` says.
    fn start_index(&self, page: u64) -> u64 {
        match self.generation {
            Generation::A360 | Generation::V113 => page,
            Generation::V11 => self.pagination.start_index(page),
        }
    }

    /// Defaults for `control_room`: 60-day windows, offset pagination, 4 pages at once.
    pub fn new(control_room: &str) -> RunIngestConfig {
        RunIngestConfig {
            control_room: control_room.to_string(),
            from: None,
            to: None,
            window_days: 60,
            overlap_days: 1,
            pagination: Pagination::Offset,
            concurrency: 4,
            commit_rows: 100_000,
            commit_interval: Duration::from_secs(2),
            revisit_days: 7,
            reconcile: Reconcile::Strict,
            api_path: DEFAULT_API_PATH.to_string(),
            generation: Generation::V11,
        }
    }
}

/// What an ingest did.
#[derive(Debug, Clone, Default)]
pub struct Summary {
    /// The table it landed in.
    pub table: &'static str,
    /// Counts that did not add up, under [`Reconcile::Lenient`].
    pub warnings: Vec<String>,
    /// Date windows fetched.
    pub windows: u64,
    /// Pages fetched.
    pub pages: u64,
    /// Records received (distinct).
    pub records: u64,
    /// Bytes of JSON received.
    pub bytes: u64,
    /// Runs new to the lake.
    pub inserted: u64,
    /// Runs whose row changed (a new status, usually).
    pub updated: u64,
    /// Runs already in the lake as they are.
    pub unchanged: u64,
    /// Records that did not fit and went to `rejected_records`.
    pub rejected: u64,
    /// First day fetched.
    pub from: Option<NaiveDate>,
    /// The cursor stored for the next ingest.
    pub cursor: Option<NaiveDate>,
    /// Where a pass an earlier ingest left unfinished was taken up: its window's first
    /// day and the page.
    pub resumed: Option<(NaiveDate, u64)>,
    /// Wall time.
    pub elapsed: Duration,
}

fn epoch() -> NaiveDate {
    NaiveDate::from_ymd_opt(1970, 1, 1).expect("epoch")
}

/// The cursor of `control_room`'s last ingest of `endpoint`, if there was one.
pub async fn stored_cursor(
    lake: &Lake,
    endpoint: Endpoint<'_>,
    control_room: &str,
) -> Result<Option<NaiveDate>> {
    let version = lake
        .cursor(endpoint.table(), &endpoint.app_id(control_room))
        .await?;
    Ok(version.map(|v| epoch() + chrono::Duration::days(v)))
}

/// Where a pass stands: in window `from..to`, at page `page` (the first not committed).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Position {
    from: NaiveDate,
    to: NaiveDate,
    page: u64,
}

impl Position {
    /// Bits of the page number, and of the window's length in days.
    const PAGE_BITS: u32 = 24;
    const SPAN_BITS: u32 = 12;

    /// As a transaction version: the window's first day (since the epoch), its length and
    /// the page, in bits of their own; 0 (no position) where one does not fit.
    fn version(self) -> i64 {
        let day = (self.from - epoch()).num_days();
        let span = (self.to - self.from).num_days();
        let fits = day > 0
            && day < 1 << (62 - Self::PAGE_BITS - Self::SPAN_BITS)
            && (1..1 << Self::SPAN_BITS).contains(&span)
            && self.page < 1 << Self::PAGE_BITS;
        if !fits {
            return 0;
        }
        (day << (Self::PAGE_BITS + Self::SPAN_BITS)) | (span << Self::PAGE_BITS) | self.page as i64
    }

    /// The position a version says, if any.
    fn of_version(version: i64) -> Option<Position> {
        let day = version >> (Self::PAGE_BITS + Self::SPAN_BITS);
        let span = (version >> Self::PAGE_BITS) & ((1 << Self::SPAN_BITS) - 1);
        let page = version & ((1 << Self::PAGE_BITS) - 1);
        if version <= 0 || span == 0 {
            return None;
        }
        let from = epoch() + chrono::Duration::days(day);
        Some(Position {
            from,
            to: from + chrono::Duration::days(span),
            page: page as u64,
        })
    }
}

/// The cursor, and where the pass stands (`None` once it is done), as one commit's
/// checkpoint.
fn checkpoint(
    endpoint: Endpoint<'_>,
    control_room: &str,
    cursor: NaiveDate,
    position: Option<Position>,
) -> Checkpoint {
    let at = position.map_or(0, Position::version);
    Checkpoint {
        app_id: endpoint.app_id(control_room),
        version: (cursor - epoch()).num_days(),
        description: match position {
            Some(p) => format!("{cursor}; pass at {}..{} page {}", p.from, p.to, p.page),
            None => cursor.to_string(),
        },
        extra: vec![(endpoint.position_id(control_room), at)],
    }
}

/// Where the last ingest of `endpoint` left its pass, if it left one unfinished.
async fn stored_position(
    lake: &Lake,
    endpoint: Endpoint<'_>,
    control_room: &str,
) -> Result<Option<Position>> {
    let version = lake
        .cursor(endpoint.table(), &endpoint.position_id(control_room))
        .await?;
    Ok(version.and_then(Position::of_version))
}

/// Ingests bot runs from the Control Room behind `client` into `lake`.
pub async fn ingest_runs(
    client: &Client,
    lake: &Lake,
    config: &RunIngestConfig,
    observer: &dyn Observer,
) -> Result<Summary> {
    ingest(client, lake, config, Endpoint::Runs, observer).await
}

/// Ingests one paged endpoint from the Control Room behind `client` into `lake`.
pub async fn ingest(
    client: &Client,
    lake: &Lake,
    config: &RunIngestConfig,
    endpoint: Endpoint<'_>,
    observer: &dyn Observer,
) -> Result<Summary> {
    crate::at_least_one(&[
        ("the window's days", config.window_days as usize),
        ("the requests in flight", config.concurrency),
        ("the rows of a commit", config.commit_rows),
    ])?;
    let started = Instant::now();
    let today = config.to.unwrap_or_else(|| Utc::now().date_naive());
    let end = today + chrono::Duration::days(1);
    let window = chrono::Duration::days(i64::from(config.window_days));
    let from = match config.from {
        Some(d) => d,
        None => stored_cursor(lake, endpoint, &config.control_room)
            .await?
            .unwrap_or(end - window),
    };
    if from > today {
        return Err(Error::NothingToFetch {
            from: from.to_string(),
            to: today.to_string(),
        });
    }
    let mut run = Run {
        fetcher: Fetcher {
            client,
            config,
            endpoint,
            observer,
        },
        endpoint,
        lake,
        config,
        observer,
        today,
        hold: None,
        pass_from: from,
        newest: None,
        summary: Summary {
            table: endpoint.table().name,
            from: Some(from),
            ..Summary::default()
        },
    };
    // An ingest cut short within its pass goes on where it stood. The cursor it left is
    // the pass's hold: the earliest day of a run seen in progress, or the day of the window
    // it was cut in (a run in progress may have been seen there), and it is held there.
    let mut resume = None;
    if config.from.is_none()
        && let Some(p) = stored_position(lake, endpoint, &config.control_room).await?
        && from <= p.from
        && p.to <= end
    {
        run.hold = Some(from);
        run.summary.from = Some(p.from);
        run.summary.resumed = Some((p.from, p.page));
        resume = Some(p);
    }
    let mut start = resume.map_or(from, |p| p.from);
    while start < end {
        let (stop, first_page) = match resume.take() {
            Some(p) => (p.to, p.page),
            None => ((start + window).min(end), 0),
        };
        let next = (stop < end).then(|| Position {
            from: stop,
            to: (stop + window).min(end),
            page: 0,
        });
        run.window(start, stop, first_page, next).await?;
        start = stop;
    }
    run.summary.elapsed = started.elapsed();
    Ok(run.summary)
}

/// The read-only half of an ingest, which concurrent page fetches share.
#[derive(Clone, Copy)]
struct Fetcher<'a> {
    client: &'a Client,
    config: &'a RunIngestConfig,
    endpoint: Endpoint<'a>,
    observer: &'a dyn Observer,
}

impl Fetcher<'_> {
    async fn fetch(self, from: NaiveDate, to: NaiveDate, page: u64) -> Result<(RunPage, usize)> {
        let index = self.config.start_index(page);
        let api = self.config.api_path.trim_matches('/');
        let request = self.endpoint.path(self.config.generation, index, from, to);
        let path = if api.is_empty() {
            request
        } else {
            format!("{api}/{request}")
        };
        let list = self.endpoint.list();
        self.client
            .get_shaped(&path, self.observer, |bytes| RunPage::parse(bytes, list))
            .await
    }
}

struct Run<'a> {
    fetcher: Fetcher<'a>,
    endpoint: Endpoint<'a>,
    lake: &'a Lake,
    config: &'a RunIngestConfig,
    observer: &'a dyn Observer,
    today: NaiveDate,
    /// The earliest start day of a run seen in progress, which the cursor must not pass.
    hold: Option<NaiveDate>,
    /// The first day of this ingest's pass.
    pass_from: NaiveDate,
    /// The day of the newest record seen.
    newest: Option<NaiveDate>,
    summary: Summary,
}

impl Run<'_> {
    /// The cursor once the pass has read up to `day`: no later than a run seen in progress
    /// started, and no later than `overlap_days` before the newest record seen (where the
    /// pass started, if it saw none). The Control Room's data says how far it got, not
    /// this machine's clock: records it makes visible later, with earlier times (its clock
    /// behind ours, or an index that lags), are read by the next ingest.
    fn cursor_at(&self, day: NaiveDate) -> NaiveDate {
        let overlap = chrono::Duration::days(i64::from(self.config.overlap_days));
        let seen = self.newest.map_or(self.pass_from, |n| n - overlap);
        let day = day.min(seen);
        self.hold.map_or(day, |h| h.min(day))
    }

    /// Fetches and commits window `from..to` from page `first_page` on; `next` is where
    /// the pass stands once it is done.
    async fn window(
        &mut self,
        from: NaiveDate,
        to: NaiveDate,
        first_page: u64,
        next: Option<Position>,
    ) -> Result<()> {
        let received_at = Utc::now();
        let mut taken = Taken {
            rows: self.endpoint.builder_of(
                self.config.generation,
                &self.config.control_room,
                received_at,
            ),
            quarantine: Quarantine::new(),
            ids: HashSet::new(),
            received_at,
        };
        let fetcher = self.fetcher;
        let (first, bytes) = fetcher.fetch(from, to, first_page).await?;
        let plan = self.plan(&first, from, to, first_page);
        let mut last_total = plan.expected;
        let mut pending = Some((first, bytes));
        let mut rest = futures::stream::iter(first_page + 1..plan.pages)
            .map(|p| async move { fetcher.fetch(from, to, p).await.map(|r| (p, r)) })
            .buffered(self.config.concurrency);
        let mut page_no = first_page;
        let mut committed_at = Instant::now();
        loop {
            let (page, bytes) = match pending.take() {
                Some(first) => first,
                None => match rest.next().await {
                    Some(next) => {
                        let (p, r) = next?;
                        page_no = p;
                        r
                    }
                    None => break,
                },
            };
            if let Some(t) = page.total() {
                last_total = t;
            }
            let short = (page.records.len() as u64) < PAGE_SIZE;
            self.take_page(&page, bytes, page_no, from, to, &mut taken);
            if taken.rows.len() >= self.config.commit_rows
                || committed_at.elapsed() >= self.config.commit_interval
            {
                // The window is not done: the cursor stays where it can restart the window,
                // and the pass stands at the next page.
                let at = Position {
                    from,
                    to,
                    page: page_no + 1,
                };
                self.commit(&mut taken, self.cursor_at(from), Some(at))
                    .await?;
                committed_at = Instant::now();
            }
            if plan.lenient && short {
                break;
            }
        }
        drop(rest);
        self.reconcile(&mut taken, &plan, last_total, from, to)
            .await?;
        let cursor = self.cursor_at(to.min(self.today));
        self.commit(&mut taken, cursor, next).await?;
        self.summary.cursor = Some(cursor);
        Ok(())
    }

    /// How many records window `from..to` holds and how many pages to fetch, as its first
    /// fetched page (page `first_page`) says.
    fn plan(&mut self, first: &RunPage, from: NaiveDate, to: NaiveDate, first_page: u64) -> Plan {
        let lenient = self.config.reconcile == Reconcile::Lenient;
        // Every page before the first fetched was full (only the last page is short).
        let before = first_page.saturating_mul(PAGE_SIZE);
        let expected = first
            .total()
            .unwrap_or_else(|| before.saturating_add(first.records.len() as u64));
        let pages = if !lenient {
            expected.div_ceil(PAGE_SIZE).max(first_page + 1)
        } else if (first.records.len() as u64) < PAGE_SIZE {
            first_page + 1
        } else {
            // Until a short page says the window is done.
            u64::MAX
        };
        self.observer.on(Event::Window {
            from,
            to,
            total: expected.saturating_sub(before),
            pages: pages - first_page,
        });
        self.summary.windows += 1;
        Plan {
            lenient,
            before,
            expected,
            pages,
        }
    }

    /// Decodes the records of `page` (page `page_no` of window `from..to`, `bytes` long)
    /// into `taken`, and notes the newest day and the runs still in progress.
    fn take_page(
        &mut self,
        page: &RunPage,
        bytes: usize,
        page_no: u64,
        from: NaiveDate,
        to: NaiveDate,
        taken: &mut Taken,
    ) {
        let table = self.endpoint.table().name;
        let index = self.config.start_index(page_no);
        let generation = self.config.generation;
        for (i, raw) in page.records.iter().enumerate() {
            let location = || {
                let path = self.endpoint.path(generation, index, from, to);
                format!("{path} record {i}")
            };
            if page.mended
                && let Some((reason, raw)) = not_utf8(raw.get())
            {
                taken.quarantine.reject(table, location, reason, raw);
                continue;
            }
            match taken.rows.push(raw) {
                Ok(decoded) => {
                    taken.ids.insert(decoded.id);
                    self.newest = Some(self.newest.map_or(decoded.day, |n| n.max(decoded.day)));
                    let recent = self.today - decoded.day
                        <= chrono::Duration::days(i64::from(self.config.revisit_days));
                    if decoded.in_progress && recent {
                        self.hold = Some(self.hold.map_or(decoded.day, |h| h.min(decoded.day)));
                    }
                }
                Err(reason) => {
                    taken
                        .quarantine
                        .reject(table, location, reason, raw.get().to_string());
                }
            }
        }
        self.summary.pages += 1;
        self.summary.bytes += bytes as u64;
        self.observer.on(Event::Page {
            records: page.records.len() as u64,
            bytes: bytes as u64,
        });
    }

    /// Checks the distinct records of window `from..to` against the server's count (the
    /// first page's, or `last_total`, the last page's). A mismatch is a warning when
    /// lenient; else what was taken is committed (it is correct data), the cursor stays,
    /// the pass stands at the window's first page, and the mismatch is the error.
    async fn reconcile(
        &mut self,
        taken: &mut Taken,
        plan: &Plan,
        last_total: u64,
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<()> {
        let fetched_now = (taken.ids.len() + taken.quarantine.distinct()) as u64;
        self.summary.records += fetched_now;
        self.summary.rejected += taken.quarantine.distinct() as u64;
        let fetched = fetched_now.saturating_add(plan.before);
        let expected = plan.expected;
        if fetched == expected || fetched == last_total {
            return Ok(());
        }
        if plan.lenient {
            self.summary.warnings.push(format!(
                "window {from}..{to}: fetched {fetched} distinct records but totalRecords is {expected}"
            ));
            return Ok(());
        }
        let cause = if fetched < expected {
            crate::Mismatch::PagesMissing {
                other: self.config.pagination.other(),
            }
        } else {
            crate::Mismatch::DataChanged
        };
        let again = Position { from, to, page: 0 };
        self.commit(taken, self.cursor_at(from), Some(again))
            .await?;
        Err(Error::Reconcile {
            from,
            to,
            expected,
            fetched,
            cause,
        })
    }

    /// Commits what was taken (rejects first), with the cursor at `cursor` and the pass
    /// standing at `position`.
    async fn commit(
        &mut self,
        taken: &mut Taken,
        cursor: NaiveDate,
        position: Option<Position>,
    ) -> Result<()> {
        let origin = Origin {
            source: SOURCE,
            control_room: &self.config.control_room,
        };
        taken
            .quarantine
            .commit(self.lake, origin, taken.received_at, self.observer)
            .await?;
        let batch = taken
            .rows
            .finish()
            .map_err(|source| Error::Arrow { source })?;
        let table = self.endpoint.table();
        let checkpoint = checkpoint(self.endpoint, &self.config.control_room, cursor, position);
        let stats = self
            .lake
            .upsert(table, vec![batch], Some(&checkpoint))
            .await?;
        self.summary.inserted += stats.inserted;
        self.summary.updated += stats.updated;
        self.summary.unchanged += stats.unchanged;
        self.observer.on(Event::Committed {
            table: table.name,
            stats,
        });
        Ok(())
    }
}

/// What a window holds, as its first page says.
struct Plan {
    /// Whether a count that does not match is a warning, not an error.
    lenient: bool,
    /// Records on the pages before the first fetched (a resumed window).
    before: u64,
    /// Records of the window, as the server counts them.
    expected: u64,
    /// The page after the last to fetch.
    pages: u64,
}

/// What a window's pages gave, up to its next commit.
struct Taken {
    rows: Box<dyn Rows + Send>,
    quarantine: Quarantine,
    /// Ids of the records decoded (distinct records, for the count).
    ids: HashSet<i64>,
    received_at: chrono::DateTime<Utc>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_survive_their_version() {
        let day = |d: &str| d.parse::<NaiveDate>().unwrap();
        for (from, to, page) in [
            ("2026-09-01", "2026-10-31", 0),
            ("2026-09-01", "2026-09-02", 17),
            ("1970-01-02", "1981-03-01", (1 << 24) - 1),
        ] {
            let p = Position {
                from: day(from),
                to: day(to),
                page,
            };
            assert_eq!(Position::of_version(p.version()), Some(p), "{p:?}");
        }
        // What does not fit is stored as no position, never as another one.
        for (from, to, page) in [
            ("1969-12-31", "1970-01-02", 0),
            ("2026-09-01", "2026-09-01", 0),
            ("2026-09-01", "2040-01-01", 0),
            ("2026-09-01", "2026-09-02", 1 << 24),
        ] {
            let p = Position {
                from: day(from),
                to: day(to),
                page,
            };
            assert_eq!(p.version(), 0, "{p:?}");
        }
        assert_eq!(Position::of_version(0), None);
        assert_eq!(Position::of_version(-5), None);
    }

    // Regression: room `x` with task `Invoice Processing: EU/UK` and room
    // `x/Invoice Processing: EU` with task `UK` shared one cursor, and the second ingest
    // of task logs stored none of them.
    #[test]
    fn no_two_cursors_share_an_id() {
        let logs = |room: &str, task: &'static str| Endpoint::TaskLogs { task }.app_id(room);
        assert_ne!(
            logs("x", "Invoice Processing: EU/UK"),
            logs("x/Invoice Processing: EU", "UK")
        );
        assert_ne!(logs("a%2Fb", "c"), logs("a/b", "c"));
        assert_ne!(logs("a", "b%2Fc"), logs("a", "b/c"));
        assert_ne!(Endpoint::Runs.app_id("a/b"), Endpoint::Runs.app_id("a%2Fb"));
        assert_ne!(
            crate::aa::a360::app_id("a/b"),
            crate::aa::a360::app_id("a%2Fb")
        );
        // Names without `/` or `%` keep the ids earlier releases stored their cursors under.
        assert_eq!(
            logs("prod", "Claims 50 Review"),
            "aa-botinsight/tasklogs/prod/Claims 50 Review"
        );
        assert_eq!(Endpoint::Audit.app_id("prod"), "aa-botinsight/audit/prod");
        // Every name comes back from its part.
        for name in ["a/b", "a%2Fb", "%", "/", "plain", "50%/x"] {
            let part = cursor_part(name);
            let back = percent_encoding::percent_decode_str(&part)
                .decode_utf8()
                .unwrap();
            assert_eq!(back, name);
        }
    }
}
