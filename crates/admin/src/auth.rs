//! Who may use the admin surfaces: the admin token, or named users from a credentials
//! file with argon2 password hashes. There is no default password and no anonymous
//! access; only `/healthz`, `/readyz` and `/metrics` answer without credentials.
//!
//! The credentials file has one `name:hash` line per user (`#` starts a comment), the hash
//! in PHC form as `ferry admin hash-password` prints it.
//!
//! A hash check costs about 19 MiB and tens of milliseconds on purpose, so it is rationed:
//! per user name (a guesser gets "too many attempts" long before the cost alone would
//! slow it), for the whole process (a flood of made-up names cannot take the memory or
//! the cores the production needs), and to a few at a time. A password that passed is
//! remembered as a SHA-256 digest for the process's life, so a script sending it with
//! every gRPC call costs one hash check, not one each.
//!
//! The admin token is compared in constant time and not rationed: a generated token has
//! 256 random bits, and one from the environment must have at least
//! [`crate::token::MIN_TOKEN_LEN`] characters.

use std::collections::HashMap;
use std::num::NonZeroU32;
use std::path::Path;
use std::sync::{Arc, Mutex};

use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use governor::{DefaultDirectRateLimiter, DefaultKeyedRateLimiter, Quota, RateLimiter};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// Hash checks allowed per user name each minute.
const CHECKS_PER_USER_PER_MINUTE: u32 = 10;

/// Hash checks allowed each second for the whole process, and the burst above it.
const CHECKS_PER_SECOND: u32 = 5;
const CHECKS_BURST: u32 = 10;

/// Threads that run hash checks, and checks that may wait for one. Each check takes
/// about 19 MiB; few long-lived threads reuse it, where many short-lived blocking threads
/// each kept their own (a flood of sign-ins grew the process to 2 GB).
const HASH_THREADS: usize = 2;

/// The actor the event log names for requests made with the admin token.
pub const TOKEN_ACTOR: &str = "token";

/// Who made a request, as the event log names them: a user name, or `token`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor(pub String);

impl std::fmt::Display for Actor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// Why credentials were refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    /// Wrong or missing credentials; says nothing about which part was wrong.
    #[error("wrong credentials")]
    Wrong,
    /// Too many attempts for this name in the last minute, or for all names right now.
    #[error("too many sign-in attempts; wait a minute")]
    TooMany,
}

/// A credentials file that cannot be used.
#[derive(Debug, thiserror::Error)]
#[error("{path}{}: {reason}", line_suffix(*line))]
pub struct CredentialsError {
    /// The file.
    pub path: String,
    /// The line, from 1 (0 when the file could not be read).
    pub line: usize,
    /// What is wrong.
    pub reason: String,
}

/// The admin token and the named users.
#[derive(Clone)]
pub struct Credentials {
    token: Arc<str>,
    users: Arc<HashMap<String, String>>,
    per_user: Arc<DefaultKeyedRateLimiter<String>>,
    overall: Arc<DefaultDirectRateLimiter>,
    hashers: Arc<Hashers>,
    /// Digests of passwords that passed their hash check, by user.
    verified: Arc<Mutex<HashMap<String, [u8; 32]>>>,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials")
            .field("users", &self.users.keys().collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

impl Credentials {
    /// The admin token (never empty) and the users of `users_file`, if one is given.
    ///
    /// # Errors
    ///
    /// [`CredentialsError`] when the file cannot be read or a line is not `name:hash`.
    pub fn new(token: String, users_file: Option<&Path>) -> Result<Self, CredentialsError> {
        let users = match users_file {
            Some(path) => read_users(path)?,
            None => HashMap::new(),
        };
        let per_user = Quota::per_minute(non_zero(CHECKS_PER_USER_PER_MINUTE));
        let overall =
            Quota::per_second(non_zero(CHECKS_PER_SECOND)).allow_burst(non_zero(CHECKS_BURST));
        Ok(Credentials {
            token: token.into(),
            users: Arc::new(users),
            per_user: Arc::new(RateLimiter::keyed(per_user)),
            overall: Arc::new(RateLimiter::direct(overall)),
            hashers: Arc::new(Hashers::start()?),
            verified: Arc::default(),
        })
    }

    /// Checks a presented admin token.
    ///
    /// # Errors
    ///
    /// [`Refusal::Wrong`] when it is not the token.
    pub fn check_token(&self, presented: &str) -> Result<Actor, Refusal> {
        let expected = self.token.as_bytes();
        if bool::from(presented.as_bytes().ct_eq(expected)) {
            return Ok(Actor(TOKEN_ACTOR.to_owned()));
        }
        Err(Refusal::Wrong)
    }

    /// Checks a user's password against its argon2 hash, on the hash threads.
    ///
    /// # Errors
    ///
    /// [`Refusal`] for an unknown user, a wrong password, or too many checks.
    pub async fn check_password(&self, user: &str, password: &str) -> Result<Actor, Refusal> {
        let digest: [u8; 32] = Sha256::digest(password.as_bytes()).into();
        let remembered = self.verified_digest(user);
        if remembered.is_some_and(|known| bool::from(known.ct_eq(&digest))) {
            return Ok(Actor(user.to_owned()));
        }
        // Every hash check counts, so neither guessing nor hashing load goes unbounded.
        if self.per_user.check_key(&user.to_owned()).is_err() || self.overall.check().is_err() {
            return Err(Refusal::TooMany);
        }

        let (answer, answered) = tokio::sync::oneshot::channel();
        let this = self.clone();
        let (user, password) = (user.to_owned(), password.to_owned());
        let job: HashJob = Box::new(move || {
            let _ = answer.send(this.verify(&user, &password, digest));
        });
        if self.hashers.jobs.try_send(job).is_err() {
            return Err(Refusal::TooMany);
        }
        answered.await.unwrap_or(Err(Refusal::TooMany))
    }

    /// The hash check itself, on a hash thread.
    fn verify(&self, user: &str, password: &str, digest: [u8; 32]) -> Result<Actor, Refusal> {
        let Some(hash) = self.users.get(user) else {
            // Spend the same effort as for a known user, so timing does not tell names.
            let _ = argon2::Argon2::default().hash_password(password.as_bytes());
            return Err(Refusal::Wrong);
        };
        match argon2::Argon2::default().verify_password(password.as_bytes(), hash.as_str()) {
            Ok(()) => {
                let mut verified = self.verified.lock().unwrap_or_else(|e| e.into_inner());
                verified.insert(user.to_owned(), digest);
                Ok(Actor(user.to_owned()))
            }
            Err(_) => Err(Refusal::Wrong),
        }
    }

    fn verified_digest(&self, user: &str) -> Option<[u8; 32]> {
        let verified = self.verified.lock().unwrap_or_else(|e| e.into_inner());
        verified.get(user).copied()
    }

    /// Whether any named user exists (the login form then asks for a name).
    pub fn has_users(&self) -> bool {
        !self.users.is_empty()
    }
}

/// A hash check waiting for a thread.
type HashJob = Box<dyn FnOnce() + Send>;

/// The hash threads. They end when the last [`Credentials`] clone drops the sender.
struct Hashers {
    jobs: std::sync::mpsc::SyncSender<HashJob>,
}

impl Hashers {
    fn start() -> Result<Self, CredentialsError> {
        let (jobs, queue) = std::sync::mpsc::sync_channel::<HashJob>(HASH_THREADS);
        let queue = Arc::new(Mutex::new(queue));
        for _ in 0..HASH_THREADS {
            let queue = queue.clone();
            let started = std::thread::Builder::new()
                .name("ferry-password".to_owned())
                .spawn(move || {
                    loop {
                        let job = queue.lock().unwrap_or_else(|e| e.into_inner()).recv();
                        match job {
                            Ok(job) => job(),
                            Err(_) => return,
                        }
                    }
                });
            started.map_err(|error| CredentialsError {
                path: "password checks".to_owned(),
                line: 0,
                reason: format!("cannot start a thread: {error}"),
            })?;
        }
        Ok(Hashers { jobs })
    }
}

/// `:LINE` for a line of the file; nothing when the whole file is at fault.
fn line_suffix(line: usize) -> String {
    if line == 0 {
        String::new()
    } else {
        format!(":{line}")
    }
}

fn non_zero(value: u32) -> NonZeroU32 {
    NonZeroU32::new(value).unwrap_or(NonZeroU32::MIN)
}

/// An argon2id hash of `password` in PHC form, for a line of the credentials file.
///
/// # Errors
///
/// A message when the system has no randomness for the salt.
pub fn hash_password(password: &str) -> Result<String, String> {
    argon2::Argon2::default()
        .hash_password(password.as_bytes())
        .map(|hash| hash.to_string())
        .map_err(|error| format!("cannot hash the password: {error}"))
}

fn read_users(path: &Path) -> Result<HashMap<String, String>, CredentialsError> {
    let shown = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|error| CredentialsError {
        path: shown.clone(),
        line: 0,
        reason: format!("cannot read the credentials file: {error}"),
    })?;

    let mut users = HashMap::new();
    for (index, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let problem = |reason: &str| CredentialsError {
            path: shown.clone(),
            line: index + 1,
            reason: reason.to_owned(),
        };
        let Some((name, hash)) = line.split_once(':') else {
            return Err(problem("expected `name:hash`"));
        };
        if name.is_empty() || name == TOKEN_ACTOR {
            return Err(problem("a user needs a name other than `token`"));
        }
        if argon2::password_hash::phc::PasswordHash::new(hash).is_err() {
            return Err(problem(
                "the hash is not in PHC form; make one with `ferry admin hash-password`",
            ));
        }
        if users.insert(name.to_owned(), hash.to_owned()).is_some() {
            return Err(problem("this user is listed twice"));
        }
    }
    Ok(users)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn token_and_users_are_checked() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("users");
        let hash = hash_password("s3cret pass").unwrap();
        std::fs::write(&file, format!("# admins\nalice:{hash}\n")).unwrap();

        let credentials = Credentials::new("tok".to_owned(), Some(&file)).unwrap();
        assert_eq!(
            credentials.check_token("tok"),
            Ok(Actor("token".to_owned()))
        );
        assert_eq!(credentials.check_token("to"), Err(Refusal::Wrong));
        assert_eq!(
            credentials.check_password("alice", "s3cret pass").await,
            Ok(Actor("alice".to_owned()))
        );
        assert_eq!(
            credentials.check_password("alice", "guess").await,
            Err(Refusal::Wrong)
        );
        assert_eq!(
            credentials.check_password("bob", "s3cret pass").await,
            Err(Refusal::Wrong)
        );
    }

    #[tokio::test]
    async fn hash_checks_are_rationed_per_name_and_overall() {
        let credentials = Credentials::new("tok".to_owned(), None).unwrap();
        let mut per_name = Vec::new();
        for _ in 0..11 {
            per_name.push(credentials.check_password("bob", "guess").await);
        }
        assert_eq!(per_name.last(), Some(&Err(Refusal::TooMany)));

        // Made-up names, one attempt each and all at once: the process-wide ration and the
        // two hash threads stop most of them.
        let credentials = Credentials::new("tok".to_owned(), None).unwrap();
        let attempts: Vec<_> = (0..30)
            .map(|n| {
                let credentials = credentials.clone();
                tokio::spawn(async move { credentials.check_password(&format!("u{n}"), "x").await })
            })
            .collect();
        let mut refused = 0;
        for attempt in attempts {
            if attempt.await.unwrap() == Err(Refusal::TooMany) {
                refused += 1;
            }
        }
        assert!(refused >= 30 - CHECKS_BURST as usize, "{refused} refused");
        assert_eq!(
            credentials.check_token("tok"),
            Ok(Actor("token".to_owned()))
        );
    }

    #[tokio::test]
    async fn a_password_that_passed_is_not_hashed_again() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("users");
        let hash = hash_password("s3cret pass").unwrap();
        std::fs::write(&file, format!("alice:{hash}\n")).unwrap();
        let credentials = Credentials::new("tok".to_owned(), Some(&file)).unwrap();

        // More calls than the per-name ration allows hash checks: only the first hashes.
        for _ in 0..3 * CHECKS_PER_USER_PER_MINUTE {
            let checked = credentials.check_password("alice", "s3cret pass").await;
            assert_eq!(checked, Ok(Actor("alice".to_owned())));
        }
        let wrong = credentials.check_password("alice", "s3cret pas").await;
        assert_eq!(
            wrong,
            Err(Refusal::Wrong),
            "another password is still checked"
        );
    }

    proptest::proptest! {
        /// A credentials file of any text loads or is refused with its line, never a panic.
        #[test]
        fn any_credentials_file_loads_or_is_refused(text in "[ -~\n:$#]{0,300}") {
            let dir = tempfile::tempdir().unwrap();
            let file = dir.path().join("users");
            std::fs::write(&file, &text).unwrap();
            if let Err(error) = Credentials::new("t".to_owned(), Some(&file)) {
                proptest::prop_assert!(error.line >= 1, "{error}");
            }
        }
    }

    #[test]
    fn bad_lines_name_their_place() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("users");
        std::fs::write(&file, "alice:plain-text\n").unwrap();
        let error = Credentials::new("t".to_owned(), Some(&file)).unwrap_err();
        assert!(
            error.to_string().ends_with(
                "users:1: the hash is not in PHC form; make one \
                                             with `ferry admin hash-password`"
            ),
            "{error}"
        );
    }
}
