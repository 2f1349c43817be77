/* fixture_sql: what the journal unit tests that look into the SQLite file share: one value read with SQL, the
 * file's integrity checked, and the tables older portier versions wrote. */
#ifndef PORTIER_TESTS_FIXTURE_SQL_H
#define PORTIER_TESTS_FIXTURE_SQL_H

#include <stddef.h>

#include <sqlite3.h>

/* The columns of the events table of schema versions 1 and 2 (version 2 adds acked_by and acked_us after them). */
#define FX_SQL_EVENTS_V1_COLUMNS                                                                                   \
    "id INTEGER PRIMARY KEY, host_us INTEGER NOT NULL, kind INTEGER NOT NULL,"                                     \
    " severity INTEGER NOT NULL, device_time INTEGER NOT NULL DEFAULT 0, device_tz INTEGER,"                       \
    " device TEXT NOT NULL DEFAULT '', door TEXT NOT NULL DEFAULT '', door_no INTEGER NOT NULL DEFAULT 0,"         \
    " code INTEGER NOT NULL DEFAULT -1, code_name TEXT NOT NULL DEFAULT '', card INTEGER NOT NULL DEFAULT 0,"      \
    " pin INTEGER NOT NULL DEFAULT 0, verify INTEGER NOT NULL DEFAULT -1, inout INTEGER NOT NULL DEFAULT -1,"      \
    " uid TEXT NOT NULL DEFAULT '', unit INTEGER NOT NULL DEFAULT -1, addr TEXT NOT NULL DEFAULT '',"              \
    " text TEXT NOT NULL DEFAULT '', key TEXT UNIQUE"
/* The audit table of schema versions 1 and 2. */
#define FX_SQL_AUDIT_V1                                                                                            \
    "CREATE TABLE audit (id INTEGER PRIMARY KEY, time_us INTEGER NOT NULL, user TEXT NOT NULL,"                    \
    " role TEXT NOT NULL, action TEXT NOT NULL, target TEXT NOT NULL DEFAULT '', params TEXT NOT NULL"            \
    " DEFAULT '', result TEXT NOT NULL DEFAULT 'pending', detail TEXT NOT NULL DEFAULT '',"                        \
    " done_us INTEGER NOT NULL DEFAULT 0);"

/* The first column of the first row sql gives on db, as an integer (the test fails when there is no row). */
long long fx_sql_int(sqlite3 *db, const char *sql);
/* ... as text into buf (cap bytes); buf. */
const char *fx_sql_text(sqlite3 *db, const char *sql, char *buf, size_t cap);
/* PRAGMA integrity_check on db answers "ok". */
void fx_sql_integrity_ok(sqlite3 *db);

#endif
