use std::time::Duration;

use palisade_model_iam::Iam;
use palisade_model_iam::types::*;

use crate::common::*;

#[test]
fn the_test_totp_matches_rfc_6238() {
    assert_eq!(totp(b"12345678901234567890", 59), "287082");
    assert_eq!(totp(b"12345678901234567890", 1_111_111_109), "081804");
}

#[tokio::test]
async fn virtual_mfa_devices() {
    let h = Harness::new().await;
    let iam = h.iam();
    let ctx = &h.root;
    iam.create_user(
        ctx,
        CreateUserRequest {
            user_name: "mallory".into(),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let device = iam
        .create_virtual_mfa_device(
            ctx,
            CreateVirtualMFADeviceRequest {
                virtual_mfa_device_name: "phone".into(),
                path: None,
                tags: None,
            },
        )
        .await
        .unwrap()
        .virtual_mfa_device;
    let serial = device.serial_number.clone();
    assert_eq!(serial, "arn:aws:iam::000000000000:mfa/phone");
    let seed_text =
        String::from_utf8(device.base32_string_seed.unwrap().expose().0.clone()).unwrap();
    assert_eq!(seed_text.len(), 64);
    let png = device.qr_code_png.unwrap().expose().0.clone();
    assert!(png.starts_with(b"\x89PNG\r\n\x1a\n"));
    let seed = base32_decode(&seed_text);
    assert_error(
        iam.create_virtual_mfa_device(
            ctx,
            CreateVirtualMFADeviceRequest {
                virtual_mfa_device_name: "phone".into(),
                path: None,
                tags: None,
            },
        )
        .await,
        "EntityAlreadyExists",
        "MFADevice entity at the same path and name already exists.",
    );

    let unassigned = iam
        .list_virtual_mfa_devices(
            ctx,
            ListVirtualMFADevicesRequest {
                assignment_status: Some(AssignmentStatusType::Unassigned),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(unassigned.virtual_mfa_devices.len(), 1);
    assert!(
        unassigned.virtual_mfa_devices[0]
            .base32_string_seed
            .is_none(),
        "the seed is shown once"
    );

    let now = h.now();
    let enable = |first: String, second: String| EnableMFADeviceRequest {
        user_name: "mallory".into(),
        serial_number: serial.clone(),
        authentication_code1: first,
        authentication_code2: second,
    };
    assert_error(
        iam.enable_mfa_device(ctx, enable(totp(&seed, now), totp(&seed, now - 30)))
            .await,
        "InvalidAuthenticationCode",
        "Authentication code for device is not valid.",
    );
    // Two consecutive codes: the previous step's and the current one's.
    iam.enable_mfa_device(ctx, enable(totp(&seed, now - 30), totp(&seed, now)))
        .await
        .unwrap();
    assert_error(
        iam.enable_mfa_device(ctx, enable(totp(&seed, now), totp(&seed, now + 30)))
            .await,
        "EntityAlreadyExists",
        "MFA Device is already in use.",
    );

    let devices = iam
        .list_mfa_devices(
            ctx,
            ListMFADevicesRequest {
                user_name: Some("mallory".into()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(devices.mfa_devices.len(), 1);
    assert_eq!(devices.mfa_devices[0].serial_number, serial);
    assert_eq!(devices.mfa_devices[0].enable_date.0, now as f64);
    let assigned = iam
        .list_virtual_mfa_devices(
            ctx,
            ListVirtualMFADevicesRequest {
                assignment_status: Some(AssignmentStatusType::Assigned),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(
        assigned.virtual_mfa_devices[0]
            .user
            .as_ref()
            .unwrap()
            .user_name,
        "mallory"
    );

    // STS's check: the enabling codes are spent; the next step's code is good once.
    let account = account();
    assert!(
        !iam.verify_mfa_code(&account, &serial, &totp(&seed, now))
            .await
            .unwrap()
    );
    h.clock.advance(Duration::from_secs(30));
    let current = totp(&seed, h.now());
    assert!(
        iam.verify_mfa_code(&account, &serial, &current)
            .await
            .unwrap()
    );
    assert!(
        !iam.verify_mfa_code(&account, &serial, &current)
            .await
            .unwrap(),
        "a code is good once"
    );
    h.clock.advance(Duration::from_secs(30));
    assert!(
        !iam.verify_mfa_code(&account, "arn:aws:iam::000000000000:mfa/none", "123456")
            .await
            .unwrap()
    );

    // A device whose clock runs five minutes fast is resynchronised.
    h.clock.advance(Duration::from_secs(600));
    let fast = h.now() + 300;
    assert!(
        !iam.verify_mfa_code(&account, &serial, &totp(&seed, fast))
            .await
            .unwrap()
    );
    iam.resync_mfa_device(
        ctx,
        ResyncMFADeviceRequest {
            user_name: "mallory".into(),
            serial_number: serial.clone(),
            authentication_code1: totp(&seed, fast - 30),
            authentication_code2: totp(&seed, fast),
        },
    )
    .await
    .unwrap();
    h.clock.advance(Duration::from_secs(90));
    assert!(
        iam.verify_mfa_code(&account, &serial, &totp(&seed, h.now() + 300))
            .await
            .unwrap()
    );

    assert_error(
        iam.delete_user(
            ctx,
            DeleteUserRequest {
                user_name: "mallory".into(),
            },
        )
        .await,
        "DeleteConflict",
        "Cannot delete entity, must delete MFA device first.",
    );
    assert_eq!(
        code(
            &iam.delete_virtual_mfa_device(
                ctx,
                DeleteVirtualMFADeviceRequest {
                    serial_number: serial.clone()
                }
            )
            .await
            .unwrap_err()
        ),
        "DeleteConflict"
    );
    iam.deactivate_mfa_device(
        ctx,
        DeactivateMFADeviceRequest {
            user_name: Some("mallory".into()),
            serial_number: serial.clone(),
        },
    )
    .await
    .unwrap();
    assert!(
        !iam.verify_mfa_code(&account, &serial, &totp(&seed, h.now() + 300))
            .await
            .unwrap()
    );
    iam.delete_virtual_mfa_device(
        ctx,
        DeleteVirtualMFADeviceRequest {
            serial_number: serial.clone(),
        },
    )
    .await
    .unwrap();
    iam.delete_user(
        ctx,
        DeleteUserRequest {
            user_name: "mallory".into(),
        },
    )
    .await
    .unwrap();
    let all = iam
        .list_virtual_mfa_devices(ctx, ListVirtualMFADevicesRequest::default())
        .await
        .unwrap();
    assert!(all.virtual_mfa_devices.is_empty());
}

#[tokio::test]
async fn mfa_seeds_are_sealed_at_rest() {
    let h = Harness::new().await;
    let device = h
        .iam()
        .create_virtual_mfa_device(
            &h.root,
            CreateVirtualMFADeviceRequest {
                virtual_mfa_device_name: "token".into(),
                path: Some("/p/".into()),
                tags: None,
            },
        )
        .await
        .unwrap()
        .virtual_mfa_device;
    assert_eq!(
        device.serial_number,
        "arn:aws:iam::000000000000:mfa/p/token"
    );
    let seed =
        base32_decode(std::str::from_utf8(&device.base32_string_seed.unwrap().expose().0).unwrap());
    for entry in std::fs::read_dir(h.dir.path()).unwrap() {
        let bytes = std::fs::read(entry.unwrap().path()).unwrap();
        assert!(!bytes.windows(seed.len()).any(|w| w == seed.as_slice()));
    }
}
