//! Organization trails, with a stand-in for AWS Organizations: only the management account, with
//! trusted access enabled, or a delegated administrator it registered, makes one; other member
//! accounts see it read-only; its delivery covers every account of the organization from the time
//! it joined, in AWS's organization layout.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    reason = "tests: a failure is a failed test"
)]

mod support;

use std::sync::{Arc, Mutex};

use palisade_cloudtrail::{MemberAccount, TrailOrganization, TrailOrganizations};
use palisade_core::ServiceError;
use palisade_core::clock::Clock;
use palisade_core::service::{BoxFuture, ErrorKind};
use palisade_model_cloudtrail::Cloudtrail;
use palisade_model_cloudtrail::types::{
    CreateTrailRequest, DeleteTrailRequest, DeregisterOrganizationDelegatedAdminRequest,
    DescribeTrailsRequest, EventSelector, GetTrailRequest, GetTrailStatusRequest,
    ListTrailsRequest, PutEventSelectorsRequest, RegisterOrganizationDelegatedAdminRequest,
    StartLoggingRequest, StopLoggingRequest, UpdateTrailRequest,
};
use support::{ACCOUNT, Harness, event_names, files};

const ORGANIZATION: &str = "o-a1b2c3d4e5";
const MEMBER: &str = "444455556666";
const OUTSIDER: &str = "777788889999";
const TRAIL_ARN: &str = "arn:aws:cloudtrail:us-east-1:111122223333:trail/org";

/// One organization managed by [`ACCOUNT`], its members and whether CloudTrail has trusted
/// access, as a test sets them.
struct Organization {
    members: Mutex<Vec<MemberAccount>>,
    cloudtrail_access: Mutex<bool>,
    /// CloudTrail's delegated administrators.
    delegated: Mutex<Vec<String>>,
}

impl Organization {
    fn new() -> Arc<Self> {
        Arc::new(Self {
            members: Mutex::new(vec![MemberAccount {
                account: ACCOUNT.to_owned(),
                joined_millis: 0,
            }]),
            cloudtrail_access: Mutex::new(false),
            delegated: Mutex::new(Vec::new()),
        })
    }

    fn join(&self, account: &str, joined_millis: i64) {
        self.members.lock().unwrap().push(MemberAccount {
            account: account.to_owned(),
            joined_millis,
        });
    }
}

impl TrailOrganizations for Organization {
    fn organization_of<'a>(
        &'a self,
        account: &'a str,
    ) -> BoxFuture<'a, Result<Option<TrailOrganization>, ServiceError>> {
        Box::pin(async move {
            let member = self
                .members
                .lock()
                .unwrap()
                .iter()
                .any(|member| member.account == account);
            Ok(member.then(|| TrailOrganization {
                id: ORGANIZATION.to_owned(),
                management_account: ACCOUNT.to_owned(),
            }))
        })
    }

    fn member_accounts<'a>(
        &'a self,
        _management_account: &'a str,
    ) -> BoxFuture<'a, Result<Vec<MemberAccount>, ServiceError>> {
        Box::pin(async move { Ok(self.members.lock().unwrap().clone()) })
    }

    fn service_access_enabled<'a>(
        &'a self,
        _management_account: &'a str,
        service_principal: &'a str,
    ) -> BoxFuture<'a, Result<bool, ServiceError>> {
        Box::pin(async move {
            Ok(service_principal == "cloudtrail.amazonaws.com"
                && *self.cloudtrail_access.lock().unwrap())
        })
    }

    fn delegated_administrators<'a>(
        &'a self,
        _management_account: &'a str,
        _service_principal: &'a str,
    ) -> BoxFuture<'a, Result<Vec<String>, ServiceError>> {
        Box::pin(async move { Ok(self.delegated.lock().unwrap().clone()) })
    }

    fn register_delegated_administrator<'a>(
        &'a self,
        _management_account: &'a str,
        account: &'a str,
        _service_principal: &'a str,
    ) -> BoxFuture<'a, Result<(), ServiceError>> {
        Box::pin(async move {
            self.delegated.lock().unwrap().push(account.to_owned());
            Ok(())
        })
    }

    fn deregister_delegated_administrator<'a>(
        &'a self,
        _management_account: &'a str,
        account: &'a str,
        _service_principal: &'a str,
    ) -> BoxFuture<'a, Result<(), ServiceError>> {
        Box::pin(async move {
            self.delegated
                .lock()
                .unwrap()
                .retain(|admin| admin != account);
            Ok(())
        })
    }
}

fn code<T: std::fmt::Debug>(result: Result<T, ServiceError>) -> String {
    match result.unwrap_err().kind {
        ErrorKind::Modeled { code, .. } => code.to_string(),
        ErrorKind::Common(common) => format!("{common:?}"),
    }
}

fn organization_trail(name: &str) -> CreateTrailRequest {
    CreateTrailRequest {
        name: name.to_owned(),
        s3_bucket_name: "org-bucket".to_owned(),
        is_organization_trail: Some(true),
        enable_log_file_validation: Some(true),
        ..CreateTrailRequest::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_the_management_account_with_trusted_access_makes_an_organization_trail() {
    let alone = Harness::new().await;
    let refused = alone
        .state
        .create_trail(&alone.ctx("us-east-1"), organization_trail("org"))
        .await;
    assert_eq!(code(refused), "OrganizationsNotInUseException");

    let organization = Organization::new();
    organization.join(MEMBER, 0);
    let harness = Harness::with_organizations(Arc::clone(&organization) as _).await;
    let management = harness.ctx("us-east-1");
    let member = harness.ctx_of(MEMBER, "us-east-1");
    let outsider = harness.ctx_of(OUTSIDER, "us-east-1");
    let refused = harness
        .state
        .create_trail(&outsider, organization_trail("org"))
        .await;
    assert_eq!(code(refused), "OrganizationsNotInUseException");
    let refused = harness
        .state
        .create_trail(&member, organization_trail("org"))
        .await;
    assert_eq!(code(refused), "NotOrganizationMasterAccountException");
    let refused = harness
        .state
        .create_trail(&management, organization_trail("org"))
        .await;
    assert_eq!(code(refused), "CloudTrailAccessNotEnabledException");

    *organization.cloudtrail_access.lock().unwrap() = true;
    let created = harness
        .state
        .create_trail(&management, organization_trail("org"))
        .await
        .unwrap();
    assert_eq!(created.is_organization_trail, Some(true));
    assert_eq!(created.trail_arn.as_deref(), Some(TRAIL_ARN));

    // A member's own trail becomes an organization trail no more than it starts as one.
    harness
        .state
        .create_trail(
            &member,
            CreateTrailRequest {
                name: "own".to_owned(),
                s3_bucket_name: "member-bucket".to_owned(),
                ..CreateTrailRequest::default()
            },
        )
        .await
        .unwrap();
    let refused = harness
        .state
        .update_trail(
            &member,
            UpdateTrailRequest {
                name: "own".to_owned(),
                is_organization_trail: Some(true),
                ..UpdateTrailRequest::default()
            },
        )
        .await;
    assert_eq!(code(refused), "NotOrganizationMasterAccountException");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn member_accounts_see_the_organization_trail_but_cannot_change_it() {
    let organization = Organization::new();
    organization.join(MEMBER, 0);
    *organization.cloudtrail_access.lock().unwrap() = true;
    let harness = Harness::with_organizations(Arc::clone(&organization) as _).await;
    harness
        .create_logging_trail(organization_trail("org"))
        .await;
    let member = harness.ctx_of(MEMBER, "us-east-1");
    let outsider = harness.ctx_of(OUTSIDER, "us-east-1");

    let described = harness
        .state
        .describe_trails(&member, DescribeTrailsRequest::default())
        .await
        .unwrap()
        .trail_list
        .unwrap();
    assert_eq!(described.len(), 1);
    assert_eq!(described[0].trail_arn.as_deref(), Some(TRAIL_ARN));
    assert_eq!(described[0].is_organization_trail, Some(true));
    for reference in ["org", TRAIL_ARN] {
        let trail = harness
            .state
            .get_trail(
                &member,
                GetTrailRequest {
                    name: reference.to_owned(),
                },
            )
            .await
            .unwrap()
            .trail
            .unwrap();
        assert_eq!(trail.trail_arn.as_deref(), Some(TRAIL_ARN));
    }
    let listed = harness
        .state
        .list_trails(&member, ListTrailsRequest::default())
        .await
        .unwrap()
        .trails
        .unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].trail_arn.as_deref(), Some(TRAIL_ARN));
    let status = harness
        .state
        .get_trail_status(
            &member,
            GetTrailStatusRequest {
                name: TRAIL_ARN.to_owned(),
            },
        )
        .await
        .unwrap();
    assert_eq!(status.is_logging, Some(true));

    let name = || TRAIL_ARN.to_owned();
    let refusals = [
        code(
            harness
                .state
                .delete_trail(&member, DeleteTrailRequest { name: name() })
                .await,
        ),
        code(
            harness
                .state
                .stop_logging(&member, StopLoggingRequest { name: name() })
                .await,
        ),
        code(
            harness
                .state
                .start_logging(&member, StartLoggingRequest { name: name() })
                .await,
        ),
        code(
            harness
                .state
                .update_trail(
                    &member,
                    UpdateTrailRequest {
                        name: name(),
                        s3_bucket_name: Some("elsewhere".to_owned()),
                        ..UpdateTrailRequest::default()
                    },
                )
                .await,
        ),
        code(
            harness
                .state
                .put_event_selectors(
                    &member,
                    PutEventSelectorsRequest {
                        trail_name: name(),
                        event_selectors: Some(vec![EventSelector::default()]),
                        advanced_event_selectors: None,
                    },
                )
                .await,
        ),
    ];
    assert!(
        refusals
            .iter()
            .all(|code| code == "NotOrganizationMasterAccountException"),
        "{refusals:?}"
    );

    // An account outside the organization sees nothing of it.
    let described = harness
        .state
        .describe_trails(&outsider, DescribeTrailsRequest::default())
        .await
        .unwrap();
    assert_eq!(described.trail_list, Some(Vec::new()));
    let missing = harness
        .state
        .get_trail(&outsider, GetTrailRequest { name: name() })
        .await;
    assert_eq!(code(missing), "TrailNotFoundException");
    // The management account still changes it.
    harness
        .state
        .stop_logging(
            &harness.ctx("us-east-1"),
            StopLoggingRequest { name: name() },
        )
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_delegated_administrator_manages_organization_trails_the_management_account_owns() {
    const ADMIN: &str = "555566667777";
    let organization = Organization::new();
    organization.join(MEMBER, 0);
    organization.join(ADMIN, 0);
    let harness = Harness::with_organizations(Arc::clone(&organization) as _).await;
    let management = harness.ctx("us-east-1");
    let admin = harness.ctx_of(ADMIN, "us-east-1");
    let member = harness.ctx_of(MEMBER, "us-east-1");
    let register = |account: &str| RegisterOrganizationDelegatedAdminRequest {
        member_account_id: account.to_owned(),
    };
    let deregister = |account: &str| DeregisterOrganizationDelegatedAdminRequest {
        delegated_admin_account_id: account.to_owned(),
    };
    let state = &harness.state;

    let refused = state
        .register_organization_delegated_admin(&management, register(ADMIN))
        .await;
    assert_eq!(code(refused), "CloudTrailAccessNotEnabledException");
    *organization.cloudtrail_access.lock().unwrap() = true;
    for (ctx, account, expected) in [
        (&member, ADMIN, "NotOrganizationManagementAccountException"),
        (
            &harness.ctx_of(OUTSIDER, "us-east-1"),
            ADMIN,
            "OrganizationsNotInUseException",
        ),
        (
            &management,
            ACCOUNT,
            "CannotDelegateManagementAccountException",
        ),
        (&management, OUTSIDER, "AccountNotFoundException"),
    ] {
        let refused = state
            .register_organization_delegated_admin(ctx, register(account))
            .await;
        assert_eq!(code(refused), expected, "{account}");
    }
    let refused = state
        .deregister_organization_delegated_admin(&management, deregister(ADMIN))
        .await;
    assert_eq!(code(refused), "AccountNotRegisteredException");
    state
        .register_organization_delegated_admin(&management, register(ADMIN))
        .await
        .unwrap();
    let refused = state
        .register_organization_delegated_admin(&management, register(ADMIN))
        .await;
    assert_eq!(code(refused), "AccountRegisteredException");
    // A delegated administrator registers no one.
    let refused = state
        .register_organization_delegated_admin(&admin, register(MEMBER))
        .await;
    assert_eq!(code(refused), "NotOrganizationManagementAccountException");

    // The delegated administrator's organization trail is the management account's.
    let created = state
        .create_trail(&admin, organization_trail("org"))
        .await
        .unwrap();
    assert_eq!(created.trail_arn.as_deref(), Some(TRAIL_ARN));
    let listed = state
        .list_trails(&management, ListTrailsRequest::default())
        .await
        .unwrap()
        .trails
        .unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].trail_arn.as_deref(), Some(TRAIL_ARN));
    for reference in ["org", TRAIL_ARN] {
        state
            .start_logging(
                &admin,
                StartLoggingRequest {
                    name: reference.to_owned(),
                },
            )
            .await
            .unwrap();
    }
    state
        .update_trail(
            &admin,
            UpdateTrailRequest {
                name: TRAIL_ARN.to_owned(),
                s3_bucket_name: Some("elsewhere".to_owned()),
                ..UpdateTrailRequest::default()
            },
        )
        .await
        .unwrap();
    state
        .put_event_selectors(
            &admin,
            PutEventSelectorsRequest {
                trail_name: TRAIL_ARN.to_owned(),
                event_selectors: Some(vec![EventSelector::default()]),
                advanced_event_selectors: None,
            },
        )
        .await
        .unwrap();
    let status = state
        .get_trail_status(
            &management,
            GetTrailStatusRequest {
                name: "org".to_owned(),
            },
        )
        .await
        .unwrap();
    assert_eq!(status.is_logging, Some(true));
    // Other members still only read it.
    let refused = state
        .stop_logging(
            &member,
            StopLoggingRequest {
                name: TRAIL_ARN.to_owned(),
            },
        )
        .await;
    assert_eq!(code(refused), "NotOrganizationMasterAccountException");

    // The limit is three.
    for account in ["100000000001", "100000000002", "100000000003"] {
        organization.join(account, 0);
    }
    state
        .register_organization_delegated_admin(&management, register("100000000001"))
        .await
        .unwrap();
    state
        .register_organization_delegated_admin(&management, register("100000000002"))
        .await
        .unwrap();
    let refused = state
        .register_organization_delegated_admin(&management, register("100000000003"))
        .await;
    assert_eq!(code(refused), "DelegatedAdminAccountLimitExceededException");

    // Deregistered, it changes the trail no more; the trail stays.
    state
        .deregister_organization_delegated_admin(&management, deregister(ADMIN))
        .await
        .unwrap();
    let refused = state
        .delete_trail(
            &admin,
            DeleteTrailRequest {
                name: TRAIL_ARN.to_owned(),
            },
        )
        .await;
    assert_eq!(code(refused), "NotOrganizationMasterAccountException");
    let refused = state
        .create_trail(&admin, organization_trail("second"))
        .await;
    assert_eq!(code(refused), "NotOrganizationMasterAccountException");
    state
        .delete_trail(
            &management,
            DeleteTrailRequest {
                name: TRAIL_ARN.to_owned(),
            },
        )
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_organization_trail_delivers_every_member_from_when_it_joined() {
    let organization = Organization::new();
    *organization.cloudtrail_access.lock().unwrap() = true;
    let harness = Harness::with_organizations(Arc::clone(&organization) as _).await;
    harness
        .create_logging_trail(organization_trail("org"))
        .await;
    harness.advance(1);
    harness.call_as(MEMBER, "us-east-1", "BeforeJoining").await;
    harness.advance(1);
    organization.join(MEMBER, harness.clock.now_millis());
    harness.call("us-east-1", "ByManagement").await;
    harness.call_as(MEMBER, "us-east-1", "ByMember").await;
    harness.call_as(OUTSIDER, "us-east-1", "ByOutsider").await;
    harness
        .call_as(MEMBER, "eu-west-1", "ElsewhereIgnored")
        .await;
    harness.advance(1);

    let report = harness.state.deliver_now().await.unwrap();
    assert_eq!((report.log_files, report.digests), (2, 2));
    let per_account = |account: &str| {
        let logs = files(
            &harness.root,
            &format!("org-bucket/AWSLogs/{ORGANIZATION}/{account}/CloudTrail/us-east-1/"),
        );
        assert_eq!(logs.len(), 1, "{logs:?}");
        let name = logs[0].file_name().unwrap().to_str().unwrap().to_owned();
        assert!(
            name.starts_with(&format!("{account}_CloudTrail_us-east-1_")),
            "{name}"
        );
        event_names(&logs[0])
    };
    assert_eq!(per_account(ACCOUNT), ["ByManagement"]);
    assert_eq!(per_account(MEMBER), ["ByMember"]);
    assert!(files(&harness.root, OUTSIDER).is_empty());
    assert!(files(&harness.root, "eu-west-1").is_empty());
    for account in [ACCOUNT, MEMBER] {
        let digests = files(
            &harness.root,
            &format!("org-bucket/AWSLogs/{ORGANIZATION}/{account}/CloudTrail-Digest/us-east-1/"),
        );
        assert_eq!(digests.len(), 2, "a digest and its signature: {digests:?}");
    }

    // Nothing new: nothing delivered twice.
    harness.advance(1);
    assert_eq!(harness.state.deliver_now().await.unwrap().log_files, 0);
}
