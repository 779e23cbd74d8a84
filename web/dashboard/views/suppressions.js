// /dashboard/suppressions: the addresses no email goes to (hard bounces,
// spam complaints, unsubscribes, manual entries), with a form to add one and
// a button to take one off, which asks why.
import { api } from "../api.js";
import { h, replace, fmtDate, note, badge } from "../dom.js";
import { bindFilters, pager, selectField } from "./contacts.js";

const REASONS = ["bounce", "complaint", "unsubscribe", "manual"];
const PAGE_SIZE = 25;

export async function render(ctx) {
  document.title = "Suppression list · leadflow";
  const q = ctx.query;
  const filters = h("form", { class: "filters", role: "search", "aria-label": "Find suppressed addresses" },
    h("div", { class: "field field-wide" },
      h("label", { for: "f-email" }, "Address contains"),
      h("input", { id: "f-email", name: "email", type: "search", value: q.get("email") || "", maxlength: 320 })),
    selectField("reason", "Reason", [["", "Any reason"], ...REASONS.map((r) => [r, r])], q.get("reason") || ""),
    h("div", { class: "field field-actions" },
      h("button", { type: "submit", class: "button" }, "Apply"),
      h("a", { href: "/dashboard/suppressions", class: "button button-quiet" }, "Clear")));
  bindFilters(ctx, filters, "/dashboard/suppressions");

  const addEmail = h("input", { id: "s-email", name: "email", type: "email", required: true, maxlength: 320 });
  const addNote = h("input", { id: "s-note", name: "note", type: "text", required: true, maxlength: 500 });
  const addForm = h("form", { class: "filters", "aria-label": "Add an address" },
    h("div", { class: "field" }, h("label", { for: "s-email" }, "Address"), addEmail),
    h("div", { class: "field field-wide" }, h("label", { for: "s-note" }, "Why"), addNote),
    h("div", { class: "field field-actions" }, h("button", { type: "submit", class: "button" }, "Suppress")));
  addForm.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    try {
      await api.post("/api/suppressions", { email: addEmail.value, note: addNote.value });
    } catch (err) {
      ctx.toast(err.message, { kind: "error" });
      return;
    }
    addEmail.value = "";
    addNote.value = "";
    ctx.toast("Address suppressed.");
    load();
  });

  const results = h("div", { id: "suppression-results" }, note("Loading…"));
  const count = h("p", { class: "sub", "aria-live": "polite" });
  replace(ctx.root,
    h("div", { class: "page-head" }, h("div", {}, h("h1", {}, "Suppression list"), count),
      h("a", { href: "/dashboard/emails", class: "button button-quiet" }, "← Emails")),
    h("section", { class: "panel", "aria-label": "Add an address" }, addForm),
    filters,
    h("section", { class: "panel panel-flush", "aria-label": "Suppressed addresses" }, results));

  async function remove(s) {
    const why = window.prompt(`Why may ${s.email} be sent to again?`);
    if (!why) return;
    try {
      await api.request("DELETE", `/api/suppressions/${encodeURIComponent(s.id)}`, { query: { reason: why } });
    } catch (err) {
      ctx.toast(err.message, { kind: "error" });
      return;
    }
    ctx.toast(`${s.email} can be sent to again.`);
    load();
  }

  async function load() {
    let res;
    try {
      res = await api.get("/api/suppressions", {
        email: q.get("email"), reason: q.get("reason"), page: q.get("page") || 1, pageSize: PAGE_SIZE,
      });
    } catch (err) {
      if (ctx.isCurrent()) replace(results, note(err.message, "error"));
      return;
    }
    if (!ctx.isCurrent()) return;
    const { data, meta } = res;
    count.textContent = `${meta.total ?? data.length} ${meta.total === 1 ? "address" : "addresses"} no email goes to`;
    if (!data.length) {
      replace(results, h("p", { class: "empty" }, "No suppressed addresses match."));
      return;
    }
    replace(results,
      h("div", { class: "table-wrap" }, h("table", { class: "data stack-sm" },
        h("caption", { class: "visually-hidden" }, "Suppressed addresses, newest first"),
        h("thead", {}, h("tr", {}, ["Address", "Reason", "Note", "Since", ""].map((t) => h("th", { scope: "col" }, t)))),
        h("tbody", {}, data.map((s) => {
          const off = h("button", { type: "button", class: "button button-quiet" }, "Remove");
          off.addEventListener("click", () => remove(s));
          return h("tr", { "data-suppression-id": s.id },
            h("th", { scope: "row", class: "clip" }, s.email),
            h("td", { "data-label": "Reason" }, badge(s.reason, s.reason)),
            h("td", { "data-label": "Note", class: "clip" }, s.note || "—"),
            h("td", { "data-label": "Since", class: "nowrap" }, h("time", { datetime: s.createdAt }, fmtDate(s.createdAt))),
            h("td", {}, off));
        })))),
      pager(ctx, meta, "/dashboard/suppressions", q));
  }
  await load();
  return {};
}
