//! The generated IAM trait, implemented by handing each operation to the module that owns it.
//! Operations not listed here answer `NotImplemented` (the trait's default).

use palisade_core::{RequestContext, ServiceError};
use palisade_model_iam::Iam;
use palisade_model_iam::types::*;

use crate::paging::PageRequest;
use crate::policy_document::url_encode;
use crate::records::{GroupRecord, RoleRecord, UserRecord};
use crate::{
    IamState, access_keys, account, attachments, authorization_details, groups, inline_policies,
    login_profiles, managed_policies, mfa, roles, simulation, users,
};

impl Iam for IamState {
    // Users.

    async fn create_user(
        &self,
        ctx: &RequestContext,
        input: CreateUserRequest,
    ) -> Result<CreateUserResponse, ServiceError> {
        users::create(self, ctx, input).await
    }

    async fn get_user(
        &self,
        ctx: &RequestContext,
        input: GetUserRequest,
    ) -> Result<GetUserResponse, ServiceError> {
        users::get(self, ctx, input).await
    }

    async fn update_user(
        &self,
        ctx: &RequestContext,
        input: UpdateUserRequest,
    ) -> Result<(), ServiceError> {
        users::update(self, ctx, input).await
    }

    async fn delete_user(
        &self,
        ctx: &RequestContext,
        input: DeleteUserRequest,
    ) -> Result<(), ServiceError> {
        users::delete(self, ctx, input).await
    }

    async fn list_users(
        &self,
        ctx: &RequestContext,
        input: ListUsersRequest,
    ) -> Result<ListUsersResponse, ServiceError> {
        users::list(self, ctx, input).await
    }

    async fn tag_user(
        &self,
        ctx: &RequestContext,
        input: TagUserRequest,
    ) -> Result<(), ServiceError> {
        users::tag(self, ctx, input).await
    }

    async fn untag_user(
        &self,
        ctx: &RequestContext,
        input: UntagUserRequest,
    ) -> Result<(), ServiceError> {
        users::untag(self, ctx, input).await
    }

    async fn list_user_tags(
        &self,
        ctx: &RequestContext,
        input: ListUserTagsRequest,
    ) -> Result<ListUserTagsResponse, ServiceError> {
        users::list_tags(self, ctx, input).await
    }

    async fn put_user_policy(
        &self,
        ctx: &RequestContext,
        input: PutUserPolicyRequest,
    ) -> Result<(), ServiceError> {
        inline_policies::put::<UserRecord>(
            self,
            ctx.account(),
            &input.user_name,
            &input.policy_name,
            &input.policy_document,
        )
        .await
    }

    async fn get_user_policy(
        &self,
        ctx: &RequestContext,
        input: GetUserPolicyRequest,
    ) -> Result<GetUserPolicyResponse, ServiceError> {
        let (user_name, policy) = inline_policies::get::<UserRecord>(
            self,
            ctx.account(),
            &input.user_name,
            &input.policy_name,
        )
        .await?;
        Ok(GetUserPolicyResponse {
            user_name,
            policy_name: policy.name,
            policy_document: url_encode(&policy.document),
        })
    }

    async fn delete_user_policy(
        &self,
        ctx: &RequestContext,
        input: DeleteUserPolicyRequest,
    ) -> Result<(), ServiceError> {
        inline_policies::delete::<UserRecord>(
            self,
            ctx.account(),
            &input.user_name,
            &input.policy_name,
        )
        .await
    }

    async fn list_user_policies(
        &self,
        ctx: &RequestContext,
        input: ListUserPoliciesRequest,
    ) -> Result<ListUserPoliciesResponse, ServiceError> {
        let page = PageRequest::new(input.marker.as_deref(), input.max_items)?;
        let page =
            inline_policies::list::<UserRecord>(self, ctx.account(), &input.user_name, &page)
                .await?;
        Ok(ListUserPoliciesResponse {
            is_truncated: page.is_truncated(),
            policy_names: page.items,
            marker: page.marker,
        })
    }

    async fn attach_user_policy(
        &self,
        ctx: &RequestContext,
        input: AttachUserPolicyRequest,
    ) -> Result<(), ServiceError> {
        attachments::attach::<UserRecord>(self, ctx.account(), &input.user_name, &input.policy_arn)
            .await
    }

    async fn detach_user_policy(
        &self,
        ctx: &RequestContext,
        input: DetachUserPolicyRequest,
    ) -> Result<(), ServiceError> {
        attachments::detach::<UserRecord>(self, ctx.account(), &input.user_name, &input.policy_arn)
            .await
    }

    async fn list_attached_user_policies(
        &self,
        ctx: &RequestContext,
        input: ListAttachedUserPoliciesRequest,
    ) -> Result<ListAttachedUserPoliciesResponse, ServiceError> {
        let page = PageRequest::new(input.marker.as_deref(), input.max_items)?;
        let page = attachments::list_attached::<UserRecord>(
            self,
            ctx.account(),
            &input.user_name,
            input.path_prefix.as_deref(),
            &page,
        )
        .await?;
        Ok(ListAttachedUserPoliciesResponse {
            is_truncated: page.is_truncated(),
            attached_policies: Some(page.items),
            marker: page.marker,
        })
    }

    async fn put_user_permissions_boundary(
        &self,
        ctx: &RequestContext,
        input: PutUserPermissionsBoundaryRequest,
    ) -> Result<(), ServiceError> {
        attachments::put_boundary::<UserRecord>(
            self,
            ctx.account(),
            &input.user_name,
            &input.permissions_boundary,
        )
        .await
    }

    async fn delete_user_permissions_boundary(
        &self,
        ctx: &RequestContext,
        input: DeleteUserPermissionsBoundaryRequest,
    ) -> Result<(), ServiceError> {
        attachments::delete_boundary::<UserRecord>(self, ctx.account(), &input.user_name).await
    }

    // Groups.

    async fn create_group(
        &self,
        ctx: &RequestContext,
        input: CreateGroupRequest,
    ) -> Result<CreateGroupResponse, ServiceError> {
        groups::create(self, ctx, input).await
    }

    async fn get_group(
        &self,
        ctx: &RequestContext,
        input: GetGroupRequest,
    ) -> Result<GetGroupResponse, ServiceError> {
        groups::get(self, ctx, input).await
    }

    async fn update_group(
        &self,
        ctx: &RequestContext,
        input: UpdateGroupRequest,
    ) -> Result<(), ServiceError> {
        groups::update(self, ctx, input).await
    }

    async fn delete_group(
        &self,
        ctx: &RequestContext,
        input: DeleteGroupRequest,
    ) -> Result<(), ServiceError> {
        groups::delete(self, ctx, input).await
    }

    async fn list_groups(
        &self,
        ctx: &RequestContext,
        input: ListGroupsRequest,
    ) -> Result<ListGroupsResponse, ServiceError> {
        groups::list(self, ctx, input).await
    }

    async fn add_user_to_group(
        &self,
        ctx: &RequestContext,
        input: AddUserToGroupRequest,
    ) -> Result<(), ServiceError> {
        groups::add_user(self, ctx, input).await
    }

    async fn remove_user_from_group(
        &self,
        ctx: &RequestContext,
        input: RemoveUserFromGroupRequest,
    ) -> Result<(), ServiceError> {
        groups::remove_user(self, ctx, input).await
    }

    async fn list_groups_for_user(
        &self,
        ctx: &RequestContext,
        input: ListGroupsForUserRequest,
    ) -> Result<ListGroupsForUserResponse, ServiceError> {
        groups::list_for_user(self, ctx, input).await
    }

    async fn put_group_policy(
        &self,
        ctx: &RequestContext,
        input: PutGroupPolicyRequest,
    ) -> Result<(), ServiceError> {
        inline_policies::put::<GroupRecord>(
            self,
            ctx.account(),
            &input.group_name,
            &input.policy_name,
            &input.policy_document,
        )
        .await
    }

    async fn get_group_policy(
        &self,
        ctx: &RequestContext,
        input: GetGroupPolicyRequest,
    ) -> Result<GetGroupPolicyResponse, ServiceError> {
        let (group_name, policy) = inline_policies::get::<GroupRecord>(
            self,
            ctx.account(),
            &input.group_name,
            &input.policy_name,
        )
        .await?;
        Ok(GetGroupPolicyResponse {
            group_name,
            policy_name: policy.name,
            policy_document: url_encode(&policy.document),
        })
    }

    async fn delete_group_policy(
        &self,
        ctx: &RequestContext,
        input: DeleteGroupPolicyRequest,
    ) -> Result<(), ServiceError> {
        inline_policies::delete::<GroupRecord>(
            self,
            ctx.account(),
            &input.group_name,
            &input.policy_name,
        )
        .await
    }

    async fn list_group_policies(
        &self,
        ctx: &RequestContext,
        input: ListGroupPoliciesRequest,
    ) -> Result<ListGroupPoliciesResponse, ServiceError> {
        let page = PageRequest::new(input.marker.as_deref(), input.max_items)?;
        let page =
            inline_policies::list::<GroupRecord>(self, ctx.account(), &input.group_name, &page)
                .await?;
        Ok(ListGroupPoliciesResponse {
            is_truncated: page.is_truncated(),
            policy_names: page.items,
            marker: page.marker,
        })
    }

    async fn attach_group_policy(
        &self,
        ctx: &RequestContext,
        input: AttachGroupPolicyRequest,
    ) -> Result<(), ServiceError> {
        attachments::attach::<GroupRecord>(
            self,
            ctx.account(),
            &input.group_name,
            &input.policy_arn,
        )
        .await
    }

    async fn detach_group_policy(
        &self,
        ctx: &RequestContext,
        input: DetachGroupPolicyRequest,
    ) -> Result<(), ServiceError> {
        attachments::detach::<GroupRecord>(
            self,
            ctx.account(),
            &input.group_name,
            &input.policy_arn,
        )
        .await
    }

    async fn list_attached_group_policies(
        &self,
        ctx: &RequestContext,
        input: ListAttachedGroupPoliciesRequest,
    ) -> Result<ListAttachedGroupPoliciesResponse, ServiceError> {
        let page = PageRequest::new(input.marker.as_deref(), input.max_items)?;
        let page = attachments::list_attached::<GroupRecord>(
            self,
            ctx.account(),
            &input.group_name,
            input.path_prefix.as_deref(),
            &page,
        )
        .await?;
        Ok(ListAttachedGroupPoliciesResponse {
            is_truncated: page.is_truncated(),
            attached_policies: Some(page.items),
            marker: page.marker,
        })
    }

    // Roles.

    async fn create_role(
        &self,
        ctx: &RequestContext,
        input: CreateRoleRequest,
    ) -> Result<CreateRoleResponse, ServiceError> {
        roles::create(self, ctx, input).await
    }

    async fn get_role(
        &self,
        ctx: &RequestContext,
        input: GetRoleRequest,
    ) -> Result<GetRoleResponse, ServiceError> {
        roles::get(self, ctx, input).await
    }

    async fn update_role(
        &self,
        ctx: &RequestContext,
        input: UpdateRoleRequest,
    ) -> Result<UpdateRoleResponse, ServiceError> {
        roles::update(self, ctx, input).await
    }

    async fn update_role_description(
        &self,
        ctx: &RequestContext,
        input: UpdateRoleDescriptionRequest,
    ) -> Result<UpdateRoleDescriptionResponse, ServiceError> {
        roles::update_description(self, ctx, input).await
    }

    async fn update_assume_role_policy(
        &self,
        ctx: &RequestContext,
        input: UpdateAssumeRolePolicyRequest,
    ) -> Result<(), ServiceError> {
        roles::update_trust_policy(self, ctx, input).await
    }

    async fn delete_role(
        &self,
        ctx: &RequestContext,
        input: DeleteRoleRequest,
    ) -> Result<(), ServiceError> {
        roles::delete(self, ctx, input).await
    }

    async fn list_roles(
        &self,
        ctx: &RequestContext,
        input: ListRolesRequest,
    ) -> Result<ListRolesResponse, ServiceError> {
        roles::list(self, ctx, input).await
    }

    async fn tag_role(
        &self,
        ctx: &RequestContext,
        input: TagRoleRequest,
    ) -> Result<(), ServiceError> {
        roles::tag(self, ctx, input).await
    }

    async fn untag_role(
        &self,
        ctx: &RequestContext,
        input: UntagRoleRequest,
    ) -> Result<(), ServiceError> {
        roles::untag(self, ctx, input).await
    }

    async fn list_role_tags(
        &self,
        ctx: &RequestContext,
        input: ListRoleTagsRequest,
    ) -> Result<ListRoleTagsResponse, ServiceError> {
        roles::list_tags(self, ctx, input).await
    }

    async fn put_role_policy(
        &self,
        ctx: &RequestContext,
        input: PutRolePolicyRequest,
    ) -> Result<(), ServiceError> {
        inline_policies::put::<RoleRecord>(
            self,
            ctx.account(),
            &input.role_name,
            &input.policy_name,
            &input.policy_document,
        )
        .await
    }

    async fn get_role_policy(
        &self,
        ctx: &RequestContext,
        input: GetRolePolicyRequest,
    ) -> Result<GetRolePolicyResponse, ServiceError> {
        let (role_name, policy) = inline_policies::get::<RoleRecord>(
            self,
            ctx.account(),
            &input.role_name,
            &input.policy_name,
        )
        .await?;
        Ok(GetRolePolicyResponse {
            role_name,
            policy_name: policy.name,
            policy_document: url_encode(&policy.document),
        })
    }

    async fn delete_role_policy(
        &self,
        ctx: &RequestContext,
        input: DeleteRolePolicyRequest,
    ) -> Result<(), ServiceError> {
        inline_policies::delete::<RoleRecord>(
            self,
            ctx.account(),
            &input.role_name,
            &input.policy_name,
        )
        .await
    }

    async fn list_role_policies(
        &self,
        ctx: &RequestContext,
        input: ListRolePoliciesRequest,
    ) -> Result<ListRolePoliciesResponse, ServiceError> {
        let page = PageRequest::new(input.marker.as_deref(), input.max_items)?;
        let page =
            inline_policies::list::<RoleRecord>(self, ctx.account(), &input.role_name, &page)
                .await?;
        Ok(ListRolePoliciesResponse {
            is_truncated: page.is_truncated(),
            policy_names: page.items,
            marker: page.marker,
        })
    }

    async fn attach_role_policy(
        &self,
        ctx: &RequestContext,
        input: AttachRolePolicyRequest,
    ) -> Result<(), ServiceError> {
        attachments::attach::<RoleRecord>(self, ctx.account(), &input.role_name, &input.policy_arn)
            .await
    }

    async fn detach_role_policy(
        &self,
        ctx: &RequestContext,
        input: DetachRolePolicyRequest,
    ) -> Result<(), ServiceError> {
        attachments::detach::<RoleRecord>(self, ctx.account(), &input.role_name, &input.policy_arn)
            .await
    }

    async fn list_attached_role_policies(
        &self,
        ctx: &RequestContext,
        input: ListAttachedRolePoliciesRequest,
    ) -> Result<ListAttachedRolePoliciesResponse, ServiceError> {
        let page = PageRequest::new(input.marker.as_deref(), input.max_items)?;
        let page = attachments::list_attached::<RoleRecord>(
            self,
            ctx.account(),
            &input.role_name,
            input.path_prefix.as_deref(),
            &page,
        )
        .await?;
        Ok(ListAttachedRolePoliciesResponse {
            is_truncated: page.is_truncated(),
            attached_policies: Some(page.items),
            marker: page.marker,
        })
    }

    async fn put_role_permissions_boundary(
        &self,
        ctx: &RequestContext,
        input: PutRolePermissionsBoundaryRequest,
    ) -> Result<(), ServiceError> {
        attachments::put_boundary::<RoleRecord>(
            self,
            ctx.account(),
            &input.role_name,
            &input.permissions_boundary,
        )
        .await
    }

    async fn delete_role_permissions_boundary(
        &self,
        ctx: &RequestContext,
        input: DeleteRolePermissionsBoundaryRequest,
    ) -> Result<(), ServiceError> {
        attachments::delete_boundary::<RoleRecord>(self, ctx.account(), &input.role_name).await
    }

    // Managed policies.

    async fn create_policy(
        &self,
        ctx: &RequestContext,
        input: CreatePolicyRequest,
    ) -> Result<CreatePolicyResponse, ServiceError> {
        managed_policies::create(self, ctx, input).await
    }

    async fn get_policy(
        &self,
        ctx: &RequestContext,
        input: GetPolicyRequest,
    ) -> Result<GetPolicyResponse, ServiceError> {
        managed_policies::get(self, ctx, input).await
    }

    async fn delete_policy(
        &self,
        ctx: &RequestContext,
        input: DeletePolicyRequest,
    ) -> Result<(), ServiceError> {
        managed_policies::delete(self, ctx, input).await
    }

    async fn list_policies(
        &self,
        ctx: &RequestContext,
        input: ListPoliciesRequest,
    ) -> Result<ListPoliciesResponse, ServiceError> {
        managed_policies::list(self, ctx, input).await
    }

    async fn create_policy_version(
        &self,
        ctx: &RequestContext,
        input: CreatePolicyVersionRequest,
    ) -> Result<CreatePolicyVersionResponse, ServiceError> {
        managed_policies::create_version(self, ctx, input).await
    }

    async fn get_policy_version(
        &self,
        ctx: &RequestContext,
        input: GetPolicyVersionRequest,
    ) -> Result<GetPolicyVersionResponse, ServiceError> {
        managed_policies::get_version(self, ctx, input).await
    }

    async fn list_policy_versions(
        &self,
        ctx: &RequestContext,
        input: ListPolicyVersionsRequest,
    ) -> Result<ListPolicyVersionsResponse, ServiceError> {
        managed_policies::list_versions(self, ctx, input).await
    }

    async fn delete_policy_version(
        &self,
        ctx: &RequestContext,
        input: DeletePolicyVersionRequest,
    ) -> Result<(), ServiceError> {
        managed_policies::delete_version(self, ctx, input).await
    }

    async fn set_default_policy_version(
        &self,
        ctx: &RequestContext,
        input: SetDefaultPolicyVersionRequest,
    ) -> Result<(), ServiceError> {
        managed_policies::set_default_version(self, ctx, input).await
    }

    async fn tag_policy(
        &self,
        ctx: &RequestContext,
        input: TagPolicyRequest,
    ) -> Result<(), ServiceError> {
        managed_policies::tag(self, ctx, input).await
    }

    async fn untag_policy(
        &self,
        ctx: &RequestContext,
        input: UntagPolicyRequest,
    ) -> Result<(), ServiceError> {
        managed_policies::untag(self, ctx, input).await
    }

    async fn list_policy_tags(
        &self,
        ctx: &RequestContext,
        input: ListPolicyTagsRequest,
    ) -> Result<ListPolicyTagsResponse, ServiceError> {
        managed_policies::list_tags(self, ctx, input).await
    }

    async fn list_entities_for_policy(
        &self,
        ctx: &RequestContext,
        input: ListEntitiesForPolicyRequest,
    ) -> Result<ListEntitiesForPolicyResponse, ServiceError> {
        attachments::list_entities(self, ctx, input).await
    }

    // Access keys.

    async fn create_access_key(
        &self,
        ctx: &RequestContext,
        input: CreateAccessKeyRequest,
    ) -> Result<CreateAccessKeyResponse, ServiceError> {
        access_keys::create(self, ctx, input).await
    }

    async fn update_access_key(
        &self,
        ctx: &RequestContext,
        input: UpdateAccessKeyRequest,
    ) -> Result<(), ServiceError> {
        access_keys::update(self, ctx, input).await
    }

    async fn delete_access_key(
        &self,
        ctx: &RequestContext,
        input: DeleteAccessKeyRequest,
    ) -> Result<(), ServiceError> {
        access_keys::delete(self, ctx, input).await
    }

    async fn list_access_keys(
        &self,
        ctx: &RequestContext,
        input: ListAccessKeysRequest,
    ) -> Result<ListAccessKeysResponse, ServiceError> {
        access_keys::list(self, ctx, input).await
    }

    async fn get_access_key_last_used(
        &self,
        ctx: &RequestContext,
        input: GetAccessKeyLastUsedRequest,
    ) -> Result<GetAccessKeyLastUsedResponse, ServiceError> {
        access_keys::last_used(self, ctx, input).await
    }

    // MFA devices.

    async fn create_virtual_mfa_device(
        &self,
        ctx: &RequestContext,
        input: CreateVirtualMFADeviceRequest,
    ) -> Result<CreateVirtualMFADeviceResponse, ServiceError> {
        mfa::create(self, ctx, input).await
    }

    async fn enable_mfa_device(
        &self,
        ctx: &RequestContext,
        input: EnableMFADeviceRequest,
    ) -> Result<(), ServiceError> {
        mfa::enable(self, ctx, input).await
    }

    async fn resync_mfa_device(
        &self,
        ctx: &RequestContext,
        input: ResyncMFADeviceRequest,
    ) -> Result<(), ServiceError> {
        mfa::resync(self, ctx, input).await
    }

    async fn deactivate_mfa_device(
        &self,
        ctx: &RequestContext,
        input: DeactivateMFADeviceRequest,
    ) -> Result<(), ServiceError> {
        mfa::deactivate(self, ctx, input).await
    }

    async fn delete_virtual_mfa_device(
        &self,
        ctx: &RequestContext,
        input: DeleteVirtualMFADeviceRequest,
    ) -> Result<(), ServiceError> {
        mfa::delete(self, ctx, input).await
    }

    async fn get_mfa_device(
        &self,
        ctx: &RequestContext,
        input: GetMFADeviceRequest,
    ) -> Result<GetMFADeviceResponse, ServiceError> {
        mfa::get(self, ctx, input).await
    }

    async fn list_mfa_devices(
        &self,
        ctx: &RequestContext,
        input: ListMFADevicesRequest,
    ) -> Result<ListMFADevicesResponse, ServiceError> {
        mfa::list(self, ctx, input).await
    }

    async fn list_virtual_mfa_devices(
        &self,
        ctx: &RequestContext,
        input: ListVirtualMFADevicesRequest,
    ) -> Result<ListVirtualMFADevicesResponse, ServiceError> {
        mfa::list_virtual(self, ctx, input).await
    }

    async fn tag_mfa_device(
        &self,
        ctx: &RequestContext,
        input: TagMFADeviceRequest,
    ) -> Result<(), ServiceError> {
        mfa::tag(self, ctx, input).await
    }

    async fn untag_mfa_device(
        &self,
        ctx: &RequestContext,
        input: UntagMFADeviceRequest,
    ) -> Result<(), ServiceError> {
        mfa::untag(self, ctx, input).await
    }

    async fn list_mfa_device_tags(
        &self,
        ctx: &RequestContext,
        input: ListMFADeviceTagsRequest,
    ) -> Result<ListMFADeviceTagsResponse, ServiceError> {
        mfa::list_tags(self, ctx, input).await
    }

    // Login profiles.

    async fn create_login_profile(
        &self,
        ctx: &RequestContext,
        input: CreateLoginProfileRequest,
    ) -> Result<CreateLoginProfileResponse, ServiceError> {
        login_profiles::create(self, ctx, input).await
    }

    async fn get_login_profile(
        &self,
        ctx: &RequestContext,
        input: GetLoginProfileRequest,
    ) -> Result<GetLoginProfileResponse, ServiceError> {
        login_profiles::get(self, ctx, input).await
    }

    async fn update_login_profile(
        &self,
        ctx: &RequestContext,
        input: UpdateLoginProfileRequest,
    ) -> Result<(), ServiceError> {
        login_profiles::update(self, ctx, input).await
    }

    async fn delete_login_profile(
        &self,
        ctx: &RequestContext,
        input: DeleteLoginProfileRequest,
    ) -> Result<(), ServiceError> {
        login_profiles::delete(self, ctx, input).await
    }

    async fn change_password(
        &self,
        ctx: &RequestContext,
        input: ChangePasswordRequest,
    ) -> Result<(), ServiceError> {
        login_profiles::change_password(self, ctx, input).await
    }

    // The account.

    async fn create_account_alias(
        &self,
        ctx: &RequestContext,
        input: CreateAccountAliasRequest,
    ) -> Result<(), ServiceError> {
        account::create_alias(self, ctx, input).await
    }

    async fn delete_account_alias(
        &self,
        ctx: &RequestContext,
        input: DeleteAccountAliasRequest,
    ) -> Result<(), ServiceError> {
        account::delete_alias(self, ctx, input).await
    }

    async fn list_account_aliases(
        &self,
        ctx: &RequestContext,
        input: ListAccountAliasesRequest,
    ) -> Result<ListAccountAliasesResponse, ServiceError> {
        account::list_aliases(self, ctx, input).await
    }

    async fn update_account_password_policy(
        &self,
        ctx: &RequestContext,
        input: UpdateAccountPasswordPolicyRequest,
    ) -> Result<(), ServiceError> {
        account::update_password_policy(self, ctx, input).await
    }

    async fn get_account_password_policy(
        &self,
        ctx: &RequestContext,
    ) -> Result<GetAccountPasswordPolicyResponse, ServiceError> {
        account::get_password_policy(self, ctx).await
    }

    async fn delete_account_password_policy(
        &self,
        ctx: &RequestContext,
    ) -> Result<(), ServiceError> {
        account::delete_password_policy(self, ctx).await
    }

    async fn get_account_summary(
        &self,
        ctx: &RequestContext,
    ) -> Result<GetAccountSummaryResponse, ServiceError> {
        account::summary(self, ctx).await
    }

    async fn get_account_authorization_details(
        &self,
        ctx: &RequestContext,
        input: GetAccountAuthorizationDetailsRequest,
    ) -> Result<GetAccountAuthorizationDetailsResponse, ServiceError> {
        authorization_details::get(self, ctx, input).await
    }

    // The policy simulator.

    async fn simulate_custom_policy(
        &self,
        ctx: &RequestContext,
        input: SimulateCustomPolicyRequest,
    ) -> Result<SimulatePolicyResponse, ServiceError> {
        simulation::simulate_custom(ctx, input)
    }

    async fn simulate_principal_policy(
        &self,
        ctx: &RequestContext,
        input: SimulatePrincipalPolicyRequest,
    ) -> Result<SimulatePolicyResponse, ServiceError> {
        simulation::simulate_principal(self, ctx, input).await
    }

    async fn get_context_keys_for_custom_policy(
        &self,
        _ctx: &RequestContext,
        input: GetContextKeysForCustomPolicyRequest,
    ) -> Result<GetContextKeysForPolicyResponse, ServiceError> {
        simulation::context_keys_for_custom(&input)
    }

    async fn get_context_keys_for_principal_policy(
        &self,
        ctx: &RequestContext,
        input: GetContextKeysForPrincipalPolicyRequest,
    ) -> Result<GetContextKeysForPolicyResponse, ServiceError> {
        simulation::context_keys_for_principal(self, ctx, &input).await
    }
}
