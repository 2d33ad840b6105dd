//! The OpenAPI document (`openapi/tokenrig.json`) and the router list the
//! same routes: every (method, path) the server serves is documented, and
//! every documented one is served. The router is built from the same table
//! `tokenrig::server::routes()` returns, so this compares the real thing.

use std::collections::BTreeSet;

const DOCUMENT: &str = include_str!("../openapi/tokenrig.json");
const METHODS: &[&str] = &["get", "put", "post", "delete", "patch", "head", "options"];

#[test]
fn every_route_is_documented_and_every_documented_route_is_served() {
    let doc: serde_json::Value = serde_json::from_str(DOCUMENT).expect("valid JSON");
    assert_eq!(doc["openapi"].as_str().map(|v| &v[..2]), Some("3."));
    let paths = doc["paths"].as_object().expect("paths object");
    let documented: BTreeSet<(String, String)> = paths
        .iter()
        .flat_map(|(path, item)| {
            let item = item.as_object().expect("path item object");
            METHODS
                .iter()
                .filter(|m| item.contains_key(**m))
                .map(|m| (m.to_uppercase(), path.clone()))
                .collect::<Vec<_>>()
        })
        .collect();
    let served: BTreeSet<(String, String)> = tokenrig::server::routes()
        .into_iter()
        .map(|(m, p)| (m.to_owned(), p.to_owned()))
        .collect();
    let undocumented: Vec<_> = served.difference(&documented).collect();
    let unserved: Vec<_> = documented.difference(&served).collect();
    assert!(
        undocumented.is_empty() && unserved.is_empty(),
        "served but not documented: {undocumented:?}; documented but not served: {unserved:?}"
    );
}

#[test]
fn every_operation_says_what_it_answers_and_admin_ones_need_the_token() {
    let doc: serde_json::Value = serde_json::from_str(DOCUMENT).expect("valid JSON");
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for (method, operation) in item.as_object().expect("item") {
            let responses = operation["responses"].as_object().expect("responses");
            assert!(
                responses.keys().any(|code| code.starts_with('2')),
                "{method} {path} documents no success response"
            );
            let secured = operation.get("security").is_some();
            assert_eq!(
                secured,
                path.starts_with("/v1/admin/"),
                "{method} {path}: admin routes and only they need the bearer token"
            );
            if secured {
                assert!(responses.contains_key("401"), "{method} {path} lacks 401");
            }
            // A 503 may be a refusal for a full queue, which always says
            // when to retry.
            if let Some(unavailable) = responses.get("503") {
                let unavailable = resolve(&doc, unavailable);
                assert!(
                    unavailable["headers"].get("Retry-After").is_some(),
                    "{method} {path}: its 503 does not document Retry-After"
                );
            }
        }
    }
}

/// Follows a local `$ref` ("#/components/...") once.
fn resolve<'a>(doc: &'a serde_json::Value, value: &'a serde_json::Value) -> &'a serde_json::Value {
    match value["$ref"].as_str() {
        Some(reference) => doc
            .pointer(reference.trim_start_matches('#'))
            .unwrap_or_else(|| panic!("dangling $ref {reference}")),
        None => value,
    }
}
