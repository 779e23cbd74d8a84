/*
 * Tests for src/mail/reply_text.c. The set in tests/data/replies holds replies as
 * real clients write them (Gmail, Outlook desktop and web, Office 365, Apple
 * Mail and iPhone, Thunderbird, Yahoo, Samsung and Outlook mobile; plain text
 * and HTML; quote headers in English, German, French, Spanish, Portuguese,
 * Italian, Dutch, Swedish, Danish, Norwegian and Polish; forwards): NAME.eml
 * and NAME.txt, the new text a reader sees. Each message goes through
 * mime_parse, as mail does in the pipeline; the set fails under 90% exact.
 */
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "base/arena.h"
#include "base/err.h"
#include "mail/mime.h"
#include "mail/reply_text.h"
#include "unit/unit.h"

#define REPLIES_DIR "tests/data/replies"

enum { REPLIES_MIN = 60, EXACT_MIN_PERCENT = 90 };

/* The file's text (malloc'd), or NULL when it cannot be opened. */
static char *slurp(const char *path)
{
    int fd = open(path, O_RDONLY);
    if (fd < 0)
        return NULL;
    char *p = unit_read_fd(fd);
    close(fd);
    return p;
}

static int by_name(const struct dirent **a, const struct dirent **b)
{
    return strcmp((*a)->d_name, (*b)->d_name);
}

static void test_real_clients(void **state)
{
    (void)state;
    assert_int_equal(mime_init(), 0);
    struct dirent **ents;
    int ne = scandir(REPLIES_DIR, &ents, NULL, by_name);
    if (ne < 0)
        fail_msg("cannot read %s (run from the repository root)", REPLIES_DIR);
    int total = 0, exact = 0;
    for (int i = 0; i < ne; i++) {
        const char *name = ents[i]->d_name;
        size_t nl = strlen(name);
        if (nl < 5 || strcmp(name + nl - 4, ".eml") != 0)
            continue;
        char path[512];
        snprintf(path, sizeof(path), "%s/%s", REPLIES_DIR, name);
        char *raw = slurp(path);
        assert_non_null(raw);
        size_t len = strlen(raw);
        snprintf(path, sizeof(path), "%s/%.*s.txt", REPLIES_DIR, (int)(nl - 4), name);
        char *want = slurp(path);
        if (!want)
            fail_msg("%s has no expected text %s", name, path);
        size_t wl = strlen(want);
        while (wl && want[wl - 1] == '\n')
            want[--wl] = '\0';
        struct arena a;
        arena_init(&a, NULL, 0);
        struct mail_msg m;
        struct errinfo e = {0};
        assert_int_equal(mime_parse(raw, len, &a, &m, &e), 0);
        total++;
        if (strcmp(m.new_text, want) == 0)
            exact++;
        else
            printf("miss %s\n  want: \"%s\"\n  got:  \"%s\"\n", name, want, m.new_text);
        arena_release(&a);
        free(want);
        free(raw);
    }
    for (int i = 0; i < ne; i++)
        free(ents[i]);
    free(ents);
    printf("reply separation: %d of %d exact (%.1f%%)\n", exact, total,
           total ? 100.0 * exact / total : 0.0);
    assert_true(total >= REPLIES_MIN);
    assert_true(exact * 100 >= total * EXACT_MIN_PERCENT);
}

static const char *split(struct arena *a, const char *text, const char **sig)
{
    struct reply r;
    reply_split(a, text, &r);
    if (sig)
        *sig = r.signature;
    return r.text;
}

static void test_rules(void **state)
{
    (void)state;
    struct arena a;
    arena_init(&a, NULL, 0);
    const char *sig;
    /* No quote: the whole text. */
    assert_string_equal(split(&a, "Hello\n\nCan we talk?\n", &sig), "Hello\n\nCan we talk?");
    assert_null(sig);
    /* A sentence that names a writer is not an attribution. */
    assert_string_equal(split(&a, "Here is what John wrote:\nthe plan is fine.", NULL),
                        "Here is what John wrote:\nthe plan is fine.");
    /* The line before a wrapped attribution is the sender's. */
    assert_string_equal(split(&a,
                              "See you at 3.\nOn Tue, Dec 1, 2026 at 10:14 AM Anna Berg "
                              "<anna@x.test>\nwrote:\n> hi\n",
                              NULL),
                        "See you at 3.");
    /* "From:" alone, without the other fields, is text. */
    assert_string_equal(split(&a, "From: our side, all is ready.\n\nThanks", NULL),
                        "From: our side, all is ready.\n\nThanks");
    /* A mobile line ends the text; it is not a signature (no name, no title). */
    assert_string_equal(split(&a, "Yes.\n\nSent from my iPhone\n", &sig), "Yes.");
    assert_null(sig);
    /* ... but a sign-off above it still sets the name block apart: the
     * name stays with the text, the block is the signature. */
    assert_string_equal(split(&a,
                              "Yes.\n\nBest,\nJonas Weber\nCTO, Kunde\n\nSent from my "
                              "iPhone\n",
                              &sig),
                        "Yes.\n\nBest,\nJonas Weber");
    assert_string_equal(sig, "Jonas Weber\nCTO, Kunde");
    /* The name on the sign-off's line stays with it. */
    assert_string_equal(split(&a, "Ok.\n\nAbraço, João\nDiretor Comercial\n", &sig),
                        "Ok.\n\nAbraço, João");
    assert_string_equal(sig, "Diretor Comercial");
    /* A place after the sign-off, a dash or lower case before the name. */
    assert_string_equal(split(&a, "Ja.\n\nViele Grüße aus Berlin\nAnna Schmidt\nEinkauf", NULL),
                        "Ja.\n\nViele Grüße aus Berlin\nAnna Schmidt");
    assert_string_equal(split(&a, "Ok.\n\nThanks,\n- Anna\nCEO, Acme", NULL),
                        "Ok.\n\nThanks,\n- Anna");
    assert_string_equal(split(&a, "send it again\n\nthx,\nmike\nAcme | +1 555 123 4567", NULL),
                        "send it again\n\nthx,\nmike");
    /* A long block of signature lines after a sign-off is still a signature;
     * a question after it is text. */
    assert_string_equal(split(&a,
                              "Call me.\n\nBest regards,\nACME | Sales\nMain Street 1\n"
                              "12345 Town\nPhone 1\nFax 2\nwww.acme.example\nRegistered in "
                              "England\n",
                              NULL),
                        "Call me.\n\nBest regards,");
    static const char ps[] = "Hi,\n\nThanks,\n\nAlso, can you add Bob to the call?";
    assert_string_equal(split(&a, ps, NULL), ps);
    /* A name below a closing of one's own, then title and phone. */
    assert_string_equal(split(&a, "Fine.\n\nHave a lovely day,\nAnna Berg\nCEO\n+1 555 0100", NULL),
                        "Fine.\n\nHave a lovely day,\nAnna Berg");
    /* A thank-you greeting is no sign-off. */
    assert_string_equal(split(&a, "Thanks John,\n\nlooks good.\n\nTom", NULL),
                        "Thanks John,\n\nlooks good.\n\nTom");
    /* Without a sign-off: a name, then title, company and phone lines. */
    assert_string_equal(split(&a, "Yes.\n\nNina Patel\nDirector\n\n+1 312 555 0199\n", &sig),
                        "Yes.\n\nNina Patel");
    assert_string_equal(sig, "Nina Patel\nDirector\n\n+1 312 555 0199");
    /* ... but a list of names is text, */
    static const char names[] = "Who comes:\n\nAnna Berg\nJonas Weber\nPeter Lang";
    assert_string_equal(split(&a, names, NULL), names);
    /* ... and so are short lines above a question. */
    static const char items[] = "We need:\n\nRed Widgets\nBlue Widgets\n\nCan you quote?";
    assert_string_equal(split(&a, items, NULL), items);
    /* A disclaimer ends the text; a sentence that opens like one does not. */
    assert_string_equal(split(&a,
                              "Done.\n\nThis e-mail and any attachments are confidential and "
                              "intended solely for the addressee.",
                              NULL),
                        "Done.");
    static const char confirm[] = "Done.\n\nThis email is to confirm the order we placed "
                                  "today with your team.";
    assert_string_equal(split(&a, confirm, NULL), confirm);
    /* A list footer and a calendar's boilerplate (with its rule) end it too. */
    assert_string_equal(split(&a, "News.\n\nThe Team\n\nUnsubscribe | Manage preferences", NULL),
                        "News.\n\nThe Team");
    assert_string_equal(split(&a,
                              "Anna has accepted this meeting.\n\n__________________\n"
                              "Microsoft Teams meeting\nMeeting ID: 123\n",
                              NULL),
                        "Anna has accepted this meeting.");
    static const char invite[] = "Accepted: Demo\n\nInvitation from Google Calendar";
    assert_string_equal(split(&a, invite, NULL), invite);
    /* A sentence that starts the same way is text. */
    static const char long_line[] = "Sure.\n\nSent from my phone while travelling, so I will "
                                    "answer properly tomorrow when I am back at my desk.";
    assert_string_equal(split(&a, long_line, NULL), long_line);
    /* A bare forward has no new text. */
    assert_string_equal(
        split(&a, "---------- Forwarded message ---------\nFrom: A <a@x.test>\nDate: Tue\n\nHi",
              NULL),
        "");
    /* Quoted lines are left out wherever they are. */
    assert_string_equal(split(&a, "> q1\nA1\n> q2\nA2\n", NULL), "A1\nA2");
    /* Empty input. */
    struct reply r;
    reply_split(&a, "", &r);
    assert_string_equal(r.text, "");
    assert_int_equal(r.quote_at, 0);
    /* Where the history starts. */
    static const char t[] = "Fine.\n\n-----Original Message-----\nFrom: A\nSent: B\n";
    reply_split(&a, t, &r);
    assert_int_equal(r.quote_at, 7);
    arena_release(&a);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_real_clients),
    cmocka_unit_test(test_rules),
};

UNIT_GROUP(unit_mail_reply_text, "mail/reply_text", tests);
