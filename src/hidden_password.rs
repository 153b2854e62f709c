//! The password of a PostgreSQL URL given on the command line, hidden from other accounts.
//!
//! `ps` and `/proc/PID/cmdline` show every process's arguments to every local account, for as
//! long as it runs: a `--db postgres://role:PASSWORD@…` showed the password for a whole
//! session (bb52 F3). Once the arguments are parsed, its characters are overwritten with `x`
//! in the process's own argument memory, which is what those show. From the start of the
//! process to that moment it can still be seen; `$PGPASSWORD` or `~/.pgpass` never show it.

/// Where the password is in one argument: `--db=` and white space before the URL allowed, and
/// the URL mistyped as [`crate::database::is_mangled_postgres_url`] takes it (`postgres:/`,
/// `postgres//`, `postgres:role:…`).
pub fn password_span(argument: &[u8]) -> Option<std::ops::Range<usize>> {
    let url_start = argument.strip_prefix(b"--db=").map_or(0, |_| 5);
    let url = &argument[url_start..];
    let text_start = url_start + (url.len() - url.trim_ascii_start().len());
    let lower = argument[text_start..].to_ascii_lowercase();
    let scheme = [b"postgresql".as_slice(), b"postgres"].into_iter().find(|s| lower.starts_with(s))?;
    let after_scheme = text_start + scheme.len();
    let rest = &argument[after_scheme..];
    let userinfo_start = after_scheme + rest.iter().take_while(|b| matches!(b, b':' | b'/')).count();
    let ends = argument[userinfo_start..].iter().position(|b| matches!(b, b'?' | b'#' | b'/'));
    let authority = &argument[userinfo_start..ends.map_or(argument.len(), |e| userinfo_start + e)];
    let at = userinfo_start + authority.iter().rposition(|b| *b == b'@')?;
    let colon = userinfo_start + argument[userinfo_start..at].iter().position(|b| *b == b':')?;
    (colon + 1 < at).then_some(colon + 1..at)
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
        for argument in arguments.split_mut(|b| *b == 0) {
            if let Some(span) = password_span(argument) {
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
        password_span(argument.as_bytes()).map(|span| &argument[span])
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
        ] {
            assert_eq!(hidden(argument), Some(password), "{argument}");
        }
        for argument in [
            "postgres://logto@db/logto",
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
