//! Device replacement (seed 000) over HTTP: one resource per attempt.
//!
//! `POST /v1/replacements` (user, password, old serial) → `201 {id,
//! sms_sent}`; then `…/{id}/sms-code`, `…/{id}/device`, `…/{id}/otps`.
//! A refused step is a 4xx carrying the reason's stable code and its
//! user message, which never says more than the user may know (a wrong
//! password and an unknown user read alike).

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use super::AppState;
use super::error::{ApiError, ApiJson, ApiPath, ApiQuery};
use crate::device::Serial;
use crate::service::ReplacementError;
use crate::store::AttemptId;
use crate::user::{PhoneNumber, TaxCode};
use crate::verifier::Reason;

impl From<ReplacementError> for ApiError {
    fn from(e: ReplacementError) -> ApiError {
        let error = match &e {
            ReplacementError::Rejected(reason) => {
                ApiError::new(status_of(reason), reason.user_message())
            }
            ReplacementError::Store(store) => ApiError::of_kind(store.kind(), store),
            _ => ApiError::of_kind(e.kind(), &e),
        };
        match e.code() {
            Some(code) => error.with_reason(code),
            None => error,
        }
    }
}

/// The HTTP status of a refused step.
fn status_of(reason: &Reason) -> StatusCode {
    match reason {
        Reason::WrongPassword => StatusCode::UNAUTHORIZED,
        Reason::Locked => StatusCode::LOCKED,
        Reason::OutOfOrder { .. } | Reason::AttemptOver(_) => StatusCode::CONFLICT,
        Reason::AttemptExpired | Reason::SmsCodeExpired | Reason::SmsTriesExhausted => {
            StatusCode::GONE
        }
        _ => StatusCode::UNPROCESSABLE_ENTITY,
    }
}

fn attempt_id(id: &str) -> Result<AttemptId, ApiError> {
    id.parse::<AttemptId>()
        .map_err(|e| ReplacementError::from(e).into())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct Start {
    user: String,
    password: Zeroizing<String>,
    old_serial: String,
}

#[derive(Serialize)]
pub(super) struct Started {
    id: String,
    /// `sent` where the outbox is the destination; `queued` while the
    /// dispatcher has yet to hand it to the gateway.
    sms_sent: &'static str,
}

pub(super) async fn start(
    State(state): State<Arc<AppState>>,
    ApiJson(start): ApiJson<Start>,
) -> Result<(StatusCode, Json<Started>), ApiError> {
    let user =
        TaxCode::parse(&start.user).map_err(|e| ApiError::unprocessable(format!("user: {e}")))?;
    let old = Serial::parse(&start.old_serial)
        .map_err(|e| ApiError::unprocessable(format!("old_serial: {e}")))?;
    let now = state.now();
    // argon2 is slow: the slow pool, never a batch.
    let (id, sms) = state
        .slow
        .run(move |v| Ok(v.start_replacement(&user, &start.password, old, now)))
        .await??;
    Ok((
        StatusCode::CREATED,
        Json(Started {
            id: id.as_str().to_owned(),
            sms_sent: sms.as_str(),
        }),
    ))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct SmsCodeBody {
    code: Zeroizing<String>,
}

#[derive(Serialize)]
pub(super) struct Next {
    next: &'static str,
}

pub(super) async fn sms_code(
    State(state): State<Arc<AppState>>,
    ApiPath(id): ApiPath<String>,
    ApiJson(body): ApiJson<SmsCodeBody>,
) -> Result<Json<Next>, ApiError> {
    let id = attempt_id(&id)?;
    let now = state.now();
    state
        .fast
        .run(move |v| Ok(v.replacement_sms_code(&id, &body.code, now)))
        .await??;
    Ok(Json(Next { next: "device" }))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct DeviceBody {
    serial: String,
}

#[derive(Serialize)]
pub(super) struct OtpsRequired {
    otps_required: usize,
}

pub(super) async fn device(
    State(state): State<Arc<AppState>>,
    ApiPath(id): ApiPath<String>,
    ApiJson(body): ApiJson<DeviceBody>,
) -> Result<Json<OtpsRequired>, ApiError> {
    let id = attempt_id(&id)?;
    let now = state.now();
    let otps_required = state
        .fast
        .run(move |v| Ok(v.replacement_device(&id, &body.serial, now)))
        .await??;
    Ok(Json(OtpsRequired { otps_required }))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct OtpsBody {
    otps: Vec<String>,
}

#[derive(Serialize)]
pub(super) struct Completed {
    completed: bool,
    new_serial: String,
}

pub(super) async fn otps(
    State(state): State<Arc<AppState>>,
    ApiPath(id): ApiPath<String>,
    ApiJson(body): ApiJson<OtpsBody>,
) -> Result<Json<Completed>, ApiError> {
    let id = attempt_id(&id)?;
    if body.otps.len() > 8 {
        return Err(ApiError::unprocessable("otps: at most 8 codes"));
    }
    let now = state.now();
    let new = state
        .fast
        .run(move |v| {
            let otps: Vec<&str> = body.otps.iter().map(String::as_str).collect();
            Ok(v.replacement_otps(&id, &otps, now))
        })
        .await??;
    Ok(Json(Completed {
        completed: true,
        new_serial: new.as_str().to_owned(),
    }))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct OutboxQuery {
    phone: Option<String>,
}

/// One outbox row as listed: a message, or a row that does not read back
/// (its code no longer decrypts, a column is corrupt), shown by its id
/// and why rather than failing the whole listing.
#[derive(Serialize)]
#[serde(untagged)]
pub(super) enum OutboxEntry {
    Message(OutboxView),
    Unreadable {
        id: i64,
        status: &'static str,
        tries: u32,
        error: String,
    },
}

#[derive(Serialize)]
pub(super) struct OutboxView {
    /// The idempotency key the gateway receives; not secret.
    key: Option<String>,
    phone: String,
    text: String,
    code: String,
    sent_at: u64,
    status: &'static str,
    tries: u32,
}

/// The outbox gateway's messages, oldest first: what a test rig reads the
/// SMS code from. Admin only, since it holds live codes.
pub(super) async fn outbox(
    State(state): State<Arc<AppState>>,
    ApiQuery(query): ApiQuery<OutboxQuery>,
) -> Result<Json<Vec<OutboxEntry>>, ApiError> {
    let phone = query
        .phone
        .map(|p| PhoneNumber::parse(&p))
        .transpose()
        .map_err(|e| ApiError::unprocessable(format!("phone: {e}")))?;
    let messages = state
        .fast
        .run(move |v| v.sms_outbox_rows(phone.as_ref()))
        .await?;
    Ok(Json(
        messages
            .into_iter()
            .map(|message| match message {
                Ok(m) => OutboxEntry::Message(OutboxView {
                    key: m.key,
                    phone: m.phone.as_str().to_owned(),
                    text: m.text,
                    code: m.code.to_string(),
                    sent_at: m.sent_at.as_secs(),
                    status: m.status.as_str(),
                    tries: m.tries,
                }),
                Err(unreadable) => OutboxEntry::Unreadable {
                    id: unreadable.id,
                    status: "unreadable",
                    tries: unreadable.tries(),
                    error: unreadable.why.to_string(),
                },
            })
            .collect(),
    ))
}
