//! The dashboard: a page of plain ES modules (`dashboard/` beside this file) and the vendored
//! chart library, reading everything through the public API with the secret key the visitor
//! types in. No build step: each module is served as written, except that its imports of
//! sibling modules (`"./name.js"`) are rewritten to their content-hashed names, leaves first, so
//! every URL the page loads is immutable and a release changes exactly the URLs whose content
//! changed. Only `index.html` itself is revalidated.

use super::asset::{Asset, IMMUTABLE};
use poem::http::{HeaderValue, StatusCode, header};
use poem::web::Path;
use poem::{Endpoint, Request, Response, handler};
use std::collections::HashMap;
use std::sync::LazyLock;

/// Where the dashboard's files are served from.
pub const ASSETS_PATH: &str = "/dashboard/assets/";

/// The sources, by the name modules import them by. Add a module here when you add a file.
const SOURCES: &[(&str, &str, &[u8])] = &[
    ("app.js", JS, include_bytes!("dashboard/app.js")),
    ("api.js", JS, include_bytes!("dashboard/api.js")),
    ("dom.js", JS, include_bytes!("dashboard/dom.js")),
    ("moods.js", JS, include_bytes!("dashboard/moods.js")),
    ("time.js", JS, include_bytes!("dashboard/time.js")),
    ("charts.js", JS, include_bytes!("dashboard/charts.js")),
    ("affect.js", JS, include_bytes!("dashboard/affect.js")),
    ("exports.js", JS, include_bytes!("dashboard/exports.js")),
    ("overview.js", JS, include_bytes!("dashboard/overview.js")),
    ("sessions.js", JS, include_bytes!("dashboard/sessions.js")),
    ("session.js", JS, include_bytes!("dashboard/session.js")),
    ("people.js", JS, include_bytes!("dashboard/people.js")),
    ("interventions.js", JS, include_bytes!("dashboard/interventions.js")),
    ("uplot.js", JS, include_bytes!("vendor/uplot/uPlot.esm.js")),
    ("uplot.css", CSS, include_bytes!("vendor/uplot/uPlot.min.css")),
    ("style.css", CSS, include_bytes!("dashboard/style.css")),
    ("icon.svg", "image/svg+xml", include_bytes!("dashboard/icon.svg")),
];

const JS: &str = "text/javascript; charset=utf-8";
const CSS: &str = "text/css; charset=utf-8";

/// The page and its files, hashed once at start-up.
pub struct Dashboard {
    pub index: Asset,
    /// By hashed file name (`app.3f9a0c1b2d4e5f60.js`).
    pub files: HashMap<String, Asset>,
}

pub static DASHBOARD: LazyLock<Dashboard> = LazyLock::new(Dashboard::build);

impl Dashboard {
    fn build() -> Self {
        let mut hashed: HashMap<&str, String> = HashMap::new();
        let mut files = HashMap::new();
        for (name, _, _) in SOURCES {
            resolve(name, &mut hashed, &mut files, &mut Vec::new());
        }
        let mut index = String::from_utf8(include_bytes!("dashboard/index.html").to_vec()).expect("UTF-8");
        for (name, file) in &hashed {
            index = index.replace(&format!("{{{{{name}}}}}"), &format!("{ASSETS_PATH}{file}"));
        }
        assert!(!index.contains("{{"), "index.html names a file missing from SOURCES");
        Self { index: Asset::new("text/html; charset=utf-8", index), files }
    }
}

/// Hashes `name` after the sibling modules it imports, rewriting those imports to their hashed
/// names; records its hashed name in `hashed` and its asset in `files`.
fn resolve<'a>(
    name: &'a str,
    hashed: &mut HashMap<&'a str, String>,
    files: &mut HashMap<String, Asset>,
    path: &mut Vec<&'a str>,
) {
    if hashed.contains_key(name) {
        return;
    }
    assert!(!path.contains(&name), "dashboard modules import each other in a cycle: {path:?} → {name}");
    let (_, content_type, bytes) = SOURCES.iter().find(|(n, _, _)| *n == name).expect("a known source");
    let mut content = bytes.to_vec();
    if *content_type == JS {
        let mut text = String::from_utf8(content).expect("UTF-8 modules");
        path.push(name);
        for (dep, _, _) in SOURCES {
            let spec = format!("\"./{dep}\"");
            if *dep != name && text.contains(&spec) {
                resolve(dep, hashed, files, path);
                text = text.replace(&spec, &format!("\"./{}\"", hashed[dep]));
            }
        }
        path.pop();
        content = text.into_bytes();
    }
    let (stem, extension) = name.rsplit_once('.').expect("names have an extension");
    let asset = Asset::new(content_type, content);
    let file = asset.hashed_name(stem, extension);
    hashed.insert(name, file.clone());
    files.insert(file, asset);
}

/// Headers for every dashboard response: scripts, styles, images and requests only from this
/// origin (no inline script, no CDN), never framed, and no referrer to anywhere.
fn harden(mut resp: Response) -> Response {
    let headers = resp.headers_mut();
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("default-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    headers.insert("cross-origin-resource-policy", HeaderValue::from_static("same-origin"));
    resp
}

/// `GET /dashboard`: the page, revalidated on every visit.
pub fn dashboard() -> impl Endpoint {
    #[handler]
    fn serve(req: &Request) -> Response {
        harden(DASHBOARD.index.respond(req, "no-cache"))
    }
    serve
}

/// `GET /dashboard/assets/{file}`: its modules, styles and icon, immutable.
pub fn dashboard_asset() -> impl Endpoint {
    #[handler]
    fn serve(req: &Request, Path(file): Path<String>) -> poem::Result<Response> {
        let asset = DASHBOARD.files.get(&file).ok_or_else(|| poem::Error::from_status(StatusCode::NOT_FOUND))?;
        Ok(harden(asset.respond(req, IMMUTABLE)))
    }
    serve
}

#[cfg(test)]
mod tests {
    use super::*;
    use sha2::{Digest, Sha256};

    fn text(asset: &Asset) -> &str {
        std::str::from_utf8(asset.bytes()).unwrap()
    }

    #[test]
    fn every_module_import_is_rewritten_to_a_served_file() {
        let d = &*DASHBOARD;
        for (name, asset) in &d.files {
            if !name.ends_with(".js") {
                continue;
            }
            for line in text(asset).lines().filter(|l| l.trim_start().starts_with("import ")) {
                let spec = line.rsplit_once("from ").map_or(line, |(_, s)| s);
                let target = spec.trim().trim_end_matches(';').trim_matches('"').trim_start_matches("./");
                assert!(d.files.contains_key(target), "{name}: {line} imports a file the server does not serve");
            }
        }
        let index = text(&d.index);
        for file in index.split(ASSETS_PATH).skip(1).map(|s| &s[..s.find('"').unwrap()]) {
            assert!(d.files.contains_key(file), "index.html links {file}");
        }
    }

    #[test]
    fn the_page_has_no_inline_script_or_style() {
        let index = text(&DASHBOARD.index);
        assert!(!index.contains("<script>") && !index.contains("style=") && !index.contains("<style"));
        for src in index.split("<script").skip(1) {
            assert!(src.trim_start().starts_with("type=\"module\" src="), "every script is a file: {src}");
        }
    }

    #[test]
    fn the_vendored_chart_library_is_the_release_it_says() {
        let readme = include_str!("vendor/uplot/README.md");
        for (file, bytes) in [
            ("uPlot.esm.js", include_bytes!("vendor/uplot/uPlot.esm.js").as_slice()),
            ("uPlot.min.css", include_bytes!("vendor/uplot/uPlot.min.css").as_slice()),
        ] {
            let digest = hex::encode(Sha256::digest(bytes));
            assert!(readme.contains(&digest), "{file} differs from the release its README names");
        }
    }
}
