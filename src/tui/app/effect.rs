//! The work `update` hands to the runtime: the store, the drafts directory, the terminal.

use super::*;

/// Store work `update` asks for; the runtime does it and answers with an [`Action`].
#[derive(Debug, Clone, PartialEq)]
pub enum Effect {
    LoadRows(RowRequest),
    /// Validate the editor's text of this generation; answered with [`Action::Checked`].
    Check {
        generation: u64,
        text: String,
        limits: Limits,
        /// The schema the editor holds the text to (it changes when the stored one does).
        shape: SharedShape,
    },
    /// A checked document the state let go of, freed off the key path (freeing the tree of a
    /// 1 MiB document takes about a millisecond).
    Discard(Box<CustomData>),
    LoadUser {
        id: String,
    },
    Save {
        id: String,
        data: CustomData,
        /// The document the save replaces, as the screen read it (the editor's base, or
        /// theirs when overwriting): a save over any other is refused.
        held_to: StoredDocument,
        /// The schema the edit was checked against: a stored one is read again first, and a
        /// newer one ([`Action::SchemaRead`]) stops the save.
        schema: SchemaSource,
    },
    /// Read the stored schema again (`r`); answered with [`Action::SchemaRead`] when it is no
    /// longer the revision `seen` (`None`: none was set).
    ReadSchema {
        seen: Option<Revision>,
        /// Read again by a save that was refused (it is said `not saved`): bb91 F4.
        for_save: bool,
    },
    /// Keep an unsaved edit in a recovery file of its own (autosave never writes it, a save
    /// never removes it); on success the editor's own draft is removed and theirs loaded.
    KeepRecovery {
        edit: EditSnapshot,
        theirs: StoredDocument,
    },
    /// The edit was saved or thrown away on purpose: its editing session's draft (and only
    /// that one) is no longer needed.
    DiscardDraft {
        user_id: String,
        session: String,
    },
    /// The operator discarded a draft or recovery file found at start-up.
    RemoveFoundDraft(Draft),
    /// Take a found draft over for a new editing session and load what reopening it needs:
    /// the user, and the document it started from, checked against its digest.
    LoadDraft(Draft),
    LoadHistory {
        id: String,
    },
    /// Up to `limit` journal entries, newest first, older than `before`; answered with
    /// [`Action::ChangesLoaded`].
    LoadChanges {
        before: Option<(i64, u64)>,
        limit: usize,
    },
    /// The text of one revision, for the history's diff pane and a restore.
    LoadRevision {
        id: String,
        revision: Revision,
    },
    /// Users whose id, username, email, phone or name start with `query`, from the indexes.
    PrefixSearch {
        generation: u64,
        query: String,
        limit: usize,
    },
    /// Start scanning every user (profile and customData) for `query`, reporting hits as they
    /// are found; a scan of an older generation stops by itself.
    Scan {
        generation: u64,
        query: String,
    },
    /// Stop the running scan.
    StopScan,
    /// Connect the store again with the same settings; answered with [`Action::Reconnected`].
    Reconnect,
    /// Find out whether a save whose outcome was unknown did commit as `revision`; answered
    /// with [`Action::SaveResolved`].
    ResolveSave {
        id: String,
        data: CustomData,
        revision: Revision,
    },
    /// Bring the store's keys up to date with writes made outside custodian, in the
    /// background; [`Action::KeysChanged`] comes back when that changed anything.
    SyncKeys,
    /// Give the terminal back and stop the process until it is continued.
    Suspend,
    /// Ask the terminal to put `text` on the clipboard (OSC 52).
    CopyToClipboard {
        text: String,
    },
    /// Find a user by id, username, email or phone (`:user`).
    FindUser {
        query: String,
    },
    /// Select this user in the list (unfiltered), as `:user` does, saying nothing.
    SelectUser {
        id: String,
    },
    /// Find the selected user again after a refresh that did not find them where they were
    /// (renamed: their row moved); [`Action::UserFollowed`] answers.
    FollowUser {
        id: String,
    },
    /// Read the user's profile and stored customData now, for `purpose`: what the list holds
    /// may be older than what another operator saved since.
    ReadCurrent {
        id: String,
        purpose: Purpose,
    },
    /// Every user as JSON Lines into a new file (0600), as `custodian export --out`.
    Export {
        path: std::path::PathBuf,
        /// Set at the way out when the export has run past the wait: it ends at the next user.
        stop: StopFlag,
    },
    /// The dry run of a patch file over `selection` (read only); answered with
    /// [`Action::PatchReady`].
    PatchDryRun {
        file: std::path::PathBuf,
        selection: crate::store::Selection,
        shape: SharedShape,
        /// Set when the dry run is no longer wanted: it ends at the next user.
        stop: StopFlag,
    },
    /// The dry run's overlay closed while it ran: it stops, so the store's reads go on.
    StopDryRun(StopFlag),
    /// The patch the dry run read, written as one batch; answered with [`Action::PatchApplied`].
    /// Stopped (nothing written) only by the screen ending, as a signal stops `patch --yes`.
    ApplyPatch {
        patch: crate::domain::patch::JsonPatch,
        selection: crate::store::Selection,
        /// The users and documents the dry run showed changing: the batch writes no other.
        reviewed: std::sync::Arc<[u64]>,
        shape: SharedShape,
        /// Where `shape` came from: a stored schema changed since is not the one the dry run
        /// held the documents to, and the batch writes nothing.
        schema: super::SchemaSource,
        /// Users the patch leaves holding something that looks like a secret are written too
        /// (the operator said so in the overlay); else they are left as they are.
        write_flagged: bool,
        stop: StopFlag,
    },
    /// Run `$VISUAL`/`$EDITOR`/`vi` on `text`, with the terminal given back meanwhile.
    EditExternally {
        user_id: String,
        user_handle: String,
        base: StoredDocument,
        text: String,
        /// The most the file may hold when read back (the customData limit).
        max_bytes: usize,
    },
}
