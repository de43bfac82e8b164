//! Typed decoding of Bot Insight pages into Arrow, record by record, so that one bad
//! record is rejected with its reason and raw text while the rest of the page lands.

pub(crate) mod rows;
mod runpage;
mod utf8;

use std::borrow::Cow;
use std::sync::Arc;

use botlake_lake::catalog::{AA_BOT_RUNS, REJECTED_RECORDS};
use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use datafusion::arrow::array::{
    ArrayRef, BooleanBuilder, Date32Builder, Int64Builder, RecordBatch, StringArray, StringBuilder,
    TimestampMicrosecondArray, TimestampMicrosecondBuilder,
};
use datafusion::arrow::error::ArrowError;
use serde::Deserialize;
use serde_json::value::RawValue;

pub(crate) use runpage::{ends_inside_value, parse_run_page};
pub(crate) use utf8::{escape_invalid_utf8, mend_utf8, not_utf8, unmended_offset};

/// One page of `getbotrundata`, `gettasklogdata` or `getaudittraildata`, with its
/// records still raw.
#[derive(Debug, Deserialize)]
pub struct RunPage {
    /// Total records of the window, as the server counts them (a negative count, as
    /// mock servers send, is as good as none).
    #[serde(rename = "totalRecords")]
    pub total_records: Option<i64>,
    /// The page's records, not yet decoded.
    #[serde(
        rename = "botRunDataList",
        alias = "logData",
        alias = "auditData",
        default
    )]
    pub records: Vec<Box<RawValue>>,
    /// Whether the page held bytes that are not UTF-8 and was mended to parse (see
    /// [`mend_utf8`]): its records are then checked with [`not_utf8`].
    #[serde(skip)]
    pub mended: bool,
}

impl RunPage {
    /// A page from the body of an answer, mended if it holds bytes that are not UTF-8.
    pub fn parse(body: &[u8]) -> serde_json::Result<RunPage> {
        let error = match serde_json::from_slice(body) {
            Ok(page) => return Ok(page),
            Err(e) => e,
        };
        let Some((mended, _)) = mend_utf8(body) else {
            return Err(error);
        };
        let mut page: RunPage = serde_json::from_slice(&mended).map_err(|_| error)?;
        page.mended = true;
        Ok(page)
    }

    /// `totalRecords`, if the server sent a usable one.
    pub fn total(&self) -> Option<u64> {
        self.total_records.and_then(|t| u64::try_from(t).ok())
    }
}

/// A decoder of one endpoint's records into its table's batches.
pub trait Rows {
    /// Decodes one raw record and appends it, or says why it does not fit.
    fn push(&mut self, raw: &RawValue) -> Result<Decoded, String>;
    /// Rows appended since the last [`Rows::finish`].
    fn len(&self) -> usize;
    /// Whether no rows are waiting.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// The rows appended so far as a batch; the builder starts empty again.
    fn finish(&mut self) -> Result<RecordBatch, ArrowError>;
    /// Appends a page of runs decoded in one pass if every one of them fits, and says
    /// whether it did; nothing is appended otherwise (nor by decoders of other records).
    fn push_runs(&mut self, _runs: &mut RunRecords<'_>) -> bool {
        false
    }
}

/// A `BotRunRecord` of the spec. Unknown properties are ignored. Text borrows from the
/// page where it has no escapes, so decoding allocates little.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct BotRunRecord<'a> {
    id: i64,
    #[serde(borrow)]
    user_name: Option<Cow<'a, str>>,
    #[serde(borrow)]
    first_name: Option<Cow<'a, str>>,
    #[serde(borrow)]
    last_name: Option<Cow<'a, str>>,
    #[serde(borrow)]
    email: Option<Cow<'a, str>>,
    #[serde(borrow)]
    host_name: Option<Cow<'a, str>>,
    #[serde(rename = "iPAddress", borrow)]
    ip_address: Option<Cow<'a, str>>,
    #[serde(borrow)]
    file_name: Option<Cow<'a, str>>,
    #[serde(borrow)]
    start_time: Cow<'a, str>,
    #[serde(borrow)]
    end_time: Option<Cow<'a, str>>,
    #[serde(borrow)]
    status: Option<Cow<'a, str>>,
    total_lines: Option<i64>,
    time_taken: Option<i64>,
    success_indicator: Option<bool>,
}

impl BotRunRecord<'_> {
    /// The record as a row and whether the run may still change (not finished), or why
    /// it does not fit. Upper-cases `status` in place.
    fn typed(&mut self) -> Result<(RunRow<'_>, bool), String> {
        let start = Stamp::parse(&self.start_time).ok_or_else(|| {
            format!(
                "startTime {:?} is not an ISO 8601 date-time",
                self.start_time
            )
        })?;
        let end = match self.end_time.as_deref() {
            None | Some("") => None,
            Some(s) => Some(
                Stamp::parse(s)
                    .ok_or_else(|| format!("endTime {s:?} is not an ISO 8601 date-time"))?,
            ),
        };
        if let Some(s) = &self.status
            && s.bytes().any(|b| b.is_ascii_lowercase())
        {
            self.status = Some(Cow::Owned(s.to_ascii_uppercase()));
        }
        let status = self.status.as_deref();
        let in_progress = !matches!(status, Some("COMPLETED" | "FAILED" | "STOPPED"));
        let time_taken = self
            .time_taken
            .or_else(|| end.map(|e| e.millis_since(start)));
        let row = RunRow {
            id: self.id,
            user_name: self.user_name.as_deref(),
            first_name: self.first_name.as_deref(),
            last_name: self.last_name.as_deref(),
            email: self.email.as_deref(),
            host_name: self.host_name.as_deref(),
            ip_address: self.ip_address.as_deref(),
            file_name: self.file_name.as_deref(),
            start_micros: start.micros,
            end_micros: end.map(|e| e.micros),
            status,
            total_lines: self.total_lines,
            time_taken_ms: time_taken,
            success: self.success_indicator,
        };
        Ok((row, in_progress))
    }
}

/// The records of a `getbotrundata` page, decoded in the same pass as the page; fails on
/// the first record that is not a `BotRunRecord`, where [`RunPage`] keeps them raw.
#[derive(Debug, Default, Deserialize)]
#[serde(transparent)]
pub struct RunRecords<'a>(#[serde(borrow)] Vec<BotRunRecord<'a>>);

impl RunRecords<'_> {
    /// No records, in the room these took, for records borrowed from other text: a page's
    /// records take some hundred kilobytes, which need not be allocated (and, once freed,
    /// faulted in again) for every page.
    pub fn recycle<'b>(self) -> RunRecords<'b> {
        RunRecords(recycle(self.0))
    }

    /// How many records the page has.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether the page has none.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// An empty vector with the allocation of `v`, for items of another lifetime. Collecting
/// an iterator of a vector into a vector of items of the same size reuses its allocation
/// (the standard library's in-place iteration).
fn recycle<T, U>(mut v: Vec<T>) -> Vec<U> {
    v.clear();
    v.into_iter().filter_map(|_| None).collect()
}

/// Parses the timestamps Control Rooms send: RFC 3339, or ISO 8601 without an offset
/// (taken as UTC).
pub fn parse_timestamp(s: &str) -> Option<DateTime<Utc>> {
    if let Some(t) = parse_utc_z(s) {
        return Some(t);
    }
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Some(t.with_timezone(&Utc));
    }
    ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%d %H:%M:%S%.f"]
        .iter()
        .find_map(|f| NaiveDateTime::parse_from_str(s, f).ok())
        .map(|t| t.and_utc())
}

/// The common shape `YYYY-MM-DDTHH:MM:SS[.fraction]Z`, parsed without chrono's general
/// parser; anything else (offsets, leap seconds, other shapes) is left to it.
fn parse_utc_z(s: &str) -> Option<DateTime<Utc>> {
    let t = utc_z_stamp(s.as_bytes())?;
    let (secs, micros) = (
        t.micros.div_euclid(1_000_000),
        t.micros.rem_euclid(1_000_000),
    );
    DateTime::from_timestamp(secs, micros as u32 * 1000 + t.nanos)
}

/// An instant to the nanosecond: microseconds since the epoch (what the tables keep) and
/// the nanoseconds past them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Stamp {
    micros: i64,
    nanos: u32,
}

impl Stamp {
    /// A timestamp as [`parse_timestamp`] reads it, the common shape without chrono.
    fn parse(s: &str) -> Option<Stamp> {
        utc_z_stamp(s.as_bytes()).or_else(|| {
            let t = parse_timestamp(s)?;
            Some(Stamp {
                micros: t.timestamp_micros(),
                nanos: t.timestamp_subsec_nanos() % 1000,
            })
        })
    }

    /// Whole milliseconds from `earlier` to this, truncated toward zero as chrono's
    /// `TimeDelta::num_milliseconds` does.
    fn millis_since(self, earlier: Stamp) -> i64 {
        let nanos = |t: Stamp| i128::from(t.micros) * 1000 + i128::from(t.nanos);
        ((nanos(self) - nanos(earlier)) / 1_000_000) as i64
    }
}

/// [`parse_utc_z`]'s shape, straight to a [`Stamp`]; `None` for anything else, and for
/// what is not a date and time (February 30th, hour 24, second 60).
fn utc_z_stamp(b: &[u8]) -> Option<Stamp> {
    if b.len() < 20
        || b[b.len() - 1] != b'Z'
        || b[4] != b'-'
        || b[7] != b'-'
        || b[10] != b'T'
        || b[13] != b':'
        || b[16] != b':'
    {
        return None;
    }
    let two = |i: usize| Some(digit_of(b[i])? * 10 + digit_of(b[i + 1])?);
    let (year, month, day) = (two(0)? * 100 + two(2)?, two(5)?, two(8)?);
    let (hour, minute, second) = (two(11)?, two(14)?, two(17)?);
    let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
    let month_days = match month {
        2 if leap => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        1..=12 => 31,
        _ => return None,
    };
    if !(1..=month_days).contains(&day) || hour > 23 || minute > 59 || second > 59 {
        return None;
    }
    let fraction = match &b[19..b.len() - 1] {
        [] => 0,
        [b'.', digits @ ..] if (1..=9).contains(&digits.len()) => {
            let n = digits
                .iter()
                .try_fold(0u32, |n, &c| Some(n * 10 + digit_of(c)?))?;
            const SCALE: [u32; 10] = [
                1,
                10,
                100,
                1000,
                10_000,
                100_000,
                1_000_000,
                10_000_000,
                100_000_000,
                1_000_000_000,
            ];
            n * SCALE[9 - digits.len()]
        }
        _ => return None,
    };
    let days = days_from_civil(year, month, day);
    let secs = days * 86_400 + i64::from(hour * 3600 + minute * 60 + second);
    Some(Stamp {
        micros: secs * 1_000_000 + i64::from(fraction / 1000),
        nanos: fraction % 1000,
    })
}

fn digit_of(c: u8) -> Option<u32> {
    let d = c.wrapping_sub(b'0');
    (d < 10).then_some(u32::from(d))
}

/// Days from 1970-01-01 to a date of the proleptic Gregorian calendar from year 0 on
/// (Howard Hinnant's `days_from_civil`, counted from 400 years earlier so that it needs no
/// signed division).
#[inline]
fn days_from_civil(year: u32, month: u32, day: u32) -> i64 {
    let year = year + 400 - u32::from(month <= 2);
    let era = year / 400;
    let year_of_era = year - era * 400;
    let day_of_year = (153 * ((month + 9) % 12) + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    i64::from(era * 146_097 + day_of_era) - 719_468 - 146_097
}

pub(crate) fn epoch_days(d: NaiveDate) -> i32 {
    (d - NaiveDate::from_ymd_opt(1970, 1, 1).expect("epoch")).num_days() as i32
}

/// A record that did not fit.
#[derive(Debug, Clone)]
pub struct Rejected {
    /// Where it came from (request and position).
    pub location: String,
    /// Why it was rejected.
    pub reason: String,
    /// The record as received.
    pub raw: String,
}

/// A record as decoded, with what the pipeline needs to know about it.
#[derive(Debug, Clone, Copy)]
pub struct Decoded {
    /// The record's id (a hash of it where ids are strings).
    pub id: i64,
    /// Its day (the partition it lands in).
    pub day: NaiveDate,
    /// Whether it may still change (a run not finished yet).
    pub in_progress: bool,
}

/// Builds `aa_bot_runs` batches from records.
pub struct RunBatchBuilder {
    control_room: String,
    ingested_at: i64,
    run_id: Int64Builder,
    user_name: StringBuilder,
    first_name: StringBuilder,
    last_name: StringBuilder,
    email: StringBuilder,
    host_name: StringBuilder,
    ip_address: StringBuilder,
    file_name: StringBuilder,
    start_time: TimestampMicrosecondBuilder,
    end_time: TimestampMicrosecondBuilder,
    status: StringBuilder,
    total_lines: Int64Builder,
    time_taken_ms: Int64Builder,
    success: BooleanBuilder,
    day: Date32Builder,
    rows: usize,
    /// Room for a page's rows while they are checked, kept from page to page.
    checked: Vec<RunRow<'static>>,
}

impl RunBatchBuilder {
    /// An empty builder for runs of `control_room` ingested at `ingested_at`.
    pub fn new(control_room: &str, ingested_at: DateTime<Utc>) -> RunBatchBuilder {
        RunBatchBuilder {
            control_room: control_room.to_string(),
            ingested_at: ingested_at.timestamp_micros(),
            run_id: Int64Builder::new(),
            user_name: StringBuilder::new(),
            first_name: StringBuilder::new(),
            last_name: StringBuilder::new(),
            email: StringBuilder::new(),
            host_name: StringBuilder::new(),
            ip_address: StringBuilder::new(),
            file_name: StringBuilder::new(),
            start_time: TimestampMicrosecondBuilder::new(),
            end_time: TimestampMicrosecondBuilder::new(),
            status: StringBuilder::new(),
            total_lines: Int64Builder::new(),
            time_taken_ms: Int64Builder::new(),
            success: BooleanBuilder::new(),
            day: Date32Builder::new(),
            rows: 0,
            checked: Vec::new(),
        }
    }
}

/// One run, typed: what a decoded `BotRunRecord` holds (status already upper case).
#[derive(Debug, Clone, Copy)]
pub struct RunRow<'a> {
    /// Bot Insight's run id.
    pub id: i64,
    /// The Bot Runner user.
    pub user_name: Option<&'a str>,
    /// Its first name.
    pub first_name: Option<&'a str>,
    /// Its last name.
    pub last_name: Option<&'a str>,
    /// Its e-mail address.
    pub email: Option<&'a str>,
    /// The device's host name.
    pub host_name: Option<&'a str>,
    /// The device's IP address.
    pub ip_address: Option<&'a str>,
    /// The task file.
    pub file_name: Option<&'a str>,
    /// Start, in microseconds since the epoch (UTC); its date is the run's `day`.
    pub start_micros: i64,
    /// End, once ended.
    pub end_micros: Option<i64>,
    /// `COMPLETED`, `FAILED`, `STOPPED`, `IN_PROGRESS`, ...
    pub status: Option<&'a str>,
    /// Lines executed.
    pub total_lines: Option<i64>,
    /// Run time in milliseconds.
    pub time_taken_ms: Option<i64>,
    /// Bot Insight's success indicator.
    pub success: Option<bool>,
}

impl RunBatchBuilder {
    /// Appends a run that needs no decoding (generated ones).
    pub fn push_run(&mut self, r: &RunRow<'_>) {
        self.run_id.append_value(r.id);
        self.user_name.append_option(r.user_name);
        self.first_name.append_option(r.first_name);
        self.last_name.append_option(r.last_name);
        self.email.append_option(r.email);
        self.host_name.append_option(r.host_name);
        self.ip_address.append_option(r.ip_address);
        self.file_name.append_option(r.file_name);
        self.start_time.append_value(r.start_micros);
        self.end_time.append_option(r.end_micros);
        self.status.append_option(r.status);
        self.total_lines.append_option(r.total_lines);
        self.time_taken_ms.append_option(r.time_taken_ms);
        self.success.append_option(r.success);
        self.day
            .append_value(r.start_micros.div_euclid(86_400_000_000) as i32);
        self.rows += 1;
    }
}

impl Rows for RunBatchBuilder {
    fn len(&self) -> usize {
        self.rows
    }

    fn push(&mut self, raw: &RawValue) -> Result<Decoded, String> {
        let mut r: BotRunRecord<'_> =
            serde_json::from_str(raw.get()).map_err(|e| format!("not a BotRunRecord: {e}"))?;
        let (row, in_progress) = r.typed()?;
        // Every time chrono parses has a date.
        let day = DateTime::from_timestamp_micros(row.start_micros)
            .ok_or("startTime is out of range")?
            .date_naive();
        self.push_run(&row);
        Ok(Decoded {
            id: row.id,
            day,
            in_progress,
        })
    }

    fn push_runs(&mut self, runs: &mut RunRecords<'_>) -> bool {
        // Every record is checked before any is appended, so that a page with a bad
        // record can be taken again record by record.
        let mut rows: Vec<RunRow<'_>> = recycle(std::mem::take(&mut self.checked));
        for r in &mut runs.0 {
            match r.typed() {
                Ok((row, _)) => rows.push(row),
                Err(_) => return false,
            }
        }
        for row in &rows {
            self.push_run(row);
        }
        self.checked = recycle(rows);
        true
    }

    fn finish(&mut self) -> Result<RecordBatch, ArrowError> {
        let n = self.rows;
        self.rows = 0;
        // The next batch is likely as big as this one: its builders start at this one's
        // size instead of growing (and copying) from empty. Strings get an eighth more: a
        // batch a byte longer than the last would double the buffer, and half of them are.
        let utc = |b: &mut TimestampMicrosecondBuilder| -> ArrayRef {
            let a = b.finish().with_timezone("UTC");
            *b = TimestampMicrosecondBuilder::with_capacity(n);
            Arc::new(a)
        };
        let text = |b: &mut StringBuilder| -> ArrayRef {
            let a = b.finish();
            let bytes = a.value_data().len();
            *b = StringBuilder::with_capacity(n, bytes + bytes / 8);
            Arc::new(a)
        };
        let int = |b: &mut Int64Builder| -> ArrayRef {
            let a = b.finish();
            *b = Int64Builder::with_capacity(n);
            Arc::new(a)
        };
        let columns: Vec<ArrayRef> = vec![
            Arc::new(constant(&self.control_room, n)),
            int(&mut self.run_id),
            text(&mut self.user_name),
            text(&mut self.first_name),
            text(&mut self.last_name),
            text(&mut self.email),
            text(&mut self.host_name),
            text(&mut self.ip_address),
            text(&mut self.file_name),
            utc(&mut self.start_time),
            utc(&mut self.end_time),
            text(&mut self.status),
            int(&mut self.total_lines),
            int(&mut self.time_taken_ms),
            Arc::new(self.success.finish()),
            Arc::new(
                TimestampMicrosecondArray::from(vec![self.ingested_at; n]).with_timezone("UTC"),
            ),
            Arc::new(self.day.finish()),
        ];
        RecordBatch::try_new(AA_BOT_RUNS.schema.clone(), columns)
    }
}

/// A column of `n` copies of `value`, for `control_room` and friends.
pub(crate) fn constant(value: &str, n: usize) -> StringArray {
    StringArray::from_iter_values(std::iter::repeat_n(value, n))
}

/// A stable 64-bit FNV-1a hash of a rejected record, its identity in `rejected_records`.
pub fn record_hash(raw: &str) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in raw.as_bytes() {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    format!("{h:016x}")
}

/// Builds a `rejected_records` batch.
pub fn rejected_batch(
    source: &str,
    control_room: &str,
    table: &str,
    received_at: DateTime<Utc>,
    rejected: &[Rejected],
) -> Result<RecordBatch, ArrowError> {
    let n = rejected.len();
    let text = |v: &str| Arc::new(constant(v, n)) as ArrayRef;
    let ts = |v: i64| {
        Arc::new(TimestampMicrosecondArray::from(vec![v; n]).with_timezone("UTC")) as ArrayRef
    };
    let strings = |f: &dyn Fn(&Rejected) -> String| -> ArrayRef {
        Arc::new(StringArray::from_iter_values(rejected.iter().map(f)))
    };
    let now = Utc::now().timestamp_micros();
    RecordBatch::try_new(
        REJECTED_RECORDS.schema.clone(),
        vec![
            text(source),
            text(control_room),
            text(table),
            strings(&|r| record_hash(&r.raw)),
            strings(&|r| r.location.clone()),
            strings(&|r| r.reason.clone()),
            strings(&|r| r.raw.clone()),
            ts(received_at.timestamp_micros()),
            ts(now),
        ],
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_answer_with_bytes_that_are_not_utf8_is_mended_and_its_records_told_apart() {
        let body = b"{\"totalRecords\":2,\"botRunDataList\":[{\"id\":1,\"userName\":\"Jos\xe9\"},{\"id\":2}]}";
        let page = RunPage::parse(body).unwrap();
        assert!(page.mended);
        assert_eq!(page.total(), Some(2));
        let verdicts: Vec<_> = page.records.iter().map(|r| not_utf8(r.get())).collect();
        assert_eq!(
            verdicts[0].as_ref().unwrap().1,
            r#"{"id":1,"userName":"Jos\xE9"}"#
        );
        assert_eq!(verdicts[1], None);
        assert!(!RunPage::parse(br#"{"botRunDataList":[]}"#).unwrap().mended);
        // Broken JSON stays broken, with serde's own error.
        let e = RunPage::parse(b"{\"botRunDataList\":[\xe9]}").unwrap_err();
        assert!(e.to_string().contains("expected value"), "{e}");
    }

    #[test]
    fn timestamps_with_and_without_offset() {
        let a = parse_timestamp("2026-11-01T08:15:03.123Z").unwrap();
        let b = parse_timestamp("2026-11-01T10:15:03.123+02:00").unwrap();
        let c = parse_timestamp("2026-11-01T08:15:03.123").unwrap();
        assert_eq!(a, b);
        assert_eq!(a, c);
        assert!(parse_timestamp("31/02/2026 25:61").is_none());
        // The fast path agrees with chrono's parser wherever it answers.
        for text in [
            "2026-11-01T08:15:03Z",
            "2026-11-01T08:15:03.1Z",
            "2026-11-01T08:15:03.123456789Z",
            "2024-02-29T23:59:59.999Z",
            "2026-02-29T08:15:03Z",
            "2026-11-01T24:00:00Z",
            "2026-11-01T08:15:03.Z",
            "2026-11-01T08:15:03.1234567891Z",
            "2026-11-0aT08:15:03Z",
            "2016-12-31T23:59:60Z",
        ] {
            let chrono = DateTime::parse_from_rfc3339(text)
                .ok()
                .map(|t| t.with_timezone(&Utc));
            assert_eq!(parse_timestamp(text), chrono, "{text}");
            if let Some(fast) = parse_utc_z(text) {
                assert_eq!(Some(fast), chrono, "{text}");
            }
        }
    }

    /// chrono's reading of `text` as a [`Stamp`].
    fn by_chrono(text: &str) -> Option<Stamp> {
        let t = DateTime::parse_from_rfc3339(text).ok()?;
        Some(Stamp {
            micros: t.timestamp_micros(),
            nanos: t.timestamp_subsec_nanos() % 1000,
        })
    }

    #[test]
    fn stamps_agree_with_chrono_on_every_day_and_on_the_edges() {
        // Every day of 1599 to 2401 (leap centuries and not), and days that do not exist.
        for year in 1599..=2401 {
            for month in 1..=13 {
                for day in [0, 1, 15, 28, 29, 30, 31, 32] {
                    let text = format!("{year:04}-{month:02}-{day:02}T23:59:58.5Z");
                    assert_eq!(utc_z_stamp(text.as_bytes()), by_chrono(&text), "{text}");
                }
            }
        }
        for text in [
            "0000-01-01T00:00:00Z",
            "1969-12-31T23:59:59.999999999Z",
            "1970-01-01T00:00:00.000001Z",
            "9999-12-31T23:59:59.123456789Z",
            "2026-11-01T08:15:03.0000005Z",
            "2026-11-01T23:60:00Z",
            "2026-11-01T08:15:60Z",
            "2026-11-01T08:15:03.12a4Z",
            "2026-11-01t08:15:03Z",
            "+2026-11-01T08:15:03Z",
        ] {
            // A leap second is chrono's to read.
            if let Some(fast) = utc_z_stamp(text.as_bytes()) {
                assert_eq!(Some(fast), by_chrono(text), "{text}");
            }
            assert_eq!(Stamp::parse(text), by_chrono(text), "{text}");
        }
        // Durations to the nanosecond, truncated toward zero as chrono's are.
        for (from, to) in [
            (
                "2026-11-01T08:00:00.0000005Z",
                "2026-11-01T08:00:00.0010004Z",
            ),
            (
                "2026-11-01T08:00:00.0010004Z",
                "2026-11-01T08:00:00.0000005Z",
            ),
            (
                "1969-12-31T23:59:59.9999Z",
                "1970-01-01T00:00:00.0015+00:00",
            ),
            ("2026-11-01T08:00:00Z", "2026-11-01T10:00:00.25+02:00"),
        ] {
            let chrono = (DateTime::parse_from_rfc3339(to).unwrap()
                - DateTime::parse_from_rfc3339(from).unwrap())
            .num_milliseconds();
            let (from, to) = (Stamp::parse(from).unwrap(), Stamp::parse(to).unwrap());
            assert_eq!(to.millis_since(from), chrono);
        }
    }

    #[test]
    fn decodes_good_records_and_explains_bad_ones() {
        let page = br#"{"totalRecords":3,"extra":1,"botRunDataList":[
            {"id":1,"userName":"u","hostName":"h","fileName":"f.atmx","startTime":"2026-11-01T08:00:00Z",
             "endTime":"2026-11-01T08:00:30Z","status":"COMPLETED","totalLines":10,"successIndicator":true,"newField":"x"},
            {"id":"two","startTime":"2026-11-01T08:00:00Z"},
            {"id":3,"startTime":"2026-11-02T09:00:00Z","status":"IN_PROGRESS"}]}"#;
        let page: RunPage = serde_json::from_slice(page).unwrap();
        assert_eq!(page.total(), Some(3));
        let mut b = RunBatchBuilder::new("prod", Utc::now());
        let results: Vec<_> = page.records.iter().map(|r| b.push(r)).collect();
        assert!(results[0].as_ref().is_ok_and(|d| !d.in_progress));
        let reason = results[1].as_ref().unwrap_err();
        assert!(reason.contains("invalid type"), "{reason}");
        assert!(results[2].as_ref().is_ok_and(|d| d.in_progress));
        let batch = b.finish().unwrap();
        assert_eq!(batch.num_rows(), 2);
        // timeTaken was absent: the duration comes from end - start.
        let taken = batch
            .column_by_name("time_taken_ms")
            .unwrap()
            .as_any()
            .downcast_ref::<datafusion::arrow::array::Int64Array>()
            .unwrap();
        assert_eq!(taken.value(0), 30_000);
        assert!(datafusion::arrow::array::Array::is_null(taken, 1));
    }

    #[test]
    fn record_hash_is_stable() {
        assert_eq!(record_hash("abc"), record_hash("abc"));
        assert_ne!(record_hash("abc"), record_hash("abd"));
        assert_eq!(record_hash(""), "cbf29ce484222325");
    }
}
