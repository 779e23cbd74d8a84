/*
 * leadflow eval: measures the configured analyzer on a labelled set and
 * prints per-label precision and recall, the intent confusion, sentiment
 * and urgency accuracy (with their confusions) and the exact intent-set
 * accuracy. The set is a JSONL file (one email a line: subject, body,
 * intents, sentiment, urgency, as tests/data/eval/emails.jsonl) or a folder
 * of .eml files with a labels file (JSONL: file, intents, sentiment,
 * urgency). Each email is read as the pipeline reads it: the new text of
 * the body (mail/reply_text.h), the subject unless it is a reply's, and an
 * automatic reply as general without analysis.
 */
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "ai/ai.h"
#include "base/arena.h"
#include "base/buf.h"
#include "cmd/cmd.h"
#include "mail/mime.h"
#include "mail/reply_text.h"

enum {
    EVAL_MAX_LINE = 4 * 1024 * 1024,  /* bytes of one JSONL line */
    EVAL_MAX_FILE = 32 * 1024 * 1024, /* bytes of one .eml file */
    EVAL_ERRORS_SHOWN = 20,           /* bad lines reported before giving up */
    SENTIMENTS = 3,
    URGENCIES = 3,
};

static const char usage[] =
    "usage: leadflow eval [--config FILE] [--labels FILE] SET\n"
    "\n"
    "Measures the configured AI provider on a labelled set of emails and prints\n"
    "the exact intent-set accuracy, sentiment and urgency accuracy, precision and\n"
    "recall per intent, and the confusions. SET is either\n"
    "  a JSONL file, one email per line:\n"
    "    {\"subject\": \"...\", \"body\": \"...\", \"intents\": [\"pricing_inquiry\"],\n"
    "     \"sentiment\": \"neutral\", \"urgency\": \"low\"}\n"
    "  or a folder of .eml files with a labels file (--labels, default SET/labels.jsonl),\n"
    "  one line per file: {\"file\": \"a.eml\", \"intents\": [...], \"sentiment\": ...,\n"
    "  \"urgency\": ...}.\n"
    "Intents: meeting_request, question, complaint, feature_request, pricing_inquiry,\n"
    "general, follow_up. Sentiment: positive, neutral, negative. Urgency: low, medium,\n"
    "high. Emails are read as the pipeline reads them: the new text of the body\n"
    "(without quoted history and signature), the subject unless it is a reply's, an\n"
    "automatic reply as general. A bad line is reported with its line number and\n"
    "makes the exit status 1, with no figures.\n";

struct label {
    unsigned intents;
    int sentiment; /* enum sentiment */
    int urgency;   /* enum urgency */
};

struct tally {
    int n, exact, sent_ok, urg_ok;
    int support[INTENT_COUNT], found[INTENT_COUNT], tp[INTENT_COUNT];
    int confusion[INTENT_COUNT][INTENT_COUNT + 1]; /* last column: nothing else found */
    int sent[SENTIMENTS][SENTIMENTS], urg[URGENCIES][URGENCIES];
    int providers_offline, providers_other;
    const char *other; /* the other provider's name */
};

static void count(struct tally *t, const struct label *want, const struct analysis *got)
{
    t->n++;
    t->exact += want->intents == got->intents;
    t->sent_ok += want->sentiment == got->sentiment;
    t->urg_ok += want->urgency == got->urgency;
    for (int i = 0; i < INTENT_COUNT; i++) {
        unsigned b = 1u << i;
        t->support[i] += (want->intents & b) != 0;
        t->found[i] += (got->intents & b) != 0;
        t->tp[i] += (want->intents & got->intents & b) != 0;
    }
    /* A label found counts on the diagonal; a label missed counts against
     * each label found that was not asked for (or "none"). */
    unsigned extra = got->intents & ~want->intents;
    for (int i = 0; i < INTENT_COUNT; i++) {
        unsigned b = 1u << i;
        if (!(want->intents & b))
            continue;
        if (got->intents & b) {
            t->confusion[i][i]++;
        } else if (!extra) {
            t->confusion[i][INTENT_COUNT]++;
        } else {
            for (int j = 0; j < INTENT_COUNT; j++)
                if (extra & (1u << j))
                    t->confusion[i][j]++;
        }
    }
    t->sent[want->sentiment + 1][got->sentiment + 1]++;
    t->urg[want->urgency][got->urgency]++;
    if (got->provider && strcmp(got->provider, "offline") == 0) {
        t->providers_offline++;
    } else {
        t->providers_other++;
        t->other = got->provider;
    }
}

static double ratio(int a, int b)
{
    return b ? (double)a / b : 0;
}

/* Short column heads for the intents, in the order of the bits. */
static const char *const heads[INTENT_COUNT + 1] = {"meet",  "quest", "compl",  "feat",
                                                    "price", "gen",   "follow", "none"};

static void report(const char *set, const struct tally *t)
{
    printf("set: %s\nemails: %d (analyzer: ", set, t->n);
    if (t->providers_offline)
        printf("offline %d%s", t->providers_offline, t->providers_other ? ", " : "");
    if (t->providers_other)
        printf("%s %d", t->other ? t->other : "other", t->providers_other);
    printf(")\n\n");
    printf("exact intent set  %.3f  (%d/%d)\n", ratio(t->exact, t->n), t->exact, t->n);
    printf("sentiment         %.3f  (%d/%d)\n", ratio(t->sent_ok, t->n), t->sent_ok, t->n);
    printf("urgency           %.3f  (%d/%d)\n\n", ratio(t->urg_ok, t->n), t->urg_ok, t->n);

    printf("%-16s %8s %8s %8s %9s %7s\n", "intent", "labelled", "found", "correct", "precision",
           "recall");
    for (int i = 0; i < INTENT_COUNT; i++) {
        char p[16] = "-", r[16] = "-";
        if (t->found[i])
            snprintf(p, sizeof(p), "%.3f", ratio(t->tp[i], t->found[i]));
        if (t->support[i])
            snprintf(r, sizeof(r), "%.3f", ratio(t->tp[i], t->support[i]));
        printf("%-16s %8d %8d %8d %9s %7s\n", intent_name(1u << i), t->support[i], t->found[i],
               t->tp[i], p, r);
    }

    printf("\nintent confusion (rows: labelled; columns: found; a missed label counts\n"
           "against each label found instead, or none)\n%-16s",
           "");
    for (int j = 0; j <= INTENT_COUNT; j++)
        printf(" %6s", heads[j]);
    printf("\n");
    for (int i = 0; i < INTENT_COUNT; i++) {
        printf("%-16s", intent_name(1u << i));
        for (int j = 0; j <= INTENT_COUNT; j++)
            printf(" %6d", t->confusion[i][j]);
        printf("\n");
    }

    printf("\nsentiment (rows: labelled; columns: found)\n%-16s", "");
    for (int j = 0; j < SENTIMENTS; j++)
        printf(" %8s", sentiment_name(j - 1));
    printf("\n");
    for (int i = 0; i < SENTIMENTS; i++) {
        printf("%-16s", sentiment_name(i - 1));
        for (int j = 0; j < SENTIMENTS; j++)
            printf(" %8d", t->sent[i][j]);
        printf("\n");
    }
    printf("\nurgency (rows: labelled; columns: found)\n%-16s", "");
    for (int j = 0; j < URGENCIES; j++)
        printf(" %8s", urgency_name(j));
    printf("\n");
    for (int i = 0; i < URGENCIES; i++) {
        printf("%-16s", urgency_name(i));
        for (int j = 0; j < URGENCIES; j++)
            printf(" %8d", t->urg[i][j]);
        printf("\n");
    }
}

/* The labels of one JSON object; 0, or -1 with msg. */
static int parse_label(json_t *o, struct label *l, char *msg, size_t n)
{
    json_t *in = json_object_get(o, "intents");
    if (!json_is_array(in) || json_array_size(in) == 0) {
        snprintf(msg, n, "intents must be a non-empty array of intent names");
        return -1;
    }
    l->intents = 0;
    size_t i;
    json_t *v;
    json_array_foreach(in, i, v)
    {
        unsigned b = json_is_string(v) ? intent_parse(json_string_value(v)) : 0;
        if (!b) {
            snprintf(msg, n,
                     "intents[%zu] must be one of meeting_request, question, complaint, "
                     "feature_request, pricing_inquiry, general, follow_up",
                     i);
            return -1;
        }
        l->intents |= b;
    }
    const char *s = json_string_value(json_object_get(o, "sentiment"));
    l->sentiment = s ? sentiment_parse(s) : -2;
    if (l->sentiment < -1) {
        snprintf(msg, n, "sentiment must be one of positive, neutral, negative");
        return -1;
    }
    const char *u = json_string_value(json_object_get(o, "urgency"));
    l->urgency = u ? urgency_parse(u) : -1;
    if (l->urgency < 0) {
        snprintf(msg, n, "urgency must be one of low, medium, high");
        return -1;
    }
    return 0;
}

/* One line of a JSONL file, without its line end, into b; 0 at the end of
 * the file, 1 with a line, -1 when it is too long. */
static int read_line(FILE *f, struct buf *b)
{
    b->len = 0;
    int c, got = 0;
    while ((c = getc(f)) != EOF) {
        got = 1;
        if (c == '\n')
            break;
        if (buf_putc(b, (char)c) != 0) {
            while ((c = getc(f)) != EOF && c != '\n')
                ;
            return -1;
        }
    }
    if (b->len && b->data[b->len - 1] == '\r')
        b->len--;
    if (buf_putc(b, '\0') != 0)
        return -1;
    b->len--;
    return got;
}

static void analyze_text(struct ai *ai, const char *subject, const char *body, struct analysis *an)
{
    struct arena a;
    arena_init(&a, NULL, 0);
    struct reply r;
    reply_split(&a, body, &r);
    struct errinfo e = {0};
    ai_analyze(ai, subject, r.text, an, &e);
    arena_release(&a);
}

static void analyze_eml(struct ai *ai, const char *name, const char *raw, size_t len,
                        struct analysis *an, char *msg, size_t n, int *rc)
{
    struct arena a;
    arena_init(&a, NULL, 0);
    struct mail_msg m;
    struct errinfo e = {0};
    if (mime_parse(raw, len, &a, &m, &e) != 0) {
        snprintf(msg, n, "%.200s: %s", name, e.msg);
        *rc = -1;
    } else if (m.automated) {
        *an = (struct analysis){.intents = INTENT_GENERAL, .provider = "offline"};
    } else {
        ai_analyze(ai, m.subject, m.new_text, an, &e);
    }
    arena_release(&a);
}

/* Evaluates a JSONL set (folder NULL) or the .eml files of folder listed in
 * the labels file path. Returns the number of bad lines. */
static int run(struct ai *ai, const char *path, const char *folder, struct tally *t)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "leadflow eval: cannot open %s: %s\n", path, strerror(errno));
        return 1;
    }
    struct buf line, raw;
    buf_init(&line, EVAL_MAX_LINE);
    buf_init(&raw, EVAL_MAX_FILE);
    int bad = 0, rl;
    long lineno = 0;
    while (bad < EVAL_ERRORS_SHOWN && (rl = read_line(f, &line)) != 0) {
        lineno++;
        char msg[512] = "";
        struct label want = {0};
        struct analysis got = {0};
        json_t *o = NULL;
        json_error_t je;
        const char *p = line.data ? line.data : "";
        while (*p == ' ' || *p == '\t')
            p++;
        if (rl < 0) {
            snprintf(msg, sizeof(msg), "line longer than %d bytes", EVAL_MAX_LINE);
        } else if (*p == '\0') {
            continue; /* a blank line */
        } else if (!(o = json_loads(p, JSON_REJECT_DUPLICATES, &je))) {
            snprintf(msg, sizeof(msg), "not JSON: %s", je.text);
        } else if (!json_is_object(o)) {
            snprintf(msg, sizeof(msg), "not a JSON object");
        } else if (parse_label(o, &want, msg, sizeof(msg)) == 0) {
            const char *subject = json_string_value(json_object_get(o, "subject"));
            json_t *jbody = json_object_get(o, "body");
            const char *file = json_string_value(json_object_get(o, "file"));
            json_t *jsub = json_object_get(o, "subject");
            if (jsub && !subject && !json_is_null(jsub)) {
                snprintf(msg, sizeof(msg), "subject must be a string");
            } else if (!folder) {
                if (!json_is_string(jbody))
                    snprintf(msg, sizeof(msg), "body must be a string");
                else
                    analyze_text(ai, subject, json_string_value(jbody), &got);
            } else if (!file || !*file || strchr(file, '/')) {
                snprintf(msg, sizeof(msg), "file must be the name of an .eml file in the folder");
            } else {
                char fp[4096];
                snprintf(fp, sizeof(fp), "%s/%s", folder, file);
                raw.len = 0;
                struct errinfo fe = {0};
                int rc = cmd_read_file(fp, &raw, &fe);
                if (rc)
                    snprintf(msg, sizeof(msg), "%.200s: %s", file, fe.msg);
                else
                    analyze_eml(ai, file, raw.data ? raw.data : "", raw.len, &got, msg, sizeof(msg),
                                &rc);
            }
        }
        if (o)
            json_decref(o);
        if (*msg) {
            fprintf(stderr, "leadflow eval: %s:%ld: %s\n", path, lineno, msg);
            bad++;
            continue;
        }
        count(t, &want, &got);
    }
    if (ferror(f)) {
        fprintf(stderr, "leadflow eval: cannot read %s: %s\n", path, strerror(errno));
        bad++;
    }
    fclose(f);
    buf_release(&line);
    buf_release(&raw);
    return bad;
}

int cmd_eval(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"config", required_argument, NULL, 'c'},
        {"labels", required_argument, NULL, 'l'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    struct cmd_opts o;
    memset(&o, 0, sizeof(o));
    const char *labels = NULL;
    opterr = 0;
    optind = 1;
    int ch;
    while ((ch = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
        if (ch == 'h') {
            fputs(usage, stdout);
            return 0;
        }
        if (ch == 'c' || ch == 'l') {
            *(ch == 'c' ? &o.config_file : &labels) = optarg;
            continue;
        }
        fprintf(stderr, "leadflow eval: %s %s (see leadflow eval --help)\n",
                ch == ':' ? "option needs a value:" : "unknown option", argv[optind - 1]);
        return EXIT_USAGE;
    }
    if (argc - optind != 1) {
        fprintf(stderr, "leadflow eval: expected one labelled set, a JSONL file or a folder of "
                        ".eml files (see leadflow eval --help)\n");
        return EXIT_USAGE;
    }
    const char *set = argv[optind];
    struct stat sb;
    if (stat(set, &sb) != 0) {
        fprintf(stderr, "leadflow eval: cannot open %s: %s\n", set, strerror(errno));
        return 1;
    }
    bool folder = S_ISDIR(sb.st_mode);
    char lpath[4096];
    if (folder && !labels) {
        snprintf(lpath, sizeof(lpath), "%s/labels.jsonl", set);
        labels = lpath;
    } else if (!folder && labels) {
        fprintf(stderr, "leadflow eval: --labels goes with a folder of .eml files, not with a "
                        "JSONL file\n");
        return EXIT_USAGE;
    }
    struct config cfg;
    int status;
    struct ai *ai = cmd_open_ai("eval", &o, &cfg, &status);
    if (!ai)
        return status;
    static struct tally t;
    memset(&t, 0, sizeof(t));
    int bad = run(ai, folder ? labels : set, folder ? set : NULL, &t);
    ai_free(ai);
    config_release(&cfg);
    if (bad)
        return 1;
    if (t.n == 0) {
        fprintf(stderr, "leadflow eval: %s holds no labelled email\n", folder ? labels : set);
        return 1;
    }
    report(set, &t);
    return 0;
}
