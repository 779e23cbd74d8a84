// /dashboard/mailboxes: the workspace's Gmail mailboxes with Sync now and
// the live progress of each sync job (job_progress events, and
// /api/jobs/{id} now and then in case the live connection is down), then
// its IMAP sources (admins) with each folder's sync point, status and last
// error; Sync now, Delete, and a form to add one. The password is sent once
// and never shown again. While an IMAP sync is queued or running the list
// reloads every two seconds.
// Every value is inserted as text.
import { api, currentUser, currentWorkspace } from "../api.js";
import { h, replace, fmtDate, fmtNum, note, badge } from "../dom.js";

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

function canWrite() {
  const me = currentUser();
  const ws = me && (me.workspaces || []).find((w) => w.id === currentWorkspace());
  return !!ws && ws.role !== "viewer";
}

// What a Gmail sync job says about itself.
function syncText(job) {
  const p = job.progress;
  const counts = p
    ? `${fmtNum(p.listed, 0)} listed, ${fmtNum(p.fetched, 0)} fetched, ${fmtNum(p.imported, 0)} imported, ${fmtNum(p.duplicates, 0)} duplicates, ${fmtNum(p.rejected, 0)} rejected`
    : "waiting to start";
  let text = `Sync ${job.status}: ${counts}`;
  if (job.status === "dead" && job.lastError) text += ` (${job.lastError})`;
  else if (job.status === "failed" && job.lastError) text += `; retrying (${job.lastError})`;
  return text;
}

// The Gmail section: one row per mailbox, each following its sync job.
function gmailSection(ctx) {
  const box = h("div", { id: "gmail-mailboxes" }, note("Loading…"));
  const rows = new Map(); // integration id -> { follow, show, paint, stop, jobId }
  const finished = new Map(); // integration id -> its last sync job seen ending here
  const connect = canWrite()
    ? h("a", { href: `/api/integrations/gmail/authorize?workspaceId=${encodeURIComponent(currentWorkspace() || "")}`, class: "button button-quiet", "data-action": "connect-gmail" }, "Connect Gmail")
    : null;

  function gmailRow(m) {
    const bar = h("progress", { class: "gmail-progress", max: 1, value: 0, hidden: true });
    const status = h("p", { class: "status-note muted small gmail-sync-status", role: "status", "aria-live": "polite" });
    const sync = h("button", { type: "button", class: "button button-small", "data-action": "sync-gmail" }, "Sync now");
    let timer = null;
    const row = { jobId: null };
    sync.hidden = !canWrite() || m.status === "disconnected";
    row.stop = () => { row.jobId = null; clearTimeout(timer); timer = null; };
    row.paint = (job) => {
      const p = job.progress;
      const ended = job.status === "done" || job.status === "dead";
      bar.hidden = false;
      if (p && p.listed) {
        bar.max = p.listed;
        bar.value = p.fetched;
      } else if (ended) {
        bar.max = 1;
        bar.value = 1;
      } else {
        bar.removeAttribute("value"); // indeterminate until the listing
      }
      status.textContent = syncText(job);
      status.className = `status-note small gmail-sync-status ${job.status === "dead" ? "error" : "muted"}`;
      status.dataset.status = job.status;
      sync.disabled = !ended;
    };
    row.show = (job) => {
      row.paint(job);
      if (job.status === "done" || job.status === "dead") {
        row.stop();
        finished.set(m.id, job);
        load(); // the mailbox's status, last sync and error
      }
    };
    async function poll() {
      timer = null;
      const id = row.jobId;
      if (!id) return;
      try {
        const { data } = await api.get(`/api/jobs/${encodeURIComponent(id)}`);
        if (id === row.jobId) row.show(data);
      } catch (err) {
        /* the next poll or event tells */
      }
      if (row.jobId) timer = setTimeout(poll, POLL_MS);
    }
    row.poll = poll;
    row.follow = (job) => {
      row.stop();
      row.jobId = job.id;
      row.show(job);
      if (row.jobId) timer = setTimeout(poll, POLL_MS);
    };
    sync.addEventListener("click", async () => {
      sync.disabled = true;
      try {
        const { data } = await api.post("/api/integrations/gmail/sync", { integrationId: m.id });
        if (data.jobs.length) row.follow(data.jobs[0]);
      } catch (err) {
        sync.disabled = false;
        status.className = "status-note small gmail-sync-status error";
        status.textContent = err.message;
      }
    });
    row.el = h("tr", { "data-gmail-id": m.id, "data-status": m.status },
      h("td", {}, m.accountEmail),
      h("td", {}, badge(m.status, m.status),
        m.lastError ? h("div", { class: "small gmail-error" }, m.lastError) : null),
      h("td", {}, m.lastSyncAt ? fmtDate(m.lastSyncAt) : "never"),
      h("td", {}, sync, bar, status));
    return row;
  }

  async function load() {
    let list, jobs;
    try {
      list = (await api.get("/api/integrations")).data.filter((m) => m.provider === "gmail");
      jobs = (await api.get("/api/jobs", { pageSize: 200 })).data
        .filter((j) => j.kind === "gmail_sync" && (j.status === "queued" || j.status === "running" || j.status === "failed"));
    } catch (err) {
      if (ctx.isCurrent()) replace(box, note(err.message, "error"));
      return;
    }
    if (!ctx.isCurrent()) return;
    const following = new Map([...rows].filter(([, r]) => r.jobId).map(([id, r]) => [id, r.jobId]));
    for (const r of rows.values()) r.stop();
    rows.clear();
    for (const m of list) rows.set(m.id, gmailRow(m));
    replace(box, list.length
      ? h("div", { class: "table-wrap" }, h("table", { class: "data" },
        h("thead", {}, h("tr", {}, ["Mailbox", "Status", "Last sync", "Sync"].map((t) => h("th", { scope: "col" }, t)))),
        h("tbody", {}, [...rows.values()].map((r) => r.el))))
      : h("p", { class: "empty" }, "No Gmail mailbox is connected."));
    for (const [id, job] of finished) {
      const r = rows.get(id);
      if (r) r.paint(job);
    }
    // A sync still running (started here, or elsewhere) is followed too.
    for (const j of jobs) {
      const r = rows.get(j.payload && j.payload.integrationId);
      if (r && !r.jobId) r.follow(j);
    }
    for (const [id, jobId] of following) {
      const r = rows.get(id);
      if (r && !r.jobId) { r.jobId = jobId; r.poll(); }
    }
  }

  return {
    el: h("section", { class: "panel", "aria-labelledby": "gmail-title" },
      h("div", { class: "page-head" }, h("h2", { id: "gmail-title" }, "Gmail"), connect), box),
    load,
    onEvent(msg) {
      if (msg.type !== "job_progress" || !msg.data || msg.data.kind !== "gmail_sync") return;
      const r = rows.get(msg.data.progress && msg.data.progress.integrationId);
      if (!r) return;
      if (!r.jobId) r.jobId = msg.data.id;
      if (r.jobId !== msg.data.id) return;
      // A failure is shown from the job itself, which has the reason.
      if (msg.data.status === "dead" || msg.data.status === "failed") r.poll();
      else r.show({ id: msg.data.id, status: msg.data.status, progress: msg.data.progress, lastError: null });
    },
    dispose() { for (const r of rows.values()) r.stop(); },
  };
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

  const gmail = gmailSection(ctx);
  replace(ctx.root,
    h("div", { class: "page-head" }, h("div", {}, h("h1", {}, "Mailboxes"),
      h("p", { class: "sub" }, "Gmail and IMAP mailboxes read into this workspace, like imports."))),
    gmail.el,
    h("section", { class: "panel", "aria-labelledby": "imap-title" },
      h("h2", { id: "imap-title" }, "IMAP"),
      box, status,
      sourceForm(load)));
  await Promise.all([gmail.load(), load()]);
  return {
    onEvent(msg) { gmail.onEvent(msg); },
    dispose() {
      clearTimeout(timer);
      gmail.dispose();
    },
  };
}
