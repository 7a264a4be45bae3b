//! Native verification benchmark: decides the valid licence bundle of the standard cases many
//! times and prints JSON with per-bundle latency percentiles, single-core throughput and the
//! bundle size. `cargo run --release -p certledger-core --example bench-verify [-- ITERATIONS]`

use std::time::Instant;

use certledger_core::bundle::Bundle;
use certledger_core::codec::Encode;
use certledger_core::testkit;
use certledger_core::verify::{self, Verdict};

fn main() {
    let iterations: usize = std::env::args().nth(1).and_then(|a| a.parse().ok()).unwrap_or(5000);
    let set = match testkit::standard_cases(testkit::VECTORS_LABEL) {
        Ok(set) => set,
        Err(e) => {
            eprintln!("error: {e}");
            std::process::exit(1);
        }
    };
    let Some(case) = set.cases.iter().find(|c| c.name == "valid") else {
        eprintln!("error: no valid case");
        std::process::exit(1);
    };
    let text = &case.bundle_text;
    let mut samples = Vec::with_capacity(iterations);
    // Warm up, and check the answer once.
    match Bundle::from_text(text)
        .map(|b| verify::verify(&b, &set.trust_root, &case.policy, case.now))
    {
        Ok(Ok(Verdict::Valid(_))) => {}
        other => {
            eprintln!("error: the valid bundle did not verify: {other:?}");
            std::process::exit(1);
        }
    }
    #[allow(clippy::disallowed_methods)] // a benchmark program measures wall time
    let total = Instant::now();
    for _ in 0..iterations {
        #[allow(clippy::disallowed_methods)]
        let t = Instant::now();
        let bundle = Bundle::from_text(text).expect("bundle decodes");
        let verdict = verify::verify(&bundle, &set.trust_root, &case.policy, case.now);
        assert!(matches!(verdict, Ok(Verdict::Valid(_))));
        samples.push(t.elapsed().as_secs_f64() * 1e3);
    }
    let elapsed = total.elapsed().as_secs_f64();
    samples.sort_by(f64::total_cmp);
    let pct = |p: f64| samples[((samples.len() as f64 - 1.0) * p).round() as usize];
    let bytes = Bundle::from_text(text).expect("bundle").to_bytes().len();
    println!(
        "{}",
        serde_json::json!({
            "bench": "native_verify_bundle",
            "iterations": iterations,
            "p50_ms": pct(0.50),
            "p99_ms": pct(0.99),
            "bundles_per_s_one_core": iterations as f64 / elapsed,
            "bundle_bytes": bytes,
            "bundle_text_chars": text.len(),
            "log_size": "standard cases (15 entries); proofs grow by 32 bytes per doubling",
        })
    );
}
