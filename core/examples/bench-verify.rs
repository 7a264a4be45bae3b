//! Native verification benchmark: decides the valid licence bundle of the standard cases many
//! times on one thread and prints JSON with per-bundle latency percentiles, single-core
//! throughput and the bundle size, for two paths:
//! - `cold`: `Bundle::from_text` + `verify::verify` per bundle (every checkpoint signature
//!   checked every time);
//! - `cached`: `Bundle::from_text` + `Verifier::verify` on one `Verifier`, the way a counter
//!   verifies a stream of bundles proven against the same few checkpoints (the checkpoint's
//!   quorum signatures are checked once and the issuer key is decoded once; every per-bundle
//!   signature is still verified).
//!
//! It also times one Ed25519 `verify_strict` with the key decoded each time (`PublicKey`) and
//! decoded once (`PreparedKey`).
//!
//! `cargo run --release -p certledger-core --example bench-verify [-- ITERATIONS [cached]]`
//! (`cached`: measure only the cached path, for a profiler).

use std::time::Instant;

use certledger_core::bundle::Bundle;
use certledger_core::codec::Encode;
use certledger_core::sig::SecretKey;
use certledger_core::testkit;
use certledger_core::verify::{self, Invalid, Verdict, Verifier};
use serde_json::{json, Value};

fn main() {
    let iterations: usize = std::env::args().nth(1).and_then(|a| a.parse().ok()).unwrap_or(5000);
    // `cached` runs only the cached path (for profiling it with `perf record`).
    let only_cached = std::env::args().nth(2).as_deref() == Some("cached");
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
    let cold_iterations = if only_cached { 1 } else { iterations };
    let cold = measure(cold_iterations, || {
        let bundle = Bundle::from_text(text).map_err(|e| e.to_string())?;
        verify::verify(&bundle, &set.trust_root, &case.policy, case.now).map_err(|e| e.to_string())
    });
    let mut verifier = match Verifier::new(set.trust_root.clone(), case.policy.clone()) {
        Ok(v) => v,
        Err(e) => {
            eprintln!("error: {e}");
            std::process::exit(1);
        }
    };
    let cached = measure(iterations, || {
        let bundle = Bundle::from_text(text).map_err(|e| e.to_string())?;
        verifier.verify(&bundle, case.now).map_err(|e| e.to_string())
    });
    // The floor: one Ed25519 `verify_strict` (the cached path does 3 per bundle: the anchor
    // entry and the issuer's JWS under the issuer key, decoded once, and the holder's key-binding
    // JWT; the cold path adds the quorum).
    let key = SecretKey::from_seed(&[7; 32]);
    let (public, msg) = (key.public_key(), b"certledger bench message".as_slice());
    let sig = key.sign_raw(msg);
    let one = measure(cold_iterations, || {
        public
            .verify_raw(msg, &sig)
            .map(|()| Verdict::Invalid(Invalid::Expired))
            .map_err(|e| e.to_string())
    });
    // The same check with the key decoded once ([`PreparedKey`]): what decoding costs.
    let prepared = public.prepare();
    let one_prepared = measure(cold_iterations, || {
        prepared
            .verify_raw(msg, &sig)
            .map(|()| Verdict::Invalid(Invalid::Expired))
            .map_err(|e| e.to_string())
    });
    let bytes = Bundle::from_text(text).map(|b| b.to_bytes().len()).unwrap_or(0);
    let quorum_signatures = Bundle::from_text(text)
        .map(|b| b.proofs.checkpoint.lines().filter(|l| l.starts_with("— ")).count())
        .unwrap_or(0);
    println!(
        "{}",
        json!({
            "bench": "native_verify_bundle",
            "iterations": iterations,
            "cold": cold,
            "cached": cached,
            "ed25519_verify_strict": one,
            "ed25519_verify_strict_prepared_key": one_prepared,
            "checkpoint_signature_lines": quorum_signatures,
            "cache": verifier.cache_stats(),
            "bundle_bytes": bytes,
            "bundle_text_chars": text.len(),
            "log_size": "standard cases (15 entries); proofs grow by 32 bytes per doubling",
        })
    );
}

/// Runs `f` once to warm up and check the verdict, then `iterations` times; latency percentiles
/// and single-thread throughput as JSON.
/// `f` answers `Valid` (a bundle) or `Invalid(Expired)` (the bare signature check, which has no
/// verdict of its own); anything else stops the benchmark.
fn measure(iterations: usize, mut f: impl FnMut() -> Result<Verdict, String>) -> Value {
    let expected = |v: &Result<Verdict, String>| {
        matches!(v, Ok(Verdict::Valid(_)) | Ok(Verdict::Invalid(Invalid::Expired)))
    };
    let first = f();
    if !expected(&first) {
        eprintln!("error: the valid bundle did not verify: {first:?}");
        std::process::exit(1);
    }
    let mut samples = Vec::with_capacity(iterations);
    #[allow(clippy::disallowed_methods)] // a benchmark program measures wall time
    let total = Instant::now();
    for _ in 0..iterations {
        #[allow(clippy::disallowed_methods)]
        let t = Instant::now();
        let verdict = f();
        samples.push(t.elapsed().as_secs_f64() * 1e3);
        if !expected(&verdict) {
            eprintln!("error: the verdict changed: {verdict:?}");
            std::process::exit(1);
        }
    }
    let elapsed = total.elapsed().as_secs_f64();
    samples.sort_by(f64::total_cmp);
    let pct = |p: f64| {
        let i = ((samples.len().saturating_sub(1)) as f64 * p).round() as usize;
        samples.get(i).copied().unwrap_or(f64::NAN)
    };
    json!({
        "p50_ms": pct(0.50),
        "p99_ms": pct(0.99),
        "bundles_per_s_one_core": iterations as f64 / elapsed,
        "histogram_ms": histogram(&samples),
    })
}

/// Latency histogram of sorted `samples` (ms) on logarithmic buckets (each 25% wider than the
/// one before, from 1 µs), as `[{"le_ms": upper edge, "count": n}]` without empty buckets, so
/// `scripts/bench.sh` can plot the distribution and not only two percentiles.
fn histogram(samples: &[f64]) -> Value {
    let mut buckets: Vec<Value> = Vec::new();
    let (mut edge, mut i) = (0.001_f64, 0usize);
    while i < samples.len() {
        let start = i;
        while i < samples.len() && samples.get(i).is_some_and(|s| *s <= edge) {
            i += 1;
        }
        if i > start {
            buckets.push(json!({ "le_ms": (edge * 1e6).round() / 1e6, "count": i - start }));
        }
        edge *= 1.25;
    }
    Value::Array(buckets)
}
