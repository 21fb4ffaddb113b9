// dnahost dashboard. Polls GET /api/dashboard every two seconds and, where
// the browser has EventSource, refreshes at once on every job event from
// GET /api/dashboard/events (add ?sse=0 to the page's address to poll only).
"use strict";

const POLL_MS = 2000;
const MAIN = ["submitted", "escrowed", "accepted", "committed", "revealed", "decided", "recorded", "settled"];
const ALL_STAGES = MAIN.concat(["failed", "disputed", "expired"]);
const STAGE_COLOR = {
  submitted: "#94a3b8", escrowed: "#64748b", accepted: "#8b5cf6", committed: "#6366f1", revealed: "#3b82f6",
  decided: "#0ea5e9", recorded: "#14b8a6", settled: "#16a34a", disputed: "#dc2626", expired: "#d97706", failed: "#e11d48",
};
const COIN = 1e8;

const state = { snap: null, sel: null, userSel: false, timer: null, pending: null, lastOK: 0, sse: false };

// ---------- helpers ----------
const $ = (id) => document.getElementById(id);
function esc(s) {
  return String(s == null ? "" : s).replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c]));
}
const short = (h, n) => (h ? String(h).slice(0, n || 10) : "—");
function num(v, digits) {
  if (v == null || isNaN(v)) return "—";
  return Number(v).toLocaleString("en-US", { maximumFractionDigits: digits == null ? 0 : digits });
}
function compact(v) {
  if (v >= 1e9) return num(v / 1e9, 1) + "G";
  if (v >= 1e6) return num(v / 1e6, 1) + "M";
  if (v >= 1e4) return num(v / 1e3, 1) + "k";
  return num(v);
}
function bytes(b) {
  if (!b) return "0 B";
  const u = ["B", "KiB", "MiB", "GiB", "TiB"];
  let i = 0;
  while (b >= 1024 && i < u.length - 1) { b /= 1024; i++; }
  return num(b, b < 10 && i > 0 ? 1 : 0) + " " + u[i];
}
function coins(units, signed) {
  const v = units / COIN;
  const s = num(Math.abs(v), Math.abs(v) < 1 ? 3 : 2);
  if (!signed) return s + " DNA";
  return (v > 0 ? "+" : v < 0 ? "−" : "") + s;
}
function dur(ms) {
  if (ms == null || ms < 0) return "—";
  if (ms < 1000) return Math.round(ms) + " ms";
  const s = ms / 1000;
  if (s < 60) return num(s, s < 10 ? 1 : 0) + " s";
  const m = s / 60;
  if (m < 60) return Math.floor(m) + "m " + Math.round(s % 60) + "s";
  const h = m / 60;
  if (h < 48) return Math.floor(h) + "h " + Math.round(m % 60) + "m";
  return Math.floor(h / 24) + "d " + Math.round(h % 24) + "h";
}
function ago(t, now) { return t ? dur(Math.max(0, now - t)) + " ago" : "—"; }
function clock(t) {
  const d = new Date(t);
  const p = (x) => String(x).padStart(2, "0");
  return p(d.getHours()) + ":" + p(d.getMinutes()) + ":" + p(d.getSeconds());
}
function eventTime(e) { return typeof e.time === "number" ? e.time : Date.parse(e.time); }
const pill = (stage, text) => `<span class="pill s-${esc(stage)}">${esc(text || stage)}</span>`;
const tick = (b) => (b ? '<span class="yes">✓</span>' : '<span class="no">·</span>');

// ---------- data ----------
async function poll() {
  clearTimeout(state.timer);
  try {
    const r = await fetch("/api/dashboard", { cache: "no-store" });
    if (!r.ok) throw new Error(r.status + " " + r.statusText);
    const s = await r.json();
    state.snap = s;
    state.lastOK = Date.now();
    render(s);
    $("live").className = "live on";
  } catch (err) {
    $("live").className = "live err";
    $("updated").textContent = "offline: " + err.message;
  }
  state.timer = setTimeout(poll, POLL_MS);
}

function soon() {
  if (state.pending) return;
  state.pending = setTimeout(() => { state.pending = null; poll(); }, 250);
}

function listen() {
  if (!window.EventSource || new URLSearchParams(location.search).get("sse") === "0") return;
  const es = new EventSource("/api/dashboard/events");
  es.addEventListener("job", soon);
  es.onopen = () => { state.sse = true; };
  es.onerror = () => { state.sse = false; };
}

// ---------- rendering ----------
function render(s) {
  const now = s.now;
  renderHeader(s, now);
  renderKPIs(s, now);
  renderTokensChart(s.series, now);
  renderJobsChart(s.series, now);
  renderStages(s);
  renderJobs(s, now);
  renderDetail(s, now);
  renderConsensus(s, now);
  renderBlocks(s, now);
  renderActivity(s, now);
  renderPeers(s);
  renderBundles(s);
  $("updated").textContent = (state.sse ? "live · " : "") + "updated " + clock(state.lastOK);
}

function renderHeader(s, now) {
  const n = s.node;
  const roles = [n.compute && "compute", n.mine && "miner"].filter(Boolean).join(" + ") || "relay";
  $("ident").innerHTML =
    `<span class="net">${esc(n.net)}</span>` +
    `<span>peer <b>${esc(short(n.id, 12))}</b></span>` +
    `<span>account <b>${esc(n.account)}</b></span>` +
    `<span>listen <b>${esc(n.listen)}</b></span>` +
    `<span>${esc(roles)}${n.behavior ? " · <b>" + esc(n.behavior) + "</b>" : ""}</span>` +
    `<span>up <b>${esc(dur(now - n.started))}</b></span>`;
  const r = s.ready;
  const el = $("ready");
  el.className = "pill " + (r.ready ? "ok" : "bad");
  el.textContent = r.ready ? "ready" : "not ready";
  el.title = r.ready ? `${r.peers} peers, height ${r.height}` : r.reason;
}

function kpi(k, v, sub, hl) {
  return `<div class="kpi${hl ? " hl" : ""}"><div class="k">${k}</div><div class="v">${v}</div><div class="s">${sub}</div></div>`;
}

function renderKPIs(s, now) {
  const m = s.metrics, c = s.chain;
  const total = Object.values(s.job_counts).reduce((a, b) => a + b, 0);
  const open = ALL_STAGES.filter((st) => !["settled", "disputed", "expired"].includes(st))
    .reduce((a, st) => a + (s.job_counts[st] || 0), 0);
  const inb = s.peers.filter((p) => !p.outbound).length;
  const el = $("kpis");
  el.dataset.height = c.height;
  el.innerHTML =
    kpi("Chain height", `<span id="height">${num(c.height)}</span>`, `<span title="${esc(c.hash)}">tip ${ago(c.timestamp, now)}</span>`, true) +
    kpi("Peers", num(s.peers.length), s.peers.length ? `${inb} in · ${s.peers.length - inb} out` : (s.ready.seeds ? "none connected" : "alone by config")) +
    kpi("Jobs", num(total), `${num(s.job_counts.settled || 0)} settled · ${num(open)} open`) +
    kpi("Tokens", compact(m.tokens), `${num(m.jobs_computed)} jobs computed`) +
    kpi("Compute speed", `${num(m.tokens_per_second, m.tokens_per_second < 100 ? 1 : 0)}<small>tok/s</small>`, `${num(m.compute_seconds, 2)} s computing`) +
    kpi("Verified", `<span class="${m.verified ? "" : ""}">${num(m.verified)}</span>`, `<span class="${m.refuted ? "bad" : ""}">${num(m.refuted)} refuted</span> of ${num(m.verified + m.refuted)}`) +
    kpi("Mempool", num(s.mempool), `${num(m.tx_sent)} txs sent by node`) +
    kpi("Blocks mined", num(m.blocks_mined), `${num(m.reorgs)} reorgs seen`);
}

// ---------- charts ----------
// scale picks a round tick step for values up to v and the axis maximum
// (a whole number of steps, three to five of them).
function scale(v) {
  if (!(v > 0)) return { max: 4, step: 1 };
  const raw = v / 4, p = Math.pow(10, Math.floor(Math.log10(raw)));
  let step = 10 * p;
  for (const f of [1, 2, 2.5, 5, 10]) if (f * p >= raw) { step = f * p; break; }
  if (step < 1 && v >= 1) step = 1;
  const n = Math.max(1, Math.ceil(v / step - 1e-9));
  return { max: n * step, step };
}

function frame(el) {
  const w = Math.max(200, el.clientWidth || 400), h = Math.max(120, el.clientHeight || 170);
  return { w, h, l: 38, r: 8, t: 8, b: 20 };
}

function axes(f, sc, series, fmt) {
  let g = "";
  for (let v = 0; v <= sc.max + 1e-9; v += sc.step) {
    const y = f.t + (f.h - f.t - f.b) * (1 - v / sc.max);
    g += `<line class="grid" x1="${f.l}" x2="${f.w - f.r}" y1="${y}" y2="${y}"/>`;
    g += `<text class="axis" x="${f.l - 6}" y="${y + 3}" text-anchor="end">${esc(fmt(v))}</text>`;
  }
  const n = series.length, span = n * series.step;
  for (const frac of [0, 0.5, 1]) {
    const x = f.l + (f.w - f.l - f.r) * frac;
    const label = frac === 1 ? "now" : "−" + dur(span * (1 - frac)).replace(/ /g, "");
    g += `<text class="axis" x="${x}" y="${f.h - 4}" text-anchor="${frac === 0 ? "start" : frac === 1 ? "end" : "middle"}">${esc(label)}</text>`;
  }
  return g;
}

function renderTokensChart(sr, now) {
  const el = $("chart-tokens");
  const vals = sr.tokens_per_s;
  const f = frame(el);
  const sc = scale(Math.max(...vals, 0)), ymax = sc.max;
  const n = vals.length, iw = f.w - f.l - f.r, ih = f.h - f.t - f.b;
  const x = (i) => f.l + iw * (i + 0.5) / n, y = (v) => f.t + ih * (1 - v / ymax);
  let line = "", area = `M${x(0)},${y(0)}`;
  vals.forEach((v, i) => { line += (i ? "L" : "M") + x(i).toFixed(1) + "," + y(v).toFixed(1); area += "L" + x(i).toFixed(1) + "," + y(v).toFixed(1); });
  area += `L${x(n - 1)},${y(0)}Z`;
  let hover = "";
  vals.forEach((v, i) => {
    hover += `<rect class="hover" x="${f.l + iw * i / n}" y="${f.t}" width="${iw / n}" height="${ih}"><title>${clock(sr.start + (i + 1) * sr.step_ms)} · ${num(v, 1)} tok/s</title></rect>`;
  });
  const peak = Math.max(...vals, 0);
  const avg = vals.reduce((a, b) => a + b, 0) / (n || 1);
  $("tps-sub").textContent = `${dur(sr.tokens_window_ms).replace(" ", "")} average · peak ${num(peak, 1)} · mean ${num(avg, 1)}`;
  el.innerHTML = `<svg viewBox="0 0 ${f.w} ${f.h}" preserveAspectRatio="none">
    <defs><linearGradient id="g-tokens" x1="0" x2="0" y1="0" y2="1"><stop offset="0" stop-color="#14b8a6" stop-opacity=".35"/><stop offset="1" stop-color="#14b8a6" stop-opacity=".02"/></linearGradient></defs>
    ${axes(f, sc, { length: n, step: sr.step_ms }, (v) => compact(v))}
    <path class="area" d="${area}"/><path class="line" d="${line}"/>
    <circle class="dot" cx="${x(n - 1)}" cy="${y(vals[n - 1] || 0)}" r="3"/>${hover}</svg>`;
}

function renderJobsChart(sr, now) {
  const el = $("chart-jobs");
  const d = sr.decided_per_min, st = sr.settled_per_min;
  const f = frame(el);
  const sc = scale(Math.max(...d, ...st, 0)), ymax = sc.max;
  const n = d.length, iw = f.w - f.l - f.r, ih = f.h - f.t - f.b;
  const x = (i) => f.l + iw * (i + 0.5) / n, y = (v) => f.t + ih * (1 - v / ymax);
  const path = (vs) => vs.map((v, i) => (i ? "L" : "M") + x(i).toFixed(1) + "," + y(v).toFixed(1)).join("");
  const area = `M${x(0)},${y(0)}` + d.map((v, i) => "L" + x(i).toFixed(1) + "," + y(v).toFixed(1)).join("") + `L${x(n - 1)},${y(0)}Z`;
  let hover = "";
  for (let i = 0; i < n; i++) {
    hover += `<rect class="hover" x="${f.l + iw * i / n}" y="${f.t}" width="${iw / n}" height="${ih}"><title>${clock(sr.start + (i + 1) * sr.step_ms)} · ${num(d[i], 1)} decided/min · ${num(st[i], 1)} settled/min</title></rect>`;
  }
  $("jpm-sub").textContent = `· ${dur(sr.jobs_window_ms).replace(" ", "")} window`;
  el.innerHTML = `<svg viewBox="0 0 ${f.w} ${f.h}" preserveAspectRatio="none">
    <defs><linearGradient id="g-decided" x1="0" x2="0" y1="0" y2="1"><stop offset="0" stop-color="#3b82f6" stop-opacity=".22"/><stop offset="1" stop-color="#3b82f6" stop-opacity=".02"/></linearGradient></defs>
    ${axes(f, sc, { length: n, step: sr.step_ms }, (v) => num(v, v < 10 ? 1 : 0))}
    <path class="area decided" d="${area}"/><path class="line decided" d="${path(d)}"/><path class="line settled" d="${path(st)}"/>
    <circle class="dot decided" cx="${x(n - 1)}" cy="${y(d[n - 1] || 0)}" r="3"/><circle class="dot settled" cx="${x(n - 1)}" cy="${y(st[n - 1] || 0)}" r="3"/>${hover}</svg>`;
}

function renderStages(s) {
  const total = Object.values(s.job_counts).reduce((a, b) => a + b, 0);
  $("stage-total").textContent = `${num(total)} jobs known to this node`;
  let bar = "", list = "";
  for (const st of ALL_STAGES) {
    const k = s.job_counts[st] || 0;
    if (k && total) bar += `<span style="width:${(100 * k / total).toFixed(2)}%;background:${STAGE_COLOR[st]}" title="${st}: ${k}"></span>`;
    if (MAIN.includes(st) || k) list += `<div><i style="background:${STAGE_COLOR[st]}"></i>${st}<b>${num(k)}</b></div>`;
  }
  const cj = s.chain.jobs || {};
  const chainTxt = ["created", "accepted", "completed", "settled", "disputed", "expired"]
    .filter((k) => cj[k]).map((k) => `${k} <b>${num(cj[k])}</b>`).join(" · ") || "none yet";
  $("stages").innerHTML = `<div class="stagebar">${bar}</div><div class="stagelist">${list}</div>
    <div class="chainjobs">On chain: ${chainTxt}</div>`;
}

// ---------- jobs ----------
function reached(j) {
  const at = {};
  for (const x of j.stages) if (!(x.stage in at)) at[x.stage] = x.time;
  return at;
}

// steps lays a job's life on the main path, a failure taking the place of
// the step it stopped at.
function steps(j) {
  const at = reached(j);
  const out = MAIN.map((st) => ({ stage: st, time: at[st], on: st in at }));
  const swap = (i, st) => { out[i] = { stage: st, time: at[st], on: true, bad: true }; };
  if ("failed" in at) swap(5, "failed");
  if ("disputed" in at) swap(7, "disputed");
  if ("expired" in at) {
    const i = out.findIndex((x) => !x.on);
    swap(i < 0 ? 7 : i, "expired");
  }
  return out;
}

function miniTimeline(j) {
  const ss = steps(j);
  let last = -1;
  ss.forEach((x, i) => { if (x.on) last = i; });
  return `<div class="tl">` + ss.map((x, i) =>
    `<span class="s-${x.stage}${x.on ? " on" : ""}${i === last && !j.final ? " cur" : ""}" title="${esc(x.stage)}${x.time ? " · " + clock(x.time) : ""}"></span>`).join("") + `</div>`;
}

function agreeCell(j) {
  const rep = j.replication || j.nodes.length;
  if (!j.rule) {
    const staked = j.nodes.filter((n) => n.stake > 0).length;
    return `<span class="agree muted">${staked}/${rep} staked</span>`;
  }
  const agree = j.nodes.filter((n) => n.agree).length;
  return `<span class="agree"><span class="${agree ? "ok" : ""}">${agree}/${rep}</span> agree</span>`;
}

function pickDefault(s) {
  const rank = (st) => ({ settled: 9, recorded: 8, decided: 7, disputed: 9, failed: 6 }[st] || 0);
  let best = null;
  for (const j of s.jobs) if (!best || rank(j.stage) > rank(best.stage)) best = j;
  return best && best.id;
}

function renderJobs(s, now) {
  const jobs = s.jobs;
  $("jobs-sub").textContent = jobs.length ? `newest ${jobs.length} · click one for its lifecycle` : "";
  if (!state.userSel || !jobs.some((j) => j.id === state.sel)) state.sel = pickDefault(s);
  if (!jobs.length) { $("jobs").innerHTML = `<p class="empty">No jobs yet. Submit one through the API.</p>`; return; }
  let rows = "";
  for (const j of jobs) {
    const end = j.final ? (j.stages[j.stages.length - 1] || {}).time : now;
    rows += `<tr class="job${j.id === state.sel ? " sel" : ""}" data-id="${esc(j.id)}">
      <td class="mono" title="${esc(j.id)}${j.coordinating ? " · coordinated by this node" : ""}">${esc(short(j.id, 8))}</td>
      <td><span class="trunc" style="max-width:80px">${esc(j.model || short(j.bundle, 8))}</span></td>
      <td><span class="trunc prompt" title="${esc(j.prompt)}">${esc(j.prompt)}</span></td>
      <td>${pill(j.stage)}</td>
      <td>${miniTimeline(j)}</td>
      <td>${agreeCell(j)}</td>
      <td class="num">${esc(dur(end - j.received))}</td></tr>`;
  }
  $("jobs").innerHTML = `<table><thead><tr><th>Job</th><th>Model</th><th>Prompt</th><th>Stage</th><th>Lifecycle</th><th>Nodes</th><th class="num">Time</th></tr></thead><tbody>${rows}</tbody></table>`;
}

function renderDetail(s, now) {
  const j = s.jobs.find((x) => x.id === state.sel);
  const el = $("detail");
  if (!j) { el.innerHTML = `<p class="empty">No jobs yet.</p>`; $("detail-sub").textContent = ""; return; }
  $("detail-sub").textContent = `received ${clock(j.received)} · ${ago(j.received, now)}`;
  const ss = steps(j);
  const vtl = ss.map((x) => `<div class="st s-${x.stage}${x.on ? " on" : ""}"><i></i><b>${esc(x.stage)}</b><em>${x.time ? "+" + dur(x.time - j.received).replace(" ", "") : "&nbsp;"}</em></div>`).join("");
  const agree = j.nodes.filter((n) => n.agree).length;
  let decision = "";
  if (j.rule) {
    const ok = !["failed"].includes(j.stage);
    decision = `<div class="decision ${ok ? "s-settled" : "s-failed"}">
      <b>${esc(j.rule)}</b> ${ok ? "accepted" : "undecided"}${j.result ? ` result <span class="mono">${esc(short(j.result, 12))}</span>` : ""} with ${agree} of ${j.replication} agreeing
      ${j.reason ? `<div class="muted">${esc(j.reason)}</div>` : ""}</div>`;
  }
  const settled = j.stage === "settled" || j.stage === "disputed" || j.stage === "expired";
  const nodes = j.nodes.map((n) => {
    const ver = n.verification ? `<span class="pill ${n.verification === "verified" ? "ok" : "bad"}" title="${esc(n.failed || "")}">${esc(n.verification)}</span>`
      : n.failed ? `<span class="pill warn">${esc(n.failed)}</span>` : `<span class="no">·</span>`;
    const paid = settled ? `<span class="${n.paid > 0 ? "pos" : n.paid < 0 ? "neg" : ""}">${coins(n.paid, true)}</span>` : `<span class="no">·</span>`;
    return `<tr><td class="mono" title="${esc(n.address)}">${esc(short(n.address, 10))}${n.me ? '<span class="tag">YOU</span>' : ""}${n.coordinator ? '<span class="tag c">COORD</span>' : ""}</td>
      <td class="num">${num(n.stake / COIN, 3)}</td><td>${tick(n.committed)}</td><td>${tick(n.revealed)}</td><td>${ver}</td>
      <td>${tick(n.agree)}</td><td>${tick(n.signed)}</td><td class="num">${paid}</td></tr>`;
  }).join("");
  const hist = j.history.slice().reverse().map((e) =>
    `<div><span class="t">+${esc(dur(eventTime(e) - j.received).replace(" ", ""))}</span><span>${e.stage ? pill(e.stage) : ""}</span><span>${esc(e.what)}</span></div>`).join("");
  const tokens = j.local && j.local.computed ? ` · computed ${num(j.local.tokens)} tokens in ${dur(j.local.compute_ms)}` : "";
  el.innerHTML = `
    <div class="dhead"><span class="mono" data-job="${esc(j.id)}">${esc(short(j.id, 24))}</span>${pill(j.stage)}${j.coordinating ? '<span class="tag c">COORDINATOR</span>' : ""}${j.private ? '<span class="tag">PRIVATE</span>' : ""}</div>
    <div class="dmeta"><span>model <b>${esc(j.model || short(j.bundle, 12))}</b></span><span>max <b>${num(j.max_tokens)}</b> tokens</span>
      <span>replication <b>${num(j.replication)}</b></span><span>reward <b>${coins(j.reward)}</b></span><span>verify <b>${esc(j.verify)}</b></span>
      ${j.block_height ? `<span>block <b>${num(j.block_height)}</b></span>` : ""}</div>
    <div class="qa" title="the prompt, then the decided text"><span class="q">${esc(j.prompt)}</span>${j.text ? `<span class="a">${esc(j.text.startsWith(" ") || j.text.startsWith("\n") ? j.text : " " + j.text)}</span>` : `<span class="muted"> …</span>`}</div>
    <div class="vtl">${vtl}</div>
    ${decision}
    <div class="tw"><table class="nodes"><thead><tr><th>Node</th><th class="num">Stake</th><th>Commit</th><th>Reveal</th><th>Verification</th><th>Agree</th><th>Signed</th><th class="num">Paid</th></tr></thead>
      <tbody>${nodes || `<tr><td colspan="8" class="muted">no stakes yet</td></tr>`}</tbody></table></div>
    <div class="muted" style="margin-top:6px;font-size:12px">${j.coordinating ? "this node coordinates the job" : "coordinator " + esc(short(j.coordinator, 12))}${tokens}</div>
    <div class="log">${hist}</div>`;
}

// ---------- consensus, blocks, activity ----------
function renderConsensus(s, now) {
  let v = 0, r = 0, decided = 0;
  for (const j of s.jobs) {
    if (j.rule) decided++;
    for (const n of j.nodes) {
      if (n.verification === "verified") v++;
      else if (n.verification === "refuted") r++;
    }
  }
  const tot = v + r;
  const m = s.metrics;
  $("cons-sub").textContent = `${decided} decided jobs listed`;
  const decs = s.jobs.filter((j) => j.rule).slice(0, 4).map((j) => {
    const ok = j.stage !== "failed";
    const agree = j.nodes.filter((n) => n.agree).length;
    const refuted = j.nodes.filter((n) => n.verification === "refuted").length;
    const why = j.reason || (j.history.find((e) => e.stage === "decided" || e.stage === "failed") || {}).what || "";
    return `<div class="dec"><span class="mono">${esc(short(j.id, 10))}</span><span class="mono">${esc(j.rule)}</span>
      <span>${ok ? `<span class="pill ok">${agree}/${j.replication} agree</span>` : `<span class="pill bad">undecided</span>`}${refuted ? ` <span class="pill bad">${refuted} refuted</span>` : ""}</span>
      <span class="why" title="${esc(why)}">${esc(why)}</span></div>`;
  }).join("");
  $("consensus").innerHTML = `
    <div class="vnums"><span><b>${num(v)}</b>verified</span><span><b>${num(r)}</b>refuted</span></div>
    <div class="vbar"><span class="v" style="width:${tot ? (100 * v / tot).toFixed(1) : 0}%"></span><span class="r" style="width:${tot ? (100 * r / tot).toFixed(1) : 0}%"></span></div>
    <div class="muted" style="font-size:12px;margin-bottom:8px">reveals across the listed jobs · as coordinator this node verified ${num(m.verified)} and refuted ${num(m.refuted)} in ${num(m.verify_seconds, 2)} s</div>
    ${decs || `<p class="empty">No decisions yet.</p>`}`;
}

function renderBlocks(s, now) {
  const c = s.chain;
  $("chain-sub").textContent = `minted ${coins(c.minted)}`;
  if (!c.blocks.length) { $("blocks").innerHTML = `<p class="empty">No blocks.</p>`; return; }
  const rows = c.blocks.slice(0, 8).map((b) => {
    const chips = Object.entries(b.types).map(([t, k]) => `<span class="t-${esc(t)}">${k} ${esc(t)}</span>`).join("") || `<span>coinbase</span>`;
    return `<tr><td class="num"><b>${num(b.height)}</b></td><td class="mono" title="${esc(b.hash)}">${esc(short(b.hash, 8))}</td>
      <td class="txchips">${chips}</td><td class="mono" title="${esc(b.miner)}">${esc(short(b.miner, 7))}${b.mine ? '<span class="tag">YOU</span>' : ""}</td><td class="num">${esc(dur(now - b.timestamp))}</td></tr>`;
  }).join("");
  $("blocks").innerHTML = `<table><thead><tr><th class="num">Height</th><th>Hash</th><th>Transactions</th><th>Miner</th><th class="num">Age</th></tr></thead><tbody>${rows}</tbody></table>`;
}

function renderActivity(s, now) {
  const evs = [];
  for (const j of s.jobs) for (const e of j.history) evs.push({ j: j.id, e, t: eventTime(e) });
  evs.sort((a, b) => b.t - a.t);
  const rows = evs.slice(0, 10).map(({ j, e, t }) =>
    `<div class="act"><span class="t">${clock(t)}</span><span class="w"><span class="j">${esc(short(j, 8))}</span>${e.stage ? pill(e.stage) + " " : ""}${esc(e.what)}</span></div>`).join("");
  $("activity").innerHTML = rows || `<p class="empty">Nothing yet.</p>`;
}

// ---------- peers, bundles ----------
function renderPeers(s) {
  $("peers-sub").textContent = s.peers.length ? `${s.peers.length} connected` : "";
  if (!s.peers.length) { $("peers").innerHTML = `<p class="empty">${s.ready.seeds ? "No peers connected." : "No peers: this node runs alone by config."}</p>`; return; }
  const maxScore = Math.max(1, ...s.peers.map((p) => Math.abs(p.score)));
  const rows = s.peers.map((p) => `<tr><td class="mono">${esc(short(p.id, 12))}</td><td class="mono">${esc(p.addr)}</td><td>${p.outbound ? "out" : "in"}</td>
    <td><span class="score"><i style="width:${Math.max(0, 100 * p.score / maxScore).toFixed(0)}%"></i></span>${num(p.score, 1)}</td>
    <td class="num">${num(p.rtt_ms, 2)} ms</td><td class="num">${bytes(p.sent)}</td><td class="num">${bytes(p.received)}</td><td class="num">${num(p.lost)}</td>
    <td class="muted">${esc(p.services.join(" · "))}</td></tr>`).join("");
  $("peers").innerHTML = `<table><thead><tr><th>Peer</th><th>Address</th><th>Dir</th><th>Score</th><th class="num">RTT</th><th class="num">Sent</th><th class="num">Received</th><th class="num">Lost</th><th>Services</th></tr></thead><tbody>${rows}</tbody></table>`;
}

function renderBundles(s) {
  $("bundles-sub").textContent = `${s.bundles.filter((b) => b.held).length} held · ${s.bundles.length} known`;
  const rows = s.bundles.map((b) => {
    const st = [b.held && `<span class="pill ok">held</span>`, b.loaded && `<span class="pill s-revealed">loaded</span>`,
      !b.held && `<span class="pill warn">${b.peers} peer${b.peers === 1 ? "" : "s"}</span>`].filter(Boolean).join(" ");
    return `<tr><td title="${esc(b.root)} · ${esc(b.arch)}"><b>${esc(b.name)}</b> <span class="mono muted">${esc(short(b.root, 6))}</span></td><td class="num">${bytes(b.size)}</td>
      <td class="num">${num(b.leaves)}</td><td>${st}</td></tr>`;
  }).join("");
  $("bundles").innerHTML = rows ? `<table><thead><tr><th>Bundle</th><th class="num">Size</th><th class="num">Chunks</th><th>Status</th></tr></thead><tbody>${rows}</tbody></table>`
    : `<p class="empty">No bundles.</p>`;
  const g = s.gossip, c = s.chain;
  const cell = (k, v) => `<div><span>${k}</span><b>${v}</b></div>`;
  $("gossip").innerHTML = `<div class="ggrid">${cell("received", compact(g.received))}${cell("delivered", compact(g.delivered))}
    ${cell("duplicates", compact(g.duplicates))}${cell("sent", compact(g.sent))}${cell("invalid", compact(g.invalid))}
    ${cell("chunks", compact(g.chunks_served))}${cell("write amp", num(c.write_amp, 2))}${cell("store", bytes(c.disk_bytes))}</div>`;
}

// ---------- wiring ----------
document.addEventListener("click", (ev) => {
  const tr = ev.target.closest("tr.job");
  if (!tr || !state.snap) return;
  state.sel = tr.dataset.id;
  state.userSel = true;
  history.replaceState(null, "", "#job=" + state.sel);
  render(state.snap);
});
{
  const m = /#job=([0-9a-f]{64})/.exec(location.hash);
  if (m) { state.sel = m[1]; state.userSel = true; }
}
window.addEventListener("resize", () => state.snap && render(state.snap));
poll();
listen();
