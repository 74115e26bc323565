//! Secrets Manager through aws-sdk-secretsmanager.
