//! The typed values of condition operators: decimals, timestamps, CIDR blocks, booleans and
//! base64 binaries. Policy values are parsed once when the policy is parsed (an unparsable one
//! makes the policy invalid); request values are parsed when an operator reads them, without
//! allocating (one that does not parse matches nothing).

use std::cmp::Ordering;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// An exact decimal number ("Numeric condition operators … comparing a key to an integer or
/// decimal value"). Compared digit by digit, so `10.50` equals `10.5` and integers beyond 2^53
/// compare exactly, as floating point would not.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Number {
    negative: bool,
    /// Integer digits without leading zeros, then fraction digits without trailing zeros.
    digits: Box<str>,
    integer_len: usize,
}

impl Number {
    pub(crate) fn parse(text: &str) -> Option<Number> {
        let view = NumberView::parse(text)?;
        Some(Number {
            negative: view.negative,
            digits: format!("{}{}", view.integer, view.fraction).into(),
            integer_len: view.integer.len(),
        })
    }

    fn view(&self) -> NumberView<'_> {
        let (integer, fraction) = self
            .digits
            .split_at(self.integer_len.min(self.digits.len()));
        NumberView {
            negative: self.negative,
            integer,
            fraction,
        }
    }

    /// Compares a request value with this policy value (`None` when the request value is not a
    /// number).
    pub(crate) fn compare_request(&self, request: &str) -> Option<Ordering> {
        Some(NumberView::parse(request)?.cmp(&self.view()))
    }
}

/// A borrowed, normalized decimal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct NumberView<'a> {
    negative: bool,
    integer: &'a str,
    fraction: &'a str,
}

impl<'a> NumberView<'a> {
    /// Accepts an optional sign, digits, and an optional fraction (`12`, `-0.5`, `+3.`, `.25`).
    fn parse(text: &'a str) -> Option<NumberView<'a>> {
        let (negative, unsigned) = match text.as_bytes().first()? {
            b'-' => (true, text.get(1..)?),
            b'+' => (false, text.get(1..)?),
            _ => (false, text),
        };
        let (integer, fraction) = unsigned.split_once('.').unwrap_or((unsigned, ""));
        let all_digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
        if (integer.is_empty() && fraction.is_empty())
            || !all_digits(integer)
            || !all_digits(fraction)
        {
            return None;
        }
        let integer = integer.trim_start_matches('0');
        let fraction = fraction.trim_end_matches('0');
        // -0 is 0.
        let negative = negative && !(integer.is_empty() && fraction.is_empty());
        Some(NumberView {
            negative,
            integer,
            fraction,
        })
    }

    fn magnitude_cmp(&self, other: &Self) -> Ordering {
        self.integer
            .len()
            .cmp(&other.integer.len())
            .then_with(|| self.integer.cmp(other.integer))
            // Without trailing zeros, lexicographic order of fractions is numeric order.
            .then_with(|| self.fraction.cmp(other.fraction))
    }
}

impl Ord for NumberView<'_> {
    fn cmp(&self, other: &Self) -> Ordering {
        match (self.negative, other.negative) {
            (false, false) => self.magnitude_cmp(other),
            (true, true) => other.magnitude_cmp(self),
            (true, false) => Ordering::Less,
            (false, true) => Ordering::Greater,
        }
    }
}

impl PartialOrd for NumberView<'_> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// An instant, as nanoseconds since the Unix epoch.
///
/// "You must specify date/time values with one of the W3C implementations of the ISO 8601 date
/// formats or in epoch (UNIX) time" (Condition operators, Date condition operators): `YYYY`,
/// `YYYY-MM`, `YYYY-MM-DD`, `YYYY-MM-DDThh:mm[:ss[.s…]]` with `Z` or `±hh:mm` (UTC when the zone
/// is left out), or whole seconds since the epoch. Four digits alone read as a year.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Timestamp(i128);

impl Timestamp {
    pub(crate) fn parse(text: &str) -> Option<Timestamp> {
        // Four digits are a W3C `YYYY` year; any other run of digits is epoch seconds (a real
        // epoch time has had ten digits since 2001).
        if text.len() != 4 && !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()) {
            let seconds: i128 = text.parse().ok()?;
            return Some(Timestamp(seconds.checked_mul(NANOS_PER_SECOND)?));
        }
        parse_iso8601(text)
    }
}

const NANOS_PER_SECOND: i128 = 1_000_000_000;

fn parse_iso8601(text: &str) -> Option<Timestamp> {
    let mut cursor = Cursor { rest: text };
    let year = i64::from(cursor.digits(4)?);
    let mut month = 1;
    let mut day = 1;
    let mut seconds_of_day = 0i64;
    let mut nanos = 0i128;
    let mut offset_seconds = 0i64;
    if cursor.eat('-') {
        month = cursor.digits(2)?;
        if cursor.eat('-') {
            day = cursor.digits(2)?;
            if cursor.eat('T') || cursor.eat('t') {
                let hour = cursor.digits(2)?;
                cursor.eat(':').then_some(())?;
                let minute = cursor.digits(2)?;
                let mut second = 0;
                if cursor.eat(':') {
                    second = cursor.digits(2)?;
                    if cursor.eat('.') {
                        nanos = cursor.fraction_nanos()?;
                    }
                }
                if hour > 23 || minute > 59 || second > 59 {
                    return None;
                }
                seconds_of_day = i64::from(hour * 3600 + minute * 60 + second);
                offset_seconds = cursor.zone()?;
            }
        }
    }
    if !cursor.rest.is_empty()
        || !(1..=12).contains(&month)
        || day < 1
        || day > days_in_month(year, month)
    {
        return None;
    }
    let days = days_from_civil(year, month, day);
    let seconds = days * 86_400 + seconds_of_day - offset_seconds;
    Some(Timestamp(i128::from(seconds) * NANOS_PER_SECOND + nanos))
}

struct Cursor<'a> {
    rest: &'a str,
}

impl Cursor<'_> {
    fn eat(&mut self, c: char) -> bool {
        match self.rest.strip_prefix(c) {
            Some(rest) => {
                self.rest = rest;
                true
            }
            None => false,
        }
    }

    fn digits(&mut self, count: usize) -> Option<u32> {
        let digits = self.rest.get(..count)?;
        if !digits.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        self.rest = self.rest.get(count..)?;
        digits.parse().ok()
    }

    fn fraction_nanos(&mut self) -> Option<i128> {
        let len = self.rest.bytes().take_while(u8::is_ascii_digit).count();
        let digits = self.rest.get(..len).filter(|d| !d.is_empty())?;
        self.rest = self.rest.get(len..)?;
        // Nanosecond precision; further digits cannot change a comparison at that precision.
        let kept = digits.get(..digits.len().min(9))?;
        let value: i128 = kept.parse().ok()?;
        let scale = 10i128.pow(u32::try_from(9 - kept.len()).ok()?);
        Some(value * scale)
    }

    /// `Z`, `±hh:mm`, or nothing (UTC); the offset to subtract to reach UTC.
    fn zone(&mut self) -> Option<i64> {
        if self.eat('Z') || self.eat('z') || self.rest.is_empty() {
            return Some(0);
        }
        let sign = if self.eat('+') {
            1
        } else if self.eat('-') {
            -1
        } else {
            return None;
        };
        let hours = self.digits(2)?;
        self.eat(':').then_some(())?;
        let minutes = self.digits(2)?;
        if hours > 23 || minutes > 59 {
            return None;
        }
        Some(sign * i64::from(hours * 3600 + minutes * 60))
    }
}

fn is_leap_year(year: i64) -> bool {
    (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
}

fn days_in_month(year: i64, month: u32) -> u32 {
    match month {
        2 if is_leap_year(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days between 1970-01-01 and the given proleptic Gregorian date. Counts whole years from a
/// March-based year (so that the leap day is the last day of its year), then days within it.
fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let march_year = if month <= 2 { year - 1 } else { year };
    let era = march_year.div_euclid(400);
    let year_of_era = march_year.rem_euclid(400);
    let month_from_march = i64::from((month + 9) % 12);
    let day_of_year = (153 * month_from_march + 2) / 5 + i64::from(day) - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    // 719468 is the number of days from 0000-03-01 to 1970-01-01.
    era * 146_097 + day_of_era - 719_468
}

/// An IPv4 or IPv6 network. "If you specify an IP address without the associated routing
/// prefix, IAM uses the default prefix value of /32" (IPv6: /128). The server's trusted-proxy
/// setting is written the same way.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cidr {
    V4 { network: u32, prefix: u32 },
    V6 { network: u128, prefix: u32 },
}

impl Cidr {
    pub fn parse(text: &str) -> Option<Cidr> {
        let (address, prefix) = match text.split_once('/') {
            Some((address, prefix)) => {
                if prefix.is_empty()
                    || !prefix.bytes().all(|b| b.is_ascii_digit())
                    || prefix.len() > 3
                {
                    return None;
                }
                (address, Some(prefix.parse::<u32>().ok()?))
            }
            None => (text, None),
        };
        if let Ok(v4) = address.parse::<Ipv4Addr>() {
            let prefix = prefix.unwrap_or(32);
            (prefix <= 32).then(|| Cidr::V4 {
                network: u32::from(v4) & mask32(prefix),
                prefix,
            })
        } else {
            let v6 = address.parse::<Ipv6Addr>().ok()?;
            let prefix = prefix.unwrap_or(128);
            (prefix <= 128).then(|| Cidr::V6 {
                network: u128::from(v6) & mask128(prefix),
                prefix,
            })
        }
    }

    /// Whether the address is in this network (an address of the other family is not).
    pub fn contains(&self, address: IpAddr) -> bool {
        match (self, address) {
            (Cidr::V4 { network, prefix }, IpAddr::V4(address)) => {
                u32::from(address) & mask32(*prefix) == *network
            }
            (Cidr::V6 { network, prefix }, IpAddr::V6(address)) => {
                u128::from(address) & mask128(*prefix) == *network
            }
            _ => false,
        }
    }
}

fn mask32(prefix: u32) -> u32 {
    u32::MAX.checked_shl(32 - prefix.min(32)).unwrap_or(0)
}

fn mask128(prefix: u32) -> u128 {
    u128::MAX.checked_shl(128 - prefix.min(128)).unwrap_or(0)
}

/// A `Bool` value: `true` or `false`, any case.
pub(crate) fn parse_bool(text: &str) -> Option<bool> {
    if text.eq_ignore_ascii_case("true") {
        Some(true)
    } else if text.eq_ignore_ascii_case("false") {
        Some(false)
    } else {
        None
    }
}

/// Decodes standard base64 (padding required when the length calls for it).
pub(crate) fn decode_base64(text: &str) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(text.len() / 4 * 3);
    for_each_base64_byte(text, |byte| {
        out.push(byte);
        true
    })
    .then_some(out)
}

/// Whether the base64 request value decodes to exactly `expected`, decoding as it compares
/// ("compares the value of the specified key byte for byte against a base-64 encoded
/// representation of the binary value in the policy").
pub(crate) fn base64_equals(request: &str, expected: &[u8]) -> bool {
    let mut remaining = expected.iter();
    for_each_base64_byte(request, |byte| remaining.next() == Some(&byte))
        && remaining.next().is_none()
}

/// Feeds the decoded bytes to `sink` until it returns false; true when the whole input was
/// valid base64 and the sink accepted every byte.
fn for_each_base64_byte(text: &str, mut sink: impl FnMut(u8) -> bool) -> bool {
    let bytes = text.as_bytes();
    if !bytes.len().is_multiple_of(4) {
        return false;
    }
    let quads = bytes.chunks_exact(4);
    let last = quads.len().saturating_sub(1);
    for (index, quad) in quads.enumerate() {
        let [a, b, c, d] = [0, 1, 2, 3].map(|i| quad.get(i).copied().unwrap_or(b'='));
        let padding = usize::from(c == b'=') + usize::from(d == b'=');
        if (padding > 0 && index != last) || (c == b'=' && d != b'=') {
            return false;
        }
        let [s0, s1, s2, s3] = [a, b, c, d].map(base64_value);
        let s2 = if c == b'=' { Some(0) } else { s2 };
        let s3 = if d == b'=' { Some(0) } else { s3 };
        let (Some(s0), Some(s1), Some(s2), Some(s3)) = (s0, s1, s2, s3) else {
            return false;
        };
        let word =
            (u32::from(s0) << 18) | (u32::from(s1) << 12) | (u32::from(s2) << 6) | u32::from(s3);
        let [_, b0, b1, b2] = word.to_be_bytes();
        let decoded = [b0, b1, b2];
        for byte in decoded.iter().take(3 - padding) {
            if !sink(*byte) {
                return false;
            }
        }
    }
    true
}

fn base64_value(byte: u8) -> Option<u8> {
    match byte {
        b'A'..=b'Z' => Some(byte - b'A'),
        b'a'..=b'z' => Some(byte - b'a' + 26),
        b'0'..=b'9' => Some(byte - b'0' + 52),
        b'+' => Some(62),
        b'/' => Some(63),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cmp(request: &str, policy: &str) -> Option<Ordering> {
        Number::parse(policy).unwrap().compare_request(request)
    }

    #[test]
    fn numbers_compare_exactly() {
        assert_eq!(cmp("10.50", "10.5"), Some(Ordering::Equal));
        assert_eq!(cmp("-0", "0"), Some(Ordering::Equal));
        assert_eq!(
            cmp("9007199254740993", "9007199254740992"),
            Some(Ordering::Greater)
        );
        assert_eq!(cmp("-2", "-10"), Some(Ordering::Greater));
        assert_eq!(cmp("0.09", "0.1"), Some(Ordering::Less));
        assert_eq!(cmp("007", "7"), Some(Ordering::Equal));
        assert_eq!(cmp("abc", "7"), None);
        assert_eq!(cmp("1e3", "7"), None);
        assert!(Number::parse("").is_none());
        assert!(Number::parse("-").is_none());
        assert!(Number::parse(".").is_none());
    }

    #[test]
    fn dates_in_iso_8601_and_epoch_seconds() {
        let epoch = |t: &str| Timestamp::parse(t).map(|Timestamp(n)| n / NANOS_PER_SECOND);
        assert_eq!(epoch("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(epoch("2020-01-01T00:00:01Z"), Some(1_577_836_801));
        assert_eq!(epoch("1577836801"), Some(1_577_836_801));
        assert_eq!(epoch("2020-01-01T01:00:01+01:00"), Some(1_577_836_801));
        assert_eq!(epoch("2020"), Some(1_577_836_800));
        assert_eq!(epoch("2020-02"), Some(1_580_515_200));
        assert_eq!(epoch("2024-02-29"), Some(1_709_164_800));
        assert_eq!(epoch("1969-12-31T23:59:59Z"), Some(-1));
        assert_eq!(
            Timestamp::parse("2020-01-01T00:00:00.5Z").map(|Timestamp(n)| n % NANOS_PER_SECOND),
            Some(500_000_000)
        );
        for bad in [
            "",
            "2020-13-01",
            "2023-02-29",
            "2020-01-01T25:00Z",
            "2020-01-01T00:00+0100",
            "yesterday",
            "2020-1-1",
            "12:00",
        ] {
            assert_eq!(Timestamp::parse(bad), None, "{bad}");
        }
    }

    impl Cidr {
        fn contains_request(&self, request: &str) -> bool {
            request.parse().is_ok_and(|address| self.contains(address))
        }
    }

    #[test]
    fn cidrs_in_both_families() {
        let net = Cidr::parse("203.0.113.0/24").unwrap();
        assert!(net.contains_request("203.0.113.77"));
        assert!(!net.contains_request("203.0.114.1"));
        assert!(!net.contains_request("2001:db8::1"));
        assert!(!net.contains_request("not an ip"));
        let host = Cidr::parse("10.0.0.1").unwrap();
        assert!(host.contains_request("10.0.0.1"));
        assert!(!host.contains_request("10.0.0.2"));
        let v6 = Cidr::parse("2001:DB8:1234:5678::/64").unwrap();
        assert!(v6.contains_request("2001:db8:1234:5678:ffff::1"));
        assert!(!v6.contains_request("2001:db8:1234:5679::1"));
        assert!(
            Cidr::parse("0.0.0.0/0")
                .unwrap()
                .contains_request("8.8.8.8")
        );
        for bad in [
            "10.0.0.0/33",
            "10.0.0/8",
            "10.0.0.0/",
            "::/129",
            "10.0.0.0/-1",
            "x",
            "10.0.0.0/8/8",
        ] {
            assert_eq!(Cidr::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn base64_round_trips_and_compares() {
        assert_eq!(
            decode_base64("QmluYXJ5VmFsdWVJbkJhc2U2NA==").as_deref(),
            Some(&b"BinaryValueInBase64"[..])
        );
        assert_eq!(decode_base64("").as_deref(), Some(&b""[..]));
        assert!(decode_base64("QQ=").is_none());
        assert!(decode_base64("Q===").is_none());
        assert!(decode_base64("QQ==QQ==").is_none());
        assert!(base64_equals("QQ==", b"A"));
        assert!(!base64_equals("QUI=", b"A"));
        assert!(!base64_equals("QQ==", b"AB"));
    }
}
