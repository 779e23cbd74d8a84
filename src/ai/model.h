/*
 * The learned part of the offline analyzer: a linear model (logistic
 * regression trained with liblinear, scripts/train-model.sh) over hashed
 * word unigrams and bigrams, character n-grams, structural features
 * (questions, negation scope, reply depth, deadlines, a valence lexicon) and
 * the word-list analyzer's own answer. One feature extractor serves both the
 * training tool (tools/model_tool.c writes liblinear's sparse format with it)
 * and prediction, so the two cannot drift apart.
 *
 * The weights are data/model/analyzer.model, embedded into the binary at
 * build time; LEADFLOW_MODEL_DIR names a directory whose analyzer.model
 * replaces the embedded one. A model that cannot be read is logged once and
 * the word lists decide alone.
 */
#ifndef LEADFLOW_AI_MODEL_H
#define LEADFLOW_AI_MODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ai/ai.h"
#include "base/err.h"

enum {
    MODEL_DIM = 1 << 18, /* feature indices are 1 .. MODEL_DIM - 1 */
    MODEL_DENSE = 64,    /* indices 1 .. MODEL_DENSE - 1 are the structural features */
    MODEL_HEADS = INTENT_COUNT + 3 + 3, /* one per intent, sentiment neg/neu/pos, urgency */
    MODEL_WORDS_MAX = 2000,             /* words of one email the features look at */
};

/* Feature groups: hashed features are scaled by 1/sqrt(count in their group). */
enum { MODEL_G_DENSE, MODEL_G_WORD, MODEL_G_BIGRAM, MODEL_G_CHAR, MODEL_GROUPS };

/* What the features are computed from (all borrowed). */
struct model_input {
    const char *subject;          /* may be NULL; read only when it is not a reply/forward */
    const char *text;             /* the sender's new text; may be NULL */
    bool automatic;               /* flagged as an automatic reply by the MIME layer */
    const struct analysis *rules; /* the word-list analyzer's answer, or NULL */
};

/* Receives each feature occurrence: index in 1 .. MODEL_DIM - 1, its group, a value. */
typedef void (*model_emit_fn)(void *ctx, int group, uint32_t index, float value);

/*
 * Calls emit for every feature occurrence of in (a hashed feature once per
 * occurrence, value 1; a dense one once, its value). Returns the number of
 * occurrences per group in counts (for the 1/sqrt scaling). Deterministic,
 * thread-safe, allocation-free (the valence lexicon, data/model/valence.tsv,
 * is embedded and indexed once).
 */
void model_features(const struct model_input *in, model_emit_fn emit, void *ctx,
                    unsigned counts[MODEL_GROUPS]);

/* The stable hash of the features (FNV-1a, 32 bits), exposed for tests. */
uint32_t model_hash(const char *p, size_t n, uint32_t seed);

/* The index of a word's unigram feature (negated: inside a negation's scope). */
uint32_t model_word_feature(const char *word, bool negated);

/* Structural feature indices (dense part), for tests and the training tool. */
enum {
    MF_QMARK = 1,    /* question marks (log scale) */
    MF_QUESTION,     /* sentences opened by an interrogative word and ended by ? */
    MF_QUESTION_NOQ, /* sentences opened by an interrogative word without ? */
    MF_NEGATION,     /* negators (log scale) */
    MF_AUTOMATIC,    /* automatic reply (flag or subject) */
    MF_REPLY,        /* the subject is a reply */
    MF_REPLY_DEPTH,  /* Re:/AW:/SV: prefixes, up to 3, over 3 */
    MF_FORWARD,      /* the subject is a forward */
    MF_EXCLAIM,      /* exclamation marks (log scale) */
    MF_CAPS,         /* all-caps words of two letters or more (log scale) */
    MF_DEADLINE,     /* deadline words: today, tomorrow, asap, deadline, eod... */
    MF_DAY,          /* day names */
    MF_VAL_POS,      /* lexicon valence: positive words (sum, scaled) */
    MF_VAL_NEG,      /* negative words */
    MF_VAL_POS_NEG,  /* positive words under a negation */
    MF_VAL_NEG_NEG,  /* negative words under a negation */
    MF_VAL_NET,      /* tanh of the net valence */
    MF_LENGTH,       /* log of the word count */
    MF_EMPTY,        /* no words at all */
    MF_RULES_INTENT, /* + intent slot: the word lists found that intent */
    MF_RULES_SENT = MF_RULES_INTENT + INTENT_COUNT, /* + 0, 1, 2: negative, neutral, positive */
    MF_RULES_SCORE = MF_RULES_SENT + 3,             /* the word lists' sentiment score */
    MF_RULES_URG,                                   /* + 0, 1, 2: low, medium, high */
    MF_DENSE_END = MF_RULES_URG + 3,
};

struct model;

/* Parses a model (the text of an analyzer.model). NULL with e when it is not one. */
struct model *model_parse(const char *text, size_t len, struct errinfo *e);

/* Loads dir/analyzer.model. */
struct model *model_load_dir(const char *dir, struct errinfo *e);

/* The embedded model. NULL with e when it cannot be parsed (a build without one). */
struct model *model_load_embedded(struct errinfo *e);

/* The embedded model text and valence lexicon (NUL-terminated). */
const char *model_embedded_text(size_t *len);
const char *model_embedded_valence(size_t *len);

void model_free(struct model *m);

/*
 * The model the analyzer uses: LEADFLOW_MODEL_DIR's when that is set, else
 * the embedded one; loaded once. NULL (logged once) when it cannot be loaded.
 */
const struct model *model_default(void);

/* Same as model_default() but loads afresh each time (the caller frees it). */
struct model *model_from_env(struct errinfo *e);

/*
 * Changes how a model decides (for measuring by cross-validation): the
 * intents' thresholds (INTENT_COUNT of them, or NULL), the model's share of the sentiment score,
 * the sentiment cut and whether the likeliest head decides when no intent passes its threshold (see
 * data/model/README.md); a negative value keeps the setting.
 */
void model_tune(struct model *m, const double *thresholds, double alpha, double cut, int best);

/* Whether the model was trained with the word lists' answer among its features. */
bool model_uses_rules(const struct model *m);

/*
 * Predicts intents (one-vs-rest, each over its threshold; when none is,
 * general, or with the model's fallback setting the likeliest head), sentiment and its score in
 * [-1, 1] (P(positive) - P(negative), blended with the word lists' score by the model's share) and
 * urgency. Fills out (provider untouched) and returns true; returns false and leaves out alone when
 * the email has no word to read.
 */
bool model_predict(const struct model *m, const struct model_input *in, struct analysis *out);

/* The per-head probabilities behind a prediction (tests and the training
 * tool); false when the email has no word to read. */
bool model_probabilities(const struct model *m, const struct model_input *in,
                         double p[MODEL_HEADS]);

/*
 * The word-list analyzer alone (offline.c). ai_offline_analyze() is this,
 * then model_refine().
 */
void ai_rules_analyze(const char *subject, const char *text, struct analysis *out);

/*
 * Replaces out (the word lists' answer for subject and text) by the
 * model's, with the word lists' answer among its features, when a model is
 * loaded; leaves out alone otherwise.
 */
void model_refine(const char *subject, const char *text, struct analysis *out);

#endif
