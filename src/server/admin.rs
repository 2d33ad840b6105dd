//! `/v1/admin/…`: inventory import, users, assignment, unlock, listings.
//!
//! Every route is behind `Authorization: Bearer <token>`, compared in
//! constant time. With no token configured the admin API refuses all
//! requests (403), so a server started without one cannot be administered
//! by accident.

use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use super::AppState;
use super::error::{ApiError, ApiJson, ApiPath, ApiQuery};
use crate::device::{Family, Serial};
use crate::inventory::{self, Format, PskcKey};
use crate::otp::SecretKey;
use crate::store::TokenSummary;
use crate::user::{PasswordHash, PhoneNumber, TaxCode, User, UserCode};

/// The header carrying the PBKDF2 password or pre-shared key (hex) of an
/// encrypted PSKC upload.
const PSKC_KEY_HEADER: &str = "x-tokenrig-pskc-key";
const PSKC_PASSWORD_HEADER: &str = "x-tokenrig-pskc-password";

pub(super) async fn require_admin(
    State(state): State<Arc<AppState>>,
    request: Request,
    next: Next,
) -> Response {
    let Some(expected) = &state.admin_token else {
        return ApiError::new(
            StatusCode::FORBIDDEN,
            "the admin API is disabled: start serve with --admin-token-file or TOKENRIG_ADMIN_TOKEN",
        )
        .into_response();
    };
    let given = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    let ok = given.is_some_and(|given| {
        subtle::ConstantTimeEq::ct_eq(given.as_bytes(), expected.as_bytes()).into()
    });
    if !ok {
        let mut response = ApiError::new(
            StatusCode::UNAUTHORIZED,
            "missing or wrong admin token (Authorization: Bearer <token>)",
        )
        .into_response();
        response.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            header::HeaderValue::from_static("Bearer"),
        );
        return response;
    }
    next.run(request).await
}

#[derive(Serialize)]
pub(super) struct Imported {
    imported: usize,
}

/// The format from the Content-Type (`application/pskc+xml`,
/// `application/xml`, `text/xml`, `text/csv`, `text/uri-list` or
/// `text/plain` for otpauth lines).
fn format_of(headers: &HeaderMap) -> Result<Format, ApiError> {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let essence = content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    match essence.as_str() {
        "application/pskc+xml" | "application/xml" | "text/xml" => Ok(Format::Pskc),
        "text/csv" => Ok(Format::Csv),
        "text/uri-list" | "text/plain" => Ok(Format::Otpauth),
        _ => Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            format!(
                "Content-Type {content_type:?} is not an inventory: use application/pskc+xml, \
                 text/csv or text/plain (otpauth URIs)"
            ),
        )),
    }
}

fn pskc_key(headers: &HeaderMap) -> Result<Option<PskcKey>, ApiError> {
    let text = |name: &str| {
        headers
            .get(name)
            .map(|v| {
                v.to_str()
                    .map(|s| Zeroizing::new(s.to_owned()))
                    .map_err(|_| ApiError::bad_request(format!("{name} is not visible ASCII")))
            })
            .transpose()
    };
    match (text(PSKC_KEY_HEADER)?, text(PSKC_PASSWORD_HEADER)?) {
        (Some(_), Some(_)) => Err(ApiError::bad_request(format!(
            "give {PSKC_KEY_HEADER} or {PSKC_PASSWORD_HEADER}, not both"
        ))),
        (Some(hex), None) => SecretKey::from_hex(&hex)
            .map(|k| Some(PskcKey::PreShared(k)))
            .map_err(|e| ApiError::bad_request(format!("{PSKC_KEY_HEADER}: {e}"))),
        (None, Some(password)) => Ok(Some(PskcKey::Password(password))),
        (None, None) => Ok(None),
    }
}

pub(super) async fn import(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<(StatusCode, Json<Imported>), ApiError> {
    let format = format_of(&headers)?;
    let key = pskc_key(&headers)?;
    let now = state.now();
    // Parsing (PBKDF2, MAC checks, thousands of entries) is CPU work: on
    // the slow pool's thread, off the async runtime.
    let imported = state
        .slow
        .run(move |v| {
            let entries = match inventory::parse(&body, format, key.as_ref()) {
                Ok(entries) => entries,
                Err(e) => return Ok(Err(e.to_string())),
            };
            v.import(&entries, now).map(Ok)
        })
        .await?
        .map_err(ApiError::unprocessable)?;
    Ok((StatusCode::CREATED, Json(Imported { imported })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct NewUser {
    username: String,
    phone: String,
    user_code: String,
    password: Zeroizing<String>,
}

#[derive(Serialize)]
pub(super) struct UserCreated {
    username: String,
}

pub(super) async fn add_user(
    State(state): State<Arc<AppState>>,
    ApiJson(new): ApiJson<NewUser>,
) -> Result<(StatusCode, Json<UserCreated>), ApiError> {
    let field = |name: &str, e: String| ApiError::unprocessable(format!("{name}: {e}"));
    let username = TaxCode::parse(&new.username).map_err(|e| field("username", e.to_string()))?;
    let phone = PhoneNumber::parse(&new.phone).map_err(|e| field("phone", e.to_string()))?;
    let user_code =
        UserCode::parse(&new.user_code).map_err(|e| field("user_code", e.to_string()))?;
    let now = state.now();
    state
        .slow
        .run(move |v| {
            // argon2 with the default cost, on the slow pool's thread.
            let hash = match PasswordHash::new(&new.password) {
                Ok(hash) => hash,
                Err(e) => return Ok(Err(e.to_string())),
            };
            v.add_user(&User::new(username, phone, user_code, hash), now)
                .map(Ok)
        })
        .await?
        .map_err(|e| field("password", e))?;
    Ok((
        StatusCode::CREATED,
        Json(UserCreated {
            username: username.as_str().to_owned(),
        }),
    ))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct Device {
    serial: String,
}

#[derive(Serialize)]
pub(super) struct Assigned {
    username: String,
    serial: String,
}

pub(super) async fn assign(
    State(state): State<Arc<AppState>>,
    ApiPath(user): ApiPath<String>,
    ApiJson(device): ApiJson<Device>,
) -> Result<(StatusCode, Json<Assigned>), ApiError> {
    let username =
        TaxCode::parse(&user).map_err(|e| ApiError::unprocessable(format!("user: {e}")))?;
    let serial = Serial::parse(&device.serial)
        .map_err(|e| ApiError::unprocessable(format!("serial: {e}")))?;
    let now = state.now();
    state
        .fast
        .run(move |v| v.assign(&username, serial, now))
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(Assigned {
            username: username.as_str().to_owned(),
            serial: serial.as_str().to_owned(),
        }),
    ))
}

pub(super) async fn unlock(
    State(state): State<Arc<AppState>>,
    ApiPath(serial): ApiPath<String>,
) -> Result<Json<TokenView>, ApiError> {
    let serial =
        Serial::parse(&serial).map_err(|e| ApiError::unprocessable(format!("serial: {e}")))?;
    let now = state.now();
    let summary = state
        .fast
        .run(move |v| {
            v.unlock(serial, now)?;
            v.token(serial)
        })
        .await?
        .ok_or_else(|| ApiError::new(StatusCode::NOT_FOUND, format!("serial {serial} is gone")))?;
    Ok(Json(TokenView::from(&summary)))
}

/// A token as the admin API lists it: no key.
#[derive(Serialize)]
pub struct TokenView {
    serial: String,
    model: &'static str,
    kind: &'static str,
    status: &'static str,
    user: Option<String>,
    /// Event tokens: the next counter accepted.
    #[serde(skip_serializing_if = "Option::is_none")]
    next_counter: Option<u64>,
    /// Time tokens: the learned clock offset, in steps.
    #[serde(skip_serializing_if = "Option::is_none")]
    drift_steps: Option<i64>,
    failures: u32,
    locked: bool,
}

impl From<&TokenSummary> for TokenView {
    fn from(t: &TokenSummary) -> TokenView {
        let family = t.model.family();
        TokenView {
            serial: t.serial.as_str().to_owned(),
            model: t.model.name(),
            kind: match family {
                Family::Event => "event",
                Family::Time => "time",
            },
            status: t.status.as_str(),
            user: t.username.map(|u| u.as_str().to_owned()),
            next_counter: (family == Family::Event).then_some(t.state.next_counter),
            drift_steps: (family == Family::Time).then_some(t.state.drift_steps),
            failures: t.state.failures,
            locked: t.state.locked,
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct TokensQuery {
    user: Option<String>,
}

pub(super) async fn tokens(
    State(state): State<Arc<AppState>>,
    ApiQuery(query): ApiQuery<TokensQuery>,
) -> Result<Json<Vec<TokenView>>, ApiError> {
    let user = query
        .user
        .map(|u| TaxCode::parse(&u))
        .transpose()
        .map_err(|e| ApiError::unprocessable(format!("user: {e}")))?;
    let all = state.fast.run(move |v| v.tokens(user.as_ref())).await?;
    Ok(Json(all.iter().map(TokenView::from).collect()))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct AuditQuery {
    limit: Option<u32>,
}

#[derive(Serialize)]
pub(super) struct AuditView {
    id: i64,
    at_unix_nanos: u64,
    action: String,
    serial: Option<String>,
    user: Option<String>,
    outcome: String,
    reason: Option<String>,
}

pub(super) async fn audit(
    State(state): State<Arc<AppState>>,
    ApiQuery(query): ApiQuery<AuditQuery>,
) -> Result<Json<Vec<AuditView>>, ApiError> {
    let limit = query.limit.unwrap_or(100).min(10_000);
    let rows = state.fast.run(move |v| v.audit(limit)).await?;
    Ok(Json(
        rows.into_iter()
            .map(|r| AuditView {
                id: r.id,
                at_unix_nanos: r.at.as_nanos(),
                action: r.action,
                serial: r.serial,
                user: r.username,
                outcome: r.outcome,
                reason: r.reason,
            })
            .collect(),
    ))
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct ClockView {
    unix_nanos: u64,
    #[serde(default)]
    test_clock: bool,
}

/// The time decisions are made at, and whether it can be set.
pub(super) async fn clock(State(state): State<Arc<AppState>>) -> Json<ClockView> {
    Json(ClockView {
        unix_nanos: state.now().as_nanos(),
        test_clock: matches!(state.clock, super::ServerClock::Test(_)),
    })
}

/// Sets the test clock; refused unless serve runs with `--test-clock`.
pub(super) async fn set_clock(
    State(state): State<Arc<AppState>>,
    ApiJson(body): ApiJson<ClockView>,
) -> Result<Json<ClockView>, ApiError> {
    let super::ServerClock::Test(clock) = &state.clock else {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "the clock can be set only when serve runs with --test-clock",
        ));
    };
    clock.set(crate::clock::UnixTime::from_nanos(body.unix_nanos));
    Ok(Json(ClockView {
        unix_nanos: state.now().as_nanos(),
        test_clock: true,
    }))
}
