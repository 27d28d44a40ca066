//! Amazon EventBridge: event buses (each account and region has its `default` bus), rules that
//! select events with an event pattern or fire on a schedule, their targets, API destinations
//! and the connections that authorize them, `PutEvents` and `TestEventPattern`.
//!
//! Events accepted by `PutEvents`, and those services publish through
//! [`palisade_core::events::EventSink`] (which [`EventsState`] implements), are written to a
//! durable outbox, then delivered in the background to the targets of the rules they match:
//! CloudWatch Logs log groups, other buses and API destinations, at least once, with each
//! target's retry policy and dead-letter queue (see `delivery` and `outbox`).
//!
//! Not built yet: delivery to other kinds of targets, the scheduler that fires
//! `rate()`/`cron()` rules, bus policies (`PutPermission`), archives and replays, endpoints,
//! partner event sources and tagging.

mod api_destinations;
mod buses;
mod connections;
mod db;
mod delivery;
mod events;
mod http;
mod input;
mod outbox;
mod paging;
mod records;
mod retry;
mod rules;
mod schedule;
mod service;
mod targets;
mod values;

use std::collections::HashMap;
use std::sync::{Arc, Mutex, Weak};

use palisade_core::clock::Clock;
use palisade_event_pattern::Machine;
use palisade_store::Store;
use tokio::sync::mpsc;

pub use delivery::{DeliveryStats, LogEvent, LogGroups};
pub use events::{Delivery, envelope};

/// EventBridge's state: buses, rules, connections and API destinations in the store, keyed by
/// account and region; for each bus the compiled machine of its enabled rules' patterns; and,
/// when it delivers, the delivery runtime.
pub struct EventsState {
    store: Store,
    clock: Arc<dyn Clock>,
    /// Compiled on first use after a change to the bus's rules (made through this process).
    machines: Mutex<HashMap<String, Arc<Machine<String>>>>,
    /// Delivery's channels and bounds; none when built by [`EventsState::new`].
    runtime: Option<delivery::Runtime>,
}

impl EventsState {
    /// The service over `store`, telling time by `clock`; it accepts events and delivers none.
    pub fn new(store: Store, clock: Arc<dyn Clock>) -> Self {
        Self {
            store,
            clock,
            machines: Mutex::new(HashMap::new()),
            runtime: None,
        }
    }

    /// The service over `store`, telling time by `clock`, delivering the events it accepts
    /// (writing to log groups through `logs`) from tasks it spawns, which end once the service
    /// is dropped. First it delivers what the store still holds from an earlier run. Must be
    /// called within a Tokio runtime.
    pub fn delivering(store: Store, clock: Arc<dyn Clock>, logs: Arc<dyn LogGroups>) -> Arc<Self> {
        let (writes, written) = mpsc::unbounded_channel();
        let (dispatch, dispatched) = mpsc::unbounded_channel();
        let (retries, due) = mpsc::unbounded_channel();
        let state = Arc::new_cyclic(|this: &Weak<Self>| Self {
            store: Store::clone(&store),
            clock: Arc::clone(&clock),
            machines: Mutex::new(HashMap::new()),
            runtime: Some(delivery::Runtime::new(Weak::clone(this), writes, logs)),
        });
        // Started once the state exists: the writer hands over earlier events at once.
        tokio::spawn(delivery::dispatch(Arc::downgrade(&state), dispatched));
        tokio::spawn(retry::schedule(Arc::downgrade(&state), clock, due));
        tokio::spawn(outbox::write(
            store,
            written,
            outbox::Downstream { dispatch, retries },
        ));
        state
    }

    fn now_millis(&self) -> i64 {
        self.clock.now_millis()
    }
}

impl std::fmt::Debug for EventsState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EventsState").finish_non_exhaustive()
    }
}
