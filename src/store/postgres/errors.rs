//! PostgreSQL errors as the operator reads them: one line naming the server, never the
//! password; a session that went is told apart from a statement the server stopped.

use super::*;

/// A PostgreSQL error as one line for the operator, naming the server without a password.
pub(super) fn describe(spec: &ConnectionSpec, error: &postgres::Error) -> StoreError {
    if let Some(db) = error.as_db_error() {
        use postgres::error::SqlState;
        let code = db.code();
        if *code == SqlState::LOCK_NOT_AVAILABLE {
            return StoreError::Busy;
        }
        // A write on a server that takes none: said in custodian's words, not SQL's
        // ("cannot execute SELECT FOR UPDATE in a read-only transaction": bb54 F6).
        if *code == SqlState::READ_ONLY_SQL_TRANSACTION {
            return StoreError::ServerTakesNoWrites { server: spec.to_string() };
        }
        // The server ended this transaction to let another go on: rolled back whole (bb66 F2:
        // PostgreSQL's bare `deadlock detected` said neither that nor what to do).
        if *code == SqlState::T_R_DEADLOCK_DETECTED {
            return StoreError::Connection(format!(
                "{spec}: another session (Logto, a script, another custodian) was writing some of the same users, and the server stopped this write so that one could go on (deadlock detected): nothing of it was written; try again"
            ));
        }
        let what = if *code == SqlState::INVALID_PASSWORD
            || *code == SqlState::INVALID_AUTHORIZATION_SPECIFICATION
        {
            format!("the server refused role {:?}: {}{}", spec.user, db.message(), pgpass_unread(spec))
        } else if *code == SqlState::INVALID_CATALOG_NAME {
            format!("database {:?} does not exist", spec.dbname)
        } else if *code == SqlState::INSUFFICIENT_PRIVILEGE {
            format!("role {:?} may not do this: {}", spec.user, db.message())
        } else {
            db.message().to_owned()
        };
        return StoreError::Connection(format!("{spec}: {what}"));
    }
    if error.is_closed() {
        return StoreError::Connection(format!("{spec}: connection lost"));
    }
    // The client's own words ("error connecting to server: Connection refused", "timeout
    // waiting for server", "error performing TLS handshake: ..."), with their cause.
    let mut message = error.to_string();
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !message.contains(&cause_text) {
            message = format!("{message}: {cause_text}");
        }
        source = cause.source();
    }
    // The server asked for a password and none was sent.
    if message.contains("password missing") {
        message.push_str(&pgpass_unread(spec));
    }
    // The client's words when what answered is no PostgreSQL server (a web server, another
    // service on that port) point nowhere (bb27 Q01).
    if ["bytes remaining on stream", "unexpected message from server", "invalid message length"]
        .iter()
        .any(|words| message.contains(words))
    {
        message
            .push_str(&format!(" (what answered {NOT_POSTGRES}: another service on that port, or a proxy?)"));
    }
    StoreError::Connection(format!("{spec}: {message}"))
}

/// A connection that failed, with what answered at the server's address when that is not
/// PostgreSQL: with the default `sslmode=prefer`, a web server that keeps the connection, or
/// an SSH server (`:22` typed for `:5432`), failed as "no answer within 5 s", a reset or a
/// TLS error, sending the operator to a firewall or to TLS (bb41 F3).
pub(super) fn said_with_what_answered(
    spec: &ConnectionSpec,
    failed: StoreError,
    probe: Duration,
) -> StoreError {
    let StoreError::Connection(message) = &failed else { return failed };
    if message.contains(NOT_POSTGRES) {
        return failed;
    }
    match what_answered(spec, probe) {
        Some(what) => StoreError::Connection(format!("{message} ({what})")),
        None => failed,
    }
}

/// The words for what answered and is no PostgreSQL server.
const NOT_POSTGRES: &str = "does not speak PostgreSQL's protocol";

/// What answered at the server's TCP address when it is not PostgreSQL, which answers an
/// SSLRequest with one byte, `S` or `N`, at once and then waits; `None` for a PostgreSQL
/// server, nothing there, or a unix socket. Waits at most `probe` for its answer.
fn what_answered(spec: &ConnectionSpec, probe: Duration) -> Option<String> {
    use std::io::{Read, Write};
    use std::net::ToSocketAddrs;
    let super::connect::Host::Tcp(host) = &spec.host else { return None };
    let address = (host.as_str(), spec.port).to_socket_addrs().ok()?.next()?;
    let wait = probe.min(spec.connect_timeout);
    let mut stream = std::net::TcpStream::connect_timeout(&address, wait).ok()?;
    stream.set_write_timeout(Some(wait)).ok()?;
    // An SSLRequest: its length, 8, and the code 80877103. A server that speaks first (SSH)
    // may have sent its banner already.
    let _ = stream.write_all(&[0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x2f]);
    let mut answer = Vec::new();
    let mut buffer = [0u8; 64];
    let started = std::time::Instant::now();
    // Everything that comes within the wait, or within 200 ms of a first byte: PostgreSQL
    // sends that one byte and nothing more.
    loop {
        let left = if answer.is_empty() { wait } else { Duration::from_millis(200) };
        let left = left.saturating_sub(started.elapsed()).max(Duration::from_millis(1));
        stream.set_read_timeout(Some(left)).ok()?;
        match stream.read(&mut buffer) {
            Ok(0) => break,
            Ok(read) => answer.extend_from_slice(&buffer[..read]),
            // Timed out, or reset: what came so far is the answer.
            Err(_) => break,
        }
        if answer.len() >= buffer.len() || started.elapsed() >= wait {
            break;
        }
    }
    let at = format!("what answered at {host}:{}", spec.port);
    match answer.as_slice() {
        [b'S' | b'N'] => None,
        [] if started.elapsed() >= wait => Some(format!(
            "{at} accepted the connection and did not answer PostgreSQL's first message: another service on that port, or a server that hangs?"
        )),
        [] => Some(format!(
            "{at} closed the connection when spoken to as PostgreSQL, so it {NOT_POSTGRES}: another service on that port, or a proxy?"
        )),
        // An error message: a server that speaks the protocol (an old one, or one refusing).
        [b'E', ..] => None,
        began => {
            let shown: String = String::from_utf8_lossy(began).chars().take(24).collect();
            Some(format!(
                "{at} {NOT_POSTGRES}: it began {:?}; another service on that port, or a proxy?",
                crate::inert::line(shown.trim_end())
            ))
        }
    }
}

/// A statement the role the session works as may not run: named is that role (the tenant's,
/// switched to), not the login role of the URL — a superuser was said to lack a privilege
/// (bb18 L05) — with what was refused and that nothing was written.
pub(super) fn privilege_refused(
    spec: &ConnectionSpec,
    tenant: &str,
    role: &str,
    error: &postgres::Error,
) -> Option<StoreError> {
    let db = error.as_db_error()?;
    if *db.code() != postgres::error::SqlState::INSUFFICIENT_PRIVILEGE {
        return None;
    }
    let working_as = if role == spec.user {
        format!("role {role:?}")
    } else {
        format!(
            "role {role:?} (tenant {tenant:?}'s, which custodian works as, switched to from {:?})",
            spec.user
        )
    };
    // `init` grants the rights on custodian's own tables; Logto's it never alters, so naming
    // it for one of those sent the operator round in a loop (bb41 F4).
    let logtos = db
        .message()
        .strip_prefix("permission denied for table ")
        .filter(|table| LOGTO_TABLES.contains(&table.trim()));
    let remedy = match logtos {
        Some(table) => format!(
            "custodian needs SELECT and UPDATE on Logto's table {table}: the database's owner grants them to {role:?}; `custodian init` leaves Logto's tables as they are"
        ),
        None => {
            format!("grant it to {role:?}, or run `custodian --db URL init` again as the database's owner")
        }
    };
    Some(StoreError::Connection(format!(
        "{spec}: {working_as} may not do this: {}; nothing was written ({remedy})",
        db.message()
    )))
}

/// Logto's tables custodian reads or writes (custodian's own are in schema `custodian`).
const LOGTO_TABLES: [&str; 2] = ["users", "tenants"];

/// Why no password came from the password file, when it was left unread; else nothing.
fn pgpass_unread(spec: &ConnectionSpec) -> String {
    spec.pgpass_ignored.as_ref().map_or_else(String::new, |path| {
        format!(
            " ({0} was not read: group or others may read it; `chmod 600 {0}` as libpq asks)",
            path.display()
        )
    })
}

/// An error of a session that was up: a connection that went (closed, an I/O error, the
/// server or an administrator ending the session) is [`StoreError::ConnectionLost`], a
/// statement the server stopped is [`StoreError::TimedOut`] or [`StoreError::Cancelled`];
/// the rest as [`describe`] says.
pub(super) fn session_error(
    spec: &ConnectionSpec,
    statement_timeout: Duration,
    error: &postgres::Error,
) -> StoreError {
    use postgres::error::SqlState;
    if let Some(db) = error.as_db_error() {
        let code = db.code();
        if *code == SqlState::QUERY_CANCELED {
            // The server's words tell a timeout from a cancel request.
            return if db.message().contains("statement timeout") {
                StoreError::TimedOut {
                    server: spec.to_string(),
                    seconds: statement_timeout.as_millis().div_ceil(1000) as u64,
                }
            } else {
                StoreError::Cancelled
            };
        }
        if *code == SqlState::NUMERIC_VALUE_OUT_OF_RANGE {
            return StoreError::NumberOutOfRange { server: spec.to_string() };
        }
        // 57P01-57P03: the server is shutting down or an administrator ended the session
        // (pg_terminate_backend); class 08: the connection itself failed.
        if [SqlState::ADMIN_SHUTDOWN, SqlState::CRASH_SHUTDOWN, SqlState::CANNOT_CONNECT_NOW].contains(code)
            || code.code().starts_with("08")
        {
            return lost(spec);
        }
        return describe(spec, error);
    }
    let mut source = std::error::Error::source(error);
    let mut io = false;
    while let Some(cause) = source {
        io |= cause.is::<std::io::Error>();
        source = cause.source();
    }
    if error.is_closed() || io { lost(spec) } else { describe(spec, error) }
}

fn lost(spec: &ConnectionSpec) -> StoreError {
    StoreError::ConnectionLost { server: spec.to_string(), detail: String::new() }
}
