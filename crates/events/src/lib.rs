//! Amazon EventBridge: event buses (each account and region has its `default` bus), rules that
//! select events with an event pattern or fire on a schedule, their targets, `PutEvents` and
//! `TestEventPattern`.
//!
//! Not built yet: delivery to targets (PutEvents validates and accepts entries, and
//! [`EventsState::matching_targets`] says where an event would go, but nothing is sent), the
//! scheduler that fires `rate()`/`cron()` rules, bus policies (`PutPermission`), archives and
//! replays, connections, API destinations, endpoints, partner event sources and tagging.

mod buses;
mod db;
mod events;
mod paging;
mod records;
mod rules;
mod schedule;
mod service;
mod targets;
mod values;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use palisade_core::clock::Clock;
use palisade_event_pattern::Machine;
use palisade_store::Store;

pub use events::{Delivery, envelope};

/// EventBridge's state: buses and rules in the store, keyed by account and region, and for each
/// bus the compiled machine of its enabled rules' patterns.
pub struct EventsState {
    store: Store,
    clock: Arc<dyn Clock>,
    /// Compiled on first use after a change to the bus's rules (made through this process).
    machines: Mutex<HashMap<String, Arc<Machine<String>>>>,
}

impl EventsState {
    /// The service over `store`, telling time by `clock`.
    pub fn new(store: Store, clock: Arc<dyn Clock>) -> Self {
        Self {
            store,
            clock,
            machines: Mutex::new(HashMap::new()),
        }
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
