/*
 * Replies kept until the workspace's data changes. A reply built only from
 * stored rows is keyed by what it was asked (workspace and arguments) and
 * remembered with the workspace's data version (store op workspace_version,
 * bumped by triggers on every contact and email write). A later request with
 * the same key and version gets the same bytes without the query. Any
 * process writing the database moves the version, so a reply is never
 * served past a change, whichever process made it.
 */
#ifndef LEADFLOW_API_CACHE_H
#define LEADFLOW_API_CACHE_H

#include <stdbool.h>
#include <stdint.h>

#include "http/http.h"

/* key names the reply (workspace id and arguments); at most CACHE_KEY_MAX-1 bytes. */
enum { CACHE_KEY_MAX = 96 };

/* Copies the remembered reply for key at version into rep (status 200, JSON)
 * and returns true; false when there is none or it is older. */
bool api_cache_get(const char *key, int64_t version, struct http_reply *rep);

/* Remembers rep's body for key at version (replacing what the slot held).
 * Replies larger than the cache keeps are not remembered. */
void api_cache_put(const char *key, int64_t version, const struct http_reply *rep);

/* Frees every remembered reply (registered with atexit by the first put,
 * so leak checks stay quiet). */
void api_cache_clear(void);

#endif
