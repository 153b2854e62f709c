//! The bytes of a block and of a layout-6 block: what the builder counts, what a damaged
//! block is refused for.

use super::*;

/// A block where every text is used once is encoded in exactly the bytes its builder counted
/// (renumbering by use changes no number's length), and each entry adds what
/// `entry_bytes` said, through numbers of one, two and three bytes; the numbers read back.
#[test]
fn a_block_is_encoded_in_the_bytes_its_builder_counted() {
    let mut block = BlockBuilder::default();
    assert_eq!((block.bytes(), block.encode().len()), (12, 12));
    let mut entries = Vec::new();
    // 18,000 texts: numbers past 127 and past 16,383 take two and three bytes.
    for i in 0..9_000 {
        let (key, text) = (format!("k{i:05}"), format!("a{i}\0b{i}"));
        let before = block.bytes();
        let adds = block.entry_bytes(&key, &text);
        block.push(&key, &text);
        assert_eq!(block.bytes() - before, adds, "entry {i}");
        entries.push((key, text));
    }
    let bytes = block.encode();
    assert_eq!(block.bytes(), bytes.len());
    let view = BlockView::parse(&bytes).expect("a sound block");
    assert_eq!(view.entries().expect("entries"), entries);
    let filter = Filter::new("b8999");
    assert_eq!(view.search(&filter, 0, view.users, usize::MAX).expect("search"), (vec![8_999], view.users));
}

/// A text that the block uses most gets the one-byte number even when it first comes after
/// 128 others, so the block is shorter than its builder counted; and an entry that repeats a
/// text of its own is never counted as less than it adds.
#[test]
fn a_text_used_most_gets_the_shortest_number() {
    let mut block = BlockBuilder::default();
    let mut entries = Vec::new();
    for i in 0..300 {
        let text = if i < 200 { format!("id{i}") } else { format!("id{i}\0plan") };
        block.push(&format!("k{i:03}"), &text);
        entries.push((format!("k{i:03}"), text));
    }
    let bytes = block.encode();
    assert!(bytes.len() < block.bytes(), "{} bytes encoded, {} counted", bytes.len(), block.bytes());
    assert_eq!(BlockView::parse(&bytes).expect("block").entries().expect("entries"), entries);
    let before = block.bytes();
    let adds = block.entry_bytes("k300", "new\0new\0plan");
    block.push("k300", "new\0new\0plan");
    assert!(adds >= block.bytes() - before, "{adds} counted for {} added", block.bytes() - before);
}

/// A block of two users, "k1" (text "t1") and "k2" (text "text").
fn two_users() -> Vec<u8> {
    encode(&[("k1".into(), "t1".into()), ("k2".into(), "text".into())])
}

#[test]
fn a_block_of_no_users_reads_as_empty() {
    let empty = encode(&[]);
    let view = BlockView::parse(&empty).expect("an empty block");
    assert_eq!(view.users, 0);
    assert_eq!(view.entries().expect("entries"), Vec::new());
    assert_eq!(view.first_after("k"), 0);
    assert_eq!(view.search(&Filter::new(""), 0, 0, usize::MAX).expect("search"), (Vec::new(), 0));
}

/// Every key and text reads back as it was written, an empty key and an empty text too, from
/// a block and from a layout-6 block.
#[test]
fn an_empty_key_or_text_reads_back() {
    let entries = vec![(String::new(), "t".to_owned()), ("k".to_owned(), String::new())];
    let block = encode(&entries);
    assert_eq!(BlockView::parse(&block).expect("a sound block").entries().expect("entries"), entries);
    assert_eq!(layout6::entries(&layout6::encode(&entries)).expect("a sound block"), entries);
}

/// The header's ends out of order, a dictionary whose last text has no NUL, or one with
/// more texts than the header says are errors when the block is opened or read, not a
/// panic and not a wrong answer.
#[test]
fn a_block_whose_parts_disagree_with_its_header_is_refused() {
    let good = two_users();
    // Key ends at 12..20 ([2, 4]), number ends at 20..28 ([1, 2]).
    for (at, value) in [(12, 5), (20, 3)] {
        let mut bad = good.clone();
        bad[at] = value;
        let error = BlockView::parse(&bad).err().expect("ends out of order");
        assert!(error.to_string().contains("out of place"), "{error}");
    }
    let mut bad = good.clone();
    *bad.last_mut().expect("a byte") = b'x';
    assert!(BlockView::parse(&bad).is_err(), "a last text without its NUL");
    let mut bad = good.clone();
    bad[4] = 0;
    assert!(BlockView::parse(&bad).is_err(), "no texts, but a dictionary");
    // One text said, two held: the second is out of range wherever it is read.
    let mut bad = good.clone();
    bad[4] = 1;
    let view = BlockView::parse(&bad).expect("the ends are in place");
    for query in ["text", "t1"] {
        let error = view.search(&Filter::new(query), 0, 2, usize::MAX).expect_err("a damaged block");
        assert!(error.to_string().contains("damaged"), "{query:?}: {error}");
    }
    assert!(view.entries().is_err());
}

/// A user's number written in more than five bytes is damage, not a number.
#[test]
fn a_number_longer_than_five_bytes_is_refused() {
    // One user "k" whose one number is 0x80 six times and 0, one text "a".
    let numbers = [0x80, 0x80, 0x80, 0x80, 0x80, 0x00];
    let mut bytes = Vec::new();
    for n in [1u32, 1, 2, 1, numbers.len() as u32] {
        bytes.extend(n.to_le_bytes());
    }
    bytes.push(b'k');
    bytes.extend(numbers);
    bytes.extend(b"a\0");
    let view = BlockView::parse(&bytes).expect("the ends are in place");
    assert!(view.entries().is_err());
    assert!(view.search(&Filter::new("a"), 0, 1, usize::MAX).is_err());
}

#[test]
fn a_layout_6_block_reads_back_its_entries_and_a_damaged_one_is_refused() {
    let entries: Vec<(String, String)> = [("k1", "t1\0x"), ("k22", ""), ("k3", "text")]
        .into_iter()
        .map(|(k, t)| (k.to_owned(), t.to_owned()))
        .collect();
    let good = layout6::encode(&entries);
    assert_eq!(layout6::entries(&good).expect("a sound block"), entries);
    assert_eq!(layout6::entries(&layout6::encode(&[])).expect("an empty block"), Vec::new());
    for cut in 0..good.len() {
        assert!(layout6::entries(&good[..cut]).is_err(), "cut at {cut}");
    }
    let mut longer = good.clone();
    longer.push(b'x');
    assert!(layout6::entries(&longer).is_err(), "a byte after the last text");
    // Text ends at 4..16 ([4, 5, 10]), key ends at 16..28 ([2, 5, 7]).
    // A key ending before the last, a text ending on a byte that is no NUL, a text ending
    // (on a NUL) before the last.
    for (at, value) in [(16, 6), (4, 9), (8, 2)] {
        let mut bad = good.clone();
        bad[at] = value;
        assert!(layout6::entries(&bad).is_err(), "byte {at} made {value}");
    }
    let mut bad = good.clone();
    *bad.last_mut().expect("a byte") = b'x';
    assert!(layout6::entries(&bad).is_err(), "a last text not ended by NUL");
}

/// The parts a block stores of a search text are those `str::split` gives, whatever the
/// separators' places and the characters around them.
#[test]
fn a_search_text_is_split_into_the_parts_str_split_gives() {
    for text in ["", "\0", "\0\0", "a", "a\0", "\0a", "a\0b", "ünï\0\0日本\0", "x\0y\0z\0\0w", "👍🏽\0é"]
    {
        let ours: Vec<&str> = super::block::parts(text).collect();
        let theirs: Vec<&str> = text.split('\0').collect();
        assert_eq!(ours, theirs, "{text:?}");
    }
}
