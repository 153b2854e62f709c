use super::*;

/// The reading thread hands a batch over undecoded while the visitor is idle (always the
/// first) and decodes it itself while the visitor is behind (a slow visitor makes both
/// happen): either way each user comes with the record and document the list-order read
/// gives.
#[test]
fn users_decoded_by_either_thread_are_the_ones_the_list_order_read_gives() {
    let dir = tempfile::tempdir().expect("temp dir");
    let lines: Vec<String> = (0..2_000)
        .map(|n| {
            format!(
                "{{\"id\":\"u{n:05}\",\"username\":\"name {}\",\"primaryEmail\":\"e{n}@x.io\",\"customData\":{{\"n\":{n}}}}}",
                2_000 - n
            )
        })
        .collect();
    let store = crate::store::test_store(dir.path(), &lines.join("\n"));
    let mut in_order = Vec::new();
    store
        .for_each_user(&mut |record, text| {
            in_order.push((record.clone(), text.to_owned()));
            Ok(())
        })
        .expect("list order");
    let mut keyed = Vec::new();
    store
        .for_each_user_in_any_order(&mut |key, record, text| {
            if keyed.len() < 1_200 {
                std::thread::sleep(Duration::from_micros(100));
            }
            keyed.push((key.to_vec(), record.clone(), text.to_owned()));
            Ok(())
        })
        .expect("any order");
    keyed.sort_by(|a, b| a.0.cmp(&b.0));
    let any_order: Vec<_> = keyed.into_iter().map(|(_, record, text)| (record, text)).collect();
    assert_eq!(any_order.len(), 2_000);
    assert_eq!(any_order, in_order);
}

/// The merge join where the tables disagree (an older or damaged file): a user without a
/// customData row has the empty document, as a lookup gives it, and a customData row
/// without a user is passed over — before the first user, between two, after the last.
#[test]
fn the_any_order_read_gives_what_the_list_order_read_gives_where_the_tables_disagree() {
    let dir = tempfile::tempdir().expect("temp dir");
    let text = "{\"id\":\"u1\",\"customData\":{\"a\":1}}\n{\"id\":\"u3\",\"customData\":{\"b\":2}}\n{\"id\":\"u5\",\"customData\":{\"c\":3}}";
    let store = crate::store::test_store(dir.path(), text);
    let tx = store.write().expect("write");
    {
        let mut documents = tx.open_table(CUSTOM_DATA).expect("table");
        documents.remove("u3").expect("remove");
        for orphan in ["u0", "u2", "u4", "u9"] {
            documents.insert(orphan, "{\"orphan\":true}").expect("insert");
        }
    }
    tx.commit().expect("commit");
    let mut in_order = Vec::new();
    store
        .for_each_user(&mut |record, text| {
            in_order.push((record.user.id.clone(), text.to_owned()));
            Ok(())
        })
        .expect("list order");
    let mut any_order = Vec::new();
    store
        .for_each_user_in_any_order(&mut |key, record, text| {
            any_order.push((key.to_vec(), record.user.id.clone(), text.to_owned()));
            Ok(())
        })
        .expect("any order");
    any_order.sort();
    let any_order: Vec<_> = any_order.into_iter().map(|(_, id, text)| (id, text)).collect();
    assert_eq!(any_order, in_order);
    assert_eq!(
        in_order,
        [("u1", "{\"a\":1}"), ("u3", "{}"), ("u5", "{\"c\":3}")]
            .map(|(id, text)| (id.to_owned(), text.to_owned()))
    );
}
