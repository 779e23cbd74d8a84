// /dashboard/drafts: the review queue. Each draft can be edited (subject,
// body, call to action; PATCH), approved, rejected, and once approved sent.
// ?status= picks the tab (draft by default, or approved, sent, rejected,
// all); ?contactId= shows one contact's drafts.
import { api } from "../api.js";
import { h, replace, fmtDate, label, note, badge } from "../dom.js";
import { scoreBadge } from "../score.js";
import { debounce } from "./actions.js";
import { pager } from "./contacts.js";

const TABS = [["draft", "Awaiting review"], ["approved", "Approved"], ["sent", "Sent"], ["rejected", "Rejected"], ["all", "All"]];
const PAGE_SIZE = 20;
const SUBJECT_MAX = 200;
const BODY_MAX = 20000;
const CTA_MAX = 500;

function reasonText(r) {
  if (r === "hot_lead") return "for a new hot lead";
  if (r === "warm_lead") return "for a warm lead";
  if (r === "requested") return "on request";
  return r ? label(r) : "";
}

// One draft as a card: a preview, and the editor behind a "Review" button
// (open from the start when open is true). onChange(updated) re-renders it.
function draftCard(ctx, d, onChange, open) {
  const who = d.contact?.name || d.contact?.email || "a contact";
  const uid = d.id.replace(/[^a-zA-Z0-9_-]/g, "");
  const titleId = `draft-title-${uid}`;
  const status = h("p", { class: "status-note muted", role: "status", "aria-live": "polite" });
  const editable = d.status === "draft" || d.status === "approved";
  const head = h("div", { class: "draft-head" },
    h("div", {},
      h("h2", { id: titleId }, "To ", h("a", { href: `/dashboard/contacts/${encodeURIComponent(d.contactId)}` }, who)),
      h("p", { class: "draft-meta muted" },
        d.contact?.name ? `${d.contact.email} · ` : "",
        `drafted ${fmtDate(d.createdAt)} ${reasonText(d.reason)}`)),
    h("div", { class: "draft-badges" },
      d.scoreAtDraft !== null && d.scoreAtDraft !== undefined
        ? h("span", { class: "muted small" }, "Score when drafted ", scoreBadge(d.scoreAtDraft))
        : null,
      badge(d.status, d.status)));
  const card = h("li", { class: "draft", "data-draft-id": d.id, "data-status": d.status, "aria-labelledby": titleId }, head);
  const panelId = `draft-panel-${uid}`;
  const preview = h("div", { class: "draft-preview" },
    h("p", { class: "subject-view" }, d.subject),
    h("p", { class: "body-preview" }, (d.body || "").replace(/\s+/g, " ").slice(0, 400)));
  const toggle = h("button", { type: "button", class: "button button-quiet button-small", "data-action": "toggle",
    "aria-expanded": "false", "aria-controls": panelId }, editable ? "Review and edit" : "Show the email");
  const panel = h("div", { id: panelId, class: "draft-panel", hidden: true });
  const setOpen = (on) => {
    panel.hidden = !on;
    preview.hidden = on;
    toggle.setAttribute("aria-expanded", on ? "true" : "false");
    toggle.textContent = on ? "Close" : editable ? "Review and edit" : "Show the email";
  };
  toggle.addEventListener("click", () => {
    const on = panel.hidden;
    setOpen(on);
    if (on) {
      const first = panel.querySelector("input, textarea");
      if (first) first.focus();
    }
  });
  head.querySelector(".draft-badges").append(toggle);
  card.append(preview, panel);

  if (!editable) {
    panel.append(
      h("p", { class: "subject-view" }, d.subject),
      h("pre", { class: "body-view" }, d.body),
      d.delivery
        ? h("p", { class: "muted small" }, `Delivery: ${d.delivery.status}`, d.delivery.provider ? ` via ${d.delivery.provider}` : "",
          d.delivery.sentAt ? ` · ${fmtDate(d.delivery.sentAt)}` : "")
        : null,
      d.reviewedAt ? h("p", { class: "muted small" }, `Reviewed ${fmtDate(d.reviewedAt)}`) : null);
    setOpen(Boolean(open));
    return card;
  }

  const subj = h("input", { id: `subject-${uid}`, name: "subject", type: "text", required: true, maxlength: SUBJECT_MAX, value: d.subject || "" });
  const body = h("textarea", { id: `body-${uid}`, name: "body", rows: 12, required: true, maxlength: BODY_MAX });
  body.value = d.body || "";
  const cta = h("input", { id: `cta-${uid}`, name: "callToAction", type: "text", maxlength: CTA_MAX, value: d.callToAction || "" });
  const others = (d.subjects || []).filter((s) => s && s !== d.subject);
  const saveBtn = h("button", { type: "submit", class: "button button-quiet", "data-action": "save", disabled: true }, "Save changes");
  const rejectBtn = h("button", { type: "button", class: "button button-danger", "data-action": "reject" }, "Reject");
  const mainBtn = d.status === "draft"
    ? h("button", { type: "button", class: "button button-good", "data-action": "approve" }, "Approve")
    : h("button", { type: "button", class: "button", "data-action": "send" }, "Send");
  const previewBtn = h("button", { type: "button", class: "button button-quiet", "data-action": "preview" }, "Preview");
  const testBtn = h("button", { type: "button", class: "button button-quiet", "data-action": "test-send" }, "Send me a test");
  const buttons = [saveBtn, rejectBtn, mainBtn];
  const previewBox = h("div", { class: "email-preview", hidden: true, "aria-live": "polite" });

  const dirty = () => subj.value !== (d.subject || "") || body.value !== (d.body || "") || cta.value !== (d.callToAction || "");
  const onInput = () => {
    saveBtn.disabled = !dirty();
    if (d.status === "draft") {
      mainBtn.textContent = dirty() ? "Save and approve" : "Approve";
    } else {
      // An edited draft goes back to review (the server makes it a draft again).
      mainBtn.disabled = dirty();
      status.className = "status-note muted";
      status.textContent = dirty() ? "Saving sends this draft back to review." : "";
    }
  };
  for (const el of [subj, body, cta]) el.addEventListener("input", onInput);

  const form = h("form", { "aria-labelledby": titleId, novalidate: true },
    h("div", { class: "field" },
      h("label", { for: subj.id }, "Subject"), subj,
      others.length
        ? h("div", { class: "subject-options", role: "group", "aria-label": "Other subject lines" },
          h("span", { class: "hint" }, "Other suggestions:"),
          others.map((s) => {
            const b = h("button", { type: "button", class: "button button-quiet button-small" }, s);
            b.addEventListener("click", () => { subj.value = s; onInput(); subj.focus(); });
            return b;
          }))
        : null),
    h("div", { class: "field" }, h("label", { for: body.id }, "Body"), body),
    h("div", { class: "field" },
      h("label", { for: cta.id }, "Call to action ", h("span", { class: "hint" }, "(optional)")), cta),
    h("div", { class: "actions" }, status, buttons),
    h("div", { class: "actions" }, previewBtn, testBtn),
    previewBox);

  // What would be sent, rendered by the server as it sends (the edits so far
  // included, unsaved): every value shown as text.
  const previewBody = () => (dirty()
    ? { contactId: d.contactId, subject: subj.value, text: body.value }
    : { draftId: d.id });
  function showPreview(p, extra) {
    const rows = Object.entries(p.headers || {}).map(([k, v]) => h("div", {}, h("dt", {}, k), h("dd", {}, v)));
    previewBox.replaceChildren(
      ...(extra ? [h("p", { class: "status-note" }, extra)] : []),
      h("dl", { class: "preview-headers" }, rows),
      h("pre", { class: "body-view" }, p.text),
      h("details", {}, h("summary", {}, "HTML part (source)"), h("pre", { class: "body-view" }, p.html)));
    previewBox.hidden = false;
  }
  previewBtn.addEventListener("click", async () => {
    const problem = check();
    if (problem) { status.className = "status-note error"; status.textContent = problem; return; }
    try {
      showPreview((await api.post("/api/emails/preview", previewBody())).data);
    } catch (err) {
      status.className = "status-note error";
      status.textContent = err.message;
    }
  });
  testBtn.addEventListener("click", async () => {
    const problem = check();
    if (problem) { status.className = "status-note error"; status.textContent = problem; return; }
    testBtn.disabled = true;
    try {
      const { data } = await api.post("/api/emails/test-send", previewBody());
      showPreview(data, data.sent ? `Test sent to ${data.to} via ${data.provider}.` : `The test was not sent: ${data.error}`);
      ctx.toast(data.sent ? `Test sent to ${data.to}.` : "The test was not sent.", { kind: data.sent ? "good" : "alert" });
    } catch (err) {
      status.className = "status-note error";
      status.textContent = err.message;
    } finally {
      testBtn.disabled = false;
    }
  });

  function busy(on) {
    for (const b of buttons) b.disabled = on || (b === saveBtn && !dirty()) || (b === mainBtn && d.status === "approved" && dirty());
    card.setAttribute("aria-busy", on ? "true" : "false");
  }

  function check() {
    if (!subj.value.trim()) return "The subject cannot be empty.";
    if (/[\r\n]/.test(subj.value)) return "The subject must be one line.";
    if (!body.value.trim()) return "The body cannot be empty.";
    return null;
  }

  async function save() {
    const patch = {};
    if (subj.value !== (d.subject || "")) patch.subject = subj.value;
    if (body.value !== (d.body || "")) patch.body = body.value;
    if (cta.value !== (d.callToAction || "") && cta.value.trim()) patch.callToAction = cta.value;
    if (!Object.keys(patch).length) return d;
    const { data } = await api.patch(`/api/content/${encodeURIComponent(d.id)}`, patch);
    return data;
  }

  async function act(kind) {
    const problem = kind !== "reject" ? check() : null;
    if (problem) {
      status.textContent = problem;
      status.className = "status-note error";
      return;
    }
    busy(true);
    status.className = "status-note muted";
    status.textContent = kind === "save" ? "Saving…" : kind === "send" ? "Sending…" : "Working…";
    try {
      let cur = d;
      if (kind !== "reject" && dirty()) cur = await save();
      if (kind === "approve") cur = (await api.post(`/api/content/${encodeURIComponent(d.id)}/approve`)).data;
      else if (kind === "reject") cur = (await api.post(`/api/content/${encodeURIComponent(d.id)}/reject`)).data;
      else if (kind === "send") cur = (await api.post(`/api/content/${encodeURIComponent(d.id)}/send`)).data;
      const done = { save: "Changes saved.", approve: `Approved the email to ${who}.`, reject: `Rejected the draft for ${who}.`, send: `The email to ${who} is on its way.` }[kind];
      ctx.toast(done, { kind: kind === "reject" ? "info" : "good" });
      onChange(cur, kind);
    } catch (err) {
      busy(false);
      status.className = "status-note error";
      status.textContent = err.message;
    }
  }

  let confirmTimer = null;
  form.addEventListener("submit", (ev) => { ev.preventDefault(); act("save"); });
  rejectBtn.addEventListener("click", () => act("reject"));
  mainBtn.addEventListener("click", () => {
    if (d.status === "draft") return act("approve");
    // Sending is the one step that cannot be undone: a second click confirms.
    if (mainBtn.dataset.confirm !== "1") {
      mainBtn.dataset.confirm = "1";
      mainBtn.textContent = `Confirm: send to ${d.contact?.email || who}`;
      confirmTimer = setTimeout(() => { mainBtn.dataset.confirm = ""; mainBtn.textContent = "Send"; }, 6000);
      return undefined;
    }
    clearTimeout(confirmTimer);
    return act("send");
  });
  panel.append(form);
  setOpen(Boolean(open));
  return card;
}

export async function render(ctx) {
  document.title = "Drafts · leadflow";
  const q = ctx.query;
  const tab = TABS.some(([v]) => v === q.get("status")) ? q.get("status") : "draft";
  const contactId = q.get("contactId");
  const tabHref = (v) => {
    const p = new URLSearchParams();
    if (v !== "draft") p.set("status", v);
    if (contactId) p.set("contactId", contactId);
    const s = p.toString();
    return `/dashboard/drafts${s ? `?${s}` : ""}`;
  };
  const count = h("p", { class: "sub", "aria-live": "polite" });
  const list = h("div", { id: "drafts" }, note("Loading…"));
  replace(ctx.root,
    h("div", { class: "page-head" }, h("div", {}, h("h1", {}, "Drafts"), count)),
    ctx.flash ? h("p", { class: "flash", role: "status" }, ctx.flash) : null,
    h("nav", { class: "tabs", "aria-label": "Drafts by status" },
      TABS.map(([v, t]) => h("a", { href: tabHref(v), "aria-current": v === tab ? "page" : null, "data-tab": v }, t))),
    contactId
      ? h("p", { class: "muted" }, "Showing one contact's drafts. ",
        h("a", { href: tab === "draft" ? "/dashboard/drafts" : `/dashboard/drafts?status=${tab}` }, "Show every contact"))
      : null,
    list);

  async function load() {
    let res;
    try {
      res = await api.get("/api/content", {
        status: tab === "all" ? null : tab, contactId, page: q.get("page") || 1, pageSize: PAGE_SIZE,
      });
    } catch (err) {
      if (ctx.isCurrent()) replace(list, note(err.message, "error"));
      return;
    }
    if (!ctx.isCurrent()) return;
    const { data, meta } = res;
    const total = meta.total ?? data.length;
    count.textContent = tab === "draft" ? `${total} awaiting review` : `${total} ${total === 1 ? "draft" : "drafts"}`;
    if (!data.length) {
      replace(list, h("section", { class: "panel" }, h("p", { class: "empty" },
        tab === "draft" ? "Nothing to review. Drafts written for your hot leads show up here." : "No drafts here.")));
      return;
    }
    const ol = h("ol", { class: "drafts" });
    const openAll = data.length <= 2;
    for (const d of data) {
      const put = (cur, open) => {
        const next = draftCard(ctx, cur, (updated) => {
          const el = put(updated, true);
          ol.replaceChild(el, ol.querySelector(`[data-draft-id="${CSS.escape(cur.id)}"]`));
          const heading = el.querySelector("h2");
          heading.setAttribute("tabindex", "-1");
          heading.focus();
          if (ctx.refreshDraftCount) ctx.refreshDraftCount();
        }, open);
        return next;
      };
      ol.append(put(d, openAll));
    }
    replace(list, ol, meta.total > data.length ? h("div", { class: "panel panel-flush" }, pager(ctx, meta, "/dashboard/drafts", q)) : null);
  }
  await load();
  const refresh = debounce(() => {
    // Keep what someone is typing: refresh only when no draft has unsaved edits.
    const editing = [...list.querySelectorAll("button[data-action=save]")].some((b) => !b.disabled);
    if (!editing) load();
  });
  return {
    onEvent(msg) {
      if (msg.type === "draft_ready") refresh();
    },
    dispose() { refresh.cancel(); },
  };
}
