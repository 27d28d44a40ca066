//! AWS managed keys: the key behind `alias/aws/<service>` that a service such as Secrets Manager
//! encrypts with when the customer names no key of their own. KMS creates it the first time the
//! service asks for it in an account and region; it is symmetric, rotates every year, and its key
//! policy lets principals of the account use it only through that service. Its settings are AWS's
//! alone: the operations that would change it are refused as its key policy refuses them.

use palisade_core::service::CommonError;
use palisade_core::{RequestContext, ServiceError};
use palisade_store::Transaction;

use crate::KmsState;
use crate::db::{ALIASES, KEYS, MATERIAL, Tenant, plain};
use crate::ids::new_key_id;
use crate::material::{self, Materials, new_material_id};
use crate::records::{
    AliasRecord, KeyRecord, Lifecycle, Manager, MaterialRecord, Origin, RotationSchedule,
};
use crate::specs::{KeyKind, Spec, Usage};

/// AWS managed keys rotate every year, and their rotation cannot be changed.
const ROTATION_PERIOD_DAYS: i32 = 365;
const DAY_MILLIS: i64 = 86_400_000;

impl KmsState {
    /// The ARN of the AWS managed key of `service` (`secretsmanager`, `ssm`, ...) in the caller's
    /// account and region, created on first use. Concurrent first uses create one key: the
    /// alias is written only where it is still absent, and the loser reads the winner's.
    pub async fn aws_managed_key(
        &self,
        ctx: &RequestContext,
        service: &str,
    ) -> Result<String, ServiceError> {
        if service.is_empty()
            || !service
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        {
            return Err(ServiceError::internal(format!(
                "{service:?} names no AWS service"
            )));
        }
        let tenant = Tenant::of(ctx);
        let alias_name = format!("alias/aws/{service}");
        let alias_key = tenant.store_key(&alias_name);
        let id = self
            .mutate(|| async {
                if let Some(alias) = self.get::<AliasRecord>(ALIASES, &alias_key).await? {
                    return Ok((Transaction::new(), alias.value.target_key_id));
                }
                let now = self.now();
                let id = new_key_id()?;
                let key = KeyRecord {
                    id: id.clone(),
                    created: now,
                    description: description(service),
                    kind: KeyKind::new(Spec::SymmetricDefault, Usage::EncryptDecrypt)?,
                    origin: Origin::AwsKms,
                    lifecycle: Lifecycle::Enabled,
                    policy: policy(&tenant, service),
                    tags: Vec::new(),
                    multi_region: false,
                    regions: None,
                    manager: Manager::Aws,
                    rotation: Some(RotationSchedule {
                        period_days: ROTATION_PERIOD_DAYS,
                        next_rotation: now + i64::from(ROTATION_PERIOD_DAYS) * DAY_MILLIS,
                    }),
                    materials: vec![MaterialRecord {
                        id: new_material_id()?,
                        created: now,
                        rotation: None,
                    }],
                    material_expires: None,
                    import: None,
                };
                let materials = Materials::new(material::generate(Spec::SymmetricDefault)?);
                let alias = AliasRecord {
                    target_key_id: id.clone(),
                    created: now,
                    updated: now,
                };
                let key_store_key = tenant.store_key(&id);
                let txn = Transaction::new()
                    .expect_absent(ALIASES, &alias_key)
                    .expect_absent(KEYS, &key_store_key)
                    .put(KEYS, &key_store_key, plain(&key)?)
                    .put(MATERIAL, &key_store_key, materials.encode())
                    .put(ALIASES, &alias_key, plain(&alias)?);
                Ok((txn, id))
            })
            .await?;
        Ok(tenant.key_arn(&id))
    }
}

/// Fails as AWS does when `action` would change an AWS managed key: its key policy allows no
/// principal to change it.
pub(crate) fn check_customer_managed(
    ctx: &RequestContext,
    tenant: &Tenant,
    key: &KeyRecord,
    action: &str,
) -> Result<(), ServiceError> {
    match key.manager {
        Manager::Customer => Ok(()),
        Manager::Aws => Err(ServiceError::common(
            CommonError::AccessDenied,
            format!(
                "User: {} is not authorized to perform: {action} on resource: {} because no \
                 resource-based policy allows the {action} action",
                ctx.principal.arn,
                tenant.key_arn(&key.id)
            ),
        )),
    }
}

/// The service's name in prose, and what its AWS managed key protects, as AWS describes them.
fn service_words(service: &str) -> (String, String) {
    let (name, data) = match service {
        "secretsmanager" => ("AWS Secrets Manager", "Secrets Manager data"),
        "ssm" => ("AWS Systems Manager", "SSM parameters"),
        "ebs" => ("Amazon EBS", "EBS volumes"),
        "s3" => ("Amazon S3", "S3 objects"),
        "lambda" => ("AWS Lambda", "Lambda functions"),
        "rds" => ("Amazon RDS", "RDS database volumes"),
        "dynamodb" => ("Amazon DynamoDB", "DynamoDB data"),
        "sns" => ("Amazon SNS", "SNS data"),
        "sqs" => ("Amazon SQS", "SQS messages"),
        other => return (other.to_owned(), format!("{other} data")),
    };
    (name.to_owned(), data.to_owned())
}

fn description(service: &str) -> String {
    let (_, data) = service_words(service);
    format!("Default key that protects my {data} when no other key is defined")
}

/// The key policy AWS gives an AWS managed key: principals of the account may use the key for
/// cryptography only through the service, in this region; the account may read its metadata
/// and revoke its grants directly.
fn policy(tenant: &Tenant, service: &str) -> String {
    let (name, _) = service_words(service);
    let Tenant { account, region } = tenant;
    format!(
        r#"{{
  "Version" : "2012-10-17",
  "Id" : "auto-{service}-2",
  "Statement" : [ {{
    "Sid" : "Allow access through {name} for all principals in the account that are authorized to use {name}",
    "Effect" : "Allow",
    "Principal" : {{
      "AWS" : "*"
    }},
    "Action" : [ "kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:CreateGrant", "kms:DescribeKey" ],
    "Resource" : "*",
    "Condition" : {{
      "StringEquals" : {{
        "kms:CallerAccount" : "{account}",
        "kms:ViaService" : "{service}.{region}.amazonaws.com"
      }}
    }}
  }}, {{
    "Sid" : "Allow direct access to key metadata to the account",
    "Effect" : "Allow",
    "Principal" : {{
      "AWS" : "arn:aws:iam::{account}:root"
    }},
    "Action" : [ "kms:Describe*", "kms:Get*", "kms:List*", "kms:RevokeGrant" ],
    "Resource" : "*"
  }} ]
}}"#
    )
}
