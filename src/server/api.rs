//! `POST /v1/validate` and `POST /v1/resync`.
//!
//! A decision is always `200` with `accepted` / `synchronised` and a
//! `reason`: a rejected code is an answer, not an error. 4xx is for
//! requests that cannot be decided (bad JSON, a malformed tax code or
//! serial, both or neither of `user` and `serial`).

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use serde::{Deserialize, Serialize};

use super::error::{ApiError, ApiJson};
use super::{AppState, pool::PoolError};
use crate::device::Serial;
use crate::user::{TaxCode, UserCode};
use crate::verifier::Outcome;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ValidateRequest {
    user: Option<String>,
    serial: Option<String>,
    otp: String,
}

#[derive(Serialize)]
pub struct ValidateResponse {
    accepted: bool,
    reason: &'static str,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResyncRequest {
    user_code: Option<String>,
    serial: Option<String>,
    otp1: String,
    otp2: String,
}

#[derive(Serialize)]
pub struct ResyncResponse {
    synchronised: bool,
    reason: &'static str,
}

/// Who a request is about: exactly one of two fields.
enum Subject<A> {
    Named(A),
    Serial(Serial),
}

fn subject<A>(
    named: Option<String>,
    serial: Option<String>,
    field: &str,
    parse: impl FnOnce(&str) -> Result<A, String>,
) -> Result<Subject<A>, ApiError> {
    match (named, serial) {
        (Some(name), None) => parse(&name)
            .map(Subject::Named)
            .map_err(|e| ApiError::unprocessable(format!("{field}: {e}"))),
        (None, Some(serial)) => Serial::parse(&serial)
            .map(Subject::Serial)
            .map_err(|e| ApiError::unprocessable(format!("serial: {e}"))),
        (Some(_), Some(_)) => Err(ApiError::unprocessable(format!(
            "give either {field} or serial, not both"
        ))),
        (None, None) => Err(ApiError::unprocessable(format!(
            "missing field: {field} or serial"
        ))),
    }
}

/// A decision, or the reason it could not be made about this subject
/// (unknown user, no active token): both are answers, not errors.
fn answer(
    result: Result<Outcome, PoolError>,
    state: &AppState,
    action: &'static str,
) -> Result<(bool, &'static str), ApiError> {
    let (accepted, reason) = match result {
        Ok(Outcome::Accepted { .. }) => (true, "ok"),
        Ok(Outcome::Rejected(reason)) => (false, reason.code()),
        Err(PoolError::Store(e)) => match e.missing() {
            Some(missing) => (false, missing),
            None => return Err(e.into()),
        },
        Err(e) => return Err(e.into()),
    };
    state.metrics.decision(action, accepted, reason);
    Ok((accepted, reason))
}

pub async fn validate(
    State(state): State<Arc<AppState>>,
    ApiJson(request): ApiJson<ValidateRequest>,
) -> Result<Json<ValidateResponse>, ApiError> {
    let who = subject(request.user, request.serial, "user", |s| {
        TaxCode::parse(s).map_err(|e| e.to_string())
    })?;
    let now = state.now();
    let otp = request.otp;
    let result = state
        .fast
        .run(move |v| match who {
            Subject::Named(user) => v.check_user(&user, &otp, now),
            Subject::Serial(serial) => v.check_serial(serial, &otp, now),
        })
        .await;
    let (accepted, reason) = answer(result, &state, "validate")?;
    Ok(Json(ValidateResponse { accepted, reason }))
}

pub async fn resync(
    State(state): State<Arc<AppState>>,
    ApiJson(request): ApiJson<ResyncRequest>,
) -> Result<Json<ResyncResponse>, ApiError> {
    let who = subject(request.user_code, request.serial, "user_code", |s| {
        UserCode::parse(s).map_err(|e| e.to_string())
    })?;
    let now = state.now();
    let (otp1, otp2) = (request.otp1, request.otp2);
    let result = state
        .fast
        .run(move |v| match who {
            Subject::Named(code) => v.resync_user_code(&code, &otp1, &otp2, now),
            Subject::Serial(serial) => v.resync_serial(serial, &otp1, &otp2, now),
        })
        .await;
    let (synchronised, reason) = answer(result, &state, "resync")?;
    Ok(Json(ResyncResponse {
        synchronised,
        reason,
    }))
}
