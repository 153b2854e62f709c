use super::merge::MERGE_MEMORY;
use super::*;

fn merged(runs: Runs, spill: &mut Spill) -> Vec<(Vec<u8>, Vec<u8>)> {
    let mut out = Vec::new();
    runs.merge::<io::Error>(spill, &mut |entry| {
        out.push((entry.key, entry.note));
        Ok(())
    })
    .expect("merge");
    out
}

#[test]
fn entries_come_back_in_key_order_whatever_the_budget_with_repeats_in_arrival_order() {
    let dir = tempfile::tempdir().expect("temp dir");
    let keys: Vec<u32> = (0..5000u32).map(|n| n.wrapping_mul(2_654_435_761) % 1000).collect();
    // Runs written by the caller, and by a thread of their own.
    let spills = [Spill::new, Spill::with_writer_thread];
    for (budget, new_spill) in [64, 1000, 1 << 20].into_iter().flat_map(|b| spills.map(|s| (b, s))) {
        let mut spill = new_spill(dir.path()).expect("spill file");
        let mut runs = Runs::new(budget);
        for (arrival, key) in keys.iter().enumerate() {
            let key = format!("{key:04}");
            runs.defer(&mut spill, key.as_bytes(), b"v", arrival.to_string().as_bytes()).expect("defer");
        }
        let out = merged(runs, &mut spill);
        assert_eq!(out.len(), keys.len());
        for pair in out.windows(2) {
            let arrival = |note: &[u8]| String::from_utf8_lossy(note).parse::<usize>().expect("number");
            assert!(
                pair[0].0 < pair[1].0
                    || (pair[0].0 == pair[1].0 && arrival(&pair[0].1) < arrival(&pair[1].1)),
                "budget {budget}"
            );
        }
    }
    // Nothing is left in the directory: the file has no name.
    assert_eq!(fs::read_dir(dir.path()).expect("list").count(), 0);
}

#[test]
fn repeats_last_is_the_key_placed_just_before_and_no_other() {
    // A bulk load stops an endless input repeating one record at once by it, not at the
    // merge it would never reach.
    let dir = tempfile::tempdir().expect("temp dir");
    let mut spill = Spill::new(dir.path()).expect("spill file");
    let mut runs = Runs::new(1 << 20);
    assert!(!runs.repeats_last(b"a"), "nothing placed yet");
    let mut ignore = |_: &[u8], _: &[u8], _: &[u8], _: Option<&[u8]>| Ok::<(), io::Error>(());
    runs.place(&mut spill, b"a", b"", b"", &mut ignore).expect("place");
    assert!(runs.repeats_last(b"a"));
    assert!(!runs.repeats_last(b"b") && !runs.repeats_last(b"a2"));
    runs.place(&mut spill, b"c", b"", b"", &mut ignore).expect("place");
    assert!(runs.repeats_last(b"c") && !runs.repeats_last(b"a"), "only the last one");
}

#[test]
fn spill_rest_writes_what_is_in_memory_only_once_runs_were_spilled() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut spill = Spill::new(dir.path()).expect("spill file");
    // Everything fits: nothing is written, the entries stay in memory.
    let mut runs = Runs::new(1 << 20);
    runs.defer(&mut spill, b"a", b"", b"").expect("defer");
    runs.spill_rest(&mut spill).expect("spill the rest");
    assert!(runs.runs.is_empty() && !runs.starts.is_empty());
    // Runs spilled already: the rest follows them into the file, as the last run.
    let mut runs = Runs::new(64);
    for n in 0..20 {
        runs.defer(&mut spill, format!("k{n:02}").as_bytes(), b"value", b"").expect("defer");
    }
    let spilled = runs.runs.len();
    assert!(spilled > 0 && !runs.starts.is_empty(), "spilled runs and some in memory");
    runs.spill_rest(&mut spill).expect("spill the rest");
    assert_eq!(runs.runs.len(), spilled + 1);
    assert!(runs.starts.is_empty(), "nothing left in memory");
    assert_eq!(merged(runs, &mut spill).len(), 20);
}

#[test]
fn an_entry_is_whole_with_its_header_and_every_byte_the_header_counts() {
    // The merge decodes an entry only once all of it is buffered: one byte short, it reads on.
    let mut encoded = Vec::new();
    for length in [3u32, 5, 7] {
        encoded.extend_from_slice(&length.to_le_bytes());
    }
    encoded.extend_from_slice(b"keyvalueandnote");
    assert_eq!(encoded.len(), 27);
    assert!(starts_with_whole_entry(&encoded));
    assert!(!starts_with_whole_entry(&encoded[..26]), "one byte short");
    assert!(!starts_with_whole_entry(&encoded[..HEADER]) && !starts_with_whole_entry(&encoded[..5]));
    assert!(!starts_with_whole_entry(&[]));
    encoded.extend_from_slice(b"the next entry");
    assert!(starts_with_whole_entry(&encoded), "bytes after it are the next entry's");
    // An entry of empty key, value and note is its header alone.
    assert!(starts_with_whole_entry(&[0; HEADER]));
}

#[test]
fn a_run_is_spilled_when_the_next_entry_would_pass_the_budget_not_when_it_reaches_it() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut spill = Spill::new(dir.path()).expect("spill file");
    // Each entry takes 12 + 1 + 2 + 3 = 18 bytes: three fill 54 exactly.
    let spilled_after = |budget: usize, spill: &mut Spill| {
        let mut runs = Runs::new(budget);
        (0..4)
            .map(|n| {
                runs.defer(spill, format!("{n}").as_bytes(), b"vv", b"nnn").expect("defer");
                runs.runs.len()
            })
            .collect::<Vec<_>>()
    };
    assert_eq!(spilled_after(54, &mut spill), [0, 0, 0, 1], "three fit 54 bytes, the fourth spills them");
    assert_eq!(spilled_after(53, &mut spill), [0, 0, 1, 1], "the third would pass 53: the two spill");
    // One entry larger than the budget is held alone, not spilled empty.
    assert_eq!(spilled_after(10, &mut spill), [0, 1, 2, 3]);
}

#[test]
fn the_memory_for_a_run_is_taken_once_at_the_budget_not_grown_by_doubling() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut spill = Spill::new(dir.path()).expect("spill file");
    let budget = 64 * 1024;
    let mut runs = Runs::new(budget);
    runs.defer(&mut spill, b"k", b"v", b"").expect("defer");
    assert_eq!(runs.arena.capacity(), budget, "the whole budget at the first entry");
    while runs.runs.is_empty() {
        runs.defer(&mut spill, b"k", &[7; 100], b"").expect("defer");
    }
    assert_eq!(runs.arena.capacity(), budget, "a full run never took more");
}

#[test]
fn a_repeated_key_or_a_spill_during_probation_makes_the_table_wait_whole() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut spill = Spill::new(dir.path()).expect("spill file");
    let mut never =
        |_: &[u8], _: &[u8], _: &[u8], _: Option<&[u8]>| -> io::Result<()> { panic!("put in directly") };
    // A key equal to the one before it is no sign of key order: the merge must meet both.
    let mut runs = Runs::new(1 << 20);
    runs.place(&mut spill, b"k000000", b"", b"", &mut never).expect("place");
    for n in 0..PROBATION + 10 {
        runs.place(&mut spill, format!("k{n:06}").as_bytes(), b"", b"", &mut never).expect("place");
    }
    assert_eq!(merged(runs, &mut spill).len(), PROBATION + 11);
    // Keys in order that spilled a run before the probation ended wait too: the merge
    // would put the spilled ones in front of any put in directly.
    let mut runs = Runs::new(256);
    for n in 0..PROBATION + 10 {
        runs.place(&mut spill, format!("k{n:06}").as_bytes(), b"", b"", &mut never).expect("place");
    }
    assert!(!runs.runs.is_empty());
    assert_eq!(merged(runs, &mut spill).len(), PROBATION + 10);
    // In order for the whole probation: all of it goes in at its last entry, not later.
    let mut runs = Runs::new(1 << 20);
    let mut direct = 0;
    for n in 0..PROBATION {
        runs.place::<io::Error>(&mut spill, format!("k{n:06}").as_bytes(), b"", b"", &mut |_, _, _, _| {
            direct += 1;
            Ok(())
        })
        .expect("place");
    }
    assert_eq!(direct, PROBATION);
}

#[test]
fn runs_longer_than_their_read_buffer_come_back_whole_entry_by_entry() {
    // The merge reads each run through 16-256 KiB; entries cut by a buffer's end must be
    // read on, never decoded half.
    let dir = tempfile::tempdir().expect("temp dir");
    let mut spill = Spill::new(dir.path()).expect("spill file");
    let mut runs = Runs::new(400 * 1024);
    let mut expected = Vec::new();
    for n in 0..12_000u32 {
        let key = format!("{:08}", n.wrapping_mul(2_654_435_761) % 1_000_000);
        // Sizes that do not divide the buffer: entries straddle its end.
        let value = vec![b'v'; 20 + (n as usize * 7) % 90];
        let note = format!("{n}");
        runs.defer(&mut spill, key.as_bytes(), &value, note.as_bytes()).expect("defer");
        expected.push((key.into_bytes(), value, note.into_bytes()));
    }
    assert!(runs.runs.len() >= 2, "runs of about 400 KiB, past the 256 KiB buffer");
    expected.sort_by(|a, b| a.0.cmp(&b.0));
    let mut out = Vec::new();
    runs.merge::<io::Error>(&mut spill, &mut |entry| {
        out.push((entry.key, entry.value, entry.note));
        Ok(())
    })
    .expect("merge");
    assert_eq!(out.len(), expected.len());
    for (got, want) in out.iter().zip(&expected) {
        assert_eq!(got.0, want.0);
        assert_eq!(got.1.len(), want.1.len());
    }
    let mut notes: Vec<_> = out.into_iter().map(|e| e.2).collect();
    notes.sort();
    let mut wanted: Vec<_> = expected.into_iter().map(|e| e.2).collect();
    wanted.sort();
    assert_eq!(notes, wanted, "every entry once, its note with it");
}

#[test]
fn input_in_key_order_goes_straight_in_and_input_out_of_it_waits_whole() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut spill = Spill::new(dir.path()).expect("spill file");
    // In order for the whole probation: straight in, with the key before each; later
    // keys out of order wait for the merge.
    let mut runs = Runs::new(1 << 20);
    let mut direct = Vec::new();
    let mut keys: Vec<String> = (0..PROBATION + 10).map(|n| format!("k{n:06}")).collect();
    keys.insert(PROBATION + 3, "a".to_owned());
    keys.insert(PROBATION + 5, format!("k{:06}", PROBATION + 4));
    for key in &keys {
        runs.place::<io::Error>(&mut spill, key.as_bytes(), b"", b"", &mut |key, _, _, previous| {
            direct.push((
                String::from_utf8_lossy(key).into_owned(),
                previous.map(|p| String::from_utf8_lossy(p).into_owned()),
            ));
            Ok(())
        })
        .expect("place");
    }
    assert_eq!(direct.len(), PROBATION + 10);
    assert_eq!(direct[1], ("k000001".to_owned(), Some("k000000".to_owned())));
    let waiting: Vec<_> =
        merged(runs, &mut spill).into_iter().map(|(k, _)| String::from_utf8_lossy(&k).into_owned()).collect();
    assert_eq!(waiting, ["a".to_owned(), format!("k{:06}", PROBATION + 4)]);
    // Out of order at once: nothing goes in before the merge.
    let mut runs = Runs::new(1 << 20);
    for key in ["b", "a", "c", "d"].iter().chain(keys.iter().map(String::as_str).collect::<Vec<_>>().iter()) {
        runs.place::<io::Error>(&mut spill, key.as_bytes(), b"", b"", &mut |_, _, _, _| {
            panic!("put in directly")
        })
        .expect("place");
    }
    assert_eq!(merged(runs, &mut spill).len(), keys.len() + 4);
}

#[test]
fn a_run_its_thread_cannot_write_fails_the_merge_and_the_next_runs() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut spill = Spill::with_unwritable_runs(dir.path()).expect("spill file");
    let mut runs = Runs::new(64);
    // Each run is written on the writer's thread: its failure comes back at a later hand-over
    // or, at the latest, before the merge reads a byte.
    let mut failed = None;
    for n in 0..200 {
        if let Err(e) = runs.defer(&mut spill, format!("k{n:03}").as_bytes(), b"value", b"") {
            failed = Some(e);
            break;
        }
    }
    // A run handed over waits until the thread has taken it, after it told how the one
    // before went: by the third hand-over the first's failure is known, long before a merge.
    let error = failed.expect("a later hand-over reports it");
    assert_eq!(error.raw_os_error(), Some(libc::EBADF), "{error}");
}

#[test]
fn runs_larger_than_one_write_come_back_whole_through_the_writer_thread() {
    // 3 MiB runs of 10 KiB entries: each run is written in several writes, each at its place.
    let dir = tempfile::tempdir().expect("temp dir");
    let mut spill = Spill::with_writer_thread(dir.path()).expect("spill file");
    let mut runs = Runs::new(3 * 1024 * 1024);
    let keys: Vec<u32> = (0..1000u32).map(|n| n.wrapping_mul(2_654_435_761) % 1000).collect();
    let value_of = |key: u32| vec![u8::try_from(key % 251).expect("a byte"); 10 * 1024];
    for key in &keys {
        runs.defer(&mut spill, format!("{key:04}").as_bytes(), &value_of(*key), b"").expect("defer");
    }
    assert!(runs.runs.len() >= 3, "{} runs", runs.runs.len());
    let mut seen = Vec::new();
    runs.merge::<io::Error>(&mut spill, &mut |entry| {
        let key: u32 = String::from_utf8_lossy(&entry.key).parse().expect("a number");
        assert!(entry.value == value_of(key), "{key}");
        seen.push(key);
        Ok(())
    })
    .expect("merged");
    let mut sorted = keys.clone();
    sorted.sort_unstable();
    assert_eq!(seen, sorted);
}

#[test]
fn spill_rest_reports_a_run_its_thread_could_not_write() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut spill = Spill::with_unwritable_runs(dir.path()).expect("spill file");
    // A budget of one entry: the second hands the first over as a run.
    let mut runs = Runs::new(20);
    runs.defer(&mut spill, b"a", b"value", b"").expect("held in memory");
    runs.defer(&mut spill, b"b", b"value", b"").expect("the first run handed over");
    assert_eq!(runs.runs.len(), 1);
    let error = runs.spill_rest(&mut spill).expect_err("known before anything is merged");
    assert_eq!(error.raw_os_error(), Some(libc::EBADF), "{error}");
}

/// Entries near a document's limit: one of each run, buffered and copied into the heap, would
/// hold 2 × 60 × 600 KiB; runs are merged in groups first (appended to the spill file) until
/// one of each fits in `MERGE_MEMORY`, and the entries still come back in key order, equal keys
/// in arrival order (bb22 L02: 400 documents of 1 MiB held 805 MB).
#[test]
fn runs_of_large_entries_are_merged_in_groups_first_and_come_back_in_order() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut spill = Spill::new(dir.path()).expect("spill file");
    let mut runs = Runs::new(1024 * 1024);
    let value = vec![b'v'; 600 * 1024];
    let mut expected = Vec::new();
    for n in 0..60u32 {
        // Twelve keys, each given five times: arrival order among equals must survive.
        let key = format!("k{:02}", (n * 7) % 12);
        let note = format!("{n:02}");
        runs.defer(&mut spill, key.as_bytes(), &value, note.as_bytes()).expect("defer");
        expected.push((key.into_bytes(), note.into_bytes()));
        // A small entry after each: a group's run ends with bytes short of one write.
        let small = format!("s{n:02}");
        runs.defer(&mut spill, small.as_bytes(), b"", small.as_bytes()).expect("defer");
        expected.push((small.clone().into_bytes(), small.into_bytes()));
    }
    assert!(runs.runs.len() >= 50, "a run of one or two entries each: {}", runs.runs.len());
    expected.sort_by(|a, b| a.0.cmp(&b.0));
    let ready = runs.ready_to_merge(&mut spill).expect("ready");
    let fan_in = MERGE_MEMORY / (2 * (HEADER + 3 + value.len() + 2));
    assert!(ready.runs_at_once() <= fan_in, "{} runs at once, {fan_in} fit", ready.runs_at_once());
    assert!(ready.runs_at_once() >= 2);
    let mut merged = ready.start().expect("start");
    let mut out = Vec::new();
    while let Some(entry) = merged.next_entry().expect("entry") {
        assert_eq!(entry.value.len(), if entry.key[0] == b'k' { value.len() } else { 0 });
        out.push((entry.key, entry.note));
    }
    assert_eq!(out, expected);
}

/// Entries of a few KiB (a user's rows) are merged as they were spilled, in one pass.
#[test]
fn runs_of_small_entries_are_merged_at_once() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut spill = Spill::new(dir.path()).expect("spill file");
    let mut runs = Runs::new(16 * 1024);
    for n in 0..20_000u32 {
        let key = format!("{:08}", n.wrapping_mul(2_654_435_761) % 1_000_000);
        runs.defer(&mut spill, key.as_bytes(), &[b'v'; 300], b"").expect("defer");
    }
    let spilled = runs.runs.len();
    assert!(spilled > 300, "{spilled}");
    let length = spill.len();
    let ready = runs.ready_to_merge(&mut spill).expect("ready");
    assert_eq!(ready.runs_at_once(), spilled + 1, "the rest in memory is the last run");
    assert!(spill.len() > length && spill.len() < length + 20 * 1024, "only the rest written");
}

/// A directory that takes no file (one the operator may not write; here a path through a
/// file): the spill file is made in the fallback; where neither takes one, the error names
/// both and what to do (bb22 L04).
#[test]
fn a_spill_file_is_made_in_the_fallback_when_the_database_s_directory_takes_none() {
    let dir = tempfile::tempdir().expect("temp dir");
    let not_a_dir = dir.path().join("a file");
    fs::write(&not_a_dir, b"x").expect("write");
    let fallback = dir.path().join("fallback");
    fs::create_dir(&fallback).expect("mkdir");
    let (file, made_in) = Spill::unnamed_file_in_either(&not_a_dir, &fallback).expect("in the fallback");
    assert_eq!(made_in, fallback);
    file.write_all_at(b"runs", 0).expect("writable");
    assert_eq!(fs::read_dir(&fallback).expect("list").count(), 0, "unnamed: nothing left in the directory");
    let (_, made_in) = Spill::unnamed_file_in_either(dir.path(), &fallback).expect("beside");
    assert_eq!(made_in, dir.path());
    // Neither: `/tmp`, as the system's temporary directory. One others can change is passed
    // over for it (bb52 F6, bb54 F1).
    let (_, made_in) = Spill::unnamed_file_in_either(&not_a_dir, &not_a_dir.join("x")).expect("in /tmp");
    assert_eq!(made_in, Path::new("/tmp"));
    fs::set_permissions(&fallback, <fs::Permissions as std::os::unix::fs::PermissionsExt>::from_mode(0o777))
        .expect("chmod");
    let (_, made_in) = Spill::unnamed_file_in_either(&not_a_dir, &fallback).expect("in /tmp");
    assert_eq!(made_in, Path::new("/tmp"), "not in the directory others can change");
    fs::set_permissions(&fallback, <fs::Permissions as std::os::unix::fs::PermissionsExt>::from_mode(0o700))
        .expect("chmod");
}

/// A batch is its entries' encoded bytes, read back in the order pushed: its size is what
/// the merging thread bounds a batch by.
#[test]
fn an_entry_batch_holds_its_entries_encoded_and_gives_them_back_in_order() {
    let mut batch = EntryBatch::default();
    assert_eq!(batch.size(), 0);
    let entries = [("b", "value", ""), ("a", "", "note"), ("c", "v", "n")];
    for (key, value, note) in entries {
        let entry = Entry { key: key.into(), value: value.into(), note: note.into() };
        batch.push(&entry).expect("pushed");
    }
    let expected: usize = entries.iter().map(|(k, v, n)| HEADER + k.len() + v.len() + n.len()).sum();
    assert_eq!(batch.size(), expected);
    let back: Vec<(&[u8], &[u8], &[u8])> = batch.entries().collect();
    let wanted: Vec<(&[u8], &[u8], &[u8])> =
        entries.iter().map(|(k, v, n)| (k.as_bytes(), v.as_bytes(), n.as_bytes())).collect();
    assert_eq!(back, wanted);
    batch.clear();
    assert_eq!((batch.size(), batch.entries().count()), (0, 0));
}

/// One large entry among many small ones (one document near the limit among a million
/// users): at most one head holds it, so the runs are merged as they were spilled — the whole
/// table is not written through the file again for it.
#[test]
fn one_large_entry_among_small_ones_is_merged_with_them_in_one_pass() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut spill = Spill::new(dir.path()).expect("spill file");
    let mut runs = Runs::new(64 * 1024);
    for n in 0..3_000u32 {
        let key = format!("{:08}", n.wrapping_mul(2_654_435_761) % 1_000_000);
        let size = if n == 1_500 { 900 * 1024 } else { 300 };
        runs.defer(&mut spill, key.as_bytes(), &vec![b'v'; size], b"").expect("defer");
    }
    let spilled = runs.runs.len();
    assert!(spilled > 10, "{spilled}");
    let length = spill.len();
    let ready = runs.ready_to_merge(&mut spill).expect("ready");
    assert_eq!(ready.runs_at_once(), spilled + 1, "the rest in memory is the last run");
    assert!(spill.len() < length + 64 * 1024, "only the rest written");
    let mut merged = ready.start().expect("start");
    let mut count = 0;
    while merged.next_entry().expect("entry").is_some() {
        count += 1;
    }
    assert_eq!(count, 3_000);
}

/// Runs merged into a longer one give their room back (the spill file's blocks), so passes
/// over a table of large entries do not take the disk a copy of the table each (bb23 L04).
#[test]
fn runs_merged_in_groups_give_their_room_back() {
    use std::os::unix::fs::MetadataExt;
    let dir = tempfile::tempdir().expect("temp dir");
    let mut spill = Spill::new(dir.path()).expect("spill file");
    let mut runs = Runs::new(1024 * 1024);
    for n in 0..60u32 {
        runs.defer(&mut spill, format!("k{:02}", (n * 7) % 60).as_bytes(), &vec![b'v'; 600 * 1024], b"")
            .expect("defer");
    }
    let spilled = spill.len();
    let _ready = runs.ready_to_merge(&mut spill).expect("ready");
    assert!(spill.len() > 2 * spilled, "at least two passes appended: {} of {spilled}", spill.len());
    let taken = spill.file.metadata().expect("metadata").blocks() * 512;
    assert!(taken < spilled + spilled / 2, "{taken} B taken for {spilled} B of runs");
}
