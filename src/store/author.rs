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
        let client = std::env::var("SSH_CONNECTION").ok().and_then(|c| client_address(&c));
        Self::describe(account_name(uid).as_deref(), uid, claimed.as_deref(), client.as_deref())
    }

    /// What [`Author::from_environment`] records for this process's account when `$USER`
    /// says `claimed` and there is no SSH connection (for tests of what the history shows).
    pub fn describe_for_tests(claimed: &str) -> String {
        // SAFETY: getuid has no preconditions and cannot fail.
        let uid = unsafe { libc::getuid() };
        Self::describe(account_name(uid).as_deref(), uid, Some(claimed), None).0
    }

    fn describe(account: Option<&str>, uid: u32, claimed: Option<&str>, client: Option<&str>) -> Self {
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

/// The client's address at the start of `$SSH_CONNECTION` (`ADDRESS PORT ADDRESS PORT`), when
/// it is one: an IPv4 or IPv6 address, the latter with its zone as OpenSSH writes a link-local
/// client's (`fe80::1%eth0`: it was dropped, the save recorded as a local one: bb15 L04). A zone
/// is an interface name, kept when it is one (letters, digits, `.`, `_`, `-`, up to 15).
fn client_address(ssh_connection: &str) -> Option<String> {
    let first = ssh_connection.split_whitespace().next()?;
    let (address, zone) = match first.split_once('%') {
        Some((address, zone)) => (address, Some(zone)),
        None => (first, None),
    };
    let address: std::net::IpAddr = address.parse().ok()?;
    match zone {
        None => Some(address.to_string()),
        Some(zone)
            if address.is_ipv6()
                && !zone.is_empty()
                && zone.len() <= 15
                && zone.bytes().all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b)) =>
        {
            Some(format!("{address}%{zone}"))
        }
        Some(_) => None,
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
    use super::{Author, client_address};

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
        assert_eq!(Author::describe(None, 4242, None, Some("203.0.113.9")).0, "uid 4242 via 203.0.113.9");
    }

    #[test]
    fn the_client_is_the_first_address_of_ssh_connection_with_a_link_local_zone_kept() {
        assert_eq!(client_address("203.0.113.9 51234 10.0.0.2 22").as_deref(), Some("203.0.113.9"));
        assert_eq!(client_address("2001:db8::1 51234 2001:db8::2 22").as_deref(), Some("2001:db8::1"));
        assert_eq!(client_address("fe80::1%eth0 51234 fe80::2%eth0 22").as_deref(), Some("fe80::1%eth0"));
        // Not an address, an IPv4 address with a zone, a zone that is no interface name.
        for odd in ["", "host 1 2 3", "10.0.0.1%eth0 1 2 3", "fe80::1% 1 2 3", "fe80::1%\u{1b}[2J 1 2 3"] {
            assert_eq!(client_address(odd), None, "{odd:?}");
        }
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
