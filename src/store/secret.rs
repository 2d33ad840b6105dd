//! The store secret and what it protects: token keys (AES-256-GCM) and the
//! user-code lookup (HMAC-SHA256).
//!
//! One 32-byte secret, from `TOKENRIG_STORE_KEY` or a key file. Two keys are
//! derived from it with HMAC-SHA256 under distinct labels, so the cipher key
//! and the lookup key are never the same bytes.

use std::fmt;
use std::fs::OpenOptions;
use std::io::{ErrorKind, Read, Write};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use aes_gcm::aead::{Aead, Generate, Payload};
use aes_gcm::{Aes256Gcm, KeyInit, Nonce};
use hmac::{Hmac, Mac};
use sha2::Sha256;
use zeroize::Zeroizing;

use super::error::StoreError;
use crate::device::Serial;
use crate::otp::SecretKey;
use crate::user::UserCode;

/// The environment variable that gives the store secret as 64 hex characters.
pub const STORE_KEY_ENV: &str = "TOKENRIG_STORE_KEY";

const SECRET_LEN: usize = 32;
pub(crate) const NONCE_LEN: usize = 12;

/// The 32-byte secret everything at rest is protected with. `Debug` is
/// redacted; the bytes are zeroised on drop.
#[derive(Clone)]
pub struct StoreSecret(Zeroizing<[u8; SECRET_LEN]>);

impl StoreSecret {
    pub fn from_bytes(bytes: [u8; SECRET_LEN]) -> StoreSecret {
        StoreSecret(Zeroizing::new(bytes))
    }

    /// Parses 64 hex characters (surrounding whitespace ignored).
    pub fn from_hex(s: &str) -> Option<StoreSecret> {
        let decoded = Zeroizing::new(
            data_encoding::HEXLOWER_PERMISSIVE
                .decode(s.trim().as_bytes())
                .ok()?,
        );
        let bytes: [u8; SECRET_LEN] = decoded.as_slice().try_into().ok()?;
        Some(StoreSecret::from_bytes(bytes))
    }

    /// A fresh secret from the OS RNG.
    pub fn generate() -> Result<StoreSecret, StoreError> {
        let key = aes_gcm::Key::<Aes256Gcm>::try_generate().map_err(|_| StoreError::Entropy)?;
        let mut bytes = [0u8; SECRET_LEN];
        bytes.copy_from_slice(&key);
        Ok(StoreSecret::from_bytes(bytes))
    }

    fn to_hex(&self) -> Zeroizing<String> {
        Zeroizing::new(data_encoding::HEXLOWER.encode(self.0.as_ref()))
    }

    fn derive(&self, label: &[u8]) -> Zeroizing<[u8; SECRET_LEN]> {
        let mut out = Zeroizing::new([0u8; SECRET_LEN]);
        out.copy_from_slice(&mac(self.0.as_ref(), label));
        out
    }
}

impl fmt::Debug for StoreSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("StoreSecret(redacted)")
    }
}

fn mac(key: &[u8], message: &[u8]) -> [u8; 32] {
    let mut mac = <Hmac<Sha256> as hmac::KeyInit>::new_from_slice(key)
        .expect("HMAC takes keys of any length");
    mac.update(message);
    mac.finalize().into_bytes().into()
}

/// Where the store secret comes from.
#[derive(Debug, Clone)]
pub enum SecretSource {
    /// `TOKENRIG_STORE_KEY` if set, else the store's default key file,
    /// created on first use: `<db>.key` next to an SQLite file; for
    /// PostgreSQL one file per server and database under the data
    /// directory (see [`default_data_dir`](super::default_data_dir)). Nodes
    /// on other machines must be given the same secret, by the variable or
    /// [`SecretSource::KeyFile`].
    Default,
    /// This key file, created on first use.
    KeyFile(PathBuf),
    /// The secret itself (tests, or a caller with its own key management).
    Given(StoreSecret),
}

impl SecretSource {
    /// The secret; `default_file` is asked only when the default key file
    /// is the one to read.
    pub(crate) fn load(
        &self,
        default_file: impl FnOnce() -> Result<PathBuf, StoreError>,
    ) -> Result<StoreSecret, StoreError> {
        match self {
            SecretSource::Default => match std::env::var(STORE_KEY_ENV) {
                Ok(hex) => StoreSecret::from_hex(&hex).ok_or(StoreError::BadEnvSecret),
                Err(_) => load_or_create_key_file(&default_file()?),
            },
            SecretSource::KeyFile(path) => load_or_create_key_file(path),
            SecretSource::Given(secret) => Ok(secret.clone()),
        }
    }
}

/// `<db>.key`: the database file name with `.key` appended.
pub fn default_key_file(db_path: &Path) -> PathBuf {
    let mut name = db_path.as_os_str().to_owned();
    name.push(".key");
    PathBuf::from(name)
}

/// Reads the key file, or creates it with a fresh secret. A new file is
/// written to a private temporary name (mode 0600 from `open`, not a later
/// chmod) and published with a hard link, which fails if the name exists:
/// two processes starting at once agree on one secret, and neither reads a
/// half-written file. A file group or others can read is refused rather
/// than silently fixed: someone may already have copied it.
fn load_or_create_key_file(path: &Path) -> Result<StoreSecret, StoreError> {
    let io = |source| StoreError::KeyFile {
        path: path.to_owned(),
        source,
    };
    if !path.exists() {
        let secret = StoreSecret::generate()?;
        let mut tmp_name = path.as_os_str().to_owned();
        tmp_name.push(format!(
            ".tmp-{}-{:08x}",
            std::process::id(),
            rand::random::<u32>()
        ));
        let tmp = PathBuf::from(tmp_name);
        let written = write_new_key_file(&tmp, &secret);
        let published = written.and_then(|()| std::fs::hard_link(&tmp, path));
        // The temporary name is only a staging area; losing it is harmless.
        let _ = std::fs::remove_file(&tmp);
        match published {
            Ok(()) => return Ok(secret),
            Err(e) if e.kind() == ErrorKind::AlreadyExists => {}
            Err(e) => return Err(io(e)),
        }
    }
    let mut file = OpenOptions::new().read(true).open(path).map_err(io)?;
    let mode = file.metadata().map_err(io)?.permissions().mode() & 0o777;
    if mode & 0o077 != 0 {
        return Err(StoreError::KeyFilePermissions {
            path: path.to_owned(),
            mode,
        });
    }
    let mut text = Zeroizing::new(String::new());
    file.read_to_string(&mut text).map_err(io)?;
    StoreSecret::from_hex(&text).ok_or_else(|| StoreError::BadKeyFile {
        path: path.to_owned(),
    })
}

fn write_new_key_file(path: &Path, secret: &StoreSecret) -> std::io::Result<()> {
    let mut file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)?;
    let mut line = secret.to_hex();
    line.push('\n');
    file.write_all(line.as_bytes())?;
    file.sync_all()
}

/// The keys derived from the store secret.
pub(crate) struct Keys {
    cipher: Aes256Gcm,
    lookup: Zeroizing<[u8; SECRET_LEN]>,
    check: [u8; 32],
}

/// A sealed value as stored: ciphertext (with GCM tag) and its nonce.
pub(crate) struct Sealed {
    pub ciphertext: Vec<u8>,
    pub nonce: [u8; NONCE_LEN],
}

impl Keys {
    pub fn new(secret: &StoreSecret) -> Keys {
        let cipher_key = secret.derive(b"tokenrig/store/token-key-encryption");
        Keys {
            cipher: Aes256Gcm::new_from_slice(cipher_key.as_ref())
                .expect("a 32-byte key is an AES-256 key"),
            lookup: secret.derive(b"tokenrig/store/user-code-lookup"),
            check: *secret.derive(b"tokenrig/store/secret-check"),
        }
    }

    /// What `store_secret_check` holds: proves a secret matches a database
    /// without revealing it.
    pub fn check_value(&self) -> [u8; 32] {
        self.check
    }

    /// Encrypts `plaintext` under a fresh random nonce, bound to `aad`: the
    /// row it belongs to (a token's serial, an attempt's id), so a
    /// ciphertext copied onto another row does not decrypt.
    pub fn seal(&self, aad: &[u8], plaintext: &[u8]) -> Result<Sealed, StoreError> {
        let nonce = Nonce::try_generate().map_err(|_| StoreError::Entropy)?;
        let payload = Payload {
            msg: plaintext,
            aad,
        };
        let ciphertext = self
            .cipher
            .encrypt(&nonce, payload)
            .map_err(|_| StoreError::Corrupt("value too long to encrypt".to_owned()))?;
        let mut bytes = [0u8; NONCE_LEN];
        bytes.copy_from_slice(&nonce);
        Ok(Sealed {
            ciphertext,
            nonce: bytes,
        })
    }

    /// The plaintext, or `None` when the ciphertext, nonce or `aad` is not
    /// the one sealed (wrong secret, tampered or moved row).
    pub fn open(&self, aad: &[u8], sealed: &Sealed) -> Option<Zeroizing<Vec<u8>>> {
        let payload = Payload {
            msg: &sealed.ciphertext,
            aad,
        };
        let nonce = Nonce::from(sealed.nonce);
        self.cipher
            .decrypt(&nonce, payload)
            .ok()
            .map(Zeroizing::new)
    }

    /// A token key, sealed with its serial as AAD.
    pub fn seal_key(&self, serial: Serial, key: &SecretKey) -> Result<Sealed, StoreError> {
        self.seal(serial.as_str().as_bytes(), key.as_bytes())
    }

    pub fn open_key(&self, serial: Serial, sealed: &Sealed) -> Result<SecretKey, StoreError> {
        self.open(serial.as_str().as_bytes(), sealed)
            .map(|mut bytes| SecretKey::new(std::mem::take(&mut *bytes)))
            .ok_or(StoreError::KeyDecryption { serial })
    }

    /// The indexed stand-in for a user code: equal codes give equal
    /// lookups, and the table never holds the code itself.
    pub fn user_code_lookup(&self, code: &UserCode) -> [u8; 32] {
        mac(self.lookup.as_ref(), code.expose_secret().as_bytes())
    }
}
