// /dashboard/alerts: alerts by status (?status= open by default, acked,
// resolved, all) with Acknowledge and Resolve buttons and each alert's
// delivery attempts; below, the alert rules with a form to add one.
// A live "alert" event reloads the list. Every value is inserted as text.
import { api } from "../api.js";
import { h, replace, fmtDate, label, note, badge } from "../dom.js";
import { debounce } from "./actions.js";
import { pager } from "./contacts.js";

const TABS = [["open", "Open"], ["acked", "Acknowledged"], ["resolved", "Resolved"], ["all", "All"]];
const TRIGGERS = [
  ["new_hot_lead", "A new hot lead"],
  ["score_above", "Score reaches a threshold"],
  ["score_below", "Score falls below a threshold"],
  ["sentiment_drop", "Sentiment drops"],
  ["complaint", "A complaint arrives"],
  ["reply", "A contact replies"],
  ["send_failures", "Email sending fails (rate in %)"],
  ["job_dead", "A background job dies"],
];
const CHANNELS = [["in_app", "In the dashboard"], ["email", "Email"], ["slack", "Slack webhook"], ["webhook", "Webhook (signed)"]];
const PAGE_SIZE = 25;

function deliverySummary(ds) {
  if (!ds || !ds.length) return null;
  const last = {};
  for (const d of ds) last[d.channel] = d;
  return h("ul", { class: "deliveries muted small" },
    Object.values(last).map((d) => h("li", { "data-channel": d.channel },
      `${label(d.channel)}: ${d.status}`, d.attempt > 1 ? ` after ${d.attempt} attempts` : "",
      d.error ? ` (${d.error})` : "")));
}

function alertItem(ctx, a, reload) {
  const status = h("p", { class: "status-note muted", role: "status", "aria-live": "polite" });
  const act = async (verb, btn) => {
    btn.disabled = true;
    try {
      await api.post(`/api/alerts/${encodeURIComponent(a.id)}/${verb}`);
      ctx.toast({ ack: "Alert acknowledged.", resolve: "Alert resolved.", read: "Marked read.", unread: "Marked unread." }[verb]);
      reload();
    } catch (err) {
      btn.disabled = false;
      status.textContent = err.message;
    }
  };
  const buttons = [];
  if (a.status === "open") {
    const b = h("button", { type: "button", class: "button button-small", "data-action": "ack" }, "Acknowledge");
    b.addEventListener("click", () => act("ack", b));
    buttons.push(b);
  }
  if (a.status !== "resolved") {
    const b = h("button", { type: "button", class: "button button-quiet button-small", "data-action": "resolve" }, "Resolve");
    b.addEventListener("click", () => act("resolve", b));
    buttons.push(b);
  }
  const readVerb = a.readAt ? "unread" : "read";
  const rb = h("button", { type: "button", class: "button button-quiet button-small", "data-action": readVerb },
    a.readAt ? "Mark unread" : "Mark read");
  rb.addEventListener("click", () => act(readVerb, rb));
  buttons.push(rb);
  const contactLink = a.data && a.data.contactId
    ? h("a", { href: `/dashboard/contacts/${encodeURIComponent(a.data.contactId)}` }, "View contact") : null;
  return h("li", { class: `alert-item panel${a.readAt ? "" : " unread"}`, "data-alert-id": a.id, "data-status": a.status,
    "data-read": a.readAt ? "yes" : "no" },
    h("div", { class: "draft-head" },
      h("div", {},
        h("h2", {}, a.title),
        h("p", { class: "muted small" },
          `${label(a.trigger)} · rule ${a.ruleName} · ${fmtDate(a.createdAt)}`,
          a.suppressed ? ` · ${a.suppressed} more suppressed` : "",
          a.ackedAt ? ` · acknowledged ${fmtDate(a.ackedAt)}` : "",
          a.resolvedAt ? ` · resolved ${fmtDate(a.resolvedAt)}` : "",
          a.readAt ? "" : " · unread")),
      h("div", { class: "draft-badges" }, badge(a.severity, a.severity), badge(a.status, a.status), buttons)),
    a.body ? h("p", { class: "body-preview" }, a.body) : null,
    contactLink,
    deliverySummary(a.deliveries),
    status);
}

function ruleForm(ctx, onCreated) {
  const name = h("input", { id: "rule-name", name: "name", type: "text", required: true, maxlength: 200 });
  const trigger = h("select", { id: "rule-trigger", name: "trigger" }, TRIGGERS.map(([v, t]) => h("option", { value: v }, t)));
  const threshold = h("input", { id: "rule-threshold", name: "threshold", type: "text", inputmode: "decimal", placeholder: "e.g. 80" });
  const channel = h("select", { id: "rule-channel", name: "channel" }, CHANNELS.map(([v, t]) => h("option", { value: v }, t)));
  const target = h("input", { id: "rule-target", name: "target", type: "text", placeholder: "URL or email address" });
  const secret = h("input", { id: "rule-secret", name: "secret", type: "text", placeholder: "webhook signing secret" });
  const status = h("p", { class: "status-note muted", role: "status", "aria-live": "polite" });
  const submit = h("button", { type: "submit", class: "button", "data-action": "create-rule" }, "Add rule");
  const form = h("form", { class: "filters", "aria-label": "Add an alert rule" },
    h("div", { class: "field" }, h("label", { for: "rule-name" }, "Name"), name),
    h("div", { class: "field" }, h("label", { for: "rule-trigger" }, "When"), trigger),
    h("div", { class: "field" }, h("label", { for: "rule-threshold" }, "Threshold"), threshold),
    h("div", { class: "field" }, h("label", { for: "rule-channel" }, "Notify"), channel),
    h("div", { class: "field" }, h("label", { for: "rule-target" }, "Target"), target),
    h("div", { class: "field" }, h("label", { for: "rule-secret" }, "Secret"), secret),
    h("div", { class: "field" }, submit),
    status);
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const ch = { type: channel.value };
    if (target.value.trim()) ch.target = target.value.trim();
    if (secret.value) ch.secret = secret.value;
    const body = { name: name.value.trim(), trigger: trigger.value, channels: [ch] };
    if (threshold.value.trim() !== "") body.threshold = Number(threshold.value.trim());
    submit.disabled = true;
    try {
      await api.post("/api/alerts/rules", body);
      form.reset();
      status.textContent = "Rule added.";
      onCreated();
    } catch (err) {
      status.textContent = err.message;
    } finally {
      submit.disabled = false;
    }
  });
  return form;
}

function ruleRow(r, reload, status) {
  const test = h("button", { type: "button", class: "button button-quiet button-small", "data-action": "test-rule" }, "Send a test");
  test.addEventListener("click", async () => {
    test.disabled = true;
    try {
      await api.post(`/api/alerts/rules/${encodeURIComponent(r.id)}/test`);
      status.textContent = `Test notification of "${r.name}" sent on its channels; it is listed under Open.`;
      reload();
    } catch (err) {
      status.textContent = err.message;
    } finally {
      test.disabled = false;
    }
  });
  const del = h("button", { type: "button", class: "button button-danger button-small", "data-action": "delete-rule" }, "Delete");
  del.addEventListener("click", async () => {
    del.disabled = true;
    try {
      await api.request("DELETE", `/api/alerts/rules/${encodeURIComponent(r.id)}`);
      reload();
    } catch (err) {
      del.disabled = false;
      status.textContent = err.message;
    }
  });
  const channels = (r.channels || []).map((c) => label(c.type) + (c.target ? ` → ${c.target}` : "")).join(", ");
  return h("tr", { "data-rule-id": r.id },
    h("td", {}, r.name),
    h("td", {}, label(r.trigger)),
    h("td", {}, r.threshold === null || r.threshold === undefined ? "—" : String(r.threshold)),
    h("td", {}, channels || "—"),
    h("td", {}, r.enabled ? "on" : "off"),
    h("td", { class: "row-actions" }, test, del));
}

export async function render(ctx) {
  document.title = "Alerts · leadflow";
  const q = ctx.query;
  const tab = TABS.some(([v]) => v === q.get("status")) ? q.get("status") : "open";
  const tabHref = (v) => (v === "open" ? "/dashboard/alerts" : `/dashboard/alerts?status=${v}`);
  const count = h("p", { class: "sub", "aria-live": "polite" });
  const list = h("div", { id: "alerts" }, note("Loading…"));
  const rulesBox = h("div", { id: "alert-rules" }, note("Loading…"));
  const rulesStatus = h("p", { class: "status-note muted", role: "status", "aria-live": "polite" });

  async function loadAlerts() {
    let res;
    try {
      res = await api.get("/api/alerts", { status: tab === "all" ? null : tab, page: q.get("page") || 1, pageSize: PAGE_SIZE });
    } catch (err) {
      if (ctx.isCurrent()) replace(list, note(err.message, "error"));
      return;
    }
    if (!ctx.isCurrent()) return;
    const { data, meta } = res;
    count.textContent = `${meta.total ?? data.length} ${tab === "all" ? "" : `${label(tab)} `}alerts`;
    if (!data.length) {
      replace(list, h("section", { class: "panel" }, h("p", { class: "empty" }, "No alerts here.")));
      return;
    }
    replace(list, h("ol", { class: "alerts" }, data.map((a) => alertItem(ctx, a, refresh))),
      meta.total > data.length ? h("div", { class: "panel panel-flush" }, pager(ctx, meta, "/dashboard/alerts", q)) : null);
  }

  async function loadRules() {
    let res;
    try {
      res = await api.get("/api/alerts/rules");
    } catch (err) {
      if (ctx.isCurrent()) replace(rulesBox, note(err.message, "error"));
      return;
    }
    if (!ctx.isCurrent()) return;
    const rows = res.data;
    replace(rulesBox, rows.length
      ? h("div", { class: "table-wrap" }, h("table", { class: "data" },
        h("thead", {}, h("tr", {}, ["Name", "When", "Threshold", "Channels", "Enabled", ""].map((t) => h("th", { scope: "col" }, t)))),
        h("tbody", {}, rows.map((r) => ruleRow(r, () => { loadRules(); refresh(); }, rulesStatus)))))
      : h("p", { class: "empty" }, "No rules yet: add one below."));
  }

  const refresh = debounce(() => loadAlerts());
  replace(ctx.root,
    h("div", { class: "page-head" }, h("div", {}, h("h1", {}, "Alerts"), count)),
    h("nav", { class: "tabs", "aria-label": "Alerts by status" },
      TABS.map(([v, t]) => h("a", { href: tabHref(v), "aria-current": v === tab ? "page" : null, "data-tab": v }, t))),
    list,
    h("section", { class: "panel", "aria-labelledby": "rules-title" },
      h("h2", { id: "rules-title" }, "Rules"),
      rulesBox, rulesStatus,
      ruleForm(ctx, loadRules)));
  await Promise.all([loadAlerts(), loadRules()]);
  return {
    onEvent(msg) {
      if (msg.type === "alert") refresh();
    },
    dispose() { refresh.cancel(); },
  };
}
