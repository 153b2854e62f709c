//! The command line, as clap reads it.

use std::path::PathBuf;

use clap::{Parser, Subcommand, builder::BoolishValueParser};

/// The keys of the TUI, shown by `--help` (the TUI's own `?` help reads the same table).
pub const AFTER_HELP: &str = "\
Run without a command to open the editor (TUI). Press ? in it for every key.

Database: --db PATH, else $CUSTODIAN_DB, else $XDG_DATA_HOME/custodian/users.redb (created
and filled with demo users on first use).

Logto's PostgreSQL: --db postgres://ROLE@HOST/DB [--tenant ID]. There the editor and list,
get, set, history, restore, patch, undo, changes, export and info work on the tenant's users;
init creates or upgrades custodian's own schema (once, by a role allowed to); import and seed
refuse (Logto creates its users). customData keeps PostgreSQL's key order there (a reordering alone is no change),
and above 10,000 users the count is PostgreSQL's estimate, shown as ~N.

Sealed values (JWE, dir + A256GCM): keygen --out FILE makes a key; --key-file FILE (or
$CUSTODIAN_KEY_FILE) names it for set --seal PATH..., get --unseal and the editor's Ctrl-L
(seal) and Ctrl-O (show the plaintext).

Exit codes: 0 ok, 1 other error, 2 usage (or a USER that names more than one user: say which
with id:, username:, email: or phone:), 3 user not found, 4 invalid input (or customData
that looks like it holds secrets), 5 conflict (revision mismatch, uniqueness; `undo` that left users saved since alone).
customData that breaks the deployment's JSON Schema (`custodian schema`) is invalid input (4).";

impl Cli {
    /// The PostgreSQL tenant: the one given, else `default`.
    pub fn tenant(&self) -> &str {
        self.tenant.as_deref().unwrap_or("default")
    }
}

#[derive(Debug, Parser)]
#[command(
    name = "custodian",
    version,
    about = "Browse users and edit their customData: a terminal editor and a scripting CLI",
    after_help = AFTER_HELP
)]
pub struct Cli {
    /// The database file (must exist, except for `init`), or Logto's PostgreSQL database as a
    /// postgres:// or postgresql:// URL (sslmode, sslrootcert, connect_timeout,
    /// application_name; the password also from $PGPASSWORD or ~/.pgpass).
    #[arg(long, global = true, env = "CUSTODIAN_DB", value_name = "PATH|URL")]
    pub db: Option<PathBuf>,

    /// On PostgreSQL: the Logto tenant whose users are shown and edited (its id in `tenants`;
    /// `default` when not given). For `import`: only that tenant's rows are imported (without
    /// it the tenant is dropped from every record).
    #[arg(long, global = true, env = "CUSTODIAN_TENANT", value_name = "ID", value_parser = clap::builder::NonEmptyStringValueParser::new())]
    pub tenant: Option<String>,

    /// Open the database read-only: every write is refused (also CUSTODIAN_READ_ONLY=1).
    #[arg(long, global = true, env = "CUSTODIAN_READ_ONLY", value_parser = BoolishValueParser::new(), default_value_t = false)]
    pub read_only: bool,

    /// No colour in the editor: emphasis by bold and reverse video only (also NO_COLOR=anything).
    #[arg(long, global = true)]
    pub no_color: bool,

    /// Capture the mouse in the editor's screen: click selects a user, the wheel scrolls.
    #[arg(long, global = true)]
    pub mouse: bool,

    /// No progress on stderr for whole-database commands (it is shown only when stderr is a
    /// terminal anyway).
    #[arg(long, short, global = true)]
    pub quiet: bool,

    /// The key that seals and opens values (a JWK or a JWK Set, mode 0600; see `keygen`):
    /// used by `set --seal`, `get --unseal` and the editor's seal keys.
    #[arg(long, global = true, env = "CUSTODIAN_KEY_FILE", value_name = "FILE")]
    pub key_file: Option<PathBuf>,
    /// Hold customData to this JSON Schema file for this run instead of the one stored in the
    /// database (`custodian schema set`): every write, and `schema check`.
    #[arg(long = "schema", global = true, value_name = "FILE")]
    pub schema_file: Option<PathBuf>,

    #[command(subcommand)]
    pub command: Option<Command>,
}

/// What `custodian schema` does.
#[derive(Debug, Subcommand)]
pub enum SchemaAction {
    /// Store a JSON Schema (Draft 2020-12; 2019-09 or 7 when its `$schema` says so) that every
    /// customData write is then held to; the one it replaces stays in the history.
    Set {
        /// The schema; `-` or nothing for standard input.
        file: Option<PathBuf>,
    },
    /// Print the stored schema.
    Get {
        /// An earlier revision instead of the current one.
        #[arg(long)]
        revision: Option<u64>,
    },
    /// List every revision of the schema, the current one included.
    History,
    /// Remove the schema (the removal is a revision of its own; the history keeps the rest).
    Clear,
    /// Check every user's customData against the schema: one line per user that breaks it
    /// (id, handle, first error, number of errors); exit 4 when any does.
    Check {
        /// JSON Lines instead of tab-separated lines.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Create an empty database (mode 0600) at --db PATH; on PostgreSQL, custodian's own schema.
    Init,
    /// Import users: a JSON array of Logto user objects or JSON Lines. All or nothing. Database
    /// files only (refused on PostgreSQL).
    Import {
        /// The file to read; `-` or nothing for standard input.
        file: Option<PathBuf>,
        /// Replace users whose id already exists (their customData change is kept in history).
        /// A record whose updatedAt is before the stored user's (saved since the record was
        /// taken) is refused, nothing imported, unless --overwrite-newer.
        #[arg(long)]
        upsert: bool,
        /// With --upsert: also replace users saved after their record's updatedAt (a backup
        /// restored on purpose).
        #[arg(long, requires = "upsert")]
        overwrite_newer: bool,
    },
    /// Export every user as JSON Lines, in list order.
    Export {
        /// Write to this file (created 0600) instead of standard output.
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
    },
    /// List users in list order: by username (else email, phone, id), ignoring case.
    List {
        /// Only the users the editor's filter finds with this text: in the id, username, email,
        /// phone or name, or in a key or value anywhere in customData (any case, Unicode-folded).
        #[arg(long, short)]
        search: Option<String>,
        /// At most this many users (100 unless given); 0 for all. On a terminal, stderr says
        /// how many more there are.
        #[arg(long, short, default_value_t = 100)]
        limit: usize,
        /// JSON Lines of Logto user objects instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Print a user's customData.
    Get {
        /// An id, a username, a primary email or a primary phone; `id:…`, `username:…`,
        /// `email:…`, `phone:…` say which.
        user: String,
        /// An earlier revision instead of the current one.
        #[arg(long)]
        revision: Option<u64>,
        /// Print the document with its sealed values opened (needs --key-file). Values sealed
        /// with a kid the key file does not have stay sealed, named on stderr.
        #[arg(long)]
        unseal: bool,
    },
    /// Replace a user's customData (a full replacement: keys left out are removed).
    Set {
        /// An id, a username, a primary email or a primary phone; `id:…`, `username:…`,
        /// `email:…`, `phone:…` say which.
        user: String,
        /// The new customData; `-` or nothing for standard input.
        file: Option<PathBuf>,
        /// Refuse (exit 5) unless the user is at this revision.
        #[arg(long, value_name = "N")]
        expect_revision: Option<u64>,
        /// With --expect-revision: refuse (exit 5) unless the stored customData is also the
        /// document of this digest (`sha256:` and at least 16 hex digits of its canonical text,
        /// as a kept edit names it): on Logto's database a write by Logto or SQL to a user
        /// custodian never saved leaves the revision as it was.
        #[arg(long, value_name = "DIGEST", requires = "expect_revision")]
        expect_digest: Option<String>,
        /// Store customData that looks like it holds secrets (passwords, tokens, keys) with a
        /// warning, instead of refusing (exit 4): customData reaches front ends.
        #[arg(long)]
        allow_sensitive: bool,
        /// Seal (encrypt, as a JWE with the first key of --key-file) the values at these paths
        /// before saving: paths as the secrets lint writes them (`billing.taxId`,
        /// `apps[2].token`). Give it after FILE, or repeat it.
        #[arg(long, value_name = "PATH", num_args = 1..)]
        seal: Vec<String>,
    },
    /// List every revision of a user's customData, the current one included.
    History {
        /// An id, a username, a primary email or a primary phone; `id:…`, `username:…`,
        /// `email:…`, `phone:…` say which.
        user: String,
    },
    /// The journal: every save of any user's customData, newest first (when, who, which
    /// user, revision, size, keys added/removed/changed, batch). On PostgreSQL, the saves
    /// custodian made (not Logto's own writes).
    Changes {
        /// Saves at or after TIME: 30m, 1h, 2d, 1w (ago), an RFC 3339 time, a time as
        /// custodian shows one (2026-12-01 09:30:00 UTC), or a date (2026-12-01, midnight UTC).
        #[arg(long, value_name = "TIME")]
        since: Option<String>,
        /// Saves before TIME (the same forms as --since).
        #[arg(long, value_name = "TIME")]
        until: Option<String>,
        /// Only this user's saves: an id, a username, a primary email or a primary phone.
        #[arg(long, value_name = "USER")]
        user: Option<String>,
        /// Only saves whose author (OS account, SSH client) contains this.
        // Not empty: `--by "$WHO"` with WHO unset listed every save (bb49); nor only white
        // space: `--by "$FIRST $LAST"` with both unset listed only authors with a space (bb81 F5).
        #[arg(long, value_name = "WHO", value_parser = not_blank)]
        by: Option<String>,
        /// Only the saves of this batch (a bulk patch, an undo, or a load: `seed` or an
        /// import into an empty database), as `changes` shows its id.
        #[arg(long, value_name = "ID")]
        batch: Option<String>,
        /// JSON Lines of the entries instead of a table.
        #[arg(long)]
        json: bool,
        /// At most this many entries (100 unless given); 0 for all.
        #[arg(long, short, default_value_t = 100)]
        limit: usize,
    },
    /// Save an earlier revision's customData as a new revision.
    Restore {
        /// An id, a username, a primary email or a primary phone; `id:…`, `username:…`,
        /// `email:…`, `phone:…` say which.
        user: String,
        /// The revision to bring back.
        revision: u64,
        /// Refuse (exit 5) unless the user is at this revision.
        #[arg(long, value_name = "N")]
        expect_revision: Option<u64>,
        /// Store customData that looks like it holds secrets (passwords, tokens, keys) with a
        /// warning, instead of refusing (exit 4): customData reaches front ends.
        #[arg(long)]
        allow_sensitive: bool,
    },
    /// Print a shell completion script (bash, zsh, fish, elvish, powershell) to standard output.
    Completions {
        /// The shell to complete for.
        shell: clap_complete::Shell,
    },
    /// Print where things are: the database, its schema version and user count (an estimate,
    /// said so, above 10,000 on PostgreSQL), the drafts directory and the log.
    Info,
    /// Make a new key for sealed values: a 256-bit JWK (`kty` oct, `alg` dir) from the
    /// operating system's generator, written with mode 0600; an existing file is never
    /// overwritten. Its kid is the month and 12 random hex digits (`2026-12-3f9a1c0e57d2`).
    Keygen {
        /// The file to create.
        #[arg(long, value_name = "FILE")]
        out: PathBuf,
    },
    /// The deployment's JSON Schema for customData: set, get, history, clear, check.
    Schema {
        #[command(subcommand)]
        action: SchemaAction,
    },
    /// Apply an RFC 6902 JSON Patch to the customData of many users at once, as one batch that
    /// `undo` takes back. Without --yes it only shows what it would do (a dry run).
    #[command(group = clap::ArgGroup::new("selection").required(true).args(["search", "users", "all"]))]
    Patch {
        /// The patch: a JSON array of operations (add, remove, replace, move, copy, test).
        patch: PathBuf,
        /// The users the list filter matches with this text (as `list --search`): in the id,
        /// username, email, phone or name, or in a key or value anywhere in customData.
        #[arg(long, short)]
        search: Option<String>,
        /// The users named in this file, one per line (ids, usernames, emails, phones, as
        /// `get` takes them).
        #[arg(long, value_name = "FILE")]
        users: Option<PathBuf>,
        /// Every user.
        #[arg(long)]
        all: bool,
        /// Show what would change and write nothing (also the default without --yes).
        #[arg(long)]
        dry_run: bool,
        /// Write the changes, in one transaction, as one batch.
        #[arg(long)]
        yes: bool,
        /// Write nothing if any user cannot be patched (instead of leaving those as they are).
        #[arg(long)]
        strict: bool,
        /// Store results that look like they hold secrets (with a warning) instead of leaving
        /// those users as they are.
        #[arg(long)]
        allow_sensitive: bool,
    },
    /// Take back a batch (`patch --yes`, or an earlier `undo`): every user it saved goes back to
    /// the revision before it, as a new batch; users saved again since (unless an undo of a
    /// later batch put them back to what this one wrote) are left alone and listed, with what
    /// to undo first (exit 5 after restoring the rest).
    Undo {
        /// The batch id `patch --yes` printed (also shown by `changes` and `history`).
        batch: String,
    },
    /// Give the room a large write left unused back to the file system (database files only;
    /// it needs the file to itself: 5–10 s a GB).
    Compact,
    /// Add deterministic synthetic users (for demos and load tests), held to the JSON Schema
    /// like every write: refused, nothing written, when one breaks it. Database files only.
    Seed {
        /// How many users to add.
        #[arg(long)]
        users: u64,
        /// The random seed: the same seed gives the same users.
        #[arg(long, default_value_t = 1)]
        seed: u64,
    },
}

impl Command {
    /// The subcommand as typed, for the log.
    pub fn name(&self) -> &'static str {
        match self {
            Command::Init => "init",
            Command::Import { .. } => "import",
            Command::Export { .. } => "export",
            Command::List { .. } => "list",
            Command::Get { .. } => "get",
            Command::Set { .. } => "set",
            Command::History { .. } => "history",
            Command::Restore { .. } => "restore",
            Command::Changes { .. } => "changes",
            Command::Completions { .. } => "completions",
            Command::Info => "info",
            Command::Seed { .. } => "seed",
            Command::Compact => "compact",
            Command::Keygen { .. } => "keygen",
            Command::Schema { .. } => "schema",
            Command::Patch { .. } => "patch",
            Command::Undo { .. } => "undo",
        }
    }
}

/// A value that is not empty nor only white space, as given.
fn not_blank(value: &str) -> Result<String, String> {
    if value.trim().is_empty() {
        let what = if value.is_empty() { "empty" } else { "only white space" };
        return Err(format!("it is {what}: give a part of an author's name, or leave the option out"));
    }
    Ok(value.to_owned())
}
