// Validates docs/openapi.yaml with @apidevtools/swagger-parser: YAML syntax,
// the OpenAPI 3 schema of the document, every $ref resolvable, path parameters
// declared. Then checks what the parser does not: every operation lists its
// responses with a schema for each JSON reply.
//
// Usage: node tests/openapi/validate.mjs [FILE]   (default docs/openapi.yaml).
// Installs its package (npm ci) when tests/openapi/node_modules lacks it.
// Ends with "N passed, N failed"; exits 1 on failure.
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const HERE = dirname(fileURLToPath(import.meta.url));
const ROOT = resolve(HERE, "..", "..");
const FILE = resolve(process.argv[2] || join(ROOT, "docs", "openapi.yaml"));
const METHODS = ["get", "post", "put", "patch", "delete"];

let passed = 0;
let failed = 0;

function result(name, problems) {
  if (problems.length === 0) {
    passed++;
    console.log(`ok   ${name}`);
  } else {
    failed++;
    console.log(`FAIL ${name}`);
    for (const p of problems.slice(0, 50)) console.log(`     ${p}`);
    if (problems.length > 50) console.log(`     ... and ${problems.length - 50} more`);
  }
}

function finish() {
  console.log(`${passed} passed, ${failed} failed`);
  process.exit(failed ? 1 : 0);
}

if (!existsSync(join(HERE, "node_modules", "@apidevtools", "swagger-parser"))) {
  console.log("installing @apidevtools/swagger-parser (npm ci)");
  const r = spawnSync("npm", ["ci", "--no-audit", "--no-fund"], { cwd: HERE, stdio: "inherit" });
  if (r.status !== 0) {
    result("npm ci in tests/openapi", ["npm ci failed"]);
    finish();
  }
}
const { default: SwaggerParser } = await import("@apidevtools/swagger-parser");

// 1. The independent validator: syntax, OpenAPI 3 schema, references.
let api = null;
try {
  api = await SwaggerParser.validate(FILE);
  result(`${FILE} is valid OpenAPI ${api.openapi}`, []);
} catch (err) {
  result(`${FILE} is valid OpenAPI`, [String(err.message || err)]);
  finish();
}

// 2. Every operation: responses listed, JSON replies with a schema, an error
// reply for 401 on every authenticated operation.
const problems = [];
const parsed = await SwaggerParser.parse(FILE);
let ops = 0;
for (const [path, item] of Object.entries(api.paths)) {
  for (const m of METHODS) {
    const op = item[m];
    if (!op) continue;
    ops++;
    const where = `${m.toUpperCase()} ${path}`;
    const responses = op.responses || {};
    if (Object.keys(responses).length === 0) problems.push(`${where}: no responses`);
    for (const [status, resp] of Object.entries(responses)) {
      const json = resp.content && resp.content["application/json"];
      if (json && !json.schema) problems.push(`${where} ${status}: JSON without a schema`);
    }
    const secured = (op.security || parsed.security || []).length > 0;
    if (secured && !responses["401"]) problems.push(`${where}: authenticated, but no 401`);
  }
}
result(`${ops} operations: responses with schemas, 401 where authenticated`, problems);
finish();
