//! Automation Anywhere: the Control Room client, Bot Insight's run, audit and task-log
//! pages (over HTTP or saved as files), task metadata and variable profiles, and the
//! Automation 360 audit trail; each page decoded record by record into its table.

pub mod a360;
pub mod botinsight;
pub mod client;
pub mod executions;
pub mod pages;
pub mod records;
pub mod runs;
pub mod tasks;
