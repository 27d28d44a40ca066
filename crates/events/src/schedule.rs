//! `ScheduleExpression`: `rate(value unit)` and six-field `cron(...)` (UTC), as EventBridge
//! accepts them, parsed into a [`Schedule`] that says when a rule fires. A refused expression
//! gets AWS's one message for all cases.

use palisade_core::ServiceError;
use time::OffsetDateTime;

const MONTHS: [&str; 12] = [
    "JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC",
];
const DAYS: [&str; 7] = ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"];
const MINUTE_MILLIS: i64 = 60_000;
/// The furthest a cron schedule looks back for a missed minute: a server stopped longer fires
/// once, for the latest minute within it.
const LOOK_BACK_MILLIS: i64 = 24 * 60 * MINUTE_MILLIS;

/// When a scheduled rule fires.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Schedule {
    /// Every so many milliseconds (whole minutes), counted from when the schedule began.
    Rate { period_millis: i64 },
    /// At the minutes the expression matches.
    Cron(Cron),
}

pub(crate) fn validate(expression: &str) -> Result<(), ServiceError> {
    parse(expression).map(drop)
}

pub(crate) fn parse(expression: &str) -> Result<Schedule, ServiceError> {
    let parsed = if let Some(body) = inside(expression, "rate(") {
        rate(body)
    } else if let Some(body) = inside(expression, "cron(") {
        cron(body).map(Schedule::Cron)
    } else {
        None
    };
    parsed.ok_or_else(|| ServiceError::validation("Parameter ScheduleExpression is not valid."))
}

impl Schedule {
    /// The latest time after `after` and at or before `now` (milliseconds since the epoch) at
    /// which a schedule that began at `began` fires; `None` when there is none. Missed firings
    /// are not made up: only the latest counts.
    pub fn due(&self, began: i64, after: i64, now: i64) -> Option<i64> {
        match self {
            Schedule::Rate { period_millis } => {
                let periods = now.checked_sub(began)?.checked_div(*period_millis)?;
                let latest = began.checked_add(periods.checked_mul(*period_millis)?)?;
                (latest > after && latest > began).then_some(latest)
            }
            Schedule::Cron(cron) => {
                let earliest = after.max(now.saturating_sub(LOOK_BACK_MILLIS));
                let mut minute = now.div_euclid(MINUTE_MILLIS) * MINUTE_MILLIS;
                while minute > earliest {
                    if cron.matches(minute) {
                        return Some(minute);
                    }
                    minute -= MINUTE_MILLIS;
                }
                None
            }
        }
    }
}

fn inside<'a>(expression: &'a str, opening: &str) -> Option<&'a str> {
    expression.strip_prefix(opening)?.strip_suffix(')')
}

fn rate(body: &str) -> Option<Schedule> {
    let mut parts = body.split(' ');
    let (Some(value), Some(unit), None) = (parts.next(), parts.next(), parts.next()) else {
        return None;
    };
    let value = number(value).filter(|value| *value > 0)?;
    let units: [&str; 3] = if value == 1 {
        ["minute", "hour", "day"]
    } else {
        ["minutes", "hours", "days"]
    };
    let minutes_per_unit = *[1, 60, 24 * 60].get(units.iter().position(|known| *known == unit)?)?;
    Some(Schedule::Rate {
        period_millis: i64::from(value) * minutes_per_unit * MINUTE_MILLIS,
    })
}

#[derive(Clone, Copy, PartialEq)]
enum Field {
    Minutes,
    Hours,
    DayOfMonth,
    Month,
    DayOfWeek,
    Year,
}

/// A set of a field's values: bit `n` for the `n`th value of its range.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
struct Values([u64; 4]);

impl Values {
    fn insert(&mut self, index: u32) {
        if let Some(word) = self.0.get_mut((index / 64) as usize) {
            *word |= 1 << (index % 64);
        }
    }

    fn contains(&self, index: u32) -> bool {
        self.0
            .get((index / 64) as usize)
            .is_some_and(|word| word & (1 << (index % 64)) != 0)
    }
}

/// A parsed `cron(...)`: the values each field allows, and which days.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Cron {
    minutes: Values,
    hours: Values,
    months: Values,
    years: Values,
    days: Days,
}

/// Which days: by the day of the month or by the day of the week (the other field is `?`),
/// each with its specials.
#[derive(Debug, Clone, PartialEq)]
enum Days {
    OfMonth(Values, Vec<MonthDay>),
    OfWeek(Values, Vec<WeekDay>),
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum MonthDay {
    /// `L`: the month's last day.
    Last,
    /// `LW`: the month's last weekday.
    LastWeekday,
    /// `nW`: the weekday nearest the `n`th, within the month.
    NearestWeekday(u8),
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum WeekDay {
    /// `nL`: the month's last such day (1 is Sunday).
    Last(u8),
    /// `n#k`: the month's `k`th such day.
    Nth(u8, u8),
}

fn cron(body: &str) -> Option<Cron> {
    let fields: Vec<&str> = body.split(' ').collect();
    let [minutes, hours, day_of_month, month, day_of_week, year] = fields.as_slice() else {
        return None;
    };
    // Exactly one of the two day fields is `?`: the other says which days.
    let days = match (*day_of_month == "?", *day_of_week == "?") {
        (false, true) => {
            let (days, specials) = values(Field::DayOfMonth, day_of_month)?;
            let specials = specials.into_iter().map(month_day).collect::<Option<_>>()?;
            Days::OfMonth(days, specials)
        }
        (true, false) => {
            let (days, specials) = values(Field::DayOfWeek, day_of_week)?;
            let specials = specials.into_iter().map(week_day).collect::<Option<_>>()?;
            Days::OfWeek(days, specials)
        }
        _ => return None,
    };
    let plain = |kind: Field, text: &str| {
        values(kind, text)
            .filter(|(_, specials)| specials.is_empty())
            .map(|(values, _)| values)
    };
    Some(Cron {
        minutes: plain(Field::Minutes, minutes)?,
        hours: plain(Field::Hours, hours)?,
        months: plain(Field::Month, month)?,
        years: plain(Field::Year, year)?,
        days,
    })
}

/// The least and greatest value of a field.
fn bounds(kind: Field) -> (u32, u32) {
    match kind {
        Field::Minutes => (0, 59),
        Field::Hours => (0, 23),
        Field::DayOfMonth => (1, 31),
        Field::Month => (1, 12),
        Field::DayOfWeek => (1, 7),
        Field::Year => (1970, 2199),
    }
}

/// A field's values, indexed from its least, and its items that are specials (`L`, `W`, `#`),
/// unparsed.
fn values(kind: Field, text: &str) -> Option<(Values, Vec<&str>)> {
    if text.is_empty() {
        return None;
    }
    let (low, high) = bounds(kind);
    let mut values = Values::default();
    let mut specials = Vec::new();
    for item in text.split(',') {
        if is_special(kind, item) {
            specials.push(item);
            continue;
        }
        let (first, last, step) = item_range(kind, item)?;
        // A day-of-week range may wrap around the week (`FRI-MON`).
        let run: Vec<u32> = if first <= last {
            (first..=last).collect()
        } else {
            (first..=high).chain(low..=last).collect()
        };
        for value in run.into_iter().step_by(usize::try_from(step).ok()?) {
            values.insert(value - low);
        }
    }
    Some((values, specials))
}

/// An item's first and last values and its step; `*` is the field's whole range, and `a/n`
/// runs from `a` to its end.
fn item_range(kind: Field, item: &str) -> Option<(u32, u32, u32)> {
    let (base, step) = match item.split_once('/') {
        Some((base, step)) => (base, number(step).filter(|step| *step > 0)?),
        None => (item, 1),
    };
    let (_, high) = bounds(kind);
    if base == "*" {
        let (low, high) = bounds(kind);
        return Some((low, high, step));
    }
    match base.split_once('-') {
        Some((first, last)) => {
            let (first, last) = (value(kind, first)?, value(kind, last)?);
            (first <= last || kind == Field::DayOfWeek).then_some((first, last, step))
        }
        None => {
            let first = value(kind, base)?;
            Some((first, if step > 1 { high } else { first }, step))
        }
    }
}

fn is_special(kind: Field, item: &str) -> bool {
    match kind {
        Field::DayOfMonth => item == "L" || item.ends_with('W'),
        // `L` alone is Saturday, the week's last day: a plain value.
        Field::DayOfWeek => (item.len() > 1 && item.ends_with('L')) || item.contains('#'),
        _ => false,
    }
}

/// `L`, `LW` and `nW` in the day of the month.
fn month_day(text: &str) -> Option<MonthDay> {
    match text {
        "L" => Some(MonthDay::Last),
        "LW" => Some(MonthDay::LastWeekday),
        _ => {
            let day = value(Field::DayOfMonth, text.strip_suffix('W')?)?;
            Some(MonthDay::NearestWeekday(u8::try_from(day).ok()?))
        }
    }
}

/// `nL` and `n#k` in the day of the week.
fn week_day(text: &str) -> Option<WeekDay> {
    if let Some(day) = text.strip_suffix('L') {
        return Some(WeekDay::Last(
            u8::try_from(value(Field::DayOfWeek, day)?).ok()?,
        ));
    }
    let (day, nth) = text.split_once('#')?;
    let day = u8::try_from(value(Field::DayOfWeek, day)?).ok()?;
    let nth = u8::try_from(number(nth).filter(|nth| (1..=5).contains(nth))?).ok()?;
    Some(WeekDay::Nth(day, nth))
}

fn value(kind: Field, text: &str) -> Option<u32> {
    let named = |names: &[&str]| {
        names
            .iter()
            .position(|name| name.eq_ignore_ascii_case(text))
            .and_then(|position| u32::try_from(position + 1).ok())
    };
    let name = match kind {
        Field::Month => named(&MONTHS),
        Field::DayOfWeek if text == "L" => Some(7),
        Field::DayOfWeek => named(&DAYS),
        _ => None,
    };
    let (low, high) = bounds(kind);
    name.or_else(|| number(text))
        .filter(|value| (low..=high).contains(value))
}

fn number(text: &str) -> Option<u32> {
    if text.is_empty() || !text.bytes().all(|byte| byte.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

impl Cron {
    /// Whether the rule fires in the minute starting at `minute` (milliseconds since the epoch,
    /// UTC).
    fn matches(&self, minute: i64) -> bool {
        let Ok(at) = OffsetDateTime::from_unix_timestamp(minute.div_euclid(1000)) else {
            return false;
        };
        let index = |kind: Field, value: u32| value - bounds(kind).0;
        let year = u32::try_from(at.year()).unwrap_or(0);
        self.minutes.contains(u32::from(at.minute()))
            && self.hours.contains(u32::from(at.hour()))
            && self
                .months
                .contains(index(Field::Month, u32::from(u8::from(at.month()))))
            && (1970..=2199).contains(&year)
            && self.years.contains(index(Field::Year, year))
            && self.day_matches(at)
    }

    fn day_matches(&self, at: OffsetDateTime) -> bool {
        let day = at.day();
        let last_day = at.month().length(at.year());
        // 1 is Sunday, as in the expression.
        let weekday_of = |day: u8| {
            let offset = i16::from(day) - i16::from(at.day());
            (i16::from(at.weekday().number_days_from_sunday()) + offset).rem_euclid(7) as u8 + 1
        };
        let is_weekday = |day: u8| (2..=6).contains(&weekday_of(day));
        match &self.days {
            Days::OfMonth(days, specials) => {
                days.contains(u32::from(day) - 1)
                    || specials.iter().any(|special| match *special {
                        MonthDay::Last => day == last_day,
                        MonthDay::LastWeekday => {
                            (1..=last_day).rev().find(|&day| is_weekday(day)) == Some(day)
                        }
                        MonthDay::NearestWeekday(nth) => {
                            nth <= last_day
                                && nearest_weekday(nth, last_day, weekday_of(nth)) == day
                        }
                    })
            }
            Days::OfWeek(days, specials) => {
                let weekday = weekday_of(day);
                days.contains(u32::from(weekday) - 1)
                    || specials.iter().any(|special| match *special {
                        WeekDay::Last(wanted) => weekday == wanted && day + 7 > last_day,
                        WeekDay::Nth(wanted, nth) => weekday == wanted && (day - 1) / 7 + 1 == nth,
                    })
            }
        }
    }
}

/// The weekday nearest the `nth` of a month of `last_day` days, not leaving the month;
/// `weekday` is the `nth`'s day of the week (1 is Sunday).
fn nearest_weekday(nth: u8, last_day: u8, weekday: u8) -> u8 {
    match weekday {
        // Saturday: the Friday before, or the Monday after on the 1st.
        7 if nth > 1 => nth - 1,
        7 => nth + 2,
        // Sunday: the Monday after, or the Friday before on the last day.
        1 if nth < last_day => nth + 1,
        1 => nth - 2,
        _ => nth,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_aws_schedules() {
        for expression in [
            "rate(1 minute)",
            "rate(5 minutes)",
            "rate(1 day)",
            "rate(12 hours)",
            "cron(0 10 * * ? *)",
            "cron(15 12 * * ? *)",
            "cron(0 18 ? * MON-FRI *)",
            "cron(0 8 1 * ? *)",
            "cron(0/15 * * * ? *)",
            "cron(0/10 * ? * MON-FRI *)",
            "cron(0/5 8-17 ? * MON-FRI *)",
            "cron(0 9 ? * 2#1 *)",
            "cron(0 0 L * ? 2026)",
            "cron(0,30 1 15W jan,JUL ? 2020-2030)",
        ] {
            assert!(validate(expression).is_ok(), "{expression}");
        }
    }

    #[test]
    fn refuses_malformed_schedules() {
        for expression in [
            "rate(0 minutes)",
            "rate(1 minutes)",
            "rate(5 minute)",
            "rate(5 weeks)",
            "rate(five minutes)",
            "rate(5  minutes)",
            "cron(0 10 * * * *)",
            "cron(0 10 ? * ? *)",
            "cron(0 10 * * ?)",
            "cron(60 10 * * ? *)",
            "cron(0 24 * * ? *)",
            "cron(0 10 32 * ? *)",
            "cron(0 10 ? 13 MON *)",
            "cron(0 10 ? * 2#6 *)",
            "cron(0/0 * * * ? *)",
            "every 5 minutes",
            "",
        ] {
            let error = validate(expression).unwrap_err();
            assert_eq!(
                error.message, "Parameter ScheduleExpression is not valid.",
                "{expression}"
            );
        }
    }

    /// Milliseconds since the epoch of a UTC time.
    fn at(year: i32, month: u8, day: u8, hour: u8, minute: u8) -> i64 {
        let date = time::Date::from_calendar_date(year, time::Month::try_from(month).unwrap(), day)
            .unwrap();
        let time = time::Time::from_hms(hour, minute, 0).unwrap();
        (date.with_time(time).assume_utc().unix_timestamp()) * 1000
    }

    fn fires(expression: &str, minute: i64) -> bool {
        let Schedule::Cron(cron) = parse(expression).unwrap() else {
            panic!("{expression} is not a cron expression");
        };
        cron.matches(minute)
    }

    #[test]
    fn rates_fire_a_period_after_they_began_and_make_up_nothing() {
        let schedule = parse("rate(5 minutes)").unwrap();
        let began = at(2026, 3, 1, 10, 0) + 30_000;
        let period = 5 * MINUTE_MILLIS;
        assert_eq!(schedule.due(began, began, began + period - 1), None);
        assert_eq!(
            schedule.due(began, began, began + period),
            Some(began + period)
        );
        // Three periods missed: one firing, the latest.
        assert_eq!(
            schedule.due(began, began + period, began + 4 * period + 10),
            Some(began + 4 * period)
        );
        assert_eq!(
            schedule.due(began, began + 4 * period, began + 4 * period + 10),
            None
        );
        assert_eq!(
            parse("rate(1 day)").unwrap(),
            Schedule::Rate {
                period_millis: 24 * 60 * MINUTE_MILLIS
            }
        );
    }

    #[test]
    fn cron_fields_match_as_aws_documents_them() {
        // 2026-03-02 is a Monday.
        assert!(fires("cron(0/15 * * * ? *)", at(2026, 3, 2, 7, 45)));
        assert!(!fires("cron(0/15 * * * ? *)", at(2026, 3, 2, 7, 46)));
        assert!(fires("cron(0 18 ? * MON-FRI *)", at(2026, 3, 2, 18, 0)));
        assert!(!fires("cron(0 18 ? * MON-FRI *)", at(2026, 3, 1, 18, 0)));
        assert!(fires("cron(0 9 ? * FRI-MON *)", at(2026, 3, 1, 9, 0)));
        assert!(!fires("cron(0 9 ? * FRI-MON *)", at(2026, 3, 3, 9, 0)));
        assert!(fires(
            "cron(0/5 8-17 ? * MON-FRI *)",
            at(2026, 3, 2, 17, 55)
        ));
        assert!(!fires(
            "cron(0/5 8-17 ? * MON-FRI *)",
            at(2026, 3, 2, 18, 0)
        ));
        // The second Monday of March 2026 is the 9th; its last Friday the 27th.
        assert!(fires("cron(0 9 ? * 2#2 *)", at(2026, 3, 9, 9, 0)));
        assert!(!fires("cron(0 9 ? * 2#2 *)", at(2026, 3, 2, 9, 0)));
        assert!(fires("cron(0 9 ? * 6L *)", at(2026, 3, 27, 9, 0)));
        assert!(!fires("cron(0 9 ? * 6L *)", at(2026, 3, 20, 9, 0)));
        // `L` in the day of the week: Saturdays.
        assert!(fires("cron(0 9 ? * L *)", at(2026, 3, 7, 9, 0)));
        // Last day, last weekday (2026-05-31 is a Sunday), nearest weekday.
        assert!(fires("cron(0 0 L * ? *)", at(2026, 2, 28, 0, 0)));
        assert!(!fires("cron(0 0 L * ? *)", at(2026, 3, 28, 0, 0)));
        assert!(fires("cron(0 0 LW * ? *)", at(2026, 5, 29, 0, 0)));
        assert!(!fires("cron(0 0 LW * ? *)", at(2026, 5, 31, 0, 0)));
        // 2026-03-15 is a Sunday: 15W is Monday the 16th; 2026-08-01 a Saturday: 1W is the 3rd.
        assert!(fires("cron(0 0 15W * ? *)", at(2026, 3, 16, 0, 0)));
        assert!(!fires("cron(0 0 15W * ? *)", at(2026, 3, 15, 0, 0)));
        assert!(fires("cron(0 0 1W * ? *)", at(2026, 8, 3, 0, 0)));
        assert!(fires(
            "cron(0,30 1 15W jan,JUL ? 2020-2030)",
            at(2026, 7, 15, 1, 30)
        ));
        assert!(!fires(
            "cron(0,30 1 15W jan,JUL ? 2020-2030)",
            at(2031, 7, 15, 1, 30)
        ));
    }

    #[test]
    fn cron_fires_for_the_latest_matching_minute_only() {
        let schedule = parse("cron(0/10 * * * ? *)").unwrap();
        let now = at(2026, 3, 2, 10, 25) + 5_000;
        assert_eq!(
            schedule.due(0, at(2026, 3, 2, 9, 0), now),
            Some(at(2026, 3, 2, 10, 20))
        );
        assert_eq!(schedule.due(0, at(2026, 3, 2, 10, 20), now), None);
    }
}
