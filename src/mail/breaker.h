/*
 * A circuit breaker for one email provider, kept in memory by each process
 * (a server and a worker each keep their own; nothing is shared through the
 * database). Closed, every send goes to the provider. After `threshold`
 * failures in a row it opens: the provider is skipped, without a request,
 * for `cooldown_ms`. Then it is half-open: one send (the probe) goes
 * through while the others still skip it; the probe's success closes the
 * circuit, its failure opens it for another cool-down. A provider's own
 * "not before" (a 429's Retry-After) opens it until then without counting a
 * failure. Thread-safe; times are the caller's (milliseconds).
 */
#ifndef LEADFLOW_MAIL_BREAKER_H
#define LEADFLOW_MAIL_BREAKER_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

enum breaker_state { BREAKER_CLOSED = 0, BREAKER_OPEN = 1, BREAKER_HALF_OPEN = 2 };

struct breaker {
    pthread_mutex_t mu;
    int threshold; /* 0: never opens */
    int64_t cooldown_ms;
    int failures;        /* in a row */
    int64_t open_until;  /* 0: closed */
    int64_t probe_since; /* 0: no probe out */
};

void breaker_init(struct breaker *b, int threshold, int64_t cooldown_ms);
void breaker_destroy(struct breaker *b);

/* Whether a send may go to the provider now: yes when closed; no while
 * open; when the cool-down is over, yes for one caller (the probe) and no
 * for the others until it reports (or a cool-down passes without a word). */
bool breaker_allow(struct breaker *b, int64_t now);
/* The provider took a send (or refused the recipient: it works). */
void breaker_success(struct breaker *b);
/* The provider failed a send (its fault: down, slow, 5xx, refused key). */
void breaker_failure(struct breaker *b, int64_t now);
/* The provider asked not to be sent to before until (ms). */
void breaker_defer(struct breaker *b, int64_t until);
/* The state at now, and (when not NULL) until when it is open. */
enum breaker_state breaker_state(struct breaker *b, int64_t now, int64_t *open_until);
/* "closed", "open", "half_open". */
const char *breaker_state_name(enum breaker_state s);

#endif
