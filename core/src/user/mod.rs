//! Users of the verifier: who may log in, where their SMS codes go, and what
//! proves a resync is theirs. Pure values and validation; the store comes
//! later.
//!
//! Where each rule comes from:
//! - [`TaxCode`]: the username is the user's Italian tax code (*codice
//!   fiscale*) in lower case (seed 002, the login panel), so it is validated
//!   down to its check character and stored lower case.
//! - [`PasswordHash`]: the password is the one on the green licence card or
//!   the user's own (seed 002); it gates device replacement (seed 000). Kept
//!   only as an argon2id hash.
//! - [`PhoneNumber`]: device replacement sends a temporary code by SMS to the
//!   phone bound to the account (seed 000); E.164 is what a gateway takes.
//! - [`UserCode`]: the code printed on the back of the green licence card,
//!   asked for by re-synchronisation (seed 002). A credential.

mod password;
mod phone;
mod tax_code;
mod user_code;

pub use password::{HashParams, MAX_PASSWORD_BYTES, PasswordError, PasswordHash, StoredHashError};
pub use phone::{MAX_PHONE_DIGITS, PhoneNumber, PhoneNumberError};
pub use tax_code::{CharClass, TAX_CODE_LEN, TaxCode, TaxCodeError};
pub use user_code::{MAX_USER_CODE_LEN, MIN_USER_CODE_LEN, UserCode, UserCodeError};

/// An account: each part is validated on its own, so a `User` is valid by
/// construction.
#[derive(Debug, Clone)]
pub struct User {
    username: TaxCode,
    phone: PhoneNumber,
    user_code: UserCode,
    password: PasswordHash,
}

impl User {
    pub fn new(
        username: TaxCode,
        phone: PhoneNumber,
        user_code: UserCode,
        password: PasswordHash,
    ) -> User {
        User {
            username,
            phone,
            user_code,
            password,
        }
    }

    /// The login name: the tax code, lower case.
    pub fn username(&self) -> &TaxCode {
        &self.username
    }

    /// Where the replacement flow's SMS code goes.
    pub fn phone(&self) -> &PhoneNumber {
        &self.phone
    }

    /// What a resync must present.
    pub fn user_code(&self) -> &UserCode {
        &self.user_code
    }

    pub fn password(&self) -> &PasswordHash {
        &self.password
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_user_debug_shows_who_but_no_credential() {
        let user = User::new(
            "RSSMRA85T10A562S".parse().unwrap(),
            "+39 333 123 4567".parse().unwrap(),
            "Card1234".parse().unwrap(),
            PasswordHash::new_with_params(
                "hunter42",
                HashParams {
                    memory_kib: 8,
                    iterations: 1,
                    lanes: 1,
                },
            )
            .unwrap(),
        );
        assert_eq!(user.username().as_str(), "rssmra85t10a562s");
        assert_eq!(user.phone().as_str(), "+393331234567");
        assert_eq!(user.user_code(), &"Card1234".parse::<UserCode>().unwrap());
        assert!(user.password().verify("hunter42"));

        let shown = format!("{user:?}");
        assert!(shown.contains("rssmra85t10a562s"), "{shown}");
        assert!(shown.contains("+393331234567"), "{shown}");
        assert!(!shown.contains("Card1234"), "{shown}");
        assert!(!shown.contains("hunter42"), "{shown}");
        let salt = user.password().as_phc().rsplit('$').nth(1).unwrap();
        assert!(!shown.contains(salt), "{shown}");
    }
}
