//! The tags of a resource the authorizer decides on, for `aws:ResourceTag/*` (and the service
//! spellings of the same key: `iam:ResourceTag/*`, `ssm:resourceTag/*`).
//!
//! The authorizer asks only when a policy in play tests a resource tag, so a request whose
//! policies never do costs no lookup. Each service answers through its own tag listing
//! operation, in the caller's context, so the tags are the ones `List*Tags*` would show. KMS
//! keys and Secrets Manager secrets are not looked up here: the authorizer reads those records
//! anyway and takes their tags from them. EventBridge keeps no tags yet.

use std::sync::Arc;

use palisade_cloudtrail::CloudTrailState;
use palisade_core::service::CommonError;
use palisade_core::{RequestContext, ServiceError};
use palisade_iam::IamState;
use palisade_logs::LogsState;
use palisade_model_cloudtrail::Cloudtrail;
use palisade_model_iam::Iam;
use palisade_model_logs::Logs;
use palisade_model_organizations::Organizations;
use palisade_model_ssm::Ssm;
use palisade_model_ssm::types::ResourceTypeForTagging;
use palisade_organizations::OrganizationsState;
use palisade_ssm::ParameterStore;

/// Reads resources' tags from the services that own them.
pub struct ResourceTags {
    pub iam: Arc<IamState>,
    pub parameters: Arc<ParameterStore>,
    pub logs: Arc<LogsState>,
    pub cloudtrail: Arc<CloudTrailState>,
    pub organizations: Arc<OrganizationsState>,
}

/// A tag's key and value.
pub type Tag = (String, String);

impl ResourceTags {
    /// The tags of the resource `arn` names; none for a resource that does not exist or whose
    /// service keeps no tags. Only a failure of the server is an error.
    pub async fn of(&self, ctx: &RequestContext, arn: &str) -> Result<Vec<Tag>, ServiceError> {
        let Some((service, resource)) = split_arn(arn) else {
            return Ok(Vec::new());
        };
        let found = match service {
            "ssm" => self.parameter(ctx, resource).await,
            "logs" => self.log_group(ctx, arn, resource).await,
            "cloudtrail"
                if ["trail/", "eventdatastore/", "dashboard/", "channel/"]
                    .iter()
                    .any(|kind| resource.starts_with(kind)) =>
            {
                self.cloudtrail_resource(ctx, arn).await
            }
            "iam" => self.iam_entity(ctx, arn, resource).await,
            "organizations" => self.organizations_entity(ctx, resource).await,
            _ => Ok(Vec::new()),
        };
        match found {
            Ok(tags) => Ok(tags),
            Err(error) if error.common_kind() == Some(CommonError::InternalFailure) => Err(error),
            // Not found, or not taggable: a resource without tags.
            Err(_) => Ok(Vec::new()),
        }
    }

    /// `parameter/<name>`: a hierarchical name's leading `/` is not in its ARN, so a name with
    /// no `/` may be either spelling.
    async fn parameter(
        &self,
        ctx: &RequestContext,
        resource: &str,
    ) -> Result<Vec<Tag>, ServiceError> {
        let Some(name) = resource.strip_prefix("parameter/") else {
            return Ok(Vec::new());
        };
        let spellings = if name.contains('/') {
            vec![format!("/{name}")]
        } else {
            vec![name.to_owned(), format!("/{name}")]
        };
        let mut last_error = None;
        for resource_id in spellings {
            let listed = self
                .parameters
                .list_tags_for_resource(
                    ctx,
                    palisade_model_ssm::types::ListTagsForResourceRequest {
                        resource_type: ResourceTypeForTagging::Parameter,
                        resource_id,
                    },
                )
                .await;
            match listed {
                Ok(listed) => {
                    return Ok(listed
                        .tag_list
                        .unwrap_or_default()
                        .into_iter()
                        .map(|tag| (tag.key, tag.value))
                        .collect());
                }
                Err(error) => last_error = Some(error),
            }
        }
        last_error.map_or_else(|| Ok(Vec::new()), Err)
    }

    /// A log group, or the group of a log stream (`log-group:<name>[:log-stream:<stream>]`,
    /// or `log-group:<name>:*`; group names hold no colon). Tags are the group's.
    async fn log_group(
        &self,
        ctx: &RequestContext,
        arn: &str,
        resource: &str,
    ) -> Result<Vec<Tag>, ServiceError> {
        let Some(named) = resource.strip_prefix("log-group:") else {
            return Ok(Vec::new());
        };
        let name = named.split(':').next().unwrap_or(named);
        let Some(account_prefix) = arn.strip_suffix(resource) else {
            return Ok(Vec::new());
        };
        let listed = self
            .logs
            .list_tags_for_resource(
                ctx,
                palisade_model_logs::types::ListTagsForResourceRequest {
                    resource_arn: format!("{account_prefix}log-group:{name}"),
                },
            )
            .await?;
        Ok(listed.tags.unwrap_or_default().into_iter().collect())
    }

    /// A trail, event data store, dashboard or channel of the caller's account.
    async fn cloudtrail_resource(
        &self,
        ctx: &RequestContext,
        arn: &str,
    ) -> Result<Vec<Tag>, ServiceError> {
        let listed = self
            .cloudtrail
            .list_tags(
                ctx,
                palisade_model_cloudtrail::types::ListTagsRequest {
                    resource_id_list: vec![arn.to_owned()],
                    next_token: None,
                },
            )
            .await?;
        Ok(listed
            .resource_tag_list
            .unwrap_or_default()
            .into_iter()
            .flat_map(|resource| resource.tags_list.unwrap_or_default())
            .map(|tag| (tag.key, tag.value.unwrap_or_default()))
            .collect())
    }

    /// A user, role or customer managed policy; the name is the ARN's last segment (paths
    /// come before it).
    async fn iam_entity(
        &self,
        ctx: &RequestContext,
        arn: &str,
        resource: &str,
    ) -> Result<Vec<Tag>, ServiceError> {
        let (kind, _) = resource.split_once('/').unwrap_or((resource, ""));
        let name = resource.rsplit('/').next().unwrap_or(resource).to_owned();
        let tags = match kind {
            "user" => {
                self.iam
                    .list_user_tags(
                        ctx,
                        palisade_model_iam::types::ListUserTagsRequest {
                            user_name: name,
                            marker: None,
                            max_items: None,
                        },
                    )
                    .await?
                    .tags
            }
            "role" => {
                self.iam
                    .list_role_tags(
                        ctx,
                        palisade_model_iam::types::ListRoleTagsRequest {
                            role_name: name,
                            marker: None,
                            max_items: None,
                        },
                    )
                    .await?
                    .tags
            }
            "policy" => {
                self.iam
                    .list_policy_tags(
                        ctx,
                        palisade_model_iam::types::ListPolicyTagsRequest {
                            policy_arn: arn.to_owned(),
                            marker: None,
                            max_items: None,
                        },
                    )
                    .await?
                    .tags
            }
            _ => Vec::new(),
        };
        Ok(tags.into_iter().map(|tag| (tag.key, tag.value)).collect())
    }

    /// An account, OU, root or policy: its id is the ARN's last segment.
    async fn organizations_entity(
        &self,
        ctx: &RequestContext,
        resource: &str,
    ) -> Result<Vec<Tag>, ServiceError> {
        let Some(id) = resource.rsplit('/').next().filter(|id| !id.is_empty()) else {
            return Ok(Vec::new());
        };
        let listed = self
            .organizations
            .list_tags_for_resource(
                ctx,
                palisade_model_organizations::types::ListTagsForResourceRequest {
                    resource_id: id.to_owned(),
                    next_token: None,
                },
            )
            .await?;
        Ok(listed
            .tags
            .unwrap_or_default()
            .into_iter()
            .map(|tag| (tag.key, tag.value))
            .collect())
    }
}

/// The condition keys a resource's tags supply: `aws:ResourceTag/<key>` for every service, and
/// the service's own spelling where the Service Authorization Reference lists one.
pub fn condition_keys<'t>(
    service: &str,
    tags: &'t [Tag],
) -> impl Iterator<Item = (String, &'t str)> + 't {
    let own_prefix = match service {
        "iam" => Some("iam:ResourceTag/"),
        "ssm" => Some("ssm:resourceTag/"),
        "secretsmanager" => Some("secretsmanager:ResourceTag/"),
        _ => None,
    };
    tags.iter().flat_map(move |(key, value)| {
        std::iter::once(format!("aws:ResourceTag/{key}"))
            .chain(own_prefix.map(|prefix| format!("{prefix}{key}")))
            .map(move |name| (name, value.as_str()))
    })
}

/// Whether a policy tests a resource tag under any service's spelling
/// (`<service>:ResourceTag/<key>`, any case).
pub fn tests_resource_tags(policy: &palisade_policy::Policy) -> bool {
    policy.condition_keys().any(|key| {
        key.split_once('/').is_some_and(|(name, _)| {
            name.rsplit(':')
                .next()
                .is_some_and(|name| name.eq_ignore_ascii_case("ResourceTag"))
        })
    })
}

/// `arn:<partition>:<service>:<region>:<account>:<resource>` → (service, resource).
fn split_arn(arn: &str) -> Option<(&str, &str)> {
    let mut parts = arn.splitn(6, ':');
    if parts.next() != Some("arn") {
        return None;
    }
    let _partition = parts.next()?;
    let service = parts.next()?;
    let _region = parts.next()?;
    let _account = parts.next()?;
    Some((service, parts.next()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arns_split_into_service_and_resource() {
        assert_eq!(
            split_arn("arn:aws:ssm:us-east-1:111122223333:parameter/app/db"),
            Some(("ssm", "parameter/app/db"))
        );
        assert_eq!(
            split_arn("arn:aws:logs:us-east-1:111122223333:log-group:g:*"),
            Some(("logs", "log-group:g:*"))
        );
        assert_eq!(split_arn("*"), None);
    }

    #[test]
    fn policies_that_test_resource_tags_are_told_apart() {
        let tests = |condition: &str| {
            let document = format!(
                r#"{{"Version":"2012-10-17","Statement":{{"Effect":"Allow","Action":"*","Resource":"*","Condition":{condition}}}}}"#
            );
            tests_resource_tags(&palisade_policy::Policy::parse(&document).unwrap())
        };
        assert!(tests(r#"{"StringEquals":{"aws:ResourceTag/Project":"x"}}"#));
        assert!(tests(r#"{"StringEquals":{"ssm:resourceTag/team":"x"}}"#));
        assert!(tests(r#"{"Null":{"IAM:RESOURCETAG/team":"false"}}"#));
        assert!(!tests(r#"{"StringEquals":{"aws:RequestTag/Project":"x"}}"#));
        assert!(!tests(
            r#"{"StringEquals":{"aws:PrincipalTag/Project":"x"}}"#
        ));
    }

    #[test]
    fn tags_give_the_global_and_the_service_spelling() {
        let tags = vec![("team".to_owned(), "blue".to_owned())];
        let keys: Vec<(String, &str)> = condition_keys("ssm", &tags).collect();
        assert_eq!(
            keys,
            vec![
                ("aws:ResourceTag/team".to_owned(), "blue"),
                ("ssm:resourceTag/team".to_owned(), "blue"),
            ]
        );
        let keys: Vec<(String, &str)> = condition_keys("logs", &tags).collect();
        assert_eq!(keys, vec![("aws:ResourceTag/team".to_owned(), "blue")]);
    }
}
