//! The PSKC corpus (`fixtures/inventory/pskc-corpus/`): files written by
//! python-pskc, an independent implementation, over every algorithm pair
//! tokenrig supports, and files it or tokenrig refuses. `manifest.csv`
//! (written by the corpus's `generate.py`) gives each file's key or
//! password, whether python-pskc reads it back, and whether tokenrig should
//! import it. Each is imported by the real binary into a fresh store; an
//! imported file's three tokens each accept a code from Debian's oathtool,
//! a refused one gives the exact one-line error below and imports nothing.

mod support;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use tempfile::TempDir;

const STORE_KEY: &str = "7f3c9a1e5b2d4f6a8c0e1b3d5f7a9c2e4b6d8f0a1c3e5b7d9f2a4c6e8b0d1f3a";
/// The time the TOTP token is checked at.
const TIME: &str = "1700000000";

/// What tokenrig says of each file it refuses, after `tokenrig: error: PATH: `.
const REFUSALS: &[(&str, &str)] = &[
    (
        "pbkdf2-aes256-cbc-hmac-sha256.pskc",
        "PSKC: PBKDF2 PRF at line 12 names its algorithm as text: RFC 6030 section 6.2 puts it \
         in an Algorithm attribute",
    ),
    (
        "pbkdf2-camellia256-cbc-hmac-sha1.pskc",
        "PSKC: PBKDF2 PRF at line 12 names its algorithm as text: RFC 6030 section 6.2 puts it \
         in an Algorithm attribute",
    ),
    (
        "pbkdf2-tripledes-cbc-hmac-sha512.pskc",
        "PSKC: PBKDF2 PRF at line 12 names its algorithm as text: RFC 6030 section 6.2 puts it \
         in an Algorithm attribute",
    ),
    (
        "pbkdf2-kw-aes256-hmac-sha512.pskc",
        "PSKC: PBKDF2 PRF at line 12 names its algorithm as text: RFC 6030 section 6.2 puts it \
         in an Algorithm attribute",
    ),
    (
        "pbkdf2-kw-camellia128-hmac-sha224.pskc",
        "PSKC: PBKDF2 PRF at line 12 names its algorithm as text: RFC 6030 section 6.2 puts it \
         in an Algorithm attribute",
    ),
    (
        "several-keys-per-device.pskc",
        "KeyPackage 2 at line 23 (serial 306EUO4-00954, Key Id 306EUO4-00954): holds 2 Keys: \
         tokenrig imports one Key per KeyPackage (one token per device)",
    ),
    (
        "aes256-cbc-short-key.pskc",
        "PSKC: AES-256-CBC needs a 32-byte key, got 16 (the pre-shared key)",
    ),
    (
        "aes128-cbc-without-mac.pskc",
        "PSKC: MACMethod Algorithm at line 4 is missing",
    ),
    (
        "altered-value-mac.pskc",
        "KeyPackage 1 at line 12 (serial 1909107966482, Key Id 1909107966482): Secret: MAC \
         check failed (wrong pre-shared key or password, or altered file)",
    ),
    (
        "counter-not-an-integer.pskc",
        "KeyPackage 1 at line 12 (serial 1909107966482, Key Id 1909107966482): Counter at \
         line 33 is not an integer",
    ),
    (
        "unknown-mac-algorithm.pskc",
        "PSKC: MACMethod Algorithm http://www.w3.org/2000/09/xmldsig#hmac-zha9 at line 4 is \
         unknown; supported: hmac-sha1, hmac-sha224/256/384/512",
    ),
    (
        "unknown-encryption.pskc",
        "PSKC: EncryptionMethod Algorithm http://www.w3.org/2001/04/xmlenc#aes128-xyz at line 6 \
         is unknown; supported: aes128/192/256-cbc, kw-aes128/192/256, kw-aes-128/192/256-pad, \
         camellia128/192/256-cbc, kw-camellia128/192/256, tripledes-cbc",
    ),
    (
        "wrong-version.pskc",
        "PSKC: KeyContainer Version 1.2 is not supported: expected 1.0",
    ),
    (
        "wrong-password.pskc",
        "PSKC: the MACKey at line 17 does not decrypt: wrong pre-shared key or password, or \
         altered file",
    ),
    (
        "kw-aes128-altered.pskc",
        "PSKC: the EncryptedValue at line 24 does not decrypt: wrong pre-shared key or password, \
         or altered file",
    ),
];

fn corpus() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/inventory/pskc-corpus")
}

struct Row {
    file: String,
    secret: String,
    python_pskc: String,
    imports: bool,
}

fn manifest() -> Vec<Row> {
    let text = std::fs::read_to_string(corpus().join("manifest.csv")).expect("manifest reads");
    text.lines()
        .skip(1)
        .map(|line| {
            let fields: Vec<&str> = line.split(',').collect();
            assert_eq!(fields.len(), 4, "manifest line {line}");
            Row {
                file: fields[0].to_owned(),
                secret: fields[1].to_owned(),
                python_pskc: fields[2].to_owned(),
                imports: match fields[3] {
                    "imports" => true,
                    "refuses" => false,
                    other => panic!("manifest: {other}"),
                },
            }
        })
        .collect()
}

/// One fresh store and the binary pointed at it.
struct Store {
    dir: TempDir,
}

impl Store {
    fn new() -> Store {
        Store {
            dir: tempfile::tempdir().expect("temp dir"),
        }
    }

    fn run(&self, command: &str, args: &[&str], stdin: &str) -> Output {
        let db = self.dir.path().join("tokenrig.db");
        let mut child = Command::new(env!("CARGO_BIN_EXE_tokenrig"))
            .arg(command)
            .args(["--db", db.to_str().expect("utf-8 path")])
            .args(args)
            .env("TOKENRIG_STORE_KEY", STORE_KEY)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("the tokenrig binary runs");
        child
            .stdin
            .take()
            .expect("stdin")
            .write_all(stdin.as_bytes())
            .expect("stdin written");
        child.wait_with_output().expect("tokenrig finishes")
    }

    fn import(&self, row: &Row) -> Output {
        let path = corpus().join(&row.file);
        let path = path.to_str().expect("utf-8 path");
        match row.secret.split_once(':') {
            Some(("key", hex)) => self.run("import", &[path, "--pskc-key", hex], ""),
            Some(("password", password)) => self.run(
                "import",
                &[path, "--pskc-password-stdin"],
                &format!("{password}\n"),
            ),
            _ => self.run("import", &[path], ""),
        }
    }

    fn accepts(&self, serial: &str, otp: &str, extra: &[&str]) -> String {
        let mut args = vec!["--serial", serial, "--otp", otp];
        args.extend_from_slice(extra);
        let out = self.run("check", &args, "");
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    }
}

fn oathtool(bin: &Path, args: &[&str]) -> String {
    let out = Command::new(bin)
        .args(args)
        .output()
        .expect("oathtool runs");
    assert!(out.status.success(), "oathtool {args:?}");
    String::from_utf8(out.stdout)
        .expect("utf-8")
        .trim()
        .to_owned()
}

#[test]
fn every_corpus_file_imports_with_oathtool_codes_or_is_refused_exactly() {
    let Some(oathtool_bin) = support::require_tool("oathtool", "oathtool") else {
        return;
    };
    // The corpus tokens (generate.py's TOKENS): codes from oathtool, once.
    let c100 = oathtool(
        &oathtool_bin,
        &[
            "--hotp",
            "-c",
            "0",
            "e0573ff0cea6f5aae891e353ef23448b21b20902",
        ],
    );
    let c200 = oathtool(
        &oathtool_bin,
        &[
            "--totp=sha256",
            "-d",
            "8",
            "-s",
            "60",
            "-N",
            &format!("@{TIME}"),
            "fb629f61551d47bd9593f765f309d18821e1b546f1e2d3c4b5a697887766554f",
        ],
    );
    let usb = oathtool(
        &oathtool_bin,
        &["--hotp", "-c", "7", "4607679ff7faa95fee8bf366843e1b75"],
    );

    let rows = manifest();
    assert!(rows.len() >= 60, "the corpus has {} files", rows.len());
    let mut imported = 0;
    // Refusals that differ from REFUSALS, all listed at the end.
    let mut wrong = Vec::new();
    for row in &rows {
        let store = Store::new();
        let out = store.import(row);
        let stdout = String::from_utf8_lossy(&out.stdout);
        let stderr = String::from_utf8_lossy(&out.stderr);
        if row.imports {
            assert_eq!(
                (out.status.code(), stdout.as_ref()),
                (Some(0), "imported 3 tokens\n"),
                "{}: {stderr}",
                row.file
            );
            assert_eq!(store.accepts("1909107966482", &c100, &[]), "accepted\n");
            assert_eq!(
                store.accepts("306EUO4-00954", &c200, &["--time", TIME]),
                "accepted\n",
                "{}",
                row.file
            );
            assert_eq!(store.accepts("987654321", &usb, &[]), "accepted\n");
            imported += 1;
        } else {
            let (_, expected) = REFUSALS
                .iter()
                .find(|(file, _)| *file == row.file)
                .unwrap_or_else(|| panic!("{}: no expected refusal", row.file));
            let want = format!(
                "tokenrig: error: {}: {expected}\n",
                corpus().join(&row.file).display()
            );
            if (out.status.code(), stderr.as_ref()) != (Some(2), want.as_str()) {
                wrong.push(format!("{}: {:?} {stderr}", row.file, out.status.code()));
            }
            assert_eq!(
                store.accepts("1909107966482", &c100, &[]),
                "tokenrig: error: serial 1909107966482 is not in the store\n",
                "{}: a refused file imports nothing",
                row.file
            );
        }
        // What an independent library refuses, tokenrig refuses too.
        if row.python_pskc.ends_with("refuses") {
            assert!(!row.imports, "{}: python-pskc refuses it", row.file);
        }
    }
    assert!(wrong.is_empty(), "refused otherwise:\n{}", wrong.join(""));
    assert_eq!(REFUSALS.len(), rows.iter().filter(|r| !r.imports).count());
    assert!(imported >= 50, "{imported} files imported");
}
