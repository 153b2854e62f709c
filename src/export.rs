//! Users as JSON Lines of Logto-shaped objects (customData in place): what `export` prints
//! or writes, `get` prints, and the editor's `:export` writes.

use std::fs;
use std::io::{self, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

use anyhow::{Context, Result};

use crate::store::{StoreError, UserRecord, UserStore};

/// One Logto-shaped user object as a JSON line.
pub fn user_line(record: &UserRecord, custom_data: &str) -> Result<String> {
    // Numbers keep the text they were stored with (serde_json alone rewrites exponents).
    let data = crate::domain::custom_data::parse_object(custom_data)
        .with_context(|| format!("user {}: stored customData is damaged", record.user.id))?;
    Ok(serde_json::to_string(&record.user.to_logto(Some(&data)))?)
}

/// Every user as a JSON line, in list order, handed to `sink`; returns how many.
pub fn each_line(store: &dyn UserStore, sink: &mut dyn FnMut(&str) -> Result<()>) -> Result<u64> {
    // The store stops at the first error a visitor returns; the real cause is kept aside.
    let mut count = 0;
    let mut failure = None;
    let visited =
        store.for_each_user(&mut |record, text| match user_line(record, text).and_then(|l| sink(&l)) {
            Ok(()) => {
                count += 1;
                Ok(())
            }
            Err(e) => {
                failure = Some(e);
                Err(StoreError::Database("export stopped".into()))
            }
        });
    if let Some(failure) = failure {
        return Err(failure);
    }
    visited?;
    Ok(count)
}

/// Exports every user as JSON Lines into `path` (created 0600; an existing file is replaced
/// only when `replace`), synced to disk; returns how many users were written. `export --out`
/// and the editor's `:export` both write through here.
pub fn to_file(store: &dyn UserStore, path: &Path, replace: bool) -> Result<u64> {
    let mut options = fs::OpenOptions::new();
    options.write(true).mode(0o600);
    if replace {
        options.create(true).truncate(true);
    } else {
        options.create_new(true);
    }
    let file = options.open(path).with_context(|| format!("cannot create {}", path.display()))?;
    let mut writer = io::BufWriter::new(file);
    let count = each_line(store, &mut |line| {
        writeln!(writer, "{line}").with_context(|| format!("cannot write {}", path.display()))
    })?;
    writer.flush().with_context(|| format!("cannot write {}", path.display()))?;
    writer.get_ref().sync_all().with_context(|| format!("cannot write {}", path.display()))?;
    Ok(count)
}
