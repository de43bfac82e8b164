//! Results as a text table for a person: numbers right-aligned, NULL said (and told apart
//! from an empty string), a row count at the end; on a terminal, as wide as the terminal at
//! most (long values cut with `…`, columns that do not fit left out and counted), or one
//! block per row (expanded, as psql's `\x`). To a file or a pipe nothing is cut.

use std::fmt::Write as _;

use anyhow::Result;
use datafusion::arrow::array::RecordBatch;
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::arrow::util::display::{ArrayFormatter, FormatOptions};

/// How a table is shown.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Style {
    /// What a NULL shows as.
    pub null: String,
    /// The widest a line may be (a terminal's width); `None`: as wide as the values.
    pub width: Option<usize>,
    /// One block per row.
    pub expanded: Expanded,
}

impl Default for Style {
    fn default() -> Self {
        Style {
            null: "NULL".into(),
            width: None,
            expanded: Expanded::Off,
        }
    }
}

/// Whether rows are shown as blocks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expanded {
    /// A row a line.
    Off,
    /// A block a row.
    On,
    /// Blocks when the table would not fit the width.
    Auto,
}

/// The narrowest a column is cut to when the width is short.
const NARROWEST: usize = 12;

/// The width of a terminal on standard output: `$COLUMNS` if set, else what the terminal
/// says; `None` when standard output is not a terminal.
pub fn terminal_width() -> Option<usize> {
    use std::io::IsTerminal;
    if !std::io::stdout().is_terminal() {
        return None;
    }
    if let Some(columns) = std::env::var("COLUMNS")
        .ok()
        .and_then(|c| c.parse::<usize>().ok())
        .filter(|&c| c > 0)
    {
        return Some(columns);
    }
    console::Term::stdout()
        .size_checked()
        .map(|(_, columns)| usize::from(columns))
        .filter(|&c| c > 0)
}

/// The lines of a terminal on standard output, for the pager's choice.
pub fn terminal_height() -> Option<usize> {
    if let Some(lines) = std::env::var("LINES")
        .ok()
        .and_then(|c| c.parse::<usize>().ok())
    {
        return Some(lines);
    }
    console::Term::stdout()
        .size_checked()
        .map(|(rows, _)| usize::from(rows))
        .filter(|&r| r > 0)
}

/// Shows `text` through the pager (`$PAGER`, else `less -S`) if it is longer than the
/// terminal; whether it did (else the caller writes it).
pub fn page(text: &str) -> bool {
    use std::io::Write;
    let Some(height) = terminal_height() else {
        return false;
    };
    if text.lines().count() < height {
        return false;
    }
    let pager = std::env::var("PAGER")
        .ok()
        .filter(|p| !p.trim().is_empty())
        .unwrap_or_else(|| "less -S".into());
    let Ok(mut child) = std::process::Command::new("sh")
        .arg("-c")
        .arg(&pager)
        .stdin(std::process::Stdio::piped())
        .spawn()
    else {
        return false;
    };
    if let Some(mut stdin) = child.stdin.take() {
        // A pager quit early closes the pipe: what it showed is all that was wanted.
        let _ = stdin.write_all(text.as_bytes());
    }
    child.wait().is_ok()
}

/// A column's header, its cells as text, and whether it is a number.
struct Column {
    name: String,
    cells: Vec<String>,
    numeric: bool,
}

fn chars(s: &str) -> usize {
    s.chars().count()
}

/// `s` cut to `width` characters, its last `…` when cut.
fn fit(s: &str, width: usize) -> String {
    if chars(s) <= width {
        return s.to_string();
    }
    let mut cut: String = s.chars().take(width.saturating_sub(1)).collect();
    cut.push('…');
    cut
}

/// Values as a line holds them: line ends and tabs as spaces.
fn one_line(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

/// `batches` of `schema` as text, as `style` says, ending with the row count.
pub fn render(schema: &SchemaRef, batches: &[RecordBatch], style: &Style) -> Result<String> {
    let options = FormatOptions::default().with_null(&style.null);
    let mut columns: Vec<Column> = schema
        .fields()
        .iter()
        .map(|f| Column {
            name: one_line(f.name()),
            cells: Vec::new(),
            numeric: f.data_type().is_numeric(),
        })
        .collect();
    for batch in batches {
        for (column, array) in columns.iter_mut().zip(batch.columns()) {
            let formatter = ArrayFormatter::try_new(array.as_ref(), &options)?;
            for i in 0..batch.num_rows() {
                column.cells.push(one_line(&formatter.value(i).to_string()));
            }
        }
    }
    let rows: usize = batches.iter().map(RecordBatch::num_rows).sum();
    let widths: Vec<usize> = columns
        .iter()
        .map(|c| {
            c.cells
                .iter()
                .map(|s| chars(s))
                .chain([chars(&c.name)])
                .max()
                .unwrap_or(0)
        })
        .collect();
    let fits = style.width.is_none_or(|w| table_width(&widths) <= w);
    let expanded = match style.expanded {
        Expanded::On => true,
        Expanded::Off => false,
        Expanded::Auto => !fits,
    };
    let (mut out, shown_columns) = if expanded {
        (blocks(&columns, rows, style.width), columns.len())
    } else {
        lines(&columns, widths, style.width)
    };
    let noun = if rows == 1 { "row" } else { "rows" };
    if shown_columns < columns.len() {
        let _ = writeln!(
            out,
            "{rows} {noun}, {} columns ({shown_columns} shown; \\x shows a row a block)",
            columns.len()
        );
    } else {
        let _ = writeln!(out, "({rows} {noun})");
    }
    Ok(out)
}

/// The width of a table's lines with columns `widths` wide: `| ` before each, ` |` after.
fn table_width(widths: &[usize]) -> usize {
    widths.iter().map(|w| w + 3).sum::<usize>() + 1
}

/// A row a line, within `width`: columns cut to a share of it, then columns that still do
/// not fit left out (from the right); and how many columns are shown.
fn lines(columns: &[Column], mut widths: Vec<usize>, width: Option<usize>) -> (String, usize) {
    let mut keep = columns.len();
    if let Some(width) = width {
        // Cut the widest columns, one character at a time, down to NARROWEST.
        while table_width(&widths) > width {
            let (i, &w) = widths
                .iter()
                .enumerate()
                .max_by_key(|(_, w)| **w)
                .expect("a table has a column");
            if w <= NARROWEST {
                break;
            }
            widths[i] = w - 1;
        }
        while keep > 1 && table_width(&widths[..keep]) > width {
            keep -= 1;
        }
    }
    let widths = &widths[..keep];
    let mut out = String::new();
    let rule: String = widths.iter().fold("+".to_string(), |mut r, w| {
        r.push_str(&"-".repeat(w + 2));
        r.push('+');
        r
    });
    let row = |out: &mut String, cells: &mut dyn Iterator<Item = (&str, bool)>| {
        out.push('|');
        for ((cell, right), w) in cells.zip(widths) {
            let cell = fit(cell, *w);
            let pad = w - chars(&cell);
            if right {
                let _ = write!(out, " {}{cell} |", " ".repeat(pad));
            } else {
                let _ = write!(out, " {cell}{} |", " ".repeat(pad));
            }
        }
        out.push('\n');
    };
    let _ = writeln!(out, "{rule}");
    row(
        &mut out,
        &mut columns[..keep].iter().map(|c| (c.name.as_str(), false)),
    );
    let _ = writeln!(out, "{rule}");
    let rows = columns.first().map_or(0, |c| c.cells.len());
    for r in 0..rows {
        row(
            &mut out,
            &mut columns[..keep]
                .iter()
                .map(|c| (c.cells[r].as_str(), c.numeric)),
        );
    }
    let _ = writeln!(out, "{rule}");
    (out, keep)
}

/// A block a row: each column's name and value on a line, values cut to `width`.
fn blocks(columns: &[Column], rows: usize, width: Option<usize>) -> String {
    let name_width = columns.iter().map(|c| chars(&c.name)).max().unwrap_or(0);
    let value_width = width.map(|w| w.saturating_sub(name_width + 3).max(NARROWEST));
    let mut out = String::new();
    for r in 0..rows {
        let title = format!("-[ RECORD {} ]", r + 1);
        let rule = width.unwrap_or(name_width + 20).max(chars(&title));
        let _ = writeln!(out, "{title}{}", "-".repeat(rule - chars(&title)));
        for c in columns {
            let value = match value_width {
                Some(w) => fit(&c.cells[r], w),
                None => c.cells[r].clone(),
            };
            let pad = name_width - chars(&c.name);
            let _ = writeln!(out, "{}{} | {value}", c.name, " ".repeat(pad));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use datafusion::arrow::array::{Int64Array, StringArray};
    use datafusion::arrow::datatypes::{DataType, Field, Schema};

    use super::*;

    fn batch() -> (SchemaRef, RecordBatch) {
        let schema = Arc::new(Schema::new(vec![
            Field::new("name", DataType::Utf8, true),
            Field::new("n", DataType::Int64, true),
            Field::new("note", DataType::Utf8, true),
        ]));
        let batch = RecordBatch::try_new(
            schema.clone(),
            vec![
                Arc::new(StringArray::from(vec![Some("a"), Some(""), None])),
                Arc::new(Int64Array::from(vec![Some(5), None, Some(1234)])),
                Arc::new(StringArray::from(vec![
                    Some("a rather long note that goes on"),
                    Some("line\nbreak"),
                    Some("x"),
                ])),
            ],
        )
        .unwrap();
        (schema, batch)
    }

    #[test]
    fn numbers_right_nulls_said_and_a_row_count() {
        let (schema, batch) = batch();
        let shown = render(&schema, &[batch], &Style::default()).unwrap();
        assert_eq!(
            shown,
            "+------+------+---------------------------------+\n\
             | name | n    | note                            |\n\
             +------+------+---------------------------------+\n\
             | a    |    5 | a rather long note that goes on |\n\
             |      | NULL | line break                      |\n\
             | NULL | 1234 | x                               |\n\
             +------+------+---------------------------------+\n\
             (3 rows)\n"
        );
    }

    #[test]
    fn a_narrow_terminal_cuts_values_then_leaves_columns_out() {
        let (schema, batch) = batch();
        let style = |width| Style {
            width: Some(width),
            ..Style::default()
        };
        let shown = render(&schema, std::slice::from_ref(&batch), &style(30)).unwrap();
        assert!(shown.lines().all(|l| chars(l) <= 30), "{shown}");
        assert!(
            shown.contains("| a rather…|") || shown.contains("…"),
            "{shown}"
        );
        assert!(shown.ends_with("(3 rows)\n"), "{shown}");
        let shown = render(&schema, std::slice::from_ref(&batch), &style(20)).unwrap();
        let table: Vec<&str> = shown.lines().collect();
        assert!(
            table[..table.len() - 1].iter().all(|l| chars(l) <= 20),
            "{shown}"
        );
        assert!(
            shown.ends_with("3 rows, 3 columns (2 shown; \\x shows a row a block)\n"),
            "{shown}"
        );
        // Blocks when asked, or when the table would not fit.
        let auto = Style {
            expanded: Expanded::Auto,
            ..style(20)
        };
        let shown = render(&schema, &[batch], &auto).unwrap();
        assert!(shown.starts_with("-[ RECORD 1 ]"), "{shown}");
        assert!(shown.contains("\nn    | NULL\n"), "{shown}");
        assert!(shown.ends_with("(3 rows)\n"), "{shown}");
    }
}
