//! The HTTP client coffer's server side uses to call out: rotation functions, alert webhooks,
//! OIDC JWKS documents. It speaks https with the system's trusted roots plus the certificates of
//! `AWS_CA_BUNDLE` (a PEM file, as the AWS SDKs read it), through aws-lc-rs like every other
//! TLS in coffer, and never follows redirects (a redirect could lead a credential-bearing call
//! elsewhere).

use std::sync::Arc;
use std::time::Duration;

/// Why the client could not be built: the message says which file to fix.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct OutboundError(String);

/// The trusted roots: the system's, and `AWS_CA_BUNDLE`'s.
fn roots() -> Result<rustls::RootCertStore, OutboundError> {
    use rustls::pki_types::CertificateDer;
    use rustls::pki_types::pem::PemObject as _;
    let mut roots = rustls::RootCertStore::empty();
    for cert in rustls_native_certs::load_native_certs().certs {
        // A system certificate rustls cannot use is skipped, as every rustls client does.
        let _ = roots.add(cert);
    }
    if let Some(bundle) = std::env::var_os("AWS_CA_BUNDLE").filter(|b| !b.is_empty()) {
        let shown = std::path::Path::new(&bundle).display().to_string();
        let bad = |e: &dyn std::fmt::Display| {
            OutboundError(format!(
                "AWS_CA_BUNDLE {shown}: {e} (it must be a readable PEM file of CA certificates)"
            ))
        };
        let mut added = 0;
        for cert in CertificateDer::pem_file_iter(&bundle).map_err(|e| bad(&e))? {
            roots.add(cert.map_err(|e| bad(&e))?).map_err(|e| bad(&e))?;
            added += 1;
        }
        if added == 0 {
            return Err(bad(&"no certificate in the file"));
        }
    }
    Ok(roots)
}

/// A client with `timeout` per request (connecting included).
pub fn client(timeout: Duration) -> Result<reqwest::Client, OutboundError> {
    let tls = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::aws_lc_rs::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .map_err(|e| OutboundError(format!("TLS setup failed: {e}")))?
    .with_root_certificates(roots()?)
    .with_no_client_auth();
    reqwest::Client::builder()
        .use_preconfigured_tls(tls)
        .connect_timeout(timeout.min(Duration::from_secs(10)))
        .timeout(timeout)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .map_err(|e| OutboundError(format!("building the HTTP client: {e}")))
}
