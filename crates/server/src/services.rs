//! The services the server answers for: every service in scope is routable, built or not.

use std::collections::HashMap;
use std::sync::Arc;

use palisade_core::model::ServiceModel;
use palisade_core::service::BoxFuture;
use palisade_core::{Service, ServiceError};
use palisade_model_logs::types::InputLogEvent;

/// A service whose operations are not built yet: each answers `NotImplemented`.
#[derive(Debug, Default)]
struct NotBuilt;

impl palisade_model_cloudwatch::Cloudwatch for NotBuilt {}
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
        Box::pin(
            self.0
                .append_event(event.account, event.region, event.group, event.stream, line),
        )
    }
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
            organizations,
            secrets,
            parameters,
        } = built;
        let all: Vec<Arc<dyn Service>> = vec![
            Arc::new(palisade_model_sts::StsService(sts)),
            Arc::new(palisade_model_cloudtrail::CloudtrailService(cloudtrail)),
            Arc::new(palisade_model_cloudwatch::CloudwatchService(Arc::new(
                NotBuilt,
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
        Self { by_name }
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
