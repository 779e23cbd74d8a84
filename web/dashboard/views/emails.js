// /dashboard/emails: analyzed emails, newest first, with intent and
// sentiment filters, and the import of a mailbox file. An upload becomes an
// import job on the server; its progress arrives as live job_progress
// events (and is read from /api/jobs/{id} now and then, in case the live
// connection is down).
import { api, currentUser, currentWorkspace } from "../api.js";
import { h, replace, fmtDate, fmtNum, label, note, badge } from "../dom.js";
import { debounce } from "./actions.js";
import { bindFilters, pager, selectField } from "./contacts.js";

export const INTENTS = ["meeting_request", "pricing_inquiry", "question", "feature_request", "follow_up", "general", "complaint"];
const PAGE_SIZE = 25;
const POLL_MS = 2000;

function canWrite() {
  const me = currentUser();
  const ws = me && (me.workspaces || []).find((w) => w.id === currentWorkspace());
  return !!ws && ws.role !== "viewer";
}

// The import form and the progress of the job it started (or of one that
// was already running when the page opened).
function importPanel(onDone) {
  const input = h("input", { id: "import-file", name: "file", type: "file", accept: ".mbox,.eml,.txt,message/rfc822,application/mbox", required: true });
  const button = h("button", { type: "submit", class: "button", "data-action": "import" }, "Import");
  const bar = h("progress", { id: "import-progress", max: 1, value: 0, hidden: true });
  const status = h("p", { id: "import-status", class: "status-note muted", role: "status", "aria-live": "polite" });
  const form = h("form", { class: "filters", "aria-label": "Import emails" },
    h("div", { class: "field field-wide" },
      h("label", { for: "import-file" }, "Import a mailbox (.mbox) or one message (.eml)"), input),
    h("div", { class: "field field-actions" }, button));
  let jobId = null;
  let timer = null;

  function show(job) {
    const p = job.progress;
    const ended = job.status === "done" || job.status === "dead";
    bar.hidden = false;
    if (p && p.bytesTotal) {
      bar.max = p.bytesTotal;
      bar.value = p.bytesDone;
    } else if (ended) {
      bar.max = 1;
      bar.value = 1;
    } else {
      bar.removeAttribute("value"); // indeterminate until the first batch
    }
    const counts = p
      ? `${fmtNum(p.messages, 0)} read, ${fmtNum(p.imported, 0)} imported, ${fmtNum(p.duplicates, 0)} duplicates, ${fmtNum(p.rejected, 0)} rejected`
      : "waiting to start";
    let text = `Import ${job.status}: ${counts}`;
    if (job.status === "dead" && job.lastError) text += ` (${job.lastError})`;
    else if (job.status === "failed" && job.lastError) text += `; retrying (${job.lastError})`;
    status.textContent = text;
    status.className = `status-note ${job.status === "dead" ? "error" : "muted"}`;
    status.dataset.status = job.status;
    if (ended) {
      stop();
      button.disabled = false;
      onDone();
    }
  }

  function stop() {
    jobId = null;
    if (timer) clearTimeout(timer);
    timer = null;
  }

  async function poll() {
    timer = null;
    if (!jobId) return;
    const id = jobId;
    try {
      const { data } = await api.get(`/api/jobs/${encodeURIComponent(id)}`);
      if (id === jobId) show(data);
    } catch (err) {
      /* the next poll or event tells */
    }
    if (jobId) timer = setTimeout(poll, POLL_MS);
  }

  function follow(job) {
    stop();
    jobId = job.id;
    button.disabled = true;
    show(job);
    if (jobId) timer = setTimeout(poll, POLL_MS);
  }

  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const file = input.files && input.files[0];
    if (!file) return;
    button.disabled = true;
    status.className = "status-note muted";
    status.textContent = `Uploading ${file.name}…`;
    const type = /\.eml$/i.test(file.name) ? "message/rfc822" : "application/mbox";
    try {
      const { data } = await api.request("POST", "/api/emails/import", { raw: file, contentType: type });
      form.reset();
      follow(data);
    } catch (err) {
      button.disabled = false;
      status.className = "status-note error";
      status.textContent = err.message;
    }
  });

  return {
    el: h("section", { class: "panel", "aria-label": "Import emails" }, form, bar, status),
    follow,
    onEvent(msg) {
      if (msg.type === "job_progress" && msg.data && msg.data.id === jobId) {
        // A failure is shown from the job itself, which has the reason (show
        // would stop following a dead job before the poll could read it).
        if (msg.data.status === "dead" || msg.data.status === "failed") poll();
        else show({ id: msg.data.id, status: msg.data.status, progress: msg.data.progress, lastError: null });
      }
    },
    dispose: stop,
  };
}

export async function render(ctx) {
  document.title = "Emails · leadflow";
  const q = ctx.query;
  const form = h("form", { class: "filters", role: "search", "aria-label": "Find emails" },
    h("div", { class: "field field-wide" },
      h("label", { for: "f-q" }, "Search subject or sender"),
      h("input", { id: "f-q", name: "q", type: "search", value: q.get("q") || "", maxlength: 200 })),
    selectField("intent", "Intent", [["", "Any intent"], ...INTENTS.map((i) => [i, label(i)])], q.get("intent") || ""),
    selectField("sentiment", "Sentiment", [["", "Any sentiment"], ["positive", "positive"], ["neutral", "neutral"], ["negative", "negative"]], q.get("sentiment") || ""),
    q.get("contactId") ? h("input", { type: "hidden", name: "contactId", value: q.get("contactId") }) : null,
    h("div", { class: "field field-actions" },
      h("button", { type: "submit", class: "button" }, "Apply"),
      h("a", { href: "/dashboard/emails", class: "button button-quiet" }, "Clear")));
  bindFilters(ctx, form, "/dashboard/emails");
  const results = h("div", { id: "email-results" }, note("Loading…"));
  const count = h("p", { class: "sub", "aria-live": "polite" });
  let refresh = null;
  const imports = canWrite() ? importPanel(() => { if (refresh && !q.get("page")) refresh(); }) : null;
  replace(ctx.root,
    h("div", { class: "page-head" }, h("div", {}, h("h1", {}, "Emails"), count),
      h("a", { href: "/dashboard/suppressions", class: "button button-quiet" }, "Suppression list")),
    imports ? imports.el : null,
    form,
    h("section", { class: "panel panel-flush", "aria-label": "Emails" }, results));

  async function load() {
    let res;
    try {
      res = await api.get("/api/emails", {
        q: q.get("q"), intent: q.get("intent"), sentiment: q.get("sentiment"),
        contactId: q.get("contactId"), page: q.get("page") || 1, pageSize: PAGE_SIZE,
      });
    } catch (err) {
      if (ctx.isCurrent()) replace(results, note(err.message, "error"));
      return;
    }
    if (!ctx.isCurrent()) return;
    const { data, meta } = res;
    count.textContent = `${meta.total ?? data.length} ${meta.total === 1 ? "email" : "emails"}, newest first`;
    if (!data.length) {
      replace(results, h("p", { class: "empty" }, "No emails match these filters."));
      return;
    }
    replace(results,
      h("div", { class: "table-wrap" }, h("table", { class: "data stack-sm" },
        h("caption", { class: "visually-hidden" }, "Emails, newest first"),
        h("thead", {}, h("tr", {}, ["Subject", "From", "Received", "Intents", "Sentiment"].map((t) => h("th", { scope: "col" }, t)))),
        h("tbody", {}, data.map((e) => h("tr", { "data-email-id": e.id },
          h("th", { scope: "row", class: "clip" }, h("a", { href: `/dashboard/emails/${encodeURIComponent(e.id)}` }, e.subject || "(no subject)")),
          h("td", { "data-label": "From" }, e.from ? (e.from.name || e.from.email) : "—",
            e.direction === "outbound" ? h("span", { class: "muted" }, " (sent)") : null),
          h("td", { "data-label": "Received", class: "nowrap" }, h("time", { datetime: e.receivedAt }, fmtDate(e.receivedAt))),
          h("td", { "data-label": "Intents" }, (e.intents || []).length ? e.intents.map((i) => badge(label(i), "intent")) : "—"),
          h("td", { "data-label": "Sentiment" }, e.sentiment ? badge(e.sentiment.label, e.sentiment.label) : "—")))))),
      pager(ctx, meta, "/dashboard/emails", q));
  }
  await load();
  refresh = debounce(load);
  if (imports) {
    // An import still running (started here before, or elsewhere) is followed too.
    try {
      const { data } = await api.get("/api/jobs", { status: "running", pageSize: 50 });
      const running = data.find((j) => j.kind === "import_emails");
      if (running && ctx.isCurrent()) imports.follow(running);
    } catch (err) {
      /* no progress shown; the list still works */
    }
  }
  return {
    onEvent(msg) {
      if (msg.type === "email_processed" && !q.get("page")) refresh();
      if (imports) imports.onEvent(msg);
    },
    dispose() {
      refresh.cancel();
      if (imports) imports.dispose();
    },
  };
}
