//! The bytes of one search block (layout 7): the distinct texts of its users once each (its
//! **dictionary**), and for each user the numbers of its texts in the dictionary.
//!
//! A user's search text is its texts joined by NUL; most of them (every customData key, the
//! common values) are shared by most users of a block, so the block keeps each distinct text
//! once, and a user is its list key and a few one-byte numbers. A scan looks for the query in
//! the dictionary only (a fraction of the texts' bytes), and reads the users' numbers only
//! in a block where some dictionary text holds it.
//!
//! Layout: `users: u32 LE`, `texts: u32 LE` (how many the dictionary holds), `dictionary
//! bytes: u32 LE`, `users × key end: u32 LE`, `users × numbers end: u32 LE`, the keys one after another, the users' numbers (each
//! an unsigned LEB128 varint), the dictionary's texts each followed by one NUL. The
//! dictionary is ordered by how many times the block uses a text, most first, so the
//! shared texts have the one-byte numbers. Read without copying and checked when opened
//! (the ends) or read (a number, a text), so a damaged block is an error and never a panic.

use std::hash::BuildHasher;

use hashbrown::{DefaultHashBuilder, HashTable};

use super::super::StoreError;
use crate::domain::filter::{Filter, SEARCH_TEXT_SEPARATOR};

pub(super) fn damaged(detail: &str) -> StoreError {
    // With what to do, as every damaged file's message says it (bb76 F2).
    StoreError::Database(format!(
        "{}: search block {detail}; restore it from a backup",
        crate::store::error::DAMAGED_FILE
    ))
}

pub(super) fn u32_at(bytes: &[u8], index: usize) -> usize {
    let at = index * 4;
    bytes.get(at..at + 4).map_or(0, |b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as usize)
}

fn varint_len(mut n: u32) -> usize {
    let mut len = 1;
    while n >= 0x80 {
        n >>= 7;
        len += 1;
    }
    len
}

fn push_varint(bytes: &mut Vec<u8>, mut n: u32) {
    while n >= 0x80 {
        bytes.push((n as u8) | 0x80);
        n >>= 7;
    }
    bytes.push(n as u8);
}

/// The numbers in `bytes`, one after another (`None` for a cut or overlong one).
fn numbers(bytes: &[u8]) -> impl Iterator<Item = Option<usize>> + '_ {
    let mut at = 0;
    std::iter::from_fn(move || {
        if at >= bytes.len() {
            return None;
        }
        let mut value: u64 = 0;
        for shift in 0..5 {
            let Some(&byte) = bytes.get(at) else { return Some(None) };
            at += 1;
            value |= u64::from(byte & 0x7f) << (7 * shift);
            if byte < 0x80 {
                return Some(usize::try_from(value).ok());
            }
        }
        at = bytes.len();
        Some(None)
    })
}

pub(super) struct BlockView<'a> {
    pub users: usize,
    texts: usize,
    key_ends: &'a [u8],
    number_ends: &'a [u8],
    keys: &'a [u8],
    numbers: &'a [u8],
    dictionary: &'a [u8],
}

impl<'a> BlockView<'a> {
    pub(super) fn parse(bytes: &'a [u8]) -> Result<Self, StoreError> {
        let short = || damaged("is shorter than its header says");
        if bytes.len() < 12 {
            return Err(short());
        }
        let (users, texts, dictionary_len) = (u32_at(bytes, 0), u32_at(bytes, 1), u32_at(bytes, 2));
        let header = users.checked_mul(8).and_then(|n| n.checked_add(12)).ok_or_else(short)?;
        if bytes.len() < header {
            return Err(short());
        }
        let key_ends = &bytes[12..12 + users * 4];
        let number_ends = &bytes[12 + users * 4..header];
        let last = |ends: &[u8]| if users == 0 { 0 } else { u32_at(ends, users - 1) };
        let keys_end = header.checked_add(last(key_ends)).ok_or_else(short)?;
        let numbers_end = keys_end.checked_add(last(number_ends)).ok_or_else(short)?;
        let keys = bytes.get(header..keys_end).ok_or_else(short)?;
        let numbers = bytes.get(keys_end..numbers_end).ok_or_else(short)?;
        let dictionary = &bytes[numbers_end..];
        if dictionary.len() != dictionary_len {
            return Err(damaged("is not as long as its header says"));
        }
        let view = Self { users, texts, key_ends, number_ends, keys, numbers, dictionary };
        let (mut key_end, mut number_end) = (0, 0);
        for i in 0..users {
            let (k, n) = (u32_at(key_ends, i), u32_at(number_ends, i));
            if k < key_end || n < number_end {
                return Err(damaged("has entries out of place"));
            }
            (key_end, number_end) = (k, n);
        }
        if (texts == 0) != dictionary.is_empty()
            || dictionary.last().is_some_and(|b| *b != SEARCH_TEXT_SEPARATOR)
        {
            return Err(damaged("has a dictionary that does not end its last text"));
        }
        Ok(view)
    }

    fn key_bytes(&self, i: usize) -> &'a [u8] {
        let start = if i == 0 { 0 } else { u32_at(self.key_ends, i - 1) };
        &self.keys[start..u32_at(self.key_ends, i)]
    }

    pub(super) fn key(&self, i: usize) -> Result<&'a str, StoreError> {
        std::str::from_utf8(self.key_bytes(i)).map_err(|_| damaged("has a list key that is not UTF-8"))
    }

    /// The dictionary numbers of user `i`'s texts, in the order of its search text.
    fn user_numbers(&self, i: usize) -> impl Iterator<Item = Result<usize, StoreError>> + 'a {
        let start = if i == 0 { 0 } else { u32_at(self.number_ends, i - 1) };
        let texts = self.texts;
        numbers(&self.numbers[start..u32_at(self.number_ends, i)]).map(move |n| match n {
            Some(n) if n < texts => Ok(n),
            _ => Err(damaged("has a text number out of range")),
        })
    }

    /// The first user whose key is after `key`.
    pub(super) fn first_after(&self, key: &str) -> usize {
        let (mut low, mut high) = (0, self.users);
        while low < high {
            let middle = (low + high) / 2;
            if self.key_bytes(middle) <= key.as_bytes() {
                low = middle + 1;
            } else {
                high = middle;
            }
        }
        low
    }

    /// Which dictionary texts hold the query (`None`: none does): one `memmem` pass over the
    /// dictionary, resumed after each hit's text, its number counted from the NULs before it.
    fn matching_texts(&self, filter: &Filter) -> Result<Option<Vec<bool>>, StoreError> {
        let dictionary = self.dictionary;
        let mut matched: Option<Vec<bool>> = None;
        let (mut at, mut number) = (0, 0);
        while at < dictionary.len() {
            let Some(found) = filter.find_in_search_texts(&dictionary[at..]) else { break };
            let hit = at + found;
            number += memchr::memchr_iter(SEARCH_TEXT_SEPARATOR, &dictionary[at..hit]).count();
            let end = memchr::memchr(SEARCH_TEXT_SEPARATOR, &dictionary[hit..])
                .map(|n| hit + n)
                .ok_or_else(|| damaged("has a dictionary that does not end its last text"))?;
            if number >= self.texts {
                return Err(damaged("has more texts than its header says"));
            }
            matched.get_or_insert_with(|| vec![false; self.texts])[number] = true;
            (at, number) = (end + 1, number + 1);
        }
        Ok(matched)
    }

    /// The users `from..to` whose texts hold the query, in order, at most `max_hits`, and
    /// the index scanning stopped at (`to`, or one past the last hit when `max_hits` was
    /// reached). A user is one hit however many of its texts hold the query.
    pub(super) fn search(
        &self,
        filter: &Filter,
        from: usize,
        to: usize,
        max_hits: usize,
    ) -> Result<(Vec<usize>, usize), StoreError> {
        let mut hits = Vec::new();
        let Some(matched) = self.matching_texts(filter)? else { return Ok((hits, to)) };
        for user in from..to {
            if hits.len() >= max_hits {
                return Ok((hits, user));
            }
            for number in self.user_numbers(user) {
                if matched[number?] {
                    hits.push(user);
                    break;
                }
            }
        }
        Ok((hits, to))
    }

    /// Every (list key, search text) of the block, in order: what a write merges its
    /// changes into.
    pub(super) fn entries(&self) -> Result<Vec<(String, String)>, StoreError> {
        let mut texts = Vec::with_capacity(self.texts);
        if let Some((_, all)) = self.dictionary.split_last() {
            for text in all.split(|b| *b == SEARCH_TEXT_SEPARATOR) {
                texts.push(std::str::from_utf8(text).map_err(|_| damaged("has a text that is not UTF-8"))?);
            }
        }
        if texts.len() != self.texts {
            return Err(damaged("has a dictionary of another size than its header says"));
        }
        let separator = char::from(SEARCH_TEXT_SEPARATOR);
        (0..self.users)
            .map(|i| {
                let mut text = String::new();
                for (place, number) in self.user_numbers(i).enumerate() {
                    if place > 0 {
                        text.push(separator);
                    }
                    text.push_str(texts[number?]);
                }
                Ok((self.key(i)?.to_owned(), text))
            })
            .collect()
    }
}

/// A block being filled, in key order: [`BlockBuilder::bytes`] is never less than the size
/// [`BlockBuilder::encode`] gives (texts are numbered here in the order they first come;
/// encoding gives the most used the smallest numbers, which can only shorten them).
#[derive(Default)]
pub(super) struct BlockBuilder {
    keys: String,
    key_ends: Vec<u32>,
    numbers: Vec<u32>,
    number_ends: Vec<u32>,
    texts: Vec<Box<str>>,
    /// The number of each text, found by the text (hashed once per part with foldhash:
    /// SipHash and a second lookup per part were 5 % of an import).
    text_numbers: HashTable<u32>,
    hasher: DefaultHashBuilder,
    /// The parts of the entry measured last: each one's hash, and its number when the block
    /// has it already.
    planned: Vec<(u64, Option<u32>)>,
    uses: Vec<u32>,
    bytes: usize,
}

fn as_u32(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

/// The parts of a search text, split at its separators as `str::split` would (with `memchr`
/// over the whole text: splitting by a char set up a searcher for each part, a quarter of a
/// bulk load's block building).
pub(super) fn parts(text: &str) -> impl Iterator<Item = &str> {
    let mut start = 0;
    memchr::memchr_iter(SEARCH_TEXT_SEPARATOR, text.as_bytes()).map(Some).chain([None]).map(move |at| {
        let end = at.unwrap_or(text.len());
        let part = &text[start..end];
        start = end + 1;
        part
    })
}

impl BlockBuilder {
    pub(super) fn is_empty(&self) -> bool {
        self.key_ends.is_empty()
    }

    pub(super) fn bytes(&self) -> usize {
        12 + self.bytes
    }

    pub(super) fn first_key(&self) -> Option<&str> {
        self.key_ends.first().map(|end| &self.keys[..*end as usize])
    }

    pub(super) fn last_key(&self) -> Option<&str> {
        let start = match self.key_ends.len() {
            0 => return None,
            1 => 0,
            n => self.key_ends[n - 2] as usize,
        };
        Some(&self.keys[start..])
    }

    /// At most the bytes the entry would add to this block.
    #[cfg(test)]
    pub(super) fn entry_bytes(&mut self, key: &str, text: &str) -> usize {
        self.plan(key, text)
    }

    pub(super) fn push(&mut self, key: &str, text: &str) {
        self.plan(key, text);
        self.apply(key, text);
    }

    /// Pushes the entry when the block is empty or stays within `limit` bytes with it; says
    /// whether it did (each part of the text is looked up once for both).
    pub(super) fn push_within(&mut self, key: &str, text: &str, limit: usize) -> bool {
        let adds = self.plan(key, text);
        if !self.is_empty() && self.bytes() + adds > limit {
            return false;
        }
        self.apply(key, text);
        true
    }

    fn number_of(&self, hash: u64, part: &str) -> Option<u32> {
        self.text_numbers.find(hash, |number| *self.texts[*number as usize] == *part).copied()
    }

    /// Looks up each part of `text` (into `planned`) and gives at most the bytes the entry adds.
    fn plan(&mut self, key: &str, text: &str) -> usize {
        let mut planned = std::mem::take(&mut self.planned);
        planned.clear();
        let mut size = key.len() + 8;
        let mut next = self.texts.len();
        for part in parts(text) {
            let hash = self.hasher.hash_one(part);
            let number = self.number_of(hash, part);
            size += match number {
                Some(number) => varint_len(number),
                None => {
                    next += 1;
                    varint_len(as_u32(next - 1)) + part.len() + 1
                }
            };
            planned.push((hash, number));
        }
        self.planned = planned;
        size
    }

    /// Adds the entry [`BlockBuilder::plan`] measured last.
    fn apply(&mut self, key: &str, text: &str) {
        self.bytes += key.len() + 8;
        self.keys.push_str(key);
        self.key_ends.push(as_u32(self.keys.len()));
        let planned = std::mem::take(&mut self.planned);
        for (part, (hash, known)) in parts(text).zip(&planned) {
            // A part new to the block may come twice in one text: looked up again.
            let number = match known.or_else(|| self.number_of(*hash, part)) {
                Some(number) => number,
                None => {
                    let number = as_u32(self.texts.len());
                    self.texts.push(part.into());
                    let (texts, hasher) = (&self.texts, &self.hasher);
                    self.text_numbers.insert_unique(*hash, number, |n| hasher.hash_one(&*texts[*n as usize]));
                    self.uses.push(0);
                    self.bytes += part.len() + 1;
                    number
                }
            };
            self.bytes += varint_len(number);
            self.uses[number as usize] += 1;
            self.numbers.push(number);
        }
        self.planned = planned;
        self.number_ends.push(as_u32(self.numbers.len()));
    }

    pub(super) fn clear(&mut self) {
        *self = Self::default();
    }

    pub(super) fn encode(&self) -> Vec<u8> {
        let mut by_use: Vec<usize> = (0..self.texts.len()).collect();
        by_use.sort_by_key(|number| std::cmp::Reverse(self.uses[*number]));
        let mut renumbered = vec![0u32; self.texts.len()];
        for (new, old) in by_use.iter().enumerate() {
            renumbered[*old] = as_u32(new);
        }
        let mut numbers = Vec::with_capacity(self.numbers.len() + self.numbers.len() / 4);
        let mut number_ends = Vec::with_capacity(self.number_ends.len());
        let mut start = 0;
        for end in &self.number_ends {
            for number in &self.numbers[start..*end as usize] {
                push_varint(&mut numbers, renumbered[*number as usize]);
            }
            number_ends.push(as_u32(numbers.len()));
            start = *end as usize;
        }
        let mut bytes = Vec::with_capacity(self.bytes());
        bytes.extend(as_u32(self.key_ends.len()).to_le_bytes());
        bytes.extend(as_u32(self.texts.len()).to_le_bytes());
        bytes.extend(as_u32(self.texts.iter().map(|text| text.len() + 1).sum()).to_le_bytes());
        for end in self.key_ends.iter().chain(&number_ends) {
            bytes.extend(end.to_le_bytes());
        }
        bytes.extend(self.keys.as_bytes());
        bytes.extend(&numbers);
        for number in by_use {
            bytes.extend(self.texts[number].as_bytes());
            bytes.push(SEARCH_TEXT_SEPARATOR);
        }
        bytes
    }
}

/// The block of `entries` (in key order).
#[cfg(test)]
pub(super) fn encode(entries: &[(String, String)]) -> Vec<u8> {
    let mut block = BlockBuilder::default();
    for (key, text) in entries {
        block.push(key, text);
    }
    block.encode()
}
