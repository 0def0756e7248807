//! Engine costs under the current session model: applying one event to a warm state, and one
//! projection.
//! `cargo bench --bench engine`

use criterion::{Criterion, criterion_group};
use moodring::engine::{AffectState, Event, EventKind, Model, Models, apply_batch, project, project_at};
use std::hint::black_box;

const T0: i64 = 1_746_352_800_000;

/// A state with a full window: a minute of mixed activity.
fn warm_state(model: &Model) -> AffectState {
    let kinds = [EventKind::PageView, EventKind::Scroll, EventKind::Click, EventKind::Hover, EventKind::Error];
    let events: Vec<Event> = (0..64)
        .map(|i| Event::new(kinds[i % kinds.len()], T0 + i as i64 * 900).at(300.0, 200.0).lasting(1500.0))
        .collect();
    let mut state = AffectState::new(model);
    apply_batch(model, &mut state, &events);
    state
}

fn engine(c: &mut Criterion) {
    // What new sessions run.
    let model = Models::default().session;
    let state = warm_state(&model);
    let next = [Event::new(EventKind::RageClick, T0 + 60_000).at(302.0, 201.0)];
    c.bench_function("apply one event (warm window, with its history record)", |b| {
        b.iter_batched_ref(
            || state.clone(),
            |s| apply_batch(&model, s, black_box(&next)),
            criterion::BatchSize::SmallInput,
        )
    });
    // The same work without the harness's per-iteration state copy: one long session, each
    // iteration its next event (a mixed stream a second apart, so the window stays full).
    let kinds = [EventKind::Click, EventKind::Scroll, EventKind::Hover, EventKind::Error, EventKind::RageClick];
    let mut live = state.clone();
    let mut n = 0i64;
    c.bench_function("apply the next event of a live session, with its history record", |b| {
        b.iter(|| {
            n += 1;
            let kind = kinds[n as usize % kinds.len()];
            let event = Event::new(kind, T0 + 60_000 + n * 1_000).at(300.0, 200.0).lasting(1500.0);
            apply_batch(&model, &mut live, black_box(std::slice::from_ref(&event)))
        })
    });
    c.bench_function("project at the latest event", |b| b.iter(|| project(&model, black_box(&state))));
    c.bench_function("project at a later instant", |b| {
        b.iter(|| project_at(&model, black_box(&state), T0 + 3_600_000))
    });
    let json = serde_json::to_string(&state).unwrap();
    c.bench_function("state to JSON", |b| b.iter(|| black_box(&state).to_json()));
    c.bench_function("state from JSON", |b| b.iter(|| serde_json::from_str::<AffectState>(black_box(&json)).unwrap()));
}

criterion_group!(benches, engine);

/// As the server runs (`src/main.rs`): without it, glibc's sliding mmap threshold hands the
/// harness's batches of state copies fresh pages each time, and page faults were most of the
/// first bench's time.
fn main() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only sets an allocator parameter; called before any thread is started.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 1 << 20);
    }
    benches();
    criterion::Criterion::default().configure_from_args().final_summary();
}
