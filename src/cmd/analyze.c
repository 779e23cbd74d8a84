/*
 * leadflow analyze: reads RFC 5322 message files and prints, one JSON object
 * per line, what the configured AI provider finds in each: intents,
 * sentiment, urgency and which provider answered. No database is needed.
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "ai/ai.h"
#include "base/arena.h"
#include "base/buf.h"
#include "base/json.h"
#include "cmd/cmd.h"
#include "mail/mime.h"

enum {
    ANALYZE_MAX_FILE = 32 * 1024 * 1024, /* bytes of one message file */
    ANALYZE_MAX_LINE = 1024 * 1024,      /* bytes of one output line */
};

static const char usage[] =
    "usage: leadflow analyze [--config FILE] FILE...\n"
    "\n"
    "Analyzes each email file (RFC 5322, .eml) with the configured AI provider and\n"
    "prints one JSON object per line: file, message_id, from, subject, intents,\n"
    "sentiment, sentiment_score, urgency, provider, automated and reply_text. The\n"
    "analyzer reads reply_text, the new text of the message (without quoted history,\n"
    "forwarded messages and the signature), and the subject unless it is a reply's or\n"
    "a forward's (\"Re:\", \"AW:\", \"Fwd:\"...). An automatic reply (out of office, a\n"
    "list or bulk mail: automated true) is not analyzed: general, neutral, low, as the\n"
    "pipeline stores it unscored. LEADFLOW_AI_PROVIDER picks the\n"
    "provider: offline, anthropic (the Anthropic API; the default when\n"
    "LEADFLOW_ANTHROPIC_API_KEY is set) or openai (an OpenAI-compatible server at\n"
    "LEADFLOW_OPENAI_BASE_URL serving LEADFLOW_OPENAI_MODEL). A failed API call falls\n"
    "back to the offline analyzer (provider \"offline\"). A file that is not an\n"
    "email message is reported on stderr and makes the exit status 1.\n";

static void kstr_or_null(struct jw *w, const char *key, const char *s)
{
    jw_key(w, key);
    if (s)
        jw_str(w, s);
    else
        jw_null(w);
}

static void print_result(const char *path, const struct mail_msg *m, const struct analysis *an)
{
    struct buf out;
    buf_init(&out, ANALYZE_MAX_LINE);
    struct jw w;
    jw_init(&w, &out);
    jw_obj_begin(&w);
    jw_kstr(&w, "file", path);
    kstr_or_null(&w, "message_id", m->message_id);
    kstr_or_null(&w, "from", m->from.email);
    kstr_or_null(&w, "subject", m->subject);
    jw_key(&w, "intents");
    jw_arr_begin(&w);
    for (int i = 0; i < INTENT_COUNT; i++)
        if (an->intents & (1u << i))
            jw_str(&w, intent_name(1u << i));
    jw_arr_end(&w);
    jw_kstr(&w, "sentiment", sentiment_name(an->sentiment));
    jw_key(&w, "sentiment_score");
    jw_double(&w, an->sentiment_score);
    jw_kstr(&w, "urgency", urgency_name(an->urgency));
    jw_kstr(&w, "provider", an->provider);
    jw_key(&w, "automated");
    jw_bool(&w, m->automated);
    jw_kstr(&w, "reply_text", m->new_text ? m->new_text : "");
    jw_obj_end(&w);
    if (jw_finish(&w) == 0 && buf_putc(&out, '\n') == 0) {
        fwrite(out.data, 1, out.len, stdout);
        fflush(stdout); /* a line per file as soon as it is ready */
    }
    buf_release(&out);
}

/* Analyzes one file; 0, or 1 after a line on stderr. */
static int analyze_one(struct ai *ai, const char *path)
{
    struct errinfo e;
    errinfo_clear(&e);
    struct buf raw;
    buf_init(&raw, ANALYZE_MAX_FILE);
    struct arena a;
    arena_init(&a, NULL, 0);
    struct mail_msg m;
    struct analysis an;
    int rc = cmd_read_file(path, &raw, &e);
    if (!rc)
        rc = mime_parse(buf_str(&raw), raw.len, &a, &m, &e);
    if (!rc && m.automated)
        an = (struct analysis){.intents = INTENT_GENERAL, .provider = "offline"};
    else if (!rc)
        rc = ai_analyze(ai, m.subject, m.new_text ? m.new_text : "", &an, &e);
    if (rc)
        fprintf(stderr, "leadflow analyze: %s: %s\n", path, e.msg);
    else
        print_result(path, &m, &an);
    arena_release(&a);
    buf_release(&raw);
    return rc ? 1 : 0;
}

int cmd_analyze(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"config", required_argument, NULL, 'c'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    struct cmd_opts o;
    memset(&o, 0, sizeof(o));
    opterr = 0;
    optind = 1;
    int ch;
    while ((ch = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
        if (ch == 'h') {
            fputs(usage, stdout);
            return 0;
        }
        if (ch == 'c') {
            o.config_file = optarg;
            continue;
        }
        fprintf(stderr, "leadflow analyze: %s %s (see leadflow analyze --help)\n",
                ch == ':' ? "option needs a value:" : "unknown option", argv[optind - 1]);
        return EXIT_USAGE;
    }
    if (optind >= argc) {
        fprintf(stderr, "leadflow analyze: expected one or more email files (see leadflow "
                        "analyze --help)\n");
        return EXIT_USAGE;
    }
    struct config cfg;
    int status;
    struct ai *ai = cmd_open_ai("analyze", &o, &cfg, &status);
    if (!ai)
        return status;
    for (int i = optind; i < argc; i++)
        if (analyze_one(ai, argv[i]) != 0)
            status = 1;
    ai_free(ai);
    config_release(&cfg);
    return status;
}
