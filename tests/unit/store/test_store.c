/*
 * Tests for src/store/store.c: the data directory derived from a database
 * URL (where leadflow.key goes) and the role names.
 */
#include "store/auth.h"
#include "store/store.h"
#include "unit/unit.h"

static void assert_dir(const char *url, const char *want)
{
    char out[256];
    store_data_dir(url, out, sizeof(out));
    if (strcmp(out, want) != 0)
        fail_msg("store_data_dir(%s) = %s, want %s", url, out, want);
}

static void test_data_dir(void **state)
{
    assert_dir("sqlite:/var/lib/leadflow/x.db", "/var/lib/leadflow");
    assert_dir("sqlite:data/x.db", "data");
    assert_dir("sqlite:x.db", ".");
    assert_dir("sqlite:/x.db", "/");
    assert_dir("sqlite::memory:", ".");
    assert_dir("postgres://u@h/db", ".");
}

static void test_roles(void **state)
{
    assert_string_equal(role_name(ROLE_OWNER), "owner");
    assert_string_equal(role_name(ROLE_ADMIN), "admin");
    assert_string_equal(role_name(ROLE_MEMBER), "member");
    assert_string_equal(role_name(ROLE_VIEWER), "viewer");
    assert_string_equal(role_name(ROLE_NONE), "none");
    assert_string_equal(role_name(99), "none");
    assert_string_equal(role_name(-1), "none");
    for (int r = ROLE_VIEWER; r <= ROLE_OWNER; r++)
        assert_int_equal(role_parse(role_name(r)), r);
    assert_int_equal(role_parse("none"), ROLE_NONE);
    assert_int_equal(role_parse("Owner"), ROLE_NONE);
    assert_int_equal(role_parse(""), ROLE_NONE);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_data_dir),
    cmocka_unit_test(test_roles),
};

UNIT_GROUP(unit_store_store, "store/store", tests);
