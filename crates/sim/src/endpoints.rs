//! The simulator's task, audit-trail and A360 audit endpoints.

use std::collections::HashMap;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use chrono::{Duration, NaiveDate};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::activity::{AuditView, Task, VarKind, rfc3339};
use crate::config::Generation;
use crate::decode_ts;
use crate::shared::{Shared, error, json_page, parse_date, slice};

fn find_task<'a>(shared: &'a Shared, name: &str) -> Result<(usize, &'a Task), Box<Response>> {
    shared
        .dataset
        .tasks
        .iter()
        .enumerate()
        .find(|(_, t)| t.name == name)
        .ok_or_else(|| {
            Box::new(error(
                StatusCode::NOT_FOUND,
                format!("no task with the Analytics name {name:?}"),
            ))
        })
}

macro_rules! try_response {
    ($e:expr) => {
        match $e {
            Ok(v) => v,
            Err(r) => return *r,
        }
    };
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct TaskMetadata<'a> {
    task_name: &'a str,
    variables: Vec<TaskVariable<'a>>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct TaskVariable<'a> {
    name: &'a str,
    #[serde(rename = "type")]
    kind: &'a str,
    display_name: &'a str,
}

/// `GET gettaskmetadata/{taskName}`.
pub(crate) async fn task_metadata(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    Path(task): Path<String>,
) -> Response {
    let fault = try_response!(shared.admit(&headers));
    let (_, task) = try_response!(find_task(&shared, &task));
    let body = TaskMetadata {
        task_name: task.name,
        variables: task
            .variables
            .iter()
            .map(|v| TaskVariable {
                name: v.name,
                kind: v.kind.type_name(),
                display_name: v.display_name,
            })
            .collect(),
    };
    json_page(&shared, fault, &body)
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ProfileResponse<'a> {
    task_name: &'a str,
    from: String,
    to: String,
    profiles: Vec<Profile<'a>>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Profile<'a> {
    variable_name: &'a str,
    total_value: String,
    run_count: u64,
}

/// `GET gettaskvariableprofile/{taskName}?from&to`: per variable over the logs of the
/// days `from..=to`, the sum of a number (as text, as the spec types it), the most
/// frequent text, or the latest date.
pub(crate) async fn task_profile(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    Path(task): Path<String>,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    let fault = try_response!(shared.admit(&headers));
    let (t, task) = try_response!(find_task(&shared, &task));
    let today = shared.now.date_naive();
    let to = match query.get("to") {
        Some(v) => try_response!(parse_date("to", v)),
        None => today,
    };
    let from = match query.get("from") {
        Some(v) => try_response!(parse_date("from", v)),
        None => to - Duration::days(30),
    };
    let max = shared.config.max_window_days;
    if from > to || to - from > Duration::days(max) {
        return error(
            StatusCode::BAD_REQUEST,
            format!("to must be on or after from and at most {max} days later"),
        );
    }
    let ms = |d: NaiveDate| {
        d.and_hms_opt(0, 0, 0)
            .expect("midnight")
            .and_utc()
            .timestamp_millis()
    };
    let data = &shared.dataset;
    let range = data.log_range(
        ms(from),
        ms(to + Duration::days(1)),
        shared.now.timestamp_millis(),
    );
    let logs: Vec<usize> = range
        .filter(|&i| usize::from(data.task_logs[i].task) == t)
        .collect();
    let values: Vec<Vec<String>> = logs.iter().map(|&i| data.log_values(i)).collect();
    let profiles = task
        .variables
        .iter()
        .enumerate()
        .map(|(v, var)| {
            let column = values.iter().map(|row| row[v].as_str());
            let total_value = match var.kind {
                VarKind::Decimal => {
                    let cents: i64 = column
                        .map(|x| (x.parse::<f64>().expect("a decimal") * 100.0).round() as i64)
                        .sum();
                    format!("{}.{:02}", cents / 100, cents % 100)
                }
                VarKind::Count => column
                    .map(|x| x.parse::<i64>().expect("a count"))
                    .sum::<i64>()
                    .to_string(),
                VarKind::Text => {
                    let mut counts: HashMap<&str, usize> = HashMap::new();
                    for x in column {
                        *counts.entry(x).or_default() += 1;
                    }
                    let mut counts: Vec<_> = counts.into_iter().collect();
                    counts.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
                    counts.first().map(|c| c.0.to_string()).unwrap_or_default()
                }
                VarKind::Date => column.max().unwrap_or_default().to_string(),
            };
            Profile {
                variable_name: var.name,
                total_value,
                run_count: logs.len() as u64,
            }
        })
        .collect();
    if shared.config.generation == Generation::V113 {
        return json_page(&shared, fault, &documented_profile(task, t, profiles));
    }
    let body = ProfileResponse {
        task_name: task.name,
        from: from.to_string(),
        to: to.to_string(),
        profiles,
    };
    json_page(&shared, fault, &body)
}

/// A profile answer as the 11.3 documentation shows one: no range, the variables under
/// `profileVariables`, each with its sum as a number (`sumOfValue`; the text or date for
/// other variables, as this simulator's spec answer gives them) and `totalRecords`.
fn documented_profile(task: &Task, t: usize, profiles: Vec<Profile<'_>>) -> Value {
    let variables: Vec<Value> = profiles
        .iter()
        .zip(&task.variables)
        .map(|(p, var)| {
            let numeric = matches!(var.kind, VarKind::Decimal | VarKind::Count);
            let sum = match p.total_value.parse::<f64>() {
                Ok(x) if numeric => serde_json::json!(x),
                _ => Value::String(p.total_value.clone()),
            };
            serde_json::json!({
                "variableName": p.variable_name,
                "displayName": var.display_name,
                "attributeType": if numeric { "NUMERIC" } else { "STRING" },
                "isAttributeTypeChanged": "N",
                "totalRecords": p.run_count,
                "totalNullRecords": 0,
                "sumOfValue": sum,
            })
        })
        .collect();
    serde_json::json!({
        "taskId": format!("sim-task-{t}"),
        "taskName": task.name,
        "totalRecords": variables.len(),
        "profileVariables": variables,
        "standardDashboardName": null,
    })
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct LogPage {
    total_records: usize,
    log_data: Vec<LogRecord>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct LogRecord {
    id: i64,
    task_name: &'static str,
    run_date: String,
    variables: serde_json::Map<String, Value>,
}

/// `GET gettasklogdata/{taskName}/{startIndex}/{startDate}`, paged like run data.
pub(crate) async fn task_logs(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    Path((task, start_index, start_date)): Path<(String, String, String)>,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    let fault = try_response!(shared.admit(&headers));
    let (t, task) = try_response!(find_task(&shared, &task));
    let max = shared.config.max_log_window_days;
    let (from, to) = try_response!(shared.window(&start_date, &query, max));
    let visible = visible_logs(&shared, t, from, to);
    let page = try_response!(shared.page(0..visible.len(), &start_index));
    json_page(&shared, fault, &log_page(&shared, task, &visible, page))
}

/// `GET gettasklogdata/{taskName}/{page}/{from}/{to}?limit=` as the 11.3 documentation
/// has it: page `page` of `limit` logs (1000 if not given) of the days `from..=to`.
pub(crate) async fn task_logs_by_range(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    Path((task, page, from, to)): Path<(String, String, String, String)>,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    let fault = try_response!(shared.admit(&headers));
    let (t, task) = try_response!(find_task(&shared, &task));
    let first = try_response!(parse_date("from", &from));
    let last = try_response!(parse_date("to", &to));
    let max = shared.config.max_log_window_days;
    if last < first || last - first >= Duration::days(max) {
        return error(
            StatusCode::BAD_REQUEST,
            format!("to must be on or after from and the range at most {max} days"),
        );
    }
    let number = |name: &str, text: Option<&String>, default: usize| match text {
        None => Ok(default),
        Some(v) => v.parse::<usize>().map_err(|_| {
            Box::new(error(
                StatusCode::BAD_REQUEST,
                format!("{name} must be a non-negative integer, got {v:?}"),
            ))
        }),
    };
    let page = try_response!(number("page", Some(&page), 0));
    let limit = try_response!(number("limit", query.get("limit"), crate::pages::PAGE_SIZE));
    let ms = |d: NaiveDate| {
        d.and_hms_opt(0, 0, 0)
            .expect("midnight")
            .and_utc()
            .timestamp_millis()
    };
    let visible = visible_logs(&shared, t, ms(first), ms(last + Duration::days(1)));
    let range = slice(0..visible.len(), page.saturating_mul(limit), limit.max(1));
    json_page(&shared, fault, &log_page(&shared, task, &visible, range))
}

/// The logs of task `t` of `[from, to)` visible at the clock, by index.
fn visible_logs(shared: &Shared, t: usize, from: i64, to: i64) -> Vec<u32> {
    let data = &shared.dataset;
    let now_ms = shared.now.timestamp_millis();
    let mine = &data.logs_by_task[t];
    let time = |k: &u32| data.task_logs[*k as usize].time_ms;
    let lo = mine.partition_point(|k| time(k) < from);
    let hi = mine
        .partition_point(|k| time(k) < to.min(now_ms + 1))
        .max(lo);
    mine[lo..hi]
        .iter()
        .copied()
        .filter(|k| shared.visible(i64::from(*k) + 1, time(k)))
        .collect()
}

/// The page `page` of the logs `visible` of `task`.
fn log_page(
    shared: &Shared,
    task: &Task,
    visible: &[u32],
    page: std::ops::Range<usize>,
) -> LogPage {
    let data = &shared.dataset;
    let records = visible[page]
        .iter()
        .map(|&k| {
            let i = k as usize;
            let id = i as i64 + 1;
            let variables = task
                .variables
                .iter()
                .zip(data.log_values(i))
                .map(|(v, x)| (v.name.to_string(), Value::String(x)))
                .collect();
            LogRecord {
                id,
                task_name: task.name,
                run_date: if shared.bad(id) {
                    "yesterday".into()
                } else {
                    rfc3339(data.task_logs[i].time_ms)
                },
                variables,
            }
        })
        .collect();
    LogPage {
        total_records: visible.len(),
        log_data: records,
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct AuditRecord<Id: Serialize> {
    id: Id,
    activity_type: &'static str,
    created_by: String,
    created_on: String,
    detail: String,
    environment_name: &'static str,
    event_description: String,
    host_name: String,
    object_name: String,
    request_id: String,
    source: &'static str,
    status: &'static str,
    user_name: String,
}

fn audit_record<Id: Serialize>(shared: &Shared, v: AuditView, id: Id) -> AuditRecord<Id> {
    let bad = shared.bad(v.id);
    AuditRecord {
        id,
        activity_type: v.activity_type,
        created_by: v.created_by,
        created_on: if bad { "soon".into() } else { v.created_on },
        detail: v.detail,
        environment_name: v.environment_name,
        event_description: v.event_description,
        host_name: v.host_name,
        object_name: v.object_name,
        request_id: v.request_id,
        source: v.source,
        status: v.status,
        user_name: v.user_name,
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct AuditPage {
    total_records: usize,
    audit_data: Vec<AuditRecord<i64>>,
}

/// `GET getaudittraildata/{startIndex}/{startDate}`.
pub(crate) async fn audit_trail(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    Path((start_index, start_date)): Path<(String, String)>,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    let fault = try_response!(shared.admit(&headers));
    let max = shared.config.max_window_days;
    let (from, to) = try_response!(shared.window(&start_date, &query, max));
    let visible: Vec<usize> = shared
        .dataset
        .audit_range(from, to, shared.now.timestamp_millis())
        .filter(|&i| shared.visible(i as i64 + 1, shared.dataset.audit[i].time_ms))
        .collect();
    let total = visible.len();
    let page = try_response!(shared.page(0..visible.len(), &start_index));
    let records = visible[page]
        .iter()
        .map(|&i| {
            let v = shared.dataset.audit_view(i);
            let id = v.id;
            audit_record(&shared, v, id)
        })
        .collect();
    let body = AuditPage {
        total_records: total,
        audit_data: records,
    };
    json_page(&shared, fault, &body)
}

/// The A360 request: a filter tree, a sort and a page.
#[derive(Deserialize)]
struct ListRequest {
    #[serde(default)]
    filter: Option<Filter>,
    #[serde(default)]
    sort: Vec<Sort>,
    #[serde(default)]
    page: Option<PageRequest>,
}

impl ListRequest {
    /// The request `body`, or the 400 it gets.
    fn parse(body: &[u8]) -> Result<ListRequest, Box<Response>> {
        serde_json::from_slice(body).map_err(|e| {
            Box::new(error(
                StatusCode::BAD_REQUEST,
                format!("invalid request body: {e}"),
            ))
        })
    }

    /// The page's offset and length, and whether the sort (by `time_field` only) is
    /// descending (the default), or the 400 they get.
    fn paging(&self, time_field: &str) -> Result<(usize, usize, bool), Box<Response>> {
        let bad = |message: String| Box::new(error(StatusCode::BAD_REQUEST, message));
        let page = self.page.as_ref();
        let offset = loose_number(page.and_then(|p| p.offset.as_ref()), 0);
        let length = loose_number(page.and_then(|p| p.length.as_ref()), 100);
        let (offset, length) = match (offset, length) {
            (Ok(o), Ok(l)) if l > 0 => (o as usize, l.min(10_000) as usize),
            (Err(e), _) | (_, Err(e)) => return Err(bad(format!("page: {e}"))),
            _ => return Err(bad("page.length must be at least 1".into())),
        };
        let descending = match self.sort.first() {
            None => true,
            Some(s) if s.field == time_field => !s
                .direction
                .as_deref()
                .is_some_and(|d| d.eq_ignore_ascii_case("asc")),
            Some(s) => {
                return Err(bad(format!(
                    "sorting by {:?} is not supported; sort by {time_field}",
                    s.field
                )));
            }
        };
        Ok((offset, length, descending))
    }
}

#[derive(Deserialize)]
struct Filter {
    operator: String,
    #[serde(default)]
    operands: Vec<Filter>,
    #[serde(default)]
    field: Option<String>,
    #[serde(default)]
    value: Option<Value>,
}

#[derive(Deserialize)]
struct Sort {
    field: String,
    #[serde(default)]
    direction: Option<String>,
}

#[derive(Deserialize)]
struct PageRequest {
    #[serde(default)]
    offset: Option<Value>,
    #[serde(default)]
    length: Option<Value>,
}

/// A number sent as a JSON number or, as the A360 sample does, a string.
fn loose_number(v: Option<&Value>, default: u64) -> Result<u64, String> {
    match v {
        None | Some(Value::Null) => Ok(default),
        Some(Value::Number(n)) => n.as_u64().ok_or_else(|| format!("{n} is not a count")),
        Some(Value::String(s)) => s
            .trim()
            .parse()
            .map_err(|_| format!("{s:?} is not a count")),
        Some(other) => Err(format!("{other} is not a count")),
    }
}

fn field<'a>(v: &'a AuditView, name: &str) -> Option<&'a str> {
    Some(match name {
        "id" => &v.string_id,
        "eventDescription" => &v.event_description,
        "activityType" => v.activity_type,
        "environmentName" => v.environment_name,
        "hostName" => &v.host_name,
        "userName" => &v.user_name,
        "status" => v.status,
        "source" => v.source,
        "objectName" => &v.object_name,
        "detail" => &v.detail,
        "createdOn" => &v.created_on,
        "requestId" => &v.request_id,
        "createdBy" => &v.created_by,
        _ => return None,
    })
}

impl Filter {
    /// Checks the tree once, so that evaluation cannot fail.
    fn validate(&self) -> Result<(), String> {
        match self.operator.as_str() {
            "and" | "or" | "not" => {
                if self.operator == "not" && self.operands.len() != 1 {
                    return Err("not takes exactly one operand".into());
                }
                self.operands.iter().try_for_each(Filter::validate)
            }
            "eq" | "ne" | "lt" | "le" | "gt" | "ge" | "substring" => {
                let name = self.field.as_deref().ok_or("a comparison needs a field")?;
                let probe = AuditView::probe();
                if field(&probe, name).is_none() {
                    return Err(format!("unknown field {name:?}"));
                }
                let value = self.value_text().ok_or("a comparison needs a value")?;
                if name == "createdOn"
                    && self.operator != "substring"
                    && decode_ts(&value).is_none()
                {
                    return Err(format!("createdOn value {value:?} is not a date-time"));
                }
                Ok(())
            }
            other => Err(format!("unknown operator {other:?}")),
        }
    }

    fn value_text(&self) -> Option<String> {
        match self.value.as_ref()? {
            Value::String(s) => Some(s.clone()),
            Value::Null => None,
            other => Some(other.to_string()),
        }
    }

    fn matches(&self, v: &AuditView) -> bool {
        let op = self.operator.as_str();
        match op {
            "and" => self.operands.iter().all(|f| f.matches(v)),
            "or" => self.operands.iter().any(|f| f.matches(v)),
            "not" => !self.operands[0].matches(v),
            _ => {
                let name = self.field.as_deref().unwrap_or_default();
                let want = self.value_text().unwrap_or_default();
                let have = field(v, name).unwrap_or_default();
                if op == "substring" {
                    return have.contains(want.as_str());
                }
                let ordering = if name == "createdOn" {
                    let want = decode_ts(&want).map_or(0, |t| t.timestamp_millis());
                    v.time_ms.cmp(&want)
                } else {
                    have.cmp(want.as_str())
                };
                match op {
                    "eq" => ordering.is_eq(),
                    "ne" => ordering.is_ne(),
                    "lt" => ordering.is_lt(),
                    "le" => ordering.is_le(),
                    "gt" => ordering.is_gt(),
                    _ => ordering.is_ge(),
                }
            }
        }
    }
}

impl AuditView {
    fn probe() -> AuditView {
        AuditView {
            id: 0,
            string_id: String::new(),
            created_on: String::new(),
            time_ms: 0,
            activity_type: "",
            status: "",
            user_name: String::new(),
            created_by: String::new(),
            host_name: String::new(),
            event_description: String::new(),
            object_name: String::new(),
            detail: String::new(),
            source: "",
            request_id: String::new(),
            environment_name: "",
        }
    }
}

/// `POST /v1/audit/messages/list`, the Automation 360 Audit API.
pub(crate) async fn audit_list(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let fault = try_response!(shared.admit(&headers));
    let request: ListRequest = try_response!(ListRequest::parse(&body));
    if let Some(f) = &request.filter
        && let Err(e) = f.validate()
    {
        return error(StatusCode::BAD_REQUEST, format!("invalid filter: {e}"));
    }
    let (offset, length, descending) = try_response!(request.paging("createdOn"));
    let data = &shared.dataset;
    let range = data.audit_range(i64::MIN, i64::MAX, shared.now.timestamp_millis());
    let total = range.len();
    let mut matching: Vec<AuditView> = range
        .map(|i| data.audit_view(i))
        .filter(|v| request.filter.as_ref().is_none_or(|f| f.matches(v)))
        .collect();
    if descending {
        matching.reverse();
    }
    let total_filter = matching.len();
    let list: Vec<AuditRecord<String>> = matching
        .into_iter()
        .skip(offset)
        .take(length)
        .map(|v| {
            let id = v.string_id.clone();
            audit_record(&shared, v, id)
        })
        .collect();
    let body = serde_json::json!({
        "page": { "offset": offset, "total": total, "totalFilter": total_filter },
        "list": list,
    });
    json_page(&shared, fault, &body)
}

/// A window of `startDateTime` and a status, as an activity filter may say them.
#[derive(Default)]
struct ExecutionFilter {
    from_ms: Option<i64>,
    to_ms: Option<i64>,
    status: Option<String>,
}

impl ExecutionFilter {
    /// The leaves of `f` (under `and`), or what this simulator does not take in one.
    fn of(f: &Filter, into: &mut ExecutionFilter) -> Result<(), String> {
        if f.operator == "and" {
            return f.operands.iter().try_for_each(|o| Self::of(o, into));
        }
        let field = f.field.as_deref().unwrap_or_default();
        let value = f.value_text().ok_or("a comparison needs a value")?;
        match (field, f.operator.as_str()) {
            ("status", "eq") => into.status = Some(value),
            ("startDateTime", op @ ("ge" | "gt" | "lt" | "le")) => {
                let ms = decode_ts(&value)
                    .ok_or_else(|| format!("startDateTime value {value:?} is not a date-time"))?
                    .timestamp_millis();
                match op {
                    "ge" => into.from_ms = Some(ms),
                    "gt" => into.from_ms = Some(ms.saturating_add(1)),
                    "lt" => into.to_ms = Some(ms),
                    _ => into.to_ms = Some(ms.saturating_add(1)),
                }
            }
            (field, op) => {
                return Err(format!(
                    "this simulator filters executions by startDateTime and status eq only, not {field:?} {op}"
                ));
            }
        }
        Ok(())
    }
}

/// `POST /v3/activity/list` (and `/v2/activity/list`), the activity API's executions.
pub(crate) async fn activity_list(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let fault = try_response!(shared.admit(&headers));
    let request: ListRequest = try_response!(ListRequest::parse(&body));
    let mut filter = ExecutionFilter::default();
    if let Some(f) = &request.filter
        && let Err(e) = ExecutionFilter::of(f, &mut filter)
    {
        return error(StatusCode::BAD_REQUEST, format!("invalid filter: {e}"));
    }
    let (offset, length, descending) = try_response!(request.paging("startDateTime"));
    let now_ms = shared.now.timestamp_millis();
    let all = crate::executions::executions(&shared.dataset, i64::MIN / 2, i64::MAX / 2, now_ms);
    let total = all.len();
    let mut matching: Vec<_> = crate::executions::executions(
        &shared.dataset,
        filter.from_ms.unwrap_or(i64::MIN / 2),
        filter.to_ms.unwrap_or(i64::MAX / 2),
        now_ms,
    )
    .into_iter()
    .filter(|e| filter.status.as_deref().is_none_or(|s| e.status == s))
    .collect();
    if descending {
        matching.reverse();
    }
    let total_filter = matching.len();
    let list: Vec<_> = matching.into_iter().skip(offset).take(length).collect();
    let body = serde_json::json!({
        "page": { "offset": offset, "total": total, "totalFilter": total_filter },
        "list": list,
    });
    json_page(&shared, fault, &body)
}
