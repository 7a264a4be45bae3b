// Shared set-up for the browser tests: the static server, Debian's Chromium through
// playwright-core, pages that fail the test on any console error, and screenshots.
import { access, mkdir } from "node:fs/promises";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";
import { serve } from "./server.mjs";

const HERE = dirname(fileURLToPath(import.meta.url));
export const ROOT = join(HERE, "..", "..");
export const WEB = join(ROOT, "verifier-wasm", "web");
export const ARTIFACTS = join(HERE, "artifacts");
const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";

/** Starts the server and the browser (with `extraArgs`); call `stop()` when done. */
export async function start(extraArgs = []) {
  try {
    await access(join(WEB, "pkg", "certledger_verifier_bg.wasm"));
  } catch {
    throw new Error("verifier-wasm/web/pkg is missing: run scripts/build-wasm.sh first");
  }
  await mkdir(ARTIFACTS, { recursive: true });
  const server = await serve(WEB);
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: [
      "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
      "--disable-component-update", "--no-first-run", "--disable-quic", "--disable-sync",
      ...extraArgs,
    ],
  });
  return {
    server,
    browser,
    async stop() {
      await browser.close();
      await server.close();
    },
  };
}

/**
 * A fresh context and page at the verifier, ready (`body[data-ready]`). Console errors and page
 * errors are collected in `errors`; tests assert it stays empty.
 */
export async function openPage(env, { lang = "zh", permissions = [] } = {}) {
  const context = await env.browser.newContext({ viewport: { width: 1000, height: 1400 }, permissions });
  await context.addInitScript((l) => localStorage.setItem("certledger.lang", l), lang);
  const page = await context.newPage();
  const errors = [];
  page.on("pageerror", (e) => errors.push(`pageerror: ${e.message}`));
  page.on("console", (m) => { if (m.type() === "error") errors.push(`console: ${m.text()}`); });
  await page.goto(env.server.url);
  await page.waitForSelector("body[data-ready=true]", { timeout: 20_000 });
  return { context, page, errors };
}

export async function screenshot(page, name) {
  await page.screenshot({ path: join(ARTIFACTS, `${name}.png`), fullPage: true });
}

/** Loads a trust root (an object) through the page's file input. */
export async function loadTrustRoot(page, trustRoot) {
  await page.setInputFiles("#trust-file", {
    name: "trust-root.json",
    mimeType: "application/json",
    buffer: Buffer.from(JSON.stringify(trustRoot)),
  });
  await page.waitForFunction(() => !document.getElementById("trust-status").classList.contains("bad")
    && /chain|账本|ledger/.test(document.getElementById("trust-status").textContent));
}

/** Pastes a bundle, clicks Check and returns the result panel's status and reason code. */
export async function verifyPasted(page, bundleText) {
  await page.fill("#bundle-text", bundleText);
  await page.evaluate(() => { document.getElementById("result").hidden = true; });
  await page.click("#verify");
  await page.waitForSelector("#result:not([hidden])");
  return page.evaluate(() => {
    const r = document.getElementById("result");
    return {
      status: r.dataset.status,
      reasonCode: r.dataset.reasonCode,
      title: document.getElementById("result-h").textContent,
      reason: document.getElementById("result-reason").textContent,
    };
  });
}

/** A syntactically plausible trust root; the page only checks its shape, core checks the rest. */
export const SAMPLE_TRUST_ROOT = {
  version: 1,
  chain_id: "certledger-browser-test",
  keys: ["dept-a+00000000+AQ"],
  threshold: 1,
};
