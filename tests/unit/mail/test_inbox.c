/*
 * Tests for src/mail/inbox.c: the mbox splitter, file sources over .eml,
 * mbox and Maildir paths (with the reasons given for files that cannot be
 * read), progress, and the memory source.
 */
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

#include "base/err.h"
#include "mail/inbox.h"
#include "unit/unit.h"

static const char mbox3[] = "From alice@example.org Mon Jan  1 10:00:00 2024\n"
                            "From: Alice <alice@example.org>\n"
                            "Subject: one\n"
                            "\n"
                            "First body.\n"
                            ">From the archive: quoted, not a separator.\n"
                            "From here on the body goes: no time of day, not a separator.\n"
                            "\n"
                            "From bob@example.org Tue Jan  2 11:30:00 2024\n"
                            "From: Bob <bob@example.org>\n"
                            "Subject: two\n"
                            "\n"
                            "Second body.\n"
                            "\n"
                            "From carol@example.org Wed Jan  3 12:45:00 2024\n"
                            "From: Carol <carol@example.org>\n"
                            "Subject: three\n"
                            "\n"
                            "Third body.\n";

struct dirs {
    char *dir;
};

static int setup(void **state)
{
    struct dirs *d = calloc(1, sizeof(*d));
    assert_non_null(d);
    d->dir = unit_tmpdir();
    *state = d;
    return 0;
}

static int teardown(void **state)
{
    struct dirs *d = *state;
    unit_rmtree(d->dir);
    free(d->dir);
    free(d);
    return 0;
}

/* Writes dir/name and returns the path (free() it). */
static char *write_in(const char *dir, const char *name, const char *data, size_t n)
{
    char *p = unit_path(dir, name);
    unit_write_file(p, data, n);
    return p;
}

static void test_mbox_next_splits(void **state)
{
    size_t pos = 0, start, len, n = 0;
    const char *bodies[] = {"From: Alice", "From: Bob", "From: Carol"};
    while (mbox_next(mbox3, sizeof(mbox3) - 1, &pos, &start, &len) == 1) {
        assert_true(n < 3);
        assert_true(start + len <= sizeof(mbox3) - 1);
        assert_memory_equal(mbox3 + start, bodies[n], strlen(bodies[n]));
        n++;
    }
    assert_int_equal(n, 3);
    assert_int_equal(pos, sizeof(mbox3) - 1);
    /* The first message keeps its quoted and unquoted "From " lines. */
    pos = 0;
    assert_int_equal(mbox_next(mbox3, sizeof(mbox3) - 1, &pos, &start, &len), 1);
    char *first = strndup(mbox3 + start, len);
    assert_contains(first, "\n>From the archive");
    assert_contains(first, "\nFrom here on the body goes");
    assert_true(first[len - 1] == '\n' && first[len - 2] != '\n'); /* separator blank dropped */
    free(first);
}

static void test_mbox_next_crlf(void **state)
{
    static const char crlf[] = "From a@example.org Mon Jan  1 10:00:00 2024\r\n"
                               "From: a@example.org\r\n\r\nOne.\r\n\r\n"
                               "From b@example.org Mon Jan  1 10:00:01 2024\r\n"
                               "From: b@example.org\r\n\r\nTwo.\r\n";
    size_t pos = 0, start, len;
    assert_int_equal(mbox_next(crlf, sizeof(crlf) - 1, &pos, &start, &len), 1);
    assert_int_equal(len, strlen("From: a@example.org\r\n\r\nOne.\r\n"));
    assert_memory_equal(crlf + start, "From: a@example.org\r\n\r\nOne.\r\n", len);
    assert_int_equal(mbox_next(crlf, sizeof(crlf) - 1, &pos, &start, &len), 1);
    assert_memory_equal(crlf + start, "From: b@example.org\r\n\r\nTwo.\r\n", len);
    assert_int_equal(mbox_next(crlf, sizeof(crlf) - 1, &pos, &start, &len), 0);
}

static void test_mbox_next_edges(void **state)
{
    size_t pos = 0, start, len;
    assert_int_equal(mbox_next("", 0, &pos, &start, &len), 0);
    /* A separator with nothing after it. */
    static const char bare[] = "From x Mon Jan  1 10:00:00 2024";
    pos = 0;
    assert_int_equal(mbox_next(bare, sizeof(bare) - 1, &pos, &start, &len), 1);
    assert_int_equal(len, 0);
    assert_int_equal(mbox_next(bare, sizeof(bare) - 1, &pos, &start, &len), 0);
}

static void test_files_mbox(void **state)
{
    struct dirs *d = *state;
    char *path = write_in(d->dir, "inbox.mbox", mbox3, sizeof(mbox3) - 1);
    const char *paths[] = {path};
    struct errinfo e = {0};
    struct inbox *in = inbox_files_new(paths, 1, &e);
    assert_non_null(in);
    struct inbox_msg m;
    char want[4200];
    uint64_t done, total;
    in->ops->progress(in, &done, &total);
    assert_true(done == 0 && total == sizeof(mbox3) - 1);
    for (int i = 1; i <= 3; i++) {
        assert_int_equal(inbox_next(in, &m, &e), 1);
        snprintf(want, sizeof(want), "%s#%d", path, i);
        assert_string_equal(m.origin, want);
        assert_memory_equal(m.raw, "From: ", 6);
    }
    assert_int_equal(inbox_next(in, &m, &e), 0);
    in->ops->progress(in, &done, &total);
    assert_true(done == total);
    inbox_free(in);
    free(path);
}

static void test_files_crlf_mbox(void **state)
{
    struct dirs *d = *state;
    static const char crlf[] = "From a@example.org Mon Jan  1 10:00:00 2024\r\n"
                               "From: a@example.org\r\n\r\nOne.\r\n\r\n"
                               "From b@example.org Mon Jan  1 10:00:01 2024\r\n"
                               "From: b@example.org\r\n\r\nTwo.\r\n";
    char *path = write_in(d->dir, "crlf.mbox", crlf, sizeof(crlf) - 1);
    const char *paths[] = {path};
    struct errinfo e = {0};
    struct inbox *in = inbox_files_new(paths, 1, &e);
    struct inbox_msg m;
    int n = 0;
    while (inbox_next(in, &m, &e) == 1) {
        assert_memory_equal(m.raw, "From: ", 6);
        n++;
    }
    assert_int_equal(n, 2);
    inbox_free(in);
    free(path);
}

static void test_files_maildir(void **state)
{
    struct dirs *d = *state;
    char *md = unit_path(d->dir, "Maildir");
    char *cur = unit_path(md, "cur"), *nw = unit_path(md, "new"), *tmp = unit_path(md, "tmp");
    assert_int_equal(mkdir(md, 0700), 0);
    assert_int_equal(mkdir(cur, 0700), 0);
    assert_int_equal(mkdir(nw, 0700), 0);
    assert_int_equal(mkdir(tmp, 0700), 0);
    free(write_in(nw, "1700000003.M3.host", "From: c@example.org\n\nc\n", (size_t)-1));
    free(write_in(cur, "1700000002.M2.host:2,S", "From: b@example.org\n\nb\n", (size_t)-1));
    free(write_in(cur, "1700000001.M1.host:2,S", "From: a@example.org\n\na\n", (size_t)-1));
    free(write_in(tmp, "1700000009.M9.host", "From: tmp@example.org\n\nx\n", (size_t)-1));
    free(write_in(cur, ".hidden", "From: hidden@example.org\n\nx\n", (size_t)-1));
    const char *paths[] = {md};
    struct errinfo e = {0};
    struct inbox *in = inbox_files_new(paths, 1, &e);
    assert_non_null(in);
    struct inbox_msg m;
    const char *want[] = {"From: a@", "From: b@", "From: c@"};
    for (int i = 0; i < 3; i++) {
        assert_int_equal(inbox_next(in, &m, &e), 1);
        assert_memory_equal(m.raw, want[i], strlen(want[i]));
        assert_contains(m.origin, md);
        assert_not_contains(m.origin, "#");
    }
    assert_int_equal(inbox_next(in, &m, &e), 0);
    inbox_free(in);
    free(md);
    free(cur);
    free(nw);
    free(tmp);
}

static void test_files_mixed_and_missing(void **state)
{
    struct dirs *d = *state;
    char *eml = write_in(d->dir, "one.eml", "From: one@example.org\n\nOne.\n", (size_t)-1);
    char *mbox = write_in(d->dir, "two.mbox", mbox3, sizeof(mbox3) - 1);
    char *missing = unit_path(d->dir, "nope.eml");
    char *bin = unit_path(d->dir, "photo.jpg");
    char junk[600];
    for (size_t i = 0; i < sizeof(junk); i++)
        junk[i] = (char)(i * 7);
    unit_write_file(bin, junk, sizeof(junk));
    char *empty = write_in(d->dir, "empty.eml", "", 0);
    char *text = write_in(d->dir, "notes.txt", "just some notes\nno headers\n", (size_t)-1);
    const char *paths[] = {eml, missing, mbox, bin, empty, text};
    struct errinfo e = {0};
    struct inbox *in = inbox_files_new(paths, 6, &e);
    assert_non_null(in);
    struct inbox_msg m;
    assert_int_equal(inbox_next(in, &m, &e), 1);
    assert_string_equal(m.origin, eml);
    assert_int_equal(inbox_next(in, &m, &e), ERR_IO);
    assert_contains(e.msg, missing);
    assert_contains(e.msg, "No such file or directory");
    for (int i = 0; i < 3; i++)
        assert_int_equal(inbox_next(in, &m, &e), 1);
    assert_int_equal(inbox_next(in, &m, &e), ERR_INVALID);
    assert_contains(e.msg, "photo.jpg: not an email message or mbox");
    assert_int_equal(inbox_next(in, &m, &e), ERR_INVALID);
    assert_contains(e.msg, "empty.eml: empty file");
    assert_int_equal(inbox_next(in, &m, &e), ERR_INVALID);
    assert_contains(e.msg, "notes.txt: not an email message or mbox");
    assert_int_equal(inbox_next(in, &m, &e), 0);
    uint64_t done, total;
    in->ops->progress(in, &done, &total);
    assert_true(done == total);
    inbox_free(in);
    free(eml);
    free(mbox);
    free(missing);
    free(bin);
    free(empty);
    free(text);
}

static void test_files_binary_mbox(void **state)
{
    struct dirs *d = *state;
    /* "From " first, then binary: still not an mbox. */
    char data[300] = "From x Mon Jan  1 10:00:00 2024\n";
    for (size_t i = 40; i < sizeof(data); i++)
        data[i] = (char)i;
    char *path = write_in(d->dir, "bin.mbox", data, sizeof(data));
    const char *paths[] = {path};
    struct errinfo e = {0};
    struct inbox *in = inbox_files_new(paths, 1, &e);
    struct inbox_msg m;
    assert_int_equal(inbox_next(in, &m, &e), ERR_INVALID);
    assert_contains(e.msg, "not an email message or mbox");
    assert_int_equal(inbox_next(in, &m, &e), 0);
    inbox_free(in);
    free(path);
}

static void test_files_nothing_usable(void **state)
{
    struct dirs *d = *state;
    char *missing = unit_path(d->dir, "missing");
    const char *paths[] = {missing};
    struct errinfo e = {0};
    assert_null(inbox_files_new(paths, 1, &e));
    assert_int_equal(e.code, ERR_IO);
    assert_contains(e.msg, "No such file or directory");
    free(missing);
}

static void test_files_plain_directory_walked(void **state)
{
    struct dirs *d = *state;
    char *sub = unit_path(d->dir, "sub");
    assert_int_equal(mkdir(sub, 0700), 0);
    free(write_in(d->dir, "b.eml", "From: b@example.org\n\nb\n", (size_t)-1));
    free(write_in(sub, "a.eml", "From: a@example.org\n\na\n", (size_t)-1));
    const char *paths[] = {d->dir};
    struct errinfo e = {0};
    struct inbox *in = inbox_files_new(paths, 1, &e);
    struct inbox_msg m;
    assert_int_equal(inbox_next(in, &m, &e), 1);
    assert_memory_equal(m.raw, "From: b@", 8); /* "b.eml" sorts before "sub" */
    assert_int_equal(inbox_next(in, &m, &e), 1);
    assert_memory_equal(m.raw, "From: a@", 8);
    assert_int_equal(inbox_next(in, &m, &e), 0);
    inbox_free(in);
    free(sub);
}

static void test_memory_source(void **state)
{
    struct inbox *in = inbox_memory_new(mbox3, sizeof(mbox3) - 1, "upload-7");
    struct inbox_msg m;
    struct errinfo e = {0};
    int n = 0;
    while (inbox_next(in, &m, &e) == 1)
        n++;
    assert_int_equal(n, 3);
    assert_string_equal(m.origin, "upload-7#3");
    uint64_t done, total;
    in->ops->progress(in, &done, &total);
    assert_true(done == total && total == sizeof(mbox3) - 1);
    inbox_free(in);

    static const char one[] = "From: x@example.org\n\nhello\n";
    in = inbox_memory_new(one, sizeof(one) - 1, NULL);
    assert_int_equal(inbox_next(in, &m, &e), 1);
    assert_int_equal(m.len, sizeof(one) - 1);
    assert_string_equal(m.origin, "upload");
    assert_int_equal(inbox_next(in, &m, &e), 0);
    inbox_free(in);

    in = inbox_memory_new("", 0, "empty");
    assert_int_equal(inbox_next(in, &m, &e), 0);
    inbox_free(in);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_mbox_next_splits),
    cmocka_unit_test(test_mbox_next_crlf),
    cmocka_unit_test(test_mbox_next_edges),
    cmocka_unit_test_setup_teardown(test_files_mbox, setup, teardown),
    cmocka_unit_test_setup_teardown(test_files_crlf_mbox, setup, teardown),
    cmocka_unit_test_setup_teardown(test_files_maildir, setup, teardown),
    cmocka_unit_test_setup_teardown(test_files_mixed_and_missing, setup, teardown),
    cmocka_unit_test_setup_teardown(test_files_binary_mbox, setup, teardown),
    cmocka_unit_test_setup_teardown(test_files_nothing_usable, setup, teardown),
    cmocka_unit_test_setup_teardown(test_files_plain_directory_walked, setup, teardown),
    cmocka_unit_test(test_memory_source),
};

UNIT_GROUP(unit_mail_inbox, "mail/inbox", tests);
