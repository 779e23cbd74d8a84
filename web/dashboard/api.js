// The JSON API from the browser: session cookie (credentials same-origin),
// the X-CSRF-Token header on every state-changing request, and the current
// workspace added to every workspace-scoped call.

const WS_KEY = "leadflow.workspace";
let me = null;
let workspaceId = null;

export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

async function request(method, path, { query, body, raw, contentType, workspace = true } = {}) {
  const url = new URL(path, window.location.origin);
  if (workspace && workspaceId) url.searchParams.set("workspaceId", workspaceId);
  for (const [k, v] of Object.entries(query || {})) {
    if (v !== undefined && v !== null && v !== "") url.searchParams.set(k, String(v));
  }
  const headers = { Accept: "application/json" };
  const init = { method, credentials: "same-origin", headers };
  if (method !== "GET" && method !== "HEAD" && me) headers["X-CSRF-Token"] = me.csrfToken;
  if (raw !== undefined) {
    init.body = raw;
    headers["Content-Type"] = contentType || "application/octet-stream";
  } else if (body !== undefined) {
    const b = workspace && workspaceId ? { workspaceId, ...body } : body;
    init.body = JSON.stringify(b);
    headers["Content-Type"] = "application/json";
  }
  let r;
  try {
    r = await fetch(url, init);
  } catch (err) {
    throw new ApiError(0, "NETWORK", "the server cannot be reached");
  }
  if (r.status === 401) {
    const here = window.location.pathname + window.location.search;
    window.location.assign(`/login?next=${encodeURIComponent(here)}`);
    throw new ApiError(401, "UNAUTHORIZED", "signed out");
  }
  let env = null;
  try {
    env = await r.json();
  } catch (err) {
    throw new ApiError(r.status, "INTERNAL", `unexpected reply (HTTP ${r.status})`);
  }
  if (!env || !env.success) {
    const e = (env && env.error) || {};
    throw new ApiError(r.status, e.code || "INTERNAL", e.message || `HTTP ${r.status}`);
  }
  return { data: env.data, meta: env.meta || {} };
}

export const api = {
  get: (path, query) => request("GET", path, { query }),
  post: (path, body) => request("POST", path, { body: body || {} }),
  patch: (path, body) => request("PATCH", path, { body }),
  request,
};

// Loads the signed-in user, their workspaces and the CSRF token.
export async function loadMe() {
  const { data } = await request("GET", "/api/auth/me", { workspace: false });
  me = data;
  let saved = null;
  try {
    saved = window.localStorage.getItem(WS_KEY);
  } catch (err) {
    saved = null;
  }
  const list = me.workspaces || [];
  const found = list.find((w) => w.id === saved);
  workspaceId = found ? found.id : list.length ? list[0].id : null;
  return me;
}

export function currentUser() {
  return me;
}

export function currentWorkspace() {
  return workspaceId;
}

export function currentWorkspaceName() {
  const ws = me && (me.workspaces || []).find((w) => w.id === workspaceId);
  return ws ? ws.name : "";
}

export function setWorkspace(id) {
  workspaceId = id;
  try {
    window.localStorage.setItem(WS_KEY, id);
  } catch (err) {
    /* private mode: the choice lasts for this page only */
  }
}

export async function signOut() {
  await request("POST", "/auth/logout", { workspace: false });
}
