//! Caller authentication for `service: http`: a bearer token or a basic user and
//! password, each secret read from an environment variable when the service starts.
//!
//! The comparison runs in constant time for secrets of the expected length, so the time
//! an answer takes tells a caller nothing about how much of its guess was right. A
//! refused request gets 401 with a `WWW-Authenticate` challenge and stores nothing.

use axum::http::HeaderMap;
use axum::http::header::AUTHORIZATION;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use subtle::ConstantTimeEq;

use crate::settings::AuthSettings;

/// Credentials a request must present.
#[derive(Clone)]
pub(crate) enum Credentials {
    Bearer(Vec<u8>),
    /// `user:password`, as a Basic header carries it once decoded.
    Basic(Vec<u8>),
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Credentials::Bearer(_) => "Credentials::Bearer(..)",
            Credentials::Basic(_) => "Credentials::Basic(..)",
        })
    }
}

impl Credentials {
    /// Reads the secrets the settings name from the environment.
    ///
    /// # Errors
    ///
    /// A sentence naming the variable that is unset, empty or not Unicode.
    pub(crate) fn from_env(settings: &AuthSettings) -> Result<Credentials, String> {
        match settings {
            AuthSettings::Bearer { token_env } => {
                Ok(Credentials::Bearer(secret(token_env)?.into_bytes()))
            }
            AuthSettings::Basic { user, password_env } => {
                let password = secret(password_env)?;
                Ok(Credentials::Basic(
                    format!("{user}:{password}").into_bytes(),
                ))
            }
        }
    }

    /// Whether the request's `Authorization` header carries these credentials.
    pub(crate) fn admits(&self, headers: &HeaderMap) -> bool {
        let Some(value) = headers.get(AUTHORIZATION).map(|value| value.as_bytes()) else {
            return false;
        };
        let (scheme, presented) = match value.iter().position(|byte| *byte == b' ') {
            Some(space) => (&value[..space], value[space + 1..].trim_ascii()),
            None => return false,
        };
        match self {
            Credentials::Bearer(token) if scheme.eq_ignore_ascii_case(b"bearer") => {
                bool::from(presented.ct_eq(token))
            }
            Credentials::Basic(pair) if scheme.eq_ignore_ascii_case(b"basic") => STANDARD
                .decode(presented)
                .is_ok_and(|decoded| bool::from(decoded.ct_eq(pair))),
            _ => false,
        }
    }

    /// The `WWW-Authenticate` challenge of a 401.
    pub(crate) fn challenge(&self) -> &'static str {
        match self {
            Credentials::Bearer(_) => "Bearer realm=\"ferry\"",
            Credentials::Basic(_) => "Basic realm=\"ferry\", charset=\"UTF-8\"",
        }
    }
}

fn secret(variable: &str) -> Result<String, String> {
    match std::env::var(variable) {
        Ok(value) if !value.is_empty() => Ok(value),
        Ok(_) => Err(format!("the environment variable {variable} is empty")),
        Err(std::env::VarError::NotPresent) => Err(format!(
            "the environment variable {variable} (named in `auth`) is not set"
        )),
        Err(std::env::VarError::NotUnicode(_)) => Err(format!(
            "the environment variable {variable} is not valid Unicode"
        )),
    }
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;

    use super::*;

    fn with(value: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(AUTHORIZATION, HeaderValue::from_str(value).unwrap());
        headers
    }

    #[test]
    fn bearer_tokens_must_match_exactly() {
        let credentials = Credentials::Bearer(b"s3cret".to_vec());
        assert!(credentials.admits(&with("Bearer s3cret")));
        assert!(credentials.admits(&with("bearer s3cret")));
        assert!(!credentials.admits(&with("Bearer s3cre")));
        assert!(!credentials.admits(&with("Basic s3cret")));
        assert!(!credentials.admits(&HeaderMap::new()));
    }

    #[test]
    fn basic_pairs_are_decoded_then_compared() {
        let credentials = Credentials::Basic(b"ferry:pw".to_vec());
        let good = format!("Basic {}", STANDARD.encode("ferry:pw"));
        let bad = format!("Basic {}", STANDARD.encode("ferry:px"));
        assert!(credentials.admits(&with(&good)));
        assert!(!credentials.admits(&with(&bad)));
        assert!(!credentials.admits(&with("Basic !!!")));
    }
}
