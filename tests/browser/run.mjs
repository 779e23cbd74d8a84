// Browser tests of the leadflow dashboard: the real server (`leadflow serve
// --demo` on a temporary SQLite database and a free port) driven through
// Debian's chromium by playwright-core. Signs in with a one-time link from
// `leadflow user login-link`, walks every page, edits and approves a draft,
// waits for a live hot-lead toast over /ws, and probes for HTML injection.
// Screenshots of every page at laptop (1280x800) and phone (390x844) widths
// go to BUILD/screenshots/.
//
// Usage: node tests/browser/run.mjs [BUILD_DIR]   (default: $LEADFLOW_BIN's
// directory, else build). Ends with "N passed, N failed"; exits 1 on failure.
// LEADFLOW_BROWSER_ONLY=text runs only the tests whose name holds text (and
// the sign-in they need).
import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";

const HERE = dirname(fileURLToPath(import.meta.url));
const ROOT = resolve(HERE, "..", "..");
const BUILD = resolve(ROOT, process.argv[2] || (process.env.LEADFLOW_BIN ? dirname(process.env.LEADFLOW_BIN) : "build"));
const BIN = process.env.LEADFLOW_BIN ? resolve(process.env.LEADFLOW_BIN) : join(BUILD, "leadflow");
const CHROMIUM = process.env.LEADFLOW_CHROMIUM || "/usr/bin/chromium";
const SHOTS = join(BUILD, "screenshots");
const DEMO_EMAIL = "demo@northwind-demo.example";
const LAPTOP = { width: 1280, height: 800 };
const PHONE = { width: 390, height: 844 };
const START_TIMEOUT = 20000;
const TEST_TIMEOUT = 45000;
const ONLY = process.env.LEADFLOW_BROWSER_ONLY || "";
const LIVE_TIMEOUT = 15000;

let passed = 0;
let failed = 0;

function bail(why) {
  console.log(`browser tests cannot run: ${why}`);
  console.log("0 passed, 1 failed");
  process.exit(1);
}

// ---- setup -------------------------------------------------------------------

function ensureModules() {
  if (existsSync(join(HERE, "node_modules", "playwright-core"))) return;
  console.log("installing playwright-core (npm ci)");
  const r = spawnSync("npm", ["ci", "--no-audit", "--no-fund"], { cwd: HERE, stdio: "inherit" });
  if (r.status !== 0) bail("npm ci failed in tests/browser");
}

// The environment without the caller's LEADFLOW_* settings.
function cleanEnv(extra) {
  const env = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith("LEADFLOW_")) env[k] = v;
  return { ...env, ...extra };
}

// Starts `leadflow serve --demo` (or, with demo false, on an empty database)
// and resolves once it logs server.listening.
function startServer(work, demo = true) {
  const db = `sqlite:${join(work, demo ? "test.db" : "first-run.db")}`;
  const env = cleanEnv({
    LEADFLOW_WEB_DIR: join(ROOT, "web"),
    LEADFLOW_DEMO_MAILBOX: join(ROOT, "data", "demo", "sample.mbox"),
  });
  const proc = spawn(BIN, ["serve", ...(demo ? ["--demo"] : []), "--db", db, "--listen", "127.0.0.1:0"],
    { cwd: work, env, stdio: ["ignore", "pipe", "pipe"] });
  const log = [];
  const srv = { proc, db, env, work, log, exited: null };
  proc.on("exit", (code, sig) => { srv.exited = { code, sig }; });
  createInterface({ input: proc.stdout }).on("line", (l) => log.push(l));
  return new Promise((resolveStart, rejectStart) => {
    const timer = setTimeout(() => rejectStart(new Error(`no server.listening within ${START_TIMEOUT} ms:\n${log.join("\n")}`)), START_TIMEOUT);
    createInterface({ input: proc.stderr }).on("line", (line) => {
      log.push(line);
      let rec = null;
      try {
        rec = JSON.parse(line);
      } catch (err) {
        return;
      }
      if (rec && rec.event === "server.listening") {
        clearTimeout(timer);
        srv.port = rec.port;
        srv.base = `http://127.0.0.1:${rec.port}`;
        resolveStart(srv);
      }
    });
    proc.on("exit", (code) => {
      clearTimeout(timer);
      rejectStart(new Error(`leadflow serve exited (${code}) before listening:\n${log.join("\n")}`));
    });
  });
}

function stopServer(srv) {
  return new Promise((res) => {
    if (srv.exited) return res(srv.exited);
    const t = setTimeout(() => srv.proc.kill("SIGKILL"), 10000);
    srv.proc.on("exit", (code, sig) => {
      clearTimeout(t);
      res({ code, sig });
    });
    srv.proc.kill("SIGTERM");
  });
}

// A one-time sign-in path from the CLI (the server's own public URL may differ).
function loginLinkPath(srv) {
  const r = spawnSync(BIN, ["user", "login-link", DEMO_EMAIL, "--db", srv.db],
    { cwd: srv.work, env: srv.env, encoding: "utf8", timeout: 15000 });
  if (r.status !== 0) throw new Error(`leadflow user login-link failed (${r.status}): ${r.stderr}`);
  const url = new URL(r.stdout.trim().split("\n").pop());
  if (!url.pathname.startsWith("/auth/link/")) throw new Error(`unexpected login link: ${r.stdout}`);
  return url.pathname;
}

// ---- helpers -------------------------------------------------------------------

function check(cond, what) {
  if (!cond) throw new Error(what);
}

async function shot(page, name) {
  mkdirSync(SHOTS, { recursive: true });
  const was = page.viewportSize();
  for (const [size, vp] of [["laptop", LAPTOP], ["phone", PHONE]]) {
    await page.setViewportSize(vp);
    await page.waitForTimeout(150);
    await page.screenshot({ path: join(SHOTS, `${name}-${size}.png`), fullPage: true });
  }
  await page.setViewportSize(was || LAPTOP);
}

// The page's width against the window's: nothing may scroll sideways.
async function checkFits(page, name) {
  const over = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  check(over <= 1, `${name}: the page is ${over}px wider than a ${page.viewportSize().width}px window`);
}

// Calls the JSON API from inside the page, with the session and CSRF token.
async function apiCall(page, method, path, body, contentType) {
  return page.evaluate(async ({ method, path, body, contentType }) => {
    const me = await (await fetch("/api/auth/me")).json();
    const ws = me.data.workspaces[0].id;
    const url = new URL(path, location.origin);
    url.searchParams.set("workspaceId", ws);
    const headers = { "X-CSRF-Token": me.data.csrfToken };
    if (contentType) headers["Content-Type"] = contentType;
    const r = await fetch(url, { method, headers, body });
    return { status: r.status, body: await r.json() };
  }, { method, path, body, contentType });
}

// POST /api/emails/import answers 202 with an import job: waits for it to
// end; returns {status, job} (job.progress has the counts).
async function importMail(page, body, contentType) {
  const r = await apiCall(page, "POST", "/api/emails/import", body, contentType);
  check(r.status === 202 && r.body.data.kind === "import_emails", `import refused: ${r.status} ${JSON.stringify(r.body)}`);
  for (let i = 0; i < 400; i++) {
    const j = await apiCall(page, "GET", `/api/jobs/${r.body.data.id}`);
    if (j.body.data.status === "done" || j.body.data.status === "dead") return { status: r.status, job: j.body.data };
    await new Promise((res) => setTimeout(res, 50));
  }
  throw new Error(`import job ${r.body.data.id} did not end`);
}

function rfc822({ from, subject, body, minutesAgo = 0, id }) {
  const date = new Date(Date.now() - minutesAgo * 60000).toUTCString().replace("GMT", "+0000");
  return [
    `From: ${from}`,
    "To: dana@northwind-demo.example",
    `Subject: ${subject}`,
    `Date: ${date}`,
    `Message-ID: <${id}@browser-test.example>`,
    "MIME-Version: 1.0",
    "Content-Type: text/plain; charset=utf-8",
    "",
    body,
    "",
  ].join("\r\n");
}

function mbox(messages) {
  return messages.map((m) => `From sender@browser-test.example Thu Jan  1 00:00:00 2026\n${m.replace(/\r\n/g, "\n")}\n`).join("");
}

// ---- the tests -------------------------------------------------------------------

const tests = [];
const test = (name, fn) => tests.push({ name, fn });
const state = {};

test("pages carry a strict Content-Security-Policy and work under it", async ({ page, srv }) => {
  for (const path of ["/index.html", "/login", "/dashboard/overview"]) {
    const r = await page.request.get(srv.base + path, { maxRedirects: 0 });
    const csp = r.headers()["content-security-policy"] || "";
    for (const d of ["default-src 'self'", "script-src 'self'", "style-src 'self'", "frame-ancestors 'none'", "base-uri 'none'"])
      check(csp.includes(d), `${path}: Content-Security-Policy "${csp}" lacks ${d}`);
    check(!csp.includes("unsafe-inline") && !csp.includes("unsafe-eval"), `${path}: ${csp} allows inline code`);
  }
  await page.goto(`${srv.base}/index.html`);
  await page.locator("#health", { hasText: /^ok \(leadflow / }).waitFor();
  const weight = await page.locator("#health").evaluate((el) => getComputedStyle(el).fontWeight);
  check(weight === "600", `the start page's stylesheet did not apply (font-weight ${weight})`);
});

test("sign-in page shows the login-link note and ?error= as text", async ({ page, srv }) => {
  const evil = '<img src=x onerror="window.__xss=1">bad link';
  await page.goto(`${srv.base}/login?error=${encodeURIComponent(evil)}`);
  const err = page.locator("#error");
  await err.waitFor();
  check((await err.textContent()) === evil, "the error is not shown as plain text");
  check((await page.locator("#error img").count()) === 0, "the error was parsed as HTML");
  await page.locator("#no-provider").waitFor({ state: "visible" });
  check(!(await page.locator("#google").isVisible()), "Continue with Google shows without a provider");
  check((await page.locator("code").textContent()).includes("leadflow user login-link"), "no login-link command");
  const providers = await (await page.request.get(`${srv.base}/api/auth/providers`)).json();
  check(providers.success && providers.data.oidc === false, "GET /api/auth/providers does not say oidc=false");
  await shot(page, "login");
});

test("signs in through a one-time link and lands on the overview", async ({ page, srv }) => {
  await page.goto(srv.base + loginLinkPath(srv));
  await page.waitForURL(/\/dashboard\/overview$/);
  await page.locator("h1", { hasText: "Overview" }).waitFor();
  await page.locator("#stats .stat-value").first().waitFor();
  const who = await page.locator("#who").textContent();
  check(who === "Demo User", `signed in as "${who}"`);
  const ws = await page.locator("#workspace option").count();
  check(ws >= 1, "the workspace switcher is empty");
});

test("overview shows counts and the demo's hot leads with why", async ({ page, srv }) => {
  await page.goto(`${srv.base}/dashboard/overview`);
  const cards = page.locator("#hot-leads li.lead");
  await cards.first().waitFor();
  const n = await cards.count();
  check(n >= 3, `only ${n} hot leads`);
  const hot = Number(await page.locator('[data-stat="hot"]').textContent());
  check(hot >= n, `the hot count (${hot}) is below the cards shown (${n})`);
  for (let i = 0; i < n; i++) {
    const card = cards.nth(i);
    const score = Number(await card.locator(".score-value").textContent());
    check(score >= 80 && score <= 100, `a hot lead has score ${score}`);
    check((await card.locator(".stack .seg").count()) === 5, "the score bar does not have five parts");
    check((await card.locator(".reasons li").count()) >= 1, "a hot lead says nothing about why");
  }
  const first = cards.first();
  check((await first.locator(".last-email a").count()) === 1, "the first lead has no last email");
  check((await first.locator("a", { hasText: "View contact" }).count()) === 1, "no View contact action");
  check((await first.locator("button", { hasText: "Draft email" }).count()) === 1, "no Draft email action");
  state.leadName = (await first.locator(".lead-name").textContent()).trim();
  state.leadId = await first.getAttribute("data-contact-id");
  state.leadScore = Number(await first.locator(".score-value").textContent());
  await shot(page, "overview");
  await page.setViewportSize(PHONE);
  await checkFits(page, "overview");
  await page.setViewportSize(LAPTOP);
});

test("contacts: tier filter, search and paging", async ({ page, srv }) => {
  await page.goto(`${srv.base}/dashboard/contacts`);
  await page.locator("#contact-results tbody tr").first().waitFor();
  await page.selectOption("#f-tier", "hot");
  await page.click("form.filters button[type=submit]");
  await page.waitForURL(/tier=hot/);
  await page.locator("#contact-results tbody tr").first().waitFor();
  const scores = await page.locator("#contact-results tbody .score-value").allTextContents();
  check(scores.length >= 1 && scores.every((s) => Number(s) >= 80), `hot filter shows scores ${scores}`);
  await page.goto(`${srv.base}/dashboard/contacts`);
  await page.fill("#f-q", state.leadName);
  await page.press("#f-q", "Enter");
  await page.waitForURL(/q=/);
  await page.locator("#contact-results tbody tr th a", { hasText: state.leadName }).first().waitFor();
  await page.goto(`${srv.base}/dashboard/contacts`);
  await page.locator(".pager a[rel=next]").click();
  await page.waitForURL(/page=2/);
  await page.locator(".pager", { hasText: "page 2" }).waitFor();
  await page.goto(`${srv.base}/dashboard/contacts`);
  await page.locator("#contact-results tbody tr").first().waitFor();
  await shot(page, "contacts");
  await page.setViewportSize(PHONE);
  await checkFits(page, "contacts");
  await page.setViewportSize(LAPTOP);
});

test("opens a hot lead's contact page: score parts, history, emails", async ({ page, srv }) => {
  await page.goto(`${srv.base}/dashboard/overview`);
  const first = page.locator("#hot-leads li.lead").first();
  await first.waitFor();
  await first.locator("a", { hasText: "View contact" }).click();
  await page.waitForURL(/\/dashboard\/contacts\/[0-9a-f-]+$/);
  await page.locator("h1", { hasText: state.leadName }).waitFor();
  await page.locator("#contact-score .stack .seg").first().waitFor();
  check((await page.locator("#contact-score .legend li").count()) === 5, "the score legend lacks parts");
  await page.locator("#contact-emails .tl-item").first().waitFor();
  await page.locator("#score-history svg").first().waitFor();
  await page.locator("#contact-sent table, #contact-sent p").first().waitFor();
  await page.locator("#contact-events .tl-item, #contact-events p.empty").first().waitFor();
  state.contactUrl = page.url();
  await shot(page, "contact");
  await page.setViewportSize(PHONE);
  await checkFits(page, "contact");
  await page.setViewportSize(LAPTOP);
});

test("emails list and one email", async ({ page, srv }) => {
  await page.goto(`${srv.base}/dashboard/emails`);
  const link = page.locator("#email-results tbody tr th a").first();
  await link.waitFor();
  const subject = (await link.textContent()).trim();
  await shot(page, "emails");
  await page.setViewportSize(PHONE);
  await checkFits(page, "emails");
  await page.setViewportSize(LAPTOP);
  await link.click();
  await page.waitForURL(/\/dashboard\/emails\/[^/]+$/);
  await page.locator("h1", { hasText: subject }).waitFor();
  await page.locator("pre.email-body").waitFor();
  await shot(page, "email");
});

test("emails: a mailbox file imported from the page, its progress shown live to the end", async ({ page, srv }) => {
  await page.goto(`${srv.base}/dashboard/emails`);
  await page.locator('#live[data-state="connected"]').waitFor({ timeout: LIVE_TIMEOUT });
  const stamp = Date.now();
  const msgs = [0, 1, 2].map((i) => rfc822({ from: `Uma Upload <uma-${stamp}@upload-probe.example>`,
    subject: `Upload probe ${i}`, body: `Could we book a demo for the team? (${i})`, minutesAgo: 10 + i, id: `upload-${i}-${stamp}` }));
  const bad = "this line is no email at all\n";
  await page.setInputFiles("#import-file", { name: "inbox.mbox", mimeType: "application/mbox",
    buffer: Buffer.from(mbox([...msgs, bad]) + mbox([msgs[0]])) });
  await page.click("button[data-action=import]");
  const status = page.locator('#import-status[data-status="done"]');
  await status.waitFor({ timeout: LIVE_TIMEOUT });
  const text = await status.textContent();
  check(/5 read, 3 imported, 1 duplicates, 1 rejected/.test(text), `the progress says: ${text}`);
  const bar = page.locator("#import-progress");
  check(await bar.evaluate((b) => !b.hidden && b.max > 0 && b.value === b.max), "the progress bar is not full at the end");
  await page.locator("#email-results tbody tr", { hasText: "Upload probe 2" }).waitFor({ timeout: 5000 });
  await shot(page, "emails-import");
});

test("a hot lead's Draft email action opens its draft", async ({ page, srv }) => {
  await page.goto(`${srv.base}/dashboard/overview`);
  const first = page.locator("#hot-leads li.lead").first();
  await first.waitFor();
  await first.locator("button", { hasText: "Draft email" }).click();
  await page.waitForURL(/\/dashboard\/drafts\?contactId=/);
  await page.locator(".flash", { hasText: "for review" }).waitFor();
  await page.locator("li.draft").first().waitFor();
});

test("edits a draft and approves it", async ({ page, srv }) => {
  await page.goto(`${srv.base}/dashboard/drafts`);
  const card = page.locator("li.draft[data-status=draft]").first();
  await card.waitFor();
  await shot(page, "drafts");
  const id = await card.getAttribute("data-draft-id");
  const mine = page.locator(`li.draft[data-draft-id="${id}"]`);
  const toggle = mine.locator("button[data-action=toggle]");
  check((await toggle.getAttribute("aria-expanded")) === "false", "a draft of a long list starts open");
  await toggle.click();
  check((await toggle.getAttribute("aria-expanded")) === "true", "Review and edit does not open the draft");
  check(await page.evaluate((sel) => document.activeElement === document.querySelector(sel), `li.draft[data-draft-id="${id}"] input[name=subject]`),
    "opening a draft does not move focus to its subject");
  const subject = "Edited in the browser test: next steps";
  await mine.locator("input[name=subject]").fill(subject);
  const body = mine.locator("textarea[name=body]");
  await body.fill(`${await body.inputValue()}\n\nP.S. Added by the browser test.`);
  check(await mine.locator("button[data-action=save]").isEnabled(), "Save stays disabled after an edit");
  await mine.locator("button[data-action=approve]", { hasText: "Save and approve" }).click();
  await page.locator(`li.draft[data-draft-id="${id}"][data-status=approved]`).waitFor();
  await page.locator("#toasts .toast", { hasText: "Approved" }).waitFor();
  const r = await apiCall(page, "GET", `/api/content/${id}`);
  check(r.body.data.status === "approved", `the draft is ${r.body.data.status}, not approved`);
  check(r.body.data.subject === subject, "the edited subject was not saved");
  check(r.body.data.body.endsWith("Added by the browser test."), "the edited body was not saved");
  await page.setViewportSize(PHONE);
  await checkFits(page, "drafts");
  await page.setViewportSize(LAPTOP);
});

test("previews a draft as it would be sent", async ({ page, srv }) => {
  await page.goto(`${srv.base}/dashboard/drafts`);
  const card = page.locator("li.draft[data-status=draft]").first();
  await card.waitFor();
  await card.locator("button[data-action=toggle]").click();
  await card.locator("button[data-action=preview]").click();
  const box = card.locator(".email-preview");
  await box.locator("dt", { hasText: "List-Unsubscribe-Post" }).waitFor();
  check((await box.locator("pre.body-view").first().textContent()).includes("Unsubscribe: http"),
    "the preview's text part has no unsubscribe footer");
  await shot(page, "draft-preview");
});

test("suppression list: adds an address with a note and removes it saying why", async ({ page, srv }) => {
  await page.goto(`${srv.base}/dashboard/emails`);
  await page.locator("a", { hasText: "Suppression list" }).click();
  await page.locator("h1", { hasText: "Suppression list" }).waitFor();
  const address = `held-${Date.now()}@example.test`;
  await page.locator("#s-email").fill(address);
  await page.locator("#s-note").fill("asked not to be emailed <b>ever</b>");
  await page.locator("button", { hasText: "Suppress" }).click();
  const row = page.locator("tr", { hasText: address });
  await row.waitFor();
  check((await row.textContent()).includes("<b>ever</b>"), "the note is not shown as text");
  await shot(page, "suppressions");
  page.once("dialog", (d) => d.accept("confirmed by phone"));
  await row.locator("button", { hasText: "Remove" }).click();
  await page.locator("#toasts .toast", { hasText: "can be sent to again" }).waitFor();
  await row.waitFor({ state: "detached" });
});

test("live client (mocked /ws): toasts, refreshes in place, ignores other workspaces, reconnects", async ({ page, srv }) => {
  // The page's own WebSocket is answered by a stand-in for /ws, so this
  // checks the dashboard's side of the protocol whatever the server does.
  const mock = await page.context().newPage();
  const sockets = [];
  await mock.routeWebSocket(/\/ws$/, (ws) => {
    sockets.push(ws);
    ws.send(JSON.stringify({ type: "hello" }));
  });
  try {
    await mock.goto(`${srv.base}/dashboard/overview`);
    await mock.locator("#hot-leads li.lead").first().waitFor();
    await mock.locator('#live[data-state="connected"]').waitFor();
    const ws = await mock.evaluate(async () => (await (await fetch("/api/auth/me")).json()).data.workspaces[0].id);
    await mock.evaluate(() => { window.__sameDocument = true; });
    const send = (type, data, workspaceId = ws) => sockets[sockets.length - 1].send(JSON.stringify({ type, workspaceId, data }));
    send("hot_lead", { contactId: state.leadId, email: "x@other.example", name: "Someone Elsewhere", score: 99 }, "another-workspace");
    const leadsRefresh = mock.waitForRequest(/\/api\/agents\/contact-intelligence/);
    send("hot_lead", { contactId: state.leadId, email: "lead@example.com", name: state.leadName, score: state.leadScore });
    const toast = mock.locator("#toasts .toast", { hasText: `New hot lead: ${state.leadName} (${state.leadScore})` });
    await toast.waitFor();
    await leadsRefresh;
    check((await toast.locator("a").getAttribute("href")) === `/dashboard/contacts/${state.leadId}`, "the toast does not link to the contact");
    check((await mock.locator("#toasts .toast", { hasText: "Someone Elsewhere" }).count()) === 0, "an event of another workspace was shown");
    check((await mock.locator("#toasts").getAttribute("aria-live")) === "polite", "toasts are not announced");
    const statsRefresh = mock.waitForRequest(/\/api\/dashboard\/stats/);
    send("email_processed", { emailId: "e1" });
    await statsRefresh;
    const draftsRefresh = mock.waitForRequest(/\/api\/content\?.*status=draft/);
    send("draft_ready", { contactId: state.leadId });
    await draftsRefresh;
    check(await mock.evaluate(() => window.__sameDocument === true), "the page was reloaded instead of refreshed in place");
    mkdirSync(SHOTS, { recursive: true });
    await mock.screenshot({ path: join(SHOTS, "overview-toast-laptop.png") });
    const before = sockets.length;
    sockets[sockets.length - 1].close({ code: 1011, reason: "test" });
    await mock.locator('#live[data-state="offline"]').waitFor();
    await mock.locator('#live[data-state="connected"]').waitFor({ timeout: 5000 });
    check(sockets.length === before + 1, `expected one reconnection, saw ${sockets.length - before}`);
  } finally {
    await mock.close();
  }
});

test("a live hot_lead event shows a toast and refreshes the hot leads", async ({ page, srv }) => {
  await page.goto(`${srv.base}/dashboard/overview`);
  await page.locator("#hot-leads li.lead").first().waitFor();
  try {
    await page.locator('#live[data-state="connected"]').waitFor({ timeout: LIVE_TIMEOUT });
  } catch (err) {
    throw new Error(`the dashboard did not connect to /ws within ${LIVE_TIMEOUT} ms (live state: ${await page.locator("#live").getAttribute("data-state")})`);
  }
  await page.evaluate(() => { window.__sameDocument = true; });
  const sender = "Ada Lovelace <ada@analytical-engines.example>";
  const sig = "\n\nThanks!\nAda Lovelace\nCEO, Analytical Engines Ltd";
  const msgs = [
    ["Pricing for 50 seats", "Hi team,\n\nWe loved the demo - great work. Could you send pricing for 50 seats and an annual plan? We are ready to move quickly and would love to book a meeting next week."],
    ["Re: Pricing for 50 seats", "Thanks, this is excellent. Can we schedule a call on Tuesday to review the proposal and the quote? Really impressed so far."],
    ["Re: Pricing for 50 seats", "Great news - the board approved the budget. Please send the contract and pricing for the enterprise tier; happy to meet Thursday."],
    ["Re: Pricing for 50 seats", "Wonderful - we would love to get started this month. What does the pricing look like for a two-year term? Can we meet tomorrow?"],
  ].map(([subject, body], i) => rfc822({ from: sender, subject, body: body + sig, minutesAgo: 240 - i * 60, id: `live-${i}-${Date.now()}` }));
  const r = await importMail(page, mbox(msgs), "application/mbox");
  check(r.job.status === "done" && r.job.progress.imported === 4, `import failed: ${JSON.stringify(r.job)}`);
  const toast = page.locator("#toasts .toast", { hasText: /New hot lead: Ada Lovelace \(\d+\)/ });
  try {
    await toast.waitFor({ timeout: LIVE_TIMEOUT });
  } catch (err) {
    const c = await apiCall(page, "GET", "/api/contacts?q=analytical-engines");
    const ada = (c.body.data || [])[0];
    throw new Error(`no "New hot lead: Ada Lovelace (N)" toast within ${LIVE_TIMEOUT} ms; the contact's score is ` +
      `${ada ? `${ada.score} (${JSON.stringify(ada.scoreBreakdown)})` : "unknown: no contact"}; live state: ` +
      `${await page.locator("#live").getAttribute("data-state")}`);
  }
  await page.locator("#hot-leads li.lead", { hasText: "Ada Lovelace" }).waitFor({ timeout: 5000 });
  check(await page.evaluate(() => window.__sameDocument === true), "the page was reloaded instead of refreshed in place");
});

test("alerts: a rule, a live alert on the page (as text), acknowledged", async ({ page, srv }) => {
  await page.goto(`${srv.base}/dashboard/alerts`);
  await page.locator("h1", { hasText: "Alerts" }).waitFor();
  await page.locator('#live[data-state="connected"]').waitFor({ timeout: LIVE_TIMEOUT });
  await page.fill("#rule-name", "Complaints to the team");
  await page.selectOption("#rule-trigger", "complaint");
  await page.click("button[data-action=create-rule]");
  await page.locator("#alert-rules tr", { hasText: "Complaints to the team" }).waitFor();
  const evil = "<img src=x onerror=alert(1)>";
  const msg = rfc822({ from: "Grumpy Gus <gus@grumpy.example>", subject: `Broken ${evil}`,
    body: "This is unacceptable. I want to file a complaint: the product is broken and I am very disappointed.",
    id: `alert-${Date.now()}` });
  const r = await importMail(page, msg, "message/rfc822");
  check(r.job.status === "done" && r.job.progress.imported === 1, `import failed: ${JSON.stringify(r.job)}`);
  // The demo's own complaint rule fires too: two alerts, two toasts.
  await page.locator("#toasts .toast", { hasText: "Alert: Complaint from Grumpy Gus" }).first().waitFor({ timeout: LIVE_TIMEOUT });
  const item = page.locator("#alerts li.alert-item", { hasText: "rule Complaints to the team" })
    .filter({ hasText: "Complaint from Grumpy Gus" });
  await item.waitFor({ timeout: 5000 });
  check((await item.locator("h2").textContent()).includes(evil), "the alert title is not shown as text");
  check(await page.locator("#alerts img").count() === 0, "markup in an alert became an element");
  await shot(page, "alerts");
  await item.locator("button[data-action=ack]").click();
  await page.locator("#toasts .toast", { hasText: "Alert acknowledged." }).waitFor();
  await page.click('[data-tab="acked"]');
  await page.waitForURL(/status=acked/);
  await page.locator("#alerts li.alert-item[data-status=acked]", { hasText: "rule Complaints to the team" }).waitFor();
});

test("alerts: a rule's test notification, marked read and unread", async ({ page, srv }) => {
  await page.goto(`${srv.base}/dashboard/alerts`);
  const row = page.locator("#alert-rules tr", { hasText: "Complaints to the team" });
  await row.locator("button[data-action=test-rule]").click();
  await page.locator("#alert-rules + p, p.status-note", { hasText: "Test notification of" }).first().waitFor();
  const item = page.locator("#alerts li.alert-item", { hasText: "Test notification: Complaints to the team" });
  await item.waitFor();
  check(await item.getAttribute("data-read") === "no", "a new alert is not shown unread");
  await item.locator("button[data-action=read]").click();
  await page.locator("#toasts .toast", { hasText: "Marked read." }).waitFor();
  await page.locator('#alerts li.alert-item[data-read="yes"]', { hasText: "Test notification" }).waitFor();
  await shot(page, "alerts-read");
  await page.locator('#alerts li.alert-item[data-read="yes"]', { hasText: "Test notification" })
    .locator("button[data-action=unread]").click();
  await page.locator('#alerts li.alert-item[data-read="no"]', { hasText: "Test notification" }).waitFor();
});

test("contacts: CSV import with a mapping and a report, and export", async ({ page, srv }) => {
  await page.goto(`${srv.base}/dashboard/contacts`);
  await page.locator("#csv-panel summary").click();
  const csv = "Courriel;Who;Firm;Labels\r\nann@csv-browser.example;Ann <b>Bold</b>;Acme;\"vip, beta\"\r\nnot-an-address;Bad;;\r\n";
  await page.setInputFiles("#csv-file", { name: "people.csv", mimeType: "text/csv", buffer: Buffer.from(csv) });
  await page.locator("#csv-map-email").waitFor();
  check(await page.locator("#csv-map-email").inputValue() === "", "Courriel was taken for the email without a mapping");
  check(await page.locator("#csv-map-tags").inputValue() === "Labels", "Labels was not guessed for the tags");
  await page.selectOption("#csv-map-email", "Courriel");
  await page.selectOption("#csv-map-name", "Who");
  await page.selectOption("#csv-map-company", "Firm");
  await page.selectOption("#csv-map-tags", "Labels");
  await page.click("button[data-action=import-csv]");
  await page.locator("#csv-counts", { hasText: "2 rows: 1 created, 0 updated, 0 skipped, 1 rejected." }).waitFor();
  await page.locator("#csv-rejects tr", { hasText: "email is not a valid email address" }).waitFor();
  check((await page.locator("#csv-rejects tbody td").first().textContent()) === "3", "the rejected row's number is wrong");
  await shot(page, "contacts-csv");
  await page.goto(`${srv.base}/dashboard/contacts?q=csv-browser`);
  await page.locator("#contact-results tr", { hasText: "Ann <b>Bold</b>" }).waitFor();
  check(await page.locator("#contact-results b").count() === 0, "markup in an imported name became an element");
  await page.locator("#csv-panel summary").click();
  const [download] = await Promise.all([page.waitForEvent("download"), page.click("#csv-export")]);
  const body = await (await download.createReadStream()).toArray();
  const text = Buffer.concat(body).toString("utf8");
  check(text.startsWith("email,name,company") && text.includes("ann@csv-browser.example"), `export: ${text.slice(0, 200)}`);
});

test("contact page: unsubscribe and resubscribe", async ({ page, srv }) => {
  check(state.contactUrl, "no contact page was opened earlier");
  await page.goto(state.contactUrl);
  await page.locator("button[data-action=unsubscribe]").click();
  await page.locator("#toasts .toast", { hasText: "is unsubscribed." }).waitFor();
  await page.locator("dl.fields dt", { hasText: "Unsubscribed" }).waitFor();
  await page.locator("button[data-action=resubscribe]").click();
  await page.locator("#toasts .toast", { hasText: "is subscribed again." }).waitFor();
  await page.locator("button[data-action=unsubscribe]").waitFor();
  check(await page.locator("dl.fields dt", { hasText: "Unsubscribed" }).count() === 0, "still shown unsubscribed");
});

test("campaigns: the builder shows the server's messages, creates, lists and activates", async ({ page, srv }) => {
  await page.goto(`${srv.base}/dashboard/campaigns`);
  await page.locator("h1", { hasText: "Campaigns" }).waitFor();
  const name = "Trial nurture <img src=x onerror=alert(1)>";
  await page.fill("#campaign-name", name);
  await page.click("#campaign-advanced > summary");
  await page.fill("#campaign-steps", "[{");
  await page.click("button[data-action=create-campaign]");
  await page.locator("#campaign-form-status", { hasText: "not valid JSON" }).waitFor();
  await page.fill("#campaign-steps", JSON.stringify([{ type: "email", config: { subject: "Hi", body: "no link" } }]));
  await page.click("button[data-action=create-campaign]");
  await page.locator("#campaign-form-status", { hasText: "steps[0].config.body must contain {{unsubscribe_url}}" }).waitFor();
  await page.selectOption("#campaign-trigger", "score_above");
  await page.fill("#campaign-trigger-value", "0");
  await page.fill("#campaign-steps", JSON.stringify([{ type: "tag", config: { add: ["x"] } }]));
  await page.click("button[data-action=create-campaign]");
  await page.locator("#campaign-form-status", { hasText: "trigger.threshold" }).waitFor();
  const r = await apiCall(page, "GET", "/api/campaigns");
  check(!r.body.data.some((c) => c.name === name), "a refused campaign was left behind as a draft");
  await page.selectOption("#campaign-trigger", "tag_added");
  await page.fill("#campaign-trigger-value", "trial");
  await page.fill("#campaign-steps", JSON.stringify([
    { type: "email", config: { subject: "Welcome {{first_name}}", body: "Hi {{first_name}}\n\nBye: {{unsubscribe_url}}" } },
    { type: "wait", config: { duration_ms: 172800000 } },
    { type: "condition", config: { kind: "opened" }, true: 3, false: null },
    { type: "tag", config: { add: ["engaged"] } },
  ]));
  await page.click("button[data-action=create-campaign]");
  await page.waitForURL(/\/dashboard\/campaigns\/[0-9a-f-]+$/);
  await page.locator("h1", { hasText: "Trial nurture" }).waitFor();
  check((await page.locator("h1").textContent()) === name, "the campaign's name is not shown as text");
  check(await page.locator("main img").count() === 0, "markup in a campaign name became an element");
  const steps = page.locator("#campaign-step-list > li");
  check(await steps.count() === 4, "the step list does not have 4 steps");
  check((await steps.nth(1).textContent()).includes("Wait 2 days"), "the wait step is not summarized");
  check((await steps.nth(2).locator("[data-branch=true]").textContent()).includes("step 4"), "no true branch label");
  check((await steps.nth(2).locator("[data-branch=false]").textContent()).includes("end"), "no false branch label");
  await page.locator("#campaign-metrics").waitFor();
  await shot(page, "campaign");
  await checkFits(page, "campaign");
  await page.click("#campaign-actions button[data-action=activate]");
  await page.locator("#campaign-actions button[data-action=pause]").waitFor();
  await page.locator(".page-head .badge", { hasText: "active" }).waitFor();
  await page.click('a[href="/dashboard/campaigns"]');
  const row = page.locator("#campaigns tr", { hasText: "Trial nurture" });
  await row.waitFor();
  check((await row.textContent()).includes("active"), "the list does not show the campaign active");
  check((await row.textContent()).includes("Tag added: trial"), "the list does not show the trigger");
  await shot(page, "campaigns");
});

// Adds a Gmail mailbox to the demo workspace straight into the database,
// with tokens that were not sealed by this server: its sync job ends dead.
function addBrokenGmail(srv) {
  const code = [
    "import sqlite3, sys, uuid",
    "c = sqlite3.connect(sys.argv[1])",
    "ws, user = c.execute(\"SELECT w.id, u.id FROM workspaces w, user_profiles u WHERE u.email = ? ORDER BY w.created_at LIMIT 1\", (sys.argv[2],)).fetchone()",
    "c.execute(\"INSERT INTO email_integrations (id, workspace_id, user_id, provider, account_email, access_token_enc, refresh_token_enc, status, created_at, updated_at) VALUES (?, ?, ?, 'gmail', 'sales@northwind-demo.example', ?, ?, 'connected', 1, 1)\", (str(uuid.uuid4()), ws, user, b'x' * 64, b'y' * 64))",
    "c.commit()",
  ].join("\n");
  const r = spawnSync("python3", ["-c", code, srv.db.replace(/^sqlite:/, ""), DEMO_EMAIL], { encoding: "utf8" });
  if (r.status !== 0) throw new Error(`cannot add the Gmail mailbox: ${r.stderr}`);
}

test("mailboxes: Sync now on a Gmail mailbox follows its job to the end, with the reason", async ({ page, srv }) => {
  addBrokenGmail(srv);
  await page.goto(`${srv.base}/dashboard/mailboxes`);
  const row = page.locator("#gmail-mailboxes tr[data-gmail-id]", { hasText: "sales@northwind-demo.example" });
  await row.waitFor();
  await row.locator("button[data-action=sync-gmail]").click();
  const status = page.locator("#gmail-mailboxes .gmail-sync-status[data-status=dead]");
  await status.waitFor({ timeout: LIVE_TIMEOUT });
  const text = await status.textContent();
  check(text.startsWith("Sync dead:") && text.includes("cannot be opened"), `unexpected status: ${text}`);
  const err = page.locator("#gmail-mailboxes tr[data-status=error] .gmail-error");
  await err.waitFor({ timeout: LIVE_TIMEOUT });
  check((await err.textContent()).includes("connect Gmail again"), `unexpected error: ${await err.textContent()}`);
  await shot(page, "mailboxes-gmail");
});

test("mailboxes: adds an IMAP source, queues a sync, shows its error as text, deletes it", async ({ page, srv }) => {
  await page.goto(`${srv.base}/dashboard/mailboxes`);
  await page.locator("h1", { hasText: "Mailboxes" }).waitFor();
  // Nothing listens on port 9 of loopback: the sync fails to connect.
  await page.fill("#imap-host", "127.0.0.1");
  await page.selectOption("#imap-tls", "none");
  await page.fill("#imap-port", "9");
  await page.fill("#imap-user", "probe");
  await page.fill("#imap-password", "browser-secret-pw");
  await page.click("button[data-action=create-imap]");
  const row = page.locator("#imap-sources tr[data-imap-id]", { hasText: "probe@127.0.0.1:9" });
  await row.waitFor();
  check(await page.inputValue("#imap-password") === "", "the password stays in the form");
  check(!(await page.locator("#imap-sources").textContent()).includes("browser-secret-pw"), "the password is shown");
  await row.locator("button[data-action=sync-imap]").click();
  const err = page.locator("#imap-sources tr[data-status=error] .imap-error");
  await err.waitFor({ timeout: LIVE_TIMEOUT });
  check((await err.textContent()).includes("IMAP"), `unexpected error: ${await err.textContent()}`);
  await shot(page, "mailboxes");
  await page.locator("#imap-sources tr[data-imap-id] button[data-action=delete-imap]").click();
  await page.locator("#imap-sources .empty").waitFor();
});

// Chooses the option of a select whose text is label with the keyboard only
// (focus, then arrow keys, as a person without a mouse would).
async function pickByKeys(select, label) {
  await select.focus();
  const texts = await select.locator("option").allTextContents();
  const want = texts.indexOf(label);
  check(want >= 0, `no option "${label}" in ${JSON.stringify(texts)}`);
  const at = await select.evaluate((el) => el.selectedIndex);
  const key = want > at ? "ArrowDown" : "ArrowUp";
  for (let i = 0; i < Math.abs(want - at); i++) await select.press(key);
  const now = await select.evaluate((el) => el.options[el.selectedIndex].text);
  check(now === label, `the keyboard chose "${now}", not "${label}"`);
}

// Types into an input as a person would: click, select what is there, type.
async function typeInto(page, input, text) {
  await input.click();
  await input.press("Control+A");
  await page.keyboard.type(text);
}

async function builderShots(page, name) {
  mkdirSync(SHOTS, { recursive: true });
  const was = page.viewportSize();
  for (const [size, vp] of [["laptop", { width: 1366, height: 768 }], ["phone", PHONE]]) {
    await page.setViewportSize(vp);
    await page.waitForTimeout(150);
    await checkFits(page, `${name} (${size})`);
    await page.screenshot({ path: join(SHOTS, `${name}-${size}.png`), fullPage: true });
  }
  await page.setViewportSize(was || LAPTOP);
}

test("campaign builder: a branching campaign built with the mouse and keyboard is saved as those steps", async ({ page, srv }) => {
  await page.goto(`${srv.base}/dashboard/campaigns`);
  await page.locator("h1", { hasText: "Campaigns" }).waitFor();
  const flow = page.locator("#campaign-flow");
  await typeInto(page, page.locator("#campaign-name"), "Branching welcome");
  const rootAdd = () => flow.locator(":scope > .lane-body > .add-step");
  // A wait, then an email moved above it with Alt+ArrowUp.
  await pickByKeys(rootAdd().locator("select"), "Wait");
  await rootAdd().locator("button").click();
  await pickByKeys(rootAdd().locator("select"), "Email");
  await rootAdd().locator("button").press("Enter");
  const email = flow.locator(".step-card[data-type=email]");
  await typeInto(page, email.locator(".field[data-key=subject] input"), "Welcome, ");
  await email.locator("button[data-merge=first_name]").click();
  check(await email.locator(".field[data-key=subject] input").inputValue() === "Welcome, {{first_name}}",
    "the merge-field button did not insert {{first_name}} into the subject");
  await email.locator(".field[data-key=subject] input").press("Alt+ArrowUp");
  check(await flow.locator(".step-card").first().getAttribute("data-type") === "email", "Alt+ArrowUp did not move the email up");
  await email.locator("button[data-action=preview]").click();
  await email.locator(".email-preview", { hasText: "Subject: Welcome, Dana" }).waitFor();
  const wait = flow.locator(".step-card[data-type=wait]");
  await typeInto(page, wait.locator(".field[data-key=duration_ms] input"), "2");
  await pickByKeys(wait.locator(".field[data-key=duration_ms] select"), "days");
  // A score step that goes again: added, moved with the buttons, removed.
  await pickByKeys(rootAdd().locator("select"), "Score");
  await rootAdd().locator("button").click();
  await flow.locator(":scope > .lane-body > ol > .step-card[data-type=score] button[data-action=up]").click();
  check(await flow.locator(":scope > .lane-body > ol > .step-card").nth(1).getAttribute("data-type") === "score", "the up button did not move the step");
  await flow.locator(":scope > .lane-body > ol > .step-card[data-type=score] button[data-action=remove]").click();
  check(await flow.locator(".step-card").count() === 2, "Remove left the step");
  // The condition, with a tag on its yes branch and a score on its no branch.
  await pickByKeys(rootAdd().locator("select"), "Condition");
  await rootAdd().locator("button").click();
  const cond = flow.locator(".step-card[data-type=condition]");
  await pickByKeys(cond.locator(".field[data-key=kind] select"), "the contact has the tag");
  await typeInto(page, cond.locator(".field[data-key=value] input"), "vip");
  check(await rootAdd().locator("button").textContent() === "Add step before the condition",
    "a lane that ends in a condition offers a step after it");
  const yes = cond.locator(".lane-yes");
  const no = cond.locator(".lane-no");
  await pickByKeys(yes.locator(".add-step select"), "Tag");
  await yes.locator(".add-step button").click();
  await typeInto(page, yes.locator(".field[data-key=add] input"), "engaged");
  await pickByKeys(no.locator(".add-step select"), "Score");
  await no.locator(".add-step button").click();
  await typeInto(page, no.locator(".field[data-key=delta] input"), "-5");
  const nums = await flow.locator(".step-num").allTextContents();
  check(nums.join(",") === "1,2,3,4,5", `the steps are numbered ${nums}`);
  // The JSON view says the same, and a change there comes back to the form.
  await page.click("#campaign-advanced > summary");
  await page.waitForFunction(() => document.querySelector("#campaign-steps").value.startsWith("["));
  const json = JSON.parse(await page.locator("#campaign-steps").inputValue());
  check(json.length === 5 && json[2].true === 3 && json[2].false === 4 && json[3].next === null,
    `the JSON view shows ${JSON.stringify(json)}`);
  json[4].config.delta = -7;
  await page.fill("#campaign-steps", JSON.stringify(json));
  await page.click("#campaign-advanced button[data-action=apply-json]");
  check(await no.locator(".field[data-key=delta] input").inputValue() === "-7", "the JSON change did not reach the form");
  await page.click("#campaign-advanced > summary");
  await builderShots(page, "campaign-builder");
  await page.click("button[data-action=create-campaign]");
  await page.waitForURL(/\/dashboard\/campaigns\/[0-9a-f-]+$/);
  const id = page.url().split("/").pop();
  await page.reload();
  await page.locator("#edit-flow .step-card").first().waitFor();
  const r = await apiCall(page, "GET", `/api/campaigns/${id}/steps`);
  const got = r.body.data.map((s) => ({ type: s.type, config: s.config, next: s.next, true: s.true, false: s.false }));
  const want = [
    { type: "email", next: 1, subject: "Welcome, {{first_name}}" },
    { type: "wait", next: 2, config: { duration_ms: 172800000 } },
    { type: "condition", true: 3, false: 4, config: { kind: "has_tag", value: "vip" } },
    { type: "tag", next: null, config: { add: ["engaged"] } },
    { type: "score", next: null, config: { delta: -7 } },
  ];
  check(got.length === want.length, `the server has ${got.length} steps: ${JSON.stringify(got)}`);
  want.forEach((w, i) => {
    const g = got[i];
    check(g.type === w.type, `step ${i}: ${g.type}, not ${w.type}`);
    for (const k of ["next", "true", "false"]) if (k in w) check(g[k] === w[k], `step ${i}.${k}: ${g[k]}, not ${w[k]}`);
    if (w.subject) check(g.config.subject === w.subject && g.config.body.includes("{{unsubscribe_url}}"), `step ${i}: ${JSON.stringify(g.config)}`);
    if (w.config) check(JSON.stringify(g.config) === JSON.stringify(w.config), `step ${i}: ${JSON.stringify(g.config)}`);
  });
  // The page draws the saved flow again: the tag under yes, the score under no.
  await page.locator("#edit-flow .lane-yes .step-card[data-type=tag]").waitFor();
  await page.locator("#edit-flow .lane-no .step-card[data-type=score]").waitFor();
  state.builtCampaign = id;
  await builderShots(page, "campaign-edit");
});

test("campaign builder: the server's validation message shows beside the field it names", async ({ page, srv }) => {
  await page.goto(`${srv.base}/dashboard/campaigns`);
  await page.locator("h1", { hasText: "Campaigns" }).waitFor();
  await typeInto(page, page.locator("#campaign-name"), "Hook refused");
  const add = page.locator("#campaign-flow > .lane-body > .add-step");
  await pickByKeys(add.locator("select"), "Tag");
  await add.locator("button").click();
  await typeInto(page, page.locator("#campaign-flow .step-card[data-type=tag] .field[data-key=add] input"), "hooked");
  await pickByKeys(add.locator("select"), "Webhook");
  await add.locator("button").click();
  const hook = page.locator("#campaign-flow .step-card[data-type=webhook]");
  await typeInto(page, hook.locator(".field[data-key=url] input"), "ftp://example.com/hook");
  await typeInto(page, hook.locator(".field[data-key=secret] input"), "0123456789abcdef-secret");
  await page.click("button[data-action=create-campaign]");
  const err = hook.locator(".field[data-key=url] .field-error");
  await err.waitFor({ state: "visible" });
  const text = await err.textContent();
  check(text.startsWith("steps[1].config.url must be an http or https URL"), `the url field says "${text}"`);
  check(await hook.locator(".field[data-key=url] input").getAttribute("aria-invalid") === "true", "the url field is not marked invalid");
  check(await page.locator("#campaign-flow .field-error:visible").count() === 1, "the message shows beside more than one field");
  const r = await apiCall(page, "GET", "/api/campaigns");
  check(!r.body.data.some((c) => c.name === "Hook refused"), "a refused campaign was left behind");
  // Fixed, the same form saves.
  await typeInto(page, hook.locator(".field[data-key=url] input"), "https://hooks.example.com/lead");
  await page.click("button[data-action=create-campaign]");
  await page.waitForURL(/\/dashboard\/campaigns\/[0-9a-f-]+$/);
  await page.locator("#edit-flow .step-card[data-type=webhook]").waitFor();
  const secret = page.locator("#edit-flow .step-card[data-type=webhook] .field[data-key=secret] input");
  check(await secret.inputValue() === "", "the stored webhook secret is shown");
  check((await secret.getAttribute("placeholder")).includes("stored"), "the form does not say a secret is stored");
});

test("campaign page: unenroll one contact, edit the active campaign into a new version, clone", async ({ page, srv }) => {
  const c = (await apiCall(page, "POST", "/api/campaigns", JSON.stringify({ name: "Versioned" }), "application/json")).body.data;
  const steps = [{ type: "wait", config: { duration_ms: 86400000 } }, { type: "tag", config: { add: ["first"] } }];
  let r = await apiCall(page, "POST", `/api/campaigns/${c.id}/steps`, JSON.stringify({ steps }), "application/json");
  check(r.status === 200, `steps: ${JSON.stringify(r.body)}`);
  await apiCall(page, "POST", `/api/campaigns/${c.id}/activate`);
  const people = (await apiCall(page, "GET", "/api/contacts?pageSize=2")).body.data;
  r = await apiCall(page, "POST", `/api/campaigns/${c.id}/enroll`, JSON.stringify({ contactIds: people.map((p) => p.id) }), "application/json");
  check(r.body.data.enrolledCount === 2, `enroll: ${JSON.stringify(r.body)}`);
  await page.goto(`${srv.base}/dashboard/campaigns/${c.id}`);
  const buttons = page.locator("#campaign-enrollments button[data-action=unenroll]");
  await buttons.first().waitFor();
  check(await buttons.count() === 2, "not every active enrollment has Unenroll");
  const row = page.locator("#campaign-enrollments tbody tr").first();
  const who = await row.getAttribute("data-enrollment-id");
  await row.locator("button[data-action=unenroll]").click();
  await page.locator(`#campaign-enrollments tr[data-enrollment-id="${who}"] .badge`, { hasText: "cancelled" }).waitFor();
  check(await buttons.count() === 1, "Unenroll took out more or less than one contact");
  check((await page.locator(`#campaign-enrollments tr[data-enrollment-id="${who}"]`).textContent()).includes("unenrolled"), "no reason shown");
  // Editing the active campaign: a new version; the contact still in stays on version 1.
  const tag = page.locator("#edit-flow .step-card[data-type=tag] .field[data-key=add] input");
  await typeInto(page, tag, "second");
  await page.click("button[data-action=save-steps]");
  await page.locator("#campaign-versions", { hasText: "at version 2" }).waitFor();
  const note = await page.locator("#campaign-versions").textContent();
  check(note.includes("version 1: 1 active of 2 enrolled"), `the page says "${note}"`);
  const now = (await apiCall(page, "GET", `/api/campaigns/${c.id}/steps`)).body.data;
  check(JSON.stringify(now[1].config) === JSON.stringify({ add: ["second"] }), `steps now ${JSON.stringify(now)}`);
  await page.click("#campaign-actions button[data-action=clone]");
  await page.locator("h1", { hasText: "Versioned (copy)" }).waitFor();
  check(!page.url().endsWith(c.id), "Clone stayed on the campaign");
  await page.locator(".page-head .badge", { hasText: "draft" }).waitFor();
  check(await page.locator("#edit-flow .step-card").count() === 2, "the copy does not have the two steps");
  check(await page.locator("#edit-flow .step-card[data-type=tag] .field[data-key=add] input").inputValue() === "second",
    "the copy does not have the current version's steps");
});

test("XSS probe: markup in an imported email renders as text", async ({ page, srv }) => {
  const dialogs = [];
  page.on("dialog", (d) => { dialogs.push(d.message()); d.dismiss().catch(() => {}); });
  const subject = 'Quote <img src=x onerror="window.__xss=1;alert(1)"> <script>window.__xss=2</script>';
  const body = 'Hello <script>window.__xss=3;alert(3)</script>\n<img src=x onerror="window.__xss=4;alert(4)">\n<a href="javascript:alert(5)">click</a> & "quotes"';
  await page.goto(`${srv.base}/dashboard/overview`);
  const from = '"Mallory <b>Bold</b>" <mallory@evil-probe.example>';
  const r = await importMail(page, rfc822({ from, subject, body, id: `xss-${Date.now()}` }), "message/rfc822");
  check(r.job.status === "done" && r.job.progress.imported === 1, `import failed: ${JSON.stringify(r.job)}`);
  await page.goto(`${srv.base}/dashboard/emails?q=${encodeURIComponent("evil-probe")}`);
  const row = page.locator("#email-results tbody tr").first();
  await row.waitFor();
  check((await row.locator("th a").textContent()) === subject, "the subject is not shown as text in the list");
  await row.locator("th a").click();
  await page.locator("h1.email-subject").waitFor();
  check((await page.locator("h1.email-subject").textContent()) === subject, "the subject is not shown as text");
  const text = await page.locator("pre.email-body").textContent();
  check(text.includes("<script>window.__xss=3;alert(3)</script>") && text.includes('<img src=x onerror="window.__xss=4;alert(4)">'),
    "the body is not shown as text");
  await shot(page, "email-xss");
  const contact = await page.locator("a", { hasText: "View contact" }).getAttribute("href");
  await page.goto(srv.base + contact);
  await page.locator("#contact-emails .tl-item").first().waitFor();
  check((await page.locator("#contact-emails .tl-subject").first().textContent()) === subject, "the timeline subject is not text");
  const injected = await page.evaluate(() => ({
    xss: window.__xss,
    imgs: document.querySelectorAll("img").length,
    scripts: [...document.scripts].filter((s) => !s.src).length,
    js: document.querySelectorAll('a[href^="javascript:"]').length,
  }));
  check(injected.xss === undefined, `injected script ran (window.__xss=${injected.xss})`);
  check(injected.imgs === 0 && injected.scripts === 0 && injected.js === 0, `markup became elements: ${JSON.stringify(injected)}`);
  check(dialogs.length === 0, `a dialog opened: ${dialogs.join(", ")}`);
});

test("keyboard: skip link, labelled controls, visible focus", async ({ page, srv }) => {
  await page.goto(`${srv.base}/dashboard/contacts`);
  await page.locator("#contact-results tbody tr").first().waitFor();
  await page.keyboard.press("Tab");
  check(await page.evaluate(() => document.activeElement.classList.contains("skip-link")), "the first Tab does not reach the skip link");
  await page.keyboard.press("Enter");
  const focused = await page.evaluate(() => `${document.activeElement.tagName}#${document.activeElement.id}.${document.activeElement.className} ${location.href}`);
  check(focused.startsWith("MAIN#view"), `the skip link does not move focus to the content (focus: ${focused})`);
  for (const path of ["/dashboard/contacts", "/dashboard/emails", "/dashboard/drafts", "/dashboard/suppressions"]) {
    await page.goto(srv.base + path);
    await page.locator("h1").waitFor();
    await page.waitForLoadState("networkidle");
    const unlabelled = await page.evaluate(() => [...document.querySelectorAll("input:not([type=hidden]), select, textarea, button")]
      .filter((el) => !(el.labels && el.labels.length) && !el.getAttribute("aria-label") && !el.textContent.trim())
      .map((el) => el.outerHTML.slice(0, 80)));
    check(unlabelled.length === 0, `${path}: controls without a label: ${unlabelled.join(" | ")}`);
  }
  await page.goto(`${srv.base}/dashboard/overview`);
  await page.locator("#hot-leads li.lead").first().waitFor();
  await page.locator("#hot-leads li.lead a").first().focus();
  const outline = await page.evaluate(() => getComputedStyle(document.activeElement).outlineStyle);
  check(outline !== "none", "a focused link shows no outline");
});

test("signs out", async ({ page, srv }) => {
  await page.goto(`${srv.base}/dashboard/overview`);
  await page.locator("#signout").click();
  await page.waitForURL(/\/login/);
  const me = await page.request.get(`${srv.base}/api/auth/me`);
  check(me.status() === 401, `after sign-out /api/auth/me answers ${me.status()}`);
  await page.goto(`${srv.base}/dashboard/overview`);
  await page.waitForURL(/\/login/);
});

// ---- first run -----------------------------------------------------------------------

const BROWSER_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--disable-background-networking",
  "--disable-component-update", "--disable-sync", "--no-first-run"];

// From an empty database: the link serve prints, the owner form filled in by
// keyboard, the dashboard reached signed in; the link is refused afterwards.
// Its own browser, so that its cookies stay away from the demo server's.
async function firstRunTest(chromium, work) {
  const name = "first run: the printed link creates the owner and signs them in";
  const srv = await startServer(work, false);
  const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: BROWSER_ARGS });
  try {
    // Standard output and the log come through different pipes.
    let line;
    for (let i = 0; i < 50 && !(line = srv.log.find((l) => l.includes("/setup/"))); i++)
      await new Promise((r) => setTimeout(r, 100));
    check(line, `serve printed no first-run link:\n${srv.log.join("\n")}`);
    const url = new URL(line.match(/http:\/\/\S+/)[0]);
    const page = await browser.newPage({ viewport: LAPTOP });
    page.setDefaultTimeout(10000);
    await page.goto(`${srv.base}/`);
    check(new URL(page.url()).pathname === "/login", `/ went to ${page.url()} before sign-in`);
    await page.goto(`${srv.base}${url.pathname}`);
    await page.getByLabel("Your name").waitFor();
    await shot(page, "first-run");
    await page.getByLabel("Your name").fill("Ada Owner");
    await page.getByLabel("Your email").fill("ada@example.test");
    await page.getByLabel("Your email").press("Enter");
    await page.waitForURL(/\/dashboard\/overview$/);
    const me = await page.evaluate(async () => (await fetch("/api/auth/me")).json());
    check(me.success && me.data.user.email === "ada@example.test", `signed in as ${JSON.stringify(me)}`);
    check(me.data.workspaces.length === 1 && me.data.workspaces[0].role === "owner", JSON.stringify(me.data.workspaces));
    await page.goto(`${srv.base}/`);
    await page.waitForURL(/\/dashboard\/overview$/);
    const again = await page.goto(`${srv.base}${url.pathname}`);
    check(again.status() === 404, `the used link answered ${again.status()}`);
    passed++;
    console.log(`ok   ${name}`);
  } catch (err) {
    failed++;
    console.log(`FAIL ${name}\n     ${String(err.message || err).split("\n").join("\n     ")}`);
  } finally {
    await browser.close();
    await stopServer(srv);
  }
}

// ---- runner ------------------------------------------------------------------------

async function main() {
  if (!existsSync(BIN)) bail(`${BIN} does not exist (run make first)`);
  if (!existsSync(CHROMIUM)) bail(`${CHROMIUM} does not exist (scripts/deps.sh installs chromium)`);
  ensureModules();
  const { chromium } = await import("playwright-core");
  const work = mkdtempSync(join(tmpdir(), "leadflow-browser-"));
  if (!ONLY) await firstRunTest(chromium, work);
  let srv;
  try {
    srv = await startServer(work);
  } catch (err) {
    rmSync(work, { recursive: true, force: true });
    bail(err.message);
  }
  const context = await chromium.launchPersistentContext(join(work, "profile"), {
    executablePath: CHROMIUM,
    headless: true,
    viewport: LAPTOP,
    args: BROWSER_ARGS,
  });
  // Uncaught exceptions and Content-Security-Policy refusals, on every page.
  const pageErrors = [];
  const watch = (p) => {
    p.on("pageerror", (e) => pageErrors.push(`${p.url()}: ${e.message}`));
    p.on("console", (m) => {
      if (m.type() === "error" && m.text().includes("Content Security Policy")) pageErrors.push(`${p.url()}: ${m.text()}`);
    });
  };
  context.on("page", watch);
  // A refusal the console might word differently is reported as well.
  await context.addInitScript(() => {
    document.addEventListener("securitypolicyviolation", (e) => {
      console.error(`Content Security Policy violation: ${e.violatedDirective} ${e.blockedURI} ${e.sourceFile}:${e.lineNumber}`);
    });
  });
  const page = context.pages()[0] || (await context.newPage());
  watch(page);
  page.setDefaultTimeout(10000);
  for (const t of tests) {
    if (ONLY && !t.name.includes(ONLY) && !t.name.startsWith("signs in")) continue;
    let timer;
    try {
      await Promise.race([
        t.fn({ page, srv }),
        new Promise((_, rej) => { timer = setTimeout(() => rej(new Error(`timed out after ${TEST_TIMEOUT} ms`)), TEST_TIMEOUT); }),
      ]);
      passed++;
      console.log(`ok   ${t.name}`);
    } catch (err) {
      failed++;
      console.log(`FAIL ${t.name}\n     ${String(err.message || err).split("\n").join("\n     ")}`);
      try {
        mkdirSync(SHOTS, { recursive: true });
        await page.screenshot({ path: join(SHOTS, `failed-${tests.indexOf(t)}.png`) });
      } catch (e) { /* the page may be gone */ }
    } finally {
      clearTimeout(timer);
    }
  }
  const name = "no uncaught JavaScript errors or CSP refusals on any page";
  if (pageErrors.length) {
    failed++;
    console.log(`FAIL ${name}\n     ${pageErrors.join("\n     ")}`);
  } else {
    passed++;
    console.log(`ok   ${name}`);
  }
  await context.close();
  const exit = await stopServer(srv);
  if (exit.code === 0) {
    passed++;
    console.log("ok   the server stops cleanly on SIGTERM");
  } else {
    failed++;
    console.log(`FAIL the server stops cleanly on SIGTERM (exit ${exit.code}, signal ${exit.sig})\n${srv.log.slice(-20).join("\n")}`);
  }
  if (failed && process.env.LEADFLOW_BROWSER_LOG) console.log(srv.log.join("\n"));
  rmSync(work, { recursive: true, force: true });
  console.log(`screenshots: ${SHOTS}`);
  console.log(`${passed} passed, ${failed} failed`);
  process.exit(failed ? 1 : 0);
}

main().catch((err) => {
  console.log(`browser tests crashed: ${err.stack || err}`);
  console.log(`${passed} passed, ${failed + 1} failed`);
  process.exit(1);
});
