//! One module per subcommand, each with a `run` function; this module dispatches and holds
//! what they share (the lake, the session, the output, the terminal).

mod catalog;
mod demo;
mod generate;
mod ingest;
mod listen;
mod maintain;
mod query;
mod report;
mod serve;
mod sim;

use std::process::ExitCode;

use anyhow::Result;
use botlake_lake::Lake;
use botlake_query::Session;

use crate::UserError;
use crate::args::{Args, Command, QueryOptions, SimCommand};
use crate::output::Output;

/// What every command may need from the global flags, resolved once.
pub struct Globals {
    /// The lake the flags or the configuration name, as named and parsed (or why it does
    /// not parse); `None` if none is named.
    lake: Option<(String, std::result::Result<Lake, UserError>)>,
    /// Scan with Delta's own table provider.
    delta_scan: bool,
    config: crate::config::ConfigFile,
    config_path: Option<std::path::PathBuf>,
    output: Output,
    query_dirs: Vec<std::path::PathBuf>,
    /// -1 quiet, 0 normal, 1+ verbose.
    verbosity: i8,
    /// How query sessions run.
    session_options: botlake_query::SessionOptions,
}

impl Globals {
    /// The lake the user named, or a user error saying how to name one.
    fn lake(&self) -> Result<Lake> {
        match &self.lake {
            Some((_, lake)) => Ok(lake.clone()?),
            None => Err(UserError(
                "no lake given: pass --lake DIR|s3://bucket/prefix or set BOTLAKE_LAKE".into(),
            )
            .into()),
        }
    }

    /// The lake as the user named it (a password in it left out), for a person to read.
    fn lake_name(&self) -> Option<String> {
        self.lake
            .as_ref()
            .map(|(name, _)| crate::args::without_userinfo(name))
    }

    async fn session(&self, lake: &Lake) -> Result<Session> {
        let session = Session::open_with(lake, &self.query_dirs, &self.session_options).await?;
        self.report_session(&session, None);
        Ok(session)
    }

    /// A session over `lake` for the statements of `sql` alone (see [`Session::open_for`]);
    /// `view`, the view they run if they are `botlake query`'s, goes unreported if broken,
    /// since running it says so.
    async fn session_for(&self, lake: &Lake, sql: &str, view: Option<&str>) -> Result<Session> {
        let session = Session::open_for(lake, &self.query_dirs, &self.session_options, sql).await?;
        self.report_session(&session, view);
        Ok(session)
    }

    /// A session over `lake` for the view or named query `name` alone.
    async fn session_for_view(&self, lake: &Lake, name: &str) -> Result<Session> {
        let session =
            Session::open_for_view(lake, &self.query_dirs, &self.session_options, name).await?;
        self.report_session(&session, Some(name));
        Ok(session)
    }

    /// The users' views left out because they do not plan (but `view`); with -v, where the
    /// views with a rollup take their rows from.
    pub(crate) fn report_session(&self, session: &Session, view: Option<&str>) {
        for broken in session.broken_views() {
            if !matches!(broken, botlake_query::Error::BrokenView { name, .. } if Some(name.as_str()) == view)
            {
                self.info(format!("botlake: warning: {broken}; left out"));
            }
        }
        if self.verbosity >= 1 {
            for (view, split) in session.rollup_splits() {
                let how = if split.worth_it() {
                    "answered from its rollup"
                } else {
                    "answered from raw rows"
                };
                say!(
                    "{view}: {how} ({} parts up to date in the rollup, {} newer)",
                    split.fresh,
                    split.stale
                );
            }
        }
    }

    /// Brings the rollups up to date after a command committed, unless --no-rollups.
    async fn refresh_rollups(&self, lake: &Lake) -> Result<()> {
        if self.session_options.rollups {
            crate::alloc::give_back_free_memory();
            maintain::refresh(self, lake).await?;
        }
        Ok(())
    }

    /// Prints a diagnostic line to standard error unless quiet.
    fn info(&self, line: impl std::fmt::Display) {
        if self.verbosity >= 0 {
            say!("{line}");
        }
    }
}

/// Runs the command `args` names.
pub async fn run(args: Args) -> Result<ExitCode> {
    let (config, config_path) = crate::config::ConfigFile::load(args.config.as_deref())?;
    // The file a report goes to (its -o, or one given before the command): not a result's.
    let report_to = match &args.command {
        Command::Report(a) => Some(a.options.output.clone().or(args.query.output.clone())),
        _ => None,
    };
    // The query options of the command, else as given before it.
    let mut options = match &args.command {
        Command::Query(a) => a.options.clone(),
        Command::Sql(a) => a.options.clone(),
        Command::Views(a) => a.options.clone(),
        Command::Describe(a) => a.options.clone(),
        Command::Tables(a) => a.options.clone(),
        Command::Serve(a) => a.options.clone(),
        Command::Report(a) => a.options.clone(),
        Command::Ingest(a) => QueryOptions {
            no_rollups: a.no_rollups,
            ..QueryOptions::default()
        },
        Command::Compact(a) => QueryOptions {
            no_rollups: a.no_rollups,
            ..QueryOptions::default()
        },
        _ => QueryOptions::default(),
    }
    .or(args.query);
    if report_to.is_some() {
        options.output = None;
    }
    let lake = args.lake.or_else(|| config.lake.clone()).map(|location| {
        let lake = Lake::parse(&location)
            .map(|lake| lake.with_delta_scan(options.delta_scan))
            .map_err(|e| UserError(crate::report(&e.into())));
        (location, lake)
    });
    if let (Some(from), Some(to)) = (options.from, options.to)
        && from > to
    {
        return Err(UserError(format!(
            "--from {from} is after --to {to}: no day is in between"
        ))
        .into());
    }
    let view_params = [("from", options.from), ("to", options.to)]
        .into_iter()
        .filter_map(|(name, day)| Some((name.to_string(), day?.to_string())))
        .collect();
    // Checked where every front end's sessions check it (`botlake_query::context_with`).
    let time_zone = options.tz.clone().or_else(|| config.tz.clone());
    let globals = Globals {
        lake,
        delta_scan: options.delta_scan,
        config,
        config_path,
        output: Output::from_flags(options.format, options.output.as_deref())?
            .with_max_rows(options.max_rows.unwrap_or(1000)),
        query_dirs: options.query_dirs,
        verbosity: if args.quiet {
            -1
        } else {
            args.verbose.min(3) as i8
        },
        session_options: botlake_query::SessionOptions {
            rollups: !options.no_rollups,
            memory_limit: options.memory_limit,
            view_params,
            time_zone,
            ..botlake_query::SessionOptions::default()
        },
    };
    match args.command {
        Command::Demo(a) => demo::run(&globals, a).await,
        Command::Ingest(a) => {
            let code = ingest::run(&globals, *a).await?;
            globals.refresh_rollups(&globals.lake()?).await?;
            Ok(code)
        }
        Command::Listen(a) => listen::run(&globals, a).await,
        Command::Serve(a) => serve::run(&globals, a).await,
        Command::Report(a) => report::run(&globals, a, report_to.flatten()).await,
        Command::Query(a) => query::run_query(&globals, a).await,
        Command::Sql(a) => query::run_sql(&globals, a).await,
        Command::Views(args) => catalog::views(&globals, args).await,
        Command::Tables(_) => catalog::tables(&globals).await,
        Command::Describe(a) => catalog::describe(&globals, a).await,
        Command::Compact(a) => {
            let code = maintain::compact(&globals, a).await?;
            globals.refresh_rollups(&globals.lake()?).await?;
            Ok(code)
        }
        Command::Rollup => {
            maintain::refresh(&globals, &globals.lake()?).await?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Vacuum(a) => maintain::vacuum(&globals, a).await,
        Command::Sim(SimCommand::Serve(a)) => sim::serve(&globals, a).await,
        Command::Sim(SimCommand::Uipath(a)) => sim::uipath(&globals, a).await,
        Command::Sim(SimCommand::Gen(a)) => generate::run(&globals, a).await,
        Command::Sim(SimCommand::Pages(a)) => sim::pages(&globals, a).await,
        Command::Completions(a) => {
            // Written whole, then printed: clap_complete panics on a closed pipe
            // (`botlake completions zsh | head`), which is a reader that has enough.
            let mut command = crate::args::command();
            let mut script = Vec::new();
            clap_complete::generate(a.shell, &mut command, "botlake", &mut script);
            std::io::Write::write_all(&mut std::io::stdout(), &script)?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Man => {
            let command = crate::args::command();
            let mut page = Vec::new();
            clap_mangen::Man::new(command).render(&mut page)?;
            std::io::Write::write_all(&mut std::io::stdout(), &page)?;
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// The catalog tables `names` picks, every table if empty; an unknown name is a user error.
fn pick_tables(names: &[String]) -> Result<Vec<&'static botlake_lake::TableDef>> {
    if names.is_empty() {
        return Ok(botlake_lake::catalog::tables().to_vec());
    }
    names
        .iter()
        .map(|n| {
            botlake_lake::catalog::table(n).ok_or_else(|| {
                let known: Vec<_> = botlake_lake::catalog::tables()
                    .iter()
                    .map(|t| t.name)
                    .collect();
                UserError(format!(
                    "no table named {n:?} (tables: {})",
                    known.join(", ")
                ))
                .into()
            })
        })
        .collect()
}
