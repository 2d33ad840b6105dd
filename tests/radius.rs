//! `tokenrig serve --radius` end to end: Debian's `radclient` (package
//! `freeradius-utils`, which `cargo xtask ci` installs) as the real client
//! for accept, reject, replay, lockout and password+OTP; packets crafted
//! with our own codec for what no well-behaved client sends (no
//! Message-Authenticator, a wrong one, a wrong secret, an unknown client,
//! garbage, a retransmission storm), each checked to change no state.

mod support;

use std::io::Write;
use std::net::{SocketAddr, UdpSocket};
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use serde_json::Value;
use support::fleet::{ANNA, BRUNO, C100_A, C100_B, PASSWORD, add_user, import_fleet};
use support::server::Server;
use tokenrig::transport::radius::{Code, Packet, attribute, verify_response};

const SECRET: &str = "radius-test-secret-0123456789";

fn clients_file(dir: &Path, password_and_otp: bool) -> String {
    let path = dir.join("radius-clients.toml");
    std::fs::write(
        &path,
        format!(
            "# the test's one client\n[[client]]\naddress = \"127.0.0.1\"\nsecret = \"{SECRET}\"\npassword_and_otp = {password_and_otp}\n"
        ),
    )
    .expect("clients file written");
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).expect("chmod");
    path.display().to_string()
}

/// A fresh store with the fleet; Anna holds C100 A, Bruno C100 B.
fn radius_server(dir: &tempfile::TempDir, password_and_otp: bool) -> Server {
    radius_server_with(dir, password_and_otp, &[])
}

/// The same, with more `serve` flags.
fn radius_server_with(dir: &tempfile::TempDir, password_and_otp: bool, flags: &[&str]) -> Server {
    let server = empty_radius_server(dir, password_and_otp, flags);
    import_fleet(&server);
    add_user(&server, &ANNA, &C100_A);
    add_user(&server, &BRUNO, &C100_B);
    server
}

/// `serve --radius` on a fresh, empty store, with more `serve` flags.
fn empty_radius_server(dir: &tempfile::TempDir, password_and_otp: bool, flags: &[&str]) -> Server {
    let db = format!("sqlite:{}", dir.path().join("serve.db").display());
    let clients = clients_file(dir.path(), password_and_otp);
    let mut all = vec!["--radius", "127.0.0.1:0", "--radius-clients", &clients];
    all.extend_from_slice(flags);
    Server::start_full(
        &db,
        &all,
        &[("TOKENRIG_ADMIN_TOKEN", support::server::ADMIN_TOKEN)],
    )
}

/// What radclient heard: the reply's code and Reply-Message, or `None`
/// when every try timed out.
fn radclient(server: &Server, secret: &str, attributes: &str) -> Option<(String, String)> {
    let radclient = support::require_tool("radclient", "freeradius-utils")?;
    let addr = server.radius.expect("started with --radius");
    let mut child = Command::new(radclient)
        .args(["-x", "-r", "1", "-t", "1"])
        .arg(addr.to_string())
        .args(["auth", secret])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("radclient starts");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(attributes.as_bytes())
        .expect("attributes written");
    let output = child.wait_with_output().expect("radclient ends");
    let text = String::from_utf8_lossy(&output.stdout);
    let code = text.lines().find_map(|line| {
        let rest = line.trim().strip_prefix("Received ")?;
        Some(rest.split_whitespace().next()?.to_owned())
    })?;
    let reply = text
        .lines()
        .find_map(|line| line.trim().strip_prefix("Reply-Message = "))
        .map(|m| m.trim_matches('"').to_owned())
        .unwrap_or_default();
    Some((code, reply))
}

fn with_ma(user: &str, password: &str) -> String {
    format!(
        "User-Name = \"{user}\", User-Password = \"{password}\", Message-Authenticator = 0x00\n"
    )
}

fn verdict(code: &str, reply: &str) -> Option<(String, String)> {
    Some((code.to_owned(), reply.to_owned()))
}

fn audit(server: &Server) -> Vec<Value> {
    let (status, rows) = server.as_admin("GET", "/v1/admin/audit?limit=1000", None);
    assert_eq!(status, 200, "{rows}");
    rows.as_array().expect("array").clone()
}

/// `tokenrig_radius_packets_total{result=…,reason=…}`, 0 when absent.
fn radius_count(server: &Server, result: &str, reason: &str) -> u64 {
    let (_, text) = server.get_text("/metrics");
    let wanted =
        format!("tokenrig_radius_packets_total{{result=\"{result}\",reason=\"{reason}\"}} ");
    text.lines()
        .find_map(|line| line.strip_prefix(&wanted))
        .map_or(0, |n| n.trim().parse().expect("a count"))
}

fn have_radclient() -> bool {
    support::require_tool("radclient", "freeradius-utils").is_some()
}

#[test]
fn radius_radclient_accept_reject_replay_lockout_with_the_audit_row_of_validate() {
    if !have_radclient() {
        return;
    }
    let dir = tempfile::tempdir().expect("temp dir");
    let server = radius_server(&dir, false);
    // The tax code in any case.
    let anna = ANNA.user.to_lowercase();
    assert_eq!(
        radclient(&server, SECRET, &with_ma(&anna, &C100_A.hotp(0))),
        verdict("Access-Accept", "ok")
    );
    assert_eq!(
        radclient(&server, SECRET, &with_ma(ANNA.user, &C100_A.hotp(0))),
        verdict("Access-Reject", "replayed")
    );
    assert_eq!(
        radclient(&server, SECRET, &with_ma(ANNA.user, &C100_A.hotp(11))),
        verdict("Access-Reject", "bad_otp")
    );
    assert_eq!(
        radclient(&server, SECRET, &with_ma("BNCGVN80A01H501X", "123456")),
        verdict("Access-Reject", "unknown_user")
    );
    // The same audit row as /v1/validate: compare one from each.
    let (status, body) = server.post(
        "/v1/validate",
        &serde_json::json!({"user": BRUNO.user, "otp": C100_B.hotp(0)}),
    );
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        radclient(&server, SECRET, &with_ma(BRUNO.user, &C100_B.hotp(1))),
        verdict("Access-Accept", "ok")
    );
    let rows = audit(&server);
    let shape = |row: &Value| {
        (
            row["action"].clone(),
            row["serial"].clone(),
            row["user"].clone(),
            row["outcome"].clone(),
            row["reason"].clone(),
        )
    };
    assert_eq!(shape(&rows[0]), shape(&rows[1]), "{rows:?}");
    assert_eq!(rows[0]["serial"], C100_B.serial);

    // Lockout: 10 failures in a row (bad_otp and replayed counted 2).
    for _ in 0..8 {
        let (code, _) =
            radclient(&server, SECRET, &with_ma(ANNA.user, "000000")).expect("an answer");
        assert_eq!(code, "Access-Reject");
    }
    assert_eq!(
        radclient(&server, SECRET, &with_ma(ANNA.user, &C100_A.hotp(1))),
        verdict("Access-Reject", "locked")
    );
    assert_eq!(server.token(C100_A.serial)["locked"], true);
    assert!(radius_count(&server, "reject", "locked") >= 1);
    assert_eq!(radius_count(&server, "accept", "ok"), 2);
}

/// `tokenrig_rate_limited_requests_total{route="radius"}`, 0 when absent.
fn radius_rate_limited(server: &Server) -> u64 {
    let (_, text) = server.get_text("/metrics");
    text.lines()
        .find_map(|line| {
            line.strip_prefix("tokenrig_rate_limited_requests_total{route=\"radius\"} ")
        })
        .map_or(0, |n| n.trim().parse().expect("a count"))
}

#[test]
fn radius_rate_limit_holds_per_calling_station_not_per_nas() {
    if !have_radclient() {
        return;
    }
    let dir = tempfile::tempdir().expect("temp dir");
    // Two guesses at once per station, one more every 100 s: nothing
    // refills within the test.
    let server = radius_server_with(&dir, false, &["--rate-limit", "0.01/2"]);
    let from = |station: &str, user: &str, otp: &str| {
        format!(
            "User-Name = \"{user}\", User-Password = \"{otp}\", Calling-Station-Id = \"{station}\", Message-Authenticator = 0x00\n"
        )
    };
    let guesser = "+393330000001";
    for _ in 0..2 {
        assert_eq!(
            radclient(&server, SECRET, &from(guesser, ANNA.user, "000000")),
            verdict("Access-Reject", "bad_otp")
        );
    }
    // The third from that station decides nothing: Anna's right code is
    // refused for the rate, and her failure count stays at two.
    assert_eq!(
        radclient(&server, SECRET, &from(guesser, ANNA.user, &C100_A.hotp(0))),
        verdict("Access-Reject", "rate_limited")
    );
    assert_eq!(server.token(C100_A.serial)["failures"], 2);
    assert_eq!(radius_rate_limited(&server), 1);
    // The same NAS for Anna's own phone: her code is still good.
    assert_eq!(
        radclient(
            &server,
            SECRET,
            &from("+393331234567", ANNA.user, &C100_A.hotp(0))
        ),
        verdict("Access-Accept", "ok")
    );
    // Without a Calling-Station-Id the User-Name is the station.
    for _ in 0..2 {
        let (code, _) =
            radclient(&server, SECRET, &with_ma(BRUNO.user, "000000")).expect("an answer");
        assert_eq!(code, "Access-Reject");
    }
    assert_eq!(
        radclient(&server, SECRET, &with_ma(BRUNO.user, &C100_B.hotp(0))),
        verdict("Access-Reject", "rate_limited")
    );
    assert_eq!(radius_rate_limited(&server), 2);
    let rows = audit(&server);
    assert!(
        rows.iter().all(|row| row["reason"] != "rate_limited"),
        "a refusal for the rate decides nothing and writes no audit row: {rows:?}"
    );
}

#[test]
fn radius_radclient_password_and_otp() {
    if !have_radclient() {
        return;
    }
    let dir = tempfile::tempdir().expect("temp dir");
    let server = radius_server(&dir, true);
    let wrong = format!("not the password{}", C100_A.hotp(0));
    assert_eq!(
        radclient(&server, SECRET, &with_ma(ANNA.user, &wrong)),
        verdict("Access-Reject", "wrong_password")
    );
    // No code was decided: counter 0 is still good, and one failure counted
    // and audited.
    assert_eq!(server.token(C100_A.serial)["next_counter"], 0);
    assert_eq!(server.token(C100_A.serial)["failures"], 1);
    let newest = &audit(&server)[0];
    assert_eq!(
        (newest["action"].as_str(), newest["reason"].as_str()),
        (Some("check"), Some("wrong_password"))
    );
    let right = format!("{PASSWORD}{}", C100_A.hotp(0));
    assert_eq!(
        radclient(&server, SECRET, &with_ma(ANNA.user, &right)),
        verdict("Access-Accept", "ok")
    );
    assert_eq!(
        radclient(&server, SECRET, &with_ma(ANNA.user, &right)),
        verdict("Access-Reject", "replayed")
    );
    // The code alone is not enough from this client.
    assert_eq!(
        radclient(&server, SECRET, &with_ma(ANNA.user, &C100_A.hotp(1))),
        verdict("Access-Reject", "wrong_password")
    );
}

#[test]
fn radius_radclient_without_or_with_a_wrong_secret_gets_no_answer_and_changes_nothing() {
    if !have_radclient() {
        return;
    }
    let dir = tempfile::tempdir().expect("temp dir");
    let server = radius_server(&dir, false);
    let before = (server.token(C100_A.serial), audit(&server).len());
    let bare = format!(
        "User-Name = \"{}\", User-Password = \"{}\"\n",
        ANNA.user,
        C100_A.hotp(0)
    );
    assert_eq!(radclient(&server, SECRET, &bare), None);
    assert_eq!(
        radclient(
            &server,
            "not the secret",
            &with_ma(ANNA.user, &C100_A.hotp(0))
        ),
        None
    );
    assert_eq!((server.token(C100_A.serial), audit(&server).len()), before);
    assert!(radius_count(&server, "dropped", "no_message_authenticator") >= 1);
    assert!(radius_count(&server, "dropped", "bad_message_authenticator") >= 1);
    // The code is still good.
    assert_eq!(
        radclient(&server, SECRET, &with_ma(ANNA.user, &C100_A.hotp(0))),
        verdict("Access-Accept", "ok")
    );
}

/// An Access-Request as our codec builds it: Message-Authenticator on
/// request, hidden with `secret`.
fn crafted(identifier: u8, user: &str, password: &str, secret: &str, ma: bool) -> Vec<u8> {
    let mut authenticator = [0u8; 16];
    authenticator[0] = identifier;
    authenticator[15] = 0x5a;
    let mut packet = Packet::access_request(
        identifier,
        authenticator,
        user,
        password.as_bytes(),
        secret.as_bytes(),
    )
    .expect("hidden");
    if !ma {
        packet
            .attributes
            .retain(|a| a.kind != attribute::MESSAGE_AUTHENTICATOR);
    }
    packet.encode_request(secret.as_bytes()).expect("encoded")
}

/// Sends `bytes` from `socket`; the answer, if one comes within `wait`.
fn exchange(socket: &UdpSocket, to: SocketAddr, bytes: &[u8], wait: Duration) -> Option<Vec<u8>> {
    socket.set_read_timeout(Some(wait)).expect("timeout set");
    socket.send_to(bytes, to).expect("sent");
    let mut buffer = [0u8; 4096];
    match socket.recv_from(&mut buffer) {
        Ok((len, _)) => Some(buffer[..len].to_vec()),
        Err(_) => None,
    }
}

#[test]
fn radius_crafted_bad_packets_are_dropped_counted_and_change_nothing() {
    let dir = tempfile::tempdir().expect("temp dir");
    let server = radius_server(&dir, false);
    let to = server.radius.expect("radius");
    let socket = UdpSocket::bind("127.0.0.1:0").expect("bound");
    let before = (server.token(C100_A.serial), audit(&server).len());
    let code = C100_A.hotp(0);
    let quiet = Duration::from_millis(300);

    let no_ma = crafted(1, ANNA.user, &code, SECRET, false);
    assert_eq!(exchange(&socket, to, &no_ma, quiet), None);
    let mut wrong_ma = crafted(2, ANNA.user, &code, SECRET, true);
    let last = wrong_ma.len() - 1;
    wrong_ma[last] ^= 0x01;
    assert_eq!(exchange(&socket, to, &wrong_ma, quiet), None);
    let wrong_secret = crafted(3, ANNA.user, &code, "another secret", true);
    assert_eq!(exchange(&socket, to, &wrong_secret, quiet), None);
    // 127.0.0.2 is loopback too, but not a listed client.
    let stranger = UdpSocket::bind("127.0.0.2:0").expect("bound");
    let good = crafted(4, ANNA.user, &code, SECRET, true);
    assert_eq!(exchange(&stranger, to, &good, quiet), None);
    for garbage in [
        &good[..good.len() - 5],
        &good[..19],
        &[0xff; 64][..],
        &[][..],
    ] {
        assert_eq!(exchange(&socket, to, garbage, quiet), None);
    }
    let mut accounting = good.clone();
    accounting[0] = 4;
    assert_eq!(exchange(&socket, to, &accounting, quiet), None);

    assert_eq!((server.token(C100_A.serial), audit(&server).len()), before);
    for (reason, at_least) in [
        ("no_message_authenticator", 1),
        ("bad_message_authenticator", 2),
        ("unknown_client", 1),
        ("malformed", 3),
        ("not_access_request", 1),
    ] {
        assert!(
            radius_count(&server, "dropped", reason) >= at_least,
            "dropped {reason}"
        );
    }

    // The same code, well formed, is accepted, and the answer is signed.
    let answer = exchange(&socket, to, &good, Duration::from_secs(5)).expect("an answer");
    let request = Packet::decode(&good).expect("decodes");
    let reply =
        verify_response(&answer, SECRET.as_bytes(), &request.authenticator).expect("authentic");
    assert_eq!(reply.code, Code::AccessAccept);
    assert_eq!(reply.identifier, 4);
    assert!(reply.attribute(attribute::MESSAGE_AUTHENTICATOR).is_some());
    assert_eq!(reply.attribute(attribute::REPLY_MESSAGE), Some(&b"ok"[..]));
}

#[test]
fn radius_retransmission_storm_is_decided_once() {
    let dir = tempfile::tempdir().expect("temp dir");
    let server = radius_server(&dir, false);
    let to = server.radius.expect("radius");
    let socket = UdpSocket::bind("127.0.0.1:0").expect("bound");
    let rows_before = audit(&server).len();
    let request = crafted(9, ANNA.user, &C100_A.hotp(3), SECRET, true);
    // 200 copies as fast as the socket takes them, then read what came back.
    for _ in 0..200 {
        socket.send_to(&request, to).expect("sent");
    }
    socket
        .set_read_timeout(Some(Duration::from_millis(500)))
        .expect("timeout set");
    let mut answers = Vec::new();
    let mut buffer = [0u8; 4096];
    while let Ok((len, _)) = socket.recv_from(&mut buffer) {
        answers.push(buffer[..len].to_vec());
    }
    // One more retransmission, after the decision: answered from the cache.
    answers.push(exchange(&socket, to, &request, Duration::from_secs(5)).expect("answered"));
    assert!(
        answers.windows(2).all(|w| w[0] == w[1]),
        "every answer the same"
    );
    let authenticator = Packet::decode(&request).expect("decodes").authenticator;
    let reply = verify_response(&answers[0], SECRET.as_bytes(), &authenticator).expect("authentic");
    assert_eq!(reply.code, Code::AccessAccept);
    assert_eq!(audit(&server).len(), rows_before + 1, "decided once");
    assert_eq!(server.token(C100_A.serial)["next_counter"], 4);
    assert!(radius_count(&server, "resent", "duplicate") >= 1);
    assert_eq!(radius_count(&server, "accept", "ok"), 1);
    // A new request with the same code is a replay.
    let again = crafted(10, ANNA.user, &C100_A.hotp(3), SECRET, true);
    let answer = exchange(&socket, to, &again, Duration::from_secs(5)).expect("answered");
    let authenticator = Packet::decode(&again).expect("decodes").authenticator;
    let reply = verify_response(&answer, SECRET.as_bytes(), &authenticator).expect("authentic");
    assert_eq!(reply.code, Code::AccessReject);
    assert_eq!(
        reply.attribute(attribute::REPLY_MESSAGE),
        Some(&b"replayed"[..])
    );
}

#[test]
fn radius_clients_file_readable_by_others_is_refused() {
    let dir = tempfile::tempdir().expect("temp dir");
    let clients = clients_file(dir.path(), false);
    std::fs::set_permissions(&clients, std::fs::Permissions::from_mode(0o644)).expect("chmod");
    let db = format!("sqlite:{}", dir.path().join("serve.db").display());
    let output = Command::new(env!("CARGO_BIN_EXE_tokenrig"))
        .args(["serve", "--db", &db, "--listen", "127.0.0.1:0"])
        .args(["--radius", "127.0.0.1:0", "--radius-clients", &clients])
        .env("TOKENRIG_STORE_KEY", support::server::STORE_KEY)
        .output()
        .expect("serve runs");
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    let last = stderr.lines().last().unwrap_or("");
    assert!(
        last.starts_with("tokenrig: error: --radius-clients") && last.contains("chmod 600"),
        "{stderr}"
    );
    assert!(!stderr.contains(SECRET));
}

/// The validate part of the suite (VAL-, RPL-, LCK- cases) through the
/// RADIUS target, set up through the HTTP admin API of the same server.
#[test]
fn radius_target_runs_the_validate_cases_against_serve() {
    use tokenrig::harness::{self, Quiet, RunOptions, Status, Target, http::Http, radius};
    let suite = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/conformance");
    let cases: Vec<_> = harness::load(&[suite])
        .expect("the suite loads")
        .into_iter()
        .filter(|c| ["VAL-", "RPL-", "LCK-"].iter().any(|p| c.id.starts_with(p)))
        .collect();
    assert!(cases.len() >= 30, "{} validate cases", cases.len());
    let dir = tempfile::tempdir().expect("temp dir");
    let server = empty_radius_server(&dir, false, &["--test-clock"]);
    let url = format!("radius://{SECRET}@{}", server.radius.expect("radius"));
    let setup = Http::new(&server.url, support::server::ADMIN_TOKEN).expect("connects");
    let target = radius::Radius::new(&url, Box::new(setup)).expect("radius target");
    assert!(!target.name().contains(SECRET), "{}", target.name());
    let results = harness::run(
        vec![Box::new(target) as Box<dyn Target>],
        &cases,
        &RunOptions::new(13),
        &Quiet,
    );
    let report = harness::report::human("radius", &results);
    let passed = results.iter().filter(|r| r.status == Status::Pass).count();
    for r in &results {
        match r.status {
            Status::Pass => assert!(r.detail.is_none(), "reasons all given:\n{report}"),
            // Decided before running, from the target's offers.
            Status::Unsupported => assert!(
                r.detail
                    .as_deref()
                    .is_some_and(|d| d.contains("two-OTP resync") || d.contains("replacement")),
                "only resync and replacement cases are unsupported:\n{report}"
            ),
            Status::Fail | Status::Error => panic!("{}: {:?}\n{report}", r.id, r.detail),
        }
    }
    assert!(passed >= 80, "{passed} passed:\n{report}");
}

/// A RADIUS server that rejects everything and says no reason: the
/// harness compares accept/reject only, says so, and never passes an
/// accept it did not get.
#[test]
fn radius_target_without_reasons_compares_accept_or_reject_only() {
    use tokenrig::harness::{self, Quiet, RunOptions, Status, Target, http::Http, radius};
    let dir = tempfile::tempdir().expect("temp dir");
    let db = format!("sqlite:{}", dir.path().join("serve.db").display());
    let setup_server = Server::start_full(
        &db,
        &["--test-clock"],
        &[("TOKENRIG_ADMIN_TOKEN", support::server::ADMIN_TOKEN)],
    );
    let mute = UdpSocket::bind("127.0.0.1:0").expect("bound");
    let addr = mute.local_addr().expect("address");
    std::thread::spawn(move || {
        let mut buffer = [0u8; 4096];
        while let Ok((len, from)) = mute.recv_from(&mut buffer) {
            let Ok(request) = Packet::decode(&buffer[..len]) else {
                continue;
            };
            let reject = Packet::response_to(&request, Code::AccessReject, vec![])
                .encode_response(SECRET.as_bytes(), &request.authenticator)
                .expect("encoded");
            let _ = mute.send_to(&reject, from);
        }
    });
    let suite = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/conformance");
    let cases: Vec<_> = harness::load(&[suite])
        .expect("the suite loads")
        .into_iter()
        .filter(|c| c.id == "VAL-EVT-001" || c.id == "VAL-EVT-003")
        .collect();
    let setup = Http::new(&setup_server.url, support::server::ADMIN_TOKEN).expect("connects");
    let target = radius::Radius::new(&format!("radius://{SECRET}@{addr}"), Box::new(setup))
        .expect("radius target");
    let results = harness::run(
        vec![Box::new(target) as Box<dyn Target>],
        &cases,
        &RunOptions::new(5),
        &Quiet,
    );
    let by_id = |id: &str| results.iter().find(|r| r.id == id).expect("ran");
    // Expects an accept, got a reject: a failure, whatever the reasons.
    assert_eq!(by_id("VAL-EVT-001").status, Status::Fail);
    // Expects bad_otp, got a reject without a reason: a pass that says so.
    let unreasoned = by_id("VAL-EVT-003");
    assert_eq!(unreasoned.status, Status::Pass);
    assert_eq!(
        unreasoned.detail.as_deref(),
        Some("accept/reject compared only: 1 rejection(s) came without a reason code")
    );
}

#[test]
fn radius_target_needs_a_setup_target() {
    let output = Command::new(env!("CARGO_BIN_EXE_tokenrig"))
        .args(["conformance", "--target", "radius://s3cret@127.0.0.1:1812"])
        .output()
        .expect("runs");
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("needs --setup URL"), "{stderr}");
    assert!(!stderr.contains("s3cret"), "{stderr}");
}

#[test]
fn radius_target_from_the_command_line() {
    let dir = tempfile::tempdir().expect("temp dir");
    let server = empty_radius_server(&dir, false, &["--test-clock"]);
    let target = format!("radius://{SECRET}@{}", server.radius.expect("radius"));
    let output = Command::new(env!("CARGO_BIN_EXE_tokenrig"))
        .args(["conformance", "--target", &target, "--setup", &server.url])
        .args(["--filter", "VAL-EVT-00*", "--seed", "3"])
        .env("TOKENRIG_ADMIN_TOKEN", support::server::ADMIN_TOKEN)
        .output()
        .expect("runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{stdout}");
    assert!(stdout.contains("0 failed"), "{stdout}");
    assert!(!stdout.contains(SECRET), "{stdout}");
}
