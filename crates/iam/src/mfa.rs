//! Virtual MFA devices: TOTP seeds created here, shown once (as base32 and as a QR code),
//! enabled for a user by two consecutive codes, and checked for STS through
//! [`IamState::verify_mfa_code`].
//!
//! A device record is sealed, because it holds the seed. It also keeps the last time step a
//! code was accepted for, so that a code is good once, and the drift learned by
//! `ResyncMFADevice`, for a device whose clock runs off ours.

use palisade_core::value::Blob;
use palisade_core::{AccountId, RequestContext, Sensitive, ServiceError};
use palisade_model_iam::errors;
use palisade_model_iam::types::{
    AssignmentStatusType, CreateVirtualMFADeviceRequest, CreateVirtualMFADeviceResponse,
    DeactivateMFADeviceRequest, DeleteVirtualMFADeviceRequest, EnableMFADeviceRequest,
    GetMFADeviceRequest, GetMFADeviceResponse, ListMFADeviceTagsRequest, ListMFADeviceTagsResponse,
    ListMFADevicesRequest, ListMFADevicesResponse, ListVirtualMFADevicesRequest,
    ListVirtualMFADevicesResponse, MFADevice, ResyncMFADeviceRequest, TagMFADeviceRequest,
    UntagMFADeviceRequest, VirtualMFADevice,
};
use palisade_store::{StoreError, Transaction};
use serde::{Deserialize, Serialize};

use crate::db::{self, IAM, Kind, Stored, sealed};
use crate::ids::random_bytes;
use crate::paging::PageRequest;
use crate::records::{
    TagRecord, UserRecord, same_name, sensitive, tag_list, timestamp, write_entity,
};
use crate::totp::{self, base32};
use crate::users::{Subject, subject};
use crate::{IamState, png, tags};

/// Seed length: 40 bytes, 64 base32 characters, as AWS's virtual MFA seeds are.
const SEED_BYTES: usize = 40;
/// How many steps either side of now a code may be from: one step, for clocks a little off
/// and codes typed at a step's end.
const WINDOW: i64 = 1;
/// How far `ResyncMFADevice` looks for the device's codes: ten minutes either side.
const RESYNC_WINDOW: i64 = 20;
/// The most MFA devices one user may have (AWS's quota).
const MAX_DEVICES_PER_USER: usize = 8;

/// A virtual MFA device, as stored (sealed).
#[derive(Debug, Clone, Serialize, Deserialize)]
struct DeviceRecord {
    serial: String,
    created: i64,
    #[serde(with = "sensitive")]
    seed: Sensitive<Vec<u8>>,
    /// The user it is enabled for.
    #[serde(default)]
    user: Option<String>,
    #[serde(default)]
    enabled: Option<i64>,
    #[serde(default)]
    tags: Vec<TagRecord>,
    /// The last step a code was accepted for; older or equal steps are refused.
    #[serde(default)]
    last_step: Option<i64>,
    /// Steps the device's clock runs ahead of ours.
    #[serde(default)]
    drift: i64,
}

impl DeviceRecord {
    /// Finds two consecutive codes, the second within `window` steps of `center`; answers the
    /// second one's step.
    fn consecutive(&self, center: i64, window: i64, first: &str, second: &str) -> Option<i64> {
        let seed = self.seed.expose();
        (center - window..=center + window)
            .find(|step| totp::matches(seed, step - 1, first) && totp::matches(seed, *step, second))
    }
}

fn key(account: &AccountId, serial: &str) -> String {
    db::key(account, Kind::Mfa, serial)
}

fn no_such_device(serial: &str) -> ServiceError {
    errors::no_such_entity_exception(format!(
        "VirtualMFADevice with serial number {serial} doesn't exist."
    ))
}

fn invalid_codes() -> ServiceError {
    errors::invalid_authentication_code_exception("Authentication code for device is not valid.")
}

impl IamState {
    async fn device(
        &self,
        account: &AccountId,
        serial: &str,
    ) -> Result<Stored<DeviceRecord>, ServiceError> {
        self.get(IAM, &key(account, serial))
            .await?
            .ok_or_else(|| no_such_device(serial))
    }

    /// How many virtual MFA devices `account` has.
    pub(crate) async fn mfa_device_count(
        &self,
        account: &AccountId,
    ) -> Result<usize, ServiceError> {
        let devices = self
            .scan_all::<serde::de::IgnoredAny>(IAM, &db::prefix(account, Kind::Mfa))
            .await
            .map_err(db::store_error)?;
        Ok(devices.len())
    }

    /// Whether `code` is the current code of the MFA device `serial_number` of `account`,
    /// which must be enabled for a user. A code is good once: its step is remembered, and
    /// that step and earlier ones are refused from then on. For STS's `SerialNumber` and
    /// `TokenCode`.
    pub async fn verify_mfa_code(
        &self,
        account: &AccountId,
        serial_number: &str,
        code: &str,
    ) -> Result<bool, StoreError> {
        let key = key(account, serial_number);
        for _ in 0..8 {
            let Some(mut device) = self.get_raw::<DeviceRecord>(IAM, &key).await? else {
                return Ok(false);
            };
            if device.value.user.is_none() {
                return Ok(false);
            }
            let now = totp::step(self.now()) + device.value.drift;
            let after = device.value.last_step.unwrap_or(i64::MIN);
            let seed = device.value.seed.expose();
            let Some(step) = (now - WINDOW..=now + WINDOW)
                .find(|step| *step > after && totp::matches(seed, *step, code))
            else {
                return Ok(false);
            };
            device.value.last_step = Some(step);
            let value = sealed(&device.value).map_err(|e| StoreError::Invalid(e.message))?;
            match self
                .store
                .commit(device.replace(Transaction::new(), IAM, &key, value))
                .await
            {
                Ok(()) => return Ok(true),
                // Another request used the device meanwhile: look again, so that the same
                // code cannot pass twice.
                Err(StoreError::Conflict(_)) => continue,
                Err(error) => return Err(error),
            }
        }
        Ok(false)
    }
}

/// Adds to `txn` the rewrite of `user`'s devices with its current name.
pub(crate) async fn refresh_owner(
    iam: &IamState,
    mut txn: Transaction,
    account: &AccountId,
    user: &UserRecord,
) -> Result<Transaction, ServiceError> {
    for serial in &user.mfa_devices {
        let mut device = iam.device(account, serial).await?;
        device.value.user = Some(user.name.clone());
        txn = device.replace(txn, IAM, &key(account, serial), sealed(&device.value)?);
    }
    Ok(txn)
}

pub(crate) async fn create(
    iam: &IamState,
    ctx: &RequestContext,
    input: CreateVirtualMFADeviceRequest,
) -> Result<CreateVirtualMFADeviceResponse, ServiceError> {
    let account = ctx.account();
    let path = input.path.as_deref().unwrap_or("/");
    let serial = format!(
        "arn:aws:iam::{account}:mfa{path}{}",
        input.virtual_mfa_device_name
    );
    let device = DeviceRecord {
        serial: serial.clone(),
        created: iam.now(),
        seed: Sensitive::new(random_bytes::<SEED_BYTES>()?.to_vec()),
        user: None,
        enabled: None,
        tags: tags::initial(input.tags)?,
        last_step: None,
        drift: 0,
    };
    let key = key(account, &serial);
    let (device_ref, key) = (&device, &key);
    iam.mutate(move || async move {
        if iam.get::<DeviceRecord>(IAM, key).await?.is_some() {
            return Err(errors::entity_already_exists_exception(
                "MFADevice entity at the same path and name already exists.",
            ));
        }
        let txn = Transaction::new()
            .expect_absent(IAM, key)
            .put(IAM, key, sealed(device_ref)?);
        Ok((txn, ()))
    })
    .await?;
    // Authenticator apps show the issuer after the @: AWS puts the account's alias there, or
    // its id.
    let issuer = iam
        .account_alias(account)
        .await?
        .unwrap_or_else(|| account.as_str().to_owned());
    let seed = Sensitive::new(base32(device.seed.expose()));
    let uri = Sensitive::new(format!(
        "otpauth://totp/{}@{issuer}?secret={}",
        input.virtual_mfa_device_name,
        seed.expose()
    ));
    let qr = png::qr_code(uri.expose())
        .ok_or_else(|| ServiceError::internal("The MFA device's QR code could not be drawn."))?;
    Ok(CreateVirtualMFADeviceResponse {
        virtual_mfa_device: VirtualMFADevice {
            serial_number: serial,
            base32_string_seed: Some(Sensitive::new(Blob(seed.expose().as_bytes().to_vec()))),
            qr_code_png: Some(Sensitive::new(Blob(qr))),
            user: None,
            enable_date: None,
            tags: tag_list(&device.tags),
        },
    })
}

pub(crate) async fn enable(
    iam: &IamState,
    ctx: &RequestContext,
    input: EnableMFADeviceRequest,
) -> Result<(), ServiceError> {
    let account = ctx.account();
    let input = &input;
    iam.mutate(move || async move {
        let mut user = iam.entity::<UserRecord>(account, &input.user_name).await?;
        let mut device = iam.device(account, &input.serial_number).await?;
        if device.value.user.is_some() {
            return Err(errors::entity_already_exists_exception(
                "MFA Device is already in use.",
            ));
        }
        if user.value.mfa_devices.len() >= MAX_DEVICES_PER_USER {
            return Err(errors::limit_exceeded_exception(format!(
                "Cannot exceed quota for MFADevicesPerUser: {MAX_DEVICES_PER_USER}"
            )));
        }
        let now = iam.now();
        let step = device
            .value
            .consecutive(
                totp::step(now),
                WINDOW,
                &input.authentication_code1,
                &input.authentication_code2,
            )
            .ok_or_else(invalid_codes)?;
        device.value.user = Some(user.value.name.clone());
        device.value.enabled = Some(now);
        device.value.last_step = Some(step);
        device.value.drift = 0;
        user.value.mfa_devices.push(device.value.serial.clone());
        let txn = write_entity(Transaction::new(), account, &user)?;
        let txn = device.replace(
            txn,
            IAM,
            &key(account, &input.serial_number),
            sealed(&device.value)?,
        );
        Ok((txn, ()))
    })
    .await
}

/// The device `serial` of the user, which must be enabled for that user.
async fn users_device(
    iam: &IamState,
    account: &AccountId,
    user: &UserRecord,
    serial: &str,
) -> Result<Stored<DeviceRecord>, ServiceError> {
    if !user.mfa_devices.iter().any(|s| s == serial) {
        return Err(errors::no_such_entity_exception(format!(
            "MFA Device with serial number {serial} does not exist for user {}.",
            user.name
        )));
    }
    iam.device(account, serial).await
}

pub(crate) async fn resync(
    iam: &IamState,
    ctx: &RequestContext,
    input: ResyncMFADeviceRequest,
) -> Result<(), ServiceError> {
    let account = ctx.account();
    let input = &input;
    iam.mutate(move || async move {
        let user = iam.entity::<UserRecord>(account, &input.user_name).await?;
        let mut device = users_device(iam, account, &user.value, &input.serial_number).await?;
        let now = totp::step(iam.now());
        let step = device
            .value
            .consecutive(
                now,
                RESYNC_WINDOW,
                &input.authentication_code1,
                &input.authentication_code2,
            )
            .ok_or_else(invalid_codes)?;
        device.value.drift = step - now;
        device.value.last_step = Some(step);
        let txn = device.replace(
            Transaction::new(),
            IAM,
            &key(account, &input.serial_number),
            sealed(&device.value)?,
        );
        Ok((txn, ()))
    })
    .await
}

pub(crate) async fn deactivate(
    iam: &IamState,
    ctx: &RequestContext,
    input: DeactivateMFADeviceRequest,
) -> Result<(), ServiceError> {
    let account = ctx.account();
    let Subject::User(name) = subject(ctx, input.user_name)? else {
        return Err(no_such_device(&input.serial_number));
    };
    let (name, serial) = (&name, &input.serial_number);
    iam.mutate(move || async move {
        let mut user = iam.entity::<UserRecord>(account, name).await?;
        let mut device = users_device(iam, account, &user.value, serial).await?;
        user.value.mfa_devices.retain(|s| s != serial);
        device.value.user = None;
        device.value.enabled = None;
        device.value.last_step = None;
        device.value.drift = 0;
        let txn = write_entity(Transaction::new(), account, &user)?;
        let txn = device.replace(txn, IAM, &key(account, serial), sealed(&device.value)?);
        Ok((txn, ()))
    })
    .await
}

pub(crate) async fn delete(
    iam: &IamState,
    ctx: &RequestContext,
    input: DeleteVirtualMFADeviceRequest,
) -> Result<(), ServiceError> {
    let account = ctx.account();
    let serial = &input.serial_number;
    iam.mutate(move || async move {
        let device = iam.device(account, serial).await?;
        if device.value.user.is_some() {
            return Err(errors::delete_conflict_exception(
                "MFA device is in use. Deactivate it before deleting it.",
            ));
        }
        let key = key(account, serial);
        let txn = Transaction::new()
            .expect_version(IAM, &key, device.version)
            .delete(IAM, &key);
        Ok((txn, ()))
    })
    .await
}

pub(crate) async fn get(
    iam: &IamState,
    ctx: &RequestContext,
    input: GetMFADeviceRequest,
) -> Result<GetMFADeviceResponse, ServiceError> {
    let device = iam.device(ctx.account(), &input.serial_number).await?.value;
    let (Some(user), Some(enabled)) = (device.user, device.enabled) else {
        return Err(no_such_device(&input.serial_number));
    };
    if input
        .user_name
        .as_deref()
        .is_some_and(|name| !same_name(name, &user))
    {
        return Err(no_such_device(&input.serial_number));
    }
    Ok(GetMFADeviceResponse {
        user_name: Some(user),
        serial_number: device.serial,
        enable_date: Some(timestamp(enabled)),
        certifications: None,
    })
}

pub(crate) async fn list(
    iam: &IamState,
    ctx: &RequestContext,
    input: ListMFADevicesRequest,
) -> Result<ListMFADevicesResponse, ServiceError> {
    let account = ctx.account();
    let page = PageRequest::new(input.marker.as_deref(), input.max_items)?;
    let Subject::User(name) = subject(ctx, input.user_name)? else {
        // The root user's MFA is not managed by IAM here.
        return Ok(ListMFADevicesResponse {
            mfa_devices: Vec::new(),
            is_truncated: Some(false),
            marker: None,
        });
    };
    let user = iam.entity::<UserRecord>(account, &name).await?.value;
    let mut devices = Vec::new();
    for serial in &user.mfa_devices {
        let device = iam.device(account, serial).await?.value;
        devices.push(MFADevice {
            user_name: user.name.clone(),
            serial_number: device.serial,
            enable_date: timestamp(device.enabled.unwrap_or(device.created)),
        });
    }
    let page = page.take_sorted(devices, |device| device.serial_number.clone());
    Ok(ListMFADevicesResponse {
        mfa_devices: page.items,
        is_truncated: Some(page.marker.is_some()),
        marker: page.marker,
    })
}

pub(crate) async fn list_virtual(
    iam: &IamState,
    ctx: &RequestContext,
    input: ListVirtualMFADevicesRequest,
) -> Result<ListVirtualMFADevicesResponse, ServiceError> {
    let account = ctx.account();
    let page = PageRequest::new(input.marker.as_deref(), input.max_items)?;
    let wanted = |device: &DeviceRecord| match input.assignment_status {
        Some(AssignmentStatusType::Assigned) => device.user.is_some(),
        Some(AssignmentStatusType::Unassigned) => device.user.is_none(),
        _ => true,
    };
    let page = iam
        .scan_page(&db::prefix(account, Kind::Mfa), &page, wanted)
        .await?;
    let mut devices = Vec::with_capacity(page.items.len());
    for device in &page.items {
        let user = match &device.user {
            Some(name) => iam
                .get::<UserRecord>(IAM, &db::key(account, Kind::User, name))
                .await?
                .map(|user| user.value.to_api_summary(account)),
            None => None,
        };
        devices.push(VirtualMFADevice {
            serial_number: device.serial.clone(),
            base32_string_seed: None,
            qr_code_png: None,
            user,
            enable_date: device.enabled.map(timestamp),
            tags: tag_list(&device.tags),
        });
    }
    Ok(ListVirtualMFADevicesResponse {
        virtual_mfa_devices: devices,
        is_truncated: page.is_truncated(),
        marker: page.marker,
    })
}

/// Applies `change` to the device `serial`.
async fn change_device(
    iam: &IamState,
    account: &AccountId,
    serial: &str,
    change: impl Fn(&mut DeviceRecord) -> Result<(), ServiceError>,
) -> Result<(), ServiceError> {
    let change = &change;
    iam.mutate(move || async move {
        let mut device = iam.device(account, serial).await?;
        change(&mut device.value)?;
        let txn = device.replace(
            Transaction::new(),
            IAM,
            &key(account, serial),
            sealed(&device.value)?,
        );
        Ok((txn, ()))
    })
    .await
}

pub(crate) async fn tag(
    iam: &IamState,
    ctx: &RequestContext,
    input: TagMFADeviceRequest,
) -> Result<(), ServiceError> {
    change_device(iam, ctx.account(), &input.serial_number, |device| {
        tags::add(&mut device.tags, input.tags.clone())
    })
    .await
}

pub(crate) async fn untag(
    iam: &IamState,
    ctx: &RequestContext,
    input: UntagMFADeviceRequest,
) -> Result<(), ServiceError> {
    change_device(iam, ctx.account(), &input.serial_number, |device| {
        tags::remove(&mut device.tags, &input.tag_keys);
        Ok(())
    })
    .await
}

pub(crate) async fn list_tags(
    iam: &IamState,
    ctx: &RequestContext,
    input: ListMFADeviceTagsRequest,
) -> Result<ListMFADeviceTagsResponse, ServiceError> {
    let page = PageRequest::new(input.marker.as_deref(), input.max_items)?;
    let device = iam.device(ctx.account(), &input.serial_number).await?;
    let page = tags::page(&device.value.tags, &page);
    Ok(ListMFADeviceTagsResponse {
        is_truncated: page.is_truncated(),
        tags: page.items,
        marker: page.marker,
    })
}
