//! Amazon Resource Names: `arn:PARTITION:SERVICE:REGION:ACCOUNT:RESOURCE`.
//! <https://docs.aws.amazon.com/IAM/latest/UserGuide/reference-arns.html>

use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a valid ARN")]
pub struct ArnError;

/// A parsed ARN. Region and account may be empty (IAM ARNs have no region).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Arn {
    pub partition: String,
    pub service: String,
    pub region: String,
    pub account: String,
    pub resource: String,
}

impl Arn {
    pub fn parse(s: &str) -> Result<Self, ArnError> {
        let mut parts = s.splitn(6, ':');
        let (
            Some("arn"),
            Some(partition),
            Some(service),
            Some(region),
            Some(account),
            Some(resource),
        ) = (
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
        )
        else {
            return Err(ArnError);
        };
        if partition.is_empty() || service.is_empty() || resource.is_empty() {
            return Err(ArnError);
        }
        Ok(Self {
            partition: partition.to_owned(),
            service: service.to_owned(),
            region: region.to_owned(),
            account: account.to_owned(),
            resource: resource.to_owned(),
        })
    }
}

impl fmt::Display for Arn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "arn:{}:{}:{}:{}:{}",
            self.partition, self.service, self.region, self.account, self.resource
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips() {
        let s = "arn:aws:kms:us-east-1:012345678901:key/mrk-abc123";
        let arn = Arn::parse(s).expect("valid");
        assert_eq!(arn.service, "kms");
        assert_eq!(arn.resource, "key/mrk-abc123");
        assert_eq!(arn.to_string(), s);
        let iam = Arn::parse("arn:aws:iam::111111111111:role/CrossAccountReader").expect("valid");
        assert_eq!(iam.region, "");
        assert_eq!(iam.resource, "role/CrossAccountReader");
    }

    #[test]
    fn rejects_garbage() {
        assert!(Arn::parse("alias/foo").is_err());
        assert!(Arn::parse("arn:aws:kms:us-east-1:1").is_err());
        assert!(Arn::parse("arn:aws:kms:us-east-1:1:").is_err());
    }
}
