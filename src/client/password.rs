//! `ferry admin hash-password`: a line for the credentials file, without a running
//! production. The password is read from stdin so it stays out of shell history and
//! process listings.

use std::io::BufRead;
use std::process::ExitCode;

use super::{Failure, Halt, complain, output, visible};

/// Exit code for a name the credentials file cannot hold: a usage error, as clap's.
const BAD_NAME: u8 = 2;

/// Reads one line from stdin and prints its argon2 hash, as `name:hash` when named.
pub(crate) fn hash_password(name: Option<&str>) -> ExitCode {
    // Check the name before asking for a password that would be thrown away.
    if let Some(problem) = name.and_then(name_problem) {
        let shown = visible::cell(name.unwrap_or_default());
        complain(&format!(
            "the credentials file cannot hold the user name '{shown}': {problem}"
        ));
        return ExitCode::from(BAD_NAME);
    }

    match hashed_line(name) {
        Ok(()) | Err(Halt::Unread) => ExitCode::SUCCESS,
        Err(Halt::Failed(Failure(message))) => {
            complain(&message);
            ExitCode::FAILURE
        }
    }
}

/// Why `name` cannot be a user of the credentials file, whose lines are `name:hash`,
/// trimmed, with `#` starting a comment; `None` when it can.
fn name_problem(name: &str) -> Option<&'static str> {
    if name.is_empty() {
        Some("it is empty")
    } else if name.contains(':') {
        Some("':' ends the name in a `name:hash` line")
    } else if name == ferry_admin::TOKEN_ACTOR {
        // Events would not tell this user from the admin token.
        Some("`token` is the name events give the admin token")
    } else if name.starts_with('#') {
        Some("a line starting with '#' is a comment")
    } else if name.chars().any(|c| c.is_whitespace() || c.is_control()) {
        Some("it holds a space or control character")
    } else {
        None
    }
}

fn hashed_line(name: Option<&str>) -> Result<(), Halt> {
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .map_err(|error| Failure(format!("cannot read the password from stdin: {error}")))?;
    let password = line.trim_end_matches(['\r', '\n']);
    if password.is_empty() {
        return Err(
            Failure("no password on stdin: pipe or type one, then press Enter".to_owned()).into(),
        );
    }

    let hash = ferry_admin::hash_password(password).map_err(Failure)?;
    match name {
        Some(name) => output::line(&format!("{name}:{hash}")),
        None => output::line(&hash),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_names_the_credentials_file_can_hold_pass() {
        assert_eq!(name_problem("alice"), None);
        assert_eq!(name_problem("o'brien-2"), None);
        for bad in [
            "",
            "a:b",
            "token",
            "#alice",
            "al ice",
            "bob\t",
            "x\u{1b}[2J",
        ] {
            assert!(name_problem(bad).is_some(), "{bad:?}");
        }
    }
}
