// The desk page: renders the state the web node sends (GET /state once, then the event stream
// /events), searches topics (GET /topics?q=), draws the equity chart on a canvas and each
// topic's last minute as an SVG sparkline, and (when the node allows them) sends operator
// actions (POST /actions/<verb> with the operator's token). Text goes in through textContent
// only.
"use strict";

const $ = (id) => document.getElementById(id);

function el(tag, attrs, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k === "class") e.className = v; else e.setAttribute(k, v);
  }
  for (const c of children) e.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return e;
}

function money(v) {
  const n = Number(v);
  return n.toLocaleString(undefined, { minimumFractionDigits: 2, maximumFractionDigits: 2 });
}
function signed(cell, v) {
  cell.classList.toggle("pos", Number(v) > 0);
  cell.classList.toggle("neg", Number(v) < 0);
  return cell;
}
function age(ms) {
  if (ms < 0) return "never";
  return ms < 10000 ? (ms / 1000).toFixed(1) + " s" : Math.round(ms / 1000) + " s";
}
function clock(ns) {
  return ns > 0 ? new Date(ns / 1e6).toISOString().substring(11, 23) : "";
}
function setState(node, state, text) {
  node.dataset.state = state;
  node.textContent = text === undefined ? state : text;
}
function rows(tbody, items, make) {
  tbody.replaceChildren(...items.map(make));
}

function sparkline(history) {
  const ns = "http://www.w3.org/2000/svg";
  const svg = document.createElementNS(ns, "svg");
  svg.setAttribute("class", "spark");
  svg.setAttribute("viewBox", "0 0 120 20");
  svg.setAttribute("preserveAspectRatio", "none");
  const max = Math.max(1, ...history);
  const step = history.length > 1 ? 120 / (history.length - 1) : 0;
  const line = document.createElementNS(ns, "polyline");
  line.setAttribute("points",
    history.map((v, i) => (i * step).toFixed(1) + "," + (19 - (v / max) * 18).toFixed(1)).join(" "));
  svg.append(line);
  return svg;
}

function drawEquity(points) {
  const canvas = $("equity");
  const ratio = window.devicePixelRatio || 1;
  const w = canvas.clientWidth || 600, h = canvas.clientHeight || 160;
  canvas.width = w * ratio;
  canvas.height = h * ratio;
  const g = canvas.getContext("2d");
  g.scale(ratio, ratio);
  g.clearRect(0, 0, w, h);
  const css = getComputedStyle(document.documentElement);
  g.font = "11px system-ui, sans-serif";
  if (points.length < 2) {
    g.fillStyle = css.getPropertyValue("--muted");
    g.fillText("equity: waiting for samples", 8, 16);
    return;
  }
  const xs = points.map((p) => p[0]), ys = points.map((p) => Number(p[1]));
  const x0 = xs[0], x1 = xs[xs.length - 1];
  let lo = Math.min(0, ...ys), hi = Math.max(0, ...ys);
  if (hi - lo < 1e-9) { hi += 1; lo -= 1; }
  const left = 64, right = w - 8, top = 8, bottom = h - 18;
  const X = (t) => left + ((t - x0) / Math.max(1, x1 - x0)) * (right - left);
  const Y = (v) => bottom - ((v - lo) / (hi - lo)) * (bottom - top);
  g.strokeStyle = css.getPropertyValue("--line");
  g.beginPath(); g.moveTo(left, Y(0)); g.lineTo(right, Y(0)); g.stroke();
  g.fillStyle = css.getPropertyValue("--muted");
  g.fillText(money(hi), 4, top + 8);
  g.fillText(money(lo), 4, bottom);
  g.fillText(new Date(x0).toISOString().substring(11, 19), left, h - 4);
  const end = new Date(x1).toISOString().substring(11, 19);
  g.fillText(end, right - g.measureText(end).width, h - 4);
  g.strokeStyle = css.getPropertyValue(ys[ys.length - 1] >= 0 ? "--good" : "--bad");
  g.lineWidth = 1.5;
  g.beginPath();
  points.forEach((p, i) => (i ? g.lineTo(X(p[0]), Y(Number(p[1]))) : g.moveTo(X(p[0]), Y(Number(p[1])))));
  g.stroke();
}

function render(s) {
  document.body.dataset.connected = "true";
  $("updated").textContent = clock(s.now_ns);
  const b = s.broker;
  $("broker").textContent = b.answering
    ? "broker " + b.version + " epoch " + b.epoch + " up " + age(b.uptime_ms)
    : "broker: " + (b.error || "waiting");

  const t = s.trading;
  setState($("trading-state"), t.state, t.state.toUpperCase());
  $("trading-reason").textContent = t.reason ? t.reason : "";
  setState($("desk-state"), t.state);
  $("desk-by").textContent = t.by ? "by " + t.by + (t.reason ? ": " + t.reason : "") : t.reason;
  $("scopes").replaceChildren(...t.scopes.map((sc) => el("li", { "data-scope": sc.scope, "data-state": sc.state },
    sc.scope + ": " + sc.state.toUpperCase() + " (" + sc.reason + ", by " + sc.by + ")")));
  $("risk-states").replaceChildren(...t.risk.map((r) => el("li", { "data-state": r.state },
    r.node + ": " + r.state + (r.reason ? " (" + r.reason + ")" : ""))));

  rows($("nodes").tBodies[0], s.nodes, (n) => el("tr", { "data-node": n.name, "data-state": n.state },
    el("td", {}, n.name), el("td", {}, n.kind || "-"), el("td", { "data-state": n.state }, n.state),
    el("td", { class: "num" }, age(n.heartbeat_age_ms)), el("td", { class: "num" }, n.published),
    el("td", { class: "num" }, n.received), el("td", { class: "num" }, n.gaps),
    el("td", { class: "num" }, n.decode_errors), el("td", { class: "num" }, n.misrouted)));

  const journal = s.nodes.find((n) => n.kind === "journal");
  setState($("journal-state"), journal ? journal.state : "absent",
    journal ? journal.name + " " + journal.state + ", heartbeat " + age(journal.heartbeat_age_ms) +
      ", gaps " + journal.gaps + ", decode errors " + journal.decode_errors : "no journal registered");
  const r = s.recorder;
  setState($("recorder-state"), r.enabled ? (r.stalled ? "STALLED" : "flowing") : "off");
  $("recorder-detail").textContent = r.enabled
    ? "sent " + r.sent + ", stalls " + r.stalls + " (" + r.stalled_ms + " ms), seq " + r.seq + ", acked " +
      r.acked + ", retained " + r.retained + " (" + r.retained_bytes + " bytes)" +
      (r.overflow ? ", overflow " + r.overflow : "") + (r.evicted ? ", EVICTED " + r.evicted : "") +
      (r.redelivered ? ", redelivered " + r.redelivered : "")
    : "";
  $("drops").textContent = b.drops.length ? b.drops.map((d) => d.reason + " " + d.count).join(", ") : "none";

  rows($("positions").tBodies[0], s.positions, (p) => el("tr", { "data-symbol": p.symbol },
    el("td", {}, p.symbol), el("td", { class: "num" }, p.qty), el("td", { class: "num" }, money(p.avg_px)),
    signed(el("td", { class: "num" }, money(p.realized)), p.realized),
    signed(el("td", { class: "num" }, money(p.unrealized)), p.unrealized),
    signed(el("td", { class: "num" }, money(p.total)), p.total)));
  $("positions-none").hidden = s.positions.length > 0;
  for (const k of ["realized", "unrealized", "equity"]) {
    signed($("total-" + k), s.totals[k]).textContent = money(s.totals[k]);
  }
  drawEquity(s.equity);

  $("fills-total").textContent = s.fills_total;
  $("fills").replaceChildren(...s.fills.map((f) => el("li", { "data-fill": f.fill_id },
    clock(f.ts_ns) + "  " + f.dir + " " + f.qty + " " + f.symbol + " @ " + money(f.px) +
    (f.leaves_qty ? " (leaves " + f.leaves_qty + ")" : "") + "  " + f.order_id)));
  $("rejections-total").textContent = s.rejections_total;
  $("rejections").replaceChildren(...s.rejections.map((j) => el("li", { "data-rule": j.rule },
    clock(j.ts_ns) + "  " + j.source + " " + j.rule + ": " + (j.dir ? j.dir + " " + j.qty + " " : "") +
    j.symbol + "  " + j.reason)));

  const acts = s.actions || { enabled: false, log: [] };
  $("operator-panel").hidden = !acts.enabled;
  $("action-log").replaceChildren(...acts.log.map((a) => el("li", { "data-status": a.status, "data-action-id": a.id },
    clock(a.ts_ns) + "  " + a.by + ": " + a.what + "  " + a.status.toUpperCase() + (a.detail ? ": " + a.detail : ""))));

  const tp = s.topics;
  $("topics-tracked").textContent = tp.tracked + " topics counted (at most " + tp.max_tracked + ")";
  rows($("topics").tBodies[0], tp.busiest, (x) => el("tr", { "data-topic": x.topic },
    el("td", {}, x.topic), el("td", { class: "num" }, x.per_sec), el("td", { class: "num" }, x.messages),
    el("td", { class: "num" }, x.bytes), el("td", {}, sparkline(x.history))));
}

function search(ev) {
  ev.preventDefault();
  const q = $("search").value;
  fetch("/topics?q=" + encodeURIComponent(q)).then((r) => r.json()).then((res) => {
    $("search-summary").textContent = res.matches + " of " + res.tracked + " counted topics match" +
      (res.matches > res.topics.length ? " (busiest " + res.topics.length + " shown)" : "");
    rows($("search-results").tBodies[0], res.topics, (x) => el("tr", { "data-topic": x.topic },
      el("td", {}, x.topic), el("td", { class: "num" }, x.per_sec + " msg/s"),
      el("td", { class: "num" }, x.messages), el("td", { class: "num" }, x.bytes)));
  }).catch((e) => { $("search-summary").textContent = "search failed: " + e; });
}

// An action's form, from the scope chosen: [verb, fields] or an Error saying what to choose.
function actionRequest(action) {
  const scope = $("op-scope").value, target = $("op-target").value.trim();
  const f = new URLSearchParams();
  const reason = $("op-reason").value.trim();
  if (reason) f.set("reason", reason);
  if (scope !== "desk" && !target) throw new Error("enter the " + scope + " (or choose the desk)");
  if (action === "halt" || action === "reduce" || action === "resume") {
    if (scope === "order") throw new Error(action + " takes the desk, a symbol or a strategy");
    if (scope !== "desk") f.set(scope, target);
    if (action === "reduce") f.set("reduce_only", "1");
    return [action === "resume" ? "resume" : "halt", f];
  }
  if (action === "flatten") {
    if (scope === "strategy" || scope === "order") throw new Error("flatten takes the desk or a symbol");
    if (scope === "symbol") f.set("symbol", target);
    return ["flatten", f];
  }
  if (scope === "strategy") throw new Error("cancel takes the desk (every order), a symbol or an order id");
  if (scope === "desk") f.set("all", "1");
  else f.set(scope === "order" ? "order_id" : "symbol", target);
  return ["cancel", f];
}

// A click arms the button for 5 s; a second click sends the action.
function onAction(ev) {
  const button = ev.target.closest("button[data-action]");
  if (!button) return;
  const result = $("action-result");
  if (button.dataset.armed !== "true") {
    for (const b of document.querySelectorAll("#action-form button")) b.dataset.armed = "false";
    button.dataset.armed = "true";
    result.textContent = "click " + button.textContent + " again to confirm";
    setTimeout(() => { button.dataset.armed = "false"; }, 5000);
    return;
  }
  button.dataset.armed = "false";
  let verb, form;
  try { [verb, form] = actionRequest(button.dataset.action); } catch (e) { result.textContent = e.message; return; }
  const token = $("op-token").value.trim();
  if (!token) { result.textContent = "enter your operator token first"; return; }
  sessionStorage.setItem("tradebus-token", token);
  result.textContent = verb + ": sent, waiting for the broker";
  fetch("/actions/" + verb, {
    method: "POST",
    headers: { "Authorization": "Bearer " + token, "Content-Type": "application/x-www-form-urlencoded" },
    body: form.toString(),
  }).then((r) => r.json().then((res) => {
    result.dataset.status = res.action ? res.action.status : "refused";
    result.textContent = res.action
      ? res.action.what + ": " + res.action.status.toUpperCase() + (res.action.detail ? ": " + res.action.detail : "")
      : verb + " refused (" + r.status + "): " + res.error;
  })).catch((e) => { result.dataset.status = "unknown"; result.textContent = verb + ": no answer (" + e + ")"; });
}

function connect() {
  const link = $("link");
  const events = new EventSource("/events");
  events.addEventListener("state", (m) => {
    link.dataset.link = "up";
    link.textContent = "live";
    render(JSON.parse(m.data));
  });
  events.onerror = () => {
    link.dataset.link = "down";
    link.textContent = "reconnecting";
  };
}

$("search-form").addEventListener("submit", search);
$("action-form").addEventListener("click", onAction);
$("action-form").addEventListener("submit", (ev) => ev.preventDefault());
$("op-token").value = sessionStorage.getItem("tradebus-token") || "";
connect();
