/* Unit tests for the audit trail's hash chain (core/journal_chain.c): a trail written through the journal verifies;
 * editing a row, deleting a row, deleting or editing a link, or inserting a row behind portier's back is found and
 * the first broken link named; retention removes rows and links and says so (the trail still verifies); rows of a
 * version-2 database are adopted by the migration; every link is handed to the independent copy. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/journal.h"
#include "fixture_sql.h"

static char dir[256], path[320];
static int copies;
static char last_stage[16];

static int setup(void **state)
{
    (void)state;
    snprintf(dir, sizeof dir, "%s/portier-chain.XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/journal.db", dir);
    copies = 0;
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    char cmd[400];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    return system(cmd) == 0 ? 0 : -1;
}

static void copy(const struct audit_record *rec, const char *stage, int64_t seq, const char *hash, void *arg)
{
    (void)rec;
    (void)arg;
    assert_true(seq > 0);
    assert_int_equal(strlen(hash), 64);
    snprintf(last_stage, sizeof last_stage, "%s", stage);
    copies++;
}

static struct journal *open_j(uint64_t rows)
{
    char err[256];
    struct journal_opts o = { .path = path, .retention_rows = rows };
    struct journal *j = journal_open(&o, err, sizeof err);
    if (!j)
        fprintf(stderr, "%s\n", err);
    assert_non_null(j);
    journal_set_audit_copy(j, copy, NULL);
    return j;
}

static int64_t write_action(struct journal *j, const char *user, const char *action, const char *result)
{
    struct audit_record r;
    memset(&r, 0, sizeof r);
    snprintf(r.user, sizeof r.user, "%s", user);
    snprintf(r.role, sizeof r.role, "operator");
    snprintf(r.action, sizeof r.action, "%s", action);
    snprintf(r.target, sizeof r.target, "Main entrance");
    if (strcmp(result, "denied") == 0) {
        snprintf(r.result, sizeof r.result, "denied");
        snprintf(r.detail, sizeof r.detail, "needs the operator role");
        r.done_us = 5;
    }
    assert_int_equal(journal_audit_begin(j, &r), 0);
    if (strcmp(result, "denied") != 0 && strcmp(result, "pending") != 0)
        assert_int_equal(journal_audit_finish(j, r.id, result, "Main entrance: ok", 0), 0);
    return r.id;
}

static void sql(const char *stmt)
{
    sqlite3 *db;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    char *msg = NULL;
    int rc = sqlite3_exec(db, stmt, NULL, NULL, &msg);
    if (rc != SQLITE_OK)
        fprintf(stderr, "%s: %s\n", stmt, msg);
    assert_int_equal(rc, SQLITE_OK);
    sqlite3_close(db);
}

static struct journal_verify_result verify(void)
{
    char err[256];
    struct journal_opts o = { .path = path, .readonly = true };
    struct journal *r = journal_open(&o, err, sizeof err);
    assert_non_null(r);
    struct journal_verify_result v;
    assert_int_equal(journal_audit_verify(r, &v), 0);
    journal_close(r);
    return v;
}

static void test_verifies(void **state)
{
    (void)state;
    struct journal *j = open_j(0);
    int64_t a = write_action(j, "alice", "door-open", "ok");
    write_action(j, "bob", "door-open", "denied");
    int64_t c = write_action(j, "carol", "emergency-on", "pending");
    assert_int_equal(copies, 5); /* written + completed, written + completed (denied), written */
    assert_int_equal(journal_audit_finish(j, c, "partial", "Lab: timeout", 0), 0);
    assert_string_equal(last_stage, "completed");
    journal_close(j);
    struct journal_verify_result v = verify();
    assert_true(v.ok);
    assert_int_equal(v.links, 6);
    assert_int_equal(v.rows, 3);
    assert_int_equal(v.first_seq, 1);
    (void)a;
}

static void expect_broken(const char *tamper, const char *what, int64_t seq)
{
    sql(tamper);
    struct journal_verify_result v = verify();
    assert_false(v.ok);
    if (!strstr(v.error, what))
        fprintf(stderr, "verify says: %s\n", v.error);
    assert_non_null(strstr(v.error, what));
    assert_int_equal(v.bad_seq, seq);
}

static void fill(void)
{
    struct journal *j = open_j(0);
    for (int i = 0; i < 5; i++)
        write_action(j, "alice", "door-open", "ok"); /* row i+1: links 2i+1, 2i+2 */
    journal_close(j);
    assert_true(verify().ok);
}

static void test_edited_row(void **state)
{
    (void)state;
    fill();
    expect_broken("UPDATE audit SET result = 'failed' WHERE id = 3", "audit row #3 was changed", 6);
}

static void test_deleted_row(void **state)
{
    (void)state;
    fill();
    expect_broken("DELETE FROM audit WHERE id = 2", "audit row #2 was deleted", 3);
}

static void test_deleted_row_and_links(void **state)
{
    (void)state;
    fill();
    expect_broken("DELETE FROM audit WHERE id = 2; DELETE FROM audit_chain WHERE audit_id = 2",
                  "audit link #3 is missing", 3);
}

static void test_rewritten_link(void **state)
{
    (void)state;
    fill();
    /* the row and its link's digest both changed (the hash of the link no longer holds) */
    sql("UPDATE audit SET user = 'mallory' WHERE id = 4");
    struct journal_verify_result v = verify();
    assert_false(v.ok);
    assert_int_equal(v.bad_audit_id, 4);
    expect_broken("UPDATE audit_chain SET digest = zeroblob(32) WHERE seq = 8", "audit link #8 (row #4) was changed", 8);
}

static void test_row_behind_portiers_back(void **state)
{
    (void)state;
    fill();
    sql("INSERT INTO audit(time_us,user,role,action) VALUES(9,'mallory','technician','door-open')");
    struct journal_verify_result v = verify();
    assert_false(v.ok);
    assert_int_equal(v.bad_seq, 0);
    assert_int_equal(v.bad_audit_id, 6);
    assert_non_null(strstr(v.error, "audit row #6 has no link"));
}

static void test_retention(void **state)
{
    (void)state;
    struct journal *j = open_j(4);
    for (int i = 0; i < 1200; i++)
        write_action(j, "alice", "door-open", i % 7 ? "ok" : "denied");
    journal_prune(j, 0);
    journal_close(j);
    struct journal_verify_result v = verify();
    if (!v.ok)
        fprintf(stderr, "%s\n", v.error);
    assert_true(v.ok);
    assert_true(v.first_seq > 1);
    assert_true(v.rows <= 5);
    /* removing the oldest links that are left is not retention */
    char stmt[96];
    snprintf(stmt, sizeof stmt, "DELETE FROM audit_chain WHERE seq = %lld", (long long)v.first_seq);
    expect_broken(stmt, "are missing", v.first_seq);
}

static void test_adopted_rows(void **state)
{
    (void)state;
    sqlite3 *db;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    const char *v2 =
        "CREATE TABLE events (" FX_SQL_EVENTS_V1_COLUMNS ", acked_by TEXT, acked_us INTEGER NOT NULL DEFAULT 0);"
        FX_SQL_AUDIT_V1
        "INSERT INTO audit(time_us,user,role,action,result) VALUES(1,'root','technician','reload-config','ok');"
        "INSERT INTO audit(time_us,user,role,action,result) VALUES(2,'bob','guard','door-open','denied');"
        "PRAGMA user_version=2;";
    assert_int_equal(sqlite3_exec(db, v2, NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);
    struct journal *j = open_j(0);
    assert_int_equal(journal_schema_version(j), JOURNAL_SCHEMA_VERSION);
    write_action(j, "alice", "door-open", "ok");
    journal_close(j);
    struct journal_verify_result v = verify();
    assert_true(v.ok);
    assert_int_equal(v.rows, 3);
    assert_int_equal(v.links, 4);
    expect_broken("UPDATE audit SET user = 'root' WHERE id = 2", "audit row #2 was changed", 2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_verifies, setup, teardown),
        cmocka_unit_test_setup_teardown(test_edited_row, setup, teardown),
        cmocka_unit_test_setup_teardown(test_deleted_row, setup, teardown),
        cmocka_unit_test_setup_teardown(test_deleted_row_and_links, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rewritten_link, setup, teardown),
        cmocka_unit_test_setup_teardown(test_row_behind_portiers_back, setup, teardown),
        cmocka_unit_test_setup_teardown(test_retention, setup, teardown),
        cmocka_unit_test_setup_teardown(test_adopted_rows, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
