/*
 * A direct-mapped table of replies: the key's hash picks the slot, each slot
 * has its own lock, so requests for different workspaces rarely wait on each
 * other and a hit costs one copy of the body.
 */
#include "api/cache.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "base/mem.h"

enum { CACHE_SLOTS = 256, CACHE_BODY_MAX = 256 * 1024 };

struct slot {
    pthread_mutex_t lock;
    char key[CACHE_KEY_MAX];
    int64_t version;
    char *body;
    size_t len;
};

static struct slot slots[CACHE_SLOTS] = {
    [0 ... CACHE_SLOTS - 1] = {.lock = PTHREAD_MUTEX_INITIALIZER},
};

/* FNV-1a: short keys, and only the slot index is taken from it. */
static struct slot *slot_for(const char *key)
{
    uint32_t h = 2166136261u;
    for (const unsigned char *p = (const unsigned char *)key; *p; p++)
        h = (h ^ *p) * 16777619u;
    return &slots[h % CACHE_SLOTS];
}

bool api_cache_get(const char *key, int64_t version, struct http_reply *rep)
{
    struct slot *s = slot_for(key);
    bool hit = false;
    pthread_mutex_lock(&s->lock);
    if (s->body && s->version == version && strcmp(s->key, key) == 0) {
        buf_reset(&rep->body);
        hit = buf_append(&rep->body, s->body, s->len) == 0;
    }
    pthread_mutex_unlock(&s->lock);
    if (hit) {
        rep->status = 200;
        rep->content_type = "application/json";
    }
    return hit;
}

static pthread_once_t at_exit_once = PTHREAD_ONCE_INIT;

static void register_clear(void)
{
    atexit(api_cache_clear);
}

void api_cache_put(const char *key, int64_t version, const struct http_reply *rep)
{
    pthread_once(&at_exit_once, register_clear);
    size_t len = rep->body.len;
    if (len > CACHE_BODY_MAX || strlen(key) >= CACHE_KEY_MAX)
        return;
    char *copy = xmalloc(len ? len : 1);
    memcpy(copy, rep->body.data, len);
    struct slot *s = slot_for(key);
    pthread_mutex_lock(&s->lock);
    char *old = s->body;
    memcpy(s->key, key, strlen(key) + 1);
    s->version = version;
    s->body = copy;
    s->len = len;
    pthread_mutex_unlock(&s->lock);
    free(old);
}

void api_cache_clear(void)
{
    for (size_t i = 0; i < CACHE_SLOTS; i++) {
        pthread_mutex_lock(&slots[i].lock);
        free(slots[i].body);
        slots[i].body = NULL;
        slots[i].len = 0;
        pthread_mutex_unlock(&slots[i].lock);
    }
}
