/*
 * Tests for src/alerts/channel.c: the table of alert channels is whole
 * (every channel has a name, a config check and a delivery; names are
 * unique and found by name), an unknown type is refused with a message
 * naming the field and every channel, and the channels' checks keep only
 * what a delivery needs.
 */
#include <jansson.h>
#include <stdio.h>

#include "alerts/alerts.h"
#include "alerts/channel.h"
#include "store/alerts.h"
#include "unit/unit.h"

static void test_channels_complete(void **state)
{
    assert_true(channel_nkinds > 0);
    assert_true(channel_nkinds <= CHANNEL_KINDS_MAX);
    for (size_t i = 0; i < channel_nkinds; i++) {
        const struct alert_channel *c = channel_kinds[i];
        assert_non_null(c);
        assert_non_null(c->name);
        assert_true(c->name[0] != '\0');
        /* alert_deliveries.channel and the stats rows hold it */
        assert_true(strlen(c->name) < sizeof(((struct alert_delivery *)0)->channel));
        assert_true(strlen(c->name) < sizeof(((struct alert_channel_stats *)0)->channel));
        assert_non_null(c->validate);
        assert_non_null(c->deliver);
        for (size_t j = 0; j < i; j++)
            if (strcmp(c->name, channel_kinds[j]->name) == 0)
                fail_msg("channel %s is in the table twice", c->name);
        assert_ptr_equal(channel_find(c->name), c);
        assert_int_equal(channel_index(c->name), (int)i);
    }
}

static void test_lookup_unknown(void **state)
{
    const struct alert_channel *c = channel_kinds[0];
    struct errinfo e;
    errinfo_clear(&e);
    assert_null(channel_find("pager"));
    assert_null(channel_find(NULL));
    assert_int_equal(channel_index("pager"), -1);
    assert_int_equal(channel_lookup("pager", "channels[1].type", &c, &e), ERR_INVALID);
    assert_null(c);
    assert_string_equal(e.msg, "channels[1].type must be one of email, slack, webhook, in_app");
    assert_int_equal(channel_lookup("slack", "type", &c, &e), 0);
    assert_ptr_equal(c, channel_find("slack"));
    assert_string_equal(c->name, "slack");
}

static int validate(const struct alert_channel *c, const char *json, char **clean,
                    struct errinfo *e)
{
    json_t *ch = json_loads(json, 0, NULL);
    json_t *out = json_object();
    errinfo_clear(e);
    int rc = c->validate(ch, out, "channels[0]", e);
    *clean = json_dumps(out, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(ch);
    json_decref(out);
    return rc;
}

static void test_validate(void **state)
{
    struct errinfo e;
    char *clean;
    assert_int_equal(validate(channel_find("webhook"),
                              "{\"target\":\"https://h.example/x\",\"secret\":\"0123456789abcdef\","
                              "\"extra\":1}",
                              &clean, &e),
                     0);
    assert_string_equal(clean,
                        "{\"secret\":\"0123456789abcdef\",\"target\":\"https://h.example/x\"}");
    free(clean);
    assert_int_equal(
        validate(channel_find("webhook"), "{\"target\":\"https://h.example/x\"}", &clean, &e),
        ERR_INVALID);
    assert_contains(e.msg, "channels[0].secret must be 16 to 256 characters");
    free(clean);
    assert_int_equal(validate(channel_find("slack"), "{\"target\":\"ftp://h\"}", &clean, &e),
                     ERR_INVALID);
    assert_contains(e.msg, "channels[0].target must be the http or https URL");
    free(clean);
    assert_int_equal(validate(channel_find("email"), "{}", &clean, &e), 0);
    assert_string_equal(clean, "{}");
    free(clean);
    assert_int_equal(validate(channel_find("email"), "{\"target\":\"not-an-address\"}", &clean, &e),
                     ERR_INVALID);
    free(clean);
    assert_int_equal(validate(channel_find("in_app"), "{\"target\":\"x\"}", &clean, &e),
                     ERR_INVALID);
    assert_contains(e.msg, "channels[0]: an in_app channel takes no target");
    free(clean);
}

/* Only in_app is delivered in the process; only webhook keeps a secret. */
static void test_flags(void **state)
{
    for (size_t i = 0; i < channel_nkinds; i++) {
        const struct alert_channel *c = channel_kinds[i];
        assert_int_equal(c->in_process, strcmp(c->name, "in_app") == 0);
        assert_int_equal(c->has_secret, strcmp(c->name, "webhook") == 0);
    }
}

static void test_stats_by_name(void **state)
{
    struct alert_stats s;
    memset(&s, 0, sizeof(s));
    snprintf(s.channels[0].channel, sizeof(s.channels[0].channel), "slack");
    s.channels[0].delivered = 3;
    s.channels[0].failed = 2;
    s.nchannels = 1;
    s.attempts = 5;
    int64_t d, f;
    alerts_stats_channel(&s, "slack", &d, &f);
    assert_int_equal(d, 3);
    assert_int_equal(f, 2);
    alerts_stats_channel(&s, "email", &d, &f);
    assert_int_equal(d, 0);
    assert_int_equal(f, 0);
    double rate;
    alerts_health(&s, &rate);
    assert_true(rate > 39.9 && rate < 40.1);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_channels_complete), cmocka_unit_test(test_lookup_unknown),
    cmocka_unit_test(test_validate),          cmocka_unit_test(test_flags),
    cmocka_unit_test(test_stats_by_name),
};

UNIT_GROUP(unit_alerts_channel, "alerts/channel", tests);
