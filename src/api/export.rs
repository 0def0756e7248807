//! `GET /v1/analytics/export`: every event in a range with the state after it, as NDJSON or
//! CSV, streamed page by page so memory stays flat however large the range.

use super::Tag;
use super::auth::Auth;
use super::error::{ApiError, Fails, Failures};
use super::params::InstantParam;
use super::wire::{iso8601, parse_instant};
use crate::state::AppState;
use crate::store::export::{self, ExportRow};
use bytes::Bytes;
use futures_util::{StreamExt, TryStreamExt, stream};
use poem::web::Data;
use poem::{Body, IntoResponse, Response};
use poem_openapi::param::Query;
use poem_openapi::registry::{MetaMediaType, MetaResponse, MetaResponses, MetaSchema, MetaSchemaRef, Registry};
use poem_openapi::types::Type;
use poem_openapi::{ApiResponse, Enum, Object, OpenApi};
use serde::Serialize;
use std::fmt::Write;
use std::marker::PhantomData;
use std::sync::Arc;

/// Rows fetched per query while streaming.
const PAGE: u64 = 1000;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Enum)]
#[oai(rename_all = "lowercase")]
pub enum ExportFormat {
    /// One JSON object (`ExportedEvent`) per line.
    Ndjson,
    /// A header row, then one row per event, same columns as `ExportedEvent`.
    Csv,
}

/// One exported event and the state right after it.
#[derive(Debug, Serialize, Object)]
pub struct ExportedEvent {
    pub session_id: String,
    pub event_id: Option<String>,
    /// The event's time (ISO 8601).
    pub ts: String,
    /// When the server received it.
    pub received_at: String,
    #[oai(rename = "type")]
    #[serde(rename = "type")]
    pub kind: String,
    pub x: Option<f64>,
    pub y: Option<f64>,
    pub duration_ms: Option<f64>,
    pub speed: Option<f64>,
    pub direction: Option<String>,
    pub url: Option<String>,
    pub message: Option<String>,
    pub valence: f64,
    pub arousal: f64,
    pub tension: f64,
    pub affiliation: f64,
    pub delta_valence: f64,
    pub delta_arousal: f64,
    pub delta_tension: f64,
    pub delta_affiliation: f64,
    pub label: String,
    pub confidence: f64,
    pub trigger_reason: String,
    pub model_version: String,
    /// The action suggested for the state after this event (null for events stored before
    /// suggestions were recorded).
    pub suggested_action: Option<String>,
    /// The probability the policy had of choosing it: 1 where the contract's table decided;
    /// for offline evaluation of the learned policy.
    pub action_probability: Option<f64>,
}

impl From<ExportRow> for ExportedEvent {
    fn from(r: ExportRow) -> Self {
        Self {
            session_id: r.session_id,
            event_id: r.event_id,
            ts: iso8601(r.ts_ms),
            received_at: iso8601(r.received_at_ms),
            kind: r.kind,
            x: r.x,
            y: r.y,
            duration_ms: r.duration_ms,
            speed: r.speed,
            direction: r.direction,
            url: r.url,
            message: r.message,
            valence: r.valence,
            arousal: r.arousal,
            tension: r.tension,
            affiliation: r.affiliation,
            delta_valence: r.delta_valence,
            delta_arousal: r.delta_arousal,
            delta_tension: r.delta_tension,
            delta_affiliation: r.delta_affiliation,
            label: r.label,
            confidence: r.confidence,
            trigger_reason: r.trigger_reason,
            model_version: r.model_version,
            suggested_action: r.action,
            action_probability: r.action_probability,
        }
    }
}

const CSV_HEADER: &str = "session_id,event_id,ts,received_at,type,x,y,duration_ms,speed,direction,url,message,\
valence,arousal,tension,affiliation,delta_valence,delta_arousal,delta_tension,delta_affiliation,\
label,confidence,trigger_reason,model_version,suggested_action,action_probability\n";

/// RFC 4180: quote a field that holds a comma, quote or line break; double inner quotes.
fn csv_field(out: &mut String, v: &str) {
    if v.contains([',', '"', '\n', '\r']) {
        out.push('"');
        out.push_str(&v.replace('"', "\"\""));
        out.push('"');
    } else {
        out.push_str(v);
    }
}

fn csv_row(out: &mut String, e: &ExportedEvent) {
    let num = |v: Option<f64>| v.map(|n| n.to_string()).unwrap_or_default();
    let fields: [&str; 12] = [
        &e.session_id,
        e.event_id.as_deref().unwrap_or(""),
        &e.ts,
        &e.received_at,
        &e.kind,
        &num(e.x),
        &num(e.y),
        &num(e.duration_ms),
        &num(e.speed),
        e.direction.as_deref().unwrap_or(""),
        e.url.as_deref().unwrap_or(""),
        e.message.as_deref().unwrap_or(""),
    ];
    for f in fields {
        csv_field(out, f);
        out.push(',');
    }
    let dims = [e.valence, e.arousal, e.tension, e.affiliation, e.delta_valence, e.delta_arousal, e.delta_tension];
    for d in dims {
        _ = write!(out, "{d},");
    }
    _ = write!(out, "{},", e.delta_affiliation);
    csv_field(out, &e.label);
    _ = write!(out, ",{},", e.confidence);
    csv_field(out, &e.trigger_reason);
    out.push(',');
    csv_field(out, &e.model_version);
    _ = writeln!(
        out,
        ",{},{}",
        e.suggested_action.as_deref().unwrap_or(""),
        e.action_probability.map(|p| p.to_string()).unwrap_or_default()
    );
}

fn render(rows: Vec<ExportRow>, format: ExportFormat) -> Bytes {
    let mut out = String::with_capacity(rows.len() * 400);
    for row in rows {
        let e = ExportedEvent::from(row);
        match format {
            ExportFormat::Ndjson => {
                out.push_str(&serde_json::to_string(&e).expect("an export row serializes"));
                out.push('\n');
            }
            ExportFormat::Csv => csv_row(&mut out, &e),
        }
    }
    Bytes::from(out)
}

/// An export of `T` rows: NDJSON or CSV.
pub struct Export<T> {
    format: ExportFormat,
    body: Body,
    rows: PhantomData<T>,
}

impl<T> Export<T> {
    /// An export already rendered.
    pub fn whole(format: ExportFormat, body: String) -> Self {
        Self { format, body: Body::from_string(body), rows: PhantomData }
    }
}

impl<T: Send> IntoResponse for Export<T> {
    fn into_response(self) -> Response {
        let content_type = match self.format {
            ExportFormat::Ndjson => "application/x-ndjson",
            ExportFormat::Csv => "text/csv; charset=utf-8",
        };
        Response::builder().content_type(content_type).body(self.body)
    }
}

impl<T: Type + Send> ApiResponse for Export<T> {
    fn meta() -> MetaResponses {
        MetaResponses {
            responses: vec![MetaResponse {
                description: "NDJSON (one object per line) or CSV with a header row and the same columns.",
                status: Some(200),
                status_range: None,
                content: vec![
                    MetaMediaType { content_type: "application/x-ndjson", schema: T::schema_ref() },
                    MetaMediaType {
                        content_type: "text/csv; charset=utf-8",
                        schema: MetaSchemaRef::Inline(Box::new(MetaSchema::new("string"))),
                    },
                ],
                headers: vec![],
            }],
        }
    }

    fn register(registry: &mut Registry) {
        T::register(registry);
    }
}

pub struct OnExport;
impl Failures for OnExport {
    const STATUSES: &'static [u16] = &[400, 401, 403, 429, 500];
}

pub struct ExportApi;

#[OpenApi(prefix_path = "/v1/analytics", tag = "Tag::Analytics")]
impl ExportApi {
    /// Export events
    ///
    /// Every event with a time in `[from, to)` and the state right after it, in event-time
    /// order, for loading into a warehouse. Streamed: any range is exported in constant memory.
    /// Defaults: the last 24 hours, NDJSON.
    #[oai(path = "/export", method = "get", operation_id = "exportEvents")]
    async fn export(
        &self,
        state: Data<&Arc<AppState>>,
        auth: Auth,
        /// Start (ISO 8601 or Unix seconds); default 24 hours before `to`.
        from: Query<Option<InstantParam>>,
        /// End, exclusive (ISO 8601 or Unix seconds); default now.
        to: Query<Option<InstantParam>>,
        /// `ndjson` (default) or `csv`.
        format: Query<Option<ExportFormat>>,
    ) -> Result<Export<ExportedEvent>, Fails<OnExport>> {
        let to = match to.0.as_deref() {
            Some(raw) => parse_instant("to", raw)?,
            None => state.clock.now(),
        };
        let from = match from.0.as_deref() {
            Some(raw) => parse_instant("from", raw)?,
            None => to - chrono::Duration::hours(24),
        };
        if from >= to {
            return Err(ApiError::InvalidParameter { param: "from".into(), message: "must be before to".into() }.into());
        }
        let format = format.0.unwrap_or(ExportFormat::Ndjson);
        let (store, tenant) = (state.store.clone(), auth.tenant().clone());
        let (from_ms, to_ms) = (from.timestamp_millis(), to.timestamp_millis());
        // (cursor, finished): fetch pages until one comes back short.
        let pages = stream::try_unfold((None, false), move |(after, finished)| {
            let (store, tenant) = (store.clone(), tenant.clone());
            async move {
                if finished {
                    return Ok(None);
                }
                let rows = export::page(&store, &tenant, from_ms, to_ms, after, PAGE).await?;
                let next = rows.last().map(|r| (r.ts_ms, r.id));
                let done = (rows.len() as u64) < PAGE;
                Ok::<_, crate::store::StoreError>(Some((render(rows, format), (next, done))))
            }
        });
        let header = match format {
            ExportFormat::Csv => Bytes::from_static(CSV_HEADER.as_bytes()),
            ExportFormat::Ndjson => Bytes::new(),
        };
        let body = stream::once(async move { Ok(header) }).chain(pages).map_err(|e| {
            tracing::error!(error = %e, "export stream failed");
            std::io::Error::other(e)
        });
        Ok(Export { format, body: Body::from_bytes_stream(body), rows: PhantomData })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_quotes_only_what_needs_it() {
        let mut out = String::new();
        for v in ["plain", "a,b", "say \"hi\"", "two\nlines"] {
            csv_field(&mut out, v);
            out.push('|');
        }
        assert_eq!(out, "plain|\"a,b\"|\"say \"\"hi\"\"\"|\"two\nlines\"|");
        assert_eq!(CSV_HEADER.split(',').count(), 26);
    }
}
