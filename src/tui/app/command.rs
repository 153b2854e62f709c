//! The `:` command line: its commands, completion and running them.

use super::*;

use crate::tui::words;

/// One command of the `:` command line.
pub struct CommandSpec {
    pub name: &'static str,
    /// Other spellings that run it (shown in the help; Tab completes them when no name fits).
    pub aliases: &'static [&'static str],
    /// How its arguments are written in the help.
    pub args: &'static str,
    pub description: &'static str,
}

/// The commands of the `:` command line (Tab completes their names; the help lists them).
pub const COMMANDS: &[CommandSpec] = &[
    CommandSpec {
        name: "user",
        aliases: &["u"],
        args: "USER",
        description: "to a user: id, username, email, phone",
    },
    CommandSpec { name: "history", aliases: &[], args: "", description: "the selected user's history" },
    CommandSpec {
        name: "changes",
        aliases: &[],
        args: "",
        description: "every save across users, newest first",
    },
    CommandSpec {
        name: "export",
        aliases: &[],
        args: "FILE",
        description: "every user as JSON Lines into a new file (0600)",
    },
    CommandSpec {
        name: "patch",
        aliases: &[],
        args: "FILE",
        description: "a JSON Patch over the listed users: dry run, Enter applies",
    },
    CommandSpec { name: "messages", aliases: &[], args: "", description: "the last 50 messages, whole" },
    CommandSpec { name: "q", aliases: &["quit"], args: "", description: "quit" },
];

impl CommandSpec {
    /// The command a typed name (or alias) runs.
    pub fn named(typed: &str) -> Option<&'static CommandSpec> {
        COMMANDS.iter().find(|c| c.name == typed || c.aliases.contains(&typed))
    }
}

/// The `:` command line being typed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CommandLine {
    pub input: String,
    /// What Tab found when it could not complete alone (the candidates).
    pub note: Option<String>,
}

impl State {
    /// `:`: the command line opens, empty.
    pub(super) fn start_command(&mut self) -> Vec<Effect> {
        self.command = Some(CommandLine::default());
        Vec::new()
    }

    pub(super) fn command_char(&mut self, c: char) -> Vec<Effect> {
        if let Some(line) = &mut self.command {
            line.input.push(c);
            line.note = None;
        }
        Vec::new()
    }

    pub(super) fn command_backspace(&mut self) -> Vec<Effect> {
        match &mut self.command {
            // Backspace on an empty line leaves it, as in vim.
            Some(line) if line.input.is_empty() => self.command = None,
            Some(line) => {
                line.input.pop();
                line.note = None;
            }
            None => {}
        }
        Vec::new()
    }

    pub(super) fn cancel_command(&mut self) -> Vec<Effect> {
        self.command = None;
        Vec::new()
    }

    /// `:export` is done. The file is said as a shell word, the way `:export` reads it and
    /// `export --out` says it (`to my users.jsonl` read as the file `my`: bb26).
    pub(super) fn exported(&mut self, path: &str, count: u64) -> Vec<Effect> {
        if self.export_under_way.as_ref().is_some_and(|latest| latest.path == path) {
            self.export_under_way = None;
        }
        self.tell(
            StatusKind::Success,
            format!("exported {} to {}", crate::domain::patch::users(count), crate::inert::shell_word(path)),
        )
    }

    pub(super) fn command_complete(&mut self) {
        let Some(line) = &mut self.command else { return };
        if line.input.contains(' ') {
            return;
        }
        let typed = line.input.as_str();
        let mut candidates: Vec<&str> =
            COMMANDS.iter().map(|c| c.name).filter(|name| name.starts_with(typed)).collect();
        if candidates.is_empty() {
            candidates = COMMANDS
                .iter()
                .flat_map(|c| c.aliases.iter().copied())
                .filter(|a| a.starts_with(typed))
                .collect();
        }
        match candidates.as_slice() {
            [] => line.note = Some("no such command".to_owned()),
            [one] => {
                line.input = format!("{one} ");
                line.note = None;
            }
            many => {
                let mut common = many[0].to_owned();
                for name in &many[1..] {
                    while !name.starts_with(common.as_str()) {
                        common.pop();
                    }
                }
                line.input = common;
                line.note = Some(many.join(" · "));
            }
        }
    }

    pub(super) fn run_command(&mut self) -> Vec<Effect> {
        let Some(line) = self.command.take() else { return Vec::new() };
        let input = line.input.trim();
        let (typed, argument) = match input.split_once(char::is_whitespace) {
            Some((name, rest)) => (name, rest.trim()),
            None => (input, ""),
        };
        // Aliases run their command: the table, not this match, knows the spellings.
        let spec = CommandSpec::named(typed);
        let name = spec.map_or(typed, |command| command.name);
        // A command that takes nothing refuses words after it: `:q` followed by what was meant
        // for another command quit at once (bb11).
        if spec.is_some_and(|command| command.args.is_empty()) && !argument.is_empty() {
            return self
                .command_not_run(input, format!(":{name} takes nothing after it (not run): {argument}"));
        }
        match (name, argument) {
            ("", _) => Vec::new(),
            ("user", "") => {
                self.command_not_run(input, ":user needs an id, a username, an email or a phone".to_owned())
            }
            ("user", query) => self.jump_to(query.to_owned()),
            // As `h`, with `h`'s checks: the row put in place of a user the matches lost is no
            // one chosen, and `:history` opened theirs, a restore away (bb44 F1).
            ("history", _) => super::update_state(self, Action::OpenHistory),
            ("patch", "") => {
                self.command_not_run(input, ":patch needs a file: a JSON Patch (RFC 6902)".to_owned())
            }
            ("patch", argument) => self.open_patch(argument),
            ("changes", _) => self.open_changes(),
            ("messages", _) => {
                self.messages_open = true;
                Vec::new()
            }
            ("q", _) => {
                self.quit();
                Vec::new()
            }
            ("export", "") => self.command_not_run(input, ":export needs a file name".to_owned()),
            ("export", argument) => match one_file_name("export", argument, self.home.as_deref()) {
                Ok(file) => {
                    let path = std::path::PathBuf::from(&file);
                    self.export_under_way = Some(ExportUnderWay {
                        path: path.display().to_string(),
                        progress: None,
                        total: None,
                    });
                    self.say(StatusKind::Info, format!("exporting to {}", crate::inert::shell_word(&file)));
                    vec![Effect::Export { path, stop: self.exports_stop.clone() }]
                }
                Err(why) => self.command_not_run(input, why),
            },
            (other, _) => {
                let names: Vec<&str> = COMMANDS.iter().map(|c| c.name).collect();
                self.command_not_run(
                    input,
                    format!("unknown command :{} (commands: {})", other, names.join(", ")),
                )
            }
        }
    }
}

/// The one file name `argument` gives `:command` (words as a shell splits them, `~` for `home`),
/// or what the command line says instead: an empty one quoted (`''`) is no name, said as such —
/// it was told to quote a name it had quoted (bb96 F11).
pub(super) fn one_file_name(command: &str, argument: &str, home: Option<&str>) -> Result<String, String> {
    match words::split(argument, home).as_deref() {
        Ok([file]) if !file.is_empty() => Ok(file.clone()),
        Ok([] | [_]) => Err(format!(":{command} needs a file name (an empty one, '', names none)")),
        Ok(_) => Err(format!(":{command} takes one file name (quote it if it has spaces)")),
        Err(why) => Err(format!(":{command}: {why}")),
    }
}
