//! TLS for MLLP: rustls configurations built from the PEM files the settings name.
//!
//! Reading the PEM files and the service's configuration are [`ferry_adapter`]'s (shared
//! with HTTP); this module adds the MLLP connector and the name a receiver must carry.

use std::sync::Arc;

use ferry_adapter::{
    ServerTlsFiles, pem_certificates, pem_private_key, pem_root_store, server_tls_config,
};
use rustls_pki_types::ServerName;
use tokio_rustls::rustls::ClientConfig;
use tokio_rustls::{TlsAcceptor, TlsConnector};

use crate::settings::ClientTlsFiles;

/// The acceptor of a listening service.
///
/// # Errors
///
/// A sentence naming the file or setting at fault.
pub(crate) fn acceptor(files: &ServerTlsFiles) -> Result<TlsAcceptor, String> {
    let config = server_tls_config(files)?;
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
    let roots = pem_root_store(&files.ca, "tls.ca")?;
    let builder = ClientConfig::builder().with_root_certificates(roots);
    let config = match &files.identity {
        Some((certificate, key)) => builder
            .with_client_auth_cert(
                pem_certificates(certificate, "tls.certificate")?,
                pem_private_key(key)?,
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
