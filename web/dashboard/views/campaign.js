// /dashboard/campaigns/{id}: one drip campaign: its status with Activate,
// Pause and Archive; its steps as an ordered list (with where each goes:
// next, or the true and false branches of a condition); what each step did
// (metrics); the steps in the visual builder (a save while contacts are
// enrolled makes a new version); Clone; and the enrollments, each active one
// with Unenroll. Every value is inserted as text.
import { api } from "../api.js";
import { h, replace, note, badge, fmtDate, label } from "../dom.js";
import { triggerText, stepKinds } from "./campaigns.js";
import { stepBuilder } from "./builder.js";

// The steps in the visual builder, saved whole (POST .../steps); the
// server's refusal is shown beside the field it names.
function stepEditor(ctx, base, list, offer) {
  const b = stepBuilder({ ...offer, steps: list, idPrefix: "edit" });
  const status = h("p", { id: "edit-status", class: "status-note muted", role: "status", "aria-live": "polite" });
  const save = h("button", { type: "submit", class: "button", "data-action": "save-steps" }, "Save steps");
  const form = h("form", { class: "step-editor", "aria-label": "Edit steps" }, b.el,
    h("div", { class: "actions" }, save), status);
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    b.clearErrors();
    status.className = "status-note muted";
    status.textContent = "";
    let steps;
    try {
      steps = b.steps();
    } catch (err) {
      status.className = "status-note error";
      status.textContent = `The steps are not valid JSON: ${err.message}`;
      return;
    }
    save.disabled = true;
    try {
      await api.post(`${base}/steps`, { steps });
      ctx.toast("Steps saved.");
      ctx.navigate(window.location.pathname, { replace: true });
    } catch (err) {
      status.className = "status-note error";
      status.textContent = err.message;
      b.showError(err.message);
    } finally {
      save.disabled = false;
    }
  });
  return form;
}

const ACTIONS = [
  ["activate", "Activate", (s) => s === "draft" || s === "paused", "button"],
  ["pause", "Pause", (s) => s === "active", "button button-quiet"],
  ["archive", "Archive", (s) => s !== "archived", "button button-danger"],
];

function summary(s) {
  const c = s.config || {};
  switch (s.type) {
    case "email":
      return `Email “${c.subject || ""}”${c.variants ? ` (${c.variants.length} variants)` : ""}`;
    case "wait":
      if (c.until) return `Wait until ${c.until} (at most ${duration(c.timeout_ms)})`;
      return `Wait ${duration(c.duration_ms)}`;
    case "condition":
      return `If ${label(c.kind)}${c.value !== undefined ? ` ${c.value}` : ""}`;
    case "tag":
      return [c.add && c.add.length ? `Add tags ${c.add.join(", ")}` : null,
        c.remove && c.remove.length ? `remove ${c.remove.join(", ")}` : null].filter(Boolean).join("; ");
    case "score":
      return `Score ${c.delta > 0 ? "+" : ""}${c.delta}`;
    case "webhook":
      return `Webhook to ${c.url}`;
    default:
      return s.type;
  }
}

function duration(ms) {
  if (ms === undefined || ms === null) return "—";
  const units = [[86400000, "day"], [3600000, "hour"], [60000, "minute"], [1000, "second"]];
  for (const [n, u] of units) {
    if (ms >= n && ms % n === 0) return `${ms / n} ${u}${ms / n === 1 ? "" : "s"}`;
  }
  return `${ms} ms`;
}

const target = (pos) => (pos === null || pos === undefined ? "end" : `step ${pos + 1}`);

function stepItem(s, count) {
  const branches = s.type === "condition"
    ? h("span", { class: "branches" },
      h("span", { class: "branch branch-true", "data-branch": "true" }, `if yes → ${target(s.true)}`),
      " ",
      h("span", { class: "branch branch-false", "data-branch": "false" }, `if no → ${target(s.false)}`))
    : (s.next === null || s.next !== s.position + 1) && !(s.next === null && s.position === count - 1)
      ? h("span", { class: "branch", "data-branch": "next" }, `then → ${target(s.next)}`)
      : null;
  return h("li", { "data-step-id": s.id, "data-type": s.type },
    badge(s.type, "step"), " ", summary(s), branches ? " " : null, branches);
}

function metricsTable(m) {
  const cols = ["Step", "Type", "Executed", "Sent", "Opened", "Clicked", "Replied", "Failed", "Skipped"];
  return h("div", { class: "table-wrap" }, h("table", { class: "data", id: "campaign-metrics" },
    h("thead", {}, h("tr", {}, cols.map((t) => h("th", { scope: "col" }, t)))),
    h("tbody", {}, m.steps.map((r) => h("tr", {},
      h("td", {}, String(r.position + 1)), h("td", {}, r.type),
      [r.executed, r.sent, r.opened, r.clicked, r.replied, r.failed, r.skipped]
        .map((v) => h("td", { class: "num" }, String(v))))))));
}

// Which version of the steps the contacts are on (an edit of an active
// campaign makes a new version; enrolled contacts finish on theirs).
function versionsNote(camp) {
  const vs = camp.versions || [];
  const parts = vs.map((v) => `version ${v.version}${v.version === camp.version ? " (current)" : ""}: ` +
    `${v.activeEnrollments} active of ${v.enrollments} enrolled`);
  return h("p", { class: "muted small", id: "campaign-versions" },
    `The steps are at version ${camp.version}; new enrollments start on it.`,
    parts.length ? ` Contacts by version: ${parts.join("; ")}.` : "");
}

function enrollmentsTable(rows, steps, current, unenroll) {
  const pos = Object.fromEntries(steps.map((s) => [s.id, s.position]));
  if (!rows.length) return h("p", { class: "empty" }, "No enrollments yet.");
  return h("div", { class: "table-wrap" }, h("table", { class: "data stack-sm", id: "campaign-enrollments" },
    h("thead", {}, h("tr", {}, ["Contact", "Status", "Version", "At step", "Executions", "Enrolled", "Reason", ""].map((t) => h("th", { scope: "col" }, t)))),
    h("tbody", {}, rows.map((e) => h("tr", { "data-enrollment-id": e.id, "data-version": e.version },
      h("td", {}, h("a", { href: `/dashboard/contacts/${encodeURIComponent(e.contactId)}` }, e.contactEmail || e.contactId)),
      h("td", {}, badge(e.status, e.status)),
      h("td", { class: "num" }, String(e.version)),
      h("td", {}, e.version === current && e.currentStepId && pos[e.currentStepId] !== undefined
        ? String(pos[e.currentStepId] + 1) : e.currentStepId ? `(version ${e.version})` : "—"),
      h("td", { class: "num" }, String(e.stepExecutions)),
      h("td", {}, fmtDate(e.enrolledAt)),
      h("td", {}, e.reason ? label(e.reason) : "—"),
      h("td", {}, e.status === "active" ? h("button", {
        type: "button", class: "button button-quiet button-small", "data-action": "unenroll",
        "aria-label": `Unenroll ${e.contactEmail || e.contactId}`, onclick: (ev) => unenroll(e, ev.currentTarget),
      }, "Unenroll") : null))))));
}

export async function render(ctx) {
  const id = ctx.params[0];
  const base = `/api/campaigns/${encodeURIComponent(id)}`;
  const [c, steps, metrics, enr, offer] = await Promise.all([
    api.get(base), api.get(`${base}/steps`), api.get(`${base}/metrics`),
    api.get(`${base}/enrollments`, { pageSize: 50 }), stepKinds()]);
  if (!ctx.isCurrent()) return null;
  const camp = c.data;
  document.title = `${camp.name} · Campaigns · leadflow`;
  const status = h("p", { class: "status-note muted", role: "status", "aria-live": "polite" });
  const buttons = ACTIONS.filter(([, , ok]) => ok(camp.status)).map(([verb, text, , cls]) => {
    const b = h("button", { type: "button", class: `${cls} button-small`, "data-action": verb }, text);
    b.addEventListener("click", async () => {
      b.disabled = true;
      try {
        await api.post(`${base}/${verb}`);
        ctx.toast(`Campaign ${verb === "activate" ? "activated" : verb === "pause" ? "paused" : "archived"}.`);
        ctx.navigate(window.location.pathname, { replace: true });
      } catch (err) {
        b.disabled = false;
        status.className = "status-note error";
        status.textContent = err.message;
      }
    });
    return b;
  });
  const clone = h("button", { type: "button", class: "button button-quiet button-small", "data-action": "clone" }, "Clone");
  clone.addEventListener("click", async () => {
    clone.disabled = true;
    try {
      const copy = (await api.post(`${base}/clone`)).data;
      ctx.toast(`Cloned as “${copy.name}”.`);
      ctx.navigate(`/dashboard/campaigns/${encodeURIComponent(copy.id)}`);
    } catch (err) {
      clone.disabled = false;
      status.className = "status-note error";
      status.textContent = err.message;
    }
  });
  const unenroll = async (e, b) => {
    b.disabled = true;
    try {
      await api.post(`${base}/unenroll`, { contactId: e.contactId });
      ctx.toast(`${e.contactEmail || "The contact"} was taken out of the campaign.`);
      ctx.navigate(window.location.pathname, { replace: true });
    } catch (err) {
      b.disabled = false;
      status.className = "status-note error";
      status.textContent = err.message;
    }
  };
  const list = steps.data;
  replace(ctx.root,
    h("p", {}, h("a", { href: "/dashboard/campaigns" }, "← Campaigns")),
    h("div", { class: "page-head" },
      h("div", {}, h("h1", {}, camp.name),
        h("p", { class: "sub" }, badge(camp.status, camp.status), ` · ${triggerText(camp.trigger)} · `,
          `${camp.enrollments} enrolled, ${camp.activeEnrollments} active`)),
      h("div", { class: "actions", id: "campaign-actions" }, buttons, clone)),
    status,
    h("section", { class: "panel", "aria-labelledby": "steps-title" },
      h("h2", { id: "steps-title" }, "Steps"),
      list.length ? h("ol", { class: "steps", id: "campaign-step-list" }, list.map((s) => stepItem(s, list.length)))
        : note("No steps yet.")),
    camp.status === "archived" ? null : h("section", { class: "panel", "aria-labelledby": "edit-title" },
      h("h2", { id: "edit-title" }, "Edit steps"), versionsNote(camp),
      camp.activeEnrollments ? h("p", { class: "muted small" },
        "Saving makes a new version: contacts enrolled now finish on the steps they started.") : null,
      stepEditor(ctx, base, list, offer)),
    h("section", { class: "panel", "aria-labelledby": "metrics-title" },
      h("h2", { id: "metrics-title" }, "What each step did"),
      list.length ? metricsTable(metrics.data) : note("No steps yet.")),
    h("section", { class: "panel", "aria-labelledby": "enrollments-title" },
      h("h2", { id: "enrollments-title" }, "Enrollments"),
      enrollmentsTable(enr.data, list, camp.version, unenroll)));
  return {};
}
