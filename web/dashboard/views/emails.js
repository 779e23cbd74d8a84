// /dashboard/emails: analyzed emails, newest first, with intent and
// sentiment filters.
import { api } from "../api.js";
import { h, replace, fmtDate, label, note, badge } from "../dom.js";
import { debounce } from "./actions.js";
import { bindFilters, pager, selectField } from "./contacts.js";

export const INTENTS = ["meeting_request", "pricing_inquiry", "question", "feature_request", "follow_up", "general", "complaint"];
const PAGE_SIZE = 25;

export async function render(ctx) {
  document.title = "Emails · leadflow";
  const q = ctx.query;
  const form = h("form", { class: "filters", role: "search", "aria-label": "Find emails" },
    h("div", { class: "field field-wide" },
      h("label", { for: "f-q" }, "Search subject or sender"),
      h("input", { id: "f-q", name: "q", type: "search", value: q.get("q") || "", maxlength: 200 })),
    selectField("intent", "Intent", [["", "Any intent"], ...INTENTS.map((i) => [i, label(i)])], q.get("intent") || ""),
    selectField("sentiment", "Sentiment", [["", "Any sentiment"], ["positive", "positive"], ["neutral", "neutral"], ["negative", "negative"]], q.get("sentiment") || ""),
    q.get("contactId") ? h("input", { type: "hidden", name: "contactId", value: q.get("contactId") }) : null,
    h("div", { class: "field field-actions" },
      h("button", { type: "submit", class: "button" }, "Apply"),
      h("a", { href: "/dashboard/emails", class: "button button-quiet" }, "Clear")));
  bindFilters(ctx, form, "/dashboard/emails");
  const results = h("div", { id: "email-results" }, note("Loading…"));
  const count = h("p", { class: "sub", "aria-live": "polite" });
  replace(ctx.root,
    h("div", { class: "page-head" }, h("div", {}, h("h1", {}, "Emails"), count),
      h("a", { href: "/dashboard/suppressions", class: "button button-quiet" }, "Suppression list")),
    form,
    h("section", { class: "panel panel-flush", "aria-label": "Emails" }, results));

  async function load() {
    let res;
    try {
      res = await api.get("/api/emails", {
        q: q.get("q"), intent: q.get("intent"), sentiment: q.get("sentiment"),
        contactId: q.get("contactId"), page: q.get("page") || 1, pageSize: PAGE_SIZE,
      });
    } catch (err) {
      if (ctx.isCurrent()) replace(results, note(err.message, "error"));
      return;
    }
    if (!ctx.isCurrent()) return;
    const { data, meta } = res;
    count.textContent = `${meta.total ?? data.length} ${meta.total === 1 ? "email" : "emails"}, newest first`;
    if (!data.length) {
      replace(results, h("p", { class: "empty" }, "No emails match these filters."));
      return;
    }
    replace(results,
      h("div", { class: "table-wrap" }, h("table", { class: "data stack-sm" },
        h("caption", { class: "visually-hidden" }, "Emails, newest first"),
        h("thead", {}, h("tr", {}, ["Subject", "From", "Received", "Intents", "Sentiment"].map((t) => h("th", { scope: "col" }, t)))),
        h("tbody", {}, data.map((e) => h("tr", { "data-email-id": e.id },
          h("th", { scope: "row", class: "clip" }, h("a", { href: `/dashboard/emails/${encodeURIComponent(e.id)}` }, e.subject || "(no subject)")),
          h("td", { "data-label": "From" }, e.from ? (e.from.name || e.from.email) : "—",
            e.direction === "outbound" ? h("span", { class: "muted" }, " (sent)") : null),
          h("td", { "data-label": "Received", class: "nowrap" }, h("time", { datetime: e.receivedAt }, fmtDate(e.receivedAt))),
          h("td", { "data-label": "Intents" }, (e.intents || []).length ? e.intents.map((i) => badge(label(i), "intent")) : "—"),
          h("td", { "data-label": "Sentiment" }, e.sentiment ? badge(e.sentiment.label, e.sentiment.label) : "—")))))),
      pager(ctx, meta, "/dashboard/emails", q));
  }
  await load();
  const refresh = debounce(load);
  return {
    onEvent(msg) {
      if (msg.type === "email_processed" && !q.get("page")) refresh();
    },
    dispose() { refresh.cancel(); },
  };
}
