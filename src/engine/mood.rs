//! The seven mood labels and the UI actions they suggest.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// A mood label. The declaration order is the documented tie order wherever labels are ranked.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Mood {
    Frustrated,
    Confused,
    Decisive,
    Browsing,
    Disengaged,
    Focused,
    Neutral,
}

impl Mood {
    pub const COUNT: usize = 7;
    pub const ALL: [Mood; Self::COUNT] = [
        Self::Frustrated,
        Self::Confused,
        Self::Decisive,
        Self::Browsing,
        Self::Disengaged,
        Self::Focused,
        Self::Neutral,
    ];

    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Frustrated => "frustrated",
            Self::Confused => "confused",
            Self::Decisive => "decisive",
            Self::Browsing => "browsing",
            Self::Disengaged => "disengaged",
            Self::Focused => "focused",
            Self::Neutral => "neutral",
        }
    }

    pub const fn index(self) -> usize {
        self as usize
    }

    /// The action the contract's "Mood States" table pairs with this mood.
    pub const fn action(self) -> SuggestedAction {
        match self {
            Self::Frustrated => SuggestedAction::ShowLiveChat,
            Self::Confused => SuggestedAction::ShowTooltip,
            Self::Browsing => SuggestedAction::ShowRecommendations,
            Self::Disengaged => SuggestedAction::ShowExitOffer,
            Self::Decisive | Self::Focused | Self::Neutral => SuggestedAction::NoAction,
        }
    }
}

impl fmt::Display for Mood {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Mood {
    type Err = ();

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL.into_iter().find(|m| m.as_str() == s).ok_or(())
    }
}

/// What the client's UI could do about the mood.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SuggestedAction {
    NoAction,
    ShowLiveChat,
    ShowTooltip,
    ShowRecommendations,
    ShowExitOffer,
}

impl SuggestedAction {
    pub const COUNT: usize = 5;
    /// In declaration order, so that `ALL[a.index()] == a`.
    pub const ALL: [SuggestedAction; Self::COUNT] =
        [Self::NoAction, Self::ShowLiveChat, Self::ShowTooltip, Self::ShowRecommendations, Self::ShowExitOffer];

    pub const fn as_str(self) -> &'static str {
        match self {
            Self::NoAction => "no_action",
            Self::ShowLiveChat => "show_live_chat",
            Self::ShowTooltip => "show_tooltip",
            Self::ShowRecommendations => "show_recommendations",
            Self::ShowExitOffer => "show_exit_offer",
        }
    }

    pub const fn index(self) -> usize {
        self as usize
    }
}

impl FromStr for SuggestedAction {
    type Err = ();

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL.into_iter().find(|a| a.as_str() == s).ok_or(())
    }
}

impl fmt::Display for SuggestedAction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
