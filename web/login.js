// The sign-in page: the reason of a refused sign-in (/login?error=...) shown
// as text, never as HTML, and the "Continue with Google" button only when the
// server has a provider (GET /api/auth/providers); otherwise the login-link
// note says how to get in.
const params = new URLSearchParams(window.location.search);
const error = params.get("error");
if (error) {
  const box = document.getElementById("error");
  box.textContent = error.slice(0, 300);
  box.hidden = false;
}

const google = document.getElementById("google");
const next = params.get("next");
if (next && next.startsWith("/") && !next.startsWith("//")) {
  google.href = `/auth/login?provider=google&next=${encodeURIComponent(next)}`;
}

try {
  const r = await fetch("/api/auth/providers", { headers: { Accept: "application/json" } });
  const body = await r.json();
  if (body.success && !body.data.oidc) {
    google.closest("p").hidden = true;
    document.getElementById("no-provider").hidden = false;
  }
} catch (err) {
  /* an older server: keep the button; /auth/login explains itself */
}
