#!/usr/bin/env python3
"""Fills one workspace with N scored contacts for the hot-leads benches: most
are cold, about 2% hot; those scoring 60 or more get an email. The same seed
gives the same rows on either database.

usage: seed_leads.py DB WORKSPACE_ID N
  DB: a SQLite file path, or a postgres:// URL (connect as a role that may
  write every workspace: the bench uses the cluster's superuser).
"""
import json
import random
import sys
import time
import uuid

HOT_SHARE = 0.02


def rows_for(ws, n):
    rnd = random.Random(11)
    now = int(time.time() * 1000)
    titles = ["VP of Sales", "CTO", "Operations Manager", "Data Analyst", "Head of Procurement",
              None]
    contacts, emails = [], []
    for i in range(n):
        cid = str(uuid.UUID(int=rnd.getrandbits(128)))
        # 2% hot (80-100); the rest spread like Beta(2, 5) below 80, which
        # alone would make only 0.16% hot.
        if rnd.random() < HOT_SHARE:
            score = rnd.randint(80, 100)
        else:
            score = min(79, int(rnd.betavariate(2, 5) * 100))
        parts = [min(40, score * 0.4), min(20, score * 0.2), min(20, score * 0.2), 8, 4]
        reasons = json.dumps(["asked about pricing %d days ago" % rnd.randint(0, 20),
                              "VP of Sales", "%d emails in the last 30 days" % rnd.randint(1, 9)])
        contacts.append((cid, ws, f"c{i}@company{i % 5000}.example", f"Contact {i}",
                         f"Company {i % 5000}", rnd.choice(titles), "prospect", score, *parts,
                         reasons, now - rnd.randint(0, 30) * 86400000, now, now))
        if score >= 60:
            emails.append((str(uuid.UUID(int=rnd.getrandbits(128))), ws, cid, f"<m{i}@bench>",
                           f"c{i}@company{i % 5000}.example", f"Pricing question {i}",
                           now - rnd.randint(0, 30) * 86400000, 17, now))
    return contacts, emails


CONTACT_COLS = ("id, workspace_id, email, name, company, job_title, status, ai_score,"
                " score_engagement, score_sentiment, score_intent, score_role, score_status,"
                " score_reasons, last_interaction, created_at, updated_at")
EMAIL_COLS = ("id, workspace_id, contact_id, message_id, from_email, subject, received_at,"
              " intent_bits, created_at")


def main():
    db, ws, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
    contacts, emails = rows_for(ws, n)
    if db.startswith(("postgres://", "postgresql://")):
        import psycopg2
        import psycopg2.extras
        con = psycopg2.connect(db)
        cur = con.cursor()
        psycopg2.extras.execute_values(
            cur, f"INSERT INTO contacts ({CONTACT_COLS}) VALUES %s", contacts, page_size=2000)
        psycopg2.extras.execute_values(
            cur, f"INSERT INTO emails ({EMAIL_COLS}) VALUES %s", emails, page_size=2000)
        cur.execute("ANALYZE contacts")
        cur.execute("ANALYZE emails")
        cur.execute("SELECT COUNT(*) FROM contacts WHERE workspace_id = %s AND ai_score >= 80",
                    (ws,))
        hot = cur.fetchone()[0]
    else:
        import sqlite3
        con = sqlite3.connect(db)
        cur = con.cursor()
        cur.executemany(f"INSERT INTO contacts ({CONTACT_COLS}) VALUES ({','.join('?' * 17)})",
                        contacts)
        cur.executemany(f"INSERT INTO emails ({EMAIL_COLS}) VALUES ({','.join('?' * 9)})", emails)
        hot = cur.execute("SELECT COUNT(*) FROM contacts WHERE workspace_id = ? AND ai_score >= 80",
                          (ws,)).fetchone()[0]
    con.commit()
    con.close()
    print(f"leads: {n} contacts in one workspace, {hot} hot, {len(emails)} with an email")


if __name__ == "__main__":
    main()
