//! The one integration-test binary: every module drives the real `botlake` binary.

mod aa;
mod cli;
mod common;
mod delta;
mod generate;
mod hostile;
mod ingest;
mod pages;
mod pg;
mod prism;
mod readme;
mod report;
mod rollups;
mod s3;
mod scan;
mod soak;
mod tidy;
mod uipath;
mod views;
