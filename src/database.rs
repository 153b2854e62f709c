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
    "--db names no file and reads as a PostgreSQL URL mistyped, or as a password (a well-formed one is \
     postgres://USER@HOST:PORT/DATABASE or postgresql://…; the password better in $PGPASSWORD or ~/.pgpass): \
     it is not shown".to_owned()
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
    if let Some((scheme, _)) = path.to_str().and_then(|text| text.split_once("://")) {
        let is_scheme = scheme.starts_with(|c: char| c.is_ascii_alphabetic())
            && scheme.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '.' | '-'));
        if is_scheme && !matches!(scheme, "postgres" | "postgresql") {
            let hint = if matches!(scheme.to_ascii_lowercase().as_str(), "postgres" | "postgresql") {
                ", in lower case"
            } else {
                ""
            };
            return Err(OtherUrl { scheme: crate::inert::line(scheme).into_owned(), hint });
        }
    }
    if is_mangled_postgres_url(path) {
        return Err(OtherUrl { scheme: String::new(), hint: "" });
    }
    Ok(())
}

/// A `--db` that names no file and reads as a PostgreSQL URL mistyped, or as credentials
/// (`postgres:/…`, `postgres;//…`, `postgres ://…`, a space, a no-break or zero-width space,
/// a byte-order mark or quotes before it, a byte that is not UTF-8, `role:PASSWORD@host/db`,
/// `host=… password=…`): taken for a file name, its password was said on stderr, in a
/// suggested `init`, and in the log (bb52 F2, bb54 F3). A file that is there is a file, and
/// `postgres-backup.redb`, `postgres/users.redb`, `postgres//users.redb` name files as before.
pub fn is_mangled_postgres_url(path: &Path) -> bool {
    use std::os::unix::ffi::OsStrExt;
    if fs::symlink_metadata(path).is_ok() {
        return false;
    }
    let given = path.as_os_str().as_bytes();
    let well_formed = (given.starts_with(b"postgres://") || given.starts_with(b"postgresql://"))
        && std::str::from_utf8(given).is_ok();
    if well_formed {
        return false;
    }
    let lossy = String::from_utf8_lossy(given);
    let text = lossy.trim_start_matches(|c: char| {
        c.is_whitespace()
            || matches!(c, '\u{200b}'..='\u{200d}' | '\u{2060}' | '\u{feff}' | '"' | '\'' | '\u{fffd}')
    });
    let lower = text.to_lowercase();
    // Credentials whatever the shape: a password parameter, or `role:…@` in a part of the path.
    let credentials = lower.contains("password=")
        || text.split('/').any(|part| part.split_once(':').is_some_and(|(_, after)| after.contains('@')));
    let url_like = lower.starts_with("postgres")
        && (text.contains('@') || text.len() != lossy.len() || lossy.contains('\u{fffd}'));
    credentials || url_like
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

/// Whether this process published the demo database: of several first runs at once each
/// said it had made it (bb73 F8); the others found it made.
static MADE_THE_DEMO_HERE: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Whether this process made the default database, with the demo's users.
pub fn made_the_demo_here() -> bool {
    MADE_THE_DEMO_HERE.load(std::sync::atomic::Ordering::Relaxed)
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
            Ok(()) => {
                MADE_THE_DEMO_HERE.store(true, std::sync::atomic::Ordering::Relaxed);
                Ok(())
            }
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
        // Neither a mistyped URL nor one of another scheme (`mysql://role:PASSWORD@…`) is
        // logged: either may hold a password (bb54 F4).
        (None, Some(path)) if refuse_other_url(path).is_err() => {
            "postgres://(a URL custodian cannot read)".to_owned()
        }
        (None, Some(path)) => path.display().to_string(),
        (None, None) => "(the default database)".to_owned(),
    }
}
