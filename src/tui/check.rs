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

pub struct Checker {
    requests: Sender<(u64, String, Limits)>,
    answers: Receiver<Action>,
}

impl Checker {
    pub fn new(shape: Option<Arc<Shape>>) -> std::io::Result<Self> {
        let (requests, inbox) = channel::<(u64, String, Limits)>();
        let (outbox, answers) = channel();
        std::thread::Builder::new().name("check".into()).spawn(move || {
            while let Ok(first) = inbox.recv() {
                let (generation, text, limits) = inbox.try_iter().last().unwrap_or(first);
                if outbox.send(check(generation, &text, &limits, shape.as_deref())).is_err() {
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
