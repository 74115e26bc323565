//! The `objects` list of a Secrets Store CSI driver `SecretProviderClass` (AWS provider), so a
//! team's existing class works as it is.
//!
//! Accepted files: the list itself; a mapping whose `objects` is the list or a YAML string
//! holding it (the `parameters` block); or a whole `SecretProviderClass` manifest.
//!
//! Each object: `objectName` (required), `objectType` (`secretsmanager` | `ssmparameter`;
//! optional for a Secrets Manager ARN), `objectAlias` (file name, default the name with `/`
//! translated), `objectVersion` (VersionId / parameter version), `objectVersionLabel`
//! (VersionStage / parameter label), `jmesPath` (a list of `path` + `objectAlias`: one more file
//! each, holding what the JMESPath expression selects from the JSON value). `failoverObject` is
//! accepted and ignored (there is no failover region here); `objectTemplate` is refused.

use crate::error::{Error, Result};
use serde::Deserialize;
use std::collections::{BTreeMap, HashSet};
use std::path::{Component, Path, PathBuf};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ObjectKind {
    SecretsManager,
    SsmParameter,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JmesSpec {
    pub path: String,
    pub alias: String,
    /// Where it is written, relative to the target directory.
    pub file: PathBuf,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectSpec {
    pub name: String,
    pub kind: ObjectKind,
    pub alias: Option<String>,
    pub version: Option<String>,
    pub label: Option<String>,
    pub jmes: Vec<JmesSpec>,
    /// The object's own file, relative to the target directory.
    pub file: PathBuf,
}

impl ObjectSpec {
    /// Every file this object writes.
    pub fn files(&self) -> impl Iterator<Item = &Path> {
        std::iter::once(self.file.as_path()).chain(self.jmes.iter().map(|j| j.file.as_path()))
    }

    /// How the object is named in messages: `secretsmanager:NAME` or `ssmparameter:NAME`.
    pub fn display(&self) -> String {
        let kind = match self.kind {
            ObjectKind::SecretsManager => "secretsmanager",
            ObjectKind::SsmParameter => "ssmparameter",
        };
        format!("{kind}:{}", self.name)
    }

    /// The GetParameter name with its selector.
    pub fn parameter_name(&self) -> String {
        match (&self.version, &self.label) {
            (Some(v), _) => format!("{}:{v}", self.name),
            (None, Some(l)) => format!("{}:{l}", self.name),
            (None, None) => self.name.clone(),
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawObject {
    object_name: Option<String>,
    object_type: Option<String>,
    object_alias: Option<String>,
    object_version: Option<serde_norway::Value>,
    object_version_label: Option<String>,
    #[serde(default)]
    jmes_path: Vec<RawJmes>,
    #[serde(flatten)]
    extra: BTreeMap<String, serde_norway::Value>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawJmes {
    path: Option<String>,
    object_alias: Option<String>,
    #[serde(flatten)]
    extra: BTreeMap<String, serde_norway::Value>,
}

/// How `/` in an object name becomes a file name: `_` by default (as the CSI provider), another
/// single character, or `False` to keep it (nested directories).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PathTranslation {
    Replace(char),
    Keep,
}

impl PathTranslation {
    pub fn parse(s: &str) -> Result<Self> {
        if s.eq_ignore_ascii_case("false") {
            return Ok(Self::Keep);
        }
        let mut chars = s.chars();
        match (chars.next(), chars.next()) {
            (Some(c), None) if c != '/' => Ok(Self::Replace(c)),
            _ => Err(Error::Invalid(format!(
                "pathTranslation {s:?} must be one character or False"
            ))),
        }
    }
}

/// A parsed objects file.
#[derive(Debug, Clone)]
pub struct Objects {
    pub objects: Vec<ObjectSpec>,
}

fn scalar_to_string(v: &serde_norway::Value) -> Option<String> {
    match v {
        serde_norway::Value::String(s) => Some(s.clone()),
        serde_norway::Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// Find the `objects` list in the document, whatever its wrapping.
fn locate(doc: serde_norway::Value, translation: &mut Option<String>) -> Result<Vec<RawObject>> {
    use serde_norway::Value;
    let bad = |e: serde_norway::Error| Error::Invalid(format!("bad objects list: {e}"));
    match doc {
        Value::Sequence(_) => serde_norway::from_value(doc).map_err(bad),
        Value::Mapping(map) => {
            let get = |k: &str| map.get(Value::String(k.to_owned())).cloned();
            if let Some(spec) = get("spec") {
                let params = spec.get("parameters").cloned().ok_or_else(|| {
                    Error::Invalid("the SecretProviderClass has no spec.parameters".into())
                })?;
                return locate(params, translation);
            }
            if let Some(t) = get("pathTranslation").as_ref().and_then(scalar_to_string) {
                translation.get_or_insert(t);
            }
            match get("objects") {
                Some(Value::String(s)) => {
                    let inner: Value = serde_norway::from_str(&s).map_err(|e| {
                        Error::Invalid(format!("the objects string is not YAML: {e}"))
                    })?;
                    locate(inner, translation)
                }
                Some(v @ Value::Sequence(_)) => serde_norway::from_value(v).map_err(bad),
                Some(_) => Err(Error::Invalid("`objects` must be a list".into())),
                None => Err(Error::Invalid(
                    "no `objects` list: give the list itself, the SecretProviderClass parameters \
                     (objects: |), or the whole SecretProviderClass"
                        .into(),
                )),
            }
        }
        Value::Null => Err(Error::Invalid("the objects file is empty".into())),
        _ => Err(Error::Invalid(
            "the objects file must hold a YAML list or mapping".into(),
        )),
    }
}

/// A relative path that stays inside the target directory.
fn safe_relative(name: &str, what: &str) -> Result<PathBuf> {
    let p = Path::new(name);
    let ok = !name.is_empty()
        && p.components().all(|c| matches!(c, Component::Normal(_)))
        && !name.ends_with('/');
    if !ok {
        return Err(Error::Invalid(format!(
            "{what} {name:?} is not a file name inside the target directory (no absolute paths, \
             `..`, `.` or empty parts)"
        )));
    }
    Ok(p.to_path_buf())
}

fn is_secrets_manager_arn(name: &str) -> bool {
    let parts: Vec<&str> = name.splitn(7, ':').collect();
    parts.len() == 7 && parts[0] == "arn" && parts[2] == "secretsmanager" && parts[5] == "secret"
}

/// Parse and check an objects file. `translation` (a flag) wins over the file's
/// `pathTranslation`.
pub fn parse(text: &str, translation: Option<&str>) -> Result<Objects> {
    let doc: serde_norway::Value = serde_norway::from_str(text)
        .map_err(|e| Error::Invalid(format!("the objects file is not YAML: {e}")))?;
    let mut from_file = None;
    let raw = locate(doc, &mut from_file)?;
    let translation = PathTranslation::parse(translation.or(from_file.as_deref()).unwrap_or("_"))?;
    if raw.is_empty() {
        return Err(Error::Invalid("the objects list is empty".into()));
    }
    let mut objects = Vec::with_capacity(raw.len());
    let mut files = HashSet::new();
    for (i, o) in raw.into_iter().enumerate() {
        let at = format!("object #{}", i + 1);
        let name = o
            .object_name
            .filter(|n| !n.is_empty())
            .ok_or_else(|| Error::Invalid(format!("{at} has no objectName")))?;
        let at = format!("object {name:?}");
        for key in o.extra.keys() {
            match key.as_str() {
                "failoverObject" => {
                    tracing::warn!(object = %name, "failoverObject is ignored: coffer sync has no failover region")
                }
                "objectTemplate" => {
                    return Err(Error::Invalid(format!(
                        "{at}: objectTemplate (a Go template) is not supported: use jmesPath to pick keys"
                    )));
                }
                other => {
                    return Err(Error::Invalid(format!(
                        "{at}: unknown field {other:?} (known: objectName, objectType, objectAlias, \
                         objectVersion, objectVersionLabel, jmesPath)"
                    )));
                }
            }
        }
        let kind = match o.object_type.as_deref() {
            Some("secretsmanager") => ObjectKind::SecretsManager,
            Some("ssmparameter") => ObjectKind::SsmParameter,
            None if is_secrets_manager_arn(&name) => ObjectKind::SecretsManager,
            None => {
                return Err(Error::Invalid(format!(
                    "{at} needs objectType: secretsmanager or ssmparameter (only a Secrets Manager \
                     ARN may leave it out)"
                )));
            }
            Some(other) => {
                return Err(Error::Invalid(format!(
                    "{at}: objectType {other:?} is neither secretsmanager nor ssmparameter"
                )));
            }
        };
        let version = match &o.object_version {
            None | Some(serde_norway::Value::Null) => None,
            Some(v) => Some(scalar_to_string(v).ok_or_else(|| {
                Error::Invalid(format!("{at}: objectVersion must be a string or number"))
            })?),
        }
        .filter(|v| !v.is_empty());
        let label = o.object_version_label.filter(|l| !l.is_empty());
        if kind == ObjectKind::SsmParameter {
            if name.starts_with("arn:") {
                return Err(Error::Invalid(format!(
                    "{at}: for ssmparameter, objectName must be the parameter name, not an ARN"
                )));
            }
            if version.is_some() && label.is_some() {
                return Err(Error::Invalid(format!(
                    "{at}: give objectVersion or objectVersionLabel for a parameter, not both"
                )));
            }
            if let Some(v) = &version
                && v.parse::<u64>().is_err()
            {
                return Err(Error::Invalid(format!(
                    "{at}: objectVersion {v:?} of a parameter must be a version number"
                )));
            }
        }
        let alias = o.object_alias.filter(|a| !a.is_empty());
        let file = match &alias {
            Some(a) => safe_relative(a, "objectAlias")?,
            None => {
                let translated = match translation {
                    PathTranslation::Replace(c) => name.replace('/', &c.to_string()),
                    PathTranslation::Keep => name.trim_start_matches('/').to_owned(),
                };
                safe_relative(&translated, "objectName (as a file name)")?
            }
        };
        let mut jmes = Vec::with_capacity(o.jmes_path.len());
        for j in o.jmes_path {
            if let Some(k) = j.extra.keys().next() {
                return Err(Error::Invalid(format!(
                    "{at}: unknown jmesPath field {k:?} (known: path, objectAlias)"
                )));
            }
            let path = j
                .path
                .filter(|p| !p.is_empty())
                .ok_or_else(|| Error::Invalid(format!("{at}: a jmesPath entry has no path")))?;
            let alias = j.object_alias.filter(|a| !a.is_empty()).ok_or_else(|| {
                Error::Invalid(format!("{at}: jmesPath {path:?} has no objectAlias"))
            })?;
            jmespath::compile(&path).map_err(|e| {
                Error::Invalid(format!(
                    "{at}: jmesPath {path:?} is not a JMESPath expression: {e}"
                ))
            })?;
            let file = safe_relative(&alias, "jmesPath objectAlias")?;
            jmes.push(JmesSpec { path, alias, file });
        }
        let spec = ObjectSpec {
            name,
            kind,
            alias,
            version,
            label,
            jmes,
            file,
        };
        for f in spec.files() {
            if !files.insert(f.to_path_buf()) {
                return Err(Error::Invalid(format!(
                    "{at}: the file name {} is used twice in the objects list: give objectAlias values that differ",
                    f.display()
                )));
            }
        }
        objects.push(spec);
    }
    Ok(Objects { objects })
}

/// Apply a JMESPath expression to a JSON secret value. A string result is written as it is,
/// any other non-null result as JSON text; nothing selected is an error.
pub fn jmes_extract(value: &[u8], path: &str, object: &str) -> Result<Vec<u8>> {
    let json: serde_json::Value = serde_json::from_slice(value).map_err(|_| {
        Error::Invalid(format!(
            "{object} is not JSON, so its jmesPath {path:?} cannot apply"
        ))
    })?;
    let expr =
        jmespath::compile(path).map_err(|e| Error::Invalid(format!("jmesPath {path:?}: {e}")))?;
    let found = expr
        .search(json)
        .map_err(|e| Error::Invalid(format!("jmesPath {path:?} on {object}: {e}")))?;
    match &*found {
        jmespath::Variable::Null => Err(Error::Invalid(format!(
            "jmesPath {path:?} selects nothing in {object}: check the key names"
        ))),
        jmespath::Variable::String(s) => Ok(s.clone().into_bytes()),
        other => serde_json::to_vec(other)
            .map_err(|e| Error::Invalid(format!("jmesPath {path:?} on {object}: {e}"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok<T>(r: Result<T>) -> T {
        r.unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn parses_the_seed_secret_provider_class() {
        let spc = r#"
apiVersion: secrets-store.csi.x-k8s.io/v1
kind: SecretProviderClass
metadata:
  name: payments-secrets
spec:
  provider: aws
  parameters:
    objects: |
      - objectName: "prod/payments-api/database"
        objectType: "secretsmanager"
        jmesPath:
          - path: username
            objectAlias: db-username
          - path: password
            objectAlias: db-password
      - objectName: /prod/flag
        objectType: ssmparameter
        objectVersion: 3
"#;
        let o = ok(parse(spc, None)).objects;
        assert_eq!(o.len(), 2);
        assert_eq!(o[0].file, PathBuf::from("prod_payments-api_database"));
        assert_eq!(o[0].jmes[1].file, PathBuf::from("db-password"));
        assert_eq!(o[1].kind, ObjectKind::SsmParameter);
        assert_eq!(o[1].parameter_name(), "/prod/flag:3");
        assert_eq!(o[1].file, PathBuf::from("_prod_flag"));
    }

    #[test]
    fn plain_list_arn_without_type_and_translation() {
        let text = "- objectName: arn:aws:secretsmanager:us-east-1:000000000000:secret:a/b-AbCdEf\n  objectAlias: x\n- objectName: a/b\n  objectType: secretsmanager\n";
        let o = ok(parse(text, Some("False"))).objects;
        assert_eq!(o[0].kind, ObjectKind::SecretsManager);
        assert_eq!(o[1].file, PathBuf::from("a/b"));
        let o = ok(parse(
            "objects:\n  - objectName: a/b\n    objectType: ssmparameter\npathTranslation: '-'\n",
            None,
        ))
        .objects;
        assert_eq!(o[0].file, PathBuf::from("a-b"));
    }

    #[test]
    fn refuses_what_it_cannot_do_faithfully() {
        for (text, needle) in [
            ("- objectName: x\n", "objectType"),
            ("- objectName: x\n  objectType: s3\n", "neither"),
            (
                "- objectName: x\n  objectType: secretsmanager\n  objectAlias: ../x\n",
                "inside",
            ),
            (
                "- objectName: x\n  objectType: secretsmanager\n  objectAlias: /etc/x\n",
                "inside",
            ),
            (
                "- objectName: x\n  objectType: secretsmanager\n  objctAlias: y\n",
                "unknown field",
            ),
            (
                "- objectName: x\n  objectType: ssmparameter\n  objectVersion: 1\n  objectVersionLabel: l\n",
                "not both",
            ),
            (
                "- objectName: x\n  objectType: ssmparameter\n  objectVersion: abc\n",
                "version number",
            ),
            (
                "- objectName: x\n  objectType: secretsmanager\n- objectName: x\n  objectType: ssmparameter\n",
                "twice",
            ),
            (
                "- objectName: x\n  objectType: secretsmanager\n  jmesPath:\n    - path: 'a[\"'\n      objectAlias: y\n",
                "JMESPath",
            ),
            (
                "- objectName: x\n  objectType: secretsmanager\n  objectTemplate: '{{ . }}'\n",
                "not supported",
            ),
            ("[]", "empty"),
        ] {
            let err = parse(text, None)
                .err()
                .map(|e| e.to_string())
                .unwrap_or_default();
            assert!(err.contains(needle), "{text:?}: {err:?}");
        }
    }

    #[test]
    fn jmespath_selects_strings_raw_and_the_rest_as_json() {
        let v = br#"{"username":"u","port":5432,"nested":{"list":["a","b"]}}"#;
        assert_eq!(ok(jmes_extract(v, "username", "s")), b"u");
        assert_eq!(ok(jmes_extract(v, "port", "s")), b"5432");
        assert_eq!(ok(jmes_extract(v, "nested.list[1]", "s")), b"b");
        assert_eq!(ok(jmes_extract(v, "nested.list", "s")), br#"["a","b"]"#);
        assert!(jmes_extract(v, "missing", "s").is_err());
        assert!(jmes_extract(b"not json", "a", "s").is_err());
    }
}
