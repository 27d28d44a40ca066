//! awsQuery: routing by `Action` and `Version`, flattened parameters, XML responses and errors.

use palisade_core::Value;
use palisade_core::model::Protocol;
use palisade_core::service::{CommonError, ServiceError};
use palisade_wire::{encode, encode_error};

use crate::models;
use crate::support::*;

const FORM: &[(&str, &str)] = &[(
    "content-type",
    "application/x-www-form-urlencoded; charset=utf-8",
)];

fn form() -> http::request::Parts {
    parts("POST", "/", FORM)
}

fn echo(params: &str) -> Result<Value, ServiceError> {
    let body = format!("Action=Echo&Version=2011-06-15&{params}");
    decode(&form(), body.as_bytes())
}

#[test]
fn routes_by_version_signing_name_and_host() {
    let routed = route(&form(), b"Action=Echo&Version=2011-06-15", None);
    assert_eq!(routed.model.name, "querytest");
    assert_eq!(routed.protocol, Protocol::Query);
    assert_eq!(routed.operation.name, "Echo");
    let body = b"Action=Echo&Version=2010-08-01";
    assert_eq!(route(&form(), body, None).model.name, "multitest");
    // Without a version, the signing name or the host decides.
    let body = b"Action=Echo";
    assert_eq!(route(&form(), body, Some("multi")).model.name, "multitest");
    let hosted = parts(
        "POST",
        "/",
        &[FORM[0], ("host", "querytest.us-west-2.amazonaws.com")],
    );
    assert_eq!(route(&hosted, body, None).model.name, "querytest");
}

#[test]
fn a_get_with_the_action_in_the_url_is_awsquery() {
    let get = parts("GET", "/?Action=Ping&Version=2011-06-15", &[]);
    let route = route(&get, b"", None);
    assert_eq!(route.model.name, "querytest");
    assert_eq!(route.operation.name, "Ping");
    let get = parts(
        "GET",
        "/?Action=Echo&Version=2011-06-15&Name=from%20url",
        &[],
    );
    assert_eq!(decode(&get, b"").unwrap(), obj(&[("Name", s("from url"))]));
}

#[test]
fn missing_and_unknown_actions_answer_as_aws_does() {
    let error = try_route(&form(), b"Version=2011-06-15", None).unwrap_err();
    assert_eq!(error.error.common_kind(), Some(CommonError::MissingAction));
    assert_eq!(error.error.message, "Missing Action");
    let response = error.into_response("req-1");
    assert_eq!(response.status(), 400);
    assert!(text_body(&response).contains("<Code>MissingAction</Code>"));

    let error = try_route(&form(), b"Action=Nope&Version=2011-06-15", None).unwrap_err();
    assert_eq!(
        error.error.common_kind(),
        Some(CommonError::UnknownOperation)
    );
    assert_eq!(
        error.error.message,
        "Could not find operation Nope for version 2011-06-15"
    );
    let response = error.into_response("req-2");
    assert_eq!(response.status(), 400);
    assert!(text_body(&response).contains("<Code>InvalidAction</Code>"));

    // A version no service has is as unknown as a missing operation.
    let error = try_route(
        &form(),
        b"Action=Echo&Version=1999-01-01",
        Some("querytest"),
    )
    .unwrap_err();
    assert_eq!(
        error.error.message,
        "Could not find operation Echo for version 1999-01-01"
    );
}

#[test]
fn flattened_parameters_decode_into_structures_lists_and_maps() {
    let value = echo(
        "Name=alice+smith&Count=7&Big=-5&Ratio=0.5&Precise=Infinity&Flag=true&Data=aGk%3D\
         &When=2024-01-01T00%3A00%3A00.250000Z&WhenIso=2024-01-01T00%3A00%3A00Z\
         &Tags.member.2=second&Tags.member.1=first&Tags.member.10=tenth\
         &Labels.entry.1.key=a&Labels.entry.1.value=1&Labels.entry.2.key=b&Labels.entry.2.value=2\
         &Node.Name=root&Node.Child.Name=leaf\
         &Items.item.1.Key=k1&Items.item.1.Value=v1&Items.item.2.Key=k2\
         &renamedOnWire=r&Unknown.Param=ignored",
    )
    .unwrap();
    let expected = obj(&[
        ("Name", s("alice smith")),
        ("Count", Value::Int(7)),
        ("Big", Value::Int(-5)),
        ("Ratio", Value::Float(0.5)),
        ("Precise", Value::Float(f64::INFINITY)),
        ("Flag", Value::Bool(true)),
        ("Data", Value::Blob(b"hi".to_vec())),
        ("When", Value::Timestamp(1_704_067_200.25)),
        ("WhenIso", Value::Timestamp(1_704_067_200.0)),
        (
            "Tags",
            Value::List(vec![s("first"), s("second"), s("tenth")]),
        ),
        ("Labels", obj(&[("a", Value::Int(1)), ("b", Value::Int(2))])),
        (
            "Node",
            obj(&[("Name", s("root")), ("Child", obj(&[("Name", s("leaf"))]))]),
        ),
        (
            "Items",
            Value::List(vec![
                obj(&[("Key", s("k1")), ("Value", s("v1"))]),
                obj(&[("Key", s("k2"))]),
            ]),
        ),
        ("Renamed", s("r")),
    ]);
    assert_eq!(value, expected);
}

#[test]
fn an_empty_list_is_sent_as_a_bare_name() {
    let value = echo("Name=n&Tags=").unwrap();
    assert_eq!(value.get("Tags"), Some(&Value::List(Vec::new())));
    let value = echo("Name=n&Tags.member.x=1&Tags.member.0=zero").unwrap();
    assert_eq!(value.get("Tags"), None, "indices must be positive numbers");
}

#[test]
fn wrong_types_are_validation_errors_naming_the_parameter() {
    let (kind, message) = common(echo("Name=n&Count=seven"));
    assert_eq!(kind, CommonError::Validation);
    assert_eq!(
        message,
        "1 validation error detected: Value 'seven' at 'Count' failed to satisfy constraint: Member must be an Integer"
    );
    let (_, message) = common(echo("Name=n&Count=99999999999"));
    assert!(message.contains("'Count'"), "{message}");
    let (_, message) = common(echo("Name=n&Flag=yes"));
    assert!(message.ends_with("Member must be a Boolean"), "{message}");
    let (_, message) = common(echo("Name=n&When=tomorrow"));
    assert!(message.ends_with("Member must be a Timestamp"), "{message}");
    let (_, message) = common(echo("Name=n&Secret=hunter%21"));
    assert!(!message.contains("hunter"), "{message}");
    let (_, message) = common(echo(
        "Name=n&Tags.member.1=a&Node.Child.Child.Name=x&Items.item.1.Key=k&Count=x",
    ));
    assert!(message.contains("'Count'"), "{message}");
}

#[test]
fn undecodable_forms_are_malformed_input() {
    let body = b"Action=Echo&Version=2011-06-15&Name=%FF";
    let error = try_route(&form(), body, None).unwrap_err();
    assert_eq!(error.error.common_kind(), Some(CommonError::Serialization));
    let response = error.into_response("r");
    assert_eq!(response.status(), 400);
    assert!(text_body(&response).contains("<Code>MalformedInput</Code>"));
}

#[test]
fn deep_parameter_paths_are_refused() {
    let name = format!("Node{}.Name", ".Child".repeat(80));
    let (kind, _) = common(echo(&format!("Name=n&{name}=x")));
    assert_eq!(kind, CommonError::Serialization);
}

#[test]
fn validation_runs_on_query_input() {
    let (kind, message) = common(echo("Count=500"));
    assert_eq!(kind, CommonError::Validation);
    assert!(
        message.starts_with("2 validation errors detected"),
        "{message}"
    );
}

#[test]
fn responses_wrap_the_result_and_carry_the_request_id() {
    let route = route(&form(), b"Action=Echo&Version=2011-06-15", None);
    let output = obj(&[
        ("Name", s("a<b>&c")),
        ("Count", Value::Int(3)),
        ("Flag", Value::Bool(true)),
        ("Precise", Value::Float(f64::NEG_INFINITY)),
        ("Data", Value::Blob(b"hi".to_vec())),
        ("When", Value::Timestamp(1_704_067_200.0)),
        ("Tags", Value::List(vec![s("x"), s("y")])),
        ("Labels", obj(&[("k", Value::Int(1))])),
        ("Items", Value::List(vec![obj(&[("Key", s("k"))])])),
        ("Node", obj(&[("Child", obj(&[("Name", s("leaf"))]))])),
        ("Renamed", s("r")),
    ]);
    let response = encode(&route, &output, "req-7");
    assert_eq!(response.status(), 200);
    assert_eq!(header(&response, "content-type"), Some("text/xml"));
    assert_eq!(header(&response, "x-amzn-requestid"), Some("req-7"));
    assert_eq!(
        text_body(&response),
        concat!(
            r#"<EchoResponse xmlns="https://querytest.amazonaws.com/doc/2011-06-15/"><EchoResult>"#,
            "<Name>a&lt;b&gt;&amp;c</Name><Count>3</Count><Precise>-Infinity</Precise>",
            "<Flag>true</Flag><Data>aGk=</Data><When>2024-01-01T00:00:00.000Z</When>",
            "<Tags><member>x</member><member>y</member></Tags>",
            "<Labels><entry><key>k</key><value>1</value></entry></Labels>",
            "<Node><Child><Name>leaf</Name></Child></Node>",
            "<Items><item><Key>k</Key></item></Items>",
            "<renamedOnWire>r</renamedOnWire>",
            "</EchoResult><ResponseMetadata><RequestId>req-7</RequestId></ResponseMetadata></EchoResponse>"
        )
    );
}

#[test]
fn operations_without_output_answer_only_metadata() {
    let route = route(&form(), b"Action=Ping&Version=2011-06-15", None);
    let response = encode(&route, &Value::empty_struct(), "req-8");
    assert_eq!(
        text_body(&response),
        r#"<PingResponse xmlns="https://querytest.amazonaws.com/doc/2011-06-15/"><ResponseMetadata><RequestId>req-8</RequestId></ResponseMetadata></PingResponse>"#
    );
}

#[test]
fn errors_are_error_responses() {
    let error = ServiceError::common(
        CommonError::UnrecognizedClient,
        "The security token included in the request is invalid & <bad>.",
    );
    let response = encode_error(Protocol::Query, Some(&*models::QUERY), &error, "req-3");
    assert_eq!(response.status(), 403);
    assert_eq!(header(&response, "content-type"), Some("text/xml"));
    assert_eq!(
        text_body(&response),
        concat!(
            r#"<ErrorResponse xmlns="https://querytest.amazonaws.com/doc/2011-06-15/"><Error>"#,
            "<Type>Sender</Type><Code>InvalidClientTokenId</Code>",
            "<Message>The security token included in the request is invalid &amp; &lt;bad&gt;.</Message>",
            "</Error><RequestId>req-3</RequestId></ErrorResponse>"
        )
    );
    assert_eq!(header(&response, "x-amzn-errortype"), None);
    let unrouted = encode_error(Protocol::Query, None, &ServiceError::internal("x"), "r");
    assert_eq!(unrouted.status(), 500);
    assert!(
        text_body(&unrouted)
            .starts_with("<ErrorResponse><Error><Type>Receiver</Type><Code>InternalFailure</Code>")
    );
}
