// Operator dashboard: polls this node's GET /v1/dashboard every 2 s and shows the departments'
// nodes, commit rate and block interval over time, the mempool, and issuance/status counts per
// department and credential type (counts only; the ledger holds no personal data). zh/en.
const STRINGS = {
  zh: {
    title: "节点运行看板", loading: "正在读取…", thisNode: "本节点", chain: "账本", department: "部门",
    height: "区块高度", logSize: "日志条目", mempool: "待处理条目", rate: "提交速率（条/秒）",
    departments: "各部门节点", role: "角色", lastCosigned: "最近联署高度", health: "状态",
    commits: "提交情况", chartRate: "每个区块的提交速率（条/秒）", chartInterval: "出块间隔（毫秒）",
    counts: "签发与状态统计（仅计数，不含个人信息）", type: "证照类型", issued: "签发", revoked: "撤销",
    suspended: "暂停", reinstated: "恢复",
    footer: "数据来自本节点的账本与运行状态，每 2 秒刷新；不含任何个人信息。",
    validator: "验证节点", observer: "观察节点", inSync: "同步", behind: "落后", silent: "无联署",
    updated: "已更新", unreachable: "无法连接本节点：", noData: "暂无数据", observerNode: "（观察节点）",
  },
  en: {
    title: "Node dashboard", loading: "Loading…", thisNode: "This node", chain: "Ledger", department: "Department",
    height: "Height", logSize: "Log entries", mempool: "Mempool", rate: "Commit rate (entries/s)",
    departments: "Departments' nodes", role: "Role", lastCosigned: "Last cosigned height", health: "Health",
    commits: "Commits", chartRate: "Commit rate per block (entries/s)", chartInterval: "Block interval (ms)",
    counts: "Issuance and status counts (counts only, no personal data)", type: "Credential type", issued: "Issued",
    revoked: "Revoked", suspended: "Suspended", reinstated: "Reinstated",
    footer: "From this node's ledger and runtime state, refreshed every 2 s; no personal data.",
    validator: "validator", observer: "observer", inSync: "in sync", behind: "behind", silent: "no cosignature",
    updated: "Updated", unreachable: "Cannot reach this node: ", noData: "No data yet", observerNode: " (observer)",
  },
};
const POLL_MS = 2000;
const MAX_BODY_CHARS = 4 * 1024 * 1024;
const state = { lang: localStorage.getItem("certledger.lang") === "en" ? "en" : "zh", data: null, error: null };
const $ = (id) => document.getElementById(id);
const t = (k) => STRINGS[state.lang][k];
const name = (o) => (state.lang === "zh" ? o.name_zh : o.name_en) || o.id;
const num = (n) => (typeof n === "number" ? n.toLocaleString(state.lang === "zh" ? "zh-CN" : "en-GB") : "–");

/** Per-block commit rate and interval from the recent blocks (oldest first). */
export function series(blocks) {
  const rate = [], interval = [];
  for (let i = 1; i < blocks.length; i++) {
    const dt = blocks[i].decided_at_ms - blocks[i - 1].decided_at_ms;
    if (!(dt > 0)) continue;
    interval.push([blocks[i].height, dt]);
    rate.push([blocks[i].height, (blocks[i].entries * 1000) / dt]);
  }
  return { rate, interval };
}

/** A department node's health from the height it last cosigned and this node's height. */
export function health(lastCosigned, height) {
  if (typeof lastCosigned !== "number") return "silent";
  return height - lastCosigned <= 3 ? "inSync" : "behind";
}

function chart(svg, points) {
  const W = 600, H = 180, L = 48, R = 8, T = 8, B = 22;
  svg.replaceChildren();
  const ns = "http://www.w3.org/2000/svg";
  const el = (tag, attrs, text) => {
    const e = document.createElementNS(ns, tag);
    for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, String(v));
    if (text !== undefined) e.textContent = text;
    svg.append(e);
    return e;
  };
  if (points.length < 2) {
    el("text", { x: W / 2, y: H / 2, "text-anchor": "middle" }, t("noData"));
    return;
  }
  const xs = points.map((p) => p[0]), ys = points.map((p) => p[1]);
  const x0 = Math.min(...xs), x1 = Math.max(...xs), y1 = Math.max(...ys) * 1.15 || 1;
  const sx = (x) => L + ((x - x0) / (x1 - x0 || 1)) * (W - L - R);
  const sy = (y) => H - B - (y / y1) * (H - T - B);
  for (let i = 0; i <= 4; i++) {
    const y = (y1 * i) / 4;
    el("line", { class: "grid", x1: L, x2: W - R, y1: sy(y), y2: sy(y) });
    el("text", { x: L - 4, y: sy(y) + 4, "text-anchor": "end" }, Math.round(y).toString());
  }
  el("text", { x: L, y: H - 6 }, `#${x0}`);
  el("text", { x: W - R, y: H - 6, "text-anchor": "end" }, `#${x1}`);
  el("polyline", { class: "line", points: points.map(([x, y]) => `${sx(x).toFixed(1)},${sy(y).toFixed(1)}`).join(" ") });
}

function render() {
  document.documentElement.lang = state.lang === "zh" ? "zh-CN" : "en";
  document.title = `certledger ${t("title")}`;
  for (const e of document.querySelectorAll("[data-t]")) e.textContent = t(e.dataset.t);
  const toggle = $("lang-toggle");
  toggle.textContent = state.lang === "zh" ? "English" : "中文";
  toggle.lang = state.lang === "zh" ? "en" : "zh-CN";
  const status = $("status");
  if (state.error) {
    status.textContent = t("unreachable") + state.error;
    status.className = "status bad";
  }
  const d = state.data;
  if (!d) return;
  if (!state.error) {
    status.textContent = `${t("updated")} ${new Date().toLocaleTimeString(state.lang === "zh" ? "zh-CN" : "en-GB")}`;
    status.className = "status";
  }
  const depts = new Map(d.departments.map((x) => [x.id, x]));
  $("f-chain").textContent = d.chain_id;
  const own = d.node.department && depts.get(d.node.department);
  $("f-department").textContent = own ? name(own) : d.node.validator ? "–" : t("observer");
  $("f-height").textContent = num(d.node.height);
  $("f-log").textContent = num(d.node.log_size);
  $("f-mempool").textContent = num(d.node.mempool);
  const s = series(d.recent_blocks);
  const recent = s.rate.slice(-10);
  $("f-rate").textContent = recent.length ? num(Math.round(recent.reduce((a, p) => a + p[1], 0) / recent.length)) : "–";
  chart($("chart-rate"), s.rate);
  chart($("chart-interval"), s.interval);

  const rows = d.departments.map((x) => {
    const tr = document.createElement("tr");
    const h = x.validator ? health(x.last_cosigned_height, d.node.height) : null;
    const cells = [name(x), x.validator ? t("validator") : t("observer"), num(x.last_cosigned_height)];
    for (const c of cells) tr.append(Object.assign(document.createElement("td"), { textContent: c }));
    const td = document.createElement("td");
    if (h) td.append(Object.assign(document.createElement("span"), { className: `pill ${h === "inSync" ? "ok" : h === "behind" ? "warn" : "bad"}`, textContent: t(h) }));
    tr.append(td);
    return tr;
  });
  $("departments").tBodies[0].replaceChildren(...rows);

  const countRows = d.counts.map((c) => {
    const tr = document.createElement("tr");
    const dept = depts.get(c.department);
    const type = d.types?.find((ty) => ty.id === c.type);
    tr.append(Object.assign(document.createElement("td"), { textContent: dept ? name(dept) : c.department }));
    tr.append(Object.assign(document.createElement("td"), { textContent: type ? name(type) : c.type }));
    for (const k of ["issued", "revoked", "suspended", "reinstated"]) tr.append(Object.assign(document.createElement("td"), { className: "n", textContent: num(c[k]) }));
    return tr;
  });
  if (!countRows.length) {
    const tr = document.createElement("tr");
    tr.append(Object.assign(document.createElement("td"), { colSpan: 6, textContent: t("noData") }));
    countRows.push(tr);
  }
  $("counts").tBodies[0].replaceChildren(...countRows);
}

async function poll() {
  try {
    const resp = await fetch("../v1/dashboard", { cache: "no-store" });
    if (!resp.ok) throw new Error(`HTTP ${resp.status}`);
    const text = await resp.text();
    if (text.length > MAX_BODY_CHARS) throw new Error("answer too large");
    const data = JSON.parse(text);
    if (!Array.isArray(data.departments) || !Array.isArray(data.recent_blocks) || !Array.isArray(data.counts) || typeof data.node !== "object") {
      throw new Error("unexpected answer");
    }
    state.data = data;
    state.error = null;
  } catch (e) {
    state.error = e.message;
  }
  render();
}

$("lang-toggle").addEventListener("click", () => {
  state.lang = state.lang === "zh" ? "en" : "zh";
  localStorage.setItem("certledger.lang", state.lang);
  render();
});
render();
poll();
setInterval(poll, POLL_MS);
