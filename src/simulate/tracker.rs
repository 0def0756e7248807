//! What a page sends for what a person does: `/v1/tracker.js` with its thresholds and order, or
//! a direct API integration that reports the contract's events its own way.

use crate::engine::{Event, EventKind, Mood, ScrollDirection};

/// How the person reaches the page. Touch screens have no hover and scroll by flicking.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Device {
    Mouse,
    Touch,
}

/// Who turns a person's inputs into events.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Integration {
    /// `/v1/tracker.js` with its defaults (README, "Add it to a web page").
    Tracker,
    /// A customer's own code calling the API, as the contract's examples do: one scroll event
    /// per gesture, clicks without coordinates (rage clicks detected in the page, with them),
    /// and shorter idle, hover and pause thresholds (its example reports a 4.5 s idle).
    Direct,
}

/// The thresholds an integration reports events by.
struct Thresholds {
    /// Scroll events at most this often while scrolling; `None`: one per gesture.
    scroll_every_ms: Option<i64>,
    input_pause_ms: i64,
    idle_ms: i64,
    hover_ms: i64,
    /// Whether a `click` carries `x`, `y`.
    click_coordinates: bool,
}

impl Integration {
    fn thresholds(self) -> Thresholds {
        match self {
            Self::Tracker => Thresholds {
                scroll_every_ms: Some(250),
                input_pause_ms: 2_000,
                idle_ms: 30_000,
                hover_ms: 1_500,
                click_coordinates: true,
            },
            Self::Direct => Thresholds {
                scroll_every_ms: None,
                input_pause_ms: 1_500,
                idle_ms: 4_000,
                hover_ms: 1_000,
                click_coordinates: false,
            },
        }
    }
}

/// One event as sent, with what a person watching the session would call the moment.
#[derive(Clone, Debug, PartialEq)]
pub struct Labelled {
    pub event: Event,
    pub truth: Mood,
    /// Which stretch of the session (0, 1, …) the event belongs to; the truth changes between them.
    pub phase: usize,
}

/// Rules every integration shares: the published rage-click rule, and a backtrack after 200 px.
const RAGE_CLICKS: usize = 3;
const RAGE_MS: i64 = 1_000;
const RAGE_PX: f64 = 30.0;
const BACKTRACK_PX: f64 = 200.0;

/// The page's event reporting, fed a person's inputs in time order.
pub struct Tracker {
    pub device: Device,
    limits: Thresholds,
    now: i64,
    truth: Mood,
    phase: usize,
    events: Vec<Labelled>,
    last_activity: i64,
    clicks: Vec<(i64, f64, f64)>,
    down_run: f64,
    last_dir: Option<ScrollDirection>,
    typing_at: Option<i64>,
}

impl Tracker {
    pub fn new(device: Device, integration: Integration, start_ms: i64) -> Self {
        Self {
            device,
            limits: integration.thresholds(),
            now: start_ms,
            truth: Mood::Neutral,
            phase: 0,
            events: Vec::new(),
            last_activity: start_ms,
            clicks: Vec::new(),
            down_run: 0.0,
            last_dir: None,
            typing_at: None,
        }
    }

    /// From now on the session is `truth` (a new phase if it differs from the current one).
    pub fn truth(&mut self, truth: Mood) {
        if truth != self.truth && !self.events.is_empty() {
            self.phase += 1;
        }
        self.truth = truth;
    }

    pub fn now(&self) -> i64 {
        self.now
    }

    pub fn into_events(self) -> Vec<Labelled> {
        self.events
    }

    fn emit(&mut self, event: Event) {
        self.events.push(Labelled { event, truth: self.truth, phase: self.phase });
    }

    /// Time passes with no input at all (reading without touching anything, or away).
    pub fn wait(&mut self, ms: f64) {
        self.now += ms.max(0.0).round() as i64;
    }

    /// Time passes while the pointer moves now and then: activity, but no event.
    pub fn wait_moving(&mut self, ms: f64) {
        self.wait(ms);
        if self.device == Device::Mouse {
            self.activity();
        }
    }

    /// Any input: reports the idle stretch it ends.
    fn activity(&mut self) {
        let gap = self.now - self.last_activity;
        if gap >= self.limits.idle_ms {
            self.emit(Event::new(EventKind::Idle, self.now).lasting(gap as f64));
        }
        self.last_activity = self.now;
    }

    pub fn click(&mut self, x: f64, y: f64) {
        self.activity();
        let t = self.now;
        let click = Event::new(EventKind::Click, t);
        self.emit(if self.limits.click_coordinates { click.at(x, y) } else { click });
        self.clicks.retain(|&(ct, cx, cy)| t - ct <= RAGE_MS && (cx - x).abs() <= RAGE_PX && (cy - y).abs() <= RAGE_PX);
        self.clicks.push((t, x, y));
        if self.clicks.len() >= RAGE_CLICKS {
            self.emit(Event::new(EventKind::RageClick, t).at(x, y));
            self.clicks.clear();
        }
    }

    /// One scroll gesture of `dy` pixels (negative is up) over `duration_ms`: events with their
    /// speed (the tracker's every 250 ms), and a backtrack when it reverses a downward run of
    /// 200 px or more.
    pub fn scroll(&mut self, dy: f64, duration_ms: f64) {
        let every = self.limits.scroll_every_ms.map_or(duration_ms, |ms| ms as f64);
        let steps = ((duration_ms / every).ceil() as usize).max(1);
        let step_ms = duration_ms / steps as f64;
        for _ in 0..steps {
            self.wait(step_ms);
            self.activity();
            let d = dy / steps as f64;
            let dir = if d > 0.0 { ScrollDirection::Down } else { ScrollDirection::Up };
            let speed = (d.abs() * 1000.0 / step_ms.max(1.0)).round();
            self.emit(Event::new(EventKind::Scroll, self.now).scrolling(speed, Some(dir)));
            if dir == ScrollDirection::Down {
                self.down_run += d;
            } else if self.last_dir == Some(ScrollDirection::Down) && self.down_run >= BACKTRACK_PX {
                self.emit(Event::new(EventKind::Backtrack, self.now));
                self.down_run = 0.0;
            }
            self.last_dir = Some(dir);
        }
    }

    /// Typing `keys` keystrokes `every_ms` apart into the focused field.
    pub fn type_keys(&mut self, keys: usize, every_ms: f64) {
        for _ in 0..keys {
            self.wait(every_ms);
            self.key();
        }
    }

    /// One keystroke: reports the pause it ends, if typing had stopped long enough.
    pub fn key(&mut self) {
        self.activity();
        if let Some(at) = self.typing_at
            && self.now - at >= self.limits.input_pause_ms
        {
            self.emit(Event::new(EventKind::InputPause, self.now).lasting((self.now - at) as f64));
        }
        self.typing_at = Some(self.now);
    }

    pub fn focus(&mut self) {
        self.activity();
        self.emit(Event::new(EventKind::Focus, self.now));
        self.typing_at = None;
    }

    pub fn blur(&mut self) {
        self.emit(Event::new(EventKind::Blur, self.now));
        self.typing_at = None;
    }

    /// Resting the pointer on a control for `ms` without clicking it (nothing on touch).
    pub fn hover(&mut self, ms: f64) {
        if self.device == Device::Touch {
            self.wait(ms);
            return;
        }
        self.activity();
        self.wait(ms);
        if ms >= self.limits.hover_ms as f64 {
            self.emit(Event::new(EventKind::Hover, self.now).lasting(ms.round()));
        }
    }

    pub fn page_view(&mut self, url: &str) {
        self.activity();
        self.emit(Event::new(EventKind::PageView, self.now).on_page(url));
        (self.down_run, self.last_dir, self.typing_at) = (0.0, None, None);
    }

    /// The back button: a back navigation, then the page view of where it leads.
    pub fn back(&mut self, url: &str) {
        self.activity();
        self.emit(Event::new(EventKind::BackNav, self.now));
        self.page_view(url);
    }

    /// An error surfaced to the person (an uncaught exception or a failed request).
    pub fn error(&mut self) {
        self.emit(Event::new(EventKind::Error, self.now));
    }

    /// The tab goes to the background for `ms`: an idle report if the person was already idle,
    /// then nothing until they return.
    pub fn hidden(&mut self, ms: f64) {
        let gap = self.now - self.last_activity;
        if gap >= self.limits.idle_ms {
            self.emit(Event::new(EventKind::Idle, self.now).lasting(gap as f64));
            self.last_activity = self.now;
        }
        self.wait(ms);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(t: Tracker) -> Vec<EventKind> {
        t.into_events().iter().map(|l| l.event.kind).collect()
    }

    #[test]
    fn three_quick_clicks_in_one_place_add_a_rage_click() {
        let mut t = Tracker::new(Device::Mouse, Integration::Tracker, 0);
        for dx in [0.0, 5.0, 10.0] {
            t.wait(200.0);
            t.click(100.0 + dx, 100.0);
        }
        t.wait(2_000.0);
        t.click(100.0, 100.0);
        use EventKind::*;
        assert_eq!(kinds(t), [Click, Click, Click, RageClick, Click]);
    }

    #[test]
    fn scrolling_is_sampled_and_a_reversal_is_a_backtrack() {
        let mut t = Tracker::new(Device::Touch, Integration::Tracker, 0);
        t.scroll(600.0, 500.0);
        t.scroll(-300.0, 250.0);
        let events = t.into_events();
        let speeds: Vec<_> = events.iter().filter_map(|l| l.event.speed).collect();
        assert_eq!(speeds, [1200.0, 1200.0, 1200.0]);
        assert_eq!(events.last().unwrap().event.kind, EventKind::Backtrack);
    }

    #[test]
    fn silence_is_reported_when_input_resumes_and_pauses_when_typing_does() {
        let mut t = Tracker::new(Device::Mouse, Integration::Tracker, 0);
        t.focus();
        t.type_keys(3, 150.0);
        t.wait(2_500.0);
        t.key();
        t.wait(45_000.0);
        t.key();
        let events = t.into_events();
        let got: Vec<_> = events.iter().map(|l| (l.event.kind, l.event.duration_ms)).collect();
        use EventKind::*;
        assert_eq!(
            got,
            [(Focus, None), (InputPause, Some(2_500.0)), (Idle, Some(45_000.0)), (InputPause, Some(45_000.0))]
        );
    }

    #[test]
    fn a_direct_integration_reports_a_gesture_once_and_short_idles() {
        let mut t = Tracker::new(Device::Mouse, Integration::Direct, 0);
        t.scroll(600.0, 500.0);
        t.wait(4_500.0);
        t.click(10.0, 10.0);
        let got: Vec<_> = t.into_events().iter().map(|l| (l.event.kind, l.event.speed, l.event.duration_ms)).collect();
        use EventKind::*;
        assert_eq!(got, [(Scroll, Some(1200.0), None), (Idle, None, Some(4_500.0)), (Click, None, None)]);
        assert_eq!(click_x(Integration::Direct), None);
        assert_eq!(click_x(Integration::Tracker), Some(10.0));
    }

    fn click_x(integration: Integration) -> Option<f64> {
        let mut t = Tracker::new(Device::Mouse, integration, 0);
        t.click(10.0, 10.0);
        t.into_events()[0].event.x
    }

    #[test]
    fn touch_screens_never_hover() {
        let mut t = Tracker::new(Device::Touch, Integration::Tracker, 0);
        t.hover(3_000.0);
        assert!(t.into_events().is_empty());
    }
}
