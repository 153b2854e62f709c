//! The README's table "Which test pins each promise": every test it names must exist, so the
//! table cannot go on naming a test that was renamed or removed. A name exists when some file
//! under `tests/` or `src/` defines `fn NAME(`.

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
