//! A save on PostgreSQL held to a document the screen did not read from the user's row (a
//! recovered draft's base): held to the moment this session read that same document, else
//! to the document alone.

use custodian::store::StoredDocument;

use super::*;

/// `document` as a draft keeps it: its text and revision, not the moment it was read.
fn not_from_the_row(document: &StoredDocument) -> StoredDocument {
    StoredDocument { text: document.text.clone(), revision: document.revision, updated_micros: None }
}

#[test]
fn a_save_held_to_the_document_last_read_keeps_the_moment_it_was_read_at() {
    let db = logto_with_people();
    let store = connect(&db.tenant_url("default"), "default").expect("connect");
    let base = store.custom_data("u2").expect("read");
    assert!(base.updated_micros.is_some(), "read from the row");
    // A sign-in moves updated_at and leaves customData alone.
    db.superuser()
        .execute("update users set last_sign_in_at = now() where tenant_id = 'default' and id = 'u2'", &[])
        .expect("a sign-in");
    // The draft's base is the document read: the save is still held to the moment it was read.
    store.hold_save_to("u2", &not_from_the_row(&base));
    let error = store.replace_custom_data("u2", &data(r#"{"plan":"pro"}"#), Some(base.revision), &author());
    assert!(matches!(error, Err(StoreError::ChangedOutside { .. })), "{error:?}");
    assert_eq!(store.custom_data("u2").expect("read").text, "{}", "nothing written");
}

#[test]
fn a_save_held_to_another_document_of_the_same_revision_is_held_to_that_document() {
    let db = logto_with_people();
    let store = connect(&db.tenant_url("default"), "default").expect("connect");
    // The draft was made over `{}`; Logto's database keeps no revision for an outside write
    // when custodian has none yet, so the document written since is revision 1 as well.
    let base = store.custom_data("u2").expect("read");
    db.superuser()
        .execute("update users set custom_data = '{\"x\":1}' where tenant_id = 'default' and id = 'u2'", &[])
        .expect("outside write");
    let now = store.custom_data("u2").expect("read again");
    let theirs = data(r#"{"x":1}"#).canonical().to_owned();
    assert_eq!((now.revision, now.text.as_str()), (base.revision, theirs.as_str()));
    // Held to the draft's base, not to what this session read last: a conflict, theirs kept.
    store.hold_save_to("u2", &not_from_the_row(&base));
    let error = store.replace_custom_data("u2", &data(r#"{"plan":"pro"}"#), Some(base.revision), &author());
    assert!(matches!(error, Err(StoreError::ChangedOutside { .. })), "{error:?}");
    assert_eq!(store.custom_data("u2").expect("read").text, theirs, "theirs kept");
    // Held to what it read last, the same save lands.
    store.hold_save_to("u2", &not_from_the_row(&now));
    let saved = store.replace_custom_data("u2", &data(r#"{"plan":"pro"}"#), Some(now.revision), &author());
    assert!(matches!(saved, Ok(SaveOutcome::Saved { .. })), "{saved:?}");
}
