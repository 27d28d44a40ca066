//! The test harness: Organizations (with IAM) over a fresh store, a clock the tests move, and
//! request contexts for the root users of any account.

use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use palisade_core::clock::ManualClock;
use palisade_core::service::{ErrorKind, Service};
use palisade_core::{
    AccountId, FromValue, IntoValue, Principal, Region, RequestContext, ServiceError,
};
use palisade_iam::IamState;
use palisade_model_organizations::types::*;
use palisade_model_organizations::{MODEL, OrganizationsService};
use palisade_organizations::OrganizationsState;
use palisade_store::{Store, StoreConfig};
use tempfile::TempDir;

/// 2024-01-01T00:00:00Z.
pub const START: u64 = 1_704_067_200;
pub const MANAGEMENT: &str = "000000000000";

pub struct Harness {
    pub service: OrganizationsService<OrganizationsState>,
    pub iam: Arc<IamState>,
    pub clock: ManualClock,
    /// Holds the store's directory for the harness's lifetime.
    _dir: TempDir,
    pub root: RequestContext,
}

impl Harness {
    pub async fn new() -> Self {
        let dir = TempDir::new().unwrap();
        let store = Store::open(&StoreConfig::Embedded {
            data_dir: dir.path().to_owned(),
        })
        .await
        .unwrap();
        let clock = ManualClock::new(UNIX_EPOCH + Duration::from_secs(START));
        let iam = Arc::new(IamState::new(store.clone(), Arc::new(clock.clone())));
        let state =
            OrganizationsState::new(store, Arc::new(clock.clone())).with_iam(Arc::clone(&iam));
        Self {
            service: OrganizationsService(Arc::new(state)),
            iam,
            clock,
            _dir: dir,
            root: context(MANAGEMENT),
        }
    }

    /// A harness whose management account already created an organization.
    pub async fn with_organization() -> Self {
        let harness = Self::new().await;
        harness.create_organization(None).await;
        harness
    }

    pub fn orgs(&self) -> &OrganizationsState {
        &self.service.0
    }

    /// Calls `operation` the way the server does: the input is validated against the model
    /// first, then dispatched through the generated service.
    pub async fn call<O: FromValue>(
        &self,
        operation: &str,
        input: impl IntoValue,
    ) -> Result<O, ServiceError> {
        self.call_as(&self.root, operation, input).await
    }

    pub async fn call_as<O: FromValue>(
        &self,
        ctx: &RequestContext,
        operation: &str,
        input: impl IntoValue,
    ) -> Result<O, ServiceError> {
        let operation = MODEL.operation(operation).unwrap();
        let input = input.into_value();
        if let Some(shape) = operation.input {
            palisade_core::validate::validate(&MODEL, shape, &input)
                .map_err(ServiceError::validation)?;
        }
        let output = self.service.call(ctx, operation, input).await?;
        Ok(O::from_value(output).unwrap())
    }

    /// Calls an operation for its error, or its success with nothing to read.
    pub async fn act(&self, operation: &str, input: impl IntoValue) -> Result<(), ServiceError> {
        self.act_as(&self.root, operation, input).await
    }

    pub async fn act_as(
        &self,
        ctx: &RequestContext,
        operation: &str,
        input: impl IntoValue,
    ) -> Result<(), ServiceError> {
        self.call_as::<palisade_core::Value>(ctx, operation, input)
            .await
            .map(|_| ())
    }

    pub async fn create_organization(&self, feature_set: Option<&str>) -> Organization {
        let response: CreateOrganizationResponse = self
            .call(
                "CreateOrganization",
                CreateOrganizationRequest {
                    feature_set: feature_set.map(OrganizationFeatureSet::from),
                },
            )
            .await
            .unwrap();
        response.organization.unwrap()
    }

    pub async fn root_id(&self) -> String {
        let response: ListRootsResponse = self
            .call("ListRoots", ListRootsRequest::default())
            .await
            .unwrap();
        response.roots.unwrap()[0].id.clone().unwrap()
    }

    /// Creates an account and returns its id, once `DescribeCreateAccountStatus` shows it.
    pub async fn create_account(&self, name: &str) -> String {
        let response: CreateAccountResponse = self
            .call(
                "CreateAccount",
                CreateAccountRequest {
                    email: format!("{name}@example.org").into(),
                    account_name: name.to_owned().into(),
                    ..Default::default()
                },
            )
            .await
            .unwrap();
        let status = response.create_account_status.unwrap();
        let described = self.create_status(&status.id.unwrap()).await;
        assert_eq!(described.state, Some(CreateAccountState::Succeeded));
        described.account_id.unwrap()
    }

    pub async fn create_status(&self, request_id: &str) -> CreateAccountStatus {
        let response: DescribeCreateAccountStatusResponse = self
            .call(
                "DescribeCreateAccountStatus",
                DescribeCreateAccountStatusRequest {
                    create_account_request_id: request_id.to_owned(),
                },
            )
            .await
            .unwrap();
        response.create_account_status.unwrap()
    }

    pub async fn create_unit(&self, parent: &str, name: &str) -> Result<String, ServiceError> {
        let response: CreateOrganizationalUnitResponse = self
            .call(
                "CreateOrganizationalUnit",
                CreateOrganizationalUnitRequest {
                    parent_id: parent.to_owned(),
                    name: name.to_owned(),
                    tags: None,
                },
            )
            .await?;
        Ok(response.organizational_unit.unwrap().id.unwrap())
    }

    pub async fn move_account(
        &self,
        account: &str,
        from: &str,
        to: &str,
    ) -> Result<(), ServiceError> {
        self.act(
            "MoveAccount",
            MoveAccountRequest {
                account_id: account.to_owned(),
                source_parent_id: from.to_owned(),
                destination_parent_id: to.to_owned(),
            },
        )
        .await
    }

    pub async fn enable_policy_type(&self, kind: &str) -> Root {
        let root_id = self.root_id().await;
        let response: EnablePolicyTypeResponse = self
            .call(
                "EnablePolicyType",
                EnablePolicyTypeRequest {
                    root_id,
                    policy_type: PolicyType::from(kind),
                },
            )
            .await
            .unwrap();
        response.root.unwrap()
    }

    pub async fn create_policy(
        &self,
        kind: &str,
        name: &str,
        content: &str,
    ) -> Result<Policy, ServiceError> {
        let response: CreatePolicyResponse = self
            .call(
                "CreatePolicy",
                CreatePolicyRequest {
                    content: content.to_owned(),
                    description: format!("{name} policy"),
                    name: name.to_owned(),
                    r#type: PolicyType::from(kind),
                    tags: None,
                },
            )
            .await?;
        Ok(response.policy.unwrap())
    }

    /// Creates the SCP [`DENY_S3`] and returns its id.
    pub async fn deny_s3_policy(&self) -> String {
        self.create_policy("SERVICE_CONTROL_POLICY", "deny-s3", DENY_S3)
            .await
            .unwrap()
            .policy_summary
            .unwrap()
            .id
            .unwrap()
    }

    /// Invites `account` (with notes and a tag) and returns the handshake.
    pub async fn invite(&self, account: &str) -> Result<Handshake, ServiceError> {
        let response: InviteAccountToOrganizationResponse = self
            .call(
                "InviteAccountToOrganization",
                InviteAccountToOrganizationRequest {
                    target: HandshakeParty {
                        id: account.to_owned().into(),
                        r#type: HandshakePartyType::Account,
                    },
                    notes: Some("join us".to_owned().into()),
                    tags: Some(vec![Tag {
                        key: "joined".to_owned(),
                        value: "by-invitation".to_owned(),
                    }]),
                },
            )
            .await?;
        Ok(response.handshake.unwrap())
    }

    pub async fn attach(&self, policy: &str, target: &str) -> Result<(), ServiceError> {
        self.act(
            "AttachPolicy",
            AttachPolicyRequest {
                policy_id: policy.to_owned(),
                target_id: target.to_owned(),
            },
        )
        .await
    }

    pub async fn detach(&self, policy: &str, target: &str) -> Result<(), ServiceError> {
        self.act(
            "DetachPolicy",
            DetachPolicyRequest {
                policy_id: policy.to_owned(),
                target_id: target.to_owned(),
            },
        )
        .await
    }

    /// The ids of the policies of `kind` attached to `target`.
    pub async fn policies_for(&self, target: &str, kind: &str) -> Vec<String> {
        let response: ListPoliciesForTargetResponse = self
            .call(
                "ListPoliciesForTarget",
                ListPoliciesForTargetRequest {
                    target_id: target.to_owned(),
                    filter: PolicyType::from(kind),
                    next_token: None,
                    max_results: None,
                },
            )
            .await
            .unwrap();
        response
            .policies
            .unwrap()
            .into_iter()
            .map(|policy| policy.id.unwrap())
            .collect()
    }
}

/// A request context for the root user of `account`.
pub fn context(account: &str) -> RequestContext {
    RequestContext {
        request_id: "test-request".to_owned(),
        principal: Principal::root(AccountId::parse(account).unwrap(), "test"),
        region: Region::parse("us-east-1").unwrap(),
        source_ip: IpAddr::V4(Ipv4Addr::LOCALHOST),
        user_agent: "tests".to_owned(),
        time: SystemTime::now(),
        secure_transport: false,
    }
}

/// The error's code, for modeled errors, or the common error's name.
pub fn code(error: &ServiceError) -> String {
    match &error.kind {
        ErrorKind::Modeled { code, .. } => code.to_string(),
        ErrorKind::Common(common) => format!("{common:?}"),
    }
}

/// Asserts that `result` failed with `expected_code`, and returns the message.
#[track_caller]
pub fn assert_code<T: std::fmt::Debug>(
    result: Result<T, ServiceError>,
    expected_code: &str,
) -> String {
    let error = result.expect_err("the call should have failed");
    assert_eq!(code(&error), expected_code, "{}", error.message);
    error.message
}

pub const DENY_S3: &str =
    r#"{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"s3:*","Resource":"*"}]}"#;

/// The input of an operation that takes none.
pub fn none() -> palisade_core::Value {
    palisade_core::Value::Map(Default::default())
}

pub fn handshake_id(handshake: &Handshake) -> String {
    handshake.id.clone().unwrap()
}
