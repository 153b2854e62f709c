//! The README's table "Which test pins each promise": every test it names must exist, so the
//! table cannot go on naming a test that was renamed or removed. A name exists when some file
//! under `tests/` or `src/` defines `fn NAME(`. And the Layout's rule: no file under `src/` is
//! over 600 lines but a data table (a file that long holds more than one subject, and is split
//! by subject); the files still waiting for their split are listed by name, so the list cannot
//! go stale: a listed file that is already short fails as surely as an unlisted one that is long.

use std::path::{Path, PathBuf};

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

/// The rows of the table: (promise, test names).
fn promise_table() -> Vec<(String, Vec<String>)> {
    let readme = std::fs::read_to_string(Path::new(ROOT).join("README.md")).expect("read the README");
    let start = readme.find("### Which test pins each promise").expect("the README has the promise table");
    let section = &readme[start..];
    let section = &section[..section[4..].find("\n#").map_or(section.len(), |end| end + 4)];
    section
        .lines()
        .filter(|line| line.starts_with('|') && !line.starts_with("|---") && !line.starts_with("| promise |"))
        .map(|line| {
            let cells: Vec<&str> = line.trim_matches('|').split(" | ").collect();
            assert_eq!(cells.len(), 2, "a row of two cells: {line}");
            let names = cells[1].split('`').skip(1).step_by(2).map(str::to_owned).collect();
            (cells[0].trim().to_owned(), names)
        })
        .collect()
}

fn rust_files(dir: &Path, into: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("read a source directory").flatten() {
        let path = entry.path();
        if path.is_dir() {
            rust_files(&path, into);
        } else if path.extension().is_some_and(|e| e == "rs") {
            into.push(path);
        }
    }
}

#[test]
fn every_test_the_readme_names_for_a_promise_exists() {
    let mut files = Vec::new();
    rust_files(&Path::new(ROOT).join("tests"), &mut files);
    rust_files(&Path::new(ROOT).join("src"), &mut files);
    let sources: Vec<String> =
        files.iter().map(|f| std::fs::read_to_string(f).expect("read a source file")).collect();
    let table = promise_table();
    assert!(table.len() >= 30, "the table has {} rows", table.len());
    let mut missing = Vec::new();
    for (promise, names) in &table {
        assert!(!names.is_empty(), "no test named for {promise:?}");
        for name in names {
            let definition = format!("fn {name}(");
            if !sources.iter().any(|source| source.contains(&definition)) {
                missing.push(format!("{name} (for {promise:?})"));
            }
        }
    }
    assert!(missing.is_empty(), "the README names tests that do not exist:\n{}", missing.join("\n"));
}

/// The most lines a source file under `src/` may have.
const MAX_LINES: usize = 600;

/// Data, not logic: one table read whole, longer than the limit by nature.
const DATA_TABLES: &[&str] = &["src/tui/keymap.rs"];

/// Files over the limit whose split is under way; remove each from here when it lands.
const NOT_YET_SPLIT: &[&str] = &[];

/// Every `.rs` file under `src/` with its line count, by its path from the crate root
/// (`src/cli/mod.rs`), in path order.
fn source_lengths() -> Vec<(String, usize)> {
    let root = Path::new(ROOT);
    let mut files = Vec::new();
    rust_files(&root.join("src"), &mut files);
    let mut lengths: Vec<(String, usize)> = files
        .iter()
        .map(|path| {
            let text = std::fs::read_to_string(path).expect("read a source file");
            let name = path.strip_prefix(root).expect("under the crate root").to_string_lossy().into_owned();
            (name, text.lines().count())
        })
        .collect();
    lengths.sort();
    lengths
}

#[test]
fn no_source_file_is_over_600_lines_but_data_tables_and_the_splits_still_under_way() {
    let lengths = source_lengths();
    assert!(lengths.len() > 50, "the walk found the sources: {lengths:?}");
    let too_long: Vec<String> = lengths
        .iter()
        .filter(|(name, lines)| {
            *lines > MAX_LINES
                && !DATA_TABLES.contains(&name.as_str())
                && !NOT_YET_SPLIT.contains(&name.as_str())
        })
        .map(|(name, lines)| format!("{name} ({lines} lines)"))
        .collect();
    assert!(
        too_long.is_empty(),
        "over {MAX_LINES} lines: {}; split each by what its code is about",
        too_long.join(", ")
    );
}

#[test]
fn every_file_listed_as_not_yet_split_is_still_over_600_lines() {
    let lengths = source_lengths();
    let stale: Vec<String> = NOT_YET_SPLIT
        .iter()
        .filter(|listed| !lengths.iter().any(|(name, lines)| name == *listed && *lines > MAX_LINES))
        .map(|listed| (*listed).to_owned())
        .collect();
    assert!(
        stale.is_empty(),
        "split already (or gone), so no longer to be listed in NOT_YET_SPLIT: {}",
        stale.join(", ")
    );
}

#[test]
fn every_data_table_exists() {
    let lengths = source_lengths();
    for table in DATA_TABLES {
        assert!(
            lengths.iter().any(|(name, _)| name == table),
            "{table} is named as a data table but is gone"
        );
    }
}
