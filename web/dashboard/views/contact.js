// /dashboard/contacts/{id}: the contact's fields, the score with its five
// parts and how it moved, the emails in time order, and what leadflow sent.
import { api, ApiError } from "../api.js";
import { h, replace, fmtDate, fmtNum, label, note, badge } from "../dom.js";
import { historyChart, scoreBadge, stackedBar } from "../score.js";
import { debounce, draftEmail } from "./actions.js";

function field(term, value) {
  return [h("dt", {}, term), h("dd", {}, value === null || value === undefined || value === "" ? "—" : value)];
}

function sentimentText(s) {
  if (s === null || s === undefined) return "—";
  const v = Number(s);
  return `${v > 0.2 ? "positive" : v < -0.2 ? "negative" : "neutral"} (${fmtNum(v, 2)})`;
}

function timeline(list) {
  if (!list.length) return h("p", { class: "empty" }, "No emails with this contact yet.");
  return h("ol", { class: "timeline" }, list.map((e) => h("li", { class: `tl-item tl-${e.direction}` },
    h("div", { class: "tl-meta muted" },
      h("time", { datetime: e.receivedAt }, fmtDate(e.receivedAt)),
      ` · ${e.direction === "outbound" ? "sent by your team" : "received"}`,
      e.from ? ` · ${e.from.name || e.from.email}` : ""),
    h("a", { href: `/dashboard/emails/${encodeURIComponent(e.id)}`, class: "tl-subject" }, e.subject || "(no subject)"),
    h("div", { class: "tl-tags" },
      (e.intents || []).map((i) => badge(label(i), "intent")),
      e.sentiment ? badge(e.sentiment.label, e.sentiment.label) : null),
    // The server cuts snippets at 200 bytes: say so when one was cut.
    e.snippet ? h("p", { class: "tl-snippet" }, new TextEncoder().encode(e.snippet).length >= 190 ? `${e.snippet}…` : e.snippet) : null)));
}

function sentTable(list) {
  if (!list.length) return h("p", { class: "empty" }, "Nothing sent to this contact yet.");
  return h("div", { class: "table-wrap" }, h("table", { class: "data stack-sm" },
    h("thead", {}, h("tr", {}, ["Subject", "Status", "Provider", "Queued", "Sent"].map((t) => h("th", { scope: "col" }, t)))),
    h("tbody", {}, list.map((s) => h("tr", {},
      h("th", { scope: "row" }, s.subject || "(no subject)"),
      h("td", { "data-label": "Status" }, badge(s.status, s.status), s.error ? h("span", { class: "muted" }, ` ${s.error}`) : null),
      h("td", { "data-label": "Provider" }, s.provider || "—"),
      h("td", { "data-label": "Queued", class: "nowrap" }, fmtDate(s.createdAt)),
      h("td", { "data-label": "Sent", class: "nowrap" }, fmtDate(s.sentAt)))))));
}

const EVENT_TEXT = { open: "Opened", click: "Clicked", unsubscribe: "Unsubscribed", bounce: "Bounced" };

// Opens, clicks, unsubscribes and bounces of what was sent; bots are marked
// (they do not count toward the score).
function eventList(list) {
  if (!list.length) return h("p", { class: "empty" }, "No opens or clicks yet.");
  return h("ol", { class: "timeline" }, list.map((v) => h("li", { class: `tl-item tl-event tl-${v.kind}` },
    h("div", { class: "tl-meta muted" },
      h("time", { datetime: v.at }, fmtDate(v.at)),
      v.bot ? " · " : "", v.bot ? badge(`bot${v.botReason ? `: ${v.botReason}` : ""}`, "muted") : null),
    h("div", {}, h("strong", {}, EVENT_TEXT[v.kind] || v.kind), " ", v.subject ? `“${v.subject}”` : ""),
    v.url ? h("p", { class: "tl-snippet" }, v.url) : null)));
}

export async function render(ctx) {
  const id = ctx.params[0];
  const { data: c } = await api.get(`/api/contacts/${encodeURIComponent(id)}`);
  if (!ctx.isCurrent()) return null;
  const who = c.name || c.email;
  document.title = `${who} · leadflow`;
  const draftBtn = h("button", { type: "button", class: "button", "data-action": "draft" }, "Draft email");
  draftBtn.addEventListener("click", () => draftEmail(ctx, c, draftBtn));
  // Unsubscribe stops every email to the contact and cancels its campaign
  // enrollments; resubscribe allows email again.
  const subVerb = c.unsubscribedAt ? "resubscribe" : "unsubscribe";
  const subBtn = h("button", { type: "button", class: "button button-quiet", "data-action": subVerb },
    c.unsubscribedAt ? "Resubscribe" : "Unsubscribe");
  subBtn.addEventListener("click", async () => {
    subBtn.disabled = true;
    try {
      await api.post(`/api/contacts/${encodeURIComponent(c.id)}/${subVerb}`);
      ctx.toast(subVerb === "unsubscribe" ? `${who} is unsubscribed.` : `${who} is subscribed again.`);
      ctx.navigate(location.pathname + location.search, { replace: true });
    } catch (err) {
      subBtn.disabled = false;
      ctx.toast(err.message, { kind: "alert" });
    }
  });
  const emailsEl = h("div", { id: "contact-emails" }, note("Loading…"));
  const sentEl = h("div", { id: "contact-sent" }, note("Loading…"));
  const eventsEl = h("div", { id: "contact-events" }, note("Loading…"));
  const scoreEl = h("div", { id: "contact-score" });
  const historyEl = h("div", { id: "score-history" }, note("Loading…"));
  const emailCount = h("span", { class: "muted" });

  function renderScore(contact) {
    replace(scoreEl,
      h("div", { class: "score-row" }, scoreBadge(contact.score, { large: true }),
        h("span", { class: "muted" }, `${contact.tier || ""} lead · out of 100`)),
      stackedBar(contact.scoreBreakdown, contact.score),
      (contact.scoreReasons || []).length
        ? h("ul", { class: "reasons", "aria-label": "Why this score" }, contact.scoreReasons.map((r) => h("li", {}, r)))
        : null);
  }
  renderScore(c);

  replace(ctx.root,
    h("p", { class: "crumbs" }, h("a", { href: "/dashboard/contacts" }, "Contacts"), " / ", who),
    h("div", { class: "page-head" },
      h("div", {},
        h("h1", {}, who),
        h("p", { class: "sub" }, [c.jobTitle, c.company].filter(Boolean).join(" · ") || c.email)),
      h("div", { class: "actions" },
        h("a", { href: `/dashboard/drafts?contactId=${encodeURIComponent(c.id)}&status=all`, class: "button button-quiet" }, "Drafts"),
        subBtn,
        draftBtn)),
    h("div", { class: "grid-2" },
      h("section", { class: "panel", "aria-labelledby": "fields-title" },
        h("h2", { id: "fields-title" }, "Details"),
        h("dl", { class: "fields" },
          field("Email", c.email),
          field("Company", c.company),
          field("Job title", c.jobTitle),
          field("Status", badge(c.status, c.status)),
          field("Tags", (c.tags || []).length ? c.tags.map((t) => badge(t, "tag")) : null),
          field("Sentiment", sentimentText(c.sentiment)),
          field("Last interaction", fmtDate(c.lastInteraction)),
          field("Added", fmtDate(c.createdAt)),
          c.unsubscribedAt ? field("Unsubscribed", fmtDate(c.unsubscribedAt)) : null)),
      h("section", { class: "panel", "aria-labelledby": "score-title" },
        h("h2", { id: "score-title" }, "Lead score"), scoreEl,
        h("h3", { class: "subhead" }, "Score over time"), historyEl)),
    h("section", { class: "panel", "aria-labelledby": "emails-title" },
      h("div", { class: "panel-head" }, h("h2", { id: "emails-title" }, "Emails"), emailCount), emailsEl),
    h("section", { class: "panel panel-flush", "aria-labelledby": "sent-title" },
      h("div", { class: "panel-head" }, h("h2", { id: "sent-title" }, "Sent by leadflow")), sentEl),
    h("section", { class: "panel", "aria-labelledby": "events-title" },
      h("div", { class: "panel-head" }, h("h2", { id: "events-title" }, "Opens and clicks")), eventsEl));

  async function loadEmails() {
    try {
      const { data, meta } = await api.get("/api/emails", { contactId: c.id, pageSize: 50 });
      if (!ctx.isCurrent()) return;
      emailCount.textContent = meta.total > data.length ? `newest ${data.length} of ${meta.total}` : `${data.length}`;
      replace(emailsEl, timeline(data));
    } catch (err) {
      if (ctx.isCurrent()) replace(emailsEl, note(err.message, "error"));
    }
  }
  async function loadSent() {
    try {
      const { data } = await api.get("/api/emails/sent", { contactId: c.id, pageSize: 50 });
      if (ctx.isCurrent()) replace(sentEl, sentTable(data));
    } catch (err) {
      if (ctx.isCurrent()) replace(sentEl, note(err.message, "error"));
    }
  }
  async function loadEvents() {
    try {
      const { data } = await api.get(`/api/contacts/${encodeURIComponent(c.id)}/events`, { limit: 100 });
      if (ctx.isCurrent()) replace(eventsEl, eventList(data));
    } catch (err) {
      if (ctx.isCurrent()) replace(eventsEl, note(err.message, "error"));
    }
  }
  async function loadHistory() {
    try {
      const { data } = await api.get(`/api/contacts/${encodeURIComponent(c.id)}/score-history`, { limit: 100 });
      if (ctx.isCurrent()) replace(historyEl, historyChart(data));
    } catch (err) {
      if (!ctx.isCurrent()) return;
      // A server without the history route: say so rather than fail the page.
      replace(historyEl, note(err instanceof ApiError && err.status === 404
        ? "This server does not keep a score history yet."
        : err.message, err.status === 404 ? "muted" : "error"));
    }
  }
  async function loadScore() {
    try {
      const { data } = await api.get(`/api/contacts/${encodeURIComponent(c.id)}`);
      if (ctx.isCurrent()) renderScore(data);
    } catch (err) { /* keep what is shown */ }
  }
  await Promise.all([loadEmails(), loadSent(), loadEvents(), loadHistory()]);
  const refresh = debounce(() => { loadEmails(); loadScore(); loadSent(); loadEvents(); loadHistory(); });
  return {
    onEvent(msg) {
      const d = msg.data || {};
      const cid = d.contactId || (d.contact && d.contact.id);
      if (!cid || cid === c.id) refresh();
    },
    dispose() { refresh.cancel(); },
  };
}
