/*
 * Backend selection by database URL.
 */
#include "store/store.h"
#include "store/auth.h"

#include <stdio.h>
#include <string.h>

struct store *store_open(const char *url, struct errinfo *e)
{
    if (strncmp(url, "sqlite:", 7) == 0)
        return store_sqlite_ops.open(url + 7, e);
    /* libpq takes the whole URL (postgres:// or postgresql://). */
    if (strncmp(url, "postgres://", 11) == 0 || strncmp(url, "postgresql://", 13) == 0)
        return store_pg_ops.open(url, e);
    failf(e, ERR_CONFIG, "database URL must start with sqlite: or postgres://");
    return NULL;
}

void store_data_dir(const char *url, char *out, size_t n)
{
    snprintf(out, n, ".");
    if (strncmp(url, "sqlite:", 7) != 0 || strcmp(url + 7, ":memory:") == 0)
        return;
    const char *path = url + 7;
    const char *slash = strrchr(path, '/');
    if (!slash)
        return;
    if (slash == path)
        snprintf(out, n, "/");
    else
        snprintf(out, n, "%.*s", (int)(slash - path), path);
}

static const char *const role_names[] = {"none", "viewer", "member", "admin", "owner"};

const char *role_name(int role)
{
    return role >= ROLE_NONE && role <= ROLE_OWNER ? role_names[role] : "none";
}

int role_parse(const char *name)
{
    for (int i = ROLE_VIEWER; i <= ROLE_OWNER; i++)
        if (strcmp(name, role_names[i]) == 0)
            return i;
    return ROLE_NONE;
}
