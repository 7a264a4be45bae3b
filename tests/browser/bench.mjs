// Browser verification benchmark (not a test): verifies the valid licence bundle of
// specs/vectors/bundles.json many times through the WASM module in headless Chromium and prints
// JSON with p50/p99 per bundle, throughput, module size and bundle size, for two paths:
//   cold:   verify_bundle(bundle, trust root, policy, now) per bundle (parses the trust root and
//           checks every checkpoint signature each time);
//   cached: one `new Verifier(trust root)`, then verifier.verify(bundle, policy, now) per bundle
//           (the checkpoint's quorum signatures are checked once; everything else per bundle).
//   node bench.mjs [ITERATIONS]      (after scripts/build-wasm.sh)
import { readFile, stat } from "node:fs/promises";
import { gzipSync } from "node:zlib";
import { join } from "node:path";
import { openPage, ROOT, start, WEB } from "./harness.mjs";

const iterations = Number(process.argv[2] ?? 2000);
const vectors = JSON.parse(await readFile(join(ROOT, "specs", "vectors", "bundles.json"), "utf8"));
const valid = vectors.cases.find((c) => c.name === "valid");
const wasmPath = join(WEB, "pkg", "certledger_verifier_bg.wasm");
const wasm = await readFile(wasmPath);

const env = await start();
try {
  const { page } = await openPage(env);
  const runs = await page.evaluate(async ({ bundle, trust, policy, now, n }) => {
    const m = await import("./pkg/certledger_verifier.js");
    await m.default(); // the page already initialised it; this is a no-op then
    const verifier = new m.Verifier(trust);
    const paths = {
      cold: () => m.verify_bundle(bundle, trust, policy, now),
      cached: () => verifier.verify(bundle, policy, now),
    };
    const out = {};
    for (const [name, run] of Object.entries(paths)) {
      const first = run();
      if (first.status !== "valid") throw new Error(`${name}: valid bundle refused: ${first.reason_code}`);
      const times = [];
      for (let i = 0; i < n; i++) {
        const t0 = performance.now();
        const r = run();
        times.push(performance.now() - t0);
        if (r.status !== "valid") throw new Error(`${name}: verdict changed`);
      }
      out[name] = times;
    }
    out.cache = verifier.cache_stats();
    return out;
  }, {
    bundle: valid.bundle,
    trust: JSON.stringify(vectors.trust_root),
    policy: JSON.stringify(valid.policy),
    now: valid.now,
    n: iterations,
  });
  const summary = (samples) => {
    samples.sort((a, b) => a - b);
    const pct = (p) => samples[Math.round((samples.length - 1) * p)];
    const total = samples.reduce((a, b) => a + b, 0);
    return { p50_ms: pct(0.5), p99_ms: pct(0.99), bundles_per_s: (iterations / total) * 1000 };
  };
  const bundleBytes = Buffer.from(valid.bundle.slice("CLB1.".length), "base64url").length;
  console.log(JSON.stringify({
    bench: "chromium_verify_bundle",
    iterations,
    cold: summary(runs.cold),
    cached: summary(runs.cached),
    cache: runs.cache,
    module_raw_bytes: (await stat(wasmPath)).size,
    module_gzip_bytes: gzipSync(wasm, { level: 9 }).length,
    bundle_bytes: bundleBytes,
    bundle_text_chars: valid.bundle.length,
    note: "performance.now() is coarsened by Chromium without cross-origin isolation (~0.1 ms)",
  }));
} finally {
  await env.stop();
}
