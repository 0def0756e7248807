//! Interventions that learn: a tenant's settings (`/v1/settings/interventions`) and what its
//! policy learned (`/v1/analytics/interventions`, and its export). The policy is
//! [`crate::interventions`]; how stale a suggestion may be is [`crate::policies`]'.

use super::Tag;
use super::auth::Auth;
use super::body::{JsonBody, not_null};
use super::error::{ApiError, Fails, Failures};
use super::export::{Export, ExportFormat};
use super::wire::{MoodLabel, UiAction, round4};
use crate::domain::Tenant;
use crate::engine::{Model, SuggestedAction};
use crate::interventions::{Context, Policy, Settings, SettingsPatch, wilson_interval};
use crate::state::AppState;
use crate::store::StoreError;
use crate::store::interventions::{self, Counts};
use poem::web::Data;
use poem_openapi::param::Query;
use poem_openapi::payload::Json;
use poem_openapi::types::Example;
use poem_openapi::{Enum, Object, OpenApi};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Arc;

/// An action that shows something: every suggested action but `no_action`. (The variants
/// are the wire names.)
#[allow(clippy::enum_variant_names)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Enum, Serialize, Deserialize)]
#[oai(rename_all = "snake_case")]
#[serde(rename_all = "snake_case")]
pub enum Intervention {
    ShowLiveChat,
    ShowTooltip,
    ShowRecommendations,
    ShowExitOffer,
}

impl Intervention {
    const ALL: [Self; 4] = [Self::ShowLiveChat, Self::ShowTooltip, Self::ShowRecommendations, Self::ShowExitOffer];

    fn action(self) -> SuggestedAction {
        match self {
            Self::ShowLiveChat => SuggestedAction::ShowLiveChat,
            Self::ShowTooltip => SuggestedAction::ShowTooltip,
            Self::ShowRecommendations => SuggestedAction::ShowRecommendations,
            Self::ShowExitOffer => SuggestedAction::ShowExitOffer,
        }
    }
}

/// The minimum confidence of the mood for each action to be suggested, 0–1.
#[derive(Debug, Object)]
pub struct MinConfidence {
    pub show_live_chat: f64,
    pub show_tooltip: f64,
    pub show_recommendations: f64,
    pub show_exit_offer: f64,
}

/// A tenant's intervention settings.
#[derive(Debug, Object)]
#[oai(example)]
pub struct InterventionSettings {
    /// `false`: always the contract's table (the mood's action when confident enough).
    pub learning: bool,
    /// Share of suggestions spread evenly over the eligible actions in contexts that have
    /// feedback, 0–0.5 (default 0.05), so that every action keeps being tried.
    pub exploration: f64,
    /// Actions never suggested (e.g. `show_live_chat` on a site without live chat).
    pub disabled_actions: Vec<Intervention>,
    /// An action is suggested only when the mood's confidence reaches its minimum. A value not
    /// set here is the minimum of the model the reading was made under (`model_version`), as a
    /// confidence means what that model's calibration says; shown are the current model's, under
    /// which new sessions start (session-4: live chat 0.93, exit offer 0.45, tooltip 0.4,
    /// recommendations 0.3; session-1: live chat 0.5). A value set here holds under every model.
    pub min_confidence: MinConfidence,
}

impl InterventionSettings {
    /// The settings as in force over `model`'s default minimum confidences.
    fn new(settings: &Settings, model: &Model) -> Self {
        let disabled = Intervention::ALL.into_iter().filter(|i| settings.disabled[i.action().index()]).collect();
        let [chat, tooltip, recommendations, exit] =
            Intervention::ALL.map(|i| settings.min_confidence(model, i.action()));
        Self {
            learning: settings.learning,
            exploration: settings.exploration,
            disabled_actions: disabled,
            min_confidence: MinConfidence {
                show_live_chat: chat,
                show_tooltip: tooltip,
                show_recommendations: recommendations,
                show_exit_offer: exit,
            },
        }
    }
}

impl Example for InterventionSettings {
    fn example() -> Self {
        Self {
            learning: true,
            exploration: 0.05,
            disabled_actions: vec![Intervention::ShowLiveChat],
            min_confidence: MinConfidence {
                show_live_chat: 0.93,
                show_tooltip: 0.4,
                show_recommendations: 0.3,
                show_exit_offer: 0.45,
            },
        }
    }
}

/// Minimum confidences to change; actions left out keep theirs. Other fields are refused
/// (`additionalProperties: false` in the spec: see [`super::DENY_UNKNOWN_FIELDS`]).
#[derive(Debug, Default, Deserialize, Object)]
#[oai(deny_unknown_fields, skip_serializing_if_is_none)]
#[serde(deny_unknown_fields)]
pub struct MinConfidenceUpdate {
    #[oai(validator(minimum(value = "0"), maximum(value = "1")))]
    #[serde(default, deserialize_with = "not_null")]
    pub show_live_chat: Option<f64>,
    #[oai(validator(minimum(value = "0"), maximum(value = "1")))]
    #[serde(default, deserialize_with = "not_null")]
    pub show_tooltip: Option<f64>,
    #[oai(validator(minimum(value = "0"), maximum(value = "1")))]
    #[serde(default, deserialize_with = "not_null")]
    pub show_recommendations: Option<f64>,
    #[oai(validator(minimum(value = "0"), maximum(value = "1")))]
    #[serde(default, deserialize_with = "not_null")]
    pub show_exit_offer: Option<f64>,
}

/// Any subset of the settings; fields left out keep their value; other fields are refused.
#[derive(Debug, Deserialize, Object)]
#[oai(example, deny_unknown_fields, skip_serializing_if_is_none)]
#[serde(deny_unknown_fields)]
pub struct InterventionSettingsUpdate {
    #[serde(default, deserialize_with = "not_null")]
    pub learning: Option<bool>,
    /// 0–0.5.
    #[oai(validator(minimum(value = "0"), maximum(value = "0.5")))]
    #[serde(default, deserialize_with = "not_null")]
    pub exploration: Option<f64>,
    /// Replaces the list of disabled actions; `[]` enables them all.
    #[serde(default, deserialize_with = "not_null")]
    pub disabled_actions: Option<Vec<Intervention>>,
    #[serde(default, deserialize_with = "not_null")]
    pub min_confidence: Option<MinConfidenceUpdate>,
}

impl Example for InterventionSettingsUpdate {
    fn example() -> Self {
        Self {
            learning: None,
            exploration: Some(0.1),
            disabled_actions: Some(vec![Intervention::ShowLiveChat]),
            min_confidence: Some(MinConfidenceUpdate { show_exit_offer: Some(0.6), ..Default::default() }),
        }
    }
}

impl From<InterventionSettingsUpdate> for SettingsPatch {
    fn from(u: InterventionSettingsUpdate) -> Self {
        let min = u.min_confidence.unwrap_or_default();
        let mins = [min.show_live_chat, min.show_tooltip, min.show_recommendations, min.show_exit_offer];
        Self {
            learning: u.learning,
            exploration: u.exploration,
            disabled_actions: u.disabled_actions.map(|list| list.iter().map(|i| i.action().to_string()).collect()),
            min_confidence: Intervention::ALL
                .into_iter()
                .zip(mins)
                .filter_map(|(i, min)| min.map(|m| (i.action(), m)))
                .collect(),
        }
    }
}

/// One action in one context: how often it was suggested, what feedback said, and its chance
/// of being chosen now.
#[derive(Debug, Object, Serialize)]
pub struct ActionStats {
    pub action: UiAction,
    /// Times a session's suggestion became this action in this context.
    pub suggested: i64,
    /// Feedback records crediting this action in this context, rated or not.
    pub feedback_count: i64,
    /// Of those, `was_helpful: true`.
    pub helpful: i64,
    /// Of those, `was_helpful: false`.
    pub unhelpful: i64,
    /// `helpful / (helpful + unhelpful)`, to 4 decimals; null without rated feedback.
    #[oai(nullable)]
    pub helpful_rate: Option<f64>,
    /// The 95 % Wilson interval of the helpful rate; null without rated feedback.
    #[oai(nullable)]
    pub helpful_rate_low: Option<f64>,
    #[oai(nullable)]
    pub helpful_rate_high: Option<f64>,
    /// The probability the policy chooses this action in this context now, when the mood is
    /// confident enough for every action (below an action's minimum confidence it is never
    /// chosen); 0 for a disabled action. To 4 decimals.
    pub probability: f64,
}

/// A context: a mood label and its strongest signal.
#[derive(Debug, Object, Serialize)]
pub struct ContextStats {
    pub mood: MoodLabel,
    /// The strongest signal behind the label (a signal id), or `none`.
    pub signal: String,
    /// Whether the policy learns here (the context has rated feedback and learning is on);
    /// `false`: the contract's table.
    pub learning: bool,
    /// The five actions, in the contract's order.
    pub actions: Vec<ActionStats>,
}

/// What the tenant's intervention policy has learned.
#[derive(Debug, Object)]
pub struct InterventionAnalytics {
    pub settings: InterventionSettings,
    /// Every context with a suggestion or feedback, by mood then signal.
    pub contexts: Vec<ContextStats>,
}

/// One row of the interventions export: a context and an action.
#[derive(Debug, Object, Serialize)]
pub struct ExportedIntervention {
    pub mood: MoodLabel,
    pub signal: String,
    #[serde(flatten)]
    #[oai(flatten)]
    pub stats: ActionStats,
}

pub struct OnSettingsRead;
impl Failures for OnSettingsRead {
    const STATUSES: &'static [u16] = &[401, 403, 429, 500];
}

pub struct OnSettingsUpdate;
impl Failures for OnSettingsUpdate {
    const STATUSES: &'static [u16] = &[400, 401, 403, 413, 415, 429, 500];
}

pub struct OnExportRead;
impl Failures for OnExportRead {
    const STATUSES: &'static [u16] = &[400, 401, 403, 429, 500];
}

/// The tenant's policy, and its contexts with their five actions (in [`SuggestedAction::ALL`]
/// order) as the policy sees them now.
async fn learned(state: &AppState, tenant: &Tenant) -> Result<(Arc<Policy>, Vec<(Context, ContextStats)>), StoreError> {
    let (policy, counts) =
        tokio::try_join!(state.policies.get(&state.store, tenant), interventions::counts(&state.store, tenant))?;
    let contexts = table(&policy, &state.models.session, counts);
    Ok((policy, contexts))
}

/// Probabilities at full confidence, where no minimum holds an action back (under any model).
fn table(policy: &Policy, model: &Model, counts: Vec<Counts>) -> Vec<(Context, ContextStats)> {
    let mut by_context: BTreeMap<Context, [Option<Counts>; SuggestedAction::COUNT]> = BTreeMap::new();
    for c in counts {
        let (context, index) = (c.context, c.action.index());
        by_context.entry(context).or_default()[index] = Some(c);
    }
    by_context
        .into_iter()
        .map(|(context, counts)| {
            let probabilities = policy.probabilities(model, context, 1.0);
            let actions = SuggestedAction::ALL
                .into_iter()
                .map(|action| {
                    let c = counts[action.index()].as_ref();
                    let get = |f: fn(&Counts) -> i64| c.map_or(0, f);
                    let (helpful, unhelpful) = (get(|c| c.helpful), get(|c| c.unhelpful));
                    let rated = (helpful + unhelpful) as u64;
                    let interval = wilson_interval(helpful as u64, rated);
                    ActionStats {
                        action: action.into(),
                        suggested: get(|c| c.suggested),
                        feedback_count: get(|c| c.feedback),
                        helpful,
                        unhelpful,
                        helpful_rate: (rated > 0).then(|| round4(helpful as f64 / rated as f64)),
                        helpful_rate_low: interval.map(|(low, _)| round4(low)),
                        helpful_rate_high: interval.map(|(_, high)| round4(high)),
                        probability: round4(probabilities[action.index()]),
                    }
                })
                .collect();
            let stats = ContextStats {
                mood: context.mood.into(),
                signal: context.signal_str().to_owned(),
                learning: policy.learns_in(context),
                actions,
            };
            (context, stats)
        })
        .collect()
}

const CSV_HEADER: &str = "mood,signal,action,suggested,feedback_count,helpful,unhelpful,helpful_rate,\
helpful_rate_low,helpful_rate_high,probability\n";

fn render(contexts: Vec<(Context, ContextStats)>, format: ExportFormat) -> String {
    let mut out = String::from(if format == ExportFormat::Csv { CSV_HEADER } else { "" });
    let num = |v: Option<f64>| v.map(|n| n.to_string()).unwrap_or_default();
    for (context, stats) in contexts {
        for (action, s) in SuggestedAction::ALL.into_iter().zip(stats.actions) {
            match format {
                ExportFormat::Ndjson => {
                    let row = ExportedIntervention { mood: stats.mood, signal: stats.signal.clone(), stats: s };
                    out.push_str(&serde_json::to_string(&row).expect("a row serializes"));
                    out.push('\n');
                }
                // Every field is a name or a number: nothing to quote.
                ExportFormat::Csv => {
                    _ = writeln!(
                        out,
                        "{},{},{},{},{},{},{},{},{},{},{}",
                        context.mood,
                        context.signal_str(),
                        action,
                        s.suggested,
                        s.feedback_count,
                        s.helpful,
                        s.unhelpful,
                        num(s.helpful_rate),
                        num(s.helpful_rate_low),
                        num(s.helpful_rate_high),
                        s.probability
                    );
                }
            }
        }
    }
    out
}

pub struct InterventionsApi;

#[OpenApi(tag = "Tag::Interventions")]
impl InterventionsApi {
    /// Get the intervention settings
    ///
    /// How `suggested_action` is chosen for your sessions: whether it learns from feedback, how
    /// much it explores, the actions it never suggests, and the confidence each action needs.
    #[oai(path = "/v1/settings/interventions", method = "get", operation_id = "getInterventionSettings")]
    async fn settings(
        &self,
        state: Data<&Arc<AppState>>,
        auth: Auth,
    ) -> Result<Json<InterventionSettings>, Fails<OnSettingsRead>> {
        let policy = state.policies.get(&state.store, auth.tenant()).await?;
        Ok(Json(InterventionSettings::new(policy.settings(), &state.models.session)))
    }

    /// Change the intervention settings
    ///
    /// Send any subset of the fields; the others keep their value. A value out of bounds is
    /// refused with 400 naming the field, and nothing changes. Takes effect at once on the
    /// server that answers, within 5 seconds on the others.
    #[oai(path = "/v1/settings/interventions", method = "put", operation_id = "putInterventionSettings")]
    async fn update_settings(
        &self,
        state: Data<&Arc<AppState>>,
        auth: Auth,
        body: JsonBody<InterventionSettingsUpdate>,
    ) -> Result<Json<InterventionSettings>, Fails<OnSettingsUpdate>> {
        let tenant = auth.tenant();
        let updated = interventions::update_settings(&state.store, tenant, body.0.into(), state.clock.now())
            .await?
            .map_err(|e| ApiError::invalid(e.field, e.message))?;
        state.policies.forget(tenant.id);
        Ok(Json(InterventionSettings::new(&updated, &state.models.session)))
    }

    /// Get what the interventions learned
    ///
    /// Per context (mood label and strongest signal) and action: times suggested, feedback
    /// count, helpful rate with its 95 % interval, and the probability of being chosen now.
    /// Counts cover all time.
    #[oai(path = "/v1/analytics/interventions", method = "get", operation_id = "getInterventionAnalytics")]
    async fn analytics(
        &self,
        state: Data<&Arc<AppState>>,
        auth: Auth,
    ) -> Result<Json<InterventionAnalytics>, Fails<OnSettingsRead>> {
        let (policy, contexts) = learned(&state, auth.tenant()).await?;
        Ok(Json(InterventionAnalytics {
            settings: InterventionSettings::new(policy.settings(), &state.models.session),
            contexts: contexts.into_iter().map(|(_, stats)| stats).collect(),
        }))
    }

    /// Export what the interventions learned
    ///
    /// The rows of `GET /v1/analytics/interventions`, one per context and action, as NDJSON
    /// (default) or CSV with a header row.
    #[oai(path = "/v1/analytics/interventions/export", method = "get", operation_id = "exportInterventions")]
    async fn export(
        &self,
        state: Data<&Arc<AppState>>,
        auth: Auth,
        /// `ndjson` (default) or `csv`.
        format: Query<Option<ExportFormat>>,
    ) -> Result<Export<ExportedIntervention>, Fails<OnExportRead>> {
        let (_, contexts) = learned(&state, auth.tenant()).await?;
        let format = format.0.unwrap_or(ExportFormat::Ndjson);
        Ok(Export::whole(format, render(contexts, format)))
    }
}
