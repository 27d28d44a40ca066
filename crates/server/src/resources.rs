//! Which resources an operation acts on, and the service condition keys its input carries, as
//! the Service Authorization Reference declares them, for the services whose resources the
//! authorizer does not look up itself (KMS keys and Secrets Manager secrets it does).
//!
//! [`declared`] is a pure table from (service, operation, decoded input) to resource ARNs: the
//! authorizer decides the action on each of them, and the request is denied if any one is. Two
//! kinds of ARN need state the input does not carry, so the table names them and the authorizer
//! completes them: an existing IAM user, group or role (its ARN holds the path it was created
//! with) and an Organizations account, OU or root (its ARN holds the organization's id and
//! management account). An operation with no resource of its own (listings, account settings),
//! or whose naming member is absent, is decided on `*`, as AWS asks policies to name it.
//!
//! Simplifications, on purpose: Organizations policies and handshakes are decided on `*` (a
//! policy's ARN holds its type, which only a lookup knows); IAM's `GetAccessKeyLastUsed` is
//! decided on `*` (its user is known only from the key); `iam:PassedToService` is not supplied.
//!
//! [`request_tags`] reads the tag condition keys (`aws:RequestTag/*`, `aws:TagKeys`) from any
//! service's input; `aws:ResourceTag/*` needs the resource's state, which
//! [`crate::resource_tags`] reads.

use palisade_core::Value;
use palisade_kms::ConditionKey;

/// The caller's account and region, in which names without an ARN are resolved, and the
/// caller's ARN, the subject of IAM operations that name no user.
#[derive(Debug, Clone, Copy)]
pub struct Scope<'a> {
    pub account: &'a str,
    pub region: &'a str,
    pub caller_arn: &'a str,
}

/// One resource an operation acts on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Resource {
    /// A complete ARN.
    Arn(String),
    /// An existing IAM entity named without its path.
    Iam { entity: IamEntity, name: String },
    /// An Organizations entity by id.
    Organizations { entity: OrgEntity, id: String },
}

/// The IAM entities whose ARN holds a path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IamEntity {
    User,
    Group,
    Role,
}

impl IamEntity {
    /// `arn:aws:iam::<account>:<user|group|role><path><name>`; `path` begins and ends with `/`.
    pub fn arn(self, account: &str, path: &str, name: &str) -> String {
        let kind = match self {
            Self::User => "user",
            Self::Group => "group",
            Self::Role => "role",
        };
        format!("arn:aws:iam::{account}:{kind}{path}{name}")
    }
}

/// The Organizations entities whose ARN the id alone decides, given the organization.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OrgEntity {
    Account,
    OrganizationalUnit,
    Root,
}

impl OrgEntity {
    /// The kind of entity `id` names (`123456789012`, `ou-...`, `r-...`); `None` for a policy
    /// or anything else.
    pub fn of_id(id: &str) -> Option<Self> {
        if id.starts_with("ou-") {
            Some(Self::OrganizationalUnit)
        } else if id.starts_with("r-") {
            Some(Self::Root)
        } else if id.len() == 12 && id.bytes().all(|byte| byte.is_ascii_digit()) {
            Some(Self::Account)
        } else {
            None
        }
    }

    /// `arn:aws:organizations::<management account>:<account|ou|root>/<organization id>/<id>`.
    pub fn arn(self, management_account: &str, organization_id: &str, id: &str) -> String {
        let kind = match self {
            Self::Account => "account",
            Self::OrganizationalUnit => "ou",
            Self::Root => "root",
        };
        format!("arn:aws:organizations::{management_account}:{kind}/{organization_id}/{id}")
    }
}

/// What the authorizer decides an operation on.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Declared {
    /// Each resource is decided on its own; none means `*`.
    pub resources: Vec<Resource>,
    /// The service's condition keys taken from the input.
    pub condition_keys: Vec<ConditionKey>,
}

/// The resources and condition keys of `operation` of `service` (the model's name), or `None`
/// for a service this table does not describe.
pub fn declared(
    service: &str,
    operation: &str,
    input: &Value,
    scope: &Scope<'_>,
) -> Option<Declared> {
    let named = Named { input, scope };
    Some(match service {
        "ssm" => parameter_store(operation, named),
        "logs" => logs(operation, named),
        "events" => events(operation, named),
        "cloudtrail" => cloudtrail(operation, named),
        "iam" => iam(operation, named),
        "organizations" => organizations(operation, named),
        _ => return None,
    })
}

/// `aws:RequestTag/<key>` and `aws:TagKeys` from the tags an input carries, for the services
/// whose inputs spell them `Tags` (IAM, Secrets Manager, Parameter Store, EventBridge,
/// Organizations), `TagsList` (CloudTrail) or `tags` (Logs), as `Key`/`Value` pairs or a map;
/// and from the keys an untagging operation names (`TagKeys`, Logs' `tagKeys` and the key list
/// of `UntagLogGroup`'s `tags`). KMS, whose tags are `TagKey`/`TagValue`, derives its own.
pub fn request_tags(input: &Value) -> Vec<ConditionKey> {
    let mut tag_keys: Vec<String> = Vec::new();
    let mut condition_keys: Vec<ConditionKey> = Vec::new();
    let mut tagged = |key: &str, value: Option<&str>| {
        tag_keys.push(key.to_owned());
        if let Some(value) = value {
            condition_keys.push(self::key(
                &format!("aws:RequestTag/{key}"),
                vec![value.to_owned()],
            ));
        }
    };
    for member in ["Tags", "TagsList", "tags", "TagKeys", "tagKeys"] {
        match input.get(member) {
            Some(Value::Map(tags)) => {
                for (key, value) in tags {
                    tagged(key, value.as_str());
                }
            }
            Some(Value::List(items)) => {
                for item in items {
                    match item {
                        Value::String(key) => tagged(key, None),
                        Value::Map(_) => {
                            if let Some(key) = item.get("Key").and_then(Value::as_str) {
                                tagged(key, item.get("Value").and_then(Value::as_str));
                            }
                        }
                        _ => {}
                    }
                }
            }
            _ => {}
        }
    }
    if !tag_keys.is_empty() {
        condition_keys.push(key("aws:TagKeys", tag_keys));
    }
    condition_keys
}

/// The input's members, read in the caller's scope.
#[derive(Clone, Copy)]
struct Named<'a> {
    input: &'a Value,
    scope: &'a Scope<'a>,
}

impl<'a> Named<'a> {
    fn string(self, member: &str) -> Option<&'a str> {
        self.input.get(member).and_then(Value::as_str)
    }

    fn strings(self, member: &str) -> Vec<&'a str> {
        strings_in(self.input.get(member))
    }

    /// `"true"` or `"false"`, the member's value where it is a boolean, else `absent`.
    fn flag(self, member: &str, absent: bool) -> String {
        match self.input.get(member) {
            Some(Value::Bool(value)) => value.to_string(),
            _ => absent.to_string(),
        }
    }
}

fn strings_in(value: Option<&Value>) -> Vec<&str> {
    match value {
        Some(Value::List(items)) => items.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    }
}

fn arns(arns: impl IntoIterator<Item = String>) -> Vec<Resource> {
    arns.into_iter().map(Resource::Arn).collect()
}

fn key(name: &str, values: Vec<String>) -> ConditionKey {
    (name.to_owned(), values)
}

/// Parameter Store: a parameter's ARN for each parameter named; a path is decided as the
/// parameter ARN of the path itself.
fn parameter_store(operation: &str, named: Named<'_>) -> Declared {
    let parameter = |name: &str| {
        let scope = named.scope;
        // A name may carry a selector (`name:3`) or be the parameter's ARN; another account's
        // ARN (a shared parameter) is the resource as given.
        match palisade_ssm::names::parse_reference(scope.account, scope.region, name) {
            Ok(reference) => {
                palisade_ssm::parameter_arn(scope.account, scope.region, &reference.name)
            }
            Err(_) => name.to_owned(),
        }
    };
    let names = match operation {
        "PutParameter"
        | "GetParameter"
        | "GetParameterHistory"
        | "DeleteParameter"
        | "LabelParameterVersion"
        | "UnlabelParameterVersion" => named.string("Name").into_iter().collect(),
        "GetParameters" | "DeleteParameters" => named.strings("Names"),
        "GetParametersByPath" => named.string("Path").into_iter().collect(),
        "AddTagsToResource" | "RemoveTagsFromResource" | "ListTagsForResource"
            if named.string("ResourceType") == Some("Parameter") =>
        {
            named.string("ResourceId").into_iter().collect()
        }
        _ => Vec::new(),
    };
    let condition_keys = match operation {
        "PutParameter" => vec![
            key("ssm:Overwrite", vec![named.flag("Overwrite", false)]),
            key(
                "ssm:Policies",
                vec![named.string("Policies").is_some().to_string()],
            ),
        ],
        "GetParametersByPath" => vec![key("ssm:Recursive", vec![named.flag("Recursive", false)])],
        _ => Vec::new(),
    };
    Declared {
        resources: arns(names.into_iter().map(parameter)),
        condition_keys,
    }
}

/// CloudWatch Logs. AWS decides operations on a stream on
/// `log-group:<group>:log-stream:<stream>`, and the other operations on a group on
/// `log-group:<group>:log-stream:` (which is why its guide asks policies for `log-group:<group>:*`);
/// the tagging operations take the group's ARN as given, without the `:*`.
fn logs(operation: &str, named: Named<'_>) -> Declared {
    let Scope {
        account, region, ..
    } = *named.scope;
    let group = named
        .string("logGroupName")
        .or_else(|| named.string("logGroupIdentifier").map(group_of_identifier));
    let stream_arn = |group: &str, stream: &str| {
        format!("arn:aws:logs:{region}:{account}:log-group:{group}:log-stream:{stream}")
    };
    let resource = match operation {
        "CreateLogStream" | "DeleteLogStream" | "PutLogEvents" | "GetLogEvents" => group
            .zip(named.string("logStreamName"))
            .map(|(group, stream)| stream_arn(group, stream)),
        "TagResource" | "UntagResource" | "ListTagsForResource" => named
            .string("resourceArn")
            .map(|arn| arn.strip_suffix(":*").unwrap_or(arn).to_owned()),
        // The account's groups, as AWS names them.
        "DescribeLogGroups" => Some(stream_arn("", "")),
        "CreateLogGroup"
        | "DeleteLogGroup"
        | "PutRetentionPolicy"
        | "DeleteRetentionPolicy"
        | "PutLogGroupDeletionProtection"
        | "TagLogGroup"
        | "UntagLogGroup"
        | "ListTagsLogGroup"
        | "DescribeLogStreams"
        | "FilterLogEvents"
        | "PutMetricFilter"
        | "DescribeMetricFilters"
        | "DeleteMetricFilter" => group.map(|group| stream_arn(group, "")),
        _ => None,
    };
    Declared {
        resources: arns(resource),
        condition_keys: Vec::new(),
    }
}

/// A `logGroupIdentifier` is a group's name or its ARN (with or without `:*`).
fn group_of_identifier(identifier: &str) -> &str {
    match identifier.split_once(":log-group:") {
        Some((_, group)) => group.strip_suffix(":*").unwrap_or(group),
        None => identifier,
    }
}

/// EventBridge: rules (`rule/<name>` on the default bus, `rule/<bus>/<name>` on others), event
/// buses and partner event sources (their ARNs name no account); `PutEvents` is decided on each
/// bus its entries go to.
fn events(operation: &str, named: Named<'_>) -> Declared {
    let Scope {
        account, region, ..
    } = *named.scope;
    let bus_arn = |bus: &str| {
        if bus.starts_with("arn:") {
            bus.to_owned()
        } else {
            format!("arn:aws:events:{region}:{account}:event-bus/{bus}")
        }
    };
    let rule_arn = |rule: &str| {
        let bus = named.string("EventBusName").map_or(DEFAULT_BUS, |bus| {
            bus.rsplit_once(":event-bus/").map_or(bus, |(_, name)| name)
        });
        if bus == DEFAULT_BUS {
            format!("arn:aws:events:{region}:{account}:rule/{rule}")
        } else {
            format!("arn:aws:events:{region}:{account}:rule/{bus}/{rule}")
        }
    };
    match operation {
        "CreateEventBus" | "DeleteEventBus" | "DescribeEventBus" | "UpdateEventBus" => Declared {
            resources: arns([bus_arn(named.string("Name").unwrap_or(DEFAULT_BUS))]),
            condition_keys: Vec::new(),
        },
        "ActivateEventSource"
        | "DeactivateEventSource"
        | "DescribeEventSource"
        | "CreatePartnerEventSource"
        | "DeletePartnerEventSource"
        | "DescribePartnerEventSource" => Declared {
            resources: arns(
                named
                    .string("Name")
                    .map(|name| format!("arn:aws:events:{region}::event-source/{name}")),
            ),
            condition_keys: Vec::new(),
        },
        "PutPermission" | "RemovePermission" => Declared {
            resources: arns([bus_arn(named.string("EventBusName").unwrap_or(DEFAULT_BUS))]),
            condition_keys: Vec::new(),
        },
        "CreateArchive" | "DescribeArchive" | "UpdateArchive" | "DeleteArchive" => Declared {
            resources: arns(
                named
                    .string("ArchiveName")
                    .map(|name| format!("arn:aws:events:{region}:{account}:archive/{name}")),
            ),
            condition_keys: Vec::new(),
        },
        "StartReplay" | "DescribeReplay" | "CancelReplay" => Declared {
            resources: arns(
                named
                    .string("ReplayName")
                    .map(|name| format!("arn:aws:events:{region}:{account}:replay/{name}")),
            ),
            condition_keys: Vec::new(),
        },
        "PutRule" => Declared {
            resources: arns(named.string("Name").map(rule_arn)),
            condition_keys: named
                .string("EventPattern")
                .map(pattern_condition_keys)
                .unwrap_or_default(),
        },
        "DescribeRule" | "DeleteRule" | "EnableRule" | "DisableRule" => Declared {
            resources: arns(named.string("Name").map(rule_arn)),
            condition_keys: Vec::new(),
        },
        "PutTargets" => Declared {
            resources: arns(named.string("Rule").map(rule_arn)),
            condition_keys: vec![key(
                "events:TargetArn",
                member_of_each(named.input.get("Targets"), "Arn"),
            )],
        },
        "RemoveTargets" | "ListTargetsByRule" => Declared {
            resources: arns(named.string("Rule").map(rule_arn)),
            condition_keys: Vec::new(),
        },
        "PutEvents" => {
            let entries = named.input.get("Entries");
            let mut buses: Vec<String> = match entries {
                Some(Value::List(entries)) => entries
                    .iter()
                    .map(|entry| {
                        bus_arn(
                            entry
                                .get("EventBusName")
                                .and_then(Value::as_str)
                                .unwrap_or(DEFAULT_BUS),
                        )
                    })
                    .collect(),
                _ => Vec::new(),
            };
            buses.sort();
            buses.dedup();
            Declared {
                resources: arns(buses),
                condition_keys: vec![
                    key("events:source", member_of_each(entries, "Source")),
                    key("events:detail-type", member_of_each(entries, "DetailType")),
                ],
            }
        }
        _ => Declared::default(),
    }
}

const DEFAULT_BUS: &str = "default";

/// The string member `member` of each structure in a list, distinct.
fn member_of_each(list: Option<&Value>, member: &str) -> Vec<String> {
    let mut values: Vec<String> = match list {
        Some(Value::List(items)) => items
            .iter()
            .filter_map(|item| item.get(member).and_then(Value::as_str))
            .map(str::to_owned)
            .collect(),
        _ => Vec::new(),
    };
    values.sort();
    values.dedup();
    values
}

/// `events:source` and `events:detail-type` of a rule: the literal values its pattern matches
/// at the top level.
fn pattern_condition_keys(pattern: &str) -> Vec<ConditionKey> {
    let Ok(serde_json::Value::Object(pattern)) = serde_json::from_str(pattern) else {
        return Vec::new();
    };
    ["source", "detail-type"]
        .into_iter()
        .filter_map(|field| {
            let serde_json::Value::Array(values) = pattern.get(field)? else {
                return None;
            };
            let literals = values
                .iter()
                .filter_map(serde_json::Value::as_str)
                .map(str::to_owned)
                .collect();
            Some(key(&format!("events:{field}"), literals))
        })
        .collect()
}

/// CloudTrail: trails, named by name or by ARN; event data stores, by ARN or by the id their
/// ARN ends in, and for `StartQuery` by the statement's `FROM`.
fn cloudtrail(operation: &str, named: Named<'_>) -> Declared {
    let Scope {
        account, region, ..
    } = *named.scope;
    // Queries may read another account's event data store, which they name by its id.
    let store_account = named
        .string("EventDataStoreOwnerAccountId")
        .unwrap_or(account);
    let named_arn = |kind: &str, name: &str| {
        let owner = if kind == "eventdatastore" {
            store_account
        } else {
            account
        };
        if name.starts_with("arn:") {
            name.to_owned()
        } else {
            format!("arn:aws:cloudtrail:{region}:{owner}:{kind}/{name}")
        }
    };
    // Resources named by name or ARN (trails, dashboards), or by ARN alone.
    let one = |name: Option<&str>| name.into_iter().map(str::to_owned).collect::<Vec<_>>();
    let (kind, names) = match operation {
        "CreateTrail" | "UpdateTrail" | "DeleteTrail" | "GetTrail" | "GetTrailStatus"
        | "StartLogging" | "StopLogging" => ("trail", one(named.string("Name"))),
        "GetEventSelectors"
        | "PutEventSelectors"
        | "GetInsightSelectors"
        | "PutInsightSelectors"
        | "ListInsightsMetricData" => ("trail", one(named.string("TrailName"))),
        "ListInsightsData" => ("trail", one(named.string("InsightSource"))),
        "CreateDashboard" => ("dashboard", one(named.string("Name"))),
        "GetDashboard" | "UpdateDashboard" | "DeleteDashboard" | "StartDashboardRefresh" => {
            ("dashboard", one(named.string("DashboardId")))
        }
        "GetChannel" | "UpdateChannel" | "DeleteChannel" => {
            ("channel", one(named.string("Channel")))
        }
        "AddTags" | "RemoveTags" => ("trail", one(named.string("ResourceId"))),
        "ListTags" => (
            "trail",
            named
                .strings("ResourceIdList")
                .into_iter()
                .map(str::to_owned)
                .collect(),
        ),
        "PutResourcePolicy" | "GetResourcePolicy" | "DeleteResourcePolicy" => {
            ("trail", one(named.string("ResourceArn")))
        }
        _ => ("trail", Vec::<String>::new()),
    };
    let statement_source = (operation == "StartQuery")
        .then(|| named.string("QueryStatement"))
        .flatten()
        .and_then(|statement| {
            let parameters: Vec<String> = named
                .strings("QueryParameters")
                .into_iter()
                .map(str::to_owned)
                .collect();
            palisade_cloudtrail::queried_event_data_store(statement, &parameters)
        });
    let event_data_stores = named
        .string("EventDataStore")
        .map(str::to_owned)
        .into_iter()
        .chain(statement_source);
    Declared {
        resources: arns(
            names
                .into_iter()
                .map(|name| named_arn(kind, &name))
                .chain(event_data_stores.map(|store| named_arn("eventdatastore", &store))),
        ),
        condition_keys: Vec::new(),
    }
}

/// IAM: users, groups and roles (by path, which a create call gives and the authorizer looks up
/// otherwise), managed policies and virtual MFA devices by ARN; an operation on "the calling
/// user" when it names none is decided on the caller's ARN.
fn iam(operation: &str, named: Named<'_>) -> Declared {
    let account = named.scope.account;
    let existing = |entity, member: &str| {
        named.string(member).map(|name| Resource::Iam {
            entity,
            name: name.to_owned(),
        })
    };
    let created = |entity: IamEntity, member: &str| {
        let path = named.string("Path").unwrap_or("/");
        named
            .string(member)
            .map(|name| Resource::Arn(entity.arn(account, path, name)))
    };
    let arn_in = |member: &str| {
        named
            .string(member)
            .map(|arn| Resource::Arn(arn.to_owned()))
    };
    let resource = match operation {
        "CreateUser" => created(IamEntity::User, "UserName"),
        "CreateGroup" => created(IamEntity::Group, "GroupName"),
        "CreateRole" => created(IamEntity::Role, "RoleName"),
        "CreatePolicy" => named.string("PolicyName").map(|name| {
            let path = named.string("Path").unwrap_or("/");
            Resource::Arn(format!("arn:aws:iam::{account}:policy{path}{name}"))
        }),
        "CreateVirtualMFADevice" => named.string("VirtualMFADeviceName").map(|name| {
            let path = named.string("Path").unwrap_or("/");
            Resource::Arn(format!("arn:aws:iam::{account}:mfa{path}{name}"))
        }),
        "GetUser" | "CreateAccessKey" | "UpdateAccessKey" | "DeleteAccessKey"
        | "ListAccessKeys" | "ListMFADevices" => existing(IamEntity::User, "UserName")
            .or_else(|| Some(Resource::Arn(named.scope.caller_arn.to_owned()))),
        "ChangePassword" => Some(Resource::Arn(named.scope.caller_arn.to_owned())),
        "UpdateUser"
        | "DeleteUser"
        | "TagUser"
        | "UntagUser"
        | "ListUserTags"
        | "PutUserPolicy"
        | "GetUserPolicy"
        | "DeleteUserPolicy"
        | "ListUserPolicies"
        | "AttachUserPolicy"
        | "DetachUserPolicy"
        | "ListAttachedUserPolicies"
        | "PutUserPermissionsBoundary"
        | "DeleteUserPermissionsBoundary"
        | "ListGroupsForUser"
        | "CreateLoginProfile"
        | "GetLoginProfile"
        | "UpdateLoginProfile"
        | "DeleteLoginProfile"
        | "EnableMFADevice"
        | "ResyncMFADevice"
        | "DeactivateMFADevice" => existing(IamEntity::User, "UserName"),
        "GetGroup"
        | "UpdateGroup"
        | "DeleteGroup"
        | "AddUserToGroup"
        | "RemoveUserFromGroup"
        | "PutGroupPolicy"
        | "GetGroupPolicy"
        | "DeleteGroupPolicy"
        | "ListGroupPolicies"
        | "AttachGroupPolicy"
        | "DetachGroupPolicy"
        | "ListAttachedGroupPolicies" => existing(IamEntity::Group, "GroupName"),
        "GetRole"
        | "UpdateRole"
        | "UpdateRoleDescription"
        | "UpdateAssumeRolePolicy"
        | "DeleteRole"
        | "TagRole"
        | "UntagRole"
        | "ListRoleTags"
        | "PutRolePolicy"
        | "GetRolePolicy"
        | "DeleteRolePolicy"
        | "ListRolePolicies"
        | "AttachRolePolicy"
        | "DetachRolePolicy"
        | "ListAttachedRolePolicies"
        | "PutRolePermissionsBoundary"
        | "DeleteRolePermissionsBoundary" => existing(IamEntity::Role, "RoleName"),
        "GetPolicy"
        | "DeletePolicy"
        | "CreatePolicyVersion"
        | "GetPolicyVersion"
        | "ListPolicyVersions"
        | "DeletePolicyVersion"
        | "SetDefaultPolicyVersion"
        | "TagPolicy"
        | "UntagPolicy"
        | "ListPolicyTags"
        | "ListEntitiesForPolicy" => arn_in("PolicyArn"),
        "DeleteVirtualMFADevice"
        | "GetMFADevice"
        | "TagMFADevice"
        | "UntagMFADevice"
        | "ListMFADeviceTags" => arn_in("SerialNumber"),
        "SimulatePrincipalPolicy" | "GetContextKeysForPrincipalPolicy" => arn_in("PolicySourceArn"),
        _ => None,
    };
    let condition_keys = match operation {
        "CreateUser"
        | "CreateRole"
        | "PutUserPermissionsBoundary"
        | "PutRolePermissionsBoundary" => named
            .string("PermissionsBoundary")
            .map(|arn| vec![key("iam:PermissionsBoundary", vec![arn.to_owned()])])
            .unwrap_or_default(),
        "AttachUserPolicy" | "DetachUserPolicy" | "AttachGroupPolicy" | "DetachGroupPolicy"
        | "AttachRolePolicy" | "DetachRolePolicy" => named
            .string("PolicyArn")
            .map(|arn| vec![key("iam:PolicyARN", vec![arn.to_owned()])])
            .unwrap_or_default(),
        _ => Vec::new(),
    };
    Declared {
        resources: resource.into_iter().collect(),
        condition_keys,
    }
}

/// Organizations: accounts, OUs and roots by id (completed by the authorizer with the
/// organization), with `organizations:PolicyType` and `organizations:ServicePrincipal` from
/// the input.
fn organizations(operation: &str, named: Named<'_>) -> Declared {
    let ids = match operation {
        "DescribeAccount" | "RemoveAccountFromOrganization" | "CloseAccount" => {
            named.string("AccountId").into_iter().collect()
        }
        "MoveAccount" => ["AccountId", "SourceParentId", "DestinationParentId"]
            .into_iter()
            .filter_map(|member| named.string(member))
            .collect(),
        "ListAccountsForParent"
        | "CreateOrganizationalUnit"
        | "ListOrganizationalUnitsForParent"
        | "ListChildren" => named.string("ParentId").into_iter().collect(),
        "UpdateOrganizationalUnit" | "DeleteOrganizationalUnit" | "DescribeOrganizationalUnit" => {
            named.string("OrganizationalUnitId").into_iter().collect()
        }
        "ListParents" => named.string("ChildId").into_iter().collect(),
        "AttachPolicy" | "DetachPolicy" | "ListPoliciesForTarget" | "DescribeEffectivePolicy" => {
            named.string("TargetId").into_iter().collect()
        }
        "TagResource" | "UntagResource" | "ListTagsForResource" => {
            named.string("ResourceId").into_iter().collect()
        }
        "EnablePolicyType" | "DisablePolicyType" => named.string("RootId").into_iter().collect(),
        _ => Vec::<&str>::new(),
    };
    let resources = ids
        .into_iter()
        .filter_map(|id| {
            OrgEntity::of_id(id).map(|entity| Resource::Organizations {
                entity,
                id: id.to_owned(),
            })
        })
        .collect();
    let policy_type = match operation {
        "CreatePolicy" => named.string("Type"),
        "EnablePolicyType" | "DisablePolicyType" | "DescribeEffectivePolicy" => {
            named.string("PolicyType")
        }
        "ListPolicies" | "ListPoliciesForTarget" => named.string("Filter"),
        _ => None,
    };
    let service_principal = match operation {
        "EnableAWSServiceAccess"
        | "DisableAWSServiceAccess"
        | "RegisterDelegatedAdministrator"
        | "DeregisterDelegatedAdministrator"
        | "ListDelegatedAdministrators" => named.string("ServicePrincipal"),
        _ => None,
    };
    let condition_keys = [
        ("organizations:PolicyType", policy_type),
        ("organizations:ServicePrincipal", service_principal),
    ]
    .into_iter()
    .filter_map(|(name, value)| value.map(|value| key(name, vec![value.to_owned()])))
    .collect();
    Declared {
        resources,
        condition_keys,
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    const SCOPE: Scope<'static> = Scope {
        account: "111122223333",
        region: "us-east-1",
        caller_arn: "arn:aws:iam::111122223333:user/caller",
    };

    fn input(members: &[(&str, Value)]) -> Value {
        Value::Map(
            members
                .iter()
                .map(|(name, value)| ((*name).to_owned(), value.clone()))
                .collect::<BTreeMap<_, _>>(),
        )
    }

    fn text(value: &str) -> Value {
        Value::String(value.to_owned())
    }

    fn list(values: &[Value]) -> Value {
        Value::List(values.to_vec())
    }

    fn resources(service: &str, operation: &str, members: &[(&str, Value)]) -> Vec<Resource> {
        declared(service, operation, &input(members), &SCOPE)
            .map(|declared| declared.resources)
            .unwrap_or_default()
    }

    fn arn(value: &str) -> Resource {
        Resource::Arn(value.to_owned())
    }

    #[test]
    fn request_tags_come_from_every_spelling_of_tags() {
        let pair = |key: &str, value: &str| input(&[("Key", text(key)), ("Value", text(value))]);
        let listed = input(&[("Tags", list(&[pair("team", "blue"), pair("env", "prod")]))]);
        assert_eq!(
            request_tags(&listed),
            vec![
                key("aws:RequestTag/team", vec!["blue".into()]),
                key("aws:RequestTag/env", vec!["prod".into()]),
                key("aws:TagKeys", vec!["team".into(), "env".into()]),
            ]
        );
        let mapped = input(&[("tags", input(&[("team", text("blue"))]))]);
        assert_eq!(
            request_tags(&mapped),
            vec![
                key("aws:RequestTag/team", vec!["blue".into()]),
                key("aws:TagKeys", vec!["team".into()]),
            ]
        );
        let trail = input(&[("TagsList", list(&[pair("team", "blue")]))]);
        assert_eq!(request_tags(&trail).len(), 2);
        let untag = input(&[("TagKeys", list(&[text("team"), text("env")]))]);
        assert_eq!(
            request_tags(&untag),
            vec![key("aws:TagKeys", vec!["team".into(), "env".into()])]
        );
        let logs_untag = input(&[("tags", list(&[text("team")]))]);
        assert_eq!(
            request_tags(&logs_untag),
            vec![key("aws:TagKeys", vec!["team".into()])]
        );
        assert!(request_tags(&input(&[("Name", text("x"))])).is_empty());
    }

    #[test]
    fn services_outside_the_table_are_left_to_the_authorizer() {
        assert_eq!(declared("kms", "Encrypt", &input(&[]), &SCOPE), None);
        assert_eq!(
            declared("secretsmanager", "GetSecretValue", &input(&[]), &SCOPE),
            None
        );
    }

    #[test]
    fn parameters_are_decided_on_their_arns() {
        assert_eq!(
            resources("ssm", "GetParameter", &[("Name", text("/app/x:3"))]),
            vec![arn("arn:aws:ssm:us-east-1:111122223333:parameter/app/x")]
        );
        assert_eq!(
            resources(
                "ssm",
                "GetParameter",
                &[(
                    "Name",
                    text("arn:aws:ssm:us-east-1:111122223333:parameter/app/x")
                )]
            ),
            vec![arn("arn:aws:ssm:us-east-1:111122223333:parameter/app/x")]
        );
        assert_eq!(
            resources(
                "ssm",
                "DeleteParameters",
                &[("Names", list(&[text("flat"), text("/a/b")]))]
            ),
            vec![
                arn("arn:aws:ssm:us-east-1:111122223333:parameter/flat"),
                arn("arn:aws:ssm:us-east-1:111122223333:parameter/a/b"),
            ]
        );
        assert_eq!(
            resources("ssm", "GetParametersByPath", &[("Path", text("/app"))]),
            vec![arn("arn:aws:ssm:us-east-1:111122223333:parameter/app")]
        );
        assert_eq!(
            resources(
                "ssm",
                "ListTagsForResource",
                &[
                    ("ResourceType", text("Parameter")),
                    ("ResourceId", text("/app/x"))
                ]
            ),
            vec![arn("arn:aws:ssm:us-east-1:111122223333:parameter/app/x")]
        );
        assert_eq!(resources("ssm", "DescribeParameters", &[]), vec![]);
    }

    #[test]
    fn parameter_store_condition_keys_come_from_the_input() {
        let put = declared(
            "ssm",
            "PutParameter",
            &input(&[("Name", text("p")), ("Overwrite", Value::Bool(true))]),
            &SCOPE,
        )
        .unwrap_or_default();
        assert_eq!(
            put.condition_keys,
            vec![
                key("ssm:Overwrite", vec!["true".to_owned()]),
                key("ssm:Policies", vec!["false".to_owned()]),
            ]
        );
    }

    #[test]
    fn log_operations_name_groups_and_streams() {
        let group = || ("logGroupName", text("/app/web"));
        assert_eq!(
            resources(
                "logs",
                "CreateLogStream",
                &[group(), ("logStreamName", text("s1"))]
            ),
            vec![arn(
                "arn:aws:logs:us-east-1:111122223333:log-group:/app/web:log-stream:s1"
            )]
        );
        assert_eq!(
            resources("logs", "DeleteLogGroup", &[group()]),
            vec![arn(
                "arn:aws:logs:us-east-1:111122223333:log-group:/app/web:log-stream:"
            )]
        );
        assert_eq!(
            resources(
                "logs",
                "GetLogEvents",
                &[
                    (
                        "logGroupIdentifier",
                        text("arn:aws:logs:us-east-1:111122223333:log-group:/app/web:*")
                    ),
                    ("logStreamName", text("s1"))
                ]
            ),
            vec![arn(
                "arn:aws:logs:us-east-1:111122223333:log-group:/app/web:log-stream:s1"
            )]
        );
        assert_eq!(
            resources(
                "logs",
                "TagResource",
                &[(
                    "resourceArn",
                    text("arn:aws:logs:us-east-1:111122223333:log-group:g:*")
                )]
            ),
            vec![arn("arn:aws:logs:us-east-1:111122223333:log-group:g")]
        );
        assert_eq!(
            resources("logs", "DescribeLogGroups", &[]),
            vec![arn(
                "arn:aws:logs:us-east-1:111122223333:log-group::log-stream:"
            )]
        );
    }

    #[test]
    fn rules_are_named_under_their_bus() {
        assert_eq!(
            resources("events", "PutRule", &[("Name", text("r"))]),
            vec![arn("arn:aws:events:us-east-1:111122223333:rule/r")]
        );
        assert_eq!(
            resources(
                "events",
                "PutTargets",
                &[
                    ("Rule", text("r")),
                    (
                        "EventBusName",
                        text("arn:aws:events:us-east-1:111122223333:event-bus/orders")
                    )
                ]
            ),
            vec![arn("arn:aws:events:us-east-1:111122223333:rule/orders/r")]
        );
        assert_eq!(
            resources(
                "events",
                "PutPermission",
                &[("EventBusName", text("orders"))]
            ),
            vec![arn(
                "arn:aws:events:us-east-1:111122223333:event-bus/orders"
            )]
        );
        assert_eq!(
            resources("events", "StartReplay", &[("ReplayName", text("again"))]),
            vec![arn("arn:aws:events:us-east-1:111122223333:replay/again")]
        );
        assert_eq!(
            resources("events", "DeleteArchive", &[("ArchiveName", text("kept"))]),
            vec![arn("arn:aws:events:us-east-1:111122223333:archive/kept")]
        );
        assert_eq!(
            resources(
                "events",
                "ActivateEventSource",
                &[("Name", text("aws.partner/saas.example.com/1/orders"))]
            ),
            vec![arn(
                "arn:aws:events:us-east-1::event-source/aws.partner/saas.example.com/1/orders"
            )]
        );
        assert_eq!(
            resources("events", "DescribeEventBus", &[]),
            vec![arn(
                "arn:aws:events:us-east-1:111122223333:event-bus/default"
            )]
        );
    }

    #[test]
    fn put_events_is_decided_on_each_bus_with_its_sources() {
        let entry = |bus: Option<&str>, source: &str| {
            let mut members = vec![("Source", text(source)), ("DetailType", text("created"))];
            if let Some(bus) = bus {
                members.push(("EventBusName", text(bus)));
            }
            input(&members)
        };
        let declared = declared(
            "events",
            "PutEvents",
            &input(&[(
                "Entries",
                list(&[
                    entry(None, "app.a"),
                    entry(Some("orders"), "app.b"),
                    entry(None, "app.a"),
                ]),
            )]),
            &SCOPE,
        )
        .unwrap_or_default();
        assert_eq!(
            declared.resources,
            vec![
                arn("arn:aws:events:us-east-1:111122223333:event-bus/default"),
                arn("arn:aws:events:us-east-1:111122223333:event-bus/orders"),
            ]
        );
        assert_eq!(
            declared.condition_keys,
            vec![
                key(
                    "events:source",
                    vec!["app.a".to_owned(), "app.b".to_owned()]
                ),
                key("events:detail-type", vec!["created".to_owned()]),
            ]
        );
    }

    #[test]
    fn a_rule_pattern_gives_its_sources() {
        assert_eq!(
            pattern_condition_keys(r#"{"source":["app.a"],"detail-type":["x",{"prefix":"y"}]}"#),
            vec![
                key("events:source", vec!["app.a".to_owned()]),
                key("events:detail-type", vec!["x".to_owned()]),
            ]
        );
        assert_eq!(pattern_condition_keys("not json"), vec![]);
    }

    #[test]
    fn trails_are_named_by_name_or_arn() {
        assert_eq!(
            resources("cloudtrail", "StartLogging", &[("Name", text("t"))]),
            vec![arn("arn:aws:cloudtrail:us-east-1:111122223333:trail/t")]
        );
        let other = "arn:aws:cloudtrail:eu-west-1:111122223333:trail/t";
        assert_eq!(
            resources(
                "cloudtrail",
                "GetEventSelectors",
                &[("TrailName", text(other))]
            ),
            vec![arn(other)]
        );
        assert_eq!(resources("cloudtrail", "LookupEvents", &[]), vec![]);
        for (operation, member, value, expected) in [
            (
                "StartDashboardRefresh",
                "DashboardId",
                "ops",
                "arn:aws:cloudtrail:us-east-1:111122223333:dashboard/ops",
            ),
            (
                "GetChannel",
                "Channel",
                "c-1",
                "arn:aws:cloudtrail:us-east-1:111122223333:channel/c-1",
            ),
            (
                "PutResourcePolicy",
                "ResourceArn",
                "arn:aws:cloudtrail:us-east-1:111122223333:dashboard/ops",
                "arn:aws:cloudtrail:us-east-1:111122223333:dashboard/ops",
            ),
        ] {
            assert_eq!(
                resources("cloudtrail", operation, &[(member, text(value))]),
                vec![arn(expected)],
                "{operation}"
            );
        }
    }

    #[test]
    fn event_data_stores_are_named_by_arn_id_or_query() {
        let store = "arn:aws:cloudtrail:us-east-1:111122223333:eventdatastore/abc-123";
        for (operation, member, value) in [
            ("GetEventDataStore", "EventDataStore", "abc-123"),
            ("UpdateEventDataStore", "EventDataStore", store),
            (
                "StartQuery",
                "QueryStatement",
                "SELECT eventName FROM abc-123",
            ),
            (
                "StartQuery",
                "QueryStatement",
                &format!("SELECT * FROM {store}"),
            ),
        ] {
            assert_eq!(
                resources("cloudtrail", operation, &[(member, text(value))]),
                vec![arn(store)],
                "{operation} {value}"
            );
        }
        assert_eq!(
            resources(
                "cloudtrail",
                "StartQuery",
                &[("QueryStatement", text("SELECT"))]
            ),
            vec![]
        );
    }

    #[test]
    fn iam_entities_are_named_by_path() {
        assert_eq!(
            resources(
                "iam",
                "CreateUser",
                &[("UserName", text("alice")), ("Path", text("/team/"))]
            ),
            vec![arn("arn:aws:iam::111122223333:user/team/alice")]
        );
        assert_eq!(
            resources("iam", "GetRole", &[("RoleName", text("ops"))]),
            vec![Resource::Iam {
                entity: IamEntity::Role,
                name: "ops".to_owned()
            }]
        );
        assert_eq!(
            resources("iam", "ListAccessKeys", &[]),
            vec![arn("arn:aws:iam::111122223333:user/caller")]
        );
        let attach = declared(
            "iam",
            "AttachUserPolicy",
            &input(&[
                ("UserName", text("alice")),
                ("PolicyArn", text("arn:aws:iam::aws:policy/ReadOnlyAccess")),
            ]),
            &SCOPE,
        )
        .unwrap_or_default();
        assert_eq!(
            attach.condition_keys,
            vec![key(
                "iam:PolicyARN",
                vec!["arn:aws:iam::aws:policy/ReadOnlyAccess".to_owned()]
            )]
        );
        assert_eq!(
            IamEntity::Group.arn("111122223333", "/a/b/", "g"),
            "arn:aws:iam::111122223333:group/a/b/g"
        );
    }

    #[test]
    fn organizations_entities_are_known_by_their_ids() {
        assert_eq!(
            resources(
                "organizations",
                "MoveAccount",
                &[
                    ("AccountId", text("222233334444")),
                    ("SourceParentId", text("r-ab12")),
                    ("DestinationParentId", text("ou-ab12-cdef5678")),
                ]
            ),
            vec![
                Resource::Organizations {
                    entity: OrgEntity::Account,
                    id: "222233334444".to_owned()
                },
                Resource::Organizations {
                    entity: OrgEntity::Root,
                    id: "r-ab12".to_owned()
                },
                Resource::Organizations {
                    entity: OrgEntity::OrganizationalUnit,
                    id: "ou-ab12-cdef5678".to_owned()
                },
            ]
        );
        assert_eq!(OrgEntity::of_id("p-FullAWSAccess"), None);
        assert_eq!(
            OrgEntity::Account.arn("111122223333", "o-abc", "222233334444"),
            "arn:aws:organizations::111122223333:account/o-abc/222233334444"
        );
    }
}
