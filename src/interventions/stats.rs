//! Interval estimates for what a product team reads.

/// The 95 % Wilson score interval of a success rate: `(low, high)` for `successes` of
/// `trials`, `None` with no trials. Unlike `p ± 1.96·√(p(1−p)/n)` it stays within [0, 1] and
/// is honest for small counts and rates near 0 or 1 (Brown, Cai & DasGupta 2001).
pub fn wilson_interval(successes: u64, trials: u64) -> Option<(f64, f64)> {
    if trials == 0 {
        return None;
    }
    const Z: f64 = 1.959_963_984_540_054;
    let n = trials as f64;
    let p = successes as f64 / n;
    let z2 = Z * Z;
    let centre = (p + z2 / (2.0 * n)) / (1.0 + z2 / n);
    let half = Z / (1.0 + z2 / n) * (p * (1.0 - p) / n + z2 / (4.0 * n * n)).sqrt();
    Some(((centre - half).max(0.0), (centre + half).min(1.0)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_published_values() {
        // Brown, Cai & DasGupta's and R's prop.test(correct = FALSE) figures.
        let (low, high) = wilson_interval(8, 10).unwrap();
        assert!((low - 0.4902).abs() < 1e-4 && (high - 0.9433).abs() < 1e-4, "{low} {high}");
        let (low, high) = wilson_interval(0, 20).unwrap();
        assert!(low == 0.0 && (high - 0.1611).abs() < 1e-4, "{low} {high}");
        assert_eq!(wilson_interval(0, 0), None);
    }
}
