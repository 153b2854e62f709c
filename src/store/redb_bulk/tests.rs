use serde_json::Value;

use super::*;

#[test]
fn the_stored_user_written_directly_is_the_one_the_general_path_serialises() {
    let profiles = [
        r#"{"id":"u1"}"#,
        r#"{"id":"u2","username":"ünï\"q","primaryEmail":"a@b.c","primaryPhone":"+1 555","name":"","avatar":"https://x/y","identities":{"gh":{"userId":"9","n":1E3}},"lastSignInAt":0,"createdAt":1,"updatedAt":2,"profile":{"k\"":"\t"},"applicationId":"app","isSuspended":true,"zUnknown":null,"also":false,"empty":{},"key\\with\"escapes\n":[1,"\u0001",-0,12345678901234567890123],"passwordEncrypted":"hash"}"#,
        r#"{"id":"u3","isSuspended":false,"identities":{},"profile":{},"lastSignInAt":null}"#,
    ];
    for profile in profiles {
        let value: Value = serde_json::from_str(profile).expect("JSON");
        let (user, _) = User::from_logto(value, 7).expect("a user");
        let by = "op \"quoted\" ✓";
        let direct = stored_user_json(&user, 1_700_000_000_123, by).expect("written");
        let general = super::super::StoredUser::new(&user, 1, 1_700_000_000_123, by).to_json();
        assert_eq!(String::from_utf8(direct).expect("UTF-8"), general, "{profile}");
    }
}

/// A full disk met by the load's sorted runs is said as a write's own full disk is: that
/// nothing was written, where, and what to do (it said only `cannot keep the load's sorted
/// runs: No space left on device`: bb64 F3); a file-size limit in its own words; anything else
/// with the directory.
#[test]
fn a_full_disk_under_the_loads_runs_says_nothing_was_written() {
    let said = runs_failed(Path::new("/srv/db"), io::Error::from(io::ErrorKind::StorageFull)).to_string();
    assert!(said.starts_with("database error: no room left on the disk (I/O error: "), "{said}");
    assert!(
        said.contains("sorted runs in /srv/db: nothing was written, the database is as it was;"),
        "{said}"
    );
    let limit = runs_failed(Path::new("/srv/db"), io::Error::from(io::ErrorKind::FileTooLarge)).to_string();
    assert!(limit.contains("may not grow past the size limit"), "{limit}");
    let other =
        runs_failed(Path::new("/srv/db"), io::Error::from(io::ErrorKind::PermissionDenied)).to_string();
    assert!(other.contains("/srv/db: cannot keep the load's sorted runs"), "{other}");
}
