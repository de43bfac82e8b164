//! Writing query results: table, CSV, JSON, NDJSON or Parquet, to standard output or a file.
//! Everything but the table is written batch by batch, so results of any size stream through.

use std::fs::File;
use std::io::{BufWriter, IsTerminal, Write};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use datafusion::arrow::array::RecordBatch;
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::arrow::util::pretty::pretty_format_batches_with_schema;
use datafusion::execution::SendableRecordBatchStream;
use datafusion::parquet::arrow::ArrowWriter;
use futures::StreamExt;

use crate::args::Format;

/// Where and how results go.
#[derive(Debug, Clone)]
pub struct Output {
    format: Format,
    path: Option<PathBuf>,
}

enum Writer {
    Table(Vec<RecordBatch>, Box<dyn Write + Send>),
    Csv(datafusion::arrow::csv::Writer<Box<dyn Write + Send>>),
    Json(datafusion::arrow::json::ArrayWriter<Box<dyn Write + Send>>),
    Ndjson(datafusion::arrow::json::LineDelimitedWriter<Box<dyn Write + Send>>),
    Parquet(ArrowWriter<Box<dyn Write + Send>>),
}

impl Output {
    /// Results in `format`, to `path` or standard output.
    pub fn new(format: Format, path: Option<PathBuf>) -> Output {
        Output { format, path }
    }

    fn sink(&self) -> Result<Box<dyn Write + Send>> {
        Ok(match &self.path {
            Some(path) => Box::new(BufWriter::new(
                File::create(path).with_context(|| format!("cannot create {}", path.display()))?,
            )),
            None => {
                if self.format == Format::Parquet && std::io::stdout().is_terminal() {
                    bail!(crate::UserError(
                        "Parquet is binary: write it to a file with -o FILE or pipe it".into()
                    ));
                }
                Box::new(BufWriter::new(std::io::stdout()))
            }
        })
    }

    fn writer(&self, schema: &SchemaRef) -> Result<Writer> {
        let sink = self.sink()?;
        Ok(match self.format {
            Format::Table => Writer::Table(Vec::new(), sink),
            Format::Csv => Writer::Csv(
                datafusion::arrow::csv::WriterBuilder::new()
                    .with_header(true)
                    .build(sink),
            ),
            Format::Json => Writer::Json(datafusion::arrow::json::ArrayWriter::new(sink)),
            Format::Ndjson => {
                Writer::Ndjson(datafusion::arrow::json::LineDelimitedWriter::new(sink))
            }
            Format::Parquet => Writer::Parquet(ArrowWriter::try_new(sink, schema.clone(), None)?),
        })
    }

    /// Writes every batch of `stream`; returns the number of rows.
    pub async fn write_stream(&self, mut stream: SendableRecordBatchStream) -> Result<u64> {
        let schema = stream.schema();
        let mut writer = self.writer(&schema)?;
        let mut rows = 0;
        while let Some(batch) = stream.next().await {
            let batch = batch?;
            rows += batch.num_rows() as u64;
            writer.write(batch)?;
        }
        writer.finish(&schema)?;
        Ok(rows)
    }

    /// Writes batches already in memory.
    pub fn write_batches(&self, schema: &SchemaRef, batches: Vec<RecordBatch>) -> Result<()> {
        let mut writer = self.writer(schema)?;
        for batch in batches {
            writer.write(batch)?;
        }
        writer.finish(schema)
    }

    /// The output file, if results go to one.
    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }
}

impl Writer {
    fn write(&mut self, batch: RecordBatch) -> Result<()> {
        match self {
            Writer::Table(batches, _) => batches.push(batch),
            Writer::Csv(w) => w.write(&batch)?,
            Writer::Json(w) => w.write(&batch)?,
            Writer::Ndjson(w) => w.write(&batch)?,
            Writer::Parquet(w) => w.write(&batch)?,
        }
        Ok(())
    }

    fn finish(self, schema: &SchemaRef) -> Result<()> {
        match self {
            Writer::Table(batches, mut sink) => {
                let table = pretty_format_batches_with_schema(schema.clone(), &batches)?;
                writeln!(sink, "{table}")?;
                sink.flush()?;
            }
            Writer::Csv(w) => w.into_inner().flush()?,
            Writer::Json(mut w) => {
                w.finish()?;
                w.into_inner().flush()?;
            }
            Writer::Ndjson(mut w) => {
                w.finish()?;
                w.into_inner().flush()?;
            }
            Writer::Parquet(w) => {
                w.into_inner()?.flush()?;
            }
        }
        Ok(())
    }
}
