//! `tests/service.rs`: checks that the trait, its dispatch and the tables fit together.
//!
//! An integration test rather than unit tests: it links the library as built, instead of
//! compiling the whole generated crate a second time under `cfg(test)`.

use super::line;
use crate::lower::Service;

pub fn service_rs(service: &Service) -> String {
    let trait_name = &service.trait_name;
    let crate_name = format!("palisade_model_{}", service.name.replace('-', "_"));
    let mut out = String::new();
    line!(
        out,
        "//! The generated trait, dispatch and tables of the {} model fit together.",
        service.meta.service_id
    );
    line!(out);
    line!(out, "use std::net::{{IpAddr, Ipv4Addr}};");
    line!(out, "use std::pin::pin;");
    line!(out, "use std::task::{{Context, Poll, Waker}};");
    line!(out, "use std::time::SystemTime;");
    line!(out);
    line!(out, "use palisade_core::model::ShapeKind;");
    line!(out, "use palisade_core::service::CommonError;");
    line!(
        out,
        "use palisade_core::{{AccountId, Principal, Region, RequestContext, Service, Value}};"
    );
    line!(
        out,
        "use {crate_name}::{{{trait_name}, {trait_name}Service, MODEL}};"
    );
    line!(out);
    line!(
        out,
        "/// A service that builds nothing: every method keeps its default."
    );
    line!(out, "struct NotBuilt;");
    line!(out);
    line!(out, "impl {trait_name} for NotBuilt {{}}");
    line!(out);
    line!(
        out,
        "/// Polls `future` once; the default methods never wait, so once is enough."
    );
    line!(
        out,
        "fn poll_once<F: Future>(future: F) -> Option<F::Output> {{"
    );
    line!(out, "    let mut future = pin!(future);");
    line!(
        out,
        "    match future.as_mut().poll(&mut Context::from_waker(Waker::noop())) {{"
    );
    line!(out, "        Poll::Ready(output) => Some(output),");
    line!(out, "        Poll::Pending => None,");
    line!(out, "    }}");
    line!(out, "}}");
    line!(out);
    line!(out, "fn context() -> Option<RequestContext> {{");
    line!(out, "    Some(RequestContext {{");
    line!(out, "        request_id: \"test\".to_owned(),");
    line!(
        out,
        "        principal: Principal::root(AccountId::parse(\"123456789012\")?, \"AKIDEXAMPLE\"),"
    );
    line!(out, "        region: Region::parse(\"us-east-1\")?,");
    line!(out, "        source_ip: IpAddr::V4(Ipv4Addr::LOCALHOST),");
    line!(out, "        user_agent: \"test\".to_owned(),");
    line!(out, "        time: SystemTime::UNIX_EPOCH,");
    line!(out, "        secure_transport: true,");
    line!(out, "    }})");
    line!(out, "}}");
    line!(out);
    line!(out, "#[test]");
    line!(out, "fn an_empty_implementation_is_a_service() {{");
    line!(
        out,
        "    let service: Box<dyn Service> = Box::new({trait_name}Service(std::sync::Arc::new(NotBuilt)));"
    );
    line!(out, "    assert!(std::ptr::eq(service.model(), &MODEL));");
    line!(out, "}}");
    line!(out);
    line!(out, "#[test]");
    line!(out, "fn the_tables_hold_every_operation() {{");
    line!(
        out,
        "    assert_eq!(MODEL.operations().count(), {});",
        service.operations.len()
    );
    line!(
        out,
        "    let names: Vec<&str> = MODEL.operations().map(|operation| operation.name).collect();"
    );
    line!(
        out,
        "    assert!(names.windows(2).all(|pair| pair[0] < pair[1]));"
    );
    line!(out, "    for operation in MODEL.operations() {{");
    line!(
        out,
        "        assert_eq!(MODEL.operation(operation.name).map(|found| found.name), Some(operation.name));"
    );
    line!(
        out,
        "        for id in operation.input.iter().chain(&operation.output).chain(operation.errors) {{"
    );
    line!(out, "            assert!(MODEL.shape(*id).is_some());");
    line!(out, "        }}");
    line!(out, "    }}");
    line!(out, "}}");
    line!(out);
    line!(out, "#[test]");
    line!(out, "fn every_operation_dispatches_to_its_default() {{");
    line!(
        out,
        "    let service = {trait_name}Service(std::sync::Arc::new(NotBuilt));"
    );
    line!(out, "    let ctx = context().unwrap();");
    line!(out, "    for operation in MODEL.operations() {{");
    line!(
        out,
        "        // An empty input lacks the required members (a serialization error); without"
    );
    line!(out, "        // any, the call reaches the default method.");
    line!(
        out,
        "        let requires = operation.input.and_then(|id| MODEL.shape(id)).is_some_and(|shape| {{"
    );
    line!(
        out,
        "            matches!(&shape.kind, ShapeKind::Structure(s) if s.members.iter().any(|m| m.required))"
    );
    line!(out, "        }});");
    line!(
        out,
        "        let result = poll_once(service.call(&ctx, operation, Value::empty_struct())).unwrap();"
    );
    line!(out, "        let expected = if requires {{");
    line!(out, "            CommonError::Serialization");
    line!(out, "        }} else {{");
    line!(out, "            CommonError::NotImplemented");
    line!(out, "        }};");
    line!(
        out,
        "        assert_eq!(result.unwrap_err().common_kind(), Some(expected), \"{{}}\", operation.name);"
    );
    line!(out, "    }}");
    line!(out, "}}");
    if service.name == "kms" {
        out.push_str(KMS_TESTS);
    }
    out
}

/// Typed round trips, written against the KMS model: a sensitive blob, a map, an enum, and an
/// enum value the model does not know.
const KMS_TESTS: &str = r#"
#[test]
fn encrypt_requests_round_trip_through_values() {
    use std::collections::BTreeMap;

    use palisade_core::Sensitive;
    use palisade_core::value::{Blob, FromValue, IntoValue};
    use palisade_model_kms::types::{EncryptRequest, EncryptionAlgorithmSpec};

    assert!(MODEL.operation("Encrypt").is_some());
    let request = EncryptRequest {
        key_id: "alias/example".to_owned(),
        plaintext: Sensitive::new(Blob(b"hunter2".to_vec())),
        encryption_context: Some(BTreeMap::from([("purpose".to_owned(), "test".to_owned())])),
        grant_tokens: None,
        encryption_algorithm: Some(EncryptionAlgorithmSpec::RsaesOaepSha256),
        dry_run: Some(false),
    };
    assert!(!format!("{request:?}").contains("hunter2"));
    let value = request.clone().into_value();
    assert_eq!(value.get("KeyId").and_then(Value::as_str), Some("alias/example"));
    assert_eq!(
        value.get("EncryptionAlgorithm").and_then(Value::as_str),
        Some("RSAES_OAEP_SHA_256")
    );
    assert!(value.get("GrantTokens").is_none());
    assert_eq!(EncryptRequest::from_value(value).unwrap(), request);

    let future = EncryptionAlgorithmSpec::from("SOME_FUTURE_ALGORITHM");
    assert_eq!(future.as_str(), "SOME_FUTURE_ALGORITHM");
    assert_eq!(EncryptionAlgorithmSpec::from_value(future.clone().into_value()).unwrap(), future);
    assert_eq!(EncryptionAlgorithmSpec::SymmetricDefault.to_string(), "SYMMETRIC_DEFAULT");
}
"#;
