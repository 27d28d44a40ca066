//! The changes besides `PutParameter`: deleting parameters, labelling versions and tagging.

use palisade_core::{RequestContext, ServiceError};
use palisade_model_ssm::errors;
use palisade_model_ssm::types::*;
use palisade_store::Transaction;

use crate::ParameterStore;
use crate::events::Operation;
use crate::names::{self, Reference};
use crate::put::MAX_TAGS;
use crate::read;
use crate::records::{self, ParameterRecord, Tenant};

/// The most labels one version can carry.
const MAX_LABELS_PER_VERSION: usize = 10;

pub(crate) async fn delete_parameter(
    service: &ParameterStore,
    ctx: &RequestContext,
    input: DeleteParameterRequest,
) -> Result<DeleteParameterResult, ServiceError> {
    let tenant = Tenant::of(ctx);
    let name = input.name.trim();
    if !delete_one(service, &tenant, name).await? {
        return Err(errors::parameter_not_found(format!(
            "Parameter {name} not found."
        )));
    }
    Ok(DeleteParameterResult {})
}

pub(crate) async fn delete_parameters(
    service: &ParameterStore,
    ctx: &RequestContext,
    input: DeleteParametersRequest,
) -> Result<DeleteParametersResult, ServiceError> {
    let tenant = Tenant::of(ctx);
    let mut deleted = Vec::new();
    let mut invalid = Vec::new();
    for name in &input.names {
        let name = name.trim();
        if deleted
            .iter()
            .chain(&invalid)
            .any(|seen: &String| seen == name)
        {
            continue;
        }
        if delete_one(service, &tenant, name).await? {
            deleted.push(name.to_owned());
        } else {
            invalid.push(name.to_owned());
        }
    }
    Ok(DeleteParametersResult {
        deleted_parameters: Some(deleted),
        invalid_parameters: Some(invalid),
    })
}

/// Deletes parameter `name` with its tier count; answers whether it existed.
pub(crate) async fn delete_one(
    service: &ParameterStore,
    tenant: &Tenant,
    name: &str,
) -> Result<bool, ServiceError> {
    let deleted = records::mutate(&service.store, || async {
        let Some(stored) = records::parameter(service, tenant, name).await? else {
            return Ok((Transaction::new(), None));
        };
        let (mut counts, counts_read_at) = records::tier_counts(&service.store, tenant).await?;
        counts.remove(stored.value.tier);
        let txn = records::write_record(
            records::pin(Transaction::new(), tenant, name, Some(stored.version)),
            tenant,
            name,
            Some(&stored.value),
            None,
        )?;
        let txn = records::write_counts(txn, tenant, counts, counts_read_at)?;
        Ok((txn, Some(stored.value)))
    })
    .await?;
    let Some(record) = deleted else {
        return Ok(false);
    };
    let latest = record.current()?;
    service.publish_change(
        tenant,
        Operation::Delete,
        name,
        latest.kind,
        latest.description.as_deref(),
    );
    Ok(true)
}

pub(crate) async fn label_parameter_version(
    service: &ParameterStore,
    ctx: &RequestContext,
    input: LabelParameterVersionRequest,
) -> Result<LabelParameterVersionResult, ServiceError> {
    let tenant = Tenant::of(ctx);
    let name = input.name.trim();
    let (valid, invalid): (Vec<String>, Vec<String>) = input
        .labels
        .iter()
        .cloned()
        .partition(|label| names::is_valid_label(label));
    let (version, kind, description) = update(service, &tenant, name, |record| {
        let target = match input.parameter_version {
            Some(version) => version,
            None => record.current()?.version,
        };
        if record.version(target).is_none() {
            return Err(read::version_not_found(name, &target.to_string()));
        }
        for version in &mut record.versions {
            if version.version == target {
                for label in &valid {
                    if !version.labels.contains(label) {
                        version.labels.push(label.clone());
                    }
                }
                if version.labels.len() > MAX_LABELS_PER_VERSION {
                    return Err(errors::parameter_version_label_limit_exceeded(format!(
                        "A parameter version can have maximum {MAX_LABELS_PER_VERSION} labels. \
                         Move one or more labels to another version and try again."
                    )));
                }
            } else {
                // A label names one version: moving it here takes it off any other.
                version.labels.retain(|label| !valid.contains(label));
            }
        }
        let latest = record.current()?;
        Ok((target, latest.kind, latest.description.clone()))
    })
    .await?;
    service.publish_change(
        &tenant,
        Operation::LabelParameterVersion,
        name,
        kind,
        description.as_deref(),
    );
    Ok(LabelParameterVersionResult {
        invalid_labels: Some(invalid),
        parameter_version: Some(version),
    })
}

pub(crate) async fn unlabel_parameter_version(
    service: &ParameterStore,
    ctx: &RequestContext,
    input: UnlabelParameterVersionRequest,
) -> Result<UnlabelParameterVersionResult, ServiceError> {
    let tenant = Tenant::of(ctx);
    let name = input.name.trim();
    let target = input.parameter_version;
    let (removed, invalid) = update(service, &tenant, name, |record| {
        let version = record
            .versions
            .iter_mut()
            .find(|v| v.version == target)
            .ok_or_else(|| read::version_not_found(name, &target.to_string()))?;
        let (removed, invalid): (Vec<String>, Vec<String>) = input
            .labels
            .iter()
            .cloned()
            .partition(|label| version.labels.contains(label));
        version.labels.retain(|label| !removed.contains(label));
        Ok((removed, invalid))
    })
    .await?;
    Ok(UnlabelParameterVersionResult {
        removed_labels: Some(removed),
        invalid_labels: Some(invalid),
    })
}

pub(crate) async fn add_tags_to_resource(
    service: &ParameterStore,
    ctx: &RequestContext,
    input: AddTagsToResourceRequest,
) -> Result<AddTagsToResourceResult, ServiceError> {
    let tenant = Tenant::of(ctx);
    let name = tagged_parameter(service, &tenant, &input.resource_type, &input.resource_id).await?;
    update(service, &tenant, &name, |record| {
        for tag in &input.tags {
            match record.tags.iter_mut().find(|(key, _)| *key == tag.key) {
                Some((_, value)) => value.clone_from(&tag.value),
                None => record.tags.push((tag.key.clone(), tag.value.clone())),
            }
        }
        if record.tags.len() > MAX_TAGS {
            return Err(errors::too_many_tags_error(
                "The Tags parameter contains too many entries.",
            ));
        }
        Ok(())
    })
    .await
    .map_err(|error| resource_error(error, &input.resource_id))?;
    Ok(AddTagsToResourceResult {})
}

pub(crate) async fn remove_tags_from_resource(
    service: &ParameterStore,
    ctx: &RequestContext,
    input: RemoveTagsFromResourceRequest,
) -> Result<RemoveTagsFromResourceResult, ServiceError> {
    let tenant = Tenant::of(ctx);
    let name = tagged_parameter(service, &tenant, &input.resource_type, &input.resource_id).await?;
    update(service, &tenant, &name, |record| {
        record.tags.retain(|(key, _)| !input.tag_keys.contains(key));
        Ok(())
    })
    .await
    .map_err(|error| resource_error(error, &input.resource_id))?;
    Ok(RemoveTagsFromResourceResult {})
}

pub(crate) async fn list_tags_for_resource(
    service: &ParameterStore,
    ctx: &RequestContext,
    input: ListTagsForResourceRequest,
) -> Result<ListTagsForResourceResult, ServiceError> {
    let tenant = Tenant::of(ctx);
    let name = tagged_parameter(service, &tenant, &input.resource_type, &input.resource_id).await?;
    let record = read::lookup(service, &tenant, &name)
        .await?
        .ok_or_else(|| invalid_resource_id(&input.resource_id))?;
    Ok(ListTagsForResourceResult {
        tag_list: Some(
            record
                .tags
                .into_iter()
                .map(|(key, value)| Tag { key, value })
                .collect(),
        ),
    })
}

/// Applies `change` to parameter `name` and stores the result; `ParameterNotFound` if absent.
async fn update<T>(
    service: &ParameterStore,
    tenant: &Tenant,
    name: &str,
    change: impl Fn(&mut ParameterRecord) -> Result<T, ServiceError>,
) -> Result<T, ServiceError> {
    records::mutate(&service.store, || async {
        let stored = records::parameter(service, tenant, name)
            .await?
            .ok_or_else(|| {
                read::not_found(&Reference {
                    name: name.to_owned(),
                    selector: None,
                    pick: names::Pick::Latest,
                })
            })?;
        let mut record = stored.value.clone();
        let answer = change(&mut record)?;
        let txn = records::write_record(
            records::pin(Transaction::new(), tenant, name, Some(stored.version)),
            tenant,
            name,
            Some(&stored.value),
            Some(&record),
        )?;
        Ok((txn, answer))
    })
    .await
}

/// The parameter a tagging call names (by name or ARN); only parameters are taggable here.
async fn tagged_parameter(
    service: &ParameterStore,
    tenant: &Tenant,
    resource_type: &ResourceTypeForTagging,
    resource_id: &str,
) -> Result<String, ServiceError> {
    if *resource_type != ResourceTypeForTagging::Parameter {
        return Err(errors::invalid_resource_type(format!(
            "The resource type {} is not supported by Palisade; only Parameter resources can be \
             tagged.",
            resource_type.as_str()
        )));
    }
    let reference = names::parse_reference(&tenant.account, &tenant.region, resource_id.trim())
        .map_err(|_| invalid_resource_id(resource_id))?;
    read::stored_name(service, tenant, &reference.name)
        .await?
        .ok_or_else(|| invalid_resource_id(resource_id))
}

/// A missing parameter, as the tagging operations word it.
fn resource_error(error: ServiceError, resource_id: &str) -> ServiceError {
    match &error.kind {
        palisade_core::service::ErrorKind::Modeled { code, .. } if code == "ParameterNotFound" => {
            invalid_resource_id(resource_id)
        }
        _ => error,
    }
}

fn invalid_resource_id(resource_id: &str) -> ServiceError {
    errors::invalid_resource_id(format!(
        "The resource ID \"{resource_id}\" isn't valid. Verify that you entered the correct ID \
         and try again."
    ))
}
