// Cross-province recognition (跨省通办) in the page: a trust list of two ledgers (Shanghai and
// Zhejiang, each root signed by its own departments) from specs/vectors/trust-list.json; a bundle
// from each verifies and the result names its ledger and department; a bundle from an unlisted
// ledger is refused; a list whose root was altered after signing is refused at load.
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { loadTrustRoot, openPage, ROOT, screenshot, start, verifyPasted } from "./harness.mjs";

const vectors = JSON.parse(await readFile(join(ROOT, "specs", "vectors", "trust-list.json"), "utf8"));

let env;
before(async () => { env = await start(); });
after(async () => { await env?.stop(); });

for (const lang of ["zh", "en"]) {
  test(`a trust list of two provinces (${lang}): each bundle names its ledger and department`, async () => {
    const { context, page, errors } = await openPage(env, { lang });
    await page.clock.setFixedTime(vectors.bundles[0].now * 1000);
    await loadTrustRoot(page, vectors.trust_list);
    const status = await page.textContent("#trust-status");
    const names = lang === "zh" ? ["上海市", "浙江省"] : ["Shanghai", "Zhejiang"];
    for (const n of names) assert.ok(status.includes(n), status);
    const items = await page.$$eval("#trust-departments li", (lis) => lis.map((li) => li.dataset.id));
    assert.deepEqual(items, vectors.trust_list.ledgers.map((l) => l.chain_id).sort());
    for (const c of vectors.bundles) {
      await page.evaluate((p) => window.certledgerPage.usePolicy(p), c.policy);
      const result = await verifyPasted(page, c.bundle);
      if (c.expect === "valid") {
        assert.equal(result.status, "valid", `${c.name}: ${result.reasonCode} ${result.reason}`);
        const meta = await page.textContent("#result-meta");
        const [ledger, dept] = lang === "zh" ? [c.ledger_zh, c.department_zh] : [c.ledger_en, c.department_en];
        assert.ok(meta.includes(ledger) && meta.includes(dept), `${c.name}: ${meta}`);
        const other = c.name === "shanghai" ? names[1] : names[0];
        assert.ok(!meta.includes(other), `${c.name} names the other ledger: ${meta}`);
      } else {
        assert.equal(result.status, "invalid", c.name);
        assert.equal(result.reasonCode, c.expect);
        assert.ok(result.reason.length > 0);
      }
      await screenshot(page, `provinces-${lang}-${c.name}`);
    }
    assert.deepEqual(errors, []);
    await context.close();
  });
}

test("a trust list with a root altered after signing is refused at load", async () => {
  const { context, page, errors } = await openPage(env, { lang: "en" });
  const tampered = structuredClone(vectors.trust_list);
  tampered.ledgers[1].name_en = "Zhejiang (forged)";
  await page.setInputFiles("#trust-file", {
    name: "trust-list.json", mimeType: "application/json", buffer: Buffer.from(JSON.stringify(tampered)),
  });
  await page.waitForFunction(() => document.getElementById("trust-status").classList.contains("bad"));
  assert.match(await page.textContent("#trust-status"), /signature/);
  // Checking with it is "could not decide", never a pass.
  const c = vectors.bundles[1];
  await page.clock.setFixedTime(c.now * 1000);
  await page.evaluate((p) => window.certledgerPage.usePolicy(p), c.policy);
  const result = await verifyPasted(page, c.bundle);
  assert.equal(result.status, "error");
  assert.equal(result.reasonCode, "malformed_trust_root");
  assert.deepEqual(errors, []);
  await context.close();
});

test("the page never rolls a listed ledger back to an older root", async () => {
  const { context, page, errors } = await openPage(env, { lang: "zh" });
  const update = vectors.updates.find((u) => u.name === "newer_sequence");
  const list = (root) => ({ version: 1, ledgers: [JSON.parse(root)] });
  await loadTrustRoot(page, list(update.offered));
  assert.match(await page.textContent("#trust-departments"), /序号 2/);
  await page.setInputFiles("#trust-file", {
    name: "older.json", mimeType: "application/json", buffer: Buffer.from(JSON.stringify(list(update.held))),
  });
  await page.waitForFunction(() => document.getElementById("trust-status").classList.contains("bad"));
  assert.match(await page.textContent("#trust-status"), /回退/);
  // The newer root stays in use (also after a reload).
  await page.reload();
  await page.waitForFunction(() => /信任列表/.test(document.getElementById("trust-status").textContent));
  assert.match(await page.textContent("#trust-departments"), /序号 2/);
  assert.deepEqual(errors, []);
  await context.close();
});
