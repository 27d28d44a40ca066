//! AWS Security Token Service.
//!
//! `GetCallerIdentity` is built; the credential-issuing operations come with IAM.

use palisade_core::{RequestContext, ServiceError};
use palisade_model_sts::Sts;
use palisade_model_sts::types::{GetCallerIdentityRequest, GetCallerIdentityResponse};

/// The STS service.
#[derive(Debug, Default)]
pub struct StsService;

impl Sts for StsService {
    async fn get_caller_identity(
        &self,
        ctx: &RequestContext,
        _input: GetCallerIdentityRequest,
    ) -> Result<GetCallerIdentityResponse, ServiceError> {
        let principal = &ctx.principal;
        Ok(GetCallerIdentityResponse {
            user_id: Some(principal.user_id.clone()),
            account: Some(principal.account.as_str().to_owned()),
            arn: Some(principal.arn.clone()),
        })
    }
}
