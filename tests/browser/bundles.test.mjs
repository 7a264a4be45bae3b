// Bundle cases through the page: load the trust root, paste the bundle, click Check, and compare
// the result panel with the expected outcome.
//
// Sources of cases:
//  1. the project's generated vectors, specs/vectors/bundles.json (a valid bundle and one invalid
//     variant per reason), with the vectors' trust root;
//  2. the malformed-input cases below;
//  3. one JSON file per case in $CERTLEDGER_BUNDLE_CASES, if set and present (scripts/test.sh sets
//     it to $CARGO_TARGET_DIR/tmp/browser-cases, which is `env!("CARGO_TARGET_TMPDIR")/browser-cases`
//     for a Rust integration test; those run before the browser tests). Shape of a file:
//       { "name": "...", "bundle": "CLB1....", "trust_root": {...}, "policy": {...},
//         "now": <unix seconds>, "expect": "valid" | "<reason code>" | "error:<code>" }
//     where a reason code means status "invalid" and error:<code> means status "error".
import assert from "node:assert/strict";
import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { loadTrustRoot, openPage, ROOT, screenshot, start, verifyPasted } from "./harness.mjs";

const vectors = JSON.parse(await readFile(join(ROOT, "specs", "vectors", "bundles.json"), "utf8"));
const vectorCases = vectors.cases.map((c) => ({ ...c, trust_root: vectors.trust_root, source: "vectors" }));

const valid = vectorCases.find((c) => c.expect === "valid");
const malformedCases = [
  { ...valid, name: "text that is not a bundle", bundle: "hello, this is not a bundle", expect: "error:malformed_bundle" },
  { ...valid, name: "truncated bundle", bundle: valid.bundle.slice(0, -10), expect: "error:malformed_bundle" },
  { ...valid, name: "oversized bundle", bundle: `CLB1.${"A".repeat(100_000)}`, expect: "error:malformed_bundle" },
  {
    ...valid, name: "trust root below the two-thirds threshold",
    trust_root: { ...vectors.trust_root, threshold: 1 }, expect: "error:malformed_trust_root",
  },
  {
    ...valid, name: "policy without a challenge",
    policy: { accepted_types: [] }, expect: "error:malformed_policy",
  },
].map((c) => ({ ...c, source: "malformed" }));

async function externalCases() {
  const dir = process.env.CERTLEDGER_BUNDLE_CASES;
  if (!dir) return [];
  let names;
  try {
    names = (await readdir(dir)).filter((n) => n.endsWith(".json")).sort();
  } catch {
    return []; // no Rust test wrote cases
  }
  return Promise.all(names.map(async (n) => ({
    source: n, ...JSON.parse(await readFile(join(dir, n), "utf8")),
  })));
}

const cases = [...vectorCases, ...malformedCases, ...(await externalCases())];
let env;
before(async () => { env = await start(); });
after(async () => { await env?.stop(); });

for (const c of cases) {
  test(`bundle case (${c.source}): ${c.name}`, async () => {
    const { context, page, errors } = await openPage(env, { lang: "zh" });
    await page.clock.setFixedTime(c.now * 1000);
    await loadTrustRoot(page, c.trust_root);
    await page.evaluate((p) => window.certledgerPage.usePolicy(p), c.policy);
    const result = await verifyPasted(page, c.bundle);
    const [status, code] = c.expect === "valid" ? ["valid", ""]
      : c.expect.startsWith("error:") ? ["error", c.expect.slice(6)] : ["invalid", c.expect];
    assert.equal(result.status, status, `got ${result.reasonCode}: ${result.reason}`);
    assert.equal(result.reasonCode, code);
    if (status === "valid") {
      assert.equal(result.title, "✓ 有效");
      const rows = await page.$$eval("#result-claims tbody tr", (trs) => trs.map((tr) => [tr.cells[0].textContent, tr.cells[1].textContent]));
      assert.ok(rows.length > 0, "no claims shown");
      assert.ok(rows.every(([label, value]) => label.length > 0 && value.length > 0), JSON.stringify(rows));
      assert.ok(rows.some(([label]) => /[\u4e00-\u9fff]/.test(label)), `no Chinese labels: ${JSON.stringify(rows)}`);
      assert.ok((await page.textContent("#result-type")).length > 0);
    } else {
      assert.ok(result.reason.length > 0, "no reason shown");
      assert.equal(await page.isHidden("#result-claims"), true, "claims shown for a refused bundle");
    }
    await screenshot(page, `bundle-${c.source}-${c.name}`.replace(/[^A-Za-z0-9_-]+/g, "-"));
    assert.deepEqual(errors, []);
    await context.close();
  });
}
