/*
 * Tests for src/ai/model.c: the feature extractor (hashing, negation scope,
 * word and character n-grams, questions, reply subjects), the model file
 * (embedded, from LEADFLOW_MODEL_DIR, bad files) and the fallback to the
 * word lists when no model can be loaded.
 */
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ai/ai.h"
#include "ai/model.h"
#include "unit/unit.h"

enum { FEATS_MAX = 1 << 16 };

/* The features of one input, as emitted. */
struct feats {
    uint32_t index[FEATS_MAX];
    int group[FEATS_MAX];
    float value[FEATS_MAX];
    size_t n;
    unsigned counts[MODEL_GROUPS];
};

static void collect(void *ctx, int group, uint32_t index, float value)
{
    struct feats *f = ctx;
    assert_true(index >= 1 && index < MODEL_DIM);
    assert_true(f->n < FEATS_MAX);
    f->index[f->n] = index;
    f->group[f->n] = group;
    f->value[f->n] = value;
    f->n++;
}

static struct feats *features(const char *subject, const char *text)
{
    static struct feats f;
    memset(&f, 0, sizeof(f));
    struct model_input in = {subject, text, false, NULL};
    model_features(&in, collect, &f, f.counts);
    return &f;
}

static int has(const struct feats *f, uint32_t index)
{
    int n = 0;
    for (size_t i = 0; i < f->n; i++)
        n += f->index[i] == index;
    return n;
}

static float dense(const struct feats *f, uint32_t index)
{
    for (size_t i = 0; i < f->n; i++)
        if (f->group[i] == MODEL_G_DENSE && f->index[i] == index)
            return f->value[i];
    return 0;
}

static void test_hash_stable(void **state)
{
    /* FNV-1a: the trained weights are indexed by these values. */
    assert_int_equal(model_hash("", 0, 0), 0x811c9dc5u);
    assert_int_equal(model_hash("meeting", 7, 1), 0x38be24f7u);
    assert_int_equal(model_hash("pricing", 7, 3), 0x249faf24u);
    assert_int_not_equal(model_word_feature("pricing", false), model_word_feature("pricing", true));
    assert_int_equal(model_word_feature("pricing", false), model_word_feature("pricing", false));
    assert_true(model_word_feature("pricing", false) >= MODEL_DENSE);
}

static void test_negation_scope(void **state)
{
    uint32_t happy = model_word_feature("happy", false),
             neg_happy = model_word_feature("happy", true);
    struct feats *f = features(NULL, "We are not happy with it");
    assert_int_equal(has(f, neg_happy), 1);
    assert_int_equal(has(f, happy), 0);
    assert_true(dense(f, MF_NEGATION) > 0);
    assert_true(dense(f, MF_VAL_POS_NEG) > 0);
    assert_true(dense(f, MF_VAL_POS) == 0);

    /* The scope ends at punctuation. */
    f = features(NULL, "We are not sure. Happy with it");
    assert_int_equal(has(f, happy), 1);
    assert_int_equal(has(f, neg_happy), 0);
    f = features(NULL, "Nothing else, happy with it");
    assert_int_equal(has(f, happy), 1);

    /* n't, with a typographic apostrophe too. */
    f = features(NULL, "We don\xe2\x80\x99t feel happy");
    assert_int_equal(has(f, neg_happy), 1);
    f = features(NULL, "We never were happy");
    assert_int_equal(has(f, neg_happy), 1);

    /* An intensifier strengthens the next word's valence. */
    float plain = dense(features(NULL, "We are disappointed"), MF_VAL_NEG);
    float strong = dense(features(NULL, "We are extremely disappointed"), MF_VAL_NEG);
    assert_true(plain > 0 && strong > plain);

    f = features(NULL, "We are happy with it");
    assert_int_equal(has(f, happy), 1);
    assert_true(dense(f, MF_NEGATION) == 0);
    assert_true(dense(f, MF_VAL_POS) > 0);
}

static void test_ngrams(void **state)
{
    /* One word: itself and the sentence-start feature; ^pricing$ has 7 + 6 + 5 grams of 3 to 5. */
    struct feats *f = features(NULL, "pricing");
    assert_int_equal(f->counts[MODEL_G_WORD], 2);
    assert_int_equal(f->counts[MODEL_G_BIGRAM], 0);
    assert_int_equal(f->counts[MODEL_G_CHAR], 18);

    /* Bigrams within a clause only. */
    f = features(NULL, "send the quote");
    assert_int_equal(f->counts[MODEL_G_BIGRAM], 2);
    f = features(NULL, "send, the quote");
    assert_int_equal(f->counts[MODEL_G_BIGRAM], 1);

    /* Case and digits fold: the same hashed features. */
    struct feats a = *features(NULL, "Pricing for 40 seats");
    struct feats *b = features(NULL, "pricing for 25 seats");
    assert_int_equal(a.n, b->n);
    for (size_t i = 0; i < a.n; i++)
        if (a.group[i] != MODEL_G_DENSE)
            assert_int_equal(a.index[i], b->index[i]);

    /* All-caps words. */
    f = features(NULL, "This is URGENT, the SYNC is down");
    assert_true(dense(f, MF_CAPS) > 0);
    assert_true(dense(f, MF_DEADLINE) > 0);
    assert_true(features(NULL, "See you Tuesday")->counts[MODEL_G_DENSE] > 0);
    assert_true(dense(features(NULL, "See you Tuesday"), MF_DAY) > 0);
}

static void test_questions(void **state)
{
    struct feats *f = features(NULL, "Could you send the contract");
    assert_true(dense(f, MF_QUESTION_NOQ) > 0);
    assert_true(dense(f, MF_QUESTION) == 0);
    assert_true(dense(f, MF_QMARK) == 0);
    f = features(NULL, "Could you send the contract?");
    assert_true(dense(f, MF_QUESTION) > 0);
    assert_true(dense(f, MF_QMARK) > 0);
    f = features(NULL, "Thanks for the contract.");
    assert_true(dense(f, MF_QUESTION) == 0 && dense(f, MF_QUESTION_NOQ) == 0);

    /* The words of a question count once more, as what is asked about. */
    assert_int_equal(features(NULL, "We sent the contract.")->counts[MODEL_G_WORD], 4 + 1);
    assert_int_equal(features(NULL, "Did you send the contract?")->counts[MODEL_G_WORD], 5 + 1 + 5);
    assert_int_equal(features(NULL, "Did you send the contract")->counts[MODEL_G_WORD], 5 + 1 + 5);
    assert_int_equal(features(NULL, "The contract?")->counts[MODEL_G_WORD], 2 + 1 + 2);
    assert_true(dense(features(NULL, "Great news!"), MF_EXCLAIM) > 0);
}

static void test_subjects(void **state)
{
    unsigned words = features(NULL, "Thanks")->counts[MODEL_G_WORD];
    /* A reply's subject is not read; its depth is. */
    struct feats *f = features("Re: Can we schedule a call?", "Thanks");
    assert_int_equal(f->counts[MODEL_G_WORD], words);
    assert_true(dense(f, MF_REPLY) == 1);
    assert_true(dense(f, MF_QMARK) == 0);
    f = features("AW: RE: Re[2]: pricing", "Thanks");
    assert_int_equal(f->counts[MODEL_G_WORD], words);
    assert_true(dense(f, MF_REPLY_DEPTH) == 1);
    f = features("Fwd: pricing", "Thanks");
    assert_true(dense(f, MF_FORWARD) == 1);
    assert_int_equal(f->counts[MODEL_G_WORD], words);
    f = features("Automatic reply: pricing", "Thanks");
    assert_true(dense(f, MF_AUTOMATIC) == 1);
    /* A new thread's subject is read. */
    f = features("Pricing for 40 seats?", "Thanks");
    assert_true(f->counts[MODEL_G_WORD] > words);
    assert_true(dense(f, MF_QMARK) > 0);
    assert_true(dense(f, MF_REPLY) == 0);
    /* "Regarding:" is no reply prefix. */
    f = features("Regarding: pricing", "Thanks");
    assert_true(dense(f, MF_REPLY) == 0);
}

static void test_odd_input(void **state)
{
    char big[20000];
    memset(big, 'x', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    for (size_t i = 0; i + 1 < sizeof(big); i += 7)
        big[i] = ' ';
    struct feats *f = features(big, big);
    assert_true(f->n > 0);
    /* Only the first MODEL_WORDS_MAX words count. */
    assert_true(f->counts[MODEL_G_WORD] <= 2 * MODEL_WORDS_MAX);
    f = features(NULL, NULL);
    assert_true(dense(f, MF_EMPTY) == 1);
    f = features("", "\xff\xfe \xc3\xa9t\xc3\xa9 ??? !!!");
    assert_true(f->n > 0);
}

/* ---- The model file. ---- */

static char tmpdir[64];

static void write_file(const char *name, const char *text, size_t len)
{
    char path[128];
    snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(text, 1, len, f), len);
    fclose(f);
}

static void make_tmpdir(void)
{
    snprintf(tmpdir, sizeof(tmpdir), "/tmp/leadflow-model-XXXXXX");
    assert_non_null(mkdtemp(tmpdir));
}

static void remove_tmpdir(void)
{
    char path[128];
    snprintf(path, sizeof(path), "%s/analyzer.model", tmpdir);
    unlink(path);
    rmdir(tmpdir);
}

static void test_embedded(void **state)
{
    struct errinfo e = {0};
    struct model *m = model_load_embedded(&e);
    assert_non_null(m);
    assert_true(model_uses_rules(m));

    struct analysis rules, a;
    ai_rules_analyze("Pricing for 40 seats", "Could you send your prices for 40 users?", &rules);
    struct model_input in = {"Pricing for 40 seats", "Could you send your prices for 40 users?",
                             false, &rules};
    model_predict(m, &in, &a);
    assert_int_equal(a.intents, INTENT_PRICING_INQUIRY);
    assert_true(a.sentiment_score >= -1 && a.sentiment_score <= 1);

    struct model_input complaint = {
        NULL, "The sync has been broken for three days and nobody answers. Very disappointed.",
        false, NULL};
    model_predict(m, &complaint, &a);
    assert_true(a.intents & INTENT_COMPLAINT);
    assert_int_equal(a.sentiment, SENTIMENT_NEGATIVE);

    /* The analyzer uses it. */
    ai_offline_analyze(NULL, complaint.text, &a);
    assert_true(a.intents & INTENT_COMPLAINT);
    assert_string_equal(a.provider, "offline");
    model_free(m);
}

static void test_model_dir(void **state)
{
    make_tmpdir();
    size_t len;
    const char *text = model_embedded_text(&len);
    write_file("analyzer.model", text, len);
    setenv("LEADFLOW_MODEL_DIR", tmpdir, 1);
    struct errinfo e = {0};
    struct model *from_dir = model_from_env(&e);
    assert_non_null(from_dir);
    struct model *embedded = model_load_embedded(&e);
    assert_non_null(embedded);
    struct analysis rules;
    const char *body = "Any update on the quote? We need it by Friday.";
    ai_rules_analyze(NULL, body, &rules);
    struct model_input in = {NULL, body, false, &rules};
    double p[MODEL_HEADS], q[MODEL_HEADS];
    model_probabilities(from_dir, &in, p);
    model_probabilities(embedded, &in, q);
    for (int h = 0; h < MODEL_HEADS; h++)
        assert_true(p[h] == q[h] && p[h] > 0 && p[h] < 1);
    model_free(from_dir);
    model_free(embedded);

    /* A model whose threshold is 1 finds no intent: general. */
    const char *small = "leadflow-analyzer-model 1\nheads 13\nrules 0\n"
                        "threshold 1 1 1 1 1 1 1\nfallback 0\nsentiment 1 0\n"
                        "bias 0 0 0 0 0 0 0 -1 -1 1 1 -1 -1\nrows 1\n"
                        "5 0 0 0 0 0 0 0 0 0 0 0 0 0\n";
    write_file("analyzer.model", small, strlen(small));
    struct model *m = model_from_env(&e);
    assert_non_null(m);
    assert_false(model_uses_rules(m));
    struct analysis a;
    model_predict(m, &in, &a);
    assert_int_equal(a.intents, INTENT_GENERAL);
    assert_int_equal(a.sentiment, SENTIMENT_POSITIVE);
    assert_int_equal(a.urgency, URGENCY_LOW);
    model_free(m);
    remove_tmpdir();

    /* Unset or empty: the embedded model. */
    setenv("LEADFLOW_MODEL_DIR", "", 1);
    m = model_from_env(&e);
    assert_non_null(m);
    assert_true(model_uses_rules(m));
    model_free(m);
    unsetenv("LEADFLOW_MODEL_DIR");
    m = model_from_env(&e);
    assert_non_null(m);
    model_free(m);
}

static void test_bad_files(void **state)
{
    make_tmpdir();
    setenv("LEADFLOW_MODEL_DIR", tmpdir, 1);
    struct errinfo e = {0};
    /* No file. */
    assert_null(model_from_env(&e));
    assert_int_equal(e.code, ERR_CONFIG);
    assert_non_null(strstr(e.msg, "analyzer.model"));

    /* Not a model. */
    write_file("analyzer.model", "hello\n", 6);
    errinfo_clear(&e);
    assert_null(model_from_env(&e));
    assert_non_null(strstr(e.msg, "not an analyzer model"));

    /* Cut short, a wrong number of heads, a bad number, a row out of range. */
    size_t len;
    const char *text = model_embedded_text(&len);
    write_file("analyzer.model", text, len / 2);
    errinfo_clear(&e);
    assert_null(model_from_env(&e));
    assert_non_null(strstr(e.msg, "line"));
    const char *bad[] = {
        "leadflow-analyzer-model 1\nheads 9\n",
        "leadflow-analyzer-model 1\nheads 13\nrules 1\nthreshold 0.5 x 0.5 0.5 0.5 0.5 0.5\n",
        "leadflow-analyzer-model 1\nheads 13\nrules 0\nthreshold 1 1 1 1 1 1 1\nfallback "
        "0\nsentiment 1 0\n"
        "bias 0 0 0 0 0 0 0 0 0 0 0 0 0\nrows 1\n999999999 0 0 0 0 0 0 0 0 0 0 0 0 0\n",
        "leadflow-analyzer-model 1\nheads 13\nrules 0\nthreshold 1 1 1 1 1 1 1\nfallback "
        "0\nsentiment 1 0\n"
        "bias 0 0 0 0 0 0 0 0 0 0 0 0 0\nrows 2\n5 0 0 0 0 0 0 0 0 0 0 0 0 0\n",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        write_file("analyzer.model", bad[i], strlen(bad[i]));
        errinfo_clear(&e);
        assert_null(model_from_env(&e));
        assert_int_equal(e.code, ERR_CONFIG);
        assert_non_null(strstr(e.msg, "line"));
    }

    /* The analyzer then falls back to the word lists (and says so in the log). */
    const char *body = "The sync is broken again and nobody answers. Fix it today.";
    struct analysis a, r;
    ai_offline_analyze("Sync", body, &a);
    ai_rules_analyze("Sync", body, &r);
    assert_null(model_default());
    assert_int_equal(a.intents, r.intents);
    assert_int_equal(a.sentiment, r.sentiment);
    assert_true(a.sentiment_score == r.sentiment_score);
    assert_int_equal(a.urgency, r.urgency);
    remove_tmpdir();
    unsetenv("LEADFLOW_MODEL_DIR");
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_hash_stable), cmocka_unit_test(test_negation_scope),
    cmocka_unit_test(test_ngrams),      cmocka_unit_test(test_questions),
    cmocka_unit_test(test_subjects),    cmocka_unit_test(test_odd_input),
    cmocka_unit_test(test_embedded),    cmocka_unit_test(test_model_dir),
    cmocka_unit_test(test_bad_files),
};

UNIT_GROUP(unit_ai_model, "ai/model", tests);
