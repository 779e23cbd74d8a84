// Dashboard shell: who is signed in, their workspaces, sign-out.
// Every value from the server is inserted with textContent, never as HTML.
async function api(path, options = {}) {
  const r = await fetch(path, { credentials: "same-origin", ...options });
  if (r.status === 401) {
    window.location.assign("/login");
    throw new Error("signed out");
  }
  const body = await r.json();
  if (!body.success) throw new Error(body.error.message);
  return body.data;
}

const me = await api("/api/auth/me");
document.getElementById("who").textContent =
  `Signed in as ${me.user.name || me.user.email} (${me.user.email})`;
const rows = document.getElementById("workspaces");
for (const ws of me.workspaces) {
  const tr = document.createElement("tr");
  for (const text of [ws.name, ws.role]) {
    const td = document.createElement("td");
    td.textContent = text;
    tr.append(td);
  }
  rows.append(tr);
}
document.getElementById("signout").addEventListener("click", async () => {
  await api("/auth/logout", { method: "POST", headers: { "X-CSRF-Token": me.csrfToken } });
  window.location.assign("/login");
});
