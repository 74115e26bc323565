//! Parameter Store through aws-sdk-ssm.
