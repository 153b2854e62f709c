//! What the user database says of the account custodian runs as: its home directory, and
//! whether a group is its own private one (a user private group: named as the account, with
//! no other member), which a directory made under `umask 002` gives write access to.

use std::ffi::{CStr, OsStr};
use std::os::unix::ffi::OsStrExt;
use std::path::PathBuf;
use std::sync::OnceLock;

/// The home directory the user database gives the account custodian runs as.
pub(super) fn home() -> Option<PathBuf> {
    let dir = PathBuf::from(OsStr::from_bytes(&entry()?.home));
    dir.is_absolute().then_some(dir)
}

/// Whether `gid` is the account's private group: its primary group, named as the account,
/// with no member but the account, listed or by primary group. A 0775 directory of the account's in it is written by
/// nobody else: RHEL and Fedora make every directory so (`umask 002` with user private
/// groups), and each was refused as one "others can change" (bb55 F2).
pub fn is_private_group(gid: u32) -> bool {
    static PRIVATE: OnceLock<Option<u32>> = OnceLock::new();
    *PRIVATE.get_or_init(|| {
        let account = entry()?;
        // Every entry of that gid (a second `/etc/group` line of it gave another account the
        // group: bb56 F3), and the shadow file's members and password where it can be read
        // (`sg` joins with either: bb56 F4).
        let entries = groups_of(account.gid);
        let alone = !entries.is_empty()
            && entries.iter().all(|group| {
                group.name == account.name && group.members.iter().all(|member| *member == account.name)
            })
            && !another_account_has_primary_group(account.gid, super::my_uid())
            && !shadow_lets_others_in(&account.name);
        alone.then_some(account.gid)
    }) == Some(gid)
}

/// The name the group database gives `gid`, if any.
pub fn group_name(gid: u32) -> Option<String> {
    groups_of(gid).first().map(|group| String::from_utf8_lossy(&group.name).into_owned())
}

/// Whether an account other than `me` has `gid` as its primary group: a member the group's
/// own list does not name. The user database is read entry by entry (`getpwent`), once, at
/// the first judgement, before any other thread could read it.
fn another_account_has_primary_group(gid: u32, me: u32) -> bool {
    let mut found = false;
    // SAFETY: setpwent/getpwent/endpwent walk the database's static entry; the pointer each
    // returns is read before the next call, and nothing else in custodian walks it.
    unsafe {
        libc::setpwent();
        loop {
            let entry = libc::getpwent();
            if entry.is_null() {
                break;
            }
            if (*entry).pw_gid == gid && (*entry).pw_uid != me {
                found = true;
                break;
            }
        }
        libc::endpwent();
    }
    found
}

struct Account {
    name: Vec<u8>,
    gid: u32,
    home: Vec<u8>,
}

struct Group {
    name: Vec<u8>,
    members: Vec<Vec<u8>>,
}

/// The account's entry (`getpwuid_r`), asked again with more room when it is larger than the
/// buffer (up to 1 MiB: a home past 4 KiB fell back to `/`).
fn entry() -> Option<Account> {
    let mut buffer = vec![0 as libc::c_char; 4096];
    // SAFETY: an all-zero passwd is a valid value for getpwuid_r to fill in.
    let mut entry: libc::passwd = unsafe { std::mem::zeroed() };
    let mut found: *mut libc::passwd = std::ptr::null_mut();
    loop {
        // SAFETY: every pointer is to memory of ours of the size given, alive for the call.
        let failed = unsafe {
            libc::getpwuid_r(libc::geteuid(), &mut entry, buffer.as_mut_ptr(), buffer.len(), &mut found)
        };
        if failed == libc::ERANGE && buffer.len() < 1 << 20 {
            buffer.resize(buffer.len() * 2, 0);
            continue;
        }
        if failed != 0 || found.is_null() || entry.pw_name.is_null() || entry.pw_dir.is_null() {
            return None;
        }
        break;
    }
    // SAFETY: getpwuid_r succeeded: pw_name and pw_dir point to NUL-terminated strings in
    // `buffer`, alive here.
    let (name, home) = unsafe { (CStr::from_ptr(entry.pw_name), CStr::from_ptr(entry.pw_dir)) };
    Some(Account { name: name.to_bytes().to_vec(), gid: entry.pw_gid, home: home.to_bytes().to_vec() })
}

/// Every entry of the group database with `gid` (`getgrent`, read once, at the first
/// judgement, before any other thread could read it).
fn groups_of(gid: u32) -> Vec<Group> {
    let mut found = Vec::new();
    // SAFETY: setgrent/getgrent/endgrent walk the database's static entry; each entry's
    // strings are copied before the next call, and nothing else in custodian walks it.
    unsafe {
        libc::setgrent();
        loop {
            let entry = libc::getgrent();
            if entry.is_null() {
                break;
            }
            if (*entry).gr_gid != gid || (*entry).gr_name.is_null() {
                continue;
            }
            let name = CStr::from_ptr((*entry).gr_name).to_bytes().to_vec();
            let mut members = Vec::new();
            let mut at = (*entry).gr_mem;
            while !at.is_null() && !(*at).is_null() {
                members.push(CStr::from_ptr(*at).to_bytes().to_vec());
                at = at.add(1);
            }
            found.push(Group { name, members });
        }
        libc::endgrent();
    }
    found
}

/// Whether `/etc/gshadow` (readable by root alone) lets another account into the group named
/// `name`: a member it lists, or a group password anyone who knows it joins with.
fn shadow_lets_others_in(name: &[u8]) -> bool {
    let Ok(shadow) = std::fs::read("/etc/gshadow") else { return false };
    shadow.split(|b| *b == b'\n').any(|line| {
        let fields: Vec<&[u8]> = line.split(|b| *b == b':').collect();
        fields.first() == Some(&name)
            && (fields.get(1).is_some_and(|password| {
                !password.is_empty() && !password.starts_with(b"!") && *password != b"*"
            }) || fields
                .get(3)
                .is_some_and(|members| members.split(|b| *b == b',').any(|m| !m.is_empty() && m != name)))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An account's primary group counts it as a member, listed or not: one whose group list
    /// names no one was taken for the operator's alone.
    #[test]
    fn a_primary_group_of_another_account_is_found_and_one_of_no_account_is_not() {
        let passwd = std::fs::read_to_string("/etc/passwd").expect("the user database's file");
        let (uid, gid): (u32, u32) = passwd
            .lines()
            .filter_map(|line| {
                let fields: Vec<&str> = line.split(':').collect();
                Some((fields.get(2)?.parse().ok()?, fields.get(3)?.parse().ok()?))
            })
            .find(|(uid, _)| *uid != 0)
            .expect("an account besides root");
        assert!(another_account_has_primary_group(gid, uid.wrapping_add(1)), "gid {gid} of uid {uid}");
        assert!(!another_account_has_primary_group(4_000_000, 0));
    }
}
