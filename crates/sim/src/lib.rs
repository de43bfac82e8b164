//! botlake's deterministic Control Room simulator.
//!
//! [`Dataset::generate`] makes bots, runners and runs from a seed; [`server::start`] serves
//! them over real HTTP as the Authentication API and Bot Insight's `getbotrundata`, with
//! optional faults (429 with Retry-After, 500/503, connection resets, slow and truncated
//! bodies) and either pagination mode.
//!
//! ```no_run
//! # async fn example() -> std::io::Result<()> {
//! use std::sync::Arc;
//! use botlake_sim::{Dataset, ServerConfig, SimConfig, server};
//!
//! let end = chrono::NaiveDate::from_ymd_opt(2026, 11, 22).unwrap();
//! let data = Arc::new(Dataset::generate(SimConfig::new(42, 10_000, end)));
//! let server = server::start(data, ServerConfig::default(), "127.0.0.1:0".parse().unwrap()).await?;
//! println!("Control Room at {}", server.url());
//! server.stop().await
//! # }
//! ```
#![warn(missing_docs)]

pub mod activity;
pub mod config;
pub mod data;
mod endpoints;
pub mod executions;
pub mod pages;
pub mod rng;
pub mod server;
mod shared;
pub mod uipath;
mod world;

pub use config::{Faults, Generation, Pagination, ServerConfig};
pub use data::{AuditTruth, Dataset, LogTruth, RunPlan, SimConfig, Truth};
pub use server::Server;

/// An RFC 3339 timestamp, as the A360 filter's `createdOn` operands are sent.
pub(crate) fn decode_ts(s: &str) -> Option<chrono::DateTime<chrono::Utc>> {
    chrono::DateTime::parse_from_rfc3339(s)
        .ok()
        .map(|t| t.with_timezone(&chrono::Utc))
}
