// The contacts page's "Import and export" panel: a CSV file chosen here is
// read for its header row, each contact field is mapped to one of its
// columns (guessed from the usual headers, as the server does), and the
// file goes to POST /api/contacts/import; the report lists what was
// created, updated, skipped and each rejected row with its reason.
// Export is a plain link to GET /api/contacts/export.
import { api, currentWorkspace } from "../api.js";
import { h, replace } from "../dom.js";

const FIELDS = [
  ["email", "Email", ["email", "e-mail", "email address", "e-mail address", "mail"]],
  ["name", "Name", ["name", "full name", "contact name", "contact"]],
  ["company", "Company", ["company", "organization", "organisation", "company name", "account"]],
  ["jobTitle", "Job title", ["jobtitle", "job title", "title", "position", "role"]],
  ["status", "Status", ["status", "lead status", "stage"]],
  ["tags", "Tags", ["tags", "labels", "tag"]],
];

// The cells of the first record of text (RFC 4180 quoting; , ; or tab).
export function headerOf(text) {
  const t = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  let quoted = false;
  let end = t.length;
  const counts = { ",": 0, ";": 0, "\t": 0 };
  for (let i = 0; i < t.length; i++) {
    const c = t[i];
    if (c === '"') quoted = !quoted;
    else if (!quoted && (c === "\n" || c === "\r")) { end = i; break; } else if (!quoted && c in counts) counts[c]++;
  }
  const delim = Object.keys(counts).reduce((a, b) => (counts[b] > counts[a] ? b : a), ",");
  const line = t.slice(0, end);
  const cells = [];
  let cur = "";
  quoted = false;
  for (let i = 0; i < line.length; i++) {
    const c = line[i];
    if (quoted) {
      if (c === '"' && line[i + 1] === '"') { cur += '"'; i++; } else if (c === '"') quoted = false;
      else cur += c;
    } else if (c === '"') quoted = true;
    else if (c === delim) { cells.push(cur.trim()); cur = ""; } else cur += c;
  }
  cells.push(cur.trim());
  return cells.filter((c) => c !== "");
}

function guess(columns, aliases) {
  return columns.find((c) => aliases.includes(c.toLowerCase())) || "";
}

function report(data) {
  const counts = h("p", { id: "csv-counts" },
    `${data.rows} rows: ${data.created} created, ${data.updated} updated, ${data.skipped} skipped, ${data.rejected} rejected.`);
  if (!data.rejects.length) return [counts];
  return [counts,
    h("div", { class: "table-wrap" }, h("table", { class: "data", id: "csv-rejects" },
      h("caption", {}, "Rejected rows"),
      h("thead", {}, h("tr", {}, h("th", { scope: "col" }, "Row"), h("th", { scope: "col" }, "Reason"))),
      h("tbody", {}, data.rejects.map((r) => h("tr", {}, h("td", {}, String(r.row)), h("td", {}, r.reason)))))),
    data.rejectsTruncated ? h("p", { class: "muted small" }, "More rows were rejected than are listed.") : null];
}

export function csvPanel(onImported) {
  const file = h("input", { id: "csv-file", name: "file", type: "file", accept: ".csv,.tsv,.txt,text/csv" });
  const mapping = h("div", { id: "csv-mapping" });
  const dup = h("select", { id: "csv-duplicates", name: "onDuplicate" },
    h("option", { value: "skip" }, "Skip the row"), h("option", { value: "update" }, "Update the contact"));
  const submit = h("button", { type: "submit", class: "button", "data-action": "import-csv", disabled: true }, "Import");
  const status = h("p", { class: "status-note muted", role: "status", "aria-live": "polite", id: "csv-status" });
  const out = h("div", { id: "csv-report", "aria-live": "polite" });
  let columns = [];

  file.addEventListener("change", async () => {
    replace(out);
    status.textContent = "";
    const f = file.files[0];
    if (!f) return;
    columns = headerOf(await f.slice(0, 64 * 1024).text());
    replace(mapping, h("div", { class: "filters" }, FIELDS.map(([key, label, aliases]) => {
      const id = `csv-map-${key}`;
      const pick = guess(columns, aliases);
      return h("div", { class: "field" },
        h("label", { for: id }, label),
        h("select", { id, name: key, "data-field": key },
          h("option", { value: "" }, "— not imported —"),
          columns.map((c) => h("option", { value: c, selected: c === pick }, c))));
    })));
    submit.disabled = false;
  });

  const form = h("form", { id: "csv-import", "aria-labelledby": "csv-title" },
    h("div", { class: "filters" },
      h("div", { class: "field field-wide" }, h("label", { for: "csv-file" }, "CSV file (comma, semicolon or tab; UTF-8)"), file),
      h("div", { class: "field" }, h("label", { for: "csv-duplicates" }, "When the email is known"), dup)),
    mapping,
    h("div", { class: "actions" }, submit),
    status, out);
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const f = file.files[0];
    if (!f) return;
    const pairs = [];
    for (const sel of mapping.querySelectorAll("select[data-field]")) {
      if (sel.value) pairs.push(`${sel.dataset.field}=${sel.value}`);
    }
    if (!pairs.some((p) => p.startsWith("email="))) {
      status.textContent = "Choose the column that holds the email.";
      return;
    }
    submit.disabled = true;
    status.textContent = `Importing ${f.name}…`;
    try {
      const { data } = await api.request("POST", "/api/contacts/import", {
        raw: f, contentType: "text/csv", query: { map: pairs.join(","), onDuplicate: dup.value },
      });
      status.textContent = `Imported ${f.name}.`;
      replace(out, ...report(data));
      onImported();
    } catch (err) {
      status.textContent = err.message;
    } finally {
      submit.disabled = false;
    }
  });

  const exportLink = h("a", {
    class: "button button-quiet", id: "csv-export", download: "contacts.csv",
    href: `/api/contacts/export?workspaceId=${encodeURIComponent(currentWorkspace() || "")}`,
  }, "Export all contacts (CSV)");
  return h("details", { class: "panel", id: "csv-panel" },
    h("summary", { id: "csv-title" }, "Import and export (CSV)"),
    h("p", { class: "muted small" }, "Columns may be mapped to name, email, company, job title, status and tags (separated by , ; or |). Rows are checked one by one: the report names each rejected row and why."),
    form,
    h("p", {}, exportLink));
}
