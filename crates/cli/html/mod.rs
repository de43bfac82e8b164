//! One self-contained HTML page: the rows of views as tables and SVG charts, with the style
//! inline and no script, so that it opens with no network and prints as it shows. Every
//! table of a view's rows says in `data-` attributes which view and parameters they come
//! from and each cell its column and exact value, for a reader (or a test) to check against
//! `botlake query`.

pub mod svg;

use std::fmt::Write;

use anyhow::Result;
use chrono::NaiveDate;
use datafusion::arrow::array::{Array, BooleanArray, Float64Array, Int64Array, RecordBatch};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::DataType;
use datafusion::arrow::util::display::{ArrayFormatter, FormatOptions};

/// The value of one cell of a view's result.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Null,
    Int(i64),
    Float(f64),
    Bool(bool),
    /// Text, and anything else as text (days, times).
    Text(String),
}

impl Value {
    /// The value as a number, if it is one.
    pub fn num(&self) -> Option<f64> {
        match self {
            Value::Int(i) => Some(*i as f64),
            Value::Float(f) if f.is_finite() => Some(*f),
            _ => None,
        }
    }

    /// The value exactly, as a program would read it; empty for NULL.
    fn exact(&self) -> String {
        match self {
            Value::Null => String::new(),
            Value::Int(i) => i.to_string(),
            Value::Float(f) => f.to_string(),
            Value::Bool(b) => b.to_string(),
            Value::Text(t) => t.clone(),
        }
    }
}

/// The rows of a view's result, by column name.
#[derive(Debug, Clone, Default)]
pub struct Rows {
    columns: Vec<String>,
    rows: Vec<Vec<Value>>,
}

impl Rows {
    /// The rows of `batches`: integers and floats as numbers, anything else but booleans
    /// as the text Arrow shows it as (a day `2026-11-08`).
    pub fn from_batches(batches: &[RecordBatch]) -> Result<Rows> {
        let Some(first) = batches.first() else {
            return Ok(Rows::default());
        };
        let columns = first
            .schema()
            .fields()
            .iter()
            .map(|f| f.name().clone())
            .collect();
        let mut rows = Vec::new();
        for batch in batches {
            let mut values: Vec<Vec<Value>> = vec![Vec::new(); batch.num_rows()];
            for column in batch.columns() {
                for (row, value) in column_values(column)?.into_iter().enumerate() {
                    values[row].push(value);
                }
            }
            rows.extend(values);
        }
        Ok(Rows { columns, rows })
    }

    /// Rows of `columns`, each a value per column.
    pub fn new(columns: Vec<String>, rows: Vec<Vec<Value>>) -> Rows {
        Rows { columns, rows }
    }

    pub fn len(&self) -> usize {
        self.rows.len()
    }

    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// The value of column `column` in row `row`; NULL for a column the rows do not have.
    pub fn get(&self, row: usize, column: &str) -> &Value {
        static NULL: Value = Value::Null;
        self.columns
            .iter()
            .position(|c| c == column)
            .and_then(|i| self.rows.get(row)?.get(i))
            .unwrap_or(&NULL)
    }

    /// Column `column` of row `row` as a number.
    pub fn num(&self, row: usize, column: &str) -> Option<f64> {
        self.get(row, column).num()
    }

    /// Column `column` of row `row` as text; empty for NULL.
    pub fn text(&self, row: usize, column: &str) -> String {
        self.get(row, column).exact()
    }

    /// Column `column` of row `row` as a day.
    pub fn day(&self, row: usize, column: &str) -> Option<NaiveDate> {
        NaiveDate::parse_from_str(&self.text(row, column), "%Y-%m-%d").ok()
    }

    /// The rows whose column `column` is `value` (all of them if `value` is `None`).
    pub fn filter(self, column: &str, value: Option<&str>) -> Rows {
        let Some(value) = value else {
            return self;
        };
        let Some(i) = self.columns.iter().position(|c| c == column) else {
            return self;
        };
        let rows = self
            .rows
            .into_iter()
            .filter(|r| matches!(&r[i], Value::Text(t) if t == value))
            .collect();
        Rows {
            columns: self.columns,
            rows,
        }
    }
}

/// The values of `column`, in order.
fn column_values(column: &dyn Array) -> Result<Vec<Value>> {
    let values = match column.data_type() {
        t if t.is_integer() => {
            let ints = cast(column, &DataType::Int64)?;
            let ints = ints
                .as_any()
                .downcast_ref::<Int64Array>()
                .expect("cast to Int64 gives Int64");
            ints.iter()
                .map(|v| v.map_or(Value::Null, Value::Int))
                .collect()
        }
        t if t.is_floating() || t.is_numeric() => {
            let floats = cast(column, &DataType::Float64)?;
            let floats = floats
                .as_any()
                .downcast_ref::<Float64Array>()
                .expect("cast to Float64 gives Float64");
            floats
                .iter()
                .map(|v| v.map_or(Value::Null, Value::Float))
                .collect()
        }
        DataType::Boolean => {
            let bools = column
                .as_any()
                .downcast_ref::<BooleanArray>()
                .expect("a Boolean column is a BooleanArray");
            bools
                .iter()
                .map(|v| v.map_or(Value::Null, Value::Bool))
                .collect()
        }
        _ => {
            let options = FormatOptions::default();
            let formatter = ArrayFormatter::try_new(column, &options)?;
            (0..column.len())
                .map(|i| {
                    if column.is_null(i) {
                        Value::Null
                    } else {
                        Value::Text(formatter.value(i).to_string())
                    }
                })
                .collect()
        }
    };
    Ok(values)
}

/// How a number reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Num {
    /// A count: `1,918`.
    Count,
    /// A rate from 0 to 1, as a percentage: `87.1 %`.
    Percent,
    /// Hours: `301.3 h`.
    Hours,
    /// Times another number: `×2.5`.
    Times,
}

impl Num {
    /// `value` in full, with its unit, for a table or tooltip.
    pub fn full(self, value: f64) -> String {
        match self {
            Num::Count => grouped(value, 0),
            Num::Percent => format!("{} %", grouped(value * 100.0, 1)),
            Num::Hours => format!("{} h", grouped(value, 2)),
            Num::Times => format!("×{}", grouped(value, 2)),
        }
    }

    /// `value` as a tick of an axis with ticks `step` apart reads (the unit is in the
    /// axis's title): as many decimals as the step needs.
    pub fn axis(self, value: f64, step: f64) -> String {
        let (value, step) = match self {
            Num::Percent => (value * 100.0, step * 100.0),
            _ => (value, step),
        };
        let decimals = if step > 0.0 && step.is_finite() {
            (-step.log10() - 1e-9).ceil().clamp(0.0, 6.0) as usize
        } else {
            0
        };
        // 2.5 apart needs one decimal more than 1 apart.
        let decimals = if (step * 10f64.powi(decimals as i32)).fract().abs() > 1e-6 {
            decimals + 1
        } else {
            decimals
        };
        match self {
            Num::Percent => format!("{} %", grouped(value, decimals)),
            _ => grouped(value, decimals),
        }
    }
}

/// `value` with `decimals` decimals and a comma between thousands: `12,345.6`.
pub fn grouped(value: f64, decimals: usize) -> String {
    if !value.is_finite() {
        return value.to_string();
    }
    let text = format!("{:.*}", decimals, value.abs());
    let (whole, fraction) = text.split_once('.').unwrap_or((&text, ""));
    let mut out = String::new();
    for (i, c) in whole.chars().enumerate() {
        if i > 0 && (whole.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    if !fraction.is_empty() {
        out.push('.');
        out.push_str(fraction);
    }
    // No minus on a value that rounds to zero.
    if value < 0.0 && out.chars().any(|c| c.is_ascii_digit() && c != '0') {
        out.insert(0, '-');
    }
    out
}

/// A vendor as a person names it, from the views' `vendor` column.
pub fn vendor_title(vendor: &str) -> &str {
    match vendor {
        "automation_anywhere" => "Automation Anywhere",
        "uipath" => "UiPath",
        other => other,
    }
}

/// `text` safe in HTML text and in a quoted attribute.
pub fn esc(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// A column of a table: the view's column, its heading, and how its numbers read (`None`:
/// as text).
pub struct Column<'a> {
    pub name: &'a str,
    pub heading: &'a str,
    pub num: Option<Num>,
}

/// A shorthand for [`Column`].
pub const fn col<'a>(name: &'a str, heading: &'a str, num: Option<Num>) -> Column<'a> {
    Column { name, heading, num }
}

/// Where a table's rows come from: a view, the parameters it ran with (`name=value`), the
/// report's filters of its rows (`column=value`), and the columns its rows were grouped by,
/// if they were (then `count` is the rows of a group, `sum(COLUMN)` their COLUMN added up).
pub struct Origin<'a> {
    pub view: &'a str,
    pub params: &'a [(String, String)],
    pub filters: &'a [(String, String)],
    pub group_by: &'a [&'a str],
}

impl Origin<'_> {
    /// The `data-` attributes that say so.
    fn attributes(&self) -> String {
        let join = |pairs: &[(String, String)]| {
            pairs
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect::<Vec<_>>()
                .join("&")
        };
        let mut attributes = format!(
            r#" data-view="{}" data-params="{}" data-filters="{}""#,
            esc(self.view),
            esc(&join(self.params)),
            esc(&join(self.filters))
        );
        if !self.group_by.is_empty() {
            let _ = write!(
                attributes,
                r#" data-group-by="{}""#,
                esc(&self.group_by.join(","))
            );
        }
        attributes
    }
}

/// The page being written.
pub struct Page {
    html: String,
    contents: Vec<(String, String)>,
}

/// The page's style: the Okabe–Ito palette (told apart with every common colour vision
/// deficiency, and in grey print by lightness), light and dark themes, print.
const STYLE: &str = r#"
:root{color-scheme:light dark;--bg:#fff;--fg:#1b1d21;--muted:#5b6068;--grid:#e3e5e8;--axis:#8a8f96;--panel:#f5f6f8;--bad:#b34700;
--c0:#0072B2;--c1:#E69F00;--c2:#009E73;--c3:#D55E00;--c4:#56B4E9;--c5:#CC79A7;--c6:#F0E442;
--h0:#eef3f8;--h1:#c6dbef;--h2:#9ecae1;--h3:#4292c6;--h4:#2171b5;--h5:#08306b}
@media (prefers-color-scheme:dark){:root{--bg:#16181c;--fg:#e6e7e9;--muted:#a3a8b0;--grid:#30343a;--axis:#70757d;--panel:#1f2227;--bad:#ff9a4d;
--c0:#3a9ad9;--h0:#1d2a38;--h1:#1f4468;--h2:#2a6496;--h3:#4a8fc7;--h4:#86bce6;--h5:#cfe6fa}}
@media print{:root{--bg:#fff;--fg:#000;--muted:#333;--grid:#ddd;--axis:#777;--panel:#fff;--c0:#0072B2;
--h0:#eef3f8;--h1:#c6dbef;--h2:#9ecae1;--h3:#4292c6;--h4:#2171b5;--h5:#08306b}
section{break-inside:avoid-page}details{display:block}details>summary{display:none}}
*{box-sizing:border-box}
body{margin:0 auto;max-width:1000px;padding:24px;background:var(--bg);color:var(--fg);font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"DejaVu Sans",sans-serif}
h1{font-size:26px;margin:0 0 4px}h2{font-size:20px;margin:36px 0 6px;border-bottom:1px solid var(--grid);padding-bottom:4px}
h3{font-size:16px;margin:18px 0 4px}p{margin:4px 0 10px}.meta,.intro,figcaption,.legend{color:var(--muted)}
nav ul{columns:2;padding-left:18px;margin:8px 0}a{color:var(--c0)}
.empty{padding:12px 14px;background:var(--panel);border-left:4px solid var(--axis);border-radius:3px}
figure{margin:8px 0 4px}figcaption{font-size:13px;margin-top:2px}
svg.chart{width:100%;height:auto;display:block}
svg text{fill:var(--fg);font-size:12px}svg .tick{fill:var(--muted);font-size:11px}svg .label{font-size:12px}svg .value{font-size:11px;fill:var(--muted)}
svg .grid{stroke:var(--grid);stroke-width:1}svg .axis{stroke:var(--axis);stroke-width:1}
.c7{fill:var(--axis)}.c0{fill:var(--c0)}.c1{fill:var(--c1)}.c2{fill:var(--c2)}.c3{fill:var(--c3)}.c4{fill:var(--c4)}.c5{fill:var(--c5)}.c6{fill:var(--c6)}
.line{fill:none;stroke-width:2}.s0{stroke:var(--c0)}.s1{stroke:var(--c1)}.s2{stroke:var(--c2)}.s3{stroke:var(--c3)}.s4{stroke:var(--c4)}.s5{stroke:var(--c5)}.s6{stroke:var(--c6)}
.h0{fill:var(--h0)}.h1{fill:var(--h1)}.h2{fill:var(--h2)}.h3{fill:var(--h3)}.h4{fill:var(--h4)}.h5{fill:var(--h5)}
.legend{display:flex;flex-wrap:wrap;gap:4px 16px;font-size:13px;margin:2px 0 6px}.legend i{display:inline-block;width:12px;height:12px;margin-right:5px;vertical-align:-1px;border-radius:2px}
.legend i.c7{background:var(--axis)}.legend i.c0{background:var(--c0)}.legend i.c1{background:var(--c1)}.legend i.c2{background:var(--c2)}.legend i.c3{background:var(--c3)}.legend i.c4{background:var(--c4)}.legend i.c5{background:var(--c5)}.legend i.c6{background:var(--c6)}
.legend i.h0{background:var(--h0)}.legend i.h1{background:var(--h1)}.legend i.h2{background:var(--h2)}.legend i.h3{background:var(--h3)}.legend i.h4{background:var(--h4)}.legend i.h5{background:var(--h5)}
table{border-collapse:collapse;width:100%;font-size:13px;margin:4px 0 12px;font-variant-numeric:tabular-nums}
th,td{padding:3px 8px;border-bottom:1px solid var(--grid);text-align:left;vertical-align:top}th{font-weight:600}
td.n,th.n{text-align:right;white-space:nowrap}tr.stale td{color:var(--bad);font-weight:600}
details{margin:2px 0 12px}.wide{overflow-x:auto}summary{cursor:pointer;color:var(--muted);font-size:13px}
.grid2{display:grid;grid-template-columns:1fr 1fr;gap:0 24px}@media (max-width:760px){.grid2{grid-template-columns:1fr}}
"#;

impl Page {
    pub fn new() -> Page {
        Page {
            html: String::new(),
            contents: Vec::new(),
        }
    }

    /// Starts a section: its heading (in the contents too) and a line on what it shows.
    pub fn section(&mut self, id: &str, title: &str, intro: &str) {
        if !self.contents.is_empty() {
            self.html.push_str("</section>\n");
        }
        self.contents.push((id.to_string(), title.to_string()));
        let _ = write!(
            self.html,
            "<section id=\"{id}\"><h2>{}</h2><p class=\"intro\">{}</p>",
            esc(title),
            esc(intro)
        );
    }

    /// A heading within a section.
    pub fn heading(&mut self, text: &str) {
        let _ = write!(self.html, "<h3>{}</h3>", esc(text));
    }

    /// Says why there is nothing to show, where a chart would be.
    pub fn empty(&mut self, why: &str) {
        let _ = write!(self.html, "<p class=\"empty\">{}</p>", esc(why));
    }

    /// A line of text.
    pub fn text(&mut self, text: &str) {
        let _ = write!(self.html, "<p>{}</p>", esc(text));
    }

    /// Markup as it is.
    pub fn raw(&mut self, html: &str) {
        self.html.push_str(html);
    }

    /// A chart with its caption and legend (name, palette index).
    pub fn chart(&mut self, svg: &str, caption: &str, legend: &[(String, usize)]) {
        self.html.push_str("<figure>");
        self.html.push_str(svg);
        if !legend.is_empty() {
            self.html.push_str("<div class=\"legend\">");
            for (name, colour) in legend {
                let _ = write!(
                    self.html,
                    "<span><i class=\"c{colour}\"></i>{}</span>",
                    esc(name)
                );
            }
            self.html.push_str("</div>");
        }
        let _ = write!(
            self.html,
            "<figcaption>{}</figcaption></figure>",
            esc(caption)
        );
    }

    /// The heat map's legend: what each shade stands for.
    pub fn shade_legend(&mut self) {
        self.html.push_str("<div class=\"legend\">");
        for (i, bounds) in svg::SHADES.iter().enumerate() {
            let _ = write!(self.html, "<span><i class=\"h{i}\"></i>{bounds}</span>");
        }
        self.html.push_str("</div>");
    }

    /// A table of the rows `picked` of `rows`, the `columns` shown, under `origin`'s
    /// attributes; `complete` if every row of the result is shown. Folded under a summary
    /// line when longer than 20 rows.
    pub fn table(
        &mut self,
        origin: &Origin<'_>,
        rows: &Rows,
        picked: &[usize],
        columns: &[Column<'_>],
        complete: bool,
    ) {
        self.table_with(origin, rows, picked, columns, complete, &[], |_| Vec::new());
    }

    /// [`Page::table`] with `extra` columns after the view's: their headings, and for each
    /// row their cells' text (derived values, not checked against the view).
    #[allow(clippy::too_many_arguments)]
    pub fn table_with(
        &mut self,
        origin: &Origin<'_>,
        rows: &Rows,
        picked: &[usize],
        columns: &[Column<'_>],
        complete: bool,
        extra: &[&str],
        extra_cells: impl Fn(usize) -> Vec<String>,
    ) {
        let folded = picked.len() > 20;
        if folded {
            let _ = write!(
                self.html,
                "<details><summary>Table: {} rows</summary>",
                grouped(picked.len() as f64, 0)
            );
        }
        self.html.push_str("<div class=\"wide\"><table><thead><tr>");
        for c in columns {
            let class = if c.num.is_some() { " class=\"n\"" } else { "" };
            let _ = write!(self.html, "<th{class}>{}</th>", esc(c.heading));
        }
        for heading in extra {
            let _ = write!(self.html, "<th class=\"n\">{}</th>", esc(heading));
        }
        let _ = write!(
            self.html,
            "</tr></thead><tbody{} data-rows=\"{}\">",
            origin.attributes(),
            if complete { "all" } else { "some" }
        );
        for &r in picked {
            let stale = matches!(rows.get(r, "stale"), Value::Bool(true));
            self.html.push_str(if stale {
                "<tr class=\"stale\">"
            } else {
                "<tr>"
            });
            for c in columns {
                let value = rows.get(r, c.name);
                let shown = match (c.num, value.num()) {
                    (Some(num), Some(v)) => num.full(v),
                    (_, _) if *value == Value::Null => "–".to_string(),
                    (_, _) => match value {
                        Value::Bool(true) => "yes".to_string(),
                        Value::Bool(false) => "no".to_string(),
                        Value::Text(t) if c.name == "vendor" => vendor_title(t).to_string(),
                        other => other.exact(),
                    },
                };
                let _ = write!(
                    self.html,
                    "<td{} data-col=\"{}\" data-value=\"{}\"{}>{}</td>",
                    if c.num.is_some() { " class=\"n\"" } else { "" },
                    esc(c.name),
                    esc(&value.exact()),
                    if *value == Value::Null {
                        " data-null"
                    } else {
                        ""
                    },
                    esc(&shown)
                );
            }
            for cell in extra_cells(r) {
                let _ = write!(self.html, "<td class=\"n\">{}</td>", esc(&cell));
            }
            self.html.push_str("</tr>");
        }
        self.html.push_str("</tbody></table></div>");
        if folded {
            self.html.push_str("</details>");
        }
    }

    /// The whole document: `title`, the lines of `meta` under it, the contents, the
    /// sections.
    pub fn finish(mut self, title: &str, meta: &[String]) -> String {
        if !self.contents.is_empty() {
            self.html.push_str("</section>\n");
        }
        let mut out = String::with_capacity(self.html.len() + STYLE.len() + 2048);
        let _ = write!(
            out,
            "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
             <meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">\
             <meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'; img-src data:\">\
             <meta name=\"generator\" content=\"botlake {}\">\
             <title>{}</title><style>{STYLE}</style></head>\n<body><header><h1>{}</h1>",
            env!("CARGO_PKG_VERSION"),
            esc(title),
            esc(title)
        );
        for line in meta {
            let _ = write!(out, "<p class=\"meta\">{}</p>", esc(line));
        }
        out.push_str("<nav><ul>");
        for (id, title) in &self.contents {
            let _ = write!(out, "<li><a href=\"#{id}\">{}</a></li>", esc(title));
        }
        out.push_str("</ul></nav></header>\n<main>");
        out.push_str(&self.html);
        out.push_str("</main></body></html>\n");
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_read_with_thousands_separators_and_units() {
        assert_eq!(grouped(1234567.0, 0), "1,234,567");
        assert_eq!(grouped(999.0, 0), "999");
        assert_eq!(grouped(-1234.5, 1), "-1,234.5");
        assert_eq!(grouped(-0.01, 1), "0.0");
        assert_eq!(Num::Percent.full(0.8712), "87.1 %");
        assert_eq!(Num::Hours.full(1301.34), "1,301.34 h");
        assert_eq!(Num::Count.axis(2500.0, 500.0), "2,500");
        assert_eq!(Num::Percent.axis(0.25, 0.05), "25 %");
        assert_eq!(Num::Hours.axis(0.02, 0.01), "0.02");
        assert_eq!(Num::Count.axis(5.0, 2.5), "5.0");
    }

    #[test]
    fn a_table_cell_keeps_the_exact_value_beside_the_one_shown() {
        let mut page = Page::new();
        let rows = Rows {
            columns: vec!["bot".into(), "runs".into(), "rate".into()],
            rows: vec![vec![
                Value::Text("<A & B>".into()),
                Value::Int(12345),
                Value::Null,
            ]],
        };
        page.section("s", "S", "what");
        page.table(
            &Origin {
                view: "v",
                params: &[("from".into(), "2026-11-01".into())],
                filters: &[],
                group_by: &[],
            },
            &rows,
            &[0],
            &[
                col("bot", "Bot", None),
                col("runs", "Runs", Some(Num::Count)),
                col("rate", "Rate", Some(Num::Percent)),
            ],
            true,
        );
        let html = page.finish("T", &[]);
        assert!(
            html.contains(r#"data-view="v" data-params="from=2026-11-01""#),
            "{html}"
        );
        assert!(
            html.contains(r#"data-col="bot" data-value="&lt;A &amp; B&gt;">&lt;A &amp; B&gt;<"#)
        );
        assert!(html.contains(r#"data-col="runs" data-value="12345">12,345<"#));
        assert!(html.contains(r#"data-col="rate" data-value="" data-null>–<"#));
    }
}
