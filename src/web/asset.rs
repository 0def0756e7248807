//! One embedded file, ready to serve: its bytes, their gzip, and a content hash for its `ETag`
//! and its immutable URL.

use bytes::Bytes;
use poem::http::{HeaderValue, StatusCode, header};
use poem::{Request, Response};
use sha2::{Digest, Sha256};
use std::io::Write;

pub struct Asset {
    content_type: &'static str,
    /// Shared, so a response costs a reference count, not a copy.
    bytes: Bytes,
    gzipped: Bytes,
    /// The first 16 hex digits of the content's SHA-256.
    hash: String,
}

/// For a file that changes only with a release: a year, never revalidated.
pub const IMMUTABLE: &str = "public, max-age=31536000, immutable";

impl Asset {
    pub fn new(content_type: &'static str, bytes: impl Into<Vec<u8>>) -> Self {
        let bytes = Bytes::from(bytes.into());
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        gz.write_all(&bytes).expect("writing to memory");
        let gzipped = Bytes::from(gz.finish().expect("writing to memory"));
        let hash = hex::encode(&Sha256::digest(&bytes)[..8]);
        Self { content_type, bytes, gzipped, hash }
    }

    /// The name of its content-hashed URL: `stem` and the hash, e.g. `3f9a0c1b2d4e5f60.js`
    /// for an empty stem or `app.3f9a0c1b2d4e5f60.js`.
    pub fn hashed_name(&self, stem: &str, extension: &str) -> String {
        if stem.is_empty() { format!("{}.{extension}", self.hash) } else { format!("{stem}.{}.{extension}", self.hash) }
    }

    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// The gzipped size, as browsers download it.
    pub fn gzipped_len(&self) -> usize {
        self.gzipped.len()
    }

    /// The file (gzipped when the client accepts it), or 304 when the client's copy has its
    /// `ETag`; with `Cache-Control: cache_control`.
    pub fn respond(&self, req: &Request, cache_control: &'static str) -> Response {
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
            Response::builder().body(self.bytes.clone())
        };
        let headers = resp.headers_mut();
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(self.content_type));
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache_control));
        headers.insert(header::VARY, HeaderValue::from_static("Accept-Encoding"));
        headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
        if let Ok(v) = HeaderValue::from_str(&etag) {
            headers.insert(header::ETAG, v);
        }
        resp
    }
}
