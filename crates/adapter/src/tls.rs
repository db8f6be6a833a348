//! TLS material from PEM files: certificate chains, private keys, trust roots, and the
//! rustls configuration of a listening service.
//!
//! This module owns how Ferry reads the PEM files that `tls` settings name, for every
//! adapter that speaks TLS through rustls. Files are read when an item starts, never
//! while a production is validated, and every failure is a sentence naming the setting
//! and the file, since a wrong path or a key in the wrong format is the usual cause.
//! Protocol choices (ALPN, server names) stay with each adapter.

use std::path::Path;
use std::sync::Arc;

use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use tokio_rustls::rustls::server::WebPkiClientVerifier;
use tokio_rustls::rustls::{RootCertStore, ServerConfig};

use crate::ServerTlsFiles;

/// The server configuration of a listening service: its certificate and key, and when
/// `client_ca` is set, the authority every client certificate must be signed by.
///
/// # Errors
///
/// A sentence naming the file or setting at fault.
pub fn server_tls_config(files: &ServerTlsFiles) -> Result<ServerConfig, String> {
    let chain = pem_certificates(&files.certificate, "tls.certificate")?;
    let key = pem_private_key(&files.key)?;
    let builder = ServerConfig::builder();
    let builder = match &files.client_ca {
        Some(ca) => {
            let roots = Arc::new(pem_root_store(ca, "tls.client_ca")?);
            let verifier = WebPkiClientVerifier::builder(roots)
                .build()
                .map_err(|error| format!("tls.client_ca {}: {error}", ca.display()))?;
            builder.with_client_cert_verifier(verifier)
        }
        None => builder.with_no_client_auth(),
    };
    builder
        .with_single_cert(chain, key)
        .map_err(|error| format!("tls.certificate and tls.key do not fit together: {error}"))
}

/// The certificates of a PEM file, at least one.
///
/// # Errors
///
/// The file cannot be read, is not PEM, or holds no CERTIFICATE; the sentence names
/// `setting` and the file.
pub fn pem_certificates(
    path: &Path,
    setting: &str,
) -> Result<Vec<CertificateDer<'static>>, String> {
    let chain = CertificateDer::pem_file_iter(path)
        .and_then(|iter| iter.collect::<Result<Vec<_>, _>>())
        .map_err(|error| format!("{setting} {}: {error}", path.display()))?;
    if chain.is_empty() {
        return Err(format!(
            "{setting} {}: no CERTIFICATE in the file",
            path.display()
        ));
    }
    Ok(chain)
}

/// The private key of the `tls.key` file.
///
/// # Errors
///
/// The file cannot be read or holds no PEM private key.
pub fn pem_private_key(path: &Path) -> Result<PrivateKeyDer<'static>, String> {
    PrivateKeyDer::from_pem_file(path).map_err(|error| {
        format!(
            "tls.key {}: {error} (expected a PEM private key: PKCS#8, PKCS#1 or SEC1)",
            path.display()
        )
    })
}

/// The trust roots of a PEM file of authorities.
///
/// # Errors
///
/// As [`pem_certificates`], or a certificate rustls cannot use as a root.
pub fn pem_root_store(path: &Path, setting: &str) -> Result<RootCertStore, String> {
    let mut roots = RootCertStore::empty();
    for certificate in pem_certificates(path, setting)? {
        roots
            .add(certificate)
            .map_err(|error| format!("{setting} {}: {error}", path.display()))?;
    }
    Ok(roots)
}
