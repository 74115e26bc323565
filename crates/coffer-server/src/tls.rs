//! TLS on the listener: rustls on aws-lc-rs, TLS 1.2 and 1.3, ALPN h2 and http/1.1.
//!
//! - `--tls-cert`/`--tls-key`: PEM files (the certificate file may hold the whole chain; the
//!   key PKCS#8, PKCS#1 or SEC1), re-read on SIGHUP ([`Reloadable`]): new handshakes get the new
//!   certificate, open connections keep theirs, and a pair that does not load is logged and the
//!   old one kept.
//! - `--tls-self-signed`: a private CA and a server certificate in `DATA_DIR/tls/` ([`self_signed`]):
//!   `ca.pem` is what clients trust (`AWS_CA_BUNDLE`); keys are 0600; the server certificate is
//!   made again when its names change or it nears expiry, the CA is kept.

use anyhow::Context;
use rustls::crypto::aws_lc_rs;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};

/// Where the listener's certificate comes from.
#[derive(Debug, Clone)]
pub enum TlsSource {
    /// PEM files given by the operator.
    Files { cert: PathBuf, key: PathBuf },
    /// A certificate from coffer's own CA in the data directory, for these extra names.
    SelfSigned { names: Vec<String> },
}

/// The certificate in force, swapped whole on reload.
#[derive(Debug)]
pub struct Reloadable {
    cert: PathBuf,
    key: PathBuf,
    current: RwLock<Arc<CertifiedKey>>,
}

impl Reloadable {
    pub fn load(cert: &Path, key: &Path) -> anyhow::Result<Self> {
        Ok(Self {
            current: RwLock::new(load_pair(cert, key)?),
            cert: cert.to_owned(),
            key: key.to_owned(),
        })
    }

    /// Read the files again; keep the old certificate if the new pair does not load.
    pub fn reload(&self) {
        match load_pair(&self.cert, &self.key) {
            Ok(k) => {
                *self.current.write().unwrap_or_else(|p| p.into_inner()) = k;
                tracing::info!(cert = %self.cert.display(), "TLS certificate reloaded");
            }
            Err(e) => tracing::error!(
                error = %format!("{e:#}"),
                "TLS certificate not reloaded (still serving the previous one): fix the files and send SIGHUP again"
            ),
        }
    }
}

impl ResolvesServerCert for Reloadable {
    fn resolve(&self, _hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(
            self.current
                .read()
                .unwrap_or_else(|p| p.into_inner())
                .clone(),
        )
    }
}

fn load_pair(cert: &Path, key: &Path) -> anyhow::Result<Arc<CertifiedKey>> {
    let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(cert)
        .with_context(|| format!("cannot read the TLS certificate {}", cert.display()))?
        .collect::<Result<_, _>>()
        .with_context(|| format!("{} is not a PEM certificate chain", cert.display()))?;
    anyhow::ensure!(
        !chain.is_empty(),
        "{} holds no PEM certificate",
        cert.display()
    );
    let der = PrivateKeyDer::from_pem_file(key).with_context(|| {
        format!(
            "cannot read a PEM private key (PKCS#8, PKCS#1 or SEC1) from {}",
            key.display()
        )
    })?;
    let signing = aws_lc_rs::default_provider()
        .key_provider
        .load_private_key(der)
        .with_context(|| format!("{} is not a usable private key", key.display()))?;
    let pair = CertifiedKey::new(chain, signing);
    pair.keys_match()
        .with_context(|| format!("{} is not the key of {}", key.display(), cert.display()))?;
    Ok(Arc::new(pair))
}

/// The rustls configuration of the listener.
pub fn server_config(resolver: Arc<Reloadable>) -> anyhow::Result<Arc<rustls::ServerConfig>> {
    let mut config =
        rustls::ServerConfig::builder_with_provider(Arc::new(aws_lc_rs::default_provider()))
            .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])?
            .with_no_client_auth()
            .with_cert_resolver(resolver);
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

/// Renew the server certificate when it has less than this left.
const RENEW_BEFORE_DAYS: i64 = 30;
const SERVER_DAYS: i64 = 397;
const CA_DAYS: i64 = 3650;

/// The fixed subject of coffer's CA: the issuer of every server certificate it makes, so the
/// CA's parameters can be rebuilt from its key alone.
fn ca_params() -> anyhow::Result<rcgen::CertificateParams> {
    let mut p = rcgen::CertificateParams::new(Vec::<String>::new())?;
    p.distinguished_name
        .push(rcgen::DnType::CommonName, "coffer local CA");
    p.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Constrained(0));
    p.key_usages = vec![
        rcgen::KeyUsagePurpose::KeyCertSign,
        rcgen::KeyUsagePurpose::CrlSign,
        rcgen::KeyUsagePurpose::DigitalSignature,
    ];
    let now = time::OffsetDateTime::now_utc();
    p.not_before = now - time::Duration::days(1);
    p.not_after = now + time::Duration::days(CA_DAYS);
    Ok(p)
}

/// Write `contents` to `path` with mode `mode` (created so; never readable by others first).
fn write_private(path: &Path, contents: &[u8], mode: u32) -> anyhow::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let tmp = path.with_extension("tmp");
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(mode)
        .open(&tmp)
        .with_context(|| format!("cannot write {}", tmp.display()))?;
    f.write_all(contents)?;
    f.sync_all()?;
    std::fs::rename(&tmp, path)?;
    Ok(())
}

/// coffer's CA and a server certificate for `names` in `DATA_DIR/tls`; returns the paths of
/// the server's chain and key. Names are DNS names or IP addresses.
pub fn self_signed(data_dir: &Path, names: &[String]) -> anyhow::Result<(PathBuf, PathBuf)> {
    let dir = data_dir.join("tls");
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let (ca_pem, ca_key_path) = (dir.join("ca.pem"), dir.join("ca.key"));
    let ca_key = if ca_key_path.exists() && ca_pem.exists() {
        rcgen::KeyPair::from_pem(&std::fs::read_to_string(&ca_key_path)?)
            .with_context(|| format!("{} is not coffer's CA key", ca_key_path.display()))?
    } else {
        let key = rcgen::KeyPair::generate()?;
        let cert = ca_params()?.self_signed(&key)?;
        write_private(&ca_key_path, key.serialize_pem().as_bytes(), 0o600)?;
        write_private(&ca_pem, cert.pem().as_bytes(), 0o644)?;
        tracing::info!(ca = %ca_pem.display(), "created a private TLS CA");
        key
    };
    let (cert_path, key_path, names_path) = (
        dir.join("server.pem"),
        dir.join("server.key"),
        dir.join("server.names"),
    );
    let wanted = names.join("\n");
    let fresh = cert_path.exists()
        && key_path.exists()
        && std::fs::read_to_string(&names_path).is_ok_and(|n| n == wanted)
        && std::fs::metadata(&cert_path)
            .and_then(|m| m.modified())
            .ok()
            .and_then(|t| t.elapsed().ok())
            .is_some_and(|age| {
                age.as_secs()
                    < u64::try_from((SERVER_DAYS - RENEW_BEFORE_DAYS) * 86_400).unwrap_or(0)
            });
    if !fresh {
        let issuer = rcgen::Issuer::new(ca_params()?, &ca_key);
        let key = rcgen::KeyPair::generate()?;
        let mut p = rcgen::CertificateParams::new(names.to_vec())?;
        p.distinguished_name
            .push(rcgen::DnType::CommonName, "coffer server");
        p.extended_key_usages = vec![rcgen::ExtendedKeyUsagePurpose::ServerAuth];
        let now = time::OffsetDateTime::now_utc();
        p.not_before = now - time::Duration::days(1);
        p.not_after = now + time::Duration::days(SERVER_DAYS);
        let cert = p.signed_by(&key, &issuer)?;
        let chain = format!("{}{}", cert.pem(), std::fs::read_to_string(&ca_pem)?);
        write_private(&key_path, key.serialize_pem().as_bytes(), 0o600)?;
        write_private(&cert_path, chain.as_bytes(), 0o644)?;
        write_private(&names_path, wanted.as_bytes(), 0o644)?;
    }
    tracing::warn!(
        ca = %ca_pem.display(),
        "serving TLS with coffer's private CA: clients trust it with export AWS_CA_BUNDLE={}",
        ca_pem.display()
    );
    Ok((cert_path, key_path))
}
