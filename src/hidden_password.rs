//! The password of a PostgreSQL URL given on the command line, hidden from other accounts.
//!
//! `ps` and `/proc/PID/cmdline` show every process's arguments to every local account, for as
//! long as it runs: a `--db postgres://role:PASSWORD@…` showed the password for a whole
//! session (bb52 F3). Once the arguments are parsed, its characters are overwritten with `x`
//! in the process's own argument memory, which is what those show. From the start of the
//! process to that moment it can still be seen; `$PGPASSWORD` or `~/.pgpass` never show it.

/// Where passwords are in one argument: the URL's user information (`role:PASSWORD@`, also
/// with an empty role) and every `password=` of its query. `--db=` and white space before the
/// URL allowed, and the URL mistyped as [`crate::database::is_mangled_postgres_url`] takes it
/// (`postgres:/`, `postgres//`, `postgres:role:…`).
pub fn password_spans(argument: &[u8]) -> Vec<std::ops::Range<usize>> {
    let url_start = argument.strip_prefix(b"--db=").map_or(0, |_| 5);
    let url = &argument[url_start..];
    let text_start = url_start + (url.len() - url.trim_ascii_start().len());
    let lower = argument[text_start..].to_ascii_lowercase();
    let Some(scheme) = [b"postgresql".as_slice(), b"postgres"].into_iter().find(|s| lower.starts_with(s))
    else {
        return Vec::new();
    };
    let after_scheme = text_start + scheme.len();
    let rest = &argument[after_scheme..];
    let trimmed = rest.trim_ascii_start();
    let separator = [b"://".as_slice(), b":/", b"//", b":"].into_iter().find(|sep| trimmed.starts_with(sep));
    let userinfo_start = after_scheme + (rest.len() - trimmed.len()) + separator.map_or(0, <[u8]>::len);
    let ends = argument[userinfo_start..].iter().position(|b| matches!(b, b'?' | b'#' | b'/'));
    let authority = &argument[userinfo_start..ends.map_or(argument.len(), |e| userinfo_start + e)];
    let mut spans = Vec::new();
    if let Some(at) = authority.iter().rposition(|b| *b == b'@')
        && let Some(colon) = authority[..at].iter().position(|b| *b == b':')
        && colon + 1 < at
    {
        spans.push(userinfo_start + colon + 1..userinfo_start + at);
    }
    // `?…&password=…` (the parser reads it as the password too).
    if let Some(query) = argument[userinfo_start..].iter().position(|b| *b == b'?') {
        let mut at = userinfo_start + query + 1;
        let end = argument[at..].iter().position(|b| *b == b'#').map_or(argument.len(), |e| at + e);
        while at < end {
            let pair_end = argument[at..end].iter().position(|b| *b == b'&').map_or(end, |e| at + e);
            if let Some(value) = argument[at..pair_end].strip_prefix(b"password=")
                && !value.is_empty()
            {
                spans.push(pair_end - value.len()..pair_end);
            }
            at = pair_end + 1;
        }
    }
    spans
}

/// `text` (a message) with the password of every PostgreSQL URL in it overwritten with `x`: a
/// URL given where `--db` was forgotten (`custodian postgres://…`, as a user, as a tenant) was
/// said whole in the usage or lookup error (bb55 F5).
pub fn masked(text: &str) -> std::borrow::Cow<'_, str> {
    let lower = text.to_ascii_lowercase();
    let mut bytes = text.as_bytes().to_vec();
    let mut changed = false;
    let mut from = 0;
    while let Some(at) = lower[from..].find("postgres").map(|at| from + at) {
        let end = text[at..]
            .find(|c: char| c.is_whitespace() || matches!(c, '"' | '\'' | '`' | ';' | ','))
            .map_or(text.len(), |end| at + end);
        for span in password_spans(&text.as_bytes()[at..end]) {
            bytes[at + span.start..at + span.end].fill(b'x');
            changed = true;
        }
        from = end.max(at + 1);
    }
    match String::from_utf8(bytes) {
        Ok(masked) if changed => std::borrow::Cow::Owned(masked),
        _ => std::borrow::Cow::Borrowed(text),
    }
}

/// Overwrites the password of every argument that holds one (see the module's comment).
/// Call it once the arguments are parsed: `std::env::args` reads this memory again.
pub fn hide_in_arguments() {
    #[cfg(target_os = "linux")]
    {
        let Some((start, end)) = argument_memory() else { return };
        // SAFETY: [arg_start, arg_end) is this process's own argument strings, which the kernel
        // placed on its stack at exec; they stay mapped and writable for the process's life, and
        // nothing reads them while the one thread running at this point writes.
        let arguments = unsafe { std::slice::from_raw_parts_mut(start as *mut u8, end - start) };
        // Only where this memory holds the arguments as parsed: a `/proc` laid out otherwise
        // (another kernel, an emulation) gives other addresses, and nothing is written there.
        let parsed: Vec<u8> =
            std::env::args_os().flat_map(|arg| [arg.as_encoded_bytes(), b"\0"].concat()).collect();
        if !arguments.starts_with(&parsed) {
            return;
        }
        for argument in arguments.split_mut(|b| *b == 0) {
            for span in password_spans(argument) {
                argument[span].fill(b'x');
            }
        }
    }
}

/// `arg_start` and `arg_end` of `/proc/self/stat` (its 48th and 49th fields).
#[cfg(target_os = "linux")]
fn argument_memory() -> Option<(usize, usize)> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // The command's name, the second field, is in parentheses and may hold anything.
    let (_, after_name) = stat.rsplit_once(')')?;
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    let field = |number: usize| fields.get(number - 3)?.parse::<usize>().ok();
    let (start, end) = (field(48)?, field(49)?);
    (start != 0 && end > start).then_some((start, end))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hidden(argument: &str) -> Option<&str> {
        let spans = password_spans(argument.as_bytes());
        spans.first().map(|span| &argument[span.clone()])
    }

    #[test]
    fn the_password_is_found_in_well_formed_and_mistyped_urls_and_nowhere_else() {
        for (argument, password) in [
            ("postgres://logto:S3cret@db.internal:5432/logto", "S3cret"),
            ("postgresql://logto:S3c%40ret@db/logto?sslmode=require", "S3c%40ret"),
            ("--db=postgres://logto:S3cret@db/logto", "S3cret"),
            (" postgres://logto:S3cret@db/logto", "S3cret"),
            ("postgres:/logto:S3cret@db.internal/logto", "S3cret"),
            ("postgres//logto:S3cret@db.internal/logto", "S3cret"),
            ("postgres:logto:S3cret@db.internal/logto", "S3cret"),
            ("POSTGRESQL://logto:pa:ss@db/logto", "pa:ss"),
            ("postgres://logto:S3cret@/logto?host=/run/postgresql", "S3cret"),
            ("postgres://:S3cret@db/logto", "S3cret"),
            ("postgres://logto@db/logto?sslmode=require&password=S3cret", "S3cret"),
            ("postgres:///logto?user=logto&password=S3cret#x", "S3cret"),
        ] {
            assert_eq!(hidden(argument), Some(password), "{argument}");
        }
        assert_eq!(
            masked(
                "unrecognized subcommand 'postgres://op:Yy7secret@h:5432/db'; no user \"postgresql://x:Pw@h\""
            ),
            "unrecognized subcommand 'postgres://op:xxxxxxxxx@h:5432/db'; no user \"postgresql://x:xx@h\""
        );
        assert_eq!(masked("postgres-backup.redb: no such file"), "postgres-backup.redb: no such file");
        let both = "postgres://a:One@db/x?password=Two";
        let spans: Vec<&str> = password_spans(both.as_bytes()).into_iter().map(|span| &both[span]).collect();
        assert_eq!(spans, ["One", "Two"]);
        for argument in [
            "postgres://logto@db/logto?passwordx=1&password=",
            "postgres://db/logto?user=a@b",
            "postgres://logto:@db/logto",
            "list",
            "alice@example.org",
            "postgres-backup.redb",
            "--search=a:b@c",
        ] {
            assert_eq!(hidden(argument), None, "{argument}");
        }
    }
}
