//! KMS as Secrets Manager and Parameter Store call it on a caller's behalf: each call is
//! authorized as the caller's own `kms:<Operation>` on the key, with the condition keys AWS adds
//! to a request a service makes for its caller (`kms:ViaService`, `aws:CalledVia`, ...), then run
//! by KMS. `KeyRef::AwsManaged` is the service's AWS managed key, created on first use. Another
//! account's key (named by its ARN, or by the ciphertext being decrypted) is decided on that
//! account's key policy together with the caller's policies, as a direct call would be.

use std::sync::Arc;

use palisade_core::keys::{DataKey, EncryptionContext, KeyRef, KeyService, Via};
use palisade_core::model::{Operation, ServiceModel};
use palisade_core::service::BoxFuture;
use palisade_core::value::{Blob, IntoValue, StructBuilder};
use palisade_core::{RequestContext, Sensitive, ServiceError, Value};
use palisade_kms::{ConditionKey, KmsState};

use crate::authorize::Authorizer;

/// [`KeyService`] over the server's KMS and authorizer.
pub struct ServiceKeys {
    kms: Arc<KmsState>,
    authorizer: Arc<dyn Authorizer>,
}

impl ServiceKeys {
    /// Calls run in `kms` once `authorizer` allows them.
    pub fn new(kms: Arc<KmsState>, authorizer: Arc<dyn Authorizer>) -> Self {
        Self { kms, authorizer }
    }

    async fn authorize(
        &self,
        ctx: &RequestContext,
        via: Via<'_>,
        operation_name: &str,
        input: &Value,
    ) -> Result<(), ServiceError> {
        let model: &'static ServiceModel = &palisade_model_kms::MODEL;
        let operation: Operation = model
            .operation(operation_name)
            .ok_or_else(|| ServiceError::internal(format!("KMS has no {operation_name}")))?;
        self.authorizer
            .authorize_with(ctx, model, operation, input, &on_behalf(ctx, via))
            .await
    }
}

/// The condition keys of a request `via.service` makes to KMS for the caller of `ctx`.
fn on_behalf(ctx: &RequestContext, via: Via<'_>) -> Vec<ConditionKey> {
    let service = via.service;
    let mut keys = vec![(
        "kms:ViaService".to_owned(),
        vec![format!("{service}.{}.amazonaws.com", ctx.region.as_str())],
    )];
    keys.extend(called_via(service));
    keys
}

/// The global keys of a request that the service `service` (its endpoint prefix, such as
/// `secretsmanager`) makes on a principal's behalf: `aws:CalledVia` and its first and last
/// entries, and `aws:ViaAWSService`.
pub(crate) fn called_via(service: &str) -> Vec<ConditionKey> {
    let called_via = format!("{service}.amazonaws.com");
    let key = |name: &str, value: String| (name.to_owned(), vec![value]);
    vec![
        key("aws:CalledVia", called_via.clone()),
        key("aws:CalledViaFirst", called_via.clone()),
        key("aws:CalledViaLast", called_via),
        key("aws:ViaAWSService", "true".to_owned()),
    ]
}

/// The part of a request the authorizer reads: the key it uses (`member` names it: `KeyId`, or
/// the ciphertext that names it) and the encryption context.
fn naming(member: &str, value: impl IntoValue, context: &EncryptionContext) -> Value {
    let mut input = StructBuilder::new();
    input.set(member, value);
    input.set_opt(
        "EncryptionContext",
        (!context.is_empty()).then(|| context.clone()),
    );
    input.build()
}

// Each call resolves the key KMS will use, authorizes the caller on it, then runs in KMS naming
// that key, so what is authorized is what runs.
impl KeyService for ServiceKeys {
    fn generate_data_key<'a>(
        &'a self,
        ctx: &'a RequestContext,
        via: Via<'a>,
        key: KeyRef<'a>,
        context: &'a EncryptionContext,
    ) -> BoxFuture<'a, Result<DataKey, ServiceError>> {
        Box::pin(async move {
            let key_id = self.kms.key_for_service(ctx, via, key).await?;
            let input = naming("KeyId", key_id.clone(), context);
            self.authorize(ctx, via, "GenerateDataKey", &input).await?;
            self.kms
                .generate_data_key(ctx, via, KeyRef::Customer(&key_id), context)
                .await
        })
    }

    fn encrypt<'a>(
        &'a self,
        ctx: &'a RequestContext,
        via: Via<'a>,
        key: KeyRef<'a>,
        plaintext: &'a [u8],
        context: &'a EncryptionContext,
    ) -> BoxFuture<'a, Result<(Vec<u8>, String), ServiceError>> {
        Box::pin(async move {
            let key_id = self.kms.key_for_service(ctx, via, key).await?;
            let input = naming("KeyId", key_id.clone(), context);
            self.authorize(ctx, via, "Encrypt", &input).await?;
            self.kms
                .encrypt(ctx, via, KeyRef::Customer(&key_id), plaintext, context)
                .await
        })
    }

    fn decrypt<'a>(
        &'a self,
        ctx: &'a RequestContext,
        via: Via<'a>,
        ciphertext: &'a [u8],
        context: &'a EncryptionContext,
    ) -> BoxFuture<'a, Result<Sensitive<Vec<u8>>, ServiceError>> {
        Box::pin(async move {
            // The authorizer finds the key in the ciphertext's header, as for a direct call.
            let input = naming("CiphertextBlob", Blob(ciphertext.to_vec()), context);
            self.authorize(ctx, via, "Decrypt", &input).await?;
            self.kms.decrypt(ctx, via, ciphertext, context).await
        })
    }
}

#[cfg(test)]
mod tests {
    use palisade_model_kms::Kms;
    use std::net::{IpAddr, Ipv4Addr};
    use std::time::SystemTime;

    use palisade_core::clock::SystemClock;
    use palisade_core::service::CommonError;
    use palisade_core::{AccountId, Principal, Region};
    use palisade_model_kms::types::{CreateKeyRequest, DescribeKeyRequest};
    use palisade_store::{Store, StoreConfig};

    use super::*;
    use crate::authorize::PolicyAuthorizer;

    struct Fixture {
        keys: ServiceKeys,
        kms: Arc<KmsState>,
        authorizer: Arc<dyn Authorizer>,
        _dir: tempfile::TempDir,
    }

    async fn fixture() -> Fixture {
        let dir = tempfile::TempDir::new().unwrap();
        let store = Store::open(&StoreConfig::Embedded {
            data_dir: dir.path().to_owned(),
        })
        .await
        .unwrap();
        let clock: Arc<dyn palisade_core::clock::Clock> = Arc::new(SystemClock);
        let iam = Arc::new(palisade_iam::IamState::new(
            store.clone(),
            Arc::clone(&clock),
        ));
        let sts = Arc::new(palisade_sts::StsState::new(
            store.clone(),
            Arc::clone(&clock),
            Arc::clone(&iam),
        ));
        let kms = Arc::new(KmsState::new(store, clock));
        let authorizer: Arc<dyn Authorizer> =
            Arc::new(PolicyAuthorizer::new(iam, sts, Arc::clone(&kms)));
        Fixture {
            keys: ServiceKeys::new(Arc::clone(&kms), Arc::clone(&authorizer)),
            kms,
            authorizer,
            _dir: dir,
        }
    }

    fn root() -> RequestContext {
        root_of(AccountId::local_default())
    }

    fn root_of(account: AccountId) -> RequestContext {
        RequestContext {
            request_id: "test".to_owned(),
            principal: Principal::root(account, "test"),
            region: Region::parse("us-east-1").unwrap(),
            source_ip: IpAddr::V4(Ipv4Addr::LOCALHOST),
            user_agent: "tests".to_owned(),
            time: SystemTime::now(),
            secure_transport: true,
        }
    }

    const SECRETS: Via<'static> = Via {
        service: "secretsmanager",
    };

    fn context() -> EncryptionContext {
        [("SecretARN".to_owned(), "arn:secret".to_owned())]
            .into_iter()
            .collect()
    }

    /// Authorizes a direct call to KMS by the caller of `ctx`.
    async fn direct(
        fixture: &Fixture,
        ctx: &RequestContext,
        operation: &str,
        input: &Value,
    ) -> Result<(), ServiceError> {
        let model = &palisade_model_kms::MODEL;
        fixture
            .authorizer
            .authorize(ctx, model, model.operation(operation).unwrap(), input)
            .await
    }

    #[tokio::test]
    async fn the_aws_managed_key_serves_its_service_only() {
        let fixture = fixture().await;
        let ctx = root();
        let data_key = fixture
            .keys
            .generate_data_key(
                &ctx,
                SECRETS,
                KeyRef::AwsManaged("secretsmanager"),
                &context(),
            )
            .await
            .unwrap();
        assert_eq!(data_key.plaintext.expose().len(), 32);
        let described = fixture
            .kms
            .describe_key(
                &ctx,
                DescribeKeyRequest {
                    key_id: "alias/aws/secretsmanager".to_owned(),
                    grant_tokens: None,
                },
            )
            .await
            .unwrap();
        assert_eq!(
            described.key_metadata.unwrap().arn.as_deref(),
            Some(data_key.key_arn.as_str())
        );
        let plaintext = fixture
            .keys
            .decrypt(&ctx, SECRETS, &data_key.ciphertext, &context())
            .await
            .unwrap();
        assert_eq!(plaintext.expose(), data_key.plaintext.expose());
        // Named by its alias, it is the same key.
        let (_, key_arn) = fixture
            .keys
            .encrypt(
                &ctx,
                SECRETS,
                KeyRef::Customer("alias/aws/secretsmanager"),
                b"x",
                &context(),
            )
            .await
            .unwrap();
        assert_eq!(key_arn, data_key.key_arn);

        // Through another service, or directly, the key policy refuses, the root user too.
        let ssm = Via { service: "ssm" };
        let error = fixture
            .keys
            .decrypt(&ctx, ssm, &data_key.ciphertext, &context())
            .await
            .unwrap_err();
        assert_eq!(error.common_kind(), Some(CommonError::AccessDenied));
        let input = naming(
            "CiphertextBlob",
            Blob(data_key.ciphertext.clone()),
            &context(),
        );
        let error = direct(&fixture, &root(), "Decrypt", &input)
            .await
            .unwrap_err();
        assert_eq!(error.common_kind(), Some(CommonError::AccessDenied));
    }

    #[tokio::test]
    async fn naming_the_aws_managed_alias_creates_the_key() {
        let fixture = fixture().await;
        let (_, key_arn) = fixture
            .keys
            .encrypt(
                &root(),
                SECRETS,
                KeyRef::Customer("arn:aws:kms:us-east-1:000000000000:alias/aws/secretsmanager"),
                b"x",
                &context(),
            )
            .await
            .unwrap();
        assert!(key_arn.starts_with("arn:aws:kms:us-east-1:000000000000:key/"));
    }

    #[tokio::test]
    async fn on_behalf_calls_carry_via_service_and_encryption_context_keys() {
        let fixture = fixture().await;
        let ctx = root();
        let policy = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow",
            "Principal":{"AWS":"arn:aws:iam::000000000000:root"},"Action":"kms:*","Resource":"*",
            "Condition":{"StringEquals":{"kms:ViaService":"secretsmanager.us-east-1.amazonaws.com",
            "aws:CalledViaFirst":"secretsmanager.amazonaws.com","aws:ViaAWSService":"true",
            "kms:EncryptionContext:SecretARN":"arn:secret"},
            "ForAllValues:StringEquals":{"kms:EncryptionContextKeys":["SecretARN"]}}}]}"#;
        let key = fixture
            .kms
            .create_key(
                &ctx,
                CreateKeyRequest {
                    policy: Some(policy.to_owned()),
                    ..CreateKeyRequest::default()
                },
            )
            .await
            .unwrap()
            .key_metadata
            .unwrap()
            .key_id;
        let (ciphertext, _) = fixture
            .keys
            .encrypt(&ctx, SECRETS, KeyRef::Customer(&key), b"value", &context())
            .await
            .unwrap();
        let other_context: EncryptionContext = [("SecretARN".to_owned(), "other".to_owned())]
            .into_iter()
            .collect();
        let error = fixture
            .keys
            .encrypt(&ctx, SECRETS, KeyRef::Customer(&key), b"v", &other_context)
            .await
            .unwrap_err();
        assert_eq!(error.common_kind(), Some(CommonError::AccessDenied));
        let input = naming("CiphertextBlob", Blob(ciphertext), &context());
        let error = direct(&fixture, &root(), "Decrypt", &input)
            .await
            .unwrap_err();
        assert_eq!(error.common_kind(), Some(CommonError::AccessDenied));
    }

    #[tokio::test]
    async fn another_accounts_key_needs_its_key_policy() {
        let fixture = fixture().await;
        let owner = root();
        let other = root_of(AccountId::parse("222233334444").unwrap());
        let sharing = r#"{"Version":"2012-10-17","Statement":[
            {"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::000000000000:root"},
             "Action":"kms:*","Resource":"*"},
            {"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::222233334444:root"},
             "Action":["kms:Encrypt","kms:Decrypt","kms:GenerateDataKey","kms:DescribeKey"],
             "Resource":"*"}]}"#;
        let create = |policy: Option<&str>| CreateKeyRequest {
            policy: policy.map(str::to_owned),
            ..CreateKeyRequest::default()
        };
        let key_arn = |response: palisade_model_kms::types::CreateKeyResponse| {
            response.key_metadata.unwrap().arn.unwrap()
        };
        let shared = key_arn(
            fixture
                .kms
                .create_key(&owner, create(Some(sharing)))
                .await
                .unwrap(),
        );
        let private = key_arn(fixture.kms.create_key(&owner, create(None)).await.unwrap());

        // Through Secrets Manager: a data key under the shared key, and back.
        let data_key = fixture
            .keys
            .generate_data_key(&other, SECRETS, KeyRef::Customer(&shared), &context())
            .await
            .unwrap();
        assert_eq!(data_key.key_arn, shared);
        let plaintext = fixture
            .keys
            .decrypt(&other, SECRETS, &data_key.ciphertext, &context())
            .await
            .unwrap();
        assert_eq!(plaintext.expose(), data_key.plaintext.expose());

        // Directly, by key ARN or by the ciphertext alone.
        let by_key = naming("KeyId", shared.clone(), &context());
        direct(&fixture, &other, "Encrypt", &by_key).await.unwrap();
        let by_blob = naming("CiphertextBlob", Blob(data_key.ciphertext), &context());
        direct(&fixture, &other, "Decrypt", &by_blob).await.unwrap();
        // The key policy allows B only what it names.
        let error = direct(&fixture, &other, "CreateGrant", &by_key)
            .await
            .unwrap_err();
        assert_eq!(error.common_kind(), Some(CommonError::AccessDenied));

        // A key policy that does not name B refuses B's root user too.
        let error = fixture
            .keys
            .encrypt(
                &other,
                SECRETS,
                KeyRef::Customer(&private),
                b"x",
                &context(),
            )
            .await
            .unwrap_err();
        assert_eq!(error.common_kind(), Some(CommonError::AccessDenied));
        assert!(error.message.contains(&private), "{}", error.message);
        let (ciphertext, _) = fixture
            .keys
            .encrypt(
                &owner,
                SECRETS,
                KeyRef::Customer(&private),
                b"x",
                &context(),
            )
            .await
            .unwrap();
        let error = fixture
            .keys
            .decrypt(&other, SECRETS, &ciphertext, &context())
            .await
            .unwrap_err();
        assert_eq!(error.common_kind(), Some(CommonError::AccessDenied));
    }
}
