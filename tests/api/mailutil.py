"""Builds RFC 5322 messages and mboxes for the pipeline tests, with dates
relative to now so that the score's 30-day window sees them.

Standard library only."""
import email.utils
import secrets
import time

from tenantutil import api, ok

DAY = 86400


def message(sender, body, subject="Hello", to="sales@ourteam.example", name=None,
            days_ago=0.0, message_id=None, in_reply_to=None, signature=None, headers=None,
            with_message_id=True):
    """One message as bytes (LF line ends). sender is an address; name its display name."""
    when = time.time() - days_ago * DAY
    lines = []
    lines.append(f"From: {email.utils.formataddr((name, sender)) if name else sender}")
    lines.append(f"To: {to}")
    lines.append(f"Subject: {subject}")
    lines.append(f"Date: {email.utils.formatdate(when, localtime=False)}")
    if with_message_id:
        mid = message_id or f"{secrets.token_hex(8)}@mail.example"
        lines.append(f"Message-ID: <{mid}>")
    if in_reply_to:
        lines.append(f"In-Reply-To: <{in_reply_to}>")
        lines.append(f"References: <{in_reply_to}>")
    for k, v in (headers or {}).items():
        lines.append(f"{k}: {v}")
    lines.append("MIME-Version: 1.0")
    lines.append("Content-Type: text/plain; charset=utf-8")
    lines.append("Content-Transfer-Encoding: 8bit")
    lines.append("")
    text = body
    if signature:
        text += "\n\n-- \n" + signature
    lines.append(text)
    return ("\n".join(lines) + "\n").encode("utf-8")


def mbox(*messages):
    """An mbox (mboxrd quoting) of the given message bytes."""
    out = []
    for m in messages:
        out.append(b"From sender@example.test Thu Nov 19 10:00:00 2026\n")
        for line in m.split(b"\n")[:-1] if m.endswith(b"\n") else m.split(b"\n"):
            if line.lstrip(b">").startswith(b"From "):
                line = b">" + line
            out.append(line + b"\n")
        out.append(b"\n")
    return b"".join(out)


def upload(server, tenant, data, creds=None, content_type="message/rfc822", timeout=10.0):
    """POST /api/emails/import; returns the response."""
    return api(server, "POST", "/api/emails/import", creds or tenant.token_creds,
               ws=tenant.workspace_id, raw_body=data, headers={"Content-Type": content_type},
               timeout=timeout)


def wait_job(server, tenant, job_id, creds=None, timeout=60.0):
    """Polls GET /api/jobs/{id} until the job is done or dead; returns the job."""
    deadline = time.monotonic() + timeout
    while True:
        job = ok(api(server, "GET", f"/api/jobs/{job_id}", creds or tenant.token_creds,
                     ws=tenant.workspace_id))
        if job["status"] in ("done", "dead"):
            return job
        assert time.monotonic() < deadline, f"job {job_id} still {job['status']}: {job}"
        time.sleep(0.05)


def imported(server, tenant, data, **kw):
    """Uploads (202 with an import job), waits for the job to end and returns
    its progress (messages, imported, duplicates, rejected, contactsCreated,
    rejections), with the ended job under "job"."""
    job = ok(upload(server, tenant, data, **kw), 202)
    assert job["kind"] == "import_emails", job
    job = wait_job(server, tenant, job["id"])
    res = dict(job["progress"] or {"messages": 0, "imported": 0, "duplicates": 0,
                                   "rejected": 0, "contactsCreated": 0, "rejections": []})
    res["job"] = job
    return res


def emails(server, tenant, **params):
    r = api(server, "GET", "/api/emails", tenant.token_creds, ws=tenant.workspace_id,
            params=params)
    return ok(r), r.json.get("meta")


def contact_by_email(server, tenant, address):
    r = api(server, "GET", "/api/contacts", tenant.token_creds, ws=tenant.workspace_id,
            params={"q": address.split("@")[0], "pageSize": 200})
    found = [c for c in ok(r) if c["email"].lower() == address.lower()]
    assert len(found) == 1, f"expected one contact {address}, got {found}"
    return found[0]


def hot_leads(server, tenant, **params):
    r = api(server, "GET", "/api/agents/contact-intelligence", tenant.token_creds,
            ws=tenant.workspace_id, params=params)
    return ok(r), r.json.get("meta")
