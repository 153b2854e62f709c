//! `E`: customData in `$VISUAL`/`$EDITOR` on a private temporary file, and reading back what
//! the editor left there without losing any of it.

use super::*;

use std::path::Path;
use std::sync::atomic::Ordering;

use crate::inert;
use crate::tui::app::ExternalText;

/// What the status line says when the external editor did not end well: the shell's 127 and
/// 126 mean it never ran, which "exited with exit status: 127" does not tell an operator.
pub(super) fn editor_failed(editor: &str, code: Option<i32>) -> String {
    match code {
        Some(127) => format!("editor `{editor}` was not found (set $VISUAL or $EDITOR); nothing was saved"),
        Some(126) => format!("editor `{editor}` cannot be run (not executable); nothing was saved"),
        Some(code) => format!("editor `{editor}` exited with status {code}; nothing was saved"),
        None => format!("editor `{editor}` was stopped by a signal; nothing was saved"),
    }
}

/// Runs `$VISUAL`, else `$EDITOR`, else `vi` on a private temporary file holding `text`, with
/// the terminal given back meanwhile; returns what the file holds afterwards.
fn edit_externally(
    terminal: &mut terminal::Term,
    text: &str,
    max_bytes: usize,
    started: &dyn Fn(&Path),
) -> Result<ExternalText, String> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let editor = ["VISUAL", "EDITOR"]
        .iter()
        .filter_map(|v| std::env::var(v).ok())
        .find(|e| !e.trim().is_empty())
        .unwrap_or_else(|| "vi".to_owned());
    // A `$TMPDIR` others can change would let them put their text in place of the file the
    // editor writes, read back as the operator's edit (bb40 F2).
    // `TMPDIR=` (set, empty) is `/tmp`, as libc reads it: it was the current directory,
    // never judged (bb55 F1).
    let dir = crate::sorted_runs::system_temp_dir();
    if let Some(problem) = crate::location::shared_dir_problem(&dir) {
        return Err(format!(
            "not opened: set TMPDIR to a directory of your own (others could replace the editor's file in {problem})"
        ));
    }
    let path = dir.join(format!("custodian-{}-{:08x}.json", std::process::id(), fastrand::u32(..)));
    let created = std::fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(&path);
    let written = created.and_then(|mut file| {
        // A file made but not filled (a full disk) is not left behind.
        file.write_all(format!("{text}\n").as_bytes()).inspect_err(|_| {
            let _ = std::fs::remove_file(&path);
        })
    });
    if let Err(e) = written {
        // The directory is the operator's choice, and the fix is theirs (bb56 F7: it said
        // only "No such file or directory").
        let named =
            if std::env::var_os("TMPDIR").is_some_and(|dir| !dir.is_empty()) { " (TMPDIR)" } else { "" };
        return Err(match e.kind() {
            std::io::ErrorKind::NotFound if !dir.exists() => format!(
                "not opened: {}{named} does not exist; set TMPDIR to a directory of your own",
                dir.display()
            ),
            std::io::ErrorKind::NotFound | std::io::ErrorKind::PermissionDenied => format!(
                "not opened: cannot write {}: {e}; set TMPDIR to a directory of your own",
                path.display()
            ),
            _ => format!("cannot write {}: {e}", path.display()),
        });
    }
    started(&path);
    let ran = terminal::leave().and_then(|()| {
        // As git does: the variable may hold arguments (`code --wait`), so a shell reads it.
        let mut command = std::process::Command::new("sh");
        command.arg("-c").arg(format!("{editor} \"$@\"")).arg(&editor).arg(&path);
        crate::interrupt::give_the_file_size_signal_back(&mut command);
        command.spawn().and_then(|mut child| wait_for_editor(&mut child))
    });
    // The editor's own Ctrl-C reached custodian too: it was not meant for custodian.
    INTERRUPTED.store(false, Ordering::Relaxed);
    // A job stopped from inside the editor (its own Ctrl-Z stops custodian with it) and then
    // ended with `kill %1` runs on in the background: taking the terminal back there would
    // stop custodian again until `fg`, so with a signal noted the terminal is left to the shell.
    let ending = || HUNG_UP_OR_TERMINATED.load(Ordering::Relaxed);
    let resumed = match terminal::continued(&ending) {
        terminal::Continued::Ending => Ok(()),
        terminal::Continued::InTheForeground | terminal::Continued::InTheBackground => {
            terminal::resume(terminal)
        }
    };
    let sent = format!("{text}\n");
    let result = match ran {
        // The session is ending and the editor goes on: what its file holds now is read, and
        // the file stays where the editor writes, named.
        Ok(end) if !end.left_running.is_empty() => left_to_a_running_editor(&path, &end.left_running),
        // The file's fate is read_back's: a file it could not take whole stays.
        Ok(end) if end.status.success() => read_back(&path, max_bytes),
        // A hang-up or TERM ended the editor too (it hits the whole foreground group): what
        // it had written is read back, to be kept as a draft; a file it left as it was is
        // said, with the recovery file the editor kept of what was typed (bb20 L07).
        Ok(_) if HUNG_UP_OR_TERMINATED.load(Ordering::Relaxed) => match std::fs::read(&path) {
            Ok(left) if left == sent.as_bytes() => Err(nothing_written(&path)),
            _ => read_back(&path, max_bytes),
        },
        ran => {
            let failed = match ran {
                Ok(end) => editor_failed(&editor, end.status.code()),
                Err(e) => format!("cannot run {editor}: {e}; nothing was saved"),
            };
            // An editor that was killed or crashed after writing: what it wrote is the
            // operator's, so a file that changed stays, named. One left as it was goes.
            match std::fs::read(&path) {
                Ok(left) if left != sent.as_bytes() => {
                    let kept = path.display();
                    tracing::warn!(file = %inert::line(&kept.to_string()), "the external editor failed after writing: its file is kept");
                    Err(format!("{failed}; what it wrote is kept in {kept}"))
                }
                _ => {
                    let _ = std::fs::remove_file(&path);
                    Err(failed)
                }
            }
        }
    };
    // The edit is answered even when the terminal cannot be taken back (it went away while
    // the editor ran): the answer puts it in custodian's editor or saves it, and the loop
    // then ends on the broken terminal, keeping an unsaved edit as a draft.
    match (resumed, result) {
        // What the editor's failure said (a file kept, named) is said too.
        (Err(e), Err(failed)) => Err(format!("cannot take the terminal back: {e}; {failed}")),
        (_, result) => result,
    }
}

/// [`edit_externally`] with a draft naming the editor's file, written as the editor starts and
/// removed once the file is read back: a custodian killed meanwhile (kill -9) leaves what the
/// editor wrote to be offered at the next start (bb20 L01).
pub(super) fn edit_externally_named_in_a_draft(
    runtime: &Runtime,
    terminal: &mut terminal::Term,
    user_id: &str,
    user_handle: &str,
    base: &crate::store::StoredDocument,
    text: &str,
    max_bytes: usize,
) -> Result<ExternalText, String> {
    use crate::draft::{Draft, DraftKind, EditSnapshot};
    let edit = EditSnapshot {
        user_id: user_id.to_owned(),
        user_handle: user_handle.to_owned(),
        session: crate::draft::new_session(),
        base_revision: base.revision,
        base_digest: crate::draft::digest(&base.text),
        text: text.to_owned(),
        written_at: None,
    };
    let stub = Draft::new(DraftKind::Draft, &runtime.database, edit, crate::domain::time::now_ms());
    let stub_file = std::cell::Cell::new(None);
    let started = |file: &Path| {
        stub_file.set(Some(file.to_path_buf()));
        let named = Draft { external_file: Some(file.display().to_string()), ..stub.clone() };
        if let Err(e) = runtime.drafts.save(&named) {
            tracing::warn!(user = %named.user_id, error = %e, "the external edit is not named in a draft");
        }
    };
    let result = edit_externally(terminal, text, max_bytes, &started);
    // The draft lives as long as the file the session ends without taking: an editor still
    // running, a recovery file beside it, a file that could not be read. The next start
    // names it or offers what it holds then (stderr went with an SSH drop: bb21 L03, L04).
    let ending = HUNG_UP_OR_TERMINATED.load(Ordering::Relaxed);
    let file_left = stub_file.take().is_some_and(|file| std::fs::symlink_metadata(file).is_ok());
    if file_left && (ending || result.is_err()) {
        tracing::warn!(user = %user_id, "the external editor's file is left: the draft naming it stays");
    } else {
        runtime.drafts.remove(&stub);
    }
    result
}

/// How long an editor told to end (a hang-up or TERM came to custodian alone) is waited for.
const EDITOR_GRACE: std::time::Duration = std::time::Duration::from_secs(5);

/// How often the editor's processes are looked up while it runs.
const LOOK_EVERY: std::time::Duration = std::time::Duration::from_millis(250);

/// How the editor ended: its status, and the processes of it still running when custodian
/// stopped waiting for them (the session ending, [`EDITOR_GRACE`] after telling them to end).
struct EditorEnd {
    status: std::process::ExitStatus,
    left_running: Vec<i32>,
}

/// Waits for the editor. A hang-up or TERM sent to custodian alone (a shutdown, an admin's
/// `kill PID`) left it waiting on an editor that got nothing, until the watch ended custodian
/// 10 s later with no draft and the file unclosed (bb11): it is passed on to the editor and
/// what runs under it (vi keeps its recovery file and ends), and the way out then reads back
/// what the file holds. The shell that started the editor may end at once while the editor
/// goes on (one busy, or writing its file as it ends): the session's way out waits for every
/// process of it, up to [`EDITOR_GRACE`] (it read the file back and removed it while the
/// editor ran on: the editor's later save went to a file nobody named, bb20 L06). Those still
/// running then are left to themselves, and named.
fn wait_for_editor(child: &mut std::process::Child) -> std::io::Result<EditorEnd> {
    use std::os::unix::process::ExitStatusExt;
    let pid = i32::try_from(child.id()).unwrap_or(i32::MAX);
    let mut told: Option<std::time::Instant> = None;
    let mut ended: Option<std::process::ExitStatus> = None;
    // The editor's processes, as last looked up while it ran: a hang-up of the whole group
    // may end the shell before custodian looks again.
    let mut known: Vec<i32> = Vec::new();
    let mut looked: Option<std::time::Instant> = None;
    loop {
        if ended.is_none() {
            ended = child.try_wait()?;
        }
        let ending = HUNG_UP_OR_TERMINATED.load(Ordering::Relaxed);
        if ended.is_none()
            && ((ending && told.is_none()) || looked.is_none_or(|at| at.elapsed() > LOOK_EVERY))
        {
            // Looked up afresh each time: a process that ended long ago may have given its
            // number to another.
            known = descendants_of(pid);
            looked = Some(std::time::Instant::now());
        }
        if let Some(status) = ended {
            if !ending {
                return Ok(EditorEnd { status, left_running: Vec::new() });
            }
            known.retain(|process| still_ours(*process));
            if known.is_empty() {
                return Ok(EditorEnd { status, left_running: Vec::new() });
            }
        }
        if ending {
            match told {
                None => {
                    let shell = ended.is_none().then_some(pid);
                    for process in shell.into_iter().chain(known.iter().copied()) {
                        // SAFETY: kill has no memory-safety preconditions.
                        unsafe { libc::kill(process, libc::SIGTERM) };
                    }
                    told = Some(std::time::Instant::now());
                }
                Some(at) if at.elapsed() > EDITOR_GRACE => {
                    known.retain(|process| still_ours(*process));
                    tracing::warn!(
                        pid = child.id(),
                        left = ?known,
                        "the external editor did not end after TERM: left running"
                    );
                    let status = ended.unwrap_or_else(|| std::process::ExitStatus::from_raw(libc::SIGTERM));
                    if ended.is_none() {
                        known.insert(0, pid);
                    }
                    return Ok(EditorEnd { status, left_running: known });
                }
                Some(_) => {}
            }
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

/// Whether process `pid` still runs in custodian's own process group (where the editor's
/// processes stay when the shell that started them ends): not a zombie (an orphan the init
/// process has yet to reap is done), not another program that took the number since.
fn still_ours(pid: i32) -> bool {
    // SAFETY: a plain query of our process group; it takes no pointer.
    let own_group = unsafe { libc::getpgrp() };
    terminal::process_stat(pid)
        .is_some_and(|stat| stat.group == own_group && !matches!(stat.state.as_str(), "Z" | "X"))
}

/// Every process under `pid` (Linux's /proc) in custodian's own process group, children
/// before theirs: those a hang-up of the terminal would have reached. One an editor started
/// detached (a GUI editor's server, `code --wait`'s first instance) may serve the operator's
/// other windows, and is left alone.
fn descendants_of(pid: i32) -> Vec<i32> {
    // SAFETY: a plain query of our process group; it takes no pointer.
    let own_group = unsafe { libc::getpgrp() };
    let mut processes: Vec<(i32, i32, i32)> = Vec::new();
    for entry in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
        let Some(process) = entry.file_name().to_str().and_then(|name| name.parse::<i32>().ok()) else {
            continue;
        };
        if let Some((parent, group)) = terminal::parent_and_group_of(process) {
            processes.push((parent, process, group));
        }
    }
    let mut found = Vec::new();
    let mut next = vec![pid];
    while let Some(parent) = next.pop() {
        for &(_, child, group) in processes.iter().filter(|(p, _, _)| *p == parent) {
            if group == own_group {
                found.push(child);
            }
            next.push(child);
        }
    }
    found
}

/// What is said of an editor still running as the session ends: its file is left to it, and
/// the draft naming the file stays, so the next start offers what it holds once it has ended.
fn left_to_a_running_editor(path: &Path, running: &[i32]) -> Result<ExternalText, String> {
    let shown = path.display();
    let processes = running.iter().map(ToString::to_string).collect::<Vec<_>>().join(", ");
    tracing::warn!(file = %inert::line(&shown.to_string()), "the external editor outlived the session: its file is left in place");
    Err(format!(
        "the editor was still running {} s after the hang-up or TERM (process {processes}): its file {shown} is left in place, and the next start offers what it holds once the editor has ended",
        EDITOR_GRACE.as_secs()
    ))
}

/// What is said when the editor ended on a hang-up or TERM leaving its file as it was: where
/// the recovery file it kept of what was typed is (the file stays beside it for `vim -r`),
/// or that nothing of the edit is left.
fn nothing_written(path: &Path) -> String {
    let shown = path.display().to_string();
    let logged = inert::line(&shown);
    let recovery = crate::draft::recovery_file_of(path);
    match recovery {
        Some(recovery) => {
            let recovery = recovery.display().to_string();
            tracing::warn!(file = %logged, recovery = %inert::line(&recovery), "the external editor ended on the signal without writing: its recovery file is kept");
            format!(
                "the editor ended on the hang-up or TERM without writing its file: what was typed is in its recovery file {recovery} (vim: `vim -r {shown}`; the file is kept for that)"
            )
        }
        None => {
            let _ = std::fs::remove_file(path);
            tracing::warn!(file = %logged, "the external editor ended on the signal without writing: nothing to keep");
            "the editor ended on the hang-up or TERM without writing its file: nothing of that edit was kept"
                .to_owned()
        }
    }
}

/// Reads back what the external editor left at `path`, then removes the file — unless it
/// cannot be taken whole (more than the editor takes, bytes that are not UTF-8): then it
/// stays, untouched, and the answer names it, so nothing the operator wrote is lost. Never
/// read through a link, or from anything but a plain file (`/dev/zero`, a FIFO), and never
/// more than a bound: an editor or a hostile user who swapped the file cannot hang custodian.
pub fn read_back(path: &Path, max_bytes: usize) -> Result<ExternalText, String> {
    use std::io::Read;
    use std::os::unix::fs::OpenOptionsExt;
    let shown = path.display();
    // The limit is on the compact form; the editor's text is laid out (indentation, one
    // value per line), which deep documents make several times longer.
    let bound = max_bytes.saturating_mul(8);
    let opened =
        std::fs::OpenOptions::new().read(true).custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK).open(path);
    let gone = |why: String| {
        let _ = std::fs::remove_file(path);
        Err(why)
    };
    let file = match opened {
        Ok(file) => file,
        Err(e) if e.raw_os_error() == Some(libc::ELOOP) => {
            return gone(format!("not read: {shown} was replaced by a symbolic link; nothing was saved"));
        }
        Err(e) => return gone(format!("cannot read {shown}: {e}; nothing was saved")),
    };
    // Judged again: a directory others came to be able to change while the editor ran (a
    // member added to its group, an access list) let them put their text in (bb56 F5).
    if let Some(problem) = path.parent().and_then(crate::location::shared_dir_problem) {
        return Err(format!(
            "not read: {shown} lies in {problem} since the editor started; nothing was saved, the file is left there"
        ));
    }
    match file.metadata() {
        // Another account's file put in its place (an editor run as you writes files of
        // yours): never read back as your edit (bb40 F2).
        Ok(meta) if std::os::unix::fs::MetadataExt::uid(&meta) != crate::location::my_uid() => {
            return Err(format!(
                "not read: {shown} was replaced by a file of uid {}, not yours; nothing was saved, the file is left there",
                std::os::unix::fs::MetadataExt::uid(&meta)
            ));
        }
        Ok(meta) if meta.is_file() => {}
        Ok(_) => return gone(format!("not read: {shown} is no longer a plain file; nothing was saved")),
        Err(e) => return gone(format!("cannot read {shown}: {e}; nothing was saved")),
    }
    let mut bytes = Vec::new();
    if let Err(e) = file.take(bound as u64 + 1).read_to_end(&mut bytes) {
        return Err(format!("cannot read {shown}: {e}; nothing was saved, the file is kept there"));
    }
    if bytes.len() > bound {
        return Err(format!(
            "not read: {shown} holds more than {}, too much for the editor; nothing was saved, the file is kept there",
            crate::domain::human_bytes(bound)
        ));
    }
    match String::from_utf8(bytes) {
        Ok(text) => {
            let _ = std::fs::remove_file(path);
            Ok(ExternalText::from(text))
        }
        Err(not_utf8) => {
            let at = not_utf8.utf8_error().valid_up_to();
            let text = String::from_utf8_lossy(not_utf8.as_bytes()).into_owned();
            let damaged = format!(
                "{shown} is not UTF-8 (first bad byte at offset {at}); each bad byte shows as U+FFFD here, and the file is kept there as it was"
            );
            Ok(ExternalText { text, damaged: Some(damaged) })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{descendants_of, editor_failed};

    #[test]
    fn the_processes_told_to_end_are_those_under_the_editor_in_custodians_own_group() {
        // A child in this group, and one started in a session of its own (as a GUI editor's
        // server is), which a hang-up of the terminal would never reach.
        let mut shell = std::process::Command::new("sh")
            .arg("-c")
            .arg("setsid sleep 30 & echo $! ; sleep 30 & echo $! ; wait")
            .stdout(std::process::Stdio::piped())
            .spawn()
            .expect("sh");
        let mut out = std::io::BufRead::lines(std::io::BufReader::new(shell.stdout.take().expect("stdout")));
        let mut pid =
            || -> i32 { out.next().expect("a pid").expect("read").trim().parse().expect("a number") };
        let (detached, in_group) = (pid(), pid());
        // `setsid` forks or execs on its own schedule: wait until it is in a session of its own.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
        while crate::tui::terminal::parent_and_group_of(detached).is_some_and(|(_, g)| g != detached)
            && std::time::Instant::now() < deadline
        {
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        let found = descendants_of(i32::try_from(shell.id()).expect("a pid"));
        for pid in [detached, in_group] {
            // SAFETY: kill has no memory-safety preconditions.
            unsafe { libc::kill(pid, libc::SIGKILL) };
        }
        let _ = shell.wait();
        assert!(found.contains(&in_group), "{found:?}");
        assert!(!found.contains(&detached), "{found:?}");
    }

    #[test]
    fn an_editor_the_shell_cannot_find_or_run_is_named_as_such() {
        assert_eq!(
            editor_failed("nano-typo", Some(127)),
            "editor `nano-typo` was not found (set $VISUAL or $EDITOR); nothing was saved"
        );
        assert!(editor_failed("/tmp/x", Some(126)).contains("cannot be run"));
        assert_eq!(editor_failed("vim", Some(1)), "editor `vim` exited with status 1; nothing was saved");
        assert!(editor_failed("vim", None).contains("stopped by a signal"));
    }
}
