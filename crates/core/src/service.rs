//! The trait every service implements, and the typed error it answers with.
//!
//! A service sees a decoded, validated [`Value`] and a [`RequestContext`]; it never sees HTTP. It
//! answers a [`Value`] or a [`ServiceError`], which the wire layer renders for the protocol.

use std::borrow::Cow;
use std::fmt;
use std::future::Future;
use std::pin::Pin;

use crate::model::{ErrorInfo, Operation, ServiceModel};
use crate::value::ConvertError;
use crate::{RequestContext, Value};

/// A boxed, sendable future: what an object-safe async method returns.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// One AWS service.
pub trait Service: Send + Sync + 'static {
    /// The service's model.
    fn model(&self) -> &'static ServiceModel;

    /// Runs `operation` with a validated `input`.
    fn call<'a>(
        &'a self,
        ctx: &'a RequestContext,
        operation: Operation,
        input: Value,
    ) -> BoxFuture<'a, Result<Value, ServiceError>>;
}

/// Errors that are not modeled per service but that every protocol renders in its own words.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CommonError {
    /// Input broke a model constraint.
    Validation,
    /// The body could not be read as the protocol's document, or a member had the wrong type.
    Serialization,
    /// The operation is in the model but Palisade does not build it yet.
    NotImplemented,
    /// The operation is not in the model.
    UnknownOperation,
    /// An awsQuery request named no action.
    MissingAction,
    /// The caller may not do this.
    AccessDenied,
    /// No credentials were presented.
    MissingAuthenticationToken,
    /// The signature's parts were malformed or incomplete.
    IncompleteSignature,
    /// The signature did not match.
    InvalidSignature,
    /// The access key is not known.
    UnrecognizedClient,
    /// The request's time is outside the allowed window, or a presigned URL expired.
    RequestExpired,
    /// The session token has expired.
    ExpiredToken,
    /// The body is larger than the service accepts.
    RequestTooLarge,
    /// The server itself failed; the only error with a 5xx status.
    InternalFailure,
}

/// What went wrong, as a service reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ErrorKind {
    /// An error the service's model defines.
    Modeled {
        /// The code, e.g. `NotFoundException`.
        code: Cow<'static, str>,
        /// The HTTP status.
        status: u16,
        /// Whether the caller is at fault.
        sender_fault: bool,
    },
    /// An error every protocol renders in its own words.
    Common(CommonError),
}

/// A typed error; the wire layer renders it for the protocol.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceError {
    /// What went wrong.
    pub kind: ErrorKind,
    /// The message, worded as AWS words it.
    pub message: String,
}

impl ServiceError {
    /// A modeled error, with the code and status from the model.
    pub fn modeled(info: &ErrorInfo, message: impl Into<String>) -> Self {
        Self {
            kind: ErrorKind::Modeled {
                code: Cow::Borrowed(info.code),
                status: info.status,
                sender_fault: info.sender_fault,
            },
            message: message.into(),
        }
    }

    /// A common error.
    pub fn common(error: CommonError, message: impl Into<String>) -> Self {
        Self {
            kind: ErrorKind::Common(error),
            message: message.into(),
        }
    }

    /// A constraint violation.
    pub fn validation(message: impl Into<String>) -> Self {
        Self::common(CommonError::Validation, message)
    }

    /// An operation that is modeled but not built.
    pub fn not_implemented(model: &ServiceModel, operation: &str) -> Self {
        Self::common(
            CommonError::NotImplemented,
            format!(
                "The operation {operation} of service {} is not implemented by Palisade.",
                model.service_id
            ),
        )
    }

    /// A failure of the server itself.
    pub fn internal(message: impl Into<String>) -> Self {
        Self::common(CommonError::InternalFailure, message)
    }

    /// The common error, if this is one.
    pub fn common_kind(&self) -> Option<CommonError> {
        match self.kind {
            ErrorKind::Common(common) => Some(common),
            ErrorKind::Modeled { .. } => None,
        }
    }
}

impl fmt::Display for ServiceError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for ServiceError {}

impl From<ConvertError> for ServiceError {
    fn from(error: ConvertError) -> Self {
        Self::common(CommonError::Serialization, error.to_string())
    }
}
