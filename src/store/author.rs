//! Who made a change, as the history and the journal record it.

/// Who made a change, as written into the history: the OS account, plus the SSH client
/// address when there is one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Author(pub String);

/// The most of `$USER` kept when it disagrees with the account: it is only a claim.
const CLAIMED_NAME_CHARS: usize = 32;

impl Author {
    /// The operator running this process: the name of the uid's account (`uid N` without
    /// one), with `$USER` (else `$LOGNAME`) added, cut short, only when it claims someone
    /// else; `via <address>` when `$SSH_CONNECTION` starts with an IP address.
    pub fn from_environment() -> Self {
        // SAFETY: getuid has no preconditions and cannot fail.
        let uid = unsafe { libc::getuid() };
        let claimed =
            std::env::var("USER").or_else(|_| std::env::var("LOGNAME")).ok().filter(|u| !u.is_empty());
        let client = std::env::var("SSH_CONNECTION")
            .ok()
            .and_then(|c| c.split_whitespace().next().and_then(|a| a.parse::<std::net::IpAddr>().ok()));
        Self::describe(account_name(uid).as_deref(), uid, claimed.as_deref(), client)
    }

    /// What [`Author::from_environment`] records for this process's account when `$USER`
    /// says `claimed` and there is no SSH connection (for tests of what the history shows).
    pub fn describe_for_tests(claimed: &str) -> String {
        // SAFETY: getuid has no preconditions and cannot fail.
        let uid = unsafe { libc::getuid() };
        Self::describe(account_name(uid).as_deref(), uid, Some(claimed), None).0
    }

    fn describe(
        account: Option<&str>,
        uid: u32,
        claimed: Option<&str>,
        client: Option<std::net::IpAddr>,
    ) -> Self {
        let mut who = account.map_or_else(|| format!("uid {uid}"), str::to_owned);
        if let Some(claimed) = claimed.filter(|c| Some(*c) != account) {
            let mut short: String = claimed.chars().take(CLAIMED_NAME_CHARS).collect();
            if short.len() < claimed.len() {
                short.push('…');
            }
            who.push_str(&format!(" ($USER {short})"));
        }
        if let Some(address) = client {
            who.push_str(&format!(" via {address}"));
        }
        Author(who)
    }
}

/// The login name of `uid` from the password database (`getpwuid_r`), if it has one.
fn account_name(uid: libc::uid_t) -> Option<String> {
    let mut buffer = vec![0u8; 4096];
    // SAFETY: a zeroed passwd is a valid out-parameter; getpwuid_r writes into it and into
    // `buffer` (whose length it is told) and sets `found` to it or to null.
    unsafe {
        let mut entry: libc::passwd = std::mem::zeroed();
        let mut found: *mut libc::passwd = std::ptr::null_mut();
        let status = libc::getpwuid_r(uid, &mut entry, buffer.as_mut_ptr().cast(), buffer.len(), &mut found);
        if status != 0 || found.is_null() || entry.pw_name.is_null() {
            return None;
        }
        let name = std::ffi::CStr::from_ptr(entry.pw_name).to_str().ok()?;
        (!name.is_empty()).then(|| name.to_owned())
    }
}

#[cfg(test)]
mod author_tests {
    use super::Author;

    #[test]
    fn the_account_name_is_the_author_and_a_user_variable_that_agrees_adds_nothing() {
        assert_eq!(Author::describe(Some("ops"), 1000, Some("ops"), None).0, "ops");
        assert_eq!(Author::describe(Some("ops"), 1000, None, None).0, "ops");
    }

    #[test]
    fn a_user_variable_that_claims_someone_else_is_kept_only_as_a_short_claim() {
        let long = "x".repeat(120_000);
        let author = Author::describe(Some("ops"), 1000, Some(&long), None);
        assert!(author.0.starts_with("ops ($USER xxxx"), "{}", author.0);
        assert!(author.0.chars().count() < 50, "{} chars", author.0.chars().count());
    }

    #[test]
    fn without_an_account_the_uid_names_the_author_and_the_ssh_address_is_kept() {
        let address = "203.0.113.9".parse().ok();
        assert_eq!(Author::describe(None, 4242, None, address).0, "uid 4242 via 203.0.113.9");
    }

    #[test]
    fn the_account_of_this_process_is_found() {
        // SAFETY: getuid cannot fail.
        let uid = unsafe { libc::getuid() };
        assert!(super::account_name(uid).is_some_and(|name| !name.is_empty()));
    }
}
