// Merges the parts written by scripts/bench.sh into one JSON file and an HTML report with plots
// (inline SVG, no script, no network), in Chinese and English.
//
//   node scripts/bench-report.mjs PARTS_DIR OUT.json OUT.html
//
// PARTS_DIR may hold: machine.json, native.json (core's bench-verify), node-load.jsonl (one line
// per offered rate: {"run": certledger-node bench output, "rss_bytes": [...], "ledger_entries_after": n}),
// node-scale.jsonl (one line per ledger size from `certledger-node bench` scale mode) and
// browser.json (tests/browser/bench.mjs). Missing parts are left out of both outputs.
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";

const MAX_PART_BYTES = 16 * 1024 * 1024;

async function readPart(dir, name) {
  let text;
  try {
    text = await readFile(join(dir, name), "utf8");
  } catch {
    return undefined;
  }
  if (text.length > MAX_PART_BYTES) throw new Error(`${name}: larger than ${MAX_PART_BYTES} bytes`);
  if (name.endsWith(".jsonl")) {
    return text.split("\n").filter((l) => l.trim() !== "").map((l, i) => {
      try {
        return JSON.parse(l);
      } catch (e) {
        throw new Error(`${name} line ${i + 1}: not JSON (${e.message})`);
      }
    });
  }
  if (text.trim() === "") return undefined;
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new Error(`${name}: not JSON (${e.message})`);
  }
}

const mean = (xs) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : null);
const num = (x) => (typeof x === "number" && Number.isFinite(x) ? x : null);

/** Everything the report shows, derived from the parts: the one JSON file. */
export function assemble(parts) {
  const out = { schema: "certledger-bench/1", machine: parts.machine ?? null };
  if (parts.native) {
    const n = parts.native;
    const one = num(n.ed25519_verify_strict?.p50_ms);
    out.native_verify = n;
    out.native_verify_ratios = one
      ? {
          baseline: "one Ed25519 verify_strict, p50, same run",
          cached_p50_over_one_verify: num(n.cached?.p50_ms) && n.cached.p50_ms / one,
          cold_p50_over_one_verify: num(n.cold?.p50_ms) && n.cold.p50_ms / one,
        }
      : null;
  }
  if (parts.nodeLoad?.length) {
    const rows = parts.nodeLoad.map((l) => ({
      offered_per_s: num(l.run?.target_rate_per_s),
      committed_per_s: num(l.run?.committed_per_s),
      p50_commit_ms: num(l.run?.p50_commit_ms),
      p99_commit_ms: num(l.run?.p99_commit_ms),
      entries_per_block: num(l.run?.entries_per_block),
      disk_bytes_per_entry: num(l.run?.disk_bytes_per_entry),
      rss_bytes_per_node_mean: Array.isArray(l.rss_bytes) ? mean(l.rss_bytes) : null,
      ledger_entries_after: num(l.ledger_entries_after),
      raw: l.run ?? null,
    }));
    out.node_load = rows;
    const base = rows[0]?.committed_per_s;
    out.node_load_ratios = base
      ? {
          baseline: `committed/s at the lowest offered load (${rows[0].offered_per_s}/s), same run`,
          committed_over_baseline: rows.map((r) => r.committed_per_s && r.committed_per_s / base),
        }
      : null;
  }
  if (parts.nodeScale?.length) out.node_scale = parts.nodeScale;
  if (parts.browser) out.browser_verify = parts.browser;
  return out;
}

// ---- SVG plots --------------------------------------------------------------------------------

const esc = (s) => String(s).replace(/[&<>"]/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" })[c]);
const COLORS = ["#1f6feb", "#d1242f", "#1a7f37", "#9a6700", "#8250df"];

function ticks(lo, hi, n = 5) {
  if (!(hi > lo)) return [lo];
  const raw = (hi - lo) / n;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? raw;
  const out = [];
  for (let t = Math.ceil(lo / step) * step; t <= hi + step * 1e-9; t += step) out.push(Number(t.toPrecision(12)));
  return out;
}

const fmt = (v) => (Math.abs(v) >= 1e6 ? `${(v / 1e6).toPrecision(3)}M` : Math.abs(v) >= 1e4 ? `${(v / 1e3).toPrecision(3)}k` : `${Number(v.toPrecision(4))}`);

/** A line chart: series = [{name, points: [[x, y], ...]}]. */
export function lineChart({ title, xLabel, yLabel, series }) {
  const W = 560, H = 320, L = 70, R = 20, T = 36, B = 52;
  const pts = series.flatMap((s) => s.points).filter(([x, y]) => num(x) !== null && num(y) !== null);
  if (!pts.length) return `<p class="empty">${esc(title)}: no data / 无数据</p>`;
  const xs = pts.map((p) => p[0]), ys = pts.map((p) => p[1]);
  const x0 = Math.min(...xs, 0), x1 = Math.max(...xs), y0 = 0, y1 = Math.max(...ys) * 1.1 || 1;
  const sx = (x) => L + ((x - x0) / (x1 - x0 || 1)) * (W - L - R);
  const sy = (y) => H - B - ((y - y0) / (y1 - y0 || 1)) * (H - T - B);
  let svg = `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${W} ${H}" role="img" aria-label="${esc(title)}">`;
  svg += `<text x="${W / 2}" y="20" text-anchor="middle" class="t">${esc(title)}</text>`;
  for (const t of ticks(y0, y1)) {
    svg += `<line x1="${L}" x2="${W - R}" y1="${sy(t)}" y2="${sy(t)}" class="g"/><text x="${L - 6}" y="${sy(t) + 4}" text-anchor="end">${fmt(t)}</text>`;
  }
  for (const t of ticks(x0, x1)) {
    svg += `<text x="${sx(t)}" y="${H - B + 16}" text-anchor="middle">${fmt(t)}</text>`;
  }
  svg += `<line x1="${L}" x2="${W - R}" y1="${H - B}" y2="${H - B}" class="a"/><line x1="${L}" x2="${L}" y1="${T}" y2="${H - B}" class="a"/>`;
  svg += `<text x="${(L + W - R) / 2}" y="${H - 12}" text-anchor="middle">${esc(xLabel)}</text>`;
  svg += `<text transform="translate(16 ${(T + H - B) / 2}) rotate(-90)" text-anchor="middle">${esc(yLabel)}</text>`;
  series.forEach((s, i) => {
    const ok = s.points.filter(([x, y]) => num(x) !== null && num(y) !== null);
    const c = COLORS[i % COLORS.length];
    if (ok.length > 1) svg += `<polyline fill="none" stroke="${c}" stroke-width="2" points="${ok.map(([x, y]) => `${sx(x)},${sy(y)}`).join(" ")}"/>`;
    for (const [x, y] of ok) svg += `<circle cx="${sx(x)}" cy="${sy(y)}" r="3.5" fill="${c}"><title>${esc(s.name)}: ${fmt(x)}, ${fmt(y)}</title></circle>`;
    svg += `<rect x="${L + 10}" y="${T + 4 + i * 16}" width="10" height="10" fill="${c}"/><text x="${L + 24}" y="${T + 13 + i * 16}">${esc(s.name)}</text>`;
  });
  return svg + "</svg>";
}

/** A histogram from [{le_ms, count}] buckets (logarithmic edges), one or more series as bars. */
export function histogramChart({ title, series }) {
  const W = 560, H = 300, L = 60, R = 20, T = 36, B = 52;
  const all = series.flatMap((s) => s.buckets ?? []);
  if (!all.length) return `<p class="empty">${esc(title)}: no data / 无数据</p>`;
  const edges = [...new Set(all.map((b) => b.le_ms))].sort((a, b) => a - b);
  const total = (s) => (s.buckets ?? []).reduce((a, b) => a + b.count, 0) || 1;
  const share = series.map((s) => new Map((s.buckets ?? []).map((b) => [b.le_ms, b.count / total(s)])));
  const ymax = Math.max(...share.flatMap((m) => [...m.values()])) * 1.1;
  const bw = (W - L - R) / edges.length;
  const sy = (y) => H - B - (y / ymax) * (H - T - B);
  let svg = `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${W} ${H}" role="img" aria-label="${esc(title)}">`;
  svg += `<text x="${W / 2}" y="20" text-anchor="middle" class="t">${esc(title)}</text>`;
  for (const t of ticks(0, ymax, 4)) svg += `<line x1="${L}" x2="${W - R}" y1="${sy(t)}" y2="${sy(t)}" class="g"/><text x="${L - 6}" y="${sy(t) + 4}" text-anchor="end">${Math.round(t * 100)}%</text>`;
  edges.forEach((e, i) => {
    share.forEach((m, k) => {
      const v = m.get(e);
      if (!v) return;
      const w = bw / share.length;
      svg += `<rect x="${L + i * bw + k * w}" y="${sy(v)}" width="${Math.max(w - 1, 1)}" height="${H - B - sy(v)}" fill="${COLORS[k % COLORS.length]}"><title>${esc(series[k].name)} ≤ ${e} ms: ${(v * 100).toFixed(1)}%</title></rect>`;
    });
    if (i % Math.ceil(edges.length / 8) === 0) svg += `<text x="${L + i * bw + bw / 2}" y="${H - B + 16}" text-anchor="middle">${fmt(e)}</text>`;
  });
  svg += `<line x1="${L}" x2="${W - R}" y1="${H - B}" y2="${H - B}" class="a"/>`;
  svg += `<text x="${(L + W - R) / 2}" y="${H - 12}" text-anchor="middle">latency upper edge, ms / 延迟区间上限（毫秒）</text>`;
  series.forEach((s, k) => {
    svg += `<rect x="${W - R - 170}" y="${T + 4 + k * 16}" width="10" height="10" fill="${COLORS[k % COLORS.length]}"/><text x="${W - R - 156}" y="${T + 13 + k * 16}">${esc(s.name)}</text>`;
  });
  return svg + "</svg>";
}

function table(rows, cols) {
  if (!rows?.length) return "";
  const head = cols.map(([, h]) => `<th>${esc(h)}</th>`).join("");
  const body = rows.map((r) => `<tr>${cols.map(([k]) => `<td>${r[k] === null || r[k] === undefined ? "–" : esc(typeof r[k] === "number" ? fmt(r[k]) : r[k])}</td>`).join("")}</tr>`).join("");
  return `<table><thead><tr>${head}</tr></thead><tbody>${body}</tbody></table>`;
}

export function renderHtml(b) {
  const sections = [];
  const m = b.machine;
  if (b.node_load) {
    const r = b.node_load;
    sections.push(`<h2>节点负载 / Node under load</h2>
<p>4 个验证节点与负载发生器同在本机 / 4 validators and the load generator share this machine.</p>
${lineChart({ title: "提交延迟 / Commit latency vs offered load", xLabel: "offered entries/s 提交速率", yLabel: "ms", series: [
    { name: "p50", points: r.map((x) => [x.offered_per_s, x.p50_commit_ms]) },
    { name: "p99", points: r.map((x) => [x.offered_per_s, x.p99_commit_ms]) },
  ] })}
${lineChart({ title: "吞吐 / Committed per second vs offered load", xLabel: "offered entries/s 提交速率", yLabel: "committed/s 已提交", series: [
    { name: "committed/s", points: r.map((x) => [x.offered_per_s, x.committed_per_s]) },
    { name: "offered (ideal)", points: r.map((x) => [x.offered_per_s, x.offered_per_s]) },
  ] })}
${lineChart({ title: "内存与账本规模 / RSS per node vs ledger size", xLabel: "ledger entries 账本条目", yLabel: "MB per node 每节点", series: [
    { name: "RSS mean", points: r.map((x) => [x.ledger_entries_after, x.rss_bytes_per_node_mean && x.rss_bytes_per_node_mean / 1e6]) },
  ] })}
${table(r, [["offered_per_s", "offered/s"], ["committed_per_s", "committed/s"], ["p50_commit_ms", "p50 ms"], ["p99_commit_ms", "p99 ms"], ["entries_per_block", "entries/block"], ["rss_bytes_per_node_mean", "RSS B/node"], ["disk_bytes_per_entry", "disk B/entry"], ["ledger_entries_after", "ledger entries"]])}`);
  }
  if (b.node_scale) {
    const s = b.node_scale;
    const x = (r) => r.ledger_entries ?? r.ledger_size ?? r.entries;
    sections.push(`<h2>账本规模 / Ledger size</h2>
${lineChart({ title: "吞吐与账本规模 / Committed per second vs ledger size", xLabel: "ledger entries 账本条目", yLabel: "committed/s", series: [
    { name: "committed/s", points: s.map((r) => [x(r), r.committed_per_s]) },
  ] })}
${lineChart({ title: "内存与账本规模 / RSS per node vs ledger size", xLabel: "ledger entries 账本条目", yLabel: "MB per node", series: [
    { name: "RSS", points: s.map((r) => [x(r), r.rss_bytes_per_node && r.rss_bytes_per_node / 1e6]) },
  ] })}
${table(s.map((r) => ({ ...r, ledger_entries: x(r) })), [["ledger_entries", "ledger entries"], ["committed_per_s", "committed/s"], ["p50_commit_ms", "p50 ms"], ["p99_commit_ms", "p99 ms"], ["rss_bytes_per_node", "RSS B/node"], ["restart_to_serving_s", "restart s"], ["disk_bytes_per_entry", "disk B/entry"], ["cpu_us_per_entry_per_node", "CPU µs/entry/node"], ["ed25519_verify_us", "Ed25519 µs"]])}`);
  }
  if (b.native_verify || b.browser_verify) {
    const n = b.native_verify, w = b.browser_verify;
    const rows = [];
    if (n) {
      rows.push({ where: "native cached 本机缓存", p50: n.cached?.p50_ms, p99: n.cached?.p99_ms, rate: n.cached?.bundles_per_s_one_core });
      rows.push({ where: "native cold 本机冷启动", p50: n.cold?.p50_ms, p99: n.cold?.p99_ms, rate: n.cold?.bundles_per_s_one_core });
      rows.push({ where: "one Ed25519 verify_strict（基准）", p50: n.ed25519_verify_strict?.p50_ms, p99: n.ed25519_verify_strict?.p99_ms, rate: null });
    }
    if (w) {
      rows.push({ where: "Chromium cached 浏览器缓存", p50: w.cached?.p50_ms, p99: w.cached?.p99_ms, rate: w.cached?.bundles_per_s });
      rows.push({ where: "Chromium cold 浏览器冷启动", p50: w.cold?.p50_ms, p99: w.cold?.p99_ms, rate: w.cold?.bundles_per_s });
    }
    sections.push(`<h2>验证 / Verification</h2>
${n ? histogramChart({ title: "本机验证延迟分布 / Native verification latency", series: [
    { name: "cached", buckets: n.cached?.histogram_ms },
    { name: "cold", buckets: n.cold?.histogram_ms },
  ] }) : ""}
${table(rows, [["where", "path 路径"], ["p50", "p50 ms"], ["p99", "p99 ms"], ["rate", "bundles/s"]])}
${w ? `<p>WASM module ${esc(fmt(w.module_raw_bytes ?? 0))} B (gzip ${esc(fmt(w.module_gzip_bytes ?? 0))} B); bundle ${esc(w.bundle_bytes ?? "–")} B.</p>` : ""}`);
  }
  return `<!doctype html><html lang="zh-CN"><head><meta charset="utf-8"><title>certledger 基准 / benchmarks</title>
<style>body{font:14px system-ui,sans-serif;max-width:1180px;margin:24px auto;padding:0 16px;color:#1f2328}
svg{width:560px;max-width:100%;display:inline-block;margin:8px 8px 8px 0;border:1px solid #d0d7de;border-radius:6px}
svg text{font-size:11px;fill:#1f2328}svg .t{font-size:13px;font-weight:600}svg .g{stroke:#eaeef2}svg .a{stroke:#57606a}
table{border-collapse:collapse;margin:8px 0}td,th{border:1px solid #d0d7de;padding:3px 8px;text-align:right}th{background:#f6f8fa}
.empty{color:#57606a}</style></head><body>
<h1>certledger 基准测试 / benchmarks</h1>
<p>${m ? esc(`${m.at} · ${m.cores} cores · ${m.cpu} · ${Math.round((m.mem_kib ?? 0) / 1048576)} GiB · ${m.rustc}`) : ""}</p>
<p>所有比值均以同次运行测得的基准为准 / Every ratio is against a baseline measured in the same run (see bench.json).</p>
${sections.join("\n")}
</body></html>
`;
}

async function main() {
  const [dir, jsonOut, htmlOut] = process.argv.slice(2);
  if (!dir || !jsonOut || !htmlOut) {
    console.error("usage: node scripts/bench-report.mjs PARTS_DIR OUT.json OUT.html");
    process.exit(2);
  }
  const parts = {
    machine: await readPart(dir, "machine.json"),
    native: await readPart(dir, "native.json"),
    nodeLoad: await readPart(dir, "node-load.jsonl"),
    nodeScale: await readPart(dir, "node-scale.jsonl"),
    browser: await readPart(dir, "browser.json"),
  };
  const bench = assemble(parts);
  await writeFile(jsonOut, JSON.stringify(bench, null, 2) + "\n");
  await writeFile(htmlOut, renderHtml(bench));
}

if (import.meta.url === `file://${process.argv[1]}`) {
  main().catch((e) => {
    console.error(`bench-report: ${e.message}`);
    process.exit(1);
  });
}
