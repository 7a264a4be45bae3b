// Bundles with the identity extension through the page (specs/identity.md): every case of
// specs/vectors/identity-bundles.json gives its expected outcome; a valid result shows the
// wallet's pseudonym for this agency and each linked credential as its own card marked
// "same holder: yes"; the new reasons (bad_pseudonym_proof, bad_link_proof) show in Chinese and
// English. Screenshots go to artifacts/identity-*.png.
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { loadTrustRoot, openPage, ROOT, screenshot, start, verifyPasted } from "./harness.mjs";

const vectors = JSON.parse(await readFile(join(ROOT, "specs", "vectors", "identity-bundles.json"), "utf8"));
const cases = vectors.cases;

// What each valid case carries, from its description in the vectors: a pseudonym proof, and how
// many credentials are linked to the main one.
const VALID_SHAPES = {
  identity_plain: { pseudonym: false, linked: 0 },
  identity_pseudonym: { pseudonym: true, linked: 0 },
  identity_linked_licence: { pseudonym: true, linked: 1 },
  identity_linked_same_key: { pseudonym: true, linked: 1 },
};

let env;
before(async () => { env = await start(); });
after(async () => { await env?.stop(); });

/** The page's rendering of a valid result: pseudonym line and linked credential cards. */
async function identityDetails(page) {
  return page.evaluate(() => ({
    pseudonymShown: !document.getElementById("result-pseudonym").hidden,
    pseudonymLabel: document.getElementById("result-pseudonym-label").textContent,
    pseudonym: document.getElementById("result-pseudonym-value").textContent,
    linkedShown: !document.getElementById("result-linked").hidden,
    cards: [...document.querySelectorAll("#result-linked-list .linked-card")].map((card) => ({
      position: card.dataset.position,
      type: card.dataset.type,
      title: card.querySelector("h3").textContent,
      sameHolder: card.querySelector(".same-holder").textContent,
      claims: [...card.querySelectorAll("tbody tr")].map((tr) => [tr.cells[0].textContent, tr.cells[1].textContent]),
    })),
  }));
}

/** The module's own answer for a case (what the page should render). */
async function moduleAnswer(page, c) {
  return page.evaluate(async ({ bundle, trustRoot, policy, now }) => {
    const m = await import("./pkg/certledger_verifier.js");
    return m.verify_bundle(bundle, trustRoot, policy, now);
  }, { bundle: c.bundle, trustRoot: JSON.stringify(vectors.trust_root), policy: JSON.stringify(c.policy), now: c.now });
}

test("the identity vector set is the published one", () => {
  assert.equal(cases.length, 18);
  assert.deepEqual(Object.keys(VALID_SHAPES).sort(), cases.filter((c) => c.expect === "valid").map((c) => c.name).sort());
});

const pseudonymsSeen = new Set();
for (const c of cases) {
  test(`identity case: ${c.name}`, async () => {
    const { context, page, errors } = await openPage(env, { lang: "zh" });
    await page.clock.setFixedTime(c.now * 1000);
    await loadTrustRoot(page, vectors.trust_root);
    await page.evaluate((p) => window.certledgerPage.usePolicy(p), c.policy);
    const result = await verifyPasted(page, c.bundle);
    const [status, code] = c.expect === "valid" ? ["valid", ""] : ["invalid", c.expect];
    assert.equal(result.status, status, `got ${result.reasonCode}: ${result.reason}`);
    assert.equal(result.reasonCode, code);
    const details = await identityDetails(page);
    if (status === "valid") {
      const shape = VALID_SHAPES[c.name];
      assert.equal(result.title, "✓ 有效");
      const rows = await page.$$eval("#result-claims tbody tr", (trs) => trs.map((tr) => [tr.cells[0].textContent, tr.cells[1].textContent]));
      assert.ok(rows.length > 0, "no claims shown");
      // Yes/no claims (real_name_verified, age_over_18) read as 是/否, not JSON.
      assert.ok(rows.some(([, value]) => value === "是"), JSON.stringify(rows));
      assert.ok(rows.every(([, value]) => value !== "true" && value !== "false"), JSON.stringify(rows));
      const answer = await moduleAnswer(page, c);
      assert.equal(details.pseudonymShown, shape.pseudonym, "pseudonym line");
      if (shape.pseudonym) {
        assert.equal(details.pseudonymLabel, "本机构看到的化名：");
        assert.match(details.pseudonym, /^[A-Za-z0-9_-]{43}$/);
        assert.equal(details.pseudonym, answer.pseudonym);
        pseudonymsSeen.add(details.pseudonym);
      } else {
        assert.equal(answer.pseudonym, null);
      }
      assert.equal(details.linkedShown, shape.linked > 0);
      assert.equal(details.cards.length, shape.linked);
      assert.equal(answer.linked_credentials.length, shape.linked);
      for (const [i, card] of details.cards.entries()) {
        const l = answer.linked_credentials[i];
        assert.equal(card.position, String(i + 2));
        assert.equal(card.type, l.credential_type.id);
        assert.equal(card.title, l.credential_type.name_zh);
        assert.equal(card.sameHolder, "同一持有人：是");
        assert.ok(card.claims.length > 0, "linked card without claims");
        assert.ok(card.claims.every(([label, value]) => /[\u4e00-\u9fff]/.test(label) && value.length > 0),
          JSON.stringify(card.claims));
      }
    } else {
      assert.ok(result.reason.length > 0, "no reason shown");
      assert.equal(await page.isHidden("#result-claims"), true, "claims shown for a refused bundle");
      assert.equal(details.pseudonymShown, false, "pseudonym shown for a refused bundle");
      assert.equal(details.linkedShown, false, "linked credentials shown for a refused bundle");
    }
    await screenshot(page, `identity-${c.name}`.replace(/[^A-Za-z0-9_-]+/g, "-"));
    assert.deepEqual(errors, []);
    await context.close();
  });
}

test("one wallet shows one agency the same pseudonym in every valid case", () => {
  // The vectors' valid cases come from one wallet presenting to one verifier (specs/identity.md §3).
  assert.equal(pseudonymsSeen.size, 1, [...pseudonymsSeen].join(", "));
});

test("the new reasons show in Chinese and English", async () => {
  const expected = {
    bad_pseudonym_proof: { zh: /化名证明无效/, en: /pseudonym proof does not verify/ },
    bad_link_proof: { zh: /第 2 份证照与主证照属于同一持有人/, en: /credential 2 is not proven to belong to the same holder/ },
  };
  for (const [code, text] of Object.entries(expected)) {
    const c = cases.find((x) => x.expect === code);
    const { context, page, errors } = await openPage(env, { lang: "zh" });
    await page.clock.setFixedTime(c.now * 1000);
    await loadTrustRoot(page, vectors.trust_root);
    await page.evaluate((p) => window.certledgerPage.usePolicy(p), c.policy);
    const result = await verifyPasted(page, c.bundle);
    assert.equal(result.reasonCode, code);
    assert.equal(result.title, "✗ 无效");
    assert.match(result.reason, text.zh);
    assert.match(await page.textContent("#result-reason-other"), text.en);
    await page.click("#lang-toggle");
    assert.equal(await page.textContent("#result-h"), "✗ Not valid");
    assert.match(await page.textContent("#result-reason"), text.en);
    assert.match(await page.textContent("#result-reason-other"), text.zh);
    assert.deepEqual(errors, []);
    await context.close();
  }
});

test("a linked result in English, through the cached Verifier", async () => {
  const c = cases.find((x) => x.name === "identity_linked_licence");
  const { context, page, errors } = await openPage(env, { lang: "en" });
  await page.clock.setFixedTime(c.now * 1000);
  await loadTrustRoot(page, vectors.trust_root);
  await page.evaluate((p) => window.certledgerPage.usePolicy(p), c.policy);
  const result = await verifyPasted(page, c.bundle);
  assert.equal(result.status, "valid", `${result.reasonCode}: ${result.reason}`);
  const details = await identityDetails(page);
  assert.equal(details.pseudonymLabel, "Pseudonym for this agency: ");
  assert.equal(details.cards.length, 1);
  assert.equal(details.cards[0].sameHolder, "Same holder: yes");
  assert.equal(details.cards[0].title, "Business licence");
  // Both credentials' checkpoints went through the page's Verifier cache: a second check of the
  // same bundle finds each of them there.
  const before = await page.evaluate(() => window.certledgerPage.cacheStats());
  await verifyPasted(page, c.bundle);
  const after = await page.evaluate(() => window.certledgerPage.cacheStats());
  assert.equal(after.hits - before.hits, 1 + details.cards.length, JSON.stringify({ before, after }));
  assert.equal(after.misses, before.misses);
  // Switching language re-renders the cards.
  await page.click("#lang-toggle");
  assert.equal((await identityDetails(page)).cards[0].sameHolder, "同一持有人：是");
  await page.click("#lang-toggle");
  await screenshot(page, "identity-linked-en");
  assert.deepEqual(errors, []);
  await context.close();
});

test("the cached Verifier class answers exactly as verify_bundle for every identity vector", async () => {
  const { context, page, errors } = await openPage(env, { lang: "en" });
  const out = await page.evaluate(async ({ cases, trustRoot }) => {
    const m = await import("./pkg/certledger_verifier.js");
    const verifier = new m.Verifier(trustRoot);
    const mismatches = [];
    const codes = [];
    for (let round = 0; round < 3; round++) {
      const order = round === 1 ? [...cases].reverse() : cases;
      for (const c of order) {
        const policy = JSON.stringify(c.policy);
        const cold = m.verify_bundle(c.bundle, trustRoot, policy, c.now);
        const cached = verifier.verify(c.bundle, policy, c.now);
        if (JSON.stringify(cold) !== JSON.stringify(cached)) mismatches.push({ round, name: c.name, cold, cached });
        if (round === 0) codes.push(cached.status === "valid" ? "valid" : cached.reason_code);
      }
    }
    return { mismatches, codes, stats: verifier.cache_stats() };
  }, { cases, trustRoot: JSON.stringify(vectors.trust_root) });
  assert.deepEqual(out.mismatches, []);
  assert.deepEqual(out.codes, cases.map((c) => c.expect));
  assert.ok(out.stats.hits > 0, JSON.stringify(out.stats));
  assert.deepEqual(errors, []);
  await context.close();
});
