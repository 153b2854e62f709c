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
    for budget in [64, 1000, 1 << 20] {
        let mut spill = Spill::new(dir.path()).expect("spill file");
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
            direct.push((text(key).into_owned(), previous.map(|p| text(p).into_owned())));
            Ok(())
        })
        .expect("place");
    }
    assert_eq!(direct.len(), PROBATION + 10);
    assert_eq!(direct[1], ("k000001".to_owned(), Some("k000000".to_owned())));
    let waiting: Vec<_> = merged(runs, &mut spill).into_iter().map(|(k, _)| text(&k).into_owned()).collect();
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
