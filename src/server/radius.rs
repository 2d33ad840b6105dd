//! `tokenrig serve --radius ADDR`: Access-Requests over UDP (RFC 2865),
//! decided by the same [`Service`](crate::service::Service) calls as
//! `POST /v1/validate`, through the same store worker pools, with the same
//! audit row. `docs/radius.md` is the operator's view.
//!
//! A datagram goes through [`Radius::receive`], which is synchronous and
//! does no I/O: client by source address, packet, Message-Authenticator,
//! the duplicate cache. Only then is a decision sent to a pool; its answer
//! is encoded, cached and sent by the socket task. Everything that cannot
//! be decided is dropped silently, as RFC 2865 and RFC 3579 ask, and
//! counted in `/metrics` (`tokenrig_radius_packets_total{result="dropped"}`)
//! with why; nothing dropped reaches the store.
//!
//! `--rate-limit` applies here per station, not per NAS: a NAS speaks for
//! many users, so a guesser behind it is told apart by the
//! Calling-Station-Id the NAS sends, or by the User-Name where it sends
//! none. A request over the rate is answered Access-Reject with
//! Reply-Message `rate_limited` (RADIUS has no "retry later"), decides
//! nothing, and is cached like any answer so its retransmissions cost no
//! more of the bucket.
//!
//! Message-Authenticator is required by default (BlastRADIUS,
//! CVE-2024-3596): a forged Access-Reject turned Accept needs an MD5
//! collision only where the HMAC is missing. Answers always carry one.

use std::collections::{HashMap, VecDeque};
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde::Deserialize;
use tokio::net::UdpSocket;
use tokio::task::JoinSet;
use zeroize::Zeroizing;

use super::AppState;
use super::pool::PoolError;
use super::rate::{Limiter, RATE_LIMITED};
use crate::transport::radius::{
    Attribute, Authenticator, Code, MAX_PACKET, MessageAuthenticator, Packet, attribute,
    reveal_password,
};
use crate::user::TaxCode;
use crate::verifier::Outcome;

/// How long an answer is kept for retransmissions of its request: longer
/// than any client's retry schedule (radclient's default is 3 tries 3 s
/// apart; NAS defaults are similar), so a retransmission is never decided
/// a second time.
pub const DUPLICATE_TTL: Duration = Duration::from_secs(30);
/// At most this many answers are cached; past it the oldest go first, so
/// a flood of distinct requests costs bounded memory.
pub const DUPLICATE_CAPACITY: usize = 65_536;

/// One RADIUS client (NAS) from `--radius-clients`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ClientEntry {
    address: IpAddr,
    secret: Zeroizing<String>,
    #[serde(default)]
    password_and_otp: bool,
    #[serde(default = "yes")]
    require_message_authenticator: bool,
}

fn yes() -> bool {
    true
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ClientsFile {
    #[serde(default)]
    client: Vec<ClientEntry>,
}

/// What a client's User-Password holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Credential {
    /// The code alone.
    Otp,
    /// The account password, then the code.
    PasswordAndOtp,
}

/// A known client, by source address.
struct Client {
    secret: Zeroizing<Vec<u8>>,
    credential: Credential,
    require_message_authenticator: bool,
}

/// The clients allowed to send Access-Requests, parsed from the TOML of
/// `--radius-clients` (`docs/radius.md` documents it).
pub struct Clients(HashMap<IpAddr, Client>);

/// Why a clients file is refused. Never quotes a secret.
#[derive(Debug, thiserror::Error)]
pub enum ClientsError {
    #[error("line {line}: {message}")]
    Syntax { line: usize, message: String },
    #[error("client {0} is listed twice")]
    Duplicate(IpAddr),
    #[error("client {0} has an empty secret")]
    EmptySecret(IpAddr),
    #[error("no [[client]] is listed")]
    Empty,
}

impl Clients {
    pub fn parse(text: &str) -> Result<Clients, ClientsError> {
        let file: ClientsFile = toml::from_str(text).map_err(|e| ClientsError::Syntax {
            line: e
                .span()
                .map_or(1, |span| text[..span.start].matches('\n').count() + 1),
            // toml's message names the key or value at fault, never a
            // secret's text: values are not echoed in its messages.
            message: e.message().to_owned(),
        })?;
        if file.client.is_empty() {
            return Err(ClientsError::Empty);
        }
        let mut clients = HashMap::new();
        for entry in file.client {
            let address = entry.address.to_canonical();
            if entry.secret.is_empty() {
                return Err(ClientsError::EmptySecret(address));
            }
            let client = Client {
                secret: Zeroizing::new(entry.secret.as_bytes().to_vec()),
                credential: if entry.password_and_otp {
                    Credential::PasswordAndOtp
                } else {
                    Credential::Otp
                },
                require_message_authenticator: entry.require_message_authenticator,
            };
            if clients.insert(address, client).is_some() {
                return Err(ClientsError::Duplicate(address));
            }
        }
        Ok(Clients(clients))
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// A bound UDP socket and the clients it answers.
pub struct RadiusListener {
    pub socket: UdpSocket,
    pub clients: Clients,
}

/// Which request an answer belongs to: a retransmission repeats all three
/// (RFC 5080 §2.2.2).
type RequestKey = (SocketAddr, u8, Authenticator);

enum Cached {
    /// Being decided: a retransmission now is dropped, the next one gets
    /// the answer.
    Deciding,
    Answered(Arc<Vec<u8>>),
}

/// Answers by request, bounded by [`DUPLICATE_TTL`] and
/// [`DUPLICATE_CAPACITY`].
#[derive(Default)]
struct DuplicateCache {
    /// Each entry with the instant it was made, which names its place in
    /// `order` (a key forgotten and made again has a newer one).
    entries: HashMap<RequestKey, (Instant, Cached)>,
    order: VecDeque<(Instant, RequestKey)>,
}

impl DuplicateCache {
    fn expire(&mut self, now: Instant) {
        while let Some(&(at, key)) = self.order.front() {
            if now.duration_since(at) < DUPLICATE_TTL && self.order.len() < DUPLICATE_CAPACITY {
                break;
            }
            self.order.pop_front();
            if self.entries.get(&key).is_some_and(|(made, _)| *made == at) {
                self.entries.remove(&key);
            }
        }
    }

    fn get(&self, key: &RequestKey) -> Option<&Cached> {
        self.entries.get(key).map(|(_, cached)| cached)
    }

    /// Sets `key`'s entry, keeping the instant it was first made.
    fn set(&mut self, key: RequestKey, cached: Cached, now: Instant) {
        match self.entries.get_mut(&key) {
            Some(entry) => entry.1 = cached,
            None => {
                self.entries.insert(key, (now, cached));
                self.order.push_back((now, key));
            }
        }
    }
}

/// Why a datagram got no answer: the `reason` label of a drop.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dropped {
    UnknownClient,
    Malformed,
    NotAccessRequest,
    NoMessageAuthenticator,
    BadMessageAuthenticator,
    /// A retransmission of a request still being decided.
    InFlight,
    /// The store queue was full; the client's retransmission is decided.
    Overloaded,
    StoreError,
}

impl Dropped {
    pub fn label(self) -> &'static str {
        match self {
            Dropped::UnknownClient => "unknown_client",
            Dropped::Malformed => "malformed",
            Dropped::NotAccessRequest => "not_access_request",
            Dropped::NoMessageAuthenticator => "no_message_authenticator",
            Dropped::BadMessageAuthenticator => "bad_message_authenticator",
            Dropped::InFlight => "in_flight",
            Dropped::Overloaded => "overloaded",
            Dropped::StoreError => "store_error",
        }
    }
}

/// What to do with a datagram.
enum Received {
    Drop(Dropped),
    /// A retransmission: the answer it got before.
    Resend(Arc<Vec<u8>>),
    /// An answer made without the store: a User-Name no user can have, or
    /// a station over `--rate-limit`; with that reason.
    Answer(Vec<u8>, &'static str),
    Decide(Pending),
}

/// A request ready for the verifier.
struct Pending {
    key: RequestKey,
    request: Packet,
    user: TaxCode,
    credential: Credential,
    password: Zeroizing<String>,
}

/// Who a rate is counted for over RADIUS: the NAS, and the station it
/// names (Calling-Station-Id, else User-Name).
type Station = (IpAddr, Box<[u8]>);

/// The RADIUS side of a server: its clients, its duplicate cache and the
/// stations' rate.
struct Radius {
    clients: Clients,
    cache: Mutex<DuplicateCache>,
    rate: Option<Limiter<Station>>,
}

impl Radius {
    fn client(&self, from: SocketAddr) -> Option<&Client> {
        self.clients.0.get(&from.ip().to_canonical())
    }

    fn receive(&self, bytes: &[u8], from: SocketAddr, now: Instant) -> Received {
        let Some(client) = self.client(from) else {
            return Received::Drop(Dropped::UnknownClient);
        };
        let Ok(request) = Packet::decode(bytes) else {
            return Received::Drop(Dropped::Malformed);
        };
        if request.code != Code::AccessRequest {
            return Received::Drop(Dropped::NotAccessRequest);
        }
        match request.message_authenticator(&client.secret, &request.authenticator) {
            MessageAuthenticator::Valid => {}
            MessageAuthenticator::Invalid => {
                return Received::Drop(Dropped::BadMessageAuthenticator);
            }
            MessageAuthenticator::Absent if client.require_message_authenticator => {
                return Received::Drop(Dropped::NoMessageAuthenticator);
            }
            MessageAuthenticator::Absent => {}
        }
        let key = (from, request.identifier, request.authenticator);
        {
            let mut cache = self.lock_cache();
            cache.expire(now);
            match cache.get(&key) {
                Some(Cached::Answered(answer)) => return Received::Resend(Arc::clone(answer)),
                Some(Cached::Deciding) => return Received::Drop(Dropped::InFlight),
                None => {}
            }
        }
        let (Some(name), Some(hidden)) = (
            request.attribute(attribute::USER_NAME),
            request.attribute(attribute::USER_PASSWORD),
        ) else {
            return Received::Drop(Dropped::Malformed);
        };
        let Some(password) = reveal_password(hidden, &client.secret, &request.authenticator)
            .ok()
            .and_then(|p| String::from_utf8(p.to_vec()).ok())
            .map(Zeroizing::new)
        else {
            return Received::Drop(Dropped::Malformed);
        };
        // Without the store: no user can have this name, or the station
        // is over its rate.
        let refuse = |reason: &'static str| match answer(&request, &client.secret, false, reason) {
            Some(bytes) => {
                self.remember(key, &bytes, now);
                Received::Answer(bytes, reason)
            }
            None => Received::Drop(Dropped::Malformed),
        };
        if let Some(rate) = &self.rate {
            let station = request
                .attribute(attribute::CALLING_STATION_ID)
                .unwrap_or(name);
            if rate
                .take((key.0.ip().to_canonical(), station.into()), now)
                .is_err()
            {
                return refuse(RATE_LIMITED);
            }
        }
        let user = match std::str::from_utf8(name).ok().map(TaxCode::parse) {
            Some(Ok(user)) => user,
            _ => return refuse("unknown_user"),
        };
        self.lock_cache().set(key, Cached::Deciding, now);
        Received::Decide(Pending {
            key,
            request,
            user,
            credential: client.credential,
            password,
        })
    }

    fn remember(&self, key: RequestKey, bytes: &[u8], now: Instant) {
        self.lock_cache()
            .set(key, Cached::Answered(Arc::new(bytes.to_vec())), now);
    }

    /// A decision that could not be made: the next retransmission tries again.
    fn forget(&self, key: &RequestKey) {
        self.lock_cache().entries.remove(key);
    }

    fn lock_cache(&self) -> std::sync::MutexGuard<'_, DuplicateCache> {
        self.cache
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// An Access-Accept or Access-Reject with the reason code as its
/// Reply-Message, the request's Proxy-States (a proxy in between matches
/// answers by them) and a Message-Authenticator.
fn answer(request: &Packet, secret: &[u8], accepted: bool, reason: &str) -> Option<Vec<u8>> {
    let code = if accepted {
        Code::AccessAccept
    } else {
        Code::AccessReject
    };
    let mut attributes = vec![Attribute::new(attribute::REPLY_MESSAGE, reason.as_bytes())];
    attributes.extend(
        request
            .attributes
            .iter()
            .filter(|a| a.kind == attribute::PROXY_STATE)
            .cloned(),
    );
    attributes.push(Attribute::message_authenticator());
    Packet::response_to(request, code, attributes)
        .encode_response(secret, &request.authenticator)
        .ok()
}

/// Answers Access-Requests on `listener` until `shutdown` resolves, then
/// lets the decisions in flight finish and answer.
pub async fn serve_radius(
    listener: RadiusListener,
    state: Arc<AppState>,
    shutdown: impl std::future::Future<Output = ()>,
) -> std::io::Result<()> {
    let socket = Arc::new(listener.socket);
    let radius = Arc::new(Radius {
        clients: listener.clients,
        cache: Mutex::new(DuplicateCache::default()),
        rate: state.rate.as_ref().map(|http| Limiter::new(http.limit())),
    });
    // One byte more than the largest packet: a longer datagram is seen as such.
    let mut buffer = vec![0u8; MAX_PACKET + 1];
    let mut deciding = JoinSet::new();
    tokio::pin!(shutdown);
    loop {
        let (len, from) = tokio::select! {
            () = &mut shutdown => break,
            received = socket.recv_from(&mut buffer) => match received {
                Ok(received) => received,
                Err(e) => {
                    tracing::warn!(error = %e, "RADIUS socket read failed");
                    continue;
                }
            },
        };
        while deciding.try_join_next().is_some() {}
        match radius.receive(&buffer[..len], from, Instant::now()) {
            Received::Drop(why) => {
                tracing::debug!(%from, reason = why.label(), "RADIUS packet dropped");
                state.metrics.radius("dropped", why.label());
            }
            Received::Resend(bytes) => {
                state.metrics.radius("resent", "duplicate");
                send(&socket, &bytes, from).await;
            }
            Received::Answer(bytes, reason) => {
                if reason == RATE_LIMITED {
                    state.metrics.rate_limited("radius");
                }
                state.metrics.radius("reject", reason);
                send(&socket, &bytes, from).await;
            }
            Received::Decide(pending) => {
                let (socket, radius, state) =
                    (Arc::clone(&socket), Arc::clone(&radius), Arc::clone(&state));
                deciding.spawn(async move { decide(pending, &socket, &radius, &state).await });
            }
        }
    }
    while deciding.join_next().await.is_some() {}
    Ok(())
}

/// Asks the verifier, then answers and caches the answer.
async fn decide(pending: Pending, socket: &UdpSocket, radius: &Radius, state: &AppState) {
    let Pending {
        key,
        request,
        user,
        credential,
        password,
    } = pending;
    let now = state.now();
    let result = match credential {
        Credential::Otp => {
            state
                .fast
                .run(move |v| v.check_user(&user, &password, now))
                .await
        }
        // argon2 first: the slow pool, never a batch of the fast one.
        Credential::PasswordAndOtp => {
            state
                .slow
                .run(move |v| v.check_user_password_otp(&user, &password, now))
                .await
        }
    };
    // Like `/v1/validate`: an unknown user or one without a token is an
    // answer; only a failure of the store itself is not.
    let decided = match &result {
        Ok(Outcome::Accepted { .. }) => Some((true, "ok")),
        Ok(Outcome::Rejected(reason)) => Some((false, reason.code())),
        Err(PoolError::Store(e)) => e.missing().map(|missing| (false, missing)),
        Err(_) => None,
    };
    let Some((accepted, reason)) = decided else {
        let why = match &result {
            Err(PoolError::Overloaded) => Dropped::Overloaded,
            _ => Dropped::StoreError,
        };
        if let Err(e) = &result {
            tracing::warn!(error = %e, "RADIUS request not decided");
        }
        radius.forget(&key);
        state.metrics.radius("dropped", why.label());
        return;
    };
    state.metrics.decision("validate", accepted, reason);
    let Some(client) = radius.client(key.0) else {
        return;
    };
    let Some(bytes) = answer(&request, &client.secret, accepted, reason) else {
        radius.forget(&key);
        return;
    };
    radius.remember(key, &bytes, Instant::now());
    state
        .metrics
        .radius(if accepted { "accept" } else { "reject" }, reason);
    send(socket, &bytes, key.0).await;
}

async fn send(socket: &UdpSocket, bytes: &[u8], to: SocketAddr) {
    if let Err(e) = socket.send_to(bytes, to).await {
        tracing::warn!(error = %e, %to, "RADIUS answer not sent");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "a shared secret of some length";

    fn radius(file: &str) -> Radius {
        Radius {
            clients: Clients::parse(file).unwrap(),
            cache: Mutex::new(DuplicateCache::default()),
            rate: None,
        }
    }

    fn client_file(require: bool) -> String {
        format!(
            "[[client]]\naddress = \"127.0.0.1\"\nsecret = \"{SECRET}\"\nrequire_message_authenticator = {require}\n"
        )
    }

    fn request(identifier: u8, message_authenticator: bool) -> Vec<u8> {
        request_from(identifier, message_authenticator, None)
    }

    /// A request, with a Calling-Station-Id when `station` is given.
    fn request_from(identifier: u8, message_authenticator: bool, station: Option<&str>) -> Vec<u8> {
        let mut packet = Packet::access_request(
            identifier,
            [identifier; 16],
            "RSSMRA85T10A562S",
            b"123456",
            SECRET.as_bytes(),
        )
        .unwrap();
        if let Some(station) = station {
            packet
                .attributes
                .push(Attribute::new(attribute::CALLING_STATION_ID, station));
        }
        if !message_authenticator {
            packet
                .attributes
                .retain(|a| a.kind != attribute::MESSAGE_AUTHENTICATOR);
        }
        packet.encode_request(SECRET.as_bytes()).unwrap()
    }

    fn from() -> SocketAddr {
        "127.0.0.1:40000".parse().unwrap()
    }

    #[test]
    fn radius_clients_file_is_strict_and_never_quotes_a_secret() {
        assert!(matches!(
            Clients::parse(
                "[[client]]\naddress = \"10.0.0.1\"\nsecret = \"x\"\nsecrte = \"hunter2\"\n"
            ),
            Err(ClientsError::Syntax { line: 4, .. })
        ));
        let twice = format!("{}{}", client_file(true), client_file(true));
        assert!(matches!(
            Clients::parse(&twice),
            Err(ClientsError::Duplicate(_))
        ));
        assert!(matches!(Clients::parse(""), Err(ClientsError::Empty)));
        let bad = Clients::parse("[[client]]\naddress = \"nowhere\"\nsecret = \"hunter2\"\n")
            .err()
            .unwrap()
            .to_string();
        assert!(!bad.contains("hunter2"), "{bad}");
        assert_eq!(Clients::parse(&client_file(true)).unwrap().len(), 1);
    }

    #[test]
    fn radius_receive_drops_what_it_cannot_trust() {
        let strict = radius(&client_file(true));
        let now = Instant::now();
        let stranger: SocketAddr = "10.9.9.9:1812".parse().unwrap();
        let drop = |r: Received| match r {
            Received::Drop(why) => Some(why),
            _ => None,
        };
        assert_eq!(
            drop(strict.receive(&request(1, true), stranger, now)),
            Some(Dropped::UnknownClient)
        );
        assert_eq!(
            drop(strict.receive(&request(2, false), from(), now)),
            Some(Dropped::NoMessageAuthenticator)
        );
        let mut wrong = request(3, true);
        let last = wrong.len() - 1;
        wrong[last] ^= 1;
        assert_eq!(
            drop(strict.receive(&wrong, from(), now)),
            Some(Dropped::BadMessageAuthenticator)
        );
        assert_eq!(
            drop(strict.receive(&[1, 2, 3], from(), now)),
            Some(Dropped::Malformed)
        );
        let mut accept = request(4, true);
        accept[0] = 2;
        assert_eq!(
            drop(strict.receive(&accept, from(), now)),
            Some(Dropped::NotAccessRequest)
        );
        // None of them left anything in the cache.
        assert!(strict.lock_cache().entries.is_empty());
        let lenient = radius(&client_file(false));
        assert!(matches!(
            lenient.receive(&request(5, false), from(), now),
            Received::Decide(_)
        ));
    }

    #[test]
    fn radius_a_retransmission_is_never_decided_twice() {
        let radius = radius(&client_file(true));
        let now = Instant::now();
        let bytes = request(7, true);
        let Received::Decide(pending) = radius.receive(&bytes, from(), now) else {
            panic!("first copy is decided");
        };
        assert_eq!(pending.password.as_str(), "123456");
        assert!(matches!(
            radius.receive(&bytes, from(), now),
            Received::Drop(Dropped::InFlight)
        ));
        let reply = answer(&pending.request, SECRET.as_bytes(), true, "ok").unwrap();
        radius.remember(pending.key, &reply, now);
        match radius.receive(&bytes, from(), now + Duration::from_secs(1)) {
            Received::Resend(again) => assert_eq!(*again, reply),
            _ => panic!("a retransmission gets the same answer"),
        }
        // Another port is another request; so is the same one past the TTL.
        let other: SocketAddr = "127.0.0.1:40001".parse().unwrap();
        assert!(matches!(
            radius.receive(&bytes, other, now),
            Received::Decide(_)
        ));
        assert!(matches!(
            radius.receive(&bytes, from(), now + DUPLICATE_TTL),
            Received::Decide(_)
        ));
    }

    #[test]
    fn radius_rate_is_per_station_not_per_nas() {
        let radius = Radius {
            rate: Some(Limiter::new("1/2".parse().unwrap())),
            ..radius(&client_file(true))
        };
        let now = Instant::now();
        let limited = |r: &Received| matches!(r, Received::Answer(_, RATE_LIMITED));
        // Two a burst for one station; the third is refused, and its
        // retransmission gets the same refusal without a token.
        for id in 1..=2 {
            let r = radius.receive(&request_from(id, true, Some("+393331234567")), from(), now);
            assert!(matches!(r, Received::Decide(_)), "{id}");
        }
        let third = request_from(3, true, Some("+393331234567"));
        let Received::Answer(refusal, RATE_LIMITED) = radius.receive(&third, from(), now) else {
            panic!("the third in a burst of two is refused");
        };
        let reply =
            crate::transport::radius::verify_response(&refusal, SECRET.as_bytes(), &[3; 16])
                .unwrap();
        assert_eq!(reply.code, Code::AccessReject);
        assert_eq!(
            reply.attribute(attribute::REPLY_MESSAGE),
            Some(RATE_LIMITED.as_bytes())
        );
        assert!(matches!(
            radius.receive(&third, from(), now),
            Received::Resend(_)
        ));
        // The same NAS speaking for another station is not held up by it,
        // nor is a station without an id (counted by its User-Name).
        let other = radius.receive(&request_from(4, true, Some("+393330000000")), from(), now);
        assert!(matches!(other, Received::Decide(_)));
        for id in 5..=6 {
            assert!(!limited(&radius.receive(&request(id, true), from(), now)));
        }
        assert!(limited(&radius.receive(&request(7, true), from(), now)));
        // A second later the station has one request back.
        let later = now + Duration::from_secs(1);
        let again = radius.receive(&request_from(8, true, Some("+393331234567")), from(), later);
        assert!(matches!(again, Received::Decide(_)));
    }

    #[test]
    fn radius_answers_are_signed_and_carry_the_proxy_states() {
        let mut request = Packet::decode(&request(8, true)).unwrap();
        request
            .attributes
            .insert(0, Attribute::new(attribute::PROXY_STATE, "first"));
        request
            .attributes
            .push(Attribute::new(attribute::PROXY_STATE, "second"));
        let bytes = answer(&request, SECRET.as_bytes(), false, "replayed").unwrap();
        let reply = crate::transport::radius::verify_response(
            &bytes,
            SECRET.as_bytes(),
            &request.authenticator,
        )
        .unwrap();
        assert_eq!(reply.code, Code::AccessReject);
        assert_eq!(reply.identifier, 8);
        let states: Vec<&[u8]> = reply
            .attributes
            .iter()
            .filter(|a| a.kind == attribute::PROXY_STATE)
            .map(|a| a.value.as_slice())
            .collect();
        assert_eq!(states, [&b"first"[..], &b"second"[..]]);
        assert_eq!(
            reply.message_authenticator(SECRET.as_bytes(), &request.authenticator),
            MessageAuthenticator::Valid
        );
    }

    #[test]
    fn radius_duplicate_cache_is_bounded() {
        let mut cache = DuplicateCache::default();
        let now = Instant::now();
        for i in 0..DUPLICATE_CAPACITY + 10 {
            let mut authenticator = [0u8; 16];
            authenticator[..8].copy_from_slice(&(i as u64).to_be_bytes());
            cache.expire(now);
            cache.set((from(), 0, authenticator), Cached::Deciding, now);
        }
        cache.expire(now);
        assert!(cache.entries.len() < DUPLICATE_CAPACITY);
    }

    #[test]
    fn radius_a_forgotten_request_made_again_keeps_its_own_lifetime() {
        let mut cache = DuplicateCache::default();
        let start = Instant::now();
        let key = (from(), 1, [1; 16]);
        cache.set(key, Cached::Deciding, start);
        cache.entries.remove(&key);
        let later = start + Duration::from_secs(20);
        cache.set(key, Cached::Answered(Arc::new(vec![2])), later);
        // The first entry's time is up, the second's is not.
        cache.expire(start + DUPLICATE_TTL);
        assert!(matches!(cache.get(&key), Some(Cached::Answered(_))));
        cache.expire(later + DUPLICATE_TTL);
        assert!(cache.get(&key).is_none());
    }
}
