//! The AWS shared configuration files: `~/.aws/credentials` (`[name]` sections) and
//! `~/.aws/config` (`[default]` and `[profile name]` sections), as the AWS CLI and SDKs read them.

use crate::env::Env;
use crate::error::{Error, Result};
use std::collections::HashMap;
use std::path::PathBuf;

/// The settings of one profile, credentials file over config file.
#[derive(Default, Clone)]
pub struct Profile {
    pub name: String,
    values: HashMap<String, String>,
}

impl std::fmt::Debug for Profile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut keys: Vec<&String> = self.values.keys().collect();
        keys.sort();
        f.debug_struct("Profile")
            .field("name", &self.name)
            .field("keys", &keys)
            .finish()
    }
}

impl Profile {
    pub fn get(&self, key: &str) -> Option<&str> {
        self.values
            .get(key)
            .map(String::as_str)
            .filter(|v| !v.is_empty())
    }
}

/// Sections of an INI file: name → key → value. Keys are lower-cased; indented continuation
/// lines (nested settings such as `s3 =` blocks) are skipped.
pub fn parse_ini(text: &str) -> HashMap<String, HashMap<String, String>> {
    let mut out: HashMap<String, HashMap<String, String>> = HashMap::new();
    let mut current: Option<String> = None;
    for raw in text.lines() {
        if raw.starts_with([' ', '\t']) && !raw.trim().is_empty() {
            continue; // a nested sub-setting
        }
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') || line.starts_with(';') {
            continue;
        }
        if let Some(rest) = line.strip_prefix('[') {
            let name = rest.split(']').next().unwrap_or("").trim();
            current = Some(name.split_whitespace().collect::<Vec<_>>().join(" "));
            out.entry(current.clone().unwrap_or_default()).or_default();
            continue;
        }
        let (Some(section), Some((k, v))) = (&current, line.split_once('=')) else {
            continue;
        };
        let mut value = v.trim();
        // An inline comment needs whitespace before it, as in the AWS CLI.
        for marker in [" #", "\t#", " ;", "\t;"] {
            if let Some(i) = value.find(marker) {
                value = value[..i].trim_end();
            }
        }
        out.entry(section.clone())
            .or_default()
            .insert(k.trim().to_ascii_lowercase(), value.to_owned());
    }
    out
}

fn home(env: &Env) -> Option<PathBuf> {
    env.get("HOME")
        .or_else(|| env.get("USERPROFILE"))
        .map(PathBuf::from)
}

fn expand(path: &str, env: &Env) -> PathBuf {
    match (path.strip_prefix("~/"), home(env)) {
        (Some(rest), Some(h)) => h.join(rest),
        _ => PathBuf::from(path),
    }
}

pub fn credentials_path(env: &Env) -> Option<PathBuf> {
    match env.get("AWS_SHARED_CREDENTIALS_FILE") {
        Some(p) => Some(expand(&p, env)),
        None => home(env).map(|h| h.join(".aws/credentials")),
    }
}

pub fn config_path(env: &Env) -> Option<PathBuf> {
    match env.get("AWS_CONFIG_FILE") {
        Some(p) => Some(expand(&p, env)),
        None => home(env).map(|h| h.join(".aws/config")),
    }
}

fn read_optional(path: &Option<PathBuf>) -> Result<Option<String>> {
    let Some(path) = path else { return Ok(None) };
    match std::fs::read_to_string(path) {
        Ok(t) => Ok(Some(t)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(Error::Config(format!(
            "cannot read AWS shared config file {}: {e}",
            path.display()
        ))),
    }
}

/// The profile to use: `explicit` (a `--profile` flag), else `AWS_PROFILE`, else `default`.
/// Returns `None` when the default profile is wanted and exists in neither file; a profile named
/// explicitly that does not exist is an error.
pub fn load(explicit: Option<&str>, env: &Env) -> Result<Option<Profile>> {
    let named = explicit
        .map(str::to_owned)
        .or_else(|| env.get("AWS_PROFILE"))
        .or_else(|| env.get("AWS_DEFAULT_PROFILE"));
    let name = named.clone().unwrap_or_else(|| "default".to_owned());
    let cred_path = credentials_path(env);
    let conf_path = config_path(env);
    let creds = read_optional(&cred_path)?.map(|t| parse_ini(&t));
    let conf = read_optional(&conf_path)?.map(|t| parse_ini(&t));

    let mut found = false;
    let mut values = HashMap::new();
    if let Some(conf) = &conf {
        let section = if name == "default" {
            conf.get("default").or_else(|| conf.get("profile default"))
        } else {
            conf.get(&format!("profile {name}"))
        };
        if let Some(s) = section {
            found = true;
            values.extend(s.clone());
        }
    }
    if let Some(creds) = &creds
        && let Some(s) = creds.get(&name)
    {
        found = true;
        values.extend(s.clone());
    }
    if !found {
        if named.is_some() {
            let shown = |p: &Option<PathBuf>| {
                p.as_ref()
                    .map(|p| p.display().to_string())
                    .unwrap_or_else(|| "(no HOME)".to_owned())
            };
            return Err(Error::Config(format!(
                "the AWS profile {name:?} is in neither {} nor {}: check AWS_PROFILE/--profile, \
                 or point AWS_SHARED_CREDENTIALS_FILE / AWS_CONFIG_FILE at the right files",
                shown(&cred_path),
                shown(&conf_path)
            )));
        }
        return Ok(None);
    }
    Ok(Some(Profile { name, values }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_sections_comments_and_nested_blocks() {
        let ini = "\
# comment
[default]
aws_access_key_id = AKIA1 # trailing
AWS_Secret_Access_Key=abc/def+ghi
region = eu-west-1

[profile dev]
region=us-east-2
s3 =
  max_concurrent_requests = 20
endpoint_url = http://127.0.0.1:4566
";
        let p = parse_ini(ini);
        assert_eq!(p["default"]["aws_access_key_id"], "AKIA1");
        assert_eq!(p["default"]["aws_secret_access_key"], "abc/def+ghi");
        assert_eq!(p["profile dev"]["region"], "us-east-2");
        assert_eq!(p["profile dev"]["endpoint_url"], "http://127.0.0.1:4566");
        assert!(!p["profile dev"].contains_key("max_concurrent_requests"));
    }

    #[test]
    fn credentials_file_wins_and_missing_named_profile_is_an_error() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let creds = dir.path().join("credentials");
        let conf = dir.path().join("config");
        std::fs::write(&creds, "[dev]\naws_access_key_id=FROMCREDS\n")
            .unwrap_or_else(|e| panic!("{e}"));
        std::fs::write(
            &conf,
            "[profile dev]\naws_access_key_id=FROMCONF\nregion=ap-south-1\n",
        )
        .unwrap_or_else(|e| panic!("{e}"));
        let env = Env::from_pairs([
            ("AWS_SHARED_CREDENTIALS_FILE", creds.to_str().unwrap_or("")),
            ("AWS_CONFIG_FILE", conf.to_str().unwrap_or("")),
        ]);
        let p = load(Some("dev"), &env)
            .unwrap_or_else(|e| panic!("{e}"))
            .unwrap_or_else(|| panic!("no profile"));
        assert_eq!(p.get("aws_access_key_id"), Some("FROMCREDS"));
        assert_eq!(p.get("region"), Some("ap-south-1"));
        assert!(load(Some("nope"), &env).is_err());
        assert!(load(None, &env).unwrap_or_else(|e| panic!("{e}")).is_none());
    }
}
