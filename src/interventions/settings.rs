//! A tenant's control over its suggestions: learning on or off, how much to explore, actions
//! its site cannot take, and how confident a mood must be for each action.

use crate::engine::{Model, SuggestedAction};

/// The largest exploration rate a tenant may set: beyond it most suggestions would be random.
pub const MAX_EXPLORATION: f64 = 0.5;

/// A tenant's settings as stored; [`Settings::default`] is the contract's behaviour.
#[derive(Clone, Debug, PartialEq)]
pub struct Settings {
    /// `false`: always the contract's table, whatever the feedback says.
    pub learning: bool,
    /// The share of suggestions spread evenly over the eligible actions once a context learns.
    pub exploration: f64,
    /// Actions never suggested, by [`SuggestedAction::index`] (`no_action` cannot be disabled).
    pub disabled: [bool; SuggestedAction::COUNT],
    /// Minimum confidences set by the tenant; `None` keeps the model's.
    pub min_confidence: [Option<f64>; SuggestedAction::COUNT],
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            learning: true,
            exploration: 0.05,
            disabled: [false; SuggestedAction::COUNT],
            min_confidence: [None; SuggestedAction::COUNT],
        }
    }
}

/// A change to some of the settings; absent fields keep their value.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SettingsPatch {
    pub learning: Option<bool>,
    pub exploration: Option<f64>,
    /// Replaces the whole list.
    pub disabled_actions: Option<Vec<String>>,
    /// Sets the minimum of each action named; others keep theirs.
    pub min_confidence: Vec<(SuggestedAction, f64)>,
}

/// A setting out of bounds: the field, as the API names it, and why.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct SettingsError {
    pub field: String,
    pub message: String,
}

fn invalid(field: impl Into<String>, message: impl Into<String>) -> SettingsError {
    SettingsError { field: field.into(), message: message.into() }
}

impl Settings {
    /// The minimum confidence for `action` to be suggested: the tenant's, or the model's.
    pub fn min_confidence(&self, model: &Model, action: SuggestedAction) -> f64 {
        self.min_confidence[action.index()].unwrap_or_else(|| model.action_min_confidence(action))
    }

    /// The actions disabled, in [`SuggestedAction::ALL`] order.
    pub fn disabled_actions(&self) -> impl Iterator<Item = SuggestedAction> + '_ {
        SuggestedAction::ALL.into_iter().filter(|a| self.disabled[a.index()])
    }

    /// Applies `patch` whole, or not at all when a value is out of bounds.
    pub fn apply(&mut self, patch: SettingsPatch) -> Result<(), SettingsError> {
        let mut next = self.clone();
        if let Some(learning) = patch.learning {
            next.learning = learning;
        }
        if let Some(e) = patch.exploration {
            if !(0.0..=MAX_EXPLORATION).contains(&e) {
                return Err(invalid("exploration", format!("must be between 0 and {MAX_EXPLORATION}")));
            }
            next.exploration = e;
        }
        if let Some(names) = patch.disabled_actions {
            next.disabled = [false; SuggestedAction::COUNT];
            for name in &names {
                match name.parse::<SuggestedAction>() {
                    Ok(SuggestedAction::NoAction) => {
                        return Err(invalid("disabled_actions", "no_action cannot be disabled: it is the fallback"));
                    }
                    Ok(action) => next.disabled[action.index()] = true,
                    Err(()) => {
                        return Err(invalid(
                            "disabled_actions",
                            format!(
                                "unknown action {name:?}: expected show_live_chat, show_tooltip, \
                                 show_recommendations or show_exit_offer"
                            ),
                        ));
                    }
                }
            }
        }
        for (action, min) in patch.min_confidence {
            if !(0.0..=1.0).contains(&min) {
                return Err(invalid(format!("min_confidence.{action}"), "must be between 0 and 1"));
            }
            next.min_confidence[action.index()] = Some(min);
        }
        *self = next;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_patch_changes_only_what_it_names() {
        let mut s = Settings::default();
        s.apply(SettingsPatch { exploration: Some(0.2), ..Default::default() }).unwrap();
        s.apply(SettingsPatch { disabled_actions: Some(vec!["show_live_chat".into()]), ..Default::default() }).unwrap();
        s.apply(SettingsPatch { min_confidence: vec![(SuggestedAction::ShowTooltip, 0.7)], ..Default::default() })
            .unwrap();
        let model = Model::session_v1();
        assert!(s.learning);
        assert_eq!(s.exploration, 0.2);
        assert_eq!(s.disabled_actions().collect::<Vec<_>>(), [SuggestedAction::ShowLiveChat]);
        assert_eq!(s.min_confidence(&model, SuggestedAction::ShowTooltip), 0.7);
        assert_eq!(s.min_confidence(&model, SuggestedAction::ShowLiveChat), 0.5);
    }

    #[test]
    fn an_out_of_bounds_value_names_its_field_and_changes_nothing() {
        let mut s = Settings::default();
        let cases = [
            (SettingsPatch { learning: Some(false), exploration: Some(0.51), ..Default::default() }, "exploration"),
            (SettingsPatch { exploration: Some(-0.01), ..Default::default() }, "exploration"),
            (
                SettingsPatch { disabled_actions: Some(vec!["no_action".into()]), ..Default::default() },
                "disabled_actions",
            ),
            (
                SettingsPatch { disabled_actions: Some(vec!["show_discount".into()]), ..Default::default() },
                "disabled_actions",
            ),
            (
                SettingsPatch { min_confidence: vec![(SuggestedAction::ShowExitOffer, 1.5)], ..Default::default() },
                "min_confidence.show_exit_offer",
            ),
        ];
        for (patch, field) in cases {
            assert_eq!(s.apply(patch).unwrap_err().field, field);
            assert_eq!(s, Settings::default());
        }
    }
}
