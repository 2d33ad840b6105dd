//! Device replacement (seed 000) over HTTP against the real `tokenrig
//! serve`: SMS codes read from the admin outbox, codes from the OTP core.
//! A C100 replaced by a C100 (two OTPs, after walking every failure branch
//! the flow has over HTTP), a C200 by a C200 (one OTP), and a C100 by a USB
//! token (two OTPs).

mod support;

use std::path::Path;

use serde_json::{Value, json};
use support::fleet::*;
use support::server::Server;

/// A server with the fleet, and each person holding one active device.
fn server(dir: &tempfile::TempDir) -> Server {
    let db = format!("sqlite:{}", dir.path().join("replace.db").display());
    let server = Server::start(&db);
    import_fleet(&server);
    let (status, body) = server.as_admin(
        "POST",
        "/v1/admin/import",
        Some(("text/csv", EXTRA.as_bytes())),
    );
    assert_eq!(status, 201, "{body}");
    for (person, device) in [(&ANNA, &C100_A), (&BRUNO, &C200_A), (&CARLA, &EXTRA_C100)] {
        add_user(&server, person, device);
    }
    server
}

/// The newest SMS code sent to `phone`, from the admin outbox.
fn sms_code(server: &Server, phone: &str) -> String {
    let last = outbox(server, phone).pop().expect("a message");
    assert_eq!(last["phone"], phone);
    let code = last["code"].as_str().expect("code").to_owned();
    assert!(last["text"].as_str().expect("text").contains(&code));
    code
}

fn step(server: &Server, id: &str, name: &str, body: Value) -> (u16, Value) {
    server.post(&format!("/v1/replacements/{id}/{name}"), &body)
}

fn start(server: &Server, person: &Person, old: &Token) -> String {
    let body = start_replacement(server, person, old);
    assert_eq!(body["sms_sent"], "sent", "the outbox is the destination");
    body["id"].as_str().expect("id").to_owned()
}

fn refused(answer: (u16, Value), status: u16, reason: &str) {
    assert_eq!(answer.0, status, "{}", answer.1);
    assert_eq!(answer.1["reason"], reason, "{}", answer.1);
    let message = answer.1["error"].as_str().expect("message");
    assert_eq!(message.lines().count(), 1);
}

fn validate(server: &Server, serial: &str, otp: &str) -> Value {
    server
        .post("/v1/validate", &json!({"serial": serial, "otp": otp}))
        .1["reason"]
        .clone()
}

#[test]
fn a_c100_replaced_by_a_c100_after_every_failure_branch() {
    let dir = tempfile::tempdir().expect("temp dir");
    let server = server(&dir);

    // Wrong password and unknown user read alike.
    let wrong = server.post(
        "/v1/replacements",
        &json!({"user": ANNA.user, "password": "nope", "old_serial": C100_A.serial}),
    );
    let unknown = server.post(
        "/v1/replacements",
        &json!({"user": "MRNLGU75C12F205B", "password": "nope", "old_serial": C100_A.serial}),
    );
    refused(wrong.clone(), 401, "wrong_password");
    assert_eq!(wrong.1["error"], unknown.1["error"]);
    // Someone else's device.
    let (status, body) = server.post(
        "/v1/replacements",
        &json!({"user": ANNA.user, "password": PASSWORD, "old_serial": C200_A.serial}),
    );
    assert_eq!(
        (status, body["reason"].clone()),
        (422, json!("not_active_device"))
    );

    let id = start(&server, &ANNA, &C100_A);
    // Out of order: the device before the SMS code.
    refused(
        step(&server, &id, "device", json!({"serial": C100_B.serial})),
        409,
        "out_of_order",
    );
    refused(
        step(&server, &id, "sms-code", json!({"code": "000000"})),
        422,
        "wrong_sms_code",
    );
    let code = sms_code(&server, ANNA.phone);
    let (status, body) = step(&server, &id, "sms-code", json!({"code": code}));
    assert_eq!((status, body), (200, json!({"next": "device"})));
    refused(
        step(&server, &id, "device", json!({"serial": "1000000000999"})),
        422,
        "unknown_serial",
    );
    refused(
        step(&server, &id, "device", json!({"serial": C200_A.serial})),
        422,
        "serial_assigned",
    );
    let (status, body) = step(&server, &id, "device", json!({"serial": C100_B.serial}));
    assert_eq!((status, body), (200, json!({"otps_required": 2})));
    refused(
        step(&server, &id, "otps", json!({"otps": [C100_B.hotp(0)]})),
        422,
        "wrong_otp_count",
    );
    refused(
        step(
            &server,
            &id,
            "otps",
            json!({"otps": [C100_B.hotp(0), C100_B.hotp(2)]}),
        ),
        422,
        "not_consecutive",
    );
    let (status, body) = step(
        &server,
        &id,
        "otps",
        json!({"otps": [C100_B.hotp(3), C100_B.hotp(4)]}),
    );
    assert_eq!(
        (status, body),
        (200, json!({"completed": true, "new_serial": C100_B.serial}))
    );
    refused(
        step(
            &server,
            &id,
            "otps",
            json!({"otps": [C100_B.hotp(5), C100_B.hotp(6)]}),
        ),
        409,
        "attempt_over",
    );
    let (status, _) = step(
        &server,
        "00000000000000000000000000000000",
        "sms-code",
        json!({"code": "1"}),
    );
    assert_eq!(status, 404);

    // The old device is retired; the new one accepts its next code only.
    assert_eq!(
        validate(&server, C100_A.serial, &C100_A.hotp(0)),
        "serial_inactive"
    );
    assert_eq!(
        validate(&server, C100_B.serial, &C100_B.hotp(4)),
        "replayed"
    );
    let (_, body) = server.post(
        "/v1/validate",
        &json!({"user": ANNA.user, "otp": C100_B.hotp(5)}),
    );
    assert_eq!(body, json!({"accepted": true, "reason": "ok"}));
    let (_, audit) = server.as_admin("GET", "/v1/admin/audit?limit=1000", None);
    let shown = audit.to_string();
    assert!(
        !shown.contains(&code) && !shown.contains(PASSWORD),
        "{shown}"
    );
}

#[test]
fn a_c200_replaced_with_one_otp_and_a_c100_by_a_usb_token_with_two() {
    let dir = tempfile::tempdir().expect("temp dir");
    let server = server(&dir);

    let id = start(&server, &BRUNO, &C200_A);
    let code = sms_code(&server, BRUNO.phone);
    assert_eq!(step(&server, &id, "sms-code", json!({"code": code})).0, 200);
    let (status, body) = step(&server, &id, "device", json!({"serial": C200_B.serial}));
    assert_eq!((status, body), (200, json!({"otps_required": 1})));
    let otp = C200_B.totp_now();
    let (status, body) = step(&server, &id, "otps", json!({"otps": [otp]}));
    assert_eq!(
        (status, body["new_serial"].clone()),
        (200, json!(C200_B.serial)),
        "{body}"
    );
    assert_eq!(validate(&server, C200_B.serial, &otp), "replayed");
    assert_eq!(
        validate(&server, C200_A.serial, &C200_A.totp_now()),
        "serial_inactive"
    );

    let id = start(&server, &CARLA, &EXTRA_C100);
    let code = sms_code(&server, CARLA.phone);
    assert_eq!(step(&server, &id, "sms-code", json!({"code": code})).0, 200);
    let (status, body) = step(&server, &id, "device", json!({"serial": USB.serial}));
    assert_eq!((status, body), (200, json!({"otps_required": 2})));
    let (status, body) = step(
        &server,
        &id,
        "otps",
        json!({"otps": [USB.hotp(40), USB.hotp(41)]}),
    );
    assert_eq!(
        (status, body["completed"].clone()),
        (200, json!(true)),
        "{body}"
    );
    let (_, body) = server.post(
        "/v1/validate",
        &json!({"user": CARLA.user, "otp": USB.hotp(42)}),
    );
    assert_eq!(body["reason"], "ok");
    let (_, tokens) = server.as_admin("GET", "/v1/admin/tokens", None);
    let statuses: Vec<(String, String)> = tokens
        .as_array()
        .expect("array")
        .iter()
        .map(|t| {
            (
                t["serial"].as_str().unwrap_or("").to_owned(),
                t["status"].as_str().unwrap_or("").to_owned(),
            )
        })
        .collect();
    for (serial, status) in [
        (C200_A.serial, "replaced"),
        (EXTRA_C100.serial, "replaced"),
        (USB.serial, "active"),
        (C200_B.serial, "active"),
    ] {
        assert!(
            statuses.contains(&(serial.to_owned(), status.to_owned())),
            "{statuses:?}"
        );
    }
}

/// `serve --serial-layout any`: a new device's serial may be vendor text,
/// and a C200 whose serial starts with 1 replaces a C200 with one OTP, as
/// the inventory, not the serial, gives the kind.
#[test]
fn under_serial_layout_any_the_inventory_gives_the_kind() {
    let dir = tempfile::tempdir().expect("temp dir");
    let db = format!("sqlite:{}", dir.path().join("any.db").display());
    let server = Server::start_full(
        &db,
        &["--serial-layout", "any"],
        &[("TOKENRIG_ADMIN_TOKEN", support::server::ADMIN_TOKEN)],
    );
    import_fleet(&server);
    let odd = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/inventory/odd-serials.csv");
    let (status, body) = server.import(&odd);
    assert_eq!(status, 201, "{body}");
    add_user(&server, &ANNA, &C100_A);
    add_user(&server, &BRUNO, &C200_A);

    // A C100 with RFC 6030's serial, its key RFC 4226's.
    let rfc = Token {
        serial: "987654321",
        key: "3132333435363738393031323334353637383930",
    };
    let id = start(&server, &ANNA, &C100_A);
    let code = sms_code(&server, ANNA.phone);
    assert_eq!(step(&server, &id, "sms-code", json!({"code": code})).0, 200);
    let (status, body) = step(&server, &id, "device", json!({"serial": rfc.serial}));
    assert_eq!((status, body), (200, json!({"otps_required": 2})));
    let (status, body) = step(
        &server,
        &id,
        "otps",
        json!({"otps": [rfc.hotp(0), rfc.hotp(1)]}),
    );
    assert_eq!(
        (status, body["new_serial"].clone()),
        (200, json!(rfc.serial)),
        "{body}"
    );
    assert_eq!(validate(&server, rfc.serial, &rfc.hotp(2)), "ok");

    let event_prefixed = Token {
        serial: "1630489071652",
        key: "0a1b2c3d4e5f60718293a4b5c6d7e8f901234567",
    };
    let id = start(&server, &BRUNO, &C200_A);
    let code = sms_code(&server, BRUNO.phone);
    assert_eq!(step(&server, &id, "sms-code", json!({"code": code})).0, 200);
    let (status, body) = step(
        &server,
        &id,
        "device",
        json!({"serial": event_prefixed.serial}),
    );
    assert_eq!((status, body), (200, json!({"otps_required": 1})));
    let (status, body) = step(
        &server,
        &id,
        "otps",
        json!({"otps": [event_prefixed.totp_now()]}),
    );
    assert_eq!(
        (status, body["new_serial"].clone()),
        (200, json!(event_prefixed.serial)),
        "{body}"
    );

    // A serial no inventory can hold is still refused, with the rule.
    let id = start(
        &server,
        &ANNA,
        &Token {
            serial: rfc.serial,
            key: rfc.key,
        },
    );
    let code = sms_code(&server, ANNA.phone);
    assert_eq!(step(&server, &id, "sms-code", json!({"code": code})).0, 200);
    refused(
        step(&server, &id, "device", json!({"serial": "ZZ 9"})),
        422,
        "malformed_serial",
    );
}

#[test]
fn an_outbox_row_that_does_not_read_back_is_listed_as_unreadable_not_a_500() {
    let dir = tempfile::tempdir().expect("temp dir");
    let server = server(&dir);
    start(&server, &ANNA, &C100_A);
    start(&server, &BRUNO, &C200_A);
    // Anna's code no longer decrypts, as under another store secret.
    let raw = rusqlite::Connection::open(dir.path().join("replace.db")).expect("raw connection");
    let broken: i64 = raw
        .query_row(
            "SELECT id FROM sms_outbox WHERE phone = ?1",
            [ANNA.phone],
            |r| r.get(0),
        )
        .expect("Anna's row");
    raw.execute(
        "UPDATE sms_outbox SET code_ciphertext = zeroblob(length(code_ciphertext)) WHERE id = ?1",
        [broken],
    )
    .expect("corrupted");
    let (status, listing) = server.as_admin("GET", "/v1/admin/sms-outbox", None);
    assert_eq!(status, 200, "{listing}");
    let rows = listing.as_array().expect("array");
    assert_eq!(rows.len(), 2, "{listing}");
    let unreadable = rows
        .iter()
        .find(|r| r["id"] == broken)
        .unwrap_or_else(|| panic!("the broken row by its id: {listing}"));
    assert_eq!(unreadable["status"], "unreadable");
    assert!(unreadable["error"].as_str().is_some_and(|e| !e.is_empty()));
    assert!(unreadable.get("code").is_none(), "{unreadable}");
    // Bruno's message reads as before.
    let code = sms_code(&server, BRUNO.phone);
    assert_eq!(code.len(), 6);
}
