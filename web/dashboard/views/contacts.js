// /dashboard/contacts: search, filters (status, tier, tag) and paging. The
// filters live in the address, so back, forward and shared links keep them.
// Below the list, CSV import and export (views/csv.js).
import { api } from "../api.js";
import { h, replace, fmtDate, note, badge } from "../dom.js";
import { scoreBadge } from "../score.js";
import { debounce } from "./actions.js";
import { csvPanel } from "./csv.js";

const TIERS = { hot: { minScore: 80 }, warm: { minScore: 60, maxScore: 79 }, cold: { maxScore: 59 } };
const STATUSES = ["prospect", "lead", "customer", "contact"];
const SORTS = [["-score", "Best score first"], ["-lastInteraction", "Latest interaction"], ["name", "Name A-Z"], ["-createdAt", "Newest"]];
const PAGE_SIZE = 25;

export function selectField(name, text, options, value) {
  const id = `f-${name}`;
  return h("div", { class: "field" },
    h("label", { for: id }, text),
    h("select", { id, name },
      options.map(([v, t]) => h("option", { value: v, selected: v === value }, t))));
}

// Reads a filter form into the page's address and goes there.
export function bindFilters(ctx, form, basePath) {
  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    const next = new URLSearchParams();
    for (const [k, v] of new FormData(form)) if (String(v).trim()) next.set(k, String(v).trim());
    const s = next.toString();
    ctx.navigate(`${basePath}${s ? `?${s}` : ""}`);
  });
}

export function pager(ctx, meta, basePath, query) {
  const page = meta.page || 1;
  const size = meta.pageSize || PAGE_SIZE;
  const total = meta.total ?? 0;
  const pages = Math.max(1, Math.ceil(total / size));
  const go = (p) => {
    const q = new URLSearchParams(query);
    if (p > 1) q.set("page", String(p));
    else q.delete("page");
    const s = q.toString();
    return `${basePath}${s ? `?${s}` : ""}`;
  };
  const from = total ? (page - 1) * size + 1 : 0;
  const to = Math.min(total, page * size);
  return h("nav", { class: "pager", "aria-label": "Pages" },
    h("span", { class: "muted" }, total ? `${from}-${to} of ${total}` : "None", pages > 1 ? ` · page ${page} of ${pages}` : ""),
    h("span", { class: "actions" },
      page > 1 ? h("a", { href: go(page - 1), class: "button button-quiet button-small", rel: "prev" }, "Previous") : null,
      page < pages ? h("a", { href: go(page + 1), class: "button button-quiet button-small", rel: "next" }, "Next") : null));
}

export async function render(ctx) {
  document.title = "Contacts · leadflow";
  const q = ctx.query;
  const form = h("form", { class: "filters", role: "search", "aria-label": "Find contacts" },
    h("div", { class: "field field-wide" },
      h("label", { for: "f-q" }, "Search"),
      h("input", { id: "f-q", name: "q", type: "search", value: q.get("q") || "", maxlength: 200, placeholder: "Name, email or company" })),
    selectField("tier", "Tier", [["", "Any tier"], ["hot", "Hot (80+)"], ["warm", "Warm (60-79)"], ["cold", "Cold (below 60)"]], q.get("tier") || ""),
    selectField("status", "Status", [["", "Any status"], ...STATUSES.map((s) => [s, s])], q.get("status") || ""),
    h("div", { class: "field" },
      h("label", { for: "f-tag" }, "Tag"),
      h("input", { id: "f-tag", name: "tag", type: "text", value: q.get("tag") || "", maxlength: 50 })),
    selectField("sort", "Sort", SORTS, q.get("sort") || "-score"),
    h("div", { class: "field field-actions" },
      h("button", { type: "submit", class: "button" }, "Apply"),
      h("a", { href: "/dashboard/contacts", class: "button button-quiet" }, "Clear")));
  bindFilters(ctx, form, "/dashboard/contacts");
  const results = h("div", { id: "contact-results" }, note("Loading…"));
  const count = h("p", { class: "sub", "aria-live": "polite" });
  replace(ctx.root,
    h("div", { class: "page-head" }, h("div", {}, h("h1", {}, "Contacts"), count)),
    form,
    h("section", { class: "panel panel-flush", "aria-label": "Contacts" }, results),
    csvPanel(() => load()));

  async function load() {
    const tier = TIERS[q.get("tier")] || {};
    let res;
    try {
      res = await api.get("/api/contacts", {
        q: q.get("q"), status: q.get("status"), tag: q.get("tag"),
        page: q.get("page") || 1, pageSize: PAGE_SIZE, sort: q.get("sort") || "-score", ...tier,
      });
    } catch (err) {
      if (ctx.isCurrent()) replace(results, note(err.message, "error"));
      return;
    }
    if (!ctx.isCurrent()) return;
    const { data, meta } = res;
    count.textContent = `${meta.total ?? data.length} ${meta.total === 1 ? "contact" : "contacts"}`;
    if (!data.length) {
      replace(results, h("p", { class: "empty" }, "No contacts match these filters."));
      return;
    }
    const rows = data.map((c) => h("tr", { "data-contact-id": c.id },
      h("th", { scope: "row" }, h("a", { href: `/dashboard/contacts/${encodeURIComponent(c.id)}` }, c.name || c.email)),
      h("td", { "data-label": "Score" }, scoreBadge(c.score)),
      h("td", { "data-label": "Email", class: "clip" }, c.email),
      h("td", { "data-label": "Company" }, c.company || "—"),
      h("td", { "data-label": "Status" }, badge(c.status, c.status)),
      h("td", { "data-label": "Tags" }, (c.tags || []).length ? c.tags.map((t) => badge(t, "tag")) : "—"),
      h("td", { "data-label": "Last interaction", class: "nowrap" }, fmtDate(c.lastInteraction))));
    replace(results,
      h("div", { class: "table-wrap" },
        h("table", { class: "data stack-sm" },
          h("caption", { class: "visually-hidden" }, "Contacts"),
          h("thead", {}, h("tr", {}, ["Name", "Score", "Email", "Company", "Status", "Tags", "Last interaction"]
            .map((t) => h("th", { scope: "col" }, t)))),
          h("tbody", {}, rows))),
      pager(ctx, meta, "/dashboard/contacts", q));
  }
  await load();
  const refresh = debounce(load);
  return {
    onEvent(msg) {
      if (msg.type === "hot_lead" || msg.type === "email_processed") refresh();
    },
    dispose() { refresh.cancel(); },
  };
}
