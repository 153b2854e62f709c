//! custodian's entry point: parse the arguments, hand over to the CLI or the TUI, and turn
//! an error into one line on stderr and an exit code.

use std::process::ExitCode;

use clap::{CommandFactory, FromArgMatches};
use custodian::cli::{self, Cli, exit_code};
use custodian::inert;

fn main() -> ExitCode {
    custodian::crash::install_hook();
    // `--help` ends with every key of the editor, from the same table as its `?` help.
    let matches = Cli::command()
        .after_long_help(format!(
            "{}\n\n{}",
            custodian::cli::args::AFTER_HELP,
            custodian::tui::keymap::help_text()
        ))
        .get_matches();
    let cli = Cli::from_arg_matches(&matches).unwrap_or_else(|e| e.exit());
    custodian::log::start();
    tracing::info!(pid = std::process::id(), db = ?cli.db, "start");
    let result = match &cli.command {
        Some(command) => cli::run(&cli, command),
        None => {
            let options = custodian::tui::Options {
                read_only: cli.read_only,
                no_color: cli.no_color,
                mouse: cli.mouse,
            };
            custodian::tui::run(cli.db.as_deref(), options)
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            // Not eprintln!, which panics when stderr has gone away with the terminal.
            use std::io::Write;
            let _ = writeln!(std::io::stderr(), "custodian: {}", inert::line(&format!("{error:#}")));
            ExitCode::from(exit_code(&error))
        }
    }
}
