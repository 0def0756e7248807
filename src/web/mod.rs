//! Browser code embedded in the binary, so that running the server needs nothing beside it:
//! the tracker that pages load with one script tag, and the dashboard. Each file is served at a
//! content-hashed URL that never changes (cached for a year, `immutable`) and, where people type
//! or paste the URL, at a plain one revalidated by `ETag`; gzip-compressed for clients that
//! accept it.

mod asset;
mod dashboard;
mod tracker;

pub use asset::Asset;
pub use dashboard::{DASHBOARD, dashboard, dashboard_asset};
pub use tracker::{TRACKER, tracker, tracker_hashed};
