//! Excel workbooks: each result a sheet, its header bold and frozen, its cells typed as
//! Excel types them (numbers, booleans, dates and times as dates, text), so that a manager
//! opens `-o kpi.xlsx` and sorts, sums and charts without converting anything.

use std::sync::{Arc, Mutex, MutexGuard};

use anyhow::{Result, bail};
use chrono::{DateTime, NaiveDate};
use datafusion::arrow::array::{Array, ArrayRef, AsArray, RecordBatch};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{
    DataType, Date32Type, Float64Type, Int64Type, SchemaRef, TimeUnit, TimestampMicrosecondType,
    UInt64Type,
};
use datafusion::arrow::util::display::{ArrayFormatter, FormatOptions};
use rust_xlsxwriter::{Format, Workbook, XlsxError};

/// Rows a sheet holds, its header included (Excel's limit).
const SHEET_ROWS: u32 = 1_048_576;
/// Columns a sheet holds (Excel's limit).
const SHEET_COLUMNS: usize = 16_384;
/// Characters a cell holds (Excel's limit); longer text is cut, ending with `…`.
const CELL_CHARS: usize = 32_767;
/// The largest whole number a cell holds exactly (a double's 53 bits); larger ones are
/// written as text, digit for digit.
const EXACT: f64 = 9_007_199_254_740_992.0;

/// A workbook being filled, a sheet per result.
pub struct Book {
    book: Workbook,
    sheets: usize,
    date: Format,
    time: Format,
    header: Format,
}

impl std::fmt::Debug for Book {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Book({} sheets)", self.sheets)
    }
}

impl Default for Book {
    fn default() -> Self {
        Book {
            book: Workbook::new(),
            sheets: 0,
            date: Format::new().set_num_format("yyyy-mm-dd"),
            time: Format::new().set_num_format("yyyy-mm-dd hh:mm:ss"),
            header: Format::new().set_bold(),
        }
    }
}

/// The sheet of one result, and the row its next batch starts at.
pub struct Sheet {
    index: usize,
    row: u32,
}

/// The workbook of `book`, whichever result holds it (a failed write leaves it usable).
pub fn lock(book: &Arc<Mutex<Book>>) -> MutexGuard<'_, Book> {
    book.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn excel(e: XlsxError) -> anyhow::Error {
    anyhow::anyhow!("writing the Excel workbook: {e}")
}

/// `name` as a sheet name: at most 31 characters, none of `[]:*?/\`, never empty.
fn sheet_name(name: &str) -> String {
    let name: String = name
        .chars()
        .map(|c| if "[]:*?/\\".contains(c) { '_' } else { c })
        .take(31)
        .collect();
    let name = name.trim_matches('\'').trim().to_string();
    if name.is_empty() {
        "result".into()
    } else {
        name
    }
}

impl Book {
    /// A new sheet for a result of `schema`, named `name` (else its number), with its
    /// header written.
    pub fn add_sheet(&mut self, name: Option<&str>, schema: &SchemaRef) -> Result<Sheet> {
        if schema.fields().len() > SHEET_COLUMNS {
            bail!(crate::UserError(format!(
                "{} columns are more than an Excel sheet holds ({SHEET_COLUMNS}): write CSV \
                 or Parquet",
                schema.fields().len()
            )));
        }
        self.sheets += 1;
        let mut title = sheet_name(&name.map_or_else(|| self.sheets.to_string(), str::to_string));
        // Two results of one name: the second numbered.
        while self.book.worksheets().iter().any(|w| w.name() == title) {
            title = sheet_name(&format!("{title} {}", self.sheets));
        }
        let sheet = self.book.add_worksheet();
        sheet.set_name(&title).map_err(excel)?;
        for (col, field) in schema.fields().iter().enumerate() {
            sheet
                .write_string_with_format(0, col as u16, field.name(), &self.header)
                .map_err(excel)?;
        }
        sheet.set_freeze_panes(1, 0).map_err(excel)?;
        Ok(Sheet {
            index: self.book.worksheets().len() - 1,
            row: 1,
        })
    }

    /// Appends the rows of `batch` to `sheet`.
    pub fn write(&mut self, sheet: &mut Sheet, batch: &RecordBatch) -> Result<()> {
        let rows = batch.num_rows() as u32;
        if sheet.row.saturating_add(rows) > SHEET_ROWS {
            bail!(crate::UserError(format!(
                "more rows than an Excel sheet holds ({}): write CSV or Parquet, or narrow \
                 the query",
                SHEET_ROWS - 1
            )));
        }
        let (date, time) = (self.date.clone(), self.time.clone());
        let ws = self.book.worksheet_from_index(sheet.index).map_err(excel)?;
        for (col, column) in batch.columns().iter().enumerate() {
            let col = col as u16;
            let at = |i: usize| sheet.row + i as u32;
            for (i, cell) in cells(column)?.into_iter().enumerate() {
                let row = at(i);
                match cell {
                    Cell::Blank => continue,
                    Cell::Number(n) => ws.write_number(row, col, n),
                    Cell::Bool(b) => ws.write_boolean(row, col, b),
                    Cell::Date(d) => ws.write_datetime_with_format(row, col, d, &date),
                    Cell::Time(t) => ws.write_datetime_with_format(row, col, t, &time),
                    Cell::Text(t) => ws.write_string(row, col, cut(t)),
                }
                .map_err(excel)?;
            }
        }
        sheet.row += rows;
        Ok(())
    }

    /// The workbook as an `.xlsx` file's bytes, its columns fitted to their values.
    pub fn save(&mut self) -> Result<Vec<u8>> {
        for ws in self.book.worksheets_mut() {
            ws.autofit();
        }
        self.book.save_to_buffer().map_err(excel)
    }
}

/// A cell as Excel types it.
enum Cell {
    Blank,
    Number(f64),
    Bool(bool),
    Date(NaiveDate),
    /// A time, in UTC as the lake keeps it (Excel has no time zones).
    Time(chrono::NaiveDateTime),
    Text(String),
}

/// `text` cut to what a cell holds.
fn cut(text: String) -> String {
    if text.chars().count() <= CELL_CHARS {
        return text;
    }
    let mut cut: String = text.chars().take(CELL_CHARS - 1).collect();
    cut.push('…');
    cut
}

/// The cells of `column`, typed.
fn cells(column: &ArrayRef) -> Result<Vec<Cell>> {
    let n = column.len();
    let valid = |i: usize| column.is_valid(i);
    let cells = match column.data_type() {
        DataType::Boolean => {
            let b = column.as_boolean();
            (0..n)
                .map(|i| valid(i).then(|| Cell::Bool(b.value(i))))
                .map(|c| c.unwrap_or(Cell::Blank))
                .collect()
        }
        // Whole numbers beyond a double's exact range keep their digits, as text.
        DataType::Int64 => {
            let v = column.as_primitive::<Int64Type>();
            (0..n)
                .map(|i| match valid(i).then(|| v.value(i)) {
                    None => Cell::Blank,
                    Some(x) if (x as f64).abs() <= EXACT => Cell::Number(x as f64),
                    Some(x) => Cell::Text(x.to_string()),
                })
                .collect()
        }
        DataType::UInt64 => {
            let v = column.as_primitive::<UInt64Type>();
            (0..n)
                .map(|i| match valid(i).then(|| v.value(i)) {
                    None => Cell::Blank,
                    Some(x) if (x as f64) <= EXACT => Cell::Number(x as f64),
                    Some(x) => Cell::Text(x.to_string()),
                })
                .collect()
        }
        t if t.is_numeric() => {
            let f = cast(column, &DataType::Float64)?;
            let v = f.as_primitive::<Float64Type>();
            (0..n)
                .map(|i| match valid(i).then(|| v.value(i)) {
                    None => Cell::Blank,
                    Some(x) if x.is_finite() => Cell::Number(x),
                    Some(x) => Cell::Text(x.to_string()),
                })
                .collect()
        }
        DataType::Date32 | DataType::Date64 => {
            let d = cast(column, &DataType::Date32)?;
            let v = d.as_primitive::<Date32Type>();
            (0..n)
                .map(|i| {
                    valid(i)
                        .then(|| v.value_as_date(i))
                        .flatten()
                        .map_or(Cell::Blank, Cell::Date)
                })
                .collect()
        }
        DataType::Timestamp(_, _) => {
            let t = cast(column, &DataType::Timestamp(TimeUnit::Microsecond, None))?;
            let v = t.as_primitive::<TimestampMicrosecondType>();
            (0..n)
                .map(|i| {
                    valid(i)
                        .then(|| DateTime::from_timestamp_micros(v.value(i)))
                        .flatten()
                        .map_or(Cell::Blank, |t| Cell::Time(t.naive_utc()))
                })
                .collect()
        }
        _ => {
            let formatter = ArrayFormatter::try_new(column.as_ref(), &FormatOptions::default())?;
            (0..n)
                .map(|i| {
                    if valid(i) {
                        Cell::Text(formatter.value(i).to_string())
                    } else {
                        Cell::Blank
                    }
                })
                .collect()
        }
    };
    Ok(cells)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sheet_names_are_ones_excel_takes() {
        assert_eq!(sheet_name("kpi/daily: [all]"), "kpi_daily_ _all_");
        assert_eq!(sheet_name(""), "result");
        assert_eq!(sheet_name(&"x".repeat(40)).len(), 31);
    }
}
