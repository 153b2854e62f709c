//! What `undo` says of the users it left alone: the later batches to undo first, the last
//! first, an undo of this batch that took it back already, saves outside a batch. Each user's
//! way is found by replaying undos on their history with the stores' own rule
//! ([`undo_plan`]), the batch each undo took back read from the store: read from the
//! documents alone, the advice named batches whose undo was refused, or went round and round
//! (bb83 F1, bb85).

use std::collections::HashMap;

use crate::domain::undo_plan::{self, Saved, SinceTakenBack, TakenBy, Way};
use crate::store::{BatchId, Revision, UserStore};

/// The batches each undo took back, read once each.
#[derive(Default)]
struct UndoneBy(HashMap<String, Option<String>>);

impl UndoneBy {
    fn of(&mut self, store: &dyn UserStore, batch: &str) -> Option<String> {
        self.0
            .entry(batch.to_owned())
            .or_insert_with(|| store.batch_undone_by(&BatchId(batch.to_owned())).ok().flatten().map(|b| b.0))
            .clone()
    }
}

/// User `id`'s history up to revision `now` as an undo of `batch` sees it, from the revision
/// before the batch's (an undo of a later batch brings back none older: on PostgreSQL each
/// revision read is a round trip); `None` when it cannot be read (the user deleted since).
fn history_of(
    store: &dyn UserStore,
    id: &str,
    batch: &BatchId,
    now: Revision,
    undone_by: &mut UndoneBy,
) -> Option<Vec<Saved>> {
    let revisions = store.history(id).ok()?;
    let from = revisions.iter().find(|info| info.batch.as_ref() == Some(batch))?.revision.saturating_sub(1);
    let mut history = Vec::new();
    for info in revisions.into_iter().filter(|info| (from..=now).contains(&info.revision)) {
        let Ok(document) = store.revision_text(id, info.revision) else { continue };
        let batch = info.batch.map(|b| b.0);
        let undoes = batch.as_deref().and_then(|b| undone_by.of(store, b));
        history.push(Saved {
            revision: info.revision,
            document: document.into(),
            batch,
            undoes,
            saved_at: info.saved_at,
        });
    }
    // Written outside custodian since its last revision (on PostgreSQL): a save of its own.
    if history.last().is_none_or(|last| last.revision < now) {
        let document =
            store.revision_text(id, now).or_else(|_| store.custom_data(id).map(|d| d.text)).ok()?;
        history.push(Saved {
            revision: now,
            document: document.into(),
            batch: None,
            undoes: None,
            saved_at: i64::MAX,
        });
    }
    Some(history)
}

/// A user looked up: their id and history as an undo sees it (`None`: deleted since).
type LookedUp = (String, Option<Vec<Saved>>);

/// The users left alone looked up so far, in the order listed, and what bounds how many more
/// are: past the first twenty, more while it takes under [`LOOKING_UP_PAST_THE_FIRST`] and
/// their documents under [`MOST_DOCUMENT_BYTES_LOOKED_UP`] (the first ones may all be put back
/// already while a later one is under a batch, never named: bb86 F3 past 20, bb87 N1 past 100).
pub(super) struct LookUps {
    looked_up: Vec<LookedUp>,
    undone_by: UndoneBy,
    started: std::time::Instant,
    documents_read: usize,
}

impl LookUps {
    pub(super) fn new() -> Self {
        Self {
            looked_up: Vec::new(),
            undone_by: UndoneBy::default(),
            started: std::time::Instant::now(),
            documents_read: 0,
        }
    }

    /// How many were looked up.
    pub(super) fn len(&self) -> usize {
        self.looked_up.len()
    }

    /// Whether the `at`-th user listed is to be looked up: none once one was not (those looked
    /// up are the first listed).
    pub(super) fn looks_up(&self, at: usize) -> bool {
        at == self.looked_up.len()
            && (at < BATCHES_LOOKED_UP
                || at < MOST_LOOKED_UP
                    && self.started.elapsed() < LOOKING_UP_PAST_THE_FIRST
                    && self.documents_read < MOST_DOCUMENT_BYTES_LOOKED_UP)
    }

    /// Looks up user `id`, left alone by an undo of `batch` at revision `now` (0: gone): the
    /// batch that saved their revision `now`, when one did.
    pub(super) fn look_up(
        &mut self,
        store: &dyn UserStore,
        id: &str,
        batch: &BatchId,
        now: Revision,
    ) -> Option<String> {
        let history = (now > 0).then(|| history_of(store, id, batch, now, &mut self.undone_by)).flatten();
        let by = history
            .as_ref()
            .and_then(|h| h.last())
            .filter(|top| top.revision == now)
            .and_then(|top| top.batch.clone());
        self.documents_read += history.iter().flatten().map(|saved| saved.document.len()).sum::<usize>();
        self.looked_up.push((id.to_owned(), history));
        by
    }

    /// The note after the list of users an undo of `batch` left alone, of `listed` in all: what
    /// can still be done, and how many users each batch it says to undo saved in all, when
    /// more than were listed (its undo takes it back from them too).
    pub(super) fn advice(
        &self,
        store: &dyn UserStore,
        listed: usize,
        batch: &BatchId,
        database: Option<&std::path::Path>,
    ) -> Option<String> {
        let Advice { mut note, undos } = advice(&self.looked_up, listed, batch, database)?;
        let wider = super::batch_reach::saved_past_those_listed(store, &undos, listed);
        if !wider.is_empty() {
            note.push_str(&format!(
                "; an undo takes its batch back from every user of it that still holds it, not only from those listed here: {}",
                wider.join(", ")
            ));
        }
        Some(note)
    }
}

/// The note after the list of users left alone, and the batches it says to undo.
struct Advice {
    note: String,
    undos: Vec<String>,
}

/// Users left alone by an undo looked up (one history read each) for the list's note of a
/// later batch to undo first, whatever it takes.
const BATCHES_LOOKED_UP: usize = 20;

/// How long users past the first [`BATCHES_LOOKED_UP`] are looked up for (on PostgreSQL each
/// is a few round trips).
const LOOKING_UP_PAST_THE_FIRST: std::time::Duration = std::time::Duration::from_secs(2);

/// The most users left alone looked up in all: past 100, users an undo of this batch put back
/// took every place, and one under a later batch was never named (bb87 N1). Their histories
/// are kept for the note: 10,000 took an undo of a million users past 64 MiB.
const MOST_LOOKED_UP: usize = 1_000;

/// The most bytes of documents the users looked up past the first [`BATCHES_LOOKED_UP`] may
/// hold in all (their histories are kept for the note).
const MOST_DOCUMENT_BYTES_LOOKED_UP: usize = 16 << 20;

/// The note after the list of users an undo of `batch` left alone: `looked_up` are the first
/// few listed, of `listed` in all.
fn advice(
    looked_up: &[LookedUp],
    listed: usize,
    batch: &BatchId,
    database: Option<&std::path::Path>,
) -> Option<Advice> {
    let ways: Vec<(&str, Way)> = looked_up
        .iter()
        .map(|(id, history)| {
            (id.as_str(), history.as_ref().map_or(Way::SavedOutside, |h| undo_plan::way_back(h, &batch.0)))
        })
        .collect();
    let histories = || looked_up.iter().filter_map(|(_, history)| history.as_ref());
    let said = Said { looked: looked_up.len(), listed, database };
    let mut parts: Vec<String> = Vec::new();
    let mut lost_ways: Vec<&str> = Vec::new();
    let mut named_first: Vec<String> = Vec::new();

    // Later batches to undo first: one order for every user, replayed on each.
    let first: Vec<&[String]> = ways
        .iter()
        .filter_map(|(_, way)| if let Way::UndoFirst(first) = way { Some(first.as_slice()) } else { None })
        .collect();
    if !first.is_empty() {
        let order = undo_plan::merged(&first, &saved_at(histories()));
        let mut reached: Vec<(&str, &Vec<Saved>)> = Vec::new();
        for ((id, way), (_, history)) in ways.iter().zip(looked_up) {
            if let (Way::UndoFirst(_), Some(history)) = (way, history) {
                if undo_plan::reached_after(history, &batch.0, &order) {
                    reached.push((id, history));
                } else {
                    lost_ways.push(id);
                }
            }
        }
        if !reached.is_empty() {
            parts.push(undo_first(&order, &reached, &said));
            named_first = order;
        }
    }

    let taken_back: Vec<TakenBack<'_>> = ways
        .iter()
        .zip(looked_up)
        .filter_map(|((id, way), (_, history))| match (way, history) {
            (Way::TakenBack { by, since }, Some(history)) => Some((*id, by, since, history)),
            _ => None,
        })
        .collect();
    parts.extend(taken_back_already(&taken_back, &said, &mut named_first));

    let ids_of =
        |kind: &Way| ways.iter().filter(|(_, way)| way == kind).map(|(id, _)| *id).collect::<Vec<_>>();
    let no_way = [ids_of(&Way::NoWay), lost_ways].concat();
    if !no_way.is_empty() {
        parts.push(format!(
            "{} saved since where custodian finds no way back through undos of later batches (`custodian history ID` shows each save since)",
            said.were(&no_way)
        ));
    }
    let outside = ids_of(&Way::SavedOutside);
    if !outside.is_empty() {
        let whom = match (outside.len(), parts.is_empty()) {
            (1, false) => format!("the other user listed{} was", named(&outside)),
            (n, false) => format!("the other {n} listed{} were", named(&outside)),
            (_, true) => said.were(&outside),
        };
        parts.push(format!("{whom} saved outside a batch since (or deleted), which no undo takes back"));
    }
    (!parts.is_empty()).then(|| Advice { note: parts.join("; "), undos: named_first })
}

/// When each batch in the histories saved, the last time it did.
fn saved_at<'h>(histories: impl IntoIterator<Item = &'h Vec<Saved>>) -> HashMap<String, i64> {
    let mut at: HashMap<String, i64> = HashMap::new();
    for saved in histories.into_iter().flatten() {
        if let Some(batch) = &saved.batch {
            let latest = at.entry(batch.clone()).or_insert(saved.saved_at);
            *latest = (*latest).max(saved.saved_at);
        }
    }
    at
}

/// The users a part is about by their ids, when it is about a few (which users a count was
/// about was not said: bb86 F6).
fn named(ids: &[&str]) -> String {
    if ids.is_empty() || ids.len() > NAMED {
        return String::new();
    }
    format!(" ({})", ids.join(", "))
}

/// The most users a part names.
const NAMED: usize = 3;

/// How many of the users listed a part is about, and the database an undo it names is of.
struct Said<'d> {
    /// The first users listed, looked up.
    looked: usize,
    listed: usize,
    /// The database file the undo was given (`None` for the default one, or PostgreSQL's).
    database: Option<&'d std::path::Path>,
}

impl Said<'_> {
    /// The undo of `batch`, to be pasted as it is (as `patch` says it: bb86 F6).
    fn undo(&self, batch: &str) -> String {
        format!("`{}`", super::undo_as_pasted(self.database, batch))
    }

    /// Some of them, as a subject: "1 of the 3 listed (u2)", "25 of the first 100 listed (only
    /// those were looked up)".
    fn some(&self, ids: &[&str]) -> String {
        let n = ids.len();
        if self.listed > self.looked {
            format!("{n} of the first {} listed{} (only those were looked up)", self.looked, named(ids))
        } else {
            format!("{n} of the {} listed{}", self.listed, named(ids))
        }
    }

    /// Them as the subject of "was" or "were", with it.
    fn were(&self, ids: &[&str]) -> String {
        format!("{} {}", self.whole_or_some(ids), if ids.len() == 1 { "was" } else { "were" })
    }

    /// All of them when `ids` are, else [`Said::some`].
    fn whole_or_some(&self, ids: &[&str]) -> String {
        let n = ids.len();
        match (n == self.looked, self.listed > self.looked) {
            (true, true) => format!("the first {n} listed (only those were looked up)"),
            (true, false) if n == 1 => "the user listed".to_owned(),
            (true, false) => format!("the {n} listed"),
            (false, _) => self.some(ids),
        }
    }

    /// Whom a part's batch saved, and what follows the part's first words: "them" when all,
    /// the first looked up (then pointing to the journal for the rest), or some.
    fn whom(&self, ids: &[&str], journal_of: &str) -> (String, String) {
        let n = ids.len();
        match (n == self.looked, self.listed > self.looked) {
            (true, false) => (them(n).to_owned(), String::new()),
            (true, true) => (
                format!("the first {n} listed"),
                format!(
                    " (only those were looked up; `custodian changes --batch {journal_of}` lists every user it saved)"
                ),
            ),
            (false, _) => (self.some(ids), String::new()),
        }
    }
}

/// `undo` of each of `order`, then this one, for the users `reached` by it.
fn undo_first(order: &[String], reached: &[(&str, &Vec<Saved>)], said: &Said) -> String {
    let ids: Vec<&str> = reached.iter().map(|(id, _)| *id).collect();
    let (whom, rest) = said.whom(&ids, &order[0]);
    let undo_each = order.iter().map(|batch| said.undo(batch)).collect::<Vec<_>>().join(", then ");
    // The users' documents put back by an undo of a later batch to those `order`'s one batch
    // wrote: that undo is named as what happened, the batch as what to undo.
    let tops: Vec<Option<&Saved>> = reached.iter().map(|(_, history)| history.last()).collect();
    if let [only] = order
        && let Some(Some(top)) = tops.first()
        && top.undoes.is_some()
        && top.batch.as_ref() != Some(only)
        && tops.iter().all(|t| t.and_then(|t| t.batch.as_ref()) == top.batch.as_ref())
    {
        let undo = top.batch.as_deref().unwrap_or_default();
        return format!(
            "batch {undo} put {whom} back to the documents batch {only} wrote{rest}: batches are undone last first — {undo_each}, then this one"
        );
    }
    format!(
        "{} {} saved {whom} since{rest}: batches are undone last first — {undo_each}, then this one",
        if order.len() == 1 { "batch" } else { "batches" },
        order.join(", ")
    )
}

/// A user the batch's change was taken back from since: their id, by what, what they hold
/// since, and their history.
type TakenBack<'h> = (&'h str, &'h TakenBy, &'h SinceTakenBack, &'h Vec<Saved>);

/// The ids of `users`.
fn ids<'a>(users: &[&TakenBack<'a>]) -> Vec<&'a str> {
    users.iter().map(|(id, _, _, _)| *id).collect()
}

/// What is said of the users the batch's change was taken back from since: put back by an undo
/// of it or brought back by a later save, or saved since — with the batch's documents again
/// (and which undos take those back), or with others.
/// `undos_named`: the undos named already, to be run first (a batch was named twice in one line, the
/// second undo of it restoring no one: bb87 N3); those named here are added.
fn taken_back_already(
    taken_back: &[TakenBack<'_>],
    said: &Said,
    undos_named: &mut Vec<String>,
) -> Vec<String> {
    let mut parts = Vec::new();
    let of_kind = |kind: &dyn Fn(&TakenBy, &SinceTakenBack) -> bool| {
        taken_back.iter().filter(|(_, by, since, _)| kind(by, since)).collect::<Vec<_>>()
    };
    let as_undone =
        of_kind(&|by, since| matches!(by, TakenBy::ItsUndo(_)) && *since == SinceTakenBack::AsUndone);
    if !as_undone.is_empty() {
        let undos = its_undos(&as_undone);
        let whose = ids(&as_undone);
        parts.push(match (whose.len() == said.looked, undos.as_slice()) {
            (true, [undo]) => {
                let (whom, rest) = said.whom(&whose, undo);
                format!("batch {undo} put {whom} back to the documents from before this one already{rest}")
            }
            _ => format!(
                "{} put back already by {}, {} of this one",
                said.were(&whose),
                one_or_each("batch", "batches", &undos),
                if undos.len() == 1 { "an undo" } else { "undos" }
            ),
        });
    }
    // Brought back by a later patch, an undo of another batch or a save outside a batch.
    let brought_back =
        of_kind(&|by, since| !matches!(by, TakenBy::ItsUndo(_)) && *since == SinceTakenBack::AsUndone);
    if !brought_back.is_empty() {
        let by = match taken_by(&brought_back) {
            Some(TakenBy::Batch(batch)) => format!(" (batch {batch})"),
            Some(TakenBy::Outside) => " outside a batch".to_owned(),
            _ => String::new(),
        };
        parts.push(format!(
            "{} brought back to the document from before this batch by a later save{by}: nothing of this batch is left on {} to take back",
            said.were(&ids(&brought_back)),
            them(brought_back.len())
        ));
    }

    let saved_since: Vec<&TakenBack<'_>> =
        taken_back.iter().filter(|(_, _, since, _)| **since != SinceTakenBack::AsUndone).collect();
    if saved_since.is_empty() {
        return parts;
    }
    // On which of those saved since each clause is.
    let on = |users: &[&str]| {
        if users.len() == saved_since.len() {
            String::new()
        } else {
            format!(" on {} of them{}", users.len(), named(users))
        }
    };
    let mut since: Vec<String> = Vec::new();
    let again: Vec<(&str, &[String])> = taken_back
        .iter()
        .filter_map(|(id, _, since, _)| match since {
            SinceTakenBack::WrittenAgain { way: Some(way), .. } => Some((*id, way.as_slice())),
            _ => None,
        })
        .collect();
    let saved_over = taken_back.iter().any(|(_, _, since, _)| {
        matches!(since, SinceTakenBack::WrittenAgain { holds_it: false, way: Some(_), .. })
    });
    if !again.is_empty() {
        let ways: Vec<&[String]> = again.iter().map(|(_, way)| *way).collect();
        let whose: Vec<&str> = again.iter().map(|(id, _)| *id).collect();
        let order = undo_plan::merged(&ways, &saved_at(taken_back.iter().map(|(_, _, _, history)| *history)));
        let not_named: Vec<&String> = order.iter().filter(|batch| !undos_named.contains(batch)).collect();
        let undo_each = if not_named.is_empty() {
            format!("the {} named above", if order.len() == 1 { "undo" } else { "undos" })
        } else {
            not_named.iter().map(|batch| said.undo(batch)).collect::<Vec<_>>().join(", then ")
        };
        undos_named.extend(not_named.into_iter().cloned());
        // Saved over since its documents were written again: the batches are not all ones
        // that wrote them.
        let written = if saved_over {
            format!("its documents were written again since, and saved over{}", on(&whose))
        } else {
            format!(
                "{} wrote its documents again since{}",
                one_or_each("batch", "batches", &order),
                on(&whose)
            )
        };
        since.push(format!(
            "{written}: {undo_each} {} those back",
            if order.len() == 1 { "takes" } else { "take" }
        ));
    }
    let stuck = of_kind(&|_, since| matches!(since, SinceTakenBack::WrittenAgain { way: None, .. }));
    if !stuck.is_empty() {
        // Named by what wrote the batch's documents again (a `set` an undo of a later batch
        // brought back is no batch's doing: bb85 seed 1110).
        let by = if stuck
            .iter()
            .all(|(_, _, since, _)| matches!(since, SinceTakenBack::WrittenAgain { by: None, .. }))
        {
            OUTSIDE.to_owned()
        } else {
            saved_by(&stuck)
        };
        let why = if by == OUTSIDE {
            "which no undo takes back"
        } else {
            "where custodian finds no way back through undos of later batches (`custodian history ID` shows each save since)"
        };
        since.push(format!("{by} wrote its documents again since{}, {why}", on(&ids(&stuck))));
    }
    // The same document brought back by the undo of another batch: its undo would undo that.
    let same = of_kind(&|_, since| matches!(since, SinceTakenBack::SameDocument { .. }));
    if !same.is_empty() {
        let by = match same.first().map(|(_, _, since, _)| since) {
            Some(SinceTakenBack::SameDocument { by, undone, .. })
                if same.iter().all(
                    |(_, _, other, _)| matches!(other, SinceTakenBack::SameDocument { by: b, .. } if b == by),
                ) =>
            {
                format!("batch {by}, an undo of batch {undone},")
            }
            _ => "undos of other batches".to_owned(),
        };
        since.push(format!(
            "{by} brought back the same document as this batch's since{}, which undoing would take back as that undo, not as this batch's change (`custodian history ID` shows each save since)",
            on(&ids(&same))
        ));
    }
    let other = of_kind(&|_, since| *since == SinceTakenBack::Other);
    if !other.is_empty() {
        let by = saved_by(&other);
        since.push(format!(
            "{by} saved other documents since{}: nothing of this batch is left on {} to take back",
            on(&ids(&other)),
            them(other.len())
        ));
    }
    let how = match (
        saved_since.iter().all(|(_, by, _, _)| matches!(by, TakenBy::ItsUndo(_))),
        saved_since.iter().any(|(_, by, _, _)| matches!(by, TakenBy::ItsUndo(_))),
    ) {
        (true, _) => "an undo of it",
        (false, true) => "an undo of it or a later save",
        (false, false) => "a later save",
    };
    let restored = if saved_since.len() == said.looked {
        them(said.looked).to_owned()
    } else {
        said.some(&ids(&saved_since))
    };
    parts.push(format!(
        "this batch was taken back already ({how} restored {restored}), and {}",
        since.join("; and ")
    ));
    parts
}

/// The undos of this batch that took it back from the users, each once.
fn its_undos<'a>(users: &[&TakenBack<'a>]) -> Vec<&'a str> {
    let mut named: Vec<&str> = Vec::new();
    for (_, by, _, _) in users {
        if let TakenBy::ItsUndo(undo) = by
            && !named.contains(&undo.as_str())
        {
            named.push(undo);
        }
    }
    named
}

/// What took the users' batch back, when one thing did for all of them.
fn taken_by<'a>(users: &[&TakenBack<'a>]) -> Option<&'a TakenBy> {
    let first = users.first()?.1;
    users.iter().all(|(_, by, _, _)| *by == first).then_some(first)
}

/// "them", or "it" for one user.
fn them(n: usize) -> &'static str {
    if n == 1 { "it" } else { "them" }
}

/// `one NAME` or `each NAMES`, joined: "batch B", "batches B, C".
fn one_or_each(one: &str, each: &str, names: &[impl AsRef<str>]) -> String {
    let names: Vec<&str> = names.iter().map(AsRef::as_ref).collect();
    format!("{} {}", if names.len() == 1 { one } else { each }, names.join(", "))
}

/// A save outside a batch, as [`saved_by`] names it.
const OUTSIDE: &str = "a save outside a batch";

/// What saved the users' documents now: one batch, a save outside a batch, or several.
fn saved_by(users: &[&TakenBack<'_>]) -> String {
    let mut tops =
        users.iter().map(|(_, _, _, history)| history.last().and_then(|saved| saved.batch.as_ref()));
    let first = tops.next().flatten();
    if !tops.all(|other| other == first) {
        return "later saves".to_owned();
    }
    first.map_or(OUTSIDE.to_owned(), |batch| format!("batch {batch}"))
}
