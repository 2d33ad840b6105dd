//! The RADIUS part of `cargo xtask bench-server`: Access-Requests per
//! second through `serve --radius`, against the same server and store as
//! the `/v1/validate` figures.
//!
//! The users and tokens are written into the store before the server
//! starts (one argon2 hash shared by all, so set-up takes no minutes).
//! Each client is a thread with its own UDP socket, user and C100, in
//! closed loop: the next code as soon as the last answer came, each
//! request with a Message-Authenticator, each answer's authenticators
//! checked. Every request must be accepted: anything else is an error.

use std::net::{SocketAddr, UdpSocket};
use std::path::Path;
use std::time::{Duration, Instant};

use tokenrig::clock::{Clock, SystemClock};
use tokenrig::device::{Model, keygen};
use tokenrig::inventory::{self, Format};
use tokenrig::otp::{Algorithm, Digits, OtpKey};
use tokenrig::store::{SecretSource, Store, StoreSecret};
use tokenrig::transport::radius::{Code, Packet, attribute, verify_response};
use tokenrig::user::{PasswordHash, PhoneNumber, TaxCode, User, UserCode};

pub const CLIENTS: usize = 256;
const SECRET: &str = "bench-server-radius-secret";
const SEED: u64 = 0x7261_6469_7573;

/// One client's account: its user and its token's key.
pub struct Account {
    user: TaxCode,
    key: OtpKey,
}

/// Writes [`CLIENTS`] users, each holding a fresh C100, into the store at
/// `db`, and the clients file `serve --radius-clients` reads into `dir`.
/// Returns the accounts and the file's path.
pub fn prepare(db: &str, store_key: &str, dir: &Path) -> Result<(Vec<Account>, String), String> {
    let secret = StoreSecret::from_hex(store_key).ok_or("the bench store key is not hex")?;
    let store = Store::open_with(db, &SecretSource::Given(secret)).map_err(|e| e.to_string())?;
    let now = SystemClock.now();
    let mut csv = String::from("serial,kind,key,digits,step\n");
    let mut accounts = Vec::with_capacity(CLIENTS);
    let mut serials = Vec::with_capacity(CLIENTS);
    for i in 0..CLIENTS as u64 {
        let serial = keygen::serial_from_seed(Model::C100, SEED, i);
        let key = keygen::key_from_seed(SEED, i, 20);
        csv.push_str(&format!(
            "{},c100,{},6,\n",
            serial.as_str(),
            hex(key.as_bytes())
        ));
        accounts.push(Account {
            user: TaxCode::synthetic(SEED + i),
            key: OtpKey::new(Algorithm::Sha1, &key),
        });
        serials.push(serial);
    }
    let entries = inventory::parse(csv.as_bytes(), Format::Csv, None).map_err(|e| e.to_string())?;
    store.import(&entries, now).map_err(|e| e.to_string())?;
    let password = PasswordHash::new("bench radius password 1").map_err(|e| e.to_string())?;
    for (i, (account, serial)) in accounts.iter().zip(&serials).enumerate() {
        let user = User::new(
            account.user,
            PhoneNumber::parse(&format!("+39300{i:07}")).map_err(|e| e.to_string())?,
            UserCode::parse(&format!("BENCH{i:04}")).map_err(|e| e.to_string())?,
            password.clone(),
        );
        store.add_user(&user, now).map_err(|e| e.to_string())?;
        store
            .assign(&account.user, *serial, now)
            .map_err(|e| e.to_string())?;
    }
    let path = dir.join("radius-clients.toml");
    std::fs::write(
        &path,
        format!("[[client]]\naddress = \"127.0.0.1\"\nsecret = \"{SECRET}\"\n"),
    )
    .map_err(|e| format!("{}: {e}", path.display()))?;
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600))
        .map_err(|e| format!("{}: {e}", path.display()))?;
    Ok((accounts, path.display().to_string()))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// What one client measured.
#[derive(Default)]
struct Tally {
    latencies_us: Vec<u32>,
    accepted_all: u64,
    errors: u64,
    first_error: Option<String>,
}

/// Closed loop for 1 s of warm-up and `seconds` measured; prints
/// Access-Requests/s and latency, returns every accept (warm-up included).
pub fn run(server: SocketAddr, accounts: Vec<Account>, seconds: u64) -> Result<u64, String> {
    let warm_until = Instant::now() + Duration::from_secs(1);
    let stop_at = warm_until + Duration::from_secs(seconds);
    let threads: Vec<_> = accounts
        .into_iter()
        .enumerate()
        .map(|(i, account)| {
            std::thread::spawn(move || drive(server, account, i as u8, warm_until, stop_at))
        })
        .collect();
    let mut total = Tally::default();
    for thread in threads {
        let tally = thread
            .join()
            .map_err(|_| "a RADIUS client thread panicked")?;
        total.latencies_us.extend(tally.latencies_us);
        total.accepted_all += tally.accepted_all;
        total.errors += tally.errors;
        total.first_error = total.first_error.or(tally.first_error);
    }
    total.latencies_us.sort_unstable();
    let l = &total.latencies_us;
    let at = |p: f64| {
        l.get(((l.len() as f64 * p) as usize).min(l.len().saturating_sub(1)))
            .map_or(0.0, |us| f64::from(*us) / 1000.0)
    };
    println!(
        "{:.0} Access-Requests/s ({} accepted in {seconds} s, {CLIENTS} clients, {} errors)",
        l.len() as f64 / seconds as f64,
        l.len(),
        total.errors
    );
    println!(
        "latency ms: p50 {:.2}  p90 {:.2}  p99 {:.2}  max {:.2}",
        at(0.5),
        at(0.9),
        at(0.99),
        at(1.0)
    );
    if let Some(first) = total.first_error {
        return Err(format!(
            "RADIUS: {} errors, the first: {first}",
            total.errors
        ));
    }
    Ok(total.accepted_all)
}

fn drive(
    server: SocketAddr,
    account: Account,
    seed: u8,
    warm_until: Instant,
    stop_at: Instant,
) -> Tally {
    let mut tally = Tally::default();
    let fail = |tally: &mut Tally, why: String| {
        tally.errors += 1;
        tally.first_error.get_or_insert(why);
    };
    let socket = match UdpSocket::bind("127.0.0.1:0")
        .and_then(|s| s.connect(server).map(|()| s))
        .and_then(|s| s.set_read_timeout(Some(Duration::from_secs(5))).map(|()| s))
    {
        Ok(socket) => socket,
        Err(e) => {
            fail(&mut tally, e.to_string());
            return tally;
        }
    };
    let mut buffer = [0u8; 4096];
    let mut counter = 0u64;
    let mut identifier = seed;
    while Instant::now() < stop_at {
        let code = account.key.hotp(counter, Digits::SIX).to_string();
        counter += 1;
        identifier = identifier.wrapping_add(1);
        // Distinct per request and client; the bench needs no secrecy.
        let mut authenticator = [0u8; 16];
        authenticator[..8].copy_from_slice(&counter.to_be_bytes());
        authenticator[8] = seed;
        let request = Packet::access_request(
            identifier,
            authenticator,
            account.user.as_str(),
            code.as_bytes(),
            SECRET.as_bytes(),
        )
        .ok()
        .and_then(|packet| packet.encode_request(SECRET.as_bytes()).ok());
        let Some(request) = request else {
            fail(&mut tally, "cannot encode an Access-Request".to_owned());
            break;
        };
        let sent = Instant::now();
        let answer = socket
            .send(&request)
            .and_then(|_| socket.recv(&mut buffer))
            .map_err(|e| e.to_string())
            .and_then(|len| {
                verify_response(&buffer[..len], SECRET.as_bytes(), &authenticator)
                    .map_err(|e| e.to_string())
            });
        match answer {
            Ok(packet) if packet.code == Code::AccessAccept => {
                tally.accepted_all += 1;
                if sent >= warm_until {
                    let us = sent.elapsed().as_micros();
                    tally
                        .latencies_us
                        .push(u32::try_from(us).unwrap_or(u32::MAX));
                }
            }
            Ok(packet) => fail(
                &mut tally,
                format!(
                    "rejected: {}",
                    String::from_utf8_lossy(
                        packet.attribute(attribute::REPLY_MESSAGE).unwrap_or(b"")
                    )
                ),
            ),
            Err(e) => {
                fail(&mut tally, e);
                break;
            }
        }
    }
    tally
}
