//! The authorize step: may this principal do this operation to these resources?
//!
//! A hook for now. The IAM issue puts the policy engine behind it; the pipeline does not change.

use palisade_core::model::{Operation, ServiceModel};
use palisade_core::service::CommonError;
use palisade_core::{PrincipalKind, RequestContext, ServiceError, Value};

/// Decides whether a request may proceed.
pub trait Authorizer: Send + Sync + 'static {
    /// `Ok` to proceed, or the AccessDenied error to answer.
    fn authorize(
        &self,
        ctx: &RequestContext,
        model: &'static ServiceModel,
        operation: &'static Operation,
        input: &Value,
    ) -> Result<(), ServiceError>;
}

/// The only principals before IAM exists are root users, who may do everything in their own
/// account. Any other principal is denied, so that a principal added early fails closed.
#[derive(Debug, Default)]
pub struct RootOnly;

impl Authorizer for RootOnly {
    fn authorize(
        &self,
        ctx: &RequestContext,
        model: &'static ServiceModel,
        operation: &'static Operation,
        _input: &Value,
    ) -> Result<(), ServiceError> {
        if ctx.principal.kind == PrincipalKind::Root {
            return Ok(());
        }
        Err(ServiceError::common(
            CommonError::AccessDenied,
            format!(
                "User: {} is not authorized to perform: {}:{} because no identity-based policy allows the {}:{} action",
                ctx.principal.arn,
                model.signing_name,
                operation.name,
                model.signing_name,
                operation.name
            ),
        ))
    }
}
