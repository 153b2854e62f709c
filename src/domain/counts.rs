//! Counts and sizes as an operator reads them: `1,000,000`, `312 B`, `4.2 KiB`, `1 MiB`.

/// `1,000,000`: counts as an operator reads them.
pub fn group_digits(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// `312 B`, `4.2 KiB`, `1 MiB`: sizes as an operator reads them (one decimal). Two sizes
/// that must be told apart go through [`human_bytes_apart`].
pub fn human_bytes(bytes: usize) -> String {
    let (value, unit) = in_unit(bytes);
    let text = with_decimals(value, 1);
    // 1023.97 KiB would read "1024 KiB": the next unit says it better.
    if text == "1024" && unit == "KiB" {
        return format!("{} MiB", with_decimals(value / 1024.0, 1));
    }
    if text == "1024" && unit == "MiB" {
        return format!("{} GiB", with_decimals(value / 1024.0, 1));
    }
    format!("{text} {unit}")
}

/// Two sizes as an operator reads them (`1.05 MiB` and `1 MiB`), with as many decimals as it
/// takes to tell them apart, or in exact bytes (`1,048,577 B` and `1,048,576 B`) when three
/// are not enough: a size over a limit never reads as the limit itself.
pub fn human_bytes_apart(a: usize, b: usize) -> (String, String) {
    let (first, second) = (human_bytes(a), human_bytes(b));
    // Equal is said in exact bytes too: at the limit, `1 MiB of 1 MiB` did not tell whether
    // one more character fits (bb11).
    if first != second {
        return (first, second);
    }
    let (_, unit) = in_unit(a.max(b));
    let divisor = match unit {
        "GiB" => 1024.0 * 1024.0 * 1024.0,
        "MiB" => 1024.0 * 1024.0,
        "KiB" => 1024.0,
        _ => 1.0,
    };
    for decimals in 2..=3 {
        let (x, y) =
            (with_decimals(a as f64 / divisor, decimals), with_decimals(b as f64 / divisor, decimals));
        if x != y {
            return (format!("{x} {unit}"), format!("{y} {unit}"));
        }
    }
    (exact_bytes(a), exact_bytes(b))
}

fn in_unit(bytes: usize) -> (f64, &'static str) {
    const KIB: f64 = 1024.0;
    let b = bytes as f64;
    if bytes < 1024 {
        (b, "B")
    } else if b < KIB * KIB {
        (b / KIB, "KiB")
    } else if b < KIB * KIB * KIB {
        (b / (KIB * KIB), "MiB")
    } else {
        // A database file: `6260.6 MiB` beside `3091 MiB` read as another count (bb90 F1).
        (b / (KIB * KIB * KIB), "GiB")
    }
}

/// `value` with `decimals` decimals, trailing zeros (and a trailing point) dropped.
fn with_decimals(value: f64, decimals: usize) -> String {
    let text = format!("{value:.decimals$}");
    if text.contains('.') { text.trim_end_matches('0').trim_end_matches('.').to_owned() } else { text }
}

/// `1,048,577 B`.
fn exact_bytes(bytes: usize) -> String {
    format!("{} B", group_digits(bytes as u64))
}
