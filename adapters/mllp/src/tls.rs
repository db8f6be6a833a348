//! TLS for MLLP: rustls configurations built from the PEM files the settings name.
//!
//! Files are read when an item starts, and every failure names the file and the setting,
//! since a wrong path or a key in the wrong format is the usual cause.

use std::path::Path;
use std::sync::Arc;

use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use tokio_rustls::rustls::server::WebPkiClientVerifier;
use tokio_rustls::rustls::{ClientConfig, RootCertStore, ServerConfig};
use tokio_rustls::{TlsAcceptor, TlsConnector};

use crate::settings::{ClientTlsFiles, ServerTlsFiles};

/// The acceptor of a listening service.
///
/// # Errors
///
/// A sentence naming the file or setting at fault.
pub(crate) fn acceptor(files: &ServerTlsFiles) -> Result<TlsAcceptor, String> {
    let chain = certificates(&files.certificate, "tls.certificate")?;
    let key = private_key(&files.key)?;
    let builder = ServerConfig::builder();
    let builder = match &files.client_ca {
        Some(ca) => {
            let roots = Arc::new(root_store(ca, "tls.client_ca")?);
            let verifier = WebPkiClientVerifier::builder(roots)
                .build()
                .map_err(|error| format!("tls.client_ca {}: {error}", ca.display()))?;
            builder.with_client_cert_verifier(verifier)
        }
        None => builder.with_no_client_auth(),
    };
    let config = builder
        .with_single_cert(chain, key)
        .map_err(|error| format!("tls.certificate and tls.key do not fit together: {error}"))?;
    Ok(TlsAcceptor::from(Arc::new(config)))
}

/// The connector of an operation, with the name its receiver's certificate must carry.
///
/// # Errors
///
/// A sentence naming the file or setting at fault.
pub(crate) fn connector(
    files: &ClientTlsFiles,
) -> Result<(TlsConnector, ServerName<'static>), String> {
    let roots = root_store(&files.ca, "tls.ca")?;
    let builder = ClientConfig::builder().with_root_certificates(roots);
    let config = match &files.identity {
        Some((certificate, key)) => builder
            .with_client_auth_cert(
                certificates(certificate, "tls.certificate")?,
                private_key(key)?,
            )
            .map_err(|error| format!("tls.certificate and tls.key: {error}"))?,
        None => builder.with_no_client_auth(),
    };
    let name = ServerName::try_from(files.server_name.clone()).map_err(|_| {
        format!(
            "tls.server_name '{}' is not a host name or IP address",
            files.server_name
        )
    })?;
    Ok((TlsConnector::from(Arc::new(config)), name))
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

fn private_key(path: &Path) -> Result<PrivateKeyDer<'static>, String> {
    PrivateKeyDer::from_pem_file(path).map_err(|error| {
        format!(
            "tls.key {}: {error} (expected a PEM private key: PKCS#8, PKCS#1 or SEC1)",
            path.display()
        )
    })
}

fn root_store(path: &Path, setting: &str) -> Result<RootCertStore, String> {
    let mut roots = RootCertStore::empty();
    for certificate in certificates(path, setting)? {
        roots
            .add(certificate)
            .map_err(|error| format!("{setting} {}: {error}", path.display()))?;
    }
    Ok(roots)
}
