//! Why a database file may not be written by this process, and what to do first: the repair
//! of a file left unclean writes it.

/// The mode of a file its process may not write (`0444`), `None` when it may (or it is not
/// there to ask).
pub fn unwritable_mode(path: &str) -> Option<Unwritable> {
    use std::os::unix::fs::MetadataExt;
    // Refused for its permissions alone: a read-only file system is said as that.
    let refused = rustix::fs::access(path, rustix::fs::Access::WRITE_OK) == Err(rustix::io::Errno::ACCESS);
    let meta = std::fs::metadata(path).ok()?;
    // SAFETY: geteuid has no preconditions.
    let yours = meta.uid() == unsafe { libc::geteuid() };
    refused.then_some(Unwritable { mode: meta.mode() & 0o7777, owner: (!yours).then_some(meta.uid()) })
}

/// Why a file may not be written by this process: its mode, and its owner when not this user
/// (then `chmod` is not this user's to run: bb76 F3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Unwritable {
    pub mode: u32,
    pub owner: Option<u32>,
}

impl Unwritable {
    /// What to do first, before the repair: `chmod u+w` a file of one's own, a copy of another's.
    pub fn first_step(self, path: &str) -> String {
        let quoted = crate::inert::shell_word(path);
        match self.owner {
            None => {
                format!("the file may not be written (mode {:04o}): `chmod u+w {quoted}`, then", self.mode)
            }
            Some(uid) => format!(
                "the file belongs to uid {uid}, not to you (mode {:04o}): copy it where you can write (`cp {quoted} COPY && chmod u+w COPY`), then",
                self.mode
            ),
        }
    }
}

/// What comes before the repair a read-only open names when the file may not be written: the
/// command it named failed for a file made read-only (`chmod 444`: bb73 F2).
pub(super) fn repair_first(path: &str, unwritable: Option<Unwritable>) -> String {
    unwritable.map_or_else(String::new, |why| format!("{} ", why.first_step(path)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::StoreError;

    #[test]
    fn a_repair_of_a_file_its_process_may_not_write_says_the_mode_and_the_chmod_first() {
        // The command a read-only open names failed for a file made read-only (bb73 F2).
        let said = repair_first("/srv/a b.redb", Some(Unwritable { mode: 0o444, owner: None }));
        assert_eq!(said, "the file may not be written (mode 0444): `chmod u+w '/srv/a b.redb'`, then ");
        // Another's file: chmod is not this user's to run (bb76 F3).
        let said = repair_first("/srv/a.redb", Some(Unwritable { mode: 0o644, owner: Some(0) }));
        assert_eq!(
            said,
            "the file belongs to uid 0, not to you (mode 0644): copy it where you can write (`cp /srv/a.redb COPY && chmod u+w COPY`), then "
        );
        assert_eq!(repair_first("/srv/a.redb", None), "");
        assert_eq!(unwritable_mode("/no/such/file"), None, "nothing there to ask");
        let error = StoreError::NeedsRepair { path: "/no/such/file".into(), unwritable: None };
        assert!(
            error.to_string().contains("without --read-only: `custodian --db /no/such/file info`"),
            "{error}"
        );
    }
}
