//! Amazon EventBridge: event buses (each account and region has its `default` bus), rules that
//! select events with an event pattern or fire on a schedule, their targets, API destinations
//! and the connections that authorize them, `PutEvents` and `TestEventPattern`.
//!
//! Events accepted by `PutEvents`, and those services publish through
//! [`palisade_core::events::EventSink`] (which [`EventsState`] implements), are written to a
//! durable outbox, then delivered in the background to the targets of the rules they match:
//! CloudWatch Logs log groups, other buses (of any account and region) and API destinations,
//! at least once, with each target's retry policy and dead-letter queue (see `delivery` and
//! `outbox`). A bus's resource policy (`PutPermission`) decides which other accounts may put
//! events on it, by `PutEvents` or through their rules (see `permissions`).
//!
//! Archives keep the events a bus accepts that match their pattern, written in the same
//! transaction as the event's acceptance, and replays send an archive's events back to its bus
//! (see `archives` and `replays`).
//!
//! Rules with a `rate()` or `cron()` schedule fire by the injected clock (see `scheduler`).
//!
//! Rules and buses carry tags (see `tags`).
//!
//! Partner event sources bring a partner's events to the partner event bus of each account that
//! takes them (see `sources`).
//!
//! Not built yet: delivery to other kinds of targets, and global endpoints.

pub mod addresses;
mod api_destinations;
mod archives;
mod buses;
mod connections;
mod db;
mod delivery;
mod events;
mod http;
mod input;
mod outbox;
mod paging;
mod permissions;
mod records;
mod replays;
mod retry;
mod rules;
mod schedule;
mod scheduler;
mod service;
mod sources;
mod tags;
mod targets;
mod values;

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use palisade_core::clock::Clock;
use palisade_event_pattern::Machine;
use palisade_store::Store;
use tokio::sync::mpsc;

pub use delivery::{DeliveryStats, LogEvent, LogGroups};
pub use events::{Delivery, envelope};
pub use permissions::BusPolicy;

/// EventBridge's state: buses, rules, connections, API destinations, archives and replays in the
/// store, keyed by account and region; for each bus the compiled machine of its enabled rules'
/// patterns; and, when it delivers, the delivery runtime.
pub struct EventsState {
    store: Store,
    clock: Arc<dyn Clock>,
    /// Compiled on first use after a change to the bus's rules (made through this process).
    machines: Mutex<HashMap<String, Arc<Machine<String>>>>,
    /// Delivery's channels and bounds; none when built by [`EventsState::new`].
    runtime: Option<delivery::Runtime>,
    /// Which archives each bus has, shared with the outbox writer, which archives events.
    archiver: Arc<archives::Archiver>,
    /// The way to the task that runs replays; none when built by [`EventsState::new`].
    replays: Option<replays::Runner>,
    /// Held while scheduled rules are fired, so that two callers never fire one twice.
    firing: tokio::sync::Mutex<()>,
}

impl EventsState {
    /// The service over `store`, telling time by `clock`; it accepts events and delivers none.
    pub fn new(store: Store, clock: Arc<dyn Clock>) -> Self {
        Self {
            archiver: Arc::new(archives::Archiver::new(Store::clone(&store))),
            store,
            clock,
            machines: Mutex::new(HashMap::new()),
            runtime: None,
            replays: None,
            firing: tokio::sync::Mutex::new(()),
        }
    }

    /// The service over `store`, telling time by `clock`, delivering the events it accepts
    /// (writing to log groups through `logs`, calling API destinations within `reach`), running
    /// replays and sweeping archives from tasks
    /// it spawns, which end once the service is dropped. First it delivers what the store still
    /// holds from an earlier run, and resumes unfinished replays. Must be called within a Tokio
    /// runtime.
    pub fn delivering(
        store: Store,
        clock: Arc<dyn Clock>,
        logs: Arc<dyn LogGroups>,
        reach: addresses::Reach,
    ) -> Arc<Self> {
        let (writes, written) = mpsc::unbounded_channel();
        let (dispatch, dispatched) = mpsc::unbounded_channel();
        let (retries, due) = mpsc::unbounded_channel();
        let (runner, started) = replays::Runner::new();
        let archiver = Arc::new(archives::Archiver::new(Store::clone(&store)));
        let state = Arc::new_cyclic(|this: &Weak<Self>| Self {
            store: Store::clone(&store),
            clock: Arc::clone(&clock),
            machines: Mutex::new(HashMap::new()),
            runtime: Some(delivery::Runtime::new(
                Weak::clone(this),
                writes,
                logs,
                reach,
            )),
            archiver: Arc::clone(&archiver),
            replays: Some(runner),
            firing: tokio::sync::Mutex::new(()),
        });
        // Started once the state exists: the writer hands over earlier events at once.
        tokio::spawn(delivery::dispatch(Arc::downgrade(&state), dispatched));
        tokio::spawn(retry::schedule(Arc::downgrade(&state), clock, due));
        tokio::spawn(outbox::write(
            store,
            archiver,
            written,
            outbox::Downstream { dispatch, retries },
        ));
        tokio::spawn(replays::run(Arc::downgrade(&state), started));
        tokio::spawn(every(
            Arc::downgrade(&state),
            archives::SWEEP_INTERVAL,
            "EventBridge archive sweep failed",
            |state| async move { state.sweep_archives().await },
        ));
        tokio::spawn(every(
            Arc::downgrade(&state),
            scheduler::TICK,
            "EventBridge scheduled rules could not be fired",
            |state| async move { state.fire_schedules().await },
        ));
        state
    }

    fn now_millis(&self) -> i64 {
        self.clock.now_millis()
    }
}

/// Runs `job` every `period` until the service is dropped, logging a failure as `what`. The
/// first run waits a period too: a starting server answers before it works.
async fn every<T, Job>(
    state: Weak<EventsState>,
    period: Duration,
    what: &'static str,
    job: impl Fn(Arc<EventsState>) -> Job,
) where
    Job: Future<Output = Result<T, palisade_core::ServiceError>>,
{
    let mut ticks = tokio::time::interval_at(tokio::time::Instant::now() + period, period);
    loop {
        ticks.tick().await;
        let Some(state) = state.upgrade() else {
            return;
        };
        if let Err(error) = job(state).await {
            tracing::warn!(%error, "{what}");
        }
    }
}

impl std::fmt::Debug for EventsState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EventsState").finish_non_exhaustive()
    }
}
