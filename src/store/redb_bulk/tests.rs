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
