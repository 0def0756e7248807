//! The route tree: the API, its docs and spec, the tracker and the dashboard, and the middleware around
//! them.

use crate::api::{self, Edge, body::BodyLimit};
use crate::reads::Reads;
use crate::state::AppState;
use crate::web;
use poem::http::Method;
use poem::middleware::Cors;
use poem::{Endpoint, EndpointExt, Route};
use std::sync::Arc;

/// The whole HTTP surface: the API, `/docs`, `/openapi.json`, CORS, and the edge middleware
/// outermost so that every response, preflights and errors included, is covered. `reads` are
/// the serving worker's own (where the hottest reads go to be answered together).
pub fn routes(state: Arc<AppState>, reads: Arc<Reads>, body_limit: BodyLimit) -> impl Endpoint {
    let api = api::service();
    let docs = api.swagger_ui();
    let spec = bytes::Bytes::from(api::spec_json());
    let spec = poem::endpoint::make_sync(move |_| {
        poem::Response::builder().content_type("application/json; charset=utf-8").body(spec.clone())
    });
    let cors = Cors::new()
        .allow_methods([Method::GET, Method::POST, Method::DELETE, Method::OPTIONS])
        .allow_headers(["x-api-key", "authorization", "content-type", "x-publishable-key"])
        .expose_headers(["x-request-id", "retry-after"])
        .max_age(86_400);
    Route::new()
        .nest("/docs", docs)
        .at("/openapi.json", spec)
        .at("/v1/tracker.js", web::tracker())
        .at("/v1/tracker/:file", web::tracker_hashed())
        .at("/dashboard", web::dashboard())
        .at("/dashboard/", web::dashboard())
        .at("/dashboard/assets/:file", web::dashboard_asset())
        .nest("/", api)
        .with(api::AuthGuard)
        .data(state)
        .data(reads)
        .data(body_limit)
        .with(api::JsonErrors)
        .with(cors)
        .with(Edge)
}
