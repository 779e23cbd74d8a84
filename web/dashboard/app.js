// Dashboard shell: sign-in state, workspace switcher, client-side routing
// under /dashboard/*, live updates and toasts.
// Every value from the server is inserted with textContent, never as HTML.
import { ApiError, api, currentUser, currentWorkspace, loadMe, setWorkspace, signOut } from "./api.js";
import { h, replace } from "./dom.js";
import { connectLive } from "./live.js";
import * as overview from "./views/overview.js";
import * as contacts from "./views/contacts.js";
import * as contact from "./views/contact.js";
import * as emails from "./views/emails.js";
import * as email from "./views/email.js";
import * as drafts from "./views/drafts.js";
import * as alerts from "./views/alerts.js";
import * as campaigns from "./views/campaigns.js";
import * as campaign from "./views/campaign.js";
import * as suppressions from "./views/suppressions.js";
import * as mailboxes from "./views/mailboxes.js";

const routes = [
  { re: /^\/dashboard\/?$/, view: overview, nav: "overview" },
  { re: /^\/dashboard\/overview\/?$/, view: overview, nav: "overview" },
  { re: /^\/dashboard\/contacts\/?$/, view: contacts, nav: "contacts" },
  { re: /^\/dashboard\/contacts\/([^/]+)\/?$/, view: contact, nav: "contacts" },
  { re: /^\/dashboard\/emails\/?$/, view: emails, nav: "emails" },
  { re: /^\/dashboard\/emails\/([^/]+)\/?$/, view: email, nav: "emails" },
  { re: /^\/dashboard\/drafts\/?$/, view: drafts, nav: "drafts" },
  { re: /^\/dashboard\/alerts\/?$/, view: alerts, nav: "alerts" },
  { re: /^\/dashboard\/campaigns\/?$/, view: campaigns, nav: "campaigns" },
  { re: /^\/dashboard\/campaigns\/([^/]+)\/?$/, view: campaign, nav: "campaigns" },
  { re: /^\/dashboard\/suppressions\/?$/, view: suppressions, nav: "emails" },
  { re: /^\/dashboard\/mailboxes\/?$/, view: mailboxes, nav: "mailboxes" },
];

const root = document.getElementById("view");
let current = null; // {view handle returned by render}
let flash = null;
let renderSeq = 0;
let renderedKey = ""; // the path and query shown

// ---- toasts ---------------------------------------------------------------

export function toast(text, { kind = "info", href = null, linkText = null, timeout = 8000 } = {}) {
  const box = document.getElementById("toasts");
  const close = h("button", { type: "button", class: "toast-close", "aria-label": "Dismiss" }, "×");
  const el = h("div", { class: `toast toast-${kind}` },
    h("span", { class: "toast-text" }, text),
    href ? h("a", { href }, linkText || "Open") : null,
    close);
  close.addEventListener("click", () => el.remove());
  box.append(el);
  if (timeout) setTimeout(() => el.remove(), timeout);
  return el;
}

// The number of drafts awaiting review, next to "Drafts" in the menu.
let countSeq = 0;
async function refreshDraftCount() {
  const seq = ++countSeq;
  const link = document.querySelector('[data-nav="drafts"]');
  if (!link || !currentWorkspace()) return;
  let total = 0;
  try {
    total = (await api.get("/api/content", { status: "draft", pageSize: 1 })).meta.total || 0;
  } catch (err) {
    return;
  }
  if (seq !== countSeq) return;
  let badgeEl = link.querySelector(".count");
  if (!total) {
    if (badgeEl) badgeEl.remove();
    return;
  }
  if (!badgeEl) {
    badgeEl = h("span", { class: "count" });
    link.append(badgeEl);
  }
  badgeEl.replaceChildren(String(total), h("span", { class: "visually-hidden" }, " awaiting review"));
}

// ---- navigation -------------------------------------------------------------

export function navigate(path, opts = {}) {
  flash = opts.flash || null;
  if (opts.replace) window.history.replaceState(null, "", path);
  else window.history.pushState(null, "", path);
  render({ focus: true });
}

function match(pathname) {
  for (const r of routes) {
    const m = pathname.match(r.re);
    if (m) {
      try {
        return { route: r, params: m.slice(1).map(decodeURIComponent) };
      } catch (err) {
        return null; // a malformed %-escape: not a page
      }
    }
  }
  return null;
}

async function render({ focus = false } = {}) {
  const seq = ++renderSeq;
  renderedKey = window.location.pathname + window.location.search;
  if (current && current.dispose) current.dispose();
  current = null;
  const url = new URL(window.location.href);
  const found = match(url.pathname);
  for (const a of document.querySelectorAll("[data-nav]")) {
    if (found && a.dataset.nav === found.route.nav) a.setAttribute("aria-current", "page");
    else a.removeAttribute("aria-current");
  }
  if (!found) {
    document.title = "Not found · leadflow";
    replace(root, h("h1", { tabindex: "-1" }, "Page not found"),
      h("p", {}, "There is no page here. ", h("a", { href: "/dashboard/overview" }, "Go to the overview")));
    if (focus) root.querySelector("h1").focus();
    return;
  }
  const ctx = {
    root,
    params: found.params,
    query: url.searchParams,
    navigate,
    toast,
    flash,
    refreshDraftCount,
    isCurrent: () => seq === renderSeq,
  };
  flash = null;
  replace(root, h("p", { class: "muted" }, "Loading…"));
  try {
    const handle = await found.route.view.render(ctx);
    if (seq !== renderSeq) {
      if (handle && handle.dispose) handle.dispose();
      return;
    }
    current = handle || {};
  } catch (err) {
    if (seq !== renderSeq) return;
    if (err instanceof ApiError && err.status === 401) return;
    replace(root, h("h1", { tabindex: "-1" }, err.status === 404 ? "Not found" : "Something went wrong"),
      h("p", { class: "error", role: "alert" }, err.message || String(err)));
  }
  if (focus && seq === renderSeq) {
    const heading = root.querySelector("h1");
    if (heading) {
      heading.setAttribute("tabindex", "-1");
      heading.focus();
    }
  }
}

// Same-origin links inside the dashboard are handled without a page load.
document.addEventListener("click", (ev) => {
  if (ev.defaultPrevented || ev.button !== 0 || ev.metaKey || ev.ctrlKey || ev.shiftKey || ev.altKey) return;
  const a = ev.target.closest("a[href]");
  if (!a || a.target || a.hasAttribute("download")) return;
  const url = new URL(a.href, window.location.href);
  if (url.origin !== window.location.origin || !url.pathname.startsWith("/dashboard")) return;
  if (url.hash && url.pathname === window.location.pathname && url.search === window.location.search) return;
  ev.preventDefault();
  navigate(url.pathname + url.search);
});
// Back and forward re-render; a jump to an anchor (the skip link) does not.
window.addEventListener("popstate", () => {
  if (window.location.pathname + window.location.search !== renderedKey) render({ focus: true });
});

// ---- live updates -------------------------------------------------------------

const liveEl = document.getElementById("live");
const liveText = document.getElementById("live-text");
const stateText = { connecting: "Connecting…", connected: "Live", offline: "Offline" };

function onLiveEvent(msg) {
  if (msg.type === "hello") return;
  if (msg.workspaceId && msg.workspaceId !== currentWorkspace()) return;
  const data = msg.data && typeof msg.data === "object" ? msg.data : {};
  if (msg.type === "hot_lead") {
    const who = data.name || data.email || (data.contact && (data.contact.name || data.contact.email)) || "a contact";
    const score = data.score ?? (data.contact && data.contact.score);
    const id = data.contactId || (data.contact && data.contact.id);
    toast(`New hot lead: ${who}${score !== undefined && score !== null ? ` (${score})` : ""}`, {
      kind: "hot",
      href: id ? `/dashboard/contacts/${encodeURIComponent(id)}` : null,
      linkText: "View contact",
      timeout: 15000,
    });
  } else if (msg.type === "draft_ready") {
    refreshDraftCount();
  } else if (msg.type === "alert") {
    const text = data.title || data.message || data.summary || "New alert";
    toast(`Alert: ${text}`, { kind: "alert", href: "/dashboard/alerts", linkText: "View alerts", timeout: 15000 });
  }
  if (current && current.onEvent) current.onEvent(msg);
}

function startLive() {
  connectLive({
    onEvent: onLiveEvent,
    onState(state) {
      // Retries after a failure stay "Offline" until one succeeds.
      if (state === "connecting" && liveEl.dataset.state === "offline") return;
      liveEl.dataset.state = state;
      liveText.textContent = stateText[state] || state;
      liveEl.title = state === "connected" ? "Live updates are on" : "Live updates are off; retrying";
    },
  });
}

// ---- start --------------------------------------------------------------------

async function start() {
  let me;
  try {
    me = await loadMe();
  } catch (err) {
    if (!(err instanceof ApiError && err.status === 401)) {
      replace(root, h("h1", {}, "leadflow"), h("p", { class: "error", role: "alert" }, err.message));
    }
    return;
  }
  document.getElementById("who").textContent = me.user.name || me.user.email;
  document.getElementById("who").title = me.user.email;
  document.getElementById("signout").addEventListener("click", async (ev) => {
    ev.currentTarget.disabled = true;
    try {
      await signOut();
    } finally {
      window.location.assign("/login");
    }
  });
  const select = document.getElementById("workspace");
  // One group per organization, so a workspace's name is not cut short.
  for (const org of me.organizations || []) {
    const mine = (me.workspaces || []).filter((w) => w.organizationId === org.id);
    if (mine.length) select.append(h("optgroup", { label: org.name }, mine.map((w) => h("option", { value: w.id }, w.name))));
  }
  for (const w of (me.workspaces || []).filter((x) => !(me.organizations || []).some((o) => o.id === x.organizationId))) {
    select.append(h("option", { value: w.id }, w.name));
  }
  select.value = currentWorkspace() || "";
  select.disabled = (me.workspaces || []).length < 2;
  select.addEventListener("change", () => {
    setWorkspace(select.value);
    refreshDraftCount();
    render({ focus: false });
  });
  if (!currentWorkspace()) {
    replace(root, h("h1", {}, "No workspace"),
      h("p", {}, "You are not a member of any workspace yet."));
    return;
  }
  if (window.location.pathname.replace(/\/$/, "") === "/dashboard") {
    window.history.replaceState(null, "", "/dashboard/overview" + window.location.search);
  }
  refreshDraftCount();
  startLive();
  await render();
  showGmailResult(new URL(window.location.href).searchParams);
}

function showGmailResult(q) {
  if (q.get("gmail") === "connected") toast("Gmail is connected.", { kind: "info" });
  else if (q.get("gmail") === "error") toast(`Gmail was not connected: ${q.get("error") || "unknown error"}`, { kind: "alert" });
}

export { currentUser };
start();
