//! How the API says no: a status and `{"error": "<one line>"}` (plus a
//! stable `reason` code where there is one). Never a code, key, password
//! or the internals of a database error. A full store queue is `503` with
//! `Retry-After` and reason `overloaded`.

use axum::Json;
use axum::extract::{FromRequest, FromRequestParts, Path, Query, Request};
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::pool::PoolError;
use crate::error::ErrorKind;
use crate::store::StoreError;

#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub message: String,
    pub reason: Option<&'static str>,
    /// Seconds for the `Retry-After` header.
    pub retry_after: Option<u32>,
}

/// Marks a response refused because a store queue was full, so the
/// metrics layer counts it as shed rather than guess from the status.
#[derive(Clone, Copy, Debug)]
pub struct Shed;

/// A full queue drains within milliseconds at the rate a pool sustains;
/// the header counts whole seconds, so one is the shortest honest hint.
const RETRY_AFTER_SECONDS: u32 = 1;

#[derive(Serialize)]
struct Body<'a> {
    error: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    reason: Option<&'static str>,
}

impl ApiError {
    pub fn new(status: StatusCode, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            message: message.into(),
            reason: None,
            retry_after: None,
        }
    }

    pub fn bad_request(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, message)
    }

    pub fn unprocessable(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, message)
    }

    pub fn with_reason(mut self, reason: &'static str) -> ApiError {
        self.reason = Some(reason);
        self
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        // A shed request is the server working as meant, and at overload
        // an error line per refusal would cost what the refusal saves.
        if self.status.is_server_error() && self.reason != Some(OVERLOADED) {
            tracing::error!(status = %self.status, error = %self.message, "request failed");
        }
        let body = Body {
            error: &self.message,
            reason: self.reason,
        };
        let mut response = (self.status, Json(body)).into_response();
        if let Some(seconds) = self.retry_after {
            response
                .headers_mut()
                .insert(axum::http::header::RETRY_AFTER, seconds.into());
        }
        if self.reason == Some(OVERLOADED) {
            response.extensions_mut().insert(Shed);
        }
        response
    }
}

impl ApiError {
    /// The one place an error's kind becomes a status. A client's error
    /// carries its own one-line message (which names serials and users,
    /// never secrets); the others a generic one, the detail in the log.
    pub fn of_kind(kind: ErrorKind, error: &dyn std::error::Error) -> ApiError {
        let status = match kind {
            ErrorKind::Invalid => StatusCode::UNPROCESSABLE_ENTITY,
            ErrorKind::NotFound => StatusCode::NOT_FOUND,
            ErrorKind::Conflict => StatusCode::CONFLICT,
            ErrorKind::Busy | ErrorKind::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
            ErrorKind::Config | ErrorKind::Internal => {
                tracing::error!(error = %error, "internal error");
                return ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal store error");
            }
        };
        ApiError::new(status, error.to_string())
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> ApiError {
        ApiError::of_kind(e.kind(), &e)
    }
}

/// The stable reason code of a refusal for a full queue.
pub const OVERLOADED: &str = "overloaded";

impl From<PoolError> for ApiError {
    fn from(e: PoolError) -> ApiError {
        match e {
            PoolError::Store(e) => e.into(),
            PoolError::Commit(e) => {
                tracing::error!(error = %e, "commit failed");
                ApiError::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "the database did not commit",
                )
            }
            PoolError::WorkerGone => ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "the server is shutting down",
            ),
            PoolError::Overloaded => ApiError {
                retry_after: Some(RETRY_AFTER_SECONDS),
                ..ApiError::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "the server is overloaded; retry later",
                )
                .with_reason(OVERLOADED)
            },
        }
    }
}

/// `axum::Json` with its rejections (bad JSON, wrong types, missing or
/// unknown fields, wrong content type, oversized body) as [`ApiError`]s.
pub struct ApiJson<T>(pub T);

impl<T, S> FromRequest<S> for ApiJson<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        match Json::<T>::from_request(req, state).await {
            Ok(Json(value)) => Ok(ApiJson(value)),
            Err(rejection) => Err(rejected(rejection)),
        }
    }
}

/// `axum::extract::Query` with its rejection (a query string that does
/// not deserialize) as an [`ApiError`], not axum's plain text.
pub struct ApiQuery<T>(pub T);

impl<T, S> FromRequestParts<S> for ApiQuery<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        match Query::<T>::from_request_parts(parts, state).await {
            Ok(Query(value)) => Ok(ApiQuery(value)),
            Err(rejection) => Err(rejected(rejection)),
        }
    }
}

/// `axum::extract::Path` with its rejection (a segment that is not UTF-8
/// once percent-decoded) as an [`ApiError`].
pub struct ApiPath<T>(pub T);

impl<T, S> FromRequestParts<S> for ApiPath<T>
where
    T: DeserializeOwned + Send,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        match Path::<T>::from_request_parts(parts, state).await {
            Ok(Path(value)) => Ok(ApiPath(value)),
            Err(rejection) => Err(rejected(rejection)),
        }
    }
}

/// An axum rejection as the API's one-line JSON error, same status.
fn rejected(rejection: impl IntoResponse + std::fmt::Display) -> ApiError {
    let text = rejection.to_string();
    let status = rejection.into_response().status();
    ApiError::new(status, first_line(&text))
}

pub fn first_line(text: &str) -> String {
    text.lines().next().unwrap_or("").to_owned()
}
