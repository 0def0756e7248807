//! Prometheus metrics, served at `GET /metrics` in the text exposition format: what an operator
//! charts and alerts on. Counts are taken where things happen (the edge, the ingest lanes, the
//! coalesced reads, the key cache); levels (queue depths, pool connections, memory) are read
//! when scraped. Label values come from small fixed sets (operation ids, status codes, lane
//! numbers), never from a path, a key or a session id: a scrape's size does not grow with use.

use poem::http::StatusCode;
use prometheus::core::Collector;
use prometheus::{
    Encoder, Histogram, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGauge, IntGaugeVec, Opts, Registry,
    TextEncoder,
};
use std::time::Duration;

/// Request latencies, in seconds: a cached read answers in ~0.1 ms, a group commit in a few.
const LATENCY_BUCKETS: [f64; 14] =
    [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0];
/// Batches in a group, keys in a coalesced read: powers of two up to the caps (128, 64).
const SIZE_BUCKETS: [f64; 8] = [1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0];

/// One server's metrics and the registry they are read from.
pub struct Metrics {
    registry: Registry,
    http_requests: IntCounterVec,
    http_seconds: HistogramVec,
    /// Batches per ingest group, events per group, and how long each group's commit took.
    pub(crate) ingest_group_batches: Histogram,
    pub(crate) ingest_group_events: Histogram,
    pub(crate) ingest_commit_seconds: Histogram,
    /// Groups that failed as a whole and were written batch by batch.
    pub(crate) ingest_groups_split: IntCounter,
    /// Groups (or their kept sessions' part) written the checked way, and checked writes that
    /// stood down for the locked way (a session moved on by another writer, a repeated id).
    pub(crate) ingest_checked_written: IntCounter,
    pub(crate) ingest_checked_stood_down: IntCounter,
    ingest_queued: IntGaugeVec,
    /// Keys per coalesced read, by read (`current_mood`, `mood_counts`).
    pub(crate) read_batch_keys: HistogramVec,
    /// API keys checked: the cache knew them, or the database was asked.
    pub(crate) key_hits: IntCounter,
    pub(crate) key_misses: IntCounter,
    pub(crate) argon2_runs: IntCounter,
    /// Time-series rollup deltas moved into the rollup by compaction.
    pub(crate) rollup_deltas_compacted: IntCounter,
    /// Outbox messages given their place (and their webhook deliveries) by this replica.
    pub(crate) outbox_published: IntCounter,
    /// Webhook delivery attempts made by this replica, by result.
    pub(crate) webhook_succeeded: IntCounter,
    pub(crate) webhook_failed: IntCounter,
    /// Deliveries pending (due or waiting for a retry), as the delivery worker last counted.
    pub(crate) webhook_backlog: IntGauge,
    stream_subscribers: IntGauge,
    db_connections: IntGaugeVec,
    resident_memory: IntGauge,
}

/// The levels read at each scrape.
#[derive(Debug, Default)]
pub struct Levels {
    /// Batches waiting in each ingest lane's queue.
    pub queued_per_lane: Vec<usize>,
    /// Per connection pool: its name, connections open, and of those idle.
    pub pools: Vec<(&'static str, u32, usize)>,
    /// Open event streams on this replica.
    pub stream_subscribers: usize,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new("")
    }
}

impl Metrics {
    /// Registers every metric, with `moodring_build_info` naming this build's version and the
    /// model new sessions start under.
    pub fn new(session_model: &str) -> Self {
        let registry = Registry::new();
        let histogram =
            |name: &str, help: &str, buckets: &[f64]| HistogramOpts::new(name, help).buckets(buckets.to_vec());
        let build_info: IntGaugeVec = registered(
            &registry,
            IntGaugeVec::new(
                Opts::new("moodring_build_info", "Always 1: the version and the model new sessions start under."),
                &["version", "session_model"],
            ),
        );
        build_info.with_label_values(&[env!("CARGO_PKG_VERSION"), session_model]).set(1);
        let key_lookups: IntCounterVec = registered(
            &registry,
            IntCounterVec::new(
                Opts::new(
                    "moodring_api_key_lookups_total",
                    "API keys checked, by whether the cache knew them (hit) or the database was asked (miss).",
                ),
                &["result"],
            ),
        );
        let checked_writes: IntCounterVec = registered(
            &registry,
            IntCounterVec::new(
                Opts::new(
                    "moodring_ingest_checked_writes_total",
                    "Ingest groups' batches for sessions the lane kept, written as one checked statement (written) or, \
                     having found a session moved on or an event id repeated, the locked way (stood_down).",
                ),
                &["result"],
            ),
        );
        let webhook_attempts: IntCounterVec = registered(
            &registry,
            IntCounterVec::new(
                Opts::new(
                    "moodring_webhook_attempts_total",
                    "Webhook delivery attempts by this replica, by result (succeeded: a 2xx answer).",
                ),
                &["result"],
            ),
        );
        Self {
            http_requests: registered(
                &registry,
                IntCounterVec::new(
                    Opts::new(
                        "moodring_http_requests_total",
                        "Requests answered, by operation (the spec's operationId) and status.",
                    ),
                    &["operation", "status"],
                ),
            ),
            http_seconds: registered(
                &registry,
                HistogramVec::new(
                    histogram(
                        "moodring_http_request_duration_seconds",
                        "Time from request to response, by operation.",
                        &LATENCY_BUCKETS,
                    ),
                    &["operation"],
                ),
            ),
            ingest_group_batches: registered(
                &registry,
                Histogram::with_opts(histogram(
                    "moodring_ingest_group_batches",
                    "Batches (POST events requests) stored by one group commit.",
                    &SIZE_BUCKETS,
                )),
            ),
            ingest_group_events: registered(
                &registry,
                Histogram::with_opts(histogram(
                    "moodring_ingest_group_events",
                    "Events stored by one group commit.",
                    &[1.0, 10.0, 50.0, 100.0, 250.0, 500.0, 1000.0, 2500.0, 10000.0],
                )),
            ),
            ingest_commit_seconds: registered(
                &registry,
                Histogram::with_opts(histogram(
                    "moodring_ingest_commit_duration_seconds",
                    "Time to write and commit one ingest group.",
                    &LATENCY_BUCKETS,
                )),
            ),
            ingest_groups_split: registered(
                &registry,
                IntCounter::new(
                    "moodring_ingest_groups_split_total",
                    "Groups that failed as a whole and were written batch by batch.",
                ),
            ),
            ingest_checked_written: checked_writes.with_label_values(&["written"]),
            ingest_checked_stood_down: checked_writes.with_label_values(&["stood_down"]),
            ingest_queued: registered(
                &registry,
                IntGaugeVec::new(
                    Opts::new(
                        "moodring_ingest_queued_batches",
                        "Batches waiting for their lane's next group, by lane.",
                    ),
                    &["lane"],
                ),
            ),
            read_batch_keys: registered(
                &registry,
                HistogramVec::new(
                    histogram("moodring_read_batch_keys", "Keys read by one coalesced query, by read.", &SIZE_BUCKETS),
                    &["read"],
                ),
            ),
            key_hits: key_lookups.with_label_values(&["hit"]),
            key_misses: key_lookups.with_label_values(&["miss"]),
            argon2_runs: registered(
                &registry,
                IntCounter::new("moodring_argon2_runs_total", "API keys verified with argon2."),
            ),
            rollup_deltas_compacted: registered(
                &registry,
                IntCounter::new(
                    "moodring_timeline_deltas_compacted_total",
                    "Changes to the time series' rollup moved from its deltas into it by compaction.",
                ),
            ),
            outbox_published: registered(
                &registry,
                IntCounter::new(
                    "moodring_outbox_messages_published_total",
                    "Outbox messages put in commit order (with their webhook deliveries) by this replica.",
                ),
            ),
            webhook_succeeded: webhook_attempts.with_label_values(&["succeeded"]),
            webhook_failed: webhook_attempts.with_label_values(&["failed"]),
            webhook_backlog: registered(
                &registry,
                IntGauge::new(
                    "moodring_webhook_backlog",
                    "Webhook deliveries pending (due now or waiting for a retry) to enabled endpoints.",
                ),
            ),
            stream_subscribers: registered(
                &registry,
                IntGauge::new("moodring_stream_subscribers", "Event streams open on this replica."),
            ),
            db_connections: registered(
                &registry,
                IntGaugeVec::new(
                    Opts::new("moodring_db_connections", "Database connections by pool and state (in_use, idle)."),
                    &["pool", "state"],
                ),
            ),
            resident_memory: registered(
                &registry,
                IntGauge::new("process_resident_memory_bytes", "Resident memory size in bytes."),
            ),
            registry,
        }
    }

    /// Counts one answered request of `operation`.
    pub fn observe_request(&self, operation: &str, status: StatusCode, elapsed: Duration) {
        self.http_requests.with_label_values(&[operation, status.as_str()]).inc();
        self.http_seconds.with_label_values(&[operation]).observe(elapsed.as_secs_f64());
    }

    /// Every metric in the text exposition format, with `levels` as they stand now.
    pub fn render(&self, levels: &Levels) -> String {
        for (lane, queued) in levels.queued_per_lane.iter().enumerate() {
            self.ingest_queued.with_label_values(&[&lane.to_string()]).set(*queued as i64);
        }
        for (pool, open, idle) in &levels.pools {
            let in_use = i64::from(*open) - *idle as i64;
            self.db_connections.with_label_values(&[pool, "in_use"]).set(in_use.max(0));
            self.db_connections.with_label_values(&[pool, "idle"]).set(*idle as i64);
        }
        self.stream_subscribers.set(levels.stream_subscribers as i64);
        if let Some(bytes) = resident_bytes() {
            self.resident_memory.set(bytes);
        }
        let mut out = Vec::new();
        TextEncoder::new().encode(&self.registry.gather(), &mut out).expect("writing to a vector");
        String::from_utf8(out).expect("the text format is UTF-8")
    }
}

/// `metric`, registered in `registry`: every definition here is fixed and every name distinct,
/// so neither step can fail.
fn registered<M: Collector + Clone + 'static>(registry: &Registry, metric: prometheus::Result<M>) -> M {
    let metric = metric.expect("a valid metric definition");
    registry.register(Box::new(metric.clone())).expect("each name registered once");
    metric
}

/// This process's resident memory, from `/proc/self/statm` (Linux; `None` elsewhere).
fn resident_bytes() -> Option<i64> {
    let statm = std::fs::read_to_string("/proc/self/statm").ok()?;
    let pages: i64 = statm.split_whitespace().nth(1)?.parse().ok()?;
    // The page size is 4 KiB on every Linux this runs on (x86-64, aarch64 by default).
    Some(pages * 4096)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_counts_and_levels_in_the_text_format() {
        let metrics = Metrics::new("session-3");
        metrics.observe_request("postEvents", StatusCode::OK, Duration::from_millis(3));
        metrics.observe_request("postEvents", StatusCode::OK, Duration::from_millis(30));
        metrics.observe_request("postEvents", StatusCode::BAD_REQUEST, Duration::from_micros(200));
        metrics.key_hits.inc();
        let levels = Levels { queued_per_lane: vec![0, 7], pools: vec![("writer", 5, 2)], stream_subscribers: 3 };
        let text = metrics.render(&levels);
        let build_info =
            format!(r#"moodring_build_info{{session_model="session-3",version="{}"}} 1"#, env!("CARGO_PKG_VERSION"));
        for line in [
            r#"moodring_http_requests_total{operation="postEvents",status="200"} 2"#,
            r#"moodring_http_requests_total{operation="postEvents",status="400"} 1"#,
            r#"moodring_http_request_duration_seconds_bucket{operation="postEvents",le="0.005"} 2"#,
            r#"moodring_http_request_duration_seconds_bucket{operation="postEvents",le="0.05"} 3"#,
            r#"moodring_http_request_duration_seconds_count{operation="postEvents"} 3"#,
            r#"moodring_ingest_queued_batches{lane="1"} 7"#,
            r#"moodring_db_connections{pool="writer",state="in_use"} 3"#,
            r#"moodring_db_connections{pool="writer",state="idle"} 2"#,
            r#"moodring_api_key_lookups_total{result="hit"} 1"#,
            "moodring_stream_subscribers 3",
            &build_info,
            "# TYPE moodring_ingest_commit_duration_seconds histogram",
        ] {
            assert!(text.lines().any(|l| l == line), "missing {line:?} in\n{text}");
        }
    }
}
