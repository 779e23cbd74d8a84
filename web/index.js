// leadflow: the start page (index.html) asks /healthz how the server is.
const out = document.getElementById("health");
try {
  const r = await fetch("/healthz");
  const body = await r.json();
  out.textContent = body.success ? `ok (leadflow ${body.data.version}, ${body.data.database})`
                                 : body.error.message;
} catch (err) {
  out.textContent = "unreachable";
}
