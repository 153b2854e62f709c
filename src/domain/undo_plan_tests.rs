use super::*;

/// A history from `(document, batch, undoes)` of each revision, the first being revision 1.
fn history(revisions: &[(&str, Option<&str>, Option<&str>)]) -> Vec<Saved> {
    revisions
        .iter()
        .enumerate()
        .map(|(at, (document, batch, undoes))| Saved {
            revision: at as u64 + 1,
            document: (*document).into(),
            batch: batch.map(str::to_owned),
            undoes: undoes.map(str::to_owned),
            saved_at: at as i64,
        })
        .collect()
}

fn names(batches: &[&str]) -> Vec<String> {
    batches.iter().map(|b| (*b).to_owned()).collect()
}

#[test]
fn under_a_stack_of_batches_each_is_undone_the_last_first() {
    let h =
        history(&[("p", None, None), ("a", Some("A"), None), ("b", Some("B"), None), ("c", Some("C"), None)]);
    assert_eq!(way_back(&h, "A"), Way::UndoFirst(names(&["C", "B"])));
    assert_eq!(way_back(&h, "B"), Way::UndoFirst(names(&["C"])));
    assert!(reached_after(&h, "A", &names(&["C", "B"])));
    assert!(!reached_after(&h, "A", &names(&["C"])), "B's document is on top then");
    assert!(!reached_after(&h, "A", &names(&["B", "C"])), "B's undo is refused while C is on it");
}

#[test]
fn a_later_undo_that_put_back_another_batchs_document_names_that_batch_not_the_undo() {
    // A, B, C, then C undone (U): undoing U wrote C's document again, round and round (bb83 F1).
    let h = history(&[
        ("p", None, None),
        ("a", Some("A"), None),
        ("b", Some("B"), None),
        ("c", Some("C"), None),
        ("b", Some("U"), Some("C")),
    ]);
    assert_eq!(way_back(&h, "A"), Way::UndoFirst(names(&["B"])));
}

#[test]
fn a_batch_taken_back_and_its_undo_undone_is_passed_over_for_the_undo_on_top() {
    // A, B, B undone (U1), U1 undone (U2): B's undo is refused, U2's leads back (bb84 F4).
    let h = history(&[
        ("p", None, None),
        ("a", Some("A"), None),
        ("b", Some("B"), None),
        ("a", Some("U1"), Some("B")),
        ("b", Some("U2"), Some("U1")),
    ]);
    assert_eq!(way_back(&h, "A"), Way::UndoFirst(names(&["U2"])));
    assert!(reached_after(&h, "A", &names(&["U2"])));
}

#[test]
fn a_save_outside_a_batch_on_top_has_no_way_even_when_it_wrote_a_batchs_document_again() {
    // bb85 F2: a `set` writing B's document again is a change B's undo refuses.
    let h = history(&[
        ("p", None, None),
        ("a", Some("A"), None),
        ("b", Some("B"), None),
        ("s", None, None),
        ("b", None, None),
    ]);
    assert_eq!(way_back(&h, "A"), Way::SavedOutside);
}

#[test]
fn a_batch_taken_back_says_what_the_user_holds_since() {
    let undone = [("p", None, None), ("a", Some("A"), None), ("p", Some("U"), Some("A"))];
    assert_eq!(
        way_back(&history(&undone), "A"),
        Way::TakenBack { by: TakenBy::ItsUndo("U".into()), since: SinceTakenBack::AsUndone }
    );

    let mut again = undone.to_vec();
    again.push(("a", Some("B"), None));
    assert_eq!(
        way_back(&history(&again), "A"),
        Way::TakenBack {
            by: TakenBy::ItsUndo("U".into()),
            since: SinceTakenBack::WrittenAgain {
                by: Some("B".into()),
                holds_it: true,
                way: Some(names(&["B"]))
            }
        }
    );
    // Written again by an undo of its undo, then saved over (bb85 seed 5229: the advice named
    // the batch on top alone, and A's documents were back after its undo).
    let mut over = undone.to_vec();
    over.extend([("a", Some("V"), Some("U")), ("c", Some("C"), None)]);
    assert_eq!(
        way_back(&history(&over), "A"),
        Way::TakenBack {
            by: TakenBy::ItsUndo("U".into()),
            since: SinceTakenBack::WrittenAgain {
                by: Some("V".into()),
                holds_it: false,
                way: Some(names(&["C", "V"]))
            }
        }
    );

    // Written again by a save outside a batch, then saved over and put back by an undo (bb85
    // seed 1110): no undo leads back, and the save is what wrote it.
    let mut outside = undone.to_vec();
    outside.extend([("a", None, None), ("c", Some("C"), None), ("a", Some("W"), Some("C"))]);
    assert_eq!(
        way_back(&history(&outside), "A"),
        Way::TakenBack {
            by: TakenBy::ItsUndo("U".into()),
            since: SinceTakenBack::WrittenAgain { by: None, holds_it: true, way: None }
        }
    );

    let mut other = undone.to_vec();
    other.push(("o", Some("B"), None));
    assert_eq!(
        way_back(&history(&other), "A"),
        Way::TakenBack { by: TakenBy::ItsUndo("U".into()), since: SinceTakenBack::Other }
    );
}

#[test]
fn a_later_save_of_the_document_from_before_took_the_batch_back_and_what_came_after_is_not_its() {
    let reverted = [("p", None, None), ("a", Some("A"), None), ("p", Some("B"), None)];
    let by_b = |since| Way::TakenBack { by: TakenBy::Batch("B".into()), since };
    assert_eq!(way_back(&history(&reverted), "A"), by_b(SinceTakenBack::AsUndone));
    // bb86 F1: then C over it: "undo C, then B, then this one" took C back from every user it
    // saved, and nothing of A was there.
    let mut over = reverted.to_vec();
    over.push(("c", Some("C"), None));
    assert_eq!(way_back(&history(&over), "A"), by_b(SinceTakenBack::Other));
    // Its document written again by D: D's undo takes it back, and nothing before D is undone.
    let mut again = reverted.to_vec();
    again.push(("a", Some("D"), None));
    assert_eq!(
        way_back(&history(&again), "A"),
        by_b(SinceTakenBack::WrittenAgain { by: Some("D".into()), holds_it: true, way: Some(names(&["D"])) })
    );
    let by_hand = [("p", None, None), ("a", Some("A"), None), ("p", None, None)];
    assert_eq!(
        way_back(&history(&by_hand), "A"),
        Way::TakenBack { by: TakenBy::Outside, since: SinceTakenBack::AsUndone }
    );
}

/// bb86 F2: B2 taken back (U2), written again by an undo of that (V), taken back again by an
/// undo of V (W), then an earlier batch B1 undone (X): "written again since, and saved over:
/// `custodian undo X` takes those back" undid another operator's undo of B1. Taken back the last
/// time after it was written again, nothing of B2 is left.
#[test]
fn a_batch_written_again_and_taken_back_again_has_nothing_left_whatever_came_after() {
    let h = history(&[
        ("p0", None, None),
        ("p", Some("B1"), None),
        ("pk", Some("B2"), None),
        ("p", Some("U2"), Some("B2")),
        ("pk", Some("V"), Some("U2")),
        ("p", Some("W"), Some("V")),
        ("p0", Some("X"), Some("B1")),
    ]);
    assert_eq!(
        way_back(&h, "B2"),
        Way::TakenBack { by: TakenBy::Batch("W".into()), since: SinceTakenBack::Other }
    );
}

/// bb86 F5: a `set`, then a batch over it: said as a document brought back or a revision no
/// longer kept; the `set` is what no undo goes past.
#[test]
fn a_save_outside_a_batch_under_a_later_batch_is_what_no_undo_goes_past() {
    let h = history(&[("p", None, None), ("a", Some("A"), None), ("x", None, None), ("b", Some("B"), None)]);
    assert_eq!(way_back(&h, "A"), Way::SavedOutside);
}

#[test]
fn a_way_goes_past_undos_that_brought_back_earlier_documents_and_a_missing_revision_ends_it() {
    // A writes a over p; B writes b, taken back by W (a); C writes q, taken back by V (a);
    // D and E write on top.
    let h = history(&[
        ("p", None, None),
        ("a", Some("A"), None),
        ("b", Some("B"), None),
        ("a", Some("W"), Some("B")),
        ("q", Some("C"), None),
        ("a", Some("V"), Some("C")),
        ("z", Some("D"), None),
        ("r", Some("E"), None),
    ]);
    // E on top: undoing E gives z (D's), D's undo gives a (A's document, put there by V):
    // A's undo then takes it back.
    assert_eq!(way_back(&h, "A"), Way::UndoFirst(names(&["E", "D"])));
    // The revision before B's gone (PostgreSQL keeps what custodian saw): B's undo cannot
    // be made, and nothing else leads back.
    let mut stuck =
        history(&[("p", None, None), ("a", Some("A"), None), ("x", None, None), ("b", Some("B"), None)]);
    stuck.remove(2);
    assert_eq!(way_back(&stuck, "A"), Way::NoWay);
}

#[test]
fn ways_are_merged_keeping_each_order_and_the_last_saved_first_where_open() {
    let saved_at: HashMap<String, i64> =
        [("B", 2), ("C", 3), ("D", 4)].map(|(b, at)| (b.to_owned(), at)).into();
    let cb = names(&["C", "B"]);
    let b = names(&["B"]);
    let d = names(&["D"]);
    assert_eq!(merged(&[&cb, &b], &saved_at), names(&["C", "B"]));
    assert_eq!(merged(&[&b, &d], &saved_at), names(&["D", "B"]));
    let bc = names(&["B", "C"]);
    assert_eq!(merged(&[&bc], &saved_at), names(&["B", "C"]), "a way's own order wins over when each saved");
    assert_eq!(
        merged(&[&cb, &bc], &saved_at),
        names(&["C", "B"]),
        "ways that disagree: the last saved first"
    );
}

/// bb87 N2: nine batches on one user were said to have no way back (eight undos at most).
#[test]
fn a_long_stack_of_later_batches_is_undone_whole() {
    let later: Vec<(String, String)> = (1..=30).map(|n| (format!("k{n}"), format!("K{n}"))).collect();
    let mut revisions = vec![("p", None, None), ("a", Some("A"), None)];
    revisions.extend(later.iter().map(|(document, batch)| (document.as_str(), Some(batch.as_str()), None)));
    let last_first: Vec<String> = later.iter().rev().map(|(_, batch)| batch.clone()).collect();
    assert_eq!(way_back(&history(&revisions), "A"), Way::UndoFirst(last_first));
}

/// bb87 N4: A's document brought back by the undo of an earlier batch P2 (whose document it also
/// was), then saved over by Z: "batch Z wrote its documents again" named Z; the undo that
/// brought it back is named, as no way to take back A's change. Once that undo is taken back,
/// nothing of A is left.
#[test]
fn the_same_document_brought_back_by_the_undo_of_another_batch_is_not_this_batchs() {
    let mut revisions = vec![
        ("px", None, None),
        ("pxk", Some("P2"), None),
        ("pxk2", Some("P3"), None),
        ("px", Some("A"), None),
        ("pxk2", Some("UA"), Some("A")),
        ("pxk", Some("U3"), Some("P3")),
        ("px", Some("U2"), Some("P2")),
        ("pxz", Some("Z"), None),
    ];
    let same = Way::TakenBack {
        by: TakenBy::ItsUndo("UA".into()),
        since: SinceTakenBack::SameDocument { by: "U2".into(), undone: "P2".into(), holds_it: false },
    };
    assert_eq!(way_back(&history(&revisions), "A"), same);
    revisions.extend([("px", Some("UZ"), Some("Z")), ("pxk", Some("R"), Some("U2"))]);
    assert_eq!(
        way_back(&history(&revisions), "A"),
        Way::TakenBack { by: TakenBy::ItsUndo("UA".into()), since: SinceTakenBack::Other }
    );
}
