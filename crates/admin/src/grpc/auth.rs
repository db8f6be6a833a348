//! Who is calling: the `authorization` metadata of a gRPC request, checked against the
//! production's [`Credentials`].
//!
//! This is not a tonic interceptor on purpose: interceptors are synchronous, and a
//! password check costs tens of milliseconds of argon2 work that must run on a blocking
//! thread. Every method of the service calls [`authenticate`] first instead.

use base64::Engine as _;
use tonic::metadata::MetadataMap;
use tonic::{Code, Status};

use crate::{Actor, Credentials, Refusal};

/// What a caller is told when credentials are missing or malformed.
const HOW_TO_AUTHENTICATE: &str =
    "send metadata `authorization: Bearer <admin token>` or `Basic base64(user:password)`";

/// The actor behind a request's `authorization` metadata.
///
/// # Errors
///
/// UNAUTHENTICATED for missing, malformed or wrong credentials; RESOURCE_EXHAUSTED when
/// this name failed too often in the last minute.
pub(crate) async fn authenticate(
    credentials: &Credentials,
    metadata: &MetadataMap,
) -> Result<Actor, Status> {
    let presented = metadata
        .get("authorization")
        .and_then(|value| value.to_str().ok())
        .ok_or_else(|| Status::unauthenticated(HOW_TO_AUTHENTICATE))?;

    let (scheme, secret) = presented
        .trim()
        .split_once(' ')
        .ok_or_else(|| Status::unauthenticated(HOW_TO_AUTHENTICATE))?;

    let checked = if scheme.eq_ignore_ascii_case("bearer") {
        credentials.check_token(secret.trim())
    } else if scheme.eq_ignore_ascii_case("basic") {
        check_basic(credentials, secret.trim()).await?
    } else {
        return Err(Status::unauthenticated(HOW_TO_AUTHENTICATE));
    };
    checked.map_err(refused)
}

/// Checks `base64(user:password)` (argon2, on the credentials' hash threads).
async fn check_basic(
    credentials: &Credentials,
    encoded: &str,
) -> Result<Result<Actor, Refusal>, Status> {
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded)
        .ok()
        .and_then(|bytes| String::from_utf8(bytes).ok())
        .ok_or_else(|| Status::unauthenticated(HOW_TO_AUTHENTICATE))?;
    let Some((user, password)) = decoded.split_once(':') else {
        return Err(Status::unauthenticated(HOW_TO_AUTHENTICATE));
    };

    Ok(credentials.check_password(user, password).await)
}

fn refused(refusal: Refusal) -> Status {
    let code = match refusal {
        Refusal::Wrong => Code::Unauthenticated,
        Refusal::TooMany => Code::ResourceExhausted,
    };
    Status::new(code, refusal.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn metadata(authorization: &str) -> MetadataMap {
        let mut metadata = MetadataMap::new();
        metadata.insert("authorization", authorization.parse().unwrap());
        metadata
    }

    #[tokio::test]
    async fn only_well_formed_right_credentials_pass() {
        let credentials = Credentials::new("tok".to_owned(), None).unwrap();
        let actor = authenticate(&credentials, &metadata("bearer  tok")).await;
        assert_eq!(actor.unwrap().0, "token");

        let malformed = [
            "",
            "Bearer",
            "Bearer wrong",
            "Token tok",
            "Basic !!!",
            "Basic dG9r",
            "Basic /w==",
        ];
        for presented in malformed {
            let refused = authenticate(&credentials, &metadata(presented)).await;
            assert_eq!(
                refused.unwrap_err().code(),
                Code::Unauthenticated,
                "{presented:?}"
            );
        }
        let missing = authenticate(&credentials, &MetadataMap::new()).await;
        assert_eq!(missing.unwrap_err().code(), Code::Unauthenticated);
    }

    proptest::proptest! {
        /// Whatever a client sends as `authorization`, the answer is a refusal, never a
        /// panic, and never a pass without the token.
        #[test]
        fn any_header_is_refused_without_panic(
            scheme in "(Bearer|bearer|Basic|basic|Token)?",
            rest in "[ -~]{0,80}",
        ) {
            let credentials = Credentials::new("the-token".to_owned(), None).unwrap();
            let presented = format!("{scheme} {rest}");
            proptest::prop_assume!(!rest.contains("the-token"));
            let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
            let answer = runtime.block_on(authenticate(&credentials, &metadata(&presented)));
            proptest::prop_assert!(answer.is_err());
        }
    }
}
