//! Lake queries over a handful of realistic CloudTrail records: exact columns and rows for each
//! part of the SQL subset, the time range a `WHERE` implies, and the refusals.

#![allow(
    clippy::unwrap_used,
    clippy::panic,
    reason = "tests: a failure is a failed test"
)]

use palisade_lake_query::{MAX_NESTING_DEPTH, MAX_STATEMENT_LENGTH, ResultSet, parse};
use serde_json::{Value, json};

const EDS: &str = "EXAMPLE-f852-4e8f-8bd1-bcf6cEXAMPLE";

/// 2024-05-05 00:00:00 UTC.
const NOW_MILLIS: i64 = 1_714_867_200_000;

fn alice() -> Value {
    json!({
        "type": "IAMUser",
        "principalId": "AIDAEXAMPLEALICE",
        "arn": "arn:aws:iam::111122223333:user/alice",
        "accountId": "111122223333",
        "accessKeyId": "AKIAEXAMPLEALICE",
        "userName": "alice"
    })
}

fn admin_role() -> Value {
    json!({
        "type": "AssumedRole",
        "principalId": "AROAEXAMPLEADMIN:bob",
        "arn": "arn:aws:sts::111122223333:assumed-role/Admin/bob",
        "accountId": "111122223333",
        "accessKeyId": "ASIAEXAMPLEBOB",
        "sessionContext": {
            "sessionIssuer": {
                "type": "Role",
                "principalId": "AROAEXAMPLEADMIN",
                "arn": "arn:aws:iam::111122223333:role/Admin",
                "accountId": "111122223333",
                "userName": "Admin"
            },
            "attributes": {"creationDate": "2024-05-01T09:00:00Z", "mfaAuthenticated": "true"}
        }
    })
}

fn events() -> Vec<Value> {
    vec![
        json!({
            "eventVersion": "1.09", "userIdentity": alice(),
            "eventTime": "2024-05-01T10:00:00Z", "eventSource": "s3.amazonaws.com",
            "eventName": "CreateBucket", "awsRegion": "us-east-1",
            "sourceIPAddress": "192.0.2.10", "userAgent": "aws-cli/2.15.0",
            "requestParameters": {"Host": "logs-bucket.s3.amazonaws.com", "bucketName": "logs-bucket"},
            "responseElements": null, "requestID": "R1", "eventID": "E1", "readOnly": false,
            "resources": [{"accountId": "111122223333", "type": "AWS::S3::Bucket", "ARN": "arn:aws:s3:::logs-bucket"}],
            "eventType": "AwsApiCall", "managementEvent": true,
            "recipientAccountId": "111122223333", "eventCategory": "Management",
            "tlsDetails": {"tlsVersion": "TLSv1.3", "cipherSuite": "TLS_AES_128_GCM_SHA256",
                           "clientProvidedHostHeader": "logs-bucket.s3.amazonaws.com"}
        }),
        json!({
            "eventVersion": "1.09", "userIdentity": admin_role(),
            "eventTime": "2024-05-01T11:30:00Z", "eventSource": "ec2.amazonaws.com",
            "eventName": "DescribeInstances", "awsRegion": "eu-west-1",
            "sourceIPAddress": "198.51.100.7", "userAgent": "console.amazonaws.com",
            "requestParameters": {"filterSet": {}, "maxResults": 5},
            "responseElements": null, "requestID": "R2", "eventID": "E2", "readOnly": true,
            "eventType": "AwsApiCall", "managementEvent": true,
            "recipientAccountId": "111122223333", "eventCategory": "Management"
        }),
        json!({
            "eventVersion": "1.09", "userIdentity": alice(),
            "eventTime": "2024-05-02T09:15:00Z", "eventSource": "s3.amazonaws.com",
            "eventName": "CreateBucket", "awsRegion": "us-east-1",
            "sourceIPAddress": "192.0.2.10", "userAgent": "aws-cli/2.15.0",
            "errorCode": "BucketAlreadyExists",
            "errorMessage": "The requested bucket name is not available",
            "requestParameters": {"bucketName": "logs-bucket"},
            "responseElements": null, "requestID": "R3", "eventID": "E3", "readOnly": false,
            "eventType": "AwsApiCall", "managementEvent": true,
            "recipientAccountId": "111122223333", "eventCategory": "Management"
        }),
        json!({
            "eventVersion": "1.08",
            "userIdentity": {"type": "AWSService", "invokedBy": "cloudtrail.amazonaws.com"},
            "eventTime": "2024-05-02T12:00:00Z", "eventSource": "sts.amazonaws.com",
            "eventName": "AssumeRole", "awsRegion": "us-east-1",
            "sourceIPAddress": "cloudtrail.amazonaws.com", "userAgent": "cloudtrail.amazonaws.com",
            "requestParameters": {"roleArn": "arn:aws:iam::111122223333:role/Trail",
                                  "roleSessionName": "trail"},
            "requestID": "R4", "eventID": "E4", "readOnly": true,
            "resources": [{"accountId": "111122223333", "type": "AWS::IAM::Role",
                           "ARN": "arn:aws:iam::111122223333:role/Trail"}],
            "eventType": "AwsApiCall", "managementEvent": true,
            "recipientAccountId": "111122223333", "sharedEventID": "S4",
            "eventCategory": "Management"
        }),
        json!({
            "eventVersion": "1.08",
            "userIdentity": {"type": "Root", "principalId": "111122223333",
                             "arn": "arn:aws:iam::111122223333:root", "accountId": "111122223333"},
            "eventTime": "2024-05-03T08:00:00Z", "eventSource": "signin.amazonaws.com",
            "eventName": "ConsoleLogin", "awsRegion": "us-east-1",
            "sourceIPAddress": "203.0.113.5", "userAgent": "Mozilla/5.0",
            "errorMessage": "Failed authentication", "requestParameters": null,
            "responseElements": {"ConsoleLogin": "Failure"},
            "additionalEventData": {"LoginTo": "https://console.aws.amazon.com/", "MFAUsed": "No"},
            "eventID": "E5", "readOnly": false, "eventType": "AwsConsoleSignIn",
            "managementEvent": true, "recipientAccountId": "111122223333",
            "eventCategory": "Management"
        }),
        json!({
            "eventVersion": "1.09", "userIdentity": admin_role(),
            "eventTime": "2024-05-03T14:45:30.250Z", "eventSource": "ec2.amazonaws.com",
            "eventName": "DescribeInstances", "awsRegion": "eu-west-1",
            "sourceIPAddress": "198.51.100.7", "userAgent": "console.amazonaws.com",
            "errorCode": "Client.UnauthorizedOperation",
            "errorMessage": "You are not authorized to perform this operation.",
            "requestParameters": {"maxResults": 1000},
            "requestID": "R6", "eventID": "E6", "readOnly": true,
            "eventType": "AwsApiCall", "managementEvent": true,
            "recipientAccountId": "111122223333", "eventCategory": "Management"
        }),
        json!({
            "eventVersion": "1.09", "userIdentity": alice(),
            "eventTime": "2024-05-04T00:00:00Z", "eventSource": "ec2.amazonaws.com",
            "eventName": "DescribeInstances", "awsRegion": "us-east-1",
            "sourceIPAddress": "192.0.2.10", "userAgent": "aws-cli/2.15.0",
            "requestParameters": {"maxResults": 50},
            "requestID": "R7", "eventID": "E7", "readOnly": true,
            "eventType": "AwsApiCall", "managementEvent": true,
            "recipientAccountId": "111122223333", "eventCategory": "Management"
        }),
    ]
}

fn run_with(sql: &str, parameters: &[&str]) -> ResultSet {
    let parameters: Vec<String> = parameters.iter().map(|p| (*p).to_owned()).collect();
    let statement = parse(sql, &parameters).unwrap_or_else(|error| panic!("{sql}: {error}"));
    assert_eq!(statement.source(), EDS);
    let mut execution = statement.execute_at(NOW_MILLIS);
    for event in events() {
        execution.add(&event).unwrap();
    }
    execution.finish().unwrap()
}

fn run(sql: &str) -> ResultSet {
    run_with(sql, &[])
}

/// The rows with NULL shown as `NULL`.
fn rows(sql: &str) -> Vec<Vec<String>> {
    shown(&run(sql))
}

fn shown(result: &ResultSet) -> Vec<Vec<String>> {
    result
        .rows
        .iter()
        .map(|row| {
            row.iter()
                .map(|cell| cell.clone().unwrap_or_else(|| "NULL".to_owned()))
                .collect()
        })
        .collect()
}

fn table(rows: &[&[&str]]) -> Vec<Vec<String>> {
    rows.iter()
        .map(|row| row.iter().map(|cell| (*cell).to_owned()).collect())
        .collect()
}

/// The IDs of the events `condition` keeps, in ID order.
fn ids(condition: &str) -> Vec<String> {
    rows(&format!(
        "SELECT eventID FROM {EDS} WHERE {condition} ORDER BY eventID"
    ))
    .into_iter()
    .flatten()
    .collect()
}

fn error(sql: &str) -> String {
    parse(sql, &[]).unwrap_err().to_string()
}

#[test]
fn projects_nested_fields_with_trino_column_names() {
    let result = run(&format!(
        "SELECT eventName, userIdentity.arn, \
                userIdentity.sessionContext.sessionIssuer.userName AS issuer, eventTime, \
                readOnly, lower(eventSource), userIdentity.sessionContext.attributes.creationDate \
         FROM {EDS} WHERE eventID = 'E2'"
    ));
    assert_eq!(
        result.columns,
        [
            "eventName",
            "arn",
            "issuer",
            "eventTime",
            "readOnly",
            "_col5",
            "creationDate"
        ]
    );
    assert_eq!(
        shown(&result),
        table(&[&[
            "DescribeInstances",
            "arn:aws:sts::111122223333:assumed-role/Admin/bob",
            "Admin",
            "2024-05-01 11:30:00.000",
            "true",
            "ec2.amazonaws.com",
            "2024-05-01 09:00:00.000",
        ]])
    );
    assert_eq!((result.events_scanned, result.events_matched), (7, 1));
}

#[test]
fn filters_with_each_comparison_operator() {
    assert_eq!(ids("eventName = 'AssumeRole'"), ["E4"]);
    assert_eq!(
        ids("eventName != 'DescribeInstances' AND eventSource <> 's3.amazonaws.com'"),
        ["E4", "E5"]
    );
    assert_eq!(ids("eventID < 'E3'"), ["E1", "E2"]);
    assert_eq!(ids("eventID <= 'E3'"), ["E1", "E2", "E3"]);
    assert_eq!(ids("eventID > 'E5'"), ["E6", "E7"]);
    assert_eq!(ids("eventID >= 'E5' AND NOT readOnly"), ["E5"]);
    assert_eq!(
        ids("readOnly = false OR (awsRegion = 'eu-west-1' AND errorCode IS NULL)"),
        ["E1", "E2", "E3", "E5"]
    );
    assert_eq!(ids("cardinality(resources) >= 1"), ["E1", "E4"]);
    assert_eq!(
        ids("CAST(element_at(requestParameters, 'maxResults') AS bigint) * 2 > 99"),
        ["E6", "E7"]
    );
    assert_eq!(
        ids("userIdentity.type IS DISTINCT FROM 'IAMUser'"),
        ["E2", "E4", "E5", "E6"]
    );
}

#[test]
fn matches_like_patterns() {
    assert_eq!(ids("eventSource LIKE 's3.%'"), ["E1", "E3"]);
    assert_eq!(ids("userIdentity.arn LIKE '%:user/%'"), ["E1", "E3", "E7"]);
    assert_eq!(
        ids("eventName LIKE 'Describe_nstances' AND awsRegion NOT LIKE 'eu-%'"),
        ["E7"]
    );
    assert_eq!(ids("errorCode LIKE 'Client.%' ESCAPE '!'"), ["E6"]);
    assert_eq!(
        ids("eventName LIKE '%!_%' ESCAPE '!'"),
        Vec::<String>::new()
    );
    assert_eq!(ids("errorCode LIKE ('Bucket' || '%')"), ["E3"]);
    assert_eq!(ids("errorCode LIKE 'Client._%'"), ["E6"]);
}

#[test]
fn filters_with_in_lists() {
    assert_eq!(
        ids("eventName IN ('AssumeRole', 'ConsoleLogin')"),
        ["E4", "E5"]
    );
    assert_eq!(
        ids("eventName NOT IN ('DescribeInstances', 'CreateBucket')"),
        ["E4", "E5"]
    );
    // NOT IN with a NULL in the list is never true.
    assert_eq!(
        ids("eventName NOT IN ('DescribeInstances', NULL)"),
        Vec::<String>::new()
    );
}

#[test]
fn filters_on_time_ranges_with_both_literal_forms() {
    let condition =
        "eventTime >= '2024-05-02 00:00:00' AND eventTime < TIMESTAMP '2024-05-03 00:00:00'";
    assert_eq!(ids(condition), ["E3", "E4"]);
    assert_eq!(
        ids("eventTime BETWEEN '2024-05-03' AND '2024-05-03 14:45:30.250'"),
        ["E5", "E6"]
    );
    assert_eq!(
        ids("eventTime > TIMESTAMP '2024-05-03 14:45:30.249'"),
        ["E6", "E7"]
    );
    assert_eq!(
        ids("eventTime > from_iso8601_timestamp('2024-05-03T16:00:00+02:00')"),
        ["E6", "E7"]
    );
    assert_eq!(
        ids("eventTime > date_add('day', -2, now())"),
        ["E5", "E6", "E7"]
    );
    assert_eq!(
        ids("date_trunc('day', eventTime) = TIMESTAMP '2024-05-01 00:00:00'"),
        ["E1", "E2"]
    );
}

#[test]
fn ranks_the_top_event_names() {
    let result = run(&format!(
        "SELECT eventName, count(*) AS events FROM {EDS} \
         GROUP BY eventName ORDER BY count(*) DESC LIMIT 2"
    ));
    assert_eq!(result.columns, ["eventName", "events"]);
    assert_eq!(
        shown(&result),
        table(&[&["DescribeInstances", "3"], &["CreateBucket", "2"]])
    );
    assert_eq!(
        rows(&format!(
            "SELECT eventName, count(*) FROM {EDS} GROUP BY 1 ORDER BY 2 DESC, 1 OFFSET 1 LIMIT 2"
        )),
        table(&[&["CreateBucket", "2"], &["AssumeRole", "1"]])
    );
}

#[test]
fn aggregates_groups_with_having() {
    let result = run(&format!(
        "SELECT userIdentity.type AS who, count(*), count(errorCode), count(DISTINCT eventName), \
                min(eventTime), max(eventID), sum(length(eventName)), \
                avg(CAST(element_at(requestParameters, 'maxResults') AS double)) \
         FROM {EDS} GROUP BY userIdentity.type HAVING count(*) > 1 ORDER BY who"
    ));
    assert_eq!(
        result.columns,
        [
            "who", "_col1", "_col2", "_col3", "_col4", "_col5", "_col6", "_col7"
        ]
    );
    assert_eq!(
        shown(&result),
        table(&[
            &[
                "AssumedRole",
                "2",
                "1",
                "1",
                "2024-05-01 11:30:00.000",
                "E6",
                "34",
                "502.5"
            ],
            &[
                "IAMUser",
                "3",
                "1",
                "2",
                "2024-05-01 10:00:00.000",
                "E7",
                "41",
                "50.0"
            ],
        ])
    );
    // A global aggregate gives one row even when nothing matches.
    assert_eq!(
        rows(&format!(
            "SELECT count(*), sum(1), max(eventName) FROM {EDS} WHERE eventName = 'None'"
        )),
        table(&[&["0", "NULL", "NULL"]])
    );
    assert_eq!(
        rows(&format!(
            "SELECT date_trunc('day', eventTime) AS day, count(*) FROM {EDS} \
             GROUP BY date_trunc('day', eventTime) ORDER BY day DESC LIMIT 2"
        )),
        table(&[
            &["2024-05-04 00:00:00.000", "1"],
            &["2024-05-03 00:00:00.000", "2"]
        ])
    );
}

#[test]
fn selects_distinct_rows() {
    assert_eq!(
        rows(&format!(
            "SELECT DISTINCT userIdentity.type FROM {EDS} ORDER BY 1"
        )),
        table(&[&["AWSService"], &["AssumedRole"], &["IAMUser"], &["Root"]])
    );
    assert_eq!(
        rows(&format!(
            "SELECT DISTINCT eventSource, readOnly FROM {EDS} WHERE eventSource LIKE 'ec2%'"
        )),
        table(&[&["ec2.amazonaws.com", "true"]])
    );
}

#[test]
fn treats_missing_fields_as_null() {
    assert_eq!(ids("errorCode IS NULL"), ["E1", "E2", "E4", "E5", "E7"]);
    assert_eq!(ids("errorCode IS NOT NULL"), ["E3", "E6"]);
    assert_eq!(ids("errorCode = NULL"), Vec::<String>::new());
    assert_eq!(ids("NOT (errorCode = 'x')"), ["E3", "E6"]);
    assert_eq!(
        rows(&format!(
            "SELECT userIdentity.userName, coalesce(errorCode, 'none'), \
                    userIdentity.sessionContext.sessionIssuer.userName \
             FROM {EDS} WHERE eventID IN ('E2', 'E3')  ORDER BY eventID"
        )),
        table(&[
            &["NULL", "none", "Admin"],
            &["alice", "BucketAlreadyExists", "NULL"]
        ])
    );
    // ORDER BY puts NULLs last in either direction unless told otherwise.
    let order = |direction: &str| -> Vec<String> {
        rows(&format!(
            "SELECT eventID FROM {EDS} WHERE eventSource = 's3.amazonaws.com' \
                OR eventName = 'ConsoleLogin' ORDER BY errorCode {direction}, eventID"
        ))
        .into_iter()
        .flatten()
        .collect()
    };
    assert_eq!(order("ASC"), ["E3", "E1", "E5"]);
    assert_eq!(order("DESC"), ["E3", "E1", "E5"]);
    assert_eq!(order("DESC NULLS FIRST"), ["E1", "E5", "E3"]);
}

#[test]
fn substitutes_parameters_in_order() {
    let sql = format!(
        "SELECT eventID FROM {EDS} WHERE eventName = ? AND eventTime > '?' AND awsRegion = ?"
    );
    let result = run_with(&sql, &["CreateBucket", "2024-05-02 00:00:00", "us-east-1"]);
    assert_eq!(shown(&result), table(&[&["E3"]]));
    assert_eq!(
        parse(&sql, &["CreateBucket".to_owned()])
            .unwrap_err()
            .to_string(),
        "line 1:93: Incorrect number of parameters: the statement has more than the 1 given"
    );
    assert_eq!(
        parse(&format!("SELECT eventID FROM {EDS}"), &["x".to_owned()])
            .unwrap_err()
            .to_string(),
        "Incorrect number of parameters: expected 0 but found 1"
    );
    // Without parameters, '?' is an ordinary string.
    assert_eq!(ids("eventName = '?'"), Vec::<String>::new());
}

#[test]
fn derives_event_time_bounds_from_where() {
    let bounds = |condition: &str| {
        parse(&format!("SELECT * FROM {EDS} WHERE {condition}"), &[])
            .unwrap()
            .event_time_bounds()
    };
    let start = 1_714_521_600_000; // 2024-05-01 00:00:00
    let end = 1_714_608_000_000; // 2024-05-02 00:00:00
    assert_eq!(
        bounds("eventTime > '2024-05-01 00:00:00' AND eventTime < '2024-05-02 00:00:00'"),
        (Some(start + 1), Some(end - 1))
    );
    assert_eq!(
        bounds(
            "eventTime >= TIMESTAMP '2024-05-01' AND eventName = 'x' AND eventTime <= '2024-05-02'"
        ),
        (Some(start), Some(end))
    );
    assert_eq!(
        bounds("'2024-05-02' > eventTime AND eventTime BETWEEN '2024-05-01' AND '2024-05-03'"),
        (Some(start), Some(end - 1))
    );
    assert_eq!(
        bounds("eventTime > '2024-05-01' OR eventName = 'x'"),
        (None, None)
    );
    assert_eq!(
        bounds(
            "(eventTime >= '2024-05-01' AND eventTime < '2024-05-01 00:00:01') OR eventTime = '2024-05-02'"
        ),
        (Some(start), Some(end))
    );
    assert_eq!(bounds("NOT eventTime < '2024-05-01'"), (None, None));
    assert_eq!(
        bounds("eventTime > TIMESTAMP '2024-05-01 00:00:00.0005'"),
        (Some(start + 1), None)
    );
    assert_eq!(
        parse(&format!("SELECT * FROM {EDS}"), &[])
            .unwrap()
            .event_time_bounds(),
        (None, None)
    );
}

#[test]
fn selects_every_column_with_lake_rendering() {
    let result = run(&format!("SELECT * FROM {EDS} WHERE eventID = 'E1'"));
    assert_eq!(result.columns.len(), 32);
    assert_eq!(
        result.columns.get(..5).unwrap(),
        [
            "eventVersion",
            "userIdentity",
            "eventTime",
            "eventSource",
            "eventName"
        ]
    );
    let row: Vec<(String, Option<String>)> = result
        .columns
        .iter()
        .cloned()
        .zip(result.rows.first().unwrap().iter().cloned())
        .collect();
    let cell = |name: &str| {
        row.iter()
            .find(|(column, _)| column == name)
            .and_then(|(_, value)| value.clone())
    };
    assert_eq!(
        cell("requestParameters").as_deref(),
        Some("{Host=logs-bucket.s3.amazonaws.com, bucketName=logs-bucket}")
    );
    assert_eq!(
        cell("resources").as_deref(),
        Some(
            "[{accountid=111122223333, type=AWS::S3::Bucket, arn=arn:aws:s3:::logs-bucket, arnprefix=null}]"
        )
    );
    assert_eq!(
        cell("tlsDetails").as_deref(),
        Some(
            "{tlsversion=TLSv1.3, ciphersuite=TLS_AES_128_GCM_SHA256, clientprovidedhostheader=logs-bucket.s3.amazonaws.com}"
        )
    );
    assert_eq!(cell("readOnly").as_deref(), Some("false"));
    assert_eq!(cell("responseElements"), None);
    assert_eq!(cell("errorCode"), None);
    assert!(cell("userIdentity").unwrap().starts_with(
        "{type=IAMUser, principalid=AIDAEXAMPLEALICE, arn=arn:aws:iam::111122223333:user/alice"
    ));
}

#[test]
fn reads_maps_arrays_and_json() {
    assert_eq!(
        rows(&format!(
            "SELECT requestParameters['bucketName'], element_at(requestParameters, 'missing'), \
                    resources[1].arn, element_at(resources, 2), element_at(resources, -1).type, \
                    json_extract_scalar(eventJson, '$.userIdentity.userName') \
             FROM {EDS} WHERE eventID = 'E1'"
        )),
        table(&[&[
            "logs-bucket",
            "NULL",
            "arn:aws:s3:::logs-bucket",
            "NULL",
            "AWS::S3::Bucket",
            "alice"
        ]])
    );
    assert_eq!(
        rows(&format!(
            "SELECT element_at(requestParameters, 'filterSet'), requestParameters['maxResults'], \
                    cardinality(requestParameters), element_at(resources, 1) \
             FROM {EDS} WHERE eventID = 'E2'"
        )),
        table(&[&["{}", "5", "2", "NULL"]])
    );
    // A subscript outside the value fails the query, as Trino does.
    let statement = parse(
        &format!("SELECT requestParameters['bucketName'] FROM {EDS}"),
        &[],
    )
    .unwrap();
    let mut execution = statement.execute();
    let failures: Vec<String> = events()
        .iter()
        .filter_map(|event| execution.add(event).err())
        .map(|error| error.to_string())
        .collect();
    assert_eq!(
        failures.first().map(String::as_str),
        Some("Key not present in map: bucketName")
    );
}

#[test]
fn evaluates_scalar_functions() {
    assert_eq!(
        rows(&format!(
            "SELECT upper(userIdentity.userName) || '@' || substr(eventSource, 1, 2), \
                    concat(eventName, '/', awsRegion), length(eventName), \
                    strpos(userIdentity.arn, 'user'), split_part(eventSource, '.', 1), \
                    starts_with(eventName, 'Create'), if(readOnly, 'read', 'write'), \
                    CASE WHEN errorCode IS NULL THEN 'ok' ELSE 'failed' END, \
                    to_iso8601(eventTime), greatest(eventID, 'E2'), 7 / 2, 7 / 2.0, 1e7 \
             FROM {EDS} WHERE eventID = 'E3'"
        )),
        table(&[&[
            "ALICE@s3",
            "CreateBucket/us-east-1",
            "12",
            "27",
            "s3",
            "true",
            "write",
            "failed",
            "2024-05-02T09:15:00.000",
            "E3",
            "3",
            "3.5",
            "1.0E7",
        ]])
    );
    assert_eq!(
        rows(&format!(
            "SELECT now(), date_diff('hour', eventTime, current_timestamp), \
                    TIMESTAMP '2024-01-01 00:00:00', eventTime \
             FROM {EDS} WHERE eventID = 'E6'"
        )),
        table(&[&[
            "2024-05-05 00:00:00.000 UTC",
            "33",
            "2024-01-01 00:00:00",
            "2024-05-03 14:45:30.250",
        ]])
    );
}

#[test]
fn fails_at_run_time_like_trino() {
    let statement = parse(
        &format!("SELECT 1 / (length(eventName) - 12) FROM {EDS}"),
        &[],
    )
    .unwrap();
    let mut execution = statement.execute();
    let error = events()
        .iter()
        .find_map(|event| execution.add(event).err())
        .unwrap();
    assert_eq!(error.to_string(), "Division by zero");
    let needs_clock = parse(&format!("SELECT now() FROM {EDS}"), &[]).unwrap();
    let mut execution = needs_clock.execute();
    assert!(execution.add(&events()[0]).is_err());
}

#[test]
fn refuses_what_lake_or_this_engine_does_not_run() {
    let cases = [
        (
            format!("SELECT foo(eventName) FROM {EDS}"),
            "line 1:8: Function 'foo' not registered",
        ),
        (
            format!("SELECT eventNam FROM {EDS}"),
            "line 1:8: Column 'eventNam' cannot be resolved",
        ),
        (
            format!("SELECT userIdentity.nope FROM {EDS}"),
            "line 1:8: Column 'userIdentity.nope' cannot be resolved",
        ),
        (
            format!("SELECT requestParameters.bucketName FROM {EDS}"),
            "line 1:8: Expression requestParameters is not of type ROW",
        ),
        (
            format!("SELECT eventName FROM {EDS} WHERE"),
            "line 1:64: mismatched input '<EOF>'. Expecting: <expression>",
        ),
        (
            format!("SELECT eventName, FROM {EDS}"),
            "line 1:19: mismatched input 'FROM'. Expecting: <expression>",
        ),
        (
            format!("SELECT eventName FROM {EDS}, other"),
            "line 1:58: Joins are not supported: a query reads one event data store",
        ),
        (
            format!("SELECT eventName FROM {EDS} JOIN other ON true"),
            "line 1:59: Joins are not supported: a query reads one event data store",
        ),
        (
            format!("SELECT eventName FROM {EDS} UNION SELECT eventName FROM other"),
            "line 1:59: UNION is not supported: a query reads one event data store",
        ),
        (
            format!("SELECT eventName FROM {EDS} FROM other"),
            "line 1:59: mismatched input 'FROM'. Expecting: <EOF>",
        ),
        (
            format!("SELECT eventName FROM (SELECT * FROM {EDS})"),
            "line 1:23: Subqueries are not supported",
        ),
        (
            "SELECT eventName".to_owned(),
            "line 1:17: The query must name an event data store after FROM",
        ),
        (
            format!("SELECT eventName FROM {EDS} WHERE count(*) > 1"),
            "line 1:65: WHERE clause cannot contain aggregations, window functions or grouping operations: [count(*)]",
        ),
        (
            format!("SELECT eventName, count(*) FROM {EDS}"),
            "line 1:8: 'eventName' must be an aggregate expression or appear in GROUP BY clause",
        ),
        (
            format!("SELECT eventName FROM {EDS} WHERE readOnly = 'true'"),
            "line 1:65: Cannot apply operator: boolean = varchar",
        ),
        (
            format!("SELECT eventName FROM {EDS} WHERE requestParameters LIKE '%x%'"),
            "line 1:65: Left side of LIKE expression must evaluate to a varchar (actual: map(varchar, varchar))",
        ),
        (
            format!("SELECT eventName FROM {EDS} WHERE eventTime > 'yesterday'"),
            "line 1:77: Value cannot be cast to timestamp: yesterday",
        ),
        (
            format!("SELECT eventName FROM {EDS} WHERE eventName"),
            "line 1:65: WHERE clause must evaluate to a boolean: actual type varchar",
        ),
        (
            format!("SELECT eventName FROM {EDS} ORDER BY 2"),
            "line 1:68: ORDER BY position 2 is not in select list",
        ),
        (
            format!("SELECT DISTINCT eventName FROM {EDS} ORDER BY eventTime"),
            "line 1:77: For SELECT DISTINCT, ORDER BY expressions must appear in select list",
        ),
        (
            format!("SELECT sum(eventName) FROM {EDS}"),
            "line 1:8: Unexpected parameters (varchar) for function sum. Expected: sum(bigint), sum(double)",
        ),
        (
            format!("SELECT eventjsonchecksum FROM {EDS}"),
            "line 1:8: Column 'eventjsonchecksum' is not supported by this server",
        ),
        (
            format!("SELECT rank() OVER (ORDER BY eventTime) FROM {EDS}"),
            "line 1:15: Window functions are not supported",
        ),
        (
            format!("DELETE FROM {EDS}"),
            "line 1:1: mismatched input 'DELETE'. Expecting: 'SELECT'",
        ),
        (
            format!("SELECT eventName FROM {EDS} WHERE eventTime > current_date"),
            "line 1:77: CURRENT_DATE is not supported",
        ),
        (
            "SELECT 'open FROM x".to_owned(),
            "line 1:8: token recognition error at: ''open FROM x'",
        ),
    ];
    for (sql, expected) in cases {
        assert_eq!(error(&sql), expected, "{sql}");
    }
}

#[test]
fn accepts_store_ids_arns_quoting_and_aliases() {
    for (from, source) in [
        (
            "4e8b9c0d-0a1b-4c2d-8e3f-0123456789ab",
            "4e8b9c0d-0a1b-4c2d-8e3f-0123456789ab",
        ),
        (
            "arn:aws:cloudtrail:us-east-1:111122223333:eventdatastore/EXAMPLE-f852",
            "arn:aws:cloudtrail:us-east-1:111122223333:eventdatastore/EXAMPLE-f852",
        ),
        ("\"EXAMPLE-f852\" AS e", "EXAMPLE-f852"),
        ("EXAMPLE-f852 e", "EXAMPLE-f852"),
    ] {
        let statement = parse(&format!("SELECT eventName FROM {from} LIMIT 1;"), &[]).unwrap();
        assert_eq!(statement.source(), source);
    }
    assert_eq!(
        rows(&format!(
            "SELECT e.eventID, e.userIdentity.userName FROM {EDS} AS e \
             WHERE e.eventName = 'AssumeRole' -- the service's own calls\n"
        )),
        table(&[&["E4", "NULL"]])
    );
}

#[test]
fn bounds_statement_length_and_nesting() {
    let long = format!(
        "SELECT eventName FROM {EDS} WHERE eventName = '{}'",
        "x".repeat(MAX_STATEMENT_LENGTH)
    );
    assert_eq!(
        error(&long),
        "Query statement exceeds the maximum length of 10000 characters"
    );
    let nested = |depth: usize| {
        format!(
            "SELECT eventName FROM {EDS} WHERE {}eventName = 'x'{}",
            "(".repeat(depth),
            ")".repeat(depth)
        )
    };
    assert!(parse(&nested(MAX_NESTING_DEPTH - 2), &[]).is_ok());
    assert!(error(&nested(2000)).contains("Expression is nested more than 32 levels deep"));
    let negations = format!(
        "SELECT eventName FROM {EDS} WHERE {}true",
        "NOT ".repeat(2000)
    );
    assert!(error(&negations).contains("nested more than"));
    let chain = format!("SELECT 1{} FROM {EDS}", " + 1".repeat(500));
    assert!(error(&chain).contains("nested more than"));
    // The deepest statements accepted parse, analyze and run within a test thread's stack.
    for (open, leaf, close) in [
        ("coalesce(", "eventName", ", 'x')"),
        ("CASE WHEN true THEN ", "eventName", " END"),
        ("NOT ", "readOnly", ""),
        ("- ", "1", ""),
        ("(", "1", " + 1)"),
    ] {
        let depth = MAX_NESTING_DEPTH - 2;
        let deep = format!(
            "SELECT {}{leaf}{} FROM {EDS}",
            open.repeat(depth),
            close.repeat(depth)
        );
        let statement = parse(&deep, &[]).unwrap_or_else(|error| panic!("{deep}: {error}"));
        let mut execution = statement.execute();
        for event in events() {
            execution.add(&event).unwrap();
        }
        assert_eq!(execution.finish().unwrap().rows.len(), 7);
    }
    // Long AND/OR chains stay flat, as real queries write them.
    let alternatives: Vec<String> = (0..300).map(|n| format!("eventName = 'N{n}'")).collect();
    let wide = format!(
        "SELECT eventName FROM {EDS} WHERE {}",
        alternatives.join(" OR ")
    );
    assert!(parse(&wide, &[]).is_ok());
}
