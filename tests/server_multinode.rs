//! Two `tokenrig serve` processes on one PostgreSQL behave as one verifier:
//! every code is fired at both at once and is accepted exactly once.
//!
//! 10 C100 tokens × 100 consecutive codes = 1,000 codes. Each code gets 8
//! concurrent submissions, 4 at each node, lined up by a barrier per token
//! and round. (More than 10 submissions of one code would lock the token:
//! every replay counts toward lockout, by design.)

mod support;

use std::collections::BTreeMap;
use std::sync::{Arc, Barrier};
use std::thread;

use serde_json::json;
use support::postgres::PgCluster;
use support::server::Server;
use tokenrig::otp::{Algorithm, Digits, OtpKey, SecretKey};

const TOKENS: u64 = 10;
const CODES: u64 = 100;
const PER_NODE: usize = 4;

fn serial(token: u64) -> String {
    format!("19000000000{token:02}")
}

fn key_hex(token: u64) -> String {
    format!("{:02x}", token + 0x10).repeat(20)
}

#[test]
fn two_nodes_on_one_postgres_accept_each_code_exactly_once() {
    let Some(cluster) = PgCluster::start() else {
        return;
    };
    let url = cluster.create_database("multinode");
    let nodes = [Arc::new(Server::start(&url)), Arc::new(Server::start(&url))];
    let mut csv = String::from("serial,kind,key,digits,step\n");
    for token in 0..TOKENS {
        csv.push_str(&format!("{},c100,{},6,\n", serial(token), key_hex(token)));
    }
    let (status, body) = nodes[0].as_admin(
        "POST",
        "/v1/admin/import",
        Some(("text/csv", csv.as_bytes())),
    );
    assert_eq!(status, 201, "{body}");

    let mut handles = Vec::new();
    for token in 0..TOKENS {
        let barrier = Arc::new(Barrier::new(2 * PER_NODE));
        let key = OtpKey::new(
            Algorithm::Sha1,
            &SecretKey::from_hex(&key_hex(token)).expect("hex"),
        );
        for node in nodes.iter().flat_map(|n| std::iter::repeat_n(n, PER_NODE)) {
            let (node, barrier, key) = (Arc::clone(node), Arc::clone(&barrier), key.clone());
            handles.push(thread::spawn(move || {
                let mut accepted = Vec::new();
                for counter in 0..CODES {
                    let otp = key.hotp(counter, Digits::SIX).to_string();
                    barrier.wait();
                    let (status, body) = node.post(
                        "/v1/validate",
                        &json!({"serial": serial(token), "otp": otp}),
                    );
                    assert_eq!(status, 200, "{body}");
                    match body["reason"].as_str() {
                        Some("ok") => accepted.push((token, counter)),
                        Some("replayed") => {}
                        other => panic!("token {token} code {counter}: {other:?}"),
                    }
                }
                accepted
            }));
        }
    }
    let mut accepts: BTreeMap<(u64, u64), usize> = BTreeMap::new();
    for handle in handles {
        for code in handle.join().expect("client thread") {
            *accepts.entry(code).or_default() += 1;
        }
    }
    assert_eq!(
        accepts.len() as u64,
        TOKENS * CODES,
        "every code accepted once"
    );
    let twice: Vec<_> = accepts.iter().filter(|(_, n)| **n != 1).collect();
    assert!(twice.is_empty(), "accepted more than once: {twice:?}");

    let (status, tokens) = nodes[1].as_admin("GET", "/v1/admin/tokens", None);
    assert_eq!(status, 200);
    for token in tokens.as_array().expect("array") {
        assert_eq!(token["next_counter"], CODES, "{token}");
        assert_eq!(token["locked"], false, "{token}");
    }
}
