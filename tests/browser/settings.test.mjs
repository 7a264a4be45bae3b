// The counter's own settings (issue #13 part 6): how old a status the counter accepts and the
// lowest level of assurance, kept in this browser and applied to every check; a valid result
// says "status as of <date>" judged by that rule; the page says plainly (zh/en) that a paper
// card does not prove who holds it.
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { loadTrustRoot, openPage, ROOT, screenshot, start, verifyPasted } from "./harness.mjs";

const bundles = JSON.parse(await readFile(join(ROOT, "specs", "vectors", "bundles.json"), "utf8"));
const identity = JSON.parse(await readFile(join(ROOT, "specs", "vectors", "identity-bundles.json"), "utf8"));
const valid = bundles.cases.find((c) => c.expect === "valid");
const attestation = identity.cases.find((c) => c.name === "identity_plain");

let env;
before(async () => { env = await start(); });
after(async () => { await env?.stop(); });

async function setAge(page, hours) {
  await page.fill("#max-checkpoint-age", String(hours));
  await page.dispatchEvent("#max-checkpoint-age", "change");
}

test("the counter's status age decides a three-day-old card, and the page says as of when", async () => {
  const { context, page, errors } = await openPage(env, { lang: "zh" });
  // A card checked three days after it was made: the policy leaves the status age to the
  // counter (a printed card's presentation is old by design, so its own age is raised).
  await page.clock.setFixedTime((valid.now + 3 * 86400) * 1000);
  await loadTrustRoot(page, bundles.trust_root);
  const policy = { ...valid.policy, max_presentation_age_s: 30 * 86400 };
  delete policy.max_checkpoint_age_s;
  await page.evaluate((p) => window.certledgerPage.usePolicy(p), policy);

  // The paper-card warning is on the page in both languages.
  assert.match(await page.textContent("#card-notice"), /不能证明持卡人.*当面核对/);
  assert.equal(await page.inputValue("#max-checkpoint-age"), "24");

  // Default 24 hours: refused as stale.
  let r = await verifyPasted(page, valid.bundle);
  assert.equal(r.status, "invalid", r.reason);
  assert.equal(r.reasonCode, "stale_checkpoint");
  assert.equal(await page.textContent("#result-as-of"), "");
  await setAge(page, 48);
  r = await verifyPasted(page, valid.bundle);
  assert.equal(r.reasonCode, "stale_checkpoint");

  // A week: valid, "status as of" the checkpoint's date under this counter's rule.
  await setAge(page, 168);
  r = await verifyPasted(page, valid.bundle);
  assert.equal(r.status, "valid", `${r.reasonCode}: ${r.reason}`);
  const asOf = await page.textContent("#result-as-of");
  assert.match(asOf, /^状态截至 .+（本窗口接受 168 小时以内的状态）$/);
  await screenshot(page, "settings-status-as-of-zh");
  await page.click("#lang-toggle");
  assert.match(await page.textContent("#result-as-of"), /^Status as of .+ \(this counter accepts a status up to 168 hours old\)$/);
  assert.match(await page.textContent("#card-notice"), /not that the person holding it is the person on it/);
  assert.equal(await page.textContent("#settings-h"), "Verifier settings");

  // The settings stay in this browser across a reload; nonsense is clamped.
  await page.reload();
  await page.waitForSelector("body[data-ready=true]");
  assert.equal(await page.inputValue("#max-checkpoint-age"), "168");
  await setAge(page, 0);
  assert.equal(await page.inputValue("#max-checkpoint-age"), "1");
  assert.deepEqual(errors, []);
  await context.close();
});

test("the counter's minimum level of assurance refuses a lower attestation", async () => {
  const { context, page, errors } = await openPage(env, { lang: "en" });
  await page.clock.setFixedTime(attestation.now * 1000);
  await loadTrustRoot(page, identity.trust_root);
  const policy = { ...attestation.policy };
  delete policy.min_assurance_level;
  await page.evaluate((p) => window.certledgerPage.usePolicy(p), policy);
  assert.equal(await page.inputValue("#min-assurance"), "");

  // The attestation carries level 3.
  let r = await verifyPasted(page, attestation.bundle);
  assert.equal(r.status, "valid", `${r.reasonCode}: ${r.reason}`);
  await page.selectOption("#min-assurance", "4");
  r = await verifyPasted(page, attestation.bundle);
  assert.equal(r.status, "invalid");
  assert.equal(r.reasonCode, "assurance_too_low");
  await page.selectOption("#min-assurance", "3");
  r = await verifyPasted(page, attestation.bundle);
  assert.equal(r.status, "valid", `${r.reasonCode}: ${r.reason}`);
  assert.match(await page.textContent("#result-as-of"), /up to 24 hours old/);
  await screenshot(page, "settings-assurance-en");
  assert.deepEqual(errors, []);
  await context.close();
});
