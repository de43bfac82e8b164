//! `botlake compact`, `botlake vacuum` and `botlake rollup`.

use std::process::ExitCode;

use anyhow::Result;
use botlake_lake::Lake;

use super::{Globals, pick_tables};
use crate::args::{CompactArgs, VacuumArgs};

/// Compacts small files of the chosen tables.
pub async fn compact(g: &Globals, args: CompactArgs) -> Result<ExitCode> {
    let lake = g.lake()?;
    for t in pick_tables(&args.tables)? {
        match lake.compact(t).await? {
            Some((removed, added)) => g.info(format!(
                "{}: {removed} files rewritten into {added}",
                t.name
            )),
            None => g.info(format!("{}: not written yet", t.name)),
        }
    }
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
    for t in tables {
        match lake.vacuum(t, retention, args.dry_run).await? {
            Some(files) => {
                let verb = if args.dry_run {
                    "would delete"
                } else {
                    "deleted"
                };
                g.info(format!("{}: {verb} {} files", t.name, files.len()));
                if g.verbosity >= 1 {
                    for f in files {
                        eprintln!("  {f}");
                    }
                }
            }
            None => g.info(format!("{}: not written yet", t.name)),
        }
    }
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
