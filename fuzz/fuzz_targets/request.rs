//! Any bytes as a `POST /v1/sessions/{id}/events` body: the parser and validator never panic,
//! whatever they accept is within the documented bounds, and the engine takes it.
#![no_main]

use libfuzzer_sys::fuzz_target;
use moodring::api::body;
use moodring::api::events::PostEventsRequest;
use moodring::engine::{AffectState, Model, apply_batch, project};

const NOW_MS: i64 = 1_779_000_000_000;

fuzz_target!(|data: &[u8]| {
    let Ok(request) = body::parse::<PostEventsRequest>(data) else { return };
    let Ok(events) = request.validate(NOW_MS) else { return };
    assert!((1..=1000).contains(&events.len()));
    for e in &events {
        assert!((0..=NOW_MS + 3_600_000).contains(&e.event.ts_ms), "{:?}", e.event);
        for v in [e.event.x, e.event.y, e.event.duration_ms, e.event.speed].into_iter().flatten() {
            assert!(v.is_finite(), "{:?}", e.event);
        }
        for text in [&e.url, &e.message, &e.event_id].into_iter().flatten() {
            assert!(!text.contains('\0') && text.chars().count() <= 2048);
        }
    }
    let model = Model::session_v1();
    let mut state = AffectState::new(&model);
    let batch: Vec<_> = events.iter().map(|e| e.event.clone()).collect();
    let records = apply_batch(&model, &mut state, &batch);
    assert_eq!(records.len(), batch.len());
    let projection = project(&model, &state);
    assert!((0.0..=1.0).contains(&projection.confidence));
    assert!(state.dims.iter().all(|d| (-1.0..=1.0).contains(d)), "{:?}", state.dims);
});
