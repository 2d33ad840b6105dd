//! The account password (seed 002: the one on the green licence card, or the
//! user's own once changed), kept only as an argon2id hash in PHC string
//! format: `$argon2id$v=19$m=…,t=…,p=…$<salt>$<hash>`, self-describing, so a
//! hash made under older parameters still verifies after the defaults move.

use std::fmt;

use argon2::password_hash::{self, PasswordHasher, PasswordVerifier, phc};
use argon2::{ARGON2ID_IDENT, Argon2, Params, Version};

/// The longest password accepted. Argon2 would take more, but a cap keeps a
/// login request from making the server hash megabytes.
pub const MAX_PASSWORD_BYTES: usize = 1024;

/// Argon2 cost parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HashParams {
    /// Memory in KiB.
    pub memory_kib: u32,
    /// Passes over the memory.
    pub iterations: u32,
    /// Degree of parallelism.
    pub lanes: u32,
}

impl HashParams {
    /// The argon2 crate's defaults, which follow the OWASP password storage
    /// cheat sheet's argon2id minimum: 19 MiB of memory (m=19456), 2
    /// iterations (t=2), 1 lane (p=1).
    pub const DEFAULT: HashParams = HashParams {
        memory_kib: Params::DEFAULT_M_COST,
        iterations: Params::DEFAULT_T_COST,
        lanes: Params::DEFAULT_P_COST,
    };
}

impl Default for HashParams {
    fn default() -> Self {
        HashParams::DEFAULT
    }
}

/// Why a password could not be hashed. Never contains the password.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PasswordError {
    #[error("password is empty")]
    Empty,
    #[error("password is longer than {MAX_PASSWORD_BYTES} bytes")]
    TooLong,
    #[error("argon2 parameters rejected: {0}")]
    Params(argon2::Error),
    #[error("password hashing failed: {0}")]
    Hashing(password_hash::Error),
}

/// Why a stored string is not a password hash we can verify against.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StoredHashError {
    #[error("stored password hash is not a PHC string: {0}")]
    Malformed(phc::Error),
    #[error("stored password hash uses {0}, expected argon2id")]
    Algorithm(String),
    #[error("stored password hash has no salt or no hash output")]
    Incomplete,
    #[error("stored password hash has an unsupported argon2 version")]
    Version,
    #[error("stored password hash has invalid argon2 parameters: {0}")]
    Params(password_hash::Error),
}

/// An argon2id password hash in PHC string format. `Debug` shows the
/// algorithm and parameters, never the salt or hash, which would help an
/// offline guessing attack.
#[derive(Clone)]
pub struct PasswordHash(String);

impl PasswordHash {
    /// Hashes `password` with [`HashParams::DEFAULT`] and a fresh 16-byte salt
    /// from the OS RNG.
    pub fn new(password: &str) -> Result<PasswordHash, PasswordError> {
        PasswordHash::new_with_params(password, HashParams::DEFAULT)
    }

    /// Hashes `password` with explicit costs: lighter ones keep tests fast,
    /// heavier ones suit a server with memory to spare.
    pub fn new_with_params(
        password: &str,
        params: HashParams,
    ) -> Result<PasswordHash, PasswordError> {
        check_policy(password)?;
        let params = Params::new(params.memory_kib, params.iterations, params.lanes, None)
            .map_err(PasswordError::Params)?;
        let hasher = Argon2::new(argon2::Algorithm::Argon2id, Version::V0x13, params);
        let hash: phc::PasswordHash = hasher
            .hash_password(password.as_bytes())
            .map_err(PasswordError::Hashing)?;
        Ok(PasswordHash(hash.to_string()))
    }

    /// Loads a hash read back from a database, checking it is a complete
    /// argon2id PHC string whose parameters argon2 accepts.
    pub fn from_phc(s: &str) -> Result<PasswordHash, StoredHashError> {
        let parsed = phc::PasswordHash::new(s).map_err(StoredHashError::Malformed)?;
        if parsed.algorithm != ARGON2ID_IDENT {
            return Err(StoredHashError::Algorithm(parsed.algorithm.to_string()));
        }
        if parsed.salt.is_none() || parsed.hash.is_none() {
            return Err(StoredHashError::Incomplete);
        }
        if let Some(version) = parsed.version {
            Version::try_from(version).map_err(|_| StoredHashError::Version)?;
        }
        Params::try_from(&parsed).map_err(StoredHashError::Params)?;
        Ok(PasswordHash(s.to_owned()))
    }

    /// The PHC string, for the store to persist.
    pub fn as_phc(&self) -> &str {
        &self.0
    }

    /// Whether `password` is the one hashed here, under the parameters the
    /// hash records. A password outside the policy never matches and is not
    /// hashed at all.
    pub fn verify(&self, password: &str) -> bool {
        if check_policy(password).is_err() {
            return false;
        }
        // from_phc/new validated the string, so parsing only fails if that
        // invariant is broken; a broken hash matches nothing.
        phc::PasswordHash::new(&self.0).is_ok_and(|parsed| {
            Argon2::default()
                .verify_password(password.as_bytes(), &parsed)
                .is_ok()
        })
    }
}

fn check_policy(password: &str) -> Result<(), PasswordError> {
    if password.is_empty() {
        Err(PasswordError::Empty)
    } else if password.len() > MAX_PASSWORD_BYTES {
        Err(PasswordError::TooLong)
    } else {
        Ok(())
    }
}

impl fmt::Debug for PasswordHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // `$argon2id$v=19$m=…,t=…,p=…` is everything before the salt.
        let settings = self.0.rsplitn(3, '$').last().unwrap_or_default();
        write!(f, "PasswordHash({settings}$, salt and hash redacted)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The smallest costs argon2 accepts: hashing takes microseconds, so
    /// tests exercise the real code path without the real cost.
    const FAST: HashParams = HashParams {
        memory_kib: 8,
        iterations: 1,
        lanes: 1,
    };

    fn fast(password: &str) -> PasswordHash {
        PasswordHash::new_with_params(password, FAST).unwrap()
    }

    #[test]
    fn the_right_password_verifies_and_others_do_not() {
        let hash = fast("correct horse battery staple");
        assert!(hash.verify("correct horse battery staple"));
        assert!(!hash.verify("correct horse battery stapl"));
        assert!(!hash.verify("Correct horse battery staple"));
        assert!(!hash.verify(""));
        assert!(!hash.verify(&"x".repeat(MAX_PASSWORD_BYTES + 1)));
    }

    #[test]
    fn default_params_are_argon2id_m19456_t2_p1() {
        let hash = PasswordHash::new("licence-card-password").unwrap();
        assert!(
            hash.as_phc().starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
            "{}",
            hash.as_phc()
        );
        assert!(hash.verify("licence-card-password"));
    }

    #[test]
    fn each_hash_gets_its_own_salt() {
        assert_ne!(fast("same").as_phc(), fast("same").as_phc());
    }

    #[test]
    fn a_stored_hash_round_trips_through_phc() {
        let hash = fast("pässwörd");
        let loaded = PasswordHash::from_phc(hash.as_phc()).unwrap();
        assert_eq!(loaded.as_phc(), hash.as_phc());
        assert!(loaded.verify("pässwörd"));
        assert!(!loaded.verify("passwort"));
    }

    #[test]
    fn policy_limits_are_inclusive_and_errors_are_clean() {
        let longest = "p".repeat(MAX_PASSWORD_BYTES);
        assert!(fast(&longest).verify(&longest));
        let too_long = "secret".repeat(200);
        let e = PasswordHash::new_with_params(&too_long, FAST).unwrap_err();
        assert_eq!(e.to_string(), "password is longer than 1024 bytes");
        let e = PasswordHash::new_with_params("", FAST).unwrap_err();
        assert_eq!(e.to_string(), "password is empty");
    }

    #[test]
    fn bad_params_are_reported() {
        let bad = HashParams {
            memory_kib: 1,
            ..FAST
        };
        assert!(matches!(
            PasswordHash::new_with_params("pw", bad),
            Err(PasswordError::Params(_))
        ));
    }

    #[test]
    fn debug_hides_salt_and_hash() {
        let hash = fast("hunter42");
        let shown = format!("{hash:?}");
        assert_eq!(
            shown,
            "PasswordHash($argon2id$v=19$m=8,t=1,p=1$, salt and hash redacted)"
        );
        let salt_and_hash = hash.as_phc().rsplitn(3, '$').take(2);
        for part in salt_and_hash {
            assert!(!shown.contains(part));
        }
    }

    #[test]
    fn malformed_stored_hashes_are_rejected() {
        let good = fast("pw");
        let (settings, salt_and_hash) = good.as_phc().split_at(good.as_phc().find("$m=").unwrap());
        let msg = |s: &str| {
            PasswordHash::from_phc(s)
                .map(|_| ())
                .unwrap_err()
                .to_string()
        };

        assert!(msg("").starts_with("stored password hash is not a PHC string"));
        assert!(msg("plaintext").starts_with("stored password hash is not a PHC string"));
        assert_eq!(
            msg(&good.as_phc().replacen("argon2id", "argon2i", 1)),
            "stored password hash uses argon2i, expected argon2id"
        );
        assert_eq!(
            msg(&good.as_phc().replacen("argon2id", "pbkdf2-sha256", 1)),
            "stored password hash uses pbkdf2-sha256, expected argon2id"
        );
        let without_hash = good.as_phc().rsplitn(2, '$').last().unwrap();
        assert_eq!(
            msg(without_hash),
            "stored password hash has no salt or no hash output"
        );
        assert_eq!(
            msg(&format!(
                "{}v=20{}",
                &settings[..settings.len() - 4],
                salt_and_hash
            )),
            "stored password hash has an unsupported argon2 version"
        );
        assert!(
            msg(&good.as_phc().replacen("m=8,", "m=1,", 1))
                .starts_with("stored password hash has invalid argon2 parameters")
        );
    }
}
