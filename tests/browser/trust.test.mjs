// Trust roots in the page: loading from a node (its /v1/trust-root and /v1/validator-chain, served
// here by the loopback test server), following a validator change in WebAssembly, pinning, and
// the cached Verifier class giving exactly verify_bundle's answers.
//
// The chain fixture comes from core's test `verify_followed::write_browser_fixtures`
// (testkit::validator_change_case: four founders add `health` and remove `transport`; the bundle's
// checkpoint is signed by three of the new set, only two of them founders). scripts/test.sh runs
// the Rust tests first; if the fixture is missing this file runs that one Rust test to make it.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { access, readFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { after, before, test } from "node:test";
import { loadTrustRoot, openPage, ROOT, screenshot, start, verifyPasted } from "./harness.mjs";

function chainFixturePath() {
  if (process.env.CERTLEDGER_CHAIN_CASES) return join(process.env.CERTLEDGER_CHAIN_CASES, "validator-change.json");
  const tmp = process.env.CERTLEDGER_BUNDLE_CASES
    ? dirname(process.env.CERTLEDGER_BUNDLE_CASES)
    : join(process.env.CARGO_TARGET_DIR ?? join(ROOT, "target"), "tmp");
  return join(tmp, "browser-chains", "validator-change.json");
}

async function loadFixture(name) {
  const path = join(dirname(chainFixturePath()), name);
  try {
    await access(path);
  } catch {
    const run = spawnSync("cargo", ["test", "-q", "-p", "certledger-core", "--test", "verify_followed", "--", "write_browser_fixtures"],
      { cwd: ROOT, stdio: "inherit" });
    if (run.status !== 0) throw new Error(`could not generate ${path} (cargo exited ${run.status})`);
  }
  return JSON.parse(await readFile(path, "utf8"));
}

const fixture = await loadFixture("validator-change.json");
const unchanged = await loadFixture("validator-unchanged.json");
const vectors = JSON.parse(await readFile(join(ROOT, "specs", "vectors", "bundles.json"), "utf8"));
const stripDepartments = ({ departments, ...root }) => root;

let env;
before(async () => { env = await start(); });
after(async () => { await env?.stop(); });

/** Makes the loopback server answer like a node at `${env.server.url}node`. */
function serveNode({ trustRoot, chain }) {
  const routes = env.server.routes;
  routes.clear();
  routes.set("/node/v1/trust-root", { body: JSON.stringify(trustRoot) });
  routes.set("/node/v1/validator-chain", chain === undefined
    ? { status: 404, body: JSON.stringify({ error: "not_found", message: "no validator change" }) }
    : { body: JSON.stringify({ chain }) });
}

/** Clicks "load from node" and waits for the trust status to be written again. */
async function loadFromNode(page) {
  await page.fill("#trust-url", `${env.server.url}node`);
  await page.evaluate(() => { document.getElementById("trust-status").textContent = ""; });
  await page.click("#trust-fetch");
  await page.waitForFunction(() => document.getElementById("trust-status").textContent !== "");
  return {
    status: await page.textContent("#trust-status"),
    bad: await page.evaluate(() => document.getElementById("trust-status").classList.contains("bad")),
    departments: await page.$$eval("#trust-departments li", (lis) => lis.map((li) => li.dataset.id)),
  };
}

async function checkBundle(page) {
  await page.evaluate((p) => window.certledgerPage.usePolicy(p), fixture.policy);
  return verifyPasted(page, fixture.bundle);
}

async function freshPage(lang = "en") {
  const opened = await openPage(env, { lang });
  await opened.page.clock.setFixedTime(fixture.now * 1000);
  return opened;
}

test("loads a node's trust root, follows its validator chain and accepts the later bundle", async () => {
  serveNode({ trustRoot: fixture.genesis_trust_root, chain: fixture.chain });
  const { context, page, errors } = await freshPage("zh");
  const loaded = await loadFromNode(page);
  assert.equal(loaded.bad, false, loaded.status);
  assert.match(loaded.status, /跟随账本记录的 1 次部门变更/);
  assert.match(loaded.status, /节点提供的信任根/);
  assert.deepEqual(loaded.departments, fixture.departments);
  assert.ok(loaded.departments.includes("health") && !loaded.departments.includes("transport"));
  assert.match(await page.textContent("#trust-departments"), /卫生健康部门/);
  const result = await checkBundle(page);
  assert.equal(result.status, "valid", `${result.reasonCode}: ${result.reason}`);
  // The cached verifier checked that checkpoint once.
  await checkBundle(page);
  const stats = await page.evaluate(() => window.certledgerPage.cacheStats());
  assert.deepEqual(stats, { entries: 1, hits: 1, misses: 1 });
  // The followed root is what the page keeps.
  const saved = await page.evaluate(() => JSON.parse(localStorage.getItem("certledger.trustRoot")));
  assert.deepEqual(saved, fixture.followed_trust_root);
  await screenshot(page, "trust-followed-from-node");
  assert.deepEqual(errors, []);
  await context.close();
});

test("follows from the trust root pinned on this device, not the node's", async () => {
  // The node offers a root that could not be followed; the pinned genesis root is used instead.
  serveNode({ trustRoot: stripDepartments(fixture.followed_trust_root), chain: fixture.chain });
  const { context, page, errors } = await freshPage();
  await loadTrustRoot(page, fixture.genesis_trust_root);
  assert.deepEqual(await page.$$eval("#trust-departments li", (l) => l.map((li) => li.dataset.id)),
    ["education", "market-regulation", "public-security", "transport"]);
  const loaded = await loadFromNode(page);
  assert.equal(loaded.bad, false, loaded.status);
  assert.match(loaded.status, /followed 1 department change.*pinned on this device/);
  assert.deepEqual(loaded.departments, fixture.departments);
  assert.equal((await checkBundle(page)).status, "valid");
  // Loading from the node again still starts from the pinned genesis root (after a reload too).
  await page.reload();
  await page.waitForSelector("body[data-ready=true]");
  const again = await loadFromNode(page);
  assert.equal(again.bad, false, again.status);
  assert.match(again.status, /pinned on this device/);
  assert.deepEqual(again.departments, fixture.departments);
  assert.deepEqual(errors, []);
  await context.close();
});

test("no validator chain (404) keeps the genesis set, which refuses the later bundle", async () => {
  serveNode({ trustRoot: fixture.genesis_trust_root });
  const { context, page, errors } = await freshPage();
  const loaded = await loadFromNode(page);
  assert.equal(loaded.bad, false, loaded.status);
  assert.match(loaded.status, /no department change since genesis/);
  assert.deepEqual(loaded.departments, ["education", "market-regulation", "public-security", "transport"]);
  const result = await checkBundle(page);
  assert.equal(result.status, "invalid");
  assert.equal(result.reasonCode, "quorum_not_met");
  // Chromium logs every 404 response on the console; that one is the expected answer.
  assert.deepEqual(errors, ["console: Failed to load resource: the server responded with a status of 404 (Not Found)"]);
  await context.close();
});

test("a chain with no step is confirmed from node keys alone", async () => {
  serveNode({ trustRoot: unchanged.trust_root, chain: unchanged.chain });
  const { context, page, errors } = await freshPage();
  const loaded = await loadFromNode(page);
  assert.equal(loaded.bad, false, loaded.status);
  assert.match(loaded.status, new RegExp(`Checked: no department change since genesis \\(as of block ${unchanged.head_height}\\)`));
  // The confirmed root now lists the departments (with admin keys), so it can follow later.
  const saved = await page.evaluate(() => JSON.parse(localStorage.getItem("certledger.trustRoot")));
  assert.deepEqual(saved, unchanged.followed_trust_root);
  assert.deepEqual(errors, []);
  await context.close();
});

test("a tampered chain is refused and the trust root stays as it was", async () => {
  const c = fixture.chain;
  const i = Math.floor(c.length / 2);
  const tampered = c.slice(0, i) + (c[i] === "A" ? "B" : "A") + c.slice(i + 1);
  serveNode({ trustRoot: fixture.genesis_trust_root, chain: tampered });
  const { context, page, errors } = await freshPage();
  await loadTrustRoot(page, fixture.genesis_trust_root);
  const loaded = await loadFromNode(page);
  assert.equal(loaded.bad, true, loaded.status);
  assert.match(loaded.status, /Could not follow.*\[(chain_refused|malformed_chain)\]/);
  const result = await checkBundle(page);
  assert.equal(result.reasonCode, "quorum_not_met", "the genesis root is still in use");
  await screenshot(page, "trust-chain-refused");
  assert.deepEqual(errors, []);
  await context.close();
});

test("a root without departments cannot be followed", async () => {
  serveNode({ trustRoot: stripDepartments(fixture.genesis_trust_root), chain: fixture.chain });
  const { context, page, errors } = await freshPage();
  const loaded = await loadFromNode(page);
  assert.equal(loaded.bad, true, loaded.status);
  assert.match(loaded.status, /\[not_followable\]/);
  assert.deepEqual(errors, []);
  await context.close();
});

test("follow_validator_chain in the module: result and typed errors", async () => {
  const { context, page, errors } = await freshPage();
  const out = await page.evaluate(async ({ root, chain }) => {
    const m = await import("./pkg/certledger_verifier.js");
    const ok = m.follow_validator_chain(JSON.stringify(root), chain);
    return {
      ok,
      garbage: m.follow_validator_chain(JSON.stringify(root), "%%%").error_code,
      badRoot: m.follow_validator_chain("{", chain).error_code,
      again: m.follow_validator_chain(JSON.stringify(ok.trust_root), chain).error_code,
    };
  }, { root: fixture.genesis_trust_root, chain: fixture.chain });
  assert.equal(out.ok.status, "ok");
  assert.deepEqual(out.ok.trust_root, fixture.followed_trust_root);
  assert.deepEqual(out.ok.departments.map((d) => d.id), fixture.departments);
  assert.equal(out.ok.changes, 1);
  assert.equal(out.ok.head_height, fixture.head_height);
  assert.equal(out.garbage, "malformed_chain");
  assert.equal(out.badRoot, "malformed_trust_root");
  assert.equal(out.again, "chain_refused");
  assert.deepEqual(errors, []);
  await context.close();
});

test("the cached Verifier answers exactly as verify_bundle for every vector", async () => {
  const { context, page, errors } = await freshPage();
  const cases = [
    ...vectors.cases.map((c) => ({ ...c, trust_root: vectors.trust_root })),
    { name: "after a validator change", bundle: fixture.bundle, policy: fixture.policy, now: fixture.now, trust_root: fixture.followed_trust_root },
  ];
  const out = await page.evaluate(async (cases) => {
    const m = await import("./pkg/certledger_verifier.js");
    const verifiers = new Map();
    const mismatches = [];
    const codes = [];
    for (let round = 0; round < 3; round++) {
      for (const c of cases) {
        const root = JSON.stringify(c.trust_root);
        if (!verifiers.has(root)) verifiers.set(root, new m.Verifier(root));
        const policy = JSON.stringify(c.policy);
        const cold = m.verify_bundle(c.bundle, root, policy, c.now);
        const cached = verifiers.get(root).verify(c.bundle, policy, c.now);
        if (JSON.stringify(cold) !== JSON.stringify(cached)) mismatches.push({ round, name: c.name, cold, cached });
        if (round === 0) codes.push(cached.status === "valid" ? "valid" : cached.reason_code);
      }
    }
    let threw = null;
    try { new m.Verifier(JSON.stringify({ ...cases[0].trust_root, threshold: 1 })); } catch (e) { threw = e.message; }
    const stats = [...verifiers.values()].map((v) => v.cache_stats());
    return { mismatches, codes, stats, threw };
  }, cases);
  assert.deepEqual(out.mismatches, []);
  assert.equal(out.codes.length, 27);
  assert.deepEqual(out.codes.slice(0, 26), vectors.cases.map((c) => c.expect));
  assert.equal(out.codes[26], "valid");
  assert.ok(out.stats[0].hits > 0, JSON.stringify(out.stats));
  assert.match(out.threw ?? "", /threshold/);
  assert.deepEqual(errors, []);
  await context.close();
});
