//! What a store's writes of customData are held to: the stored schema they were checked
//! against ([`super::UserStore::hold_writes_to_schema`]), looked at again inside each write.

use std::sync::{Mutex, PoisonError};

use super::{Revision, StoreError};

/// `None` until held; then the revision of the schema set when the documents were checked
/// (`Some(None)`: none was set).
#[derive(Debug, Default)]
pub(super) struct SchemaHold(Mutex<Option<Option<Revision>>>);

impl SchemaHold {
    pub(super) fn hold(&self, seen: Option<Revision>) {
        *self.0.lock().unwrap_or_else(PoisonError::into_inner) = Some(seen);
    }

    /// The schema the writes are held to, if they are.
    pub(super) fn held(&self) -> Option<Option<Revision>> {
        *self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Refuses a write held to `seen` once the schema set now is `found`, another one.
    pub(super) fn check(seen: Option<Revision>, found: Option<Revision>) -> Result<(), StoreError> {
        if found == seen { Ok(()) } else { Err(StoreError::SchemaChanged { seen, found }) }
    }
}
