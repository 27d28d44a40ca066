//! AWS Key Management Service: customer managed keys of every AWS key spec, aliases, key
//! policies, tags, grants, automatic and on-demand rotation, multi-Region keys, and the
//! cryptographic operations, with real cryptography from aws-lc-rs, behind the generated
//! [`palisade_model_kms::Kms`] trait. No custom key store exists (there is no CloudHSM cluster
//! or external key store proxy to back one); their operations answer as AWS does without one.
//!
//! State belongs to the caller's account and region; a multi-Region key has a record in each
//! region that holds it. The operations AWS allows across accounts find another account's key
//! when the request names it by its key or alias ARN, or a ciphertext names it (the authorizer
//! then requires the key policy to allow the caller). Key metadata is stored in the clear; key
//! material only ever reaches the store sealed by its barrier (`db` describes the layout), and in
//! memory it lives in zeroizing types. Every change is one transaction that pins the versions it
//! read, retried on a conflict.
//!
//! AWS managed keys (`alias/aws/<service>`) are created on a service's first use through
//! [`KmsState::aws_managed_key`]; their settings cannot be changed by anyone.
//!
//! Key last usage is tracked in memory from the server's start, which `GetKeyLastUsage` reports as
//! its tracking start date.
//!
//! The sweepers and rotations publish EventBridge events to the sink given by
//! [`KmsState::with_events`].
//!
//! Besides the AWS API, [`KmsState`] offers the server three sweepers to run periodically:
//! [`KmsState::delete_due_keys`], [`KmsState::rotate_due_keys`] and
//! [`KmsState::expire_imported_key_material`].
//!
//! Key policies and grants are stored and validated here but enforced by the server's authorizer,
//! like every other service's permissions; KMS answers its questions (the key's facts and
//! condition keys, whether a grant allows a request) through [`KmsState::key_facts`],
//! [`condition_keys`], [`KmsState::grant_allows`] and [`KmsState::may_retire`].
//!
//! [`audit`] tells the server's audit step how KMS calls read in CloudTrail records, where AWS
//! writes more than the generic rendering of the request and response.

mod agreement;
mod aliases;
pub mod audit;
mod authorization;
mod ciphertext;
mod crypto;
mod custom_key_stores;
mod db;
mod events;
mod grants;
mod ids;
mod import;
mod keys;
mod mac;
mod managed;
mod material;
mod multi_region;
mod on_behalf;
mod paging;
mod records;
mod rotation;
mod service;
mod signing;
mod specs;
mod usage;

use std::sync::Arc;

use palisade_core::clock::Clock;
use palisade_core::events::{Discard, EventSink};
use palisade_store::Store;
use palisade_store::derived::Derived;
use palisade_store::typed::Stored;

use crate::records::KeyRecord;

/// Key records kept decoded; past this many the cache starts over.
const MAX_DECODED_KEYS: usize = 10_000;

pub use authorization::{ConditionKey, KeyFacts, condition_keys};
pub use ciphertext::{MalformedCiphertext, ParsedCiphertext, parse_ciphertext};

/// The KMS service: register it as `palisade_model_kms::KmsService(Arc::new(KmsState::new(store,
/// clock)))`.
pub struct KmsState {
    store: Store,
    clock: Arc<dyn Clock>,
    events: Arc<dyn EventSink>,
    usage: usage::UsageLog,
    signing_keys: signing::SigningKeys,
    /// Key records as decoded, by store key, until `kms/keys` is next written: every call that
    /// names a key reads its record, the authorizer first and then the handler, and decoding
    /// it costs more than the cryptography of a small Encrypt.
    decoded_keys: Derived<String, Option<Stored<KeyRecord>>>,
}

impl KmsState {
    /// The service over `store`, telling time by `clock`; its events are discarded until
    /// [`KmsState::with_events`] gives it a sink.
    pub fn new(store: Store, clock: Arc<dyn Clock>) -> Self {
        Self {
            usage: usage::UsageLog::new(clock.now_millis()),
            store,
            clock,
            events: Arc::new(Discard),
            signing_keys: signing::SigningKeys::default(),
            decoded_keys: Derived::new(MAX_DECODED_KEYS),
        }
    }

    /// The service publishing its events (key rotation, deletion and imported material
    /// expiration) to `events`.
    #[must_use]
    pub fn with_events(mut self, events: Arc<dyn EventSink>) -> Self {
        self.events = events;
        self
    }

    /// The current time in milliseconds since the epoch.
    fn now(&self) -> i64 {
        self.clock.now_millis()
    }
}

impl std::fmt::Debug for KmsState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KmsState").finish_non_exhaustive()
    }
}
