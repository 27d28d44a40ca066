//! An AWS service's own call on a KMS key, made as its service principal (CloudTrail encrypting
//! a trail's log files, CloudWatch Logs a group's events). Only the key policy can allow a
//! service principal: IAM policies and grants cannot. The request bears the key's own KMS
//! condition keys, what every service principal's call bears, and the calling service's keys
//! (its encryption context, `aws:SourceArn`, ...), which the service adds itself.

use palisade_core::keys::{KeyRefusal, ServiceKey};

use crate::{Context, ParseOptions, Policy, PolicyKind, PolicySet, Principal, Request, Special};

/// `found`, when a service may use it for a resource of `region`
/// ([`ServiceKey::usable_in`]), with its key policy parsed.
pub fn usable_service_key(
    found: Option<ServiceKey>,
    region: &str,
) -> Result<(ServiceKey, Policy), KeyRefusal> {
    let key = ServiceKey::usable_in(found, region)?;
    // KMS accepted the policy when it was set; one that no longer parses allows nothing.
    let policy = Policy::parse_with(&key.policy, &ParseOptions::new(PolicyKind::Resource))
        .map_err(|_| KeyRefusal::PolicyDenies)?;
    Ok((key, policy))
}

/// The request context of a call by the service principal `service` on `key`, before the
/// service adds its own keys.
pub fn service_key_context<'a>(key: &'a ServiceKey, service: &'a str) -> Context<'a> {
    let mut context = Context::new();
    for (name, values) in &key.condition_keys {
        context.insert_many(name.as_str(), values.iter().map(String::as_str));
    }
    context
        .insert("aws:PrincipalServiceName", service)
        .insert("aws:PrincipalIsAWSService", "true")
        .insert("aws:SecureTransport", "true");
    context
}

/// Whether `policy`, the key policy of `key`, lets the service principal `service` call `action`
/// in a request bearing `context` (built from [`service_key_context`]).
pub fn key_policy_allows_service(
    key: &ServiceKey,
    policy: &Policy,
    service: &str,
    action: &str,
    context: &Context<'_>,
) -> bool {
    let key_account = key.arn.split(':').nth(4).unwrap_or_default();
    let set = PolicySet {
        resource: Some(policy),
        resource_account: key_account,
        principal_account: "",
        special: Some(Special::KmsKeyPolicy),
        ..PolicySet::default()
    };
    let request = Request {
        principal: Principal::service(service),
        action,
        resource: &key.arn,
        context,
    };
    crate::evaluate(&request, &set).is_allowed()
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY_ARN: &str =
        "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab";
    const SERVICE: &str = "logs.us-east-1.amazonaws.com";

    fn key(statement: &str) -> ServiceKey {
        ServiceKey {
            arn: KEY_ARN.to_owned(),
            state: "Enabled".to_owned(),
            symmetric_encryption: true,
            policy: format!(r#"{{"Version":"2012-10-17","Statement":[{statement}]}}"#),
            condition_keys: vec![("aws:ResourceTag/use".to_owned(), vec!["logs".to_owned()])],
        }
    }

    fn allows(statement: &str, action: &str) -> bool {
        let (key, policy) = usable_service_key(Some(key(statement)), "us-east-1").unwrap();
        let context = service_key_context(&key, SERVICE);
        key_policy_allows_service(&key, &policy, SERVICE, action, &context)
    }

    #[test]
    fn the_request_bears_the_keys_tags_and_the_service_principals_facts() {
        let statement = r#"{"Effect":"Allow","Principal":{"Service":"logs.us-east-1.amazonaws.com"},
            "Action":"kms:GenerateDataKey*","Resource":"*",
            "Condition":{"StringEquals":{"aws:ResourceTag/use":"logs",
                "aws:PrincipalServiceName":"logs.us-east-1.amazonaws.com"},
                "Bool":{"aws:PrincipalIsAWSService":"true","aws:SecureTransport":"true"}}}"#;
        assert!(allows(statement, "kms:GenerateDataKey"));
        assert!(!allows(statement, "kms:Decrypt"));
    }

    #[test]
    fn an_account_statement_does_not_allow_a_service_principal() {
        let root = r#"{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:root"},
            "Action":"kms:*","Resource":"*"}"#;
        assert!(!allows(root, "kms:GenerateDataKey"));
    }

    #[test]
    fn a_policy_that_no_longer_parses_allows_nothing() {
        let mut broken = key("");
        broken.policy = "{".to_owned();
        assert_eq!(
            usable_service_key(Some(broken), "us-east-1").map(|_| ()),
            Err(KeyRefusal::PolicyDenies)
        );
    }
}
