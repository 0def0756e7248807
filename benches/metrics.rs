//! What the metrics cost each request: the edge's count and latency observation.
//! `cargo bench --bench metrics`

use criterion::{Criterion, criterion_group};
use moodring::telemetry::{Levels, Metrics};
use poem::http::StatusCode;
use std::hint::black_box;
use std::time::Duration;

fn metrics(c: &mut Criterion) {
    let metrics = Metrics::default();
    let operations = ["postEvents", "getMood", "getSessionState", "getMoodAnalytics"];
    let mut n = 0usize;
    c.bench_function("count one request (by operation and status, with its latency)", |b| {
        b.iter(|| {
            n += 1;
            let operation = operations[n % operations.len()];
            metrics.observe_request(black_box(operation), StatusCode::OK, Duration::from_micros(150));
        })
    });
    let levels = Levels {
        queued_per_lane: vec![0; 4],
        pools: vec![("writer", 6, 2), ("reader", 16, 16)],
        stream_subscribers: 100,
    };
    c.bench_function("render a scrape", |b| b.iter(|| black_box(metrics.render(&levels)).len()));
}

criterion_group!(benches, metrics);

fn main() {
    benches();
    Criterion::default().configure_from_args().final_summary();
}
