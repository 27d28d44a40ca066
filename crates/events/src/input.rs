//! What a target receives for an event, as EventBridge documents it: the whole event; `Input`, a
//! constant JSON text; `InputPath`, the part of the event a JSON path selects; or
//! `InputTransformer`, a template whose `<name>` placeholders are filled from the event.
//!
//! JSON paths are the simple kind EventBridge evaluates: `$`, then `.name` and `[index]` steps.
//! A path that selects nothing fills its placeholder with `null` (or nothing, inside a string).
//!
//! A template that is JSON (it starts with `{`, `[` or `"`) gets JSON: outside a string literal
//! a value is written as JSON (a string with its quotes), inside one as the string's escaped
//! text. Any other template is text, and values are written as they are (a string without
//! quotes). Besides the template's own variables, the reserved ones are
//! `<aws.events.rule-arn>`, `<aws.events.rule-name>`, `<aws.events.event.ingestion-time>`,
//! `<aws.events.event>` (the event without its `detail`) and `<aws.events.event.json>` (the
//! whole event).

use std::collections::HashMap;

use palisade_model_events::types::{InputTransformer, Target};
use serde_json::Value;

/// The rule an event matched, and when EventBridge received the event: what the reserved
/// variables of a template name.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Invocation<'a> {
    pub rule_arn: &'a str,
    pub rule_name: &'a str,
    /// RFC 3339, as the event's `time`.
    pub ingestion_time: &'a str,
}

/// The text `target` receives for `event` (a full envelope), or why there is none.
pub(crate) fn target_input(
    target: &Target,
    event: &Value,
    invocation: Invocation<'_>,
) -> Result<String, String> {
    if let Some(constant) = &target.input {
        return Ok(constant.clone());
    }
    if let Some(path) = &target.input_path {
        return select(event, path)
            .map(Value::to_string)
            .ok_or_else(|| format!("InputPath {path} selects nothing in the event"));
    }
    if let Some(transformer) = &target.input_transformer {
        return Ok(transform(transformer, event, invocation));
    }
    Ok(event.to_string())
}

/// The value at the JSON path `path` in `event`.
pub(crate) fn select<'a>(event: &'a Value, path: &str) -> Option<&'a Value> {
    let mut rest = path.trim().strip_prefix('$')?;
    let mut here = event;
    while !rest.is_empty() {
        if let Some(after) = rest.strip_prefix('.') {
            let end = after.find(['.', '[']).unwrap_or(after.len());
            let (name, tail) = after.split_at_checked(end)?;
            here = here.get(name)?;
            rest = tail;
        } else {
            let (index, tail) = rest.strip_prefix('[')?.split_once(']')?;
            here = here.get(index.trim().parse::<usize>().ok()?)?;
            rest = tail;
        }
    }
    Some(here)
}

fn transform(transformer: &InputTransformer, event: &Value, invocation: Invocation<'_>) -> String {
    let mut variables: HashMap<&str, Option<Value>> = transformer
        .input_paths_map
        .iter()
        .flatten()
        .map(|(name, path)| (name.as_str(), select(event, path).cloned()))
        .collect();
    // Reserved: a template's own variable cannot take these names.
    let text = |text: &str| Some(Value::String(text.to_owned()));
    variables.insert("aws.events.rule-arn", text(invocation.rule_arn));
    variables.insert("aws.events.rule-name", text(invocation.rule_name));
    variables.insert(
        "aws.events.event.ingestion-time",
        text(invocation.ingestion_time),
    );
    let mut without_detail = event.clone();
    if let Some(fields) = without_detail.as_object_mut() {
        fields.remove("detail");
    }
    variables.insert("aws.events.event", Some(without_detail));
    variables.insert("aws.events.event.json", Some(event.clone()));
    render(&transformer.input_template, &variables)
}

/// Where a placeholder sits, which decides how its value is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Place {
    /// In a JSON template, outside any string literal.
    JsonValue,
    /// In a JSON template, inside a string literal.
    JsonString,
    /// In a template that is not JSON.
    Text,
}

fn render(template: &str, variables: &HashMap<&str, Option<Value>>) -> String {
    let json = matches!(template.trim_start().chars().next(), Some('{' | '[' | '"'));
    let mut out = String::with_capacity(template.len());
    let mut in_string = false;
    let mut escaped = false;
    let mut rest = template;
    while let Some(next) = rest.chars().next() {
        if next == '<'
            && let Some((name, after)) = rest.get(1..).and_then(|tail| tail.split_once('>'))
            && let Some(value) = variables.get(name)
        {
            let place = match (json, in_string) {
                (false, _) => Place::Text,
                (true, false) => Place::JsonValue,
                (true, true) => Place::JsonString,
            };
            write_value(&mut out, value.as_ref(), place);
            rest = after;
            continue;
        }
        if json {
            if escaped {
                escaped = false;
            } else if in_string && next == '\\' {
                escaped = true;
            } else if next == '"' {
                in_string = !in_string;
            }
        }
        out.push(next);
        rest = rest.get(next.len_utf8()..).unwrap_or_default();
    }
    out
}

fn write_value(out: &mut String, value: Option<&Value>, place: Place) {
    match (value, place) {
        (None, Place::JsonValue) => out.push_str("null"),
        (None, Place::JsonString | Place::Text) => {}
        (Some(value), Place::JsonValue) => out.push_str(&value.to_string()),
        (Some(Value::String(text)), Place::Text) => out.push_str(text),
        (Some(value), Place::Text) => out.push_str(&value.to_string()),
        (Some(Value::String(text)), Place::JsonString) => out.push_str(&escaped(text)),
        (Some(value), Place::JsonString) => out.push_str(&escaped(&value.to_string())),
    }
}

/// `text` escaped for the inside of a JSON string literal.
fn escaped(text: &str) -> String {
    let quoted = Value::String(text.to_owned()).to_string();
    quoted
        .strip_prefix('"')
        .and_then(|inner| inner.strip_suffix('"'))
        .unwrap_or_default()
        .to_owned()
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use serde_json::json;

    use super::*;

    fn event() -> Value {
        json!({
            "version": "0",
            "id": "7bf73129-1428-4cd3-a780-95db273d1602",
            "detail-type": "EC2 Instance State-change Notification",
            "source": "aws.ec2",
            "account": "123456789012",
            "time": "2015-11-11T21:29:54Z",
            "region": "us-east-1",
            "resources": ["arn:aws:ec2:us-east-1:123456789012:instance/i-abcd1111"],
            "detail": {"instance-id": "i-0123456789", "state": "RUNNING", "tags": [1, 2]}
        })
    }

    const INVOCATION: Invocation<'static> = Invocation {
        rule_arn: "arn:aws:events:us-east-1:123456789012:rule/r",
        rule_name: "r",
        ingestion_time: "2015-11-11T21:29:55Z",
    };

    fn transformer(template: &str) -> Target {
        let paths = BTreeMap::from([
            ("instance".to_owned(), "$.detail.instance-id".to_owned()),
            ("state".to_owned(), "$.detail.state".to_owned()),
            ("tags".to_owned(), "$.detail.tags".to_owned()),
            ("missing".to_owned(), "$.detail.nothing".to_owned()),
        ]);
        Target {
            input_transformer: Some(InputTransformer {
                input_paths_map: Some(paths),
                input_template: template.to_owned(),
            }),
            ..Target::default()
        }
    }

    fn input(target: &Target) -> String {
        target_input(target, &event(), INVOCATION).unwrap()
    }

    #[test]
    fn without_settings_the_whole_event() {
        let whole: Value = serde_json::from_str(&input(&Target::default())).unwrap();
        assert_eq!(whole, event());
    }

    #[test]
    fn constant_input_and_input_path() {
        let constant = Target {
            input: Some(r#"{"fixed": true}"#.to_owned()),
            ..Target::default()
        };
        assert_eq!(input(&constant), r#"{"fixed": true}"#);
        let path = |path: &str| Target {
            input_path: Some(path.to_owned()),
            ..Target::default()
        };
        assert_eq!(
            input(&path("$.detail")),
            r#"{"instance-id":"i-0123456789","state":"RUNNING","tags":[1,2]}"#
        );
        assert_eq!(input(&path("$.detail.tags[1]")), "2");
        assert_eq!(
            input(&path("$.resources[0]")),
            r#""arn:aws:ec2:us-east-1:123456789012:instance/i-abcd1111""#
        );
        assert!(target_input(&path("$.detail.nothing"), &event(), INVOCATION).is_err());
    }

    #[test]
    fn json_templates_quote_values_outside_strings_only() {
        let target = transformer(
            r#"{"instance": <instance>, "state": [9, <state>, true], "tags": <tags>, "says": "<instance> is \"<state>\"", "gone": <missing>}"#,
        );
        let rendered: Value = serde_json::from_str(&input(&target)).unwrap();
        assert_eq!(
            rendered,
            json!({
                "instance": "i-0123456789",
                "state": [9, "RUNNING", true],
                "tags": [1, 2],
                "says": "i-0123456789 is \"RUNNING\"",
                "gone": null
            })
        );
    }

    #[test]
    fn text_templates_take_values_as_they_are() {
        let target = transformer(r#"<instance> is in state "<state>" <unknown> <missing>."#);
        assert_eq!(
            input(&target),
            r#"i-0123456789 is in state "RUNNING" <unknown> ."#
        );
        let quoted = transformer(r#""<instance> is in state <state>""#);
        assert_eq!(input(&quoted), r#""i-0123456789 is in state RUNNING""#);
    }

    #[test]
    fn reserved_variables() {
        let target = transformer(
            r#"{"rule": "<aws.events.rule-name>", "arn": <aws.events.rule-arn>, "at": "<aws.events.event.ingestion-time>", "event": <aws.events.event>, "full": <aws.events.event.json>}"#,
        );
        let rendered: Value = serde_json::from_str(&input(&target)).unwrap();
        let mut without_detail = event();
        if let Some(fields) = without_detail.as_object_mut() {
            fields.remove("detail");
        }
        assert_eq!(
            rendered,
            json!({
                "rule": "r",
                "arn": INVOCATION.rule_arn,
                "at": "2015-11-11T21:29:55Z",
                "event": without_detail,
                "full": event()
            })
        );
    }

    #[test]
    fn strings_are_escaped_inside_json_strings() {
        let event = json!({"detail": {"text": "a \"quoted\"\nline"}});
        let target = Target {
            input_transformer: Some(InputTransformer {
                input_paths_map: Some(BTreeMap::from([(
                    "text".to_owned(),
                    "$.detail.text".to_owned(),
                )])),
                input_template: r#"{"said": "<text>!"}"#.to_owned(),
            }),
            ..Target::default()
        };
        let rendered = target_input(&target, &event, INVOCATION).unwrap();
        let parsed: Value = serde_json::from_str(&rendered).unwrap();
        assert_eq!(parsed, json!({"said": "a \"quoted\"\nline!"}));
    }
}
