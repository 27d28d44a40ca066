//! Timestamps in the two shapes SigV4 meets: the ISO 8601 "basic" form of
//! `X-Amz-Date` and the IMF-fixdate of the HTTP `Date` header. Only UTC exists
//! here, so a proleptic Gregorian day count is all the calendar we need.

const SECS_PER_DAY: i64 = 86_400;

/// Parses `YYYYMMDD'T'HHMMSS'Z'` (the `X-Amz-Date` form) into seconds since
/// the Unix epoch. Returns `None` for anything else, including impossible
/// dates such as February 30th.
pub fn parse_amz_date(s: &str) -> Option<i64> {
    let &[
        y0,
        y1,
        y2,
        y3,
        mo0,
        mo1,
        d0,
        d1,
        b'T',
        h0,
        h1,
        mi0,
        mi1,
        s0,
        s1,
        b'Z',
    ] = s.as_bytes()
    else {
        return None;
    };
    let year = digits(&[y0, y1, y2, y3])?;
    let month = digits(&[mo0, mo1])?;
    let day = digits(&[d0, d1])?;
    let hour = digits(&[h0, h1])?;
    let minute = digits(&[mi0, mi1])?;
    let second = digits(&[s0, s1])?;
    to_epoch(year, month, day, hour, minute, second)
}

/// Formats seconds since the Unix epoch as `YYYYMMDD'T'HHMMSS'Z'`.
///
/// Round-trips with [`parse_amz_date`] for years 0 to 9999; outside that
/// range the year simply takes more (or signed) digits.
pub fn format_amz_date(epoch_secs: i64) -> String {
    let days = epoch_secs.div_euclid(SECS_PER_DAY);
    let secs_of_day = epoch_secs.rem_euclid(SECS_PER_DAY);
    let (year, month, day) = civil_from_days(days);
    format!(
        "{year:04}{month:02}{day:02}T{:02}{:02}{:02}Z",
        secs_of_day / 3600,
        secs_of_day % 3600 / 60,
        secs_of_day % 60
    )
}

/// Parses an HTTP `Date` header value. SigV4 lets a client carry the request
/// time there instead of `X-Amz-Date`; RFC 9110 obliges senders to use
/// IMF-fixdate (`Sun, 06 Nov 1994 08:49:37 GMT`), and some clients put the
/// ISO 8601 basic form there, so both are accepted.
pub(crate) fn parse_http_date(s: &str) -> Option<i64> {
    let s = s.trim_matches(' ');
    if let Some(t) = parse_amz_date(s) {
        return Some(t);
    }
    let (_weekday, rest) = s.split_once(", ")?;
    let mut fields = rest.split(' ');
    let day = fields.next()?;
    let month = fields.next()?;
    let year = fields.next()?;
    let clock = fields.next()?;
    if fields.next()? != "GMT" || fields.next().is_some() || day.len() != 2 || year.len() != 4 {
        return None;
    }
    let month = match month {
        "Jan" => 1,
        "Feb" => 2,
        "Mar" => 3,
        "Apr" => 4,
        "May" => 5,
        "Jun" => 6,
        "Jul" => 7,
        "Aug" => 8,
        "Sep" => 9,
        "Oct" => 10,
        "Nov" => 11,
        "Dec" => 12,
        _ => return None,
    };
    let &[h0, h1, b':', m0, m1, b':', s0, s1] = clock.as_bytes() else {
        return None;
    };
    to_epoch(
        digits(year.as_bytes())?,
        month,
        digits(day.as_bytes())?,
        digits(&[h0, h1])?,
        digits(&[m0, m1])?,
        digits(&[s0, s1])?,
    )
}

fn digits(bytes: &[u8]) -> Option<i64> {
    bytes.iter().try_fold(0i64, |acc, &b| {
        b.is_ascii_digit().then(|| acc * 10 + i64::from(b - b'0'))
    })
}

fn to_epoch(year: i64, month: i64, day: i64, hour: i64, minute: i64, second: i64) -> Option<i64> {
    let valid = (1..=12).contains(&month)
        && (1..=days_in_month(year, month)).contains(&day)
        && hour < 24
        && minute < 60
        && second < 60;
    valid.then(|| {
        days_from_civil(year, month, day) * SECS_PER_DAY + hour * 3600 + minute * 60 + second
    })
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

// The calendar repeats every 400 years (146097 days). Counting years from
// March makes the leap day the last day of its year, so the day of the year
// follows from the month by a linear formula: (153 * m + 2) / 5 gives the
// cumulative days of the months March..February, whose lengths alternate
// 31/30 in a 5-month cycle of 153 days.
const DAYS_PER_ERA: i64 = 146_097;
// Days from 0000-03-01 (start of era 0) to 1970-01-01.
const EPOCH_SHIFT: i64 = 719_468;

fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let march_year = if month <= 2 { year - 1 } else { year };
    let era = march_year.div_euclid(400);
    let year_of_era = march_year.rem_euclid(400);
    let month_from_march = (month + 9) % 12;
    let day_of_year = (153 * month_from_march + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * DAYS_PER_ERA + day_of_era - EPOCH_SHIFT
}

fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let shifted = days + EPOCH_SHIFT;
    let era = shifted.div_euclid(DAYS_PER_ERA);
    let day_of_era = shifted.rem_euclid(DAYS_PER_ERA);
    // Undo the 365/4/100/400 structure; the corrections for the 4th, 100th
    // and 400th years make the division exact at era boundaries.
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (year_of_era * 365 + year_of_era / 4 - year_of_era / 100);
    let month_from_march = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * month_from_march + 2) / 5 + 1;
    let month = if month_from_march < 10 {
        month_from_march + 3
    } else {
        month_from_march - 9
    };
    let year = era * 400 + year_of_era + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn known_instants() {
        assert_eq!(parse_amz_date("19700101T000000Z"), Some(0));
        assert_eq!(parse_amz_date("20150830T123600Z"), Some(1_440_938_160));
        assert_eq!(parse_amz_date("20000229T235959Z"), Some(951_868_799));
        assert_eq!(parse_amz_date("19691231T235959Z"), Some(-1));
        assert_eq!(format_amz_date(1_440_938_160), "20150830T123600Z");
        assert_eq!(format_amz_date(-1), "19691231T235959Z");
    }

    #[test]
    fn rejects_malformed_and_impossible_dates() {
        for bad in [
            "",
            "20150830T123600",
            "20150830T123600z",
            "2015-08-30T12:36:00Z",
            "20150230T000000Z",
            "21000229T000000Z",
            "20151301T000000Z",
            "20150800T000000Z",
            "20150830T240000Z",
            "20150830T126000Z",
            "20150830T123660Z",
            "2015083OT123600Z",
            "+0150830T123600Z",
            "20150830T123600ZZ",
        ] {
            assert_eq!(parse_amz_date(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn http_dates() {
        assert_eq!(
            parse_http_date("Sun, 30 Aug 2015 12:36:00 GMT"),
            Some(1_440_938_160)
        );
        assert_eq!(parse_http_date("20150830T123600Z"), Some(1_440_938_160));
        for bad in [
            "Sun, 30 Aug 2015 12:36:00 UTC",
            "Sun, 30 Aug 2015 12:36:00",
            "Sun, 30 Aug 2015 12:36:00 GMT x",
            "Sun, 31 Sep 2015 12:36:00 GMT",
            "Sun, 30 Aux 2015 12:36:00 GMT",
            "Sun, 3 Aug 2015 12:36:00 GMT",
            "Sun, 30 Aug 2015 12-36-00 GMT",
            "Sunday, 30-Aug-15 12:36:00 GMT",
        ] {
            assert_eq!(parse_http_date(bad), None, "{bad:?}");
        }
    }

    proptest! {
        #[test]
        fn format_then_parse_round_trips(t in -62_167_219_200i64..253_402_300_800i64) {
            // Years 0000..=9999: the range the four-digit field can express.
            prop_assert_eq!(parse_amz_date(&format_amz_date(t)), Some(t));
        }

        #[test]
        fn consecutive_days_are_one_day_apart(days in -1_000_000i64..1_000_000) {
            let (y, m, d) = civil_from_days(days);
            prop_assert_eq!(days_from_civil(y, m, d), days);
            let (y2, m2, d2) = civil_from_days(days + 1);
            let next = if d < days_in_month(y, m) {
                (y, m, d + 1)
            } else if m < 12 {
                (y, m + 1, 1)
            } else {
                (y + 1, 1, 1)
            };
            prop_assert_eq!((y2, m2, d2), next);
        }

        #[test]
        fn format_never_panics(t in any::<i64>()) {
            let _ = format_amz_date(t);
        }

        #[test]
        fn parse_never_panics(s in ".{0,40}") {
            let _ = parse_amz_date(&s);
            let _ = parse_http_date(&s);
        }
    }
}
