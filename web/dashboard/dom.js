// DOM helpers. Every value is inserted as text (textContent / text nodes) or
// as an attribute through setAttribute; nothing from the server is ever parsed
// as HTML.

// h("a", {href: "/x", class: "link"}, "text", child, ...) -> element.
// Attributes: "class", "text" (textContent), "on<event>" (listener), booleans
// (true sets an empty attribute, false/null/undefined leaves it out), others
// through setAttribute. Children: nodes, strings (text nodes), arrays, null.
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === false || v === null || v === undefined) continue;
    if (k === "text") el.textContent = String(v);
    else if (k.startsWith("on") && typeof v === "function") el.addEventListener(k.slice(2), v);
    else if (k === "value") el.value = v;
    else el.setAttribute(k, v === true ? "" : String(v));
  }
  append(el, children);
  return el;
}

export function append(el, children) {
  for (const c of children.flat(Infinity)) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

// Replaces the children of el.
export function replace(el, ...children) {
  el.replaceChildren();
  return append(el, children);
}

const SVG = "http://www.w3.org/2000/svg";
export function svg(tag, attrs, ...children) {
  const el = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined) continue;
    if (k === "text") el.textContent = String(v);
    else el.setAttribute(k, String(v));
  }
  for (const c of children.flat(Infinity)) if (c) el.append(c);
  return el;
}

const dateFmt = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "short" });
export function fmtDate(iso) {
  if (!iso) return "—";
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? String(iso) : dateFmt.format(d);
}

export function fmtNum(n, digits = 1) {
  if (n === null || n === undefined || Number.isNaN(Number(n))) return "—";
  const v = Number(n);
  return Number.isInteger(v) ? String(v) : v.toFixed(digits);
}

export function tierOf(score) {
  if (score >= 80) return "hot";
  if (score >= 60) return "warm";
  return "cold";
}

// A small badge: <span class="badge badge-KIND">text</span>.
export function badge(text, kind) {
  return h("span", { class: `badge badge-${kind || String(text).replace(/[^a-z_-]/gi, "")}` }, text);
}

export function label(text) {
  return String(text).replace(/_/g, " ");
}

// A status line for loading or errors inside a panel.
export function note(text, kind = "muted") {
  return h("p", { class: kind, role: kind === "error" ? "alert" : null }, text);
}

export function link(href, text, attrs = {}) {
  return h("a", { href, ...attrs }, text);
}
