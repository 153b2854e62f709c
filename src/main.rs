//! custodian's entry point: parse the arguments, hand over to the CLI or the TUI, and turn
//! an error into one line on stderr and an exit code.

use std::any::TypeId;
use std::process::ExitCode;

use clap::builder::Styles;
use clap::error::ErrorKind;
use clap::{CommandFactory, FromArgMatches};
use custodian::cli::{self, Cli, exit_code};
use custodian::inert;

fn main() -> ExitCode {
    custodian::crash::install_hook();
    custodian::interrupt::ignore_file_size_signal();
    // `--help` ends with every key of the editor, from the same table as its `?` help.
    let parsed = Cli::command()
        .after_long_help(format!(
            "{}\n\n{}",
            custodian::cli::args::AFTER_HELP,
            custodian::tui::keymap::help_text()
        ))
        .try_get_matches()
        .and_then(|matches| Cli::from_arg_matches(&matches));
    let cli = match parsed {
        Ok(cli) => cli,
        // `--help` and `--version` are answers, not mistakes: clap prints them (stdout, 0), and
        // a standard output that does not take them fails as every command's does (exit 1:
        // `custodian --help > doc.txt` on a full disk made an empty file, exit 0; bb18 L07).
        Err(e) if matches!(e.kind(), ErrorKind::DisplayHelp | ErrorKind::DisplayVersion) => {
            use std::io::Write;
            return match e.print().and_then(|()| std::io::stdout().flush()) {
                Ok(()) => ExitCode::SUCCESS,
                Err(error) if error.kind() == std::io::ErrorKind::BrokenPipe => ExitCode::SUCCESS,
                Err(error) => {
                    let _ =
                        writeln!(std::io::stderr(), "custodian: cannot write to standard output: {error}");
                    ExitCode::FAILURE
                }
            };
        }
        Err(e) => {
            let line = variable_problem(&e).unwrap_or_else(|| usage_error_line(&e));
            custodian::stderr_line!("custodian: {}", custodian::hidden_password::masked(&line));
            return ExitCode::from(cli::exit::USAGE);
        }
    };
    // Parsed: the arguments' copy in the process's memory, which `ps` shows others, loses
    // the password of a `--db` URL.
    custodian::hidden_password::hide_in_arguments();
    // A state directory someone else could write is refused before anything is done.
    if let Err(error) = custodian::log::start() {
        custodian::stderr_line!("custodian: {}", inert::line(&error.to_string()));
        return ExitCode::FAILURE;
    }
    // Never the URL as given: it may hold a password.
    let db = custodian::database::for_the_log(cli.db.as_deref());
    tracing::info!(pid = std::process::id(), %db, "start");
    let result = match &cli.command {
        Some(command) => cli::run(&cli, command),
        None if cli.tenant.is_some() && custodian::database::postgres_url(cli.db.as_deref()).is_none() => {
            cli::no_tenant_on_a_file(&cli)
        }
        None => {
            let options = custodian::tui::Options {
                read_only: cli.read_only,
                no_color: cli.no_color,
                mouse: cli.mouse,
                tenant: cli.tenant().to_owned(),
                key_file: cli.key_file.clone(),
                schema_file: cli.schema_file.clone(),
            };
            custodian::tui::run(cli.db.as_deref(), options)
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            if let Some(command) = &cli.command {
                cli::log_refusal(command, &error);
            }
            // Not eprintln!, which panics when stderr has gone away with the terminal.
            use std::io::Write;
            let said = inert::line(&format!("{error:#}")).into_owned();
            let _ = writeln!(std::io::stderr(), "custodian: {}", custodian::hidden_password::masked(&said));
            ExitCode::from(exit_code(&error))
        }
    }
}

/// An error clap blames on a flag whose variable is set but empty (`export CUSTODIAN_DB=`, a
/// common way to "unset" it), often a flag the operator never typed: said as that (bb14 L13).
/// So is a value a switch's variable does not take (`CUSTODIAN_READ_ONLY=2`, blamed on
/// `--read-only`, which takes no value: bb15 L07). The variable is the one the flag's `env`
/// names in [`Cli`].
fn variable_problem(error: &clap::Error) -> Option<String> {
    use clap::error::{ContextKind, ContextValue};
    let Some(ContextValue::String(arg)) = error.get(ContextKind::InvalidArg) else { return None };
    let flag = arg.split_whitespace().next()?;
    let command = Cli::command();
    let known = command
        .get_arguments()
        .find(|known| known.get_long().is_some_and(|long| flag.strip_prefix("--") == Some(long)))?;
    let variable = known.get_env()?.to_str()?.to_owned();
    let switch = !known.get_action().takes_values();
    // (clap reads the variable for the subcommand even when the flag was typed before it.)
    let value = std::env::var_os(&variable)?;
    let value = value.to_str()?;
    let yes_or_no = "set it to 1 or 0 (true/false, yes/no, on/off also do)";
    if value.trim().is_empty() {
        let fix = if switch { yes_or_no.to_owned() } else { format!("give {flag} a value") };
        return Some(format!(
            "${variable} is set but empty: {fix}, or unset the variable (`unset {variable}`)"
        ));
    }
    // A switch typed on the command line has no value to be wrong: the variable's was.
    (switch && matches!(error.kind(), ErrorKind::InvalidValue | ErrorKind::ValueValidation)).then(|| {
        format!(
            "${variable} is \"{}\", which is not yes or no: {yes_or_no}, or unset the variable (`unset {variable}`)",
            inert::line(value)
        )
    })
}

/// A usage mistake as one inert line: clap's message spreads over several lines and repeats
/// argument and environment values raw (an escape sequence in them would reach the
/// terminal). Its first part is kept, made inert, with where to find help.
fn usage_error_line(error: &clap::Error) -> String {
    // The same mistake, rendered without styles: what is left of escape sequences is the
    // operator's own text, which `inert` then shows visibly.
    let plain = Cli::command()
        .styles(Styles::plain())
        .try_get_matches()
        .and_then(|matches| Cli::from_arg_matches(&matches))
        .err()
        .filter(|again| again.kind() == error.kind());
    let text = plain.as_ref().unwrap_or(error).render().ansi().to_string();
    let text = text.trim_end();
    let body_end = ["\n\nUsage: ", "\n\nFor more information"]
        .iter()
        .filter_map(|trailer| text.rfind(trailer))
        .min()
        .unwrap_or(text.len());
    let (body, trailer) = text.split_at(body_end);
    let mut body = body.strip_prefix("error: ").unwrap_or(body).replace("\n\n  tip: ", "; tip: ");
    body = body.replace("\n  [possible values: ", " [possible values: ");
    if error.kind() == ErrorKind::MissingRequiredArgument {
        // A list of argument names, one per indented line: custodian's words, not the
        // operator's, so the line breaks can go.
        body = body.replace(":\n  ", ": ").replace("\n  ", ", ");
    }
    // `Usage: custodian set [OPTIONS] <USER> [FILE]` names the subcommand that has the help.
    let command: Vec<&str> = trailer
        .split("Usage: ")
        .nth(1)
        .map(|usage| {
            usage
                .split_whitespace()
                .take_while(|word| !word.starts_with(['[', '<', '-']) && *word != "For")
                .collect()
        })
        .unwrap_or_default();
    let command = if command.len() > 1 {
        command.join(" ")
    } else {
        // No usage line: the first argument that names a subcommand, if any.
        let subcommands: Vec<String> =
            Cli::command().get_subcommands().map(|c| c.get_name().to_owned()).collect();
        std::env::args_os()
            .skip(1)
            .find_map(|arg| subcommands.iter().find(|name| arg.to_str() == Some(name.as_str())).cloned())
            .map_or_else(|| "custodian".to_owned(), |name| format!("custodian {name}"))
    };
    if let Some(said) = negative_count(error) {
        return format!("{}; see `{command} --help`", inert::line(&said));
    }
    format!("{}; see `{command} --help`", inert::line(&format!("{}{}", body.trim(), hyphen_value_tip(error))))
}

/// A number below 0 given to a flag that counts (`--revision -1`, `--limit=-1`): clap said
/// "unexpected argument" with two tips that contradict each other, or "invalid digit found in
/// string", each pointing at a way that is refused too (bb51 F8).
fn negative_count(error: &clap::Error) -> Option<String> {
    if !matches!(error.kind(), ErrorKind::UnknownArgument | ErrorKind::ValueValidation) {
        return None;
    }
    let counting = [TypeId::of::<u64>(), TypeId::of::<usize>(), TypeId::of::<u32>()];
    let args = arguments();
    let given = args.iter().enumerate().find_map(|(at, arg)| {
        // `--limit=-5`, `--limit -5`, and the short forms `-l -5`, `-l-5`, `-l=-5`.
        let (flag, value) = match arg.split_once('=') {
            Some((flag, value)) if flag.starts_with("--") || (flag.len() == 2 && flag.starts_with('-')) => {
                (flag, value)
            }
            _ if arg.len() > 2
                && !arg.starts_with("--")
                && arg.starts_with('-')
                && arg[2..].starts_with('-') =>
            {
                (&arg[..2], &arg[2..])
            }
            _ => (arg.as_str(), args.get(at + 1)?.as_str()),
        };
        let signed =
            value.len() > 1 && value.starts_with('-') && value[1..].bytes().all(|b| b.is_ascii_digit());
        let counts = || {
            flag_of_the_command(&args, flag, |arg| {
                counting.iter().any(|id| arg.get_value_parser().type_id() == *id)
            })
        };
        (signed && counts()).then(|| (flag.to_owned(), value.to_owned()))
    });
    // `-0` is 0, no number below it: only its sign is wrong (bb54 F7).
    let why = |value: &str| match value.trim_start_matches(['-', '0']).is_empty() {
        true => "written without a minus sign",
        false => "none below",
    };
    if let Some((flag, value)) = given {
        return Some(format!("{flag} {value}: {flag} takes a whole number of 0 or more, {}", why(&value)));
    }
    // A positional that counts (`restore USER -1`): clap's tip, then "invalid digit" after
    // `-- -1` (bb54 F7).
    let cli = Cli::command();
    let used = args.iter().find_map(|arg| cli.get_subcommands().find(|sub| sub.get_name() == arg))?;
    let positional = used
        .get_positionals()
        .find(|arg| counting.iter().any(|id| arg.get_value_parser().type_id() == *id))?;
    // Not a flag's value (`--limit -1` on a command without `--limit` is clap's to answer).
    // `-0` too: it got clap's tip, whose `-- -0` then failed as "invalid digit" (bb95 F6).
    let value = args.iter().enumerate().find_map(|(at, arg)| {
        let after_a_flag = at > 0 && args[at - 1].starts_with('-') && args[at - 1] != "--";
        let signed = arg.len() > 1 && arg.starts_with('-') && arg[1..].bytes().all(|b| b.is_ascii_digit());
        (signed && !after_a_flag).then_some(arg)
    })?;
    let name = positional
        .get_value_names()
        .and_then(|names| names.first())
        .map_or_else(|| positional.get_id().as_str().to_uppercase(), |name| name.as_str().to_owned());
    Some(format!("{name} {value}: {name} is a whole number of 0 or more, {}", why(value)))
}

/// A value that starts with `-` after a flag that takes one (`--search -01-0`, part of a date
/// or a phone) reads as flags: clap named `-0`, never typed, and gave no tip (bb42 F9).
fn hyphen_value_tip(error: &clap::Error) -> String {
    if error.kind() != ErrorKind::UnknownArgument {
        return String::new();
    }
    let args = arguments();
    args.windows(2)
        .find(|pair| {
            pair[1].starts_with('-')
                && pair[1].len() > 1
                && flag_of_the_command(&args, &pair[0], |arg| arg.get_action().takes_values())
        })
        .map(|pair| match pair[0].as_str() {
            // A time ago has no sign: `--since=-1h` was refused next as "not a time" (bb61 F4).
            "--since" | "--until" => {
                format!("; tip: a time ago is given without a sign: `{} {}`", pair[0], &pair[1][1..])
            }
            _ => format!("; tip: a value that starts with `-` is given as `{}={}`", pair[0], pair[1]),
        })
        .unwrap_or_default()
}

/// The arguments as given, each read lossily: `std::env::args` panics on one that is not
/// UTF-8 (a `--db` path), and a usage error became exit 101 (review).
fn arguments() -> Vec<String> {
    std::env::args_os().skip(1).map(|arg| arg.to_string_lossy().into_owned()).collect()
}

/// Whether `flag` (`--limit`) is one of the subcommand used (the first argument naming one),
/// or a global one, and `is` holds of it: `list --revision -1` was told what `--revision`
/// takes, though `list` has none (bb54 F7).
fn flag_of_the_command(args: &[String], flag: &str, is: impl Fn(&clap::Arg) -> bool) -> bool {
    let cli = Cli::command();
    let used = args.iter().find_map(|arg| cli.get_subcommands().find(|sub| sub.get_name() == arg));
    let named = |arg: &clap::Arg| match flag.strip_prefix("--") {
        Some(long) => arg.get_long() == Some(long),
        None => flag
            .strip_prefix('-')
            .is_some_and(|short| arg.get_short().is_some_and(|s| short == s.to_string())),
    };
    used.into_iter()
        .chain(std::iter::once(&cli))
        .any(|command| command.get_arguments().any(|arg| named(arg) && is(arg)))
}
