//! Command-line arguments: parsing and parse-time validation only; `commands/` turns them
//! into the library crates' configurations.

use std::path::PathBuf;

use chrono::{DateTime, NaiveDate, Utc};
use clap::{Args as ClapArgs, Parser, Subcommand, ValueEnum};

/// botlake: RPA operations analytics on a Delta Lake.
#[derive(Debug, Parser)]
#[command(name = "botlake", version, about, long_about = None)]
pub struct Args {
    /// The lake: a directory, file:// URL or s3://bucket/prefix.
    #[arg(help_heading = "Lake", long, global = true, env = "BOTLAKE_LAKE")]
    pub lake: Option<String>,

    /// Say more (-v: retries and commits; -vv: more).
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,

    /// Print only results and errors.
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    pub quiet: bool,

    /// The query options, accepted before the command too (`botlake --format csv query
    /// kpi_daily`), as botlake 0.1 took them; hidden there (see [`command`]).
    #[command(flatten)]
    pub query: QueryOptions,

    /// Configuration file (Control Rooms, default lake); ./botlake.toml if it exists.
    #[arg(
        help_heading = "Lake",
        long,
        global = true,
        value_name = "FILE",
        env = "BOTLAKE_CONFIG"
    )]
    pub config: Option<PathBuf>,

    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The options of the commands that run queries (`query`, `sql`, `views`, `describe`,
/// `tables`): only their help shows them.
#[derive(Debug, Clone, Default, ClapArgs)]
pub struct QueryOptions {
    /// Output format of query results [default: the extension of -o's file (.csv, .json,
    /// .ndjson or .jsonl, .parquet, .xlsx, .txt), csv into a directory, else table].
    #[arg(help_heading = "Output", long, value_enum)]
    pub format: Option<Format>,

    /// Rows a table shows at most (the query stops there and says so); 0: all. Other
    /// formats write every row. [default: 1000]
    #[arg(help_heading = "Output", long, value_name = "N")]
    pub max_rows: Option<usize>,

    /// Write results to FILE (a path or s3://bucket/key) instead of standard output,
    /// gzip-compressed if it ends in .gz; it is replaced once the results are complete, so
    /// a failed query leaves it as it was. A directory (DIR/) takes each result of a script
    /// as a file of its own: 1.csv, 2.csv, or the name of a `-- name: NAME` comment.
    #[arg(help_heading = "Output", short, long, value_name = "FILE")]
    pub output: Option<String>,

    /// Extra directory of .sql views (file name = view name); repeatable.
    #[arg(
        help_heading = "Queries",
        long = "queries",
        value_name = "DIR",
        env = "BOTLAKE_QUERIES"
    )]
    pub query_dirs: Vec<PathBuf>,

    /// Memory that query operators may hold (e.g. 4G, 512M, bytes without a unit); past
    /// it, sorts, joins and aggregations spill to the temporary directory. Default: no limit.
    #[arg(
        help_heading = "Queries",
        long,
        value_name = "SIZE",
        value_parser = botlake_query::parse_size,
        env = "BOTLAKE_MEMORY_LIMIT"
    )]
    pub memory_limit: Option<usize>,

    /// First day (YYYY-MM-DD, inclusive) of every view that takes a `from` parameter (the
    /// KPI, ranking, daily and UiPath views; see `botlake views`); only the files of the
    /// days needed are read. Default: the first there is.
    #[arg(help_heading = "Queries", long, value_name = "DAY")]
    pub from: Option<NaiveDate>,

    /// Last day (YYYY-MM-DD, inclusive) of every view that takes a `to` parameter.
    /// Default: the last there is.
    #[arg(help_heading = "Queries", long, value_name = "DAY")]
    pub to: Option<NaiveDate>,

    /// Time zone of the views' days (an IANA name such as Europe/Berlin, or +02:00): a run's
    /// day is the local calendar day it started on, and a day is split at local midnight
    /// (23 or 25 hours where the clocks change). Also `tz` in the configuration file, or
    /// `SET TIME ZONE` at the prompt. Default: UTC, the days the lake is partitioned by.
    #[arg(
        help_heading = "Queries",
        long,
        value_name = "ZONE",
        env = "BOTLAKE_TZ"
    )]
    pub tz: Option<String>,

    /// Answer every view from raw rows, never from the rollups (the results are the same),
    /// and leave the rollups alone after ingest and compact.
    #[arg(help_heading = "Queries", long)]
    pub no_rollups: bool,

    /// Scan tables with the Delta Lake library's reader instead of botlake's own scan of the
    /// day files (same rows; for tables another tool wrote with features botlake's scan
    /// leaves to Delta, it is chosen anyway).
    #[arg(help_heading = "Lake", long, env = "BOTLAKE_DELTA_SCAN")]
    pub delta_scan: bool,
}

impl QueryOptions {
    /// These options, each taken from `before` (the same options given before the command)
    /// where not given here.
    pub fn or(self, before: QueryOptions) -> QueryOptions {
        let mut query_dirs = self.query_dirs;
        for dir in before.query_dirs {
            if !query_dirs.contains(&dir) {
                query_dirs.push(dir);
            }
        }
        QueryOptions {
            format: self.format.or(before.format),
            max_rows: self.max_rows.or(before.max_rows),
            output: self.output.or(before.output),
            query_dirs,
            memory_limit: self.memory_limit.or(before.memory_limit),
            from: self.from.or(before.from),
            to: self.to.or(before.to),
            tz: self.tz.or(before.tz),
            no_rollups: self.no_rollups || before.no_rollups,
            delta_scan: self.delta_scan || before.delta_scan,
        }
    }
}

/// The command line's definition: [`Args`] with the query options hidden where they come
/// before the command (they are shown, and documented, on the commands that take them).
pub fn command() -> clap::Command {
    let mut command = <Args as clap::CommandFactory>::command();
    let options = <QueryOptions as clap::Args>::augment_args(clap::Command::new("options"));
    for id in options.get_arguments().map(|a| a.get_id().clone()) {
        command = command.mut_arg(id, |a| a.hide(true));
    }
    // A report is one HTML file: -o names it, and the result formats are not its.
    command.mut_subcommand("report", |report| {
        report
            .mut_arg("format", |a| a.hide(true))
            .mut_arg("max_rows", |a| a.hide(true))
            .mut_arg("output", |a| {
                a.help("The report's file: a path, s3://bucket/key.html, or - for standard output; replaced only once complete")
                    .long_help(None::<&str>)
                    .help_heading("Output")
            })
    })
}

/// The arguments of this process, or an exit with clap's message.
pub fn parse() -> Args {
    let mut command = command();
    let matches = command.get_matches_mut();
    <Args as clap::FromArgMatches>::from_arg_matches(&matches)
        .unwrap_or_else(|e| e.format(&mut command).exit())
}

/// Output formats, as datafusion-cli names them, plus Parquet and Excel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// An aligned text table.
    Table,
    /// Comma-separated values with a header.
    Csv,
    /// One JSON array of objects.
    Json,
    /// One JSON object per line.
    Ndjson,
    /// Apache Parquet (to a file, or to a pipe).
    Parquet,
    /// An Excel workbook, a sheet per result, cells typed (dates as dates).
    Xlsx,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Start a simulated Control Room, ingest it over HTTP into a local lake and show KPIs.
    #[command(after_help = "Examples:\n  botlake demo\n  botlake demo --runs 100000 --seed 7")]
    Demo(DemoArgs),
    /// Pull data from a source into the lake.
    #[command(
        after_help = "Examples:\n  BOTLAKE_AA_PASSWORD=... botlake --lake lake ingest aa-botinsight --url https://cr.example.com --user reader --control-room prod\n  botlake --lake lake ingest uipath export-*.ndjson.gz\n  botlake --lake lake ingest --all"
    )]
    Ingest(Box<IngestArgs>),
    /// Receive events over Splunk's HTTP Event Collector protocol (UiPath's real-time export).
    #[command(
        after_help = "Examples:\n  BOTLAKE_HEC_TOKEN=... botlake --lake lake listen --hec 0.0.0.0:8088\n  BOTLAKE_HEC_TOKEN=... botlake --lake s3://bucket/lake listen --hec 127.0.0.1:8088 -v"
    )]
    Listen(ListenArgs),
    /// Serve the lake to PostgreSQL clients (BI tools, notebooks, psql): every table and
    /// view, read-only.
    #[command(
        after_help = "The password is read from BOTLAKE_PG_PASSWORD (or --password-env NAME).\n\nExamples:\n  BOTLAKE_PG_PASSWORD=secret botlake --lake lake serve --pg 127.0.0.1:5433\n  psql 'postgresql://botlake@127.0.0.1:5433/botlake' -c 'SELECT * FROM kpi_daily'\n  botlake --lake lake serve --pg 0.0.0.0:5433 --tls-cert server.crt --tls-key server.key"
    )]
    Serve(ServeArgs),
    /// Write an HTML report of the lake: charts and tables of the built-in views, one file
    /// that opens with no network.
    #[command(
        after_help = "Examples:\n  botlake --lake lake report -o report.html\n  botlake --lake lake report -o s3://reports/rpa/2026-11.html --from 2026-11-01 --to 2026-11-30\n  botlake --lake lake report -o uipath.html --vendor uipath --control-room AcmeCorp"
    )]
    Report(ReportArgs),
    /// Run a built-in or user view or named query.
    #[command(
        after_help = "Examples:\n  botlake --lake lake query kpi_daily\n  botlake --lake lake query failure_spikes -p min_failed=5 --fail-on-rows\n  botlake --lake lake query kpi_by_bot --from 2026-11-01 --to 2026-11-30 --tz Europe/Berlin -o kpi.xlsx"
    )]
    Query(QueryArgs),
    /// Run SQL: a statement, a file, or an interactive prompt.
    #[command(
        after_help = "Examples:\n  botlake --lake lake sql \"SELECT vendor, count(*) FROM runs GROUP BY vendor\"\n  botlake --lake lake sql -f report.sql -o out/\n  botlake --lake lake sql"
    )]
    Sql(SqlArgs),
    /// List views and named queries.
    #[command(after_help = "Examples:\n  botlake views\n  botlake views --markdown")]
    Views(ViewsArgs),
    /// List the lake's tables.
    #[command(
        after_help = "Examples:\n  botlake --lake lake tables\n  botlake --lake s3://bucket/lake tables --format csv"
    )]
    Tables(TablesArgs),
    /// Show the columns of a table or view.
    #[command(
        after_help = "Examples:\n  botlake --lake lake describe runs\n  botlake describe 'export.parquet' --arrow"
    )]
    Describe(DescribeArgs),
    /// Rewrite small files into larger ones (Delta OPTIMIZE).
    #[command(
        after_help = "Examples:\n  botlake --lake lake compact\n  botlake --lake lake compact aa_bot_runs"
    )]
    Compact(CompactArgs),
    /// Delete files no longer referenced by recent versions (Delta VACUUM).
    #[command(
        after_help = "Examples:\n  botlake --lake lake vacuum --dry-run\n  botlake --lake lake vacuum --retention-hours 24"
    )]
    Vacuum(VacuumArgs),
    /// Bring the rollups (runs per bot and day, per host and day) up to date with the raw
    /// tables; ingest and compact do it after they commit, unless --no-rollups.
    #[command(
        after_help = "Examples:\n  botlake --lake lake rollup\n  botlake --lake lake ingest aa-pages --no-rollups pages.json && botlake --lake lake rollup"
    )]
    Rollup,
    /// The Control Room simulator.
    #[command(subcommand)]
    Sim(SimCommand),
    /// Print a shell's completion script, e.g. `botlake completions bash >
    /// ~/.local/share/bash-completion/completions/botlake`.
    #[command(
        after_help = "Examples:\n  botlake completions bash > ~/.local/share/bash-completion/completions/botlake\n  botlake completions zsh > ~/.zfunc/_botlake"
    )]
    Completions(CompletionsArgs),
    /// Print the manual page (roff), e.g. `botlake man > ~/.local/share/man/man1/botlake.1`.
    #[command(
        after_help = "Examples:\n  botlake man > ~/.local/share/man/man1/botlake.1\n  botlake man | man -l -"
    )]
    Man,
}

/// `botlake completions`.
#[derive(Debug, ClapArgs)]
pub struct CompletionsArgs {
    /// The shell.
    pub shell: clap_complete::Shell,
}

/// `botlake demo`.
#[derive(Debug, ClapArgs)]
pub struct DemoArgs {
    /// Seed of the simulated Control Room.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Runs to simulate over the last 30 days.
    #[arg(long, default_value_t = 20_000)]
    pub runs: usize,
}

/// `botlake ingest`.
#[derive(Debug, ClapArgs)]
#[command(args_conflicts_with_subcommands = true, arg_required_else_help = true)]
pub struct IngestArgs {
    /// Ingest every source of every Control Room in the configuration file, in turn.
    #[arg(long)]
    pub all: bool,
    /// With --all: only these Control Rooms of the file (comma-separated).
    #[arg(long, value_delimiter = ',', requires = "all")]
    pub rooms: Vec<String>,
    /// Leave the rollups as they are after the commits (`botlake rollup` brings them up to
    /// date later; until then the views read raw rows for what changed).
    #[arg(long, global = true)]
    pub no_rollups: bool,
    /// The source.
    #[command(subcommand)]
    pub source: Option<IngestSource>,
}

/// The sources `botlake ingest` knows.
#[derive(Debug, Subcommand)]
pub enum IngestSource {
    /// An Automation Anywhere Control Room of any generation (11.x, 11.3, Automation 360):
    /// runs, executions, audit trail, task data as it offers them.
    #[command(name = "aa-botinsight", visible_alias = "aa")]
    AaBotInsight(BotInsightArgs),
    /// Automation 360 audit log (POST /v1/audit/messages/list).
    #[command(name = "aa-audit")]
    AaAudit(AuditArgs),
    /// UiPath Insights real-time events from NDJSON files (plain or gzip), or - for stdin.
    Uipath(UipathArgs),
    /// Bot Insight pages saved as files (getbotrundata, getaudittraildata, gettasklogdata
    /// answers; one or more pages a file, plain or gzip), or - for stdin.
    #[command(name = "aa-pages")]
    AaPages(PagesArgs),
}

/// `botlake ingest aa-pages`.
#[derive(Debug, ClapArgs)]
pub struct PagesArgs {
    /// Files of pages: JSON objects one after another (a page a line, or pretty-printed),
    /// plain or gzip; - reads standard input.
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<String>,
    /// Name rows carry in control_room.
    #[arg(long, default_value = "default")]
    pub control_room: String,
    /// The task of task log pages (logData), which do not name it.
    #[arg(long)]
    pub task: Option<String>,
    /// Records of one table gathered before a commit; bounds memory.
    #[arg(long, default_value_t = 200_000, value_parser = clap::value_parser!(u32).range(1..))]
    pub commit_rows: u32,
}

/// `botlake ingest uipath`.
#[derive(Debug, ClapArgs)]
pub struct UipathArgs {
    /// NDJSON files, one event a line, plain or gzip; - reads standard input.
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<String>,
    /// Name rows carry in tenant; the event's TenantName if not given.
    #[arg(long)]
    pub tenant: Option<String>,
    /// Events gathered before a commit; bounds memory.
    #[arg(long, default_value_t = 50_000, value_parser = clap::value_parser!(u32).range(1..))]
    pub commit_rows: u32,
    /// Megabytes of event text gathered before a commit, whatever the number of events;
    /// bounds memory when events are large.
    #[arg(long, default_value_t = 64, value_parser = clap::value_parser!(u32).range(1..))]
    pub commit_mb: u32,
}

/// How `startIndex` counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PaginationArg {
    /// A record offset, incremented by 1000 (the OpenAPI spec).
    Offset,
    /// A page number (the Bot Insight 11.3 documentation).
    Page,
}

/// Which Control Room answers: its paths, paging and answer shapes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, serde::Deserialize)]
pub enum GenerationArg {
    /// Whatever the login answer shows: Automation 360 names a tenant there (11.x is
    /// taken otherwise; 11.3 cannot be told from it).
    #[value(name = "auto")]
    #[serde(rename = "auto")]
    Auto,
    /// Enterprise 11.x as the Bot Insight OpenAPI spec has it.
    #[value(name = "11.x")]
    #[serde(rename = "11.x")]
    V11,
    /// Enterprise 11.3 as its documentation has it (page numbers; task logs by from/to).
    #[value(name = "11.3")]
    #[serde(rename = "11.3")]
    V113,
    /// Automation 360: run data (getbotrundata?pageno), executions (v3/activity/list) and
    /// the audit log (v1/audit).
    #[value(name = "a360")]
    #[serde(rename = "a360")]
    A360,
}

/// How requests carry the token.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum AuthArg {
    /// `X-Authorization: <token>`.
    XAuthorization,
    /// `Authorization: Bearer <token>` (the spec's bearerAuth).
    Bearer,
}

/// What a count that does not add up means.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ReconcileArg {
    /// Fail the window; the cursor stays before it.
    Strict,
    /// Page until a short page and warn (for servers whose totals cannot be trusted).
    Lenient,
}

/// What `--only` may pick.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Part {
    /// getbotrundata → aa_bot_runs.
    Runs,
    /// getaudittraildata → aa_audit_events.
    Audit,
    /// gettaskmetadata, gettasklogdata, gettaskvariableprofile → aa_task_*.
    Tasks,
    /// Automation 360: POST v3/activity/list (v2 where v3 answers 404) → aa_executions.
    Executions,
}

/// Connection flags both Automation Anywhere sources share. Each may also come from the
/// Control Room's section of the configuration file; a flag wins over the file.
#[derive(Debug, Clone, ClapArgs)]
pub struct ConnectionArgs {
    /// Name rows carry in control_room, and the [control_room.NAME] section of the
    /// configuration file to read; the URL's host if not given.
    #[arg(long)]
    pub control_room: Option<String>,
    /// Control Room base URL, for example https://cr.example.com.
    // Text, parsed when used: clap repeats a value it could not parse in its error, and a
    // URL may hold a password.
    #[arg(
        long,
        env = "BOTLAKE_AA_URL",
        value_name = "URL",
        hide_env_values = true
    )]
    pub url: Option<String>,
    /// How requests carry the token [default: x-authorization].
    #[arg(long, value_enum)]
    pub auth: Option<AuthArg>,
    /// Environment variable holding the password [default: BOTLAKE_AA_PASSWORD].
    #[arg(long, value_name = "NAME")]
    pub password_env: Option<String>,
    /// Environment variable holding an API key [default: BOTLAKE_AA_API_KEY].
    #[arg(long, value_name = "NAME")]
    pub api_key_env: Option<String>,
    /// Environment variable holding a token from an earlier login [default: BOTLAKE_AA_TOKEN].
    #[arg(long, value_name = "NAME")]
    pub token_env: Option<String>,
    /// Requests in flight at once [default: 4].
    #[arg(long, value_parser = clap::value_parser!(u16).range(1..=64))]
    pub concurrency: Option<u16>,
    /// Rows gathered before a commit; bounds memory [default: 100000].
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..))]
    pub commit_rows: Option<u32>,
    /// Seconds at most between commits while pages arrive: what an ingest cut short loses
    /// at most, since the next one goes on from the last commit [default: 2].
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..=3600))]
    pub commit_secs: Option<u32>,
    /// Attempts per request before giving up [default: 8].
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..=100))]
    pub max_attempts: Option<u32>,
    /// First retry delay in milliseconds; doubles on each retry, with jitter [default: 200].
    #[arg(long)]
    pub retry_base_ms: Option<u64>,
    /// What a record count that does not add up means [default: strict].
    #[arg(long, value_enum)]
    pub reconcile: Option<ReconcileArg>,
}

/// `botlake ingest aa-botinsight`.
#[derive(Debug, ClapArgs)]
pub struct BotInsightArgs {
    #[command(flatten)]
    pub connection: ConnectionArgs,
    /// Control Room user with the Bot Insight Admin or AAE_Admin role.
    #[arg(long, env = "BOTLAKE_AA_USER")]
    pub user: Option<String>,
    /// Which Control Room answers [default: auto, from the login answer]: 11.3 pages by
    /// page number and asks
    /// task logs by from/to; a360 fetches run data (getbotrundata?pageno) and takes the
    /// audit log from v1/audit/messages/list.
    #[arg(long, value_enum)]
    pub generation: Option<GenerationArg>,
    /// Start at the oldest day the Control Room keeps (60 days of run data, 90 of task
    /// logs, by its clock) when --from lies before it, rather than fail.
    #[arg(long, requires = "from")]
    pub clamp: bool,
    /// Which data to ingest (comma-separated) [default: runs,audit,tasks; a360: runs,executions,audit].
    #[arg(long, value_enum, value_delimiter = ',')]
    pub only: Vec<Part>,
    /// Analytics task names (comma-separated) [default: the tasks in the configuration file].
    #[arg(long, value_delimiter = ',')]
    pub tasks: Vec<String>,
    /// First day to fetch (YYYY-MM-DD); default: where the last ingest stopped, or one window ago.
    #[arg(long, value_parser = parse_date)]
    pub from: Option<NaiveDate>,
    /// Last day to fetch (YYYY-MM-DD); default: today (UTC).
    #[arg(long, value_parser = parse_date)]
    pub to: Option<NaiveDate>,
    /// Longest date window of a run, audit or profile request, in days [default: 60].
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..=3650))]
    pub window_days: Option<u32>,
    /// Longest date window of a task log request, in days [default: 90].
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..=3650))]
    pub log_window_days: Option<u32>,
    /// Days before the newest record an ingest saw that the next one reads again, for
    /// records that become visible late or a Control Room whose clock is behind [default: 1].
    #[arg(long, value_parser = clap::value_parser!(u32).range(0..=365))]
    pub overlap_days: Option<u32>,
    /// How the Control Room counts startIndex [default: offset].
    #[arg(long, value_enum)]
    pub pagination: Option<PaginationArg>,
    /// Where the v11 API lives under the URL [default: v2/botinsight/data/api].
    #[arg(long, value_name = "PATH")]
    pub api_path: Option<String>,
}

/// `botlake ingest aa-audit`.
#[derive(Debug, ClapArgs)]
pub struct AuditArgs {
    #[command(flatten)]
    pub connection: ConnectionArgs,
    /// Control Room user to log in as (AAE_Admin, or a role that may view everyone's audit log).
    #[arg(long, env = "BOTLAKE_AA_USER")]
    pub login: Option<String>,
    /// Only events with this status (filter eq), for example Unsuccessful.
    #[arg(long)]
    pub status: Option<String>,
    /// Only events whose activityType contains this (filter substring), for example LOGIN.
    #[arg(long)]
    pub activity: Option<String>,
    /// Only events whose userName contains this (filter substring).
    #[arg(long)]
    pub user: Option<String>,
    /// First event time (RFC 3339 or YYYY-MM-DD); default: the cursor less the overlap, or one window ago.
    #[arg(long, value_parser = parse_time_or_date)]
    pub from: Option<DateTime<Utc>>,
    /// Events before this time (RFC 3339, or YYYY-MM-DD for the end of that day); default: now.
    #[arg(long, value_parser = parse_end_time_or_date)]
    pub to: Option<DateTime<Utc>>,
    /// Longest createdOn window of one filter, in hours [default: 168].
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..=87600))]
    pub window_hours: Option<u32>,
    /// How far before the cursor an incremental ingest starts again, in minutes [default: 15].
    #[arg(long)]
    pub overlap_minutes: Option<u32>,
    /// Records per request (page.length) [default: 1000].
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..=100000))]
    pub page_length: Option<u32>,
    /// Refresh the token when it is this many minutes old (A360 tokens last about 20) [default: 15].
    #[arg(long)]
    pub refresh_minutes: Option<u32>,
}

/// `botlake listen`.
#[derive(Debug, ClapArgs)]
pub struct ListenArgs {
    /// Address of the HEC endpoint (POST /services/collector/event, /raw; GET /health).
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:8088")]
    pub hec: std::net::SocketAddr,
    /// Environment variable holding the token senders present (Authorization: Splunk TOKEN).
    #[arg(long, value_name = "NAME", default_value = "BOTLAKE_HEC_TOKEN")]
    pub token_env: String,
    /// Name rows carry in tenant; the event's TenantName if not given.
    #[arg(long)]
    pub tenant: Option<String>,
    /// Longest an event waits for its commit, in milliseconds.
    #[arg(long, default_value_t = 1000, value_parser = clap::value_parser!(u64).range(1..))]
    pub flush_ms: u64,
    /// Events that make a commit at once.
    #[arg(long, default_value_t = 10_000, value_parser = clap::value_parser!(u64).range(1..))]
    pub flush_events: u64,
    /// Events accepted but not yet committed, at most; beyond, senders get 503 (server busy).
    #[arg(long, default_value_t = 200_000, value_parser = clap::value_parser!(u64).range(1..))]
    pub max_pending: u64,
    /// Megabytes of event text accepted but not yet committed, at most; beyond, 503.
    #[arg(long, default_value_t = 256, value_parser = clap::value_parser!(u64).range(1..))]
    pub max_pending_mb: u64,
    /// Largest request body, in megabytes.
    #[arg(long, default_value_t = 64, value_parser = clap::value_parser!(u64).range(1..=1024))]
    pub max_body_mb: u64,
    /// Compact the tables written after this many commits (each commit adds files); 0: never.
    #[arg(long, default_value_t = 100)]
    pub compact_every: u64,
    /// Connections served at once (fewer if the open-file limit is lower); past them,
    /// senders and health checks get 503.
    #[arg(long, default_value_t = 512, value_parser = clap::value_parser!(u64).range(1..=1_000_000))]
    pub max_connections: u64,
    /// Seconds a sender may take to send a request's headers, and a kept-alive connection
    /// may stay idle, before it is closed.
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub header_timeout_secs: u64,
    /// Seconds a request's body may take to arrive; a slower one gets 408.
    #[arg(long, default_value_t = 60, value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub body_timeout_secs: u64,
    /// Print what was received every this many seconds, when anything was; 0: never.
    #[arg(long, default_value_t = 60)]
    pub status_secs: u64,
}

/// `botlake report`.
#[derive(Debug, ClapArgs)]
pub struct ReportArgs {
    /// The file (-o report.html, or s3://bucket/key.html; - for standard output), the days
    /// (--from/--to: by default the 90 days ending on the last day with runs), queries,
    /// memory, lake. --format and --max-rows do not apply (hidden in its help: [`command`]).
    #[command(flatten)]
    pub options: QueryOptions,
    /// Only this source: an Automation Anywhere Control Room or a UiPath tenant, as the
    /// views' `source` column names it.
    #[arg(long, value_name = "NAME")]
    pub control_room: Option<String>,
    /// Only this vendor's data.
    #[arg(long, value_enum)]
    pub vendor: Option<Vendor>,
    /// Bots in each top and bottom list, hosts and robots in each heat map (busiest first).
    #[arg(long, value_name = "N", default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..=1000))]
    pub top: u64,
    /// The report's title.
    #[arg(long, default_value = "RPA operations report")]
    pub title: String,
}

/// A vendor, as the views' `vendor` column names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Vendor {
    /// Automation Anywhere (Control Rooms v11 and Automation 360).
    #[value(name = "automation_anywhere", alias = "aa")]
    AutomationAnywhere,
    /// UiPath (Orchestrator tenants).
    #[value(name = "uipath")]
    Uipath,
}

impl Vendor {
    /// The `vendor` column's value.
    pub fn column_value(self) -> &'static str {
        match self {
            Vendor::AutomationAnywhere => "automation_anywhere",
            Vendor::Uipath => "uipath",
        }
    }

    /// How a person names it.
    pub fn title(self) -> &'static str {
        match self {
            Vendor::AutomationAnywhere => "Automation Anywhere",
            Vendor::Uipath => "UiPath",
        }
    }
}

/// `botlake serve`.
#[derive(Debug, ClapArgs)]
pub struct ServeArgs {
    /// Queries, days, memory, lake.
    #[command(flatten)]
    pub options: QueryOptions,
    /// Address of the PostgreSQL wire protocol server. An address other hosts reach needs
    /// --tls-cert and --tls-key (or --allow-plaintext).
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:5433")]
    pub pg: std::net::SocketAddr,
    /// The user clients log in as.
    #[arg(long, default_value = "botlake")]
    pub user: String,
    /// The database clients connect to (the only one).
    #[arg(long, default_value = "botlake")]
    pub database: String,
    /// Environment variable holding the password (checked with SCRAM-SHA-256).
    #[arg(long, value_name = "NAME", default_value = "BOTLAKE_PG_PASSWORD")]
    pub password_env: String,
    /// PEM certificate chain for TLS (with --tls-key).
    #[arg(long, value_name = "FILE", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,
    /// PEM private key for TLS (with --tls-cert).
    #[arg(long, value_name = "FILE", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
    /// Serve clients of other hosts without TLS: passwords stay safe (SCRAM), rows do not.
    #[arg(long)]
    pub allow_plaintext: bool,
    /// Connections served at once (fewer if the open-file limit is lower); past them,
    /// clients are told the server is full.
    #[arg(long, default_value_t = 64, value_parser = clap::value_parser!(u64).range(1..=100_000))]
    pub max_connections: u64,
    /// Seconds a statement may run, rows sent included; 0: no limit. Clients may ask for
    /// less with SET statement_timeout.
    #[arg(long, default_value_t = 300)]
    pub statement_timeout_secs: u64,
    /// Seconds a connection may stay idle before it is closed.
    #[arg(long, default_value_t = 900, value_parser = clap::value_parser!(u64).range(1..=604_800))]
    pub idle_timeout_secs: u64,
}

/// `botlake query`.
#[derive(Debug, ClapArgs)]
pub struct QueryArgs {
    /// Output, queries, days, lake.
    #[command(flatten)]
    pub options: QueryOptions,
    /// The view or named query (`botlake views` lists them).
    pub name: String,
    /// A parameter as NAME=VALUE, bound as a typed value; repeatable.
    #[arg(long = "param", short = 'p', value_name = "NAME=VALUE", value_parser = parse_param)]
    pub params: Vec<(String, String)>,
    /// Exit with code 4 when the result has rows (they are written all the same), for
    /// alerts from cron: `botlake query failure_spikes --fail-on-rows`.
    #[arg(long)]
    pub fail_on_rows: bool,
}

/// `botlake sql`.
#[derive(Debug, ClapArgs)]
pub struct SqlArgs {
    /// Output, queries, days, lake.
    #[command(flatten)]
    pub options: QueryOptions,
    /// The SQL to run; without it and without --file, an interactive prompt opens, or,
    /// when standard input is not a terminal, its statements run as a file's would.
    pub statement: Option<String>,
    /// Run the statements of FILE (- for standard input), stopping at the first that fails.
    #[arg(short, long, value_name = "FILE", conflicts_with = "statement")]
    pub file: Option<PathBuf>,
    /// Exit with code 4 when a statement's result has rows (they are written all the same),
    /// for alerts from cron.
    #[arg(long)]
    pub fail_on_rows: bool,
}

/// `botlake views`.
#[derive(Debug, ClapArgs)]
pub struct ViewsArgs {
    /// Output, queries, days, lake.
    #[command(flatten)]
    pub options: QueryOptions,
    /// Write the view catalogue as a Markdown table instead: each view's description,
    /// columns and parameters (the README's catalogue is this).
    #[arg(long)]
    pub markdown: bool,
}

/// `botlake tables`.
#[derive(Debug, ClapArgs)]
pub struct TablesArgs {
    /// Output, queries, days, lake.
    #[command(flatten)]
    pub options: QueryOptions,
}

/// `botlake describe`.
#[derive(Debug, ClapArgs)]
pub struct DescribeArgs {
    /// Output, queries, days, lake.
    #[command(flatten)]
    pub options: QueryOptions,
    /// A table or view.
    pub name: String,
    /// Add each column's Arrow type (the type in the Parquet files and to DataFusion).
    #[arg(long)]
    pub arrow: bool,
}

/// `botlake compact`.
#[derive(Debug, ClapArgs)]
pub struct CompactArgs {
    /// Tables to compact; every table if none.
    pub tables: Vec<String>,
    /// Leave the rollups as they are after the commit (`botlake rollup` brings them up to
    /// date later; until then the views read raw rows for what changed).
    #[arg(long)]
    pub no_rollups: bool,
}

/// `botlake vacuum`.
#[derive(Debug, ClapArgs)]
pub struct VacuumArgs {
    /// Tables to vacuum; every table if none.
    pub tables: Vec<String>,
    /// Keep files that versions of the last HOURS hours still need (time travel).
    #[arg(long, default_value_t = 168)]
    pub retention_hours: u32,
    /// List what would be deleted without deleting it.
    #[arg(long)]
    pub dry_run: bool,
}

/// `botlake sim`.
#[derive(Debug, Subcommand)]
pub enum SimCommand {
    /// Serve a simulated Control Room over HTTP until Ctrl-C.
    #[command(
        after_help = "Examples:\n  botlake sim serve --port 8080\n  botlake sim serve --port 8080 --runs 100000 --days 30"
    )]
    Serve(SimServeArgs),
    /// Write a simulated UiPath tenant's real-time events as NDJSON (gzip if FILE ends in .gz).
    #[command(
        after_help = "Examples:\n  botlake sim uipath --out events.ndjson.gz\n  botlake sim uipath --jobs 3000 --seed 7 > events.ndjson"
    )]
    Uipath(SimUipathArgs),
    /// Write a large simulated lake straight to Parquet (no HTTP): runs, task logs, audit
    /// events and UiPath jobs, for benchmarks.
    #[command(
        after_help = "Examples:\n  botlake --lake /tmp/big sim gen --runs 1000000 && botlake --lake /tmp/big rollup\n  botlake --lake /tmp/big sim gen --runs 100000 --days 730 --end 2026-11-01"
    )]
    Gen(SimGenArgs),
    /// Write the runs `sim gen` would make as Bot Insight getbotrundata pages (JSON files,
    /// one page a line), for `botlake ingest aa-pages` and the ingest benchmark.
    #[command(
        after_help = "Examples:\n  botlake sim pages --runs 10000 --out pages\n  botlake --lake lake ingest aa-pages --control-room gen pages/*.json"
    )]
    Pages(SimPagesArgs),
}

/// The simulated Control Room's runs, for `sim gen` and `sim pages`.
#[derive(Debug, ClapArgs)]
pub struct PlanArgs {
    /// Runs over the whole date range.
    #[arg(long, default_value_t = 1_000_000)]
    pub runs: usize,
    /// Bots (task files).
    #[arg(long, default_value_t = 1_000)]
    pub bots: u16,
    /// Bot Runners, each with its own host.
    #[arg(long, default_value_t = 100)]
    pub runners: u16,
    /// Days the runs span.
    #[arg(long, default_value_t = 730, value_parser = clap::value_parser!(u32).range(1..=3650))]
    pub days: u32,
    /// The day after the last day of runs (YYYY-MM-DD); default: today (UTC). Runs still
    /// going at its midnight are IN_PROGRESS.
    #[arg(long, value_parser = parse_date)]
    pub end: Option<NaiveDate>,
    /// Everything random derives from the seed.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
}

impl PlanArgs {
    /// The simulator's configuration these flags describe.
    pub fn config(&self) -> botlake_sim::SimConfig {
        let end = self.end.unwrap_or_else(|| chrono::Utc::now().date_naive());
        botlake_sim::SimConfig {
            bots: usize::from(self.bots),
            runners: usize::from(self.runners),
            days: self.days,
            ..botlake_sim::SimConfig::new(self.seed, self.runs, end)
        }
    }
}

/// `botlake sim pages`.
#[derive(Debug, ClapArgs)]
pub struct SimPagesArgs {
    #[command(flatten)]
    pub plan: PlanArgs,
    /// Directory the page files go to (runs-000001.json, ...).
    #[arg(long, value_name = "DIR")]
    pub out: std::path::PathBuf,
    /// Pages of 1000 runs per file, one page a line.
    #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(u32).range(1..))]
    pub pages_per_file: u32,
}

/// `botlake sim gen`.
#[derive(Debug, ClapArgs)]
pub struct SimGenArgs {
    #[command(flatten)]
    pub plan: PlanArgs,
    /// Name of the Control Room the rows carry.
    #[arg(long, default_value = "gen")]
    pub control_room: String,
    /// UiPath jobs of the last 30 days (through their real-time events); default: runs / 1000,
    /// at most 5,000.
    #[arg(long)]
    pub uipath_jobs: Option<usize>,
    /// Runs per commit (and per Parquet file of a day at most); bounds memory.
    #[arg(long, default_value_t = 500_000)]
    pub commit_rows: usize,
}

/// `botlake sim uipath`.
#[derive(Debug, ClapArgs)]
pub struct SimUipathArgs {
    /// Where to write the events; - for standard output.
    #[arg(long, value_name = "FILE", default_value = "-")]
    pub out: String,
    /// Everything random derives from the seed.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Jobs over the whole date range.
    #[arg(long, default_value_t = 2_000)]
    pub jobs: usize,
    /// Days the jobs span.
    #[arg(long, default_value_t = 30, value_parser = clap::value_parser!(u32).range(1..=3650))]
    pub days: u32,
    /// The day after the last day of jobs (YYYY-MM-DD); default: today (UTC).
    #[arg(long, value_parser = parse_date)]
    pub end: Option<NaiveDate>,
    /// The tenant's name.
    #[arg(long, default_value = "AcmeCorp")]
    pub tenant: String,
    /// Push the events to this HEC endpoint (e.g. http://127.0.0.1:8088/services/collector/event)
    /// instead of writing them.
    #[arg(long, value_name = "URL", value_parser = parse_url, conflicts_with = "out")]
    pub hec: Option<url::Url>,
    /// Environment variable holding the HEC token.
    #[arg(long, value_name = "NAME", default_value = "BOTLAKE_HEC_TOKEN")]
    pub token_env: String,
    /// Events per HEC request.
    #[arg(long, default_value_t = 500, value_parser = clap::value_parser!(u32).range(1..))]
    pub batch: u32,
}

/// `botlake sim serve`.
#[derive(Debug, ClapArgs)]
pub struct SimServeArgs {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1")]
    pub host: std::net::IpAddr,
    /// Port to listen on; 0 picks a free one (printed at start).
    #[arg(long, default_value_t = 8080)]
    pub port: u16,
    /// Everything random derives from the seed.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Runs over the whole date range.
    #[arg(long, default_value_t = 20_000)]
    pub runs: usize,
    /// Bots.
    #[arg(long, default_value_t = 40, value_parser = clap::value_parser!(u16).range(1..))]
    pub bots: u16,
    /// Bot Runners (users with a device each).
    #[arg(long, default_value_t = 12, value_parser = clap::value_parser!(u16).range(1..))]
    pub runners: u16,
    /// Days the runs span.
    #[arg(long, default_value_t = 30, value_parser = clap::value_parser!(u32).range(1..=3650))]
    pub days: u32,
    /// The day after the last day of runs (YYYY-MM-DD); default: tomorrow (UTC).
    #[arg(long, value_parser = parse_date)]
    pub end: Option<NaiveDate>,
    /// The simulator's clock (RFC 3339): later runs are invisible, unfinished ones in progress.
    /// Default: now, or the end of the range if that is earlier.
    #[arg(long, value_parser = parse_time)]
    pub now: Option<DateTime<Utc>>,
    /// How startIndex counts.
    #[arg(long, value_enum, default_value_t = PaginationArg::Offset)]
    pub pagination: PaginationArg,
    /// Share of requests answered with a fault (429, 500, 503, reset, slow, truncated).
    #[arg(long, default_value_t = 0.0, value_parser = parse_rate)]
    pub fault_rate: f64,
    /// Retry-After seconds sent with a 429.
    #[arg(long, default_value_t = 1)]
    pub retry_after: u64,
    /// Milliseconds a slow body takes.
    #[arg(long, default_value_t = 400)]
    pub slow_ms: u64,
    /// Serve every N-th run, task log and audit event with a malformed time.
    #[arg(long)]
    pub bad_record_every: Option<u64>,
    /// Serve every N-th run's first name in Windows-1252 (bytes that are not UTF-8).
    #[arg(long, value_name = "N")]
    pub cp1252_every: Option<u64>,
    /// Longest date range a run, audit or profile request may ask for, in days.
    #[arg(long, default_value_t = 60)]
    pub max_window_days: i64,
    /// Longest date range a task log request may ask for, in days.
    #[arg(long, default_value_t = 90)]
    pub max_log_window_days: i64,
    /// Seconds a token stays valid (A360 tokens last about 20 minutes); forever if not given.
    #[arg(long)]
    pub token_ttl_secs: Option<u64>,
    /// Refuse a token with 401 once it has served this many data requests: a token that
    /// expires mid-run, whatever the run's speed.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    pub token_uses: Option<u64>,
    /// Take tokens only as Authorization: Bearer (the spec's bearerAuth), not X-Authorization.
    #[arg(long)]
    pub bearer_only: bool,
    /// Which Control Room to play: 11.x (the OpenAPI spec), 11.3 (its documentation: page
    /// numbers, task logs by from/to, profileVariables) or a360 (run data by pageno and the
    /// audit log).
    #[arg(long, value_enum, default_value_t = GenerationArg::V11)]
    pub generation: GenerationArg,
    /// The user that may log in.
    #[arg(long, default_value = "botlake")]
    pub user: String,
    /// Its password.
    #[arg(
        long,
        env = "BOTLAKE_SIM_PASSWORD",
        default_value = "botlake-demo",
        hide_env_values = true
    )]
    pub password: String,
}

fn parse_date(s: &str) -> Result<NaiveDate, String> {
    NaiveDate::parse_from_str(s, "%Y-%m-%d")
        .map_err(|_| format!("{s:?} is not a date; use YYYY-MM-DD"))
}

fn parse_time(s: &str) -> Result<DateTime<Utc>, String> {
    DateTime::parse_from_rfc3339(s)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|_| format!("{s:?} is not an RFC 3339 time, e.g. 2026-11-21T12:00:00Z"))
}

fn parse_time_or_date(s: &str) -> Result<DateTime<Utc>, String> {
    parse_time(s).or_else(|_| {
        parse_date(s)
            .map(|d| d.and_hms_opt(0, 0, 0).expect("midnight").and_utc())
            .map_err(|_| format!("{s:?} is neither an RFC 3339 time nor a YYYY-MM-DD date"))
    })
}

fn parse_end_time_or_date(s: &str) -> Result<DateTime<Utc>, String> {
    match parse_time(s) {
        Ok(t) => Ok(t),
        Err(_) => parse_time_or_date(s).map(|t| t + chrono::Duration::days(1)),
    }
}

/// An http or https URL, without the user name and password it may hold (botlake logs in
/// through the Control Room's API, never with them, and a URL is printed in messages);
/// an error never repeats them either.
pub(crate) fn parse_url(s: &str) -> Result<url::Url, String> {
    let mut url =
        url::Url::parse(s).map_err(|e| format!("{:?} is not a URL: {e}", without_userinfo(s)))?;
    match url.scheme() {
        "http" | "https" => {}
        other => return Err(format!("the URL must be http or https, not {other}")),
    }
    // Neither fails for an http(s) URL.
    let _ = url.set_username("");
    let _ = url.set_password(None);
    Ok(url)
}

/// `s` with what stands between `://` and the last `@` before the path written as `***`.
pub(crate) fn without_userinfo(s: &str) -> String {
    let Some((scheme, rest)) = s.split_once("://") else {
        return s.to_string();
    };
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    match rest[..authority_end].rfind('@') {
        Some(at) => format!("{scheme}://***{}", &rest[at..]),
        None => s.to_string(),
    }
}

fn parse_param(s: &str) -> Result<(String, String), String> {
    let (k, v) = s
        .split_once('=')
        .ok_or_else(|| format!("{s:?} is not NAME=VALUE"))?;
    if k.is_empty() {
        return Err(format!("{s:?} has no parameter name"));
    }
    Ok((k.to_string(), v.to_string()))
}

fn parse_rate(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(r) if (0.0..=1.0).contains(&r) => Ok(r),
        _ => Err(format!("{s:?} is not a rate between 0 and 1")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn args_are_consistent() {
        use clap::CommandFactory;
        Args::command().debug_assert();
    }

    #[test]
    fn value_parsers_reject_bad_input() {
        assert!(parse_date("2026-13-01").is_err());
        assert!(parse_param("min_runs").is_err());
        assert_eq!(parse_param("a=b=c").unwrap(), ("a".into(), "b=c".into()));
        assert!(parse_rate("1.5").is_err());
        assert!(parse_url("ftp://x").is_err());
        // Regression: `--url http://user:PW@host` printed PW.
        let url = parse_url("http://reader:s3cr%40t@cr.example.com:8080/x").unwrap();
        assert_eq!(url.as_str(), "http://cr.example.com:8080/x");
        let e = parse_url("http://reader:s3cret@cr.example.com:port").unwrap_err();
        assert!(
            !e.contains("s3cret") && e.contains("***@cr.example.com"),
            "{e}"
        );
        assert_eq!(without_userinfo("https://h/a@b"), "https://h/a@b");
    }
}
