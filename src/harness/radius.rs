//! The RADIUS target, `radius://SECRET@HOST:PORT`: any OTP server reached
//! through RADIUS (tokenrig's `serve --radius`, privacyIDEA behind
//! FreeRADIUS, multiOTP, …) judged on what RADIUS carries: one code per
//! Access-Request, accepted or rejected.
//!
//! RADIUS has no set-up, so tokens and users go through a second target
//! named with it (`--setup`: tokenrig's HTTP admin API, privacyIDEA's),
//! which must create users: an Access-Request names a user, never a
//! serial. A case that validates by serial has its token given a
//! stand-in holder through the set-up target the first time, and the
//! Access-Request names that holder. Resync and the replacement flow are
//! not RADIUS requests: [`Offers`] says so, and the plan reports those
//! cases unsupported before they run. The clock and unlock are the set-up
//! target's, which is right when both name the same server.
//!
//! Reasons: a Reply-Message that is one of tokenrig's reason codes is
//! taken as the reason; any other (or none) leaves only accept or reject
//! to compare ([`Verdict::rejected_without_reason`]), and the case's
//! report says so. Every answer's Response Authenticator is checked, and
//! its Message-Authenticator when present; every request carries one.

use std::collections::HashMap;
use std::net::{SocketAddr, ToSocketAddrs, UdpSocket};
use std::time::Duration;

use zeroize::Zeroizing;

use super::target::{Offers, Started, Subject, Target, TargetError, TokenSpec, UserSpec, Verdict};
use crate::clock::UnixTime;
use crate::device::Serial;
use crate::service::REASONS;
use crate::transport::radius::{Authenticator, Code, Packet, attribute, verify_response};
use crate::user::TaxCode;

/// How long one try waits for an answer, and how many tries a request gets.
const TIMEOUT: Duration = Duration::from_secs(2);
const TRIES: usize = 3;

pub struct Radius {
    server: SocketAddr,
    secret: Zeroizing<Vec<u8>>,
    socket: UdpSocket,
    setup: Box<dyn Target>,
    identifier: u8,
    /// Who an Access-Request names for a serial: the holder the case gave
    /// it, or a stand-in made at its first validation.
    holders: HashMap<Serial, TaxCode>,
}

fn failed(e: impl std::fmt::Display) -> TargetError {
    TargetError::Failed(e.to_string())
}

impl Radius {
    /// `url` is `radius://SECRET@HOST:PORT` (the secret as written, up to
    /// the last `@`); `setup` creates tokens and users.
    pub fn new(url: &str, setup: Box<dyn Target>) -> Result<Radius, TargetError> {
        let rest = url
            .strip_prefix("radius://")
            .ok_or_else(|| failed("a RADIUS target is radius://SECRET@HOST:PORT"))?;
        let (secret, host) = rest
            .rsplit_once('@')
            .filter(|(secret, _)| !secret.is_empty())
            .ok_or_else(|| {
                failed("a RADIUS target needs its shared secret: radius://SECRET@HOST:PORT")
            })?;
        let server = host
            .to_socket_addrs()
            .map_err(|e| failed(format!("RADIUS server {host}: {e}")))?
            .next()
            .ok_or_else(|| failed(format!("RADIUS server {host}: no address")))?;
        if !setup.offers().users {
            return Err(failed(
                "the set-up target must create users: RADIUS names users, not serials",
            ));
        }
        let local = if server.is_ipv4() {
            "0.0.0.0:0"
        } else {
            "[::]:0"
        };
        let socket = UdpSocket::bind(local).map_err(failed)?;
        socket.connect(server).map_err(failed)?;
        socket.set_read_timeout(Some(TIMEOUT)).map_err(failed)?;
        Ok(Radius {
            server,
            secret: Zeroizing::new(secret.as_bytes().to_vec()),
            socket,
            setup,
            identifier: 0,
            holders: HashMap::new(),
        })
    }

    /// One Access-Request and its answer, retransmitted unchanged (the
    /// server's duplicate detection must not decide it twice).
    fn access_request(&mut self, user: &TaxCode, otp: &str) -> Result<Verdict, TargetError> {
        self.identifier = self.identifier.wrapping_add(1);
        let authenticator = random_authenticator()?;
        let request = Packet::access_request(
            self.identifier,
            authenticator,
            user.as_str(),
            otp.as_bytes(),
            &self.secret,
        )
        .map_err(failed)?
        .encode_request(&self.secret)
        .map_err(failed)?;
        let mut buffer = [0u8; 4096];
        for _ in 0..TRIES {
            self.socket.send(&request).map_err(failed)?;
            loop {
                match self.socket.recv(&mut buffer) {
                    Ok(len) => {
                        if let Some(verdict) = self.answer(&buffer[..len], &authenticator)? {
                            return Ok(verdict);
                        }
                    }
                    Err(e)
                        if matches!(
                            e.kind(),
                            std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                        ) =>
                    {
                        break;
                    }
                    Err(e) => return Err(failed(format!("RADIUS {}: {e}", self.server))),
                }
            }
        }
        Err(failed(format!(
            "RADIUS {}: no answer after {TRIES} tries of {} s (wrong secret, or not a client it knows?)",
            self.server,
            TIMEOUT.as_secs()
        )))
    }

    /// The verdict in an answer to the request with `authenticator`; `None`
    /// for a late answer to an earlier request.
    fn answer(
        &self,
        bytes: &[u8],
        authenticator: &Authenticator,
    ) -> Result<Option<Verdict>, TargetError> {
        if bytes.get(1) != Some(&self.identifier) {
            return Ok(None);
        }
        let packet = verify_response(bytes, &self.secret, authenticator)
            .map_err(|e| failed(format!("RADIUS {}: {e}", self.server)))?;
        let reason = packet
            .attribute(attribute::REPLY_MESSAGE)
            .and_then(|m| std::str::from_utf8(m).ok())
            .map(str::trim)
            .filter(|m| REASONS.iter().any(|r| r.code == *m));
        match packet.code {
            Code::AccessAccept => Ok(Some(Verdict::accepted())),
            Code::AccessReject => Ok(Some(match reason {
                Some(reason) => Verdict::rejected(reason),
                None => Verdict::rejected_without_reason(),
            })),
            Code::AccessChallenge => Err(TargetError::Unsupported(
                "the server answered with an Access-Challenge (a second factor prompt)".to_owned(),
            )),
            Code::AccessRequest | Code::Other(_) => Err(failed(format!(
                "RADIUS {}: answered with packet code {}",
                self.server,
                packet.code.byte()
            ))),
        }
    }

    /// The user an Access-Request for `serial` names.
    fn holder(&mut self, serial: Serial) -> Result<TaxCode, TargetError> {
        if let Some(user) = self.holders.get(&serial) {
            return Ok(*user);
        }
        let n = serial
            .as_str()
            .bytes()
            .fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
                (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
            });
        let stand_in = UserSpec {
            tax_code: TaxCode::synthetic(n),
            phone: format!("+393{:09}", n % 1_000_000_000),
            user_code: format!("RS{:08X}", n >> 32),
            password: "radius-stand-in-1".to_owned(),
        };
        self.setup.add_user(&stand_in)?;
        self.setup.assign(&stand_in.tax_code, serial)?;
        self.holders.insert(serial, stand_in.tax_code);
        Ok(stand_in.tax_code)
    }
}

/// A Request Authenticator: unpredictable, as RFC 2865 §3 asks.
fn random_authenticator() -> Result<Authenticator, TargetError> {
    use rand::TryRng;
    let mut authenticator = [0u8; 16];
    rand::rngs::SysRng
        .try_fill_bytes(&mut authenticator)
        .map_err(|_| failed("the operating system's random number generator failed"))?;
    Ok(authenticator)
}

fn not_radius(what: &str) -> TargetError {
    TargetError::Unsupported(format!("{what} is not a RADIUS request"))
}

impl Target for Radius {
    fn name(&self) -> String {
        // Never the secret.
        format!(
            "radius://{} (set-up through {})",
            self.server,
            self.setup.name()
        )
    }

    fn offers(&self) -> Offers {
        let setup = self.setup.offers();
        Offers {
            clock: setup.clock,
            users: true,
            resync: false,
            user_codes: false,
            unlock: setup.unlock,
            replacement: false,
        }
    }

    fn begin_case(&mut self) -> Result<(), TargetError> {
        self.holders.clear();
        self.setup.begin_case()
    }

    fn set_time(&mut self, now: UnixTime) -> Result<(), TargetError> {
        self.setup.set_time(now)
    }

    fn import(&mut self, tokens: &[TokenSpec]) -> Result<(), TargetError> {
        self.setup.import(tokens)
    }

    fn add_user(&mut self, user: &UserSpec) -> Result<(), TargetError> {
        self.setup.add_user(user)
    }

    fn assign(&mut self, user: &TaxCode, serial: Serial) -> Result<(), TargetError> {
        self.setup.assign(user, serial)?;
        self.holders.insert(serial, *user);
        Ok(())
    }

    fn validate(&mut self, subject: &Subject, otp: &str) -> Result<Verdict, TargetError> {
        let user = match subject {
            Subject::User(user) => *user,
            Subject::Serial(serial) => self.holder(*serial)?,
            Subject::UserCode(_) => return Err(failed("validate takes a serial or a user")),
        };
        self.access_request(&user, otp)
    }

    fn resync(&mut self, _: &Subject, _: &str, _: &str) -> Result<Verdict, TargetError> {
        Err(not_radius("a two-OTP resync"))
    }

    fn unlock(&mut self, serial: Serial) -> Result<(), TargetError> {
        self.setup.unlock(serial)
    }

    fn replace_start(&mut self, _: &TaxCode, _: &str, _: Serial) -> Result<Started, TargetError> {
        Err(not_radius("the replacement flow"))
    }

    fn latest_sms_code(&mut self, _: &str) -> Result<String, TargetError> {
        Err(not_radius("the replacement flow"))
    }

    fn replace_sms_code(&mut self, _: &str, _: &str) -> Result<Verdict, TargetError> {
        Err(not_radius("the replacement flow"))
    }

    fn replace_device(&mut self, _: &str, _: &str) -> Result<Verdict, TargetError> {
        Err(not_radius("the replacement flow"))
    }

    fn replace_otps(&mut self, _: &str, _: &[String]) -> Result<Verdict, TargetError> {
        Err(not_radius("the replacement flow"))
    }
}
