//! awsJson wire types: blobs are base64 strings, timestamps are epoch seconds.
//! <https://smithy.io/2.0/aws/protocols/aws-json-1_1-protocol.html>

use crate::error::CommonErrors;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use coffer_types::SecretBytes;
use serde::de::{DeserializeOwned, Error as _};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Decode a validated input document into the operation's typed input.
pub fn decode<T: DeserializeOwned, E: CommonErrors>(v: serde_json::Value) -> Result<T, E> {
    // The model validator has checked types already; what remains are semantic decode failures
    // (bad base64), which AWS reports as serialization errors. serde's message names no value.
    serde_json::from_value(v).map_err(|e| E::serialization(strip_value(&e.to_string())))
}

pub fn encode<T: Serialize, E: CommonErrors>(v: &T) -> Result<serde_json::Value, E> {
    serde_json::to_value(v).map_err(|e| E::internal(format!("encoding output: {e}")))
}

/// serde_json errors can quote the offending value; keep only the part before it.
fn strip_value(msg: &str) -> String {
    msg.split(['`', '"'])
        .next()
        .unwrap_or("invalid input")
        .trim()
        .to_owned()
}

/// A non-secret blob (ciphertexts).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Blob(pub Vec<u8>);

impl<'de> Deserialize<'de> for Blob {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        STANDARD
            .decode(s.as_bytes())
            .map(Blob)
            .map_err(|_| D::Error::custom("blob is not valid base64"))
    }
}

impl Serialize for Blob {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&STANDARD.encode(&self.0))
    }
}

/// A secret blob (plaintexts, data keys): zeroized on drop, redacted in Debug.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SecretBlob(pub SecretBytes);

impl<'de> Deserialize<'de> for SecretBlob {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = zeroize::Zeroizing::new(String::deserialize(d)?);
        STANDARD
            .decode(s.as_bytes())
            .map(|v| SecretBlob(SecretBytes::new(v)))
            .map_err(|_| D::Error::custom("blob is not valid base64"))
    }
}

impl Serialize for SecretBlob {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let encoded = zeroize::Zeroizing::new(STANDARD.encode(self.0.expose()));
        s.serialize_str(&encoded)
    }
}

/// A timestamp rendered as epoch seconds (with milliseconds), as awsJson does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Epoch(pub i64 /* millis */);

impl Serialize for Epoch {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        #[allow(clippy::cast_precision_loss)] // millis since 1970 fit in f64's 53 bits
        s.serialize_f64(self.0 as f64 / 1000.0)
    }
}

/// A secret string (SecretString, passwords): held as [`SecretBytes`], zeroized on drop,
/// redacted in Debug, rendered as a JSON string. Input JSON strings are UTF-8, so stored values
/// always are.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SecretText(pub SecretBytes);

impl<'de> Deserialize<'de> for SecretText {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Ok(SecretText(SecretBytes::new(s.into_bytes())))
    }
}

impl Serialize for SecretText {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let text = std::str::from_utf8(self.0.expose())
            .map_err(|_| serde::ser::Error::custom("secret text is not UTF-8"))?;
        s.serialize_str(text)
    }
}
