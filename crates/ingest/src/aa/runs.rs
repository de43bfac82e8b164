//! Bot Insight's paged answers (`getbotrundata`, `gettasklogdata`, `getaudittraildata`)
//! with their records still raw, the decoder trait every Automation Anywhere table's
//! builder implements, and the builder of `aa_bot_runs`, record by record, so that one bad
//! record is rejected with its reason and raw text while the rest of the page lands.

use std::borrow::Cow;
use std::sync::Arc;

use botlake_lake::catalog::AA_BOT_RUNS;
use chrono::{DateTime, NaiveDate, Utc};
use datafusion::arrow::array::{
    ArrayRef, BooleanBuilder, Date32Builder, Int64Builder, RecordBatch, StringBuilder,
    TimestampMicrosecondArray, TimestampMicrosecondBuilder,
};
use datafusion::arrow::error::ArrowError;
use serde::Deserialize;
use serde_json::value::RawValue;

use crate::decode::{MAX_DURATION_MS, Stamp, TimeRange, Unexpected, bounded, constant, mend_utf8};

mod runpage;
pub(crate) use runpage::{ends_inside_value, parse_run_page};

/// One page of `getbotrundata`, `gettasklogdata` or `getaudittraildata`, with its
/// records still raw.
#[derive(Debug)]
pub struct RunPage {
    /// Total records of the window, as the server counts them (a negative count, as
    /// mock servers send, is as good as none).
    pub total_records: Option<i64>,
    /// The page's records, not yet decoded.
    pub records: Vec<Box<RawValue>>,
    /// Whether the page held bytes that are not UTF-8 and was mended to parse (see
    /// [`mend_utf8`]): its records are then checked with [`not_utf8`].
    pub mended: bool,
}

/// A page as it parses, with each list Bot Insight's paged endpoints answer with.
#[derive(Deserialize)]
struct Lists {
    #[serde(rename = "totalRecords")]
    total_records: Option<i64>,
    #[serde(rename = "botRunDataList", default)]
    runs: Option<Vec<Box<RawValue>>>,
    #[serde(rename = "logData", default)]
    logs: Option<Vec<Box<RawValue>>>,
    #[serde(rename = "auditData", default)]
    audit: Option<Vec<Box<RawValue>>>,
}

impl Lists {
    fn take(self, list: &str) -> Option<Vec<Box<RawValue>>> {
        match list {
            "botRunDataList" => self.runs,
            "logData" => self.logs,
            "auditData" => self.audit,
            _ => None,
        }
    }
}

impl RunPage {
    /// The page with its records under `list` (`botRunDataList`, `logData` or
    /// `auditData`) from the body of an answer, mended if it holds bytes that are not
    /// UTF-8; [`Unexpected`] if it is JSON without that list (or with `null` for it).
    pub fn parse(body: &[u8], list: &str) -> serde_json::Result<Result<RunPage, Unexpected>> {
        let (lists, mended) = match serde_json::from_slice::<Lists>(body) {
            Ok(lists) => (lists, false),
            Err(error) => {
                let Some((mended, _)) = mend_utf8(body) else {
                    return Err(error);
                };
                let lists: Lists = serde_json::from_slice(&mended).map_err(|_| error)?;
                (lists, true)
            }
        };
        let total_records = lists.total_records;
        Ok(match lists.take(list) {
            Some(records) => Ok(RunPage {
                total_records,
                records,
                mended,
            }),
            None => Err(Unexpected::lacking(list, body)),
        })
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
    fn typed(&mut self, range: TimeRange) -> Result<(RunRow<'_>, bool), String> {
        let stamp = |field: &str, text: &str| {
            let t = Stamp::parse(text)
                .ok_or_else(|| format!("{field} {text:?} is not an ISO 8601 date-time"))?;
            range.check(field, &format_args!("{text:?}"), t.micros)?;
            Ok::<_, String>(t)
        };
        let start = stamp("startTime", &self.start_time)?;
        let end = match self.end_time.as_deref() {
            None | Some("") => None,
            Some(s) => Some(stamp("endTime", s)?),
        };
        let time_taken = bounded("timeTaken", self.time_taken, MAX_DURATION_MS)?;
        if let Some(s) = &self.status
            && s.bytes().any(|b| b.is_ascii_lowercase())
        {
            self.status = Some(Cow::Owned(s.to_ascii_uppercase()));
        }
        let status = self.status.as_deref();
        let in_progress = !matches!(status, Some("COMPLETED" | "FAILED" | "STOPPED"));
        let time_taken = time_taken.or_else(|| end.and_then(|e| e.millis_since(start)));
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
    range: TimeRange,
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
    api: &'static str,
}

/// What `aa_bot_runs.api` says of runs from Enterprise 11.x's `getbotrundata` (or pages
/// saved from it).
pub const API_V11: &str = "v11";
/// What `aa_bot_runs.api` says of runs from Automation 360's `getbotrundata`.
pub const API_A360: &str = "a360";

impl RunBatchBuilder {
    /// An empty builder for runs of `control_room` ingested at `ingested_at`.
    pub fn new(control_room: &str, ingested_at: DateTime<Utc>) -> RunBatchBuilder {
        RunBatchBuilder {
            control_room: control_room.to_string(),
            ingested_at: ingested_at.timestamp_micros(),
            range: TimeRange::received(ingested_at),
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
            api: API_V11,
        }
    }

    /// The builder with `api` ([`API_V11`] or [`API_A360`]) as the rows' `api`.
    pub fn with_api(mut self, api: &'static str) -> RunBatchBuilder {
        self.api = api;
        self
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
        let (row, in_progress) = r.typed(self.range)?;
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
            match r.typed(self.range) {
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
            Arc::new(constant(self.api, n)),
            Arc::new(
                TimestampMicrosecondArray::from(vec![self.ingested_at; n]).with_timezone("UTC"),
            ),
            Arc::new(self.day.finish()),
        ];
        RecordBatch::try_new(AA_BOT_RUNS.schema.clone(), columns)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decode::not_utf8;

    #[test]
    fn an_answer_with_bytes_that_are_not_utf8_is_mended_and_its_records_told_apart() {
        let body = b"{\"totalRecords\":2,\"botRunDataList\":[{\"id\":1,\"userName\":\"Jos\xe9\"},{\"id\":2}]}";
        let page = RunPage::parse(body, "botRunDataList").unwrap().unwrap();
        assert!(page.mended);
        assert_eq!(page.total(), Some(2));
        let verdicts: Vec<_> = page.records.iter().map(|r| not_utf8(r.get())).collect();
        assert_eq!(
            verdicts[0].as_ref().unwrap().1,
            r#"{"id":1,"userName":"Jos\xE9"}"#
        );
        assert_eq!(verdicts[1], None);
        let empty = RunPage::parse(br#"{"botRunDataList":[]}"#, "botRunDataList");
        assert!(!empty.unwrap().unwrap().mended);
        // Broken JSON stays broken, with serde's own error.
        let e = RunPage::parse(b"{\"botRunDataList\":[\xe9]}", "botRunDataList").unwrap_err();
        assert!(e.to_string().contains("expected value"), "{e}");
    }

    // An answer without its endpoint's list is never zero records: it names what it had.
    #[test]
    fn an_answer_without_its_list_is_unexpected_never_empty() {
        for (body, list, had) in [
            (
                &br#"{"totalRecords":0}"#[..],
                "botRunDataList",
                "totalRecords",
            ),
            (
                br#"{"botRunDataList":null,"x":1}"#,
                "botRunDataList",
                "botRunDataList (null), x",
            ),
            (br#"{"logData":[]}"#, "botRunDataList", "logData"),
            (br#"{"botRunDataList":[]}"#, "auditData", "botRunDataList"),
            (br#"{}"#, "logData", "none (an empty object)"),
        ] {
            let e = RunPage::parse(body, list).unwrap().unwrap_err();
            assert_eq!(e, Unexpected::lacking(list, body));
            assert_eq!(e.to_string(), format!("without {list} (its keys: {had})"));
        }
        for list in ["botRunDataList", "logData", "auditData"] {
            let body = format!(r#"{{"totalRecords":0,"{list}":[]}}"#);
            let page = RunPage::parse(body.as_bytes(), list).unwrap().unwrap();
            assert!(page.records.is_empty());
        }
    }

    #[test]
    fn decodes_good_records_and_explains_bad_ones() {
        let page = br#"{"totalRecords":3,"extra":1,"botRunDataList":[
            {"id":1,"userName":"u","hostName":"h","fileName":"f.atmx","startTime":"2026-11-01T08:00:00Z",
             "endTime":"2026-11-01T08:00:30Z","status":"COMPLETED","totalLines":10,"successIndicator":true,"newField":"x"},
            {"id":"two","startTime":"2026-11-01T08:00:00Z"},
            {"id":3,"startTime":"2026-11-02T09:00:00Z","status":"IN_PROGRESS"}]}"#;
        let page = RunPage::parse(page, "botRunDataList").unwrap().unwrap();
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
    fn runs_out_of_range_are_rejected_with_the_field() {
        let run = |start: &str, end: &str, taken: &str| {
            format!(
                r#"{{"id":1,"startTime":"{start}","endTime":"{end}","status":"COMPLETED","timeTaken":{taken}}}"#
            )
        };
        let ok = ("2026-11-01T08:00:00Z", "2026-11-01T08:00:30Z", "30000");
        let cases = [
            (("1969-12-31T23:59:59Z", ok.1, ok.2), "startTime"),
            (("1989-12-31T23:59:59Z", ok.1, ok.2), "startTime"),
            ((ok.0, "9999-12-31T23:59:59Z", ok.2), "endTime"),
            ((ok.0, ok.1, "-1"), "timeTaken"),
            ((ok.0, ok.1, "9223372036854775807"), "timeTaken"),
        ];
        let mut b = RunBatchBuilder::new("prod", Utc::now());
        let raw = |s: String| RawValue::from_string(s).unwrap();
        for ((start, end, taken), field) in cases {
            let reason = b.push(&raw(run(start, end, taken))).unwrap_err();
            assert!(reason.contains(field), "{reason} does not name {field}");
        }
        assert!(b.push(&raw(run(ok.0, ok.1, ok.2))).is_ok());
        assert_eq!(b.finish().unwrap().num_rows(), 1);
        // The one-pass decoding of a whole page takes none of them either.
        let page = format!("[{},{}]", run(ok.0, ok.1, ok.2), run(ok.0, ok.1, "-1"));
        let mut runs: RunRecords<'_> = serde_json::from_str(&page).unwrap();
        assert!(!b.push_runs(&mut runs));
        assert_eq!(b.len(), 0);
    }
}
