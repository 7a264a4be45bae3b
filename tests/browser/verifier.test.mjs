// The verifier page in Debian's Chromium: loading, language, request QR codes, QR decoding from
// an image, and working with the network cut off after load.
import assert from "node:assert/strict";
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, test } from "node:test";
import {
  ARTIFACTS, loadTrustRoot, openPage, ROOT, SAMPLE_TRUST_ROOT, screenshot, start, verifyPasted,
} from "./harness.mjs";

let env;
before(async () => { env = await start(); });
after(async () => { await env?.stop(); });

const DIPLOMA = "urn:cn:certledger:vct:diploma:1";

/** Step 1 through the UI: a diploma request for name and institution. */
async function createDiplomaRequest(page) {
  await page.selectOption("#cred-type", DIPLOMA);
  await page.check('#claims-list input[value="name"]');
  await page.check('#claims-list input[value="institution"]');
  await page.fill("#purpose", "核验学历 check a diploma");
  await page.click("#create-request");
  await page.waitForSelector("#request-out:not([hidden]) #qr svg");
  return page.inputValue("#request-text");
}

test("page loads in Chinese and switches to English and back", async () => {
  const { context, page, errors } = await openPage(env);
  assert.equal(await page.textContent("h1"), "凭证核验");
  assert.equal(await page.getAttribute("html", "lang"), "zh-CN");
  const types = await page.$$eval("#cred-type option", (o) => o.map((x) => x.textContent));
  assert.ok(types.includes("学历证书"), `types: ${types}`);
  await page.click("#lang-toggle");
  assert.equal(await page.textContent("h1"), "Credential check");
  assert.equal(await page.getAttribute("html", "lang"), "en");
  assert.ok((await page.$$eval("#cred-type option", (o) => o.map((x) => x.textContent))).includes("Diploma"));
  await page.click("#lang-toggle");
  assert.equal(await page.textContent("h1"), "凭证核验");
  assert.deepEqual(errors, []);
  await context.close();
});

test("creates a request and renders its QR code", async () => {
  const { context, page, errors } = await openPage(env, { lang: "en" });
  const text = await createDiplomaRequest(page);
  assert.match(text, /^CLR1\.[A-Za-z0-9_-]+$/);
  const box = await page.locator("#qr svg").boundingBox();
  assert.ok(box.width >= 200 && box.height >= 200, `QR is ${box.width}x${box.height}`);
  assert.ok(await page.locator("#qr svg path").count() >= 1, "QR SVG has no modules");
  const summary = await page.textContent("#request-summary");
  assert.match(summary, /check a diploma/);
  // The page decodes the request it made back to the same fields.
  const request = await page.evaluate(async (t) => {
    const m = await import("./pkg/certledger_verifier.js");
    return JSON.parse(m.parse_request(t)).request;
  }, text);
  assert.deepEqual(request.claims, ["institution", "name"]);
  assert.deepEqual(request.credential_types, [DIPLOMA]);
  assert.equal(request.audience, "counter-1");
  assert.ok(request.nonce.length >= 22, "nonce shorter than 128 bits");
  assert.ok(request.expires_at > request.created_at);
  // A second request has a fresh nonce.
  await page.click("#create-request");
  await page.waitForFunction((old) => document.getElementById("request-text").value !== old, text);
  assert.notEqual(await page.inputValue("#request-text"), text);
  await screenshot(page, "request-qr");
  assert.deepEqual(errors, []);
  await context.close();
});

test("a request without a counter id is refused with a message", async () => {
  const { context, page, errors } = await openPage(env, { lang: "en" });
  await page.selectOption("#cred-type", DIPLOMA);
  await page.fill("#verifier-id", "");
  await page.click("#create-request");
  await page.waitForSelector("#request-error:not([hidden])");
  assert.match(await page.textContent("#request-error"), /Could not create the request: verifier_id/);
  assert.equal(await page.isHidden("#request-out"), true);
  assert.deepEqual(errors, []);
  await context.close();
});

test("decodes the request QR code from a PNG image (round trip)", async () => {
  const { context, page, errors } = await openPage(env, { lang: "en" });
  const text = await createDiplomaRequest(page);
  const png = await page.locator("#qr svg").screenshot();
  await page.setInputFiles("#bundle-file", { name: "qr.png", mimeType: "image/png", buffer: png });
  await page.waitForFunction(() => document.getElementById("bundle-text").value.length > 0);
  assert.equal(await page.inputValue("#bundle-text"), text);
  // A request scanned at the verifier is named as such, not verified.
  await page.waitForSelector("#result:not([hidden])");
  assert.equal(await page.getAttribute("#result", "data-reason-code"), "isRequest");
  // An image with no QR code says so.
  const blank = await page.locator("h1").screenshot();
  await page.setInputFiles("#bundle-file", { name: "blank.png", mimeType: "image/png", buffer: blank });
  await page.waitForFunction(() => document.getElementById("result").dataset.reasonCode === "noQr");
  await screenshot(page, "qr-round-trip");
  assert.deepEqual(errors, []);
  await context.close();
});

test("works with the network cut off after load", async () => {
  const { context, page, errors } = await openPage(env, { lang: "en" });
  // The trust root comes from a node once; the route stands in for the node.
  let nodeHits = 0;
  await context.route("http://node.invalid/v1/trust-root", (route) => {
    nodeHits += 1;
    return route.fulfill({ contentType: "application/json", body: JSON.stringify(SAMPLE_TRUST_ROOT) });
  });
  // No validator change since genesis: the node answers 404 (trust.test.mjs covers following).
  await context.route("http://node.invalid/v1/validator-chain", (route) => {
    nodeHits += 1;
    return route.fulfill({ status: 404, contentType: "application/json", body: "{}" });
  });
  await page.fill("#trust-url", "http://node.invalid");
  await page.click("#trust-fetch");
  await page.waitForFunction(() => /certledger-browser-test/.test(document.getElementById("trust-status").textContent));
  assert.equal(nodeHits, 2);

  await context.setOffline(true);
  const requests = [];
  page.on("request", (r) => requests.push(r.url()));
  const text = await createDiplomaRequest(page);
  assert.match(text, /^CLR1\./);
  const result = await verifyPasted(page, "CLB1.AAAA");
  assert.notEqual(result.status, "valid");
  assert.ok(result.reason.length > 0, "no reason shown");
  await page.click("#lang-toggle");
  assert.equal(await page.textContent("h1"), "凭证核验");
  assert.deepEqual(requests.filter((u) => !u.startsWith("data:") && !u.startsWith("blob:")), []);
  await screenshot(page, "offline");
  // Chromium logs the node's 404 (no validator chain) on the console; nothing else may appear.
  assert.deepEqual(errors.filter((e) => !/status of 404/.test(e)), []);
  assert.equal(errors.length, 1);
  await context.close();
});

test("remembers the trust root across reloads", async () => {
  const { context, page } = await openPage(env, { lang: "en" });
  await loadTrustRoot(page, SAMPLE_TRUST_ROOT);
  await page.reload();
  await page.waitForSelector("body[data-ready=true]");
  assert.match(await page.textContent("#trust-status"), /certledger-browser-test, 1 department keys/);
  await context.close();
});

test("reads a bundle from a chosen file and from a dropped file", async () => {
  const vectors = JSON.parse(await readFile(join(ROOT, "specs", "vectors", "bundles.json"), "utf8"));
  const valid = vectors.cases.find((c) => c.expect === "valid");
  const revoked = vectors.cases.find((c) => c.expect === "revoked");
  const { context, page, errors } = await openPage(env, { lang: "en" });
  await page.clock.setFixedTime(valid.now * 1000);
  await loadTrustRoot(page, vectors.trust_root);
  await page.evaluate((p) => window.certledgerPage.usePolicy(p), valid.policy);
  await page.setInputFiles("#bundle-file", { name: "bundle.txt", mimeType: "text/plain", buffer: Buffer.from(`${valid.bundle}\n`) });
  await page.waitForSelector("#result[data-status=valid]");
  assert.equal(await page.textContent("#result-h"), "✓ Valid");
  const drop = await page.evaluateHandle((text) => {
    const dt = new DataTransfer();
    dt.items.add(new File([text], "revoked.clb", { type: "" }));
    return dt;
  }, revoked.bundle);
  await page.dispatchEvent("#drop-zone", "drop", { dataTransfer: drop });
  await page.waitForSelector("#result[data-status=invalid]");
  assert.equal(await page.getAttribute("#result", "data-reason-code"), "revoked");
  assert.equal(await page.isHidden("#result-claims"), true);
  await screenshot(page, "dropped-revoked");
  assert.deepEqual(errors, []);
  await context.close();
});

test("scans a QR code from the camera", async () => {
  // Chromium's fake camera plays a Y4M file: make one showing the page's own request QR code.
  const { context, page } = await openPage(env, { lang: "en" });
  const text = await createDiplomaRequest(page);
  const side = 480;
  const lumaB64 = await page.evaluate(async (side) => {
    const svg = new XMLSerializer().serializeToString(document.querySelector("#qr svg"));
    const img = new Image();
    img.src = URL.createObjectURL(new Blob([svg], { type: "image/svg+xml" }));
    await img.decode();
    const canvas = document.createElement("canvas");
    canvas.width = canvas.height = side;
    const ctx = canvas.getContext("2d");
    ctx.fillStyle = "#fff";
    ctx.fillRect(0, 0, side, side);
    ctx.drawImage(img, 40, 40, side - 80, side - 80);
    const rgba = ctx.getImageData(0, 0, side, side).data;
    let bin = "";
    for (let i = 0; i < rgba.length; i += 4) bin += String.fromCharCode(rgba[i + 1]);
    return btoa(bin);
  }, side);
  await context.close();
  const luma = Buffer.from(lumaB64, "base64");
  assert.equal(luma.length, side * side);
  const chroma = Buffer.alloc((side / 2) * (side / 2), 128);
  const frame = Buffer.concat([Buffer.from("FRAME\n"), luma, chroma, chroma]);
  const y4m = join(ARTIFACTS, "camera-qr.y4m");
  await writeFile(y4m, Buffer.concat([Buffer.from(`YUV4MPEG2 W${side} H${side} F5:1 Ip A1:1 C420jpeg\n`), frame, frame]));

  const camEnv = await start([
    "--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream",
    `--use-file-for-fake-video-capture=${y4m}`,
  ]);
  try {
    const cam = await openPage(camEnv, { lang: "en", permissions: ["camera"] });
    await cam.page.click("#camera-toggle");
    await cam.page.waitForFunction(() => document.getElementById("bundle-text").value.length > 0, null, { timeout: 15_000 });
    assert.equal(await cam.page.inputValue("#bundle-text"), text);
    assert.equal(await cam.page.getAttribute("#result", "data-reason-code"), "isRequest");
    assert.equal(await cam.page.isHidden("#camera"), true, "camera left running after a scan");
    assert.deepEqual(cam.errors, []);
    await cam.context.close();
  } finally {
    await camEnv.stop();
  }
});

test("joins a bundle split over several QR codes (CLBQ1 parts, any order)", async () => {
  const vectors = JSON.parse(await readFile(join(ROOT, "specs", "vectors", "bundles.json"), "utf8"));
  const valid = vectors.cases.find((c) => c.expect === "valid");
  // specs/wallet.md: pieces of at most 1000 characters, part i of n is CLBQ1/<i>/<n>/<piece>.
  const pieces = valid.bundle.match(/[\s\S]{1,1000}/g);
  assert.ok(pieces.length >= 2, "the vector bundle fits one code; the test needs several");
  const parts = pieces.map((p, i) => `CLBQ1/${i + 1}/${pieces.length}/${p}`).reverse();
  const { context, page, errors } = await openPage(env, { lang: "en" });
  await page.clock.setFixedTime(valid.now * 1000);
  await loadTrustRoot(page, vectors.trust_root);
  await page.evaluate((p) => window.certledgerPage.usePolicy(p), valid.policy);
  for (const [k, part] of parts.entries()) {
    await page.evaluate(async (text) => {
      const m = await import("./pkg/certledger_verifier.js");
      const holder = document.createElement("div");
      holder.id = "part-qr";
      holder.style.width = "640px";
      holder.innerHTML = m.request_qr_svg(text);
      holder.firstElementChild.setAttribute("width", "640");
      holder.firstElementChild.setAttribute("height", "640");
      document.body.append(holder);
    }, part);
    const png = await page.locator("#part-qr svg").screenshot();
    await page.evaluate(() => document.getElementById("part-qr").remove());
    await page.setInputFiles("#bundle-file", { name: `part-${k}.png`, mimeType: "image/png", buffer: png });
    if (k < parts.length - 1) {
      await page.waitForFunction((s) => document.getElementById("scan-status").textContent.startsWith(s),
        `Read ${k + 1} of ${parts.length} QR codes`);
    }
  }
  await page.waitForSelector("#result[data-status=valid]");
  assert.equal(await page.inputValue("#bundle-text"), valid.bundle);
  assert.equal(await page.textContent("#scan-status"), "");
  await screenshot(page, "parts-joined");
  assert.deepEqual(errors, []);
  await context.close();
});
