//! The one error shape every route answers with: `{"error": {"code": "...", "message": "..."}}`,
//! a stable machine-readable code and a sentence for people, under a 4xx status for the client's
//! mistakes and 5xx for ours. Handlers return [`ApiError`]; JSON and query rejections from axum are
//! mapped here too, so no route can leak another shape.
//!
//! Messages are written here, not passed through: an upstream failure (the node, the database)
//! can carry a provider URL with its API key in it, so its detail goes to the log and the client
//! gets a stable code and a generic sentence.

use axum::{
    extract::{rejection::JsonRejection, FromRequest, Request},
    http::StatusCode,
    response::{IntoResponse, Response},
};
use serde::de::DeserializeOwned;

/// An error as the client sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    /// HTTP status.
    pub status: StatusCode,
    /// Stable code, e.g. `invalid_address`.
    pub code: &'static str,
    /// What went wrong, for a person.
    pub message: String,
    /// Seconds to wait before asking again (`Retry-After`), for 429s.
    pub retry_after: Option<u64>,
}

impl ApiError {
    /// An error with this status, code and message.
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self { status, code, message: message.into(), retry_after: None }
    }

    /// 429: too many requests from this address or account; try again in `retry_after` seconds.
    pub fn rate_limited(retry_after: u64) -> Self {
        Self {
            retry_after: Some(retry_after),
            ..Self::new(
                StatusCode::TOO_MANY_REQUESTS,
                "rate_limited",
                format!("too many requests; try again in {retry_after} s"),
            )
        }
    }

    /// 400: the request is malformed or breaks a rule.
    pub fn bad_request(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, code, message)
    }

    /// 401: no valid session.
    pub fn unauthorized(message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "unauthorized", message)
    }

    /// 403: signed in, but not allowed.
    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, "forbidden", message)
    }

    /// 404.
    pub fn not_found(what: &str) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", format!("{what} not found"))
    }

    /// 422: well-formed, but breaks a rule the escrow enforces (it would refuse the agreement).
    pub fn unprocessable(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNPROCESSABLE_ENTITY, code, message)
    }

    /// 409: the request conflicts with the current state.
    pub fn conflict(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, code, message)
    }

    /// 500: our fault; the detail goes to the log, not to the client.
    pub fn internal(detail: impl std::fmt::Display) -> Self {
        tracing::error!(error = %detail, "internal error");
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "internal error; see the server log",
        )
    }

    /// 502: the Ethereum node failed. The detail goes to the log only: a transport error names
    /// the node's URL, and a provider's URL often holds its API key.
    pub fn upstream(detail: impl std::fmt::Display) -> Self {
        tracing::warn!(error = %detail, "RPC node error");
        Self::new(
            StatusCode::BAD_GATEWAY,
            "rpc_unavailable",
            "the Ethereum node is unavailable; try again later",
        )
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = serde_json::json!({ "error": { "code": self.code, "message": self.message } });
        let mut res = (self.status, axum::Json(body)).into_response();
        if let Some(secs) = self.retry_after {
            res.headers_mut().insert(axum::http::header::RETRY_AFTER, secs.into());
        }
        res
    }
}

impl From<pactum_db::Error> for ApiError {
    fn from(e: pactum_db::Error) -> Self {
        Self::internal(e)
    }
}

impl From<sqlx::Error> for ApiError {
    fn from(e: sqlx::Error) -> Self {
        Self::internal(e)
    }
}

/// The error body, for the API reference.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct ErrorBody {
    /// The error.
    pub error: ErrorDetail,
}

/// Code and message.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct ErrorDetail {
    /// Stable, machine-readable.
    pub code: String,
    /// For people.
    pub message: String,
}

/// Errors every route that reads a session may give, for the API reference
/// (`responses(..., SessionErrors)`).
#[derive(Debug, utoipa::IntoResponses)]
pub enum SessionErrors {
    /// An unknown, expired or logged-out token, a malformed `Authorization` header, or no token
    /// where the route needs one (`unauthorized`).
    #[response(status = 401)]
    Unauthorized(ErrorBody),
    /// Too many requests from this account (`rate_limited`; see `Retry-After`).
    #[response(status = 429)]
    RateLimited(ErrorBody),
    /// Our fault; the detail is in the server log (`internal`).
    #[response(status = 500)]
    Internal(ErrorBody),
}

/// Errors every route that takes a JSON body may give, besides a 400, for the API reference.
#[derive(Debug, utoipa::IntoResponses)]
pub enum BodyErrors {
    /// The body is larger than the server accepts (`body_too_large`).
    #[response(status = 413)]
    TooLarge(ErrorBody),
    /// The body is not sent as JSON (`unsupported_media_type`).
    #[response(status = 415)]
    NotJson(ErrorBody),
}

/// `axum::Json`, with its rejections (bad JSON, wrong content type, body too large) in our shape.
#[derive(Debug, Clone, Copy, Default)]
pub struct Json<T>(pub T);

impl<S, T> FromRequest<S> for Json<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        match axum::Json::<T>::from_request(req, state).await {
            Ok(axum::Json(v)) => Ok(Self(v)),
            Err(rejection) => Err(json_rejection(rejection)),
        }
    }
}

impl<T: serde::Serialize> IntoResponse for Json<T> {
    fn into_response(self) -> Response {
        axum::Json(self.0).into_response()
    }
}

/// [`Json`] for a body that is an escrow action, an internally tagged enum named by `"action"`
/// ([`crate::actions::ActionRequest`]). Content type, size and syntax are checked as for every
/// body; then the tag names the variant, so its failures keep the codes the action route has
/// always given: `unknown_action` for an action that does not exist, `missing_field` for a field
/// the action needs ("approve needs milestone"), and `invalid_body` for anything else (a field the
/// action does not take, such as another action's, a wrong type, a duplicate key).
#[derive(Debug, Clone, Copy, Default)]
pub struct ActionJson<T>(pub T);

impl<S, T> FromRequest<S> for ActionJson<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let Json(raw) = Json::<Box<serde_json::value::RawValue>>::from_request(req, state).await?;
        let text = raw.get();
        if !text.trim_start().starts_with('{') {
            // serde would also read an internally tagged enum from an array.
            return Err(ApiError::bad_request(
                "invalid_body",
                "the body is a JSON object naming its action: {\"action\": \"approve\", …}",
            ));
        }
        serde_json::from_str(text).map(Self).map_err(|e| action_body_error(text, &e))
    }
}

fn action_body_error(text: &str, e: &serde_json::Error) -> ApiError {
    #[derive(serde::Deserialize)]
    struct Tag {
        action: Option<serde_json::Value>,
    }
    let action = serde_json::from_str::<Tag>(text)
        .ok()
        .and_then(|t| t.action)
        .and_then(|a| a.as_str().map(str::to_owned));
    let detail = e.to_string();
    // serde_json appends the position; inside a tagged enum it is often meaningless.
    let detail = detail.split(" at line ").next().unwrap_or_default();
    let quoted = |s: &str| s.split('`').nth(1).map(str::to_owned).unwrap_or_default();
    let see = "(each action's fields: ActionRequest in /openapi.json)";
    if detail.starts_with("missing field `") {
        let field = quoted(detail);
        let message = match action {
            Some(a) if field != "action" => format!("{a} needs {field} {see}"),
            _ => format!("the body needs an action, e.g. {{\"action\": \"approve\", …}} {see}"),
        };
        return ApiError::bad_request("missing_field", message);
    }
    if detail.starts_with("unknown variant `") {
        let expected = detail.split_once(", ").map_or("", |(_, rest)| rest);
        return ApiError::bad_request(
            "unknown_action",
            format!("{:?} is not an escrow action; {expected}", quoted(detail)),
        );
    }
    let message = match action {
        Some(a) => format!("{a}: {detail} {see}"),
        None => format!("{detail} {see}"),
    };
    ApiError::bad_request("invalid_body", message)
}

fn json_rejection(r: JsonRejection) -> ApiError {
    match r {
        JsonRejection::JsonDataError(e) => ApiError::bad_request("invalid_body", e.body_text()),
        JsonRejection::JsonSyntaxError(e) => ApiError::bad_request("invalid_json", e.body_text()),
        JsonRejection::MissingJsonContentType(_) => ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "send the body as JSON with `Content-Type: application/json`",
        ),
        JsonRejection::BytesRejection(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => {
            ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, "body_too_large", e.body_text())
        }
        other => ApiError::bad_request("invalid_body", other.body_text()),
    }
}

/// `axum::extract::Query`, with its rejection (an unknown or malformed parameter) in our shape.
#[derive(Debug, Clone, Copy, Default)]
pub struct Query<T>(pub T);

impl<S, T> axum::extract::FromRequestParts<S> for Query<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        state: &S,
    ) -> Result<Self, Self::Rejection> {
        axum::extract::Query::<T>::from_request_parts(parts, state)
            .await
            .map(|axum::extract::Query(v)| Self(v))
            .map_err(|e| ApiError::bad_request("invalid_query", e.body_text()))
    }
}
