/*
 * Tests for src/drip/step.c: the table of step kinds is whole (every kind
 * has a name, a config check and something it does; names are unique and
 * found by name), an unknown type is refused with a message naming the
 * field and every kind, and the flags the API relies on sit where expected.
 */
#include <jansson.h>
#include <stdio.h>

#include "drip/drip_int.h"
#include "drip/step.h"
#include "store/campaigns.h"
#include "unit/unit.h"

static void test_kinds_complete(void **state)
{
    assert_true(step_nkinds > 0);
    for (size_t i = 0; i < step_nkinds; i++) {
        const struct step_kind *k = step_kinds[i];
        assert_non_null(k);
        assert_non_null(k->name);
        assert_true(k->name[0] != '\0');
        assert_true(strlen(k->name) < sizeof(((struct campaign_step *)0)->type));
        assert_non_null(k->validate);
        if (!k->run && !k->apply)
            fail_msg("step kind %s neither runs nor applies anything", k->name);
        for (size_t j = 0; j < i; j++)
            if (strcmp(k->name, step_kinds[j]->name) == 0)
                fail_msg("step kind %s is in the table twice", k->name);
        assert_ptr_equal(step_kind_find(k->name), k);
    }
}

static void test_lookup_unknown(void **state)
{
    const struct step_kind *k = step_kinds[0];
    struct errinfo e;
    errinfo_clear(&e);
    assert_null(step_kind_find("fax"));
    assert_null(step_kind_find(NULL));
    assert_null(step_kind_find(""));
    assert_int_equal(step_kind_lookup("fax", "steps[3].type", &k, &e), ERR_INVALID);
    assert_null(k);
    assert_string_equal(e.msg,
                        "steps[3].type must be one of email, wait, condition, tag, score, webhook");
    errinfo_clear(&e);
    assert_int_equal(step_kind_lookup(NULL, "type", &k, &e), ERR_INVALID);
    assert_int_equal(step_kind_lookup("wait", "type", &k, &e), 0);
    assert_ptr_equal(k, step_kind_find("wait"));
    assert_string_equal(k->name, "wait");
}

static void test_flags(void **state)
{
    for (size_t i = 0; i < step_nkinds; i++) {
        const struct step_kind *k = step_kinds[i];
        assert_int_equal(k->branches, strcmp(k->name, "condition") == 0);
        assert_int_equal(k->has_secret, strcmp(k->name, "webhook") == 0);
        assert_int_equal(k->run_at != NULL, strcmp(k->name, "wait") == 0);
    }
}

/* A kind that refuses an empty config says so in a message naming the field
 * (each of today's kinds has a required key). */
static void test_validate_names_field(void **state)
{
    for (size_t i = 0; i < step_nkinds; i++) {
        json_t *cfg = json_object();
        struct errinfo e;
        errinfo_clear(&e);
        int rc = step_kinds[i]->validate(cfg, "steps[0].config", &e);
        if (rc != 0 && rc != ERR_INVALID)
            fail_msg("step kind %s: validate returned %d", step_kinds[i]->name, rc);
        if (rc)
            assert_contains(e.msg, "steps[0].config");
        json_decref(cfg);
    }
}

static void test_run_at(void **state)
{
    struct campaign_step s;
    memset(&s, 0, sizeof(s));
    snprintf(s.type, sizeof(s.type), "wait");
    s.config = "{\"duration_ms\":5000}";
    assert_int_equal(drip_step_run_at(&s, 1000), 6000);
    s.config = "{\"until\":\"opened\",\"timeout_ms\":5000}";
    assert_int_equal(drip_step_run_at(&s, 1000), 1000);
    snprintf(s.type, sizeof(s.type), "email");
    s.config = "{\"duration_ms\":5000}";
    assert_int_equal(drip_step_run_at(&s, 1000), 1000);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_kinds_complete), cmocka_unit_test(test_lookup_unknown),
    cmocka_unit_test(test_flags),          cmocka_unit_test(test_validate_names_field),
    cmocka_unit_test(test_run_at),
};

UNIT_GROUP(unit_drip_step, "drip/step", tests);
