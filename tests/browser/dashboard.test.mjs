// The operator dashboard (node/dashboard/, served by the node at /dashboard/) in Chromium, against
// a stand-in for the node's GET /v1/dashboard on the same loopback server. The node's own test
// (node/tests) checks that the real endpoint answers this shape.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { chromium } from "playwright-core";
import { ARTIFACTS, ROOT } from "./harness.mjs";
import { serve } from "./server.mjs";
import { mkdir } from "node:fs/promises";

const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
let server, browser;

const departments = [
  { id: "public-security", name_zh: "公安部", name_en: "Ministry of Public Security", validator: true, last_cosigned_height: 120 },
  { id: "market-regulation", name_zh: "国家市场监督管理总局", name_en: "State Administration for Market Regulation", validator: true, last_cosigned_height: 119 },
  { id: "education", name_zh: "教育部", name_en: "Ministry of Education", validator: true, last_cosigned_height: 80 },
  { id: "transport", name_zh: "交通运输部", name_en: "Ministry of Transport", validator: true, last_cosigned_height: null },
];
const blocks = Array.from({ length: 30 }, (_, i) => ({ height: 91 + i, entries: 50 + i, decided_at_ms: 1_700_000_000_000 + i * 500 }));
const dashboard = {
  chain_id: "certledger-test",
  node: { department: "market-regulation", validator: true, height: 120, log_size: 4321, mempool: 7 },
  departments,
  types: [{ id: "business-licence", name_zh: "营业执照", name_en: "Business licence" }],
  recent_blocks: blocks,
  counts: [{ department: "market-regulation", type: "business-licence", issued: 1200, revoked: 3, suspended: 2, reinstated: 1 }],
};

before(async () => {
  await mkdir(ARTIFACTS, { recursive: true });
  server = await serve(join(ROOT, "node"));
  server.routes.set("/v1/dashboard", { body: JSON.stringify(dashboard) });
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run"] });
});
after(async () => {
  await browser?.close();
  await server?.close();
});

async function open(lang) {
  const context = await browser.newContext({ viewport: { width: 1200, height: 1300 } });
  await context.addInitScript((l) => localStorage.setItem("certledger.lang", l), lang);
  const page = await context.newPage();
  const errors = [];
  page.on("pageerror", (e) => errors.push(e.message));
  page.on("console", (m) => { if (m.type() === "error") errors.push(m.text()); });
  await page.goto(`${server.url}dashboard/`);
  await page.waitForFunction(() => document.getElementById("f-height").textContent !== "–");
  return { context, page, errors };
}

test("shows the node, departments' health, commit charts and counts in Chinese", async () => {
  const { context, page, errors } = await open("zh");
  assert.equal(await page.textContent("#f-height"), "120");
  assert.equal(await page.textContent("#f-department"), "国家市场监督管理总局");
  assert.equal(await page.textContent("#f-mempool"), "7");
  const pills = await page.$$eval("#departments tbody .pill", (ps) => ps.map((p) => p.textContent));
  assert.deepEqual(pills, ["同步", "同步", "落后", "无联署"]);
  // 30 blocks 500 ms apart: 29 points on each chart.
  const points = await page.$eval("#chart-rate polyline", (p) => p.getAttribute("points").split(" ").length);
  assert.equal(points, 29);
  const counts = await page.$$eval("#counts tbody td", (tds) => tds.map((t) => t.textContent));
  assert.deepEqual(counts, ["国家市场监督管理总局", "营业执照", "1,200", "3", "2", "1"]);
  await page.screenshot({ path: join(ARTIFACTS, "dashboard-zh.png"), fullPage: true });
  assert.deepEqual(errors, []);
  await context.close();
});

test("switches to English and keeps the choice", async () => {
  const { context, page, errors } = await open("zh");
  await page.click("#lang-toggle");
  assert.equal(await page.textContent("#h-departments"), "Departments' nodes");
  assert.equal(await page.getAttribute("html", "lang"), "en");
  assert.equal(await page.evaluate(() => localStorage.getItem("certledger.lang")), "en");
  assert.equal(await page.textContent("#f-department"), "State Administration for Market Regulation");
  await page.screenshot({ path: join(ARTIFACTS, "dashboard-en.png"), fullPage: true });
  assert.deepEqual(errors, []);
  await context.close();
});

test("says plainly when the node does not answer, and recovers", async () => {
  const { context, page } = await open("en");
  server.routes.set("/v1/dashboard", { status: 503, body: "{}" });
  await page.waitForFunction(() => document.getElementById("status").classList.contains("bad"), null, { timeout: 10_000 });
  assert.match(await page.textContent("#status"), /Cannot reach this node: HTTP 503/);
  server.routes.set("/v1/dashboard", { body: JSON.stringify(dashboard) });
  await page.waitForFunction(() => !document.getElementById("status").classList.contains("bad"), null, { timeout: 10_000 });
  await context.close();
});

test("refuses an answer of the wrong shape without breaking the page", async () => {
  server.routes.set("/v1/dashboard", { body: JSON.stringify({ node: {}, departments: "x" }) });
  const context = await browser.newContext();
  const page = await context.newPage();
  await page.goto(`${server.url}dashboard/`);
  await page.waitForFunction(() => document.getElementById("status").classList.contains("bad"));
  assert.match(await page.textContent("#status"), /unexpected answer|无法连接/);
  server.routes.set("/v1/dashboard", { body: JSON.stringify(dashboard) });
  await context.close();
});
