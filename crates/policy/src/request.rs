//! The global condition keys every request supplies, built once here for every decision (the
//! server's authorize step and STS's trust-policy checks), so that `aws:SourceIp` or
//! `aws:PrincipalTag/*` means the same everywhere.
//!
//! For a role session, `aws:PrincipalArn` is the role's ARN, not the session's; the caller that
//! knows the role ARN overrides it.

use palisade_core::{PrincipalKind, RequestContext};

use crate::Context;

/// The global condition keys of `ctx`'s request.
pub fn global_context(ctx: &RequestContext) -> Context<'_> {
    let principal = &ctx.principal;
    let epoch_seconds = palisade_core::clock::millis_since_epoch(ctx.time).div_euclid(1000);
    // The global keys, and room for what the service and the authorizer add (KMS adds about
    // twenty) without growing.
    let mut context = Context::with_capacity(40);
    context
        .insert("aws:SourceIp", ctx.source_ip.to_canonical().to_string())
        .insert("aws:RequestedRegion", ctx.region.as_str())
        .insert("aws:CurrentTime", iso8601(epoch_seconds))
        .insert("aws:EpochTime", epoch_seconds.to_string())
        .insert(
            "aws:SecureTransport",
            if ctx.secure_transport {
                "true"
            } else {
                "false"
            },
        )
        .insert("aws:PrincipalArn", principal.arn.as_str())
        .insert("aws:PrincipalAccount", principal.account.as_str())
        .insert("aws:userid", principal.user_id.as_str());
    let principal_type = match &principal.kind {
        PrincipalKind::User { name } => {
            context.insert("aws:username", name.as_str());
            "User"
        }
        PrincipalKind::AssumedRole { .. } => "AssumedRole",
        PrincipalKind::Root => "Account",
        PrincipalKind::Anonymous => "Anonymous",
    };
    context.insert("aws:PrincipalType", principal_type);
    for (key, value) in &principal.tags {
        context.insert(format!("aws:PrincipalTag/{key}"), value.as_str());
    }
    context
}

/// `aws:CurrentTime`: ISO 8601 in UTC, whole seconds.
fn iso8601(epoch_seconds: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(epoch_seconds)
        .ok()
        .and_then(|moment| {
            moment
                .format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_default()
}
