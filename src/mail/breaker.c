/* The circuit breaker of one provider (mail/breaker.h). */
#include "mail/breaker.h"

void breaker_init(struct breaker *b, int threshold, int64_t cooldown_ms)
{
    pthread_mutex_init(&b->mu, NULL);
    b->threshold = threshold;
    b->cooldown_ms = cooldown_ms;
    b->failures = 0;
    b->open_until = 0;
    b->probe_since = 0;
}

void breaker_destroy(struct breaker *b)
{
    pthread_mutex_destroy(&b->mu);
}

bool breaker_allow(struct breaker *b, int64_t now)
{
    pthread_mutex_lock(&b->mu);
    bool ok = true;
    if (b->open_until) {
        /* Open: nothing until the cool-down is over; then one probe at a
         * time (a probe never heard of for a cool-down is given up). */
        if (now < b->open_until)
            ok = false;
        else if (b->probe_since && now - b->probe_since < b->cooldown_ms)
            ok = false;
        else
            b->probe_since = now;
    }
    pthread_mutex_unlock(&b->mu);
    return ok;
}

void breaker_success(struct breaker *b)
{
    pthread_mutex_lock(&b->mu);
    b->failures = 0;
    b->open_until = 0;
    b->probe_since = 0;
    pthread_mutex_unlock(&b->mu);
}

void breaker_failure(struct breaker *b, int64_t now)
{
    pthread_mutex_lock(&b->mu);
    b->failures++;
    bool probe = b->probe_since != 0;
    if (probe || (b->threshold > 0 && b->failures >= b->threshold)) {
        b->open_until = now + b->cooldown_ms;
        b->probe_since = 0;
    }
    pthread_mutex_unlock(&b->mu);
}

void breaker_defer(struct breaker *b, int64_t until)
{
    pthread_mutex_lock(&b->mu);
    if (until > b->open_until)
        b->open_until = until;
    b->probe_since = 0;
    pthread_mutex_unlock(&b->mu);
}

enum breaker_state breaker_state(struct breaker *b, int64_t now, int64_t *open_until)
{
    pthread_mutex_lock(&b->mu);
    enum breaker_state s = !b->open_until        ? BREAKER_CLOSED
                           : now < b->open_until ? BREAKER_OPEN
                                                 : BREAKER_HALF_OPEN;
    if (open_until)
        *open_until = b->open_until;
    pthread_mutex_unlock(&b->mu);
    return s;
}

const char *breaker_state_name(enum breaker_state s)
{
    return s == BREAKER_OPEN ? "open" : s == BREAKER_HALF_OPEN ? "half_open" : "closed";
}
