//! Epoch milliseconds, as Logto stores time, and how an operator reads them.

use time::{OffsetDateTime, format_description::BorrowedFormatItem, macros::format_description};

const READABLE: &[BorrowedFormatItem<'static>] =
    format_description!("[year]-[month]-[day] [hour]:[minute]:[second] UTC");

/// Now, in epoch milliseconds, held to the times a user may carry (0 to
/// [`crate::domain::user::LATEST_MILLIS`]): a clock set before 1970 stamped an imported user
/// with a time no read takes back, and every `list` and `export` failed from then on; one past
/// the year 9999 panicked in `time` (bb45 F3). Read from the system clock itself, which has no
/// such bound.
pub fn now_ms() -> i64 {
    clock_ms().clamp(0, crate::domain::user::LATEST_MILLIS)
}

/// The system clock in epoch milliseconds, negative before 1970; in debug builds
/// `CUSTODIAN_TEST_CLOCK_MS` stands for it (a clock set wrong, for the tests).
fn clock_ms() -> i64 {
    #[cfg(debug_assertions)]
    if let Some(ms) = std::env::var("CUSTODIAN_TEST_CLOCK_MS").ok().and_then(|ms| ms.parse().ok()) {
        return ms;
    }
    let since_1970 = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH);
    match since_1970 {
        Ok(after) => i64::try_from(after.as_millis()).unwrap_or(i64::MAX),
        Err(before) => i64::try_from(before.duration().as_millis()).map_or(i64::MIN, |ms| -ms),
    }
}

/// Now, as [`now_ms`] holds it: what names a batch or a key by its time.
pub fn now() -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(now_ms()) * 1_000_000)
        .unwrap_or(OffsetDateTime::UNIX_EPOCH)
}

/// `2024-03-01 12:34:56 UTC`; a value out of range is shown as the raw number.
pub fn format_utc(ms: i64) -> String {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .ok()
        .and_then(|t| t.format(READABLE).ok())
        .unwrap_or_else(|| format!("{ms} ms"))
}

/// How far apart two times `ms` milliseconds apart are, in words: `250 ms`, `42 s`, `17 min`,
/// `5 h`, `3 days` (whole units, rounded down; at least 1 ms).
pub fn span_words(ms: i64) -> String {
    let ms = ms.unsigned_abs().max(1);
    let (s, min, h, day) = (1_000, 60_000, 3_600_000, 86_400_000);
    match ms {
        ms if ms < s => format!("{ms} ms"),
        ms if ms < 2 * min => format!("{} s", ms / s),
        ms if ms < 2 * h => format!("{} min", ms / min),
        ms if ms < 2 * day => format!("{} h", ms / h),
        ms => format!("{} days", ms / day),
    }
}

/// Reads a PostgreSQL `timestamptz` as text (`2024-01-01T00:00:00.123+00:00`, `row_to_json`'s
/// form, or `2024-01-01 00:00:00+00`, psql's) as epoch milliseconds; a fraction finer than a
/// millisecond is cut off, as Logto's API does. `None` for anything else (`infinity`, years
/// past 9999, BC dates, a missing offset: a time without one does not say which instant it is).
pub fn parse_timestamptz(text: &str) -> Option<i64> {
    let b = text.as_bytes();
    let digits = |from: usize, n: usize| -> Option<i64> {
        let part = b.get(from..from + n)?;
        part.iter().try_fold(0i64, |acc, d| d.is_ascii_digit().then(|| acc * 10 + i64::from(d - b'0')))
    };
    let (year, month, day) = (digits(0, 4)?, digits(5, 2)?, digits(8, 2)?);
    if b.get(4) != Some(&b'-') || b.get(7) != Some(&b'-') || !matches!(b.get(10), Some(b'T' | b't' | b' ')) {
        return None;
    }
    let (hour, minute, second) = (digits(11, 2)?, digits(14, 2)?, digits(17, 2)?);
    if b.get(13) != Some(&b':') || b.get(16) != Some(&b':') {
        return None;
    }
    let mut at = 19;
    let mut millis = 0;
    if b.get(at) == Some(&b'.') {
        at += 1;
        let start = at;
        while b.get(at).is_some_and(u8::is_ascii_digit) {
            at += 1;
        }
        if at == start {
            return None;
        }
        let kept = &text[start..(start + 3).min(at)];
        millis = format!("{kept:0<3}").parse::<i64>().ok()?;
    }
    let offset_seconds = match b.get(at) {
        // RFC 3339 allows `t` and `z` in lower case.
        Some(b'Z' | b'z') if at + 1 == b.len() => 0,
        Some(sign @ (b'+' | b'-')) => {
            let rest = &text[at + 1..];
            let parts: Vec<&str> = if rest.contains(':') {
                rest.split(':').collect()
            } else {
                rest.as_bytes().chunks(2).map(|c| std::str::from_utf8(c).unwrap_or("x")).collect()
            };
            if parts.is_empty() || parts.len() > 3 || parts.iter().any(|p| p.len() != 2) {
                return None;
            }
            let mut seconds = 0;
            // Hours to 23, minutes and seconds to 59: `+99:99` is no offset.
            for (part, (unit, most)) in parts.iter().zip([(3600, 23), (60, 59), (1, 59)]) {
                let n: i64 = part.parse().ok().filter(|_| part.bytes().all(|d| d.is_ascii_digit()))?;
                if n > most {
                    return None;
                }
                seconds += n * unit;
            }
            if *sign == b'-' { -seconds } else { seconds }
        }
        _ => return None,
    };
    let date = time::Date::from_calendar_date(
        i32::try_from(year).ok()?,
        time::Month::try_from(u8::try_from(month).ok()?).ok()?,
        u8::try_from(day).ok()?,
    )
    .ok()?;
    // 24:00:00 is not a time PostgreSQL writes for a timestamptz; a leap second neither.
    if hour > 23 || minute > 59 || second > 59 {
        return None;
    }
    let days = i64::from(date.to_julian_day()) - 2_440_588;
    let seconds = days * 86_400 + hour * 3600 + minute * 60 + second - offset_seconds;
    Some(seconds * 1000 + millis)
}

/// The forms [`parse_time_bound`] reads, for the message that refuses anything else.
pub const TIME_BOUND_FORMS: &str = "30m, 1h, 2d or 1w (that long ago), an RFC 3339 time (2026-12-01T09:30:00Z), a time as custodian shows one (2026-12-01 09:30:00 UTC) or a date (2026-12-01, midnight UTC)";

/// 0000-01-01T00:00:00Z, the earliest time a bound may name.
const EARLIEST_BOUND: i64 = -62_167_219_200_000;

/// A bound of a time range as an operator types it (`changes --since`), as epoch ms: a time
/// ago (`30m`, `1h`, `2d`, `1w`, counted back from `now`), an RFC 3339 time with its offset
/// (`2026-12-01T09:30:00Z`, `…+01:00`), a time as custodian shows one (`2026-12-01 09:30:00
/// UTC`, `2026-12-01 09:30 UTC`), or a date (`2026-12-01`: midnight UTC). `None` for anything
/// else.
pub fn parse_time_bound(text: &str, now: i64) -> Option<i64> {
    let text = text.trim();
    if let Some(unit) = text.chars().last().filter(|c| c.is_ascii_alphabetic()) {
        let digits = &text[..text.len() - 1];
        if !digits.is_empty() && digits.bytes().all(|d| d.is_ascii_digit()) {
            let per_unit: i64 = match unit {
                'm' => 60_000,
                'h' => 3_600_000,
                'd' => 86_400_000,
                'w' => 7 * 86_400_000,
                _ => return None,
            };
            let count: i64 = digits.parse().ok()?;
            // No earlier than the written forms reach (year 0): `100000000d`, a typo for
            // `10d`, was 273,000 years back and listed the whole journal (bb30 T03).
            return now.checked_sub(count.checked_mul(per_unit)?).filter(|at| *at >= EARLIEST_BOUND);
        }
    }
    if text.len() == 10 {
        return parse_timestamptz(&format!("{text}T00:00:00Z"));
    }
    // As `changes`, `history` and the screen show a time (`2026-12-01 09:30:00 UTC`, or to the
    // minute): copied from there into `--since`, it was refused (bb38 F1).
    if let Some(shown) = text.strip_suffix(" UTC") {
        let seconds = if shown.len() == 16 { ":00" } else { "" };
        return parse_timestamptz(&format!("{shown}{seconds}Z"))
            .filter(|_| shown.len() >= 16 && shown.as_bytes()[10] == b' ');
    }
    // RFC 3339 needs the `T` (or a space, which it allows) and an offset.
    parse_timestamptz(text)
        .filter(|_| text.as_bytes().get(10).is_some_and(|b| matches!(b, b'T' | b't' | b' ')))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_span_is_said_in_its_largest_whole_unit_and_never_as_nothing() {
        assert_eq!(span_words(0), "1 ms");
        assert_eq!(span_words(250), "250 ms");
        assert_eq!(span_words(-250), "250 ms");
        assert_eq!(span_words(42_000), "42 s");
        assert_eq!(span_words(17 * 60_000), "17 min");
        assert_eq!(span_words(5 * 3_600_000), "5 h");
        assert_eq!(span_words(3 * 86_400_000 + 5), "3 days");
    }

    #[test]
    fn now_is_the_system_clock_in_epoch_milliseconds() {
        fn since_epoch() -> i64 {
            let elapsed =
                std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).expect("after 1970");
            i64::try_from(elapsed.as_millis()).expect("in range")
        }
        let before = since_epoch();
        let now = now_ms();
        let after = since_epoch();
        assert!(before <= now && now <= after, "{before} <= {now} <= {after}");
    }

    #[test]
    fn a_time_bound_is_a_time_ago_an_rfc_3339_time_or_a_date() {
        let now = 1_764_640_000_000;
        assert_eq!(parse_time_bound("30m", now), Some(now - 30 * 60_000));
        assert_eq!(parse_time_bound("1h", now), Some(now - 3_600_000));
        assert_eq!(parse_time_bound("2d", now), Some(now - 2 * 86_400_000));
        assert_eq!(parse_time_bound("1w", now), Some(now - 7 * 86_400_000));
        assert_eq!(parse_time_bound("2026-12-01", now), Some(1_796_083_200_000));
        assert_eq!(parse_time_bound("2026-12-01T09:30:00Z", now), Some(1_796_083_200_000 + 34_200_000));
        assert_eq!(parse_time_bound("2026-12-01T10:30:00+01:00", now), Some(1_796_083_200_000 + 34_200_000));
        // As custodian shows a time, to the second or the minute: copied into `--since` (bb38 F1).
        let shown = format_utc(1_796_083_200_000 + 34_200_000);
        assert_eq!(parse_time_bound(&shown, now), Some(1_796_083_200_000 + 34_200_000), "{shown}");
        assert_eq!(parse_time_bound("2026-12-01 09:30:07 UTC", now), Some(1_796_083_200_000 + 34_207_000));
        assert_eq!(parse_time_bound("2026-12-01 09:30 UTC", now), Some(1_796_083_200_000 + 34_200_000));
        for bad in [
            "2026-12-01 UTC",
            "2026-12-01T09:30:00 UTC",
            "2026-12-01 09:30:00+01:00 UTC",
            "2026-12-01 9:30 UTC",
            "",
            "yesterday",
            "1y",
            "h",
            "-1h",
            "1.5h",
            "2026-13-01",
            "2026-12-01T09:30:00",
            "12/01/2026",
            "99999999999999999999w",
            "1 h",
            // Before year 0 (bb30 T03), though its milliseconds fit.
            "100000000d",
            "9999999999999m",
        ] {
            assert_eq!(parse_time_bound(bad, now), None, "{bad:?}");
        }
        // Year 0 is the earliest a bound names, relative as written.
        assert_eq!(parse_time_bound("0000-01-01", now), Some(EARLIEST_BOUND));
        let to_year_0 = (now - EARLIEST_BOUND) / 60_000;
        assert_eq!(parse_time_bound(&format!("{to_year_0}m"), now), Some(now - to_year_0 * 60_000));
        assert_eq!(parse_time_bound(&format!("{}m", to_year_0 + 1), now), None);
    }

    #[test]
    fn reads_postgres_timestamptz_text_as_epoch_millis() {
        assert_eq!(parse_timestamptz("2024-01-01T00:00:00.123+00:00"), Some(1_704_067_200_123));
        assert_eq!(parse_timestamptz("2024-01-01 00:00:00+00"), Some(1_704_067_200_000));
        assert_eq!(parse_timestamptz("2024-01-01 00:00:00.123456+00"), Some(1_704_067_200_123));
        assert_eq!(parse_timestamptz("2024-01-01 00:00:00.5Z"), Some(1_704_067_200_500));
        assert_eq!(parse_timestamptz("2024-01-01T05:30:00+05:30"), Some(1_704_067_200_000));
        assert_eq!(parse_timestamptz("2023-12-31 23:59:59+00"), Some(1_704_067_199_000));
        // An offset to the second, as PostgreSQL writes one for old local times.
        assert_eq!(parse_timestamptz("2024-01-01T05:30:15+05:30:15"), Some(1_704_067_200_000));
        assert_eq!(parse_timestamptz("2023-12-31 16:00:00-08"), Some(1_704_067_200_000));
        assert_eq!(parse_timestamptz("1970-01-01 00:00:00+00"), Some(0));
        // RFC 3339's lower-case `t` and `z`; the largest offsets it allows.
        assert_eq!(parse_timestamptz("2024-01-01t00:00:00.5z"), Some(1_704_067_200_500));
        assert_eq!(parse_timestamptz("2024-01-01T23:59:59+23:59"), Some(1_704_067_259_000));
        assert_eq!(parse_timestamptz("2024-01-02T00:00:00-00:00:59"), Some(1_704_153_659_000));
        for bad in [
            // An offset out of range: each part alone.
            "2024-01-01 00:00:00+99:99",
            "2024-01-01 00:00:00+24:00",
            "2024-01-01 00:00:00+00:60",
            "2024-01-01 00:00:00-00:00:60",
            "2024-01-01 00:00:00+2400",
            "infinity",
            "2024-01-01 00:00:00",
            "2024-02-30 00:00:00+00",
            "2024-01-01 24:00:00+00",
            "2024-01-01 00:00:00.+00",
            "2024-01-01 00:00:00+0",
            "2024-01-01 00:00:00+00 BC",
            "12024-01-01 00:00:00+00",
            "",
            // One separator wrong, each in its turn.
            "2024/01-01 00:00:00+00",
            "2024-01/01 00:00:00+00",
            "2024-01-01_00:00:00+00",
            "2024-01-01 00.00:00+00",
            "2024-01-01 00:00.00+00",
            // Nothing may follow the `Z`.
            "2024-01-01 00:00:00Zjunk",
            // A sign without an offset, an offset of four parts.
            "2024-01-01 00:00:00+",
            "2024-01-01 00:00:00+00:00:00:00",
            // A minute or a second past 59, each alone.
            "2024-01-01 00:60:00+00",
            "2024-01-01 00:00:60+00",
        ] {
            assert_eq!(parse_timestamptz(bad), None, "{bad}");
        }
    }

    #[test]
    fn formats_epoch_millis_as_utc() {
        assert_eq!(format_utc(0), "1970-01-01 00:00:00 UTC");
        assert_eq!(format_utc(1_709_296_496_000), "2024-03-01 12:34:56 UTC");
    }

    #[test]
    fn out_of_range_is_shown_raw() {
        assert_eq!(format_utc(i64::MAX), format!("{} ms", i64::MAX));
    }
}
