//! TLS for both sides, from the PEM files the settings name.
//!
//! Files are read when an item starts, and every failure names the file and the setting,
//! since a wrong path or a key in the wrong format is the usual cause. The service
//! offers HTTP/2 and HTTP/1.1 through ALPN.

use std::path::Path;
use std::sync::Arc;

use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls::server::WebPkiClientVerifier;
use tokio_rustls::rustls::{RootCertStore, ServerConfig};

use crate::settings::{ClientTls, ServerTlsFiles};

/// The acceptor of a listening service.
///
/// # Errors
///
/// A sentence naming the file or setting at fault.
pub(crate) fn acceptor(files: &ServerTlsFiles) -> Result<TlsAcceptor, String> {
    let chain = certificates(&files.certificate, "tls.certificate")?;
    let key = PrivateKeyDer::from_pem_file(&files.key).map_err(|error| {
        format!(
            "tls.key {}: {error} (expected a PEM private key: PKCS#8, PKCS#1 or SEC1)",
            files.key.display()
        )
    })?;
    let builder = ServerConfig::builder();
    let builder = match &files.client_ca {
        Some(ca) => {
            let mut roots = RootCertStore::empty();
            for certificate in certificates(ca, "tls.client_ca")? {
                roots
                    .add(certificate)
                    .map_err(|error| format!("tls.client_ca {}: {error}", ca.display()))?;
            }
            let verifier = WebPkiClientVerifier::builder(Arc::new(roots))
                .build()
                .map_err(|error| format!("tls.client_ca {}: {error}", ca.display()))?;
            builder.with_client_cert_verifier(verifier)
        }
        None => builder.with_no_client_auth(),
    };
    let mut config = builder
        .with_single_cert(chain, key)
        .map_err(|error| format!("tls.certificate and tls.key do not fit together: {error}"))?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(TlsAcceptor::from(Arc::new(config)))
}

/// Applies an operation's TLS settings to its client.
///
/// # Errors
///
/// A sentence naming the file or setting at fault.
pub(crate) fn client(
    builder: reqwest::ClientBuilder,
    tls: &ClientTls,
) -> Result<reqwest::ClientBuilder, String> {
    let mut builder = builder.tls_backend_rustls();
    if let Some(ca) = &tls.ca {
        let pem = read(ca, "tls.ca")?;
        let roots = reqwest::Certificate::from_pem_bundle(&pem)
            .map_err(|error| format!("tls.ca {}: {error}", ca.display()))?;
        if roots.is_empty() {
            return Err(format!(
                "tls.ca {}: no CERTIFICATE in the file",
                ca.display()
            ));
        }
        builder = builder.tls_certs_only(roots);
    }
    if let Some((certificate, key)) = &tls.identity {
        let mut pem = read(certificate, "tls.certificate")?;
        pem.push(b'\n');
        pem.extend(read(key, "tls.key")?);
        let identity = reqwest::Identity::from_pem(&pem)
            .map_err(|error| format!("tls.certificate and tls.key: {error}"))?;
        builder = builder.identity(identity);
    }
    if !tls.verify {
        builder = builder.tls_danger_accept_invalid_certs(true);
    }
    Ok(builder)
}

fn read(path: &Path, setting: &str) -> Result<Vec<u8>, String> {
    std::fs::read(path).map_err(|error| format!("{setting} {}: {error}", path.display()))
}

fn certificates(path: &Path, setting: &str) -> Result<Vec<CertificateDer<'static>>, String> {
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
