//! Behavioural events as the engine sees them: already parsed, already valid.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// The twelve event types of the /v1 contract, in the order the contract lists them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EventKind {
    Click,
    RageClick,
    Scroll,
    InputPause,
    Backtrack,
    BackNav,
    PageView,
    Error,
    Idle,
    Hover,
    Focus,
    Blur,
}

impl EventKind {
    pub const COUNT: usize = 12;
    pub const ALL: [EventKind; Self::COUNT] = [
        Self::Click,
        Self::RageClick,
        Self::Scroll,
        Self::InputPause,
        Self::Backtrack,
        Self::BackNav,
        Self::PageView,
        Self::Error,
        Self::Idle,
        Self::Hover,
        Self::Focus,
        Self::Blur,
    ];

    /// The wire name (`rage_click`, `page_view`, …).
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Click => "click",
            Self::RageClick => "rage_click",
            Self::Scroll => "scroll",
            Self::InputPause => "input_pause",
            Self::Backtrack => "backtrack",
            Self::BackNav => "back_nav",
            Self::PageView => "page_view",
            Self::Error => "error",
            Self::Idle => "idle",
            Self::Hover => "hover",
            Self::Focus => "focus",
            Self::Blur => "blur",
        }
    }

    /// Index into per-kind tables of the [`Model`](super::Model).
    pub const fn index(self) -> usize {
        self as usize
    }

    /// How a trigger reason names this event.
    pub(crate) const fn phrase(self) -> &'static str {
        match self {
            Self::Click => "A click",
            Self::RageClick => "A rage click",
            Self::Scroll => "A scroll",
            Self::InputPause => "A pause mid-input",
            Self::Backtrack => "A backtrack up the page",
            Self::BackNav => "A back navigation",
            Self::PageView => "A page view",
            Self::Error => "An error shown to the user",
            Self::Idle => "An idle period",
            Self::Hover => "A long hover",
            Self::Focus => "A field focus",
            Self::Blur => "A field blur",
        }
    }
}

impl fmt::Display for EventKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The wire name is not one of the twelve event types.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UnknownEventKind;

impl FromStr for EventKind {
    type Err = UnknownEventKind;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL.into_iter().find(|k| k.as_str() == s).ok_or(UnknownEventKind)
    }
}

/// Scroll direction, for `scroll` events.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ScrollDirection {
    Up,
    Down,
}

/// One behavioural event. Times are Unix epoch milliseconds; the engine never reads a clock.
#[derive(Clone, Debug, PartialEq)]
pub struct Event {
    pub kind: EventKind,
    pub ts_ms: i64,
    pub x: Option<f64>,
    pub y: Option<f64>,
    pub duration_ms: Option<f64>,
    pub speed: Option<f64>,
    pub direction: Option<ScrollDirection>,
    /// A stable hash of the page URL (`page_view`), so navigation loops can be seen without
    /// keeping the URL itself in the state.
    pub page: Option<u64>,
}

impl Event {
    /// An event of `kind` at `ts_ms` with no optional fields.
    pub fn new(kind: EventKind, ts_ms: i64) -> Self {
        Self { kind, ts_ms, x: None, y: None, duration_ms: None, speed: None, direction: None, page: None }
    }

    pub fn at(mut self, x: f64, y: f64) -> Self {
        (self.x, self.y) = (Some(x), Some(y));
        self
    }

    pub fn lasting(mut self, duration_ms: f64) -> Self {
        self.duration_ms = Some(duration_ms);
        self
    }

    pub fn scrolling(mut self, speed: f64, direction: Option<ScrollDirection>) -> Self {
        self.speed = Some(speed);
        self.direction = direction;
        self
    }

    pub fn on_page(mut self, url: &str) -> Self {
        self.page = Some(page_hash(url));
        self
    }
}

/// FNV-1a: stable across Rust releases and platforms, unlike `DefaultHasher`, because the
/// hash is persisted inside session state.
pub fn page_hash(url: &str) -> u64 {
    url.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3))
}
