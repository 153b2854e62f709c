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
    println!(
        "{:<14} {:>10} {:>10} {:>8} {:>8} {:>10} {:>8}",
        "table", "stored/u", "pages/u", "leaves", "branches", "frag B", "height"
    );
    let mut total_pages = 0;
    for handle in tx.list_tables()? {
        let name = handle.name().to_owned();
        let stats = tx.open_untyped_table(handle)?.stats()?;
        let pages = stats.leaf_pages() + stats.branch_pages();
        total_pages += pages;
        println!(
            "{name:<14} {:>10} {:>10} {:>8} {:>8} {:>10} {:>8}",
            stats.stored_bytes() / users,
            pages * 4096 / users,
            stats.leaf_pages(),
            stats.branch_pages(),
            stats.fragmented_bytes(),
            stats.tree_height()
        );
    }
    println!(
        "all tables: {} B/user in pages; the rest of the file is free space",
        total_pages * 4096 / users
    );
    Ok(())
}
