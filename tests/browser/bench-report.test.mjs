// The benchmark report (scripts/bench-report.mjs): what scripts/bench.sh's parts become in the
// one JSON file and the HTML report. Pure Node; no browser needed.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, readFile, writeFile } from "node:fs/promises";
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { assemble, histogramChart, lineChart, renderHtml } from "../../scripts/bench-report.mjs";

const REPORT = new URL("../../scripts/bench-report.mjs", import.meta.url).pathname;
const run = promisify(execFile);

const load = (rate, committed, p99, rss, entries) => ({
  run: { target_rate_per_s: rate, committed_per_s: committed, p50_commit_ms: p99 / 2, p99_commit_ms: p99, entries_per_block: 10 },
  rss_bytes: rss,
  ledger_entries_after: entries,
});

test("ratios are against the same run's baseline", () => {
  const b = assemble({
    native: { cached: { p50_ms: 0.1 }, cold: { p50_ms: 0.3 }, ed25519_verify_strict: { p50_ms: 0.04 } },
    nodeLoad: [load(200, 190, 500, [1e8, 3e8], 1000), load(400, 380, 900, [2e8], 3000)],
  });
  assert.equal(b.native_verify_ratios.cached_p50_over_one_verify.toFixed(2), "2.50");
  assert.equal(b.native_verify_ratios.cold_p50_over_one_verify.toFixed(2), "7.50");
  assert.deepEqual(b.node_load_ratios.committed_over_baseline, [1, 2]);
  assert.equal(b.node_load[0].rss_bytes_per_node_mean, 2e8);
  assert.equal(b.node_load[1].ledger_entries_after, 3000);
});

test("missing parts are left out, not invented", () => {
  const b = assemble({});
  assert.equal(b.native_verify, undefined);
  assert.equal(b.node_load, undefined);
  assert.equal(b.browser_verify, undefined);
  const html = renderHtml(b);
  assert.doesNotMatch(html, /<svg/);
});

test("a line chart draws one point per measured value and skips gaps", () => {
  const svg = lineChart({ title: "t", xLabel: "x", yLabel: "y", series: [{ name: "a", points: [[1, 2], [2, null], [3, 4]] }] });
  assert.equal((svg.match(/<circle /g) ?? []).length, 2);
  assert.match(lineChart({ title: "none", xLabel: "x", yLabel: "y", series: [{ name: "a", points: [] }] }), /no data/);
});

test("a histogram shows each series' share per bucket", () => {
  const svg = histogramChart({ title: "h", series: [{ name: "s", buckets: [{ le_ms: 0.1, count: 3 }, { le_ms: 0.2, count: 1 }] }] });
  assert.equal((svg.match(/<rect [^>]*fill="#1f6feb"><title>/g) ?? []).length, 2);
  assert.match(svg, /75\.0%/);
  assert.match(svg, /25\.0%/);
});

test("text from the parts is escaped in the page", () => {
  const html = renderHtml(assemble({ machine: { at: "<script>", cores: 2, cpu: "x", mem_kib: 1, rustc: "r" } }));
  assert.doesNotMatch(html, /<script>/);
  assert.match(html, /&lt;script&gt;/);
});

test("the command writes both files and refuses a broken part with its name", async () => {
  const dir = await mkdtemp(join(tmpdir(), "bench-report-"));
  await writeFile(join(dir, "node-load.jsonl"), JSON.stringify(load(100, 99, 300, [5e7], 500)) + "\n");
  await run(process.execPath, [REPORT, dir, join(dir, "b.json"), join(dir, "r.html")]);
  const b = JSON.parse(await readFile(join(dir, "b.json"), "utf8"));
  assert.equal(b.schema, "certledger-bench/1");
  assert.equal(b.node_load[0].committed_per_s, 99);
  assert.match(await readFile(join(dir, "r.html"), "utf8"), /Commit latency/);
  await writeFile(join(dir, "node-load.jsonl"), "{not json\n");
  await assert.rejects(run(process.execPath, [REPORT, dir, join(dir, "b.json"), join(dir, "r.html")]), (e) => {
    assert.equal(e.code, 1);
    assert.match(e.stderr, /node-load\.jsonl line 1: not JSON/);
    return true;
  });
});
