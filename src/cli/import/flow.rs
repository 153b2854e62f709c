//! How much of an import is between its two threads: records go to the writer in batches and
//! come back to the reading thread once written, to be freed where they were made; the reading
//! thread waits once too much of what it sent has not come back.

use std::sync::mpsc::{Receiver, RecvTimeoutError, SyncSender};

use crate::domain::import::{NewUser, RecordError};
#[cfg(test)]
use crate::domain::import::{PER_ARRAY, PER_MEMBER, PER_OBJECT, PER_VALUE};

/// Records a batch holds on their way to the writer, and back.
pub(super) const BATCH: usize = 256;
/// ... or fewer, once they hold this much ([`user_bytes`]): a batch of 256 records of 1 MiB
/// documents each (with their parsed trees) held 800 MB in flight (bb22 L02). A synthetic
/// user counts ~6 KB: 256 of them fit (batches of ~80 made a 1M import's placing 5–25 % slower).
pub(super) const BATCH_TEXT: usize = 2 * 1024 * 1024;
/// What the records sent and not freed yet may hold in all ([`user_bytes`]): the reading
/// thread waits for written ones to come back beyond it. Batches alone bounded it in
/// records: 4 in flight of one large document each, a document of 90,000 short values
/// parsed into ~12 MB, kept 400 such users at 120 MB (bb23 L02). Room for the batches in
/// flight of small users: the writer's, the [`BATCHES_IN_FLIGHT`] queued, the written ones.
pub(super) const IN_FLIGHT: usize = 12 * 1024 * 1024;
/// Batches read ahead of the writer: enough to keep both threads busy, few enough to stay small.
pub(super) const BATCHES_IN_FLIGHT: usize = 4;

/// About the bytes a read user holds: its record parsed (every field: a `profile` of 10 MB
/// counted only as "a few fields" let 20 such users take 400 MB: bb24 L05) and the compact
/// text of its document, kept beside the parsed one.
pub(super) fn user_bytes(new: &NewUser) -> usize {
    256 + new.parsed_bytes + new.custom_data.as_ref().map_or(0, |data| data.compact_text().len())
}

/// The reading thread's count of the [`user_bytes`] it sent and has not had back.
#[derive(Debug, Default)]
pub(super) struct InFlight {
    bytes: usize,
}

impl InFlight {
    /// Whether a batch of `batch` bytes waits for written users to come back before it goes.
    /// Only while more is out than the writer may keep back unreturned (it gives written
    /// users back once they hold [`BATCH_TEXT`]): else nothing would come back to wait for. A
    /// single record beyond the bound goes alone (waiting for itself hung an import of one
    /// document of 200,000 short values forever).
    pub(super) fn must_wait(&self, batch: usize) -> bool {
        self.bytes > BATCH_TEXT && self.bytes + batch > IN_FLIGHT
    }

    pub(super) fn sent(&mut self, batch: usize) {
        self.bytes += batch;
    }

    pub(super) fn back(&mut self, bytes: usize) {
        self.bytes -= bytes.min(self.bytes);
    }
}

/// What the reading thread sends the writer, and what comes back.
pub(super) type Batch = Vec<Result<NewUser, RecordError>>;

/// The reading thread's side of the hand-over: the batch being filled, what is out, the
/// channels.
pub(super) struct Shipper {
    batch: Batch,
    batch_bytes: usize,
    in_flight: InFlight,
    send: SyncSender<Option<Batch>>,
    to_free: Receiver<(Vec<NewUser>, usize)>,
}

impl Shipper {
    pub(super) fn new(send: SyncSender<Option<Batch>>, to_free: Receiver<(Vec<NewUser>, usize)>) -> Self {
        Self {
            batch: Vec::with_capacity(BATCH),
            batch_bytes: 0,
            in_flight: InFlight::default(),
            send,
            to_free,
        }
    }

    /// Adds a record; true when the batch is full.
    pub(super) fn add(&mut self, record: Result<NewUser, RecordError>) -> bool {
        self.batch_bytes += record.as_ref().map_or(0, user_bytes);
        self.batch.push(record);
        self.batch.len() == BATCH || self.batch_bytes >= BATCH_TEXT
    }

    /// Sends the batch (if it holds any record) once there is room for it, and waits after it
    /// while what is out is beyond the bound: nothing more is read and parsed meanwhile (a
    /// document of 60,000 keys is 17 MB parsed). False when the writer has stopped.
    pub(super) fn ship(&mut self) -> bool {
        if self.batch.is_empty() {
            return true;
        }
        self.take_back_written();
        self.wait_for_room(self.batch_bytes);
        self.in_flight.sent(std::mem::take(&mut self.batch_bytes));
        let full = std::mem::replace(&mut self.batch, Vec::with_capacity(BATCH));
        if self.send.send(Some(full)).is_err() {
            return false;
        }
        self.wait_for_room(0);
        true
    }

    /// The batch not sent, and the channel to send it and the end on.
    pub(super) fn into_rest(self) -> (Batch, SyncSender<Option<Batch>>) {
        (self.batch, self.send)
    }

    fn take_back_written(&mut self) {
        while let Ok(back) = self.to_free.try_recv() {
            self.free(back);
        }
    }

    /// Written users are freed here, where they were made.
    fn free(&mut self, (back, bytes): (Vec<NewUser>, usize)) {
        drop(back);
        self.in_flight.back(bytes);
    }

    fn wait_for_room(&mut self, batch: usize) {
        while self.in_flight.must_wait(batch) {
            match self.to_free.recv_timeout(std::time::Duration::from_millis(50)) {
                Ok(back) => self.free(back),
                Err(RecvTimeoutError::Timeout) => {}
                // The writer has stopped: the next send says so.
                Err(RecvTimeoutError::Disconnected) => break,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Limits;
    use crate::domain::import::RecordRules;
    use serde_json::json;

    fn user(document: serde_json::Value) -> NewUser {
        let line = json!({"id": "u1", "customData": document}).to_string();
        RecordRules::new(Limits::default(), 0)
            .read_record(&line, "line 1".into())
            .expect("read")
            .expect("user")
    }

    /// What a read user holds is counted with its parsed tree: a document of many short
    /// values holds several times its text (bb23 L02), an object's members more than an
    /// array's items, a long string about its text.
    #[test]
    fn a_user_is_counted_with_what_its_parsed_tree_holds() {
        let text_of = |new: &NewUser| new.custom_data.as_ref().expect("document").compact_text().len();
        let values: Vec<String> = (0..10_000).map(|n| format!("v{n}")).collect();
        let many = user(json!({"many": values}));
        assert!(
            user_bytes(&many) > 10 * text_of(&many),
            "{} for {} B of text",
            user_bytes(&many),
            text_of(&many)
        );
        // Exactly: the record's text and its tree (a value a comma, a member a colon, an object
        // a brace, an array a bracket), and the document's compact text beside it.
        let exact = user(json!({"a": [1, 2, {"b": 3}]}));
        let line = r#"{"id":"u1","customData":{"a":[1,2,{"b":3}]}}"#;
        assert_eq!(
            exact.parsed_bytes,
            line.len() + 3 * PER_VALUE + 4 * PER_MEMBER + 3 * PER_OBJECT + PER_ARRAY
        );
        assert_eq!(user_bytes(&exact), 256 + exact.parsed_bytes + r#"{"a":[1,2,{"b":3}]}"#.len());
        // Every field counts, not only customData (bb24 L05).
        let line = json!({"id": "u2", "profile": {"bio": "x".repeat(100_000)}}).to_string();
        let profiled = RecordRules::new(Limits::default(), 0)
            .read_record(&line, "line 1".into())
            .expect("read")
            .expect("user");
        assert!(user_bytes(&profiled) > 100_000, "{}", user_bytes(&profiled));
        let keys: serde_json::Map<String, serde_json::Value> =
            (0..10_000).map(|n| (format!("v{n}"), json!(1))).collect();
        let members = user(serde_json::Value::Object(keys));
        assert!(
            user_bytes(&members) >= 256 + text_of(&members) + 10_000 * (PER_VALUE + PER_MEMBER) - PER_VALUE
        );
        let objects: Vec<serde_json::Value> = (0..1_000).map(|n| json!({"n": n})).collect();
        let nested = user(json!({"objects": objects}));
        assert!(user_bytes(&nested) >= 1_000 * (PER_VALUE + PER_MEMBER + PER_OBJECT));
        let long = user(json!({"long": "y".repeat(100_000)}));
        assert!((200_000..200_000 + 2048).contains(&user_bytes(&long)), "{}", user_bytes(&long));
    }

    /// A batch goes when it holds [`BATCH`] records or [`BATCH_TEXT`] bytes, whichever comes
    /// first; an empty one is never sent; a writer gone is a failed shipment.
    #[test]
    fn a_shipper_fills_batches_by_records_or_bytes_and_sends_them_whole() {
        let (send, batches) = std::sync::mpsc::sync_channel(BATCHES_IN_FLIGHT);
        let (_give_back, to_free) = std::sync::mpsc::channel();
        let mut shipper = Shipper::new(send, to_free);
        assert!(shipper.ship(), "nothing to send is no failure");
        assert!(batches.try_recv().is_err(), "an empty batch is not sent");
        for n in 1..BATCH {
            assert!(!shipper.add(Ok(user(json!({})))), "record {n} of {BATCH}");
        }
        assert!(shipper.add(Ok(user(json!({})))), "the last record fills it");
        assert!(shipper.ship());
        assert_eq!(batches.try_recv().expect("sent").expect("a batch").len(), BATCH);
        let heavy = user(json!({"zeros": vec![0; 20_000]}));
        assert!(user_bytes(&heavy) >= BATCH_TEXT, "{}", user_bytes(&heavy));
        assert!(!shipper.add(Ok(user(json!({})))));
        assert!(shipper.add(Ok(heavy)), "bytes fill it too");
        assert!(shipper.ship());
        assert_eq!(batches.try_recv().expect("sent").expect("a batch").len(), 2);
        let (rest, _send) = {
            assert!(!shipper.add(Ok(user(json!({})))));
            shipper.into_rest()
        };
        assert_eq!(rest.len(), 1, "what is not sent is handed back");
        let (send, batches) = std::sync::mpsc::sync_channel(BATCHES_IN_FLIGHT);
        let (_give_back, to_free) = std::sync::mpsc::channel();
        let mut shipper = Shipper::new(send, to_free);
        drop(batches);
        shipper.add(Ok(user(json!({}))));
        assert!(!shipper.ship(), "the writer has stopped");
    }

    #[test]
    fn a_batch_waits_only_while_more_is_out_than_the_writer_keeps_back() {
        let mut in_flight = InFlight::default();
        // Nothing out: even a batch far beyond the bound goes (else it waits for itself).
        assert!(!in_flight.must_wait(10 * IN_FLIGHT));
        // Out, but no more than the writer may hold unreturned: nothing would come back.
        in_flight.sent(BATCH_TEXT);
        assert!(!in_flight.must_wait(IN_FLIGHT));
        in_flight.sent(1);
        assert!(in_flight.must_wait(IN_FLIGHT - BATCH_TEXT));
        assert!(!in_flight.must_wait(IN_FLIGHT - BATCH_TEXT - 1), "at the bound exactly it goes");
        in_flight.back(BATCH_TEXT);
        assert!(!in_flight.must_wait(IN_FLIGHT));
        in_flight.back(5);
        assert_eq!(in_flight.bytes, 0, "what comes back never takes the count below nothing");
    }
}
