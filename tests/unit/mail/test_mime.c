/*
 * Tests for src/mail/mime.c: the sample messages in tests/data/mime (headers,
 * encodings, charsets, HTML, replies, signatures, attachments, damaged
 * input) and generated hostile ones (deep nesting, a 50 MB body).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/arena.h"
#include "base/err.h"
#include "mail/mime.h"
#include "unit/unit.h"

struct fixture {
    struct arena a;
    struct mail_msg m;
    struct errinfo e;
    char *raw;
    size_t len;
};

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));
    assert_non_null(f);
    assert_int_equal(mime_init(), 0);
    arena_init(&f->a, NULL, 0);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    arena_release(&f->a);
    free(f->raw);
    free(f);
    return 0;
}

static char *read_sample(const char *name, size_t *len)
{
    char path[512];
    snprintf(path, sizeof(path), "tests/data/mime/%s", name);
    FILE *fp = fopen(path, "rb");
    if (!fp)
        fail_msg("cannot open %s (run from the repository root)", path);
    fseek(fp, 0, SEEK_END);
    long n = ftell(fp);
    fseek(fp, 0, SEEK_SET);
    char *p = malloc((size_t)n + 1);
    assert_non_null(p);
    assert_int_equal(fread(p, 1, (size_t)n, fp), (size_t)n);
    fclose(fp);
    p[n] = '\0';
    *len = (size_t)n;
    return p;
}

/* Parses a sample into f->m; returns mime_parse's result. */
static int parse_sample(struct fixture *f, const char *name)
{
    f->raw = read_sample(name, &f->len);
    return mime_parse(f->raw, f->len, &f->a, &f->m, &f->e);
}

static bool valid_utf8(const char *s)
{
    const unsigned char *u = (const unsigned char *)s;
    while (*u) {
        int n = *u < 0x80             ? 1
                : (*u & 0xe0) == 0xc0 ? 2
                : (*u & 0xf0) == 0xe0 ? 3
                : (*u & 0xf8) == 0xf0 ? 4
                                      : 0;
        if (n == 0 || (n == 2 && *u < 0xc2))
            return false;
        for (int i = 1; i < n; i++)
            if ((u[i] & 0xc0) != 0x80)
                return false;
        u += n;
    }
    return true;
}

static void test_plain(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(parse_sample(f, "plain.eml"), 0);
    struct mail_msg *m = &f->m;
    assert_string_equal(m->message_id, "CAF3x9q2+abc@mail.brightpath.io");
    assert_string_equal(m->subject, "Pricing for 25 seats");
    assert_string_equal(m->from.name, "Maria Lopez");
    assert_string_equal(m->from.email, "Maria.Lopez@brightpath.io"); /* domain lower-cased */
    assert_string_equal(m->reply_to.name, "Maria Lopez (Sales Ops)");
    assert_string_equal(m->reply_to.email, "maria.ops@brightpath.io");
    assert_int_equal(m->nto, 3);
    assert_string_equal(m->to[0].name, "Sales Team");
    assert_string_equal(m->to[0].email, "sales@leadflow.test");
    assert_string_equal(m->to[1].name, "Dan Ortiz");
    assert_null(m->to[2].name);
    assert_string_equal(m->to[2].email, "finance@brightpath.io"); /* Cc after To */
    assert_true(m->date_ms == INT64_C(1709658842000));            /* 17:14:02 UTC */
    assert_null(m->in_reply_to);
    assert_false(m->html_only);
    assert_false(m->truncated);
    assert_int_equal(m->attachments, 0);
    assert_contains(m->body_text, "sales group of 25 people. Could you\nsend pricing");
    assert_contains(m->new_text, "offer a pilot?");
    assert_not_contains(m->new_text, "Head of Revenue");
    assert_string_equal(m->signature,
                        "Maria Lopez\nHead of Revenue Operations\nBrightPath Analytics\n"
                        "+1 415 555 0134");
}

/* Parses a message given as text into f->m. */
static int parse_text(struct fixture *f, const char *text)
{
    return mime_parse(text, strlen(text), &f->a, &f->m, &f->e);
}

static void test_automated_mail(void **state)
{
    struct fixture *f = *state;
    static const char *const automated[] = {
        "From: news@list.example\nList-Unsubscribe: <mailto:u@list.example>\n\nNews.\n",
        "From: news@list.example\nList-Id: Weekly <weekly.list.example>\n\nNews.\n",
        "From: a@b.example\nPrecedence: bulk\n\nOffer.\n",
        "From: a@b.example\nAuto-Submitted: auto-replied\n\nI am out of the office.\n",
        "From: a@b.example\nX-Autoreply: yes\n\nAway.\n",
    };
    for (size_t i = 0; i < sizeof(automated) / sizeof(automated[0]); i++) {
        assert_int_equal(parse_text(f, automated[i]), 0);
        if (!f->m.automated)
            fail_msg("not seen as automated: %s", automated[i]);
    }
    static const char *const personal[] = {
        "From: a@b.example\nSubject: hi\n\nCan we talk?\n",
        "From: a@b.example\nAuto-Submitted: no\n\nWritten by hand.\n",
        "From: a@b.example\nPrecedence: first-class\n\nHello.\n",
    };
    for (size_t i = 0; i < sizeof(personal) / sizeof(personal[0]); i++) {
        assert_int_equal(parse_text(f, personal[i]), 0);
        if (f->m.automated)
            fail_msg("seen as automated: %s", personal[i]);
    }
}

static void test_signoff_block_before_a_disclaimer(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(parse_text(f, "From: Gabriel Keller <g@marlowe.example>\n\n"
                                   "What is the price for 30 users?\n\nThank you,\n"
                                   "Gabriel Keller\nCEO\nMarlowe Academy\n611 Commerce Way\n\n"
                                   "This email and any attachments are confidential and intended "
                                   "solely for the addressee.\n"),
                     0);
    assert_string_equal(f->m.signature, "Gabriel Keller\nCEO\nMarlowe Academy\n611 Commerce Way");
    assert_contains(f->m.new_text, "price for 30 users");
    assert_not_contains(f->m.new_text, "confidential");
    assert_not_contains(f->m.new_text, "CEO");
}

static void test_alternative_prefers_plain(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(parse_sample(f, "alternative.eml"), 0);
    assert_false(f->m.html_only);
    assert_not_contains(f->m.body_text, "<");
    assert_contains(f->m.body_text, "Could we schedule a demo on Tuesday at 10am JST?");
    assert_int_equal(f->m.attachments, 0);
    assert_string_equal(f->m.signature, "Ken");
}

static void test_html_only(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(parse_sample(f, "html_only.eml"), 0);
    const char *b = f->m.body_text;
    assert_true(f->m.html_only);
    assert_not_contains(b, "Ignore me");   /* <title> */
    assert_not_contains(b, "color: red");  /* <style> */
    assert_not_contains(b, "do not show"); /* <script> */
    assert_not_contains(b, "comment");
    assert_not_contains(b, "<p>");
    assert_not_contains(b, "<li>");
    assert_contains(b, "Hello team,\n");
    assert_contains(b, "bulk import & export.");
    assert_contains(b, "CSV <export>\nWebhooks \xe2\x80\x94 real time");
    assert_contains(b, "Caf\xc3\xa9 \xc3\xa9 \xe2\x98\xba \xe2\x82\xac"
                       "5");
    assert_true(strlen(b) > 6 && strcmp(b + strlen(b) - 7, "\n\nPriya") == 0);
}

static void test_quoted_printable(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(parse_sample(f, "quoted_printable.eml"), 0);
    assert_contains(f->m.body_text, "price of \xe2\x82\xac"
                                    "1200 per year");
    assert_contains(f->m.body_text, "Caf\xc3\xa9 meeting");
    assert_contains(f->m.body_text, "wrapped by the quoted-printable encoder because");
    assert_not_contains(f->m.body_text, "=\n");
}

static void test_base64(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(parse_sample(f, "base64.eml"), 0);
    assert_contains(f->m.body_text, "k\xc3\xb6nnen wir \xc3\xbc"
                                    "ber die Preise sprechen?");
    assert_contains(f->m.body_text, "M\xc3\xbcnchen");
}

static void test_latin1_body_and_subject(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(parse_sample(f, "latin1.eml"), 0);
    assert_string_equal(f->m.subject, "Or\xc3\xa7"
                                      "amento para a equipe");
    assert_contains(f->m.body_text, "Ol\xc3\xa1, gostar\xc3\xad"
                                    "amos de um or\xc3\xa7"
                                    "amento");
    assert_true(valid_utf8(f->m.body_text));
}

static void test_windows1252_body(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(parse_sample(f, "windows1252.eml"), 0);
    assert_string_equal(f->m.subject, "Quote \xe2\x80\x93 2024"); /* B, UTF-8 */
    assert_contains(f->m.body_text, "It\xe2\x80\x99s \xe2\x80\x9cgreat\xe2\x80\x9d \xe2\x80\x93");
    assert_contains(f->m.body_text, "\xe2\x82\xac"
                                    "99\xe2\x80\xa6");
}

static void test_rfc2047_words(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(parse_sample(f, "rfc2047_subjects.eml"), 0);
    /* A B word in UTF-8 and a Q word in latin-1, side by side. */
    assert_string_equal(f->m.subject, "Re: Pricing \xe2\x80\x94 question f\xc3\xbcr Sie");
    assert_string_equal(f->m.from.name, "Ren\xc3\xa9"
                                        "e Dupr\xc3\xa9");
    assert_string_equal(f->m.to[0].name, "J\xc3\xb6rg M\xc3\xbcller");
}

/* Adjacent words: the blank between them goes (RFC 2047 6.2), so the
 * dash of the second word follows the space the first one ends with. */
static void test_rfc2047_adjacent_words(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(parse_sample(f, "rfc2047_adjacent.eml"), 0);
    assert_string_equal(f->m.subject, "\xe4\xbc\x9a\xe8\xae\xae\xe8\xaf\xb7\xe6\xb1\x82 "
                                      "\xe2\x80\x93 meeting request");
}

/* A character split across two B words, and one across two Q words. */
static void test_rfc2047_split_character(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(parse_sample(f, "rfc2047_split_char.eml"), 0);
    assert_string_equal(f->m.subject, "\xe4\xbc\x9a\xe8\xae\xae\xe8\xaf\xb7\xe6\xb1\x82 "
                                      "\xe2\x80\x93 ok");
}

/* Subjects given inline: what RFC 2047 section 8 shows, and words next to text. */
static void test_rfc2047_subject_table(void **state)
{
    struct fixture *f = *state;
    static const struct {
        const char *subject, *want;
    } cases[] = {
        {"(=?ISO-8859-1?Q?a?=)", "(a)"},
        {"(=?ISO-8859-1?Q?a?= b)", "(a b)"},
        {"(=?ISO-8859-1?Q?a?= =?ISO-8859-1?Q?b?=)", "(ab)"},
        {"(=?ISO-8859-1?Q?a?=  \n  =?ISO-8859-1?Q?b?=)", "(ab)"},
        {"(=?ISO-8859-1?Q?a_b?=)", "(a b)"},
        {"(=?ISO-8859-1?Q?a?= =?ISO-8859-2?Q?_b?=)", "(a b)"},
        {"Re: =?utf-8?B?Y2Fmw6k=?= and more", "Re: caf\xc3\xa9 and more"},
        {"=?utf-8?b?w6k=?==?UTF-8?Q?=C3=A9?=", "\xc3\xa9\xc3\xa9"},
        {"=?iso-8859-1*fr?Q?caf=E9?= =?utf-8?Q?_ok?=", "caf\xc3\xa9 ok"},
        {"price =?bogus not a word", "price =?bogus not a word"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char raw[512];
        snprintf(raw, sizeof(raw),
                 "From: A <a@example.com>\nTo: b@example.com\nSubject: %s\n"
                 "Message-ID: <t%zu@example.com>\n\nHi.\n",
                 cases[i].subject, i);
        struct mail_msg m;
        struct errinfo e;
        errinfo_clear(&e);
        assert_int_equal(mime_parse(raw, strlen(raw), &f->a, &m, &e), 0);
        if (!m.subject || strcmp(m.subject, cases[i].want) != 0)
            fail_msg("case %zu: \"%s\", want \"%s\"", i, m.subject ? m.subject : "(null)",
                     cases[i].want);
    }
}

static void test_folded_headers(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(parse_sample(f, "folded.eml"), 0);
    struct mail_msg *m = &f->m;
    assert_string_equal(m->subject, "This subject is folded over two lines");
    assert_string_equal(m->from.name, "Sam Lee");
    assert_string_equal(m->from.email, "sam@folded.example");
    assert_int_equal(m->nto, 2);
    assert_string_equal(m->message_id, "folded-1@folded.example");
    assert_string_equal(m->in_reply_to, "parent-1@leadflow.test");
    assert_string_equal(m->references,
                        "root@leadflow.test parent-0@leadflow.test parent-1@leadflow.test");
    assert_true(m->date_ms == INT64_C(1710324000000));
}

static void test_reply_with_quotes(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(parse_sample(f, "reply_quoted.eml"), 0);
    assert_string_equal(f->m.new_text, "Thanks for the proposal. We are ready to move forward "
                                       "with the Pro plan.\nCan you send the contract?");
    assert_contains(f->m.body_text, "> Attached is our proposal");
    assert_string_equal(f->m.in_reply_to, "prop-7@leadflow.test");
    assert_null(f->m.signature);
}

static void test_reply_outlook(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(parse_sample(f, "reply_outlook.eml"), 0); /* CRLF lines */
    assert_not_contains(f->m.body_text, "\r");
    assert_string_equal(f->m.new_text, "We have a complaint: the invoice was wrong again.\n\nGreg");
}

static void test_signature_dashes(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(parse_sample(f, "signature_dashes.eml"), 0);
    assert_string_equal(f->m.new_text, "Does your product support SAML single sign-on?");
    assert_string_equal(f->m.signature, "Hana Kim\nVP of Engineering\nAcme Robotics");
}

static void test_signature_signoff(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(parse_sample(f, "signature_signoff.eml"), 0);
    assert_string_equal(f->m.signature, "Peter Novak\nDirector of Sales\nGlobex Corporation\n"
                                        "Phone: +420 555 123 456");
    assert_contains(f->m.new_text, "after lunch.\n\nKind regards,");
    assert_not_contains(f->m.new_text, "Globex");
}

static void test_signoff_needs_short_lines(void **state)
{
    struct fixture *f = *state;
    static const char raw[] =
        "From: x@example.org\n\nThanks, I will check with the team and get back to you.\n"
        "Thanks,\n";
    assert_int_equal(mime_parse(raw, sizeof(raw) - 1, &f->a, &f->m, &f->e), 0);
    assert_null(f->m.signature); /* nothing after the sign-off */
    static const char raw2[] = "From: x@example.org\n\nBest,\nThis line is far too long to be "
                               "part of a signature block because it is a whole sentence of "
                               "prose that goes on.\n";
    assert_int_equal(mime_parse(raw2, sizeof(raw2) - 1, &f->a, &f->m, &f->e), 0);
    assert_null(f->m.signature);
}

static void test_attachments_counted(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(parse_sample(f, "attachment.eml"), 0);
    assert_int_equal(f->m.attachments, 3); /* the PDF, notes.txt, the image */
    assert_string_equal(f->m.body_text, "Please find the signed order form attached.");
    assert_false(f->m.html_only);
    assert_not_contains(f->m.body_text, "These notes");
}

static void test_truncated_mime(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(parse_sample(f, "truncated_mime.eml"), 0);
    assert_contains(f->m.body_text, "Hello, this message was cut off in the mid");
    assert_int_equal(f->m.attachments, 1);
}

static void test_missing_charset(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(parse_sample(f, "missing_charset.eml"), 0);
    assert_true(valid_utf8(f->m.body_text));
    assert_contains(f->m.body_text, "10 \xe2\x82\xac \xe2\x80\x94 tr\xc3\xa8s bien");
    assert_contains(f->m.body_text, "Bad byte: \xef\xbf\xbd here."); /* U+FFFD */
}

static void test_wrong_charset(void **state)
{
    struct fixture *f = *state;
    /* Labelled UTF-8, written in latin-1. */
    assert_int_equal(parse_sample(f, "wrong_charset.eml"), 0);
    assert_contains(f->m.body_text, "Se\xc3\xb1or, el a\xc3\xb1o pr\xc3\xb3ximo.");
    arena_release(&f->a);
    free(f->raw);
    /* A label nobody knows. */
    assert_int_equal(parse_sample(f, "unknown_charset.eml"), 0);
    assert_contains(f->m.body_text, "Z\xc3\xbcrich is lovely.");
}

static void test_raw_8bit_headers(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(parse_sample(f, "raw_8bit_headers.eml"), 0);
    assert_string_equal(f->m.subject, "Gr\xc3\xb6\xc3\x9f"
                                      "e und Gewicht");
    assert_string_equal(f->m.from.name, "J\xc3\xbcrgen Gro\xc3\x9f");
    assert_int_equal(f->m.nto, 2);
    assert_string_equal(f->m.to[0].name, "Zo\xc3\xab");
    assert_string_equal(f->m.to[1].name, "Fran\xc3\xa7ois Lef\xc3\xa8vre"); /* latin-1 bytes */
}

static void test_bad_date_is_zero(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(parse_sample(f, "bad_date.eml"), 0);
    assert_true(f->m.date_ms == 0);
    assert_string_equal(f->m.subject, "bad date");
}

static void test_no_from_rejected(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(parse_sample(f, "no_from.eml"), ERR_INVALID);
    assert_string_equal(f->e.msg, "not an email message: no From address");
}

static void test_binary_rejected(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(parse_sample(f, "binary.bin"), ERR_INVALID);
    assert_contains(f->e.msg, "not an email message: ");
    assert_int_equal(mime_parse("", 0, &f->a, &f->m, &f->e), ERR_INVALID);
    assert_int_equal(mime_parse("hello world\n", 12, &f->a, &f->m, &f->e), ERR_INVALID);
    assert_string_equal(f->e.msg, "not an email message: no header block");
}

/* Multiparts nested depth deep with the text at the bottom. */
static char *nested(int depth, size_t *len)
{
    size_t cap = (size_t)depth * 120 + 512, k = 0;
    char *p = malloc(cap);
    assert_non_null(p);
    k += (size_t)snprintf(p + k, cap - k, "From: deep@example.org\nSubject: deep\n");
    for (int i = 0; i < depth; i++)
        k += (size_t)snprintf(p + k, cap - k,
                              "Content-Type: multipart/mixed; boundary=\"b%d\"\n\n--b%d\n", i, i);
    k += (size_t)snprintf(p + k, cap - k, "Content-Type: text/plain\n\nbottom text\n");
    for (int i = depth - 1; i >= 0; i--)
        k += (size_t)snprintf(p + k, cap - k, "--b%d--\n", i);
    *len = k;
    return p;
}

static void test_nested_100_deep(void **state)
{
    struct fixture *f = *state;
    f->raw = nested(100, &f->len);
    assert_int_equal(mime_parse(f->raw, f->len, &f->a, &f->m, &f->e), 0);
    assert_string_equal(f->m.subject, "deep");
    assert_string_equal(f->m.body_text, ""); /* below MIME_MAX_DEPTH: not descended */
}

static void test_nested_10000_deep(void **state)
{
    struct fixture *f = *state;
    f->raw = nested(10000, &f->len);
    assert_int_equal(mime_parse(f->raw, f->len, &f->a, &f->m, &f->e), 0);
    assert_string_equal(f->m.body_text, "");
}

static void test_nested_within_limit(void **state)
{
    struct fixture *f = *state;
    f->raw = nested(MIME_MAX_DEPTH - 1, &f->len);
    assert_int_equal(mime_parse(f->raw, f->len, &f->a, &f->m, &f->e), 0);
    assert_string_equal(f->m.body_text, "bottom text");
}

static void test_50mb_message_truncated(void **state)
{
    struct fixture *f = *state;
    static const char head[] = "From: big@example.org\nSubject: big\n"
                               "Content-Type: text/plain; charset=utf-8\n\n";
    size_t body = 50u * 1024 * 1024;
    f->len = sizeof(head) - 1 + body;
    f->raw = malloc(f->len);
    assert_non_null(f->raw);
    memcpy(f->raw, head, sizeof(head) - 1);
    /* Lines of "\xc3\xa9" (two-byte é): the cut must not split one. */
    char *b = f->raw + sizeof(head) - 1;
    for (size_t i = 0; i < body; i++)
        b[i] = i % 81 == 80 ? '\n' : (i % 81) % 2 == 0 ? '\xc3' : '\xa9';
    assert_int_equal(mime_parse(f->raw, f->len, &f->a, &f->m, &f->e), 0);
    assert_true(f->m.truncated);
    size_t n = strlen(f->m.body_text);
    assert_true(n <= MIME_MAX_TEXT && n > MIME_MAX_TEXT - 4);
    assert_true(valid_utf8(f->m.body_text));
}

static void test_html_blockquote_is_quoted(void **state)
{
    struct fixture *f = *state;
    static const char raw[] = "From: a@example.org\nContent-Type: text/html\n\n"
                              "<div>Sounds good, see you then.</div><div class=\"gmail_quote\">"
                              "<blockquote>Can we meet at 3?<br>Bob</blockquote></div>";
    assert_int_equal(mime_parse(raw, sizeof(raw) - 1, &f->a, &f->m, &f->e), 0);
    assert_contains(f->m.body_text, "> Can we meet at 3?\n> Bob");
    assert_string_equal(f->m.new_text, "Sounds good, see you then.");
}

static void test_mbox_envelope_skipped(void **state)
{
    struct fixture *f = *state;
    static const char raw[] = "From a@example.org Mon Jan  1 00:00:00 2024\n"
                              "From: A <a@example.org>\nSubject: s\n\nbody\n";
    assert_int_equal(mime_parse(raw, sizeof(raw) - 1, &f->a, &f->m, &f->e), 0);
    assert_string_equal(f->m.from.email, "a@example.org");
    assert_string_equal(f->m.body_text, "body\n");
}

/* ---- bounce and complaint reports ---- */

/* Real-world shapes: Postfix (message/rfc822 returned), Exchange (an
 * alternative part first, text/rfc822-headers with a folded Message-ID,
 * a 5.1.10 status), Gmail's mailer-daemon (multipart/related first), a
 * Postfix delay warning, and RFC 5965's ARF example (appendix B.1). */
static void test_reports(void **state)
{
    struct fixture *f = *state;
    static const struct {
        const char *sample;
        enum mail_report_kind kind;
        const char *recipient, *status, *original_id;
    } cases[] = {
        {"dsn_postfix.eml", REPORT_BOUNCE, "jane.doe@acme.example", "5.1.1",
         "0190f3a2-7c1e-7b7a-9d41-2b7c6a1e0f11@leadflow.test"},
        {"dsn_exchange.eml", REPORT_BOUNCE, "bob@contoso.example", "5.1.10",
         "0190f3a2-8888-7b7a-9d41-2b7c6a1e0f22@leadflow.test"},
        {"dsn_gmail.eml", REPORT_BOUNCE, "no.such.user@gmail.com", "5.1.1",
         "0190f3a2-9999-7b7a-9d41-2b7c6a1e0f33@leadflow.test"},
        {"dsn_delayed.eml", REPORT_DEFERRED, "slow@busy.example", "4.4.1",
         "0190f3a2-aaaa-7b7a-9d41-2b7c6a1e0f44@leadflow.test"},
        {"arf_rfc5965.eml", REPORT_COMPLAINT, "user@example.com", NULL,
         "8787KJKJ3K4J3K4J3K4J3.mail@example.net"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        free(f->raw);
        assert_int_equal(parse_sample(f, cases[i].sample), 0);
        const struct mail_report *r = f->m.report;
        assert_non_null(r);
        assert_true(f->m.automated);
        assert_int_equal(r->kind, cases[i].kind);
        /* Jane's Final-Recipient is written in capitals: lower-cased. */
        assert_string_equal(r->recipient, cases[i].recipient);
        if (cases[i].status)
            assert_string_equal(r->status, cases[i].status);
        else
            assert_null(r->status);
        assert_string_equal(r->original_id, cases[i].original_id);
    }
}

static void test_plain_mail_is_no_report(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(parse_sample(f, "plain.eml"), 0);
    assert_null(f->m.report);
}

/* The verdict of each recipient group, the hard bounce weighing most. */
static void test_report_fields(void **state)
{
    struct fixture *f = *state;
    struct mail_report r = {0};
    static const struct {
        const char *text;
        bool feedback;
        enum mail_report_kind kind;
        const char *recipient;
    } cases[] = {
        {"Reporting-MTA: dns; a\n\nFinal-Recipient: rfc822; x@a.example\nAction: delivered\n"
         "Status: 2.0.0\n",
         false, REPORT_OTHER, NULL},
        {"Reporting-MTA: dns; a\n\nFinal-Recipient: rfc822; x@a.example\nAction: delayed\n"
         "Status: 4.4.7\n\nFinal-Recipient: rfc822; y@a.example\nAction: failed\n"
         "Status: 5.2.1\n",
         false, REPORT_BOUNCE, "y@a.example"},
        {"Final-Recipient: rfc822; x@a.example\r\nAction: failed\r\nStatus: 4.2.2\r\n", false,
         REPORT_DEFERRED, "x@a.example"},
        {"Final-Recipient: rfc822; not an address\nAction: failed\nStatus: 5.1.1\n", false,
         REPORT_BOUNCE, NULL},
        {"Feedback-Type: fraud\nOriginal-Rcpt-To: u@b.example\n", true, REPORT_OTHER,
         "u@b.example"},
        {"feedback-type: ABUSE\nVersion: 1\n", true, REPORT_COMPLAINT, NULL},
        {"Final-Recipient: rfc822; z@a.example\nAction: delayed\n", false, REPORT_DEFERRED,
         "z@a.example"}, /* no Status at all */
        {"", false, REPORT_OTHER, NULL},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        mime_report_fields(cases[i].text, strlen(cases[i].text), cases[i].feedback, &f->a, &r);
        assert_int_equal(r.kind, cases[i].kind);
        if (cases[i].recipient)
            assert_string_equal(r.recipient, cases[i].recipient);
        else
            assert_null(r.recipient);
    }
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test_setup_teardown(test_reports, setup, teardown),
    cmocka_unit_test_setup_teardown(test_plain_mail_is_no_report, setup, teardown),
    cmocka_unit_test_setup_teardown(test_report_fields, setup, teardown),
    cmocka_unit_test_setup_teardown(test_plain, setup, teardown),
    cmocka_unit_test_setup_teardown(test_automated_mail, setup, teardown),
    cmocka_unit_test_setup_teardown(test_signoff_block_before_a_disclaimer, setup, teardown),
    cmocka_unit_test_setup_teardown(test_alternative_prefers_plain, setup, teardown),
    cmocka_unit_test_setup_teardown(test_html_only, setup, teardown),
    cmocka_unit_test_setup_teardown(test_quoted_printable, setup, teardown),
    cmocka_unit_test_setup_teardown(test_base64, setup, teardown),
    cmocka_unit_test_setup_teardown(test_latin1_body_and_subject, setup, teardown),
    cmocka_unit_test_setup_teardown(test_windows1252_body, setup, teardown),
    cmocka_unit_test_setup_teardown(test_rfc2047_words, setup, teardown),
    cmocka_unit_test_setup_teardown(test_rfc2047_adjacent_words, setup, teardown),
    cmocka_unit_test_setup_teardown(test_rfc2047_split_character, setup, teardown),
    cmocka_unit_test_setup_teardown(test_rfc2047_subject_table, setup, teardown),
    cmocka_unit_test_setup_teardown(test_folded_headers, setup, teardown),
    cmocka_unit_test_setup_teardown(test_reply_with_quotes, setup, teardown),
    cmocka_unit_test_setup_teardown(test_reply_outlook, setup, teardown),
    cmocka_unit_test_setup_teardown(test_signature_dashes, setup, teardown),
    cmocka_unit_test_setup_teardown(test_signature_signoff, setup, teardown),
    cmocka_unit_test_setup_teardown(test_signoff_needs_short_lines, setup, teardown),
    cmocka_unit_test_setup_teardown(test_attachments_counted, setup, teardown),
    cmocka_unit_test_setup_teardown(test_truncated_mime, setup, teardown),
    cmocka_unit_test_setup_teardown(test_missing_charset, setup, teardown),
    cmocka_unit_test_setup_teardown(test_wrong_charset, setup, teardown),
    cmocka_unit_test_setup_teardown(test_raw_8bit_headers, setup, teardown),
    cmocka_unit_test_setup_teardown(test_bad_date_is_zero, setup, teardown),
    cmocka_unit_test_setup_teardown(test_no_from_rejected, setup, teardown),
    cmocka_unit_test_setup_teardown(test_binary_rejected, setup, teardown),
    cmocka_unit_test_setup_teardown(test_nested_100_deep, setup, teardown),
    cmocka_unit_test_setup_teardown(test_nested_10000_deep, setup, teardown),
    cmocka_unit_test_setup_teardown(test_nested_within_limit, setup, teardown),
    cmocka_unit_test_setup_teardown(test_50mb_message_truncated, setup, teardown),
    cmocka_unit_test_setup_teardown(test_html_blockquote_is_quoted, setup, teardown),
    cmocka_unit_test_setup_teardown(test_mbox_envelope_skipped, setup, teardown),
};

UNIT_GROUP(unit_mail_mime, "mail/mime", tests);
