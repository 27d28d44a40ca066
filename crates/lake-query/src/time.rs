//! Timestamps as microseconds since the epoch (UTC): parsing Trino's literal form and
//! CloudTrail's ISO 8601 form, rendering Trino's form, truncating and adding calendar units.
//! Years are kept within 0..=9999, the range both text forms can write.

pub(crate) const MICROS_PER_SECOND: i64 = 1_000_000;
const MICROS_PER_MINUTE: i64 = 60 * MICROS_PER_SECOND;
const MICROS_PER_HOUR: i64 = 60 * MICROS_PER_MINUTE;
const MICROS_PER_DAY: i64 = 24 * MICROS_PER_HOUR;

/// The most fractional digits a timestamp keeps (microseconds).
pub(crate) const MAX_PRECISION: u8 = 6;

/// A parsed timestamp: its instant (microseconds since the epoch, UTC), how many fractional
/// digits it was written with, and its zone offset in minutes when one was written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Parsed {
    pub(crate) micros: i64,
    pub(crate) precision: u8,
    pub(crate) offset_minutes: Option<i16>,
}

/// Trino's text form of a timestamp (`2024-01-01`, `2024-01-01 12:34`, `2024-01-01 12:34:56.789`,
/// optionally followed by a zone: `UTC`, `Z` or `+02:00`).
pub(crate) fn parse_sql(text: &str) -> Option<Parsed> {
    let text = text.trim();
    let (date, rest) = split_date(text)?;
    let (time, zone) = match rest.strip_prefix(' ') {
        Some(rest) => {
            let rest = rest.trim_start();
            let end = rest.find([' ', 'Z', 'U', '+', '-']).unwrap_or(rest.len());
            let (time, zone) = rest.split_at(end);
            (Some(time), zone.trim())
        }
        None if rest.is_empty() => (None, ""),
        None => return None,
    };
    let (seconds, fraction, precision) = match time {
        Some(time) => parse_time(time)?,
        None => (0, 0, 0),
    };
    let offset_minutes = if zone.is_empty() {
        None
    } else {
        Some(parse_zone(zone)?)
    };
    assemble(date, seconds, fraction, precision, offset_minutes)
}

/// ISO 8601 as CloudTrail writes it (`2024-05-01T12:34:56Z`, with optional fraction and
/// offset), or a date alone.
pub(crate) fn parse_iso8601(text: &str) -> Option<Parsed> {
    let (date, rest) = split_date(text)?;
    if rest.is_empty() {
        return assemble(date, 0, 0, 0, None);
    }
    let rest = rest.strip_prefix(['T', 't'])?;
    let end = rest.find(['Z', 'z', '+', '-']).unwrap_or(rest.len());
    let (time, zone) = rest.split_at(end);
    let (seconds, fraction, precision) = parse_time(time)?;
    let offset_minutes = if zone.is_empty() {
        None
    } else {
        Some(parse_zone(zone)?)
    };
    assemble(date, seconds, fraction, precision, offset_minutes)
}

/// `YYYY-MM-DD HH:MM:SS` with `precision` fractional digits, for the local time `micros`.
pub(crate) fn format(micros: i64, precision: u8) -> String {
    let days = micros.div_euclid(MICROS_PER_DAY);
    let in_day = micros.rem_euclid(MICROS_PER_DAY);
    let (year, month, day) = civil_from_days(days);
    let seconds = in_day / MICROS_PER_SECOND;
    let mut text = format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02}:{:02}",
        seconds / 3600,
        seconds / 60 % 60,
        seconds % 60
    );
    if precision > 0 {
        let fraction = format!("{:06}", in_day % MICROS_PER_SECOND);
        text.push('.');
        text.push_str(
            fraction
                .get(..usize::from(precision.min(MAX_PRECISION)))
                .unwrap_or_default(),
        );
    }
    text
}

/// `micros` without the digits past `precision` fractional digits.
pub(crate) fn truncate_to_precision(micros: i64, precision: u8) -> i64 {
    let unit = 10_i64.pow(u32::from(MAX_PRECISION.saturating_sub(precision)));
    micros - micros.rem_euclid(unit)
}

/// `+HH:MM`, or `UTC` for offset zero, as Trino names a fixed zone.
pub(crate) fn format_zone(offset_minutes: i16) -> String {
    if offset_minutes == 0 {
        return "UTC".to_owned();
    }
    let sign = if offset_minutes < 0 { '-' } else { '+' };
    let minutes = offset_minutes.unsigned_abs();
    format!("{sign}{:02}:{:02}", minutes / 60, minutes % 60)
}

/// The calendar and clock units `date_trunc` and `date_add` take.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Unit {
    Millisecond,
    Second,
    Minute,
    Hour,
    Day,
    Week,
    Month,
    Quarter,
    Year,
}

impl Unit {
    pub(crate) fn parse(name: &str) -> Option<Self> {
        Some(match name.to_ascii_lowercase().as_str() {
            "millisecond" => Self::Millisecond,
            "second" => Self::Second,
            "minute" => Self::Minute,
            "hour" => Self::Hour,
            "day" => Self::Day,
            "week" => Self::Week,
            "month" => Self::Month,
            "quarter" => Self::Quarter,
            "year" => Self::Year,
            _ => return None,
        })
    }

    /// The unit's length when it is a fixed number of microseconds.
    fn fixed_micros(self) -> Option<i64> {
        match self {
            Self::Millisecond => Some(1000),
            Self::Second => Some(MICROS_PER_SECOND),
            Self::Minute => Some(MICROS_PER_MINUTE),
            Self::Hour => Some(MICROS_PER_HOUR),
            Self::Day => Some(MICROS_PER_DAY),
            Self::Week => Some(7 * MICROS_PER_DAY),
            Self::Month | Self::Quarter | Self::Year => None,
        }
    }

    fn months(self) -> i64 {
        match self {
            Self::Quarter => 3,
            Self::Year => 12,
            _ => 1,
        }
    }
}

/// The start of the `unit` that holds the local time `micros` (weeks start on Monday).
pub(crate) fn truncate(micros: i64, unit: Unit) -> i64 {
    match unit {
        Unit::Week => {
            let days = micros.div_euclid(MICROS_PER_DAY);
            // 1970-01-01 was a Thursday, three days after a Monday.
            (days - (days + 3).rem_euclid(7)) * MICROS_PER_DAY
        }
        Unit::Month | Unit::Quarter | Unit::Year => {
            let (year, month, _) = civil_from_days(micros.div_euclid(MICROS_PER_DAY));
            let month = match unit {
                Unit::Year => 1,
                Unit::Quarter => (month - 1) / 3 * 3 + 1,
                _ => month,
            };
            days_from_civil(year, month, 1) * MICROS_PER_DAY
        }
        fixed => {
            let length = fixed.fixed_micros().unwrap_or(1);
            micros - micros.rem_euclid(length)
        }
    }
}

/// `micros` moved by `amount` `unit`s; months keep the day of the month where it exists and
/// otherwise land on the month's last day, as Trino's `date_add` does. `None` out of range.
pub(crate) fn add(micros: i64, unit: Unit, amount: i64) -> Option<i64> {
    let moved = match unit.fixed_micros() {
        Some(length) => micros.checked_add(amount.checked_mul(length)?)?,
        None => {
            let days = micros.div_euclid(MICROS_PER_DAY);
            let in_day = micros.rem_euclid(MICROS_PER_DAY);
            let (year, month, day) = civil_from_days(days);
            let months = year
                .checked_mul(12)?
                .checked_add(month - 1)?
                .checked_add(amount.checked_mul(unit.months())?)?;
            let (year, month) = (months.div_euclid(12), months.rem_euclid(12) + 1);
            if !(0..=9999).contains(&year) {
                return None;
            }
            let day = day.min(days_in_month(year, month));
            days_from_civil(year, month, day) * MICROS_PER_DAY + in_day
        }
    };
    in_range(moved).then_some(moved)
}

/// How many whole `unit`s lie between `from` and `to` (negative when `to` is earlier).
pub(crate) fn difference(from: i64, to: i64, unit: Unit) -> i64 {
    match unit.fixed_micros() {
        Some(length) => (to - from) / length,
        None => {
            let month_index = |micros: i64| {
                let (year, month, _) = civil_from_days(micros.div_euclid(MICROS_PER_DAY));
                year * 12 + month - 1
            };
            let mut months = month_index(to) - month_index(from);
            // A month only counts once the later instant has passed the earlier one's position
            // within its month.
            let within = |micros: i64| {
                let (_, _, day) = civil_from_days(micros.div_euclid(MICROS_PER_DAY));
                (day - 1) * MICROS_PER_DAY + micros.rem_euclid(MICROS_PER_DAY)
            };
            if months > 0 && within(to) < within(from) {
                months -= 1;
            } else if months < 0 && within(to) > within(from) {
                months += 1;
            }
            months / unit.months()
        }
    }
}

/// Whether `micros` falls within years 0..=9999.
pub(crate) fn in_range(micros: i64) -> bool {
    let lowest = days_from_civil(0, 1, 1) * MICROS_PER_DAY;
    let highest = days_from_civil(10000, 1, 1) * MICROS_PER_DAY;
    (lowest..highest).contains(&micros)
}

fn split_date(text: &str) -> Option<((i64, i64, i64), &str)> {
    let (year, rest) = digits(text, 4, 4)?;
    let rest = rest.strip_prefix('-')?;
    let (month, rest) = digits(rest, 1, 2)?;
    let rest = rest.strip_prefix('-')?;
    let (day, rest) = digits(rest, 1, 2)?;
    Some(((year, month, day), rest))
}

/// `HH:MM[:SS[.fraction]]` as seconds of the day, the fraction in microseconds, and how many
/// fractional digits were written (more than six are cut to six).
fn parse_time(text: &str) -> Option<(i64, i64, u8)> {
    let (hour, rest) = digits(text, 1, 2)?;
    let rest = rest.strip_prefix(':')?;
    let (minute, rest) = digits(rest, 1, 2)?;
    let (second, rest) = match rest.strip_prefix(':') {
        Some(rest) => digits(rest, 1, 2)?,
        None => (0, rest),
    };
    let (fraction, precision, rest) = match rest.strip_prefix('.') {
        Some(rest) => {
            let length = rest
                .find(|c: char| !c.is_ascii_digit())
                .unwrap_or(rest.len());
            if length == 0 || length > 12 {
                return None;
            }
            let written = rest.get(..length)?;
            let kept = written.get(..length.min(6))?;
            let padded = format!("{kept:0<6}");
            (
                padded.parse::<i64>().ok()?,
                length.min(6) as u8,
                rest.get(length..)?,
            )
        }
        None => (0, 0, rest),
    };
    if !rest.is_empty() || hour > 23 || minute > 59 || second > 59 {
        return None;
    }
    Some((hour * 3600 + minute * 60 + second, fraction, precision))
}

fn parse_zone(zone: &str) -> Option<i16> {
    if zone.eq_ignore_ascii_case("UTC") || zone.eq_ignore_ascii_case("Z") {
        return Some(0);
    }
    let (sign, rest) = match zone.split_at_checked(1)? {
        ("+", rest) => (1, rest),
        ("-", rest) => (-1, rest),
        _ => return None,
    };
    let (hours, rest) = digits(rest, 2, 2)?;
    let rest = rest.strip_prefix(':').unwrap_or(rest);
    let (minutes, rest) = if rest.is_empty() {
        (0, rest)
    } else {
        digits(rest, 2, 2)?
    };
    if !rest.is_empty() || hours > 14 || minutes > 59 {
        return None;
    }
    i16::try_from(sign * (hours * 60 + minutes)).ok()
}

fn assemble(
    (year, month, day): (i64, i64, i64),
    seconds: i64,
    fraction: i64,
    precision: u8,
    offset_minutes: Option<i16>,
) -> Option<Parsed> {
    if !(1..=12).contains(&month) || day < 1 || day > days_in_month(year, month) {
        return None;
    }
    let local =
        days_from_civil(year, month, day) * MICROS_PER_DAY + seconds * MICROS_PER_SECOND + fraction;
    let micros = local - i64::from(offset_minutes.unwrap_or(0)) * MICROS_PER_MINUTE;
    in_range(micros).then_some(Parsed {
        micros,
        precision,
        offset_minutes,
    })
}

/// Between `min` and `max` ASCII digits at the start of `text`, and what follows them.
fn digits(text: &str, min: usize, max: usize) -> Option<(i64, &str)> {
    let length = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    if length < min || length > max {
        return None;
    }
    let (number, rest) = text.split_at(length);
    Some((number.parse().ok()?, rest))
}

fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        4 | 6 | 9 | 11 => 30,
        2 if year % 4 == 0 && (year % 100 != 0 || year % 400 == 0) => 29,
        2 => 28,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year - era * 400;
    let month_from_march = (month + 9) % 12;
    let day_of_year = (153 * month_from_march + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

/// The proleptic Gregorian date `days` after 1970-01-01.
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let days = days + 719_468;
    let era = days.div_euclid(146_097);
    let day_of_era = days - era * 146_097;
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_from_march = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * month_from_march + 2) / 5 + 1;
    let month = if month_from_march < 10 {
        month_from_march + 3
    } else {
        month_from_march - 9
    };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn micros(text: &str) -> i64 {
        parse_sql(text).unwrap().micros
    }

    #[test]
    fn parses_trino_and_iso_forms() {
        assert_eq!(micros("1970-01-01"), 0);
        assert_eq!(micros("1970-01-01 00:00:01.5"), 1_500_000);
        assert_eq!(parse_sql("2024-01-01 00:00:00.123").unwrap().precision, 3);
        assert_eq!(micros("2024-02-29 12:00"), micros("2024-02-29 12:00:00"));
        let zoned = parse_sql("2024-01-01 02:00:00 +02:00").unwrap();
        assert_eq!(
            (zoned.micros, zoned.offset_minutes),
            (micros("2024-01-01"), Some(120))
        );
        assert_eq!(
            parse_sql("2024-01-01 00:00:00 UTC").unwrap().offset_minutes,
            Some(0)
        );
        for bad in [
            "2023-02-29",
            "2024-13-01",
            "2024-01-01T00:00:00",
            "24-01-01",
            "2024-01-01 25:00",
            "x",
        ] {
            assert_eq!(parse_sql(bad), None, "{bad}");
        }
        let iso = parse_iso8601("2024-05-01T12:34:56Z").unwrap();
        assert_eq!(format(iso.micros, 3), "2024-05-01 12:34:56.000");
        assert_eq!(
            parse_iso8601("2024-05-01T12:34:56.25+01:00")
                .unwrap()
                .micros,
            micros("2024-05-01 11:34:56.25")
        );
        assert_eq!(parse_iso8601("2024-05-01 12:34:56"), None);
    }

    #[test]
    fn formats_with_precision_and_zone() {
        assert_eq!(format(-1, 6), "1969-12-31 23:59:59.999999");
        assert_eq!(
            format(micros("2024-03-04 05:06:07.891"), 0),
            "2024-03-04 05:06:07"
        );
        assert_eq!(format_zone(0), "UTC");
        assert_eq!(format_zone(-90), "-01:30");
    }

    #[test]
    fn truncates_adds_and_subtracts_units() {
        let at = micros("2024-05-15 13:45:30.5");
        assert_eq!(format(truncate(at, Unit::Hour), 0), "2024-05-15 13:00:00");
        assert_eq!(format(truncate(at, Unit::Week), 0), "2024-05-13 00:00:00");
        assert_eq!(
            format(truncate(at, Unit::Quarter), 0),
            "2024-04-01 00:00:00"
        );
        assert_eq!(format(truncate(at, Unit::Year), 0), "2024-01-01 00:00:00");
        let end_of_january = micros("2024-01-31 10:00:00");
        assert_eq!(
            format(add(end_of_january, Unit::Month, 1).unwrap(), 0),
            "2024-02-29 10:00:00"
        );
        assert_eq!(
            format(add(end_of_january, Unit::Day, -31).unwrap(), 0),
            "2023-12-31 10:00:00"
        );
        assert_eq!(add(end_of_january, Unit::Year, 10_000), None);
        assert_eq!(add(end_of_january, Unit::Day, i64::MAX), None);
        assert_eq!(
            difference(micros("2024-01-31"), micros("2024-02-29"), Unit::Month),
            0
        );
        assert_eq!(
            difference(micros("2024-01-31"), micros("2024-03-31"), Unit::Month),
            2
        );
        assert_eq!(
            difference(micros("2024-03-31"), micros("2024-01-31"), Unit::Month),
            -2
        );
        assert_eq!(difference(at, at + 3 * MICROS_PER_DAY - 1, Unit::Day), 2);
    }
}
