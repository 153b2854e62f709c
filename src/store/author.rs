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

    #[test]
    fn a_claim_is_cut_to_thirty_two_characters_and_only_a_cut_one_is_marked() {
        let claim = |claimed: &str| Author::describe(Some("ops"), 1000, Some(claimed), None).0;
        let y32 = "y".repeat(32);
        assert_eq!(claim(&y32), format!("ops ($USER {y32})"));
        assert_eq!(claim(&"y".repeat(33)), format!("ops ($USER {y32}…)"));
        // Counted in characters, not bytes: 32 two-byte letters are kept whole.
        let e32 = "é".repeat(32);
        assert_eq!(claim(&e32), format!("ops ($USER {e32})"));
    }

    #[test]
    fn the_account_name_is_read_from_the_password_database() {
        assert_eq!(super::account_name(0).as_deref(), Some("root"));
        // A uid far above any a system assigns: no account, whatever getpwuid_r left behind
        // in the entry while it searched.
        assert_eq!(super::account_name(3_999_999_999), None);
    }

    #[test]
    fn the_author_for_tests_is_this_account_with_the_claim_beside_it() {
        // SAFETY: getuid cannot fail.
        let uid = unsafe { libc::getuid() };
        let account = super::account_name(uid).expect("this process's account");
        assert_eq!(
            Author::describe_for_tests("claimed-by-a-test"),
            format!("{account} ($USER claimed-by-a-test)")
        );
    }

    #[test]
    fn an_empty_user_variable_claims_no_one() {
        // The environment is set for a child process of this test binary, which runs only
        // `child_process_prints_its_author`: no other test sees it changed.
        let output = std::process::Command::new(std::env::current_exe().expect("test binary"))
            .args(["--exact", "store::author::author_tests::child_process_prints_its_author", "--nocapture"])
            .env("CUSTODIAN_TEST_PRINT_AUTHOR", "1")
            .env("USER", "")
            .env("LOGNAME", "someone-else")
            .env_remove("SSH_CONNECTION")
            .output()
            .expect("run the child");
        assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
        // SAFETY: getuid cannot fail.
        let uid = unsafe { libc::getuid() };
        let account = super::account_name(uid).expect("this process's account");
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert!(stdout.contains(&format!("author: [{account}]\n")), "{stdout}");
    }

    /// The child half of [`an_empty_user_variable_claims_no_one`]: it prints only in the child
    /// process that test starts (with `CUSTODIAN_TEST_PRINT_AUTHOR` set); in the normal run it
    /// returns at once.
    #[test]
    fn child_process_prints_its_author() {
        if std::env::var_os("CUSTODIAN_TEST_PRINT_AUTHOR").is_none() {
            return;
        }
        println!("author: [{}]", Author::from_environment().0);
    }
}
