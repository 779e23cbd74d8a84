/*
 * The learned part of the offline analyzer (ai/model.h): the feature
 * extractor shared by training and prediction, the reader of the packed
 * model file and the prediction itself (a dot product per head over the
 * features an email has, then the logistic function).
 *
 * Why not liblinear's own load_model/predict_probability at run time:
 * load_model reads only a path (the embedded model would need a temporary
 * file), and its text format has one line per hashed dimension for each of
 * the thirteen heads. The packed file (written by tools/model_tool.c from
 * liblinear's models) keeps only the rows some head uses, all heads of a row
 * side by side, so one lookup per feature; the arithmetic is the same
 * (w.x + bias, then 1 / (1 + e^-z)).
 */
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ai/model.h"
#include "base/log.h"
#include "base/mem.h"

/* ---- The word table: valence lexicon and the words with a role. ---- */

enum {
    W_NEGATOR = 1 << 0,
    W_OPENER = 1 << 1,
    W_DEADLINE = 1 << 2,
    W_DAY = 1 << 3,
    W_BOOST = 1 << 4, /* an intensifier: the next word's valence counts 1.3 times */
    WORD_MAX = 48,
    TABLE_SIZE = 1 << 15,
};

struct word_entry {
    const char *word; /* NULL: empty slot */
    unsigned char len;
    unsigned char flags;
    float valence;
};

static struct word_entry table[TABLE_SIZE];
static pthread_once_t table_once = PTHREAD_ONCE_INIT;

static const char *const negators[] = {
    "not",    "no",      "never",     "none",     "nothing",  "nobody",  "neither", "nor",
    "cannot", "without", "hardly",    "don't",    "dont",     "doesn't", "doesnt",  "didn't",
    "didnt",  "isn't",   "isnt",      "aren't",   "arent",    "wasn't",  "wasnt",   "weren't",
    "won't",  "wont",    "can't",     "cant",     "couldn't", "couldnt", "haven't", "havent",
    "hasn't", "hadn't",  "shouldn't", "wouldn't", "wouldnt",  "mustn't", "ain't",   "needn't",
};
static const char *const openers[] = {
    "what",  "how",    "where",  "when",    "why",   "which", "who",  "whom",   "whose",
    "is",    "are",    "was",    "were",    "do",    "does",  "did",  "can",    "could",
    "will",  "would",  "should", "shall",   "may",   "might", "have", "has",    "am",
    "isn't", "aren't", "don't",  "doesn't", "won't", "can't", "any",  "anyone", "wondering",
};
static const char *const deadlines[] = {
    "today",    "tomorrow", "tonight", "asap",    "urgent",   "urgently", "immediately",
    "deadline", "eod",      "eow",     "cob",     "noon",     "soon",     "quickly",
    "hours",    "overdue",  "now",     "blocked", "blocking", "down",     "outage",
    "week",     "month",    "weekend", "before",  "until",    "by",       "expires",
};
static const char *const boosters[] = {
    "very",    "extremely", "really", "so",         "super",     "absolutely", "incredibly",
    "totally", "truly",     "highly", "quite",      "seriously", "completely", "deeply",
    "most",    "utterly",   "hugely", "remarkably", "terribly",  "awfully",    "insanely",
};
static const char *const days[] = {
    "monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday",
    "mon",    "tue",     "tues",      "wed",      "thu",    "thurs",    "fri",
};

static uint32_t mix32(uint32_t h)
{
    h ^= h >> 16;
    h *= 0x85ebca6bu;
    h ^= h >> 13;
    h *= 0xc2b2ae35u;
    h ^= h >> 16;
    return h;
}

uint32_t model_hash(const char *p, size_t n, uint32_t seed)
{
    uint32_t h = 2166136261u ^ mix32(seed);
    for (size_t i = 0; i < n; i++)
        h = (h ^ (unsigned char)p[i]) * 16777619u;
    return h;
}

static struct word_entry *table_slot(const char *w, size_t n)
{
    uint32_t i = model_hash(w, n, 0) & (TABLE_SIZE - 1);
    while (table[i].word && !(table[i].len == n && memcmp(table[i].word, w, n) == 0))
        i = (i + 1) & (TABLE_SIZE - 1);
    return &table[i];
}

static void table_add(const char *w, size_t n, unsigned flags, float valence, bool has_valence)
{
    if (n == 0 || n >= WORD_MAX)
        return;
    struct word_entry *e = table_slot(w, n);
    if (!e->word) {
        e->word = w;
        e->len = (unsigned char)n;
    }
    e->flags |= (unsigned char)flags;
    if (has_valence)
        e->valence = valence;
}

static void table_add_list(const char *const *list, size_t n, unsigned flag)
{
    for (size_t i = 0; i < n; i++)
        table_add(list[i], strlen(list[i]), flag, 0, false);
}

static void table_build(void)
{
    size_t len;
    const char *p = model_embedded_valence(&len), *end = p + len;
    size_t entries = 0;
    while (p < end && entries < TABLE_SIZE / 2) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        if (!nl)
            nl = end;
        const char *tab = memchr(p, '\t', (size_t)(nl - p));
        if (tab) {
            table_add(p, (size_t)(tab - p), 0, strtof(tab + 1, NULL), true);
            entries++;
        }
        p = nl + 1;
    }
#define ADD(list, flag) table_add_list(list, sizeof(list) / sizeof(list[0]), flag)
    ADD(negators, W_NEGATOR);
    ADD(openers, W_OPENER);
    ADD(deadlines, W_DEADLINE);
    ADD(days, W_DAY);
    ADD(boosters, W_BOOST);
#undef ADD
}

static const struct word_entry *table_find(const char *w, size_t n)
{
    if (n >= WORD_MAX)
        return NULL;
    const struct word_entry *e = table_slot(w, n);
    return e->word ? e : NULL;
}

/* ---- Feature extraction. ---- */

/* Namespaces of the hashed features. */
enum { NS_WORD = 1, NS_NEGWORD, NS_BIGRAM, NS_CHAR, NS_START, NS_NEGCHAR, NS_ASKED };

/* Words of one sentence kept to mark what a question asks about. */
enum { SENT_WORDS = 48 };

struct fx {
    model_emit_fn emit;
    void *ctx;
    unsigned *counts;
    uint32_t prev;                   /* hash of the previous word of the clause, 0 at its start */
    bool neg;                        /* inside a negation's scope */
    bool sent_start;                 /* the next word opens a sentence */
    bool sent_opener;                /* the current sentence opened with an interrogative word */
    bool boost;                      /* the previous word was an intensifier */
    uint32_t sent_words[SENT_WORDS]; /* word hashes of the current sentence */
    unsigned nsent;
    unsigned words;
    double qmark, questions, questions_noq, negations, exclaim, caps, deadline, day;
    double val_pos, val_neg, val_pos_neg, val_neg_neg, val_net;
};

static uint32_t feature_index(uint32_t h)
{
    uint32_t i = mix32(h) & (MODEL_DIM - 1);
    return i < MODEL_DENSE ? i + MODEL_DENSE : i;
}

uint32_t model_word_feature(const char *word, bool negated)
{
    return feature_index(model_hash(word, strlen(word), negated ? NS_NEGWORD : NS_WORD));
}

static void emit_hashed(struct fx *f, int group, uint32_t h)
{
    f->counts[group]++;
    f->emit(f->ctx, group, feature_index(h), 1.0f);
}

static void on_word(struct fx *f, const char *w, size_t n, bool all_caps)
{
    if (f->words >= MODEL_WORDS_MAX)
        return;
    f->words++;
    if (all_caps)
        f->caps++;
    const struct word_entry *e = table_find(w, n);
    unsigned flags = e ? e->flags : 0;
    if (f->sent_start) {
        f->sent_opener = flags & W_OPENER;
        emit_hashed(f, MODEL_G_WORD, model_hash(w, n, NS_START));
        f->sent_start = false;
    }
    uint32_t hw = model_hash(w, n, NS_WORD);
    if (f->nsent < SENT_WORDS)
        f->sent_words[f->nsent++] = hw;
    emit_hashed(f, MODEL_G_WORD, f->neg ? model_hash(w, n, NS_NEGWORD) : hw);
    if (f->prev)
        emit_hashed(f, MODEL_G_BIGRAM, mix32(f->prev * 31u + hw) ^ NS_BIGRAM);
    f->prev = hw;

    /* Character 3- to 5-grams of ^word$, apart too in a negation's scope. */
    char buf[WORD_MAX + 2];
    size_t m = n < WORD_MAX ? n : WORD_MAX;
    buf[0] = '^';
    memcpy(buf + 1, w, m);
    buf[m + 1] = '$';
    m += 2;
    for (size_t i = 0; i + 3 <= m; i++) {
        uint32_t h = 2166136261u ^ (f->neg ? NS_NEGCHAR : NS_CHAR);
        for (size_t j = i; j < i + 5 && j < m; j++) {
            h = (h ^ (unsigned char)buf[j]) * 16777619u;
            if (j - i + 1 >= 3)
                emit_hashed(f, MODEL_G_CHAR, h);
        }
    }

    if (e && e->valence != 0) {
        double v = f->boost ? 1.3 * e->valence : e->valence;
        if (f->neg) {
            if (v > 0)
                f->val_pos_neg += v;
            else
                f->val_neg_neg -= v;
            f->val_net -= 0.74 * v;
        } else {
            if (v > 0)
                f->val_pos += v;
            else
                f->val_neg -= v;
            f->val_net += v;
        }
    }
    f->boost = flags & W_BOOST;
    if (flags & W_DEADLINE)
        f->deadline++;
    if (flags & W_DAY)
        f->day++;
    if (flags & W_NEGATOR) {
        f->negations++;
        f->neg = true;
    }
}

static void clause_end(struct fx *f)
{
    f->neg = false;
    f->boost = false;
    f->prev = 0;
}

static void sentence_end(struct fx *f, bool qmark)
{
    if (!f->sent_start) {
        if (f->sent_opener && qmark)
            f->questions++;
        else if (f->sent_opener)
            f->questions_noq++;
        /* What a question asks about: its words, apart from the same words elsewhere. */
        if (qmark || f->sent_opener)
            for (unsigned i = 0; i < f->nsent; i++)
                emit_hashed(f, MODEL_G_WORD, mix32(f->sent_words[i]) ^ NS_ASKED);
    }
    f->nsent = 0;
    clause_end(f);
    f->sent_start = true;
    f->sent_opener = false;
}

static void scan(struct fx *f, const char *text)
{
    char word[WORD_MAX];
    size_t n = 0, line = 0;
    unsigned upper = 0, lower = 0;
    for (const unsigned char *c = (const unsigned char *)text;; c++) {
        unsigned char ch = *c;
        if (ch == 0xE2 && c[1] == 0x80 && c[2] == 0x99) { /* U+2019 reads as ' */
            ch = '\'';
            c += 2;
        }
        bool lo = ch >= 'a' && ch <= 'z', up = ch >= 'A' && ch <= 'Z';
        if (lo || up || (ch >= '0' && ch <= '9') || ch == '\'' || ch >= 0x80) {
            if (n < WORD_MAX - 1)
                word[n++] = up ? (char)(ch + 32) : ch >= '0' && ch <= '9' ? '0' : (char)ch;
            upper += up;
            lower += lo;
            line++;
            continue;
        }
        if (n) {
            size_t b = 0;
            while (b < n && word[b] == '\'')
                b++;
            while (n > b && word[n - 1] == '\'')
                n--;
            if (n > b)
                on_word(f, word + b, n - b, upper >= 2 && lower == 0);
            n = 0;
            upper = lower = 0;
        }
        if (!ch)
            break;
        switch (ch) {
        case ',':
        case ';':
        case ':':
        case '(':
        case ')':
            clause_end(f);
            break;
        case '?':
            f->qmark++;
            sentence_end(f, true);
            break;
        case '!':
            f->exclaim++;
            sentence_end(f, false);
            break;
        case '.':
            if (!c[1] || c[1] == ' ' || c[1] == '\n' || c[1] == '\r')
                sentence_end(f, false);
            break;
        case '\n':
            if (line < 60)
                sentence_end(f, false);
            line = 0;
            continue;
        default:
            break;
        }
        line++;
    }
    sentence_end(f, false);
}

static bool prefix_ci(const char *s, const char *p)
{
    for (; *p; s++, p++) {
        char ch = *s >= 'A' && *s <= 'Z' ? (char)(*s + 32) : *s;
        if (ch != *p)
            return false;
    }
    return true;
}

/* Counts the reply and forward prefixes of subject; returns the rest. */
static const char *subject_prefixes(const char *s, int *replies, int *forwards)
{
    static const char *const re[] = {"re", "aw", "sv", "vs", "antw", "ref", "rif", "odp", "r"};
    static const char *const fw[] = {"fwd", "fw", "wg", "tr", "rv", "enc", "doorst"};
    for (;;) {
        while (*s == ' ' || *s == '\t')
            s++;
        const char *p = s;
        while ((*p | 0x20) >= 'a' && (*p | 0x20) <= 'z')
            p++;
        size_t n = (size_t)(p - s);
        if (*p == '[') { /* Re[2]: */
            p++;
            while (*p >= '0' && *p <= '9')
                p++;
            if (*p == ']')
                p++;
        }
        if (n == 0 || n > 6 || *p != ':')
            return s;
        bool found = false;
        for (size_t i = 0; i < sizeof(re) / sizeof(re[0]) && !found; i++)
            if (strlen(re[i]) == n && prefix_ci(s, re[i])) {
                (*replies)++;
                found = true;
            }
        for (size_t i = 0; i < sizeof(fw) / sizeof(fw[0]) && !found; i++)
            if (strlen(fw[i]) == n && prefix_ci(s, fw[i])) {
                (*forwards)++;
                found = true;
            }
        if (!found)
            return s;
        s = p + 1;
    }
}

static bool contains_ci(const char *s, const char *needle)
{
    for (; *s; s++)
        if (prefix_ci(s, needle))
            return true;
    return false;
}

static bool subject_automatic(const char *s)
{
    static const char *const marks[] = {
        "automatic reply", "auto-reply",           "autoreply",
        "auto reply",      "out of office",        "out of the office",
        "abwesenheit",     "automatische antwort", "r\xc3\xa9ponse automatique",
        "respuesta autom", "fr\xc3\xa5nvaro",      "autosvar",
    };
    for (size_t i = 0; i < sizeof(marks) / sizeof(marks[0]); i++)
        if (contains_ci(s, marks[i]))
            return true;
    return false;
}

static void emit_dense(struct fx *f, uint32_t index, double value)
{
    if (value != 0) {
        f->counts[MODEL_G_DENSE]++;
        f->emit(f->ctx, MODEL_G_DENSE, index, (float)value);
    }
}

static double logc(double x)
{
    return log1p(x) / 2.0;
}

void model_features(const struct model_input *in, model_emit_fn emit, void *ctx,
                    unsigned counts[MODEL_GROUPS])
{
    pthread_once(&table_once, table_build);
    struct fx f;
    memset(&f, 0, sizeof(f));
    f.emit = emit;
    f.ctx = ctx;
    f.counts = counts;
    memset(counts, 0, sizeof(unsigned) * MODEL_GROUPS);
    f.sent_start = true;

    int replies = 0, forwards = 0;
    bool automatic = in->automatic;
    if (in->subject && *in->subject) {
        const char *rest = subject_prefixes(in->subject, &replies, &forwards);
        automatic = automatic || subject_automatic(in->subject);
        /* The subject of a reply says what the thread was about, not what the sender writes now. */
        if (!replies && !forwards && !automatic)
            scan(&f, rest);
    }
    scan(&f, in->text ? in->text : "");

    emit_dense(&f, MF_QMARK, logc(f.qmark));
    emit_dense(&f, MF_QUESTION, logc(f.questions));
    emit_dense(&f, MF_QUESTION_NOQ, logc(f.questions_noq));
    emit_dense(&f, MF_NEGATION, logc(f.negations));
    emit_dense(&f, MF_AUTOMATIC, automatic);
    emit_dense(&f, MF_REPLY, replies > 0);
    emit_dense(&f, MF_REPLY_DEPTH, (replies < 3 ? replies : 3) / 3.0);
    emit_dense(&f, MF_FORWARD, forwards > 0);
    emit_dense(&f, MF_EXCLAIM, logc(f.exclaim));
    emit_dense(&f, MF_CAPS, logc(f.caps));
    emit_dense(&f, MF_DEADLINE, logc(f.deadline));
    emit_dense(&f, MF_DAY, logc(f.day));
    emit_dense(&f, MF_VAL_POS, tanh(f.val_pos / 4.0));
    emit_dense(&f, MF_VAL_NEG, tanh(f.val_neg / 4.0));
    emit_dense(&f, MF_VAL_POS_NEG, tanh(f.val_pos_neg / 4.0));
    emit_dense(&f, MF_VAL_NEG_NEG, tanh(f.val_neg_neg / 4.0));
    emit_dense(&f, MF_VAL_NET, tanh(f.val_net / 4.0));
    emit_dense(&f, MF_LENGTH, log1p(f.words) / 6.0);
    emit_dense(&f, MF_EMPTY, f.words == 0);
    if (in->rules) {
        const struct analysis *r = in->rules;
        for (int i = 0; i < INTENT_COUNT; i++)
            emit_dense(&f, MF_RULES_INTENT + (uint32_t)i, (r->intents >> i) & 1);
        if (r->sentiment >= -1 && r->sentiment <= 1)
            emit_dense(&f, MF_RULES_SENT + (uint32_t)(r->sentiment + 1), 1);
        emit_dense(&f, MF_RULES_SCORE, r->sentiment_score);
        if (r->urgency >= 0 && r->urgency <= 2)
            emit_dense(&f, MF_RULES_URG + (uint32_t)r->urgency, 1);
    }
}

/* ---- The model. ---- */

/* A row of weights: the heads side by side, padded to one cache line. */
enum { STRIDE = 16, ROWS_MAX = 65535, NO_ROW = 0xffff };

struct model {
    uint16_t *row; /* MODEL_DIM entries: the row of an index, or NO_ROW */
    float *w;      /* nrows * STRIDE, 64-byte aligned in w_mem */
    void *w_mem;
    size_t nrows;
    float bias[MODEL_HEADS];
    double threshold[INTENT_COUNT];
    double sent_alpha; /* the model's share of the sentiment score (the word lists have the rest) */
    double sent_cut;   /* the score from which a sentiment is positive (negative under minus it); 0:
                          the likeliest class */
    bool best;         /* no intent over its threshold: the likeliest head decides (else general) */
    bool rules;
};

#define MAGIC "leadflow-analyzer-model 1"

/* A cursor over the model text that knows its line for error messages. */
struct cur {
    const char *p, *end;
    int line;
};

static bool cur_word(struct cur *c, const char *want)
{
    while (c->p < c->end && (*c->p == ' ' || *c->p == '\t'))
        c->p++;
    size_t n = strlen(want);
    if ((size_t)(c->end - c->p) < n || memcmp(c->p, want, n) != 0)
        return false;
    c->p += n;
    return true;
}

static bool cur_double(struct cur *c, double *out)
{
    while (c->p < c->end && (*c->p == ' ' || *c->p == '\t'))
        c->p++;
    if (c->p >= c->end)
        return false;
    char tmp[64];
    size_t n = 0;
    while (c->p + n < c->end && n < sizeof(tmp) - 1 && c->p[n] != ' ' && c->p[n] != '\t' &&
           c->p[n] != '\n')
        n++;
    memcpy(tmp, c->p, n);
    tmp[n] = '\0';
    char *e;
    errno = 0;
    double v = strtod(tmp, &e);
    if (n == 0 || *e || errno || !isfinite(v))
        return false;
    c->p += n;
    *out = v;
    return true;
}

static bool cur_eol(struct cur *c)
{
    while (c->p < c->end && (*c->p == ' ' || *c->p == '\t' || *c->p == '\r'))
        c->p++;
    if (c->p < c->end && *c->p != '\n')
        return false;
    if (c->p < c->end)
        c->p++;
    c->line++;
    return true;
}

static bool cur_numbers(struct cur *c, const char *key, double *out, int n)
{
    if (key && !cur_word(c, key))
        return false;
    for (int i = 0; i < n; i++)
        if (!cur_double(c, &out[i]))
            return false;
    return cur_eol(c);
}

struct model *model_parse(const char *text, size_t len, struct errinfo *e)
{
    struct cur c = {text, text + len, 1};
    if (!text || len < strlen(MAGIC) || !cur_word(&c, MAGIC) || !cur_eol(&c)) {
        failf(e, ERR_INVALID, "not an analyzer model (the first line is not \"%s\")", MAGIC);
        return NULL;
    }
    struct model *m = XNEW(struct model);
    double v[MODEL_HEADS], heads, rows;
    if (!cur_numbers(&c, "heads", &heads, 1) || heads != MODEL_HEADS)
        goto bad;
    if (!cur_numbers(&c, "rules", v, 1))
        goto bad;
    m->rules = v[0] != 0;
    if (!cur_numbers(&c, "threshold", m->threshold, INTENT_COUNT))
        goto bad;
    if (!cur_numbers(&c, "fallback", v, 1))
        goto bad;
    m->best = v[0] != 0;
    if (!cur_numbers(&c, "sentiment", v, 2) || v[0] < 0 || v[0] > 1 || v[1] < 0 || v[1] >= 1)
        goto bad;
    m->sent_alpha = v[0];
    m->sent_cut = v[1];
    if (!cur_numbers(&c, "bias", v, MODEL_HEADS))
        goto bad;
    for (int h = 0; h < MODEL_HEADS; h++)
        m->bias[h] = (float)v[h];
    if (!cur_numbers(&c, "rows", &rows, 1) || rows < 0 || rows >= ROWS_MAX)
        goto bad;
    m->nrows = (size_t)rows;
    m->row = xmalloc(sizeof(uint16_t) * MODEL_DIM);
    memset(m->row, 0xff, sizeof(uint16_t) * MODEL_DIM);
    m->w_mem = xcalloc(m->nrows * STRIDE + 16, sizeof(float));
    m->w = (float *)(((uintptr_t)m->w_mem + 63) & ~(uintptr_t)63);
    for (size_t r = 0; r < m->nrows; r++) {
        double idx;
        if (!cur_double(&c, &idx) || idx < 1 || idx >= MODEL_DIM || idx != floor(idx) ||
            m->row[(size_t)idx] != NO_ROW || !cur_numbers(&c, NULL, v, MODEL_HEADS))
            goto bad;
        m->row[(size_t)idx] = (uint16_t)r;
        for (int h = 0; h < MODEL_HEADS; h++)
            m->w[r * STRIDE + (size_t)h] = (float)v[h];
    }
    while (c.p < c.end && (*c.p == '\n' || *c.p == ' ' || *c.p == '\0'))
        c.p++;
    if (c.p != c.end)
        goto bad;
    return m;
bad:
    failf(e, ERR_INVALID, "analyzer model: line %d is not what the format expects", c.line);
    model_free(m);
    return NULL;
}

void model_free(struct model *m)
{
    if (!m)
        return;
    free(m->row);
    free(m->w_mem);
    free(m);
}

void model_tune(struct model *m, const double *thresholds, double alpha, double cut, int best)
{
    if (best >= 0)
        m->best = best;
    for (int i = 0; i < INTENT_COUNT && thresholds; i++)
        if (thresholds[i] >= 0)
            m->threshold[i] = thresholds[i];
    if (alpha >= 0 && alpha <= 1)
        m->sent_alpha = alpha;
    if (cut >= 0 && cut < 1)
        m->sent_cut = cut;
}

bool model_uses_rules(const struct model *m)
{
    return m->rules;
}

struct model *model_load_dir(const char *dir, struct errinfo *e)
{
    char path[4096];
    snprintf(path, sizeof(path), "%s/analyzer.model", dir);
    FILE *f = fopen(path, "rb");
    if (!f) {
        failf(e, ERR_CONFIG, "cannot open %s: %s", path, strerror(errno));
        return NULL;
    }
    struct buf {
        char *p;
        size_t n, cap;
    } b = {NULL, 0, 0};
    for (;;) {
        if (b.n + 65536 > b.cap) {
            b.cap = b.cap ? b.cap * 2 : 1 << 20;
            b.p = xrealloc(b.p, b.cap);
        }
        size_t got = fread(b.p + b.n, 1, b.cap - b.n, f);
        b.n += got;
        if (got == 0)
            break;
    }
    bool err = ferror(f);
    fclose(f);
    struct model *m = NULL;
    if (err)
        failf(e, ERR_IO, "cannot read %s", path);
    else if (!(m = model_parse(b.p, b.n, e)) && e) {
        char why[ERRINFO_MSG_MAX];
        snprintf(why, sizeof(why), "%s", e->msg);
        failf(e, ERR_CONFIG, "%s: %s", path, why);
    }
    free(b.p);
    return m;
}

struct model *model_load_embedded(struct errinfo *e)
{
    size_t len;
    const char *text = model_embedded_text(&len);
    return model_parse(text, len, e);
}

struct model *model_from_env(struct errinfo *e)
{
    const char *dir = getenv("LEADFLOW_MODEL_DIR");
    if (dir && *dir)
        return model_load_dir(dir, e);
    return model_load_embedded(e);
}

static struct model *default_model;
static pthread_once_t default_once = PTHREAD_ONCE_INIT;

static void default_load(void)
{
    struct errinfo e = {0};
    default_model = model_from_env(&e);
    if (!default_model)
        log_error("ai.model", "the analyzer model cannot be loaded, word lists only: %s", e.msg);
}

const struct model *model_default(void)
{
    pthread_once(&default_once, default_load);
    return default_model;
}

/*
 * Per-group sums of each head's weights over an email's features. The
 * features are buffered and looked up in batches, prefetching the index and
 * then the weight rows, so that the cache misses of one batch overlap.
 */
enum { BATCH = 512, VECS = STRIDE / 4 };

/* Four floats added at once (GCC and Clang vector extension): a row is four of them. */
typedef float vec4 __attribute__((vector_size(16)));

struct acc {
    vec4 sum[MODEL_GROUPS][VECS];
    const struct model *m;
    uint32_t index[BATCH];
    unsigned char group[BATCH];
    float value[BATCH];
    uint16_t row[BATCH];
    size_t n;
};

static void acc_flush(struct acc *a)
{
    const struct model *m = a->m;
    for (size_t i = 0; i < a->n; i++)
        __builtin_prefetch(&m->row[a->index[i]]);
    for (size_t i = 0; i < a->n; i++) {
        a->row[i] = m->row[a->index[i]];
        if (a->row[i] != NO_ROW)
            __builtin_prefetch(m->w + (size_t)a->row[i] * STRIDE);
    }
    for (size_t i = 0; i < a->n; i++) {
        if (a->row[i] == NO_ROW)
            continue;
        const vec4 *w = (const vec4 *)(const void *)(m->w + (size_t)a->row[i] * STRIDE);
        vec4 *s = a->sum[a->group[i]];
        float v = a->value[i];
        for (int k = 0; k < VECS; k++)
            s[k] += w[k] * v;
    }
    a->n = 0;
}

static void acc_emit(void *ctx, int group, uint32_t index, float value)
{
    struct acc *a = ctx;
    a->index[a->n] = index;
    a->group[a->n] = (unsigned char)group;
    a->value[a->n] = value;
    if (++a->n == BATCH)
        acc_flush(a);
}

bool model_probabilities(const struct model *m, const struct model_input *in, double p[MODEL_HEADS])
{
    struct acc a;
    memset(a.sum, 0, sizeof(a.sum));
    a.m = m;
    a.n = 0;
    struct model_input x = *in;
    if (!m->rules)
        x.rules = NULL;
    unsigned counts[MODEL_GROUPS];
    model_features(&x, acc_emit, &a, counts);
    acc_flush(&a);
    float sum[MODEL_GROUPS][STRIDE];
    memcpy(sum, a.sum, sizeof(sum));
    for (int h = 0; h < MODEL_HEADS; h++) {
        double z = m->bias[h] + sum[MODEL_G_DENSE][h];
        for (int g = MODEL_G_WORD; g < MODEL_GROUPS; g++)
            if (counts[g])
                z += sum[g][h] / sqrt((double)counts[g]);
        p[h] = 1.0 / (1.0 + exp(-z));
    }
    return counts[MODEL_G_WORD] > 0;
}

bool model_predict(const struct model *m, const struct model_input *in, struct analysis *out)
{
    double p[MODEL_HEADS];
    if (!model_probabilities(m, in, p))
        return false;
    unsigned intents = 0;
    for (int i = 0; i < INTENT_COUNT; i++)
        if ((1u << i) != INTENT_GENERAL && p[i] >= m->threshold[i])
            intents |= 1u << i;
    if (!intents && m->best) {
        int best = 0;
        for (int i = 1; i < INTENT_COUNT; i++)
            if (p[i] > p[best])
                best = i;
        intents = 1u << best;
    }
    out->intents = intents ? intents : INTENT_GENERAL;

    const double *s = p + INTENT_COUNT, *u = p + INTENT_COUNT + 3;
    double tot = s[0] + s[1] + s[2];
    double score = tot > 0 ? (s[2] - s[0]) / tot : 0.0;
    if (in->rules && m->sent_alpha < 1)
        score = m->sent_alpha * score + (1 - m->sent_alpha) * in->rules->sentiment_score;
    out->sentiment_score = score < -1 ? -1 : score > 1 ? 1 : score;
    int best = 0;
    if (m->sent_cut > 0) {
        best = score >= m->sent_cut ? 2 : score <= -m->sent_cut ? 0 : 1;
    } else {
        for (int k = 1; k < 3; k++)
            if (s[k] > s[best])
                best = k;
    }
    out->sentiment = best - 1;
    best = 0;
    for (int k = 1; k < 3; k++)
        if (u[k] > u[best])
            best = k;
    out->urgency = best;
    return true;
}

void model_refine(const char *subject, const char *text, struct analysis *out)
{
    const struct model *m = model_default();
    if (!m)
        return;
    struct analysis rules = *out;
    struct model_input in = {subject, text, false, &rules};
    if (!model_predict(m, &in, out))
        *out = rules;
}
