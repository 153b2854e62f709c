//! The editor's check off the key path: validating a 1 MiB document takes longer than a
//! frame, so each change sends the text here and the key is answered at once. A worker
//! thread checks the newest text it has been sent (older ones waiting are skipped) and
//! answers with [`Action::Checked`], which `update` applies only if the text has not changed
//! since (its generation). A save never relies on this: it checks the final text itself.

use std::sync::mpsc::{Receiver, Sender, channel};

use crate::domain::{CustomData, Limits};
use crate::tui::app::Action;

pub struct Checker {
    requests: Sender<(u64, String, Limits)>,
    answers: Receiver<Action>,
}

impl Checker {
    pub fn new() -> std::io::Result<Self> {
        let (requests, inbox) = channel::<(u64, String, Limits)>();
        let (outbox, answers) = channel();
        std::thread::Builder::new().name("check".into()).spawn(move || {
            while let Ok(first) = inbox.recv() {
                let (generation, text, limits) = inbox.try_iter().last().unwrap_or(first);
                let result = CustomData::parse_with(&text, &limits);
                if outbox.send(Action::Checked { generation, result }).is_err() {
                    break;
                }
            }
        })?;
        Ok(Self { requests, answers })
    }

    pub fn submit(&self, generation: u64, text: String, limits: Limits) {
        // The worker only stops when this end is dropped.
        let _ = self.requests.send((generation, text, limits));
    }

    pub fn try_recv(&self) -> Option<Action> {
        self.answers.try_recv().ok()
    }
}
