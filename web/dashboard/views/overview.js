// /dashboard/overview: the workspace's counts and the hot leads with why
// each is hot. Live events refresh both panels in place.
import { api, currentWorkspaceName } from "../api.js";
import { h, replace, fmtDate, label, note } from "../dom.js";
import { scoreBadge, stackedBar } from "../score.js";
import { debounce, draftEmail } from "./actions.js";

const LEADS_SHOWN = 12;

function stat(kind, title, value, sub, href) {
  const body = [
    h("span", { class: "stat-title" }, title),
    h("span", { class: "stat-value", "data-stat": kind }, String(value ?? 0)),
    sub ? h("span", { class: "stat-sub" }, sub) : null,
  ];
  return h("li", { class: `stat stat-${kind}` }, href ? h("a", { href }, body) : h("div", {}, body));
}

// Contacts by tier: the total, a bar split hot / warm / cold, and a link per tier.
function tierStat(c) {
  const total = Number(c.total) || 0;
  const tiers = [["hot", "Hot", c.hot, "80+"], ["warm", "Warm", c.warm, "60-79"], ["cold", "Cold", c.cold, "below 60"]];
  const bar = h("div", { class: "tier-bar", "aria-hidden": "true" });
  for (const [k, , n] of tiers) {
    const seg = h("span", { class: `tier-seg tier-${k}` });
    seg.style.width = `${total ? (100 * (Number(n) || 0)) / total : 0}%`;
    bar.append(seg);
  }
  return h("li", { class: "stat stat-tiers" },
    h("div", {},
      h("span", { class: "stat-title" }, "Contacts by tier"),
      h("span", { class: "stat-value", "data-stat": "contacts" }, String(total)),
      bar,
      h("ul", { class: "tier-legend" }, tiers.map(([k, name, n, range]) => h("li", {},
        h("a", { href: `/dashboard/contacts?tier=${k}`, title: `Score ${range}` },
          h("span", { class: `swatch tier-${k}`, "aria-hidden": "true" }),
          `${name} `, h("strong", { "data-stat": k }, String(n ?? 0))))))));
}

function renderStats(el, s, drafts) {
  const c = s.contacts || {};
  const e = s.emails || {};
  const camp = s.campaigns || {};
  replace(el,
    tierStat(c),
    stat("emails", "Emails this week", e.thisWeek, `${e.total ?? 0} in all`, "/dashboard/emails"),
    stat("campaigns", "Campaigns", camp.total, `${camp.active ?? 0} active`, null),
    stat("drafts", "Drafts to review", drafts, "written for your leads", "/dashboard/drafts"));
}

function leadCard(ctx, lead) {
  const c = lead.contact;
  const who = c.name || c.email;
  const href = `/dashboard/contacts/${encodeURIComponent(c.id)}`;
  const role = [c.jobTitle, c.company].filter(Boolean).join(" · ");
  const nameId = `lead-${c.id}`;
  const draftBtn = h("button", { type: "button", class: "button button-small", "data-action": "draft",
    "aria-describedby": nameId }, "Draft email");
  draftBtn.addEventListener("click", () => draftEmail(ctx, c, draftBtn));
  const last = lead.lastEmail;
  return h("li", { class: "lead", "data-contact-id": c.id, "aria-labelledby": nameId },
    h("div", { class: "lead-head" },
      h("div", { class: "lead-who" },
        h("h3", { class: "lead-name", id: nameId }, h("a", { href }, who)),
        role ? h("p", { class: "muted lead-role" }, role) : null,
        c.name ? h("p", { class: "muted lead-email" }, c.email) : null),
      scoreBadge(c.score)),
    stackedBar(c.scoreBreakdown, c.score),
    (c.scoreReasons || []).length
      ? h("ul", { class: "reasons", "aria-label": `Why ${who} is hot` },
        c.scoreReasons.map((r) => h("li", {}, r)))
      : null,
    last
      ? h("p", { class: "last-email" },
        h("span", { class: "muted" }, "Last email: "),
        h("a", { href: `/dashboard/emails/${encodeURIComponent(last.id)}` }, last.subject || "(no subject)"),
        h("span", { class: "muted" }, ` · ${fmtDate(last.receivedAt)}`),
        (last.intents || []).length ? h("span", { class: "muted" }, ` · ${last.intents.map(label).join(", ")}`) : null)
      : null,
    h("div", { class: "actions" },
      h("a", { href, class: "button button-quiet button-small", "aria-describedby": nameId }, "View contact"),
      draftBtn));
}

function renderLeads(ctx, el, leads, meta) {
  if (!leads.length) {
    replace(el, h("p", { class: "empty" }, "No hot leads yet. Contacts scored 80 or more show here, with why."));
    return;
  }
  replace(el, h("ol", { class: "leads" }, leads.map((l) => leadCard(ctx, l))));
}

export async function render(ctx) {
  document.title = "Overview · leadflow";
  const statsEl = h("ul", { class: "stats", id: "stats", "aria-label": "Counts" }, h("li", { class: "muted" }, "Loading…"));
  const leadsEl = h("div", { id: "hot-leads" }, note("Loading…"));
  const leadsCount = h("span", { class: "muted" });
  replace(ctx.root,
    h("div", { class: "page-head" },
      h("div", {}, h("h1", {}, "Overview"), h("p", { class: "sub" }, currentWorkspaceName() || "")),
      h("div", { class: "actions" },
        h("a", { href: "/dashboard/drafts", class: "button button-quiet" }, "Review drafts"))),
    ctx.flash ? h("p", { class: "flash", role: "status" }, ctx.flash) : null,
    statsEl,
    h("section", { class: "section", "aria-labelledby": "leads-title" },
      h("div", { class: "section-head" },
        h("h2", { id: "leads-title" }, "Hot leads"),
        leadsCount),
      leadsEl));

  async function loadStats() {
    try {
      const [{ data }, drafts] = await Promise.all([
        api.get("/api/dashboard/stats"),
        // The review queue's own count: what the Drafts page will show.
        api.get("/api/content", { status: "draft", pageSize: 1 }),
      ]);
      if (ctx.isCurrent()) renderStats(statsEl, data, drafts.meta.total ?? data.drafts?.awaitingReview);
    } catch (err) {
      if (ctx.isCurrent()) replace(statsEl, h("li", {}, note(err.message, "error")));
    }
  }
  async function loadLeads() {
    try {
      const { data, meta } = await api.get("/api/agents/contact-intelligence", { limit: LEADS_SHOWN });
      if (!ctx.isCurrent()) return;
      renderLeads(ctx, leadsEl, data, meta);
      replace(leadsCount, meta.total > data.length
        ? h("a", { href: "/dashboard/contacts?tier=hot" }, `All ${meta.total} hot leads`)
        : `${meta.total ?? data.length} with a score of 80 or more`);
    } catch (err) {
      if (ctx.isCurrent()) replace(leadsEl, note(err.message, "error"));
    }
  }
  await Promise.all([loadStats(), loadLeads()]);
  const refreshStats = debounce(loadStats);
  const refreshLeads = debounce(loadLeads);
  return {
    onEvent(msg) {
      if (msg.type === "hot_lead") {
        refreshLeads();
        refreshStats();
      } else if (msg.type === "email_processed" || msg.type === "draft_ready") {
        refreshStats();
        if (msg.type === "email_processed") refreshLeads();
      }
    },
    dispose() {
      refreshStats.cancel();
      refreshLeads.cancel();
    },
  };
}
