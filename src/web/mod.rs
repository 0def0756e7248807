//! Browser assets embedded in the binary — the tracker that pages load with one script tag — so
//! that running the server needs nothing beside it. Each asset is served at its plain URL
//! (cached for five minutes, then revalidated by `ETag`) and at a content-hashed URL that never
//! changes (cached for a year, `immutable`), gzip-compressed for clients that accept it.

use poem::http::{HeaderValue, StatusCode, header};
use poem::web::Path;
use poem::{Endpoint, Request, Response, handler};
use sha2::{Digest, Sha256};
use std::io::Write;
use std::sync::LazyLock;

/// One embedded file.
pub struct Asset {
    content_type: &'static str,
    bytes: &'static [u8],
    gzipped: Vec<u8>,
    /// The first 16 hex digits of the content's SHA-256.
    hash: String,
}

impl Asset {
    fn new(content_type: &'static str, bytes: &'static [u8]) -> Self {
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        gz.write_all(bytes).expect("writing to memory");
        let gzipped = gz.finish().expect("writing to memory");
        let hash = hex::encode(&Sha256::digest(bytes)[..8]);
        Self { content_type, bytes, gzipped, hash }
    }

    /// The file name of its content-hashed URL, e.g. `3f9a0c1b2d4e5f60.js`.
    pub fn hashed_name(&self, extension: &str) -> String {
        format!("{}.{extension}", self.hash)
    }

    /// The gzipped size, as browsers download it.
    pub fn gzipped_len(&self) -> usize {
        self.gzipped.len()
    }

    fn respond(&self, req: &Request, cache_control: &'static str) -> Response {
        let etag = format!("\"{}\"", self.hash);
        let fresh = req
            .headers()
            .get_all(header::IF_NONE_MATCH)
            .iter()
            .any(|v| v.to_str().is_ok_and(|v| v.split(',').any(|t| t.trim() == etag || t.trim() == "*")));
        let gzip = req
            .headers()
            .get(header::ACCEPT_ENCODING)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.split(',').any(|e| e.split(';').next().is_some_and(|e| e.trim() == "gzip")));
        let mut resp = if fresh {
            Response::builder().status(StatusCode::NOT_MODIFIED).finish()
        } else if gzip {
            Response::builder().header(header::CONTENT_ENCODING, "gzip").body(self.gzipped.clone())
        } else {
            Response::builder().body(self.bytes)
        };
        let headers = resp.headers_mut();
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(self.content_type));
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache_control));
        headers.insert(header::VARY, HeaderValue::from_static("Accept-Encoding"));
        headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
        // Pages of any origin load it with a script tag, cross-origin isolated ones included.
        headers.insert("cross-origin-resource-policy", HeaderValue::from_static("cross-origin"));
        if let Ok(v) = HeaderValue::from_str(&etag) {
            headers.insert(header::ETAG, v);
        }
        resp
    }
}

/// The tracker (`tracker.js` beside this file).
pub static TRACKER: LazyLock<Asset> =
    LazyLock::new(|| Asset::new("application/javascript; charset=utf-8", include_bytes!("tracker.js")));

const REVALIDATE: &str = "public, max-age=300";
const IMMUTABLE: &str = "public, max-age=31536000, immutable";

/// `GET /v1/tracker.js`.
pub fn tracker() -> impl Endpoint {
    #[handler]
    fn serve(req: &Request) -> Response {
        TRACKER.respond(req, REVALIDATE)
    }
    serve
}

/// `GET /v1/tracker/{hash}.js`: the same file under a URL that changes with it.
pub fn tracker_hashed() -> impl Endpoint {
    #[handler]
    fn serve(req: &Request, Path(file): Path<String>) -> poem::Result<Response> {
        if file != TRACKER.hashed_name("js") {
            return Err(poem::Error::from_status(StatusCode::NOT_FOUND));
        }
        Ok(TRACKER.respond(req, IMMUTABLE))
    }
    serve
}
