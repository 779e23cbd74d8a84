/*
 * The analyzer model's training and measuring tool (scripts/train-model.sh,
 * `make model`). It uses the library's own feature extractor (ai/model.h), so
 * training sees exactly the features the server computes.
 *
 *   model-tool features [--no-rules] [--folds N --fold K] PREFIX FILE...
 *       writes PREFIX.<head>.svm in liblinear's sparse format, one file per
 *       head (the seven intents one-vs-rest, sentiment, urgency); with
 *       --folds, only the emails outside fold K (K-fold cross-validation).
 *   model-tool pack [--no-rules] [--threshold T] [--fallback 0|1]
 *                   [--sentiment ALPHA CUT] OUT MODEL...
 *       packs the nine liblinear models (in the order of the .svm files)
 *       into one analyzer.model.
 *   model-tool eval [--folds N --models DIR-PREFIX] [--threshold T]
 *                   [--fallback 0|1] [--sentiment ALPHA CUT] [--misses] [--tune] FILE...
 *       the exact intent set, per-intent precision and recall, sentiment
 *       and urgency of the word lists alone and of the combined analyzer
 *       (LEADFLOW_MODEL_DIR's model or the embedded one; with --folds, the
 *       model of each email's fold, DIR-PREFIX followed by the fold number);
 *       --misses lists the emails whose intent set was missed; --tune
 *       chooses each intent's threshold (coordinate ascent on the exact
 *       intent set) and prints them (pack --threshold T1,...,T7).
 *   model-tool predict SUBJECT TEXT
 *       the word lists' and the combined analyzer's answer, and each head's
 *       probability.
 *   model-tool bench [--body] FILE...
 *       the analyzer's cost per email (word lists, features, model), on the
 *       new text of each email (--body: the whole body, quotes included).
 *
 * FILE is a JSONL of labelled emails (tests/data/train, tests/data/eval);
 * FILE:tune and FILE:held select the part of tests/data/eval whose ids do
 * not / do end in 0 or 5. The text read is reply_text when present, else
 * body. Automatic replies (auto: true) are general, neutral and low by rule.
 */
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ai/ai.h"
#include "ai/model.h"
#include "base/mem.h"

static const char *const head_names[] = {
    "meeting_request", "question",  "complaint", "feature_request", "pricing_inquiry",
    "general",         "follow_up", "sentiment", "urgency",
};
enum { FILE_HEADS = INTENT_COUNT + 2 };

struct email {
    char *id, *subject, *text;
    bool automatic;
    unsigned intents;
    int sentiment, urgency;
};

static struct email *emails;
static size_t nemails, cap;
static bool whole_body; /* read body even when reply_text is there (bench --body) */

static char *dup_or_empty(json_t *v)
{
    const char *s = json_string_value(v);
    return xstrdup(s ? s : "");
}

/* A number argument; exits on anything else. */
static double num(const char *s)
{
    char *end;
    double v = strtod(s, &end);
    if (end == s || *end) {
        fprintf(stderr, "model-tool: %s is not a number\n", s);
        exit(2);
    }
    return v;
}

static bool held_out(const char *id)
{
    size_t n = strlen(id);
    return n && (id[n - 1] == '0' || id[n - 1] == '5');
}

static void load(const char *arg)
{
    char path[4096];
    snprintf(path, sizeof(path), "%s", arg);
    int part = 0; /* 1: tune, 2: held */
    char *colon = strrchr(path, ':');
    if (colon && (!strcmp(colon, ":tune") || !strcmp(colon, ":held"))) {
        part = !strcmp(colon, ":tune") ? 1 : 2;
        *colon = '\0';
    }
    FILE *f = fopen(path, "r");
    if (!f) {
        fprintf(stderr, "model-tool: cannot open %s\n", path);
        exit(2);
    }
    static char line[1 << 20];
    int lineno = 0;
    while (fgets(line, sizeof(line), f)) {
        lineno++;
        if (line[0] == '\n' || line[0] == '\0')
            continue;
        json_error_t err;
        json_t *v = json_loads(line, 0, &err);
        if (!v) {
            fprintf(stderr, "model-tool: %s:%d: %s\n", path, lineno, err.text);
            exit(2);
        }
        struct email m = {0};
        m.id = dup_or_empty(json_object_get(v, "id"));
        if ((part == 1 && held_out(m.id)) || (part == 2 && !held_out(m.id))) {
            free(m.id);
            json_decref(v);
            continue;
        }
        m.subject = dup_or_empty(json_object_get(v, "subject"));
        json_t *rt = json_object_get(v, "reply_text");
        m.text = dup_or_empty(json_is_string(rt) && !whole_body ? rt : json_object_get(v, "body"));
        m.automatic = json_is_true(json_object_get(v, "auto"));
        size_t i;
        json_t *it;
        json_array_foreach(json_object_get(v, "intents"), i, it) m.intents |=
            intent_parse(json_string_value(it));
        m.sentiment = sentiment_parse(json_string_value(json_object_get(v, "sentiment")));
        m.urgency = urgency_parse(json_string_value(json_object_get(v, "urgency")));
        if (!m.intents || m.sentiment == -2 || m.urgency == -1) {
            fprintf(stderr, "model-tool: %s:%d: bad labels\n", path, lineno);
            exit(2);
        }
        json_decref(v);
        if (nemails == cap) {
            cap = cap ? cap * 2 : 1024;
            emails = xrealloc(emails, cap * sizeof(*emails));
        }
        emails[nemails++] = m;
    }
    fclose(f);
}

static int fold_of(const struct email *m, int folds)
{
    return (int)(model_hash(m->id, strlen(m->id), 7) % (uint32_t)folds);
}

/* "T" or "T1,T2,...,T7" (one per intent, in the order of the intent bits) into t. */
static void thresholds_arg(const char *arg, double t[INTENT_COUNT])
{
    char buf[256];
    snprintf(buf, sizeof(buf), "%s", arg);
    int n = 0;
    for (char *p = buf, *comma; p; p = comma ? comma + 1 : NULL) {
        comma = strchr(p, ',');
        if (comma)
            *comma = '\0';
        if (n == INTENT_COUNT)
            n++;
        else
            t[n++] = num(p);
    }
    if (n == 1)
        for (int i = 1; i < INTENT_COUNT; i++)
            t[i] = t[0];
    else if (n != INTENT_COUNT) {
        fprintf(stderr, "model-tool: %s: one threshold or %d\n", arg, INTENT_COUNT);
        exit(2);
    }
}

/* ---- features ---- */

struct feat {
    uint32_t index;
    int group;
    float value;
};

struct sink {
    struct feat f[1 << 16];
    size_t n;
};

static void sink_emit(void *ctx, int group, uint32_t index, float value)
{
    struct sink *s = ctx;
    if (s->n < sizeof(s->f) / sizeof(s->f[0]))
        s->f[s->n++] = (struct feat){index, group, value};
}

static int feat_cmp(const void *a, const void *b)
{
    const struct feat *x = a, *y = b;
    return x->index < y->index ? -1 : x->index > y->index;
}

/*
 * Emails a hashed feature must occur in to be trained on: rarer ones are
 * mostly names and numbers, and would only make the model file bigger.
 */
enum { MIN_DF = 2 };
static unsigned short df[MODEL_DIM];

/*
 * One email's features as liblinear's "index:value ..." (sorted, merged),
 * or, with count, only counted into df.
 */
static void features_line(const struct email *m, bool rules, bool count, char *out, size_t size)
{
    static struct sink s;
    s.n = 0;
    struct analysis r;
    ai_rules_analyze(m->subject, m->text, &r);
    struct model_input in = {m->subject, m->text, m->automatic, rules ? &r : NULL};
    unsigned counts[MODEL_GROUPS];
    model_features(&in, sink_emit, &s, counts);
    for (size_t i = 0; i < s.n; i++)
        if (s.f[i].group != MODEL_G_DENSE)
            s.f[i].value /= sqrtf((float)counts[s.f[i].group]);
    qsort(s.f, s.n, sizeof(s.f[0]), feat_cmp);
    size_t len = 0;
    out[0] = '\0';
    for (size_t i = 0; i < s.n;) {
        size_t j = i;
        double v = 0;
        while (j < s.n && s.f[j].index == s.f[i].index)
            v += s.f[j++].value;
        if (count) {
            if (df[s.f[i].index] < 65535)
                df[s.f[i].index]++;
        } else if (v != 0 && len + 32 < size &&
                   (s.f[i].index < MODEL_DENSE || df[s.f[i].index] >= MIN_DF))
            len += (size_t)snprintf(out + len, size - len, " %u:%.6g", s.f[i].index, v);
        i = j;
    }
}

static int cmd_features(int argc, char **argv)
{
    bool rules = true;
    int folds = 0, fold = -1, a = 0;
    for (; a < argc && argv[a][0] == '-'; a++) {
        if (!strcmp(argv[a], "--no-rules"))
            rules = false;
        else if (!strcmp(argv[a], "--folds") && a + 1 < argc)
            folds = (int)num(argv[++a]);
        else if (!strcmp(argv[a], "--fold") && a + 1 < argc)
            fold = (int)num(argv[++a]);
        else
            return 2;
    }
    if (argc - a < 2)
        return 2;
    const char *prefix = argv[a++];
    for (; a < argc; a++)
        load(argv[a]);
    FILE *out[FILE_HEADS];
    for (int h = 0; h < FILE_HEADS; h++) {
        char path[4096];
        snprintf(path, sizeof(path), "%s.%d-%s.svm", prefix, h, head_names[h]);
        if (!(out[h] = fopen(path, "w"))) {
            fprintf(stderr, "model-tool: cannot write %s\n", path);
            return 1;
        }
    }
    static char line[1 << 21];
    size_t written = 0;
    for (size_t i = 0; i < nemails; i++)
        if (!(folds > 0 && fold_of(&emails[i], folds) == fold))
            features_line(&emails[i], rules, true, line, sizeof(line));
    for (size_t i = 0; i < nemails; i++) {
        const struct email *m = &emails[i];
        if (folds > 0 && fold_of(m, folds) == fold)
            continue;
        features_line(m, rules, false, line, sizeof(line));
        for (int h = 0; h < INTENT_COUNT; h++)
            fprintf(out[h], "%d%s\n", (m->intents >> h) & 1 ? 1 : -1, line);
        fprintf(out[INTENT_COUNT], "%d%s\n", m->sentiment, line);
        fprintf(out[INTENT_COUNT + 1], "%d%s\n", m->urgency, line);
        written++;
    }
    for (int h = 0; h < FILE_HEADS; h++)
        fclose(out[h]);
    fprintf(stderr, "model-tool: %zu emails\n", written);
    return 0;
}

/* ---- pack ---- */

/* A liblinear model file: its labels and weights (nr_feature rows + bias). */
struct ll {
    int nclass, labels[3], nw;
    long nfeat;
    double bias;
    double *w; /* (nfeat + 1) * nw */
};

static int ll_read(const char *path, struct ll *m)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        fprintf(stderr, "model-tool: cannot open %s\n", path);
        return -1;
    }
    char key[64];
    memset(m, 0, sizeof(*m));
    m->bias = -1;
    while (fscanf(f, "%63s", key) == 1) {
        if (!strcmp(key, "nr_class")) {
            if (fscanf(f, "%d", &m->nclass) != 1 || m->nclass < 2 || m->nclass > 3)
                goto bad;
        } else if (!strcmp(key, "label")) {
            for (int i = 0; i < m->nclass; i++)
                if (fscanf(f, "%d", &m->labels[i]) != 1)
                    goto bad;
        } else if (!strcmp(key, "nr_feature")) {
            if (fscanf(f, "%ld", &m->nfeat) != 1)
                goto bad;
        } else if (!strcmp(key, "bias")) {
            if (fscanf(f, "%lf", &m->bias) != 1)
                goto bad;
        } else if (!strcmp(key, "w")) {
            break;
        } else if (fscanf(f, "%*s") != 0) {
            goto bad;
        }
    }
    m->nw = m->nclass == 2 ? 1 : m->nclass;
    long rows = m->nfeat + (m->bias >= 0 ? 1 : 0);
    m->w = xcalloc((size_t)(rows + 1) * (size_t)m->nw, sizeof(double));
    for (long r = 0; r < rows; r++)
        for (int k = 0; k < m->nw; k++)
            if (fscanf(f, "%lf", &m->w[r * m->nw + k]) != 1)
                goto bad;
    fclose(f);
    return 0;
bad:
    fprintf(stderr, "model-tool: %s is not a liblinear model\n", path);
    fclose(f);
    return -1;
}

/* The weight of feature index (1-based; nfeat + 1 is the bias) for the column of label. */
static double ll_weight(const struct ll *m, long index, int label)
{
    long rows = m->nfeat + (m->bias >= 0 ? 1 : 0);
    if (index < 1 || index > rows)
        return 0;
    const double *w = m->w + (index - 1) * m->nw;
    if (m->nclass == 2) /* one column, for labels[0] */
        return m->labels[0] == label ? w[0] : -w[0];
    for (int k = 0; k < m->nclass; k++)
        if (m->labels[k] == label)
            return w[k];
    return 0;
}

static int cmd_pack(int argc, char **argv)
{
    bool rules = true;
    double threshold[INTENT_COUNT] = {0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5}, alpha = 1, cut = 0;
    int a = 0, best = 0;
    for (; a < argc && argv[a][0] == '-'; a++) {
        if (!strcmp(argv[a], "--no-rules"))
            rules = false;
        else if (!strcmp(argv[a], "--fallback") && a + 1 < argc)
            best = (int)num(argv[++a]);
        else if (!strcmp(argv[a], "--threshold") && a + 1 < argc)
            thresholds_arg(argv[++a], threshold);
        else if (!strcmp(argv[a], "--sentiment") && a + 2 < argc) {
            alpha = num(argv[++a]);
            cut = num(argv[++a]);
        } else
            return 2;
    }
    if (argc - a != 1 + FILE_HEADS)
        return 2;
    const char *outpath = argv[a++];
    struct ll ll[FILE_HEADS];
    for (int h = 0; h < FILE_HEADS; h++)
        if (ll_read(argv[a + h], &ll[h]) < 0)
            return 1;
    /* Head h of the packed model: liblinear file and label. */
    int file[MODEL_HEADS], label[MODEL_HEADS];
    for (int i = 0; i < INTENT_COUNT; i++)
        file[i] = i, label[i] = 1;
    for (int k = 0; k < 3; k++) {
        file[INTENT_COUNT + k] = INTENT_COUNT, label[INTENT_COUNT + k] = k - 1;
        file[INTENT_COUNT + 3 + k] = INTENT_COUNT + 1, label[INTENT_COUNT + 3 + k] = k;
    }
    FILE *out = fopen(outpath, "w");
    if (!out)
        return 1;
    fprintf(out, "leadflow-analyzer-model 1\nheads %d\nrules %d\nthreshold", MODEL_HEADS,
            rules ? 1 : 0);
    for (int i = 0; i < INTENT_COUNT; i++)
        fprintf(out, " %g", threshold[i]);
    fprintf(out, "\nfallback %d\nsentiment %g %g\nbias", best ? 1 : 0, alpha, cut);
    for (int h = 0; h < MODEL_HEADS; h++) {
        const struct ll *m = &ll[file[h]];
        fprintf(out, " %.6g", m->bias >= 0 ? m->bias * ll_weight(m, m->nfeat + 1, label[h]) : 0);
    }
    long rows = 0;
    for (long idx = 1; idx < MODEL_DIM; idx++) {
        for (int h = 0; h < MODEL_HEADS; h++) {
            const struct ll *m = &ll[file[h]];
            if (idx <= m->nfeat && fabs(ll_weight(m, idx, label[h])) >= 1e-5) {
                rows++;
                break;
            }
        }
    }
    if (rows >= 65535) {
        fprintf(stderr, "model-tool: %ld rows, more than a model holds (65534)\n", rows);
        fclose(out);
        return 1;
    }
    fprintf(out, "\nrows %ld\n", rows);
    for (long idx = 1; idx < MODEL_DIM; idx++) {
        double w[MODEL_HEADS];
        bool any = false;
        for (int h = 0; h < MODEL_HEADS; h++) {
            const struct ll *m = &ll[file[h]];
            w[h] = idx <= m->nfeat ? ll_weight(m, idx, label[h]) : 0;
            if (fabs(w[h]) < 1e-5)
                w[h] = 0;
            any = any || w[h] != 0;
        }
        if (!any)
            continue;
        fprintf(out, "%ld", idx);
        for (int h = 0; h < MODEL_HEADS; h++)
            fprintf(out, w[h] == 0 ? " 0" : " %.4g", w[h]);
        fprintf(out, "\n");
    }
    fclose(out);
    return 0;
}

/* ---- eval ---- */

struct tally {
    int n, exact, sent_ok, urg_ok;
    int tp[INTENT_COUNT], fp[INTENT_COUNT], fn[INTENT_COUNT];
    int sent[3][3], urg[3][3];
};

static void tally_add(struct tally *t, const struct email *m, const struct analysis *a)
{
    t->n++;
    t->exact += a->intents == m->intents;
    t->sent_ok += a->sentiment == m->sentiment;
    t->urg_ok += a->urgency == m->urgency;
    for (int i = 0; i < INTENT_COUNT; i++) {
        bool want = (m->intents >> i) & 1, got = (a->intents >> i) & 1;
        t->tp[i] += want && got;
        t->fp[i] += !want && got;
        t->fn[i] += want && !got;
    }
    t->sent[m->sentiment + 1][a->sentiment + 1]++;
    t->urg[m->urgency][a->urgency]++;
}

static double ratio(int a, int b)
{
    return b ? (double)a / b : 0;
}

static void tally_print(const char *name, const struct tally *t)
{
    printf("\n== %s: %d emails\n", name, t->n);
    printf("exact intent set %.3f   sentiment %.3f   urgency %.3f\n", ratio(t->exact, t->n),
           ratio(t->sent_ok, t->n), ratio(t->urg_ok, t->n));
    printf("%-16s %5s %5s %4s %4s %4s\n", "intent", "P", "R", "tp", "fp", "fn");
    for (int i = 0; i < INTENT_COUNT; i++)
        printf("%-16s %5.2f %5.2f %4d %4d %4d\n", intent_name(1u << i),
               ratio(t->tp[i], t->tp[i] + t->fp[i]), ratio(t->tp[i], t->tp[i] + t->fn[i]), t->tp[i],
               t->fp[i], t->fn[i]);
    printf("sentiment rows labelled, columns predicted (neg neu pos), recall\n");
    for (int l = 0; l < 3; l++)
        printf("  %-9s %4d %4d %4d  %.3f\n", sentiment_name(l - 1), t->sent[l][0], t->sent[l][1],
               t->sent[l][2], ratio(t->sent[l][l], t->sent[l][0] + t->sent[l][1] + t->sent[l][2]));
    printf("urgency rows labelled, columns predicted (low medium high), recall\n");
    for (int l = 0; l < 3; l++)
        printf("  %-9s %4d %4d %4d  %.3f\n", urgency_name(l), t->urg[l][0], t->urg[l][1],
               t->urg[l][2], ratio(t->urg[l][l], t->urg[l][0] + t->urg[l][1] + t->urg[l][2]));
}

static const struct analysis automatic_reply = {INTENT_GENERAL, SENTIMENT_NEUTRAL, 0, URGENCY_LOW,
                                                "offline"};

/* The intent set the thresholds t give for probabilities p (as model_predict, fallback on). */
static unsigned intent_set(const double *p, const double *t)
{
    unsigned set = 0;
    int best = 0;
    for (int i = 0; i < INTENT_COUNT; i++) {
        if ((1u << i) != INTENT_GENERAL && p[i] >= t[i])
            set |= 1u << i;
        if (p[i] > p[best])
            best = i;
    }
    return set ? set : 1u << best;
}

/*
 * Coordinate ascent over a grid of each intent's threshold for the exact
 * intent set of the emails outside fold skip (-1: all); returns the count.
 */
static int ascend(double (*p)[MODEL_HEADS], int skip, int folds, double t[INTENT_COUNT])
{
    for (int h = 0; h < INTENT_COUNT; h++)
        t[h] = 0.5;
    int best_n = -1;
    for (int pass = 0; pass < 3; pass++)
        for (int h = 0; h < INTENT_COUNT; h++) {
            if ((1u << h) == INTENT_GENERAL)
                continue;
            double best_t = t[h];
            for (int g = 20; g <= 80; g += 5) {
                t[h] = g / 100.0;
                int n = 0;
                for (size_t i = 0; i < nemails; i++)
                    n += (skip < 0 || fold_of(&emails[i], folds) != skip) && !emails[i].automatic &&
                         intent_set(p[i], t) == emails[i].intents;
                /* Ties keep the value nearest 0.5, so that noise does not move it. */
                if (n > best_n || (n == best_n && fabs(t[h] - 0.5) < fabs(best_t - 0.5))) {
                    best_n = n;
                    best_t = t[h];
                }
            }
            t[h] = best_t;
        }
    return best_n;
}

/*
 * Chooses each intent's threshold for the exact intent set on the
 * cross-validated probabilities and prints them, with a nested estimate.
 */
static void tune_thresholds(struct model **models, int folds)
{
    double(*p)[MODEL_HEADS] = xcalloc(nemails, sizeof(*p));
    for (size_t i = 0; i < nemails; i++) {
        const struct email *m = &emails[i];
        struct analysis r;
        ai_rules_analyze(m->subject, m->text, &r);
        struct model_input in = {m->subject, m->text, false, &r};
        model_probabilities(models[folds > 0 ? fold_of(m, folds) : 0], &in, p[i]);
    }
    double t[INTENT_COUNT];
    int best_n = ascend(p, -1, folds, t);
    /* An honest figure for the tuning itself: tuned without each fold, measured on it. */
    int nested = 0;
    for (int k = 0; k < folds; k++) {
        double tk[INTENT_COUNT];
        ascend(p, k, folds, tk);
        for (size_t i = 0; i < nemails; i++)
            nested += fold_of(&emails[i], folds) == k && !emails[i].automatic &&
                      intent_set(p[i], tk) == emails[i].intents;
    }
    printf("thresholds");
    for (int h = 0; h < INTENT_COUNT; h++)
        printf("%s%g", h ? "," : " ", t[h]);
    int all = 0;
    for (size_t i = 0; i < nemails; i++)
        all += !emails[i].automatic;
    printf("\nexact intent set of the %d emails not automatic: %.3f with these thresholds, %.3f "
           "tuned without each fold and measured on it\n",
           all, ratio(best_n, all), ratio(nested, all));
    free(p);
}

static int cmd_eval(int argc, char **argv)
{
    int folds = 0, a = 0;
    const char *pattern = NULL;
    double threshold[INTENT_COUNT] = {-1, -1, -1, -1, -1, -1, -1}, alpha = -1, cut = -1;
    int best = -1;
    bool misses = false, tune = false;
    for (; a < argc && argv[a][0] == '-'; a++) {
        if (!strcmp(argv[a], "--misses")) {
            misses = true;
        } else if (!strcmp(argv[a], "--tune")) {
            tune = true;
        } else if (!strcmp(argv[a], "--fallback") && a + 1 < argc) {
            best = (int)num(argv[++a]);
        } else if (!strcmp(argv[a], "--sentiment") && a + 2 < argc) {
            alpha = num(argv[++a]);
            cut = num(argv[++a]);
        } else if (!strcmp(argv[a], "--folds") && a + 1 < argc)
            folds = (int)num(argv[++a]);
        else if (!strcmp(argv[a], "--models") && a + 1 < argc)
            pattern = argv[++a];
        else if (!strcmp(argv[a], "--threshold") && a + 1 < argc)
            thresholds_arg(argv[++a], threshold);
        else
            return 2;
    }
    for (; a < argc; a++)
        load(argv[a]);
    int nmodels = folds > 0 ? folds : 1;
    struct model **models = xcalloc((size_t)nmodels, sizeof(*models));
    for (int k = 0; k < nmodels; k++) {
        struct errinfo e = {0};
        if (folds > 0 && pattern) {
            char dir[4096];
            snprintf(dir, sizeof(dir), "%s%d", pattern, k);
            models[k] = model_load_dir(dir, &e);
        } else {
            models[k] = model_from_env(&e);
        }
        if (!models[k]) {
            fprintf(stderr, "model-tool: %s\n", e.msg);
            return 1;
        }
        model_tune(models[k], threshold, alpha, cut, best);
    }
    if (tune) {
        tune_thresholds(models, folds);
        return 0;
    }
    struct tally rules_t = {0}, model_t = {0};
    for (size_t i = 0; i < nemails; i++) {
        const struct email *m = &emails[i];
        struct analysis r, c;
        if (m->automatic) {
            r = c = automatic_reply;
        } else {
            ai_rules_analyze(m->subject, m->text, &r);
            const struct model *mod = models[folds > 0 ? fold_of(m, folds) : 0];
            struct model_input in = {m->subject, m->text, false, &r};
            if (!model_predict(mod, &in, &c))
                c = r;
        }
        tally_add(&rules_t, m, &r);
        tally_add(&model_t, m, &c);
        if (misses && c.intents != m->intents) {
            printf("%s want", m->id);
            for (int h = 0; h < INTENT_COUNT; h++)
                if (m->intents & (1u << h))
                    printf(" %s", intent_name(1u << h));
            printf(" | got");
            for (int h = 0; h < INTENT_COUNT; h++)
                if (c.intents & (1u << h))
                    printf(" %s", intent_name(1u << h));
            printf("\n");
        }
    }
    tally_print("word lists alone", &rules_t);
    tally_print(folds > 0 ? "combined analyzer (cross-validated)" : "combined analyzer", &model_t);
    for (int k = 0; k < nmodels; k++)
        model_free(models[k]);
    free(models);
    return 0;
}

/* ---- predict ---- */

static void print_analysis(const char *name, const struct analysis *a)
{
    printf("%-10s", name);
    for (int i = 0; i < INTENT_COUNT; i++)
        if (a->intents & (1u << i))
            printf(" %s", intent_name(1u << i));
    printf("  %s (%.2f)  %s\n", sentiment_name(a->sentiment), a->sentiment_score,
           urgency_name(a->urgency));
}

static int cmd_predict(int argc, char **argv)
{
    if (argc != 2)
        return 2;
    struct errinfo e = {0};
    struct model *m = model_from_env(&e);
    if (!m) {
        fprintf(stderr, "model-tool: %s\n", e.msg);
        return 1;
    }
    struct analysis r, c;
    ai_rules_analyze(argv[0], argv[1], &r);
    c = r;
    struct model_input in = {argv[0], argv[1], false, &r};
    if (!model_predict(m, &in, &c))
        c = r;
    double p[MODEL_HEADS];
    model_probabilities(m, &in, p);
    print_analysis("rules", &r);
    print_analysis("combined", &c);
    for (int h = 0; h < MODEL_HEADS; h++)
        printf("%s%.3f", h ? " " : "p: ", p[h]);
    printf("\n");
    model_free(m);
    return 0;
}

/* ---- bench ---- */

static double cpu_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static int cmd_bench(int argc, char **argv)
{
    int a = 0;
    if (a < argc && !strcmp(argv[a], "--body")) {
        whole_body = true;
        a++;
    }
    for (; a < argc; a++)
        load(argv[a]);
    size_t bytes = 0;
    for (size_t i = 0; i < nemails; i++)
        bytes += strlen(emails[i].text) + strlen(emails[i].subject);
    if (!nemails)
        return 2;
    const int rounds = 100;
    volatile unsigned sink = 0;
    double t0 = cpu_seconds();
    for (int k = 0; k < rounds; k++)
        for (size_t i = 0; i < nemails; i++) {
            struct analysis r;
            ai_rules_analyze(emails[i].subject, emails[i].text, &r);
            sink += r.intents;
        }
    double t1 = cpu_seconds();
    for (int k = 0; k < rounds; k++)
        for (size_t i = 0; i < nemails; i++) {
            struct analysis r;
            ai_offline_analyze(emails[i].subject, emails[i].text, &r);
            sink += r.intents;
        }
    double t2 = cpu_seconds();
    double n = (double)rounds * (double)nemails;
    printf("analyzer bench: %zu emails (%s, %zu bytes each on average) x %d rounds, CPU time\n",
           nemails, whole_body ? "whole bodies" : "new text", bytes / nemails, rounds);
    printf("  word lists alone:          %8.2f us/email  %9.0f emails/CPU-second\n",
           (t1 - t0) / n * 1e6, n / (t1 - t0));
    printf("  word lists + features + model: %4.2f us/email  %9.0f emails/CPU-second\n",
           (t2 - t1) / n * 1e6, n / (t2 - t1));
    (void)sink;
    return 0;
}

int main(int argc, char **argv)
{
    int rc = 2;
    if (argc >= 2 && !strcmp(argv[1], "features"))
        rc = cmd_features(argc - 2, argv + 2);
    else if (argc >= 2 && !strcmp(argv[1], "pack"))
        rc = cmd_pack(argc - 2, argv + 2);
    else if (argc >= 2 && !strcmp(argv[1], "eval"))
        rc = cmd_eval(argc - 2, argv + 2);
    else if (argc >= 2 && !strcmp(argv[1], "predict"))
        rc = cmd_predict(argc - 2, argv + 2);
    else if (argc >= 2 && !strcmp(argv[1], "bench"))
        rc = cmd_bench(argc - 2, argv + 2);
    if (rc == 2)
        fprintf(
            stderr,
            "usage: model-tool features|pack|eval|predict|bench ... (see tools/model_tool.c)\n");
    return rc;
}
