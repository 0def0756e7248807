use crate::helpers::{TestApp, spawn_with};
use chrono::DateTime;
use moodring::state::Clock;
use serde_json::{Value, json};

const MOODS: [&str; 7] = ["frustrated", "confused", "decisive", "browsing", "disengaged", "focused", "neutral"];

/// 2026-03-28 10:00 UTC, Unix seconds.
const MAR28_10H: i64 = 1_774_692_000;

fn at(offset_s: i64) -> i64 {
    MAR28_10H + offset_s
}

/// A: a meltdown on the 28th, one click on the 29th at 09:00 UTC. B: three page views on the
/// 29th at 22:30 UTC, which is already the 30th in Paris (UTC+2 since that morning).
async fn scenario() -> (TestApp, String) {
    let app = spawn_with(Clock::fixed(DateTime::from_timestamp(at(3 * 86_400), 0).unwrap())).await;
    let key = app.key("starter").await;
    let meltdown: Vec<Value> = [("rage_click", 0), ("error", 2), ("rage_click", 8), ("error", 10), ("back_nav", 12)]
        .iter()
        .map(|(t, s)| json!({"type": t, "ts": at(*s), "x": 10, "y": 10}))
        .collect();
    app.post_events(&key, "a", json!(meltdown)).await;
    app.post_events(&key, "a", json!([{"type": "click", "ts": at(23 * 3600)}])).await;
    let views: Vec<Value> = (0..3)
        .map(|i| json!({"type": "page_view", "url": format!("/p{i}"), "ts": at(36 * 3600 + 1800 + i * 20)}))
        .collect();
    app.post_events(&key, "b", json!(views)).await;
    (app, key)
}

fn empty(start: &str, end: &str) -> Value {
    json!({"start": start, "end": end, "sessions": 0, "events": 0,
           "moods": MOODS.iter().map(|m| json!({"mood": m, "count": 0, "share": 0.0})).collect::<Vec<_>>()})
}

/// The history entries of a session, oldest first.
async fn history(app: &TestApp, key: &str, session: &str) -> Vec<Value> {
    let mut e =
        app.get(&format!("/v1/sessions/{session}/mood-history"), key).await.json["entries"].as_array().unwrap().clone();
    e.reverse();
    e
}

fn bucket_of(entries: &[&Value], start: &str, end: &str) -> Value {
    let mut moods: Vec<Value> = MOODS.iter().map(|m| json!({"mood": m, "count": 0, "share": 0.0})).collect();
    for e in entries {
        let i = MOODS.iter().position(|m| *m == e["label"]).unwrap();
        moods[i]["count"] = json!(moods[i]["count"].as_i64().unwrap() + 1);
    }
    for m in &mut moods {
        m["share"] = json!((m["count"].as_f64().unwrap() / entries.len() as f64 * 10_000.0).round() / 10_000.0);
    }
    let mean = |k: &str| {
        let mean = entries.iter().map(|e| e[k].as_f64().unwrap()).sum::<f64>() / entries.len() as f64;
        (mean * 10_000.0).round() / 10_000.0
    };
    json!({"start": start, "end": end, "sessions": entries.len(), "moods": moods,
           "valence": mean("valence"), "arousal": mean("arousal"), "tension": mean("tension"), "affiliation": mean("affiliation")})
}

#[tokio::test]
async fn days_in_utc_count_each_session_once_under_its_last_label() {
    let (app, key) = scenario().await;
    let (a, b) = (history(&app, &key, "a").await, history(&app, &key, "b").await);
    let r = app
        .get_compacted_too("/v1/analytics/moods/timeseries?from=2026-03-27T00:00:00Z&to=2026-03-31T00:00:00Z", &key)
        .await;
    assert_eq!(r.status, 200, "{}", r.json);
    let mut day28 = bucket_of(&[&a[4]], "2026-03-28T00:00:00.000Z", "2026-03-29T00:00:00.000Z");
    day28["events"] = json!(5);
    assert_eq!(a[4]["label"], "frustrated");
    let mut day29 = bucket_of(&[&a[5], &b[2]], "2026-03-29T00:00:00.000Z", "2026-03-30T00:00:00.000Z");
    day29["events"] = json!(4);
    assert_eq!(
        r.json,
        json!({
            "from": "2026-03-27T00:00:00.000Z", "to": "2026-03-31T00:00:00.000Z", "interval": "day", "tz": "UTC", "scale": "unit",
            "buckets": [
                empty("2026-03-27T00:00:00.000Z", "2026-03-28T00:00:00.000Z"),
                day28,
                day29,
                empty("2026-03-30T00:00:00.000Z", "2026-03-31T00:00:00.000Z"),
            ]
        })
    );
}

#[tokio::test]
async fn buckets_follow_the_zone_and_its_dst() {
    let (app, key) = scenario().await;
    let r = app
        .get_compacted_too(
            "/v1/analytics/moods/timeseries?from=2026-03-28T12:00:00Z&to=2026-03-30T12:00:00Z&tz=Europe/Paris",
            &key,
        )
        .await;
    let buckets = r.json["buckets"].as_array().unwrap();
    let edges: Vec<(&str, &str, i64, i64)> = buckets
        .iter()
        .map(|b| {
            (
                b["start"].as_str().unwrap(),
                b["end"].as_str().unwrap(),
                b["sessions"].as_i64().unwrap(),
                b["events"].as_i64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        edges,
        [
            ("2026-03-28T00:00:00.000+01:00", "2026-03-29T00:00:00.000+01:00", 1, 5),
            ("2026-03-29T00:00:00.000+01:00", "2026-03-30T00:00:00.000+02:00", 1, 1),
            ("2026-03-30T00:00:00.000+02:00", "2026-03-31T00:00:00.000+02:00", 1, 3),
        ]
    );
    assert_eq!(
        (r.json["from"].as_str(), r.json["tz"].as_str()),
        (Some("2026-03-28T00:00:00.000+01:00"), Some("Europe/Paris"))
    );
}

#[tokio::test]
async fn hours_and_weeks_are_zero_filled() {
    let (app, key) = scenario().await;
    let hours = app
        .get_compacted_too(
            &format!("/v1/analytics/moods/timeseries?interval=hour&from={}&to={}", at(-3600), at(3 * 3600)),
            &key,
        )
        .await;
    let counts: Vec<i64> =
        hours.json["buckets"].as_array().unwrap().iter().map(|b| b["events"].as_i64().unwrap()).collect();
    assert_eq!(counts, [0, 5, 0, 0]);
    let weeks = app
        .get_compacted_too(
            "/v1/analytics/moods/timeseries?interval=week&from=2026-03-20T00:00:00Z&to=2026-04-01T00:00:00Z",
            &key,
        )
        .await;
    let starts: Vec<&str> =
        weeks.json["buckets"].as_array().unwrap().iter().map(|b| b["start"].as_str().unwrap()).collect();
    assert_eq!(starts, ["2026-03-16T00:00:00.000Z", "2026-03-23T00:00:00.000Z", "2026-03-30T00:00:00.000Z"]);
    assert_eq!(weeks.json["buckets"][1]["sessions"], 2);
    let default = app.get_compacted_too("/v1/analytics/moods/timeseries", &key).await;
    assert_eq!(default.json["buckets"].as_array().unwrap().len(), 31, "30 days back from now, whole days");
}

#[tokio::test]
async fn parameters_are_checked() {
    let (app, key) = scenario().await;
    for (query, field) in [
        ("tz=Mars/Olympus", "tz"),
        ("interval=month", "interval"),
        ("interval=hour&from=2026-01-01T00:00:00Z&to=2026-03-01T00:00:00Z", "interval"),
        ("from=2026-03-02T00:00:00Z&to=2026-03-01T00:00:00Z", "from"),
        ("from=tomorrow", "from"),
    ] {
        let r = app.get_compacted_too(&format!("/v1/analytics/moods/timeseries?{query}"), &key).await;
        assert_eq!(
            (r.status.as_u16(), r.json["error"].as_str(), r.json["field"].as_str()),
            (400, Some("Invalid query parameter"), Some(field)),
            "{query}"
        );
    }
}

#[tokio::test]
async fn erased_and_foreign_sessions_are_not_counted() {
    let (app, key) = scenario().await;
    let other = app.key("starter").await;
    let path = "/v1/analytics/moods/timeseries?from=2026-03-28T00:00:00Z&to=2026-03-30T00:00:00Z";
    let sessions = |r: &Value| {
        r["buckets"].as_array().unwrap().iter().map(|b| b["sessions"].as_i64().unwrap()).collect::<Vec<_>>()
    };
    assert_eq!(sessions(&app.get(path, &other).await.json), [0, 0]);
    app.delete(&key, "a").await;
    let r = app.get_compacted_too(path, &key).await.json;
    assert_eq!(sessions(&r), [0, 1]);
    assert_eq!(r["buckets"][1]["events"], 3);
}

#[tokio::test]
async fn late_events_keep_each_bucket_exact() {
    let (app, key) = scenario().await;
    app.compact().await;
    // An event for the 27th arrives after everything else: the session's slots are relinked.
    app.post_events(&key, "a", json!([{"type": "idle", "duration_ms": 60000, "ts": at(-86_400)}])).await;
    let r = app
        .get_compacted_too("/v1/analytics/moods/timeseries?from=2026-03-27T00:00:00Z&to=2026-03-30T00:00:00Z", &key)
        .await;
    let per_day: Vec<(i64, i64)> = r.json["buckets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| (b["sessions"].as_i64().unwrap(), b["events"].as_i64().unwrap()))
        .collect();
    assert_eq!(per_day, [(1, 1), (1, 5), (2, 4)]);
}

/// Many sessions over nine days, written in rounds with late events, compactions between some
/// rounds and erasures: every series (hours, days in two zones, weeks) answers the same with
/// the deltas compacted or not, and events add up to what was posted.
#[tokio::test]
async fn compaction_never_changes_an_answer() {
    let app = spawn_with(Clock::fixed(DateTime::from_timestamp(at(10 * 86_400), 0).unwrap())).await;
    let key = app.key("pro").await;
    let paths = [
        format!("/v1/analytics/moods/timeseries?interval=hour&from={}&to={}", at(0), at(40 * 3600)),
        format!("/v1/analytics/moods/timeseries?interval=day&from={}&to={}", at(-86_400), at(9 * 86_400)),
        format!("/v1/analytics/moods/timeseries?interval=day&tz=Asia/Kathmandu&from={}&to={}", at(0), at(9 * 86_400)),
        format!(
            "/v1/analytics/moods/timeseries?interval=week&tz=America/New_York&from={}&to={}",
            at(0),
            at(9 * 86_400)
        ),
    ];
    let kinds = ["click", "rage_click", "error", "scroll", "idle", "page_view", "back_nav"];
    let mut seed: u64 = 7;
    let mut next = |n: u64| {
        seed = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
        (seed >> 33) % n
    };
    let mut posted = 0;
    for round in 0..4 {
        for session in 0..12 {
            // Forward in time mostly; every fifth batch reaches back before the session's events.
            let base = at((session * 17 * 3600 + round * 5 * 3600) as i64);
            let back = if (session + round) % 5 == 0 { -(next(3 * 86_400) as i64) } else { 0 };
            let events: Vec<Value> = (0..1 + next(4))
                .map(|i| {
                    let kind = kinds[next(kinds.len() as u64) as usize];
                    json!({"type": kind, "ts": base + back + (i * next(1200)) as i64, "duration_ms": 1000, "speed": 500})
                })
                .collect();
            posted += events.len() as i64;
            let r = app.post_events(&key, &format!("s{session}"), json!(events)).await;
            assert!(r.status.is_success(), "{}", r.json);
        }
        if round % 2 == 1 {
            app.compact().await;
        }
        app.assert_rollup_matches_slots().await;
        for path in &paths {
            let r = app.get_compacted_too(path, &key).await;
            assert_eq!(r.status, 200, "{}", r.json);
        }
        app.assert_rollup_matches_slots().await;
    }
    let events_in =
        |r: &Value| r["buckets"].as_array().unwrap().iter().map(|b| b["events"].as_i64().unwrap()).sum::<i64>();
    let wide = format!("/v1/analytics/moods/timeseries?interval=day&from={}&to={}", at(-4 * 86_400), at(10 * 86_400));
    assert_eq!(events_in(&app.get_compacted_too(&wide, &key).await.json), posted);
    for session in 0..12 {
        app.delete(&key, &format!("s{session}")).await;
    }
    app.assert_rollup_matches_slots().await;
    for path in paths.iter().chain([&wide]) {
        let r = app.get_compacted_too(path, &key).await.json;
        assert!(r["buckets"].as_array().unwrap().iter().all(|b| b["sessions"] == 0 && b["events"] == 0), "{path}: {r}");
    }
}
