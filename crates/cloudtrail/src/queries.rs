//! CloudTrail Lake queries: `StartQuery`, `DescribeQuery`, `GetQueryResults`, `CancelQuery` and
//! `ListQueries`, over the event data stores of `crate::event_data_stores`, in the SQL that
//! `palisade_lake_query` parses and evaluates.
//!
//! `StartQuery` checks the statement, stores the query `QUEUED` with an entry in the run queue
//! (one transaction, before it answers) and wakes the runner ([`CloudTrailState::run_queries`]),
//! which takes queued queries one at a time, oldest first: `RUNNING`, then `FINISHED` with its
//! results stored in pages, or `FAILED` with the reason. A query left in the queue by a restart
//! runs again. `CancelQuery` marks a queued or running query `CANCELLED`; the runner, which
//! looks at the query's status between batches of records, stops reading and keeps no results.
//! As in AWS, a query and its results are kept for seven days (the server's sweeper removes
//! them).
//!
//! Layout: keyspace [`QUERIES`], `<account>/<query id>` → a JSON [`QueryRecord`];
//! [`QUERY_RESULTS`], `<account>/<query id>/<page number>` → a page of result rows;
//! [`QUERY_QUEUE`], `<created millis>/<account>/<query id>` → [`COUNTED`] for a query that counts
//! toward its account's ten, or nothing for a dashboard widget's, while the query waits or
//! runs.

use std::collections::BTreeMap;

use palisade_audit::{KEYSPACE, history};
use palisade_core::value::Timestamp;
use palisade_core::{RequestContext, ServiceError};
use palisade_model_cloudtrail::errors;
use palisade_model_cloudtrail::types::{
    CancelQueryRequest, CancelQueryResponse, DescribeQueryRequest, DescribeQueryResponse,
    GetQueryResultsRequest, GetQueryResultsResponse, ListQueriesRequest, ListQueriesResponse,
    Query, QueryStatistics, QueryStatisticsForDescribeQuery, QueryStatus, StartQueryRequest,
    StartQueryResponse,
};
use palisade_store::typed::{self, Stored};
use palisade_store::{StoreError, Transaction, Value};
use serde::{Deserialize, Serialize};

use crate::CloudTrailState;
use crate::db::{plain, store_error};
use crate::event_data_stores::EventDataStoreRecord;
use crate::lookup::millis;
use crate::selection;
use crate::selectors::EventSelectorsRecord;

pub(crate) const QUERIES: &str = "cloudtrail/queries";
pub(crate) const QUERY_RESULTS: &str = "cloudtrail/query-results";
pub(crate) const QUERY_QUEUE: &str = "cloudtrail/query-queue";

/// How long a query and its results are kept.
const KEPT_MILLIS: i64 = 7 * 24 * 60 * 60 * 1000;
/// At most this many queries of one account queued or running at once.
const MAX_CONCURRENT: usize = 10;
/// Result rows per stored page, and the most one `GetQueryResults` answers.
const ROWS_PER_PAGE: usize = 1000;
/// Queries per `ListQueries` page when the request sets no `MaxResults`.
const DEFAULT_LIST_PAGE: usize = 1000;
/// Records read from the store at a time.
const SCAN_BATCH: usize = 500;
/// Records or keys read at a time while listing or sweeping.
const CHUNK: usize = 500;
/// More result pages than a query can have: its rows are bounded by the memory it may keep.
const MAX_RESULT_PAGES: usize = 100_000;
/// Result pages written in one transaction.
const PAGES_PER_COMMIT: usize = 16;
/// The queue entry of a query that counts toward its account's queued and running queries.
const COUNTED: &[u8] = b"counted";

/// A query as stored.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct QueryRecord {
    pub account: String,
    pub region: String,
    pub id: String,
    /// The id of the event data store it reads.
    pub event_data_store: String,
    /// The account of that event data store, when another account's (a resource policy let
    /// this query's account query it).
    #[serde(default)]
    pub event_data_store_account: Option<String>,
    pub statement: String,
    pub parameters: Vec<String>,
    pub status: String,
    pub created_millis: i64,
    pub error: Option<String>,
    pub columns: Vec<String>,
    pub events_matched: u64,
    pub events_scanned: u64,
    pub bytes_scanned: u64,
    pub execution_millis: i64,
    pub results: u64,
    /// The dashboard widget it ran for, when a dashboard refresh started it.
    #[serde(default)]
    pub widget: Option<WidgetRun>,
}

/// Which dashboard refresh ran a query, for which widget: `DescribeQuery` finds it by the
/// widget's `QueryAlias` and the `RefreshId`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct WidgetRun {
    /// The dashboard's ARN.
    pub dashboard: String,
    pub alias: String,
    pub refresh_id: String,
}

impl QueryRecord {
    fn key(&self) -> String {
        format!("{}/{}", self.account, self.id)
    }

    /// Its entry in the run queue, which orders queries by when they started.
    fn queue_key(&self) -> String {
        format!("{:013}/{}", self.created_millis.max(0), self.key())
    }

    /// The account of the event data store it reads.
    fn store_account(&self) -> &str {
        self.event_data_store_account
            .as_deref()
            .unwrap_or(&self.account)
    }

    fn active(&self) -> bool {
        self.status == QUEUED || self.status == RUNNING
    }
}

const QUEUED: &str = "QUEUED";
const RUNNING: &str = "RUNNING";
const FINISHED: &str = "FINISHED";
const FAILED: &str = "FAILED";
const CANCELLED: &str = "CANCELLED";

/// The event data store a `StartQuery` statement reads, as the statement names it (by id or
/// ARN), for deciding the call; `None` when the statement does not parse.
pub fn queried_event_data_store(statement: &str, parameters: &[String]) -> Option<String> {
    palisade_lake_query::parse(statement, parameters)
        .ok()
        .map(|parsed| parsed.source().to_owned())
}

pub(crate) async fn start_query(
    state: &CloudTrailState,
    ctx: &RequestContext,
    input: StartQueryRequest,
) -> Result<StartQueryResponse, ServiceError> {
    let Some(statement) = input.query_statement else {
        return Err(errors::invalid_parameter_exception(
            "You must specify a QueryStatement. Queries by QueryAlias run dashboard widgets: \
             start them with StartDashboardRefresh.",
        ));
    };
    if input.delivery_s3_uri.is_some() {
        return Err(errors::unsupported_operation_exception(
            "Delivering query results to S3 (DeliveryS3Uri) is not supported by this server; \
             read them with GetQueryResults.",
        ));
    }
    let parameters = input.query_parameters.unwrap_or_default();
    // Another account's event data store is queried as IAM decided: with the caller's
    // policies and the store's resource policy.
    let owner = input.event_data_store_owner_account_id;
    let query_id = state
        .queue_query(
            QueryScope {
                account: ctx.account().as_str(),
                region: ctx.region.as_str(),
                store_account: owner.as_deref().unwrap_or(ctx.account().as_str()),
            },
            statement,
            parameters,
            None,
        )
        .await?;
    Ok(StartQueryResponse {
        query_id: Some(query_id),
        event_data_store_owner_account_id: owner,
    })
}

impl CloudTrailState {
    /// The event data store of `account` in `region` that `statement` reads, with `parameters`
    /// for its placeholders, checked as `StartQuery` checks it: the statement parses, and the
    /// store exists and is not pending deletion.
    pub(crate) async fn queryable_store(
        &self,
        account: &str,
        region: &str,
        statement: &str,
        parameters: &[String],
    ) -> Result<EventDataStoreRecord, ServiceError> {
        let parsed = palisade_lake_query::parse(statement, parameters)
            .map_err(|error| errors::invalid_query_statement_exception(error.to_string()))?;
        self.find_active_event_data_store_of(account, region, parsed.source())
            .await
    }

    /// Whether the query `id` of `account` is still queued or running.
    pub(crate) async fn query_in_progress(
        &self,
        account: &str,
        id: &str,
    ) -> Result<bool, ServiceError> {
        Ok(
            typed::get_json::<QueryRecord>(&self.store, QUERIES, &format!("{account}/{id}"))
                .await
                .map_err(store_error)?
                .is_some_and(|stored| stored.value.active()),
        )
    }
}

/// Whose query it is, where, and whose event data store it reads.
#[derive(Debug, Clone, Copy)]
pub(crate) struct QueryScope<'a> {
    pub account: &'a str,
    pub region: &'a str,
    pub store_account: &'a str,
}

impl CloudTrailState {
    /// Queues `statement`, with `parameters` for its placeholders, as a query of `scope`'s
    /// account over the event data store it names (of `scope`'s store account); answers the
    /// query's id. A dashboard refresh's queries (`widget`) do not count toward the account's
    /// queued and running queries.
    pub(crate) async fn queue_query(
        &self,
        scope: QueryScope<'_>,
        statement: String,
        parameters: Vec<String>,
        widget: Option<WidgetRun>,
    ) -> Result<String, ServiceError> {
        let store = self
            .queryable_store(scope.store_account, scope.region, &statement, &parameters)
            .await?;
        let QueryScope {
            account, region, ..
        } = scope;
        let limited = widget.is_none();
        let query = QueryRecord {
            account: account.to_owned(),
            region: region.to_owned(),
            id: uuid::Uuid::new_v4().to_string(),
            event_data_store_account: (store.account != account).then(|| store.account.clone()),
            event_data_store: store.id,
            statement,
            parameters,
            status: QUEUED.to_owned(),
            created_millis: self.clock.now_millis(),
            error: None,
            columns: Vec::new(),
            events_matched: 0,
            events_scanned: 0,
            bytes_scanned: 0,
            execution_millis: 0,
            results: 0,
            widget,
        };
        self.mutate(|| async {
            let guard = self.guard(format!("queries/{account}")).await?;
            if limited && self.counted_queries(account).await? >= MAX_CONCURRENT {
                return Err(errors::max_concurrent_queries_exception(format!(
                    "You already have {MAX_CONCURRENT} queries queued or running. Wait for one to \
                     finish, or cancel one."
                )));
            }
            let transaction = guard
                .pin(Transaction::new())
                .expect_absent(QUERIES, &query.key())
                .put(QUERIES, &query.key(), plain(&query)?)
                .put(
                    QUERY_QUEUE,
                    &query.queue_key(),
                    Value::Plain(if limited {
                        COUNTED.to_vec()
                    } else {
                        Vec::new()
                    }),
                );
            Ok((transaction, ()))
        })
        .await?;
        self.queries_queued.notify_one();
        Ok(query.id)
    }
}

impl CloudTrailState {
    /// How many queries of `account` that count toward its ten are queued or running.
    async fn counted_queries(&self, account: &str) -> Result<usize, ServiceError> {
        let mut counted = 0;
        let mut after: Option<String> = None;
        loop {
            let page = self
                .store
                .scan(QUERY_QUEUE, "", after.as_deref(), CHUNK)
                .await
                .map_err(store_error)?;
            let done = page.len() < CHUNK;
            for (key, entry) in &page {
                let of_account = key
                    .split('/')
                    .nth(1)
                    .is_some_and(|queued_account| queued_account == account);
                if of_account && entry.value.bytes() == COUNTED {
                    counted += 1;
                }
            }
            after = page.into_iter().last().map(|(key, _)| key);
            if done {
                return Ok(counted);
            }
        }
    }
}

pub(crate) async fn describe_query(
    state: &CloudTrailState,
    ctx: &RequestContext,
    input: DescribeQueryRequest,
) -> Result<DescribeQueryResponse, ServiceError> {
    let query = match (input.query_id, input.query_alias, input.refresh_id) {
        (Some(id), _, _) => state.find_query(ctx, &id).await?.value,
        (None, Some(alias), refresh_id) => {
            state
                .find_widget_query(ctx, &alias, refresh_id.as_deref())
                .await?
        }
        (None, None, _) => {
            return Err(errors::invalid_parameter_exception(
                "You must specify a QueryId or a QueryAlias.",
            ));
        }
    };
    Ok(DescribeQueryResponse {
        query_id: Some(query.id.clone()),
        query_string: Some(query.statement.clone()),
        query_status: Some(QueryStatus::from(query.status.as_str())),
        query_statistics: Some(QueryStatisticsForDescribeQuery {
            events_matched: Some(saturating_i64(query.events_matched)),
            events_scanned: Some(saturating_i64(query.events_scanned)),
            bytes_scanned: Some(saturating_i64(query.bytes_scanned)),
            execution_time_in_millis: Some(
                i32::try_from(query.execution_millis).unwrap_or(i32::MAX),
            ),
            creation_time: Some(Timestamp::from_millis(query.created_millis)),
        }),
        error_message: query.error,
        delivery_s3_uri: None,
        delivery_status: None,
        prompt: None,
        event_data_store_owner_account_id: query.event_data_store_account,
    })
}

pub(crate) async fn get_query_results(
    state: &CloudTrailState,
    ctx: &RequestContext,
    input: GetQueryResultsRequest,
) -> Result<GetQueryResultsResponse, ServiceError> {
    let query = state.find_query(ctx, &input.query_id).await?.value;
    let page_size = input
        .max_query_results
        .and_then(|max| usize::try_from(max).ok())
        .unwrap_or(ROWS_PER_PAGE)
        .clamp(1, ROWS_PER_PAGE);
    let offset = match &input.next_token {
        Some(token) => crate::tokens::decode(token)?
            .strip_prefix(&format!("{}/", query.id))
            .and_then(|offset| offset.parse::<u64>().ok())
            .ok_or_else(|| errors::invalid_next_token_exception("Invalid NextToken."))?,
        None => 0,
    };
    let mut rows = Vec::new();
    if query.status == FINISHED {
        rows = state.result_rows(&query, offset, page_size).await?;
    }
    let end = offset.saturating_add(rows.len() as u64);
    let next_token = (query.status == FINISHED && end < query.results)
        .then(|| crate::tokens::encode(&format!("{}/{end}", query.id)));
    let columns = &query.columns;
    Ok(GetQueryResultsResponse {
        query_status: Some(QueryStatus::from(query.status.as_str())),
        query_statistics: Some(QueryStatistics {
            results_count: Some(i32::try_from(rows.len()).unwrap_or(i32::MAX)),
            total_results_count: Some(i32::try_from(query.results).unwrap_or(i32::MAX)),
            bytes_scanned: Some(saturating_i64(query.bytes_scanned)),
        }),
        query_result_rows: Some(
            rows.into_iter()
                .map(|row| {
                    // A NULL leaves its column out of the row, as a map cannot hold it.
                    columns
                        .iter()
                        .zip(row)
                        .filter_map(|(column, value)| {
                            value.map(|value| BTreeMap::from([(column.clone(), value)]))
                        })
                        .collect()
                })
                .collect(),
        ),
        next_token,
        error_message: query.error,
    })
}

pub(crate) async fn cancel_query(
    state: &CloudTrailState,
    ctx: &RequestContext,
    input: CancelQueryRequest,
) -> Result<CancelQueryResponse, ServiceError> {
    let cancelled = state
        .mutate(|| async {
            let stored = state.find_query(ctx, &input.query_id).await?;
            let mut query = stored.value.clone();
            if !query.active() {
                return Err(errors::inactive_query_exception(format!(
                    "The query {} is {} and cannot be cancelled.",
                    query.id, query.status
                )));
            }
            query.status = CANCELLED.to_owned();
            let transaction = stored
                .replace(Transaction::new(), QUERIES, &query.key(), plain(&query)?)
                .delete(QUERY_QUEUE, &query.queue_key());
            Ok((transaction, query))
        })
        .await?;
    Ok(CancelQueryResponse {
        query_id: cancelled.id,
        query_status: QueryStatus::Cancelled,
        event_data_store_owner_account_id: cancelled.event_data_store_account,
    })
}

pub(crate) async fn list_queries(
    state: &CloudTrailState,
    ctx: &RequestContext,
    input: ListQueriesRequest,
) -> Result<ListQueriesResponse, ServiceError> {
    // Another account's event data store, named by its ARN, when IAM let the caller at it.
    let store_account = crate::names::split_arn(&input.event_data_store)
        .map_or(ctx.account().as_str(), |arn| arn.account);
    let store = state
        .find_event_data_store_of(store_account, ctx.region.as_str(), &input.event_data_store)
        .await?
        .value;
    let (from, until) = (input.start_time.map(millis), input.end_time.map(millis));
    if let (Some(from), Some(until)) = (from, until)
        && from > until
    {
        return Err(errors::invalid_date_range_exception(
            "The start time must be before the end time.",
        ));
    }
    let page_size = input
        .max_results
        .and_then(|max| usize::try_from(max).ok())
        .unwrap_or(DEFAULT_LIST_PAGE)
        .clamp(1, DEFAULT_LIST_PAGE);
    let status = input.query_status.as_ref().map(QueryStatus::as_str);
    let mut queries: Vec<QueryRecord> = state
        .account_queries(ctx.account().as_str())
        .await?
        .into_iter()
        .filter(|query| {
            query.event_data_store == store.id
                && query.store_account() == store.account
                && from.is_none_or(|from| query.created_millis >= from)
                && until.is_none_or(|until| query.created_millis <= until)
                && status.is_none_or(|status| query.status == status)
        })
        .collect();
    // Newest first; the id orders queries started in the same millisecond.
    queries.sort_by(|a, b| (b.created_millis, &b.id).cmp(&(a.created_millis, &a.id)));
    let after = input
        .next_token
        .as_deref()
        .map(crate::tokens::decode)
        .transpose()?;
    let position = |query: &QueryRecord| format!("{:013}/{}", query.created_millis, query.id);
    let mut remaining = queries.iter().filter(|query| {
        after
            .as_deref()
            .is_none_or(|after| position(query).as_str() < after)
    });
    let page: Vec<&QueryRecord> = remaining.by_ref().take(page_size).collect();
    let next_token = match (remaining.next(), page.last()) {
        (Some(_), Some(last)) => Some(crate::tokens::encode(&position(last))),
        _ => None,
    };
    Ok(ListQueriesResponse {
        queries: Some(
            page.into_iter()
                .map(|query| Query {
                    query_id: Some(query.id.clone()),
                    query_status: Some(QueryStatus::from(query.status.as_str())),
                    creation_time: Some(Timestamp::from_millis(query.created_millis)),
                })
                .collect(),
        ),
        next_token,
    })
}

impl CloudTrailState {
    /// The query `id` of the caller's account and region, while it is kept.
    async fn find_query(
        &self,
        ctx: &RequestContext,
        id: &str,
    ) -> Result<Stored<QueryRecord>, ServiceError> {
        let key = format!("{}/{id}", ctx.account().as_str());
        let now = self.clock.now_millis();
        match typed::get_json::<QueryRecord>(&self.store, QUERIES, &key)
            .await
            .map_err(store_error)?
        {
            Some(stored)
                if stored.value.region == ctx.region.as_str() && !expired(&stored.value, now) =>
            {
                Ok(stored)
            }
            _ => Err(errors::query_id_not_found_exception(format!(
                "The query ID {id} does not exist or does not map to a query."
            ))),
        }
    }

    /// The query a dashboard refresh ran for its widget `alias`: refresh `refresh_id`'s, or
    /// without one the latest (as AWS answers a `QueryAlias` alone).
    async fn find_widget_query(
        &self,
        ctx: &RequestContext,
        alias: &str,
        refresh_id: Option<&str>,
    ) -> Result<QueryRecord, ServiceError> {
        self.account_queries(ctx.account().as_str())
            .await?
            .into_iter()
            .filter(|query| {
                query.region == ctx.region.as_str()
                    && query.widget.as_ref().is_some_and(|widget| {
                        widget.alias == alias
                            && refresh_id.is_none_or(|refresh_id| widget.refresh_id == refresh_id)
                    })
            })
            .max_by(|a, b| (a.created_millis, &a.id).cmp(&(b.created_millis, &b.id)))
            .ok_or_else(|| {
                errors::query_id_not_found_exception(format!(
                    "No query has run for the alias {alias}{}.",
                    refresh_id.map_or_else(String::new, |id| format!(" in refresh {id}"))
                ))
            })
    }

    /// Every kept query of `account`.
    async fn account_queries(&self, account: &str) -> Result<Vec<QueryRecord>, ServiceError> {
        let now = self.clock.now_millis();
        let prefix = format!("{account}/");
        Ok(
            typed::scan_all_json::<QueryRecord>(&self.store, QUERIES, &prefix, CHUNK)
                .await
                .map_err(store_error)?
                .into_iter()
                .map(|(_, stored)| stored.value)
                .filter(|query| !expired(query, now))
                .collect(),
        )
    }

    /// Up to `count` result rows of `query` from row `offset` on.
    async fn result_rows(
        &self,
        query: &QueryRecord,
        offset: u64,
        count: usize,
    ) -> Result<Vec<Vec<Option<String>>>, ServiceError> {
        let per_page = ROWS_PER_PAGE as u64;
        let mut rows = Vec::new();
        let mut page_number = offset / per_page;
        let mut skip = usize::try_from(offset % per_page).unwrap_or(0);
        while rows.len() < count {
            let key = result_page_key(query, page_number);
            let Some(page) =
                typed::get_json::<Vec<Vec<Option<String>>>>(&self.store, QUERY_RESULTS, &key)
                    .await
                    .map_err(store_error)?
            else {
                break;
            };
            let wanted = count - rows.len();
            rows.extend(page.value.into_iter().skip(skip).take(wanted));
            skip = 0;
            page_number += 1;
        }
        Ok(rows)
    }

    /// Runs queued queries, one at a time, for as long as the server runs: those a restart left
    /// queued first, then each as `StartQuery` queues it.
    pub async fn run_queries(&self) {
        loop {
            let woken = self.queries_queued.notified();
            match self.run_queued().await {
                Ok(()) => woken.await,
                Err(error) => {
                    tracing::warn!(%error, "running CloudTrail Lake queries failed; retrying");
                    tokio::time::sleep(std::time::Duration::from_secs(1)).await;
                }
            }
        }
    }

    /// Runs every query in the queue, oldest first.
    pub async fn run_queued(&self) -> Result<(), ServiceError> {
        loop {
            let queued = self
                .store
                .scan(QUERY_QUEUE, "", None, CHUNK)
                .await
                .map_err(store_error)?;
            if queued.is_empty() {
                return Ok(());
            }
            for (queue_key, _) in queued {
                self.run_query(&queue_key).await?;
            }
        }
    }

    /// Runs the query the queue entry `queue_key` names to its end, unless it was cancelled.
    /// A query that cannot be run or whose results cannot be stored fails, rather than staying
    /// in the queue ahead of every other.
    async fn run_query(&self, queue_key: &str) -> Result<(), ServiceError> {
        let dequeue = Transaction::new().delete(QUERY_QUEUE, queue_key);
        let Some(key) = queue_key.split_once('/').map(|(_, key)| key) else {
            return self.store.commit(dequeue).await.map_err(store_error);
        };
        let stored = typed::get_json::<QueryRecord>(&self.store, QUERIES, key)
            .await
            .map_err(store_error)?;
        let Some(stored) = stored.filter(|stored| stored.value.active()) else {
            return self.store.commit(dequeue).await.map_err(store_error);
        };
        let mut query = stored.value.clone();
        query.status = RUNNING.to_owned();
        let running = stored.replace(Transaction::new(), QUERIES, key, plain(&query)?);
        match self.store.commit(running).await {
            Ok(()) => {}
            // Cancelled as it started: the next look at the queue finds it inactive.
            Err(StoreError::Conflict(_)) => return Ok(()),
            Err(error) => return Err(store_error(error)),
        }
        let started = self.clock.now_millis();
        let outcome = self.evaluate(&query).await;
        query.execution_millis = self.clock.now_millis().saturating_sub(started).max(0);
        let results = match outcome {
            Ok(Outcome::Finished(results)) => results,
            Ok(Outcome::Cancelled) => return Ok(()),
            Err(message) => return self.finish_query(queue_key, query, Err(message)).await,
        };
        query.columns = results.columns;
        query.events_matched = results.events_matched;
        query.events_scanned = results.events_scanned;
        query.bytes_scanned = results.bytes_scanned;
        query.results = results.rows.len() as u64;
        // The pages go in transactions of their own, before the query says it finished: a
        // query cancelled or failed meanwhile leaves pages that the sweeper removes with it.
        let pages: Vec<&[Vec<Option<String>>]> = results.rows.chunks(ROWS_PER_PAGE).collect();
        for (commit, batch) in pages.chunks(PAGES_PER_COMMIT).enumerate() {
            let mut transaction = Transaction::new();
            for (offset, rows) in batch.iter().enumerate() {
                let page_number = (commit * PAGES_PER_COMMIT + offset) as u64;
                transaction = transaction.put(
                    QUERY_RESULTS,
                    &result_page_key(&query, page_number),
                    plain(rows)?,
                );
            }
            if let Err(error) = self.store.commit(transaction).await {
                let message = format!("The query's results could not be stored: {error}");
                return self.finish_query(queue_key, query, Err(message)).await;
            }
        }
        self.finish_query(queue_key, query, Ok(())).await
    }

    /// Records the end of the running `query`, `FINISHED` or `FAILED` with the message, and
    /// takes it off the queue; pinned to the running record, so a cancellation meanwhile wins.
    async fn finish_query(
        &self,
        queue_key: &str,
        mut query: QueryRecord,
        outcome: Result<(), String>,
    ) -> Result<(), ServiceError> {
        match outcome {
            Ok(()) => query.status = FINISHED.to_owned(),
            Err(message) => {
                query.status = FAILED.to_owned();
                query.results = 0;
                query.error = Some(message);
            }
        }
        let key = query.key();
        let Some(running) = typed::get_json::<QueryRecord>(&self.store, QUERIES, &key)
            .await
            .map_err(store_error)?
            .filter(|running| running.value.status == RUNNING)
        else {
            return Ok(());
        };
        let transaction = running
            .replace(Transaction::new(), QUERIES, &key, plain(&query)?)
            .delete(QUERY_QUEUE, queue_key);
        match self.store.commit(transaction).await {
            Ok(()) | Err(StoreError::Conflict(_)) => Ok(()),
            Err(error) => Err(store_error(error)),
        }
    }

    /// Whether the query `key` was cancelled (or is gone) since it started running.
    async fn cancelled(&self, key: &str) -> Result<bool, String> {
        Ok(typed::get_json::<QueryRecord>(&self.store, QUERIES, key)
            .await
            .map_err(|error| error.to_string())?
            .is_none_or(|stored| stored.value.status != RUNNING))
    }

    /// Evaluates `query` over its event data store's events, newest first.
    async fn evaluate(&self, query: &QueryRecord) -> Result<Outcome, String> {
        let query_key = query.key();
        let statement = palisade_lake_query::parse(&query.statement, &query.parameters)
            .map_err(|error| error.to_string())?;
        let store_key = format!("{}/{}", query.store_account(), query.event_data_store);
        let store = typed::get_json::<EventDataStoreRecord>(
            &self.store,
            crate::event_data_stores::EVENT_DATA_STORES,
            &store_key,
        )
        .await
        .map_err(|error| error.to_string())?
        .map(|stored| stored.value)
        .ok_or_else(|| "The event data store of this query no longer exists.".to_owned())?;
        // Every call answered before the query ran is in the store.
        self.audit.flush().await;
        let now = self.clock.now_millis();
        let (lower, upper) = statement.event_time_bounds();
        // Records are keyed by their call's time in milliseconds, while `eventTime` is whole
        // seconds: a record whose `eventTime` is at the upper bound may be keyed up to 999 ms
        // after it. (The lower bound needs nothing: a key is never before its `eventTime`.)
        let upper = upper.map(|upper| upper.saturating_add(999));
        let spans: Vec<(i64, i64)> = store
            .spans(now)
            .into_iter()
            .map(|(from, until)| {
                (
                    lower.map_or(from, |lower| from.max(lower)),
                    upper.map_or(until, |upper| until.min(upper)),
                )
            })
            .filter(|(from, until)| from <= until)
            .collect();
        let selectors = EventSelectorsRecord::Advanced(store.selectors.clone());
        let sources = self
            .sources_of_store(&store)
            .await
            .map_err(|error| error.message)?;
        let mut scan = Scan {
            execution: statement.execute_at(now),
            bytes_scanned: 0,
            query_key: &query_key,
        };
        for (account, region, joined) in sources {
            for &(from, until) in &spans {
                let from = from.max(joined);
                if from > until {
                    continue;
                }
                let range = ScanRange {
                    keyspace: KEYSPACE,
                    prefix: history::prefix(&account, &region),
                    from,
                    until,
                };
                if self.scan_into(&range, Some(&selectors), &mut scan).await? {
                    return Ok(Outcome::Cancelled);
                }
            }
        }
        // Events imported into the store are its own: only its retention period bounds them.
        let imported = ScanRange {
            keyspace: crate::imports::IMPORTED_EVENTS,
            prefix: crate::imports::imported_prefix(&store.account, &store.id),
            from: lower.map_or(store.oldest_kept(now), |lower| {
                lower.max(store.oldest_kept(now))
            }),
            until: upper.map_or(now, |upper| upper.min(now)),
        };
        if imported.from <= imported.until && self.scan_into(&imported, None, &mut scan).await? {
            return Ok(Outcome::Cancelled);
        }
        let Scan {
            execution,
            bytes_scanned,
            ..
        } = scan;
        let results = execution.finish().map_err(|error| error.to_string())?;
        Ok(Outcome::Finished(Results {
            columns: results.columns,
            rows: results.rows,
            events_matched: results.events_matched,
            events_scanned: results.events_scanned,
            bytes_scanned,
        }))
    }

    /// Feeds `scan` the records of `range`, newest first, that `selectors` (if any) let
    /// through; answers whether the query was cancelled meanwhile.
    async fn scan_into(
        &self,
        range: &ScanRange,
        selectors: Option<&EventSelectorsRecord>,
        scan: &mut Scan<'_, '_>,
    ) -> Result<bool, String> {
        let mut position = format!(
            "{}{}",
            range.prefix,
            history::tail_at_or_before(range.until)
        );
        loop {
            let batch = self
                .store
                .scan(range.keyspace, &range.prefix, Some(&position), SCAN_BATCH)
                .await
                .map_err(|error| error.to_string())?;
            let last_batch = batch.len() < SCAN_BATCH;
            for (key, entry) in batch {
                if history::millis_of(&key).is_none_or(|time| time < range.from) {
                    return Ok(false);
                }
                position = key;
                let bytes = entry.value.bytes();
                if selectors
                    .is_some_and(|selectors| !selection::logs_record(Some(selectors), bytes))
                {
                    continue;
                }
                let Ok(record) = serde_json::from_slice::<serde_json::Value>(bytes) else {
                    continue;
                };
                scan.bytes_scanned = scan.bytes_scanned.saturating_add(bytes.len() as u64);
                scan.execution
                    .add(&record)
                    .map_err(|error| error.to_string())?;
            }
            if self.cancelled(scan.query_key).await? {
                return Ok(true);
            }
            if last_batch {
                return Ok(false);
            }
        }
    }

    /// The accounts and regions whose records `store` holds, each with when the account's
    /// records start to count (when it joined the organization, for an organization store).
    async fn sources_of_store(
        &self,
        store: &EventDataStoreRecord,
    ) -> Result<Vec<(String, String, i64)>, ServiceError> {
        let accounts = match self
            .organization_coverage(&store.account, store.organization)
            .await?
        {
            Some(coverage) => coverage
                .members
                .into_iter()
                .map(|member| (member.account, member.joined_millis))
                .collect(),
            None => vec![(store.account.clone(), i64::MIN)],
        };
        let mut sources = Vec::new();
        for (account, joined) in accounts {
            let regions = if store.multi_region {
                self.regions_with_records(&account, Vec::new()).await?
            } else {
                vec![store.region.clone()]
            };
            sources.extend(
                regions
                    .into_iter()
                    .map(|region| (account.clone(), region, joined)),
            );
        }
        Ok(sources)
    }

    /// Deletes the queries kept past their seven days, with their results; the server's
    /// sweeper calls it.
    pub async fn forget_expired_queries(&self) -> Result<(), ServiceError> {
        let now = self.clock.now_millis();
        let mut after: Option<String> = None;
        loop {
            let page =
                typed::scan_json::<QueryRecord>(&self.store, QUERIES, "", after.as_deref(), CHUNK)
                    .await
                    .map_err(store_error)?;
            let done = page.len() < CHUNK;
            after = page.last().map(|(key, _)| key.clone());
            for (key, stored) in page {
                if !expired(&stored.value, now) || stored.value.active() {
                    continue;
                }
                // Every page written, whether or not the query came to count them (far fewer
                // than the bound: a query keeps at most a few million rows).
                let pages = self
                    .store
                    .scan(QUERY_RESULTS, &format!("{key}/"), None, MAX_RESULT_PAGES)
                    .await
                    .map_err(store_error)?;
                let mut transaction = Transaction::new()
                    .expect_version(QUERIES, &key, stored.version)
                    .delete(QUERIES, &key);
                for (page_key, _) in pages {
                    transaction = transaction.delete(QUERY_RESULTS, &page_key);
                }
                match self.store.commit(transaction).await {
                    Ok(()) | Err(StoreError::Conflict(_)) => {}
                    Err(error) => return Err(store_error(error)),
                }
            }
            if done {
                return Ok(());
            }
        }
    }
}

/// Records of one keyspace under `prefix`, keyed by inverted time as the audit records are,
/// from `from` to `until` (milliseconds, inclusive).
struct ScanRange {
    keyspace: &'static str,
    prefix: String,
    from: i64,
    until: i64,
}

/// A query being fed records.
struct Scan<'q, 's> {
    execution: palisade_lake_query::Execution<'s>,
    bytes_scanned: u64,
    query_key: &'q str,
}

/// What running a query came to, short of failing.
enum Outcome {
    Finished(Results),
    Cancelled,
}

struct Results {
    columns: Vec<String>,
    rows: Vec<Vec<Option<String>>>,
    events_matched: u64,
    events_scanned: u64,
    bytes_scanned: u64,
}

fn result_page_key(query: &QueryRecord, page_number: u64) -> String {
    format!("{}/{}/{page_number:08}", query.account, query.id)
}

fn expired(query: &QueryRecord, now: i64) -> bool {
    now >= query.created_millis.saturating_add(KEPT_MILLIS)
}

fn saturating_i64(count: u64) -> i64 {
    i64::try_from(count).unwrap_or(i64::MAX)
}
