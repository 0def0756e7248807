//! The outermost middleware: gives every request an id (`X-Request-Id`), renders every error as
//! the documented JSON (ours, poem's and poem-openapi's alike; panics become 500s), logs one
//! line per request and counts it in the metrics. Logs carry no URLs, bodies or keys: those are
//! customer data.

use super::error::ApiError;
use crate::telemetry::Metrics;
use futures_util::FutureExt;
use poem::http::{HeaderValue, Method};
use poem::{Endpoint, IntoResponse, Middleware, Request, Response};
use rand::RngCore;
use std::panic::AssertUnwindSafe;
use std::sync::{Arc, OnceLock};
use std::time::Instant;

/// The edge, counting requests in these metrics.
pub struct Edge(pub Arc<Metrics>);

impl<E: Endpoint> Middleware<E> for Edge {
    type Output = EdgeEndpoint<E>;

    fn transform(&self, ep: E) -> Self::Output {
        EdgeEndpoint(ep, self.0.clone())
    }
}

pub struct EdgeEndpoint<E>(E, Arc<Metrics>);

/// The request's id, as [`Edge`] gave it, for the layers inside it.
#[derive(Clone)]
struct RequestId(Arc<str>);

/// Renders errors as the documented JSON inside the CORS layer, which would otherwise turn them
/// into plain-text responses before [`Edge`] sees them (browsers' requests carry an `Origin`).
pub struct JsonErrors;

impl<E: Endpoint> Middleware<E> for JsonErrors {
    type Output = JsonErrorsEndpoint<E>;

    fn transform(&self, ep: E) -> Self::Output {
        JsonErrorsEndpoint(ep)
    }
}

pub struct JsonErrorsEndpoint<E>(E);

impl<E: Endpoint> Endpoint for JsonErrorsEndpoint<E> {
    type Output = Response;

    async fn call(&self, req: Request) -> poem::Result<Response> {
        // Shared, not copied: only an error needs them.
        let request_id = req.data::<RequestId>().map(|id| id.0.clone());
        let uri = req.uri().clone();
        Ok(match self.0.call(req).await {
            Ok(resp) => resp.into_response(),
            Err(err) => render(err, request_id.as_deref().unwrap_or_default(), uri.path()),
        })
    }
}

fn new_request_id() -> String {
    let mut bytes = [0u8; 8];
    rand::rng().fill_bytes(&mut bytes);
    format!("req_{}", hex::encode(bytes))
}

impl<E: Endpoint> Endpoint for EdgeEndpoint<E> {
    type Output = Response;

    async fn call(&self, mut req: Request) -> poem::Result<Response> {
        let request_id: Arc<str> = new_request_id().into();
        req.set_data(RequestId(request_id.clone()));
        let method = req.method().clone();
        let path = req.uri().path().to_owned();
        let started = Instant::now();
        let outcome = AssertUnwindSafe(self.0.call(req)).catch_unwind().await;
        let mut resp = match outcome {
            Ok(Ok(resp)) => resp.into_response(),
            Ok(Err(err)) => render(err, &request_id, &path),
            Err(_) => render(ApiError::Internal(anyhow::anyhow!("handler panicked")).into(), &request_id, &path),
        };
        if let Ok(v) = HeaderValue::from_str(&request_id) {
            resp.headers_mut().insert("x-request-id", v);
        }
        let elapsed = started.elapsed();
        let operation =
            resp.data::<poem_openapi::OperationId>().map_or_else(|| outside_the_spec(&method, &path), |op| op.0);
        self.1.observe_request(operation, resp.status(), elapsed);
        tracing::info!(
            request_id = &*request_id,
            method = %method,
            operation,
            status = resp.status().as_u16(),
            latency_us = elapsed.as_micros() as u64,
            "request"
        );
        Ok(resp)
    }
}

/// What to call a request no operation of the spec answered, for logs and metrics: a CORS
/// preflight, the part of the server it reached, or `unmatched` (no route, a wrong method).
fn outside_the_spec(method: &Method, path: &str) -> &'static str {
    match path {
        _ if method == Method::OPTIONS => "preflight",
        "/metrics" => "metrics",
        "/openapi.json" => "spec",
        p if p.starts_with("/v1/tracker") => "tracker",
        p if p.starts_with("/dashboard") => "dashboard",
        p if p.starts_with("/docs") => "docs",
        _ => "unmatched",
    }
}

/// The documented JSON for `err`, keeping the operation that failed, if one did.
fn render(err: poem::Error, request_id: &str, path: &str) -> Response {
    let operation = err.data::<poem_openapi::OperationId>().copied();
    let err = match err.downcast::<ApiError>() {
        Ok(ours) => ours,
        Err(foreign) => ApiError::from_foreign(&foreign),
    };
    if let ApiError::Internal(cause) = &err {
        tracing::error!(request_id, error = %format!("{cause:#}"), "internal error");
    }
    let body = serde_json::to_vec(&err.body(request_id)).unwrap_or_default();
    let mut resp = Response::builder().status(err.status()).content_type("application/json; charset=utf-8").body(body);
    if let Some(operation) = operation {
        resp.set_data(operation);
    }
    if let Some(secs) = err.retry_after(chrono::Utc::now()) {
        resp.headers_mut().insert("retry-after", HeaderValue::from(secs));
    }
    if matches!(err, ApiError::MethodNotAllowed)
        && let Some(allow) = allowed_methods(path).and_then(|m| HeaderValue::from_str(&m).ok())
    {
        resp.headers_mut().insert("allow", allow);
    }
    resp
}

/// The methods the spec documents for the path template that best matches `path` (static
/// segments beat parameters), for the `Allow` header of a 405 (RFC 9110).
fn allowed_methods(path: &str) -> Option<String> {
    static ROUTES: OnceLock<Vec<(Vec<String>, String)>> = OnceLock::new();
    let routes = ROUTES.get_or_init(|| {
        let spec: serde_json::Value = serde_json::from_str(&super::spec_json()).unwrap_or_default();
        let paths = spec["paths"].as_object().cloned().unwrap_or_default();
        paths
            .iter()
            .map(|(template, ops)| {
                let mut methods: Vec<String> =
                    ops.as_object().into_iter().flatten().map(|(m, _)| m.to_uppercase()).collect();
                methods.push("OPTIONS".into());
                (template.split('/').map(str::to_owned).collect(), methods.join(", "))
            })
            .collect()
    });
    let segments: Vec<&str> = path.split('/').collect();
    routes
        .iter()
        .filter(|(t, _)| {
            t.len() == segments.len() && t.iter().zip(&segments).all(|(t, s)| t.starts_with('{') || t == s)
        })
        .max_by_key(|(t, _)| t.iter().filter(|s| !s.starts_with('{')).count())
        .map(|(_, methods)| methods.clone())
}
