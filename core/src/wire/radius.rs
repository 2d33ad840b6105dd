//! RADIUS authentication packets (RFC 2865) with the Message-Authenticator
//! of RFC 3579, as a sans-IO codec both sides share: `tokenrig serve
//! --radius` answers Access-Requests with it, and the harness's RADIUS
//! target sends them. `docs/radius.md` says how the server uses it.
//!
//! A datagram decodes into a [`Packet`]: header and attributes exactly as
//! sent, in order, so it encodes back to the same bytes and every
//! authenticator can be recomputed over them. The cryptography of the
//! protocol lives here too, each construction once:
//!
//! - User-Password hiding (RFC 2865 §5.2): [`hide_password`],
//!   [`reveal_password`];
//! - the Response Authenticator (RFC 2865 §3):
//!   MD5(Code | Identifier | Length | Request Authenticator | Attributes |
//!   Secret), in [`Packet::encode_response`] and [`verify_response`];
//! - Message-Authenticator (RFC 3579 §3.2): HMAC-MD5 keyed by the shared
//!   secret over the whole packet with the attribute's 16 bytes zeroed,
//!   computed in a response with the Request Authenticator in the header;
//!   [`Packet::message_authenticator`] checks it.
//!
//! Nothing here reads a socket or a clock. Every comparison of an
//! authenticator is in constant time, and no error quotes a secret or a
//! password.

use hmac::{Hmac, KeyInit, Mac};
use md5::{Digest, Md5};
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

/// Code, Identifier, Length and Authenticator.
pub const HEADER_LEN: usize = 20;
/// The largest packet RFC 2865 §3 allows.
pub const MAX_PACKET: usize = 4096;
/// An attribute's value: 255 minus its type and length octets.
pub const MAX_ATTRIBUTE_VALUE: usize = 253;
/// User-Password's longest hidden value (RFC 2865 §5.2).
pub const MAX_PASSWORD: usize = 128;

/// The Request or Response Authenticator in the header.
pub type Authenticator = [u8; 16];

/// Attribute types this crate's users read or write (RFC 2865 §5, RFC 3579).
pub mod attribute {
    pub const USER_NAME: u8 = 1;
    pub const USER_PASSWORD: u8 = 2;
    pub const NAS_IP_ADDRESS: u8 = 4;
    pub const REPLY_MESSAGE: u8 = 18;
    pub const STATE: u8 = 24;
    /// Where the user is (a phone number, a MAC address), as the NAS saw
    /// it (RFC 2865 §5.31).
    pub const CALLING_STATION_ID: u8 = 31;
    /// Added by proxies; a server copies every one into its answer, in
    /// order (RFC 2865 §5.33).
    pub const PROXY_STATE: u8 = 33;
    pub const NAS_IDENTIFIER: u8 = 32;
    pub const MESSAGE_AUTHENTICATOR: u8 = 80;
}

/// The packet types of RADIUS authentication; any other code is kept as
/// its byte so a packet still encodes back to itself.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Code {
    AccessRequest,
    AccessAccept,
    AccessReject,
    AccessChallenge,
    Other(u8),
}

impl Code {
    pub fn from_byte(byte: u8) -> Code {
        match byte {
            1 => Code::AccessRequest,
            2 => Code::AccessAccept,
            3 => Code::AccessReject,
            11 => Code::AccessChallenge,
            other => Code::Other(other),
        }
    }

    pub fn byte(self) -> u8 {
        match self {
            Code::AccessRequest => 1,
            Code::AccessAccept => 2,
            Code::AccessReject => 3,
            Code::AccessChallenge => 11,
            Code::Other(other) => other,
        }
    }
}

/// One attribute: its type and its value as sent.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Attribute {
    pub kind: u8,
    pub value: Vec<u8>,
}

impl Attribute {
    pub fn new(kind: u8, value: impl Into<Vec<u8>>) -> Attribute {
        Attribute {
            kind,
            value: value.into(),
        }
    }

    /// A Message-Authenticator to be filled in when the packet is encoded
    /// (what `radclient`'s `Message-Authenticator = 0x00` asks for).
    pub fn message_authenticator() -> Attribute {
        Attribute::new(attribute::MESSAGE_AUTHENTICATOR, [0u8; 16])
    }
}

/// A decoded packet: the header and every attribute in the order sent.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Packet {
    pub code: Code,
    pub identifier: u8,
    pub authenticator: Authenticator,
    pub attributes: Vec<Attribute>,
}

/// Why bytes are not a RADIUS packet.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    #[error("{0} bytes is shorter than a RADIUS header (20 bytes)")]
    TooShort(usize),
    #[error(
        "the Length field says {length} bytes, but the packet must be 20 to 4096 bytes and the datagram has {received}"
    )]
    BadLength { length: usize, received: usize },
    #[error("the attribute at byte {at} has a length below 2 or past the end of the packet")]
    BadAttribute { at: usize },
    #[error("the Message-Authenticator at byte {at} is not 16 bytes long")]
    BadMessageAuthenticator { at: usize },
    #[error("the packet holds more than one Message-Authenticator")]
    SeveralMessageAuthenticators,
}

/// Why a packet cannot be encoded.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum EncodeError {
    #[error("attribute {kind} has {len} bytes; at most 253 fit")]
    AttributeTooLong { kind: u8, len: usize },
    #[error("the packet would be {0} bytes; at most 4096 are allowed")]
    PacketTooLong(usize),
}

/// Why a User-Password cannot be hidden or revealed.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum PasswordError {
    #[error("a User-Password holds at most 128 bytes")]
    TooLong,
    #[error("a hidden User-Password is 16 to 128 bytes, a multiple of 16")]
    BadHiddenLength,
}

/// Why a response does not answer a request.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ResponseError {
    #[error(transparent)]
    Decode(#[from] DecodeError),
    #[error("the Response Authenticator is wrong (another shared secret?)")]
    BadResponseAuthenticator,
    #[error("the Message-Authenticator is wrong")]
    BadMessageAuthenticator,
}

/// What a packet's Message-Authenticator says.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MessageAuthenticator {
    Absent,
    Valid,
    Invalid,
}

impl Packet {
    /// Decodes one datagram. Bytes past the Length field are padding and
    /// ignored (RFC 2865 §3); a Length past the datagram, an attribute
    /// that overruns the packet or a Message-Authenticator that is not 16
    /// bytes (or not alone) is an error.
    pub fn decode(bytes: &[u8]) -> Result<Packet, DecodeError> {
        if bytes.len() < HEADER_LEN {
            return Err(DecodeError::TooShort(bytes.len()));
        }
        let length = usize::from(u16::from_be_bytes([bytes[2], bytes[3]]));
        if !(HEADER_LEN..=MAX_PACKET).contains(&length) || length > bytes.len() {
            return Err(DecodeError::BadLength {
                length,
                received: bytes.len(),
            });
        }
        let mut authenticator = [0u8; 16];
        authenticator.copy_from_slice(&bytes[4..HEADER_LEN]);
        let mut attributes = Vec::new();
        let mut at = HEADER_LEN;
        let mut seen_message_authenticator = false;
        while at < length {
            if at + 2 > length {
                return Err(DecodeError::BadAttribute { at });
            }
            let (kind, len) = (bytes[at], usize::from(bytes[at + 1]));
            if len < 2 || at + len > length {
                return Err(DecodeError::BadAttribute { at });
            }
            if kind == attribute::MESSAGE_AUTHENTICATOR {
                if len != 18 {
                    return Err(DecodeError::BadMessageAuthenticator { at });
                }
                if seen_message_authenticator {
                    return Err(DecodeError::SeveralMessageAuthenticators);
                }
                seen_message_authenticator = true;
            }
            attributes.push(Attribute::new(kind, &bytes[at + 2..at + len]));
            at += len;
        }
        Ok(Packet {
            code: Code::from_byte(bytes[0]),
            identifier: bytes[1],
            authenticator,
            attributes,
        })
    }

    /// The packet's bytes as they stand: no authenticator is computed.
    pub fn encode(&self) -> Result<Vec<u8>, EncodeError> {
        let length = HEADER_LEN
            + self
                .attributes
                .iter()
                .map(|a| 2 + a.value.len())
                .sum::<usize>();
        if let Some(a) = self
            .attributes
            .iter()
            .find(|a| a.value.len() > MAX_ATTRIBUTE_VALUE)
        {
            return Err(EncodeError::AttributeTooLong {
                kind: a.kind,
                len: a.value.len(),
            });
        }
        let wire_length = u16::try_from(length)
            .ok()
            .filter(|_| length <= MAX_PACKET)
            .ok_or(EncodeError::PacketTooLong(length))?;
        let mut bytes = Vec::with_capacity(length);
        bytes.push(self.code.byte());
        bytes.push(self.identifier);
        bytes.extend_from_slice(&wire_length.to_be_bytes());
        bytes.extend_from_slice(&self.authenticator);
        for a in &self.attributes {
            // Checked above: every value fits in 253 bytes.
            bytes.push(a.kind);
            bytes.push((2 + a.value.len()) as u8);
            bytes.extend_from_slice(&a.value);
        }
        Ok(bytes)
    }

    /// The first attribute of this type.
    pub fn attribute(&self, kind: u8) -> Option<&[u8]> {
        self.attributes
            .iter()
            .find(|a| a.kind == kind)
            .map(|a| a.value.as_slice())
    }

    /// An Access-Request for `user` with `password` hidden under `secret`
    /// (RFC 2865 §5.2) and a Message-Authenticator; a caller may add or
    /// drop attributes before [`Packet::encode_request`] signs it.
    pub fn access_request(
        identifier: u8,
        authenticator: Authenticator,
        user: &str,
        password: &[u8],
        secret: &[u8],
    ) -> Result<Packet, PasswordError> {
        Ok(Packet {
            code: Code::AccessRequest,
            identifier,
            authenticator,
            attributes: vec![
                Attribute::new(attribute::USER_NAME, user),
                Attribute::new(
                    attribute::USER_PASSWORD,
                    hide_password(password, secret, &authenticator)?,
                ),
                Attribute::message_authenticator(),
            ],
        })
    }

    /// An answer to `request`: its identifier, and its Request
    /// Authenticator until [`Packet::encode_response`] computes the
    /// Response Authenticator.
    pub fn response_to(request: &Packet, code: Code, attributes: Vec<Attribute>) -> Packet {
        Packet {
            code,
            identifier: request.identifier,
            authenticator: request.authenticator,
            attributes,
        }
    }

    /// A request's bytes: its Message-Authenticator, if it has one, is
    /// filled in over the packet as it stands.
    pub fn encode_request(&self, secret: &[u8]) -> Result<Vec<u8>, EncodeError> {
        let mut bytes = self.encode()?;
        fill_message_authenticator(&mut bytes, secret);
        Ok(bytes)
    }

    /// A response's bytes for a request whose authenticator was
    /// `request_authenticator`: the Message-Authenticator, if the packet
    /// has one, computed with the Request Authenticator in the header
    /// (RFC 3579 §3.2), then the Response Authenticator over the result.
    pub fn encode_response(
        &self,
        secret: &[u8],
        request_authenticator: &Authenticator,
    ) -> Result<Vec<u8>, EncodeError> {
        let mut bytes = self.encode()?;
        bytes[4..HEADER_LEN].copy_from_slice(request_authenticator);
        fill_message_authenticator(&mut bytes, secret);
        let response_authenticator = md5_of(&[&bytes, secret]);
        bytes[4..HEADER_LEN].copy_from_slice(&response_authenticator);
        Ok(bytes)
    }

    /// Checks the Message-Authenticator of a request (`in_header` its own
    /// authenticator) or of a response (`in_header` the request's).
    pub fn message_authenticator(
        &self,
        secret: &[u8],
        in_header: &Authenticator,
    ) -> MessageAuthenticator {
        let Some(sent) = self.attribute(attribute::MESSAGE_AUTHENTICATOR) else {
            return MessageAuthenticator::Absent;
        };
        let mut zeroed = self.clone();
        zeroed.authenticator = *in_header;
        for a in &mut zeroed.attributes {
            if a.kind == attribute::MESSAGE_AUTHENTICATOR {
                a.value.fill(0);
            }
        }
        // A decoded packet always encodes; one built by hand that does
        // not cannot carry a valid authenticator either.
        let Ok(bytes) = zeroed.encode() else {
            return MessageAuthenticator::Invalid;
        };
        if bool::from(hmac_md5(secret, &bytes).ct_eq(sent)) {
            MessageAuthenticator::Valid
        } else {
            MessageAuthenticator::Invalid
        }
    }
}

/// Decodes a response to the request whose authenticator was
/// `request_authenticator` and checks both its authenticators: the
/// Response Authenticator always, the Message-Authenticator when present.
pub fn verify_response(
    bytes: &[u8],
    secret: &[u8],
    request_authenticator: &Authenticator,
) -> Result<Packet, ResponseError> {
    let packet = Packet::decode(bytes)?;
    // Decoding checked the Length field; the authenticator covers exactly it.
    let mut signed = bytes[..usize::from(u16::from_be_bytes([bytes[2], bytes[3]]))].to_vec();
    signed[4..HEADER_LEN].copy_from_slice(request_authenticator);
    let expected = md5_of(&[&signed, secret]);
    if !bool::from(expected.ct_eq(&packet.authenticator)) {
        return Err(ResponseError::BadResponseAuthenticator);
    }
    match packet.message_authenticator(secret, request_authenticator) {
        MessageAuthenticator::Invalid => Err(ResponseError::BadMessageAuthenticator),
        MessageAuthenticator::Absent | MessageAuthenticator::Valid => Ok(packet),
    }
}

/// RFC 2865 §5.2: the password padded with NULs to a multiple of 16 bytes,
/// each block XORed with MD5(secret | previous), the first previous being
/// the Request Authenticator.
pub fn hide_password(
    password: &[u8],
    secret: &[u8],
    authenticator: &Authenticator,
) -> Result<Vec<u8>, PasswordError> {
    if password.len() > MAX_PASSWORD {
        return Err(PasswordError::TooLong);
    }
    let padded_len = password.len().div_ceil(16).max(1) * 16;
    let mut hidden = Zeroizing::new(password.to_vec());
    hidden.resize(padded_len, 0);
    let mut previous: [u8; 16] = *authenticator;
    for block in hidden.chunks_mut(16) {
        let pad = md5_of(&[secret, &previous]);
        for (byte, key) in block.iter_mut().zip(pad) {
            *byte ^= key;
        }
        previous.copy_from_slice(block);
    }
    Ok(hidden.to_vec())
}

/// The reverse of [`hide_password`], trailing NULs removed.
pub fn reveal_password(
    hidden: &[u8],
    secret: &[u8],
    authenticator: &Authenticator,
) -> Result<Zeroizing<Vec<u8>>, PasswordError> {
    if hidden.is_empty() || hidden.len() > MAX_PASSWORD || hidden.len() % 16 != 0 {
        return Err(PasswordError::BadHiddenLength);
    }
    let mut password = Zeroizing::new(Vec::with_capacity(hidden.len()));
    let mut previous: &[u8] = authenticator;
    for block in hidden.chunks(16) {
        let pad = md5_of(&[secret, previous]);
        password.extend(block.iter().zip(pad).map(|(byte, key)| byte ^ key));
        previous = block;
    }
    while password.last() == Some(&0) {
        password.pop();
    }
    Ok(password)
}

/// Fills the Message-Authenticator of encoded `bytes`, if there is one:
/// HMAC-MD5 over the bytes with its value still zero.
fn fill_message_authenticator(bytes: &mut [u8], secret: &[u8]) {
    let Some(at) = message_authenticator_offset(bytes) else {
        return;
    };
    bytes[at..at + 16].fill(0);
    let mac = hmac_md5(secret, bytes);
    bytes[at..at + 16].copy_from_slice(&mac);
}

/// Where the value of the Message-Authenticator of well-formed `bytes` starts.
fn message_authenticator_offset(bytes: &[u8]) -> Option<usize> {
    let mut at = HEADER_LEN;
    while at + 2 <= bytes.len() {
        let len = usize::from(bytes[at + 1]);
        if len < 2 {
            return None;
        }
        if bytes[at] == attribute::MESSAGE_AUTHENTICATOR && len == 18 && at + len <= bytes.len() {
            return Some(at + 2);
        }
        at += len;
    }
    None
}

fn md5_of(parts: &[&[u8]]) -> [u8; 16] {
    let mut md5 = Md5::new();
    for part in parts {
        md5.update(part);
    }
    md5.finalize().into()
}

fn hmac_md5(secret: &[u8], bytes: &[u8]) -> [u8; 16] {
    // HMAC takes a key of any length.
    let mut mac = <Hmac<Md5> as KeyInit>::new_from_slice(secret)
        .unwrap_or_else(|_| unreachable!("HMAC accepts keys of any length"));
    mac.update(bytes);
    mac.finalize().into_bytes().into()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const RFC_SECRET: &[u8] = b"xyzzy5461";

    /// The two packets of RFC 2865 §7.1, from `fixtures/radius/`.
    fn rfc_example() -> (Vec<u8>, Vec<u8>) {
        let text = include_str!("../../../fixtures/radius/rfc2865-7.1.hex");
        let line = |name: &str| -> Vec<u8> {
            let hex: String = text
                .lines()
                .find_map(|l| l.strip_prefix(name))
                .unwrap_or_else(|| panic!("fixture has no {name} line"))
                .split_whitespace()
                .collect();
            data_encoding::HEXLOWER.decode(hex.as_bytes()).unwrap()
        };
        (line("request "), line("response "))
    }

    #[test]
    fn radius_rfc2865_example_request_decodes_and_reveals_its_password() {
        let (request, _) = rfc_example();
        let packet = Packet::decode(&request).unwrap();
        assert_eq!(packet.code, Code::AccessRequest);
        assert_eq!(packet.identifier, 0);
        assert_eq!(packet.attribute(attribute::USER_NAME), Some(&b"nemo"[..]));
        let hidden = packet.attribute(attribute::USER_PASSWORD).unwrap();
        let password = reveal_password(hidden, RFC_SECRET, &packet.authenticator).unwrap();
        assert_eq!(password.as_slice(), b"arctangent");
        assert_eq!(
            hide_password(b"arctangent", RFC_SECRET, &packet.authenticator).unwrap(),
            hidden
        );
        assert_eq!(packet.encode().unwrap(), request);
        assert_eq!(
            packet.message_authenticator(RFC_SECRET, &packet.authenticator),
            MessageAuthenticator::Absent
        );
    }

    #[test]
    fn radius_rfc2865_example_response_authenticator_is_reproduced() {
        let (request, response) = rfc_example();
        let request = Packet::decode(&request).unwrap();
        let accept = Packet::response_to(
            &request,
            Code::AccessAccept,
            vec![
                Attribute::new(6, [0, 0, 0, 1]),
                Attribute::new(15, [0, 0, 0, 0]),
                Attribute::new(14, [192, 168, 1, 3]),
            ],
        );
        assert_eq!(
            accept
                .encode_response(RFC_SECRET, &request.authenticator)
                .unwrap(),
            response
        );
        let verified = verify_response(&response, RFC_SECRET, &request.authenticator).unwrap();
        assert_eq!(verified.code, Code::AccessAccept);
        assert_eq!(
            verify_response(&response, b"another secret", &request.authenticator),
            Err(ResponseError::BadResponseAuthenticator)
        );
    }

    fn signed_request(secret: &[u8]) -> Vec<u8> {
        Packet::access_request(42, [7u8; 16], "nemo", b"123456", secret)
            .unwrap()
            .encode_request(secret)
            .unwrap()
    }

    #[test]
    fn radius_message_authenticator_is_checked_on_requests() {
        let bytes = signed_request(b"s3cret");
        let packet = Packet::decode(&bytes).unwrap();
        let own = packet.authenticator;
        assert_eq!(
            packet.message_authenticator(b"s3cret", &own),
            MessageAuthenticator::Valid
        );
        assert_eq!(
            packet.message_authenticator(b"other", &own),
            MessageAuthenticator::Invalid
        );
        // Any flipped bit anywhere in the packet breaks it.
        for i in 0..bytes.len() {
            let mut flipped = bytes.clone();
            flipped[i] ^= 0x01;
            if let Ok(p) = Packet::decode(&flipped) {
                let own = p.authenticator;
                assert_ne!(
                    p.message_authenticator(b"s3cret", &own),
                    MessageAuthenticator::Valid,
                    "flipped byte {i}"
                );
            }
        }
    }

    #[test]
    fn radius_message_authenticator_of_a_response_uses_the_request_authenticator() {
        let request = Packet::decode(&signed_request(b"s3cret")).unwrap();
        let reject = Packet::response_to(
            &request,
            Code::AccessReject,
            vec![
                Attribute::new(attribute::REPLY_MESSAGE, "replayed"),
                Attribute::message_authenticator(),
            ],
        );
        let bytes = reject
            .encode_response(b"s3cret", &request.authenticator)
            .unwrap();
        let verified = verify_response(&bytes, b"s3cret", &request.authenticator).unwrap();
        assert_eq!(
            verified.message_authenticator(b"s3cret", &request.authenticator),
            MessageAuthenticator::Valid
        );
        assert_eq!(
            verified.attribute(attribute::REPLY_MESSAGE),
            Some(&b"replayed"[..])
        );
        // A Message-Authenticator altered, Response Authenticator redone:
        // only the HMAC catches it.
        let mut forged = bytes.clone();
        let at = message_authenticator_offset(&forged).unwrap();
        forged[at] ^= 0xff;
        forged[4..20].copy_from_slice(&request.authenticator);
        let fixed = md5_of(&[&forged, b"s3cret"]);
        forged[4..20].copy_from_slice(&fixed);
        assert_eq!(
            verify_response(&forged, b"s3cret", &request.authenticator),
            Err(ResponseError::BadMessageAuthenticator)
        );
    }

    #[test]
    fn radius_malformed_packets_are_refused_with_a_reason() {
        assert_eq!(Packet::decode(&[1; 19]), Err(DecodeError::TooShort(19)));
        let mut header = vec![1, 0, 0, 20];
        header.extend([0; 16]);
        assert!(Packet::decode(&header).is_ok());
        let mut long = header.clone();
        long[3] = 21;
        assert!(matches!(
            Packet::decode(&long),
            Err(DecodeError::BadLength { .. })
        ));
        let mut overrun = header.clone();
        overrun[3] = 23;
        overrun.extend([1, 9, 0]);
        assert_eq!(
            Packet::decode(&overrun),
            Err(DecodeError::BadAttribute { at: 20 })
        );
        let mut short_ma = header.clone();
        short_ma[3] = 24;
        short_ma.extend([80, 4, 0, 0]);
        assert_eq!(
            Packet::decode(&short_ma),
            Err(DecodeError::BadMessageAuthenticator { at: 20 })
        );
        let mut two = header.clone();
        two[3] = 56;
        two.extend([80, 18].iter().chain(&[0; 16]));
        two.extend([80, 18].iter().chain(&[0; 16]));
        assert_eq!(
            Packet::decode(&two),
            Err(DecodeError::SeveralMessageAuthenticators)
        );
        // Padding past Length is ignored.
        let mut padded = header.clone();
        padded.extend([0xff; 5]);
        assert_eq!(Packet::decode(&padded).unwrap().encode().unwrap(), header);
    }

    #[test]
    fn radius_password_lengths() {
        let a = [3u8; 16];
        assert_eq!(hide_password(b"", b"k", &a).unwrap().len(), 16);
        assert_eq!(hide_password(&[b'x'; 17], b"k", &a).unwrap().len(), 32);
        assert_eq!(
            hide_password(&[b'x'; 129], b"k", &a),
            Err(PasswordError::TooLong)
        );
        for bad in [0usize, 15, 17, 144] {
            assert_eq!(
                reveal_password(&vec![0; bad], b"k", &a),
                Err(PasswordError::BadHiddenLength)
            );
        }
    }

    fn arb_attribute() -> impl Strategy<Value = Attribute> {
        (
            any::<u8>().prop_filter("not a Message-Authenticator", |k| {
                *k != attribute::MESSAGE_AUTHENTICATOR
            }),
            prop::collection::vec(any::<u8>(), 0..40),
        )
            .prop_map(|(kind, value)| Attribute { kind, value })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2_000))]

        #[test]
        fn radius_arbitrary_bytes_never_panic_and_decode_to_their_own_bytes(
            bytes in prop::collection::vec(any::<u8>(), 0..120),
        ) {
            if let Ok(packet) = Packet::decode(&bytes) {
                let length = usize::from(u16::from_be_bytes([bytes[2], bytes[3]]));
                prop_assert_eq!(packet.encode().unwrap(), bytes[..length].to_vec());
                let _ = packet.message_authenticator(b"k", &packet.authenticator);
                let _ = verify_response(&bytes, b"k", &[0; 16]);
            }
        }

        #[test]
        fn radius_packets_round_trip(
            code in any::<u8>(),
            identifier in any::<u8>(),
            authenticator in any::<[u8; 16]>(),
            attributes in prop::collection::vec(arb_attribute(), 0..8),
        ) {
            let packet = Packet { code: Code::from_byte(code), identifier, authenticator, attributes };
            let bytes = packet.encode().unwrap();
            prop_assert_eq!(Packet::decode(&bytes), Ok(packet));
        }

        #[test]
        fn radius_passwords_round_trip(
            password in prop::collection::vec(1u8.., 0..=128),
            secret in prop::collection::vec(any::<u8>(), 1..40),
            authenticator in any::<[u8; 16]>(),
        ) {
            let hidden = hide_password(&password, &secret, &authenticator).unwrap();
            prop_assert_eq!(hidden.len() % 16, 0);
            let revealed = reveal_password(&hidden, &secret, &authenticator).unwrap();
            prop_assert_eq!(revealed.as_slice(), password.as_slice());
        }

        #[test]
        fn radius_signed_responses_verify_and_bit_flips_do_not(
            request_authenticator in any::<[u8; 16]>(),
            attributes in prop::collection::vec(arb_attribute(), 0..4),
            secret in prop::collection::vec(any::<u8>(), 1..40),
            flip in any::<prop::sample::Index>(),
        ) {
            let mut attributes = attributes;
            attributes.push(Attribute::message_authenticator());
            let packet = Packet { code: Code::AccessAccept, identifier: 9, authenticator: [0; 16], attributes };
            let bytes = packet.encode_response(&secret, &request_authenticator).unwrap();
            prop_assert!(verify_response(&bytes, &secret, &request_authenticator).is_ok());
            let mut flipped = bytes.clone();
            flipped[flip.index(bytes.len())] ^= 0x80;
            prop_assert!(verify_response(&flipped, &secret, &request_authenticator).is_err());
        }
    }
}
