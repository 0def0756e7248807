//! Model quality on simulated sessions: accuracy, macro-F1, calibration, time to detect
//! frustration, false live-chat prompts, and stability under ±20 % parameter perturbations.
//!
//!   cargo run --release --example simulate -- --seed 2 [--sessions 3000] [--model session-1]
//!     [--stability 8] [--false-alarms N] [--json]
//!
//! Without `--model`, the model new sessions get; `--model` takes a version or a model's JSON file
//! (as `--example fit_model -- --out` writes). `--json` ends the output with one JSON object
//! on its last line. What the personas do and where it comes from: `src/simulate/mod.rs`.

use clap::Parser;
use moodring::engine::{Model, Models, Mood, SuggestedAction};
use moodring::simulate::{Report, Session, evaluate, metrics, read, sessions, stability};

/// Model quality on simulated sessions.
#[derive(Parser)]
struct Args {
    /// The simulator's seed (session-2 and session-3 were fitted on 1).
    #[arg(long, default_value_t = 1)]
    seed: u64,
    #[arg(long, default_value_t = 3_000)]
    sessions: usize,
    /// A session model's version, or a model's JSON file (default: the current model).
    #[arg(long)]
    model: Option<String>,
    /// Perturbed copies of the model for the stability figures (0: none).
    #[arg(long, default_value_t = 8)]
    stability: usize,
    /// End with the figures as one JSON object on the last line.
    #[arg(long)]
    json: bool,
    /// Print this many calm sessions that were offered live chat, event by event.
    #[arg(long, default_value_t = 0)]
    false_alarms: usize,
}

fn main() {
    let a = Args::parse();
    let models = Models::default();
    let model: Model = match &a.model {
        None => models.session.clone(),
        Some(v) if v.ends_with(".json") => {
            serde_json::from_str(&std::fs::read_to_string(v).expect("a readable model file")).expect("a model")
        }
        Some(v) if models.knows_session(v) => models.session_for(v).clone(),
        Some(v) => panic!("no session model {v}"),
    };
    let sessions = sessions(a.seed, a.sessions);
    let mut report = evaluate(&model, &sessions);
    if a.stability > 0 {
        report.stability = Some(stability(&model, &sessions, a.stability, a.seed ^ 0x5eed));
    }
    print_report(&a, &sessions, &report);
    print_false_alarms(&model, &sessions, a.false_alarms);
    if a.json {
        let summary = serde_json::json!({
            "seed": a.seed,
            "model_version": report.model_version,
            "sessions": report.sessions,
            "points": report.points,
            "macro_f1": report.macro_f1,
            "accuracy": report.accuracy,
            "ece": report.ece,
            "false_live_chat_rate": report.false_live_chat_rate,
            "live_chat_offered": report.live_chat_offered,
            "median_live_chat_s": finite(report.median_live_chat_s),
            "median_detect_frustration_s": finite(report.median_detect_frustration_s),
            "p90_detect_frustration_s": finite(report.p90_detect_frustration_s),
            "frustration_detected": report.frustration_detected,
            "final_accuracy": report.final_accuracy,
            "stability": report.stability,
            "per_label": report.per_label,
        });
        println!("{summary}");
    }
}

/// Calm sessions offered live chat: the events that led to the first offer.
fn print_false_alarms(model: &Model, sessions: &[Session], n: usize) {
    let alarms = sessions.iter().enumerate().filter(|(_, s)| !s.persona.troubled()).filter_map(|(i, s)| {
        let points = read(model, i, s);
        let at = points.iter().position(|p| p.action == SuggestedAction::ShowLiveChat)?;
        Some((s, points, at))
    });
    for (s, points, at) in alarms.take(n) {
        println!("\n{} on {:?}:", s.persona.as_str(), s.device);
        let t0 = points[0].ts_ms;
        let from = at.saturating_sub(8);
        for (l, p) in s.events.iter().zip(&points).take(at + 1).skip(from) {
            let e = &l.event;
            println!(
                "  {:>7.1} s  {:<12} {:<10} truth {:<10} read {:<10} {:.2}",
                (e.ts_ms - t0) as f64 / 1000.0,
                e.kind.as_str(),
                e.duration_ms.or(e.speed).map_or(String::new(), |v| format!("{v:.0}")),
                p.truth.as_str(),
                p.label.as_str(),
                p.confidence
            );
        }
    }
}

/// JSON has no infinity: a never-detected median is `null`.
fn finite(v: f64) -> Option<f64> {
    v.is_finite().then_some(v)
}

fn print_report(a: &Args, sessions: &[Session], r: &Report) {
    println!("model {} · seed {} · {} sessions · {} scored answers", r.model_version, a.seed, r.sessions, r.points);
    println!("\npersona                  mouse  touch  accuracy");
    for ((persona, mouse, touch), p) in metrics::mix(sessions).iter().zip(&r.per_persona) {
        println!("{:<24} {mouse:>5}  {touch:>5}  {:>8.3}", persona.as_str(), p.accuracy);
    }
    println!(
        "\naccuracy {:.3}   macro-F1 {:.3}   final-answer accuracy {:.3}",
        r.accuracy, r.macro_f1, r.final_accuracy
    );
    println!("\nlabel        precision  recall     F1  support");
    for l in &r.per_label {
        println!("{:<12} {:>9.3} {:>7.3} {:>6.3} {:>8}", l.label.as_str(), l.precision, l.recall, l.f1, l.support);
    }
    println!("\nconfusion (rows: truth, columns: answer)");
    print!("{:<12}", "");
    for m in Mood::ALL {
        print!("{:>11}", m.as_str());
    }
    println!();
    for (t, row) in Mood::ALL.iter().zip(&r.confusion) {
        print!("{:<12}", t.as_str());
        for n in row {
            print!("{n:>11}");
        }
        println!();
    }
    println!("\ncalibration: ECE {:.3}", r.ece);
    println!("confidence   answers  mean conf  accuracy");
    for b in &r.reliability {
        println!("{:.1}–{:.1}   {:>9}  {:>9.3}  {:>8.3}", b.from, b.to, b.answers, b.mean_confidence, b.accuracy);
    }
    println!(
        "\nfrustration: detected in {:.1} % of stretches; median {:.1} s, p90 {:.1} s after its first event",
        r.frustration_detected * 100.0,
        r.median_detect_frustration_s,
        r.p90_detect_frustration_s
    );
    println!("false live-chat prompts: {:.2} % of {} calm sessions", r.false_live_chat_rate * 100.0, r.calm_sessions);
    println!(
        "live chat offered in {:.1} % of frustrated stretches; median {:.1} s after their first event",
        r.live_chat_offered * 100.0,
        r.median_live_chat_s
    );
    if let Some(s) = &r.stability {
        println!(
            "stability over {} perturbed models (±20 %): label agreement min {:.3} mean {:.3}; macro-F1 {:.3}–{:.3}",
            s.runs, s.min_agreement, s.mean_agreement, s.min_macro_f1, s.max_macro_f1
        );
    }
}
