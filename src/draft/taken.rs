//! Found drafts taken over by a new editing session, or discarded.

use std::fs;
use std::io;
use std::path::PathBuf;

use super::{Draft, DraftError, DraftKind, Drafts, external, io_error};

impl Drafts {
    /// Takes a found draft over for a new editing session (`session`): the file is renamed
    /// to the session's draft name, so its autosave continues it and its save or discard
    /// removes it, and a second custodian opening the same draft at the same moment gets
    /// [`DraftError::Gone`] instead of a copy.
    pub fn claim(&self, draft: &Draft, session: &str) -> Result<Draft, DraftError> {
        self.check()?;
        let from = draft.file_name();
        let current = self.read(&from).map_err(|e| match e {
            DraftError::Io { path, source } if source.kind() == io::ErrorKind::NotFound => {
                DraftError::Gone { path }
            }
            other => other,
        })?;
        if current.kind == DraftKind::Draft && self.session_is_running(&current.session) {
            return Err(DraftError::InUse { path: self.dir.join(&from) });
        }
        // An `E` session's: its text is the editor's file's, which the claimed draft holds.
        let (current, external) = match current.external_file.clone() {
            // A later copy its session's end kept is the edit (bb36 #1), wherever it went.
            None => (current.with_later_copy(&super::later_copy::LaterCopies::in_every_place()), None),
            Some(file) => match self.external_edit(current) {
                external::Edit::Offered(draft) => (Draft { external_file: None, ..*draft }, Some(file)),
                external::Edit::NotRead(why) => {
                    return Err(DraftError::NotOffered { path: PathBuf::from(file), why });
                }
                external::Edit::Nothing => return Err(DraftError::Gone { path: PathBuf::from(file) }),
            },
        };
        let claimed = Draft { kind: DraftKind::Draft, session: session.to_owned(), ..current };
        let to = self.dir.join(claimed.file_name());
        // The content names the session too: write it under the new name, then drop the old.
        self.save(&claimed)?;
        match fs::remove_file(self.dir.join(&from)) {
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                let _ = fs::remove_file(&to);
                Err(DraftError::Gone { path: self.dir.join(&from) })
            }
            _ => {
                // The edit is in the claimed draft now: the files that held it go (a later
                // copy left in `$TMPDIR` would be named at every start as an edit no draft took).
                for file in external.iter().chain(&claimed.later_copy) {
                    let _ = fs::remove_file(file);
                }
                Ok(claimed)
            }
        }
    }

    /// Discards a draft or recovery file found at start-up, unless it is a draft of a session
    /// still running in another custodian (then it is left alone).
    pub fn discard_found(&self, draft: &Draft) -> Result<(), DraftError> {
        let path = self.dir.join(draft.file_name());
        if draft.kind == DraftKind::Draft && self.session_is_running(&draft.session) {
            return Err(DraftError::InUse { path });
        }
        self.check()?;
        // Gone already: another custodian took it over (renamed it to its session) or
        // discarded it since the list was read; nothing was discarded here.
        match fs::remove_file(&path) {
            Ok(()) => {
                // Discarded with the draft: the file `E`'s editor left (its only other copy),
                // and the later copy it took from `$TMPDIR`.
                for file in draft.external_file.iter().chain(&draft.later_copy) {
                    let _ = fs::remove_file(file);
                }
                Ok(())
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => Err(DraftError::Gone { path }),
            Err(e) => Err(io_error(&path)(e)),
        }
    }
}
