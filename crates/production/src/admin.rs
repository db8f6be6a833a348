//! The `admin:` section: where the web UI and the gRPC admin API listen, and where their
//! credentials come from.
//!
//! Without the section the production runs with no admin surface. An address is an IP
//! literal with a port (or `localhost:PORT`), or `off`. An address beyond the loopback
//! interface must come with `tls`, so passwords and tokens never cross a network in clear.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;

use serde_saphyr::Spanned;

use crate::diagnostic::Diagnostics;
use crate::document::Step;
use crate::load::Context;
use crate::model::{AdminSettings, AdminTls};
use crate::outline::Node;
use crate::raw::{AdminRaw, AdminTlsRaw};

/// The variable that holds the admin token unless `token_env` names another.
pub const DEFAULT_TOKEN_ENV: &str = "FERRY_ADMIN_TOKEN";

/// Reads `admin:`; `None` when the production has no such section.
pub(crate) fn read(
    cx: &Context<'_>,
    root: &Node,
    problems: &mut Diagnostics,
) -> Option<AdminSettings> {
    cx.outline.given(root, "admin")?;
    let raw = cx
        .read::<AdminRaw>(&[Step::Key("admin")], problems)
        .ok()
        .flatten()
        .unwrap_or_default();

    let tls = raw.tls.as_ref().and_then(|tls| read_tls(cx, tls, problems));
    let http = raw
        .http
        .as_ref()
        .and_then(|text| address(cx, text, "http", tls.is_some(), problems));
    let grpc = raw
        .grpc
        .as_ref()
        .and_then(|text| address(cx, text, "grpc", tls.is_some(), problems));

    let token_env = match &raw.token_env {
        Some(name) if !is_variable_name(&name.value) => {
            let message = format!("`token_env` must name a variable, found '{}'", name.value);
            let hint = "letters, digits and _, e.g. FERRY_ADMIN_TOKEN";
            problems.push(cx.error(name.referenced.into(), message).with_hint(hint));
            DEFAULT_TOKEN_ENV.to_owned()
        }
        Some(name) => name.value.clone(),
        None => DEFAULT_TOKEN_ENV.to_owned(),
    };
    let users = raw.users.as_ref().map(|path| {
        if path.value.trim().is_empty() {
            let message = "`users` is empty: it names a credentials file";
            problems.push(cx.error(path.referenced.into(), message));
        }
        PathBuf::from(&path.value)
    });

    Some(AdminSettings {
        http,
        grpc,
        token_env,
        users,
        tls,
    })
}

fn read_tls(
    cx: &Context<'_>,
    tls: &Spanned<AdminTlsRaw>,
    problems: &mut Diagnostics,
) -> Option<AdminTls> {
    let mut file = |value: &Option<Spanned<String>>, key: &str| match value {
        Some(path) if !path.value.trim().is_empty() => Some(PathBuf::from(&path.value)),
        Some(path) => {
            let message = format!("`{key}` is empty: it names a PEM file");
            problems.push(cx.error(path.referenced.into(), message));
            None
        }
        None => {
            let message = format!("`tls` needs `{key}`, a PEM file");
            problems.push(cx.error(tls.referenced.into(), message));
            None
        }
    };
    let certificate = file(&tls.value.certificate, "certificate");
    let key = file(&tls.value.key, "key");
    Some(AdminTls {
        certificate: certificate?,
        key: key?,
    })
}

/// An admin address, `None` for `off` or a bad value (reported).
fn address(
    cx: &Context<'_>,
    text: &Spanned<String>,
    key: &str,
    tls: bool,
    problems: &mut Diagnostics,
) -> Option<SocketAddr> {
    let written = text.value.trim();
    if written == "off" {
        return None;
    }
    let parsed = match written.strip_prefix("localhost:") {
        Some(port) => port
            .parse::<u16>()
            .ok()
            .map(|port| SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), port)),
        None => written.parse::<SocketAddr>().ok(),
    };
    let Some(address) = parsed else {
        let message = format!("bad `{key}` address '{written}'");
        let hint = "an IP address with a port, e.g. 127.0.0.1:8080 or '[::1]:8080', or off";
        problems.push(cx.error(text.referenced.into(), message).with_hint(hint));
        return None;
    };

    if !address.ip().is_loopback() && !tls {
        let message = format!(
            "`{key}` listens on {address}, beyond this host, without TLS: passwords and \
             tokens would cross the network in clear"
        );
        let hint = "add `tls: {certificate: FILE, key: FILE}` to `admin`, or listen on 127.0.0.1";
        problems.push(cx.error(text.referenced.into(), message).with_hint(hint));
        return None;
    }
    Some(address)
}

fn is_variable_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|first| first.is_ascii_alphabetic() || first == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

#[cfg(test)]
mod tests {
    use crate::{Source, parse};

    fn diagnostics(admin: &str) -> String {
        let text = format!(
            "production: p\nadmin: {admin}\nitems:\n  - name: In\n    service: file\n    \
             targets: [Out]\n  - name: Out\n    operation: file\n"
        );
        parse(Source::new("t.yaml", text), &|_| None)
            .diagnostics
            .to_string()
    }

    #[test]
    fn loopback_addresses_and_off_are_accepted() {
        let text = "production: p\nadmin: {http: '127.0.0.1:0', grpc: off}\nitems:\n  - name: \
                    In\n    service: file\n    targets: [Out]\n  - name: Out\n    operation: \
                    file\n";
        let loaded = parse(Source::new("t.yaml", text), &|_| None);
        assert!(loaded.diagnostics.is_empty(), "{}", loaded.diagnostics);
        let admin = loaded
            .production
            .and_then(|p| p.admin)
            .expect("admin section");
        assert_eq!(admin.http.map(|a| a.port()), Some(0));
        assert_eq!(admin.grpc, None);
        assert_eq!(admin.token_env, "FERRY_ADMIN_TOKEN");
    }

    #[test]
    fn a_remote_address_needs_tls() {
        let found = diagnostics("{http: '0.0.0.0:8080'}");
        assert!(
            found.contains("t.yaml:2:15: `http` listens on 0.0.0.0:8080"),
            "{found}"
        );
        assert!(found.contains("hint: add `tls:"), "{found}");
    }

    #[test]
    fn bad_values_name_their_place() {
        let found =
            diagnostics("{grpc: 'admin:50051', token_env: 'A-B', tls: {certificate: x.pem}}");
        assert!(
            found.contains("t.yaml:2:15: bad `grpc` address 'admin:50051'"),
            "{found}"
        );
        assert!(
            found.contains("`token_env` must name a variable"),
            "{found}"
        );
        assert!(found.contains("`tls` needs `key`"), "{found}");
    }

    #[test]
    fn unknown_admin_keys_are_reported() {
        let found = diagnostics("{htp: '127.0.0.1:1'}");
        assert!(found.contains("unknown key `htp` in `admin`"), "{found}");
    }
}
