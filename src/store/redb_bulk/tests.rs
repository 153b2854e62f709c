use std::fs;

use super::*;

fn merged(runs: Runs, spill: &mut Spill) -> Vec<(Vec<u8>, Vec<u8>)> {
    let mut out = Vec::new();
    runs.merge::<io::Error>(spill, &mut |entry| {
        out.push((entry.key, entry.note));
        Ok(())
    })
    .expect("merge");
    out
}

#[test]
fn entries_come_back_in_key_order_whatever_the_budget_with_repeats_in_arrival_order() {
    let dir = tempfile::tempdir().expect("temp dir");
    let keys: Vec<u32> = (0..5000u32).map(|n| n.wrapping_mul(2_654_435_761) % 1000).collect();
    for budget in [64, 1000, 1 << 20] {
        let mut spill = Spill::new(dir.path()).expect("spill file");
        let mut runs = Runs::new(budget);
        for (arrival, key) in keys.iter().enumerate() {
            let key = format!("{key:04}");
            runs.defer(&mut spill, key.as_bytes(), b"v", arrival.to_string().as_bytes()).expect("defer");
        }
        let out = merged(runs, &mut spill);
        assert_eq!(out.len(), keys.len());
        for pair in out.windows(2) {
            let arrival = |note: &[u8]| String::from_utf8_lossy(note).parse::<usize>().expect("number");
            assert!(
                pair[0].0 < pair[1].0
                    || (pair[0].0 == pair[1].0 && arrival(&pair[0].1) < arrival(&pair[1].1)),
                "budget {budget}"
            );
        }
    }
    // Nothing is left in the directory: the file has no name.
    assert_eq!(fs::read_dir(dir.path()).expect("list").count(), 0);
}

#[test]
fn input_in_key_order_goes_straight_in_and_input_out_of_it_waits_whole() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut spill = Spill::new(dir.path()).expect("spill file");
    // In order for the whole probation: straight in, with the key before each; later
    // keys out of order wait for the merge.
    let mut runs = Runs::new(1 << 20);
    let mut direct = Vec::new();
    let mut keys: Vec<String> = (0..PROBATION + 10).map(|n| format!("k{n:06}")).collect();
    keys.insert(PROBATION + 3, "a".to_owned());
    keys.insert(PROBATION + 5, format!("k{:06}", PROBATION + 4));
    for key in &keys {
        runs.place::<io::Error>(&mut spill, key.as_bytes(), b"", b"", &mut |key, _, _, previous| {
            direct.push((text(key).into_owned(), previous.map(|p| text(p).into_owned())));
            Ok(())
        })
        .expect("place");
    }
    assert_eq!(direct.len(), PROBATION + 10);
    assert_eq!(direct[1], ("k000001".to_owned(), Some("k000000".to_owned())));
    let waiting: Vec<_> = merged(runs, &mut spill).into_iter().map(|(k, _)| text(&k).into_owned()).collect();
    assert_eq!(waiting, ["a".to_owned(), format!("k{:06}", PROBATION + 4)]);
    // Out of order at once: nothing goes in before the merge.
    let mut runs = Runs::new(1 << 20);
    for key in ["b", "a", "c", "d"].iter().chain(keys.iter().map(String::as_str).collect::<Vec<_>>().iter()) {
        runs.place::<io::Error>(&mut spill, key.as_bytes(), b"", b"", &mut |_, _, _, _| {
            panic!("put in directly")
        })
        .expect("place");
    }
    assert_eq!(merged(runs, &mut spill).len(), keys.len() + 4);
}

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

#[test]
fn the_search_text_from_the_parsed_document_is_the_one_the_stored_text_gives() {
    for document in [
        r#"{}"#,
        r#"{"a":1,"b":[1.50,-0,"X"],"c":{"Straße":true,"n":null}}"#,
        r#"{"e":1E5,"f":2e-3,"g":12345678901234567890123}"#,
    ] {
        let data = CustomData::parse(document).expect("a document");
        let (user, _) =
            User::from_logto(serde_json::json!({"id": "u1", "username": "Ünï"}), 7).expect("a user");
        let new = NewUser { origin: "line 1".into(), user, custom_data: Some(data), fields: None };
        let compact = new.custom_data.as_ref().map(CustomData::compact).expect("data");
        assert_eq!(
            search_entry_of(&new, &compact).expect("entry"),
            search_entry(&new.user, &compact).expect("entry"),
            "{document}"
        );
    }
}
