//! A page of mood history, as the session and user history endpoints answer it.

use super::error::ApiError;
use super::wire::{EventTypes, MoodLabel, OpenEnum, Scale, SignalDetail, iso8601, round4};
use crate::engine::Mood;
use crate::store::history::HistoryPage;
use poem_openapi::Object;

/// The state right after one event.
#[derive(Debug, Object)]
#[oai(rename = "MoodHistoryEntry")]
pub struct HistoryEntryOut {
    pub valence: f64,
    pub arousal: f64,
    pub tension: f64,
    pub affiliation: f64,
    /// The change the event caused (decay before it excluded).
    pub delta_valence: f64,
    pub delta_arousal: f64,
    pub delta_tension: f64,
    pub delta_affiliation: f64,
    pub label: MoodLabel,
    pub confidence: f64,
    /// The event's time (ISO 8601).
    pub timestamp: String,
    /// The event type.
    pub trigger_type: OpenEnum<EventTypes>,
    /// One sentence: what moved the state and why.
    pub trigger_reason: String,
    pub signals: Vec<SignalDetail>,
}

/// A page of history, newest first.
#[derive(Debug, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct HistoryResponse {
    pub entries: Vec<HistoryEntryOut>,
    /// Pass as `before` for the next (older) page; absent on the last page.
    pub next_cursor: Option<String>,
}

impl HistoryResponse {
    pub(super) fn new(page: &HistoryPage, scale: Scale) -> Self {
        let entries = page
            .entries
            .iter()
            .map(|e| {
                let (d, c) = (scale.point(e.dims), scale.delta(e.delta));
                HistoryEntryOut {
                    valence: d[0],
                    arousal: d[1],
                    tension: d[2],
                    affiliation: d[3],
                    delta_valence: c[0],
                    delta_arousal: c[1],
                    delta_tension: c[2],
                    delta_affiliation: c[3],
                    label: label(&e.label),
                    confidence: round4(e.confidence),
                    timestamp: iso8601(e.ts_ms),
                    trigger_type: OpenEnum::new(e.trigger_type.clone()),
                    trigger_reason: e.trigger_reason.clone(),
                    signals: e.signals.iter().map(SignalDetail::from).collect(),
                }
            })
            .collect();
        Self { entries, next_cursor: page.next.map(|c| c.to_string()) }
    }
}

/// `limit` (1–500, default 50) and `before` (a cursor from an earlier page) of a history read.
pub(super) fn page_params(limit: Option<i64>, before: Option<&str>) -> Result<(u64, Option<i64>), ApiError> {
    let limit = limit.unwrap_or(50);
    if !(1..=MAX_HISTORY).contains(&limit) {
        return Err(ApiError::InvalidParameter {
            param: "limit".into(),
            message: format!("must be between 1 and {MAX_HISTORY}"),
        });
    }
    let before = match before {
        None => None,
        Some(raw) => Some(raw.parse::<i64>().ok().filter(|c| *c >= 0).ok_or_else(|| ApiError::InvalidParameter {
            param: "before".into(),
            message: "must be a next_cursor from an earlier page".into(),
        })?),
    };
    Ok((limit as u64, before))
}

fn label(s: &str) -> MoodLabel {
    s.parse::<Mood>().unwrap_or(Mood::Neutral).into()
}

const MAX_HISTORY: i64 = 500;
