//! TLS for both sides, from the PEM files the settings name.
//!
//! Files are read when an item starts, and every failure names the file and the setting,
//! since a wrong path or a key in the wrong format is the usual cause. The service's
//! configuration is [`ferry_adapter::server_tls_config`], shared with MLLP, plus ALPN
//! for HTTP/2 and HTTP/1.1; the client side goes through reqwest's own PEM readers.

use std::path::Path;
use std::sync::Arc;

use ferry_adapter::{ServerTlsFiles, server_tls_config};
use tokio_rustls::TlsAcceptor;

use crate::settings::ClientTls;

/// The acceptor of a listening service, offering HTTP/2 and HTTP/1.1 through ALPN.
///
/// # Errors
///
/// A sentence naming the file or setting at fault.
pub(crate) fn acceptor(files: &ServerTlsFiles) -> Result<TlsAcceptor, String> {
    let mut config = server_tls_config(files)?;
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
