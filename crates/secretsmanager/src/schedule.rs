//! Rotation schedules: `AutomaticallyAfterDays`, or a `rate()` or `cron()` ScheduleExpression,
//! with an optional window `Duration`. Validated with AWS's limits, and evaluated to the next
//! rotation time (rotations start at the opening of their window).

use palisade_core::ServiceError;
use palisade_model_secretsmanager::errors;
use palisade_model_secretsmanager::types::RotationRulesType;

use crate::records::RotationConfig;

const HOUR_MS: i64 = 3_600_000;
const DAY_MS: i64 = 24 * HOUR_MS;
/// How far ahead a cron expression is searched for its next time.
const CRON_HORIZON_HOURS: i64 = 5 * 366 * 24;

const MONTHS: [&str; 12] = [
    "JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC",
];
const WEEKDAYS: [&str; 7] = ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"];

/// Checks `rules` and folds them into `config`.
pub(crate) fn apply_rules(
    config: &mut RotationConfig,
    rules: RotationRulesType,
) -> Result<(), ServiceError> {
    match (rules.automatically_after_days, &rules.schedule_expression) {
        (Some(_), Some(_)) => {
            return Err(errors::invalid_parameter_exception(
                "You can't specify both AutomaticallyAfterDays and ScheduleExpression in the \
                 same RotationRules.",
            ));
        }
        (Some(days), None) if !(1..=1000).contains(&days) => {
            return Err(errors::invalid_parameter_exception(
                "The parameter AutomaticallyAfterDays must be between 1 and 1000.",
            ));
        }
        (None, Some(expression)) => {
            parse(expression)?;
        }
        _ => {}
    }
    if let Some(duration) = &rules.duration {
        let hours = duration_hours(duration)?;
        let interval_hours = match (rules.automatically_after_days, &rules.schedule_expression) {
            (Some(days), _) => Some(days.saturating_mul(24)),
            (None, Some(expression)) => match parse(expression)? {
                Schedule::Every(ms) => Some(ms / HOUR_MS),
                Schedule::Cron(_) => None,
            },
            (None, None) => None,
        };
        if interval_hours.is_some_and(|interval| hours > interval) {
            return Err(errors::invalid_parameter_exception(
                "The rotation window Duration must be shorter than the rotation interval.",
            ));
        }
    }
    config.automatically_after_days = rules.automatically_after_days;
    config.schedule_expression = rules.schedule_expression;
    config.duration = rules.duration;
    Ok(())
}

/// `Duration`: `<hours>h`, 1 to 24 hours.
fn duration_hours(duration: &str) -> Result<i64, ServiceError> {
    duration
        .strip_suffix('h')
        .and_then(|hours| hours.parse::<i64>().ok())
        .filter(|hours| (1..=24).contains(hours))
        .ok_or_else(|| {
            errors::invalid_parameter_exception(format!(
                "Invalid Duration: {duration}. The rotation window must be between 1h and 24h."
            ))
        })
}

/// The next rotation after `after_ms` under `config`, if it has a schedule.
pub(crate) fn next_rotation(config: &RotationConfig, after_ms: i64) -> Option<i64> {
    if let Some(days) = config.automatically_after_days {
        return Some(after_ms.saturating_add(days.saturating_mul(DAY_MS)));
    }
    match parse(config.schedule_expression.as_deref()?).ok()? {
        Schedule::Every(ms) => Some(after_ms.saturating_add(ms)),
        Schedule::Cron(cron) => cron.next_after(after_ms),
    }
}

enum Schedule {
    Every(i64),
    Cron(Cron),
}

fn invalid_expression(expression: &str) -> ServiceError {
    errors::invalid_parameter_exception(format!(
        "Invalid ScheduleExpression: {expression}. Use rate(<number> days), rate(<number> hours) \
         or cron(<minutes> <hours> <day-of-month> <month> <day-of-week> <year>)."
    ))
}

fn parse(expression: &str) -> Result<Schedule, ServiceError> {
    let invalid = || invalid_expression(expression);
    if let Some(body) = expression
        .strip_prefix("rate(")
        .and_then(|rest| rest.strip_suffix(')'))
    {
        let (count, unit) = body.trim().split_once(' ').ok_or_else(invalid)?;
        let count: i64 = count.parse().map_err(|_| invalid())?;
        return match unit.trim() {
            "day" | "days" if (1..=1000).contains(&count) => Ok(Schedule::Every(count * DAY_MS)),
            "hour" | "hours" if (4..=23).contains(&count) => Ok(Schedule::Every(count * HOUR_MS)),
            _ => Err(invalid()),
        };
    }
    if let Some(body) = expression
        .strip_prefix("cron(")
        .and_then(|rest| rest.strip_suffix(')'))
    {
        return Cron::parse(body).map(Schedule::Cron).ok_or_else(invalid);
    }
    Err(invalid())
}

/// A cron expression: minutes hours day-of-month month day-of-week year, one of the day fields
/// being `?`.
struct Cron {
    minute: u32,
    hours: Vec<bool>,
    days: Option<Vec<bool>>,
    months: Vec<bool>,
    weekdays: Option<Vec<bool>>,
    years: Option<Vec<bool>>,
}

const FIRST_YEAR: u32 = 1970;
const LAST_YEAR: u32 = 2199;

impl Cron {
    fn parse(body: &str) -> Option<Self> {
        let fields: Vec<&str> = body.split_whitespace().collect();
        let [minutes, hours, days, months, weekdays, years] = fields.as_slice() else {
            return None;
        };
        let minute = field(minutes, 0, 59, &[])?.iter().position(|set| *set)?;
        let (days, weekdays) = match (*days, *weekdays) {
            ("?", "?") => return None,
            ("?", weekdays) => (None, Some(field(weekdays, 1, 7, &WEEKDAYS)?)),
            (days, "?") => (Some(field(days, 1, 31, &[])?), None),
            _ => return None,
        };
        let years = match *years {
            "*" => None,
            years => Some(field(years, FIRST_YEAR, LAST_YEAR, &[])?),
        };
        Some(Self {
            minute: u32::try_from(minute).ok()?,
            hours: field(hours, 0, 23, &[])?,
            days,
            months: field(months, 1, 12, &MONTHS)?,
            weekdays,
            years,
        })
    }

    fn next_after(&self, after_ms: i64) -> Option<i64> {
        let first_hour = after_ms.div_euclid(HOUR_MS);
        (first_hour..first_hour + CRON_HORIZON_HOURS)
            .map(|hour| hour * HOUR_MS + i64::from(self.minute) * 60_000)
            .filter(|at| *at > after_ms)
            .find(|at| self.matches(*at))
    }

    fn matches(&self, at_ms: i64) -> bool {
        let days = at_ms.div_euclid(DAY_MS);
        let hour = at_ms.rem_euclid(DAY_MS) / HOUR_MS;
        let (year, month, day) = civil_from_days(days);
        // Day-of-week 1 is Sunday; 1970-01-01 was a Thursday.
        let weekday = days.rem_euclid(7).saturating_add(4).rem_euclid(7) + 1;
        let set = |values: &[bool], at: i64| {
            usize::try_from(at)
                .ok()
                .and_then(|at| values.get(at))
                .copied()
                .unwrap_or(false)
        };
        set(&self.hours, hour)
            && set(&self.months, i64::from(month))
            && self
                .days
                .as_ref()
                .is_none_or(|days| set(days, i64::from(day)))
            && self
                .weekdays
                .as_ref()
                .is_none_or(|weekdays| set(weekdays, weekday))
            && self.years.as_ref().is_none_or(|years| {
                year.checked_sub(i64::from(FIRST_YEAR))
                    .is_some_and(|offset| set(years, offset))
            })
    }
}

/// One cron field over `min..=max` (`names` spell `min`, `min + 1`, ...): `*`, values, ranges
/// and steps, comma separated. Indexed by value, offset by `min` for years.
fn field(spec: &str, min: u32, max: u32, names: &[&str]) -> Option<Vec<bool>> {
    let offset = if min >= FIRST_YEAR { min } else { 0 };
    let mut set = vec![false; usize::try_from(max - offset + 1).ok()?];
    let value = |text: &str| -> Option<u32> {
        let number = match names
            .iter()
            .position(|name| name.eq_ignore_ascii_case(text))
        {
            Some(index) => min + u32::try_from(index).ok()?,
            None => text.parse().ok()?,
        };
        (min..=max).contains(&number).then_some(number)
    };
    for part in spec.split(',') {
        let (range, step) = match part.split_once('/') {
            Some((range, step)) => (range, step.parse::<u32>().ok().filter(|step| *step > 0)?),
            None => (part, 1),
        };
        let (low, high) = match range {
            "*" => (min, max),
            range => match range.split_once('-') {
                Some((low, high)) => (value(low)?, value(high)?),
                None if step > 1 => (value(range)?, max),
                None => {
                    let single = value(range)?;
                    (single, single)
                }
            },
        };
        if low > high {
            return None;
        }
        for at in (low..=high).step_by(usize::try_from(step).ok()?) {
            *set.get_mut(usize::try_from(at - offset).ok()?)? = true;
        }
    }
    Some(set)
}

/// The (year, month, day) of a count of days since 1970-01-01 (proleptic Gregorian).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    (
        year,
        u32::try_from(month).unwrap_or(1),
        u32::try_from(day).unwrap_or(1),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 2024-01-01T00:00:00Z, a Monday.
    const START: i64 = 1_704_067_200_000;

    fn config(expression: &str) -> RotationConfig {
        RotationConfig {
            schedule_expression: Some(expression.to_owned()),
            ..Default::default()
        }
    }

    #[test]
    fn rates_and_days_add_their_interval() {
        assert_eq!(
            next_rotation(&config("rate(10 days)"), START),
            Some(START + 10 * DAY_MS)
        );
        assert_eq!(
            next_rotation(&config("rate(6 hours)"), START),
            Some(START + 6 * HOUR_MS)
        );
        let days = RotationConfig {
            automatically_after_days: Some(30),
            ..Default::default()
        };
        assert_eq!(next_rotation(&days, START), Some(START + 30 * DAY_MS));
    }

    #[test]
    fn cron_finds_the_next_matching_hour() {
        // 16:00 on the 1st and 15th of each month.
        assert_eq!(
            next_rotation(&config("cron(0 16 1,15 * ? *)"), START),
            Some(START + 16 * HOUR_MS)
        );
        assert_eq!(
            next_rotation(&config("cron(0 16 1,15 * ? *)"), START + 17 * HOUR_MS),
            Some(START + 14 * DAY_MS + 16 * HOUR_MS)
        );
        // 08:30 every Sunday: 2024-01-07.
        assert_eq!(
            next_rotation(&config("cron(30 8 ? * SUN *)"), START),
            Some(START + 6 * DAY_MS + 8 * HOUR_MS + 30 * 60_000)
        );
    }

    #[test]
    fn bad_expressions_are_refused() {
        for bad in [
            "rate(0 days)",
            "rate(2 hours)",
            "rate(10 weeks)",
            "cron(0 16 * * * *)",
            "cron(0 25 * * ? *)",
            "cron(0 16 1 *)",
            "every day",
        ] {
            assert!(parse(bad).is_err(), "{bad} was accepted");
        }
        let mut rotation = RotationConfig::default();
        let both = RotationRulesType {
            automatically_after_days: Some(3),
            schedule_expression: Some("rate(3 days)".into()),
            duration: None,
        };
        assert!(apply_rules(&mut rotation, both).is_err());
        let long_window = RotationRulesType {
            automatically_after_days: None,
            schedule_expression: Some("rate(4 hours)".into()),
            duration: Some("5h".into()),
        };
        assert!(apply_rules(&mut rotation, long_window).is_err());
    }
}
