//! Retries: a target's `RetryPolicy` (by default 185 retry attempts within 24 hours of the
//! event's arrival), the exponential backoff with jitter between attempts, and the task that
//! runs each waiting retry when it falls due.
//!
//! The n-th retry waits between half and all of `2^(n-1)` seconds (at most three minutes),
//! or longer when the target asked for it (`Retry-After`). A retry that would fall past the
//! event's maximum age is not made. Time is the injected clock's: the scheduler sleeps until
//! the next retry is due, at most `POLL` at a time, then reads the clock again, so a test that
//! moves a `ManualClock` sees the retry run without waiting for the real delay.

use std::cmp::Reverse;
use std::collections::hash_map::DefaultHasher;
use std::collections::{BinaryHeap, HashMap};
use std::hash::{Hash, Hasher};
use std::sync::{Arc, Weak};
use std::time::{Duration, SystemTime};

use palisade_core::clock::Clock;
use palisade_model_events::types::Target;
use tokio::sync::mpsc;

use crate::EventsState;
use crate::delivery::{Failure, RetryAfter};
use crate::outbox::PendingRetry;

/// AWS's defaults when a target sets no `RetryPolicy` (or leaves a member out).
const DEFAULT_MAXIMUM_RETRY_ATTEMPTS: u32 = 185;
const DEFAULT_MAXIMUM_EVENT_AGE_SECONDS: i64 = 86_400;

/// The longest wait between two attempts, jitter aside.
const MAX_BACKOFF_MILLIS: i64 = 180_000;

/// The longest the scheduler (and any wait on the clock) sleeps before reading the clock again.
const POLL: Duration = Duration::from_millis(200);

/// The retry policy of one target.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Policy {
    pub maximum_retry_attempts: u32,
    pub maximum_event_age_millis: i64,
}

impl Policy {
    pub fn of(target: &Target) -> Self {
        let policy = target.retry_policy.as_ref();
        let attempts = policy
            .and_then(|policy| policy.maximum_retry_attempts)
            .and_then(|attempts| u32::try_from(attempts).ok())
            .unwrap_or(DEFAULT_MAXIMUM_RETRY_ATTEMPTS);
        let age = policy
            .and_then(|policy| policy.maximum_event_age_in_seconds)
            .map_or(DEFAULT_MAXIMUM_EVENT_AGE_SECONDS, i64::from);
        Self {
            maximum_retry_attempts: attempts,
            maximum_event_age_millis: age.saturating_mul(1000),
        }
    }
}

/// What follows a failed invocation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Next {
    /// Try again at this time (milliseconds since the epoch).
    Retry { due_millis: i64 },
    /// No more attempts; `exhausted` names the policy limit that ended them (the dead-letter
    /// queue's `EXHAUSTED_RETRY_CONDITION`), none when the failure is not retried at all.
    GiveUp { exhausted: Option<&'static str> },
}

/// What follows `failure` of an invocation that had made `retries` retry attempts, for an event
/// received at `ingestion_millis`, at `now_millis`. `seed` spreads the jitter.
pub(crate) fn next(
    policy: Policy,
    failure: &Failure,
    retries: u32,
    ingestion_millis: i64,
    now_millis: i64,
    seed: u64,
) -> Next {
    if !failure.retryable || failure.retry_after == Some(RetryAfter::Stop) {
        return Next::GiveUp { exhausted: None };
    }
    if retries >= policy.maximum_retry_attempts {
        return Next::GiveUp {
            exhausted: Some("MaximumRetryAttempts"),
        };
    }
    let mut due_millis = now_millis.saturating_add(backoff_millis(retries + 1, seed));
    if let Some(RetryAfter::Wait(wait)) = failure.retry_after {
        let asked = i64::try_from(wait.as_millis()).unwrap_or(i64::MAX);
        due_millis = due_millis.max(now_millis.saturating_add(asked));
    }
    if due_millis > ingestion_millis.saturating_add(policy.maximum_event_age_millis) {
        return Next::GiveUp {
            exhausted: Some("MaximumEventAgeInSeconds"),
        };
    }
    Next::Retry { due_millis }
}

/// How long before the `retry`-th retry (1 for the first): the exponential ceiling
/// `2^(retry-1)` seconds (capped), less a jitter of up to half of it.
pub(crate) fn backoff_millis(retry: u32, seed: u64) -> i64 {
    let exponent = retry.saturating_sub(1).min(20);
    let ceiling = (1000_i64 << exponent).min(MAX_BACKOFF_MILLIS);
    let half = ceiling / 2;
    let jitter = i64::try_from(seed % u64::try_from(half + 1).unwrap_or(1)).unwrap_or(0);
    ceiling - jitter
}

/// A jitter seed for one attempt: the same invocation and attempt always get the same one.
pub(crate) fn seed(key: &str, retries: u32) -> u64 {
    let mut hasher = DefaultHasher::new();
    key.hash(&mut hasher);
    retries.hash(&mut hasher);
    hasher.finish()
}

/// Returns once `clock` reads `deadline` or later.
pub(crate) async fn wait_until(clock: &dyn Clock, deadline: SystemTime) {
    loop {
        let Ok(left) = deadline.duration_since(clock.now()) else {
            return;
        };
        if left.is_zero() {
            return;
        }
        tokio::time::sleep(left.min(POLL)).await;
    }
}

/// The scheduler task: keeps the waiting retries that `arrivals` brings (each once it is
/// durable) and starts each when it falls due, until the service is dropped.
pub(crate) async fn schedule(
    state: Weak<EventsState>,
    clock: Arc<dyn Clock>,
    mut arrivals: mpsc::UnboundedReceiver<(String, PendingRetry)>,
) {
    let mut due: BinaryHeap<Reverse<(i64, String)>> = BinaryHeap::new();
    let mut waiting: HashMap<String, PendingRetry> = HashMap::new();
    loop {
        let now = clock.now_millis();
        while let Some(Reverse((at, _))) = due.peek()
            && *at <= now
        {
            let Some(Reverse((_, key))) = due.pop() else {
                break;
            };
            if let Some(retry) = waiting.remove(&key) {
                let Some(state) = state.upgrade() else {
                    return;
                };
                tokio::spawn(async move { state.run_retry(key, retry).await });
            }
        }
        let arrival = match due.peek() {
            None => arrivals.recv().await,
            Some(Reverse((at, _))) => {
                let left = Duration::from_millis(u64::try_from(at - now).unwrap_or(0));
                match tokio::time::timeout(left.min(POLL), arrivals.recv()).await {
                    Ok(arrival) => arrival,
                    Err(_) => continue,
                }
            }
        };
        let Some((key, retry)) = arrival else {
            return;
        };
        due.push(Reverse((retry.due_millis, key.clone())));
        waiting.insert(key, retry);
    }
}

#[cfg(test)]
mod tests {
    use palisade_model_events::types::RetryPolicy;

    use super::*;

    fn failure(retryable: bool) -> Failure {
        Failure {
            code: "ERROR_FROM_TARGET",
            message: String::new(),
            retryable,
            retry_after: None,
        }
    }

    const HOUR: i64 = 3_600_000;

    #[test]
    fn policies_default_to_185_attempts_within_a_day() {
        assert_eq!(
            Policy::of(&Target::default()),
            Policy {
                maximum_retry_attempts: 185,
                maximum_event_age_millis: 86_400_000
            }
        );
        let set = Target {
            retry_policy: Some(RetryPolicy {
                maximum_retry_attempts: Some(0),
                maximum_event_age_in_seconds: Some(60),
            }),
            ..Target::default()
        };
        assert_eq!(
            Policy::of(&set),
            Policy {
                maximum_retry_attempts: 0,
                maximum_event_age_millis: 60_000
            }
        );
    }

    #[test]
    fn backoff_doubles_up_to_three_minutes_with_jitter_below_half() {
        for seed in [0, 1, 499, 500, 12_345, u64::MAX] {
            for (retry, ceiling) in [(1, 1000), (2, 2000), (3, 4000), (8, 128_000), (9, 180_000)] {
                let wait = backoff_millis(retry, seed);
                assert!(
                    wait <= ceiling && wait >= ceiling / 2,
                    "{retry} {seed} {wait}"
                );
            }
            assert_eq!(backoff_millis(185, seed), backoff_millis(9, seed));
        }
        assert_eq!(backoff_millis(1, 0), 1000);
    }

    #[test]
    fn retries_until_attempts_or_age_run_out() {
        let policy = Policy {
            maximum_retry_attempts: 2,
            maximum_event_age_millis: HOUR,
        };
        let retry = |retries, now| next(policy, &failure(true), retries, 0, now, 0);
        assert_eq!(retry(0, 0), Next::Retry { due_millis: 1000 });
        assert_eq!(retry(1, 1000), Next::Retry { due_millis: 3000 });
        assert_eq!(
            retry(2, 3000),
            Next::GiveUp {
                exhausted: Some("MaximumRetryAttempts")
            }
        );
        assert_eq!(
            retry(0, HOUR - 500),
            Next::GiveUp {
                exhausted: Some("MaximumEventAgeInSeconds")
            }
        );
        assert_eq!(
            next(policy, &failure(false), 0, 0, 0, 0),
            Next::GiveUp { exhausted: None }
        );
    }

    #[test]
    fn retry_after_waits_longer_or_stops() {
        let policy = Policy {
            maximum_retry_attempts: 5,
            maximum_event_age_millis: HOUR,
        };
        let mut asked = failure(true);
        asked.retry_after = Some(RetryAfter::Wait(Duration::from_secs(30)));
        assert_eq!(
            next(policy, &asked, 0, 0, 0, 0),
            Next::Retry { due_millis: 30_000 }
        );
        asked.retry_after = Some(RetryAfter::Wait(Duration::ZERO));
        assert_eq!(
            next(policy, &asked, 0, 0, 0, 0),
            Next::Retry { due_millis: 1000 }
        );
        asked.retry_after = Some(RetryAfter::Stop);
        assert_eq!(
            next(policy, &asked, 0, 0, 0, 0),
            Next::GiveUp { exhausted: None }
        );
    }
}
