//! CloudTrail Lake imports: copying trail events from S3 into event data stores. Not built yet:
//! every operation answers `NotImplemented`.
//!
//! Layout of imported events: keyspace [`IMPORTED_EVENTS`],
//! `<account>/<event data store id>/<inverted time>/<eventID>` → the event's record JSON, the
//! inverted time as in `palisade_audit::history` so that a scan reads newest first.

use palisade_core::{RequestContext, ServiceError};
use palisade_model_cloudtrail::MODEL;
use palisade_model_cloudtrail::types::{
    GetImportRequest, GetImportResponse, ListImportFailuresRequest, ListImportFailuresResponse,
    ListImportsRequest, ListImportsResponse, StartImportRequest, StartImportResponse,
    StopImportRequest, StopImportResponse,
};

use crate::CloudTrailState;

/// Events imported into event data stores.
pub(crate) const IMPORTED_EVENTS: &str = "cloudtrail/imported-events";

/// The prefix of every event imported into the event data store `id` of `account`.
pub(crate) fn imported_prefix(account: &str, id: &str) -> String {
    format!("{account}/{id}/")
}

pub(crate) async fn start_import(
    _state: &CloudTrailState,
    _ctx: &RequestContext,
    _input: StartImportRequest,
) -> Result<StartImportResponse, ServiceError> {
    Err(ServiceError::not_implemented(&MODEL, "StartImport"))
}

pub(crate) async fn stop_import(
    _state: &CloudTrailState,
    _ctx: &RequestContext,
    _input: StopImportRequest,
) -> Result<StopImportResponse, ServiceError> {
    Err(ServiceError::not_implemented(&MODEL, "StopImport"))
}

pub(crate) async fn get_import(
    _state: &CloudTrailState,
    _ctx: &RequestContext,
    _input: GetImportRequest,
) -> Result<GetImportResponse, ServiceError> {
    Err(ServiceError::not_implemented(&MODEL, "GetImport"))
}

pub(crate) async fn list_imports(
    _state: &CloudTrailState,
    _ctx: &RequestContext,
    _input: ListImportsRequest,
) -> Result<ListImportsResponse, ServiceError> {
    Err(ServiceError::not_implemented(&MODEL, "ListImports"))
}

pub(crate) async fn list_import_failures(
    _state: &CloudTrailState,
    _ctx: &RequestContext,
    _input: ListImportFailuresRequest,
) -> Result<ListImportFailuresResponse, ServiceError> {
    Err(ServiceError::not_implemented(&MODEL, "ListImportFailures"))
}
