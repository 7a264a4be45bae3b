// The counter clerk's page: create a presentation request, read a bundle (paste, file, QR image
// or camera) and show the verdict. Everything runs in this page with the WebAssembly module; the
// only network use after loading is an explicit "load trust root from a node" click, which fetches
// the node's trust root and validator chain and follows the chain here (specs/verifier.md).
//
// The counter signs its requests with its own key (issue #11 item 5): a 32-byte seed drawn from
// crypto.getRandomValues on first use and kept in localStorage; its public key is shown for the
// department to register (`certledger-node verifier register --verifier-key`). Nonces of the
// page's requests are single-use (item 6): a valid bundle uses its request's nonce up, recorded in
// localStorage until the request expires, and an expired request accepts no bundle.
import init, {
  collect_bundle_parts, create_request, decode_qr_codes, follow_validator_chain, next_trust, profiles,
  request_qr_svg, signing_public_key, verify_bundle, Verifier,
} from "./pkg/certledger_verifier.js";

const STRINGS = {
  zh: {
    title: "凭证核验", loading: "正在加载核验程序…", loadFailed: "核验程序加载失败：",
    trustHeading: "信任根", trustNone: "尚未加载信任根。", trustFile: "从文件加载",
    trustUrl: "或从节点地址加载", trustFetch: "加载",
    trustLoaded: (c, n, t) => `已加载信任根：账本 ${c}，${n} 个部门密钥，至少 ${t} 个签名。`,
    trustBad: "信任根无法读取：", trustFetchFailed: "无法从节点获取信任根：",
    trustFollowed: (k, h, from) => `已核验并跟随账本记录的 ${k} 次部门变更（截至区块 ${h}，起点：${from}）。`,
    trustNoChange: "节点报告自创世以来部门未变更。",
    trustUnchanged: (h) => `已核验：自创世以来部门未变更（截至区块 ${h}）。`, trustFromPinned: "本机固定的信任根",
    trustFromNode: "节点提供的信任根", trustFollowFailed: "无法跟随部门变更，信任根未改变：",
    step1: "第一步：生成核验请求", credType: "凭证类型", claimsLegend: "需要出示的信息",
    purpose: "核验用途", verifierId: "核验点编号", createRequest: "生成请求二维码",
    defaultPurpose: "窗口业务办理", qrLabel: "核验请求二维码", requestText: "请求文本",
    requestSummary: (p, t) => `请市民用钱包扫描此二维码。用途：${p}。有效期至 ${t}。`,
    requestFailed: "无法生成请求：",
    purposeHint: "以本窗口登记的用途编号开头，例如 hire 招聘核验。",
    counterKeyHeading: "本窗口的请求签名密钥（公钥）",
    counterKeyHint: "请所属部门登记此公钥（certledger-node verifier register --verifier-key …）；本页生成的请求均以此密钥签名，密钥只保存在本浏览器中。换新密钥后须由部门更换登记（verifier rotate）。",
    counterKeyNew: "生成新密钥",
    nonceUsed: "此请求已接受过一次出示，同一请求不能重复使用，请生成新的请求。",
    requestExpired: "此请求已过期，请生成新的请求。",
    nonceStoreFull: "已记录的请求过多，请稍后再试。",
    step2: "第二步：读取并核验凭证", dropHint: "把凭证文件或二维码图片拖到这里",
    openFile: "选择文件或图片", cameraStart: "摄像头扫码", cameraStop: "关闭摄像头",
    cameraFailed: "无法打开摄像头：", pasteLabel: "或粘贴凭证文本（CLB1. 开头）", verify: "核验",
    noQr: "图片中没有可识别的二维码。",
    partsProgress: (h, n) => `已读取 ${h}/${n} 个二维码，请继续扫描其余的二维码。`,
    partsBad: "二维码分片无法拼接：", isRequest: "这是核验请求二维码，不是市民的凭证。",
    valid: "✓ 有效", invalid: "✗ 无效", error: "！无法核验",
    needTrust: "请先加载信任根。", needRequest: "请先生成核验请求。",
    anchored: "登记时间", expires: "有效期至", checkpoint: "状态截至检查点", issuer: "签发部门", ledger: "签发账本",
    trustListLoaded: (n, names) => `已加载信任列表：${n} 个账本（${names}）。`,
    trustLedgerItem: (name, chain, seq, fp) => `${name}（${chain}，序号 ${seq}，指纹 ${fp}）`,
    yes: "是", no: "否", pseudonym: "本机构看到的化名",
    pseudonymHint: "同一市民每次在本机构出示时化名相同；其他机构看到的化名不同。",
    linkedHeading: "一同出示的证照", sameHolder: "同一持有人：是",
    settingsHeading: "核验设置", maxAgeLabel: "接受的状态最长时效（小时）",
    minAssuranceLabel: "身份凭证最低认证等级", minAssuranceAny: "不要求",
    settingsHint: "状态时效：凭证状态（是否撤销）以账本检查点为准，检查点早于此时效即拒绝。离线核验纸质证照卡时可适当放宽。设置只保存在本浏览器中。",
    cardNotice: "纸质证照卡只能证明证照真实有效，不能证明持卡人就是证照上的人：请当面核对本人身份。",
    statusAsOf: (d, h) => `状态截至 ${d}（本窗口接受 ${h} 小时以内的状态）`,
    footer: "所有核验都在本机完成，不会上传任何数据。", otherLang: "English",
  },
  en: {
    title: "Credential check", loading: "Loading the verifier…", loadFailed: "The verifier failed to load: ",
    trustHeading: "Trust root", trustNone: "No trust root loaded yet.", trustFile: "Load from a file",
    trustUrl: "or load from a node address", trustFetch: "Load",
    trustLoaded: (c, n, t) => `Trust root loaded: ledger ${c}, ${n} department keys, at least ${t} signatures.`,
    trustBad: "The trust root cannot be read: ", trustFetchFailed: "Could not fetch the trust root: ",
    trustFollowed: (k, h, from) => `Checked and followed ${k} department change(s) recorded on the ledger (as of block ${h}, starting from ${from}).`,
    trustNoChange: "The node reports no department change since genesis.",
    trustUnchanged: (h) => `Checked: no department change since genesis (as of block ${h}).`, trustFromPinned: "the trust root pinned on this device",
    trustFromNode: "the node's trust root", trustFollowFailed: "Could not follow the department changes; the trust root is unchanged: ",
    step1: "Step 1: create a request", credType: "Credential type", claimsLegend: "Information to show",
    purpose: "Purpose", verifierId: "Counter id", createRequest: "Create request QR code",
    defaultPurpose: "Counter service", qrLabel: "Presentation request QR code", requestText: "Request text",
    requestSummary: (p, t) => `Ask the citizen to scan this with their wallet. Purpose: ${p}. Valid until ${t}.`,
    requestFailed: "Could not create the request: ",
    purposeHint: "Start with the purpose id registered for this counter, e.g. hire.",
    counterKeyHeading: "This counter's request-signing key (public)",
    counterKeyHint: "Ask your department to register this key (certledger-node verifier register --verifier-key …); every request this page makes is signed with it. The key stays in this browser. After making a new key the department must rotate the registration (verifier rotate).",
    counterKeyNew: "Make a new key",
    nonceUsed: "A bundle for this request was already accepted; a request is single-use. Create a new request.",
    requestExpired: "This request has expired. Create a new request.",
    nonceStoreFull: "Too many requests are recorded; try again later.",
    step2: "Step 2: read and check the credential", dropHint: "Drop a credential file or QR image here",
    openFile: "Choose a file or image", cameraStart: "Scan with camera", cameraStop: "Stop camera",
    cameraFailed: "Cannot open the camera: ", pasteLabel: "or paste the credential text (starts with CLB1.)",
    verify: "Check", noQr: "No readable QR code in the image.",
    partsProgress: (h, n) => `Read ${h} of ${n} QR codes; scan the others.`,
    partsBad: "The QR code parts do not fit together: ",
    isRequest: "This is a request QR code, not the citizen's credential.",
    valid: "✓ Valid", invalid: "✗ Not valid", error: "! Could not check",
    needTrust: "Load a trust root first.", needRequest: "Create a request first.",
    anchored: "Recorded", expires: "Valid until", checkpoint: "Status as of checkpoint", issuer: "Issuing department", ledger: "Ledger",
    trustListLoaded: (n, names) => `Trust list loaded: ${n} ledger(s) (${names}).`,
    trustLedgerItem: (name, chain, seq, fp) => `${name} (${chain}, sequence ${seq}, fingerprint ${fp})`,
    yes: "yes", no: "no", pseudonym: "Pseudonym for this agency",
    pseudonymHint: "The same citizen shows this agency the same pseudonym every time; other agencies see a different one.",
    linkedHeading: "Presented together", sameHolder: "Same holder: yes",
    settingsHeading: "Verifier settings", maxAgeLabel: "Oldest status accepted (hours)",
    minAssuranceLabel: "Lowest level of assurance for identity credentials", minAssuranceAny: "any",
    settingsHint: "Status age: a credential's status (revoked or not) is as of a ledger checkpoint; a checkpoint older than this is refused. Raise it to check paper cards offline. The settings stay in this browser.",
    cardNotice: "A paper card proves the credential is genuine, not that the person holding it is the person on it: check their identity at the counter.",
    statusAsOf: (d, h) => `Status as of ${d} (this counter accepts a status up to ${h} hours old)`,
    footer: "Everything is checked on this device; nothing is uploaded.", otherLang: "中文",
  },
};

const $ = (id) => document.getElementById(id);
const state = {
  lang: localStorage.getItem("certledger.lang") === "en" ? "en" : "zh",
  types: [],
  trustRoot: null, // { text, parsed, note } of the trust root in use
  pinned: null, // { text, parsed }: a followable trust root loaded from a file (start of following)
  verifier: null, // the wasm Verifier for trustRoot (checkpoint cache), null if it is unusable
  request: null,
  policyOverride: null,
  settings: { maxCheckpointAgeH: 24, minAssurance: null }, // loadSettings() at start
  result: null,
  camera: null,
  parts: [], // CLBQ1 parts of a bundle split over several QR codes, collected so far
  counterKey: null, // { seed, public: { base64url, hex } }: this counter's request-signing key
};

// ---- the counter's own settings (specs/verifier.md): how old a status it accepts, and the
// lowest level of assurance; kept in localStorage ----
const SETTINGS = "certledger.settings";
const DEFAULT_MAX_AGE_H = 24;
const MAX_AGE_H_LIMIT = 87600; // ten years

function loadSettings() {
  let saved = {};
  try { saved = JSON.parse(localStorage.getItem(SETTINGS) ?? "{}") ?? {}; } catch { saved = {}; }
  const hours = Number(saved.maxCheckpointAgeH);
  const level = Number(saved.minAssurance);
  return {
    maxCheckpointAgeH: Number.isInteger(hours) && hours >= 1 && hours <= MAX_AGE_H_LIMIT ? hours : DEFAULT_MAX_AGE_H,
    minAssurance: Number.isInteger(level) && level >= 1 && level <= 4 ? level : null,
  };
}

// Reads the settings inputs (an out-of-range age is clamped), stores them and shows them back.
function saveSettings() {
  const hours = Math.round(Number($("max-checkpoint-age").value));
  const level = $("min-assurance").value;
  state.settings = {
    maxCheckpointAgeH: Number.isFinite(hours) ? Math.min(Math.max(hours, 1), MAX_AGE_H_LIMIT) : DEFAULT_MAX_AGE_H,
    minAssurance: level ? Number(level) : null,
  };
  localStorage.setItem(SETTINGS, JSON.stringify(state.settings));
  renderSettings();
}

function renderSettings() {
  $("max-checkpoint-age").value = String(state.settings.maxCheckpointAgeH);
  $("min-assurance").value = state.settings.minAssurance == null ? "" : String(state.settings.minAssurance);
}

// The settings added to a policy: they fill what the policy does not say itself (a request's
// policy never does; an explicit kiosk policy may).
function withSettings(policy) {
  const out = { ...policy };
  if (out.max_checkpoint_age_s == null) out.max_checkpoint_age_s = state.settings.maxCheckpointAgeH * 3600;
  if (out.min_assurance_level == null && state.settings.minAssurance != null) {
    out.min_assurance_level = state.settings.minAssurance;
  }
  return out;
}

// ---- the counter's request-signing key and the used nonces ----
const COUNTER_KEY = "certledger.counterKey";
const USED_NONCES = "certledger.usedNonces";
// Most unexpired used nonces kept; beyond it bundles are refused rather than a nonce forgotten.
const MAX_USED_NONCES = 1000;

function base64url(bytes) {
  return btoa(String.fromCharCode(...bytes)).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

// The stored key, or a new one from the browser's CSPRNG (also when the stored one is unusable,
// or when `fresh`: the clerk replaces the key, and the current request, signed by the old one, is
// dropped).
function loadCounterKey(fresh = false) {
  let seed = fresh ? null : localStorage.getItem(COUNTER_KEY);
  try {
    if (seed) { state.counterKey = { seed, public: JSON.parse(signing_public_key(seed)) }; return; }
  } catch { /* replaced below */ }
  if (fresh) state.request = null;
  const bytes = new Uint8Array(32);
  crypto.getRandomValues(bytes);
  seed = base64url(bytes);
  localStorage.setItem(COUNTER_KEY, seed);
  state.counterKey = { seed, public: JSON.parse(signing_public_key(seed)) };
}

// nonce -> expires_at (Unix seconds) of the page's requests whose bundle was accepted.
function usedNonces(now) {
  let used = {};
  try { used = JSON.parse(localStorage.getItem(USED_NONCES) ?? "{}") ?? {}; } catch { used = {}; }
  for (const [nonce, expires] of Object.entries(used)) if (!(expires > now)) delete used[nonce];
  return used;
}
const t = (key) => STRINGS[state.lang][key];

function applyLanguage() {
  document.documentElement.lang = state.lang === "zh" ? "zh-CN" : "en";
  document.title = `certledger ${t("title")}`;
  for (const el of document.querySelectorAll("[data-i18n]")) el.textContent = t(el.dataset.i18n);
  for (const el of document.querySelectorAll("[data-i18n-label]")) {
    el.setAttribute("aria-label", t(el.dataset.i18nLabel));
  }
  const toggle = $("lang-toggle");
  toggle.textContent = t("otherLang");
  toggle.lang = state.lang === "zh" ? "en" : "zh-CN";
  $("camera-toggle").textContent = state.camera ? t("cameraStop") : t("cameraStart");
  if (!$("purpose").dataset.edited) $("purpose").value = t("defaultPurpose");
  $("counter-key").textContent = state.counterKey?.public.base64url ?? "";
  renderTypes();
  renderTrust();
  renderRequest();
  renderResult();
}

// ---- step 1: credential types, claims, request and QR ----
function renderTypes() {
  const select = $("cred-type");
  const chosen = select.value;
  select.replaceChildren(...state.types.map((ty) => new Option(state.lang === "zh" ? ty.name_zh : ty.name_en, ty.id)));
  if (chosen) select.value = chosen;
  renderClaims();
}

function renderClaims() {
  const list = $("claims-list");
  const checked = new Set([...list.querySelectorAll("input:checked")].map((i) => i.value));
  const type = state.types.find((ty) => ty.id === $("cred-type").value);
  list.replaceChildren(...(type ? type.claims : []).map((c) => {
    const label = document.createElement("label");
    const box = document.createElement("input");
    box.type = "checkbox";
    box.name = "claim";
    box.value = c.name;
    box.checked = checked.has(c.name);
    label.append(box, ` ${state.lang === "zh" ? c.label_zh : c.label_en}`);
    return label;
  }));
}

function createRequest() {
  $("request-error").hidden = true;
  const options = {
    verifier_id: $("verifier-id").value.trim(),
    purpose: $("purpose").value.trim(),
    claims: [...$("claims-list").querySelectorAll("input:checked")].map((i) => i.value),
    credential_types: [$("cred-type").value],
  };
  try {
    const created = JSON.parse(create_request(JSON.stringify(options), state.counterKey.seed, Date.now()));
    state.request = { ...created, svg: request_qr_svg(created.text) };
    state.policyOverride = null;
  } catch (e) {
    state.request = null;
    $("request-error").textContent = t("requestFailed") + messageOf(e);
    $("request-error").hidden = false;
  }
  renderRequest();
}

function renderRequest() {
  const out = $("request-out");
  if (!state.request) { out.hidden = true; return; }
  const { request, text, svg } = state.request;
  $("qr").innerHTML = svg; // SVG text produced by our own module from base64url input.
  $("request-text").value = text;
  const until = new Date(request.expires_at * 1000).toLocaleTimeString(state.lang === "zh" ? "zh-CN" : "en-GB");
  $("request-summary").textContent = t("requestSummary")(request.purpose, until);
  out.hidden = false;
}

// ---- trust root ----
// A plain trust root ({version, chain_id, keys, threshold}), one signed ledger root (with
// `signatures`) or a trust list of several ({version, ledgers}) (specs/trust-list.md).
function parseTrustRoot(text) {
  const parsed = JSON.parse(text); // throws on malformed JSON; the verifier checks the rest
  const ok = typeof parsed === "object" && parsed !== null
    && (Array.isArray(parsed.keys) || Array.isArray(parsed.ledgers) || Array.isArray(parsed.signatures));
  if (!ok) throw new Error("expected a trust root {version, chain_id, keys, threshold} or a trust list {version, ledgers}");
  return parsed;
}

// A trust list or signed ledger root rather than a plain trust root.
const isTrustList = (parsed) => !Array.isArray(parsed.keys);

// Uses `text` as the trust root. `note` says how it was obtained (shown under the status). An
// unusable root (e.g. a threshold below two thirds) is kept so that checking reports why.
function setTrustRoot(text, note = null) {
  const parsed = parseTrustRoot(text);
  state.verifier?.free();
  state.verifier = null;
  let problem = null;
  try { state.verifier = new Verifier(text); } catch (e) { problem = messageOf(e); /* verify_bundle reports it too */ }
  state.trustRoot = { text, parsed, note };
  localStorage.setItem("certledger.trustRoot", text);
  // A trust list whose signatures do not hold is reported at once.
  if (problem && isTrustList(parsed)) renderTrust("trustBad", problem);
  else renderTrust();
}

// A trust root loaded from a file: in use at once, and the start of following when it lists its
// departments (with their admin keys).
function loadTrustFile(text) {
  const parsed = parseTrustRoot(text);
  // A trust list never rolls a ledger it holds back to an older root (specs/trust-list.md).
  if (state.trustRoot && (isTrustList(parsed) || isTrustList(state.trustRoot.parsed))) {
    const update = next_trust(state.trustRoot.text, text);
    if (update.status !== "ok") {
      renderTrust("trustBad", state.lang === "zh" ? update.reason_zh : update.reason_en);
      return;
    }
  }
  state.pinned = Array.isArray(parsed.departments) && !isTrustList(parsed) ? { text, parsed } : null;
  if (state.pinned) localStorage.setItem("certledger.pinnedTrustRoot", text);
  else localStorage.removeItem("certledger.pinnedTrustRoot");
  setTrustRoot(text);
}

function renderTrust(errorKey, detail) {
  const el = $("trust-status");
  const list = $("trust-departments");
  el.classList.toggle("bad", Boolean(errorKey));
  if (errorKey) { el.textContent = t(errorKey) + detail; return; }
  if (!state.trustRoot) { el.textContent = t("trustNone"); list.hidden = true; return; }
  const p = state.trustRoot.parsed;
  const note = state.trustRoot.note;
  if (isTrustList(p)) {
    // Names, sequence numbers and fingerprints as the wasm verifier checked them.
    const ledgers = state.verifier ? state.verifier.ledgers() : [];
    const name = (l) => (state.lang === "zh" ? l.name_zh : l.name_en);
    el.textContent = t("trustListLoaded")(ledgers.length, ledgers.map(name).join(state.lang === "zh" ? "、" : ", "));
    list.replaceChildren(...ledgers.map((l) => {
      const li = document.createElement("li");
      li.dataset.id = l.chain_id;
      li.textContent = t("trustLedgerItem")(name(l), l.chain_id, l.sequence, l.fingerprint ?? "-");
      return li;
    }));
    list.hidden = ledgers.length === 0;
    return;
  }
  let text = t("trustLoaded")(p.chain_id, p.keys.length, p.threshold);
  if (note?.followed?.changes === 0) {
    text += " " + t("trustUnchanged")(note.followed.head_height);
  } else if (note?.followed) {
    const from = t(note.followed.from === "pinned" ? "trustFromPinned" : "trustFromNode");
    text += " " + t("trustFollowed")(note.followed.changes, note.followed.head_height, from);
  } else if (note?.noChange) {
    text += " " + t("trustNoChange");
  }
  el.textContent = text;
  // The department set: names when the root lists its departments, else the key names.
  const departments = Array.isArray(p.departments)
    ? p.departments.map((d) => ({ id: d.id, name: state.lang === "zh" ? d.name_zh : d.name_en }))
    : p.keys.map((k) => ({ id: String(k).split("+")[0], name: null }));
  list.replaceChildren(...departments.map((d) => {
    const li = document.createElement("li");
    li.dataset.id = d.id;
    li.textContent = d.name ? `${d.name} (${d.id})` : d.id;
    return li;
  }));
  list.hidden = departments.length === 0;
}

// Loads the trust root from a node: `<url>/v1/trust-root`, then `<url>/v1/validator-chain`. A
// 404 for the chain means no change since genesis (an older node). Otherwise the chain is checked
// here, from the trust root pinned on this device when there is one for that ledger (the node
// cannot then pick the keys), else from the node's own trust root: followed when that root lists
// its departments, or confirmed unchanged with node keys alone when the chain has no step.
async function fetchTrustRoot() {
  const input = $("trust-url").value.trim();
  if (!input) return;
  let rootUrl = input;
  let base = null;
  if (/\/v1\/trust-root$/.test(input)) base = input.replace(/\/v1\/trust-root$/, "");
  else if (!/\.json$/.test(input)) { base = input.replace(/\/+$/, ""); rootUrl = base + "/v1/trust-root"; }
  let nodeText;
  try {
    const response = await fetch(rootUrl, { cache: "no-store" });
    if (!response.ok) throw new Error(`HTTP ${response.status}`);
    nodeText = await response.text();
    parseTrustRoot(nodeText);
  } catch (e) {
    renderTrust("trustFetchFailed", messageOf(e));
    return;
  }
  const nodeRoot = JSON.parse(nodeText);
  const pinned = state.pinned?.parsed.chain_id === nodeRoot.chain_id ? state.pinned : null;
  const start = pinned ? { text: pinned.text, from: "pinned" } : { text: nodeText, from: "node" };
  if (base === null) { setTrustRoot(start.text); return; }
  let chain;
  try {
    const response = await fetch(base + "/v1/validator-chain", { cache: "no-store" });
    if (response.status === 404) { setTrustRoot(start.text, { noChange: true }); return; }
    if (!response.ok) throw new Error(`validator chain: HTTP ${response.status}`);
    chain = (await response.json()).chain;
    if (typeof chain !== "string") throw new Error("validator chain: expected {\"chain\": \"<base64url>\"}");
  } catch (e) {
    renderTrust("trustFetchFailed", messageOf(e));
    return;
  }
  const followed = follow_validator_chain(start.text, chain);
  if (followed.status !== "ok") {
    renderTrust("trustFollowFailed", `${state.lang === "zh" ? followed.message_zh : ""} ${followed.message_en} [${followed.error_code}]`.trim());
    return;
  }
  setTrustRoot(JSON.stringify(followed.trust_root, null, 2), {
    followed: { changes: followed.changes, head_height: followed.head_height, from: start.from },
  });
}

// ---- step 2: reading a bundle ----
async function readFile(file) {
  if (!file) return;
  if (file.type.startsWith("image/")) {
    const bitmap = await createImageBitmap(file);
    acceptScanned(decodeDrawable(bitmap, bitmap.width, bitmap.height), true);
  } else {
    acceptScanned([(await file.slice(0, 200_000).text()).trim()], true);
  }
}

// Draws an image or video frame at its own size (scaled down only beyond 4096 px a side, the
// reader's limit: scaling a printed card of several codes down to a smaller canvas blurs its
// modules and the reader then misses codes) and decodes every QR code in it; null when there is
// none.
const MAX_DECODE_SIDE = 4096;
function decodeDrawable(source, width, height) {
  const scale = Math.min(1, MAX_DECODE_SIDE / Math.max(width, height));
  const canvas = document.createElement("canvas");
  canvas.width = Math.max(1, Math.round(width * scale));
  canvas.height = Math.max(1, Math.round(height * scale));
  const ctx = canvas.getContext("2d", { willReadFrequently: true });
  ctx.fillStyle = "#fff";
  ctx.fillRect(0, 0, canvas.width, canvas.height);
  ctx.drawImage(source, 0, 0, canvas.width, canvas.height);
  const pixels = ctx.getImageData(0, 0, canvas.width, canvas.height);
  try {
    return JSON.parse(decode_qr_codes(pixels.data, canvas.width, canvas.height));
  } catch {
    return null;
  }
}

// Takes scanned texts (one image may hold several codes). Returns true when scanning is done: a
// whole bundle or request was read, or the parts cannot be joined.
function acceptScanned(texts, reportMissing) {
  if (texts === null || texts.length === 0) {
    if (reportMissing) showLocalError("noQr");
    return false;
  }
  const parts = texts.filter((x) => x.startsWith("CLBQ1/"));
  if (parts.length > 0) {
    let progress;
    try {
      progress = JSON.parse(collect_bundle_parts(JSON.stringify(state.parts), JSON.stringify(parts)));
    } catch (e) {
      state.parts = [];
      $("scan-status").textContent = "";
      showLocalError("partsBad", messageOf(e));
      return true;
    }
    if (!progress.complete) {
      state.parts = progress.parts;
      $("scan-status").textContent = t("partsProgress")(progress.have, progress.total);
      return false;
    }
    state.parts = [];
    texts = [progress.text];
  }
  $("scan-status").textContent = "";
  const text = texts[0];
  $("bundle-text").value = text;
  if (text.startsWith("CLR1.")) showLocalError("isRequest");
  else verify();
  return true;
}

async function toggleCamera() {
  if (state.camera) { stopCamera(); return; }
  const video = $("camera");
  try {
    const stream = await navigator.mediaDevices.getUserMedia({ video: { facingMode: "environment" }, audio: false });
    video.srcObject = stream;
    video.hidden = false;
    await video.play();
    state.camera = { stream, timer: setInterval(() => {
      if (video.readyState < 2) return;
      if (acceptScanned(decodeDrawable(video, video.videoWidth, video.videoHeight), false)) stopCamera();
    }, 250) };
  } catch (e) {
    showLocalError("cameraFailed", messageOf(e));
  }
  applyLanguage();
}

function stopCamera() {
  if (!state.camera) return;
  clearInterval(state.camera.timer);
  for (const track of state.camera.stream.getTracks()) track.stop();
  state.camera = null;
  $("camera").hidden = true;
  $("camera").srcObject = null;
  applyLanguage();
}

// ---- verification and the result panel ----
// The policy the bundle must satisfy: the current request's challenge and what it asked for.
function currentPolicy() {
  if (state.policyOverride) return state.policyOverride;
  if (!state.request) return null;
  const r = state.request.request;
  // `certledger_core::verify::Policy` in JSON; the limits keep their defaults (specs/bundle.md).
  return {
    challenge: { nonce: r.nonce, audience: r.audience },
    accepted_types: r.credential_types,
    required_claims: r.claims,
  };
}

function verify() {
  const text = $("bundle-text").value.trim();
  if (!text) return;
  if (!state.trustRoot) { showLocalError("needTrust"); return; }
  const policy = currentPolicy();
  if (!policy) { showLocalError("needRequest"); return; }
  const applied = withSettings(policy);
  const policyJson = JSON.stringify(applied);
  const now = Date.now() / 1000;
  // The page's own request: refused once expired or once a bundle for it was accepted.
  const own = state.policyOverride ? null : state.request.request;
  const used = own ? usedNonces(now) : null;
  if (own && now >= own.expires_at) { showLocalError("requestExpired", "", "invalid"); return; }
  if (own && used[own.nonce] !== undefined) { showLocalError("nonceUsed", "", "invalid"); return; }
  // The cached Verifier answers exactly as verify_bundle; the latter reports an unusable root.
  const value = state.verifier
    ? state.verifier.verify(text, policyJson, now)
    : verify_bundle(text, state.trustRoot.text, policyJson, now);
  if (own && value.status === "valid") {
    if (Object.keys(used).length >= MAX_USED_NONCES) { showLocalError("nonceStoreFull"); return; }
    used[own.nonce] = own.expires_at;
    localStorage.setItem(USED_NONCES, JSON.stringify(used));
  }
  state.result = { kind: "verdict", value, maxAgeH: applied.max_checkpoint_age_s / 3600 };
  renderResult();
}

// A refusal decided by the page itself: "error" (could not check) unless `status` says otherwise.
function showLocalError(key, detail = "", status = "error") {
  state.result = { kind: "local", key, detail, status };
  renderResult();
}

function renderResult() {
  const panel = $("result");
  const r = state.result;
  if (!r) { panel.hidden = true; return; }
  const other = state.lang === "zh" ? "en" : "zh";
  let status, reason, reasonOther;
  if (r.kind === "local") {
    status = r.status ?? "error";
    reason = STRINGS[state.lang][r.key] + r.detail;
    reasonOther = STRINGS[other][r.key] + r.detail;
  } else {
    status = r.value.status;
    reason = state.lang === "zh" ? r.value.reason_zh : r.value.reason_en;
    reasonOther = state.lang === "zh" ? r.value.reason_en : r.value.reason_zh;
  }
  panel.className = `result-${status}`;
  panel.dataset.status = status;
  panel.dataset.reasonCode = r.kind === "local" ? r.key : (r.value.reason_code ?? "");
  $("result-h").textContent = t(status);
  $("result-reason").textContent = reason ?? "";
  $("result-reason-other").textContent = reasonOther ?? "";
  $("result-reason-other").lang = other === "zh" ? "zh-CN" : "en";
  renderVerdictDetails(r.kind === "verdict" && status === "valid" ? r.value : null);
  // "Status as of": the checkpoint's time, judged by this counter's own age rule.
  const asOf = r.kind === "verdict" && status === "valid" && r.value.checkpoint_time != null;
  $("result-as-of").textContent = asOf
    ? t("statusAsOf")(new Date(r.value.checkpoint_time * 1000).toLocaleString(state.lang === "zh" ? "zh-CN" : "en-GB"), r.maxAgeH)
    : "";
  const wasHidden = panel.hidden;
  panel.hidden = false;
  if (wasHidden) panel.scrollIntoView({ block: "nearest" });
}

// The main credential's type, claims and dates; the wallet's pseudonym for this agency; and each
// credential presented with it (identity extension, specs/identity.md) as its own card.
function renderVerdictDetails(v) {
  $("result-type").textContent = v?.credential_type ? typeName(v.credential_type) : "";
  fillClaims($("result-claims"), v?.claims ?? []);
  $("result-claims").hidden = !v || v.claims.length === 0;
  $("result-meta").textContent = v ? metaText(v) : "";
  const pseudonym = $("result-pseudonym");
  pseudonym.hidden = !v?.pseudonym;
  $("result-pseudonym-label").textContent = t("pseudonym") + (state.lang === "zh" ? "：" : ": ");
  $("result-pseudonym-value").textContent = v?.pseudonym ?? "";
  $("result-pseudonym-hint").textContent = t("pseudonymHint");
  const linked = v?.linked_credentials ?? [];
  $("result-linked-h").textContent = t("linkedHeading");
  $("result-linked-list").replaceChildren(...linked.map(linkedCard));
  $("result-linked").hidden = linked.length === 0;
}

function linkedCard(l, i) {
  const card = document.createElement("article");
  card.className = "linked-card";
  card.dataset.position = String(i + 2); // the main credential is 1 (reason bad_link_proof)
  card.dataset.type = l.credential_type.id;
  const title = document.createElement("h3");
  title.textContent = typeName(l.credential_type);
  const same = document.createElement("p");
  same.className = "same-holder";
  same.textContent = l.linked === true ? t("sameHolder") : "";
  const table = document.createElement("table");
  table.className = "claims";
  table.createTBody();
  fillClaims(table, l.claims);
  const meta = document.createElement("p");
  meta.className = "result-meta";
  meta.textContent = metaText(l);
  card.append(title, same, table, meta);
  return card;
}

function typeName(type) {
  return state.lang === "zh" ? type.name_zh : type.name_en;
}

function fillClaims(table, claims) {
  table.tBodies[0].replaceChildren(...claims.map((c) => {
    const row = document.createElement("tr");
    const th = document.createElement("th");
    const td = document.createElement("td");
    th.scope = "row";
    th.textContent = state.lang === "zh" ? c.label_zh : c.label_en;
    td.textContent = typeof c.value === "string" ? c.value
      : typeof c.value === "boolean" ? t(c.value ? "yes" : "no") : JSON.stringify(c.value);
    row.append(th, td);
    return row;
  }));
}

function metaText(v) {
  const when = (s) => new Date(s * 1000).toLocaleString(state.lang === "zh" ? "zh-CN" : "en-GB");
  const meta = [];
  const by = v.issued_by;
  if (by) {
    meta.push(`${t("ledger")}: ${state.lang === "zh" ? by.ledger_zh : by.ledger_en}`);
    meta.push(`${t("issuer")}: ${state.lang === "zh" ? by.department_zh : by.department_en}`);
  } else if (v.issuer_department) {
    meta.push(`${t("issuer")}: ${v.issuer_department}`);
  }
  if (v.anchored_at != null) meta.push(`${t("anchored")}: ${when(v.anchored_at)}`);
  if (v.checkpoint_height != null) meta.push(`${t("checkpoint")} #${v.checkpoint_height} (${when(v.checkpoint_time)})`);
  if (v.expires_at != null) meta.push(`${t("expires")}: ${when(v.expires_at)}`);
  return meta.join(" · ");
}

function messageOf(e) {
  return e instanceof Error ? e.message : String(e);
}

function wire() {
  $("lang-toggle").addEventListener("click", () => {
    state.lang = state.lang === "zh" ? "en" : "zh";
    localStorage.setItem("certledger.lang", state.lang);
    applyLanguage();
  });
  $("cred-type").addEventListener("change", renderClaims);
  $("purpose").addEventListener("input", () => { $("purpose").dataset.edited = "1"; });
  $("create-request").addEventListener("click", createRequest);
  $("counter-key-new").addEventListener("click", () => { loadCounterKey(true); applyLanguage(); });
  $("trust-file").addEventListener("change", async (ev) => {
    const file = ev.target.files[0];
    if (!file) return;
    try { loadTrustFile(await file.text()); } catch (e) { renderTrust("trustBad", messageOf(e)); }
  });
  $("trust-fetch").addEventListener("click", fetchTrustRoot);
  $("bundle-file").addEventListener("change", (ev) => readFile(ev.target.files[0]));
  $("camera-toggle").addEventListener("click", toggleCamera);
  $("verify").addEventListener("click", verify);
  $("max-checkpoint-age").addEventListener("change", saveSettings);
  $("min-assurance").addEventListener("change", saveSettings);
  const zone = $("drop-zone");
  zone.addEventListener("dragover", (ev) => { ev.preventDefault(); zone.classList.add("over"); });
  zone.addEventListener("dragleave", () => zone.classList.remove("over"));
  zone.addEventListener("drop", (ev) => {
    ev.preventDefault();
    zone.classList.remove("over");
    readFile(ev.dataTransfer.files[0]);
  });
}

async function main() {
  try {
    await init();
  } catch (e) {
    $("loading").hidden = true;
    $("load-error").textContent = t("loadFailed") + messageOf(e);
    $("load-error").hidden = false;
    return;
  }
  state.types = JSON.parse(profiles());
  state.settings = loadSettings();
  renderSettings();
  loadCounterKey();
  const pinned = localStorage.getItem("certledger.pinnedTrustRoot");
  if (pinned) {
    try { state.pinned = { text: pinned, parsed: parseTrustRoot(pinned) }; } catch { localStorage.removeItem("certledger.pinnedTrustRoot"); }
  }
  const saved = localStorage.getItem("certledger.trustRoot");
  if (saved) { try { setTrustRoot(saved); } catch { localStorage.removeItem("certledger.trustRoot"); } }
  wire();
  applyLanguage();
  $("loading").hidden = true;
  document.body.dataset.ready = "true";
}

// A small hook for the browser tests and for kiosk integrations: verify a bundle case against
// an explicit policy instead of the current request's.
window.certledgerPage = {
  usePolicy(policy) { state.policyOverride = policy; },
  counterPublicKey() { return state.counterKey?.public ?? null; },
  // A request this counter made elsewhere (its JSON): the page's current request from now on,
  // with the same single-use nonce and expiry rules as one created here.
  useRequest(request) {
    state.request = { request, text: "", svg: "" };
    state.policyOverride = null;
    renderRequest();
  },
  cacheStats() { return state.verifier?.cache_stats() ?? null; },
  decodeDrawable,
};

main();
