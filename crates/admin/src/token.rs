//! The admin token: from the variable the production names (`FERRY_ADMIN_TOKEN` by
//! default), or, when it is unset, generated at start and written to `admin.token` in the
//! store folder with mode 0600, so that only the account running Ferry (and the CLI run by
//! it) can read it. The token itself is never logged; the file's path is.

use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use base64::Engine as _;

/// The token file's name inside the store folder.
pub const TOKEN_FILE: &str = "admin.token";

/// Random bytes in a generated token (43 characters once encoded).
const TOKEN_BYTES: usize = 32;

/// The shortest token Ferry accepts from the environment: the token is not rationed like
/// passwords are, so it must be too long to guess.
pub const MIN_TOKEN_LEN: usize = 16;

/// Where the admin token came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TokenSource {
    /// The named environment variable.
    Variable(String),
    /// Generated at this start and written to this file.
    Generated(PathBuf),
}

/// The admin token and where it came from.
///
/// # Errors
///
/// A message when the variable is set but empty, or the file cannot be written.
pub fn admin_token(
    variable: &str,
    store_folder: &Path,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<(String, TokenSource), String> {
    if let Some(value) = env(variable) {
        let token = checked_token(variable, &value, store_folder)?;
        // A token file left by an earlier start would only mislead the CLI now.
        let _ = std::fs::remove_file(store_folder.join(TOKEN_FILE));
        return Ok((token, TokenSource::Variable(variable.to_owned())));
    }

    let token = generate()?;
    let path = store_folder.join(TOKEN_FILE);
    write_private(&path, &token).map_err(|error| {
        format!(
            "cannot write the admin token to {}: {error}",
            path.display()
        )
    })?;
    Ok((token, TokenSource::Generated(path)))
}

/// The token in `value`, the text of `variable`, trimmed.
///
/// # Errors
///
/// A message when it is empty or shorter than [`MIN_TOKEN_LEN`].
pub(crate) fn checked_token(
    variable: &str,
    value: &str,
    store_folder: &Path,
) -> Result<String, String> {
    let token = value.trim();
    if token.is_empty() {
        return Err(format!(
            "{variable} is set but empty: give it a token, or unset it and Ferry generates \
             one in {}",
            store_folder.join(TOKEN_FILE).display()
        ));
    }
    if token.chars().count() < MIN_TOKEN_LEN {
        return Err(format!(
            "{variable} is shorter than {MIN_TOKEN_LEN} characters: use a long random \
             token (e.g. `openssl rand -base64 32`), or unset it and Ferry generates one"
        ));
    }
    Ok(token.to_owned())
}

/// Reads a token file written by a running Ferry (for the CLI).
///
/// # Errors
///
/// A message naming the file when it cannot be read or is empty.
pub fn read_token_file(path: &Path) -> Result<String, String> {
    let text = std::fs::read_to_string(path).map_err(|error| {
        format!(
            "cannot read the admin token from {}: {error}",
            path.display()
        )
    })?;
    let token = text.trim();
    if token.is_empty() {
        return Err(format!("the admin token file {} is empty", path.display()));
    }
    Ok(token.to_owned())
}

fn generate() -> Result<String, String> {
    let mut bytes = [0u8; TOKEN_BYTES];
    getrandom::fill(&mut bytes).map_err(|error| format!("no randomness for a token: {error}"))?;
    Ok(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes))
}

/// Writes `token` to `path` readable by its owner only, replacing an older file whole.
fn write_private(path: &Path, token: &str) -> std::io::Result<()> {
    let partial = path.with_extension("token.new");
    let _ = std::fs::remove_file(&partial);
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&partial)?;
    file.write_all(token.as_bytes())?;
    file.write_all(b"\n")?;
    file.sync_all()?;
    // The mode given at creation is filtered by the umask; set it exactly.
    std::fs::set_permissions(&partial, std::fs::Permissions::from_mode(0o600))?;
    std::fs::rename(&partial, path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_generated_token_is_private_and_new_each_start() {
        let dir = tempfile::tempdir().unwrap();
        let (first, source) = admin_token("NOPE", dir.path(), &|_| None).unwrap();
        let path = dir.path().join(TOKEN_FILE);
        assert_eq!(source, TokenSource::Generated(path.clone()));
        assert_eq!(read_token_file(&path).unwrap(), first);
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);

        let (second, _) = admin_token("NOPE", dir.path(), &|_| None).unwrap();
        assert_ne!(first, second);
        assert_eq!(second.len(), 43);
    }

    #[test]
    fn the_variable_wins_and_must_be_long() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(TOKEN_FILE), "stale\n").unwrap();
        let env = |_: &str| Some("0123456789abcdef".to_owned());
        let (token, source) = admin_token("T", dir.path(), &env).unwrap();
        let expected = ("0123456789abcdef", TokenSource::Variable("T".to_owned()));
        assert_eq!((token.as_str(), source), expected);
        assert!(
            !dir.path().join(TOKEN_FILE).exists(),
            "the stale file is gone"
        );

        let short = |_: &str| Some("abc".to_owned());
        let error = admin_token("T", dir.path(), &short).unwrap_err();
        assert!(
            error.starts_with("T is shorter than 16 characters"),
            "{error}"
        );
        let empty = |_: &str| Some(" ".to_owned());
        let error = admin_token("T", dir.path(), &empty).unwrap_err();
        assert!(error.starts_with("T is set but empty"), "{error}");
    }
}
