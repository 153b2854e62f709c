//! custodian's entry point: parse the arguments, hand over to the CLI or the TUI, and turn
//! an error into one line on stderr and an exit code.

use std::process::ExitCode;

use clap::Parser;
use custodian::cli::{self, Cli, exit_code};
use custodian::inert;

fn main() -> ExitCode {
    custodian::crash::install_hook();
    let cli = Cli::parse();
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
            eprintln!("custodian: {}", inert::line(&format!("{error:#}")));
            ExitCode::from(exit_code(&error))
        }
    }
}
