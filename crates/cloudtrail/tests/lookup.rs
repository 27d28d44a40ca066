//! `LookupEvents` by each lookup attribute, over records an earlier build stored (found through
//! the backfilled attribute index, or by their ids' entries) and records this build stores
//! (indexed as they are copied; found by event id without an entry): every page, put together,
//! is exactly the matching records, newest first, within the time range.

#![allow(
    clippy::unwrap_used,
    clippy::indexing_slicing,
    reason = "tests: a failure is a failed test"
)]

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use palisade_audit::{
    AuditLog, AuditRecord, CallOutcome, KEYSPACE, RecordDetails, RecordResource, attributes,
    history,
};
use palisade_cloudtrail::CloudTrailState;
use palisade_core::clock::ManualClock;
use palisade_core::value::Timestamp;
use palisade_core::{AccountId, Principal, PrincipalKind, Region, RequestContext};
use palisade_model_cloudtrail::Cloudtrail;
use palisade_model_cloudtrail::types::{LookupAttribute, LookupAttributeKey, LookupEventsRequest};
use palisade_store::{Store, StoreConfig, Transaction, Value};
use serde_json::{Value as Json, json};

const ACCOUNT: &str = "111122223333";
const REGION: &str = "us-east-1";
/// 2024-03-01T00:00:00Z, in milliseconds.
const NOW: i64 = 1_709_251_200_000;

fn at(millis: i64) -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_millis(u64::try_from(millis).unwrap())
}

fn key_arn(key: usize) -> String {
    format!("arn:aws:kms:{REGION}:{ACCOUNT}:key/key-{key}")
}

fn user(i: usize) -> String {
    format!("user-{}", i % 3)
}

fn operation(i: usize) -> &'static str {
    ["Decrypt", "ListKeys", "CreateKey"][i % 3]
}

/// What an earlier build stored for call `i`: the record alone, under a random (version 4) id.
fn old_record(i: usize) -> (String, Json) {
    let id = format!("{i:08x}-0000-4000-8000-000000000000");
    let millis = NOW - 7_200_000 + i64::try_from(i).unwrap() * 10_000;
    let record = json!({
        "eventID": id,
        "eventName": operation(i),
        "eventSource": "kms.amazonaws.com",
        "readOnly": operation(i) != "CreateKey",
        "userIdentity": {"type": "IAMUser", "userName": user(i), "accessKeyId": format!("AKIA{}", i % 3)},
        "resources": [{"type": "AWS::KMS::Key", "ARN": key_arn(i % 4)}],
    });
    (history::key(ACCOUNT, REGION, millis, &id), record)
}

/// Call `i` as the pipeline records it now.
async fn record_call(audit: &AuditLog, i: usize) {
    let name = user(i);
    let ctx = RequestContext {
        request_id: format!("request-{i}"),
        principal: Principal {
            account: AccountId::parse(ACCOUNT).unwrap(),
            arn: format!("arn:aws:iam::{ACCOUNT}:user/{name}"),
            user_id: format!("AIDA{i}"),
            kind: PrincipalKind::User { name },
            access_key_id: format!("AKIA{}", i % 3),
            tags: Vec::new(),
        },
        region: Region::parse(REGION).unwrap(),
        source_ip: "127.0.0.1".parse().unwrap(),
        user_agent: "tests".to_owned(),
        time: at(NOW - 3_600_000 + i64::try_from(i).unwrap() * 10_000),
        secure_transport: false,
    };
    let record = AuditRecord::for_call(
        &ctx,
        &palisade_model_kms::MODEL,
        operation(i),
        None,
        CallOutcome::Success(None),
    )
    .with_details(RecordDetails {
        resources: vec![RecordResource {
            account_id: ACCOUNT.to_owned(),
            kind: "AWS::KMS::Key",
            arn: key_arn(i % 4),
        }],
        additional_event_data: None,
    });
    audit.record(&record).await.unwrap();
}

struct Setup {
    state: CloudTrailState,
    store: Store,
    _dir: tempfile::TempDir,
}

/// 90 records an earlier build stored, then 90 this build records.
async fn setup() -> Setup {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&StoreConfig::Embedded {
        data_dir: dir.path().to_owned(),
    })
    .await
    .unwrap();
    let mut transaction = Transaction::new();
    for i in 0..90 {
        let (key, record) = old_record(i);
        transaction = transaction.put(
            KEYSPACE,
            &key,
            Value::Plain(record.to_string().into_bytes()),
        );
    }
    store.commit(transaction).await.unwrap();
    let audit = AuditLog::open(&dir.path().join("audit"), Arc::new(store.clone())).unwrap();
    for i in 0..90 {
        record_call(&audit, i).await;
    }
    audit.backfilled().await;
    audit.flush().await;
    let clock = Arc::new(ManualClock::new(at(NOW)));
    Setup {
        state: CloudTrailState::new(store.clone(), clock, audit),
        store,
        _dir: dir,
    }
}

fn ctx() -> RequestContext {
    RequestContext {
        request_id: "lookup".to_owned(),
        principal: Principal::root(AccountId::parse(ACCOUNT).unwrap(), "AKIAROOT"),
        region: Region::parse(REGION).unwrap(),
        source_ip: "127.0.0.1".parse().unwrap(),
        user_agent: "tests".to_owned(),
        time: at(NOW),
        secure_transport: false,
    }
}

/// The ids of every page of `request`, `page_size` at a time, in order.
async fn all_pages(state: &CloudTrailState, mut request: LookupEventsRequest) -> Vec<String> {
    request.max_results = Some(7);
    let mut ids = Vec::new();
    loop {
        let page = state.lookup_events(&ctx(), request.clone()).await.unwrap();
        ids.extend(
            page.events
                .unwrap()
                .into_iter()
                .map(|event| event.event_id.unwrap()),
        );
        match page.next_token {
            Some(token) => request.next_token = Some(token),
            None => return ids,
        }
    }
}

/// The ids of the stored records that `keep` keeps, newest first.
async fn expected(store: &Store, keep: impl Fn(&Json) -> bool) -> Vec<String> {
    store
        .scan(KEYSPACE, &history::prefix(ACCOUNT, REGION), None, 10_000)
        .await
        .unwrap()
        .into_iter()
        .map(|(_, entry)| serde_json::from_slice::<Json>(entry.value.bytes()).unwrap())
        .filter(|record| keep(record))
        .map(|record| record["eventID"].as_str().unwrap().to_owned())
        .collect()
}

fn by(key: LookupAttributeKey, value: &str) -> LookupEventsRequest {
    LookupEventsRequest {
        lookup_attributes: Some(vec![LookupAttribute {
            attribute_key: key,
            attribute_value: value.to_owned(),
        }]),
        ..LookupEventsRequest::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_attribute_pages_through_old_and_new_records_alike() {
    let Setup { state, store, _dir } = setup().await;
    let arn = key_arn(1);
    let cases = [
        (LookupAttributeKey::EventName, "Decrypt", "/eventName"),
        (LookupAttributeKey::ReadOnly, "false", ""),
        (
            LookupAttributeKey::Username,
            "user-2",
            "/userIdentity/userName",
        ),
        (
            LookupAttributeKey::AccessKeyId,
            "AKIA1",
            "/userIdentity/accessKeyId",
        ),
        (
            LookupAttributeKey::EventSource,
            "kms.amazonaws.com",
            "/eventSource",
        ),
        (
            LookupAttributeKey::ResourceType,
            "AWS::KMS::Key",
            "/resources/0/type",
        ),
        (
            LookupAttributeKey::ResourceName,
            arn.as_str(),
            "/resources/0/ARN",
        ),
    ];
    for (key, value, pointer) in cases {
        let want = expected(&store, |record| match pointer {
            "" => record["readOnly"] == json!(value == "true"),
            pointer => record.pointer(pointer).and_then(Json::as_str) == Some(value),
        })
        .await;
        assert!(want.len() > 14, "{key:?}: {}", want.len());
        assert_eq!(
            all_pages(&state, by(key.clone(), value)).await,
            want,
            "{key:?}"
        );
    }
    let everything = expected(&store, |_| true).await;
    assert_eq!(everything.len(), 180);
    assert_eq!(
        all_pages(&state, LookupEventsRequest::default()).await,
        everything
    );

    // A time range ending among the new records and starting among the old.
    let (start, end) = (NOW - 6_600_000, NOW - 3_300_000);
    let mut ranged = by(LookupAttributeKey::Username, "user-0");
    ranged.start_time = Some(Timestamp::from_millis(start));
    ranged.end_time = Some(Timestamp::from_millis(end));
    let want = expected(&store, |record| {
        record["userIdentity"]["userName"] == "user-0"
            && record["eventID"].as_str().is_some_and(|id| {
                let key = history::key_of_event(ACCOUNT, REGION, id).unwrap_or_else(|| {
                    let i = usize::from_str_radix(&id[..8], 16).unwrap();
                    old_record(i).0
                });
                let millis = history::millis_of(&key).unwrap();
                (start..=end).contains(&millis)
            })
    })
    .await;
    let new = want.iter().filter(|id| id.as_bytes()[14] == b'7').count();
    assert!(new > 0 && new < want.len(), "{want:?}");
    assert_eq!(all_pages(&state, ranged).await, want);

    // By event id: an old record's through its entry, a new one's from the id alone.
    for id in [everything[0].as_str(), everything[179].as_str()] {
        assert_eq!(
            all_pages(&state, by(LookupAttributeKey::EventId, id)).await,
            [id]
        );
    }
    let unknown = "018bcfe5-6800-7abc-8def-0123456789ab";
    assert!(
        all_pages(&state, by(LookupAttributeKey::EventId, unknown))
            .await
            .is_empty()
    );
    assert!(
        all_pages(&state, by(LookupAttributeKey::EventName, "Nothing"))
            .await
            .is_empty()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_value_too_long_to_index_is_found_by_reading_the_records() {
    let Setup { state, store, _dir } = setup().await;
    let long = format!("arn:aws:kms:{REGION}:{ACCOUNT}:key/{}", "k".repeat(2100));
    assert!(
        attributes::prefix(ACCOUNT, REGION, attributes::Attribute::ResourceName, &long).is_none()
    );
    let (key, mut record) = old_record(5);
    record["resources"][0]["ARN"] = json!(long);
    store
        .commit(Transaction::new().put(
            KEYSPACE,
            &key,
            Value::Plain(record.to_string().into_bytes()),
        ))
        .await
        .unwrap();
    assert_eq!(
        all_pages(&state, by(LookupAttributeKey::ResourceName, &long)).await,
        [record["eventID"].as_str().unwrap()]
    );
}
