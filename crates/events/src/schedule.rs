//! `ScheduleExpression` validation: `rate(value unit)` and six-field `cron(...)`, as
//! EventBridge accepts them. A refused expression gets AWS's one message for all cases.

use palisade_core::ServiceError;

const MONTHS: [&str; 12] = [
    "JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC",
];
const DAYS: [&str; 7] = ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"];

pub(crate) fn validate(expression: &str) -> Result<(), ServiceError> {
    let valid = if let Some(body) = inside(expression, "rate(") {
        valid_rate(body)
    } else if let Some(body) = inside(expression, "cron(") {
        valid_cron(body)
    } else {
        false
    };
    if valid {
        Ok(())
    } else {
        Err(ServiceError::validation(
            "Parameter ScheduleExpression is not valid.",
        ))
    }
}

fn inside<'a>(expression: &'a str, opening: &str) -> Option<&'a str> {
    expression.strip_prefix(opening)?.strip_suffix(')')
}

fn valid_rate(body: &str) -> bool {
    let mut parts = body.split(' ');
    let (Some(value), Some(unit), None) = (parts.next(), parts.next(), parts.next()) else {
        return false;
    };
    let Some(value) = number(value).filter(|value| *value > 0) else {
        return false;
    };
    let units: &[&str] = if value == 1 {
        &["minute", "hour", "day"]
    } else {
        &["minutes", "hours", "days"]
    };
    units.contains(&unit)
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

fn valid_cron(body: &str) -> bool {
    let fields: Vec<&str> = body.split(' ').collect();
    let [minutes, hours, day_of_month, month, day_of_week, year] = fields.as_slice() else {
        return false;
    };
    // Exactly one of the two day fields is `?`: the other says which days.
    if (*day_of_month == "?") == (*day_of_week == "?") {
        return false;
    }
    [
        (Field::Minutes, *minutes),
        (Field::Hours, *hours),
        (Field::DayOfMonth, *day_of_month),
        (Field::Month, *month),
        (Field::DayOfWeek, *day_of_week),
        (Field::Year, *year),
    ]
    .into_iter()
    .all(|(field, text)| valid_field(field, text))
}

fn valid_field(field: Field, text: &str) -> bool {
    if text == "?" {
        return matches!(field, Field::DayOfMonth | Field::DayOfWeek);
    }
    !text.is_empty() && text.split(',').all(|item| valid_item(field, item))
}

fn valid_item(field: Field, item: &str) -> bool {
    let (base, step) = match item.split_once('/') {
        Some((base, step)) => (base, Some(step)),
        None => (item, None),
    };
    if let Some(step) = step
        && number(step).is_none_or(|step| step == 0)
    {
        return false;
    }
    if base == "*" {
        return true;
    }
    if step.is_none() && valid_special(field, base) {
        return true;
    }
    match base.split_once('-') {
        Some((first, last)) => match (value(field, first), value(field, last)) {
            (Some(first), Some(last)) => first <= last || field == Field::DayOfWeek,
            _ => false,
        },
        None => value(field, base).is_some(),
    }
}

/// `L`, `LW` and `nW` in the day of the month; `L`, `nL` and `n#k` in the day of the week.
fn valid_special(field: Field, text: &str) -> bool {
    match field {
        Field::DayOfMonth => {
            text == "L"
                || text == "LW"
                || text
                    .strip_suffix('W')
                    .is_some_and(|day| value(field, day).is_some())
        }
        Field::DayOfWeek => {
            text == "L"
                || text
                    .strip_suffix('L')
                    .is_some_and(|day| value(field, day).is_some())
                || text.split_once('#').is_some_and(|(day, nth)| {
                    value(field, day).is_some()
                        && number(nth).is_some_and(|nth| (1..=5).contains(&nth))
                })
        }
        _ => false,
    }
}

fn value(field: Field, text: &str) -> Option<u32> {
    let named = |names: &[&str]| {
        names
            .iter()
            .position(|name| name.eq_ignore_ascii_case(text))
            .and_then(|position| u32::try_from(position + 1).ok())
    };
    let (low, high, name) = match field {
        Field::Minutes => (0, 59, None),
        Field::Hours => (0, 23, None),
        Field::DayOfMonth => (1, 31, None),
        Field::Month => (1, 12, named(&MONTHS)),
        Field::DayOfWeek => (1, 7, named(&DAYS)),
        Field::Year => (1970, 2199, None),
    };
    name.or_else(|| number(text))
        .filter(|value| (low..=high).contains(value))
}

fn number(text: &str) -> Option<u32> {
    if text.is_empty() || !text.bytes().all(|byte| byte.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
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
}
