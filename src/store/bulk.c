/*
 * The tables of an export stream and the recount that follows a load
 * (store/bulk.h). A migration that adds a table adds it here too: export
 * refuses a database that holds a table this list does not name.
 */
#include "store/bulk.h"

#include <string.h>

/* Parents before children: every table comes after the tables its foreign
 * keys point to. */
const struct bulk_table bulk_tables[] = {
    {"organizations", 0},
    {"workspaces", 0},
    {"user_profiles", 0},
    {"user_organizations", 0},
    {"sessions", 0},
    {"oauth_states", 0},
    {"login_links", 0},
    {"setup_links", 0},
    {"api_tokens", 0},
    {"contacts", 0},
    {"emails", 0},
    {"jobs", 0},
    {"score_history", 0},
    {"email_integrations", 0},
    {"imap_sources", 0},
    {"workspace_counts", BULK_DERIVED},
    {"workspace_email_days", BULK_DERIVED},
    {"sent_emails", 0},
    {"send_attempts", 0},
    {"email_events", 0},
    {"generated_content", 0},
    {"drip_campaigns", 0},
    {"campaign_steps", 0},
    {"campaign_enrollments", 0},
    {"campaign_execution_logs", 0},
    {"alert_rules", 0},
    {"alert_rule_versions", BULK_DERIVED},
    {"alerts", 0},
    {"alert_windows", 0},
    {"alert_deliveries", 0},
    {"suppressions", 0},
    {"suppression_removals", 0},
};

const size_t bulk_ntables = sizeof(bulk_tables) / sizeof(bulk_tables[0]);

const struct bulk_table *bulk_table_find(const char *name)
{
    for (size_t i = 0; i < bulk_ntables; i++)
        if (strcmp(bulk_tables[i].name, name) == 0)
            return &bulk_tables[i];
    return NULL;
}

bool bulk_table_internal(const char *name)
{
    return strcmp(name, "schema_migrations") == 0 || strncmp(name, "sqlite_", 7) == 0 ||
           strcmp(name, "contacts_fts") == 0 || strncmp(name, "contacts_fts_", 13) == 0;
}

/* "WHERE true" before ON CONFLICT: SQLite's parser needs a WHERE there to
 * tell the upsert from a join. */
const char bulk_recount_sql[] =
    "INSERT INTO workspace_counts (workspace_id) SELECT id FROM workspaces WHERE true\n"
    "  ON CONFLICT (workspace_id) DO NOTHING;\n"
    "UPDATE workspace_counts SET\n"
    "  contacts = (SELECT COUNT(*) FROM contacts c\n"
    "    WHERE c.workspace_id = workspace_counts.workspace_id),\n"
    "  hot = (SELECT COUNT(*) FROM contacts c\n"
    "    WHERE c.workspace_id = workspace_counts.workspace_id AND c.ai_score >= 80),\n"
    "  warm = (SELECT COUNT(*) FROM contacts c\n"
    "    WHERE c.workspace_id = workspace_counts.workspace_id\n"
    "      AND c.ai_score >= 60 AND c.ai_score < 80),\n"
    "  emails = (SELECT COUNT(*) FROM emails m\n"
    "    WHERE m.workspace_id = workspace_counts.workspace_id),\n"
    "  emails_unprocessed = (SELECT COUNT(*) FROM emails m\n"
    "    WHERE m.workspace_id = workspace_counts.workspace_id AND m.processed_at IS NULL);\n"
    "DELETE FROM workspace_email_days;\n"
    "INSERT INTO workspace_email_days (workspace_id, day, emails)\n"
    "  SELECT workspace_id, received_at / 86400000, COUNT(*) FROM emails\n"
    "  GROUP BY workspace_id, received_at / 86400000;\n"
    "INSERT INTO alert_rule_versions (workspace_id, version)\n"
    "  SELECT DISTINCT workspace_id, 1 FROM alert_rules WHERE true\n"
    "  ON CONFLICT (workspace_id) DO NOTHING;\n";
