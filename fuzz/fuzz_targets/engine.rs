//! Any stream of valid events, in any batching, through both models: the state stays bounded
//! and finite, confidences stay in [0, 1], a later read only decays, and the state survives its
//! JSON round trip bit for bit.
#![no_main]

use libfuzzer_sys::fuzz_target;
use moodring::engine::{AffectState, Event, EventKind, Model, ScrollDirection, apply_batch, project, project_at};

/// Eight input bytes make one event inside the ranges the API validates.
fn event(chunk: &[u8], ts_ms: &mut i64) -> Event {
    let kind = EventKind::ALL[usize::from(chunk[0]) % EventKind::ALL.len()];
    // Events arrive up to ~18 hours apart, mostly within seconds; occasionally out of order.
    let step = i64::from(u16::from_le_bytes([chunk[1], chunk[2]])) * i64::from(1 + chunk[3] % 4).pow(4);
    *ts_ms = if chunk[3] == 255 { *ts_ms - step } else { *ts_ms + step };
    let value = |b: u8, max: f64| (chunk[4] & b != 0).then(|| f64::from(chunk[5]) / 255.0 * max);
    Event {
        kind,
        ts_ms: *ts_ms,
        x: value(1, 1_000_000.0),
        y: value(2, 1_000_000.0),
        duration_ms: value(4, 86_400_000.0),
        speed: value(8, 1_000_000.0),
        direction: (chunk[4] & 16 != 0).then_some(if chunk[6] % 2 == 0 { ScrollDirection::Up } else { ScrollDirection::Down }),
        page: (chunk[4] & 32 != 0).then_some(u64::from(chunk[7] % 8)),
    }
}

fuzz_target!(|data: &[u8]| {
    let mut ts_ms = 1_779_000_000_000;
    let events: Vec<Event> = data.chunks_exact(8).map(|c| event(c, &mut ts_ms)).collect();
    // The first byte also picks the batch size: 1..=16 events per batch.
    let batch_size = data.first().map_or(1, |b| usize::from(b % 16) + 1);
    for model in [Model::session_v1(), Model::user_v1()] {
        let mut state = AffectState::new(&model);
        for batch in events.chunks(batch_size) {
            apply_batch(&model, &mut state, batch);
            assert!(state.dims.iter().all(|d| d.is_finite() && (-1.0..=1.0).contains(d)), "{:?}", state.dims);
            let p = project(&model, &state);
            assert!((0.0..=1.0).contains(&p.confidence), "{}", p.confidence);
        }
        let json = serde_json::to_string(&state).expect("a state serialises");
        let back: AffectState = serde_json::from_str(&json).expect("a state deserialises");
        assert_eq!(serde_json::to_string(&back).unwrap(), json);
        let later = state.last_interaction_at_ms.unwrap_or(ts_ms) + 3_600_000;
        let (decayed, p) = project_at(&model, &state, later);
        assert!((0.0..=1.0).contains(&p.confidence));
        for i in 0..4 {
            let (now, then, base) = (decayed.dims[i], state.dims[i], state.baseline[i]);
            assert!((now - base).abs() <= (then - base).abs() + 1e-12, "dimension {i} moved away from baseline");
        }
    }
});
