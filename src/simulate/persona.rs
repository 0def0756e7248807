//! The people: what each persona does, input by input, with timing noise. Where each behaviour
//! comes from is in the module documentation of [`crate::simulate`].

use super::tracker::{Device, Integration, Labelled, Tracker};
use crate::engine::Mood;
use rand::Rng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, LogNormal};

/// Who the simulated person is; mixtures change their truth part-way through.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Persona {
    /// A checkout that keeps failing: errors, rage clicks, back and retry.
    FailingCheckout,
    /// Stuck in a form: long pauses, help hovers, re-reading, refocusing the same field.
    ConfusedInForm,
    /// Looking for something on a long page and not finding it: flicks down and back up.
    SearchingPage,
    /// Knows what they want: product, cart, checkout, done, in under a minute.
    DecisiveBuyer,
    /// Reading at a relaxed pace: pages, gentle scrolls, a link now and then.
    RelaxedReader,
    /// Loses interest: idles, hides the tab, drifts back briefly.
    Disengaged,
    /// Filling in a long form steadily.
    FocusedFormFiller,
    /// Leaves after one to four events.
    TooLittleData,
    /// A relaxed reader who then hits repeated errors.
    ReaderHitsErrors,
    /// A steady form-filler stuck at one hard field, then steady again.
    FormFillerGetsStuck,
    /// A relaxed reader who walks away.
    ReaderWalksAway,
    /// Clicks through a catalogue at an easy pace: filters, tabs, images, now and then a product.
    ClickingAround,
}

impl Persona {
    pub const ALL: [Persona; 12] = [
        Self::FailingCheckout,
        Self::ConfusedInForm,
        Self::SearchingPage,
        Self::DecisiveBuyer,
        Self::RelaxedReader,
        Self::Disengaged,
        Self::FocusedFormFiller,
        Self::TooLittleData,
        Self::ReaderHitsErrors,
        Self::FormFillerGetsStuck,
        Self::ReaderWalksAway,
        Self::ClickingAround,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::FailingCheckout => "failing_checkout",
            Self::ConfusedInForm => "confused_in_form",
            Self::SearchingPage => "searching_page",
            Self::DecisiveBuyer => "decisive_buyer",
            Self::RelaxedReader => "relaxed_reader",
            Self::Disengaged => "disengaged",
            Self::FocusedFormFiller => "focused_form_filler",
            Self::TooLittleData => "too_little_data",
            Self::ReaderHitsErrors => "reader_hits_errors",
            Self::FormFillerGetsStuck => "form_filler_gets_stuck",
            Self::ReaderWalksAway => "reader_walks_away",
            Self::ClickingAround => "clicking_around",
        }
    }

    /// Whether the session ever turns frustrated: the others are the calm sessions a live-chat
    /// prompt would interrupt for nothing.
    pub fn troubled(self) -> bool {
        matches!(self, Self::FailingCheckout | Self::ReaderHitsErrors)
    }
}

/// A person at a page: their tracker, their randomness, and how they do things.
pub struct Person<'r> {
    pub tr: Tracker,
    rng: &'r mut ChaCha8Rng,
    /// Share of steps at which something unrelated to the persona happens.
    noise: f64,
}

impl<'r> Person<'r> {
    pub fn new(rng: &'r mut ChaCha8Rng, device: Device, integration: Integration, start_ms: i64, noise: f64) -> Self {
        Self { tr: Tracker::new(device, integration, start_ms), rng, noise }
    }

    pub fn touch(&self) -> bool {
        self.tr.device == Device::Touch
    }

    fn chance(&mut self, p: f64) -> bool {
        self.rng.random_bool(p.clamp(0.0, 1.0))
    }

    fn between(&mut self, lo: f64, hi: f64) -> f64 {
        self.rng.random_range(lo..=hi)
    }

    fn count(&mut self, lo: usize, hi: usize) -> usize {
        self.rng.random_range(lo..=hi)
    }

    /// A duration around `median_ms`: human timing is log-normal (right-skewed, never negative).
    fn around(&mut self, median_ms: f64, sigma: f64) -> f64 {
        LogNormal::new(median_ms.ln(), sigma).expect("a finite median").sample(self.rng)
    }

    /// A point on the page, in viewport pixels.
    fn spot(&mut self) -> (f64, f64) {
        (self.between(40.0, 1200.0).round(), self.between(60.0, 760.0).round())
    }

    /// Sometimes something that belongs to no persona: a stray hover, a tap elsewhere, a window
    /// switch, a nudge of the page, a third-party script's error.
    fn maybe_noise(&mut self) {
        if !self.chance(self.noise) {
            return;
        }
        match self.count(0, 9) {
            0..=1 => self.hover_about(1_800.0, 0.4),
            2..=3 => {
                let (x, y) = self.spot();
                self.tr.click(x, y);
            }
            4..=5 => {
                self.tr.blur();
                self.pause(3_000.0, 0.8);
                self.tr.focus();
            }
            6..=8 => {
                let dy = self.between(-300.0, 300.0);
                self.scroll_over(dy, 400.0, 0.3);
            }
            _ => self.tr.error(),
        }
    }

    /// A scroll gesture: a wheel or drag on a mouse, a flick (fast) on touch.
    fn scroll_by(&mut self, dy: f64) {
        let speed = if self.touch() { self.around(2_600.0, 0.45) } else { self.around(700.0, 0.5) };
        let ms = (dy.abs() / speed * 1000.0).clamp(120.0, 3_000.0);
        self.tr.scroll(dy, ms);
    }

    /// Waits about `median_ms` without any input.
    fn pause(&mut self, median_ms: f64, sigma: f64) {
        let ms = self.around(median_ms, sigma);
        self.tr.wait(ms);
    }

    /// Waits about `median_ms`, moving the pointer now and then.
    fn pause_moving(&mut self, median_ms: f64, sigma: f64) {
        let ms = self.around(median_ms, sigma);
        self.tr.wait_moving(ms);
    }

    fn hover_about(&mut self, median_ms: f64, sigma: f64) {
        let ms = self.around(median_ms, sigma);
        self.tr.hover(ms);
    }

    /// A scroll of `dy` pixels taking about `median_ms`, whatever the device.
    fn scroll_over(&mut self, dy: f64, median_ms: f64, sigma: f64) {
        let ms = self.around(median_ms, sigma);
        self.tr.scroll(dy, ms);
    }

    fn read(&mut self, median_ms: f64) {
        let ms = self.around(median_ms, 0.6);
        self.tr.wait_moving(ms);
    }

    /// Types a value with the short gaps of steady typing.
    fn type_value(&mut self, keys: usize) {
        for _ in 0..keys {
            let gap = self.around(180.0, 0.35).min(1_500.0);
            self.tr.wait(gap);
            self.tr.key();
        }
    }

    /// Enters a form field: most people click or tap into it (the field takes focus, then the
    /// click lands); the rest Tab from the field before.
    fn enter_field(&mut self) {
        self.tr.focus();
        if self.chance(0.7) {
            let spot = self.spot();
            self.tap_at(spot);
        }
    }

    fn tap_at(&mut self, (x, y): (f64, f64)) {
        let wobble = if self.touch() { 8.0 } else { 3.0 };
        let (dx, dy) = (self.between(-wobble, wobble), self.between(-wobble, wobble));
        self.tr.click((x + dx).round(), (y + dy).round());
    }

    // ---- personas ----

    pub fn act(&mut self, persona: Persona) {
        match persona {
            Persona::FailingCheckout => {
                self.checkout_lead_in();
                self.failing_checkout();
            }
            Persona::ConfusedInForm => {
                self.tr.truth(Mood::Confused);
                self.tr.page_view("/apply");
                self.confused_in_form(3, 6);
            }
            Persona::SearchingPage => self.searching_page(),
            Persona::DecisiveBuyer => self.decisive_buyer(),
            Persona::RelaxedReader => self.relaxed_reader(120_000.0, 420_000.0),
            Persona::Disengaged => {
                self.relaxed_reader(10_000.0, 25_000.0);
                self.disengaged();
            }
            Persona::FocusedFormFiller => {
                self.tr.truth(Mood::Focused);
                self.tr.page_view("/application");
                self.focused_form(8, 18);
            }
            Persona::TooLittleData => self.too_little_data(),
            Persona::ReaderHitsErrors => {
                self.relaxed_reader(60_000.0, 180_000.0);
                self.failing_checkout();
            }
            Persona::FormFillerGetsStuck => {
                self.tr.truth(Mood::Focused);
                self.tr.page_view("/application");
                self.focused_form(5, 9);
                self.tr.truth(Mood::Confused);
                self.confused_in_form(2, 3);
                self.tr.truth(Mood::Focused);
                self.focused_form(5, 9);
            }
            Persona::ReaderWalksAway => {
                self.relaxed_reader(60_000.0, 180_000.0);
                self.disengaged();
            }
            Persona::ClickingAround => self.clicking_around(),
        }
    }

    /// A few fields filled without hesitation: `fields` (a range) of them, about `gap_ms` apart,
    /// each with `keys` (a range) keystrokes.
    fn brisk_fields(&mut self, fields: (usize, usize), gap_ms: f64, keys: (usize, usize)) {
        for _ in 0..self.count(fields.0, fields.1) {
            self.pause(gap_ms, 0.4);
            self.enter_field();
            let keys = self.count(keys.0, keys.1);
            self.type_value(keys);
            self.tr.blur();
        }
    }

    /// Cart to payment form, briskly: the decisive part before trouble.
    fn checkout_lead_in(&mut self) {
        self.tr.truth(Mood::Decisive);
        self.tr.page_view("/cart");
        self.pause_moving(1_500.0, 0.4);
        self.tap_at((980.0, 620.0));
        self.pause(700.0, 0.3);
        self.tr.page_view("/checkout");
        self.brisk_fields((1, 3), 900.0, (6, 18));
    }

    /// Pressing pay and failing: errors, bursts of clicks on the dead button, back and retry.
    fn failing_checkout(&mut self) {
        self.tr.truth(Mood::Frustrated);
        let button = (self.between(700.0, 1000.0).round(), self.between(500.0, 700.0).round());
        let rounds = self.count(2, 4);
        let errors = self.chance(0.8);
        for round in 0..rounds {
            self.tap_at(button);
            self.pause(1_200.0, 0.5);
            if errors {
                self.tr.error();
            }
            self.pause(900.0, 0.5);
            if self.chance(0.75) {
                // A burst on the button that does nothing.
                for _ in 0..self.count(3, 6) {
                    let gap = self.around(160.0, 0.3).min(300.0);
                    self.tr.wait(gap);
                    self.tap_at(button);
                }
                self.pause(800.0, 0.5);
                if errors && self.chance(0.6) {
                    self.tr.error();
                }
            }
            if round + 1 < rounds && self.chance(0.5) {
                self.pause(1_500.0, 0.5);
                self.tr.back("/cart");
                self.pause(1_500.0, 0.4);
                self.tap_at((980.0, 620.0));
                self.tr.page_view("/checkout");
            }
            self.pause(1_500.0, 0.6);
            self.maybe_noise();
        }
    }

    /// Stuck on fields: long pauses mid-input, hovering help icons, scrolling back up to re-read
    /// instructions, leaving a field and coming back to it, sometimes a look at the previous page.
    fn confused_in_form(&mut self, min_fields: usize, max_fields: usize) {
        for _ in 0..self.count(min_fields, max_fields) {
            self.pause_moving(2_500.0, 0.5);
            self.enter_field();
            let keys = self.count(2, 8);
            self.type_value(keys);
            for _ in 0..self.count(1, 3) {
                // Stops typing, unsure, then goes on.
                self.pause(5_500.0, 0.5);
                self.tr.key();
                let keys = self.count(1, 5);
                self.type_value(keys);
            }
            if self.chance(0.6) {
                self.hover_about(3_500.0, 0.4);
            }
            if self.chance(0.5) {
                let down = self.between(250.0, 600.0);
                self.scroll_by(down);
                self.pause_moving(2_000.0, 0.5);
                let up = self.between(250.0, 700.0);
                self.scroll_by(-up);
                self.pause_moving(3_000.0, 0.5);
            }
            if self.chance(0.35) {
                self.tr.blur();
                self.pause_moving(3_000.0, 0.5);
                self.enter_field();
                self.pause(4_000.0, 0.5);
                self.tr.key();
            }
            if self.chance(0.15) {
                self.tr.back("/apply/help");
                self.pause_moving(6_000.0, 0.5);
                self.tr.back("/apply");
            }
            if self.chance(0.12) {
                self.tr.error();
            }
            self.tr.blur();
            self.maybe_noise();
        }
    }

    /// Hunting through a long page: flick down past it, back up, down again, try another page.
    fn searching_page(&mut self) {
        self.tr.page_view("/help");
        self.tr.truth(Mood::Confused);
        let pages = self.count(1, 3);
        for p in 0..pages {
            for _ in 0..self.count(3, 6) {
                let down = self.between(500.0, 1800.0);
                self.scroll_by(down);
                self.pause_moving(1_200.0, 0.5);
                let up = self.between(300.0, 1500.0);
                self.scroll_by(-up);
                self.pause_moving(1_500.0, 0.5);
                if self.chance(0.3) {
                    self.hover_about(2_500.0, 0.4);
                }
                self.maybe_noise();
            }
            if p + 1 < pages {
                if self.chance(0.5) {
                    self.tr.back("/help");
                } else {
                    let (x, y) = self.spot();
                    self.tap_at((x, y));
                    self.tr.page_view(&format!("/help/{p}"));
                }
            }
        }
    }

    /// Product, cart, checkout, pay, done: quick taps and a few typed fields.
    fn decisive_buyer(&mut self) {
        self.tr.truth(Mood::Decisive);
        let product = format!("/product/{}", self.count(1, 500));
        self.tr.page_view(&product);
        if self.chance(0.4) {
            let dy = self.between(200.0, 500.0);
            self.scroll_by(dy);
        }
        self.pause_moving(2_000.0, 0.4);
        self.tap_at((900.0, 420.0));
        self.pause(600.0, 0.3);
        self.tr.page_view("/cart");
        self.pause_moving(1_300.0, 0.4);
        self.tap_at((980.0, 620.0));
        self.pause(600.0, 0.3);
        self.tr.page_view("/checkout");
        self.brisk_fields((0, 3), 700.0, (5, 16));
        self.pause(900.0, 0.4);
        self.tap_at((900.0, 640.0));
        self.pause(1_000.0, 0.4);
        self.tr.page_view("/confirmation");
        self.maybe_noise();
    }

    /// Reading: a page, gentle scrolls with time to read, a link now and then, sometimes back.
    fn relaxed_reader(&mut self, min_ms: f64, max_ms: f64) {
        self.tr.truth(Mood::Browsing);
        let until = self.tr.now() + self.between(min_ms, max_ms) as i64;
        let mut page = self.count(1, 900);
        self.tr.page_view(&format!("/articles/{page}"));
        while self.tr.now() < until {
            self.read(9_000.0);
            let dy = self.between(200.0, 700.0);
            self.scroll_by(dy);
            if self.chance(0.12) {
                let dy = self.between(100.0, 350.0);
                self.scroll_by(-dy);
            }
            if self.chance(0.2) {
                self.hover_about(900.0, 0.5);
            }
            if self.chance(0.15) {
                self.read(2_000.0);
                let (x, y) = self.spot();
                self.tap_at((x, y));
                if self.chance(0.15) {
                    self.tr.back("/articles");
                    self.read(3_000.0);
                }
                page = self.count(1, 900);
                self.tr.page_view(&format!("/articles/{page}"));
            }
            self.maybe_noise();
        }
    }

    /// Exploring a catalogue by clicking: a filter, a tab, the next image, a product and back to
    /// the list, a second to several apart, with the odd scroll. Plain clicks on different
    /// controls, nothing failing: on a direct integration, clicks without coordinates and little
    /// else (the stream a bare API client sends).
    fn clicking_around(&mut self) {
        self.tr.truth(Mood::Browsing);
        let listing = format!("/catalogue/{}", self.count(1, 40));
        self.tr.page_view(&listing);
        for _ in 0..self.count(3, 16) {
            self.pause_moving(3_000.0, 0.55);
            let spot = self.spot();
            self.tap_at(spot);
            if self.chance(0.2) {
                let dy = self.between(150.0, 500.0);
                self.scroll_by(dy);
            }
            if self.chance(0.1) {
                let product = format!("/product/{}", self.count(1, 500));
                self.tr.page_view(&product);
                self.read(5_000.0);
                self.tr.back(&listing);
            }
            self.maybe_noise();
        }
    }

    /// Drifting off: the tab goes to the background or the person just stops, comes back briefly
    /// (a nudge of the page, a field left), and drifts off again.
    fn disengaged(&mut self) {
        self.tr.truth(Mood::Disengaged);
        for _ in 0..self.count(2, 4) {
            if self.chance(0.5) {
                let away = self.around(150_000.0, 0.7).max(35_000.0);
                self.tr.hidden(away);
            } else {
                let still = self.around(70_000.0, 0.5).max(31_000.0);
                self.tr.wait(still);
            }
            match self.count(0, 3) {
                0 => self.tr.blur(),
                1 => {
                    let dy = self.between(80.0, 300.0);
                    self.scroll_over(dy, 600.0, 0.4);
                }
                2 => {
                    self.hover_about(1_000.0, 0.4);
                    self.tr.blur();
                }
                _ => {
                    let dy = self.between(-200.0, 200.0);
                    self.scroll_over(dy, 500.0, 0.4);
                    self.pause(4_000.0, 0.5);
                    self.tr.blur();
                }
            }
        }
    }

    /// A long form, field after field: focus, steady typing with the odd short think, leave the
    /// field, tick a box, scroll on to the next section.
    fn focused_form(&mut self, min_fields: usize, max_fields: usize) {
        for f in 0..self.count(min_fields, max_fields) {
            self.pause(900.0, 0.4);
            self.enter_field();
            let keys = self.count(4, 30);
            self.type_value(keys);
            if self.chance(0.25) {
                self.pause(2_600.0, 0.2);
                self.tr.key();
                let keys = self.count(2, 10);
                self.type_value(keys);
            }
            self.tr.blur();
            if self.chance(0.3) {
                self.pause_moving(800.0, 0.4);
                let (x, y) = self.spot();
                self.tap_at((x, y));
            }
            if f % 4 == 3 {
                let dy = self.between(200.0, 450.0);
                self.scroll_by(dy);
            }
            self.maybe_noise();
        }
    }

    /// Opens a page, maybe scrolls or taps once, and is gone.
    fn too_little_data(&mut self) {
        self.tr.truth(Mood::Neutral);
        let landing = format!("/landing/{}", self.count(1, 20));
        self.tr.page_view(&landing);
        for _ in 0..self.count(0, 3) {
            self.read(4_000.0);
            match self.count(0, 2) {
                0 => {
                    let dy = self.between(150.0, 400.0);
                    self.tr.scroll(dy, 250.0);
                }
                1 => self.tap_at((600.0, 300.0)),
                _ => self.tr.focus(),
            }
        }
    }

    pub fn finish(self) -> Vec<Labelled> {
        self.tr.into_events()
    }
}
