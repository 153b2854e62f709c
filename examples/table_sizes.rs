//! What each table of a custodian database costs per user: redb's own statistics (stored
//! bytes, leaf and branch pages, fragmentation), and the file's size.
//!
//! ```sh
//! cargo run --release --example table_sizes -- PATH.redb
//! ```

use anyhow::{Context, Result};
use redb::{ReadableDatabase, ReadableTableMetadata, TableDefinition, TableHandle};

fn main() -> Result<()> {
    let path = std::env::args().nth(1).context("usage: table_sizes PATH.redb")?;
    let file = std::fs::metadata(&path)?.len();
    let db = redb::Builder::new()
        .set_concurrency_mode(redb::ConcurrencyMode::MultiWriter)
        .open_read_only(&path)?;
    let tx = db.begin_read()?;
    let users = tx.open_table(TableDefinition::<&str, &str>::new("users"))?.len()?.max(1);
    println!("{path}: {users} users, file {file} B ({} B/user)", file / users);
    // A page count alone undercounts: a leaf holding a value larger than a page (a search
    // block) is one page of a higher order. What a table takes is its stored bytes, its
    // metadata and the room left in its pages.
    println!(
        "{:<18} {:>9} {:>8} {:>8} {:>8} {:>12} {:>6}",
        "table", "stored/u", "taken/u", "leaves", "branches", "frag B", "height"
    );
    let mut taken = 0;
    for handle in tx.list_tables()? {
        let name = handle.name().to_owned();
        let stats = tx.open_untyped_table(handle)?.stats()?;
        let table_taken = stats.stored_bytes() + stats.metadata_bytes() + stats.fragmented_bytes();
        taken += table_taken;
        println!(
            "{name:<18} {:>9} {:>8} {:>8} {:>8} {:>12} {:>6}",
            stats.stored_bytes() / users,
            table_taken / users,
            stats.leaf_pages(),
            stats.branch_pages(),
            stats.fragmented_bytes(),
            stats.tree_height()
        );
    }
    println!(
        "all tables: {} B/user taken in their pages; the rest of the file ({} B/user) is free space",
        taken / users,
        file.saturating_sub(taken) / users
    );
    Ok(())
}
