//! The editor's check off the key path: validating a 1 MiB document takes longer than a
//! frame, so each change sends the text here and the key is answered at once. A worker
//! thread checks the newest text it has been sent (older ones waiting are skipped) and
//! answers with [`Action::Checked`], which `update` applies only if the text has not changed
//! since (its generation). A save never relies on this: it checks the final text itself.

use std::sync::Arc;
use std::sync::mpsc::{Receiver, Sender, channel};

use crate::domain::shape::Shape;
use crate::domain::{CustomData, Limits};
use crate::tui::app::{Action, schema_errors};

/// The check of one text: the JSON rules, then (when it passes them) the schema.
pub fn check(generation: u64, text: &str, limits: &Limits, shape: Option<&Shape>) -> Action {
    let result = CustomData::parse_with(text, limits);
    let schema_errors = schema_errors(shape, text, &result);
    Action::Checked { generation, result, schema_errors }
}

/// What the checker's thread is sent: a text to check, or a checked document to free.
/// A text to check, of one generation, against the limits and the schema it is held to.
struct CheckRequest {
    generation: u64,
    text: String,
    limits: Limits,
    shape: Option<Arc<Shape>>,
}

enum Request {
    Check(CheckRequest),
    Discard(CustomData),
}

pub struct Checker {
    requests: Sender<Request>,
    answers: Receiver<Action>,
    /// The newest text to check, held until the frame of the key that changed it is drawn
    /// ([`Checker::send_held`]): started at once, the check took a core from that frame.
    held: std::cell::RefCell<Option<CheckRequest>>,
}

impl Checker {
    pub fn new() -> std::io::Result<Self> {
        let (requests, inbox) = channel::<Request>();
        let (outbox, answers) = channel();
        std::thread::Builder::new().name("check".into()).spawn(move || {
            yield_to_the_screen();
            while let Ok(first) = inbox.recv() {
                // Only the newest text waiting is checked; the rest (and documents sent to be
                // freed) are dropped here.
                let newest = std::iter::once(first)
                    .chain(inbox.try_iter())
                    .filter_map(|request| match request {
                        Request::Check(request) => Some(request),
                        Request::Discard(data) => {
                            drop(data);
                            None
                        }
                    })
                    .last();
                let Some(CheckRequest { generation, text, limits, shape }) = newest else { continue };
                if outbox.send(check(generation, &text, &limits, shape.as_deref())).is_err() {
                    break;
                }
            }
        })?;
        Ok(Self { requests, answers, held: std::cell::RefCell::new(None) })
    }

    /// Asks for a check of `text`, sent to the worker by the next [`Checker::send_held`] (a
    /// newer text asked for before then replaces it).
    pub fn submit(&self, generation: u64, text: String, limits: Limits, shape: Option<Arc<Shape>>) {
        *self.held.borrow_mut() = Some(CheckRequest { generation, text, limits, shape });
    }

    /// Sends the check held by [`Checker::submit`], if any, to the worker.
    pub fn send_held(&self) {
        if let Some(request) = self.held.borrow_mut().take() {
            // The worker only stops when this end is dropped.
            let _ = self.requests.send(Request::Check(request));
        }
    }

    /// Frees `data` on the checker's thread instead of the caller's.
    pub fn discard(&self, data: CustomData) {
        let _ = self.requests.send(Request::Discard(data));
    }

    pub fn try_recv(&self) -> Option<Action> {
        self.answers.try_recv().ok()
    }
}

/// Lowers this thread's priority (nice 10): a check of 1 MiB takes ~15 ms of a core and starts
/// with the key that asked for it, just when the screen's thread draws that key's frame; on a
/// machine with few cores the frame should win. (Linux keeps a nice value per thread.)
fn yield_to_the_screen() {
    // SAFETY: gettid and setpriority take plain integers and touch only this thread's priority.
    unsafe {
        let thread = libc::gettid();
        libc::setpriority(libc::PRIO_PROCESS, thread as libc::id_t, 10);
    }
}
