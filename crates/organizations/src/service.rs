//! The generated Organizations trait, implemented by handing each operation to the module
//! that owns it. Operations not listed here (`EnableAllFeatures`, GovCloud accounts, effective
//! policy validation, responsibility transfers) answer `NotImplemented`,
//! the trait's default.

use palisade_core::{RequestContext, ServiceError};
use palisade_model_organizations::Organizations;
use palisade_model_organizations::types::*;

use crate::{OrganizationsState, accounts, admin, handshakes, organization, policies, units};

impl Organizations for OrganizationsState {
    async fn create_organization(
        &self,
        ctx: &RequestContext,
        input: CreateOrganizationRequest,
    ) -> Result<CreateOrganizationResponse, ServiceError> {
        organization::create(self, ctx, input).await
    }

    async fn describe_organization(
        &self,
        ctx: &RequestContext,
    ) -> Result<DescribeOrganizationResponse, ServiceError> {
        organization::describe(self, ctx).await
    }

    async fn delete_organization(&self, ctx: &RequestContext) -> Result<(), ServiceError> {
        organization::delete(self, ctx).await
    }

    async fn leave_organization(&self, ctx: &RequestContext) -> Result<(), ServiceError> {
        accounts::leave(self, ctx).await
    }

    async fn create_account(
        &self,
        ctx: &RequestContext,
        input: CreateAccountRequest,
    ) -> Result<CreateAccountResponse, ServiceError> {
        accounts::create(self, ctx, input).await
    }

    async fn describe_create_account_status(
        &self,
        ctx: &RequestContext,
        input: DescribeCreateAccountStatusRequest,
    ) -> Result<DescribeCreateAccountStatusResponse, ServiceError> {
        accounts::describe_create_status(self, ctx, input).await
    }

    async fn list_create_account_status(
        &self,
        ctx: &RequestContext,
        input: ListCreateAccountStatusRequest,
    ) -> Result<ListCreateAccountStatusResponse, ServiceError> {
        accounts::list_create_statuses(self, ctx, input).await
    }

    async fn describe_account(
        &self,
        ctx: &RequestContext,
        input: DescribeAccountRequest,
    ) -> Result<DescribeAccountResponse, ServiceError> {
        accounts::describe(self, ctx, input).await
    }

    async fn list_accounts(
        &self,
        ctx: &RequestContext,
        input: ListAccountsRequest,
    ) -> Result<ListAccountsResponse, ServiceError> {
        accounts::list(self, ctx, input).await
    }

    async fn list_accounts_for_parent(
        &self,
        ctx: &RequestContext,
        input: ListAccountsForParentRequest,
    ) -> Result<ListAccountsForParentResponse, ServiceError> {
        accounts::list_for_parent(self, ctx, input).await
    }

    async fn move_account(
        &self,
        ctx: &RequestContext,
        input: MoveAccountRequest,
    ) -> Result<(), ServiceError> {
        accounts::move_account(self, ctx, input).await
    }

    async fn remove_account_from_organization(
        &self,
        ctx: &RequestContext,
        input: RemoveAccountFromOrganizationRequest,
    ) -> Result<(), ServiceError> {
        accounts::remove(self, ctx, input).await
    }

    async fn create_organizational_unit(
        &self,
        ctx: &RequestContext,
        input: CreateOrganizationalUnitRequest,
    ) -> Result<CreateOrganizationalUnitResponse, ServiceError> {
        units::create(self, ctx, input).await
    }

    async fn update_organizational_unit(
        &self,
        ctx: &RequestContext,
        input: UpdateOrganizationalUnitRequest,
    ) -> Result<UpdateOrganizationalUnitResponse, ServiceError> {
        units::update(self, ctx, input).await
    }

    async fn delete_organizational_unit(
        &self,
        ctx: &RequestContext,
        input: DeleteOrganizationalUnitRequest,
    ) -> Result<(), ServiceError> {
        units::delete(self, ctx, input).await
    }

    async fn describe_organizational_unit(
        &self,
        ctx: &RequestContext,
        input: DescribeOrganizationalUnitRequest,
    ) -> Result<DescribeOrganizationalUnitResponse, ServiceError> {
        units::describe(self, ctx, input).await
    }

    async fn list_organizational_units_for_parent(
        &self,
        ctx: &RequestContext,
        input: ListOrganizationalUnitsForParentRequest,
    ) -> Result<ListOrganizationalUnitsForParentResponse, ServiceError> {
        units::list_for_parent(self, ctx, input).await
    }

    async fn list_children(
        &self,
        ctx: &RequestContext,
        input: ListChildrenRequest,
    ) -> Result<ListChildrenResponse, ServiceError> {
        units::list_children(self, ctx, input).await
    }

    async fn list_parents(
        &self,
        ctx: &RequestContext,
        input: ListParentsRequest,
    ) -> Result<ListParentsResponse, ServiceError> {
        units::list_parents(self, ctx, input).await
    }

    async fn list_roots(
        &self,
        ctx: &RequestContext,
        input: ListRootsRequest,
    ) -> Result<ListRootsResponse, ServiceError> {
        units::list_roots(self, ctx, input).await
    }

    async fn enable_policy_type(
        &self,
        ctx: &RequestContext,
        input: EnablePolicyTypeRequest,
    ) -> Result<EnablePolicyTypeResponse, ServiceError> {
        policies::enable_type(self, ctx, input).await
    }

    async fn disable_policy_type(
        &self,
        ctx: &RequestContext,
        input: DisablePolicyTypeRequest,
    ) -> Result<DisablePolicyTypeResponse, ServiceError> {
        policies::disable_type(self, ctx, input).await
    }

    async fn create_policy(
        &self,
        ctx: &RequestContext,
        input: CreatePolicyRequest,
    ) -> Result<CreatePolicyResponse, ServiceError> {
        policies::create(self, ctx, input).await
    }

    async fn update_policy(
        &self,
        ctx: &RequestContext,
        input: UpdatePolicyRequest,
    ) -> Result<UpdatePolicyResponse, ServiceError> {
        policies::update(self, ctx, input).await
    }

    async fn delete_policy(
        &self,
        ctx: &RequestContext,
        input: DeletePolicyRequest,
    ) -> Result<(), ServiceError> {
        policies::delete(self, ctx, input).await
    }

    async fn describe_policy(
        &self,
        ctx: &RequestContext,
        input: DescribePolicyRequest,
    ) -> Result<DescribePolicyResponse, ServiceError> {
        policies::describe(self, ctx, input).await
    }

    async fn list_policies(
        &self,
        ctx: &RequestContext,
        input: ListPoliciesRequest,
    ) -> Result<ListPoliciesResponse, ServiceError> {
        policies::list(self, ctx, input).await
    }

    async fn attach_policy(
        &self,
        ctx: &RequestContext,
        input: AttachPolicyRequest,
    ) -> Result<(), ServiceError> {
        policies::attach(self, ctx, input).await
    }

    async fn detach_policy(
        &self,
        ctx: &RequestContext,
        input: DetachPolicyRequest,
    ) -> Result<(), ServiceError> {
        policies::detach(self, ctx, input).await
    }

    async fn list_policies_for_target(
        &self,
        ctx: &RequestContext,
        input: ListPoliciesForTargetRequest,
    ) -> Result<ListPoliciesForTargetResponse, ServiceError> {
        policies::list_for_target(self, ctx, input).await
    }

    async fn list_targets_for_policy(
        &self,
        ctx: &RequestContext,
        input: ListTargetsForPolicyRequest,
    ) -> Result<ListTargetsForPolicyResponse, ServiceError> {
        policies::list_targets(self, ctx, input).await
    }

    async fn tag_resource(
        &self,
        ctx: &RequestContext,
        input: TagResourceRequest,
    ) -> Result<(), ServiceError> {
        admin::tag(self, ctx, input).await
    }

    async fn untag_resource(
        &self,
        ctx: &RequestContext,
        input: UntagResourceRequest,
    ) -> Result<(), ServiceError> {
        admin::untag(self, ctx, input).await
    }

    async fn list_tags_for_resource(
        &self,
        ctx: &RequestContext,
        input: ListTagsForResourceRequest,
    ) -> Result<ListTagsForResourceResponse, ServiceError> {
        admin::list_tags(self, ctx, input).await
    }

    async fn enable_aws_service_access(
        &self,
        ctx: &RequestContext,
        input: EnableAWSServiceAccessRequest,
    ) -> Result<(), ServiceError> {
        admin::enable_service_access(self, ctx, input).await
    }

    async fn disable_aws_service_access(
        &self,
        ctx: &RequestContext,
        input: DisableAWSServiceAccessRequest,
    ) -> Result<(), ServiceError> {
        admin::disable_service_access(self, ctx, input).await
    }

    async fn list_aws_service_access_for_organization(
        &self,
        ctx: &RequestContext,
        input: ListAWSServiceAccessForOrganizationRequest,
    ) -> Result<ListAWSServiceAccessForOrganizationResponse, ServiceError> {
        admin::list_service_access(self, ctx, input).await
    }

    async fn register_delegated_administrator(
        &self,
        ctx: &RequestContext,
        input: RegisterDelegatedAdministratorRequest,
    ) -> Result<(), ServiceError> {
        admin::register_delegated(self, ctx, input).await
    }

    async fn deregister_delegated_administrator(
        &self,
        ctx: &RequestContext,
        input: DeregisterDelegatedAdministratorRequest,
    ) -> Result<(), ServiceError> {
        admin::deregister_delegated(self, ctx, input).await
    }

    async fn list_delegated_administrators(
        &self,
        ctx: &RequestContext,
        input: ListDelegatedAdministratorsRequest,
    ) -> Result<ListDelegatedAdministratorsResponse, ServiceError> {
        admin::list_delegated(self, ctx, input).await
    }

    async fn list_delegated_services_for_account(
        &self,
        ctx: &RequestContext,
        input: ListDelegatedServicesForAccountRequest,
    ) -> Result<ListDelegatedServicesForAccountResponse, ServiceError> {
        admin::list_delegated_services(self, ctx, input).await
    }

    async fn close_account(
        &self,
        ctx: &RequestContext,
        input: CloseAccountRequest,
    ) -> Result<(), ServiceError> {
        accounts::close(self, ctx, input).await
    }

    async fn invite_account_to_organization(
        &self,
        ctx: &RequestContext,
        input: InviteAccountToOrganizationRequest,
    ) -> Result<InviteAccountToOrganizationResponse, ServiceError> {
        handshakes::invite(self, ctx, input).await
    }

    async fn accept_handshake(
        &self,
        ctx: &RequestContext,
        input: AcceptHandshakeRequest,
    ) -> Result<AcceptHandshakeResponse, ServiceError> {
        handshakes::accept(self, ctx, input).await
    }

    async fn decline_handshake(
        &self,
        ctx: &RequestContext,
        input: DeclineHandshakeRequest,
    ) -> Result<DeclineHandshakeResponse, ServiceError> {
        handshakes::decline(self, ctx, input).await
    }

    async fn cancel_handshake(
        &self,
        ctx: &RequestContext,
        input: CancelHandshakeRequest,
    ) -> Result<CancelHandshakeResponse, ServiceError> {
        handshakes::cancel(self, ctx, input).await
    }

    async fn describe_handshake(
        &self,
        ctx: &RequestContext,
        input: DescribeHandshakeRequest,
    ) -> Result<DescribeHandshakeResponse, ServiceError> {
        handshakes::describe(self, ctx, input).await
    }

    async fn list_handshakes_for_organization(
        &self,
        ctx: &RequestContext,
        input: ListHandshakesForOrganizationRequest,
    ) -> Result<ListHandshakesForOrganizationResponse, ServiceError> {
        handshakes::list_for_organization(self, ctx, input).await
    }

    async fn list_handshakes_for_account(
        &self,
        ctx: &RequestContext,
        input: ListHandshakesForAccountRequest,
    ) -> Result<ListHandshakesForAccountResponse, ServiceError> {
        handshakes::list_for_account(self, ctx, input).await
    }

    async fn describe_effective_policy(
        &self,
        ctx: &RequestContext,
        input: DescribeEffectivePolicyRequest,
    ) -> Result<DescribeEffectivePolicyResponse, ServiceError> {
        policies::describe_effective(self, ctx, input).await
    }

    async fn put_resource_policy(
        &self,
        ctx: &RequestContext,
        input: PutResourcePolicyRequest,
    ) -> Result<PutResourcePolicyResponse, ServiceError> {
        admin::put_resource_policy(self, ctx, input).await
    }

    async fn describe_resource_policy(
        &self,
        ctx: &RequestContext,
    ) -> Result<DescribeResourcePolicyResponse, ServiceError> {
        admin::describe_resource_policy(self, ctx).await
    }

    async fn delete_resource_policy(&self, ctx: &RequestContext) -> Result<(), ServiceError> {
        admin::delete_resource_policy(self, ctx).await
    }
}
