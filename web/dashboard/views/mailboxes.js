// /dashboard/mailboxes: the workspace's IMAP sources (admins) with each
// folder's sync point, status and last error; Sync now, Delete, and a form
// to add one. The password is sent once and never shown again. While a sync
// is queued or running the list reloads every two seconds.
// Every value is inserted as text.
import { api } from "../api.js";
import { h, replace, fmtDate, note, badge } from "../dom.js";

const TLS = [["tls", "TLS (port 993)"], ["starttls", "STARTTLS (port 143)"], ["none", "None (loopback only)"]];
const POLL_MS = 2000;

function field(id, text, input) {
  return h("div", { class: "field" }, h("label", { for: id }, text), input);
}

function sourceForm(onCreated) {
  const host = h("input", { id: "imap-host", name: "host", type: "text", required: true, maxlength: 253, placeholder: "imap.example.com" });
  const tls = h("select", { id: "imap-tls", name: "tls" }, TLS.map(([v, t]) => h("option", { value: v }, t)));
  const port = h("input", { id: "imap-port", name: "port", type: "text", inputmode: "numeric", placeholder: "default" });
  const user = h("input", { id: "imap-user", name: "username", type: "text", required: true, maxlength: 255, autocomplete: "off" });
  const pass = h("input", { id: "imap-password", name: "password", type: "password", required: true, maxlength: 512, autocomplete: "new-password" });
  const folders = h("input", { id: "imap-folders", name: "folders", type: "text", placeholder: "INBOX" });
  const status = h("p", { class: "status-note muted", role: "status", "aria-live": "polite" });
  const submit = h("button", { type: "submit", class: "button", "data-action": "create-imap" }, "Add mailbox");
  const form = h("form", { class: "filters", "aria-label": "Add an IMAP mailbox" },
    field("imap-host", "Server", host), field("imap-tls", "Security", tls), field("imap-port", "Port", port),
    field("imap-user", "User name", user), field("imap-password", "Password or app password", pass),
    field("imap-folders", "Folders (comma-separated)", folders),
    h("div", { class: "field" }, submit),
    status);
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const body = { host: host.value.trim(), tls: tls.value, username: user.value, password: pass.value };
    if (port.value.trim() !== "") body.port = Number(port.value.trim());
    const names = folders.value.split(",").map((f) => f.trim()).filter(Boolean);
    if (names.length) body.folders = names;
    submit.disabled = true;
    try {
      await api.post("/api/integrations/imap", body);
      form.reset();
      status.textContent = "Mailbox added. Sync it to read its mail.";
      onCreated();
    } catch (err) {
      status.textContent = err.message;
    } finally {
      pass.value = "";
      submit.disabled = false;
    }
  });
  return form;
}

function folderText(s) {
  return s.folders.map((f) => (f.uidValidity === null ? `${f.name} (not synced)` : `${f.name} (up to UID ${f.lastUid})`)).join(", ");
}

function sourceRow(s, reload, status, pending) {
  const sync = h("button", { type: "button", class: "button button-small", "data-action": "sync-imap" }, pending ? "Syncing…" : "Sync now");
  sync.disabled = pending;
  sync.addEventListener("click", async () => {
    sync.disabled = true;
    try {
      await api.post(`/api/integrations/imap/${encodeURIComponent(s.id)}/sync`);
      status.textContent = `Sync of ${s.username}@${s.host} queued.`;
      reload();
    } catch (err) {
      sync.disabled = false;
      status.textContent = err.message;
    }
  });
  const del = h("button", { type: "button", class: "button button-danger button-small", "data-action": "delete-imap" }, "Delete");
  del.addEventListener("click", async () => {
    del.disabled = true;
    try {
      await api.request("DELETE", `/api/integrations/imap/${encodeURIComponent(s.id)}`);
      reload();
    } catch (err) {
      del.disabled = false;
      status.textContent = err.message;
    }
  });
  return h("tr", { "data-imap-id": s.id, "data-status": s.status },
    h("td", {}, `${s.username}@${s.host}:${s.port}`, h("div", { class: "muted small" }, s.tls)),
    h("td", {}, folderText(s)),
    h("td", {}, badge(s.status, s.status),
      s.lastError ? h("div", { class: "small imap-error" }, s.lastError) : null),
    h("td", {}, s.lastSyncAt ? fmtDate(s.lastSyncAt) : "never"),
    h("td", {}, sync, " ", del));
}

export async function render(ctx) {
  document.title = "Mailboxes · leadflow";
  const box = h("div", { id: "imap-sources" }, note("Loading…"));
  const status = h("p", { class: "status-note muted", role: "status", "aria-live": "polite" });
  let timer = null;

  // The sources whose latest job has not finished yet.
  async function pendingJobs(rows) {
    const ids = new Set(rows.map((s) => s.lastJobId).filter(Boolean));
    if (!ids.size) return new Set();
    const jobs = (await api.get("/api/jobs", { pageSize: 200 })).data;
    return new Set(jobs.filter((j) => ids.has(j.id) && (j.status === "queued" || j.status === "running")).map((j) => j.id));
  }

  async function load() {
    clearTimeout(timer);
    let rows, pending;
    try {
      rows = (await api.get("/api/integrations/imap")).data;
      pending = await pendingJobs(rows);
    } catch (err) {
      if (ctx.isCurrent()) replace(box, note(err.message, "error"));
      return;
    }
    if (!ctx.isCurrent()) return;
    replace(box, rows.length
      ? h("div", { class: "table-wrap" }, h("table", { class: "data" },
        h("thead", {}, h("tr", {}, ["Mailbox", "Folders", "Status", "Last sync", ""].map((t) => h("th", { scope: "col" }, t)))),
        h("tbody", {}, rows.map((s) => sourceRow(s, load, status, pending.has(s.lastJobId))))))
      : h("p", { class: "empty" }, "No IMAP mailbox yet: add one below."));
    if (pending.size) timer = setTimeout(load, POLL_MS);
  }

  replace(ctx.root,
    h("div", { class: "page-head" }, h("div", {}, h("h1", {}, "Mailboxes"),
      h("p", { class: "sub" }, "IMAP mailboxes read into this workspace, like Gmail and imports."))),
    h("section", { class: "panel", "aria-labelledby": "imap-title" },
      h("h2", { id: "imap-title" }, "IMAP"),
      box, status,
      sourceForm(load)));
  await load();
  return {
    dispose() { clearTimeout(timer); },
  };
}
