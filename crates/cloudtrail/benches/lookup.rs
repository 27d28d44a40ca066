//! `LookupEvents` over 1,000,000 stored audit records (issue 6: p99 ≤ 20 ms for any single
//! lookup attribute and time range), on the embedded (SQLite) store, without the HTTP pipeline.
//!
//! The records are made as the pipeline makes them (`AuditRecord::for_call`, with KMS-style
//! `resources`) and written as the audit indexer writes them (`palisade_audit::index_records`:
//! the records and their attribute index blocks), in batches of 2,048. They span seven days
//! over four accounts and three regions; the account and region queried holds 60% of them.
//! Calls are skewed as real traffic is: a few reading operations (`Decrypt`, `GetSecretValue`,
//! `GetParameter`) dominate and some names occur a handful of times; 40 IAM users (one of them
//! busy), ten roles whose sessions change every hour, the root user now and then.
//!
//! Filling takes a while, so the filled data directory is kept in the system's temporary
//! directory, keyed by [`FILL_VERSION`] (bump it when the generated data changes), and reused
//! once complete. A store filled by an older build is upgraded as a server's is at start (the
//! attribute backfill), and the benchmark waits for that. Before each timed call a write to both
//! audit keyspaces drops the store's read cache for them, as the indexer's commits do on a
//! server that is taking calls, so no page is answered from memory.
//!
//! Criterion's estimates are the mean; the p50 and p99 of every timed call are printed at the
//! end.
//!
//! `cargo bench -p palisade-cloudtrail --bench lookup`

#![expect(
    clippy::unwrap_used,
    clippy::indexing_slicing,
    clippy::unreachable,
    reason = "benchmark setup: a failure aborts the run"
)]

use std::hint::black_box;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use criterion::{Criterion, criterion_group, criterion_main};
use palisade_audit::{AuditLog, AuditRecord, CallOutcome, RecordDetails, RecordResource};
use palisade_cloudtrail::CloudTrailState;
use palisade_core::clock::ManualClock;
use palisade_core::model::{ServiceModel, Tables};
use palisade_core::value::Timestamp;
use palisade_core::{AccountId, Principal, PrincipalKind, Region, RequestContext};
use palisade_model_cloudtrail::Cloudtrail;
use palisade_model_cloudtrail::types::{
    LookupAttribute, LookupAttributeKey, LookupEventsRequest, LookupEventsResponse,
};
use palisade_store::{Store, StoreConfig, Transaction};
use serde_json::json;

/// Bump when what [`fill`] writes changes, so a kept store is not reused.
const FILL_VERSION: u32 = 4;
const RECORDS: u64 = 1_000_000;
/// Records per transaction: the indexer's batch.
const PER_BATCH: usize = 2_048;
/// 2026-01-01T00:00:00Z: the records end here, and so does the clock.
const NOW_MILLIS: i64 = 1_767_225_600_000;
const SPAN_MILLIS: i64 = 7 * 24 * 3600 * 1000;
const HOUR_MILLIS: i64 = 3600 * 1000;

const ACCOUNTS: [&str; 4] = [
    "111122223333",
    "222233334444",
    "333344445555",
    "444455556666",
];
const REGIONS: [&str; 3] = ["us-east-1", "eu-west-1", "ap-southeast-2"];
/// The account and region every lookup is made in.
const ACCOUNT: &str = ACCOUNTS[0];
const REGION: &str = REGIONS[0];
const USERS: u64 = 40;
const ROLES: u64 = 10;
const KEYS: u64 = 300;

/// (service, operation, weight): the mix of calls.
const CALLS: &[(&str, &str, u32)] = &[
    ("kms", "Decrypt", 200_000),
    ("kms", "GenerateDataKey", 100_000),
    ("kms", "Encrypt", 80_000),
    ("kms", "DescribeKey", 40_000),
    ("kms", "Sign", 20_000),
    ("kms", "GetPublicKey", 5_000),
    ("kms", "ListAliases", 10_000),
    ("kms", "ListKeys", 10_000),
    ("kms", "CreateKey", 500),
    ("kms", "CreateAlias", 200),
    ("kms", "ScheduleKeyDeletion", 50),
    ("secretsmanager", "GetSecretValue", 150_000),
    ("secretsmanager", "DescribeSecret", 30_000),
    ("secretsmanager", "ListSecrets", 10_000),
    ("secretsmanager", "PutSecretValue", 5_000),
    ("secretsmanager", "CreateSecret", 500),
    ("secretsmanager", "RotateSecret", 200),
    ("ssm", "GetParameter", 120_000),
    ("ssm", "GetParameters", 40_000),
    ("ssm", "GetParametersByPath", 30_000),
    ("ssm", "DescribeParameters", 10_000),
    ("ssm", "PutParameter", 5_000),
    ("sts", "GetCallerIdentity", 50_000),
    ("sts", "AssumeRole", 20_000),
    ("logs", "PutLogEvents", 30_000),
    ("logs", "CreateLogStream", 3_000),
    ("events", "PutEvents", 10_000),
    ("monitoring", "PutMetricData", 20_000),
    ("iam", "GetUser", 5_000),
    ("iam", "ListRoles", 3_000),
    ("iam", "CreateAccessKey", 100),
    ("iam", "AttachRolePolicy", 100),
    ("cloudtrail", "LookupEvents", 2_000),
    ("cloudtrail", "CreateTrail", 5),
    ("cloudtrail", "DeleteTrail", 5),
    ("organizations", "DescribeOrganization", 500),
    ("organizations", "ListAccounts", 500),
];

fn lookup(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let dir = filled_data_dir(&runtime);
    let (state, store) = runtime.block_on(open(&dir));
    let ctx = context();
    let cases = runtime.block_on(cases(&state, &store, &ctx));

    let mut group = c.benchmark_group("lookup_events");
    for case in &cases {
        group.bench_function(&case.name, |b| {
            b.iter_custom(|iters| {
                let mut total = Duration::ZERO;
                let mut taken = Vec::new();
                for i in 0..iters {
                    let request =
                        case.requests[usize::try_from(i).unwrap() % case.requests.len()].clone();
                    runtime.block_on(drop_read_cache(&store));
                    let started = Instant::now();
                    let page = runtime
                        .block_on(state.lookup_events(&ctx, request))
                        .unwrap();
                    let took = started.elapsed();
                    assert!(
                        !case.expect_events
                            || page
                                .events
                                .as_ref()
                                .is_some_and(|events| !events.is_empty())
                    );
                    black_box(page);
                    taken.push(took);
                    total += took;
                }
                case.samples.lock().unwrap().extend(taken);
                total
            });
        });
    }
    group.finish();

    println!("\n| query | calls | p50 ms | p99 ms | max ms |\n|---|---|---|---|---|");
    for case in &cases {
        let name = &case.name;
        let mut samples = case.samples.lock().unwrap().clone();
        samples.sort();
        let at = |q: f64| {
            #[expect(
                clippy::cast_possible_truncation,
                clippy::cast_sign_loss,
                clippy::cast_precision_loss,
                reason = "an index into a sample list"
            )]
            let index = ((samples.len() as f64 * q).ceil() as usize).clamp(1, samples.len()) - 1;
            samples[index].as_secs_f64() * 1000.0
        };
        println!(
            "| {name} | {} | {:.2} | {:.2} | {:.2} |",
            samples.len(),
            at(0.50),
            at(0.99),
            at(1.0)
        );
    }
}

/// One benchmarked query: requests taken in turn (different values, so that no two calls in a
/// row read the same entries).
struct Case {
    name: String,
    requests: Vec<LookupEventsRequest>,
    /// Whether every request finds something (a check that the case measures what it says).
    expect_events: bool,
    /// How long each timed call took.
    samples: Mutex<Vec<Duration>>,
}

async fn cases(state: &CloudTrailState, store: &Store, ctx: &RequestContext) -> Vec<Case> {
    let by = |key: LookupAttributeKey, value: &str| LookupEventsRequest {
        lookup_attributes: Some(vec![LookupAttribute {
            attribute_key: key,
            attribute_value: value.to_owned(),
        }]),
        max_results: Some(50),
        ..LookupEventsRequest::default()
    };
    let window = |hours_ago: i64, hours: i64| {
        let end = NOW_MILLIS - hours_ago * HOUR_MILLIS;
        (end - hours * HOUR_MILLIS, end)
    };
    let in_window = |mut request: LookupEventsRequest, (start, end): (i64, i64)| {
        request.start_time = Some(Timestamp::from_millis(start));
        request.end_time = Some(Timestamp::from_millis(end));
        request
    };
    let users: Vec<String> = (0..USERS).map(user_name).collect();
    let keys: Vec<String> = (0..USERS).map(user_access_key).collect();
    let arns: Vec<String> = (0..20).map(|key| key_arn(ACCOUNT, REGION, key)).collect();
    let event_ids = sample_event_ids(store, 500).await;
    let common_names = [
        "Decrypt",
        "GetSecretValue",
        "GetParameter",
        "GenerateDataKey",
    ];
    let rare_names = ["CreateTrail", "DeleteTrail", "ScheduleKeyDeletion"];
    let absent_names = ["CreateAccount", "DeleteBucket", "TerminateInstances"];
    let sources = [
        "kms.amazonaws.com",
        "secretsmanager.amazonaws.com",
        "ssm.amazonaws.com",
    ];
    let rare_sources = ["organizations.amazonaws.com", "cloudtrail.amazonaws.com"];
    let windows: Vec<(i64, i64)> = (0..100).map(|i| window(i * 16 / 10 + 1, 1)).collect();

    let all = |requests: Vec<LookupEventsRequest>| requests;
    let each = |values: &[&str], key: LookupAttributeKey| -> Vec<LookupEventsRequest> {
        values.iter().map(|value| by(key.clone(), value)).collect()
    };
    let mut cases = Vec::new();
    let mut add = |name: &str, requests: Vec<LookupEventsRequest>, expect_events: bool| {
        cases.push(Case {
            name: name.to_owned(),
            requests,
            expect_events,
            samples: Mutex::default(),
        });
    };
    add(
        "time_range_only/newest",
        all(vec![LookupEventsRequest {
            max_results: Some(50),
            ..LookupEventsRequest::default()
        }]),
        true,
    );
    let hours: Vec<_> = windows
        .iter()
        .map(|&range| {
            in_window(
                LookupEventsRequest {
                    max_results: Some(50),
                    ..LookupEventsRequest::default()
                },
                range,
            )
        })
        .collect();
    add("time_range_only/1h_window", hours.clone(), true);
    add(
        "event_id",
        each(&strings(&event_ids), LookupAttributeKey::EventId),
        true,
    );
    let names = each(&common_names, LookupAttributeKey::EventName);
    add("event_name/common", names.clone(), true);
    add(
        "event_name/rare",
        each(&rare_names, LookupAttributeKey::EventName),
        true,
    );
    add(
        "event_name/absent",
        each(&absent_names, LookupAttributeKey::EventName),
        false,
    );
    let names_in_windows = windows
        .iter()
        .zip(names.iter().cycle())
        .map(|(&range, request)| in_window(request.clone(), range))
        .collect();
    add("event_name/common_1h_window", names_in_windows, true);
    add(
        "read_only/true",
        each(&["true"], LookupAttributeKey::ReadOnly),
        true,
    );
    add(
        "read_only/false",
        each(&["false"], LookupAttributeKey::ReadOnly),
        true,
    );
    let by_user = each(&strings(&users), LookupAttributeKey::Username);
    add("username", by_user.clone(), true);
    add(
        "resource_type",
        each(
            &["AWS::KMS::Key", "AWS::KMS::Alias"],
            LookupAttributeKey::ResourceType,
        ),
        true,
    );
    let by_arn = each(&strings(&arns), LookupAttributeKey::ResourceName);
    add("resource_name", by_arn.clone(), true);
    add(
        "event_source/common",
        each(&sources, LookupAttributeKey::EventSource),
        true,
    );
    add(
        "event_source/rare",
        each(&rare_sources, LookupAttributeKey::EventSource),
        true,
    );
    let by_key = each(&strings(&keys), LookupAttributeKey::AccessKeyId);
    add("access_key_id", by_key.clone(), true);

    // Later pages: the fifth, by the token the fourth answered.
    for (name, firsts) in [
        ("time_range_only/1h_window/page_5", hours),
        ("event_name/common/page_5", names),
        (
            "read_only/false/page_5",
            each(&["false"], LookupAttributeKey::ReadOnly),
        ),
        ("username/page_5", by_user),
        ("resource_name/page_5", by_arn),
        ("access_key_id/page_5", by_key),
    ] {
        let mut later = Vec::new();
        for first in firsts {
            if let Some(request) = fifth_page(state, ctx, first).await {
                later.push(request);
            }
        }
        add(name, later, true);
    }
    cases
}

fn strings(values: &[String]) -> Vec<&str> {
    values.iter().map(String::as_str).collect()
}

/// The request for the fifth page of `first`'s answers, if it has one.
async fn fifth_page(
    state: &CloudTrailState,
    ctx: &RequestContext,
    first: LookupEventsRequest,
) -> Option<LookupEventsRequest> {
    let mut request = first;
    for _ in 0..4 {
        let page: LookupEventsResponse = state.lookup_events(ctx, request.clone()).await.unwrap();
        request.next_token = Some(page.next_token?);
    }
    Some(request)
}

/// Event ids of records spread over the seven days.
async fn sample_event_ids(store: &Store, count: i64) -> Vec<String> {
    let prefix = palisade_audit::history::prefix(ACCOUNT, REGION);
    let mut ids = Vec::new();
    for i in 0..count {
        let at = NOW_MILLIS - 1 - SPAN_MILLIS * i / count;
        let position = palisade_audit::history::at_or_before(ACCOUNT, REGION, at);
        let found = store
            .scan(palisade_audit::KEYSPACE, &prefix, Some(&position), 1)
            .await
            .unwrap();
        if let Some((key, _)) = found.first() {
            ids.push(key.rsplit('/').next().unwrap().to_owned());
        }
    }
    ids
}

/// Drops the store's cached reads of both audit keyspaces (untimed), as a commit of the
/// indexer does.
async fn drop_read_cache(store: &Store) {
    store
        .commit(
            Transaction::new()
                .delete(palisade_audit::KEYSPACE, "~bench")
                .delete(palisade_audit::attributes::KEYSPACE, "~bench"),
        )
        .await
        .unwrap();
}

/// The data directory holding the filled store: kept from an earlier run when complete.
fn filled_data_dir(runtime: &tokio::runtime::Runtime) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("palisade-bench-lookup-v{FILL_VERSION}"));
    let complete = dir.join("filled");
    if complete.exists() {
        println!("reusing the filled store in {}", dir.display());
        return dir;
    }
    if dir.exists() {
        std::fs::remove_dir_all(&dir).unwrap();
    }
    std::fs::create_dir_all(&dir).unwrap();
    let started = Instant::now();
    runtime.block_on(fill(&dir));
    let took = started.elapsed();
    std::fs::write(&complete, format!("{RECORDS} records in {took:?}\n")).unwrap();
    println!(
        "filled {RECORDS} records in {:.1} s ({:.0} records/s) into {}",
        took.as_secs_f64(),
        f64::from(u32::try_from(RECORDS).unwrap()) / took.as_secs_f64(),
        dir.display()
    );
    dir
}

async fn open_store(dir: &Path) -> Store {
    Store::open(&StoreConfig::Embedded {
        data_dir: dir.to_owned(),
    })
    .await
    .unwrap()
}

/// The service over the filled store, once every record is in the attribute index.
async fn open(dir: &Path) -> (CloudTrailState, Store) {
    let store = open_store(dir).await;
    let audit = AuditLog::open(&dir.join("audit"), Arc::new(store.clone())).unwrap();
    let started = Instant::now();
    audit.backfilled().await;
    if started.elapsed() > Duration::from_secs(1) {
        println!(
            "the attribute backfill took {:.1} s",
            started.elapsed().as_secs_f64()
        );
    }
    let clock = Arc::new(ManualClock::new(at(NOW_MILLIS)));
    (CloudTrailState::new(store.clone(), clock, audit), store)
}

/// Writes [`RECORDS`] records, oldest first, in batches as the indexer writes them.
async fn fill(dir: &Path) {
    let store = open_store(dir).await;
    let mut random = SplitMix(0x5eed);
    let mut calls = Vec::new();
    for i in 0..RECORDS {
        calls.push(generate(&mut random, i));
        if calls.len() == PER_BATCH || i + 1 == RECORDS {
            let records: Vec<AuditRecord<'_>> = calls.iter().map(Call::record).collect();
            let transaction = palisade_audit::index_records(&records);
            store.commit(transaction).await.unwrap();
            drop(records);
            calls.clear();
        }
    }
    // Every record was written with its index entries: nothing to backfill.
    palisade_audit::attributes::mark_ready(&store)
        .await
        .unwrap();
}

/// Everything one generated call's record is made of.
struct Call {
    ctx: RequestContext,
    model: &'static ServiceModel,
    operation: &'static str,
    parameters: Option<serde_json::Value>,
    outcome: CallOutcome,
    details: RecordDetails,
}

impl Call {
    fn record(&self) -> AuditRecord<'_> {
        AuditRecord::for_call(
            &self.ctx,
            self.model,
            self.operation,
            self.parameters.clone(),
            self.outcome.clone(),
        )
        .with_details(self.details.clone())
    }
}

/// The `i`th call: its time grows with `i`, the rest is drawn from `random`.
fn generate(random: &mut SplitMix, i: u64) -> Call {
    let step = SPAN_MILLIS / i64::try_from(RECORDS).unwrap();
    let millis = NOW_MILLIS - SPAN_MILLIS
        + i64::try_from(i).unwrap() * step
        + i64::try_from(random.below(u64::try_from(step).unwrap())).unwrap();
    // 60% in the queried account and region, the rest spread over the other eleven.
    let (account, region) = if random.below(100) < 60 {
        (ACCOUNT, REGION)
    } else {
        let other = 1 + random.below(11);
        let (a, r) = (other / 3, other % 3);
        (
            ACCOUNTS[usize::try_from(a).unwrap()],
            REGIONS[usize::try_from(r).unwrap()],
        )
    };
    let (service, operation) = pick_call(random);
    let principal = pick_principal(random, account, millis);
    let key = skewed(random, KEYS);
    let key_arn = key_arn(account, region, key);
    let (parameters, resources) = match service {
        "kms" => {
            let mut resources = Vec::new();
            if !operation.starts_with("List") && operation != "CreateKey" {
                resources.push(RecordResource {
                    account_id: account.to_owned(),
                    kind: "AWS::KMS::Key",
                    arn: key_arn.clone(),
                });
            }
            if operation == "CreateAlias" {
                resources.push(RecordResource {
                    account_id: account.to_owned(),
                    kind: "AWS::KMS::Alias",
                    arn: format!("arn:aws:kms:{region}:{account}:alias/app-{key}"),
                });
            }
            let parameters = json!({
                "keyId": key_arn,
                "encryptionAlgorithm": "SYMMETRIC_DEFAULT",
                "encryptionContext": {"app": format!("service-{}", key % 17), "tenant": format!("t-{}", key % 101)},
            });
            (Some(parameters), resources)
        }
        "secretsmanager" => (
            Some(json!({"secretId": format!("prod/service-{}/db-password", key % 60)})),
            Vec::new(),
        ),
        "ssm" => (
            Some(
                json!({"name": format!("/app/service-{}/config/{}", key % 40, key % 7), "withDecryption": true}),
            ),
            Vec::new(),
        ),
        "logs" => (
            Some(
                json!({"logGroupName": format!("/app/service-{}", key % 40), "logStreamName": format!("i-{:016x}", random.next())}),
            ),
            Vec::new(),
        ),
        _ => (None, Vec::new()),
    };
    let outcome = if random.below(50) == 0 {
        CallOutcome::Failure {
            code: "AccessDeniedException".to_owned(),
            message: format!(
                "User: {} is not authorized to perform: {service}:{operation}",
                principal.arn
            ),
        }
    } else {
        CallOutcome::Success(None)
    };
    let agents = [
        "aws-sdk-java/2.25.10 Linux/5.15 OpenJDK_64-Bit_Server_VM/17.0.9",
        "Boto3/1.34.50 md/Botocore#1.34.50 ua/2.0 os/linux#6.1 lang/python#3.12.2",
        "aws-cli/2.15.20 md/awscrt#0.19.19 ua/2.0 os/linux#6.1 lang/python#3.11.8",
        "aws-sdk-rust/1.3.0 os/linux lang/rust/1.80.0",
    ];
    let source_ip: IpAddr = format!("10.0.{}.{}", random.below(4), 1 + random.below(200))
        .parse()
        .unwrap();
    Call {
        ctx: RequestContext {
            request_id: format!("{:016x}{:016x}", random.next(), random.next()),
            principal,
            region: Region::parse(region).unwrap(),
            source_ip,
            user_agent: agents[usize::try_from(random.below(4)).unwrap()].to_owned(),
            time: at(millis),
            secure_transport: true,
        },
        model: model(service),
        operation,
        parameters,
        outcome,
        details: RecordDetails {
            resources,
            additional_event_data: None,
        },
    }
}

fn pick_call(random: &mut SplitMix) -> (&'static str, &'static str) {
    let total: u64 = CALLS.iter().map(|&(_, _, weight)| u64::from(weight)).sum();
    let mut draw = random.below(total);
    for &(service, operation, weight) in CALLS {
        if draw < u64::from(weight) {
            return (service, operation);
        }
        draw -= u64::from(weight);
    }
    unreachable!("the draw is below the total weight")
}

/// The root user now and then, mostly IAM users (user 0 the busiest), and role sessions that
/// change every hour.
fn pick_principal(random: &mut SplitMix, account: &str, millis: i64) -> Principal {
    let account_id = AccountId::parse(account).unwrap();
    match random.below(100) {
        0..5 => Principal::root(account_id, format!("AKIA{account}ROOT")),
        5..60 => {
            let user = skewed(random, USERS);
            let name = user_name(user);
            Principal {
                arn: format!("arn:aws:iam::{account}:user/{name}"),
                user_id: format!("AIDA{account}{user:04}"),
                account: account_id,
                kind: PrincipalKind::User { name },
                access_key_id: user_access_key(user),
                tags: Vec::new(),
            }
        }
        _ => {
            let role = random.below(ROLES);
            let hour = millis / HOUR_MILLIS;
            let role_name = format!("service-role-{role}");
            let session_name = format!("session-{role}-{hour}");
            Principal {
                arn: format!("arn:aws:sts::{account}:assumed-role/{role_name}/{session_name}"),
                user_id: format!("AROA{account}{role:04}:{session_name}"),
                account: account_id,
                kind: PrincipalKind::AssumedRole {
                    role_name,
                    session_name,
                },
                access_key_id: format!("ASIA{role:02}{hour:010}"),
                tags: Vec::new(),
            }
        }
    }
}

fn user_name(user: u64) -> String {
    format!("user-{user:02}")
}

fn user_access_key(user: u64) -> String {
    format!("AKIAUSER{user:012}")
}

fn key_arn(account: &str, region: &str, key: u64) -> String {
    format!("arn:aws:kms:{region}:{account}:key/0000{key:04}-1234-5678-9abc-def012345678")
}

/// A model standing in for a service's: records take only its endpoint prefix.
fn model(service: &str) -> &'static ServiceModel {
    macro_rules! models {
        ($($prefix:literal),*) => {
            match service {
                $($prefix => {
                    static MODEL: ServiceModel = stand_in($prefix);
                    &MODEL
                })*
                _ => &palisade_model_cloudtrail::MODEL,
            }
        };
    }
    models!(
        "kms",
        "secretsmanager",
        "ssm",
        "sts",
        "logs",
        "events",
        "monitoring",
        "iam",
        "organizations"
    )
}

const fn stand_in(endpoint_prefix: &'static str) -> ServiceModel {
    ServiceModel {
        name: endpoint_prefix,
        service_id: endpoint_prefix,
        api_version: "",
        endpoint_prefix,
        signing_name: endpoint_prefix,
        target_prefix: None,
        json_version: None,
        xml_namespace: None,
        protocols: &[],
        query_compatible: false,
        tables: &Tables::EMPTY,
    }
}

/// A draw below `n` skewed towards 0 (the square of a uniform draw).
fn skewed(random: &mut SplitMix, n: u64) -> u64 {
    let uniform = random.below(1 << 20);
    (uniform * uniform * n) >> 40
}

fn at(millis: i64) -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_millis(u64::try_from(millis).unwrap())
}

fn context() -> RequestContext {
    RequestContext {
        request_id: "bench".to_owned(),
        principal: Principal::root(AccountId::parse(ACCOUNT).unwrap(), "bench"),
        region: Region::parse(REGION).unwrap(),
        source_ip: IpAddr::V4(std::net::Ipv4Addr::LOCALHOST),
        user_agent: "bench".to_owned(),
        time: at(NOW_MILLIS),
        secure_transport: false,
    }
}

/// A small seeded generator, so that every fill writes the same calls.
struct SplitMix(u64);

impl SplitMix {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

criterion_group!(benches, lookup);
criterion_main!(benches);
