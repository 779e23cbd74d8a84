// /dashboard/emails/{id}: one email with its analysis and its text. The
// text is shown as text (a <pre>), whatever markup it contains: the new text
// first (what the analyzer read), the whole message (quoted history and
// signature) folded below it.
import { api } from "../api.js";
import { h, replace, fmtDate, fmtNum, label, badge } from "../dom.js";

function messageText(e) {
  if (!e.bodyText) return [h("p", { class: "empty" }, "This email has no text.")];
  const reply = e.replyText || "";
  if (reply === e.bodyText) return [h("pre", { class: "email-body" }, e.bodyText)];
  return [
    reply ? h("pre", { class: "email-body" }, reply) : h("p", { class: "empty" }, "No new text: the message only quotes or forwards."),
    h("details", { class: "email-quoted" },
      h("summary", {}, "Whole message, with quoted text and signature"),
      h("pre", { class: "email-full" }, e.bodyText)),
  ];
}

export async function render(ctx) {
  const id = ctx.params[0];
  const { data: e } = await api.get(`/api/emails/${encodeURIComponent(id)}`);
  if (!ctx.isCurrent()) return null;
  document.title = `${e.subject || "Email"} · leadflow`;
  const dl = h("dl", { class: "fields" });
  const add = (t, v) => dl.append(h("dt", {}, t), h("dd", {}, v === null || v === undefined || v === "" ? "—" : v));
  add("From", e.from ? (e.from.name ? `${e.from.name} <${e.from.email}>` : e.from.email) : null);
  add("To", (e.to || []).join(", "));
  add("Received", fmtDate(e.receivedAt));
  add("Direction", e.direction === "outbound" ? "sent by your team" : "received");
  add("Contact", e.contactId ? h("a", { href: `/dashboard/contacts/${encodeURIComponent(e.contactId)}` }, "View contact") : null);
  add("Intents", (e.intents || []).length ? e.intents.map((i) => badge(label(i), "intent")) : null);
  add("Sentiment", e.sentiment ? [badge(e.sentiment.label, e.sentiment.label), ` ${fmtNum(e.sentiment.score, 2)}`] : null);
  add("Urgency", e.urgency);
  add("Analyzed by", e.analyzedBy);
  if (e.attachments) add("Attachments", String(e.attachments));
  replace(ctx.root,
    h("p", { class: "crumbs" }, h("a", { href: "/dashboard/emails" }, "Emails"), " / ", "Email"),
    h("div", { class: "page-head" }, h("h1", { class: "email-subject" }, e.subject || "(no subject)")),
    h("div", { class: "grid-2 grid-email" },
      h("section", { class: "panel", "aria-labelledby": "body-title" },
        h("h2", { id: "body-title" }, "Message"),
        ...messageText(e)),
      h("section", { class: "panel", "aria-labelledby": "meta-title" },
        h("h2", { id: "meta-title" }, "Analysis"), dl)));
  return {};
}
