//! A private HOME with XDG data and state directories, and the binary set up to run in it:
//! nothing of the developer's own setup (a `$CUSTODIAN_DB`, a `$SSH_CONNECTION`, their real
//! home) reaches a test, and the history always says the operator is `tester`.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use tempfile::TempDir;

use super::run::Run;

pub struct PrivateHome {
    dir: TempDir,
}

impl PrivateHome {
    /// A new home with `home/`, `data/` and `state/`, plus the `extra` directories asked for.
    pub fn new(extra: &[&str]) -> Self {
        let dir = TempDir::new().expect("temp dir");
        for sub in ["home", "data", "state"].iter().chain(extra) {
            fs::create_dir(dir.path().join(sub)).expect("mkdir");
        }
        Self { dir }
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// `custodian`, to run in this home (no arguments yet; standard input empty).
    pub fn custodian(&self) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_custodian"));
        command
            .env("HOME", self.path("home"))
            .env("XDG_DATA_HOME", self.path("data"))
            .env("XDG_STATE_HOME", self.path("state"))
            .env("USER", "tester")
            .env_remove("LOGNAME")
            .env_remove("SSH_CONNECTION")
            .env_remove("CUSTODIAN_DB")
            .env_remove("CUSTODIAN_READ_ONLY")
            .env_remove("CUSTODIAN_TENANT")
            .env_remove("CUSTODIAN_KEY_FILE")
            .env_remove("PGPASSWORD")
            .env_remove("PGPASSFILE")
            .stdin(Stdio::null());
        command
    }

    /// `custodian --db DB ARGS` run to its end in this home, with `input` on standard input.
    pub fn run_on(&self, db: &Path, args: &[&str], input: Option<&[u8]>) -> Run {
        let mut command = self.custodian();
        command.arg("--db").arg(db).args(args);
        Run::of(command, input)
    }

    /// Writes `text` to the file `name` of this home; its path, as an argument.
    pub fn write(&self, name: &str, text: &str) -> String {
        let path = self.path(name);
        fs::write(&path, text).expect("write file");
        path.to_str().expect("utf-8 temp path").to_owned()
    }
}
