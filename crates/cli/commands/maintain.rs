//! `botlake compact`, `botlake vacuum` and `botlake rollup`.

use std::process::ExitCode;

use anyhow::Result;
use botlake_lake::Lake;

use super::{Globals, pick_tables};
use crate::args::{CompactArgs, VacuumArgs};

/// What a maintenance command says of each table. A table not written yet is said only
/// once another table is found written: a location with no lake at all is one error, not
/// a line per table.
struct Lines<'g> {
    g: &'g Globals,
    unwritten: Vec<&'static str>,
    written: bool,
}

impl<'g> Lines<'g> {
    fn new(g: &'g Globals) -> Lines<'g> {
        Lines {
            g,
            unwritten: Vec::new(),
            written: false,
        }
    }

    fn unwritten(&mut self, table: &'static str) {
        if self.written {
            self.g.info(format!("{table}: not written yet"));
        } else {
            self.unwritten.push(table);
        }
    }

    fn written(&mut self, line: String) {
        if !self.written {
            self.written = true;
            for table in std::mem::take(&mut self.unwritten) {
                self.g.info(format!("{table}: not written yet"));
            }
        }
        self.g.info(line);
    }

    /// The lines held back, or the error that there is no lake.
    async fn finish(self, lake: &Lake) -> Result<()> {
        if !self.written && !self.unwritten.is_empty() {
            if !lake.exists().await? {
                return Err(botlake_query::Error::NoLake {
                    url: lake.url().to_string(),
                }
                .into());
            }
            for table in self.unwritten {
                self.g.info(format!("{table}: not written yet"));
            }
        }
        Ok(())
    }
}

/// Compacts small files of the chosen tables.
pub async fn compact(g: &Globals, args: CompactArgs) -> Result<ExitCode> {
    let lake = g.lake()?;
    let mut lines = Lines::new(g);
    for t in pick_tables(&args.tables)? {
        match lake.compact(t).await? {
            Some((removed, added)) => lines.written(format!(
                "{}: {removed} files rewritten into {added}",
                t.name
            )),
            None => lines.unwritten(t.name),
        }
    }
    lines.finish(&lake).await?;
    Ok(ExitCode::SUCCESS)
}

/// Deletes unreferenced files of the chosen tables.
pub async fn vacuum(g: &Globals, args: VacuumArgs) -> Result<ExitCode> {
    let lake = g.lake()?;
    let retention = chrono::Duration::hours(i64::from(args.retention_hours));
    // With no tables named, the rollups too: every refresh leaves the files it replaced.
    let mut tables = pick_tables(&args.tables)?;
    if args.tables.is_empty() {
        tables.extend(botlake_lake::catalog::rollups());
    }
    let mut lines = Lines::new(g);
    for t in tables {
        match lake.vacuum(t, retention, args.dry_run).await? {
            Some(files) => {
                let verb = if args.dry_run {
                    "would delete"
                } else {
                    "deleted"
                };
                lines.written(format!("{}: {verb} {} files", t.name, files.len()));
                if g.verbosity >= 1 {
                    for f in files {
                        say!("  {f}");
                    }
                }
            }
            None => lines.unwritten(t.name),
        }
    }
    lines.finish(&lake).await?;
    Ok(ExitCode::SUCCESS)
}

/// Brings the rollups up to date and says what it did.
pub async fn refresh(g: &Globals, lake: &Lake) -> Result<()> {
    for r in botlake_query::rollup::refresh(lake, &g.session_options).await? {
        if r.recomputed == 0 {
            g.info(format!(
                "rollup of {}: up to date ({} parts)",
                r.view, r.reused
            ));
        } else {
            g.info(format!(
                "rollup of {}: {} parts recomputed from raw rows, {} kept; {} rows, version {} ({:.1} s)",
                r.view,
                r.recomputed,
                r.reused,
                r.rows,
                r.version.unwrap_or_default(),
                r.seconds
            ));
        }
    }
    Ok(())
}
