// The CLBQ1 vectors (specs/vectors/qr-parts.json) through the compiled WebAssembly module in
// Chromium, one scanned code at a time as the page collects them: the browser accepts and refuses
// exactly what core (and so the wallet) accepts and refuses (specs/qr-parts.md).
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { openPage, ROOT, start } from "./harness.mjs";

let env;
before(async () => { env = await start(); });
after(async () => { await env?.stop(); });

test("CLBQ1 vectors: the page's wasm joins and refuses parts exactly as core does", async () => {
  const vectors = JSON.parse(await readFile(join(ROOT, "specs", "vectors", "qr-parts.json"), "utf8"));
  const { context, page, errors } = await openPage(env, { lang: "en" });
  const outcomes = await page.evaluate(async (cases) => {
    const m = await import("./pkg/certledger_verifier.js");
    return cases.map((c) => {
      let state = "[]";
      for (const text of c.texts) {
        try {
          const progress = JSON.parse(m.collect_bundle_parts(state, JSON.stringify([text])));
          if (progress.complete) return { text: progress.text };
          state = JSON.stringify(progress.parts);
        } catch (e) {
          return { error: String(e.message ?? e) };
        }
      }
      return { error: "incomplete" };
    });
  }, vectors.join);
  // The page's messages are core's error texts; map the vector codes to them.
  const messages = {
    malformed: "malformed CLBQ1 part",
    mixed_totals: "CLBQ1 parts of different bundles",
    conflict: "two different CLBQ1 parts with the same index",
    incomplete: "incomplete",
  };
  let checked = 0;
  for (const [k, c] of vectors.join.entries()) {
    // A lone bundle text is not a part (the page verifies it directly), nor is nothing.
    if (c.texts.length === 0 || (c.texts.length === 1 && !c.texts[0].startsWith("CLBQ1/"))) continue;
    const want = c.expect.text !== undefined ? { text: c.expect.text } : { error: messages[c.expect.error] };
    assert.deepEqual(outcomes[k], want, c.name);
    checked += 1;
  }
  assert.ok(checked >= 18, `${checked} cases checked`);
  assert.deepEqual(errors, []);
  await context.close();
});
