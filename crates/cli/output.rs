//! Writing query results: table, CSV, JSON, NDJSON or Parquet, to standard output, a file
//! or an object store, gzip-compressed when the name ends in `.gz`. Everything but the
//! table is written batch by batch, so results of any size stream through. A file or
//! object appears whole once the results are complete: a query that fails leaves what was
//! there before.

use std::fs::File;
use std::io::{BufWriter, IsTerminal, Write};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use datafusion::arrow::array::RecordBatch;
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::execution::SendableRecordBatchStream;
use datafusion::parquet::arrow::ArrowWriter;
use flate2::write::GzEncoder;
use futures::StreamExt;
use tempfile::NamedTempFile;
use url::Url;

use crate::args::Format;

/// Where results go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Destination {
    /// Standard output.
    Stdout,
    /// A local file, replaced once the results are complete.
    File(PathBuf),
    /// An object (`s3://bucket/key`), uploaded once the results are complete.
    Object(Url),
    /// A local directory (`-o DIR/`): each result a file of its own in it.
    Directory(PathBuf),
}

impl Destination {
    /// What `-o` names: an `s3://` URL, a `file://` URL or a path; `-` is standard output.
    pub fn parse(location: &str) -> Result<Destination> {
        if location == "-" {
            return Ok(Destination::Stdout);
        }
        if botlake_lake::is_object_url(location) {
            let url = Url::parse(location)?;
            if url.host_str().is_none_or(str::is_empty) {
                bail!(crate::UserError(format!(
                    "-o {location} names no bucket: s3://bucket/key"
                )));
            }
            if url.path().ends_with('/') || url.path().is_empty() {
                bail!(crate::UserError(format!(
                    "-o {location} names a prefix, not an object: add a file name"
                )));
            }
            return Ok(Destination::Object(url));
        }
        if let Ok(url) = Url::parse(location)
            && url.scheme() == "file"
        {
            let path = url
                .to_file_path()
                .map_err(|()| crate::UserError(format!("-o {location} is not a local path")))?;
            return Ok(Destination::File(path));
        }
        let path = PathBuf::from(location);
        if location.ends_with('/') || path.is_dir() {
            return Ok(Destination::Directory(path));
        }
        // A link is written through, as creating the file would: the file it points to is
        // the one replaced.
        if std::fs::symlink_metadata(&path).is_ok_and(|m| m.file_type().is_symlink())
            && let Ok(target) = std::fs::canonicalize(&path)
        {
            return Ok(Destination::File(target));
        }
        Ok(Destination::File(path))
    }

    /// The name written to, lower-cased; none for standard output.
    fn name(&self) -> Option<String> {
        let name = match self {
            Destination::Stdout | Destination::Directory(_) => return None,
            Destination::File(path) => path.to_string_lossy().into_owned(),
            Destination::Object(url) => url.path().to_owned(),
        };
        Some(name.to_ascii_lowercase())
    }

    /// Whether the name asks for gzip (`.gz`).
    fn gzip(&self) -> bool {
        self.name().is_some_and(|name| name.ends_with(".gz"))
    }

    /// The format the name's extension (before any `.gz`) stands for: none for standard
    /// output or a name without an extension, an error for an extension of no format.
    fn format(&self) -> Result<Option<Format>> {
        let Some(name) = self.name() else {
            return Ok(None);
        };
        let name = name.strip_suffix(".gz").unwrap_or(&name);
        let file_name = name.rsplit('/').next().unwrap_or(name);
        let Some((_, extension)) = file_name.rsplit_once('.') else {
            return Ok(None);
        };
        Ok(Some(match extension {
            "csv" => Format::Csv,
            "json" => Format::Json,
            "ndjson" | "jsonl" => Format::Ndjson,
            "parquet" | "pq" => Format::Parquet,
            "xlsx" => Format::Xlsx,
            "txt" => Format::Table,
            _ => bail!(crate::UserError(format!(
                "-o {self}: .{extension} is no format botlake writes; name the file .csv, \
                 .json, .ndjson, .jsonl or .txt (each optionally .gz), .parquet or .xlsx, or \
                 give --format table|csv|json|ndjson|parquet|xlsx"
            ))),
        }))
    }
}

impl std::fmt::Display for Destination {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Destination::Stdout => f.write_str("standard output"),
            Destination::File(path) => write!(f, "{}", path.display()),
            Destination::Object(url) => write!(f, "{url}"),
            Destination::Directory(path) => write!(f, "{}/", path.display()),
        }
    }
}

/// `name` as the stem of a file name: letters, digits, `-`, `_` and `.` kept, anything else
/// `_`, never empty nor hidden.
fn file_stem(name: &str) -> String {
    let stem: String = name
        .trim()
        .chars()
        .map(|c| {
            if c.is_alphanumeric() || matches!(c, '-' | '_' | '.') {
                c
            } else {
                '_'
            }
        })
        .collect();
    let stem = stem.trim_start_matches('.');
    if stem.is_empty() {
        "result".to_string()
    } else {
        stem.to_string()
    }
}

/// The extension of a file in `format`.
fn extension(format: Format) -> &'static str {
    match format {
        Format::Table => "txt",
        Format::Csv => "csv",
        Format::Json => "json",
        Format::Ndjson => "ndjson",
        Format::Parquet => "parquet",
        Format::Xlsx => "xlsx",
    }
}

/// Where and how results go.
#[derive(Debug, Clone)]
pub struct Output {
    format: Format,
    to: Destination,
    /// Whether the bytes are gzip-compressed.
    gzip: bool,
    /// Rows a table shows at most; 0: all.
    max_rows: usize,
    /// The workbook an Excel file's results are sheets of, shared by every result written
    /// to it.
    book: Option<std::sync::Arc<std::sync::Mutex<crate::xlsx::Book>>>,
    /// The name of the next result's sheet in a workbook (else its number).
    sheet: Option<String>,
    /// How a table shows.
    style: crate::table::Style,
}

/// Rows a table shows unless told otherwise.
pub const TABLE_ROWS: usize = 1000;

/// The bytes' way out: buffered, and gzip-compressed if asked.
enum Sink {
    Plain(BufWriter<Box<dyn Write + Send>>),
    Gzip(Box<GzEncoder<BufWriter<Box<dyn Write + Send>>>>),
}

impl Write for Sink {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        match self {
            Sink::Plain(w) => w.write(buf),
            Sink::Gzip(w) => w.write(buf),
        }
    }

    fn flush(&mut self) -> std::io::Result<()> {
        match self {
            Sink::Plain(w) => w.flush(),
            Sink::Gzip(w) => w.flush(),
        }
    }
}

impl Sink {
    /// Writes out everything held, with gzip's trailer.
    fn finish(self) -> std::io::Result<()> {
        match self {
            Sink::Plain(mut w) => w.flush(),
            Sink::Gzip(w) => w.finish()?.flush(),
        }
    }
}

enum Writer {
    /// The rows, held to align them, the sink, how they show, and whether through a pager.
    Table(Vec<RecordBatch>, Sink, crate::table::Style, bool),
    /// The writer and whether it has written anything (its header comes with the first
    /// batch, so results without rows get an empty batch for it).
    Csv(datafusion::arrow::csv::Writer<Sink>, bool),
    Json(datafusion::arrow::json::ArrayWriter<Sink>),
    Ndjson(datafusion::arrow::json::LineDelimitedWriter<Sink>),
    Parquet(ArrowWriter<Sink>),
    /// The workbook, the sheet being written, and the sink the whole workbook goes to.
    Xlsx(
        std::sync::Arc<std::sync::Mutex<crate::xlsx::Book>>,
        crate::xlsx::Sheet,
        Sink,
    ),
}

/// Results being written: the writer and, for a file or object, the temporary file that
/// becomes it.
struct Pending {
    writer: Writer,
    staged: Option<NamedTempFile>,
}

impl Output {
    /// Results in `format`, to `to`.
    pub fn new(format: Format, to: Destination) -> Output {
        Output {
            book: (format == Format::Xlsx).then(Default::default),
            sheet: None,
            // As wide as a terminal at most; to a file or a pipe, never cut.
            style: crate::table::Style {
                width: (to == Destination::Stdout)
                    .then(crate::table::terminal_width)
                    .flatten(),
                ..crate::table::Style::default()
            },
            format,
            gzip: to.gzip(),
            to,
            max_rows: TABLE_ROWS,
        }
    }

    /// This output with tables shown as `style` says (its width kept: the terminal's).
    pub fn with_style(mut self, null: &str, expanded: crate::table::Expanded) -> Output {
        self.style.null = null.to_string();
        self.style.expanded = expanded;
        self
    }

    /// This output with a table showing at most `max_rows` rows (0: all).
    pub fn with_max_rows(mut self, max_rows: usize) -> Output {
        self.max_rows = max_rows;
        self
    }

    /// Results as the global flags ask: `format` if given, else the one the extension of
    /// `-o`'s file names (`.csv`, `.json`, `.ndjson`/`.jsonl`, `.parquet`, `.txt`), else a
    /// table; gzip-compressed if the name ends in `.gz`.
    pub fn from_flags(format: Option<Format>, output: Option<&str>) -> Result<Output> {
        let to = match output {
            Some(location) => Destination::parse(location)?,
            None => Destination::Stdout,
        };
        let named = match &to {
            // Files for a program to read, not a table for a person.
            Destination::Directory(_) => Some(Format::Csv),
            _ => to
                .format()
                .or_else(|e| if format.is_some() { Ok(None) } else { Err(e) })?,
        };
        let format = match (format, named) {
            (Some(given), Some(named))
                if given != named && !matches!(to, Destination::Directory(_)) =>
            {
                bail!(crate::UserError(format!(
                    "--format {} and -o {to} disagree: name the file .{} or leave out --format",
                    clap::ValueEnum::to_possible_value(&given)
                        .map_or(String::new(), |v| v.get_name().to_string()),
                    extension(given)
                )));
            }
            (Some(given), _) => given,
            (None, named) => named.unwrap_or(Format::Table),
        };
        let output = Output::new(format, to);
        if output.gzip && matches!(format, Format::Parquet | Format::Xlsx) {
            bail!(crate::UserError(format!(
                "-o {}: Parquet and Excel files compress themselves, and a gzipped one is a \
                 file no reader opens; drop the .gz",
                output.to
            )));
        }
        if format == Format::Xlsx && output.to == Destination::Stdout {
            bail!(crate::UserError(
                "an Excel workbook is a file: write it with -o FILE.xlsx".into()
            ));
        }
        Ok(output)
    }

    /// Whether results go into one file or object, which holds one result (or, for a
    /// workbook, a sheet each).
    pub fn holds_one_result(&self) -> bool {
        matches!(self.to, Destination::File(_) | Destination::Object(_)) && self.book.is_none()
    }

    /// Where result number `index` (from 1) of several goes, named `name` if it has a name:
    /// into a directory, a file of its own; else where this output goes.
    pub fn for_result(&self, index: usize, name: Option<&str>) -> Result<Output> {
        let Destination::Directory(dir) = &self.to else {
            let mut output = self.clone();
            if let Some(name) = name {
                output.sheet = Some(name.to_string());
            }
            return Ok(output);
        };
        std::fs::create_dir_all(dir)
            .with_context(|| format!("cannot make the directory {}", dir.display()))?;
        let stem = name.map_or_else(|| index.to_string(), file_stem);
        let file = dir.join(format!("{stem}.{}", extension(self.format)));
        Ok(Output::new(self.format, Destination::File(file)).with_max_rows(self.max_rows))
    }

    /// Where the bytes go while they are written: standard output, or a temporary file
    /// (beside the file it replaces, so that the replacement is a rename).
    fn sink(&self) -> Result<(Sink, Option<NamedTempFile>)> {
        let (out, staged) = self.destination_writer()?;
        let out = BufWriter::new(out);
        let sink = if self.gzip {
            Sink::Gzip(Box::new(GzEncoder::new(
                out,
                flate2::Compression::default(),
            )))
        } else {
            Sink::Plain(out)
        };
        Ok((sink, staged))
    }

    /// The destination's writer: standard output, the device or pipe named, or a
    /// temporary file.
    fn destination_writer(&self) -> Result<(Box<dyn Write + Send>, Option<NamedTempFile>)> {
        let stage = |dir: &Path, like: Option<&Path>| -> Result<NamedTempFile> {
            let mut builder = tempfile::Builder::new();
            builder.prefix(".botlake-").suffix(".partial");
            // The permissions of the file replaced, else those of a new file.
            let permissions = like
                .and_then(|p| std::fs::metadata(p).ok())
                .map(|m| m.permissions())
                .unwrap_or_else(|| {
                    use std::os::unix::fs::PermissionsExt;
                    std::fs::Permissions::from_mode(0o666)
                });
            builder.permissions(permissions);
            builder
                .tempfile_in(dir)
                .with_context(|| format!("cannot create a file in {}", dir.display()))
        };
        let staged = match &self.to {
            Destination::Directory(dir) => {
                bail!(crate::UserError(format!(
                    "-o {}/ is a directory, which takes the results of `query` and `sql`, a \
                     file each; name a file for this command",
                    dir.display()
                )));
            }
            Destination::Stdout => {
                if self.format == Format::Parquet && std::io::stdout().is_terminal() {
                    bail!(crate::UserError(
                        "Parquet is binary: write it to a file with -o FILE or pipe it".into()
                    ));
                }
                return Ok((Box::new(std::io::stdout()), None));
            }
            // A device or a pipe (/dev/null, a FIFO) is written as it is.
            Destination::File(path)
                if std::fs::metadata(path).is_ok_and(|m| !m.file_type().is_file()) =>
            {
                let file = File::options()
                    .write(true)
                    .open(path)
                    .with_context(|| format!("cannot write to {}", path.display()))?;
                return Ok((Box::new(file), None));
            }
            Destination::File(path) => {
                let dir = match path.parent() {
                    Some(dir) if !dir.as_os_str().is_empty() => dir,
                    _ => Path::new("."),
                };
                if !dir.is_dir() {
                    bail!(crate::UserError(format!(
                        "cannot write {}: directory {} does not exist",
                        path.display(),
                        dir.display()
                    )));
                }
                stage(dir, Some(path))?
            }
            Destination::Object(_) => stage(&std::env::temp_dir(), None)?,
        };
        let file = staged.reopen().context("reopening the results file")?;
        Ok((Box::new(file), Some(staged)))
    }

    fn start(&self, schema: &SchemaRef) -> Result<Pending> {
        let (sink, staged) = self.sink()?;
        let writer = match self.format {
            Format::Table => Writer::Table(
                Vec::new(),
                sink,
                self.style.clone(),
                self.style.width.is_some(),
            ),
            Format::Csv => Writer::Csv(
                datafusion::arrow::csv::WriterBuilder::new()
                    .with_header(true)
                    .build(sink),
                false,
            ),
            // A key whose value is null is kept, as null: a reader tells it from a column
            // that is not there.
            Format::Json => Writer::Json(
                datafusion::arrow::json::WriterBuilder::new()
                    .with_explicit_nulls(true)
                    .build::<_, datafusion::arrow::json::writer::JsonArray>(sink),
            ),
            Format::Ndjson => Writer::Ndjson(
                datafusion::arrow::json::WriterBuilder::new()
                    .with_explicit_nulls(true)
                    .build::<_, datafusion::arrow::json::writer::LineDelimited>(sink),
            ),
            Format::Parquet => Writer::Parquet(ArrowWriter::try_new(sink, schema.clone(), None)?),
            Format::Xlsx => {
                let book = self
                    .book
                    .clone()
                    .context("an Excel output has its workbook")?;
                let sheet = crate::xlsx::lock(&book).add_sheet(self.sheet.as_deref(), schema)?;
                Writer::Xlsx(book, sheet, sink)
            }
        };
        Ok(Pending { writer, staged })
    }

    /// Writes `bytes`, a whole document (an HTML report), to the destination: a file or
    /// object is replaced only once all of it is written.
    pub async fn write_document(&self, bytes: &[u8]) -> Result<()> {
        let (mut sink, staged) = self.sink()?;
        sink.write_all(bytes)
            .and_then(|()| sink.finish())
            .with_context(|| format!("cannot write {}", self.to))?;
        self.put(staged).await
    }

    /// Completes `pending`: the results written and flushed, then put in place.
    async fn finish(&self, pending: Pending, schema: &SchemaRef) -> Result<()> {
        pending.writer.finish(schema)?;
        self.put(pending.staged).await
    }

    /// Puts the file the results were written to, if any, in place of the destination.
    async fn put(&self, staged: Option<NamedTempFile>) -> Result<()> {
        let Some(staged) = staged else {
            return Ok(());
        };
        match &self.to {
            Destination::File(path) => {
                staged
                    .persist(path)
                    .with_context(|| format!("cannot replace {}", path.display()))?;
            }
            Destination::Object(url) => {
                botlake_lake::upload(staged.path(), url).await?;
            }
            Destination::Stdout | Destination::Directory(_) => {}
        }
        Ok(())
    }

    /// Writes every batch of `stream` (for a table, up to its maximum of rows); returns the
    /// number of rows written.
    pub async fn write_stream(&self, mut stream: SendableRecordBatchStream) -> Result<u64> {
        let schema = stream.schema();
        let mut pending = self.start(&schema)?;
        let limit = match (self.format, self.max_rows) {
            (Format::Table, max) if max > 0 => Some(max as u64),
            _ => None,
        };
        let mut rows = 0;
        while let Some(batch) = stream.next().await {
            let mut batch = batch?;
            if let Some(limit) = limit
                && rows + batch.num_rows() as u64 > limit
            {
                // A table is read by a person and held whole to align its columns: the
                // query stops at the limit instead of computing rows nobody sees.
                batch = batch.slice(0, (limit - rows) as usize);
                rows += batch.num_rows() as u64;
                pending.writer.write(batch)?;
                self.finish(pending, &schema).await?;
                say!(
                    "botlake: more than {limit} rows: the first {limit} are shown \
                     (--max-rows N shows more, 0 all; --format csv and the others write every row)"
                );
                return Ok(rows);
            }
            rows += batch.num_rows() as u64;
            pending.writer.write(batch)?;
        }
        self.finish(pending, &schema).await?;
        Ok(rows)
    }

    /// Writes batches already in memory.
    pub async fn write_batches(&self, schema: &SchemaRef, batches: Vec<RecordBatch>) -> Result<()> {
        let mut pending = self.start(schema)?;
        for batch in batches {
            pending.writer.write(batch)?;
        }
        self.finish(pending, schema).await
    }

    /// The format written.
    pub fn format(&self) -> Format {
        self.format
    }

    /// Rows a table shows at most (0: all).
    pub fn max_rows(&self) -> usize {
        self.max_rows
    }

    /// Where results go.
    pub fn destination(&self) -> &Destination {
        &self.to
    }
}

impl Writer {
    fn write(&mut self, batch: RecordBatch) -> Result<()> {
        match self {
            Writer::Table(batches, ..) => batches.push(batch),
            Writer::Csv(w, written) => {
                w.write(&nested_as_json(&batch)?)?;
                *written = true;
            }
            Writer::Json(w) => w.write(&batch)?,
            Writer::Ndjson(w) => w.write(&batch)?,
            Writer::Parquet(w) => w.write(&batch)?,
            Writer::Xlsx(book, sheet, _) => crate::xlsx::lock(book).write(sheet, &batch)?,
        }
        Ok(())
    }

    fn finish(self, schema: &SchemaRef) -> Result<()> {
        match self {
            Writer::Table(batches, mut sink, style, page) => {
                let table = crate::table::render(schema, &batches, &style)?;
                if page && crate::table::page(&table) {
                    return Ok(());
                }
                write!(sink, "{table}")?;
                sink.finish()?;
            }
            Writer::Csv(mut w, written) => {
                if !written {
                    w.write(&nested_as_json(&RecordBatch::new_empty(schema.clone()))?)?;
                }
                w.into_inner().finish()?;
            }
            Writer::Json(mut w) => {
                w.finish()?;
                // A text file ends its last line.
                let mut sink = w.into_inner();
                sink.write_all(b"\n")?;
                sink.finish()?;
            }
            Writer::Ndjson(mut w) => {
                w.finish()?;
                w.into_inner().finish()?;
            }
            Writer::Parquet(w) => {
                w.into_inner()?.finish()?;
            }
            // The whole workbook, with the sheets of the results before this one.
            Writer::Xlsx(book, _, mut sink) => {
                let bytes = crate::xlsx::lock(&book).save()?;
                sink.write_all(&bytes)?;
                sink.finish()?;
            }
        }
        Ok(())
    }
}

/// `batch` with every nested column (map, list, struct) as its values' JSON text, a cell
/// each: a CSV cell is text, and Arrow's CSV writer refuses nested types ("Map ... not
/// supported in CSV" for `aa_task_logs.variables`).
fn nested_as_json(batch: &RecordBatch) -> Result<RecordBatch> {
    use std::sync::Arc;

    use datafusion::arrow::array::{Array, ArrayRef, StringBuilder};
    use datafusion::arrow::datatypes::{DataType, Field, Schema};
    use datafusion::arrow::json::writer::{EncoderOptions, make_encoder};

    let schema = batch.schema();
    if !schema.fields().iter().any(|f| f.data_type().is_nested()) {
        return Ok(batch.clone());
    }
    let options = EncoderOptions::default().with_explicit_nulls(true);
    let mut fields = Vec::with_capacity(schema.fields().len());
    let mut columns: Vec<ArrayRef> = Vec::with_capacity(fields.capacity());
    for (field, column) in schema.fields().iter().zip(batch.columns()) {
        if !field.data_type().is_nested() {
            fields.push(field.clone());
            columns.push(column.clone());
            continue;
        }
        let mut encoder = make_encoder(field, column.as_ref(), &options)?;
        let mut text = StringBuilder::with_capacity(column.len(), column.len() * 16);
        let mut buf = Vec::new();
        for i in 0..column.len() {
            if column.is_null(i) {
                text.append_null();
                continue;
            }
            buf.clear();
            encoder.encode(i, &mut buf);
            text.append_value(String::from_utf8_lossy(&buf));
        }
        fields.push(Arc::new(Field::new(field.name(), DataType::Utf8, true)));
        columns.push(Arc::new(text.finish()));
    }
    Ok(RecordBatch::try_new(
        Arc::new(Schema::new(fields)),
        columns,
    )?)
}

#[cfg(test)]
mod tests {
    use super::*;

    // Regression: `--format csv` over `aa_task_logs` failed with "Map ... not supported in
    // CSV"; a nested value is its JSON text in the cell.
    #[test]
    fn nested_values_are_written_to_csv_as_json() {
        use std::sync::Arc;

        use datafusion::arrow::array::{Array, Int64Array, MapBuilder, StringBuilder};
        use datafusion::arrow::datatypes::{DataType, Field, Schema};

        let mut map = MapBuilder::new(None, StringBuilder::new(), StringBuilder::new());
        map.keys().append_value("amount");
        map.values().append_value("12.5");
        map.keys().append_value("region");
        map.values().append_null();
        map.append(true).unwrap();
        map.append(false).unwrap();
        let map = map.finish();
        let schema = Arc::new(Schema::new(vec![
            Field::new("id", DataType::Int64, false),
            Field::new("variables", map.data_type().clone(), true),
        ]));
        let batch = RecordBatch::try_new(
            schema,
            vec![Arc::new(Int64Array::from(vec![1, 2])), Arc::new(map)],
        )
        .unwrap();
        let mut out = Vec::new();
        let mut w = datafusion::arrow::csv::WriterBuilder::new()
            .with_header(true)
            .build(&mut out);
        w.write(&nested_as_json(&batch).unwrap()).unwrap();
        drop(w);
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "id,variables\n1,\"{\"\"amount\"\":\"\"12.5\"\",\"\"region\"\":null}\"\n2,\n"
        );
    }

    #[test]
    fn destinations_and_the_formats_their_names_stand_for() {
        let parsed = |s: &str| Output::from_flags(None, Some(s)).unwrap();
        let out = parsed("reports/kpi.PARQUET");
        assert_eq!(out.format, Format::Parquet);
        assert_eq!(out.to, Destination::File("reports/kpi.PARQUET".into()));
        assert_eq!(parsed("k.jsonl").format, Format::Ndjson);
        let gz = parsed("k.csv.gz");
        assert_eq!((gz.format, gz.gzip), (Format::Csv, true));
        assert!(!parsed("k.csv").gzip);
        assert_eq!(parsed("k").format, Format::Table);
        assert_eq!(parsed("out.d/k").format, Format::Table);
        assert_eq!(parsed("k.TXT").format, Format::Table);
        assert_eq!(parsed("-").to, Destination::Stdout);
        assert_eq!(
            parsed("file:///tmp/k.json").to,
            Destination::File("/tmp/k.json".into())
        );
        let s3 = parsed("s3://bucket/daily/kpi.csv");
        assert_eq!(s3.format, Format::Csv);
        assert_eq!(s3.to.to_string(), "s3://bucket/daily/kpi.csv");
        // --format and the name agree, or are refused.
        let out = Output::from_flags(Some(Format::Csv), Some("k.csv.gz")).unwrap();
        assert_eq!(out.format, Format::Csv);
        let e = Output::from_flags(Some(Format::Json), Some("k.csv")).unwrap_err();
        assert!(e.to_string().contains("disagree"), "{e}");
        assert_eq!(parsed("k.xlsx").format, Format::Xlsx);
        // A directory: a file a result, CSV unless --format says otherwise.
        let dir_out = parsed("out/");
        assert_eq!(dir_out.to, Destination::Directory("out/".into()));
        assert_eq!(dir_out.format, Format::Csv);
        let json = Output::from_flags(Some(Format::Json), Some("out/")).unwrap();
        assert_eq!(
            json.for_result(2, Some("daily kpis")).unwrap().to,
            Destination::File("out/daily_kpis.json".into())
        );
        assert_eq!(
            json.for_result(3, None).unwrap().to,
            Destination::File("out/3.json".into())
        );
        let _ = std::fs::remove_dir("out");
        // A link names the file it points to.
        let dir = tempfile::tempdir().unwrap();
        let (file, link) = (dir.path().join("k.csv"), dir.path().join("link.csv"));
        std::fs::write(&file, "").unwrap();
        std::os::unix::fs::symlink(&file, &link).unwrap();
        let to = parsed(link.to_str().unwrap()).to;
        assert_eq!(to, Destination::File(file.canonicalize().unwrap()));
        // An extension of no format is refused rather than written as a table, unless
        // --format says what to write.
        assert!(Output::from_flags(Some(Format::Csv), Some("k.tsv")).is_ok());
        for bad in [
            "s3://bucket/daily/",
            "s3://bucket",
            "s3:///k.csv",
            "k.docx",
            "k.xlsx.gz",
            "k.tsv.gz",
            "k.parquet.gz",
        ] {
            let e = Output::from_flags(None, Some(bad)).unwrap_err();
            assert!(e.downcast_ref::<crate::UserError>().is_some(), "{bad}: {e}");
        }
    }
}
