/*
 * Tests for src/mail/send*.c and the message builder in src/mail/mime.c:
 * encoded headers, multipart/alternative, List-Unsubscribe, refused header
 * injection, the SendGrid and Resend request bodies, From parsing, the
 * status rule, and the chain's behaviour with no or unreachable providers.
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>

#include "base/arena.h"
#include "base/buf.h"
#include "base/config.h"
#include "base/err.h"
#include "mail/mime.h"
#include "mail/send.h"
#include "mail/send_int.h"
#include "unit/unit.h"

struct fixture {
    struct arena a;
    struct errinfo e;
    struct send_msg m;
};

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));
    assert_non_null(f);
    assert_int_equal(mime_init(), 0);
    arena_init(&f->a, NULL, 0);
    f->m = (struct send_msg){
        .from_email = "sales@example.com",
        .from_name = "Sales Team",
        .to_email = "ana@example.org",
        .to_name = "Ana Müller",
        .subject = "Grüße: your pricing question",
        .text = "Hello Ana,\nhere are our prices.\n",
        .html = "<p>Hello Ana,</p><p>here are our prices.</p>",
        .list_unsubscribe_url = "https://crm.example.com/u/tok123",
        .idempotency_key = "0b4f8a62-1c2d-4e5f-8a9b-0c1d2e3f4a5b",
        .message_id = "0b4f8a62-1c2d-4e5f-8a9b-0c1d2e3f4a5b@example.com",
    };
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    arena_release(&f->a);
    free(f);
    return 0;
}

static const char *build(struct fixture *f, size_t *len)
{
    const char *out = NULL;
    int rc = mime_build(&f->m, 1700000000000LL, &f->a, &out, len, &f->e);
    if (rc)
        fail_msg("mime_build: %s", f->e.msg);
    return out;
}

static void test_build_headers_encoded(void **state)
{
    struct fixture *f = *state;
    size_t len;
    const char *raw = build(f, &len);
    assert_contains(raw, "Subject: =?UTF-8?");
    assert_not_contains(raw, "Grüße");
    assert_contains(raw, "Message-Id: <0b4f8a62-1c2d-4e5f-8a9b-0c1d2e3f4a5b@example.com>");
    assert_contains(raw, "List-Unsubscribe: <https://crm.example.com/u/tok123>\r\n");
    assert_contains(raw, "List-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n");
    assert_contains(raw, "Date: ");
    assert_contains(raw, "MIME-Version: 1.0");
    /* Every line ends in CRLF. */
    for (size_t i = 0; i < len; i++)
        if (raw[i] == '\n' && (i == 0 || raw[i - 1] != '\r'))
            fail_msg("a bare LF at byte %zu", i);

    /* Read back, the headers say what was given. */
    struct mail_msg back;
    assert_int_equal(mime_parse(raw, len, &f->a, &back, &f->e), 0);
    assert_string_equal(back.subject, f->m.subject);
    assert_string_equal(back.from.email, "sales@example.com");
    assert_string_equal(back.from.name, "Sales Team");
    assert_int_equal(back.nto, 1);
    assert_string_equal(back.to[0].name, "Ana Müller");
    assert_string_equal(back.message_id, f->m.message_id);
    assert_int_equal(back.date_ms, 1700000000000LL);
    assert_contains(back.body_text, "here are our prices.");
}

static void test_build_multipart_alternative(void **state)
{
    struct fixture *f = *state;
    size_t len;
    const char *raw = build(f, &len);
    assert_contains(raw, "Content-Type: multipart/alternative");
    const char *plain = strstr(raw, "Content-Type: text/plain");
    const char *html = strstr(raw, "Content-Type: text/html");
    assert_non_null(plain);
    assert_non_null(html);
    assert_true(plain < html); /* the preferred part comes last (RFC 2046 5.1.4) */
}

static void test_build_text_only(void **state)
{
    struct fixture *f = *state;
    f->m.html = NULL;
    f->m.list_unsubscribe_url = NULL;
    size_t len;
    const char *raw = build(f, &len);
    assert_not_contains(raw, "multipart");
    assert_contains(raw, "Content-Type: text/plain");
    assert_not_contains(raw, "List-Unsubscribe");
}

static void test_build_refuses_injection(void **state)
{
    struct fixture *f = *state;
    const char *out;
    size_t len;
    f->m.subject = "Hello\r\nBcc: victim@example.net";
    assert_int_equal(mime_build(&f->m, 0, &f->a, &out, &len, &f->e), ERR_INVALID);
    assert_contains(f->e.msg, "subject");
    f->m.subject = "Hello\nBcc: victim@example.net";
    assert_int_equal(mime_build(&f->m, 0, &f->a, &out, &len, &f->e), ERR_INVALID);
    f->m.subject = "fine";
    f->m.to_name = "Ana\r\nBcc: victim@example.net";
    assert_int_equal(mime_build(&f->m, 0, &f->a, &out, &len, &f->e), ERR_INVALID);
    f->m.to_name = NULL;
    f->m.list_unsubscribe_url = "https://x.example/u/1>\r\nBcc: v@example.net";
    assert_int_equal(mime_build(&f->m, 0, &f->a, &out, &len, &f->e), ERR_INVALID);
    f->m.list_unsubscribe_url = NULL;
    f->m.message_id = "a@b>\r\nBcc: v@example.net";
    assert_int_equal(mime_build(&f->m, 0, &f->a, &out, &len, &f->e), ERR_INVALID);
}

static void test_build_name_with_specials_is_quoted(void **state)
{
    struct fixture *f = *state;
    f->m.to_name = "Doe, Jane \"JD\"";
    size_t len;
    const char *raw = build(f, &len);
    struct mail_msg back;
    assert_int_equal(mime_parse(raw, len, &f->a, &back, &f->e), 0);
    assert_int_equal(back.nto, 1);
    assert_string_equal(back.to[0].email, "ana@example.org");
    assert_string_equal(back.to[0].name, "Doe, Jane \"JD\"");
}

static json_t *body_json(int (*fn)(const struct send_msg *, struct buf *), const struct send_msg *m)
{
    struct buf b;
    buf_init(&b, 1 << 20);
    assert_int_equal(fn(m, &b), 0);
    json_t *j = unit_json(buf_str(&b));
    buf_release(&b);
    return j;
}

static void test_sendgrid_body(void **state)
{
    struct fixture *f = *state;
    json_t *j = body_json(send_sendgrid_body, &f->m);
    json_t *to = json_array_get(
        json_object_get(json_array_get(json_object_get(j, "personalizations"), 0), "to"), 0);
    assert_string_equal(json_string_value(json_object_get(to, "email")), "ana@example.org");
    assert_string_equal(json_string_value(json_object_get(to, "name")), "Ana Müller");
    json_t *from = json_object_get(j, "from");
    assert_string_equal(json_string_value(json_object_get(from, "email")), "sales@example.com");
    assert_string_equal(json_string_value(json_object_get(j, "subject")), f->m.subject);
    json_t *content = json_object_get(j, "content");
    assert_int_equal(json_array_size(content), 2);
    assert_string_equal(json_string_value(json_object_get(json_array_get(content, 0), "type")),
                        "text/plain");
    assert_string_equal(json_string_value(json_object_get(json_array_get(content, 1), "type")),
                        "text/html");
    json_t *h = json_object_get(j, "headers");
    assert_string_equal(json_string_value(json_object_get(h, "List-Unsubscribe")),
                        "<https://crm.example.com/u/tok123>");
    assert_string_equal(json_string_value(json_object_get(h, "List-Unsubscribe-Post")),
                        "List-Unsubscribe=One-Click");
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(j, "custom_args"), "idempotency_key")),
        f->m.idempotency_key);
    json_decref(j);
}

static void test_resend_body(void **state)
{
    struct fixture *f = *state;
    f->m.from_name = "Acme, Inc.";
    json_t *j = body_json(send_resend_body, &f->m);
    assert_string_equal(json_string_value(json_object_get(j, "from")),
                        "\"Acme, Inc.\" <sales@example.com>");
    assert_string_equal(json_string_value(json_array_get(json_object_get(j, "to"), 0)),
                        "Ana Müller <ana@example.org>");
    assert_string_equal(json_string_value(json_object_get(j, "text")), f->m.text);
    assert_string_equal(json_string_value(json_object_get(j, "html")), f->m.html);
    json_t *h = json_object_get(j, "headers");
    assert_string_equal(json_string_value(json_object_get(h, "List-Unsubscribe")),
                        "<https://crm.example.com/u/tok123>");
    json_decref(j);
}

static void test_parse_from(void **state)
{
    struct fixture *f = *state;
    const char *name, *addr;
    assert_int_equal(send_parse_from("Sales <sales@example.com>", &f->a, &name, &addr, &f->e), 0);
    assert_string_equal(name, "Sales");
    assert_string_equal(addr, "sales@example.com");
    assert_int_equal(send_parse_from("\"Acme, Inc.\" <a@example.com>", &f->a, &name, &addr, &f->e),
                     0);
    assert_string_equal(name, "Acme, Inc.");
    assert_int_equal(send_parse_from("bare@example.com", &f->a, &name, &addr, &f->e), 0);
    assert_null(name);
    assert_string_equal(addr, "bare@example.com");
    assert_int_equal(send_parse_from(NULL, &f->a, &name, &addr, &f->e), 0);
    assert_string_equal(addr, "noreply@localhost");
    assert_int_equal(send_parse_from("Sales <not an address>", &f->a, &name, &addr, &f->e),
                     ERR_INVALID);
    assert_int_equal(
        send_parse_from("S <a@example.com>\r\nBcc: x@example.com", &f->a, &name, &addr, &f->e),
        ERR_INVALID);
}

static void test_http_outcome(void **state)
{
    (void)state;
    assert_int_equal(send_http_outcome(202), 0);
    assert_int_equal(send_http_outcome(200), 0);
    assert_int_equal(send_http_outcome(400), ERR_INVALID);
    assert_int_equal(send_http_outcome(422), ERR_INVALID);
    assert_int_equal(send_http_outcome(429), ERR_TEMPORARY);
    assert_int_equal(send_http_outcome(500), ERR_TEMPORARY);
    assert_int_equal(send_http_outcome(503), ERR_TEMPORARY);
    /* The provider's own refusals: the next provider is tried, no bounce. */
    assert_int_equal(send_http_outcome(401), ERR_TEMPORARY);
    assert_int_equal(send_http_outcome(403), ERR_TEMPORARY);
    assert_int_equal(send_http_outcome(404), ERR_TEMPORARY);
    const char sg[] = "{\"errors\":[{\"message\":\"bad\",\"field\":\"from.email\"}]}";
    const char rs[] = "{\"name\":\"validation_error\",\"message\":\"Invalid `from` field.\"}";
    const char to[] = "{\"errors\":[{\"message\":\"bad\",\"field\":\"personalizations.0.to\"}]}";
    assert_true(send_error_names_sender(sg, strlen(sg)));
    assert_true(send_error_names_sender(rs, strlen(rs)));
    assert_false(send_error_names_sender(to, strlen(to)));
    assert_false(send_error_names_sender("", 0));
}

static void test_error_message(void **state)
{
    (void)state;
    char out[128];
    const char *sg = "{\"errors\":[{\"message\":\"The to email is invalid\",\"field\":\"x\"}]}";
    send_error_message(sg, strlen(sg), out, sizeof(out));
    assert_string_equal(out, "The to email is invalid");
    const char *rs = "{\"statusCode\":422,\"name\":\"validation_error\",\"message\":\"bad to\"}";
    send_error_message(rs, strlen(rs), out, sizeof(out));
    assert_string_equal(out, "bad to");
    send_error_message("not json", 8, out, sizeof(out));
    assert_string_equal(out, "");
}

static void test_chain_empty_and_unreachable(void **state)
{
    struct fixture *f = *state;
    struct config cfg;
    config_init(&cfg);
    struct send_chain *c = send_chain_new(&cfg, &f->e);
    assert_non_null(c);
    assert_int_equal(send_chain_size(c), 0);
    struct send_result r;
    assert_int_equal(send_chain_send(c, NULL, "w", &f->m, &r, NULL, &f->e), ERR_TEMPORARY);
    assert_contains(f->e.msg, "no email provider");
    send_chain_free(c);

    /* Order is kept; unconfigured providers are left out. */
    struct errinfo ce;
    assert_int_equal(config_set(&cfg, "send_order", "resend,sendgrid", "test", &ce), 0);
    assert_int_equal(config_set(&cfg, "sendgrid_api_key", "SG.key", "test", &ce), 0);
    assert_int_equal(config_set(&cfg, "sendgrid_api_url", "http://127.0.0.1:1", "test", &ce), 0);
    assert_int_equal(config_set(&cfg, "resend_api_key", "re_key", "test", &ce), 0);
    assert_int_equal(config_set(&cfg, "resend_api_url", "http://127.0.0.1:1", "test", &ce), 0);
    assert_int_equal(config_set(&cfg, "send_timeout_ms", "1000", "test", &ce), 0);
    c = send_chain_new(&cfg, &f->e);
    assert_int_equal(send_chain_size(c), 2);
    assert_int_equal(send_chain_send(c, NULL, "w", &f->m, &r, NULL, &f->e), ERR_TEMPORARY);
    assert_string_equal(r.provider, "sendgrid"); /* the last one tried */

    /* A header with a line break stops before any provider. */
    f->m.subject = "x\r\nBcc: y@example.com";
    assert_int_equal(send_chain_send(c, NULL, "w", &f->m, &r, NULL, &f->e), ERR_INVALID);
    send_chain_free(c);

    assert_int_equal(config_set(&cfg, "mail_from", "not an address", "test", &ce), 0);
    assert_null(send_chain_new(&cfg, &f->e));
    assert_int_equal(f->e.code, ERR_CONFIG);
    config_release(&cfg);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test_setup_teardown(test_build_headers_encoded, setup, teardown),
    cmocka_unit_test_setup_teardown(test_build_multipart_alternative, setup, teardown),
    cmocka_unit_test_setup_teardown(test_build_text_only, setup, teardown),
    cmocka_unit_test_setup_teardown(test_build_refuses_injection, setup, teardown),
    cmocka_unit_test_setup_teardown(test_build_name_with_specials_is_quoted, setup, teardown),
    cmocka_unit_test_setup_teardown(test_sendgrid_body, setup, teardown),
    cmocka_unit_test_setup_teardown(test_resend_body, setup, teardown),
    cmocka_unit_test_setup_teardown(test_parse_from, setup, teardown),
    cmocka_unit_test_setup_teardown(test_http_outcome, setup, teardown),
    cmocka_unit_test_setup_teardown(test_error_message, setup, teardown),
    cmocka_unit_test_setup_teardown(test_chain_empty_and_unreachable, setup, teardown),
};

UNIT_GROUP(unit_mail_send, "mail/send", tests);
