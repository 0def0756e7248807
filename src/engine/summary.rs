//! One paragraph about a person's affect, written to be pasted into an LLM prompt.

use super::mood::Mood;
use super::projection::Projection;
use super::signals::{Signal, SignalId};

fn count(n: f64, one: &str, many: &str) -> String {
    const WORDS: [&str; 11] = ["no", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten"];
    let n = n.round().max(0.0) as usize;
    match n {
        1 => one.to_owned(),
        _ => format!("{} {many}", WORDS.get(n).map_or_else(|| n.to_string(), |w| (*w).to_owned())),
    }
}

fn duration(ms: f64) -> String {
    let secs = (ms / 1000.0).round();
    if secs < 90.0 {
        format!("{secs:.0} seconds")
    } else if secs < 5400.0 {
        format!("{:.0} minutes", secs / 60.0)
    } else {
        format!("{:.0} hours", secs / 3600.0)
    }
}

fn value(s: &Signal, key: &str) -> f64 {
    s.values.get(key).unwrap_or(0.0)
}

/// What a person would say about the behaviour behind a signal.
fn evidence(s: &Signal) -> Option<String> {
    Some(match s.id {
        SignalId::RageClickDetected => {
            let rage = value(s, "rage_clicks");
            if rage > 0.0 { count(rage, "a rage click", "rage clicks") } else { "a burst of clicks on one spot".into() }
        }
        SignalId::RepeatedErrors => count(value(s, "errors"), "an error", "errors"),
        SignalId::ErrorEncountered => "an error".into(),
        SignalId::NavigationLoop => "going back and forth between pages".into(),
        SignalId::Hesitation => format!("long pauses before acting (up to {})", duration(value(s, "longest_ms"))),
        SignalId::ExcessiveScrolling => "a lot of scrolling up and down".into(),
        SignalId::ProlongedIdle => format!("no activity for {}", duration(value(s, "idle_ms"))),
        SignalId::TabHidden => format!("the page left in the background for {}", duration(value(s, "gap_ms"))),
        SignalId::RapidProgress => format!("moving quickly through {}", count(value(s, "steps"), "a step", "steps")),
        SignalId::SustainedAttention => format!("steady attention for {}", duration(value(s, "span_s") * 1000.0)),
        SignalId::InsufficientData => return None,
    })
}

fn join(items: &[String]) -> String {
    match items {
        [] => String::new(),
        [one] => one.clone(),
        [init @ .., last] => format!("{} and {last}", init.join(", ")),
    }
}

/// How a session's mood reads in a sentence ("they were … in their previous session").
fn as_state(m: Mood) -> &'static str {
    match m {
        Mood::Browsing => "browsing calmly",
        Mood::Neutral => "calm",
        other => other.as_str(),
    }
}

/// "The user seems frustrated (confidence 0.78): two errors and a rage click on their current
/// session; they were calm in their previous session."
pub fn summarize(p: &Projection, previous_session: Option<Mood>) -> String {
    let mut out = if p.signals.iter().any(|s| s.id == SignalId::InsufficientData) {
        "There is too little activity yet to tell how the user feels".to_owned()
    } else {
        let mood = if p.label == Mood::Neutral { "calm" } else { p.label.as_str() };
        format!("The user seems {mood} (confidence {:.2})", p.confidence)
    };
    let evidence: Vec<String> = p.signals.iter().filter_map(evidence).take(3).collect();
    if !evidence.is_empty() {
        out.push_str(&format!(": {} on their current session", join(&evidence)));
    }
    match previous_session {
        Some(m) => out.push_str(&format!("; they were {} in their previous session.", as_state(m))),
        None => out.push('.'),
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::SuggestedAction;

    fn signal(id: SignalId, values: &[(&'static str, f64)]) -> Signal {
        Signal::new(id, 1.0, values)
    }

    fn projection(label: Mood, signals: Vec<Signal>) -> Projection {
        Projection {
            label,
            confidence: 0.781,
            posterior: [0.0; 7],
            trouble: 0,
            signals,
            action: SuggestedAction::NoAction,
        }
    }

    #[test]
    fn it_reads_like_a_colleague_briefing_the_agent() {
        let p = projection(
            Mood::Frustrated,
            vec![
                signal(SignalId::RepeatedErrors, &[("errors", 2.0)]),
                signal(SignalId::RageClickDetected, &[("rage_clicks", 1.0), ("clustered_clicks", 0.0)]),
            ],
        );
        assert_eq!(
            summarize(&p, Some(Mood::Neutral)),
            "The user seems frustrated (confidence 0.78): two errors and a rage click on their current session; \
             they were calm in their previous session."
        );
    }

    #[test]
    fn quiet_and_new_users_are_described_as_such() {
        let idle = projection(Mood::Neutral, vec![signal(SignalId::ProlongedIdle, &[("idle_ms", 3.0 * 3_600_000.0)])]);
        assert_eq!(
            summarize(&idle, None),
            "The user seems calm (confidence 0.78): no activity for 3 hours on their current session."
        );
        let new = projection(Mood::Neutral, vec![signal(SignalId::InsufficientData, &[("events", 1.0)])]);
        assert_eq!(
            summarize(&new, Some(Mood::Browsing)),
            "There is too little activity yet to tell how the user feels; they were browsing calmly in their previous session."
        );
    }
}
