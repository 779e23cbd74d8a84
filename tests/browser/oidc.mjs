// Sign-in against a certified OpenID provider: the npm package oidc-provider
// (OpenID Foundation certified), run in this process with its defaults and one
// registered client, and `leadflow serve` pointed at it. Headless chromium
// opens /auth/login, fills in the provider's own login and consent pages and
// must land on /dashboard/overview, signed in as the provider's account.
//
// With its defaults the provider leaves the email out of the ID token (it is
// served by the userinfo endpoint), authenticates the client with
// client_secret_basic, and requires PKCE: each is a path leadflow must take.
//
// Usage: node tests/browser/oidc.mjs [BUILD_DIR]. Ends with "N passed, N
// failed"; exits 1 on failure. Modules come from tests/browser (npm ci).
import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";

const HERE = dirname(fileURLToPath(import.meta.url));
const ROOT = resolve(HERE, "..", "..");
const BUILD = resolve(ROOT, process.argv[2] || (process.env.LEADFLOW_BIN ? dirname(process.env.LEADFLOW_BIN) : "build"));
const BIN = process.env.LEADFLOW_BIN ? resolve(process.env.LEADFLOW_BIN) : join(BUILD, "leadflow");
const CHROMIUM = process.env.LEADFLOW_CHROMIUM || "/usr/bin/chromium";
const CLIENT_ID = "leadflow-browser";
const CLIENT_SECRET = "a-test-secret-that-is-long-enough-0123456789";
const ACCOUNT = { sub: "op-account-42", email: "grace@provider.example", name: "Grace Hopper" };
const START_TIMEOUT = 20000;

let passed = 0;
let failed = 0;

function bail(why) {
  console.log(`oidc-provider sign-in cannot run: ${why}`);
  console.log("0 passed, 1 failed");
  process.exit(1);
}

function ensureModules() {
  const need = ["playwright-core", "oidc-provider"];
  if (need.every((m) => existsSync(join(HERE, "node_modules", m)))) return;
  console.log(`installing ${need.join(", ")} (npm ci)`);
  const r = spawnSync("npm", ["ci", "--no-audit", "--no-fund"], { cwd: HERE, stdio: "inherit" });
  if (r.status !== 0) bail("npm ci failed in tests/browser");
}

// A TCP port on 127.0.0.1 nobody listens on right now.
function freePort() {
  return new Promise((res, rej) => {
    const s = createServer();
    s.once("error", rej);
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address();
      s.close(() => res(port));
    });
  });
}

function cleanEnv(extra) {
  const env = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith("LEADFLOW_")) env[k] = v;
  return { ...env, ...extra };
}

// Starts the provider on port with leadflow's client registered.
async function startProvider(port, redirectUri) {
  const { default: Provider } = await import("oidc-provider");
  const issuer = `http://127.0.0.1:${port}`;
  const provider = new Provider(issuer, {
    clients: [{ client_id: CLIENT_ID, client_secret: CLIENT_SECRET, redirect_uris: [redirectUri] }],
    claims: { email: ["email", "email_verified"], profile: ["name"] },
    async findAccount(ctx, sub) {
      return {
        accountId: sub,
        async claims() {
          return { sub, email: ACCOUNT.email, email_verified: true, name: ACCOUNT.name };
        },
      };
    },
  });
  const seen = [];
  provider.use(async (ctx, next) => {
    seen.push(`${ctx.method} ${ctx.path} ${ctx.get("authorization").split(" ")[0] || ""}`.trim());
    await next();
  });
  const server = await new Promise((res) => {
    const s = provider.listen(port, "127.0.0.1", () => res(s));
  });
  return { issuer, server, seen };
}

function startLeadflow(work, port, issuer) {
  const env = cleanEnv({
    LEADFLOW_WEB_DIR: join(ROOT, "web"),
    LEADFLOW_PUBLIC_URL: `http://127.0.0.1:${port}`,
    LEADFLOW_OIDC_ISSUER: issuer,
    LEADFLOW_OIDC_CLIENT_ID: CLIENT_ID,
    LEADFLOW_OIDC_CLIENT_SECRET: CLIENT_SECRET,
  });
  const proc = spawn(BIN, ["serve", "--db", `sqlite:${join(work, "test.db")}`, "--listen", `127.0.0.1:${port}`],
    { cwd: work, env, stdio: ["ignore", "pipe", "pipe"] });
  const log = [];
  createInterface({ input: proc.stdout }).on("line", (l) => log.push(l));
  return new Promise((res, rej) => {
    const timer = setTimeout(() => rej(new Error(`no server.listening within ${START_TIMEOUT} ms:\n${log.join("\n")}`)), START_TIMEOUT);
    createInterface({ input: proc.stderr }).on("line", (line) => {
      log.push(line);
      try {
        if (JSON.parse(line).event === "server.listening") {
          clearTimeout(timer);
          res({ proc, log, base: `http://127.0.0.1:${port}` });
        }
      } catch (err) { /* not a JSON line */ }
    });
    proc.on("exit", (code) => {
      clearTimeout(timer);
      rej(new Error(`leadflow serve exited (${code}) before listening:\n${log.join("\n")}`));
    });
  });
}

function check(cond, what) {
  if (!cond) throw new Error(what);
}

async function run(name, fn) {
  try {
    await fn();
    passed++;
    console.log(`ok   ${name}`);
  } catch (err) {
    failed++;
    console.log(`FAIL ${name}\n     ${String(err.message || err).split("\n").join("\n     ")}`);
  }
}

async function main() {
  if (!existsSync(BIN)) bail(`${BIN} does not exist (run make first)`);
  if (!existsSync(CHROMIUM)) bail(`${CHROMIUM} does not exist (scripts/deps.sh installs chromium)`);
  ensureModules();
  const { chromium } = await import("playwright-core");
  const work = mkdtempSync(join(tmpdir(), "leadflow-oidc-"));
  const lfPort = await freePort();
  const opPort = await freePort();
  let op;
  let lf;
  try {
    op = await startProvider(opPort, `http://127.0.0.1:${lfPort}/auth/callback`);
    lf = await startLeadflow(work, lfPort, op.issuer);
  } catch (err) {
    if (op) op.server.close();
    rmSync(work, { recursive: true, force: true });
    bail(err.message);
  }
  const context = await chromium.launchPersistentContext(join(work, "profile"), {
    executablePath: CHROMIUM,
    headless: true,
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--disable-background-networking",
      "--disable-component-update", "--disable-sync", "--no-first-run"],
  });
  const page = context.pages()[0] || (await context.newPage());
  page.setDefaultTimeout(15000);

  await run("signs in through oidc-provider's login and consent pages", async () => {
    await page.goto(`${lf.base}/auth/login`);
    check(page.url().startsWith(op.issuer), `not sent to the provider: ${page.url()}`);
    // The provider's development login page takes any login and password.
    await page.fill("input[name=login]", ACCOUNT.sub);
    await page.fill("input[name=password]", "anything");
    await page.click("button:has-text('Sign-in')");
    // Its consent page (prompt=consent), then back to leadflow's callback.
    await page.click("input[name=prompt][value=consent] ~ button:has-text('Continue')");
    await page.waitForURL((u) => u.origin === lf.base && u.pathname !== "/auth/callback", { timeout: 15000 });
    const landed = new URL(page.url());
    check(landed.pathname === "/dashboard/overview",
      `landed on ${landed.pathname}${landed.search ? ` (${decodeURIComponent(landed.search)})` : ""}`);
  });

  await run("the session is the provider's account, email from userinfo", async () => {
    const me = await page.evaluate(async () => (await fetch("/api/auth/me")).json());
    check(me.success, `GET /api/auth/me: ${JSON.stringify(me)}`);
    check(me.data.user.email === ACCOUNT.email, `signed in as ${me.data.user.email}`);
    check(me.data.user.name === ACCOUNT.name, `name ${me.data.user.name}`);
    check(op.seen.some((s) => s.startsWith("GET /me Bearer")), `userinfo was not asked: ${op.seen.join(", ")}`);
    check(op.seen.some((s) => s === "POST /token Basic"), `token endpoint not with Basic: ${op.seen.join(", ")}`);
  });

  await context.close();
  lf.proc.kill("SIGTERM");
  await new Promise((res) => lf.proc.on("exit", res));
  op.server.close();
  if (failed) console.log(lf.log.slice(-30).join("\n"));
  rmSync(work, { recursive: true, force: true });
  console.log(`${passed} passed, ${failed} failed`);
  process.exit(failed ? 1 : 0);
}

main().catch((err) => {
  console.log(`oidc-provider sign-in crashed: ${err.stack || err}`);
  console.log(`${passed} passed, ${failed + 1} failed`);
  process.exit(1);
});
