//! The replacement tests' fleet, users and admin calls against a real
//! `tokenrig serve`: `fixtures/inventory/fleet.csv` plus one event token,
//! three people, and the requests every such test makes.

use std::path::Path;

use serde_json::{Value, json};
use tokenrig::clock::{Clock, SystemClock};
use tokenrig::otp::{Algorithm, Digits, OtpKey, SecretKey, TimeStep, TotpParams};

use super::server::Server;

pub const PASSWORD: &str = "correct horse battery staple";
/// One more event token beside fleet.csv's.
pub const EXTRA: &str = "serial,kind,key,digits,step\n\
    1000000000222,c100,3132333435363738393031323334353637383930,6,\n";

pub struct Token {
    pub serial: &'static str,
    pub key: &'static str,
}

pub const C100_A: Token = Token {
    serial: "1909107966482",
    key: "e0573ff0cea6f5aae891e353ef23448b21b20902",
};
pub const C100_B: Token = Token {
    serial: "1909107966483",
    key: "2c65bbef7988fb0c479b55008337588b34871680",
};
pub const C200_A: Token = Token {
    serial: "2630489071652",
    key: "fb629f61551d47bd9593f765f309d18821e1b546",
};
pub const C200_B: Token = Token {
    serial: "2630489071653",
    key: "dc55c6e330a6830400cf3683ba9442711f4af993",
};
pub const USB: Token = Token {
    serial: "1326479416877",
    key: "4607679ff7faa95fee8bf366843e1b7596c99099",
};
pub const EXTRA_C100: Token = Token {
    serial: "1000000000222",
    key: "3132333435363738393031323334353637383930",
};

impl Token {
    fn key(&self) -> OtpKey {
        OtpKey::new(
            Algorithm::Sha1,
            &SecretKey::from_hex(self.key).expect("hex"),
        )
    }

    pub fn hotp(&self, counter: u64) -> String {
        self.key().hotp(counter, Digits::SIX).to_string()
    }

    /// The code a 60 s token shows now.
    pub fn totp_now(&self) -> String {
        let params = TotpParams {
            step: TimeStep::from_secs(60).expect("60 s"),
            t0: 0,
        };
        self.key()
            .totp(SystemClock.now().as_secs(), params, Digits::SIX)
            .expect("after T0")
            .to_string()
    }
}

pub struct Person {
    pub user: &'static str,
    pub phone: &'static str,
    pub user_code: &'static str,
}

pub const ANNA: Person = Person {
    user: "RSSMRA85T10A562S",
    phone: "+393331234567",
    user_code: "CARDANNA1",
};
pub const BRUNO: Person = Person {
    user: "BNCGVN80A01H501J",
    phone: "+393337654321",
    user_code: "CARDBRUNO",
};
pub const CARLA: Person = Person {
    user: "VRDLCU90A41F205P",
    phone: "+393339999999",
    user_code: "CARDCARLA",
};

pub fn json_bytes(value: &Value) -> Vec<u8> {
    serde_json::to_vec(value).expect("json")
}

/// Imports fleet.csv.
pub fn import_fleet(server: &Server) {
    let fleet = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/inventory/fleet.csv");
    let (status, body) = server.import(&fleet);
    assert_eq!(status, 201, "{body}");
}

/// Adds `person` (password [`PASSWORD`]) holding `device`.
pub fn add_user(server: &Server, person: &Person, device: &Token) {
    let user = json!({"username": person.user, "phone": person.phone,
        "user_code": person.user_code, "password": PASSWORD});
    let (status, body) = server.as_admin(
        "POST",
        "/v1/admin/users",
        Some(("application/json", &json_bytes(&user))),
    );
    assert_eq!(status, 201, "{body}");
    let (status, body) = server.as_admin(
        "POST",
        &format!("/v1/admin/users/{}/devices", person.user),
        Some((
            "application/json",
            &json_bytes(&json!({"serial": device.serial})),
        )),
    );
    assert_eq!(status, 201, "{body}");
}

/// Starts a replacement of `person`'s `old` device with the right
/// password; returns the 201 answer.
pub fn start_replacement(server: &Server, person: &Person, old: &Token) -> Value {
    let (status, body) = server.post(
        "/v1/replacements",
        &json!({"user": person.user, "password": PASSWORD, "old_serial": old.serial}),
    );
    assert_eq!(status, 201, "{body}");
    body
}

/// The outbox's messages to `phone`, oldest first.
pub fn outbox(server: &Server, phone: &str) -> Vec<Value> {
    let (status, messages) = server.as_admin(
        "GET",
        &format!("/v1/admin/sms-outbox?phone={}", phone.replace('+', "%2B")),
        None,
    );
    assert_eq!(status, 200, "{messages}");
    messages.as_array().expect("array").clone()
}
