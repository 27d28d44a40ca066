//! Whatever the statement, parsing answers (a statement or an error) without panicking, and a
//! statement that parses runs over a record without panicking: for arbitrary text, and for
//! statements stitched together from SQL's own words, which get much further into the parser,
//! the analyzer and the evaluator.

#![allow(
    clippy::unwrap_used,
    clippy::panic,
    reason = "tests: a failure is a failed test"
)]

use palisade_lake_query::parse;
use proptest::prelude::*;
use serde_json::json;

const WORDS: [&str; 76] = [
    "SELECT",
    "DISTINCT",
    "*",
    "FROM",
    "eds-1",
    "\"eds\"",
    "e",
    "WHERE",
    "GROUP",
    "BY",
    "HAVING",
    "ORDER",
    "ASC",
    "DESC",
    "NULLS",
    "FIRST",
    "LAST",
    "LIMIT",
    "OFFSET",
    "AS",
    "AND",
    "OR",
    "NOT",
    "IS",
    "NULL",
    "IN",
    "LIKE",
    "ESCAPE",
    "BETWEEN",
    "DISTINCT FROM",
    "CASE",
    "WHEN",
    "THEN",
    "ELSE",
    "END",
    "CAST",
    "TRY_CAST",
    "varchar",
    "bigint",
    "timestamp",
    "TIMESTAMP",
    "(",
    ")",
    ",",
    ".",
    "[",
    "]",
    "=",
    "<>",
    "<",
    ">=",
    "+",
    "-",
    "/",
    "%",
    "||",
    "?",
    "'?'",
    "1",
    "0",
    "-1",
    "2.5",
    "'x'",
    "'%a_'",
    "'2024-05-01 00:00:00'",
    "eventName",
    "eventTime",
    "userIdentity",
    "arn",
    "requestParameters",
    "resources",
    "readOnly",
    "errorCode",
    "eventJson",
    "count(*)",
    "now()",
];

const FUNCTIONS: [&str; 14] = [
    "count",
    "sum",
    "avg",
    "min",
    "max",
    "lower",
    "substr",
    "coalesce",
    "element_at",
    "json_extract_scalar",
    "date_trunc",
    "date_add",
    "greatest",
    "split_part",
];

fn words(count: std::ops::Range<usize>) -> impl Strategy<Value = String> {
    let word = prop_oneof![
        4 => prop::sample::select(WORDS.as_slice()).prop_map(str::to_owned),
        1 => prop::sample::select(FUNCTIONS.as_slice()).prop_map(|name| format!("{name}(")),
    ];
    prop::collection::vec(word, count).prop_map(|words| words.join(" "))
}

/// Reads choices off a tape of random numbers (zero once it runs out).
struct Tape<'a> {
    choices: &'a [u32],
    at: usize,
}

impl Tape<'_> {
    fn pick<'w>(&mut self, options: &[&'w str]) -> &'w str {
        let index = self.number(options.len());
        options.get(index).copied().unwrap_or_default()
    }

    fn number(&mut self, below: usize) -> usize {
        let choice = self.choices.get(self.at).copied().unwrap_or(0);
        self.at += 1;
        usize::try_from(choice).unwrap_or(0) % below.max(1)
    }
}

#[derive(Debug, Clone, Copy)]
enum Kind {
    Text,
    Number,
    Bool,
    Time,
}

/// A random expression of `kind`, well typed, so that queries get past analysis and run.
fn expression(tape: &mut Tape<'_>, kind: Kind, depth: usize) -> String {
    let sub = |tape: &mut Tape<'_>, kind| expression(tape, kind, depth.saturating_sub(1));
    if depth == 0 || tape.number(3) == 0 {
        return tape
            .pick(match kind {
                Kind::Text => &[
                    "eventName",
                    "userIdentity.arn",
                    "errorCode",
                    "requestParameters['bucketName']",
                    "element_at(requestParameters, 'nested')",
                    "resources[1].arn",
                    "eventJson",
                    "'x'",
                    "'%'",
                    "NULL",
                ],
                Kind::Number => &[
                    "1",
                    "0",
                    "-3",
                    "2.5",
                    "length(eventName)",
                    "cardinality(resources)",
                    "NULL",
                ],
                Kind::Bool => &["readOnly", "true", "NULL"],
                Kind::Time => &[
                    "eventTime",
                    "now()",
                    "TIMESTAMP '2024-05-01 00:00:00'",
                    "userIdentity.sessionContext.attributes.creationDate",
                ],
            })
            .to_owned();
    }
    match kind {
        Kind::Text => match tape.number(8) {
            0 => format!("lower({})", sub(tape, Kind::Text)),
            1 => format!(
                "substr({}, {})",
                sub(tape, Kind::Text),
                sub(tape, Kind::Number)
            ),
            2 => format!("({} || {})", sub(tape, Kind::Text), sub(tape, Kind::Text)),
            3 => format!(
                "coalesce({}, {})",
                sub(tape, Kind::Text),
                sub(tape, Kind::Text)
            ),
            4 => format!(
                "CASE WHEN {} THEN {} ELSE {} END",
                sub(tape, Kind::Bool),
                sub(tape, Kind::Text),
                sub(tape, Kind::Text)
            ),
            5 => format!("json_extract_scalar({}, '$.a[0]')", sub(tape, Kind::Text)),
            6 => format!(
                "split_part({}, '.', {})",
                sub(tape, Kind::Text),
                sub(tape, Kind::Number)
            ),
            _ => format!("CAST({} AS varchar)", sub(tape, Kind::Time)),
        },
        Kind::Number => match tape.number(5) {
            0 => format!(
                "({} {} {})",
                sub(tape, Kind::Number),
                tape.pick(&["+", "-", "*", "/", "%"]),
                sub(tape, Kind::Number)
            ),
            1 => format!("abs({})", sub(tape, Kind::Number)),
            2 => format!("TRY_CAST({} AS bigint)", sub(tape, Kind::Text)),
            3 => format!(
                "strpos({}, {})",
                sub(tape, Kind::Text),
                sub(tape, Kind::Text)
            ),
            _ => format!(
                "date_diff('minute', {}, {})",
                sub(tape, Kind::Time),
                sub(tape, Kind::Time)
            ),
        },
        Kind::Bool => match tape.number(8) {
            0 => format!(
                "({} {} {})",
                sub(tape, Kind::Text),
                tape.pick(&["=", "<>", "<", ">="]),
                sub(tape, Kind::Text)
            ),
            1 => format!("({} LIKE {})", sub(tape, Kind::Text), sub(tape, Kind::Text)),
            2 => format!(
                "({} IN ({}, 'x'))",
                sub(tape, Kind::Text),
                sub(tape, Kind::Text)
            ),
            3 => format!(
                "({} BETWEEN {} AND {})",
                sub(tape, Kind::Number),
                sub(tape, Kind::Number),
                sub(tape, Kind::Number)
            ),
            4 => format!("(NOT {})", sub(tape, Kind::Bool)),
            5 => format!(
                "({} {} {})",
                sub(tape, Kind::Bool),
                tape.pick(&["AND", "OR"]),
                sub(tape, Kind::Bool)
            ),
            6 => format!("({} IS NULL)", sub(tape, Kind::Text)),
            _ => format!(
                "({} {} {})",
                sub(tape, Kind::Time),
                tape.pick(&[">", "<=", "="]),
                tape.pick(&[
                    "'2024-05-01 10:00:00'",
                    "'2024-05-01'",
                    "TIMESTAMP '2024-05-01 10:00:00 UTC'"
                ])
            ),
        },
        Kind::Time => match tape.number(2) {
            0 => format!(
                "date_trunc('{}', {})",
                tape.pick(&["hour", "day", "week", "month", "year"]),
                sub(tape, Kind::Time)
            ),
            _ => format!(
                "date_add('day', {}, {})",
                sub(tape, Kind::Number),
                sub(tape, Kind::Time)
            ),
        },
    }
}

/// A query of random typed expressions in one of a few shapes.
fn query() -> impl Strategy<Value = String> {
    prop::collection::vec(any::<u32>(), 64).prop_map(|choices| {
        let tape = &mut Tape {
            choices: &choices,
            at: 0,
        };
        let kinds = [Kind::Text, Kind::Number, Kind::Bool, Kind::Time];
        let any_kind = |tape: &mut Tape<'_>| {
            let kind = kinds.get(tape.number(kinds.len())).copied().unwrap_or(Kind::Text);
            expression(tape, kind, 3)
        };
        let first = any_kind(tape);
        let second = any_kind(tape);
        let filter = expression(tape, Kind::Bool, 3);
        let limit = tape.number(4);
        match tape.number(3) {
            0 => format!(
                "SELECT {first}, {second} FROM eds-1 WHERE {filter} ORDER BY 2 DESC, 1 LIMIT {limit}"
            ),
            1 => format!(
                "SELECT {first}, count(*), max({second}), count(DISTINCT {second}) FROM eds-1 \
                 WHERE {filter} GROUP BY 1 HAVING count(*) > {limit} ORDER BY 2 DESC, 1 NULLS FIRST"
            ),
            _ => format!("SELECT DISTINCT {first} FROM eds-1 WHERE {filter} ORDER BY 1 OFFSET 1"),
        }
    })
}

/// Free soup, or random expressions in the shape of a query.
fn statement() -> impl Strategy<Value = String> {
    prop_oneof![words(0..40), query()]
}

fn record() -> serde_json::Value {
    json!({
        "eventVersion": "1.09",
        "userIdentity": {"type": "IAMUser", "arn": "arn:aws:iam::111122223333:user/alice",
                         "sessionContext": {"attributes": {"creationDate": "2024-05-01T00:00:00Z"}}},
        "eventTime": "2024-05-01T10:00:00Z", "eventName": "CreateBucket",
        "requestParameters": {"bucketName": "b", "nested": {"a": [1, 2]}},
        "resources": [{"ARN": "arn:aws:s3:::b", "type": "AWS::S3::Bucket"}],
        "readOnly": false, "errorCode": null
    })
}

fn run(text: &str) {
    let parameters = ["2024-05-01 00:00:00".to_owned(), "x".to_owned()];
    for parameters in [&parameters[..], &parameters[..1], &[]] {
        if let Ok(statement) = parse(text, parameters) {
            let _ = statement.event_time_bounds();
            let mut execution = statement.execute_at(1_714_867_200_000);
            if execution.add(&record()).is_ok() && execution.add(&json!({})).is_ok() {
                let _ = execution.finish();
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn sql_word_soup_never_panics(text in statement()) {
        run(&text);
    }

    #[test]
    fn arbitrary_text_never_panics(text in "\\PC{0,200}") {
        run(&text);
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..200)) {
        run(&String::from_utf8_lossy(&bytes));
    }
}

#[test]
fn generated_queries_often_reach_execution() {
    use proptest::strategy::ValueTree;
    use proptest::test_runner::TestRunner;

    let mut runner = TestRunner::deterministic();
    let strategy = query();
    let runs = (0..500)
        .filter(|_| {
            let text = strategy.new_tree(&mut runner).unwrap().current();
            parse(&text, &[]).is_ok_and(|statement| {
                let mut execution = statement.execute_at(0);
                execution.add(&record()).is_ok() && execution.finish().is_ok()
            })
        })
        .count();
    assert!(runs >= 300, "only {runs} of 500 generated queries ran");
}

#[test]
fn well_formed_soup_reaches_execution() {
    // A sanity check that the soup can produce statements that run at all.
    let statement = parse(
        "SELECT eventName , count ( * ) FROM eds-1 WHERE eventTime >= '?' GROUP BY eventName",
        &["2024-05-01 00:00:00".to_owned()],
    )
    .unwrap();
    let mut execution = statement.execute();
    execution.add(&record()).unwrap();
    let result = execution.finish().unwrap();
    assert_eq!(
        result.rows,
        [[Some("CreateBucket".to_owned()), Some("1".to_owned())]]
    );
}
