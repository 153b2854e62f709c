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
    let editor = inert::line(editor);
    match code {
        Some(127) => format!("editor `{editor}` was not found (set $VISUAL or $EDITOR); nothing was saved"),
        Some(126) => format!("editor `{editor}` cannot be run (not executable); nothing was saved"),
        Some(code) => format!("editor `{editor}` exited with status {code}; nothing was saved"),
        None => format!("editor `{editor}` was stopped by a signal; nothing was saved"),
    }
}

/// Runs `$VISUAL`, else `$EDITOR`, else `vi` on a private temporary file holding `text`, with
/// the terminal given back meanwhile; returns what the file holds afterwards.
pub(super) fn edit_externally(
    terminal: &mut terminal::Term,
    text: &str,
    max_bytes: usize,
) -> Result<ExternalText, String> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let editor = ["VISUAL", "EDITOR"]
        .iter()
        .filter_map(|v| std::env::var(v).ok())
        .find(|e| !e.trim().is_empty())
        .unwrap_or_else(|| "vi".to_owned());
    let path =
        std::env::temp_dir().join(format!("custodian-{}-{:08x}.json", std::process::id(), fastrand::u32(..)));
    let written = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&path)
        .and_then(|mut file| file.write_all(format!("{text}\n").as_bytes()));
    if let Err(e) = written {
        return Err(format!("cannot write {}: {e}", path.display()));
    }
    let ran = terminal::leave().and_then(|()| {
        // As git does: the variable may hold arguments (`code --wait`), so a shell reads it.
        std::process::Command::new("sh")
            .arg("-c")
            .arg(format!("{editor} \"$@\""))
            .arg(&editor)
            .arg(&path)
            .spawn()
            .and_then(|mut child| wait_for_editor(&mut child))
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
    let result = match ran {
        // The file's fate is read_back's: a file it could not take whole stays.
        Ok(status) if status.success() => read_back(&path, max_bytes),
        // A hang-up or TERM ended the editor too (it hits the whole foreground group): what
        // it had written is read back, to be kept as a draft; a file it left as it was goes.
        Ok(_) if HUNG_UP_OR_TERMINATED.load(Ordering::Relaxed) => read_back(&path, max_bytes),
        ran => {
            let failed = match ran {
                Ok(status) => editor_failed(&editor, status.code()),
                Err(e) => format!("cannot run {}: {e}; nothing was saved", inert::line(&editor)),
            };
            // An editor that was killed or crashed after writing: what it wrote is the
            // operator's, so a file that changed stays, named. One left as it was goes.
            match std::fs::read(&path) {
                Ok(left) if left != format!("{text}\n").as_bytes() => {
                    let kept = inert::line(&path.display().to_string()).into_owned();
                    tracing::warn!(file = %kept, "the external editor failed after writing: its file is kept");
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

/// How long an editor told to end (a hang-up or TERM came to custodian alone) is waited for.
const EDITOR_GRACE: std::time::Duration = std::time::Duration::from_secs(5);

/// Waits for the editor. A hang-up or TERM sent to custodian alone (a shutdown, an admin's
/// `kill PID`) left it waiting on an editor that got nothing, until the watch ended custodian
/// 10 s later with no draft and the file unclosed (bb11): it is passed on to the editor and
/// what runs under it (vi keeps its recovery file and ends), and the way out then reads back
/// what the file holds. An editor still running after [`EDITOR_GRACE`] is left to itself.
fn wait_for_editor(child: &mut std::process::Child) -> std::io::Result<std::process::ExitStatus> {
    use std::os::unix::process::ExitStatusExt;
    let mut told: Option<std::time::Instant> = None;
    loop {
        if let Some(status) = child.try_wait()? {
            return Ok(status);
        }
        if HUNG_UP_OR_TERMINATED.load(Ordering::Relaxed) {
            match told {
                None => {
                    let pid = i32::try_from(child.id()).unwrap_or(i32::MAX);
                    for process in std::iter::once(pid).chain(descendants_of(pid)) {
                        // SAFETY: kill has no memory-safety preconditions.
                        unsafe { libc::kill(process, libc::SIGTERM) };
                    }
                    told = Some(std::time::Instant::now());
                }
                Some(at) if at.elapsed() > EDITOR_GRACE => {
                    tracing::warn!(
                        pid = child.id(),
                        "the external editor did not end after TERM: left running"
                    );
                    return Ok(std::process::ExitStatus::from_raw(libc::SIGTERM));
                }
                Some(_) => {}
            }
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
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

/// Reads back what the external editor left at `path`, then removes the file — unless it
/// cannot be taken whole (more than the editor takes, bytes that are not UTF-8): then it
/// stays, untouched, and the answer names it, so nothing the operator wrote is lost. Never
/// read through a link, or from anything but a plain file (`/dev/zero`, a FIFO), and never
/// more than a bound: an editor or a hostile user who swapped the file cannot hang custodian.
pub fn read_back(path: &Path, max_bytes: usize) -> Result<ExternalText, String> {
    use std::io::Read;
    use std::os::unix::fs::OpenOptionsExt;
    let shown = inert::line(&path.display().to_string()).into_owned();
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
    match file.metadata() {
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
