// The lead score drawn three ways, always with the numbers as text as well:
// a badge coloured by tier, the five parts as a stacked bar (lead cards, the
// contact page), and the score over time as a small inline SVG line chart.
import { h, svg, fmtNum, fmtDate, tierOf } from "./dom.js";

export const PARTS = [
  { key: "engagement", label: "Engagement", max: 40 },
  { key: "sentiment", label: "Sentiment", max: 20 },
  { key: "intent", label: "Intent", max: 20 },
  { key: "role", label: "Role", max: 10 },
  { key: "status", label: "Status", max: 10 },
];

export function partsText(b) {
  return PARTS.map((p) => `${p.label} ${fmtNum(b[p.key] ?? 0)} of ${p.max}`).join(", ");
}

export function scoreBadge(score, { large = false } = {}) {
  const s = Number(score) || 0;
  const tier = tierOf(s);
  return h("span", { class: `score score-${tier}${large ? " score-lg" : ""}`, title: `${tier} lead`, "data-tier": tier },
    h("span", { class: "score-value" }, String(s)),
    h("span", { class: "visually-hidden" }, ` points, ${tier}`));
}

// A horizontal bar 0-100 split into the five parts, and a legend that says
// each part in words (the bar itself is hidden from assistive technology).
export function stackedBar(breakdown, score) {
  const b = breakdown || {};
  const bar = h("div", { class: "stack", "aria-hidden": "true" });
  for (const p of PARTS) {
    const v = Math.max(0, Math.min(p.max, Number(b[p.key]) || 0));
    const seg = h("span", { class: `seg seg-${p.key}`, title: `${p.label}: ${fmtNum(v)} of ${p.max}`, "data-part": p.key });
    seg.style.width = `${v.toFixed(2)}%`; // parts add up to the score, out of 100
    bar.append(seg);
  }
  const legend = h("ul", { class: "legend", "aria-label": `Score ${score ?? ""} of 100, by part` });
  for (const p of PARTS) {
    legend.append(h("li", { "data-part": p.key },
      h("span", { class: `swatch seg-${p.key}`, "aria-hidden": "true" }),
      `${p.label} ${fmtNum(b[p.key] ?? 0)}/${p.max}`));
  }
  return h("div", { class: "breakdown" }, bar, legend);
}

// The score over time: rows [{score, at}] in any order. A line with a dot per
// change, a dashed line at the hot threshold (80), and a text summary.
export function historyChart(rows) {
  const pts = rows
    .map((r) => ({ score: Number(r.score) || 0, t: new Date(r.at).getTime(), at: r.at }))
    .filter((p) => Number.isFinite(p.t))
    .sort((a, b) => a.t - b.t);
  const W = 480;
  const H = 150;
  const L = 30;
  const R = 10;
  const T = 10;
  const B = 24;
  const first = pts.length ? pts[0] : null;
  const last = pts.length ? pts[pts.length - 1] : null;
  const summary = pts.length
    ? pts.length === 1
      ? `Score ${first.score} since ${fmtDate(first.at)}`
      : `Score went from ${first.score} on ${fmtDate(first.at)} to ${last.score} on ${fmtDate(last.at)}, over ${pts.length} changes`
    : "No score changes yet";
  const root = svg("svg", { class: "chart history-chart", viewBox: `0 0 ${W} ${H}`, role: "img", "aria-label": summary });
  const y = (s) => T + (H - T - B) * (1 - s / 100);
  for (const s of [0, 50, 100]) {
    root.append(svg("line", { x1: L, x2: W - R, y1: y(s), y2: y(s), class: "chart-grid" }),
      svg("text", { x: L - 6, y: y(s) + 4, "text-anchor": "end", class: "chart-axis", text: String(s) }));
  }
  root.append(svg("line", { x1: L, x2: W - R, y1: y(80), y2: y(80), class: "chart-hot-line" }),
    svg("text", { x: W - R, y: y(80) - 4, "text-anchor": "end", class: "chart-axis", text: "hot" }));
  if (!pts.length) return root;
  // The chart runs to now: a score holds until the next change (a step line).
  const now = Math.max(Date.now(), last.t);
  const t0 = first.t;
  const span = Math.max(1, now - t0);
  const x = (t) => (pts.length === 1 ? L : L + ((W - R - L) * (t - t0)) / span);
  let d = `M${x(first.t).toFixed(1)},${y(first.score).toFixed(1)}`;
  for (let i = 1; i < pts.length; i++) {
    d += ` H${x(pts[i].t).toFixed(1)} V${y(pts[i].score).toFixed(1)}`;
  }
  d += ` H${(W - R).toFixed(1)}`;
  const area = `${d} V${y(0).toFixed(1)} H${x(first.t).toFixed(1)} Z`;
  root.append(svg("path", { d: area, class: "chart-area" }), svg("path", { d, class: "chart-line" }));
  for (const p of pts) {
    root.append(svg("circle", { cx: x(p.t).toFixed(1), cy: y(p.score).toFixed(1), r: 3.5, class: "chart-dot" },
      svg("title", { text: `${p.score} on ${fmtDate(p.at)}` })));
  }
  root.append(
    svg("text", { x: L, y: H - 6, class: "chart-axis", text: fmtDate(first.at) }),
    svg("text", { x: W - R, y: H - 6, "text-anchor": "end", class: "chart-axis", text: "now" }));
  return root;
}
