#include "fixture_sql.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>

#include <cmocka.h>

/* sql prepared on db and stepped to its first row (the test fails otherwise). */
static sqlite3_stmt *first_row(sqlite3 *db, const char *sql)
{
    sqlite3_stmt *st;
    assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    return st;
}

long long fx_sql_int(sqlite3 *db, const char *sql)
{
    sqlite3_stmt *st = first_row(db, sql);
    long long v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return v;
}

const char *fx_sql_text(sqlite3 *db, const char *sql, char *buf, size_t cap)
{
    sqlite3_stmt *st = first_row(db, sql);
    const unsigned char *t = sqlite3_column_text(st, 0);
    snprintf(buf, cap, "%s", t ? (const char *)t : "");
    sqlite3_finalize(st);
    return buf;
}

void fx_sql_integrity_ok(sqlite3 *db)
{
    char ok[64];
    assert_string_equal(fx_sql_text(db, "PRAGMA integrity_check", ok, sizeof ok), "ok");
}
