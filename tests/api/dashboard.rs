use crate::helpers::{TestApp, spawn};
use serde_json::json;
use std::collections::BTreeSet;

const CSP: &str = "default-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

fn header(r: &reqwest::Response, name: &str) -> Option<String> {
    r.headers().get(name).map(|v| v.to_str().unwrap().to_owned())
}

/// The `/dashboard/assets/…` URLs a text names.
fn linked(text: &str) -> BTreeSet<String> {
    text.split("/dashboard/assets/")
        .skip(1)
        .map(|s| format!("/dashboard/assets/{}", &s[..s.find(['"', '\'']).unwrap()]))
        .collect()
}

#[tokio::test]
async fn the_page_is_revalidated_and_locked_to_its_own_origin() {
    let app = spawn().await;
    let page = app.http.get(format!("{}/dashboard", app.base)).send().await.unwrap();
    assert_eq!(page.status(), 200);
    assert_eq!(header(&page, "content-type").as_deref(), Some("text/html; charset=utf-8"));
    assert_eq!(header(&page, "cache-control").as_deref(), Some("no-cache"));
    assert_eq!(header(&page, "content-security-policy").as_deref(), Some(CSP));
    assert_eq!(header(&page, "x-frame-options").as_deref(), Some("DENY"));
    assert_eq!(header(&page, "referrer-policy").as_deref(), Some("no-referrer"));
    let etag = header(&page, "etag").unwrap();
    let html = page.text().await.unwrap();
    assert!(html.contains("<script type=\"module\" src=\"/dashboard/assets/app."), "{html}");
    let again = app.http.get(format!("{}/dashboard", app.base)).header("if-none-match", &etag).send().await.unwrap();
    assert_eq!(again.status(), 304);
    let slash = app.http.get(format!("{}/dashboard/", app.base)).send().await.unwrap();
    assert_eq!(slash.text().await.unwrap(), html);
}

#[tokio::test]
async fn every_file_it_loads_is_served_immutable_and_gzipped() {
    let app = spawn().await;
    let html = app.http.get(format!("{}/dashboard", app.base)).send().await.unwrap().text().await.unwrap();
    let mut todo: Vec<String> = linked(&html).into_iter().collect();
    let mut seen = BTreeSet::new();
    while let Some(url) = todo.pop() {
        if !seen.insert(url.clone()) {
            continue;
        }
        let r = app.http.get(format!("{}{url}", app.base)).send().await.unwrap();
        assert_eq!(r.status(), 200, "{url}");
        assert_eq!(header(&r, "cache-control").as_deref(), Some("public, max-age=31536000, immutable"), "{url}");
        assert_eq!(header(&r, "content-security-policy").as_deref(), Some(CSP), "{url}");
        assert_eq!(header(&r, "x-content-type-options").as_deref(), Some("nosniff"), "{url}");
        let kind = header(&r, "content-type").unwrap();
        let expected = match url.rsplit('.').next().unwrap() {
            "js" => "text/javascript; charset=utf-8",
            "css" => "text/css; charset=utf-8",
            "svg" => "image/svg+xml",
            other => panic!("unexpected asset type {other}"),
        };
        assert_eq!(kind, expected, "{url}");
        let body = r.text().await.unwrap();
        // Modules import siblings by their hashed names: follow them.
        for import in body.lines().filter(|l| l.starts_with("import ")) {
            let spec = import.rsplit_once("\"./").unwrap().1.trim_end_matches("\";");
            todo.push(format!("/dashboard/assets/{spec}"));
        }
    }
    let names: Vec<&str> =
        seen.iter().map(|u| u.trim_start_matches("/dashboard/assets/").split('.').next().unwrap()).collect();
    for module in ["app", "api", "dom", "charts", "uplot", "overview", "sessions", "session", "people", "interventions"]
    {
        assert!(names.contains(&module), "{module} is reachable from the page: {names:?}");
    }
    let uplot = seen.iter().find(|u| u.contains("/uplot.") && u.ends_with(".js")).unwrap();
    let gz = app.http.get(format!("{}{uplot}", app.base)).header("accept-encoding", "gzip").send().await.unwrap();
    assert_eq!(header(&gz, "content-encoding").as_deref(), Some("gzip"));
    let mut unzipped = Vec::new();
    std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(&gz.bytes().await.unwrap()[..]), &mut unzipped)
        .unwrap();
    assert_eq!(unzipped, include_bytes!("../../src/web/vendor/uplot/uPlot.esm.js"), "vendored, unmodified");
}

#[tokio::test]
async fn unknown_assets_are_404() {
    let app = spawn().await;
    for path in
        ["/dashboard/assets/app.0123456789abcdef.js", "/dashboard/assets/app.js", "/dashboard/assets/..%2Fmod.rs"]
    {
        let r = TestApp::read(app.http.get(format!("{}{path}", app.base))).await;
        r.expect(404, json!({"error": "Not Found", "message": "No such endpoint"}));
    }
}
