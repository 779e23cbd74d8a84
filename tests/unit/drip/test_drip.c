/*
 * Tests for src/drip/drip.c and src/drip/trigger.c without a database: the
 * step graph check (reachable, acyclic, references inside the list,
 * conditions), step lists built from JSON with messages that name the
 * field, trigger validation, and webhook secrets through the API (masked
 * on the way out, kept when the mask comes back).
 */
#include <jansson.h>
#include <stdio.h>

#include "drip/drip.h"
#include "store/campaigns.h"
#include "unit/unit.h"

/* Steps "s0".."s<n-1>" of the given types; links set by the test. */
static void make_steps(struct campaign_step *s, size_t n, const char *const *types)
{
    memset(s, 0, n * sizeof(*s));
    for (size_t i = 0; i < n; i++) {
        snprintf(s[i].id, sizeof(s[i].id), "s%zu", i);
        s[i].position = (int)i;
        snprintf(s[i].type, sizeof(s[i].type), "%s", types[i]);
        s[i].config = "{}";
    }
}

static void link_to(struct campaign_step *s, char *field, int to)
{
    if (to < 0)
        field[0] = '\0';
    else
        memcpy(field, s[to].id, STORE_ID_LEN);
}

static int check(const struct campaign_step *s, size_t n, struct errinfo *e)
{
    errinfo_clear(e);
    return drip_graph_check(s, n, e);
}

static void test_graph_linear_and_branches(void **state)
{
    struct campaign_step s[5];
    struct errinfo e;
    const char *const types[] = {"email", "wait", "condition", "tag", "score"};
    make_steps(s, 5, types);
    link_to(s, s[0].next_id, 1);
    link_to(s, s[1].next_id, 2);
    link_to(s, s[2].true_id, 3);
    link_to(s, s[2].false_id, 4);
    link_to(s, s[3].next_id, 4); /* both branches meet: a DAG, not a cycle */
    assert_int_equal(check(s, 5, &e), 0);
    /* A condition that ends on one branch is fine. */
    link_to(s, s[2].false_id, -1);
    assert_int_equal(check(s, 5, &e), 0);
}

static void test_graph_refusals(void **state)
{
    struct campaign_step s[3];
    struct errinfo e;
    const char *const types[] = {"tag", "tag", "condition"};
    make_steps(s, 3, types);
    assert_int_equal(check(s, 0, &e), ERR_INVALID);
    assert_contains(e.msg, "no steps");

    make_steps(s, 3, types);
    link_to(s, s[0].next_id, 1);
    link_to(s, s[1].next_id, 0); /* 0 -> 1 -> 0 */
    assert_int_equal(check(s, 2, &e), ERR_INVALID);
    assert_contains(e.msg, "cycle");

    make_steps(s, 3, types);
    link_to(s, s[0].next_id, 0); /* a step that goes to itself */
    assert_int_equal(check(s, 1, &e), ERR_INVALID);
    assert_contains(e.msg, "cycle");

    make_steps(s, 3, types);
    link_to(s, s[0].next_id, -1); /* 1 hangs alone */
    assert_int_equal(check(s, 2, &e), ERR_INVALID);
    assert_contains(e.msg, "step 1 (tag) cannot be reached");

    make_steps(s, 3, types);
    snprintf(s[0].next_id, STORE_ID_LEN, "elsewhere");
    assert_int_equal(check(s, 2, &e), ERR_INVALID);
    assert_contains(e.msg, "not in the list");

    /* A condition goes on by its branches only; a cycle through a branch. */
    make_steps(s, 3, types);
    link_to(s, s[0].next_id, 2);
    link_to(s, s[2].next_id, 1);
    assert_int_equal(check(s, 3, &e), ERR_INVALID);
    assert_contains(e.msg, "a condition goes on by true and false");
    make_steps(s, 3, types);
    link_to(s, s[0].next_id, 2);
    link_to(s, s[2].true_id, 1);
    link_to(s, s[2].false_id, 0);
    link_to(s, s[1].next_id, -1);
    assert_int_equal(check(s, 3, &e), ERR_INVALID);
    assert_contains(e.msg, "cycle");
}

/* Builds steps from JSON text; returns the code, message in e. */
static int build(const char *json, struct arena *a, struct campaign_step **out, size_t *n,
                 struct errinfo *e)
{
    json_t *steps = json_loads(json, 0, NULL);
    assert_non_null(steps);
    errinfo_clear(e);
    int rc = drip_steps_build(steps, a, out, n, e);
    json_decref(steps);
    return rc;
}

static void test_build_links_and_checks(void **state)
{
    char stack[8192];
    struct arena a;
    arena_init(&a, stack, sizeof(stack));
    struct campaign_step *s;
    size_t n;
    struct errinfo e;
    assert_int_equal(
        build("[{\"key\":\"c\",\"type\":\"condition\",\"config\":{\"kind\":\"has_tag\","
              "\"value\":\"vip\"},\"true\":\"t\",\"false\":null},"
              "{\"key\":\"t\",\"type\":\"tag\",\"config\":{\"add\":[\"seen\"]}},"
              "{\"type\":\"score\",\"config\":{\"delta\":5},\"next\":1}]",
              &a, &s, &n, &e),
        0);
    assert_int_equal(n, 3);
    assert_string_equal(s[0].true_id, s[1].id);
    assert_string_equal(s[0].false_id, "");
    assert_string_equal(s[1].next_id, s[2].id); /* next defaults to the following step */
    assert_string_equal(s[2].next_id, s[1].id);
    /* 1 -> 2 -> 1: the build accepts it, activation refuses it. */
    assert_int_equal(drip_graph_check(s, n, &e), ERR_INVALID);
    assert_contains(e.msg, "cycle");

    assert_int_equal(
        build("[{\"type\":\"tag\",\"config\":{\"add\":[\"a\"]},\"next\":3}]", &a, &s, &n, &e),
        ERR_INVALID);
    assert_contains(e.msg, "steps[0].next: there is no step at position 3");
    assert_int_equal(build("[{\"type\":\"condition\",\"config\":{\"kind\":\"opened\"},"
                           "\"true\":null}]",
                           &a, &s, &n, &e),
                     ERR_INVALID);
    assert_contains(e.msg, "steps[0].false is required");
    assert_int_equal(
        build("[{\"type\":\"tag\",\"config\":{\"add\":[\"a\"]},\"true\":0}]", &a, &s, &n, &e),
        ERR_INVALID);
    assert_contains(e.msg, "only a condition has true and false");
    assert_int_equal(build("[{\"key\":\"k\",\"type\":\"tag\",\"config\":{\"add\":[\"a\"]}},"
                           "{\"key\":\"k\",\"type\":\"tag\",\"config\":{\"add\":[\"b\"]}}]",
                           &a, &s, &n, &e),
                     ERR_INVALID);
    assert_contains(e.msg, "steps[1].key \"k\" is used twice");
    assert_int_equal(build("[{\"type\":\"webhook\",\"config\":{\"url\":\"https://h.example/x\","
                           "\"secret\":\"short\"}}]",
                           &a, &s, &n, &e),
                     ERR_INVALID);
    assert_contains(e.msg, "steps[0].config.secret must have at least 16 characters");
    arena_release(&a);
}

static int trig(const char *json, struct errinfo *e)
{
    json_t *t = json_loads(json, JSON_DECODE_ANY, NULL);
    errinfo_clear(e);
    int rc = drip_trigger_check(t, e);
    json_decref(t);
    return rc;
}

static void test_trigger_check(void **state)
{
    struct errinfo e;
    assert_int_equal(trig("null", &e), 0);
    assert_int_equal(trig("{\"type\":\"manual\"}", &e), 0);
    assert_int_equal(trig("{\"type\":\"contact_created\"}", &e), 0);
    assert_int_equal(trig("{\"type\":\"tag_added\",\"tag\":\"vip\"}", &e), 0);
    assert_int_equal(trig("{\"type\":\"score_above\",\"threshold\":80}", &e), 0);

    assert_int_equal(trig("5", &e), ERR_INVALID);
    assert_contains(e.msg, "trigger must be an object or null");
    assert_int_equal(trig("{}", &e), ERR_INVALID);
    assert_contains(e.msg, "trigger.type is required");
    assert_int_equal(trig("{\"type\":\"moon_phase\"}", &e), ERR_INVALID);
    assert_contains(e.msg, "trigger.type must be one of");
    assert_int_equal(trig("{\"type\":\"tag_added\"}", &e), ERR_INVALID);
    assert_contains(e.msg, "trigger.tag is required");
    assert_int_equal(trig("{\"type\":\"tag_added\",\"tag\":\"\"}", &e), ERR_INVALID);
    assert_int_equal(trig("{\"type\":\"score_above\",\"threshold\":0}", &e), ERR_INVALID);
    assert_contains(e.msg, "trigger.threshold is required for score_above");
    assert_int_equal(trig("{\"type\":\"score_above\",\"threshold\":\"80\"}", &e), ERR_INVALID);
    assert_int_equal(trig("{\"type\":\"score_above\",\"threshold\":101}", &e), ERR_INVALID);
    assert_int_equal(trig("{\"type\":\"contact_created\",\"tag\":\"x\"}", &e), ERR_INVALID);
    assert_contains(e.msg, "trigger.tag is not a field of a contact_created trigger");
}

static void test_webhook_secret_masked_and_kept(void **state)
{
    char stack[4096];
    struct arena a;
    arena_init(&a, stack, sizeof(stack));
    struct campaign_step old[2];
    const char *const types[] = {"tag", "webhook"};
    make_steps(old, 2, types);
    old[0].config = "{\"add\":[\"a\"]}";
    old[1].config = "{\"url\":\"https://h.example/x\",\"secret\":\"stored-secret-0123456789\"}";
    const char *pub = drip_config_public(&old[1], &a);
    assert_not_contains(pub, "stored-secret");
    assert_contains(pub, "\"secret\":\"" DRIP_SECRET_MASK "\"");
    assert_contains(pub, "\"secretSet\":true");
    assert_string_equal(drip_config_public(&old[0], &a), old[0].config);

    /* The mask back, by id and by position: the stored secret is kept. */
    struct errinfo e;
    json_t *steps = json_loads("[{\"type\":\"tag\",\"config\":{\"add\":[\"a\"]}},"
                               "{\"id\":\"s1\",\"type\":\"webhook\",\"config\":{\"url\":"
                               "\"https://h.example/y\",\"secret\":\"********\","
                               "\"secretSet\":true}},"
                               "{\"type\":\"webhook\",\"config\":{\"url\":\"https://h.example/z\","
                               "\"secret\":\"a-brand-new-secret-value\"}}]",
                               0, NULL);
    errinfo_clear(&e);
    assert_int_equal(drip_steps_keep_secrets(steps, old, 2, &e), 0);
    json_t *c1 = json_object_get(json_array_get(steps, 1), "config");
    assert_string_equal(json_string_value(json_object_get(c1, "secret")),
                        "stored-secret-0123456789");
    assert_null(json_object_get(c1, "secretSet"));
    json_t *c2 = json_object_get(json_array_get(steps, 2), "config");
    assert_string_equal(json_string_value(json_object_get(c2, "secret")),
                        "a-brand-new-secret-value");
    json_decref(steps);

    steps = json_loads("[{\"type\":\"webhook\",\"config\":{\"url\":\"https://h.example/y\","
                       "\"secret\":\"********\"}}]",
                       0, NULL);
    assert_int_equal(drip_steps_keep_secrets(steps, old, 2, &e), ERR_INVALID); /* 0 is a tag */
    assert_contains(e.msg, "steps[0].config.secret is the mask");
    json_decref(steps);
    arena_release(&a);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_graph_linear_and_branches),      cmocka_unit_test(test_graph_refusals),
    cmocka_unit_test(test_build_links_and_checks),         cmocka_unit_test(test_trigger_check),
    cmocka_unit_test(test_webhook_secret_masked_and_kept),
};

UNIT_GROUP(unit_drip_drip, "drip/drip", tests);
