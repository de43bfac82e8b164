//! Task metadata (`gettaskmetadata`) and variable profiles (`gettaskvariableprofile`):
//! one request per task, and per task and date window, upserted by their keys.

use std::time::Instant;

use botlake_lake::Lake;
use botlake_lake::catalog::{AA_TASK_METADATA, AA_TASK_VARIABLE_PROFILES};
use chrono::{NaiveDate, Utc};

use crate::aa::botinsight::{RunIngestConfig, Summary, path_segment};
use crate::aa::client::Client;
use crate::aa::records::{ProfileBatchBuilder, ProfilePage, TaskMetadata, metadata_batch};
use crate::progress::{Event, Observer};
use crate::quarantine::{Origin, Quarantine};
use crate::{Error, Result};

fn api_path(config: &RunIngestConfig, request: &str) -> String {
    let api = config.api_path.trim_matches('/');
    if api.is_empty() {
        request.to_string()
    } else {
        format!("{api}/{request}")
    }
}

/// Ingests the KPI variables every task in `tasks` declares.
pub async fn ingest_metadata(
    client: &Client,
    lake: &Lake,
    config: &RunIngestConfig,
    tasks: &[String],
    observer: &dyn Observer,
) -> Result<Summary> {
    let started = Instant::now();
    let mut summary = Summary {
        table: AA_TASK_METADATA.name,
        ..Summary::default()
    };
    let now = Utc::now();
    let mut batches = Vec::new();
    for task in tasks {
        let path = api_path(config, &format!("gettaskmetadata/{}", path_segment(task)));
        let (metadata, bytes) = client
            .get_shaped(&path, observer, |b| TaskMetadata::parse(b))
            .await?;
        summary.pages += 1;
        summary.bytes += bytes as u64;
        summary.records += metadata.variables.len() as u64;
        batches.push(
            metadata_batch(&config.control_room, task, &metadata, now)
                .map_err(|source| Error::Arrow { source })?,
        );
    }
    let stats = lake.upsert(&AA_TASK_METADATA, batches, None).await?;
    summary.inserted = stats.inserted;
    summary.updated = stats.updated;
    summary.unchanged = stats.unchanged;
    observer.on(Event::Committed {
        table: AA_TASK_METADATA.name,
        stats,
    });
    summary.elapsed = started.elapsed();
    Ok(summary)
}

/// Ingests each task's variable profile over `from..=to`, in windows of at most
/// `config.window_days` days.
pub async fn ingest_profiles(
    client: &Client,
    lake: &Lake,
    config: &RunIngestConfig,
    tasks: &[String],
    from: NaiveDate,
    to: NaiveDate,
    observer: &dyn Observer,
) -> Result<Summary> {
    crate::at_least_one(&[("the window's days", config.window_days as usize)])?;
    let started = Instant::now();
    let mut summary = Summary {
        table: AA_TASK_VARIABLE_PROFILES.name,
        from: Some(from),
        ..Summary::default()
    };
    let now = Utc::now();
    let mut batches = Vec::new();
    let mut quarantine = Quarantine::new();
    let span = chrono::Duration::days(i64::from(config.window_days) - 1);
    for task in tasks {
        let mut start = from;
        while start <= to {
            let stop = (start + span).min(to);
            let request = format!(
                "gettaskvariableprofile/{}?from={start}&to={stop}",
                path_segment(task)
            );
            let (page, bytes) = client
                .get_shaped(&api_path(config, &request), observer, |b| {
                    ProfilePage::parse(b)
                })
                .await?;
            summary.windows += 1;
            summary.pages += 1;
            summary.bytes += bytes as u64;
            // The range the answer says it covers, where it says one (a Control Room may
            // round or clamp the one asked for); the one asked for where it does not.
            let (first, last) = (page.from.unwrap_or(start), page.to.unwrap_or(stop));
            let mut builder =
                ProfileBatchBuilder::new(&config.control_room, task, first, last, now);
            for (i, raw) in page.profiles.iter().enumerate() {
                summary.records += 1;
                if let Err(reason) = builder.push(raw) {
                    quarantine.reject(
                        AA_TASK_VARIABLE_PROFILES.name,
                        || format!("{request} profile {i}"),
                        reason,
                        raw.get().to_string(),
                    );
                }
            }
            batches.push(builder.finish().map_err(|source| Error::Arrow { source })?);
            start = stop + chrono::Duration::days(1);
        }
    }
    summary.rejected = quarantine.distinct() as u64;
    let origin = Origin {
        source: crate::aa::botinsight::SOURCE,
        control_room: &config.control_room,
    };
    quarantine.commit(lake, origin, now, observer).await?;
    let stats = lake
        .upsert(&AA_TASK_VARIABLE_PROFILES, batches, None)
        .await?;
    summary.inserted = stats.inserted;
    summary.updated = stats.updated;
    summary.unchanged = stats.unchanged;
    observer.on(Event::Committed {
        table: AA_TASK_VARIABLE_PROFILES.name,
        stats,
    });
    summary.elapsed = started.elapsed();
    Ok(summary)
}
