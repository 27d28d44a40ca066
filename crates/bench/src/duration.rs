//! Durations on the command line: `10s`, `500ms`, `2m`, or a bare number of seconds.

use std::time::Duration;

/// Parses `500ms`, `10s`, `2m` or `10` (seconds); fractions are allowed (`1.5s`).
pub fn parse(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let (number, seconds_per_unit) = if let Some(number) = text.strip_suffix("ms") {
        (number, 0.001)
    } else if let Some(number) = text.strip_suffix('s') {
        (number, 1.0)
    } else if let Some(number) = text.strip_suffix('m') {
        (number, 60.0)
    } else {
        (text, 1.0)
    };
    let value: f64 = number
        .parse()
        .map_err(|_| format!("`{text}` is not a duration (try 10s, 500ms or 2m)"))?;
    Duration::try_from_secs_f64(value * seconds_per_unit)
        .map_err(|_| format!("`{text}` is not a duration (it must be finite and not negative)"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn units() {
        assert_eq!(parse("10s").unwrap(), Duration::from_secs(10));
        assert_eq!(parse("10").unwrap(), Duration::from_secs(10));
        assert_eq!(parse("250ms").unwrap(), Duration::from_millis(250));
        assert_eq!(parse("1.5s").unwrap(), Duration::from_millis(1500));
        assert_eq!(parse("2m").unwrap(), Duration::from_secs(120));
        assert!(parse("-1s").is_err());
        assert!(parse("soon").is_err());
    }
}
