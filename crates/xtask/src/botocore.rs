//! Finding the pinned botocore and reading its service models.
//!
//! Only the parts of `service-2.json` that Palisade's model describes are read; everything else
//! (documentation above all: it is AWS's text, not ours to copy) is ignored by serde.

use std::fs;
use std::io::BufReader;
use std::path::{Path, PathBuf};
use std::process::Command;

use flate2::read::GzDecoder;
use indexmap::IndexMap;
use serde::Deserialize;

/// The file that pins botocore (and the other Python tools); the pin is read from here so there
/// is a single place to bump it.
pub const REQUIREMENTS: &str = "scripts/python-requirements.txt";

/// A botocore installation whose version matches the pin.
#[derive(Debug)]
pub struct Botocore {
    /// The `botocore/data` folder.
    pub data: PathBuf,
    /// botocore's version, e.g. `1.43.11`.
    pub version: String,
}

/// Finds the data folder (`BOTOCORE_DATA`, else the repo's venv) and checks its version against
/// the pin, so that two developers with different botocores cannot generate different code.
pub fn locate(repo: &Path) -> Result<Botocore, String> {
    let pinned = pinned_version(repo)?;
    let data = match std::env::var_os("BOTOCORE_DATA") {
        Some(dir) => PathBuf::from(dir),
        None => data_from_venv(repo)?,
    };
    let version = installed_version(&data)?;
    if version != pinned {
        return Err(format!(
            "botocore at {} is version {version}, but {REQUIREMENTS} pins {pinned}; run \
             scripts/python-env (or point BOTOCORE_DATA at botocore {pinned}'s data folder)",
            data.display()
        ));
    }
    Ok(Botocore { data, version })
}

/// The `botocore==X` pin of the requirements file.
fn pinned_version(repo: &Path) -> Result<String, String> {
    let path = repo.join(REQUIREMENTS);
    let text =
        fs::read_to_string(&path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    text.lines()
        .filter_map(|line| line.trim().strip_prefix("botocore=="))
        .map(|version| version.trim().to_owned())
        .next()
        .ok_or_else(|| format!("{} has no `botocore==<version>` line", path.display()))
}

fn data_from_venv(repo: &Path) -> Result<PathBuf, String> {
    let python = repo.join(".venv/bin/python");
    if !python.exists() {
        return Err(format!(
            "{} not found: run scripts/python-env first (or set BOTOCORE_DATA)",
            python.display()
        ));
    }
    let output = Command::new(&python)
        .args([
            "-c",
            "import botocore, os; print(os.path.dirname(botocore.__file__))",
        ])
        .output()
        .map_err(|e| format!("cannot run {}: {e}", python.display()))?;
    if !output.status.success() {
        return Err(format!(
            "{} cannot import botocore ({}); run scripts/python-env",
            python.display(),
            String::from_utf8_lossy(&output.stderr).trim()
        ));
    }
    let dir = String::from_utf8(output.stdout)
        .map_err(|_| "the botocore path is not UTF-8".to_owned())?;
    Ok(PathBuf::from(dir.trim()).join("data"))
}

/// Reads `__version__` from the package's `__init__.py`, next to the data folder. Reading the
/// file rather than asking Python also works for a `BOTOCORE_DATA` outside any venv.
fn installed_version(data: &Path) -> Result<String, String> {
    let init = data
        .parent()
        .map(|package| package.join("__init__.py"))
        .ok_or_else(|| format!("{} has no parent folder", data.display()))?;
    let text = fs::read_to_string(&init).map_err(|e| {
        format!(
            "cannot read {} to check botocore's version: {e}",
            init.display()
        )
    })?;
    text.lines()
        .filter_map(|line| line.strip_prefix("__version__"))
        .filter_map(|rest| rest.trim().strip_prefix('='))
        .map(|quoted| quoted.trim().trim_matches(['\'', '"']).to_owned())
        .next()
        .ok_or_else(|| format!("{} has no __version__", init.display()))
}

/// Reads `<data>/<service>/<newest api version>/service-2.json.gz`.
pub fn load_service(data: &Path, service: &str) -> Result<RawModel, String> {
    let dir = data.join(service);
    let entries = fs::read_dir(&dir).map_err(|e| format!("cannot list {}: {e}", dir.display()))?;
    // API versions are dates (YYYY-MM-DD), so the greatest name is the newest version.
    let mut newest: Option<PathBuf> = None;
    for entry in entries {
        let path = entry
            .map_err(|e| format!("cannot list {}: {e}", dir.display()))?
            .path()
            .join("service-2.json.gz");
        if path.is_file() && newest.as_ref().is_none_or(|best| path > *best) {
            newest = Some(path);
        }
    }
    let path = newest.ok_or_else(|| format!("no */service-2.json.gz under {}", dir.display()))?;
    let file = fs::File::open(&path).map_err(|e| format!("cannot open {}: {e}", path.display()))?;
    serde_json::from_reader(BufReader::new(GzDecoder::new(file)))
        .map_err(|e| format!("cannot read {}: {e}", path.display()))
}

/// A `service-2.json` document.
#[derive(Debug, Deserialize)]
pub struct RawModel {
    pub metadata: RawMetadata,
    pub operations: IndexMap<String, RawOperation>,
    pub shapes: IndexMap<String, RawShape>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RawMetadata {
    pub api_version: String,
    pub endpoint_prefix: String,
    pub service_id: String,
    pub signing_name: Option<String>,
    pub target_prefix: Option<String>,
    pub json_version: Option<String>,
    pub xml_namespace: Option<String>,
    pub protocol: String,
    pub protocols: Option<Vec<String>>,
    /// An (empty) object when present: only its presence means something.
    pub aws_query_compatible: Option<serde_json::Value>,
}

#[derive(Debug, Deserialize)]
pub struct RawOperation {
    pub http: RawHttp,
    pub input: Option<RawShapeRef>,
    pub output: Option<RawOutputRef>,
    #[serde(default)]
    pub errors: Vec<RawShapeRef>,
    /// Smithy auth schemes; `["smithy.api#noAuth"]` marks an operation callers need not sign.
    #[serde(default)]
    pub auth: Vec<String>,
    /// The older spelling of the same: `"none"`.
    pub authtype: Option<String>,
}

impl RawOperation {
    /// Whether AWS accepts the operation without a signature (e.g. `AssumeRoleWithWebIdentity`).
    pub fn anonymous(&self) -> bool {
        self.authtype.as_deref() == Some("none")
            || (!self.auth.is_empty()
                && self.auth.iter().all(|scheme| scheme == "smithy.api#noAuth"))
    }
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RawHttp {
    pub method: String,
    pub request_uri: String,
    pub response_code: Option<u16>,
}

#[derive(Debug, Deserialize)]
pub struct RawShapeRef {
    pub shape: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RawOutputRef {
    pub shape: String,
    pub result_wrapper: Option<String>,
}

/// A shape, with the fields of every type side by side (botocore's own layout).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RawShape {
    #[serde(rename = "type")]
    pub kind: String,
    // structure
    pub members: Option<IndexMap<String, RawMember>>,
    #[serde(default)]
    pub required: Vec<String>,
    #[serde(default)]
    pub exception: bool,
    /// A server-side (5xx) error.
    #[serde(default)]
    pub fault: bool,
    pub error: Option<RawError>,
    #[serde(default)]
    pub union: bool,
    /// botocore spells a Smithy document as a structure with `"document": true`.
    #[serde(default)]
    pub document: bool,
    // list, map
    pub member: Option<RawMember>,
    pub key: Option<RawMember>,
    pub value: Option<RawMember>,
    // constraints
    pub min: Option<serde_json::Number>,
    pub max: Option<serde_json::Number>,
    pub pattern: Option<String>,
    #[serde(rename = "enum")]
    pub enum_values: Option<Vec<String>>,
    #[serde(default)]
    pub sensitive: bool,
    pub timestamp_format: Option<String>,
    // Wire traits palisade-core's model cannot express; read only to refuse them.
    #[serde(default)]
    pub flattened: bool,
    #[serde(default)]
    pub streaming: bool,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RawError {
    pub code: Option<String>,
    pub http_status_code: Option<u16>,
    pub sender_fault: Option<bool>,
}

/// A reference to a shape from a structure member, list member, map key or map value.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RawMember {
    pub shape: String,
    pub location: Option<String>,
    pub location_name: Option<String>,
    #[serde(default)]
    pub idempotency_token: bool,
    // Wire traits palisade-core's model cannot express; read only to refuse them.
    pub timestamp_format: Option<String>,
    #[serde(default)]
    pub flattened: bool,
    #[serde(default)]
    pub xml_attribute: bool,
    pub xml_namespace: Option<serde_json::Value>,
    #[serde(default)]
    pub jsonvalue: bool,
    #[serde(default)]
    pub host_label: bool,
    #[serde(default)]
    pub streaming: bool,
    #[serde(default)]
    pub eventpayload: bool,
    #[serde(default)]
    pub eventheader: bool,
    pub query_name: Option<String>,
}

impl RawMember {
    /// The first wire trait of this member that the core model has no place for, if any.
    pub fn unsupported_trait(&self) -> Option<&'static str> {
        [
            (self.timestamp_format.is_some(), "timestampFormat"),
            (self.flattened, "flattened"),
            (self.xml_attribute, "xmlAttribute"),
            (self.xml_namespace.is_some(), "xmlNamespace"),
            (self.jsonvalue, "jsonvalue"),
            (self.host_label, "hostLabel"),
            (self.streaming, "streaming"),
            (self.eventpayload, "eventpayload"),
            (self.eventheader, "eventheader"),
            (self.query_name.is_some(), "queryName"),
        ]
        .into_iter()
        .find_map(|(set, name)| set.then_some(name))
    }
}
