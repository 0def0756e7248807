//! The tracker that pages load with one script tag (`tracker.js` beside this file).

use super::asset::{Asset, IMMUTABLE};
use poem::http::{HeaderValue, StatusCode};
use poem::web::Path;
use poem::{Endpoint, Request, Response, handler};
use std::sync::LazyLock;

pub static TRACKER: LazyLock<Asset> =
    LazyLock::new(|| Asset::new("application/javascript; charset=utf-8", include_bytes!("tracker.js").as_slice()));

const REVALIDATE: &str = "public, max-age=300";

fn respond(req: &Request, cache_control: &'static str) -> Response {
    let mut resp = TRACKER.respond(req, cache_control);
    // Pages of any origin load it with a script tag, cross-origin isolated ones included.
    resp.headers_mut().insert("cross-origin-resource-policy", HeaderValue::from_static("cross-origin"));
    resp
}

/// `GET /v1/tracker.js`.
pub fn tracker() -> impl Endpoint {
    #[handler]
    fn serve(req: &Request) -> Response {
        respond(req, REVALIDATE)
    }
    serve
}

/// `GET /v1/tracker/{hash}.js`: the same file under a URL that changes with it.
pub fn tracker_hashed() -> impl Endpoint {
    #[handler]
    fn serve(req: &Request, Path(file): Path<String>) -> poem::Result<Response> {
        if file != TRACKER.hashed_name("", "js") {
            return Err(poem::Error::from_status(StatusCode::NOT_FOUND));
        }
        Ok(respond(req, IMMUTABLE))
    }
    serve
}
