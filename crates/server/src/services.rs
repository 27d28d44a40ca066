//! The services the server answers for: every service in scope is routable, built or not.

use std::collections::HashMap;
use std::sync::Arc;

use palisade_core::model::ServiceModel;
use palisade_core::service::{BoxFuture, ErrorKind};
use palisade_core::{Service, ServiceError};
use palisade_model_kms::Kms as _;
use palisade_model_kms::errors as kms_errors;
use palisade_model_kms::types::{DescribeKeyRequest, KeySpec, KeyUsageType};
use palisade_model_logs::types::InputLogEvent;
use palisade_model_organizations::Organizations as _;
use palisade_model_organizations::types::{
    DeregisterDelegatedAdministratorRequest, ListAWSServiceAccessForOrganizationRequest,
    ListAccountsRequest, ListDelegatedAdministratorsRequest, RegisterDelegatedAdministratorRequest,
};

/// A service whose operations are not built yet: each answers `NotImplemented`.
#[derive(Debug, Default)]
struct NotBuilt;

impl palisade_model_detective::Detective for NotBuilt {}
impl palisade_model_ec2_instance_connect::Ec2InstanceConnect for NotBuilt {}
impl palisade_model_fms::Fms for NotBuilt {}
impl palisade_model_guardduty::Guardduty for NotBuilt {}
impl palisade_model_inspector2::Inspector2 for NotBuilt {}
impl palisade_model_securityhub::Securityhub for NotBuilt {}
impl palisade_model_shield::Shield for NotBuilt {}
impl palisade_model_wafv2::Wafv2 for NotBuilt {}

/// CloudWatch Logs, as EventBridge writes to log group targets.
pub struct EventLogGroups(pub Arc<palisade_logs::LogsState>);

impl palisade_events::LogGroups for EventLogGroups {
    fn append<'a>(
        &'a self,
        event: palisade_events::LogEvent<'a>,
    ) -> BoxFuture<'a, Result<(), ServiceError>> {
        let line = InputLogEvent {
            timestamp: event.timestamp,
            message: event.message,
        };
        Box::pin(self.0.append_events(
            event.account,
            event.region,
            event.group,
            event.stream,
            vec![line],
        ))
    }
}

/// CloudWatch Logs, as CloudTrail streams trails' records to log groups: one append per batch,
/// in the log group's account, into a stream created when it is missing.
pub struct TrailLogGroups(pub Arc<palisade_logs::LogsState>);

impl palisade_cloudtrail::TrailLogGroups for TrailLogGroups {
    fn put<'a>(
        &'a self,
        batch: palisade_cloudtrail::LogBatch<'a>,
    ) -> BoxFuture<'a, Result<(), ServiceError>> {
        let events = batch
            .events
            .into_iter()
            .map(|event| InputLogEvent {
                timestamp: event.timestamp,
                message: event.message,
            })
            .collect();
        Box::pin(self.0.append_events(
            batch.account,
            batch.region,
            batch.group,
            batch.stream,
            events,
        ))
    }
}

/// AWS Organizations, as CloudTrail asks it who belongs to an organization trail's organization.
pub struct TrailOrganizations {
    /// Organizations.
    pub organizations: Arc<palisade_organizations::OrganizationsState>,
    /// The server's clock, for the calls' time.
    pub clock: Arc<dyn palisade_core::clock::Clock>,
}

impl TrailOrganizations {
    /// CloudTrail's call to Organizations as `management_account`, the only account that may
    /// list its organization's accounts and trusted services and register delegated
    /// administrators.
    fn management_call(
        &self,
        management_account: &str,
    ) -> Result<palisade_core::RequestContext, ServiceError> {
        let account = palisade_core::AccountId::parse(management_account)
            .ok_or_else(|| ServiceError::internal("an organization names an invalid account"))?;
        // Organizations is global; its home region answers for it.
        Ok(cloudtrail_call(
            account,
            palisade_core::Region::us_east_1(),
            self.clock.as_ref(),
        ))
    }
}

impl palisade_cloudtrail::TrailOrganizations for TrailOrganizations {
    fn organization_of<'a>(
        &'a self,
        account: &'a str,
    ) -> BoxFuture<'a, Result<Option<palisade_cloudtrail::TrailOrganization>, ServiceError>> {
        Box::pin(async move {
            let Some(account) = palisade_core::AccountId::parse(account) else {
                return Ok(None);
            };
            Ok(self
                .organizations
                .account_context(&account)
                .await?
                .map(|context| palisade_cloudtrail::TrailOrganization {
                    id: context.organization_id,
                    management_account: context.management_account_id,
                }))
        })
    }

    fn member_accounts<'a>(
        &'a self,
        management_account: &'a str,
    ) -> BoxFuture<'a, Result<Vec<palisade_cloudtrail::MemberAccount>, ServiceError>> {
        Box::pin(async move {
            let ctx = self.management_call(management_account)?;
            let accounts = collect_pages(|next_token| async {
                let page = self
                    .organizations
                    .list_accounts(
                        &ctx,
                        ListAccountsRequest {
                            next_token,
                            max_results: None,
                        },
                    )
                    .await?;
                Ok((page.accounts.unwrap_or_default(), page.next_token))
            })
            .await?;
            Ok(accounts
                .into_iter()
                .filter_map(|account| {
                    Some(palisade_cloudtrail::MemberAccount {
                        account: account.id?,
                        joined_millis: account.joined_timestamp.map_or(0, millis_of),
                    })
                })
                .collect())
        })
    }

    fn service_access_enabled<'a>(
        &'a self,
        management_account: &'a str,
        service_principal: &'a str,
    ) -> BoxFuture<'a, Result<bool, ServiceError>> {
        Box::pin(async move {
            let ctx = self.management_call(management_account)?;
            let enabled = collect_pages(|next_token| async {
                let page = self
                    .organizations
                    .list_aws_service_access_for_organization(
                        &ctx,
                        ListAWSServiceAccessForOrganizationRequest {
                            next_token,
                            max_results: None,
                        },
                    )
                    .await?;
                Ok((
                    page.enabled_service_principals.unwrap_or_default(),
                    page.next_token,
                ))
            })
            .await?;
            Ok(enabled
                .iter()
                .any(|enabled| enabled.service_principal.as_deref() == Some(service_principal)))
        })
    }

    fn delegated_administrators<'a>(
        &'a self,
        management_account: &'a str,
        service_principal: &'a str,
    ) -> BoxFuture<'a, Result<Vec<String>, ServiceError>> {
        Box::pin(async move {
            let ctx = self.management_call(management_account)?;
            let administrators = collect_pages(|next_token| async {
                let page = self
                    .organizations
                    .list_delegated_administrators(
                        &ctx,
                        ListDelegatedAdministratorsRequest {
                            service_principal: Some(service_principal.to_owned()),
                            next_token,
                            max_results: None,
                        },
                    )
                    .await?;
                Ok((
                    page.delegated_administrators.unwrap_or_default(),
                    page.next_token,
                ))
            })
            .await?;
            Ok(administrators
                .into_iter()
                .filter_map(|administrator| administrator.id)
                .collect())
        })
    }

    fn register_delegated_administrator<'a>(
        &'a self,
        management_account: &'a str,
        account: &'a str,
        service_principal: &'a str,
    ) -> BoxFuture<'a, Result<(), ServiceError>> {
        Box::pin(async move {
            let ctx = self.management_call(management_account)?;
            self.organizations
                .register_delegated_administrator(
                    &ctx,
                    RegisterDelegatedAdministratorRequest {
                        account_id: account.to_owned(),
                        service_principal: service_principal.to_owned(),
                    },
                )
                .await
        })
    }

    fn deregister_delegated_administrator<'a>(
        &'a self,
        management_account: &'a str,
        account: &'a str,
        service_principal: &'a str,
    ) -> BoxFuture<'a, Result<(), ServiceError>> {
        Box::pin(async move {
            let ctx = self.management_call(management_account)?;
            self.organizations
                .deregister_delegated_administrator(
                    &ctx,
                    DeregisterDelegatedAdministratorRequest {
                        account_id: account.to_owned(),
                        service_principal: service_principal.to_owned(),
                    },
                )
                .await
        })
    }
}

/// What a service that decides a key policy for its own service principal (CloudTrail, CloudWatch
/// Logs) reads of a KMS key: found as `DescribeKey` finds it for `account` in `region` (another
/// account's key by its key or alias ARN), with its key policy and the KMS condition keys a
/// `GenerateDataKey` on it bears.
async fn service_key(
    kms: &palisade_kms::KmsState,
    clock: &dyn palisade_core::clock::Clock,
    account: &str,
    region: &str,
    key_id: &str,
) -> Result<Option<palisade_core::keys::ServiceKey>, ServiceError> {
    let (Some(account), Some(region)) = (
        palisade_core::AccountId::parse(account),
        palisade_core::Region::parse(region),
    ) else {
        return Ok(None);
    };
    let ctx = cloudtrail_call(account, region, clock);
    let Some(facts) = kms.key_facts(&ctx, "GenerateDataKey", key_id).await else {
        return Ok(None);
    };
    let described = kms
        .describe_key(
            &ctx,
            DescribeKeyRequest {
                key_id: facts.arn.clone(),
                grant_tokens: None,
            },
        )
        .await;
    let metadata = match described {
        Ok(described) => described.key_metadata.unwrap_or_default(),
        Err(error) if is_error(&error, &kms_errors::NOT_FOUND_EXCEPTION) => {
            return Ok(None);
        }
        Err(error) => return Err(error),
    };
    let symmetric_encryption = metadata.key_spec == Some(KeySpec::SymmetricDefault)
        && metadata.key_usage == Some(KeyUsageType::EncryptDecrypt);
    // The request is the service principal's, made in no account of its own.
    let condition_keys = palisade_kms::condition_keys(
        "",
        "GenerateDataKey",
        &palisade_core::value::StructBuilder::new().build(),
        Some(&facts),
    )
    .into_iter()
    .filter(|(name, _)| name != "kms:CallerAccount")
    .collect();
    Ok(Some(palisade_core::keys::ServiceKey {
        state: metadata
            .key_state
            .as_ref()
            .map_or("Unavailable", |state| state.as_str())
            .to_owned(),
        symmetric_encryption,
        policy: facts.policy().to_owned(),
        condition_keys,
        arn: facts.arn,
    }))
}

/// KMS, as a service uses a key as its own service principal: CloudTrail reads a trail's key,
/// CloudWatch Logs also calls KMS under a group's key. Keys are found as [`service_key`] finds
/// them; the services decide the key policy themselves, so no caller is authorized.
pub struct ServicePrincipalKeys {
    /// KMS.
    pub kms: Arc<palisade_kms::KmsState>,
    /// The server's clock, for the calls' time.
    pub clock: Arc<dyn palisade_core::clock::Clock>,
}

impl palisade_core::keys::ServiceKeyLookup for ServicePrincipalKeys {
    fn find_key<'a>(
        &'a self,
        account: &'a str,
        region: &'a str,
        key_id: &'a str,
    ) -> BoxFuture<'a, Result<Option<palisade_core::keys::ServiceKey>, ServiceError>> {
        Box::pin(service_key(
            &self.kms,
            self.clock.as_ref(),
            account,
            region,
            key_id,
        ))
    }
}

impl ServicePrincipalKeys {
    /// A call CloudWatch Logs makes to KMS for a group of `account` in `region`.
    fn call(
        &self,
        account: &str,
        region: &str,
    ) -> Result<palisade_core::RequestContext, ServiceError> {
        let (Some(account), Some(region)) = (
            palisade_core::AccountId::parse(account),
            palisade_core::Region::parse(region),
        ) else {
            return Err(ServiceError::internal(
                "a log group names no account or region",
            ));
        };
        let mut ctx = cloudtrail_call(account, region, self.clock.as_ref());
        ctx.user_agent = "logs.amazonaws.com".to_owned();
        Ok(ctx)
    }
}

const LOGS_VIA: palisade_core::keys::Via<'static> = palisade_core::keys::Via { service: "logs" };

impl palisade_logs::LogKeys for ServicePrincipalKeys {
    fn generate_data_key<'a>(
        &'a self,
        account: &'a str,
        region: &'a str,
        key_arn: &'a str,
        context: &'a palisade_core::keys::EncryptionContext,
    ) -> BoxFuture<'a, Result<palisade_core::keys::DataKey, ServiceError>> {
        Box::pin(async move {
            let ctx = self.call(account, region)?;
            palisade_core::keys::KeyService::generate_data_key(
                self.kms.as_ref(),
                &ctx,
                LOGS_VIA,
                palisade_core::keys::KeyRef::Customer(key_arn),
                context,
            )
            .await
        })
    }

    fn decrypt<'a>(
        &'a self,
        account: &'a str,
        region: &'a str,
        ciphertext: &'a [u8],
        context: &'a palisade_core::keys::EncryptionContext,
    ) -> BoxFuture<'a, Result<palisade_core::Sensitive<Vec<u8>>, ServiceError>> {
        Box::pin(async move {
            let ctx = self.call(account, region)?;
            palisade_core::keys::KeyService::decrypt(
                self.kms.as_ref(),
                &ctx,
                LOGS_VIA,
                ciphertext,
                context,
            )
            .await
        })
    }
}

/// A call CloudTrail makes itself, as the root of `account`.
fn cloudtrail_call(
    account: palisade_core::AccountId,
    region: palisade_core::Region,
    clock: &dyn palisade_core::clock::Clock,
) -> palisade_core::RequestContext {
    palisade_core::RequestContext {
        request_id: String::new(),
        principal: palisade_core::Principal::root(account, ""),
        region,
        source_ip: std::net::Ipv4Addr::LOCALHOST.into(),
        user_agent: "cloudtrail.amazonaws.com".to_owned(),
        time: clock.now(),
        secure_transport: true,
    }
}

/// Every item of a paged Organizations listing: `page` answers one page's items and the token of
/// the next, none after the last.
async fn collect_pages<T, Page>(
    mut page: impl FnMut(Option<String>) -> Page,
) -> Result<Vec<T>, ServiceError>
where
    Page: std::future::Future<Output = Result<(Vec<T>, Option<String>), ServiceError>>,
{
    let mut items = Vec::new();
    let mut next_token = None;
    loop {
        let (mut listed, next) = page(next_token).await?;
        items.append(&mut listed);
        match next {
            Some(token) => next_token = Some(token),
            None => return Ok(items),
        }
    }
}

/// `timestamp` in milliseconds since the epoch.
fn millis_of(timestamp: palisade_core::value::Timestamp) -> i64 {
    #[expect(
        clippy::cast_possible_truncation,
        reason = "a timestamp Organizations answers is well within i64 milliseconds"
    )]
    let millis = (timestamp.0 * 1000.0).round() as i64;
    millis
}

fn is_error(error: &ServiceError, info: &palisade_core::model::ErrorInfo) -> bool {
    matches!(&error.kind, ErrorKind::Modeled { code, .. } if code == info.code)
}

/// The built services' states.
pub struct Built {
    /// IAM.
    pub iam: Arc<palisade_iam::IamState>,
    /// STS.
    pub sts: Arc<palisade_sts::StsState>,
    /// KMS.
    pub kms: Arc<palisade_kms::KmsState>,
    /// CloudTrail.
    pub cloudtrail: Arc<palisade_cloudtrail::CloudTrailState>,
    /// EventBridge.
    pub events: Arc<palisade_events::EventsState>,
    /// CloudWatch Logs.
    pub logs: Arc<palisade_logs::LogsState>,
    /// CloudWatch.
    pub cloudwatch: Arc<palisade_cloudwatch::CloudWatchState>,
    /// Organizations.
    pub organizations: Arc<palisade_organizations::OrganizationsState>,
    /// Secrets Manager.
    pub secrets: Arc<palisade_secretsmanager::SecretsManagerState>,
    /// Parameter Store.
    pub parameters: Arc<palisade_ssm::ParameterStore>,
}

/// Every service, by model name.
pub struct Services {
    by_name: HashMap<&'static str, Arc<dyn Service>>,
    /// CloudWatch, for the admin endpoint that evaluates alarms on demand.
    cloudwatch: Arc<palisade_cloudwatch::CloudWatchState>,
}

impl Services {
    /// The services as built today.
    pub fn new(built: Built) -> Self {
        let Built {
            iam,
            sts,
            kms,
            cloudtrail,
            events,
            logs,
            cloudwatch,
            organizations,
            secrets,
            parameters,
        } = built;
        let all: Vec<Arc<dyn Service>> = vec![
            Arc::new(palisade_model_sts::StsService(sts)),
            Arc::new(palisade_model_cloudtrail::CloudtrailService(cloudtrail)),
            Arc::new(palisade_model_cloudwatch::CloudwatchService(Arc::clone(
                &cloudwatch,
            ))),
            Arc::new(palisade_model_detective::DetectiveService(Arc::new(
                NotBuilt,
            ))),
            Arc::new(
                palisade_model_ec2_instance_connect::Ec2InstanceConnectService(Arc::new(NotBuilt)),
            ),
            Arc::new(palisade_model_events::EventsService(events)),
            Arc::new(palisade_model_fms::FmsService(Arc::new(NotBuilt))),
            Arc::new(palisade_model_guardduty::GuarddutyService(Arc::new(
                NotBuilt,
            ))),
            Arc::new(palisade_model_iam::IamService(iam)),
            Arc::new(palisade_model_inspector2::Inspector2Service(Arc::new(
                NotBuilt,
            ))),
            Arc::new(palisade_model_kms::KmsService(kms)),
            Arc::new(palisade_model_logs::LogsService(logs)),
            Arc::new(palisade_model_organizations::OrganizationsService(
                organizations,
            )),
            Arc::new(palisade_model_secretsmanager::SecretsmanagerService(
                secrets,
            )),
            Arc::new(palisade_model_securityhub::SecurityhubService(Arc::new(
                NotBuilt,
            ))),
            Arc::new(palisade_model_shield::ShieldService(Arc::new(NotBuilt))),
            Arc::new(palisade_model_ssm::SsmService(parameters)),
            Arc::new(palisade_model_wafv2::Wafv2Service(Arc::new(NotBuilt))),
        ];
        let by_name = all
            .into_iter()
            .map(|service| (service.model().name, service))
            .collect();
        Self {
            by_name,
            cloudwatch,
        }
    }

    /// CloudWatch.
    pub fn cloudwatch(&self) -> &Arc<palisade_cloudwatch::CloudWatchState> {
        &self.cloudwatch
    }

    /// The service a model describes.
    pub fn get(&self, model: &ServiceModel) -> Option<&Arc<dyn Service>> {
        self.by_name.get(model.name)
    }

    /// Every service's model, in a stable order.
    pub fn models(&self) -> Vec<&'static ServiceModel> {
        let mut models: Vec<_> = self
            .by_name
            .values()
            .map(|service| service.model())
            .collect();
        models.sort_by_key(|model| model.name);
        models
    }
}
