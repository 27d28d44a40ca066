//! What the server's authorizer asks of KMS: the facts about the key a request uses (its ARN and
//! key policy, and what KMS's condition keys say of it), the KMS condition keys of a request, and
//! whether a grant allows what the key policy and IAM policies do not.
//!
//! The authorizer decides; KMS only answers questions about its own state, so that grant
//! semantics and the meaning of each condition key live with the service that defines them.

use std::collections::BTreeMap;

use palisade_core::{AccountId, RequestContext, Value};

use crate::KmsState;
use crate::db::{GRANTS, Tenant};
use crate::grants::{find_grant_to_retire, retiring_tenant};
use crate::ids::crosses_accounts;
use crate::records::{GrantRecord, KeyRecord, Origin};

/// The key a request uses, as the authorizer sees it.
#[derive(Debug, Clone)]
pub struct KeyFacts {
    /// The key's ARN: the resource the request is decided against.
    pub arn: String,
    /// The account that owns the key: another account's when the request uses a key across
    /// accounts, and then both its key policy and the caller's IAM policies must allow.
    pub account: AccountId,
    /// The alias name the request named the key by, if it did (`kms:RequestAlias`).
    pub alias: Option<String>,
    /// `PRIMARY` or `REPLICA` for a multi-Region key (`kms:MultiRegionKeyType`).
    multi_region_key_type: Option<&'static str>,
    tenant: Tenant,
    key: KeyRecord,
}

impl KeyFacts {
    /// The key policy document.
    pub fn policy(&self) -> &str {
        &self.key.policy
    }
}

/// A condition key and its values.
pub type ConditionKey = (String, Vec<String>);

impl KmsState {
    /// The key a request to `operation` (or `ReEncryptFrom`/`ReEncryptTo`) names by `key_id`
    /// (key id, key ARN, alias name or alias ARN), found where the operation finds it: another
    /// account's key by its ARN for the operations AWS allows across accounts, otherwise the
    /// caller's account's. `None` when no such key exists there; the operation then answers
    /// NotFound itself.
    pub async fn key_facts(
        &self,
        ctx: &RequestContext,
        operation: &str,
        key_id: &str,
    ) -> Option<KeyFacts> {
        let tenant = if crosses_accounts(operation) {
            Tenant::owning(ctx, key_id)
        } else {
            Tenant::of(ctx)
        };
        let (key, alias) = self.resolve_key_and_alias(&tenant, key_id).await.ok()?;
        Some(KeyFacts {
            arn: tenant.key_arn(&key.value.id),
            account: AccountId::parse(&tenant.account)?,
            alias: alias.map(str::to_owned),
            multi_region_key_type: key.value.multi_region_key_type(&tenant.region),
            tenant,
            key: key.value,
        })
    }

    /// Whether a grant on `key` lets a caller known by any of `grantees` (its ARNs: a role
    /// session's include its role's) call `operation` with the request `input`, whose encryption
    /// context must satisfy the grant's constraints.
    pub async fn grant_allows(
        &self,
        key: &KeyFacts,
        grantees: &[&str],
        operation: &str,
        input: &Value,
    ) -> bool {
        let Ok(grants) = self
            .scan_under::<GrantRecord>(GRANTS, &key.tenant, &format!("{}/", key.key.id))
            .await
        else {
            return false;
        };
        let context = encryption_context(input, operation);
        grants.iter().any(|(_, grant)| {
            grantees.contains(&grant.grantee.as_str())
                && grant.operations.iter().any(|op| op == operation)
                && constraints_hold(grant, operation, &context)
        })
    }

    /// Whether a caller known by any of `grantees` may retire the grant a `RetireGrant` request
    /// names without any policy allowing it: as its retiring principal, or as its grantee when
    /// the grant includes `RetireGrant`.
    pub async fn may_retire(&self, ctx: &RequestContext, grantees: &[&str], input: &Value) -> bool {
        let member = |name: &str| input.get(name).and_then(Value::as_str);
        let Ok(grant) = find_grant_to_retire(
            self,
            &retiring_tenant(ctx, member("KeyId")),
            member("GrantToken"),
            member("KeyId"),
            member("GrantId"),
        )
        .await
        else {
            return false;
        };
        grant
            .retiring
            .as_deref()
            .is_some_and(|retiring| grantees.contains(&retiring))
            || (grantees.contains(&grant.grantee.as_str())
                && grant.operations.iter().any(|op| op == "RetireGrant"))
    }
}

/// The KMS condition keys of a request to `operation` with `input`, made by a caller of
/// `account`, using `key` where the request names one. Keys the request does not bear are left
/// out, so that conditions on them see them absent, as in AWS.
pub fn condition_keys(
    account: &str,
    operation: &str,
    input: &Value,
    key: Option<&KeyFacts>,
) -> Vec<ConditionKey> {
    let mut keys: Vec<ConditionKey> = vec![("kms:CallerAccount".to_owned(), one(account))];
    let string = |name: &str| input.get(name).and_then(Value::as_str).map(str::to_owned);
    let mut add = |name: &str, value: Option<String>| {
        if let Some(value) = value {
            keys.push((name.to_owned(), vec![value]));
        }
    };

    let context = encryption_context(input, operation);
    let context_keys: Vec<String> = context.keys().cloned().collect();
    for (name, value) in context {
        add(&format!("kms:EncryptionContext:{name}"), Some(value));
    }
    let algorithm_member = match operation {
        "ReEncryptFrom" => "SourceEncryptionAlgorithm",
        "ReEncryptTo" => "DestinationEncryptionAlgorithm",
        _ => "EncryptionAlgorithm",
    };
    let encryption_algorithm = string(algorithm_member).or_else(|| {
        ENCRYPTION_OPERATIONS
            .contains(&operation)
            .then(|| "SYMMETRIC_DEFAULT".to_owned())
    });
    add("kms:EncryptionAlgorithm", encryption_algorithm);
    add("kms:SigningAlgorithm", string("SigningAlgorithm"));
    add("kms:MacAlgorithm", string("MacAlgorithm"));
    add("kms:KeyAgreementAlgorithm", string("KeyAgreementAlgorithm"));
    add("kms:DataKeyPairSpec", string("KeyPairSpec"));
    add("kms:WrappingAlgorithm", string("WrappingAlgorithm"));
    add("kms:WrappingKeySpec", string("WrappingKeySpec"));
    add("kms:ReplicaRegion", string("ReplicaRegion"));
    add("kms:PrimaryRegion", string("PrimaryRegion"));
    add("kms:RequestAlias", key.and_then(|key| key.alias.clone()));
    let number = |name: &str| match input.get(name) {
        Some(Value::Int(days)) => Some(days.to_string()),
        _ => None,
    };
    add("kms:RotationPeriodInDays", number("RotationPeriodInDays"));
    add(
        "kms:ScheduleKeyDeletionPendingWindowInDays",
        number("PendingWindowInDays"),
    );

    if operation == "CreateKey" {
        add(
            "kms:KeySpec",
            string("KeySpec")
                .or_else(|| string("CustomerMasterKeySpec"))
                .or_else(|| Some("SYMMETRIC_DEFAULT".to_owned())),
        );
        add(
            "kms:KeyUsage",
            string("KeyUsage").or_else(|| Some("ENCRYPT_DECRYPT".to_owned())),
        );
        add(
            "kms:KeyOrigin",
            string("Origin").or_else(|| Some("AWS_KMS".to_owned())),
        );
        let multi_region = matches!(input.get("MultiRegion"), Some(Value::Bool(true)));
        add("kms:MultiRegion", Some(multi_region.to_string()));
    } else if let Some(facts) = key {
        let record = &facts.key;
        add("kms:KeySpec", Some(record.kind.spec.as_str().to_owned()));
        add("kms:KeyUsage", Some(record.kind.usage.as_str().to_owned()));
        add(
            "kms:KeyOrigin",
            Some(
                match record.origin {
                    Origin::AwsKms => "AWS_KMS",
                    Origin::External => "EXTERNAL",
                }
                .to_owned(),
            ),
        );
        add("kms:MultiRegion", Some(record.multi_region.to_string()));
        add(
            "kms:MultiRegionKeyType",
            facts.multi_region_key_type.map(str::to_owned),
        );
        for tag in &record.tags {
            add(
                &format!("aws:ResourceTag/{}", tag.key),
                Some(tag.value.clone()),
            );
        }
    }

    if operation == "CreateGrant" {
        add("kms:GranteePrincipal", string("GranteePrincipal"));
        add("kms:RetiringPrincipal", string("RetiringPrincipal"));
        add("kms:GrantIsForAWSResource", Some("false".to_owned()));
    }
    let mut tag_keys = Vec::new();
    if matches!(operation, "CreateKey" | "TagResource")
        && let Some(Value::List(tags)) = input.get("Tags")
    {
        for tag in tags {
            let member = |name: &str| tag.get(name).and_then(Value::as_str);
            if let (Some(tag_key), Some(value)) = (member("TagKey"), member("TagValue")) {
                add(&format!("aws:RequestTag/{tag_key}"), Some(value.to_owned()));
                tag_keys.push(tag_key.to_owned());
            }
        }
    }
    if operation == "UntagResource" {
        tag_keys.extend(strings(input.get("TagKeys")));
    }

    let mut many = |name: &str, values: Vec<String>| {
        if !values.is_empty() {
            keys.push((name.to_owned(), values));
        }
    };
    many("kms:EncryptionContextKeys", context_keys);
    many("aws:TagKeys", tag_keys);
    if operation == "CreateGrant" {
        many("kms:GrantOperations", strings(input.get("Operations")));
        let constraints = input.get("Constraints");
        many(
            "kms:GrantConstraintType",
            ["EncryptionContextEquals", "EncryptionContextSubset"]
                .into_iter()
                .filter(|kind| constraints.and_then(|c| c.get(kind)).is_some())
                .map(str::to_owned)
                .collect(),
        );
    }
    keys
}

/// The operations that encrypt or decrypt under the key: each takes an encryption context, which
/// a grant's constraints govern (a grant's other operations, `DescribeKey`, `CreateGrant`, ...,
/// are not constrained by them), and uses `SYMMETRIC_DEFAULT` unless the request names another
/// encryption algorithm.
const ENCRYPTION_OPERATIONS: &[&str] = &[
    "Encrypt",
    "Decrypt",
    "ReEncryptFrom",
    "ReEncryptTo",
    "GenerateDataKey",
    "GenerateDataKeyWithoutPlaintext",
    "GenerateDataKeyPair",
    "GenerateDataKeyPairWithoutPlaintext",
];

fn constraints_hold(
    grant: &GrantRecord,
    operation: &str,
    context: &BTreeMap<String, String>,
) -> bool {
    if !ENCRYPTION_OPERATIONS.contains(&operation) {
        return true;
    }
    let equals = grant
        .context_equals
        .as_ref()
        .is_none_or(|equals| equals == context);
    let subset = grant.context_subset.as_ref().is_none_or(|subset| {
        subset
            .iter()
            .all(|(name, value)| context.get(name) == Some(value))
    });
    equals && subset
}

/// The encryption context of the request for `operation`: `EncryptionContext`, or for the two
/// halves of a `ReEncrypt`, the context of the side they act on.
fn encryption_context(input: &Value, operation: &str) -> BTreeMap<String, String> {
    let member = match operation {
        "ReEncryptFrom" => "SourceEncryptionContext",
        "ReEncryptTo" => "DestinationEncryptionContext",
        _ => "EncryptionContext",
    };
    match input.get(member) {
        Some(Value::Map(pairs)) => pairs
            .iter()
            .filter_map(|(name, value)| Some((name.clone(), value.as_str()?.to_owned())))
            .collect(),
        _ => BTreeMap::new(),
    }
}

fn strings(value: Option<&Value>) -> Vec<String> {
    match value {
        Some(Value::List(items)) => items
            .iter()
            .filter_map(|item| item.as_str().map(str::to_owned))
            .collect(),
        _ => Vec::new(),
    }
}

fn one(value: &str) -> Vec<String> {
    vec![value.to_owned()]
}

#[cfg(test)]
mod tests {
    use super::*;
    use palisade_core::value::StructBuilder;

    fn grant(equals: Option<&[(&str, &str)]>, subset: Option<&[(&str, &str)]>) -> GrantRecord {
        let map = |pairs: &[(&str, &str)]| {
            pairs
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect()
        };
        GrantRecord {
            key_id: "k".to_owned(),
            grant_id: "g".to_owned(),
            token: "t".to_owned(),
            name: None,
            created: 0,
            grantee: "arn:aws:iam::000000000000:user/a".to_owned(),
            retiring: None,
            operations: vec!["Decrypt".to_owned()],
            context_subset: subset.map(map),
            context_equals: equals.map(map),
        }
    }

    #[test]
    fn grant_constraints_are_checked_against_the_request_context() {
        let context: BTreeMap<String, String> = [("a", "1"), ("b", "2")]
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect();
        assert!(constraints_hold(&grant(None, None), "Decrypt", &context));
        assert!(constraints_hold(
            &grant(None, Some(&[("a", "1")])),
            "Decrypt",
            &context
        ));
        assert!(!constraints_hold(
            &grant(None, Some(&[("a", "2")])),
            "Decrypt",
            &context
        ));
        assert!(!constraints_hold(
            &grant(Some(&[("a", "1")]), None),
            "Decrypt",
            &context
        ));
        assert!(constraints_hold(
            &grant(Some(&[("a", "1"), ("b", "2")]), None),
            "Decrypt",
            &context
        ));
        // DescribeKey takes no encryption context; constraints do not apply to it.
        assert!(constraints_hold(
            &grant(Some(&[("x", "y")]), None),
            "DescribeKey",
            &context
        ));
    }

    #[test]
    fn request_condition_keys_come_from_the_input() {
        let mut input = StructBuilder::new();
        input.set("KeyId", "alias/app".to_owned());
        let context: BTreeMap<String, String> = [("dept".to_owned(), "finance".to_owned())]
            .into_iter()
            .collect();
        input.set("EncryptionContext", context);
        let keys = condition_keys("000000000000", "Encrypt", &input.build(), None);
        let value = |name: &str| {
            keys.iter()
                .find(|(key, _)| key == name)
                .map(|(_, values)| values.clone())
        };
        assert_eq!(value("kms:CallerAccount"), Some(one("000000000000")));
        assert_eq!(value("kms:EncryptionContext:dept"), Some(one("finance")));
        assert_eq!(value("kms:EncryptionContextKeys"), Some(one("dept")));
        assert_eq!(
            value("kms:EncryptionAlgorithm"),
            Some(one("SYMMETRIC_DEFAULT"))
        );
        assert_eq!(value("kms:SigningAlgorithm"), None);
    }
}
