// /dashboard/campaigns: the workspace's drip campaigns (status, steps,
// enrollments) and a form for a new one: name, trigger and its steps in the
// visual builder (views/builder.js), checked by the server, whose messages
// are shown beside the field they name. Every value is inserted as text.
import { api } from "../api.js";
import { h, replace, badge, label } from "../dom.js";
import { pager } from "./contacts.js";
import { stepBuilder } from "./builder.js";

const PAGE_SIZE = 25;
const TRIGGERS = [
  ["", "None (enroll by hand or through the API)"],
  ["contact_created", "A contact is created"],
  ["tag_added", "A tag is added"],
  ["score_above", "The score rises to a threshold"],
];
const plural = (n, word) => `${n} ${word}${n === 1 ? "" : "s"}`;

export function triggerText(t) {
  if (!t || !t.type || t.type === "manual") return "Manual";
  if (t.type === "tag_added") return `Tag added: ${t.tag}`;
  if (t.type === "score_above") return `Score reaches ${t.threshold}`;
  return label(t.type);
}

// The step kinds and merge fields the server offers (GET /api/campaigns/step-kinds).
export async function stepKinds() {
  const { data } = await api.get("/api/campaigns/step-kinds");
  return { kinds: data.kinds.map((k) => k.name), mergeFields: data.mergeFields };
}

function builder(ctx, offer) {
  const name = h("input", { id: "campaign-name", name: "name", type: "text", required: true, maxlength: 200 });
  const trigger = h("select", { id: "campaign-trigger", name: "trigger" },
    TRIGGERS.map(([v, t]) => h("option", { value: v }, t)));
  const value = h("input", { id: "campaign-trigger-value", name: "triggerValue", type: "text",
    placeholder: "tag, or threshold 1-100" });
  const steps = stepBuilder({ ...offer, steps: [] });
  const activate = h("input", { id: "campaign-activate", name: "activate", type: "checkbox" });
  const status = h("p", { id: "campaign-form-status", class: "status-note muted", role: "status", "aria-live": "polite" });
  const submit = h("button", { type: "submit", class: "button", "data-action": "create-campaign" }, "Create campaign");
  const form = h("form", { class: "builder", "aria-label": "New campaign" },
    h("div", { class: "field" }, h("label", { for: "campaign-name" }, "Name"), name),
    h("div", { class: "field" }, h("label", { for: "campaign-trigger" }, "Trigger"), trigger),
    h("div", { class: "field" }, h("label", { for: "campaign-trigger-value" }, "Trigger value"), value),
    h("fieldset", { class: "field field-wide steps-field" }, h("legend", {}, "Steps"), steps.el),
    h("div", { class: "field" }, h("label", { for: "campaign-activate" }, activate, " Activate now")),
    h("div", { class: "field field-actions" }, submit),
    status);
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    status.className = "status-note muted";
    status.textContent = "";
    steps.clearErrors();
    let list;
    try {
      list = steps.steps();
    } catch (err) {
      status.className = "status-note error";
      status.textContent = `The steps are not valid JSON: ${err.message}`;
      return;
    }
    const body = { name: name.value.trim() };
    if (trigger.value) {
      body.trigger = { type: trigger.value };
      const v = value.value.trim();
      if (trigger.value === "tag_added") body.trigger.tag = v;
      if (trigger.value === "score_above") body.trigger.threshold = /^\d+$/.test(v) ? Number(v) : v;
    }
    submit.disabled = true;
    let created = null;
    try {
      created = (await api.post("/api/campaigns", body)).data;
      await api.post(`/api/campaigns/${encodeURIComponent(created.id)}/steps`, { steps: list });
      if (activate.checked) await api.post(`/api/campaigns/${encodeURIComponent(created.id)}/activate`);
      ctx.toast("Campaign created.");
      ctx.navigate(`/dashboard/campaigns/${encodeURIComponent(created.id)}`);
    } catch (err) {
      status.className = "status-note error";
      status.textContent = err.message;
      steps.showError(err.message);
      // Steps refused: the draft goes, so that the form can simply be sent again.
      if (created && !activate.checked) {
        await api.request("DELETE", `/api/campaigns/${encodeURIComponent(created.id)}`).catch(() => {});
      } else if (created) {
        status.textContent = `${err.message} (the campaign was saved as a draft)`;
      }
    } finally {
      submit.disabled = false;
    }
  });
  return form;
}

export async function render(ctx) {
  document.title = "Campaigns · leadflow";
  const q = ctx.query;
  const [res, offer] = await Promise.all([
    api.get("/api/campaigns", { page: q.get("page") || 1, pageSize: PAGE_SIZE }), stepKinds()]);
  if (!ctx.isCurrent()) return null;
  const { data, meta } = res;
  const rows = data.map((c) => h("tr", { "data-campaign-id": c.id },
    h("td", {}, h("a", { href: `/dashboard/campaigns/${encodeURIComponent(c.id)}` }, c.name)),
    h("td", {}, badge(c.status, c.status)),
    h("td", {}, triggerText(c.trigger)),
    h("td", { class: "num" }, String(c.steps)),
    h("td", { class: "num" }, String(c.enrollments)),
    h("td", { class: "num" }, String(c.activeEnrollments))));
  replace(ctx.root,
    h("div", { class: "page-head" }, h("div", {}, h("h1", {}, "Campaigns"),
      h("p", { class: "sub" }, plural(meta.total ?? data.length, "campaign")))),
    h("section", { class: "panel", id: "campaigns" }, data.length
      ? h("div", { class: "table-wrap" }, h("table", { class: "data stack-sm" },
        h("thead", {}, h("tr", {}, ["Name", "Status", "Trigger", "Steps", "Enrolled", "Active"].map((t) => h("th", { scope: "col" }, t)))),
        h("tbody", {}, rows)))
      : h("p", { class: "empty" }, "No campaigns yet: build one below."),
    meta.total > data.length ? pager(ctx, meta, "/dashboard/campaigns", q) : null),
    h("section", { class: "panel", "aria-labelledby": "builder-title" },
      h("h2", { id: "builder-title" }, "New campaign"), builder(ctx, offer)));
  return {};
}
