//! The SQL types this engine knows and the CloudTrail Lake schema of CloudTrail event records
//! (management, data and network activity events), as Lake documents it: column names are
//! lowercase and resolved case-insensitively; each column also has the record key it is read
//! from, which `SELECT *` uses as the column's name.

use std::fmt;

/// A Trino type. Timestamps carry their precision (fractional digits), which decides how they
/// are rendered; maps are always `map(varchar, varchar)`, the only map type in the schema.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Type {
    /// The type of `NULL`, which coerces to any other.
    Unknown,
    Boolean,
    Bigint,
    Double,
    Varchar,
    Timestamp(u8),
    TimestampTz(u8),
    Map,
    Row(&'static [Field]),
    Array(&'static Type),
}

/// A column, or a field of a row.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Field {
    /// The schema's name, lowercase.
    pub(crate) name: &'static str,
    /// The record's key, as CloudTrail writes it.
    pub(crate) key: &'static str,
    pub(crate) ty: Type,
}

impl Type {
    pub(crate) fn is_numeric(self) -> bool {
        matches!(self, Self::Bigint | Self::Double)
    }

    pub(crate) fn is_timestamp(self) -> bool {
        matches!(self, Self::Timestamp(_) | Self::TimestampTz(_))
    }

    /// Whether values of this type have an order (`<`, `ORDER BY`, `min`, `max`).
    pub(crate) fn is_orderable(self) -> bool {
        !matches!(self, Self::Map | Self::Row(_) | Self::Array(_))
    }

    /// The type both `self` and `other` coerce to, as Trino finds a common super type.
    pub(crate) fn common(self, other: Self) -> Option<Self> {
        use Type::{Bigint, Double, Timestamp, TimestampTz, Unknown};
        match (self, other) {
            _ if self == other => Some(self),
            (Unknown, known) | (known, Unknown) => Some(known),
            (Bigint, Double) | (Double, Bigint) => Some(Double),
            (Timestamp(a), Timestamp(b)) => Some(Timestamp(a.max(b))),
            (Timestamp(a) | TimestampTz(a), Timestamp(b) | TimestampTz(b)) => {
                Some(TimestampTz(a.max(b)))
            }
            _ => None,
        }
    }
}

impl fmt::Display for Type {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Unknown => f.write_str("unknown"),
            Self::Boolean => f.write_str("boolean"),
            Self::Bigint => f.write_str("bigint"),
            Self::Double => f.write_str("double"),
            Self::Varchar => f.write_str("varchar"),
            Self::Timestamp(precision) => write!(f, "timestamp({precision})"),
            Self::TimestampTz(precision) => write!(f, "timestamp({precision}) with time zone"),
            Self::Map => f.write_str("map(varchar, varchar)"),
            Self::Row(fields) => {
                f.write_str("row(")?;
                for (index, field) in fields.iter().enumerate() {
                    if index > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{} {}", field.name, field.ty)?;
                }
                f.write_str(")")
            }
            Self::Array(element) => write!(f, "array({element})"),
        }
    }
}

/// The field of `fields` called `name`, ignoring case, with its position.
pub(crate) fn find(fields: &'static [Field], name: &str) -> Option<(usize, &'static Field)> {
    fields
        .iter()
        .enumerate()
        .find(|(_, field)| field.name.eq_ignore_ascii_case(name))
}

/// The value at `key` of a record object: the exact key, else the first key equal ignoring
/// case (Lake's columns are case-insensitive, and a few record keys are written in more than
/// one way, such as `ec2IssuedInVPC`).
pub(crate) fn lookup<'a>(
    object: &'a serde_json::Map<String, serde_json::Value>,
    key: &str,
) -> Option<&'a serde_json::Value> {
    object.get(key).or_else(|| {
        object
            .iter()
            .find(|(candidate, _)| candidate.eq_ignore_ascii_case(key))
            .map(|(_, value)| value)
    })
}

const fn field(name: &'static str, key: &'static str, ty: Type) -> Field {
    Field { name, key, ty }
}

const VARCHAR: Type = Type::Varchar;

/// `eventtime`, the column the caller's time range is about.
pub(crate) const EVENT_TIME: &str = "eventtime";

/// The whole record as JSON text, a column Lake adds to the record's own fields.
pub(crate) const EVENT_JSON: &str = "eventjson";

/// A column of Lake's schema whose value (a checksum Lake computes) this engine cannot give.
pub(crate) const UNSUPPORTED_COLUMNS: [&str; 1] = ["eventjsonchecksum"];

static SESSION_ATTRIBUTES: [Field; 2] = [
    field("creationdate", "creationDate", Type::Timestamp(3)),
    field("mfaauthenticated", "mfaAuthenticated", VARCHAR),
];

static SESSION_ISSUER: [Field; 5] = [
    field("type", "type", VARCHAR),
    field("principalid", "principalId", VARCHAR),
    field("arn", "arn", VARCHAR),
    field("accountid", "accountId", VARCHAR),
    field("username", "userName", VARCHAR),
];

static WEB_ID_FEDERATION_DATA: [Field; 2] = [
    field("federatedprovider", "federatedProvider", VARCHAR),
    field("attributes", "attributes", Type::Map),
];

static SESSION_CONTEXT: [Field; 6] = [
    field("attributes", "attributes", Type::Row(&SESSION_ATTRIBUTES)),
    field("sessionissuer", "sessionIssuer", Type::Row(&SESSION_ISSUER)),
    field(
        "webidfederationdata",
        "webIdFederationData",
        Type::Row(&WEB_ID_FEDERATION_DATA),
    ),
    field("sourceidentity", "sourceIdentity", VARCHAR),
    field("ec2roledelivery", "ec2RoleDelivery", VARCHAR),
    field("ec2issuedinvpc", "ec2IssuedInVPC", VARCHAR),
];

static ON_BEHALF_OF: [Field; 2] = [
    field("userid", "userId", VARCHAR),
    field("identitystorearn", "identityStoreArn", VARCHAR),
];

// Lake's documented schema spells the last field `credentiaisissuedto`; the record's key is
// `credentialsIssuedTo`.
static IN_SCOPE_OF: [Field; 4] = [
    field("sourcearn", "sourceArn", VARCHAR),
    field("sourceaccount", "sourceAccount", VARCHAR),
    field("issuertype", "issuerType", VARCHAR),
    field("credentiaisissuedto", "credentialsIssuedTo", VARCHAR),
];

static USER_IDENTITY: [Field; 11] = [
    field("type", "type", VARCHAR),
    field("principalid", "principalId", VARCHAR),
    field("arn", "arn", VARCHAR),
    field("accountid", "accountId", VARCHAR),
    field("accesskeyid", "accessKeyId", VARCHAR),
    field("username", "userName", VARCHAR),
    field(
        "sessioncontext",
        "sessionContext",
        Type::Row(&SESSION_CONTEXT),
    ),
    field("onbehalfof", "onBehalfOf", Type::Row(&ON_BEHALF_OF)),
    field("inscopeof", "inScopeOf", Type::Row(&IN_SCOPE_OF)),
    field("invokedby", "invokedBy", VARCHAR),
    field("identityprovider", "identityProvider", VARCHAR),
];

static RESOURCE_FIELDS: [Field; 4] = [
    field("accountid", "accountId", VARCHAR),
    field("type", "type", VARCHAR),
    field("arn", "ARN", VARCHAR),
    field("arnprefix", "ARNPrefix", VARCHAR),
];

static RESOURCE: Type = Type::Row(&RESOURCE_FIELDS);

static TLS_DETAILS: [Field; 3] = [
    field("tlsversion", "tlsVersion", VARCHAR),
    field("ciphersuite", "cipherSuite", VARCHAR),
    field(
        "clientprovidedhostheader",
        "clientProvidedHostHeader",
        VARCHAR,
    ),
];

/// The record columns in Lake's schema order; `SELECT *` selects these.
pub(crate) static COLUMNS: [Field; 32] = [
    field("eventversion", "eventVersion", VARCHAR),
    field("useridentity", "userIdentity", Type::Row(&USER_IDENTITY)),
    field(EVENT_TIME, "eventTime", Type::Timestamp(3)),
    field("eventsource", "eventSource", VARCHAR),
    field("eventname", "eventName", VARCHAR),
    field("awsregion", "awsRegion", VARCHAR),
    field("sourceipaddress", "sourceIPAddress", VARCHAR),
    field("useragent", "userAgent", VARCHAR),
    field("errorcode", "errorCode", VARCHAR),
    field("errormessage", "errorMessage", VARCHAR),
    field("requestparameters", "requestParameters", Type::Map),
    field("responseelements", "responseElements", Type::Map),
    field("additionaleventdata", "additionalEventData", Type::Map),
    field("requestid", "requestID", VARCHAR),
    field("eventid", "eventID", VARCHAR),
    field("readonly", "readOnly", Type::Boolean),
    field("resources", "resources", Type::Array(&RESOURCE)),
    field("eventtype", "eventType", VARCHAR),
    field("apiversion", "apiVersion", VARCHAR),
    field("managementevent", "managementEvent", Type::Boolean),
    field("recipientaccountid", "recipientAccountId", VARCHAR),
    field("sharedeventid", "sharedEventID", VARCHAR),
    field("annotation", "annotation", VARCHAR),
    field("vpcendpointid", "vpcEndpointId", VARCHAR),
    field("vpcendpointaccountid", "vpcEndpointAccountId", VARCHAR),
    field("serviceeventdetails", "serviceEventDetails", Type::Map),
    field("addendum", "addendum", Type::Map),
    field("edgedevicedetails", "edgeDeviceDetails", Type::Map),
    field("insightdetails", "insightDetails", Type::Map),
    field("eventcategory", "eventCategory", VARCHAR),
    field("tlsdetails", "tlsDetails", Type::Row(&TLS_DETAILS)),
    field(
        "sessioncredentialfromconsole",
        "sessionCredentialFromConsole",
        VARCHAR,
    ),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_types_the_way_trino_does() {
        let (_, resources) = find(&COLUMNS, "Resources").unwrap();
        assert_eq!(
            resources.ty.to_string(),
            "array(row(accountid varchar, type varchar, arn varchar, arnprefix varchar))"
        );
        assert_eq!(
            Type::TimestampTz(3).to_string(),
            "timestamp(3) with time zone"
        );
        assert_eq!(Type::Bigint.common(Type::Double), Some(Type::Double));
        assert_eq!(
            Type::Timestamp(0).common(Type::TimestampTz(3)),
            Some(Type::TimestampTz(3))
        );
        assert_eq!(Type::Varchar.common(Type::Bigint), None);
    }
}
