// Signed requests and single-use nonces on the verifier page (issue #11 items 5 and 6): the
// counter's key is generated in the browser and kept, its public key shown, every request signed
// with it (checked here independently with node:crypto); a bundle is accepted once per request
// (also after a reload), and not at all once the request has expired.
import assert from "node:assert/strict";
import { createPublicKey, verify as edVerify } from "node:crypto";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { loadTrustRoot, openPage, ROOT, screenshot, start, verifyPasted } from "./harness.mjs";

const NAMESPACE = "certledger/v1/verifier-request";
const DIPLOMA = "urn:cn:certledger:vct:diploma:1";
const vectors = JSON.parse(await readFile(join(ROOT, "specs", "vectors", "bundles.json"), "utf8"));
const valid = vectors.cases.find((c) => c.expect === "valid");

let env;
before(async () => { env = await start(); });
after(async () => { await env?.stop(); });

/** Ed25519 over u8(len(tag)) || tag || (binary form without its last 64 bytes). */
function signatureValid(text, publicKeyB64) {
  const bytes = Buffer.from(text.slice("CLR1.".length), "base64url");
  const message = bytes.subarray(0, bytes.length - 64);
  const signature = bytes.subarray(bytes.length - 64);
  const tag = Buffer.from(NAMESPACE, "ascii");
  const signed = Buffer.concat([Buffer.from([tag.length]), tag, message]);
  const key = createPublicKey({ key: { kty: "OKP", crv: "Ed25519", x: publicKeyB64 }, format: "jwk" });
  return edVerify(null, signed, key, signature);
}

async function createRequest(page) {
  await page.selectOption("#cred-type", DIPLOMA);
  await page.check('#claims-list input[value="name"]');
  await page.fill("#purpose", "hire 核验学历");
  await page.click("#create-request");
  await page.waitForSelector("#request-out:not([hidden]) #qr svg");
  return page.inputValue("#request-text");
}

test("the counter key is made in the browser, kept, shown, and signs every request", async () => {
  const { context, page, errors } = await openPage(env, { lang: "en" });
  const shown = (await page.textContent("#counter-key")).trim();
  assert.match(shown, /^[A-Za-z0-9_-]{43}$/);
  const key = await page.evaluate(() => window.certledgerPage.counterPublicKey());
  assert.equal(key.base64url, shown);
  assert.equal(key.hex, Buffer.from(shown, "base64url").toString("hex"));
  assert.match(await page.textContent("#counter-key-hint"), /verifier register/);
  const seed = await page.evaluate(() => localStorage.getItem("certledger.counterKey"));
  assert.match(seed, /^[A-Za-z0-9_-]{43}$/);

  const text = await createRequest(page);
  assert.ok(signatureValid(text, shown), "the request's signature does not verify under the shown key");
  const request = await page.evaluate(async (t) => {
    const m = await import("./pkg/certledger_verifier.js");
    return JSON.parse(m.parse_request(t)).request;
  }, text);
  assert.equal(request.version, 2);
  assert.equal(Buffer.from(request.signature, "base64url").length, 64);
  // Altered after signing (another purpose): the signature no longer verifies.
  const bytes = Buffer.from(text.slice(5), "base64url");
  const at = bytes.indexOf(Buffer.from("hire"));
  bytes[at] = "f".charCodeAt(0);
  assert.equal(signatureValid(`CLR1.${bytes.toString("base64url")}`, shown), false);

  // The same key after a reload (kept in the browser); another browser profile has its own.
  await page.reload();
  await page.waitForSelector("body[data-ready=true]");
  assert.equal((await page.textContent("#counter-key")).trim(), shown);
  const second = await createRequest(page);
  assert.ok(signatureValid(second, shown));
  const other = await openPage(env, { lang: "en" });
  assert.notEqual((await other.page.textContent("#counter-key")).trim(), shown);
  await other.context.close();
  // A new key (for a rotation): shown and kept, the old request dropped, new requests signed by it.
  await page.click("#counter-key-new");
  const renewed = (await page.textContent("#counter-key")).trim();
  assert.match(renewed, /^[A-Za-z0-9_-]{43}$/);
  assert.notEqual(renewed, shown);
  assert.equal(await page.isHidden("#request-out"), true);
  const third = await createRequest(page);
  assert.ok(signatureValid(third, renewed));
  assert.equal(signatureValid(third, shown), false);
  await page.reload();
  await page.waitForSelector("body[data-ready=true]");
  assert.equal((await page.textContent("#counter-key")).trim(), renewed);
  await screenshot(page, "request-counter-key");
  assert.deepEqual(errors, []);
  await context.close();
});

/** The page's current request, answered by the vectors' valid bundle (same nonce and audience). */
function requestFor(c, expiresAt) {
  return {
    version: 2, verifier_id: "counter-1", purpose: "hire", claims: [], credential_types: [],
    nonce: c.policy.challenge.nonce, audience: c.policy.challenge.audience,
    created_at: c.now - 10, expires_at: expiresAt, signature: "",
  };
}

test("a bundle is accepted once per request, also after a reload", async () => {
  const { context, page, errors } = await openPage(env, { lang: "zh" });
  await page.clock.setFixedTime(valid.now * 1000);
  await loadTrustRoot(page, vectors.trust_root);
  await page.evaluate((r) => window.certledgerPage.useRequest(r), requestFor(valid, valid.now + 600));
  const first = await verifyPasted(page, valid.bundle);
  assert.equal(first.status, "valid", `${first.reasonCode}: ${first.reason}`);
  const again = await verifyPasted(page, valid.bundle);
  assert.equal(again.status, "invalid");
  assert.equal(again.reasonCode, "nonceUsed");
  assert.match(again.reason, /不能重复使用/);
  // The used nonce is kept in the browser until the request expires.
  await page.reload();
  await page.waitForSelector("body[data-ready=true]");
  await page.evaluate((r) => window.certledgerPage.useRequest(r), requestFor(valid, valid.now + 600));
  const reloaded = await verifyPasted(page, valid.bundle);
  assert.equal(reloaded.reasonCode, "nonceUsed");
  await screenshot(page, "request-nonce-used");
  assert.deepEqual(errors, []);
  await context.close();
});

test("an expired request accepts no bundle", async () => {
  const { context, page, errors } = await openPage(env, { lang: "en" });
  await page.clock.setFixedTime(valid.now * 1000);
  await loadTrustRoot(page, vectors.trust_root);
  await page.evaluate((r) => window.certledgerPage.useRequest(r), requestFor(valid, valid.now));
  const late = await verifyPasted(page, valid.bundle);
  assert.equal(late.status, "invalid");
  assert.equal(late.reasonCode, "requestExpired");
  assert.match(late.reason, /expired/);
  assert.deepEqual(errors, []);
  await context.close();
});
