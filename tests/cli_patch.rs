//! `custodian patch` and `custodian undo` through the real binary: the dry run writes nothing
//! and says what would happen; `--yes` writes one batch that `history` tags and `undo` takes
//! back (an undo is a batch too); bad patches and unknown batches are one line and nothing
//! written. Every run gets its own HOME and XDG directories.

mod support;

use std::path::PathBuf;

use support::home::PrivateHome;
use support::run::Run;

const PEOPLE: &str = r#"{"id":"u1","username":"alice","customData":{"plan":"free","a/b":1,"c~d":2}}
{"id":"u2","username":"bob","primaryEmail":"bob@example.com","customData":{"plan":"pro"}}
{"id":"u3","username":"carol","customData":{}}
{"id":"u4","username":"dave","customData":{"plan":"free","team":"red"}}
"#;

const FREE_TO_TEAM: &str =
    r#"[{"op":"test","path":"/plan","value":"free"},{"op":"replace","path":"/plan","value":"team"}]"#;

struct Sandbox {
    home: PrivateHome,
    db: PathBuf,
}

impl Sandbox {
    fn new() -> Self {
        let home = PrivateHome::new(&[]);
        let db = home.path("people.redb");
        let sandbox = Self { home, db };
        sandbox.on(&["init"]).ok();
        let people = sandbox.file("people.jsonl", PEOPLE);
        sandbox.on(&["import", &people]).ok();
        sandbox
    }

    fn on(&self, args: &[&str]) -> Run {
        self.home.run_on(&self.db, args, Some(b""))
    }

    fn file(&self, name: &str, text: &str) -> String {
        self.home.write(name, text)
    }

    fn get(&self, user: &str) -> String {
        self.on(&["get", user]).ok().stdout
    }

    fn revisions(&self, user: &str) -> usize {
        self.on(&["history", user]).ok().stdout.lines().skip(1).count()
    }

    /// Every user's document, to show that nothing was written.
    fn everything(&self) -> Vec<String> {
        ["u1", "u2", "u3", "u4"].iter().map(|u| format!("{} {}", self.revisions(u), self.get(u))).collect()
    }

    /// The batch id on the first line of `patch --yes` or `undo`.
    fn batch_of(run: &Run) -> String {
        run.stdout.split_whitespace().nth(1).map(|b| b.trim_end_matches(':').to_owned()).expect("a batch id")
    }

    /// A patch file named `name` that sets `/key` to `value`.
    fn setting(&self, name: &str, key: &str, value: u8) -> String {
        self.file(name, &format!(r#"[{{"op":"add","path":"/{key}","value":{value}}}]"#))
    }

    /// The undo batch `undo BATCH` wrote, every user of `batch` restored.
    fn undone(&self, batch: &str) -> String {
        Self::batch_of(&self.on(&["undo", batch]).ok())
    }

    /// The batch `patch FILE SELECTION --yes` wrote.
    fn patched(&self, file: &str, selection: &[&str]) -> String {
        let args: Vec<&str> =
            ["patch", file].into_iter().chain(selection.iter().copied()).chain(["--yes"]).collect();
        Self::batch_of(&self.on(&args).ok())
    }
}

#[test]
fn the_dry_run_counts_groups_failures_shows_diffs_and_writes_nothing() {
    let sandbox = Sandbox::new();
    let before = sandbox.everything();
    let patch = sandbox.file("patch.json", FREE_TO_TEAM);
    let run = sandbox.on(&["patch", &patch, "--all"]).ok();
    assert!(run.stdout.contains("4 users matched"), "{}", run.stdout);
    assert!(run.stdout.contains("2 users would change"), "{}", run.stdout);
    assert!(run.stdout.contains("2 users cannot be patched"), "{}", run.stdout);
    assert!(
        run.stdout.contains(r#"operation 0 (test "/plan"): value did not match: 1 user (u2)"#),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains(r#"operation 0 (test "/plan"): path is invalid: 1 user (u3)"#),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains("--- user u1 (alice), revision 1 → 2"), "{}", run.stdout);
    assert!(run.stdout.contains(r#"-   "plan": "free","#), "{}", run.stdout);
    assert!(run.stdout.contains(r#"+   "plan": "team","#), "{}", run.stdout);
    assert!(
        run.stdout.contains("to apply: the same command with --yes ("),
        "says how to apply: {}",
        run.stdout
    );
    assert_eq!(sandbox.everything(), before);
    // --dry-run wins over --yes, and the way to apply is then to leave it out.
    let both = sandbox.on(&["patch", &patch, "--all", "--yes", "--dry-run"]).ok();
    assert!(both.stdout.contains("to apply: the same command without --dry-run ("), "{}", both.stdout);
    assert_eq!(sandbox.everything(), before);
}

#[test]
fn yes_writes_one_batch_that_history_tags_and_undo_takes_back() {
    let sandbox = Sandbox::new();
    let before = sandbox.everything();
    let patch = sandbox.file("patch.json", FREE_TO_TEAM);
    let run = sandbox.on(&["patch", &patch, "--all", "--yes"]).ok();
    let batch = Sandbox::batch_of(&run);
    assert!(batch.starts_with('b'), "{}", run.stdout);
    assert!(run.stdout.contains("saved 2 users of 4 users"), "{}", run.stdout);
    assert!(sandbox.get("alice").contains(r#""plan": "team""#));
    assert!(sandbox.get("dave").contains(r#""plan": "team""#));
    assert_eq!(sandbox.revisions("bob"), 1, "a user the patch cannot apply to is left as is");
    let history = sandbox.on(&["history", "alice"]).ok().stdout;
    assert!(history.lines().last().is_some_and(|l| l.contains(&format!("batch {batch}"))), "{history}");

    // An undo is held to no schema: a `--schema` file (missing, or one) is refused, not
    // taken without a word, and nothing is written (bb30 T02).
    for schema in ["/nonexistent/schema.json", &patch] {
        let refused = sandbox.on(&["--schema", schema, "undo", &batch]).fails(2);
        assert!(refused.contains("undo is held to no schema") && refused.contains(schema), "{refused}");
        assert!(sandbox.get("alice").contains(r#""plan": "team""#), "nothing written");
    }
    let undo = sandbox.on(&["undo", &batch]).ok();
    assert!(undo.stdout.contains(&format!("restored 2 users of batch {batch}")), "{}", undo.stdout);
    let undo_batch = Sandbox::batch_of(&undo);
    assert!(sandbox.get("alice").contains(r#""plan": "free""#));
    assert_eq!(sandbox.revisions("alice"), 3, "the undo is a new revision, nothing rewritten");
    let documents: Vec<_> = sandbox.everything().iter().map(|d| d[2..].to_owned()).collect();
    let originals: Vec<_> = before.iter().map(|d| d[2..].to_owned()).collect();
    assert_eq!(documents, originals);

    // The undo is a batch: undoing it brings the patch back.
    sandbox.on(&["undo", &undo_batch]).ok();
    assert!(sandbox.get("alice").contains(r#""plan": "team""#));
}

#[test]
fn undo_leaves_users_saved_since_alone_lists_them_and_exits_5_after_restoring_the_rest() {
    let sandbox = Sandbox::new();
    let patch = sandbox.file("patch.json", FREE_TO_TEAM);
    let batch = Sandbox::batch_of(&sandbox.on(&["patch", &patch, "--all", "--yes"]).ok());
    let later = sandbox.file("later.json", r#"{"plan":"team","note":"by hand"}"#);
    sandbox.on(&["set", "dave", &later]).ok();
    let undo = sandbox.on(&["undo", &batch]);
    assert!(undo.stdout.contains("restored 1 user"), "{}", undo.stdout);
    assert!(undo.stdout.contains("u4 now at revision 3"), "{}", undo.stdout);
    let line = undo.fails(5);
    assert!(line.contains("1 user of batch"), "{line}");
    assert!(sandbox.get("alice").contains(r#""plan": "free""#), "the rest was restored");
    assert!(sandbox.get("dave").contains("by hand"), "the later save is kept");
    assert!(line.contains("the rest were restored"), "{line}");
    // The same batch again: its users were all saved since (by that undo): nothing restored,
    // and the last line says so instead of "the rest were restored".
    let again = sandbox.on(&["undo", &batch]);
    assert!(
        again.stdout.contains("nothing restored") && again.stdout.contains("an earlier undo of this one"),
        "{}",
        again.stdout
    );
    assert!(!again.stdout.contains("undone last first"), "an undo of it is not a batch to undo first");
    let line = again.fails(5);
    assert!(line.contains("2 users of batch") && line.contains("nothing was restored"), "{line}");
}

/// bb21 L05: `undo A` under a later batch B refused everyone blaming "an undo of it"; it now
/// names B on each line and says to undo B first.
#[test]
fn undo_of_a_batch_under_a_later_one_names_the_later_batch_to_undo_first() {
    let sandbox = Sandbox::new();
    let db = sandbox.db.display();
    let a = Sandbox::batch_of(
        &sandbox.on(&["patch", &sandbox.file("a.json", FREE_TO_TEAM), "--all", "--yes"]).ok(),
    );
    let add = sandbox.file("b.json", r#"[{"op":"add","path":"/later","value":1}]"#);
    let b = Sandbox::batch_of(&sandbox.on(&["patch", &add, "--all", "--yes"]).ok());
    let refused = sandbox.on(&["undo", &a]);
    assert!(refused.stdout.contains(&format!("now at revision 3 (batch {b})")), "{}", refused.stdout);
    assert!(
        refused.stdout.contains(&format!(
            "batches are undone last first — `custodian --db {db} undo {b}`, then this one"
        )),
        "{}",
        refused.stdout
    );
    refused.fails(5);
    sandbox.on(&["undo", &b]).ok();
    assert!(sandbox.on(&["undo", &a]).ok().stdout.contains("restored"));
    assert!(sandbox.get("alice").contains(r#""plan": "free""#));
    // Undone twice: the batch on top is the undo of it, not one to undo first.
    let again = sandbox.on(&["undo", &a]);
    assert!(
        again.stdout.contains("put them back to the documents from before this one already"),
        "{}",
        again.stdout
    );
    assert!(!again.stdout.contains("undone last first"), "{}", again.stdout);
    again.fails(5);
}

/// bb81 F2: patch A, undo A, patch B writing the same documents, then `undo A` retried: it
/// took back B's saves under A's name, exit 0, and `undo B` then called A's second undo "an
/// undo of this one". The retry restores no one and names B; B's own undo restores them.
#[test]
fn a_retried_undo_of_a_batch_written_again_since_names_the_later_batch_and_takes_nothing_back() {
    let sandbox = Sandbox::new();
    let db = sandbox.db.display();
    let flag = sandbox.file("flag.json", r#"[{"op":"add","path":"/flag","value":true}]"#);
    let a = Sandbox::batch_of(&sandbox.on(&["patch", &flag, "--all", "--yes"]).ok());
    sandbox.on(&["undo", &a]).ok();
    let b = Sandbox::batch_of(&sandbox.on(&["patch", &flag, "--all", "--yes"]).ok());
    let retried = sandbox.on(&["undo", &a]);
    assert!(
        retried.stdout.contains(&format!(
            "this batch was taken back already (an undo of it restored them), and batch {b} wrote its documents again since: `custodian --db {db} undo {b}` takes those back"
        )),
        "{}",
        retried.stdout
    );
    assert!(!retried.stdout.contains("restored 4 users"), "{}", retried.stdout);
    retried.fails(5);
    assert!(sandbox.get("alice").contains(r#""flag": true"#), "B's save stays");
    let undone_b = sandbox.on(&["undo", &b]).ok();
    assert!(
        undone_b.stdout.contains(&format!("of batch {b} to the revision before it")),
        "{}",
        undone_b.stdout
    );
    assert!(!sandbox.get("alice").contains("flag"));
}

/// bb81 F7: a `--users` list that names no one (an empty file, blank lines) said "no changes",
/// exit 0, as if the patch had changed nobody: the selection went wrong, and is refused so.
#[test]
fn a_users_list_that_names_no_one_is_refused_as_no_selection() {
    let sandbox = Sandbox::new();
    let flag = sandbox.file("flag.json", r#"[{"op":"add","path":"/flag","value":true}]"#);
    let empty = sandbox.file("empty.txt", "");
    let blank = sandbox.file("blank.txt", "\n  \n");
    for list in [&empty, &blank] {
        let refused = sandbox.on(&["patch", &flag, "--users", list, "--yes"]).fails(2);
        assert!(refused.starts_with("custodian: --users names no user: there is no name in "), "{refused}");
    }
    assert!(!sandbox.get("alice").contains("flag"));
}

/// bb82 F3: A on every user, its undo, then B writing A's documents again on two of them and
/// one saved by hand: the advice said "`custodian undo B`, then this one", though an undo of A
/// again restores none of those.
#[test]
fn undo_advice_never_says_then_this_one_for_a_batch_taken_back_already() {
    let sandbox = Sandbox::new();
    let db = sandbox.db.display();
    let two = sandbox.file("two.json", r#"[{"op":"add","path":"/x","value":2}]"#);
    let a = Sandbox::batch_of(&sandbox.on(&["patch", &two, "--all", "--yes"]).ok());
    sandbox.on(&["undo", &a]).ok();
    let some = sandbox.file("some.txt", "u1\nu2\n");
    let b = Sandbox::batch_of(&sandbox.on(&["patch", &two, "--users", &some, "--yes"]).ok());
    sandbox.on(&["set", "u3", &sandbox.file("mine.json", r#"{"mine": true}"#)]).ok();
    let again = sandbox.on(&["undo", &a]);
    assert!(again.stdout.contains(&format!("`custodian --db {db} undo {b}`")), "{}", again.stdout);
    assert!(!again.stdout.contains("then this one"), "{}", again.stdout);
    assert!(again.stdout.contains("this batch was taken back already"), "{}", again.stdout);
    again.fails(5);
}

/// bb83 F1: batches A, B, C over the same users, then `undo C` (U, which put them back to B's
/// documents): `undo A` said "`custodian undo U`, then this one", and following it wrote C's
/// documents again as a new batch, which `undo A` then named, round and round; B was never
/// named. The batch that wrote the documents the users hold is named, and its undo works.
#[test]
fn undo_names_the_batch_whose_documents_a_later_undo_put_back_not_the_undo() {
    let sandbox = Sandbox::new();
    let db = sandbox.db.display();
    let a = sandbox.patched(&sandbox.setting("a.json", "a", 1), &["--all"]);
    let b = sandbox.patched(&sandbox.setting("b.json", "b", 1), &["--all"]);
    let c = sandbox.patched(&sandbox.setting("c.json", "c", 1), &["--all"]);
    let u = sandbox.undone(&c);
    let refused = sandbox.on(&["undo", &a]);
    let said = format!(
        "batch {u} put them back to the documents batch {b} wrote: batches are undone last first — `custodian --db {db} undo {b}`, then this one"
    );
    assert!(refused.stdout.contains(&said), "{}", refused.stdout);
    refused.fails(5);
    sandbox.on(&["undo", &b]).ok();
    sandbox.on(&["undo", &a]).ok();
    assert!(
        sandbox.get("u2").contains(r#""plan": "pro""#) && !sandbox.get("u2").contains(r#""a""#),
        "{}",
        sandbox.get("u2")
    );
}

/// bb84 F4: A, B, `undo B` (U1), `undo U1` (U2, B's documents again): `undo A` named B, whose
/// undo is refused (taken back already); U2 is the batch on top, and following the advice to
/// the end takes every user back.
#[test]
fn undo_names_the_undo_that_wrote_a_batchs_documents_again_when_that_batch_was_taken_back() {
    let sandbox = Sandbox::new();
    let db = sandbox.db.display();
    let a = sandbox.patched(&sandbox.setting("one.json", "a", 1), &["--all"]);
    let b = sandbox.patched(&sandbox.setting("two.json", "a", 2), &["--all"]);
    let u1 = sandbox.undone(&b);
    let u2 = sandbox.undone(&u1);
    let refused = sandbox.on(&["undo", &a]);
    let said = format!(
        "batch {u2} saved them since: batches are undone last first — `custodian --db {db} undo {u2}`, then this one"
    );
    assert!(refused.stdout.contains(&said), "{}", refused.stdout);
    refused.fails(5);
    sandbox.on(&["undo", &u2]).ok();
    sandbox.on(&["undo", &a]).ok();
    assert!(!sandbox.get("u2").contains(r#""a""#), "{}", sandbox.get("u2"));
}

/// bb84 F5: A on all, B on some, `undo B`, C on others, then `undo A` (its undo UA restores
/// B's users): `undo B` said UA "wrote its documents again" (UA wrote those from before A),
/// and following it took back half of `undo A`. Nothing of B is on them: said so, no undo named.
#[test]
fn undo_of_a_batch_taken_back_and_saved_over_with_other_documents_names_no_undo() {
    let sandbox = Sandbox::new();
    let db = sandbox.db.display();
    let first_two = sandbox.file("first_two.txt", "u1\nu2\n");
    let last_two = sandbox.file("last_two.txt", "u3\nu4\n");
    let a = sandbox.patched(&sandbox.setting("one.json", "a", 1), &["--all"]);
    let b = sandbox.patched(&sandbox.setting("two.json", "a", 2), &["--users", &first_two]);
    sandbox.on(&["undo", &b]).ok();
    sandbox.on(&["patch", &sandbox.setting("two.json", "a", 2), "--users", &last_two, "--yes"]).ok();
    let undo_of_a = sandbox.on(&["undo", &a]);
    let ua = Sandbox::batch_of(&undo_of_a);
    undo_of_a.fails(5);
    let refused = sandbox.on(&["undo", &b]);
    let said = format!(
        "this batch was taken back already (an undo of it restored them), and batch {ua} saved other documents since: nothing of this batch is left on them to take back"
    );
    assert!(refused.stdout.contains(&said), "{}", refused.stdout);
    assert!(!refused.stdout.contains(&format!("`custodian --db {db} undo {ua}`")), "{}", refused.stdout);
    refused.fails(5);
}

/// bb84 F6: A, B, C over the same users: `undo A` named C alone, "then this one", and B only
/// after C's undo. Each batch between is named, the last first, and followed it works.
#[test]
fn undo_under_a_stack_of_batches_names_each_the_last_first() {
    let sandbox = Sandbox::new();
    let db = sandbox.db.display();
    let a = sandbox.patched(&sandbox.setting("a.json", "a", 1), &["--all"]);
    let b = sandbox.patched(&sandbox.setting("b.json", "b", 1), &["--all"]);
    let c = sandbox.patched(&sandbox.setting("c.json", "c", 1), &["--all"]);
    let refused = sandbox.on(&["undo", &a]);
    let said = format!(
        "batches {c}, {b} saved them since: batches are undone last first — `custodian --db {db} undo {c}`, then `custodian --db {db} undo {b}`, then this one"
    );
    assert!(refused.stdout.contains(&said), "{}", refused.stdout);
    refused.fails(5);
    for batch in [&c, &b, &a] {
        sandbox.on(&["undo", batch]).ok();
    }
    assert!(
        sandbox.get("u2").contains(r#""plan": "pro""#) && !sandbox.get("u2").contains(r#""a""#),
        "{}",
        sandbox.get("u2")
    );
}

/// bb85 F2: A, B, C on one user, then a `set` that writes B's document again: `undo A` named
/// B ("then this one"), whose undo is refused (the `set` is a change), and then named B again.
/// A save outside a batch puts nothing back: no batch is named for it.
#[test]
fn a_save_outside_a_batch_that_writes_a_batchs_document_again_names_no_batch() {
    let sandbox = Sandbox::new();
    let db = sandbox.db.display();
    let one = sandbox.file("one.txt", "u2\n");
    let a = sandbox.patched(&sandbox.setting("a.json", "k1", 1), &["--users", &one]);
    let b = sandbox.patched(&sandbox.setting("b.json", "k2", 1), &["--users", &one]);
    let written_by_b = sandbox.file("b-doc.json", &sandbox.get("u2"));
    sandbox.on(&["patch", &sandbox.setting("c.json", "k3", 1), "--users", &one, "--yes"]).ok();
    sandbox.on(&["set", "u2", &written_by_b]).ok();
    let refused = sandbox.on(&["undo", &a]);
    assert!(!refused.stdout.contains(&format!("`custodian --db {db} undo {b}`")), "{}", refused.stdout);
    refused.fails(5);
}

/// bb85 F4: A on four users, B over one of them, `undo A` (U1, which leaves that one under B),
/// `undo U1` (A's documents again on the other three): the advice named the batches on top
/// without "then this one", as A were taken back from every user, and A's change stayed on the
/// one under B, unsaid. Taken back from some only: "then this one" is kept, and said why.
#[test]
fn undo_advice_keeps_then_this_one_for_the_users_the_batch_was_not_taken_back_from() {
    let sandbox = Sandbox::new();
    let db = sandbox.db.display();
    let a = sandbox.patched(&sandbox.setting("a.json", "k1", 1), &["--all"]);
    let one = sandbox.file("one.txt", "u2\n");
    let b = sandbox.patched(&sandbox.setting("b.json", "k2", 1), &["--users", &one]);
    let undo_of_a = sandbox.on(&["undo", &a]);
    let u1 = Sandbox::batch_of(&undo_of_a);
    undo_of_a.fails(5);
    sandbox.on(&["undo", &u1]).ok();
    let refused = sandbox.on(&["undo", &a]);
    assert!(refused.stdout.contains(&format!("`custodian --db {db} undo {b}`")), "{}", refused.stdout);
    assert!(refused.stdout.contains("then this one"), "{}", refused.stdout);
    refused.fails(5);
    // Followed to the end, A's change is gone from every user; the last undo of A (exit 5
    // still: the users the first named undo put back are listed as put back already) restores
    // the one under B.
    let said = follow_undo_advice(&sandbox, &a);
    assert!(said.last().is_some_and(|last| last.contains("restored 1 user of batch")), "{said:#?}");
    for user in ["u1", "u2", "u3", "u4"] {
        assert!(!sandbox.get(user).contains(r#""k1""#), "{user}: {}", sandbox.get(user));
    }
}

/// bb82 F4: `undo A` again, its users left alone being those its own first undo put back and
/// one saved by `set`: no note said why (each cause is named when a later batch is among them).
/// Each part names its users when they are few (which users a count was about: bb86 F6).
#[test]
fn undo_again_names_its_own_earlier_undo_and_the_save_outside_a_batch() {
    let sandbox = Sandbox::new();
    let a = sandbox.patched(&sandbox.setting("a.json", "x", 1), &["--all"]);
    let first_two = sandbox.file("first_two.txt", "u1\nu2\n");
    let b = sandbox.patched(&sandbox.setting("b.json", "y", 1), &["--users", &first_two]);
    sandbox.on(&["set", "u3", &sandbox.file("mine.json", r#"{"mine": true}"#)]).ok();
    let undo_of_a = sandbox.on(&["undo", &a]);
    let u = Sandbox::batch_of(&undo_of_a);
    undo_of_a.fails(5);
    sandbox.on(&["undo", &b]).ok();
    let again = sandbox.on(&["undo", &a]);
    let said = format!(
        "1 of the 2 listed (u4) was put back already by batch {u}, an undo of this one; the other user listed (u3) was saved outside a batch since (or deleted), which no undo takes back"
    );
    assert!(again.stdout.contains(&said), "{}", again.stdout);
    again.fails(5);
}

/// An undo named in the advice takes its batch back from every user it saved, not only from
/// those listed: the note says how many the batch saved when it saved more than were listed
/// (bb86's round trips: a later batch named for one user of A, undone, took back what it
/// saved on users A never touched, unsaid).
#[test]
fn undo_advice_says_how_many_users_a_batch_it_names_saved_when_more_than_listed() {
    let sandbox = Sandbox::new();
    let db = sandbox.db.display();
    let alice = sandbox.file("alice.txt", "u1\n");
    let a = sandbox.patched(&sandbox.setting("a.json", "a", 1), &["--users", &alice]);
    let c = sandbox.patched(&sandbox.setting("c.json", "c", 1), &["--all"]);
    let refused = sandbox.on(&["undo", &a]);
    let expected = format!(
        "batch {c} saved it since: batches are undone last first — `custodian --db {db} undo {c}`, then this one; an undo takes its batch back from every user of it that still holds it, not only from those listed here: batch {c} saved 4 users (`custodian changes --batch {c}` lists them)"
    );
    assert!(refused.stdout.contains(&expected), "{}", refused.stdout);
    refused.fails(5);

    // A batch that saved only the users listed: nothing more to say.
    let b = sandbox.patched(&sandbox.setting("b.json", "b", 1), &["--users", &alice]);
    let d = sandbox.patched(&sandbox.setting("d.json", "d", 1), &["--users", &alice]);
    let refused = sandbox.on(&["undo", &b]);
    assert!(
        refused.stdout.contains(&format!("`custodian --db {db} undo {d}`, then this one")),
        "{}",
        refused.stdout
    );
    assert!(!refused.stdout.contains("not only from those listed"), "{}", refused.stdout);
    refused.fails(5);
}

/// bb72 F2: `undo A` with its users under two later batches and one saved by `set` said
/// nothing of the batches to undo first: it did only when one batch held every user listed.
#[test]
fn undo_of_a_batch_under_several_later_ones_names_each_to_undo_last_first() {
    let sandbox = Sandbox::new();
    let db = sandbox.db.display();
    let a = sandbox.patched(&sandbox.setting("a.json", "a", 1), &["--all"]);
    sandbox.on(&["set", "bob", &sandbox.file("bob.json", r#"{"plan":"mine"}"#)]).ok();
    let alice = sandbox.file("alice.txt", "u1\n");
    let c = sandbox.patched(&sandbox.setting("c.json", "c", 1), &["--users", &alice]);
    let dave = sandbox.file("dave.txt", "u4\n");
    let d = sandbox.patched(&sandbox.setting("d.json", "d", 1), &["--users", &dave]);
    let refused = sandbox.on(&["undo", &a]);
    let expected = format!(
        "batches {d}, {c} saved 2 of the 3 listed (u1, u4) since: batches are undone last first — `custodian --db {db} undo {d}`, then `custodian --db {db} undo {c}`, then this one; the other user listed (u2) was saved outside a batch since (or deleted), which no undo takes back"
    );
    assert!(refused.stdout.contains(&expected), "{}", refused.stdout);
    refused.fails(5);
    // Undone as it says, the batches go back; bob's own save stays.
    sandbox.on(&["undo", &d]).ok();
    sandbox.on(&["undo", &c]).ok();
    let again = sandbox.on(&["undo", &a]);
    assert!(again.stdout.contains("u2 now at revision 3"), "{}", again.stdout);
    assert!(
        !again.stdout.contains("undone last first"),
        "only a single save is left on top: {}",
        again.stdout
    );
    again.fails(5);
}

/// bb60 F2: `undo U` of an undo already undone by V, over more users than are looked up, said
/// V "restored the first 20 listed already", as though it restored only those.
#[test]
fn undo_of_an_undone_undo_of_many_users_says_only_the_first_were_looked_up() {
    let sandbox = Sandbox::new();
    sandbox.on(&["seed", "--users", "1100"]).ok();
    let add = sandbox.file("many.json", r#"[{"op":"add","path":"/many","value":1}]"#);
    let b = Sandbox::batch_of(&sandbox.on(&["patch", &add, "--all", "--yes"]).ok());
    let u = sandbox.undone(&b);
    let v = sandbox.undone(&u);
    let again = sandbox.on(&["undo", &u]);
    // The first 20, and more while it takes under 2 s, up to 1,000 (bb86 F3, bb87 N1).
    let looked: usize = again
        .stdout
        .split(&format!("batch {v} put the first "))
        .nth(1)
        .and_then(|rest| rest.split(' ').next()?.parse().ok())
        .unwrap_or_else(|| panic!("how many were looked up: {}", again.stdout));
    assert!((20..=1_000).contains(&looked), "{looked}");
    let said = format!(
        "batch {v} put the first {looked} listed back to the documents from before this one already (only those were looked up; `custodian changes --batch {v}` lists every user it saved)"
    );
    assert!(again.stdout.contains(&said), "{}", again.stdout);
    // The lines of the users not looked up say so before them (bb86 F4), and each still names
    // the batch it is at, as the store found it (bb87 N5: without one they read as saved
    // outside a batch).
    let note = "  (the users below were not looked up for the note after this list: `custodian history ID` shows how each came to its revision)\n";
    assert_eq!(again.stdout.matches(note).count(), 1, "{}", again.stdout);
    let after_note = again.stdout.split(note).nth(1).expect("the note");
    let at_v = format!("(batch {v})");
    let lines: Vec<&str> = after_note.lines().filter(|line| line.contains("now at revision")).collect();
    assert_eq!(lines.len(), 1_104 - looked);
    assert!(lines.iter().all(|line| line.ends_with(&at_v)), "{}", again.stdout);
    again.fails(5);
}

#[test]
fn strict_writes_nothing_when_any_user_cannot_be_patched() {
    let sandbox = Sandbox::new();
    let before = sandbox.everything();
    let patch = sandbox.file("patch.json", FREE_TO_TEAM);
    let line = sandbox.on(&["patch", &patch, "--all", "--yes", "--strict"]).fails(4);
    assert!(line.contains("user u2") && line.contains("--strict: nothing was written"), "{line}");
    assert_eq!(sandbox.everything(), before);
}

#[test]
fn search_and_a_users_file_choose_the_users() {
    let sandbox = Sandbox::new();
    let patch = sandbox.file("patch.json", r#"[{"op":"add","path":"/flag","value":true}]"#);
    let run = sandbox.on(&["patch", &patch, "--search", "dave", "--yes"]).ok();
    assert!(run.stdout.contains("saved 1 user of 1 user"), "{}", run.stdout);
    assert!(sandbox.get("dave").contains("flag"));
    assert!(!sandbox.get("alice").contains("flag"));

    let list = sandbox.file("users.txt", "alice\n\nbob@example.com\nid:u1\n");
    let run = sandbox.on(&["patch", &patch, "--users", &list, "--yes"]).ok();
    assert!(run.stdout.contains("saved 2 users of 2 users"), "alice once, and bob: {}", run.stdout);
    assert!(sandbox.get("bob").contains("flag"));
    assert!(!sandbox.get("carol").contains("flag"));
}

#[test]
fn an_unknown_user_in_the_users_file_names_its_line_and_writes_nothing() {
    let sandbox = Sandbox::new();
    let before = sandbox.everything();
    let patch = sandbox.file("patch.json", r#"[{"op":"add","path":"/flag","value":true}]"#);
    let list = sandbox.file("users.txt", "alice\nnobody\n");
    let line = sandbox.on(&["patch", &patch, "--users", &list, "--yes"]).fails(3);
    assert!(line.contains("users.txt line 2") && line.contains("nobody"), "{line}");
    assert_eq!(sandbox.everything(), before);
    // A byte-order mark was looked up as part of the first name (bb14 L15).
    let list = sandbox.file("bom.txt", "\u{feff}alice\n");
    let line = sandbox.on(&["patch", &patch, "--users", &list, "--yes"]).fails(4);
    assert!(
        line.ends_with(
            "bom.txt line 1: starts with a byte-order mark (U+FEFF: remove it), not a user reference"
        ),
        "{line}"
    );
    assert_eq!(sandbox.everything(), before);
}

#[test]
fn a_users_file_is_read_a_bounded_line_at_a_time() {
    // `--users /dev/zero` was read whole until memory ran out; a line is now read to 4 KiB and
    // one byte more, and the file a line at a time (CRLF and a last line without a break too).
    let sandbox = Sandbox::new();
    let before = sandbox.everything();
    let patch = sandbox.file("patch.json", r#"[{"op":"add","path":"/flag","value":true}]"#);
    let line = sandbox.on(&["patch", &patch, "--users", "/dev/zero", "--yes"]).fails(4);
    assert!(
        line.contains("/dev/zero line 1: longer than 4 KiB (reading stopped there), not a user reference"),
        "{line}"
    );
    let binary = sandbox.file("binary.txt", "alice\n\u{0}\u{ff}\n");
    std::fs::write(&binary, b"alice\n\xff\xfe\n").unwrap();
    let line = sandbox.on(&["patch", &patch, "--users", &binary, "--yes"]).fails(4);
    assert!(line.contains("binary.txt line 2: not valid UTF-8, not a user reference"), "{line}");
    assert_eq!(sandbox.everything(), before);
    let list = sandbox.file("users.txt", "alice\r\n\r\n  bob  \nalice\ncarol");
    let run = sandbox.on(&["patch", &patch, "--users", &list, "--dry-run"]).ok();
    assert!(run.stdout.contains("3 users match"), "{}", run.stdout);
}

#[test]
fn results_that_break_the_schema_or_hold_secrets_are_left_alone() {
    let sandbox = Sandbox::new();
    let schema =
        sandbox.file("schema.json", r#"{"type":"object","properties":{"plan":{"enum":["free","pro"]}}}"#);
    sandbox.on(&["schema", "set", &schema]).ok();
    let patch = sandbox.file("patch.json", FREE_TO_TEAM);
    let run = sandbox.on(&["patch", &patch, "--all", "--yes"]).ok();
    assert!(run.stdout.contains("no changes"), "{}", run.stdout);
    assert!(run.stdout.contains("does not satisfy the schema: plan"), "{}", run.stdout);
    sandbox.on(&["schema", "clear"]).ok();

    let secret = sandbox.file("secret.json", r#"[{"op":"add","path":"/password","value":"hunter2hunter2"}]"#);
    let run = sandbox.on(&["patch", &secret, "--search", "carol", "--yes"]).ok();
    assert!(run.stdout.contains("looks like it holds secrets"), "{}", run.stdout);
    assert_eq!(sandbox.revisions("carol"), 1);
    let run = sandbox.on(&["patch", &secret, "--search", "carol", "--yes", "--allow-sensitive"]).ok();
    assert!(run.stderr.contains("warning: stored what looks like secrets"), "{}", run.stderr);
    assert_eq!(sandbox.revisions("carol"), 2);
    // Many users: the first are named, the rest counted (it named three and said no more: bb72 F4).
    let more: String = (0..12).map(|n| format!("{{\"id\":\"s{n}\",\"username\":\"s{n}\"}}\n")).collect();
    let more = sandbox.file("more.jsonl", &more);
    sandbox.on(&["import", &more]).ok();
    // The dry run counts them too (bb76 F7).
    let dry = sandbox.on(&["patch", &secret, "--all", "--allow-sensitive"]).ok();
    let line =
        dry.stdout.lines().find(|l| l.contains("would store what looks like secrets")).expect("the group");
    assert!(line.ends_with(" and 12 more"), "{line}");
    let run = sandbox.on(&["patch", &secret, "--all", "--yes", "--allow-sensitive"]).ok();
    let said =
        run.stderr.lines().find(|l| l.contains("stored what looks like secrets")).expect("the warning");
    let all: u64 = said
        .split("in the customData of ")
        .nth(1)
        .and_then(|rest| rest.split(' ').next())
        .and_then(|n| n.replace(',', "").parse().ok())
        .expect("a count");
    assert!(all > 3, "{said}");
    assert!(said.ends_with(&format!("; and {} more users", all - 3)), "{said}");
}

/// Twenty-five users breaking one schema rule, each with a value of their own, are one line of
/// the dry run, said by the first one's reason (bb25 P07: they were twenty lines, and the rest
/// "other reasons").
#[test]
fn a_dry_run_groups_users_breaking_one_rule_with_values_of_their_own() {
    let sandbox = Sandbox::new();
    let kids: String = (0..25)
        .map(|age| {
            format!(
                "{{\"id\":\"kid{age:02}\",\"username\":\"kid{age:02}\",\"customData\":{{\"age\":{age}}}}}\n"
            )
        })
        .collect();
    sandbox.on(&["import", &sandbox.file("kids.jsonl", &kids)]).ok();
    sandbox
        .on(&["schema", "set", &sandbox.file("schema.json", r#"{"properties":{"age":{"minimum":30}}}"#)])
        .ok();
    let patch = sandbox.file("seen.json", r#"[{"op":"add","path":"/seen","value":true}]"#);
    let run = sandbox.on(&["patch", &patch, "--search", "kid", "--dry-run"]).ok();
    let failures: Vec<&str> = run.stdout.lines().filter(|line| line.starts_with("    ")).collect();
    assert_eq!(
        failures,
        [
            "    the result does not satisfy the schema: age: 0 is less than the minimum of 30 (so for kid00; the others alike): 25 users (kid00, kid01, kid02 and 22 more)"
        ],
        "{}",
        run.stdout
    );
}

/// A dry run's lines are cut, each saying how long it was: a changed value of 500 KB, or a key
/// of 100 KB a failure names, was one line that long on the operator's terminal (bb25 P04).
#[test]
fn a_dry_runs_lines_are_cut_and_say_how_long_they_were() {
    let sandbox = Sandbox::new();
    let longest = |stdout: &str| stdout.lines().map(|line| line.chars().count()).max().unwrap_or(0);
    let note = format!(r#"[{{"op":"add","path":"/note","value":"{}"}}]"#, "x".repeat(500_000));
    let run =
        sandbox.on(&["patch", &sandbox.file("note.json", &note), "--search", "alice", "--dry-run"]).ok();
    assert!(longest(&run.stdout) < 500, "{}", &run.stdout[..2000.min(run.stdout.len())]);
    assert!(run.stdout.contains(r#"+   "note": "xxx"#), "the diff is there, cut: {}", run.stdout);
    assert!(run.stdout.contains("characters in all)"), "{}", run.stdout);

    let key = "y".repeat(100_000);
    let secret = format!(r#"[{{"op":"add","path":"/{key}","value":{{"password":"hunter2hunter2"}}}}]"#);
    let run =
        sandbox.on(&["patch", &sandbox.file("secret.json", &secret), "--search", "alice", "--dry-run"]).ok();
    assert!(run.stdout.contains("looks like it holds secrets at yyy"), "{}", run.stdout);
    assert!(longest(&run.stdout) < 500, "{}", &run.stdout[..2000.min(run.stdout.len())]);
}

#[test]
fn read_only_refuses_patch_yes_and_undo_but_runs_the_dry_run() {
    let sandbox = Sandbox::new();
    let patch = sandbox.file("patch.json", FREE_TO_TEAM);
    let batch = Sandbox::batch_of(&sandbox.on(&["patch", &patch, "--all", "--yes"]).ok());
    let before = sandbox.everything();
    sandbox.on(&["--read-only", "patch", &patch, "--all"]).ok();
    let line = sandbox.on(&["--read-only", "patch", &patch, "--all", "--yes"]).fails(1);
    assert!(line.contains("read-only"), "{line}");
    let line = sandbox.on(&["--read-only", "undo", &batch]).fails(1);
    assert!(line.contains("read-only"), "{line}");
    assert_eq!(sandbox.everything(), before);
}

#[test]
fn escaped_paths_work_and_a_tilde_that_is_no_escape_is_one_line() {
    let sandbox = Sandbox::new();
    let patch = sandbox
        .file("patch.json", r#"[{"op":"replace","path":"/a~1b","value":10},{"op":"remove","path":"/c~0d"}]"#);
    sandbox.on(&["patch", &patch, "--search", "alice", "--yes"]).ok();
    let alice = sandbox.get("alice");
    assert!(alice.contains(r#""a/b": 10"#) && !alice.contains("c~d"), "{alice}");

    let before = sandbox.everything();
    let bad = sandbox.file("bad.json", r#"[{"op":"add","path":"/x~2y","value":1}]"#);
    let line = sandbox.on(&["patch", &bad, "--all", "--yes"]).fails(4);
    assert!(line.contains("operation 0") && line.contains(r#""~" must be followed by 0"#), "{line}");
    assert_eq!(sandbox.everything(), before);
}

#[test]
fn a_patch_that_is_not_an_array_or_not_rfc_6902_is_one_line_and_nothing_written() {
    let sandbox = Sandbox::new();
    let before = sandbox.everything();
    for (text, expected) in [
        (
            r#"{"op":"add","path":"/a","value":1}"#,
            "must be a JSON array of operations (RFC 6902), not an object",
        ),
        (
            r#"[{"op":"frob","path":"/a"}]"#,
            "operation 0 of the patch is not an RFC 6902 operation: unknown variant `frob`",
        ),
        (
            r#"[{"op":"add","path":"/a"}]"#,
            "operation 0 of the patch is not an RFC 6902 operation: missing field `value`",
        ),
        (r#"[{"op":"add","path":"a","value":1}]"#, r#"starts with "/""#),
        (r#"[1]"#, "a number instead of an object"),
        ("[", "the patch is not JSON"),
        // A file saved with a byte-order mark: said so, not "expected value" (bb14 L15).
        (
            "\u{feff}[]",
            "the patch is not JSON: line 1, col 1: the text starts with a byte-order mark (U+FEFF); remove it",
        ),
        // Told as a document's error is: the lone surrogate in custodian's words, a column
        // in characters.
        (
            r#"[{"op":"add","path":"/é","value":"\ud800"}]"#,
            "the patch is not JSON: line 1, col 41: lone surrogate in a \\u escape (not a valid character)",
        ),
    ] {
        let bad = sandbox.file("bad.json", text);
        let line = sandbox.on(&["patch", &bad, "--all", "--yes"]).fails(4);
        assert!(line.contains(expected), "{text}: {line}");
    }
    // A value no document can hold is refused as the patch is read, not after trying every
    // user (15 MB over a million users took hours to say each one failed: bb25 P03).
    for op in ["add", "replace", "test"] {
        let text = format!(r#"[{{"op":"{op}","path":"/blob","value":"{}"}}]"#, "y".repeat(1024 * 1024));
        let bad = sandbox.file("big.json", &text);
        let line = sandbox.on(&["patch", &bad, "--all"]).fails(4);
        let said = format!(
            "operation 0 ({op} \"/blob\"): its value is 1,048,578 B compact, more than the 1,048,576 B a whole customData may hold: no user could take it"
        );
        assert!(line.contains(&said), "{line}");
    }
    // Endless input: read to the limit, never further, and the file is named.
    let line = sandbox.on(&["patch", "/dev/zero", "--all", "--yes"]).fails(4);
    assert!(
        line.contains("custodian: /dev/zero: the document is more than 16 MiB of text (reading stopped there), the most it may be"),
        "{line}"
    );
    // Held to 16 MiB as written, white space included: 17 MiB of it before one operation was
    // read on and taken (up to 256 MiB, and 257 MiB refused as "over 16 MiB": bb95 F3).
    let spaced = format!("[{}{{\"op\":\"add\",\"path\":\"/ws\",\"value\":1}}]", " ".repeat(17 * 1024 * 1024));
    let spaced = sandbox.file("ws.json", &spaced);
    let line = sandbox.on(&["patch", &spaced, "--all", "--yes"]).fails(4);
    assert!(line.contains("ws.json: the document is 17 MiB but the limit is 16 MiB"), "{line}");
    assert_eq!(sandbox.everything(), before);
}

#[test]
fn undo_of_an_unknown_batch_exits_3() {
    let sandbox = Sandbox::new();
    let line = sandbox.on(&["undo", "b20990101T000000Z-000000"]).fails(3);
    assert!(line.contains("no batch \"b20990101T000000Z-000000\""), "{line}");
    let line = sandbox.on(&["undo", ""]).fails(3);
    assert!(line.contains("no batch \"\" (see"), "{line}");
}

/// The way back is said to be pasted as it is: with the database given (it looked for the
/// batch in the default one: bb25 P12), and a batch id pasted with a space around it is the
/// batch (it was "no batch": P08).
#[test]
fn the_undo_said_after_a_patch_undoes_it_as_pasted_with_spaces_around_the_id() {
    let sandbox = Sandbox::new();
    let patch = sandbox.file("patch.json", FREE_TO_TEAM);
    let before = sandbox.everything();
    let said = sandbox.on(&["patch", &patch, "--all", "--yes"]).ok().stdout;
    let undo = said.lines().find_map(|l| l.strip_prefix("take it back with: custodian ")).expect("the undo");
    let (db, batch) =
        undo.strip_prefix("--db ").and_then(|rest| rest.split_once(" undo ")).expect("--db given");
    assert_eq!(db, sandbox.db.display().to_string());
    let line = sandbox.on(&["changes", "--batch", &format!(" {batch} ")]).ok().stdout;
    assert!(line.contains(batch), "{line}");
    sandbox.on(&["undo", &format!("{batch} ")]).ok();
    let documents = |all: Vec<String>| -> Vec<String> {
        all.into_iter().map(|line| line.split_once(' ').expect("revisions, document").1.to_owned()).collect()
    };
    assert_eq!(documents(sandbox.everything()), documents(before), "every document as before");
}

#[test]
fn patch_without_a_selection_is_a_usage_error() {
    let sandbox = Sandbox::new();
    let patch = sandbox.file("patch.json", FREE_TO_TEAM);
    sandbox.on(&["patch", &patch]).fails(2);
    // An empty search would match everyone: only --all says that.
    let before = sandbox.everything();
    for blank in ["", " ", "\t"] {
        let line = sandbox.on(&["patch", &patch, "--search", blank, "--yes"]).fails(2);
        assert!(line.contains("--search needs text") && line.contains("--all"), "{line}");
    }
    assert_eq!(sandbox.everything(), before);
}

/// `--tenant` names a tenant of Logto's database; on a database file it was ignored, and
/// `patch --tenant acme --all --yes` patched every user (bb25 P09). Refused, by the flag or
/// the variable, for every command but `import` (which keeps only that tenant's records).
#[test]
fn a_tenant_on_a_database_file_is_a_usage_error_and_nothing_is_written() {
    let sandbox = Sandbox::new();
    let patch = sandbox.file("patch.json", FREE_TO_TEAM);
    let before = sandbox.everything();
    // The screen too (no command).
    for args in [
        vec!["patch", &patch, "--all", "--yes", "--tenant", "acme"],
        vec!["--tenant", "acme", "list"],
        vec!["--tenant", "acme"],
    ] {
        let line = sandbox.on(&args).fails(2);
        assert!(line.contains("--tenant acme (or $CUSTODIAN_TENANT) names a tenant of Logto's PostgreSQL database; a database file has no tenants"), "{line}");
    }
    let mut command = sandbox.home.custodian();
    command
        .arg("--db")
        .arg(&sandbox.db)
        .args(["patch", &patch, "--all", "--yes"])
        .env("CUSTODIAN_TENANT", "acme");
    let line = Run::of(command, None).fails(2);
    assert!(line.contains("--tenant acme"), "{line}");
    // An escape in it is marked once, as every message marks it (`\u{241b}`: bb52 F4).
    let line = sandbox.on(&["--tenant", "t\u{1b}]0;PWN\u{7}", "list"]).fails(2);
    assert!(line.contains("--tenant t␛]0;PWN␇ (or $CUSTODIAN_TENANT)"), "{line}");
    assert_eq!(sandbox.everything(), before);
}

#[test]
fn a_users_file_of_dash_is_stdin_as_elsewhere_and_export_refuses_a_file_named_dash() {
    // `--users -` read a leftover file named `-`; `export --out -` made one.
    let sandbox = Sandbox::new();
    let patch = sandbox.file("patch.json", r#"[{"op":"add","path":"/flag","value":true}]"#);
    sandbox.file("-", "carol\n");
    let mut command = sandbox.home.custodian();
    command.current_dir(sandbox.home.path("")).arg("--db").arg(&sandbox.db);
    command.args(["patch", &patch, "--users", "-", "--yes"]);
    let run = Run::of(command, Some(b"alice\n")).ok();
    assert!(run.stdout.contains("saved 1 user of 1 user"), "{}", run.stdout);
    assert!(sandbox.get("alice").contains("flag") && !sandbox.get("carol").contains("flag"));
    // Said as stdin, as elsewhere: it said "named in -" (bb35 #13).
    let mut command = sandbox.home.custodian();
    command.current_dir(sandbox.home.path("")).arg("--db").arg(&sandbox.db);
    command.args(["patch", &patch, "--users", "-"]);
    let dry = Run::of(command, Some(b"bob\n")).ok();
    assert!(dry.stdout.contains("over 1 user named on stdin: dry run"), "{}", dry.stdout);
    // And an unknown name there is on stdin's line, not a file called `-` (bb37 #8).
    let mut command = sandbox.home.custodian();
    command.current_dir(sandbox.home.path("")).arg("--db").arg(&sandbox.db);
    command.args(["patch", &patch, "--users", "-"]);
    let unknown = Run::of(
        command,
        Some(
            b"bob
nobody-here
",
        ),
    )
    .fails(3);
    assert!(unknown.contains("stdin line 2"), "{unknown}");
    let both = sandbox.on(&["patch", "-", "--users", "-", "--yes"]).fails(2);
    assert!(both.contains("cannot both come from stdin"), "{both}");
    let mut command = sandbox.home.custodian();
    command.current_dir(sandbox.home.path("")).arg("--db").arg(&sandbox.db).args(["export", "--out", "-"]);
    let refused = Run::of(command, None).fails(1);
    assert!(refused.contains("`-` is not a file name for an export"), "{refused}");
}

#[test]
fn a_users_list_that_names_someone_again_says_how_many_names_it_had() {
    // 5 names, 2 users: the report said only "over 2 users", the repeats unsaid (bb37 #8).
    let sandbox = Sandbox::new();
    let patch = sandbox.file("patch.json", r#"[{"op":"add","path":"/flag","value":true}]"#);
    let list = sandbox.file("list.txt", "alice\nbob\n\nalice\nid:u1\n bob@example.com \n");
    let dry = sandbox.on(&["patch", &patch, "--users", &list]).ok();
    assert!(
        dry.stdout
            .contains(&format!("over 2 users named in {list} (5 names: 3 named a user again): dry run")),
        "{}",
        dry.stdout
    );
    let once = sandbox.file("once.txt", "alice\nbob\n");
    let dry = sandbox.on(&["patch", &patch, "--users", &once]).ok();
    assert!(dry.stdout.contains(&format!("over 2 users named in {once}: dry run")), "{}", dry.stdout);
}

/// A file name holding ESC is marked once in `patch`'s errors, as every other message marks
/// it (`f␛[31m.json`): marked twice it read `f\u{241b}[31m.json`, as a name holding the
/// look-alike `␛` itself does (bb42 F3).
#[test]
fn a_file_name_holding_an_escape_is_marked_once_in_patch_errors() {
    let sandbox = Sandbox::new();
    let patch = sandbox.file("f\u{1b}[31m.json", "{}");
    let said = sandbox.on(&["patch", &patch, "--all"]).fails(4);
    assert!(said.contains("f\u{241b}[31m.json: the patch must be a JSON array"), "{said}");
    assert!(!said.contains("\\u{241b}") && !said.contains('\u{1b}'), "{said}");
    let users = sandbox.file("u\u{1b}[31m.txt", "nobody\n");
    let good = sandbox.file("p.json", FREE_TO_TEAM);
    let said = sandbox.on(&["patch", &good, "--users", &users]).fails(3);
    assert!(said.contains("u\u{241b}[31m.txt line 1: no user \"nobody\""), "{said}");
    assert!(!said.contains("\\u{241b}"), "{said}");
}

/// The lines after a batch name the database and the users file as the operator gave them,
/// marked: the hint `take it back with: custodian --db '…' undo B` wrote an ESC in the path
/// raw, and the terminal turned red (bb42 F11).
#[test]
fn the_lines_after_a_batch_show_an_escape_in_the_database_path_inert() {
    let sandbox = Sandbox::new();
    let db = sandbox.home.path("e\u{1b}[31mw.redb");
    std::fs::copy(&sandbox.db, &db).expect("copy the database");
    let users = sandbox.file("u\u{1b}[31m.txt", "alice\n");
    let patch = sandbox.file("p.json", FREE_TO_TEAM);
    let run = sandbox.home.run_on(&db, &["patch", &patch, "--users", &users, "--yes"], Some(b""));
    let said = run.ok().stdout;
    assert!(said.contains("take it back with: custodian --db '"), "{said}");
    assert!(said.contains("e\u{241b}[31mw.redb' undo b"), "{said}");
    assert!(said.contains("u\u{241b}[31m.txt')"), "{said}");
    assert!(!said.contains('\u{1b}'), "no escape reaches the terminal: {said:?}");
}

/// Follows what `undo BATCH` advises to its end: each named undo in turn (each must restore
/// someone), then the batch again while it says "then this one". The outputs, in order.
fn follow_undo_advice(sandbox: &Sandbox, batch: &str) -> Vec<String> {
    let mut said = Vec::new();
    for _ in 0..10 {
        let run = sandbox.on(&["undo", batch]);
        said.push(run.stdout.clone());
        if run.code == 0 {
            return said;
        }
        let advice = run.stdout.clone();
        run.fails(5);
        // Each `custodian --db PATH undo B` said, as pasted.
        for step in
            advice.split('`').filter(|part| part.starts_with("custodian --db ") && part.contains(" undo "))
        {
            let step = sandbox.on(&["undo", step.rsplit(' ').next().expect("a batch")]);
            assert!(
                step.stdout.contains("restored") && !step.stdout.contains("nothing restored"),
                "{said:?}\n{}",
                step.stdout
            );
            said.push(step.stdout);
        }
        if !advice.contains("then this one") {
            return said;
        }
    }
    panic!("advice followed ten times over: {said:?}");
}

/// A on all, B on three, `undo B` (U1), `undo A` (U2), `undo U2` (U3), `undo U3` (U4), then
/// `undo U1` (the shape of bb85 F3, where the second undo named was refused once the first was
/// done): every undo named restores someone, and at the end U1's change (A's documents over
/// B's) is gone.
#[test]
fn undo_advice_followed_to_its_end_takes_the_batch_back_after_undos_of_undos() {
    let sandbox = Sandbox::new();
    let a = sandbox.patched(&sandbox.setting("a.json", "k1", 1), &["--all"]);
    let three = sandbox.file("three.txt", "u1\nu2\nu4\n");
    let b = sandbox.patched(&sandbox.setting("b.json", "k2", 1), &["--users", &three]);
    let u1 = sandbox.undone(&b);
    let u2 = sandbox.undone(&a);
    let u3 = sandbox.undone(&u2);
    sandbox.on(&["undo", &u3]).ok();
    let said = follow_undo_advice(&sandbox, &u1);
    for user in ["u1", "u2", "u4"] {
        let now = sandbox.get(user);
        assert!(now.contains(r#""k2""#), "{user} back to B's document: {now}\n{said:#?}");
    }
}

/// bb85 seed 5229: A, `undo A` (U1), `undo U1` (U2: A's documents again), then C over them:
/// `undo A` named C alone, whose undo brought A's documents back, and said nothing more. The
/// undos back to the documents from before A are named, C then U2, and followed they leave
/// nothing of A.
#[test]
fn undo_of_a_batch_written_again_by_an_undo_and_saved_over_names_each_undo_back() {
    let sandbox = Sandbox::new();
    let db = sandbox.db.display();
    let a = sandbox.patched(&sandbox.setting("a.json", "k1", 1), &["--all"]);
    let u1 = sandbox.undone(&a);
    let u2 = sandbox.undone(&u1);
    let c = sandbox.patched(&sandbox.setting("c.json", "k2", 1), &["--all"]);
    let refused = sandbox.on(&["undo", &a]);
    let said = format!(
        "this batch was taken back already (an undo of it restored them), and its documents were written again since, and saved over: `custodian --db {db} undo {c}`, then `custodian --db {db} undo {u2}` take those back"
    );
    assert!(refused.stdout.contains(&said), "{}", refused.stdout);
    refused.fails(5);
    let followed = follow_undo_advice(&sandbox, &a);
    for user in ["u1", "u2", "u3", "u4"] {
        let now = sandbox.get(user);
        assert!(!now.contains(r#""k1""#) && !now.contains(r#""k2""#), "{user}: {now}\n{followed:#?}");
    }
}

/// bb86 F1: A on one user, a later patch B taking A's key out again, then C over every user:
/// `undo A` said "`custodian undo C`, then `custodian undo B`, then this one", and following it
/// took C back from every user C saved, with nothing of A to take back. B took A's change back;
/// what came after is not A's.
#[test]
fn undo_of_a_batch_a_later_patch_took_back_names_no_undo_of_what_came_after() {
    let sandbox = Sandbox::new();
    let one = sandbox.file("one.txt", "u1\n");
    let a = sandbox.patched(&sandbox.setting("a.json", "a", 1), &["--users", &one]);
    let remove = sandbox.file("remove.json", r#"[{"op":"remove","path":"/a"}]"#);
    let b = sandbox.patched(&remove, &["--users", &one]);
    let c = sandbox.patched(&sandbox.setting("c.json", "c", 1), &["--all"]);
    let refused = sandbox.on(&["undo", &a]);
    let said = format!(
        "this batch was taken back already (a later save restored it), and batch {c} saved other documents since: nothing of this batch is left on it to take back"
    );
    assert!(refused.stdout.contains(&said), "{}", refused.stdout);
    assert!(!refused.stdout.contains(" undo b"), "no undo named, not {b}'s nor {c}'s: {}", refused.stdout);
    refused.fails(5);
}

/// bb86 F2: B2 taken back (U2), written again by an undo of that (V), taken back again (W), then
/// an earlier batch B1 undone (X): `undo B2` named X as taking B2's documents back, and following
/// it undid that undo of B1. Nothing of B2 is on the users: no undo is named.
#[test]
fn undo_of_a_batch_written_again_and_taken_back_again_names_no_unrelated_undo() {
    let sandbox = Sandbox::new();
    let b1 = sandbox.patched(&sandbox.setting("p.json", "p", 1), &["--all"]);
    let b2 = sandbox.patched(&sandbox.setting("k.json", "k", 1), &["--all"]);
    let u2 = sandbox.undone(&b2);
    let v = sandbox.undone(&u2);
    let w = sandbox.undone(&v);
    let x = sandbox.undone(&b1);
    let refused = sandbox.on(&["undo", &b2]);
    let said = format!(
        "this batch was taken back already (a later save restored them), and batch {x} saved other documents since: nothing of this batch is left on them to take back"
    );
    assert!(refused.stdout.contains(&said), "(W = {w}) {}", refused.stdout);
    assert!(!refused.stdout.contains(" undo b"), "{}", refused.stdout);
    refused.fails(5);
}

/// bb86 F3: 25 users, A taken back (UA) and written again by an undo of UA on 24 of them
/// (UUA) and by another (V) on the 25th: only the first 20 were looked up, and the 25th, under
/// V, was never named, whatever was retried. The 25th is looked up too, and V named.
#[test]
fn undo_looks_past_the_first_twenty_left_alone_and_names_the_batch_the_25th_is_under() {
    let sandbox = Sandbox::new();
    let db = sandbox.db.display();
    let many: String = (1..=25)
        .map(|n| format!("{{\"id\":\"m{n:02}\",\"username\":\"m{n:02}\",\"customData\":{{}}}}\n"))
        .collect();
    sandbox.on(&["import", "--upsert", &sandbox.file("many.jsonl", &many)]).ok();
    let all: String = (1..=25).map(|n| format!("m{n:02}\n")).collect();
    let all = sandbox.file("all.txt", &all);
    let a = sandbox.patched(&sandbox.setting("a.json", "a", 1), &["--users", &all]);
    let ua = sandbox.undone(&a);
    let last = sandbox.file("last.txt", "m25\n");
    let c = sandbox.patched(&sandbox.setting("c.json", "c", 1), &["--users", &last]);
    let uua = Sandbox::batch_of(&sandbox.on(&["undo", &ua]));
    sandbox.on(&["undo", &c]).ok();
    let v = Sandbox::batch_of(&sandbox.on(&["undo", &ua]));
    let refused = sandbox.on(&["undo", &a]);
    assert!(refused.stdout.contains(&format!("`custodian --db {db} undo {v}`")), "{}", refused.stdout);
    assert!(refused.stdout.contains(&format!("`custodian --db {db} undo {uua}`")), "{}", refused.stdout);
    refused.fails(5);
    follow_undo_advice(&sandbox, &a);
    assert!(!sandbox.get("m25").contains(r#""a""#), "{}", sandbox.get("m25"));
    assert!(!sandbox.get("m01").contains(r#""a""#), "{}", sandbox.get("m01"));
}

/// bb87 N3: one user under D and C since A, another whose A's document D wrote again: D was
/// named in two clauses of one line, and the second `undo D` restored no one (its own advice
/// then undid two undos just made). Each batch is named once; followed, A's change is gone.
#[test]
fn undo_advice_names_a_batch_once_when_two_parts_need_it() {
    let sandbox = Sandbox::new();
    let db = sandbox.db.display();
    let two = sandbox.file("two.txt", "u1\nu2\n");
    let one = sandbox.file("one.txt", "u1\n");
    sandbox.patched(&sandbox.setting("k.json", "k", 1), &["--users", &two]);
    let remove_k = sandbox.file("rm_k.json", r#"[{"op":"remove","path":"/k"}]"#);
    let a = sandbox.patched(&remove_k, &["--users", &two]);
    sandbox.patched(&sandbox.setting("j.json", "j", 1), &["--users", &one]);
    sandbox.on(&["undo", &a]).fails(5);
    let strip = sandbox.file(
        "strip.json",
        r#"[{"op":"add","path":"/k","value":0},{"op":"remove","path":"/k"},{"op":"add","path":"/j","value":0},{"op":"remove","path":"/j"}]"#,
    );
    let d = sandbox.patched(&strip, &["--users", &two]);
    let refused = sandbox.on(&["undo", &a]);
    assert_eq!(refused.stdout.matches(&format!("undo {d}`")).count(), 1, "{}", refused.stdout);
    assert!(refused.stdout.contains(&format!("`custodian --db {db} undo {d}`")), "{}", refused.stdout);
    refused.fails(5);
    let said = follow_undo_advice(&sandbox, &a);
    for user in ["u1", "u2"] {
        assert!(sandbox.get(user).contains(r#""k": 1"#), "{user}: {}\n{said:#?}", sandbox.get(user));
    }
}

/// bb87 N2: nine batches on one user: "no undo of a later batch leads back" (eight undos were
/// the most looked for), though undoing the nine, the last first, did. All nine are named.
#[test]
fn undo_under_nine_later_batches_names_all_nine() {
    let sandbox = Sandbox::new();
    let one = sandbox.file("one.txt", "u3\n");
    let a = sandbox.patched(&sandbox.setting("a.json", "a", 1), &["--users", &one]);
    for n in 1..=9 {
        sandbox.patched(&sandbox.setting(&format!("k{n}.json"), &format!("k{n}"), n), &["--users", &one]);
    }
    let refused = sandbox.on(&["undo", &a]);
    assert_eq!(refused.stdout.matches("`custodian --db ").count(), 9, "{}", refused.stdout);
    refused.fails(5);
    follow_undo_advice(&sandbox, &a);
    assert_eq!(sandbox.get("u3"), "{}\n");
}

/// bb87 N4: A's document brought back by the undo of an earlier batch P2 (its document too),
/// then saved over by Z: "batch Z wrote its documents again" named Z, which wrote another; and
/// once that undo of P2 was taken back, the user holding neither, it still said so. The undo
/// of P2 is named as what brought it back, no undo as a way; then nothing of A is left.
#[test]
fn the_same_document_brought_back_by_the_undo_of_an_earlier_batch_names_that_undo_and_no_way() {
    let sandbox = Sandbox::new();
    let one = sandbox.file("one.txt", "u3\n");
    let on_u3 = |name: &str, ops: &str| sandbox.patched(&sandbox.file(name, ops), &["--users", &one]);
    let p1 = on_u3("x.json", r#"[{"op":"add","path":"/x","value":1}]"#);
    let p2 = on_u3("k.json", r#"[{"op":"add","path":"/k","value":"y"}]"#);
    let p3 = on_u3("k2.json", r#"[{"op":"replace","path":"/k","value":2}]"#);
    let a = on_u3("rm.json", r#"[{"op":"remove","path":"/k"}]"#);
    sandbox.undone(&a);
    sandbox.undone(&p3);
    let u2 = sandbox.undone(&p2);
    let u1 = sandbox.undone(&p1);
    let z = on_u3("z.json", r#"[{"op":"add","path":"/z","value":1}]"#);
    let refused = sandbox.on(&["undo", &a]);
    let said = format!(
        "batch {u2}, an undo of batch {p2}, brought back the same document as this batch's since, which undoing would take back as that undo, not as this batch's change"
    );
    assert!(refused.stdout.contains(&said), "{}", refused.stdout);
    assert!(
        !refused.stdout.contains(" undo b") && !refused.stdout.contains(&format!("batch {z} wrote")),
        "{}",
        refused.stdout
    );
    refused.fails(5);
    // Z and U1 taken back (A's document again), then that undo of P2: the user holds neither
    // A's document nor the one before it.
    sandbox.undone(&z);
    sandbox.undone(&u1);
    sandbox.undone(&u2);
    let refused = sandbox.on(&["undo", &a]);
    assert!(
        refused.stdout.contains("nothing of this batch is left on it to take back"),
        "{}",
        refused.stdout
    );
    refused.fails(5);
}
