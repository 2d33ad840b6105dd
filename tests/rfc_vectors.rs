//! The OTP core against every row of RFC 4226 Appendix D and RFC 6238 Appendix B.

mod vectors;

use hmac::{Hmac, KeyInit, Mac};
use tokenrig::otp::{Algorithm, Code, Digits, OtpKey, TimeStep, TotpParams, truncate};

#[test]
fn rfc4226_appendix_d_hmac_truncation_and_hotp() {
    let key = vectors::rfc4226_key();
    let otp_key = OtpKey::new(Algorithm::Sha1, &key);
    let all = vectors::hotp_vectors();
    assert_eq!(all.len(), 10, "Appendix D has ten rows");
    for v in all {
        // The intermediate values too: a wrong HMAC with a lucky code would
        // otherwise go unnoticed.
        let mut mac = Hmac::<sha1::Sha1>::new_from_slice(key.as_bytes()).unwrap();
        mac.update(&v.counter.to_be_bytes());
        let hmac = mac.finalize().into_bytes();
        assert_eq!(
            data_encoding::HEXLOWER.encode(&hmac),
            v.hmac_hex,
            "HMAC at counter {}",
            v.counter
        );
        assert_eq!(
            truncate(&hmac),
            v.truncated,
            "truncation at counter {}",
            v.counter
        );
        assert_eq!(
            otp_key.hotp(v.counter, Digits::SIX).to_string(),
            v.hotp,
            "HOTP at counter {}",
            v.counter
        );
    }
}

#[test]
fn rfc6238_appendix_b_all_eighteen_rows() {
    let all = vectors::totp_vectors();
    assert_eq!(all.len(), 18, "Appendix B has eighteen rows");
    let params = TotpParams::new(TimeStep::SECONDS_30);
    for v in all {
        let key = OtpKey::new(v.algorithm, &vectors::rfc6238_key(v.algorithm));
        assert_eq!(
            params.counter_at(v.time),
            Ok(v.step_counter),
            "T at {}",
            v.time
        );
        let code = key.totp(v.time, params, Digits::EIGHT).unwrap();
        assert_eq!(code.to_string(), v.totp, "{} at {}", v.algorithm, v.time);
        assert_eq!(Code::parse(&v.totp, Digits::EIGHT), Ok(code));
    }
}

#[test]
fn counters_up_to_the_last_u64_compute() {
    // No vector exists this far out; what matters is that the counter is
    // encoded as all eight bytes, which the oathtool peer test checks too.
    let key = OtpKey::new(Algorithm::Sha1, &vectors::rfc4226_key());
    let last = key.hotp(u64::MAX, Digits::EIGHT);
    let mut mac = Hmac::<sha1::Sha1>::new_from_slice(b"12345678901234567890").unwrap();
    mac.update(&[0xff; 8]);
    let expected = Code::from_truncated(truncate(&mac.finalize().into_bytes()), Digits::EIGHT);
    assert_eq!(last, expected);
}
