//! Where CloudTrail keeps trails in the store, and the read-modify-write loop every change uses.
//!
//! Layout: keyspace `TRAILS`, `<account>/<trail name>/<home region>` → a JSON `TrailRecord`,
//! with its tags, logging status and selectors, so that a trail changes in one write. Trail
//! names hold no `/`. The name comes before the region because a name is what requests look
//! up, and a multi-Region trail's name is taken in every region.
//!
//! An account has few trails (AWS allows five per region), so operations read all of them.

use std::collections::BTreeMap;
use std::future::Future;

use palisade_core::ServiceError;
use palisade_model_cloudtrail::errors;
use palisade_store::typed::{self, MutateError, Stored};
use palisade_store::{StoreError, Transaction, Value};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::CloudTrailState;
use crate::names::trail_arn;
use crate::selectors::{EventSelectorsRecord, InsightSelectorRecord};

pub(crate) const TRAILS: &str = "cloudtrail/trails";
/// Guards of quotas and unique names: one empty entry per scope, written by each change to it.
const GUARDS: &str = "cloudtrail/guards";

/// How many trails one store scan reads.
const CHUNK: usize = 500;

/// A trail as stored.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct TrailRecord {
    pub account: String,
    pub name: String,
    pub home_region: String,
    pub s3_bucket_name: String,
    pub s3_key_prefix: Option<String>,
    pub sns_topic_name: Option<String>,
    pub sns_topic_arn: Option<String>,
    pub include_global_service_events: bool,
    pub is_multi_region_trail: bool,
    pub log_file_validation_enabled: bool,
    pub cloud_watch_logs_log_group_arn: Option<String>,
    pub cloud_watch_logs_role_arn: Option<String>,
    pub kms_key_id: Option<String>,
    pub is_organization_trail: bool,
    pub tags: BTreeMap<String, Option<String>>,
    pub is_logging: bool,
    pub start_logging_millis: Option<i64>,
    pub stop_logging_millis: Option<i64>,
    /// `None` until `PutEventSelectors`: a trail then logs every management event.
    pub event_selectors: Option<EventSelectorsRecord>,
    /// Empty when Insights is off.
    pub insight_selectors: Vec<InsightSelectorRecord>,
}

impl TrailRecord {
    pub fn arn(&self) -> String {
        trail_arn(&self.home_region, &self.account, &self.name)
    }

    pub fn key(&self) -> String {
        format!("{}/{}/{}", self.account, self.name, self.home_region)
    }

    /// Whether the trail shows in `region`: at home, or as a multi-Region trail's shadow.
    pub fn visible_in(&self, region: &str) -> bool {
        self.home_region == region || self.is_multi_region_trail
    }
}

/// A guard as read: see [`CloudTrailState::guard`].
pub(crate) struct Guard {
    key: String,
    version: Option<u64>,
}

impl Guard {
    /// Pins the guard as read in `transaction`, and writes it.
    pub(crate) fn pin(&self, transaction: Transaction) -> Transaction {
        let transaction = match self.version {
            Some(version) => transaction.expect_version(GUARDS, &self.key, version),
            None => transaction.expect_absent(GUARDS, &self.key),
        };
        transaction.put(GUARDS, &self.key, Value::Plain(Vec::new()))
    }
}

pub(crate) fn store_error(error: StoreError) -> ServiceError {
    ServiceError::internal(format!("CloudTrail storage failed: {error}"))
}

pub(crate) fn plain<T: Serialize>(record: &T) -> Result<Value, ServiceError> {
    typed::plain_json(record).map_err(store_error)
}

impl CloudTrailState {
    /// Every trail of `account`, in every region, ordered by name then home region.
    pub(crate) async fn account_trails(
        &self,
        account: &str,
    ) -> Result<Vec<Stored<TrailRecord>>, ServiceError> {
        self.trails_under(&format!("{account}/")).await
    }

    /// Every trail whose key starts with `prefix` (every trail of every account for `""`).
    pub(crate) async fn trails_under(
        &self,
        prefix: &str,
    ) -> Result<Vec<Stored<TrailRecord>>, ServiceError> {
        Ok(
            typed::scan_all_json::<TrailRecord>(&self.store, TRAILS, prefix, CHUNK)
                .await
                .map_err(store_error)?
                .into_iter()
                .map(|(_, trail)| trail)
                .collect(),
        )
    }

    /// What the keyspace `keyspace` keeps about `trail` (its delivery's or streaming's state),
    /// if anything.
    pub(crate) async fn trail_state<T: DeserializeOwned>(
        &self,
        keyspace: &str,
        trail: &TrailRecord,
    ) -> Result<Option<T>, ServiceError> {
        Ok(typed::get_json::<T>(&self.store, keyspace, &trail.key())
            .await
            .map_err(store_error)?
            .map(|stored| stored.value))
    }

    /// Runs a read-modify-write: `attempt` reads what it needs and returns the transaction that
    /// applies its change (pinning the versions it read) and the answer. When another change
    /// wins the race, `attempt` runs again on fresh reads.
    pub(crate) async fn mutate<T, F, Fut>(&self, attempt: F) -> Result<T, ServiceError>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<(Transaction, T), ServiceError>>,
    {
        let changed = typed::mutate(&self.store, attempt)
            .await
            .map_err(|error| match error {
                MutateError::Attempt(error) => error,
                MutateError::Store(error) => store_error(error),
                MutateError::Contended => errors::conflict_exception(
                    "Another change to this resource happened at the same time. Retry the request.",
                ),
            })?;
        Ok(changed)
    }

    /// The guard `key`: read it inside a [`Self::mutate`] attempt that counts or names
    /// records, and [`Guard::pin`] it in the attempt's transaction, so that of two attempts
    /// reading the same records only one commits (the other retries on fresh reads): a quota
    /// or a unique name then holds under concurrent calls.
    pub(crate) async fn guard(&self, key: String) -> Result<Guard, ServiceError> {
        let version = self
            .store
            .get(GUARDS, &key)
            .await
            .map_err(store_error)?
            .map(|entry| entry.version);
        Ok(Guard { key, version })
    }

    /// [`Self::mutate`] for a change to trails, which streaming follows as it happens: a call
    /// made once this one is answered is streamed by the trails as changed.
    pub(crate) async fn mutate_trails<T, F, Fut>(&self, attempt: F) -> Result<T, ServiceError>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<(Transaction, T), ServiceError>>,
    {
        let changed = self.mutate(attempt).await?;
        self.trails_generation
            .fetch_add(1, std::sync::atomic::Ordering::Release);
        self.trails_changed.notify_one();
        Ok(changed)
    }
}
