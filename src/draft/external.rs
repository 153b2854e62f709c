//! The draft `E` writes as its editor starts: custodian killed while the editor ran (kill -9,
//! an OOM kill) never read the editor's file back, and the next start neither offered nor
//! named it (bb20 L01). Such a draft names the file; what the editor left there is its edit.

use std::fs;

use super::{Draft, Drafts, NotRead, read_own_file};

/// The most an editor's file may hold to be offered (the editor's text is laid out, several
/// times its compact form; `E` reads back up to eight times the customData limit).
const MAX_EDITOR_FILE_BYTES: u64 = 8 * 1024 * 1024;

/// What an `E` session's draft offers.
pub(super) enum Edit {
    /// The editor changed the text: the draft, holding what it left.
    Offered(Box<Draft>),
    /// Nothing to offer: the file is gone (a cleaned `/tmp`) or holds the text it was given.
    Nothing,
    /// The file could not be taken (too large, not UTF-8, not a plain file of ours): not
    /// offered, named, and left where it is.
    NotRead(String),
}

impl Drafts {
    /// The edit of an `E` session's draft (see [`Edit`]). A draft with nothing to offer is
    /// removed, and the file with it when it holds the text it was given.
    pub(super) fn external_edit(&self, draft: Draft) -> Edit {
        let Some(file) = draft.external_file.clone() else { return Edit::Offered(Box::new(draft)) };
        // Raw: the screen makes what it shows inert once (marked twice, ESC read as `\u{241b}`).
        let shown = file.clone();
        // An editor that outlived custodian (a kill -9, an SSH drop it ignored) may still
        // write: its file is neither taken nor removed under it (bb21 L02).
        if let Some(process) = process_editing(&file) {
            return Edit::NotRead(format!(
                "the file of an `E` edit, {shown}: its editor (process {process}) is still running; offered once it has ended"
            ));
        }
        let text = match read_editor_file(&file) {
            Ok(text) => text,
            Err(why) => {
                // Not "cut short": a file too large was refused when it was read, and said
                // then; this says how to end the note (bb91 F7).
                return Edit::NotRead(format!(
                    "the file of an `E` edit not read back, {shown}: {why}; not offered, the file and the draft are kept (remove both once they are not needed, and this note goes)"
                ));
            }
        };
        // A byte-order mark some editors write first is no part of the document (the `E`
        // that reads its file back takes it off too: bb21 L07).
        let text = text.map(|text| text.strip_prefix('\u{feff}').map(str::to_owned).unwrap_or(text));
        if let Some(text) = text.filter(|text| text.trim_end() != draft.text.trim_end()) {
            return Edit::Offered(Box::new(Draft { text: text.trim_end().to_owned(), ..draft }));
        }
        // Left as it was: what was typed may be in the editor's recovery file (vim's swap
        // file, after an SSH drop whose stderr nobody read: bb21 L04).
        if let Some(recovery) = recovery_file_of(std::path::Path::new(&file)) {
            let recovery = recovery.display().to_string();
            return Edit::NotRead(format!(
                "an `E` edit cut short: its editor wrote nothing to {shown}, but what was typed is in its recovery file {recovery} (vim: `vim -r {shown}`); not offered, both files are kept there"
            ));
        }
        self.remove(&draft);
        let _ = fs::remove_file(&file);
        Edit::Nothing
    }
}

/// The recovery file an editor keeps beside `file` of what was typed and not written: vim's
/// `.NAME.swp` (`.swo`, `.swn` when taken), emacs's `#NAME#`, nano's `NAME.save`.
pub(crate) fn recovery_file_of(file: &std::path::Path) -> Option<std::path::PathBuf> {
    let name = file.file_name()?.to_string_lossy().into_owned();
    [
        format!(".{name}.swp"),
        format!(".{name}.swo"),
        format!(".{name}.swn"),
        format!("#{name}#"),
        format!("{name}.save"),
    ]
    .into_iter()
    .map(|candidate| file.with_file_name(candidate))
    .find(|candidate| candidate.exists())
}

/// A process (not this one) whose command line names `file`: the editor started on it.
fn process_editing(file: &str) -> Option<i32> {
    let own = std::process::id();
    fs::read_dir("/proc").ok()?.flatten().find_map(|entry| {
        let pid: u32 = entry.file_name().to_str()?.parse().ok()?;
        if pid == own {
            return None;
        }
        let cmdline = fs::read(entry.path().join("cmdline")).ok()?;
        cmdline.split(|b| *b == 0).any(|arg| arg == file.as_bytes()).then(|| i32::try_from(pid).ok())?
    })
}

/// The editor's file: `None` when it is gone; never read through a link, from anything but a
/// plain file of ours, or past [`MAX_EDITOR_FILE_BYTES`].
fn read_editor_file(file: &str) -> Result<Option<String>, String> {
    let bytes = match read_own_file(std::path::Path::new(file), MAX_EDITOR_FILE_BYTES) {
        Ok(bytes) => bytes,
        Err(NotRead::Io(e)) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(NotRead::Io(e)) => return Err(e.to_string()),
        Err(NotRead::Link) => return Err("a symbolic link".into()),
        Err(NotRead::NotRegular) => return Err("not a plain file".into()),
        Err(NotRead::NotOurs(uid)) => return Err(format!("belongs to uid {uid}, not to you")),
        Err(NotRead::TooLarge(_) | NotRead::Grew) => {
            return Err(format!("more than {}", crate::domain::human_bytes(MAX_EDITOR_FILE_BYTES as usize)));
        }
    };
    String::from_utf8(bytes)
        .map(Some)
        .map_err(|e| format!("not UTF-8 (first bad byte at offset {})", e.utf8_error().valid_up_to()))
}
