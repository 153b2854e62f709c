//! The operator's screen.

use std::path::Path;

/// Opens the TUI on the database.
pub fn run(db: Option<&Path>, read_only: bool) -> anyhow::Result<()> {
    let _store = crate::cli::open_store(db, read_only)?;
    anyhow::bail!("the TUI is not built yet; see `custodian --help`")
}
