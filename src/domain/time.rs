//! Epoch milliseconds, as Logto stores time, and how an operator reads them.

use time::{OffsetDateTime, format_description::BorrowedFormatItem, macros::format_description};

const READABLE: &[BorrowedFormatItem<'static>] =
    format_description!("[year]-[month]-[day] [hour]:[minute]:[second] UTC");

/// Now, in epoch milliseconds.
pub fn now_ms() -> i64 {
    let now = OffsetDateTime::now_utc();
    (now.unix_timestamp_nanos() / 1_000_000) as i64
}

/// `2024-03-01 12:34:56 UTC`; a value out of range is shown as the raw number.
pub fn format_utc(ms: i64) -> String {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .ok()
        .and_then(|t| t.format(READABLE).ok())
        .unwrap_or_else(|| format!("{ms} ms"))
}

#[cfg(test)]
mod tests {
    use super::*;

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
