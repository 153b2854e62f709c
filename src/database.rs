//! The database the operator means: the file named with `--db`, or the default one, made
//! with the demo users on first use, or Logto's PostgreSQL database named by a `postgres://`
//! URL. The CLI and the TUI both open it through here.

use std::fs;
use std::io;
use std::path::Path;

use anyhow::{Context, Result};

use crate::domain::Limits;
use crate::domain::import::ImportReader;
use crate::domain::time::now_ms;
use crate::inert;
use crate::location;
use crate::store::{
    Author, ConnectionSpec, ImportMode, OpenOptions, PostgresOptions, PostgresStore, RedbStore, UserStore,
    is_postgres_url,
};

/// The demo users a new default database starts with.
pub const DEMO_USERS: &[u8] = include_bytes!("../assets/demo-users.json");
/// The demo database's JSON Schema for customData, which its users satisfy: the schema
/// feature shows on the first run (`custodian schema get`, the editor's live check).
pub const DEMO_SCHEMA: &str = include_str!("../assets/demo-schema.json");

/// Opens the database the operator named, or the default one (created with demo users on
/// first use).
pub fn open(db: Option<&Path>, options: OpenOptions) -> Result<RedbStore> {
    let store = open_quietly(db, options)?;
    for note in opening_notes(&store) {
        crate::stderr_line!("custodian: {}", inert::line(&note));
    }
    Ok(store)
}

/// What the operator is told on opening the file: a file others can write, and what the
/// open's upgrade did. A command prints them on stderr; the screen, under which stderr is not
/// seen, says them itself (they showed only after quitting: bb14 L10).
pub fn opening_notes(store: &RedbStore) -> Vec<String> {
    others_may_reach(store.path()).into_iter().chain(store.upgrade_notes().iter().cloned()).collect()
}

/// The warning when group or others may write the database file: anyone who can write it can
/// rewrite every user's customData, and history with it. Else when anyone may read it: it holds
/// every user's email, phone and customData (a `chmod 644` or a copy made under a loose umask
/// leaked it without a word: bb31 U04); a file its group may read is a team's shared file.
fn others_may_reach(path: &Path) -> Option<String> {
    use std::os::unix::fs::PermissionsExt;
    let mode = fs::metadata(path).ok()?.permissions().mode() & 0o777;
    if mode & 0o022 != 0 {
        return Some(format!(
            "warning: {} can be written by {} (mode {mode:04o}); anyone who can write it can change every user's customData: chmod 600 it",
            path.display(),
            if mode & 0o002 != 0 { "anyone" } else { "its group" }
        ));
    }
    (mode & 0o004 != 0).then(|| {
        format!(
            "warning: {} can be read by anyone (mode {mode:04o}); it holds every user's profile and customData: chmod 600 it",
            path.display()
        )
    })
}

/// What kind of thing a directory entry is, in words for an error line.
pub fn what_it_is(file_type: &fs::FileType) -> &'static str {
    use std::os::unix::fs::FileTypeExt;
    if file_type.is_file() {
        "a regular file"
    } else if file_type.is_dir() {
        "a directory"
    } else if file_type.is_symlink() {
        "a symbolic link"
    } else if file_type.is_fifo() {
        "a FIFO"
    } else if file_type.is_socket() {
        "a socket"
    } else if file_type.is_char_device() {
        "a character device"
    } else if file_type.is_block_device() {
        "a block device"
    } else {
        "not a regular file"
    }
}

/// The named database is something other than a file (a FIFO, a device, a directory):
/// opening it could hang or read forever, so it is named for what it is instead.
#[derive(Debug, thiserror::Error)]
#[error("{path}: is {what}, not a database file")]
pub struct NotAFile {
    pub path: String,
    pub what: &'static str,
}

/// Refuses a path that is not a regular file (after following symbolic links), looking only
/// at its metadata: nothing is opened, so a FIFO cannot block. A missing file is left to the
/// store, which says how to create one.
fn refuse_if_not_a_file(path: &Path) -> Result<()> {
    match fs::metadata(path) {
        Ok(meta) if !meta.is_file() => {
            Err(NotAFile { path: path.display().to_string(), what: what_it_is(&meta.file_type()) }.into())
        }
        _ => Ok(()),
    }
}

/// A `--db` that reads as a URL of a scheme custodian does not speak (`postgresq://…`,
/// `PostgreSQL://…`, `mysql://…`): taken for a file name it was "no such database file
/// (create one with `custodian init --db postgresq://…`)", and that `init` failed (bb27 Q06).
/// Only the scheme is said: what follows it may hold a password.
#[derive(Debug, thiserror::Error)]
#[error("{}", if scheme.is_empty() {
    "--db begins like a PostgreSQL URL but is not one (postgres://USER@HOST:PORT/DATABASE or postgresql://…; \
     a slash or a colon left out, white space before it, a byte that is not UTF-8): it is not shown, as \
     it may hold a password (a file whose name begins so can be named ./…)".to_owned()
} else {
    format!("--db: a {scheme}:// URL is neither a database file nor a PostgreSQL URL (custodian connects to postgres:// or postgresql:// URLs{hint})")
})]
pub struct OtherUrl {
    scheme: String,
    hint: &'static str,
}

/// Refuses a `--db` that begins like a URL (`scheme://`) of another scheme than PostgreSQL's,
/// or like a PostgreSQL URL that is not one ([`is_mangled_postgres_url`]). A file whose path
/// truly begins so can be named `./scheme://…`.
pub fn refuse_other_url(path: &Path) -> Result<(), OtherUrl> {
    if is_mangled_postgres_url(path) {
        return Err(OtherUrl { scheme: String::new(), hint: "" });
    }
    let Some((scheme, _)) = path.to_str().and_then(|text| text.split_once("://")) else { return Ok(()) };
    let is_scheme = scheme.starts_with(|c: char| c.is_ascii_alphabetic())
        && scheme.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '.' | '-'));
    if !is_scheme || matches!(scheme, "postgres" | "postgresql") {
        return Ok(());
    }
    let hint = if matches!(scheme.to_ascii_lowercase().as_str(), "postgres" | "postgresql") {
        ", in lower case"
    } else {
        ""
    };
    Err(OtherUrl { scheme: crate::inert::line(scheme).into_owned(), hint })
}

/// A `--db` meant as a PostgreSQL URL and mistyped (`postgres:/…`, `postgres//…`,
/// `postgres:user:…`, ` postgres://…`, a byte that is not UTF-8 in it): taken for a file name,
/// its password was said on stderr, in a suggested `init`, and in the log (bb52 F2).
/// `postgres-backup.redb` and `postgres/users.redb` are file names as before.
pub fn is_mangled_postgres_url(path: &Path) -> bool {
    use std::os::unix::ffi::OsStrExt;
    let given = path.as_os_str().as_bytes();
    let text = given.trim_ascii_start();
    let lower = text.to_ascii_lowercase();
    let Some(after) = lower.strip_prefix(b"postgresql").or_else(|| lower.strip_prefix(b"postgres")) else {
        return false;
    };
    let well_formed = (given.starts_with(b"postgres://") || given.starts_with(b"postgresql://"))
        && std::str::from_utf8(given).is_ok();
    // `PostgreSQL://…` is said as a URL of another scheme ("in lower case").
    let other_case =
        text.len() == given.len() && after.starts_with(b"://") && std::str::from_utf8(given).is_ok();
    !well_formed
        && !other_case
        && (after.starts_with(b":") || after.starts_with(b"//") || text.len() != given.len())
}

/// What the operator is told when the database is the default one (no `--db`, no
/// `$CUSTODIAN_DB`): made now with the demo's users, or there already. Once a read or the
/// editor had made it, `set admin …` without `--db` saved into the demo's admin, exit 0,
/// without a word, and the screen never said which database it showed (bb51 F1, F2).
pub fn default_database_note(path: &Path, made_now: bool) -> String {
    if made_now {
        format!(
            "made the demo database at {} (200 demo users): name yours with --db PATH or $CUSTODIAN_DB",
            path.display()
        )
    } else {
        format!("the default database {} (no --db PATH or $CUSTODIAN_DB named another)", path.display())
    }
}

/// [`open`] without its warnings and upgrade notes (a look before the open proper).
pub fn open_quietly(db: Option<&Path>, options: OpenOptions) -> Result<RedbStore> {
    let read_only = options.read_only;
    if let Some(path) = db {
        refuse_other_url(path)?;
        refuse_if_not_a_file(path)?;
        return Ok(RedbStore::open(path, options)?);
    }
    let path = location::default_database();
    // The default database lives in a directory of custodian's own: one that someone else
    // owns or can write could hold a database planted for the operator to trust.
    location::check_private_dir(&location::data_dir())?;
    refuse_if_not_a_file(&path)?;
    if path.exists() || read_only {
        return Ok(RedbStore::open(&path, options)?);
    }
    location::ensure_private_dir(&location::data_dir())?;
    create_demo_database(&path)?;
    Ok(RedbStore::open(&path, options)?)
}

/// Builds the demo database under a temporary name and publishes it with a hard link, so a
/// second custodian started at the same moment never opens a half-made file.
fn create_demo_database(path: &Path) -> Result<()> {
    let building = path.with_extension(format!("redb.new-{}", std::process::id()));
    let _ = fs::remove_file(&building);
    let result = (|| -> Result<()> {
        let store = RedbStore::create(&building, OpenOptions::default())?;
        let mut reader = ImportReader::new(DEMO_USERS, Limits::default(), now_ms())?;
        store.import(&mut reader, ImportMode::InsertOnly, &Author::from_environment())?;
        store.set_schema(Some(DEMO_SCHEMA), &Author::from_environment())?;
        drop(store);
        match fs::hard_link(&building, path) {
            // Another custodian published its copy first: use that one.
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => Ok(()),
            other => other.with_context(|| format!("cannot create {}", path.display())),
        }
    })();
    let _ = fs::remove_file(&building);
    result
}

/// The PostgreSQL URL `--db` holds, when it names Logto's database instead of a file.
pub fn postgres_url(db: Option<&Path>) -> Option<&str> {
    db.and_then(Path::to_str).filter(|text| is_postgres_url(text))
}

/// Connects to Logto's database at `url` and settles on `tenant`'s users; with
/// `use_key_table`, the list reads custodian's key table when it can
/// ([`PostgresOptions::use_key_table`]).
pub fn open_postgres(
    url: &str,
    tenant: &str,
    read_only: bool,
    statement_timeout: std::time::Duration,
    use_key_table: bool,
) -> Result<PostgresStore> {
    let options = PostgresOptions { tenant: tenant.to_owned(), read_only, statement_timeout, use_key_table };
    Ok(PostgresStore::connect(url, &options)?)
}

/// The database named by `--db` as the log may record it: a path, or a URL without its password.
pub fn for_the_log(db: Option<&Path>) -> String {
    match (postgres_url(db), db) {
        (Some(url), _) => ConnectionSpec::redacted(url),
        (None, Some(path)) if is_mangled_postgres_url(path) => {
            "postgres://(a URL custodian cannot read)".to_owned()
        }
        (None, Some(path)) => path.display().to_string(),
        (None, None) => "(the default database)".to_owned(),
    }
}
