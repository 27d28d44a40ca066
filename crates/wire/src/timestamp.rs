//! Timestamps as text: ISO 8601 (`date-time`), RFC 7231 (`http-date`) and epoch seconds.
//!
//! A [`Value::Timestamp`](palisade_core::Value::Timestamp) is seconds since the epoch as an `f64`.
//! AWS keeps millisecond precision, so output is rounded to the millisecond: rounding rather than
//! truncating, because `t * 1000` of a value such as `1.001` lands just below the whole
//! millisecond in binary floating point.

use palisade_core::model::TimestampFormat;

const SECONDS_PER_DAY: i64 = 86_400;

/// Whole milliseconds since the epoch. A value out of `i64` range saturates (and NaN becomes 0):
/// only a broken service produces one, and a wrong date is a better answer than a panic.
fn millis(seconds: f64) -> i64 {
    #[expect(
        clippy::cast_possible_truncation,
        reason = "saturating float-to-int conversion is the intent"
    )]
    let millis = (seconds * 1000.0).round() as i64;
    millis
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's `days_from_civil`).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year - era * 400;
    let month_index = (month + 9) % 12; // March is 0, so the leap day ends the year
    let day_of_year = (153 * month_index + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

/// The date of a day count since 1970-01-01, the inverse of [`days_from_civil`].
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let days = days + 719_468;
    let era = days.div_euclid(146_097);
    let day_of_era = days - era * 146_097;
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_index = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * month_index + 2) / 5 + 1;
    let month = if month_index < 10 {
        month_index + 3
    } else {
        month_index - 9
    };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

fn is_leap(year: i64) -> bool {
    year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
}

fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        2 if is_leap(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// The calendar fields of a time, to the millisecond.
struct Civil {
    year: i64,
    month: i64,
    day: i64,
    hour: i64,
    minute: i64,
    second: i64,
    millis: i64,
    weekday: i64,
}

fn civil(seconds: f64) -> Civil {
    let total = millis(seconds);
    let secs = total.div_euclid(1000);
    let days = secs.div_euclid(SECONDS_PER_DAY);
    let in_day = secs.rem_euclid(SECONDS_PER_DAY);
    let (year, month, day) = civil_from_days(days);
    Civil {
        year,
        month,
        day,
        hour: in_day / 3600,
        minute: in_day % 3600 / 60,
        second: in_day % 60,
        millis: total.rem_euclid(1000),
        // 1970-01-01 was a Thursday (4 when Sunday is 0).
        weekday: (days + 4).rem_euclid(7),
    }
}

/// `2024-01-01T00:00:00.000Z`: always milliseconds, as Smithy's `date-time` writers do.
pub(crate) fn format_iso8601(seconds: f64) -> String {
    let c = civil(seconds);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
        c.year, c.month, c.day, c.hour, c.minute, c.second, c.millis
    )
}

/// `Mon, 01 Jan 2024 00:00:00 GMT` (IMF-fixdate; HTTP dates have whole seconds).
pub(crate) fn format_http_date(seconds: f64) -> String {
    const DAYS: [&str; 7] = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
    let c = civil(seconds);
    let weekday = usize::try_from(c.weekday)
        .ok()
        .and_then(|index| DAYS.get(index))
        .copied()
        .unwrap_or("Sun");
    let month = usize::try_from(c.month - 1)
        .ok()
        .and_then(|index| MONTHS.get(index))
        .copied()
        .unwrap_or("Jan");
    format!(
        "{weekday}, {:02} {month} {:04} {:02}:{:02}:{:02} GMT",
        c.day, c.year, c.hour, c.minute, c.second
    )
}

/// Epoch seconds rounded to the millisecond, split into whole seconds and the millisecond part.
pub(crate) fn epoch_parts(seconds: f64) -> (i64, i64) {
    let total = millis(seconds);
    (total.div_euclid(1000), total.rem_euclid(1000))
}

/// Epoch seconds as the number AWS writes: whole seconds without a fraction, otherwise to the
/// millisecond.
pub(crate) fn epoch_number(seconds: f64) -> serde_json::Number {
    match epoch_parts(seconds) {
        (whole, 0) => serde_json::Number::from(whole),
        (whole, fraction) => {
            #[expect(
                clippy::cast_precision_loss,
                reason = "epoch milliseconds are exact in f64 for any real date"
            )]
            let value = (whole as f64) + (fraction as f64) / 1000.0;
            serde_json::Number::from_f64(value).unwrap_or_else(|| serde_json::Number::from(whole))
        }
    }
}

/// A timestamp as header or query text in `format`.
pub(crate) fn to_text(seconds: f64, format: TimestampFormat) -> String {
    match format {
        TimestampFormat::Iso8601 => format_iso8601(seconds),
        TimestampFormat::Rfc822 => format_http_date(seconds),
        TimestampFormat::EpochSeconds => epoch_number(seconds).to_string(),
    }
}

/// Parses a timestamp sent as text, in any of the three formats: clients are expected to use the
/// protocol's format, but AWS accepts the others too and so does Palisade.
pub(crate) fn parse(text: &str) -> Option<f64> {
    let text = text.trim();
    parse_iso8601(text)
        .or_else(|| parse_http_date(text))
        .or_else(|| parse_epoch(text))
}

fn parse_epoch(text: &str) -> Option<f64> {
    let valid = !text.is_empty()
        && text
            .bytes()
            .all(|b| b.is_ascii_digit() || matches!(b, b'.' | b'-' | b'+' | b'e' | b'E'));
    valid
        .then(|| text.parse::<f64>().ok())
        .flatten()
        .filter(|seconds| seconds.is_finite())
}

/// A cursor over ASCII text.
struct Scanner<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> Scanner<'a> {
    fn new(text: &'a str) -> Self {
        Self {
            bytes: text.as_bytes(),
            pos: 0,
        }
    }

    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.pos).copied()
    }

    fn eat(&mut self, expected: u8) -> Option<()> {
        (self.peek()? == expected).then(|| self.pos += 1)
    }

    fn eat_any(&mut self, choices: &[u8]) -> Option<u8> {
        let byte = self.peek().filter(|byte| choices.contains(byte))?;
        self.pos += 1;
        Some(byte)
    }

    /// Exactly `count` digits.
    fn digits(&mut self, count: usize) -> Option<i64> {
        let mut value = 0_i64;
        for _ in 0..count {
            let digit = self.peek().filter(u8::is_ascii_digit)?;
            value = value * 10 + i64::from(digit - b'0');
            self.pos += 1;
        }
        Some(value)
    }

    /// A fraction after the decimal point, as seconds; digits past nanoseconds are read and
    /// dropped.
    fn fraction(&mut self) -> Option<f64> {
        let mut nanos = 0_i64;
        let mut count = 0;
        while let Some(digit) = self.peek().filter(u8::is_ascii_digit) {
            if count < 9 {
                nanos = nanos * 10 + i64::from(digit - b'0');
            }
            count += 1;
            self.pos += 1;
        }
        if count == 0 {
            return None;
        }
        for _ in count..9 {
            nanos *= 10;
        }
        #[expect(
            clippy::cast_precision_loss,
            reason = "nanoseconds below 1e9 are exact"
        )]
        Some(nanos as f64 / 1e9)
    }

    fn word(&mut self, len: usize) -> Option<&'a [u8]> {
        let end = self.pos.checked_add(len)?;
        let word = self.bytes.get(self.pos..end)?;
        self.pos = end;
        Some(word)
    }

    fn done(&self) -> bool {
        self.pos == self.bytes.len()
    }
}

/// Seconds since the epoch of validated calendar fields.
fn to_epoch(date: (i64, i64, i64), time: (i64, i64, i64), fraction: f64) -> Option<f64> {
    let (year, month, day) = date;
    let (hour, minute, second) = time;
    let valid = (1..=12).contains(&month)
        && (1..=days_in_month(year, month)).contains(&day)
        && (0..=23).contains(&hour)
        && (0..=59).contains(&minute)
        // 60 is a leap second, which AWS accepts and folds into the next minute.
        && (0..=60).contains(&second);
    if !valid {
        return None;
    }
    let seconds =
        days_from_civil(year, month, day) * SECONDS_PER_DAY + hour * 3600 + minute * 60 + second;
    #[expect(
        clippy::cast_precision_loss,
        reason = "four-digit years are well within f64's exact integers"
    )]
    Some(seconds as f64 + fraction)
}

/// `YYYY-MM-DDThh:mm:ss[.fff]` then `Z` or a `±hh[:mm]` offset.
pub(crate) fn parse_iso8601(text: &str) -> Option<f64> {
    let mut s = Scanner::new(text);
    let year = s.digits(4)?;
    s.eat(b'-')?;
    let month = s.digits(2)?;
    s.eat(b'-')?;
    let day = s.digits(2)?;
    s.eat_any(b"Tt ")?;
    let hour = s.digits(2)?;
    s.eat(b':')?;
    let minute = s.digits(2)?;
    s.eat(b':')?;
    let second = s.digits(2)?;
    let fraction = if s.eat(b'.').is_some() {
        s.fraction()?
    } else {
        0.0
    };
    let offset = match s.eat_any(b"Zz+-")? {
        b'Z' | b'z' => 0,
        sign => {
            let hours = s.digits(2)?;
            let _ = s.eat(b':');
            let minutes = if s.done() { 0 } else { s.digits(2)? };
            if hours > 23 || minutes > 59 {
                return None;
            }
            let offset = hours * 3600 + minutes * 60;
            if sign == b'-' { -offset } else { offset }
        }
    };
    if !s.done() {
        return None;
    }
    #[expect(clippy::cast_precision_loss, reason = "offsets are below a day")]
    to_epoch((year, month, day), (hour, minute, second), fraction).map(|t| t - offset as f64)
}

const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// `Sun, 06 Nov 1994 08:49:37 GMT` (IMF-fixdate), with an optional fraction of a second.
pub(crate) fn parse_http_date(text: &str) -> Option<f64> {
    let mut s = Scanner::new(text);
    s.word(3)?;
    s.eat(b',')?;
    s.eat(b' ')?;
    let day = s.digits(2)?;
    s.eat(b' ')?;
    let month_name = s.word(3)?;
    let month = MONTHS
        .iter()
        .position(|name| name.as_bytes().eq_ignore_ascii_case(month_name))?;
    let month = i64::try_from(month).ok()? + 1;
    s.eat(b' ')?;
    let year = s.digits(4)?;
    s.eat(b' ')?;
    let hour = s.digits(2)?;
    s.eat(b':')?;
    let minute = s.digits(2)?;
    s.eat(b':')?;
    let second = s.digits(2)?;
    let fraction = if s.eat(b'.').is_some() {
        s.fraction()?
    } else {
        0.0
    };
    s.eat(b' ')?;
    if !s.word(3)?.eq_ignore_ascii_case(b"GMT") || !s.done() {
        return None;
    }
    to_epoch((year, month, day), (hour, minute, second), fraction)
}

#[cfg(test)]
mod tests {
    use super::*;

    const NEW_YEAR_2024: f64 = 1_704_067_200.0;

    #[test]
    fn iso8601_round_trips_with_milliseconds() {
        assert_eq!(format_iso8601(NEW_YEAR_2024), "2024-01-01T00:00:00.000Z");
        assert_eq!(
            format_iso8601(NEW_YEAR_2024 + 0.001),
            "2024-01-01T00:00:00.001Z"
        );
        assert_eq!(format_iso8601(0.0), "1970-01-01T00:00:00.000Z");
        assert_eq!(format_iso8601(-1.5), "1969-12-31T23:59:58.500Z");
        assert_eq!(parse_iso8601("2024-01-01T00:00:00Z"), Some(NEW_YEAR_2024));
        assert_eq!(
            parse_iso8601("2024-01-01T00:00:00.123456Z"),
            Some(NEW_YEAR_2024 + 0.123_456)
        );
        assert_eq!(
            parse_iso8601("2024-01-01T01:30:00+01:30"),
            Some(NEW_YEAR_2024)
        );
        assert_eq!(
            parse_iso8601("2023-12-31T19:00:00-0500"),
            Some(NEW_YEAR_2024)
        );
        assert_eq!(parse_iso8601("2024-02-29T00:00:00Z"), Some(1_709_164_800.0));
    }

    #[test]
    fn invalid_iso8601_is_rejected() {
        for text in [
            "",
            "2024-01-01",
            "2024-13-01T00:00:00Z",
            "2023-02-29T00:00:00Z",
            "2024-01-01T24:00:00Z",
            "2024-01-01T00:00:00",
            "2024-01-01T00:00:00.Z",
            "2024-01-01T00:00:00Zjunk",
            "２０２４-01-01T00:00:00Z",
        ] {
            assert_eq!(parse_iso8601(text), None, "{text}");
        }
    }

    #[test]
    fn http_dates_round_trip() {
        assert_eq!(
            format_http_date(NEW_YEAR_2024),
            "Mon, 01 Jan 2024 00:00:00 GMT"
        );
        assert_eq!(
            format_http_date(784_111_777.0),
            "Sun, 06 Nov 1994 08:49:37 GMT"
        );
        assert_eq!(
            parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT"),
            Some(784_111_777.0)
        );
        assert_eq!(parse_http_date("Sun, 06 Nov 1994 08:49:37"), None);
        assert_eq!(parse_http_date("Sun, 06 Foo 1994 08:49:37 GMT"), None);
    }

    #[test]
    fn any_format_is_accepted_as_text() {
        assert_eq!(parse("2024-01-01T00:00:00Z"), Some(NEW_YEAR_2024));
        assert_eq!(parse("Mon, 01 Jan 2024 00:00:00 GMT"), Some(NEW_YEAR_2024));
        assert_eq!(parse("1704067200"), Some(NEW_YEAR_2024));
        assert_eq!(parse("1704067200.5"), Some(NEW_YEAR_2024 + 0.5));
        assert_eq!(parse("soon"), None);
        assert_eq!(parse("inf"), None);
    }

    #[test]
    fn epoch_numbers_have_a_fraction_only_when_needed() {
        assert_eq!(epoch_number(NEW_YEAR_2024).to_string(), "1704067200");
        assert_eq!(
            epoch_number(NEW_YEAR_2024 + 0.25).to_string(),
            "1704067200.25"
        );
        assert_eq!(
            to_text(NEW_YEAR_2024, TimestampFormat::EpochSeconds),
            "1704067200"
        );
    }

    #[test]
    fn extreme_values_do_not_panic() {
        for seconds in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY, 1e300, -1e300] {
            let _ = format_iso8601(seconds);
            let _ = format_http_date(seconds);
            let _ = epoch_number(seconds);
        }
    }

    #[test]
    fn calendar_conversion_is_its_own_inverse() {
        for days in (-800_000..800_000).step_by(997) {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y, m, d), days);
        }
    }
}
