//! Finding the running production's admin API and the credentials to present.
//!
//! Address: `--grpc`, else FERRY_ADMIN_GRPC, else the production file's `admin.grpc`,
//! else 127.0.0.1:50051. Credentials: `--user` with FERRY_ADMIN_PASSWORD, else `--token`,
//! else FERRY_ADMIN_TOKEN (or the variable the production names), else the `admin.token`
//! file a running Ferry writes into its store folder.

use std::path::{Path, PathBuf};
use std::time::Duration;

use base64::Engine as _;
use ferry_admin_proto::v1::admin_client::AdminClient;
use tonic::metadata::AsciiMetadataValue;
use tonic::service::interceptor::InterceptedService;
use tonic::transport::{Certificate, Channel, ClientTlsConfig, Endpoint};
use tonic::{Code, Request, Status};

use super::Failure;
use super::args::AdminArgs;
use super::diagnose::{self, Exchange};

const DEFAULT_ADDRESS: &str = "127.0.0.1:50051";
const ADDRESS_VARIABLE: &str = "FERRY_ADMIN_GRPC";
const TOKEN_VARIABLE: &str = "FERRY_ADMIN_TOKEN";
const PASSWORD_VARIABLE: &str = "FERRY_ADMIN_PASSWORD";
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
const PEM_CERTIFICATE: &[u8] = b"-----BEGIN CERTIFICATE-----";

/// The largest answer accepted: a message's body and response can far exceed tonic's
/// default of 4 MiB.
const MAX_ANSWER_BYTES: usize = 256 * 1024 * 1024;

/// A client that sends the credentials with every call.
pub(crate) type Client = AdminClient<InterceptedService<Channel, Authorization>>;

/// Adds the `authorization` metadata to every request.
#[derive(Clone)]
pub(crate) struct Authorization(AsciiMetadataValue);

impl tonic::service::Interceptor for Authorization {
    fn call(&mut self, mut request: Request<()>) -> Result<Request<()>, Status> {
        request
            .metadata_mut()
            .insert("authorization", self.0.clone());
        Ok(request)
    }
}

/// Where the API is, and how to explain that nothing answers there.
#[derive(Debug, Clone)]
pub(crate) struct Target {
    /// The URL dialled (`http://…` or `https://…`).
    pub(crate) url: String,
    /// The address as the user gave or the production named it.
    pub(crate) shown: String,
}

impl Target {
    /// Whether the connection uses TLS.
    pub(crate) fn tls(&self) -> bool {
        self.url.starts_with("https://")
    }
}

/// Connects to the admin API `args` describe.
///
/// # Errors
///
/// A [`Failure`] saying what to do when the address, credentials or CA file are
/// unusable, or nothing answers at the address.
pub(crate) async fn connect(args: &AdminArgs) -> Result<(Client, Target), Failure> {
    let production = match &args.production {
        Some(path) => Some(load_admin(path)?),
        None => None,
    };
    let target = target(args, production.as_ref())?;
    let authorization = authorization(args, production.as_ref())?;

    let mut endpoint = Endpoint::from_shared(target.url.clone())
        .map_err(|error| Failure(format!("bad admin address '{}': {error}", target.shown)))?
        .connect_timeout(CONNECT_TIMEOUT);
    if let Some(ca) = &args.tls_ca {
        endpoint = endpoint
            .tls_config(tls(ca)?)
            .map_err(|error| Failure(format!("cannot use TLS: {error}")))?;
    }
    let channel = endpoint
        .connect()
        .await
        .map_err(|error| diagnose::unreachable(&error, &target))?;
    let client = AdminClient::with_interceptor(channel, authorization)
        .max_decoding_message_size(MAX_ANSWER_BYTES);
    Ok((client, target))
}

/// A refused call as one line a user can act on; `exchange` says whether the server had
/// answered on this connection before.
pub(crate) fn explain(status: &Status, target: &Target, exchange: Exchange) -> Failure {
    match status.code() {
        Code::Unauthenticated => Failure(format!(
            "the admin API at {} refused the credentials: check --token or {TOKEN_VARIABLE} \
             (or --user and {PASSWORD_VARIABLE})",
            target.shown
        )),
        Code::ResourceExhausted => Failure(format!(
            "too many failed sign-ins at {}: wait a minute and try again",
            target.shown
        )),
        _ => diagnose::broken_call(status, target, exchange)
            .unwrap_or_else(|| Failure(status.message().to_owned())),
    }
}

/// What the CLI needs from a production file.
struct ProductionAdmin {
    grpc: Option<std::net::SocketAddr>,
    token_variable: Option<String>,
    store: PathBuf,
}

fn load_admin(path: &Path) -> Result<ProductionAdmin, Failure> {
    let env = |name: &str| std::env::var(name).ok();
    let loaded = ferry_production::load(path, &env);
    let Some(production) = loaded.production else {
        return Err(Failure(format!(
            "cannot read the production {}: run `ferry validate {}`",
            path.display(),
            path.display()
        )));
    };
    let admin = production.admin.as_ref();
    Ok(ProductionAdmin {
        grpc: admin.and_then(|admin| admin.grpc),
        token_variable: admin.map(|admin| admin.token_env.clone()),
        store: production.store.path.clone(),
    })
}

fn target(args: &AdminArgs, production: Option<&ProductionAdmin>) -> Result<Target, Failure> {
    let given = args.grpc.clone().or_else(|| {
        std::env::var(ADDRESS_VARIABLE)
            .ok()
            .filter(|a| !a.is_empty())
    });
    let shown = match (given, production) {
        (Some(address), _) => address,
        (None, Some(production)) => production_address(production)?,
        (None, None) => DEFAULT_ADDRESS.to_owned(),
    };

    let scheme = if args.tls_ca.is_some() {
        "https"
    } else {
        "http"
    };
    let url = if shown.contains("://") {
        shown.clone()
    } else {
        format!("{scheme}://{shown}")
    };
    Ok(Target { url, shown })
}

/// The address a client dials for the production's `admin.grpc`: a wildcard listener
/// is reached on loopback.
fn production_address(production: &ProductionAdmin) -> Result<String, Failure> {
    let Some(mut address) = production.grpc else {
        return Err(Failure(
            "the production has no admin.grpc address: add one, or give --grpc ADDR".to_owned(),
        ));
    };
    if address.port() == 0 {
        return Err(Failure(
            "the production's admin.grpc uses port 0 (any free port): give --grpc ADDR with \
             the port its log names"
                .to_owned(),
        ));
    }
    if address.ip().is_unspecified() {
        address.set_ip(std::net::Ipv4Addr::LOCALHOST.into());
    }
    Ok(address.to_string())
}

fn authorization(
    args: &AdminArgs,
    production: Option<&ProductionAdmin>,
) -> Result<Authorization, Failure> {
    let value = match &args.user {
        Some(user) => {
            let password = std::env::var(PASSWORD_VARIABLE).map_err(|_| {
                Failure(format!(
                    "--user {user} needs the password in {PASSWORD_VARIABLE}"
                ))
            })?;
            let pair = format!("{user}:{password}");
            format!(
                "Basic {}",
                base64::engine::general_purpose::STANDARD.encode(pair)
            )
        }
        None => format!("Bearer {}", token(args, production)?),
    };
    AsciiMetadataValue::try_from(value)
        .map(Authorization)
        .map_err(|_| Failure("the credentials hold characters that cannot be sent".to_owned()))
}

fn token(args: &AdminArgs, production: Option<&ProductionAdmin>) -> Result<String, Failure> {
    if let Some(token) = &args.token {
        return Ok(token.clone());
    }
    let variables = [
        Some(TOKEN_VARIABLE),
        production.and_then(|p| p.token_variable.as_deref()),
    ];
    for variable in variables.into_iter().flatten() {
        if let Some(token) = std::env::var(variable)
            .ok()
            .filter(|t| !t.trim().is_empty())
        {
            return Ok(token.trim().to_owned());
        }
    }

    let store = args
        .store
        .clone()
        .or_else(|| production.map(|production| production.store.clone()));
    let Some(store) = store else {
        return Err(Failure(format!(
            "no admin token: give --token, set {TOKEN_VARIABLE}, or name the production with \
             --production FILE (its store folder holds {})",
            ferry_admin::TOKEN_FILE
        )));
    };
    ferry_admin::read_token_file(&store.join(ferry_admin::TOKEN_FILE)).map_err(Failure)
}

fn tls(ca: &Path) -> Result<ClientTlsConfig, Failure> {
    let pem = std::fs::read(ca)
        .map_err(|error| Failure(format!("cannot read the CA file {}: {error}", ca.display())))?;
    // tonic accepts any bytes here and every handshake would then fail as untrusted.
    if !pem
        .windows(PEM_CERTIFICATE.len())
        .any(|w| w == PEM_CERTIFICATE)
    {
        return Err(Failure(format!(
            "the CA file {} holds no PEM certificate (-----BEGIN CERTIFICATE-----)",
            ca.display()
        )));
    }
    Ok(ClientTlsConfig::new().ca_certificate(Certificate::from_pem(pem)))
}
