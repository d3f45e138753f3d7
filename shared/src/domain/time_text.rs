//! Times as text, written straight into a buffer. chrono's serde and RFC 3339 formatting go
//! through `fmt` a few bytes at a time, and serde_json escaped each piece on its own: a busy
//! local server spent about 8% of its CPU there, serializing the times of every message and
//! conversation an event tells of. The text is chrono's, byte for byte (tested below), so stored
//! items, event ids (digests of the text) and the API's JSON are what they were.

use chrono::{DateTime, Datelike, SecondsFormat, Timelike, Utc};
use serde::{Serialize, Serializer};

/// The longest text: `9999-12-31T23:59:59.999999999Z`.
const MAX_LEN: usize = 30;

/// How many fractional digits, as chrono's `SecondsFormat` says.
#[derive(Clone, Copy)]
enum Fraction {
    /// None, 3, 6 or 9: the fewest that keep the time (chrono's serde).
    AutoSi,
    /// Always 3, the milliseconds.
    Millis,
}

/// `t` as RFC 3339 with `Z`; `None` for years outside 0..=9999 and leap seconds, which are left
/// to chrono.
fn write<'b>(t: &DateTime<Utc>, fraction: Fraction, buf: &'b mut [u8; MAX_LEN]) -> Option<&'b str> {
    let (year, nanos) = (t.year(), t.nanosecond());
    if !(0..=9999).contains(&year) || nanos >= 1_000_000_000 {
        return None;
    }
    let mut put = |at: usize, value: u32, width: usize| {
        let mut v = value;
        for i in (at..at + width).rev() {
            buf[i] = b'0' + (v % 10) as u8;
            v /= 10;
        }
    };
    put(0, year as u32, 4);
    put(5, t.month(), 2);
    put(8, t.day(), 2);
    put(11, t.hour(), 2);
    put(14, t.minute(), 2);
    put(17, t.second(), 2);
    let (value, width) = match fraction {
        Fraction::Millis => (nanos / 1_000_000, 3),
        Fraction::AutoSi if nanos == 0 => (0, 0),
        Fraction::AutoSi if nanos % 1_000_000 == 0 => (nanos / 1_000_000, 3),
        Fraction::AutoSi if nanos % 1_000 == 0 => (nanos / 1_000, 6),
        Fraction::AutoSi => (nanos, 9),
    };
    if width > 0 {
        put(20, value, width);
    }
    for (at, sign) in [(4, b'-'), (7, b'-'), (10, b'T'), (13, b':'), (16, b':'), (19, b'.')] {
        buf[at] = sign;
    }
    let end = if width > 0 { 20 + width } else { 19 };
    buf[end] = b'Z';
    std::str::from_utf8(&buf[..=end]).ok()
}

/// `#[serde(serialize_with)]` for a `DateTime<Utc>`: the text chrono's serde writes.
pub fn serialize<S: Serializer>(t: &DateTime<Utc>, serializer: S) -> Result<S::Ok, S::Error> {
    let mut buf = [0; MAX_LEN];
    match write(t, Fraction::AutoSi, &mut buf) {
        Some(text) => serializer.serialize_str(text),
        None => t.serialize(serializer),
    }
}

/// `#[serde(serialize_with)]` for an `Option<DateTime<Utc>>`, as serde writes an option.
pub fn serialize_option<S: Serializer>(t: &Option<DateTime<Utc>>, serializer: S) -> Result<S::Ok, S::Error> {
    struct Text<'a>(&'a DateTime<Utc>);
    impl Serialize for Text<'_> {
        fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
            serialize(self.0, serializer)
        }
    }
    match t {
        Some(t) => serializer.serialize_some(&Text(t)),
        None => serializer.serialize_none(),
    }
}

/// RFC 3339 in milliseconds with `Z`: fixed width, so text order is time order.
pub fn millis(t: DateTime<Utc>) -> String {
    owned(t, Fraction::Millis, SecondsFormat::Millis)
}

/// The text `serialize` writes, as a string.
pub fn text(t: DateTime<Utc>) -> String {
    owned(t, Fraction::AutoSi, SecondsFormat::AutoSi)
}

fn owned(t: DateTime<Utc>, fraction: Fraction, chrono_format: SecondsFormat) -> String {
    let mut buf = [0; MAX_LEN];
    match write(&t, fraction, &mut buf) {
        Some(text) => text.to_owned(),
        None => t.to_rfc3339_opts(chrono_format, true),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDate;

    #[derive(Serialize)]
    struct Fast {
        #[serde(serialize_with = "serialize")]
        at: DateTime<Utc>,
        #[serde(serialize_with = "serialize_option")]
        maybe: Option<DateTime<Utc>>,
    }

    #[derive(Serialize)]
    struct Chrono {
        at: DateTime<Utc>,
        maybe: Option<DateTime<Utc>>,
    }

    fn times() -> Vec<DateTime<Utc>> {
        let mut times = vec![Utc::now(), DateTime::UNIX_EPOCH, DateTime::<Utc>::MIN_UTC, DateTime::<Utc>::MAX_UTC];
        let day = |y, m, d| NaiveDate::from_ymd_opt(y, m, d).unwrap();
        for (date, nanos) in [
            (day(0, 1, 1), 0),
            (day(9999, 12, 31), 999_999_999),
            (day(10_000, 1, 1), 5),
            (day(-1, 6, 30), 120_000_000),
            (day(2026, 12, 4), 1_000_000),
            (day(2026, 2, 28), 1_000),
            (day(2026, 7, 9), 10),
        ] {
            times.push(date.and_hms_nano_opt(9, 5, 7, nanos).unwrap().and_utc());
        }
        // A leap second, which chrono writes as :60.
        times.push(day(2016, 12, 31).and_hms_nano_opt(23, 59, 59, 1_500_000_000).unwrap().and_utc());
        let mut seed = 0x9e37_79b9_7f4a_7c15_u64;
        for _ in 0..20_000 {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            let secs = (seed % 253_402_300_800) as i64 - 62_167_219_200;
            let nanos = match seed % 4 {
                0 => 0,
                1 => (seed >> 20) as u32 % 1_000 * 1_000_000,
                2 => (seed >> 20) as u32 % 1_000_000 * 1_000,
                _ => (seed >> 20) as u32 % 1_000_000_000,
            };
            times.push(DateTime::from_timestamp(secs, nanos).unwrap());
        }
        times
    }

    #[test]
    fn times_are_written_as_chrono_writes_them() {
        for t in times() {
            let fast = serde_json::to_string(&Fast { at: t, maybe: Some(t) }).unwrap();
            assert_eq!(fast, serde_json::to_string(&Chrono { at: t, maybe: Some(t) }).unwrap(), "{t:?}");
            assert_eq!(millis(t), t.to_rfc3339_opts(SecondsFormat::Millis, true), "{t:?}");
        }
        let none = serde_json::to_string(&Fast { at: DateTime::UNIX_EPOCH, maybe: None }).unwrap();
        assert_eq!(none, r#"{"at":"1970-01-01T00:00:00Z","maybe":null}"#);
    }
}
