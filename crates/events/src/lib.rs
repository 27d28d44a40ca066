//! Amazon EventBridge: event buses (each account and region has its `default` bus), rules that
//! select events with an event pattern or fire on a schedule, their targets, `PutEvents` and
//! `TestEventPattern`.
//!
//! Events accepted by `PutEvents`, and those services publish through
//! [`palisade_core::events::EventSink`] (which [`EventsState`] implements), are delivered in
//! the background to the targets of the rules they match: CloudWatch Logs log groups and other
//! buses, at most once (see `delivery`).
//!
//! Not built yet: delivery to other kinds of targets, the scheduler that fires
//! `rate()`/`cron()` rules, bus policies (`PutPermission`), archives and replays, connections,
//! API destinations, endpoints, partner event sources and tagging.

mod buses;
mod db;
mod delivery;
mod events;
mod input;
mod paging;
mod records;
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

pub use delivery::{DeliveryStats, LogEvent, LogGroups};
pub use events::{Delivery, envelope};

/// EventBridge's state: buses and rules in the store, keyed by account and region, and for each
/// bus the compiled machine of its enabled rules' patterns.
pub struct EventsState {
    store: Store,
    clock: Arc<dyn Clock>,
    /// Compiled on first use after a change to the bus's rules (made through this process).
    machines: Mutex<HashMap<String, Arc<Machine<String>>>>,
    /// Where accepted events wait for delivery; none when built by [`EventsState::new`].
    outbox: Option<delivery::Outbox>,
}

impl EventsState {
    /// The service over `store`, telling time by `clock`; it accepts events and delivers none.
    pub fn new(store: Store, clock: Arc<dyn Clock>) -> Self {
        Self {
            store,
            clock,
            machines: Mutex::new(HashMap::new()),
            outbox: None,
        }
    }

    /// The service over `store`, telling time by `clock`, delivering the events it accepts
    /// (writing to log groups through `logs`) from a task it spawns, which ends once the
    /// service is dropped. Must be called within a Tokio runtime.
    pub fn delivering(store: Store, clock: Arc<dyn Clock>, logs: Arc<dyn LogGroups>) -> Arc<Self> {
        Arc::new_cyclic(|this: &Weak<Self>| {
            let (outbox, queue) = delivery::Outbox::new();
            tokio::spawn(delivery::run(Weak::clone(this), queue, logs));
            Self {
                store,
                clock,
                machines: Mutex::new(HashMap::new()),
                outbox: Some(outbox),
            }
        })
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
