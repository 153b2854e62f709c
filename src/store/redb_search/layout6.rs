//! The search blocks of layout 6 (table `search_blocks`), read once by the upgrade to layout
//! 7: `n: u32 LE`, `n × text end: u32 LE`, `n × key end: u32 LE`, the keys one after
//! another, the texts each followed by one NUL (a text's end is its exclusive end in the
//! text region, a key's its exclusive end in the key region).

use redb::TableDefinition;

use super::super::StoreError;
use super::block::{damaged, u32_at};
use crate::domain::filter::SEARCH_TEXT_SEPARATOR;

/// Layout 6: first list key → a block of users' whole search texts.
pub(super) const LAYOUT_6_BLOCKS: TableDefinition<&str, &[u8]> = TableDefinition::new("search_blocks");

/// Every (list key, search text) of a layout-6 block, in order.
pub(super) fn entries(bytes: &[u8]) -> Result<Vec<(String, String)>, StoreError> {
    let short = || damaged("(layout 6) is shorter than its header says");
    let users = u32_at(bytes, 0);
    let header = users.checked_mul(8).and_then(|n| n.checked_add(4)).ok_or_else(short)?;
    if bytes.len() < header {
        return Err(short());
    }
    let text_ends = &bytes[4..4 + users * 4];
    let key_ends = &bytes[4 + users * 4..header];
    let keys_len = if users == 0 { 0 } else { u32_at(key_ends, users - 1) };
    let keys = bytes.get(header..header.saturating_add(keys_len)).ok_or_else(short)?;
    let texts = &bytes[header + keys_len..];
    let utf8 = |bytes: &[u8]| {
        std::str::from_utf8(bytes).map(str::to_owned).map_err(|_| damaged("(layout 6) is not UTF-8"))
    };
    let (mut key_start, mut text_start) = (0, 0);
    let mut entries = Vec::with_capacity(users);
    for i in 0..users {
        let (key_end, text_end) = (u32_at(key_ends, i), u32_at(text_ends, i));
        if key_end < key_start || text_end < text_start || texts.get(text_end) != Some(&SEARCH_TEXT_SEPARATOR)
        {
            return Err(damaged("(layout 6) has entries out of place"));
        }
        entries.push((utf8(&keys[key_start..key_end])?, utf8(&texts[text_start..text_end])?));
        (key_start, text_start) = (key_end, text_end + 1);
    }
    if text_start != texts.len() {
        return Err(damaged("(layout 6) has bytes after its last entry"));
    }
    Ok(entries)
}

/// The block layout 6 wrote for `entries` (tests make layout-6 files with it).
#[cfg(test)]
pub(super) fn encode(entries: &[(String, String)]) -> Vec<u8> {
    let as_u32 = |n: usize| u32::try_from(n).unwrap_or(u32::MAX).to_le_bytes();
    let mut bytes = Vec::new();
    bytes.extend(as_u32(entries.len()));
    let mut end = 0;
    for (_, text) in entries {
        end += text.len();
        bytes.extend(as_u32(end));
        end += 1;
    }
    end = 0;
    for (key, _) in entries {
        end += key.len();
        bytes.extend(as_u32(end));
    }
    for (key, _) in entries {
        bytes.extend(key.as_bytes());
    }
    for (_, text) in entries {
        bytes.extend(text.as_bytes());
        bytes.push(SEARCH_TEXT_SEPARATOR);
    }
    bytes
}
