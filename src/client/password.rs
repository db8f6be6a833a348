//! `ferry admin hash-password`: a line for the credentials file, without a running
//! production. The password is read from stdin so it stays out of shell history and
//! process listings.

use std::io::BufRead;
use std::process::ExitCode;

/// Reads one line from stdin and prints its argon2 hash, as `name:hash` when named.
pub(crate) fn hash_password(name: Option<&str>) -> ExitCode {
    let mut line = String::new();
    if let Err(error) = std::io::stdin().lock().read_line(&mut line) {
        eprintln!("ferry: cannot read the password from stdin: {error}");
        return ExitCode::FAILURE;
    }
    let password = line.trim_end_matches(['\r', '\n']);
    if password.is_empty() {
        eprintln!("ferry: no password on stdin: pipe or type one, then press Enter");
        return ExitCode::FAILURE;
    }

    match ferry_admin::hash_password(password) {
        Ok(hash) => {
            match name {
                Some(name) => println!("{name}:{hash}"),
                None => println!("{hash}"),
            }
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("ferry: {error}");
            ExitCode::FAILURE
        }
    }
}
