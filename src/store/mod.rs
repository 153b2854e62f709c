//! Where users live. [`UserStore`] is the narrow interface the CLI and the TUI speak to; the
//! redb and PostgreSQL stores implement it, and one conformance suite tests both.
//!
//! Every customData save is a full replacement that records the document it replaced, bumps
//! the user's revision and refuses when the caller's idea of the revision is stale.

mod author;
mod batch_journal;
mod error;
mod postgres;
mod provided;
mod records;
mod redb_search;
mod redb_store;
mod schema_hold;
mod search_steps;
#[cfg(test)]
mod tests;
mod unwritable;
mod user_ids;

pub use author::Author;
pub use batch_journal::{
    BatchEdit, BatchId, BatchSummary, JournalEntry, JournalQuery, LeftAlone, Selection, UndoSummary,
    batch_landed,
};
pub use error::{MAX_USER_FIELDS_BYTES, StoreError, fields_over_the_limit};
pub use postgres::connect::{ConnectionSpec, is_postgres_url};
pub use postgres::{
    CLI_STATEMENT_TIMEOUT, InitDone, KeySync, LastKeySync, POSTGRES_SCHEMA_VERSION, PostgresOptions,
    PostgresStore, SCREEN_STATEMENT_TIMEOUT, another_tenant_of, same_database_name_and_tenant,
};
use provided::one_user_of;
pub(crate) use provided::{visit_selected_one_by_one, walk_list_in_pages};
pub use records::{
    ImportMode, ImportSummary, KeyOrder, ListEntry, ListKey, RevisionInfo, SaveOutcome, ScanStep, Seek,
    StoredDocument, StoredSchema, UserCount, UserRecord,
};
#[cfg(test)]
pub(crate) use redb_store::test_store;
pub use redb_store::{OpenOptions, RedbStore, SCHEMA_VERSION};
pub(crate) use search_steps::{SEARCH_STEP, search_by_steps};
pub use unwritable::{Unwritable, unwritable_mode};
pub use user_ids::{UserIds, UserIdsGathered};

use std::path::PathBuf;

use crate::domain::CustomData;
pub use crate::domain::import::{NewUser, RecordError};
pub use crate::domain::user_ref::{UserField, UserMatch, UserRef};

/// The users an import writes, one at a time. Each user, once written, is handed back
/// (`written`): a source that makes users on another thread frees them there, where glibc
/// frees them without taking that thread's arena lock (two threads waiting on that lock
/// were half of a streamed import's time). Any iterator of records is one.
pub trait ImportSource {
    fn next_user(&mut self) -> Option<Result<NewUser, RecordError>>;
    /// Takes back a user the import has written; dropped here by default.
    fn written(&mut self, _user: NewUser) {}
}

impl<I: Iterator<Item = Result<NewUser, RecordError>> + ?Sized> ImportSource for I {
    fn next_user(&mut self) -> Option<Result<NewUser, RecordError>> {
        self.next()
    }
}

/// Where a sort of every user may spill ([`UserStore::any_order_sort_room`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SortRoom {
    /// The database's own directory: on the disk that holds the users already (`/tmp` may be
    /// memory).
    pub dir: PathBuf,
    /// At most how many bytes the users take written out (the database's size: it holds them
    /// and more).
    pub bytes: u64,
}

/// What [`UserStore::walk_list`] hands each user to: the user's list entry and stored
/// customData (when asked for); `false` stops the walk.
pub type ListVisit<'v> = dyn FnMut(ListEntry, Option<String>) -> Result<bool, StoreError> + 'v;

/// Users a page of [`UserStore::walk_list`] reads at a time.
pub(crate) const LIST_PAGE: usize = 1_000;

/// What [`UserStore::for_each_user_in_any_order`] calls with each user: their key in list
/// order, record and stored (compact) customData.
pub type KeyedVisit<'a> = dyn FnMut(&[u8], &UserRecord, &str) -> Result<(), StoreError> + 'a;

/// A user's customData revision: 1 when created, +1 on every save that changes it.
pub type Revision = u64;

/// Users sharing a name: the field, the shared value (folded), their ids.
pub type NameCollision = (&'static str, String, Vec<String>);

/// The most groups of users sharing a name [`UserStore::name_collisions`] lists.
pub const COLLISIONS_LISTED: usize = 100;

/// The operations custodian needs from a user store. Reads take a fresh snapshot each call
/// (nothing is held while an operator thinks); each write is one atomic, durable transaction.
pub trait UserStore: Send + Sync {
    /// Whether every write will be refused (the store was opened read-only).
    fn is_read_only(&self) -> bool;
    /// Number of users, counted exactly (on PostgreSQL that reads every index entry of the
    /// tenant: see [`UserStore::user_count`] for a figure that is cheap at any size).
    fn count(&self) -> Result<u64, StoreError>;
    /// Number of users for a screen or `info`: cheap at any number of users, and exact
    /// unless the store says it is an estimate.
    fn user_count(&self) -> Result<UserCount, StoreError> {
        Ok(UserCount { users: self.count()?, exact: true })
    }
    /// Whether a saved document keeps its key order (the only way the screen and the CLI
    /// learn it): where it does not, a reordering is no change.
    fn key_order(&self) -> KeyOrder {
        KeyOrder::AsWritten
    }
    /// How a user read a moment ago can be gone from this store, for the words that say so: on
    /// Logto's database a user moved to another tenant by SQL is gone from this one as well
    /// (it was said deleted, and the operator looked for a deletion: bb74 F2, bb98 F2).
    fn how_a_user_goes(&self) -> &'static str {
        match self.key_order() {
            KeyOrder::Backend(_) => "deleted, or moved to another tenant, outside custodian",
            KeyOrder::AsWritten => "deleted outside custodian",
        }
    }
    /// Whether users may hold what custodian's rules refuse, written by others (Logto, SQL):
    /// an export then checks each line as an import would, and says which it would refuse.
    fn written_by_others(&self) -> bool {
        false
    }
    /// Users whose username, primary email or primary phone is another's under the rule that
    /// keeps them unique (an import refuses the second): on a file, only users an upgrade from
    /// an older layout found so (both kept); on PostgreSQL, names Logto keeps apart that are
    /// one under custodian's fold (`Bob`, `bob `, `Straße`, `strasse`). Each: the field, the
    /// folded value, the ids; at most [`COLLISIONS_LISTED`] groups.
    fn name_collisions(&self) -> Result<Vec<NameCollision>, StoreError>;
    /// Whether reads go over a link (PostgreSQL), where one may wait on a stalled server: the
    /// screen's way out gives reads only a moment then. A file's reads are the disk's, waited
    /// for as writes are: a worker left inside one keeps the file from closing cleanly.
    fn reads_over_a_link(&self) -> bool {
        false
    }
    /// Whether the store still reads what its name names: a database file replaced or removed
    /// under a running editor (a restore with `cp` + `mv`) is [`StoreError::FileReplaced`], so
    /// that a refresh, a save's re-read or an export does not give the old file's users as
    /// what is there (they said "refreshed" over them: bb14 L03).
    fn still_at_its_path(&self) -> Result<(), StoreError> {
        Ok(())
    }
    /// From now until [`UserStore::unpin_reads`], reads come from one snapshot of the store:
    /// a listing read a page at a time (`list --limit 0`) while another process committed
    /// listed some users twice and others not at all (bb42 F4). A file's pinned snapshot
    /// keeps the pages it reads from being reused meanwhile, so writes made then grow the
    /// file; only a command that reads a whole listing pins. Provided: nothing (PostgreSQL
    /// reads each page in a statement of its own).
    fn pin_reads(&self) -> Result<(), StoreError> {
        Ok(())
    }
    /// Ends [`UserStore::pin_reads`]: each read takes the store as it is then again.
    fn unpin_reads(&self) {}
    /// Up to `limit` users in list order from `seek`. Always returned in list order, also
    /// when reading backwards.
    fn rows(&self, seek: &Seek, limit: usize) -> Result<Vec<ListEntry>, StoreError>;
    /// Up to `limit` users in list order, after `after` (from the start when `None`).
    fn page_after(&self, after: Option<&ListKey>, limit: usize) -> Result<Vec<ListEntry>, StoreError> {
        self.rows(&after.map_or(Seek::First, |k| Seek::After(k.clone())), limit)
    }
    /// Up to `limit` users in list order just before `before` (the last ones when `None`).
    fn page_before(&self, before: Option<&ListKey>, limit: usize) -> Result<Vec<ListEntry>, StoreError> {
        self.rows(&before.map_or(Seek::Last, |k| Seek::Before(k.clone())), limit)
    }
    /// The first `limit` users in list order after `after` that match `query` by the
    /// filter's rule ([`crate::domain::filter::Filter`]): `list --search`, which is the list
    /// filter's scan run to its end.
    fn search(
        &self,
        query: &str,
        after: Option<&ListKey>,
        limit: usize,
    ) -> Result<Vec<ListEntry>, StoreError> {
        search_by_steps(self, query, after, limit, SEARCH_STEP)
    }
    /// Users whose id, username, email, phone or name starts with `query` (folded as the
    /// filter folds), in list order, at most `limit`. Read from the indexes: the same cost at
    /// any number of users. Every user it returns is also a match of [`UserStore::scan_matches`].
    fn prefix_matches(&self, query: &str, limit: usize) -> Result<Vec<ListEntry>, StoreError>;
    /// One step of a full scan, in list order: up to `batch` users after the list key
    /// `after`, with those among them that match `query` by the filter's rule
    /// ([`crate::domain::filter::Filter`]: profile fields and customData, each user at most
    /// once). The step ends early at `max_hits` hits, so a query that matches nearly everyone
    /// costs no more memory than the caller wants to hold, and the first N hits of a scan are
    /// the first N matches in list order. Each step is its own short read, so a scan holds no
    /// snapshot for long.
    fn scan_matches(
        &self,
        query: &str,
        after: Option<&ListKey>,
        batch: usize,
        max_hits: usize,
    ) -> Result<ScanStep, StoreError>;
    /// Every user `reference` matches in the fields it names (all four for a bare one), with
    /// the field each matched by: at most one per field, since each is unique (except users
    /// an upgrade found colliding). Usernames and emails are matched by the Unicode fold
    /// ([`crate::domain::fold::name_key`]), phones normalised ([`crate::domain::fold::phone_key`]),
    /// ids exactly.
    fn lookup(&self, reference: &UserRef) -> Result<Vec<UserMatch>, StoreError>;
    /// The id of the user named by `user_ref`: an id, a username, a primary email or a
    /// primary phone, or one of the explicit forms `id:…`, `username:…`, `email:…`,
    /// `phone:…` ([`UserRef::parse`]). A bare reference that matches more than one user is
    /// refused ([`StoreError::Ambiguous`]) instead of picking one by a fixed order.
    fn resolve(&self, user_ref: &str) -> Result<String, StoreError> {
        let mut resolved = self.resolve_many(&[user_ref])?;
        resolved.pop().unwrap_or_else(|| Err(StoreError::UserNotFound(user_ref.to_owned())))
    }
    /// [`UserStore::lookup`] for many references, in their order. Provided: one by one;
    /// where every lookup reads the whole tenant (Logto's database) one read serves them all.
    fn lookup_many(&self, references: &[UserRef]) -> Result<Vec<Vec<UserMatch>>, StoreError> {
        references.iter().map(|reference| self.lookup(reference)).collect()
    }
    /// [`UserStore::resolve`] for many references (a `--users` file), in their order: the
    /// outer error is the store's (nothing can be told), an inner one that reference's.
    fn resolve_many(&self, user_refs: &[&str]) -> Result<Vec<Result<String, StoreError>>, StoreError> {
        let references: Vec<UserRef> = user_refs.iter().map(|text| UserRef::parse(text)).collect();
        // Blank text names no one, whatever a name made of white space folds to; a reference
        // that only looks explicit is refused before any lookup.
        let looked_up = |r: &&UserRef| !r.is_blank() && r.looks_explicit().is_none();
        let wanted: Vec<UserRef> = references.iter().filter(looked_up).cloned().collect();
        let mut found = self.lookup_many(&wanted)?.into_iter();
        // A reference typed from the screen may hold its markers (`␛`, `\u{202e}`): it is also
        // looked up as the text they stand for. A name that holds `\u{202e}` written out shows
        // as the one that holds U+202E, and typing what was shown named the written-out one
        // (bb26 T07): the two are one match each, so such a reference names both, not one.
        let shown: Vec<Option<UserRef>> = user_refs
            .iter()
            .map(|text| match crate::inert::from_shown(text) {
                std::borrow::Cow::Owned(read) => Some(UserRef::parse(&read)),
                std::borrow::Cow::Borrowed(_) => None,
            })
            .collect();
        let shown_wanted: Vec<UserRef> = shown.iter().flatten().filter(looked_up).cloned().collect();
        let mut shown_found = self.lookup_many(&shown_wanted)?.into_iter();
        let mut resolved = Vec::with_capacity(user_refs.len());
        for ((user_ref, reference), shown) in user_refs.iter().zip(&references).zip(&shown) {
            if let Some(field) = reference.looks_explicit() {
                let reference = user_ref.trim().to_owned();
                resolved.push(Err(StoreError::LooksExplicit { reference, field }));
                continue;
            }
            let mut matches =
                if reference.is_blank() { Vec::new() } else { found.next().unwrap_or_default() };
            if shown.as_ref().is_some_and(|r| looked_up(&r)) {
                matches.extend(shown_found.next().unwrap_or_default());
            }
            resolved.push(one_user_of(self, user_ref, reference, matches)?);
        }
        Ok(resolved)
    }
    /// One user, by id.
    fn user(&self, id: &str) -> Result<UserRecord, StoreError>;
    /// The users of `ids` that exist, in any order (a page of the journal names its users:
    /// one read for them all where a round trip costs, not one each). Provided: one by one.
    fn users_by_id(&self, ids: &[String]) -> Result<Vec<UserRecord>, StoreError> {
        let mut found = Vec::with_capacity(ids.len());
        for id in ids {
            match self.user(id) {
                Ok(record) => found.push(record),
                Err(StoreError::UserNotFound(_)) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(found)
    }
    /// The list row of one user, by id.
    fn entry(&self, id: &str) -> Result<ListEntry, StoreError>;
    /// The current customData text of a user. Where a save is also held to the document
    /// last read (Logto's database), this read is that document.
    fn custom_data(&self, id: &str) -> Result<StoredDocument, StoreError>;
    /// The current customData, read without making it the document a later save of this
    /// user is held to: a conflict's "theirs", shown while the edit keeps its own base.
    fn theirs(&self, id: &str) -> Result<StoredDocument, StoreError> {
        self.custom_data(id)
    }
    /// Holds the next save of `id` to `document`, as read before (the editor's base, or
    /// theirs when overwriting after a conflict): where revisions alone cannot tell (Logto's
    /// database), a save over another document is refused. A file has nothing to hold.
    fn hold_save_to(&self, _id: &str, _document: &StoredDocument) {}
    /// Holds every later write of customData through this store (a save, a restore, a
    /// batch, an import) to the stored schema its documents were checked against: `seen` is
    /// that schema's revision, `None` when none was set. A write whose transaction finds
    /// another (a `schema set` or `clear` committed after the check) writes nothing and fails
    /// with [`StoreError::SchemaChanged`]; the schema is read inside the write, where no
    /// schema change can land before its commit. Never called (documents checked against
    /// `--schema FILE`, or not at all): writes are not held.
    fn hold_writes_to_schema(&self, seen: Option<Revision>);
    /// Replaces a user's customData, keeping the old document in the history. With
    /// `expected`, refuses (`Conflict`) when the stored revision is another one.
    fn replace_custom_data(
        &self,
        id: &str,
        data: &CustomData,
        expected: Option<Revision>,
        author: &Author,
    ) -> Result<SaveOutcome, StoreError>;
    /// Every revision of a user's customData, oldest first, the current one last.
    fn history(&self, id: &str) -> Result<Vec<RevisionInfo>, StoreError>;
    /// Where others than custodian write (Logto's database): keeps the user's document, when
    /// someone changed it since custodian's last revision, as a revision of its own, so a
    /// revision read after this names that very document. A file has nothing to keep.
    fn keep_outside_write(&self, _id: &str) -> Result<(), StoreError> {
        Ok(())
    }
    /// The text of one revision.
    fn revision_text(&self, id: &str, revision: Revision) -> Result<String, StoreError>;
    /// `document` as this store gives it back once saved, in compact form: what a save
    /// compares with the stored document. A file keeps the text's key order and each
    /// number's spelling; PostgreSQL's jsonb orders keys its own way (shorter first) and
    /// writes `1e2` as `100`, so a draft already saved there looked unsaved (bb33 F1).
    fn as_stored(&self, document: &CustomData) -> Result<String, StoreError> {
        Ok(document.compact())
    }
    /// Imports users all or nothing: any bad record, and nothing is written.
    fn import(
        &self,
        users: &mut dyn Iterator<Item = Result<NewUser, RecordError>>,
        mode: ImportMode,
        author: &Author,
    ) -> Result<ImportSummary, StoreError>;
    /// Calls `visit` for every user in list order with their customData, from one snapshot.
    fn for_each_user(
        &self,
        visit: &mut dyn FnMut(&UserRecord, &str) -> Result<(), StoreError>,
    ) -> Result<(), StoreError>;
    /// The users `list` shows: every user in list order (those `search` keeps, by the filter's
    /// rule, when given), from one snapshot, at most `first` of them, with the text of their
    /// stored customData when `documents` (`None` for a user that read did not give: gone
    /// since), until `visit` answers `false`. PostgreSQL holds its session through a walk past
    /// one page: `visit` calls nothing of the store there (it is given every document).
    /// Provided: a page at a time ([`UserStore::page_after`], [`UserStore::search`]) under
    /// [`UserStore::pin_reads`], each page's documents in one read.
    fn walk_list(
        &self,
        search: Option<&str>,
        first: usize,
        documents: bool,
        visit: &mut ListVisit<'_>,
    ) -> Result<(), StoreError> {
        walk_list_in_pages(self, search, first, documents, visit)
    }
    /// `Some` when [`UserStore::for_each_user_in_any_order`] reads the users faster than
    /// [`UserStore::for_each_user`] does in list order, enough to pay for sorting them
    /// afterwards (an export at a million users): where that sort may spill, and how much.
    /// Provided: `None`, list order is as fast.
    fn any_order_sort_room(&self) -> Option<SortRoom> {
        None
    }
    /// Calls `visit` for every user with their customData, from one snapshot, in the order
    /// the store reads fastest; with each user comes a key that puts the users in list order
    /// when sorted byte by byte (every key different). Provided: list order itself, each key
    /// the user's place in it.
    fn for_each_user_in_any_order(&self, visit: &mut KeyedVisit<'_>) -> Result<(), StoreError> {
        let mut place: u64 = 0;
        self.for_each_user(&mut |record, text| {
            place += 1;
            visit(&place.to_be_bytes(), record, text)
        })
    }

    /// Connects again after the connection was lost ([`StoreError::ConnectionLost`]), with the
    /// same server, role, tenant and settings; a connection that is fine is kept unless it takes
    /// no writes (then a new session looks again). Answers whether writes are taken now (false
    /// for a read-only store). Provided: an embedded store (redb) has no connection to lose.
    fn reconnect(&self) -> Result<bool, StoreError> {
        Ok(!self.is_read_only())
    }

    /// Asks the store to stop the statement it is running now, from another thread (the
    /// filter's scan that the next keystroke replaced); that call then fails with
    /// [`StoreError::Cancelled`] or finishes, whichever comes first. Must not block. Provided
    /// as nothing: redb's scan steps are short and the scanner checks between them.
    fn cancel_running(&self) {}

    /// After [`StoreError::SaveOutcomeUnknown`] (and a reconnect): whether the save of `data`
    /// as revision `revision` of user `id` did commit. Provided by comparing that revision's
    /// document with `data`; a backend may compare as its own storage does.
    fn save_landed(&self, id: &str, data: &CustomData, revision: Revision) -> Result<bool, StoreError> {
        match self.revision_text(id, revision) {
            Ok(text) => {
                Ok(CustomData::parse(&text).is_ok_and(|stored| stored.as_object() == data.as_object()))
            }
            Err(StoreError::RevisionNotFound { .. }) => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// Brings what the store keeps beside the users up to date with writes made outside
    /// custodian (PostgreSQL's key table: users Logto created, renamed or deleted since the
    /// last sync); whether anything changed, so a screen knows to reload its list. A store
    /// whose indexes are written with the users (redb), or that reads the order afresh
    /// each time, has nothing to do.
    fn sync_keys(&self) -> Result<bool, StoreError> {
        Ok(false)
    }

    /// The deployment's JSON Schema for customData and its revision; `None` when none is set
    /// (never set, cleared, or a PostgreSQL database without custodian's schema).
    fn schema(&self) -> Result<Option<StoredSchema>, StoreError>;
    /// Sets (`Some`) or clears (`None`) the schema. Every change is a new revision and the
    /// one it replaces stays in the history; the same text again (or clearing when there is
    /// none) writes nothing. Returns the schema's revision after the call (0: never set), and
    /// whether this call wrote it: another writer's equal text landing first is no save of
    /// ours, though the revision is newer than the one read before. The text is stored as
    /// given: checking that it is a schema is the caller's.
    fn set_schema(&self, text: Option<&str>, author: &Author) -> Result<(Revision, bool), StoreError>;
    /// Every revision of the schema, oldest first, the current one last (`size` 0: cleared).
    fn schema_history(&self) -> Result<Vec<RevisionInfo>, StoreError>;
    /// The text of one revision of the schema; `None` when that revision cleared it.
    fn schema_revision_text(&self, revision: Revision) -> Result<Option<String>, StoreError>;

    /// Applies `edit` to the customData of every user `selection` names, all in one write
    /// transaction: each [`BatchEdit::Replace`] that differs from the stored document becomes
    /// a new revision tagged with `batch` (in the history and the journal); when `edit` returns
    /// an error, nothing at all is written and that error is returned. Users are read one at
    /// a time, so memory does not grow with the selection, each once, in the order the store
    /// writes fastest: redb by id; PostgreSQL in list order (`Ids` in id order on both). So a report of
    /// the first users of each kind may name others than the dry run's
    /// ([`UserStore::for_each_selected`], which goes in the selection's order). An id of [`Selection::Ids`] that
    /// names no user is [`StoreError::UserNotFound`]. Provided: [`UserStore::edit_batch_held`]
    /// with nothing to check at the end.
    fn edit_batch(
        &self,
        batch: &BatchId,
        selection: &Selection,
        edit: &mut dyn FnMut(&UserRecord, &str) -> Result<BatchEdit, StoreError>,
        author: &Author,
    ) -> Result<BatchSummary, StoreError> {
        self.edit_batch_held(batch, selection, edit, &mut || Ok(()), author)
    }

    /// [`UserStore::edit_batch`], with `walked` called once every selected user was edited,
    /// before the commit and in the same transaction: its error writes nothing. A batch held
    /// to a dry run learns there whether a user the dry run showed changing left the
    /// selection (renamed or deleted since), which no single edit can see (bb60 F1).
    /// Provided: not on this backend.
    fn edit_batch_held(
        &self,
        batch: &BatchId,
        selection: &Selection,
        edit: &mut dyn FnMut(&UserRecord, &str) -> Result<BatchEdit, StoreError>,
        walked: &mut dyn FnMut() -> Result<(), StoreError>,
        author: &Author,
    ) -> Result<BatchSummary, StoreError> {
        let _ = (batch, selection, edit, walked, author);
        Err(StoreError::NotOnThisBackend("batches are not kept on this backend yet".into()))
    }

    /// Calls `visit` for every user `selection` names, in its order, with their record and
    /// customData text (compact or canonical: parse it), reading only: the dry run of a
    /// batch edit goes over the same users [`UserStore::edit_batch`] would. An id of
    /// [`Selection::Ids`] that names no user is [`StoreError::UserNotFound`]; an id given
    /// twice is visited once, as the batch edits it once. Provided from
    /// [`UserStore::for_each_user`] and [`UserStore::scan_matches`] (whose steps are short
    /// reads of their own).
    fn for_each_selected(
        &self,
        selection: &Selection,
        visit: &mut dyn FnMut(&UserRecord, &str) -> Result<(), StoreError>,
    ) -> Result<(), StoreError> {
        visit_selected_one_by_one(self, selection, visit)
    }

    /// Restores every user `batch` saved to the revision before it, as one new batch `undo`
    /// in one transaction; a user saved again since is left alone and listed. An unknown
    /// batch is [`StoreError::BatchNotFound`] ([`StoreError::LoadNotUndoable`] for a bulk
    /// load's id on a database file). Provided: not on this backend.
    fn undo_batch(
        &self,
        batch: &BatchId,
        undo: &BatchId,
        author: &Author,
    ) -> Result<UndoSummary, StoreError> {
        let _ = (batch, undo, author);
        Err(StoreError::NotOnThisBackend("batches are not kept on this backend yet".into()))
    }

    /// The batch `undo` took back, when `undo` is an undo (`None` for a batch that edited,
    /// an id no batch has, or an undo written before the store kept what it undid): what
    /// `undo`'s advice follows to tell which batches lead back to another. Provided: none.
    fn batch_undone_by(&self, undo: &BatchId) -> Result<Option<BatchId>, StoreError> {
        let _ = undo;
        Ok(None)
    }

    /// The journal of every save, newest first, narrowed by `query`, from one snapshot;
    /// `visit` returns `false` to stop early. Read from indexes: a query for the last hour
    /// does not read all history. Provided: not on this backend.
    fn journal(
        &self,
        query: &JournalQuery,
        visit: &mut dyn FnMut(&JournalEntry) -> Result<bool, StoreError>,
    ) -> Result<(), StoreError> {
        let _ = (query, visit);
        Err(StoreError::NotOnThisBackend("the journal is not kept on this backend yet".into()))
    }

    /// Saves an old revision's document as a new revision; nothing is rewritten in place.
    fn restore(
        &self,
        id: &str,
        revision: Revision,
        expected: Option<Revision>,
        author: &Author,
    ) -> Result<SaveOutcome, StoreError> {
        let text = self.revision_text(id, revision)?;
        let data = CustomData::parse(&text)?;
        self.replace_custom_data(id, &data, expected, author)
    }
}
