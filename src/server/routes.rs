//! The route tree: the API, its docs and spec, the tracker and the dashboard, and the middleware around
//! them.

use crate::api::{self, Edge, body::BodyLimit, error::ApiError};
use crate::reads::Reads;
use crate::state::AppState;
use crate::telemetry::Levels;
use crate::web;
use poem::endpoint::BoxEndpoint;
use poem::http::Method;
use poem::middleware::Cors;
use poem::web::Data;
use poem::{Endpoint, EndpointExt, Request, Response, Route};
use std::sync::Arc;
use subtle::ConstantTimeEq;

/// The docs: Swagger UI and the spec, built once and shared by the workers (the page embeds the
/// whole spec: megabytes a worker otherwise).
#[derive(Clone)]
pub struct Docs {
    ui: Arc<BoxEndpoint<'static>>,
    spec: bytes::Bytes,
}

impl Docs {
    pub fn new() -> Self {
        Self { ui: Arc::new(api::service().swagger_ui().map_to_response().boxed()), spec: api::spec_json().into() }
    }
}

/// The whole HTTP surface: the API, `/docs`, `/openapi.json`, CORS, and the edge middleware
/// outermost so that every response, preflights and errors included, is covered. `reads` are
/// the serving worker's own (where the hottest reads go to be answered together).
pub fn routes(state: Arc<AppState>, reads: Arc<Reads>, body_limit: BodyLimit, docs: Docs) -> impl Endpoint {
    let edge = Edge(state.metrics.clone());
    let spec = docs.spec.clone();
    let spec = poem::endpoint::make_sync(move |_| {
        poem::Response::builder().content_type("application/json; charset=utf-8").body(spec.clone())
    });
    let cors = Cors::new()
        .allow_methods([Method::GET, Method::POST, Method::PATCH, Method::DELETE, Method::OPTIONS])
        .allow_headers(["x-api-key", "authorization", "content-type", "x-publishable-key", "last-event-id"])
        .expose_headers(["x-request-id", "retry-after"])
        .max_age(86_400);
    Route::new()
        .nest("/docs", docs.ui)
        .at("/openapi.json", spec)
        .at("/v1/tracker.js", web::tracker())
        .at("/v1/tracker/:file", web::tracker_hashed())
        .at("/dashboard", web::dashboard())
        .at("/dashboard/", web::dashboard())
        .at("/dashboard/assets/:file", web::dashboard_asset())
        .at("/metrics", poem::get(metrics))
        .nest("/", api::service())
        .with(api::AuthGuard)
        .data(state)
        .data(reads)
        .data(body_limit)
        .with(api::JsonErrors)
        .with(cors)
        .with(edge)
}

/// `GET /metrics`, for Prometheus: the text exposition format, the levels read now. An operator
/// endpoint, outside the public spec; with a token configured, only for `Authorization: Bearer
/// <token>` (compared in constant time).
#[poem::handler]
fn metrics(req: &Request, state: Data<&Arc<AppState>>) -> poem::Result<Response> {
    if let Some(token) = &state.metrics_token {
        let authorization = req.headers().get("authorization").and_then(|v| v.to_str().ok());
        let presented = authorization.and_then(api::bearer_token).unwrap_or_default();
        if !bool::from(presented.as_bytes().ct_eq(token.as_bytes())) {
            return Err(ApiError::MetricsTokenInvalid.into());
        }
    }
    let levels = Levels {
        queued_per_lane: state.ingest.queued_per_lane(),
        pools: state.store.pool_levels(),
        stream_subscribers: state.hub.subscribers(),
    };
    Ok(Response::builder()
        .content_type(prometheus::TEXT_FORMAT)
        .header("cache-control", "no-store")
        .body(state.metrics.render(&levels)))
}
