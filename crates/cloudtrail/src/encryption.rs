//! SSE-KMS for trails' log files (CloudTrail User Guide, "Encrypting CloudTrail log files with
//! AWS KMS keys (SSE-KMS)" and "How AWS CloudTrail uses AWS KMS").
//!
//! A trail's `KmsKeyId` names a key of Palisade's KMS, which CloudTrail reaches through
//! [`ServiceKeyLookup`] (the server implements it over KMS, so this crate does not depend on that
//! one).
//! `CreateTrail` and `UpdateTrail` resolve it to the key's ARN, which `GetTrail` and
//! `DescribeTrails` report, and refuse a key that `GenerateDataKey` by
//! `cloudtrail.amazonaws.com` would fail on, as AWS verifies the key with such a call: a key that
//! does not exist in the trail's home region (`KmsKeyNotFoundException`), one that is not enabled
//! or not a symmetric encryption key (`KmsException`), and one whose key policy does not allow the
//! call (`InsufficientEncryptionPolicyException`).
//!
//! The key policy is decided for the service principal with the keys AWS documents for CloudTrail's
//! request: `kms:EncryptionContext:aws:cloudtrail:arn` (the trail's ARN) and
//! `kms:EncryptionContext:aws:s3:arn` (the object's ARN; the bucket and log path when the key is
//! set), `kms:EncryptionContextKeys`, `aws:SourceArn` and `aws:SourceAccount`, with the key's own
//! KMS keys (`kms:KeySpec`, `aws:ResourceTag/*`, ...). Only the key policy can allow a service
//! principal: IAM policies and grants cannot.
//!
//! Delivery checks the key again for every log file, as each put is a `GenerateDataKey` in AWS;
//! a refusal fails the file's write with the error S3 would answer for it (`KMS.DisabledException`,
//! `AccessDenied`, ...), which `GetTrailStatus` reports in `LatestDeliveryError`, and the next
//! run retries. Digests are written as before: AWS encrypts only log files with the trail's key.
//!
//! The `GenerateDataKey` calls themselves are not recorded in event history: the audit record
//! has no form for a call made by an AWS service principal (`userIdentity.type` `AWSService`).

use std::sync::Arc;

use palisade_core::ServiceError;
use palisade_core::keys::{KeyRefusal, ServiceKey, ServiceKeyLookup};
use palisade_model_cloudtrail::errors;
use palisade_policy::{Policy, key_policy_allows_service, service_key_context, usable_service_key};

use crate::CloudTrailState;
use crate::db::TrailRecord;
use crate::layout;
use crate::names::kms_key_arn;
use crate::organization::SERVICE_PRINCIPAL;

/// Why `GenerateDataKey` by CloudTrail on a key would fail, with the errors CloudTrail and S3
/// answer for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Refusal(KeyRefusal);

impl Refusal {
    /// The error `CreateTrail` and `UpdateTrail` answer for `key_id`.
    fn trail_error(&self, key_id: &str, bucket: &str) -> ServiceError {
        match &self.0 {
            KeyRefusal::NotFound => errors::kms_key_not_found_exception(format!(
                "KMS key {key_id} does not exist in the trail's Region."
            )),
            KeyRefusal::State(state) if state == "Disabled" => {
                errors::kms_exception(format!("KMS key {key_id} is disabled."))
            }
            KeyRefusal::State(state) => errors::kms_exception(format!(
                "KMS key {key_id} cannot be used in its current state: {state}."
            )),
            KeyRefusal::NotSymmetric => errors::kms_exception(format!(
                "KMS key {key_id} is not a symmetric encryption KMS key."
            )),
            KeyRefusal::PolicyDenies => errors::insufficient_encryption_policy_exception(format!(
                "Insufficient permissions to access S3 bucket {bucket} or KMS key {key_id}."
            )),
        }
    }

    /// The error code S3 answers for a put with SSE-KMS under such a key.
    pub(crate) fn s3_code(&self) -> &'static str {
        match &self.0 {
            KeyRefusal::NotFound => "KMS.NotFoundException",
            KeyRefusal::State(state) if state == "Disabled" => "KMS.DisabledException",
            KeyRefusal::State(_) => "KMS.KMSInvalidStateException",
            KeyRefusal::NotSymmetric => "KMS.InvalidKeyUsageException",
            KeyRefusal::PolicyDenies => "AccessDenied",
        }
    }
}

/// A trail's key as one delivery run found it.
#[derive(Debug)]
pub(crate) struct KeyInUse {
    /// What the puts name: the key's ARN (the one the trail stored, if the key is gone).
    arn: String,
    standing: Standing,
}

#[derive(Debug)]
enum Standing {
    /// No [`ServiceKeyLookup`] to check it with.
    Unchecked,
    Refused(Refusal),
    Usable {
        key: ServiceKey,
        policy: Policy,
    },
}

impl KeyInUse {
    pub(crate) fn arn(&self) -> &str {
        &self.arn
    }

    /// Whether CloudTrail may encrypt `trail`'s log file `object` in `bucket` now.
    pub(crate) fn check(
        &self,
        trail: &TrailRecord,
        bucket: &str,
        object: &str,
        now_millis: i64,
    ) -> Result<(), Refusal> {
        match &self.standing {
            Standing::Unchecked => Ok(()),
            Standing::Refused(refusal) => Err(refusal.clone()),
            Standing::Usable { key, policy } => {
                let object_arn = format!("arn:aws:s3:::{bucket}/{object}");
                if may_encrypt(key, policy, trail, &object_arn, now_millis) {
                    Ok(())
                } else {
                    Err(Refusal(KeyRefusal::PolicyDenies))
                }
            }
        }
    }
}

impl CloudTrailState {
    /// Resolves and checks trails' `KmsKeyId` through `keys`; without it a key is checked for
    /// form only and files are put naming it unchecked.
    pub fn with_keys(mut self, keys: Arc<dyn ServiceKeyLookup>) -> Self {
        self.keys = Some(keys);
        self
    }

    /// The ARN of the key `key_id` names for `trail` (whose `kms_key_id` holds its form-checked
    /// ARN), once `GenerateDataKey` by CloudTrail would succeed on it for the trail's bucket.
    pub(crate) async fn check_trail_key(
        &self,
        trail: &TrailRecord,
        key_id: &str,
    ) -> Result<Option<String>, ServiceError> {
        let Some(keys) = &self.keys else {
            return Ok(trail.kms_key_id.clone());
        };
        let found = keys
            .find_key(&trail.account, &trail.home_region, key_id)
            .await?;
        let bucket = &trail.s3_bucket_name;
        let (key, policy) = usable(found, &trail.home_region)
            .map_err(|refusal| refusal.trail_error(key_id, bucket))?;
        // What CloudTrail names when it verifies the key: the bucket and path of the logs.
        let prefix = trail
            .s3_key_prefix
            .as_deref()
            .map_or_else(String::new, |prefix| format!("{prefix}/"));
        let object_arn = format!("arn:aws:s3:::{bucket}/{prefix}AWSLogs/{}/", trail.account);
        if !may_encrypt(&key, &policy, trail, &object_arn, self.clock.now_millis()) {
            return Err(Refusal(KeyRefusal::PolicyDenies).trail_error(key_id, bucket));
        }
        Ok(Some(key.arn))
    }

    /// The ARN of the key `key_id` (in any of `KmsKeyId`'s forms) names for an event data store
    /// of `account` in `region`: a key of that region that is enabled and symmetric. Its key
    /// policy is not checked: event data stores keep no copy of their events to encrypt.
    pub(crate) async fn check_event_data_store_key(
        &self,
        account: &str,
        region: &str,
        key_id: &str,
    ) -> Result<String, ServiceError> {
        let arn = kms_key_arn(key_id, region, account)?;
        let Some(keys) = &self.keys else {
            return Ok(arn);
        };
        let found = keys.find_key(account, region, &arn).await?;
        let (key, _) = usable(found, region).map_err(|refusal| match refusal.0 {
            KeyRefusal::NotFound => errors::kms_key_not_found_exception(format!(
                "KMS key {key_id} does not exist in the event data store's Region."
            )),
            KeyRefusal::PolicyDenies => errors::insufficient_encryption_policy_exception(format!(
                "Insufficient permissions to use KMS key {key_id}."
            )),
            _ => refusal.trail_error(key_id, ""),
        })?;
        Ok(key.arn)
    }

    /// `trail`'s key as it stands now, for a delivery run; `None` when the trail has none.
    pub(crate) async fn key_in_use(
        &self,
        trail: &TrailRecord,
    ) -> Result<Option<KeyInUse>, ServiceError> {
        let Some(arn) = &trail.kms_key_id else {
            return Ok(None);
        };
        let Some(keys) = &self.keys else {
            return Ok(Some(KeyInUse {
                arn: arn.clone(),
                standing: Standing::Unchecked,
            }));
        };
        let found = keys
            .find_key(&trail.account, &trail.home_region, arn)
            .await?;
        Ok(Some(match usable(found, &trail.home_region) {
            Ok((key, policy)) => KeyInUse {
                arn: key.arn.clone(),
                standing: Standing::Usable { key, policy },
            },
            Err(refusal) => KeyInUse {
                arn: arn.clone(),
                standing: Standing::Refused(refusal),
            },
        }))
    }
}

/// `key`, when it can encrypt for a trail of `region`, with its policy parsed.
fn usable(key: Option<ServiceKey>, region: &str) -> Result<(ServiceKey, Policy), Refusal> {
    usable_service_key(key, region).map_err(Refusal)
}

/// Whether `policy`, the key policy of `key`, lets `cloudtrail.amazonaws.com` call
/// `kms:GenerateDataKey` for `trail`'s object `object_arn`.
fn may_encrypt(
    key: &ServiceKey,
    policy: &Policy,
    trail: &TrailRecord,
    object_arn: &str,
    now_millis: i64,
) -> bool {
    let trail_arn = trail.arn();
    let epoch_seconds = now_millis.div_euclid(1000);
    let mut context = service_key_context(key, SERVICE_PRINCIPAL);
    context
        .insert(
            "kms:EncryptionContext:aws:cloudtrail:arn",
            trail_arn.as_str(),
        )
        .insert("kms:EncryptionContext:aws:s3:arn", object_arn)
        .insert_many(
            "kms:EncryptionContextKeys",
            ["aws:cloudtrail:arn", "aws:s3:arn"],
        )
        .insert("aws:SourceArn", trail_arn.as_str())
        .insert("aws:SourceAccount", trail.account.as_str())
        .insert("aws:CurrentTime", layout::iso_seconds(now_millis))
        .insert("aws:EpochTime", epoch_seconds.to_string());
    key_policy_allows_service(
        key,
        policy,
        SERVICE_PRINCIPAL,
        "kms:GenerateDataKey",
        &context,
    )
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::sync::Mutex;

    use palisade_audit::AuditLog;
    use palisade_core::clock::SystemClock;
    use palisade_core::service::BoxFuture;
    use palisade_store::{Store, StoreConfig};

    use super::*;

    const ACCOUNT: &str = "111122223333";
    const REGION: &str = "us-east-1";
    const KEY_ARN: &str =
        "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab";

    fn trail(name: &str) -> TrailRecord {
        TrailRecord {
            account: ACCOUNT.to_owned(),
            name: name.to_owned(),
            home_region: REGION.to_owned(),
            s3_bucket_name: "logs".to_owned(),
            s3_key_prefix: Some("audit".to_owned()),
            sns_topic_name: None,
            sns_topic_arn: None,
            include_global_service_events: true,
            is_multi_region_trail: false,
            log_file_validation_enabled: false,
            cloud_watch_logs_log_group_arn: None,
            cloud_watch_logs_role_arn: None,
            kms_key_id: None,
            is_organization_trail: false,
            tags: BTreeMap::new(),
            is_logging: false,
            start_logging_millis: None,
            stop_logging_millis: None,
            event_selectors: None,
            insight_selectors: Vec::new(),
        }
    }

    /// A key policy: the account's root may do anything, and `statements`.
    fn policy(statements: &str) -> String {
        let admin = format!(
            r#"{{"Effect":"Allow","Principal":{{"AWS":"arn:aws:iam::{ACCOUNT}:root"}},
                "Action":"kms:*","Resource":"*"}}"#
        );
        let all = [admin.as_str(), statements]
            .into_iter()
            .filter(|statement| !statement.is_empty())
            .collect::<Vec<_>>()
            .join(",");
        format!(r#"{{"Version":"2012-10-17","Statement":[{all}]}}"#)
    }

    /// The statement the CloudTrail User Guide has users add, for the trail `name`.
    fn cloudtrail_statement(name: &str) -> String {
        format!(
            r#"{{"Effect":"Allow","Principal":{{"Service":"cloudtrail.amazonaws.com"}},
                "Action":"kms:GenerateDataKey*","Resource":"*",
                "Condition":{{"StringEquals":{{"aws:SourceArn":
                    "arn:aws:cloudtrail:{REGION}:{ACCOUNT}:trail/{name}"}},
                "StringLike":{{"kms:EncryptionContext:aws:cloudtrail:arn":
                    "arn:aws:cloudtrail:*:{ACCOUNT}:trail/*"}}}}}}"#
        )
    }

    fn key(policy: String) -> ServiceKey {
        ServiceKey {
            arn: KEY_ARN.to_owned(),
            state: "Enabled".to_owned(),
            symmetric_encryption: true,
            policy,
            condition_keys: vec![
                (
                    "kms:KeySpec".to_owned(),
                    vec!["SYMMETRIC_DEFAULT".to_owned()],
                ),
                ("aws:ResourceTag/use".to_owned(), vec!["trails".to_owned()]),
            ],
        }
    }

    fn decide(policy_text: String, trail: &TrailRecord, object: &str) -> Result<(), Refusal> {
        let (key, policy) = usable(Some(key(policy_text)), REGION)?;
        let object_arn = format!("arn:aws:s3:::logs/{object}");
        if may_encrypt(&key, &policy, trail, &object_arn, 1_700_000_000_000) {
            Ok(())
        } else {
            Err(Refusal(KeyRefusal::PolicyDenies))
        }
    }

    #[test]
    fn the_documented_statement_allows_its_trail_only() {
        let object = "audit/AWSLogs/111122223333/CloudTrail/us-east-1/file.json.gz";
        let statement = cloudtrail_statement("main");
        assert_eq!(decide(policy(&statement), &trail("main"), object), Ok(()));
        // aws:SourceArn names another trail.
        assert_eq!(
            decide(policy(&statement), &trail("other"), object),
            Err(Refusal(KeyRefusal::PolicyDenies))
        );
        // The default key policy names no service: only the key policy can allow one.
        assert_eq!(
            decide(policy(""), &trail("main"), object),
            Err(Refusal(KeyRefusal::PolicyDenies))
        );
    }

    #[test]
    fn the_object_and_the_keys_tags_are_in_the_request() {
        let by_path = r#"{"Effect":"Allow","Principal":{"Service":"cloudtrail.amazonaws.com"},
            "Action":"kms:GenerateDataKey","Resource":"*",
            "Condition":{"StringLike":{"kms:EncryptionContext:aws:s3:arn":
                "arn:aws:s3:::logs/audit/AWSLogs/*"},
            "StringEquals":{"aws:ResourceTag/use":"trails","aws:SourceAccount":"111122223333"},
            "ForAllValues:StringEquals":{"kms:EncryptionContextKeys":
                ["aws:cloudtrail:arn","aws:s3:arn"]}}}"#;
        let main = trail("main");
        assert_eq!(
            decide(policy(by_path), &main, "audit/AWSLogs/x.json.gz"),
            Ok(())
        );
        assert_eq!(
            decide(policy(by_path), &main, "elsewhere/x.json.gz"),
            Err(Refusal(KeyRefusal::PolicyDenies))
        );
        // An explicit deny overrides.
        let deny = r#"{"Effect":"Deny","Principal":"*","Action":"kms:*","Resource":"*",
            "Condition":{"Bool":{"aws:PrincipalIsAWSService":"true"}}}"#;
        let both = format!("{by_path},{deny}");
        assert_eq!(
            decide(policy(&both), &main, "audit/AWSLogs/x.json.gz"),
            Err(Refusal(KeyRefusal::PolicyDenies))
        );
    }

    #[test]
    fn keys_that_cannot_encrypt_are_refused_with_cloudtrails_errors() {
        let refused = |found: Option<ServiceKey>| usable(found, REGION).map(|_| ()).unwrap_err();
        let code = |refusal: &Refusal| match refusal.trail_error("k", "logs").kind {
            palisade_core::service::ErrorKind::Modeled { code, .. } => code,
            other => panic!("{other:?}"),
        };

        let missing = refused(None);
        assert_eq!(code(&missing), "KmsKeyNotFoundException");
        assert_eq!(missing.s3_code(), "KMS.NotFoundException");
        let mut elsewhere = key(policy(""));
        elsewhere.arn = KEY_ARN.replace(REGION, "eu-west-1");
        assert_eq!(refused(Some(elsewhere)), Refusal(KeyRefusal::NotFound));

        let mut disabled = key(policy(""));
        disabled.state = "Disabled".to_owned();
        let disabled = refused(Some(disabled));
        assert_eq!(code(&disabled), "KmsException");
        assert_eq!(disabled.s3_code(), "KMS.DisabledException");
        let mut deleting = key(policy(""));
        deleting.state = "PendingDeletion".to_owned();
        assert_eq!(
            refused(Some(deleting)).s3_code(),
            "KMS.KMSInvalidStateException"
        );

        let mut signing = key(policy(""));
        signing.symmetric_encryption = false;
        assert_eq!(code(&refused(Some(signing))), "KmsException");

        assert_eq!(
            code(&Refusal(KeyRefusal::PolicyDenies)),
            "InsufficientEncryptionPolicyException"
        );
        assert_eq!(Refusal(KeyRefusal::PolicyDenies).s3_code(), "AccessDenied");
    }

    /// KMS with one key, found by its ARN or `alias/trails`; records what it was asked.
    struct OneKey {
        key: ServiceKey,
        asked: Mutex<Vec<(String, String, String)>>,
    }

    impl ServiceKeyLookup for OneKey {
        fn find_key<'a>(
            &'a self,
            account: &'a str,
            region: &'a str,
            key_id: &'a str,
        ) -> BoxFuture<'a, Result<Option<ServiceKey>, ServiceError>> {
            Box::pin(async move {
                self.asked.lock().unwrap().push((
                    account.to_owned(),
                    region.to_owned(),
                    key_id.to_owned(),
                ));
                Ok([self.key.arn.as_str(), "alias/trails"]
                    .contains(&key_id)
                    .then(|| self.key.clone()))
            })
        }
    }

    async fn state_with(key: ServiceKey) -> (CloudTrailState, Arc<OneKey>, tempfile::TempDir) {
        let dir = tempfile::tempdir().unwrap();
        let store = Arc::new(
            Store::open(&StoreConfig::Embedded {
                data_dir: dir.path().to_owned(),
            })
            .await
            .unwrap(),
        );
        let audit = AuditLog::open(&dir.path().join("audit"), Arc::clone(&store)).unwrap();
        let keys = Arc::new(OneKey {
            key,
            asked: Mutex::new(Vec::new()),
        });
        let state = CloudTrailState::new(Store::clone(&store), Arc::new(SystemClock), audit)
            .with_keys(Arc::clone(&keys) as Arc<dyn ServiceKeyLookup>);
        (state, keys, dir)
    }

    #[tokio::test]
    async fn a_trails_key_resolves_to_its_arn_and_is_checked_again_for_delivery() {
        let (state, keys, _dir) = state_with(key(policy(&cloudtrail_statement("main")))).await;
        let mut main = trail("main");
        assert_eq!(
            state.check_trail_key(&main, "alias/trails").await.unwrap(),
            Some(KEY_ARN.to_owned())
        );
        assert_eq!(
            keys.asked.lock().unwrap().as_slice(),
            [(
                ACCOUNT.to_owned(),
                REGION.to_owned(),
                "alias/trails".to_owned()
            )]
        );
        let error = state
            .check_trail_key(&trail("other"), "alias/trails")
            .await
            .unwrap_err();
        assert!(error.message.contains("alias/trails"), "{}", error.message);
        let error = state
            .check_trail_key(&main, "alias/gone")
            .await
            .unwrap_err();
        assert!(matches!(
            error.kind,
            palisade_core::service::ErrorKind::Modeled { code, .. }
                if code == "KmsKeyNotFoundException"
        ));

        // Delivery reads the key by the ARN the trail stored, and checks each object.
        assert!(state.key_in_use(&main).await.unwrap().is_none());
        main.kms_key_id = Some(KEY_ARN.to_owned());
        let in_use = state.key_in_use(&main).await.unwrap().unwrap();
        assert_eq!(in_use.arn(), KEY_ARN);
        assert_eq!(in_use.check(&main, "logs", "a.json.gz", 0), Ok(()));
        let mut renamed = main.clone();
        renamed.name = "other".to_owned();
        assert_eq!(
            in_use.check(&renamed, "logs", "a.json.gz", 0),
            Err(Refusal(KeyRefusal::PolicyDenies))
        );
    }
}
