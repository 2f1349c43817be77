/* Unit tests for c3_store against a simulated panel in the same loop: users, cards, access, time zones and
 * holidays round-trip through CSV exactly (both firmware layouts, thousands of users through the big-data
 * transfer); a bad row is refused with its line and field and nothing is written; a dry run shows the difference
 * and writes nothing; add / set / delete by key; raw tables by field; the list of tables with row counts. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "drivers/c3/c3_frame.h"
#include "drivers/c3/c3_store.h"
#include "sim/c3sim_net.h"

#include "fixture.h"
#include "fixture_c3.h"

struct fx {
    struct fx_c3 c; /* the loop, the simulated panel, the session */
    bool done;
    int err;
    char msg[600], note[200];
    char *text;              /* LIST: the rows as CSV */
    char json[2048];         /* a change: each change's JSON, then the summary's, a line each */
    char lines[1024];        /* ... each change as the operator reads it, a line each */
    bool dry;
    size_t adds, updates, deletes, same, mismatches;
    bool written;
};

static struct fx F;

static bool finished(void) { return F.done; }

/* A C3-200 of dialect d; named: its user table holds its activity's users (portier-sim c3 --named-users, the
 * demo's panels). */
static int setup_panel(enum c3sim_dialect d, bool named)
{
    memset(&F, 0, sizeof F);
    struct c3sim_server_cfg sc = { .panel.named_users = named };
    struct c3_session_config cfg = { .dialect = C3_DIALECT_AUTO, .request_timeout_ms = 2000 };
    fx_c3_open(&F.c, &sc, "C3-200", d, &cfg);
    return 0;
}

static int setup(void **state) { (void)state; return setup_panel(C3SIM_DIALECT_SESSION, false); }
static int setup_named(void **state) { (void)state; return setup_panel(C3SIM_DIALECT_SESSION, true); }
static int setup_old(void **state) { (void)state; return setup_panel(C3SIM_DIALECT_SESSIONLESS, false); }

static int teardown(void **state)
{
    (void)state;
    fx_c3_close(&F.c);
    free(F.text);
    return 0;
}

static char *csv_text(const struct csv *c)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    csv_write_row(f, (const char *const *)c->header, c->ncols);
    for (size_t r = 0; r < c->nrows; r++)
        csv_write_row(f, (const char *const *)(c->cells + r * c->ncols), c->ncols);
    fclose(f);
    return buf;
}

static void on_result(void *arg, const struct c3_store_result *r)
{
    (void)arg;
    F.done = true;
    F.err = r->err;
    snprintf(F.msg, sizeof F.msg, "%s", r->msg);
    snprintf(F.note, sizeof F.note, "%s", r->note);
    free(F.text);
    F.text = r->rows ? csv_text(r->rows) : NULL;
    F.adds = r->diff ? r->diff->adds : 0;
    F.updates = r->diff ? r->diff->updates : 0;
    F.deletes = r->diff ? r->diff->deletes : 0;
    F.same = r->diff ? r->diff->same : 0;
    F.written = r->written;
    F.mismatches = r->mismatches;
    F.json[0] = '\0';
    F.lines[0] = '\0';
    for (size_t i = 0; r->diff && i < r->diff->n; i++) {
        char line[256];
        c3_store_change_text(r, &r->diff->v[i], line, sizeof line);
        size_t at = strlen(F.lines);
        snprintf(F.lines + at, sizeof F.lines - at, "%s\n", line);
    }
    for (size_t i = 0; r->diff && i <= r->diff->n; i++) {
        json_t *o = i < r->diff->n ? c3_store_change_json(r, &r->diff->v[i]) : c3_store_summary_json(r, F.dry);
        char *s = json_dumps(o, JSON_COMPACT);
        size_t at = strlen(F.json);
        snprintf(F.json + at, sizeof F.json - at, "%s\n", s ? s : "NULL");
        free(s);
        json_decref(o);
    }
}

static int run(enum c3_store_op op, int kind, const char *table, const char *csvtext, bool dry, const char *wf,
               const char *wv)
{
    struct csv rows;
    char err[200];
    if (csvtext && csv_parse(csvtext, strlen(csvtext), &rows, err, sizeof err) < 0)
        fail_msg("%s", err);
    struct c3_store_req req = { .op = op, .kind = kind, .table = table, .rows = csvtext ? &rows : NULL,
                                .dry_run = dry, .where_field = wf, .where_value = wv };
    struct c3_xfer_opts o = { .prio = C3_PRIO_OPERATOR };
    int e;
    F.done = false;
    F.dry = dry;
    struct c3_store *st = c3_store_run(F.c.s, &req, &o, on_result, NULL, &e);
    if (csvtext)
        csv_free(&rows);
    assert_non_null(st);
    /* a guard against a hang, not a bound on time: 30 000 users under ASan on a machine busy with other tests take
     * well over 20 s of real time (whole_user_base bounds the CPU time) */
    fx_run_until(F.c.loop, finished, 120000);
    assert_true(F.done);
    return F.err;
}

static const char *list(int kind, const char *table)
{
    assert_int_equal(run(C3_STORE_LIST, kind, table, NULL, false, NULL, NULL), 0);
    return F.text;
}

static void roundtrip(int kind, const char *text)
{
    if (run(C3_STORE_REPLACE, kind, NULL, text, false, NULL, NULL) != 0)
        fail_msg("%s", F.msg);
    assert_true(F.written);
    assert_int_equal(F.mismatches, 0);
    const char *back = list(kind, NULL);
    if (strcmp(back, text) != 0)
        fail_msg("export differs:\n%s---\n%s", back, text);
    /* Importing the export again changes nothing. */
    assert_int_equal(run(C3_STORE_REPLACE, kind, NULL, text, false, NULL, NULL), 0);
    assert_false(F.written);
    assert_int_equal(F.adds + F.updates + F.deletes, 0);
}

static const char users_csv[] = "pin,card,password,group,start,end,name,super\n"
                                "1,1234567,4321,1,,,Alice,0\n"
                                "2,,,3,2024-01-01,2024-12-31,\"Bob, Jr\",1\n"
                                "10,99,,0,,,,0\n";

static void all_kinds_roundtrip(void **state)
{
    (void)state;
    roundtrip(C3_KIND_USERS, users_csv);
    roundtrip(C3_KIND_CARDS, "card,pin,name\n77,2,\"Bob, Jr\"\n99,10,\n1234567,1,Alice\n");
    roundtrip(C3_KIND_TIMEZONES, "id,sun,mon,tue,wed,thu,fri,sat,hol1,hol2,hol3\n"
                                 "1,00:00-23:59,00:00-23:59,00:00-23:59,00:00-23:59,00:00-23:59,00:00-23:59,"
                                 "00:00-23:59,,,\n"
                                 "2,,08:00-12:00 13:00-17:00,08:00-17:00,08:00-17:00,08:00-17:00,08:00-17:00,,,,\n");
    roundtrip(C3_KIND_ACCESS, "pin,door,timezone\n1,1,1\n1,2,1\n2,2,2\n10,1,1\n");
    /* rights refer to the panel's users and time zones */
    assert_int_equal(run(C3_STORE_SET, C3_KIND_ACCESS, NULL, "pin,door,timezone\n1,1,1\n3,1,1\n", false, NULL, NULL),
                     C3_S_INVALID);
    assert_string_equal(F.msg, "line 3: pin: the panel has no user 3 (add the user first)");
    assert_int_equal(run(C3_STORE_SET, C3_KIND_ACCESS, NULL, "pin,door,timezone\n1,1,9\n", false, NULL, NULL),
                     C3_S_INVALID);
    assert_string_equal(F.msg, "line 2: timezone: the panel has no time zone 9 (add it with timezones add)");
    roundtrip(C3_KIND_HOLIDAYS, "date,type,loop\n2024-01-01,1,yearly\n2024-12-24,2,once\n");
    assert_int_equal(c3sim_tables_count(&F.c.panel->tables, "user"), 3);
    assert_int_equal(c3sim_tables_count(&F.c.panel->tables, "userauthorize"), 3); /* (1,tz1) (2,tz2) (10,tz1) */
}

/* A panel that refuses changes (fault refuse=CODE): the request fails with the panel's code, its rows stay. */
static void refused_write_keeps_rows(void **state)
{
    (void)state;
    roundtrip(C3_KIND_USERS, users_csv);
    struct c3sim_faults f;
    char err[120];
    assert_int_equal(c3sim_faults_parse("refuse=-13", &f, err, sizeof err), 0);
    char text[64];
    c3sim_faults_format(&f, text, sizeof text);
    assert_string_equal(text, "refuse=-13");
    assert_int_equal(c3sim_faults_parse("refuse=13", &f, err, sizeof err), -1);
    assert_int_equal(c3sim_faults_parse("refuse=-13", &f, err, sizeof err), 0);
    c3sim_server_set_faults(F.c.sim, -1, &f);
    assert_int_equal(run(C3_STORE_SET, C3_KIND_USERS, NULL, "pin,name\n1,Alicia\n", false, NULL, NULL), -13);
    assert_int_equal(run(C3_STORE_DELETE, C3_KIND_USERS, NULL, "pin\n2\n", false, NULL, NULL), -13);
    /* a dry run writes nothing: it still works */
    assert_int_equal(run(C3_STORE_SET, C3_KIND_USERS, NULL, "pin,name\n1,Alicia\n", true, NULL, NULL), 0);
    assert_int_equal(F.updates, 1);
    f = (struct c3sim_faults){ 0 };
    c3sim_server_set_faults(F.c.sim, -1, &f);
    assert_string_equal(list(C3_KIND_USERS, NULL), users_csv);
}

/* The activity's users are in the user table; a name the panel holds that the operator's checks refuse (not
 * ASCII) does not stop a change of the user's card, and stays. */
static void named_users_kept(void **state)
{
    (void)state;
    const char *users = list(C3_KIND_USERS, NULL);
    assert_int_equal(c3sim_tables_count(&F.c.panel->tables, "user"), 8);
    assert_non_null(strstr(users, ",Fran\xC3\xA7ois,"));
    assert_int_equal(c3sim_tables_count(&F.c.panel->tables, "userauthorize"), 6);
    if (run(C3_STORE_SET, C3_KIND_USERS, NULL, "pin,card\n6,4242\n", false, NULL, NULL) != 0)
        fail_msg("%s", F.msg);
    assert_int_equal(F.updates, 1);
    assert_non_null(strstr(list(C3_KIND_USERS, NULL), "\n6,4242,,0,,,Fran\xC3\xA7ois,0\n"));
    /* a new name must be one the panel keeps */
    assert_int_equal(run(C3_STORE_SET, C3_KIND_USERS, NULL, "pin,name\n6,Fran\xC3\xA7oise\n", false, NULL, NULL),
                     C3_S_INVALID);
    assert_non_null(strstr(F.msg, "only printable ASCII"));
}

static void old_layout_roundtrip(void **state)
{
    (void)state;
    roundtrip(C3_KIND_USERS, "pin,card,password,group,start,end,name,super\n5,500,,0,,,,0\n6,600,123,2,,,,1\n");
    assert_int_equal(run(C3_STORE_SET, C3_KIND_USERS, NULL, "pin,name\n5,Eve\n", false, NULL, NULL), C3_S_INVALID);
    assert_non_null(strstr(F.msg, "line 2: name: this panel's user table keeps no names"));
}

static void bad_row_writes_nothing(void **state)
{
    (void)state;
    roundtrip(C3_KIND_USERS, users_csv);
    uint64_t before = F.c.panel->tables.txn_serial;
    (void)before;
    static const char bad[] = "pin,card,name\n1,1,Ann\n2,2,Ben\n3,3x,Cid\n4,4,Dee\n";
    assert_int_equal(run(C3_STORE_REPLACE, C3_KIND_USERS, NULL, bad, false, NULL, NULL), C3_S_INVALID);
    assert_string_equal(F.msg, "line 4: card: '3x' is not a number 0-4294967295");
    assert_false(F.written);
    assert_string_equal(list(C3_KIND_USERS, NULL), users_csv);
    /* Bad rows of every kind, each refused with its line and column. */
    assert_int_equal(run(C3_STORE_SET, C3_KIND_TIMEZONES, NULL, "id,mon\n3,09:00-08:00\n", false, NULL, NULL),
                     C3_S_INVALID);
    assert_non_null(strstr(F.msg, "line 2: mon: interval 09:00-08:00 ends before it starts"));
    assert_int_equal(run(C3_STORE_SET, C3_KIND_HOLIDAYS, NULL, "date\n2024-04-31\n", false, NULL, NULL), C3_S_INVALID);
    assert_non_null(strstr(F.msg, "line 2: date:"));
    assert_int_equal(run(C3_STORE_SET, C3_KIND_ACCESS, NULL, "pin,door,timezone\n1,3,1\n", false, NULL, NULL),
                     C3_S_INVALID); /* a C3-200 has 2 doors */
    assert_non_null(strstr(F.msg, "line 2: door: '3' is not a number 1-2"));
    assert_int_equal(run(C3_STORE_SET, C3_KIND_CARDS, NULL, "card,pin\n5,42\n", false, NULL, NULL), C3_S_INVALID);
    assert_non_null(strstr(F.msg, "line 2: pin: 42 is not a user of this panel"));
}

/* What the last change counted: rows added, updated, deleted and left as they were. */
static void expect_counts(size_t adds, size_t updates, size_t deletes, size_t same)
{
    assert_int_equal(F.adds, adds);
    assert_int_equal(F.updates, updates);
    assert_int_equal(F.deletes, deletes);
    assert_int_equal(F.same, same);
}

static void dry_run_shows_difference(void **state)
{
    (void)state;
    roundtrip(C3_KIND_USERS, users_csv);
    static const char change[] = "pin,card,password,group,start,end,name,super\n"
                                 "1,1234567,4321,1,,,Alice,0\n"
                                 "2,222,,3,2024-01-01,2024-12-31,\"Bob, Jr\",1\n"
                                 "11,111,,0,,,Kim,0\n";
    assert_int_equal(run(C3_STORE_REPLACE, C3_KIND_USERS, NULL, change, true, NULL, NULL), 0);
    expect_counts(1, 1, 1, 1);
    assert_false(F.written);
    /* the same as JSON (portierctl's --json, portierd's records): a change's row (a deletion's as it was), an
     * update's row before, the summary */
    assert_string_equal(F.json,
        "{\"change\":\"update\",\"row\":{\"pin\":\"2\",\"card\":\"222\",\"password\":\"\",\"group\":\"3\","
        "\"start\":\"2024-01-01\",\"end\":\"2024-12-31\",\"name\":\"Bob, Jr\",\"super\":\"1\"},\"was\":{\"pin\":\"2\","
        "\"card\":\"\",\"password\":\"\",\"group\":\"3\",\"start\":\"2024-01-01\",\"end\":\"2024-12-31\","
        "\"name\":\"Bob, Jr\",\"super\":\"1\"}}\n"
        "{\"change\":\"add\",\"row\":{\"pin\":\"11\",\"card\":\"111\",\"password\":\"\",\"group\":\"0\",\"start\":\"\","
        "\"end\":\"\",\"name\":\"Kim\",\"super\":\"0\"}}\n"
        "{\"change\":\"delete\",\"row\":{\"pin\":\"10\",\"card\":\"99\",\"password\":\"\",\"group\":\"0\","
        "\"start\":\"\",\"end\":\"\",\"name\":\"\",\"super\":\"0\"}}\n"
        "{\"added\":1,\"updated\":1,\"deleted\":1,\"unchanged\":1,\"dry_run\":true,\"written\":false,"
        "\"mismatches\":0}\n");
    assert_string_equal(list(C3_KIND_USERS, NULL), users_csv);
    roundtrip(C3_KIND_USERS, change);
}

static void add_set_delete(void **state)
{
    (void)state;
    roundtrip(C3_KIND_USERS, users_csv);
    roundtrip(C3_KIND_TIMEZONES, "id,sun,mon,tue,wed,thu,fri,sat,hol1,hol2,hol3\n1,,08:00-17:00,,,,,,,,\n");
    roundtrip(C3_KIND_ACCESS, "pin,door,timezone\n1,1,1\n2,1,1\n2,2,1\n");
    assert_int_equal(run(C3_STORE_ADD, C3_KIND_USERS, NULL, "pin,card\n2,5\n", false, NULL, NULL), C3_S_INVALID);
    assert_non_null(strstr(F.msg, "'2' exists already"));
    assert_int_equal(run(C3_STORE_ADD, C3_KIND_USERS, NULL, "pin,card,name\n20,2020,Zed\n", false, NULL, NULL), 0);
    assert_int_equal(F.adds, 1);
    /* set: columns not given keep their value */
    assert_int_equal(run(C3_STORE_SET, C3_KIND_USERS, NULL, "pin,card\n1,7654321\n", false, NULL, NULL), 0);
    assert_int_equal(F.updates, 1);
    assert_int_equal(F.mismatches, 0);
    assert_non_null(strstr(list(C3_KIND_USERS, NULL), "1,7654321,4321,1,,,Alice,0\n"));
    /* cards: a card moves to another user, one is removed */
    assert_int_equal(run(C3_STORE_SET, C3_KIND_CARDS, NULL, "card,pin\n3030,20\n", false, NULL, NULL), 0);
    assert_int_equal(run(C3_STORE_DELETE, C3_KIND_CARDS, NULL, "card\n99\n", false, NULL, NULL), 0);
    assert_string_equal(list(C3_KIND_CARDS, NULL), "card,pin,name\n3030,20,Zed\n7654321,1,Alice\n");
    /* access: one door of a user goes (the panel row keeps the other door) */
    assert_int_equal(run(C3_STORE_DELETE, C3_KIND_ACCESS, NULL, "pin,door,timezone\n2,1,1\n", false, NULL, NULL), 0);
    assert_string_equal(list(C3_KIND_ACCESS, NULL), "pin,door,timezone\n1,1,1\n2,2,1\n");
    /* deleting a user removes their access rights too */
    assert_int_equal(run(C3_STORE_DELETE, C3_KIND_USERS, NULL, "pin\n2\n", false, NULL, NULL), 0);
    assert_non_null(strstr(F.note, "access rights of the 1 deleted user were removed"));
    assert_string_equal(list(C3_KIND_ACCESS, NULL), "pin,door,timezone\n1,1,1\n");
    assert_int_equal(run(C3_STORE_DELETE, C3_KIND_USERS, NULL, "pin\n2\n", false, NULL, NULL), C3_S_INVALID);
    assert_non_null(strstr(F.msg, "'2' is not on the panel"));
}

/* replace with a scope: one user's rights are the rows; the other users' rights stay as the panel holds them */
static void replace_one_user(void **state)
{
    (void)state;
    roundtrip(C3_KIND_USERS, users_csv);
    roundtrip(C3_KIND_TIMEZONES, "id,sun,mon,tue,wed,thu,fri,sat,hol1,hol2,hol3\n1,,08:00-17:00,,,,,,,,\n"
                                 "2,,09:00-10:00,,,,,,,,\n");
    roundtrip(C3_KIND_ACCESS, "pin,door,timezone\n1,1,1\n2,1,1\n2,2,1\n");
    /* another client gave user 10 a door meanwhile: a replace of user 2 keeps it */
    assert_int_equal(run(C3_STORE_SET, C3_KIND_ACCESS, NULL, "pin,door,timezone\n10,2,2\n", false, NULL, NULL), 0);
    assert_int_equal(run(C3_STORE_REPLACE, C3_KIND_ACCESS, NULL, "pin,door,timezone\n2,2,2\n", true, "pin", "2"), 0);
    assert_int_equal(F.adds, 1);
    assert_int_equal(F.deletes, 2);
    assert_int_equal(F.same, 2); /* the other users' rows, as the panel holds them */
    assert_false(F.written);
    assert_int_equal(run(C3_STORE_REPLACE, C3_KIND_ACCESS, NULL, "pin,door,timezone\n2,2,2\n", false, "pin", "2"), 0);
    assert_int_equal(F.mismatches, 0);
    assert_string_equal(list(C3_KIND_ACCESS, NULL), "pin,door,timezone\n1,1,1\n2,2,2\n10,2,2\n");
    /* a row outside the scope is refused with its line; nothing is written */
    assert_int_equal(run(C3_STORE_REPLACE, C3_KIND_ACCESS, NULL, "pin,door,timezone\n2,1,1\n1,2,1\n", false, "pin",
                         "2"), C3_S_INVALID);
    assert_string_equal(F.msg, "line 3: pin: not 2 (the rows replace those with pin=2 only)");
    assert_false(F.written);
    assert_int_equal(run(C3_STORE_REPLACE, C3_KIND_ACCESS, NULL, "pin,door,timezone\n", false, "nope", "2"),
                     C3_S_INVALID);
    assert_non_null(strstr(F.msg, "nope: not a column of access"));
    /* no rows: the user loses every door */
    assert_int_equal(run(C3_STORE_REPLACE, C3_KIND_ACCESS, NULL, "pin,door,timezone\n", false, "pin", "2"), 0);
    assert_string_equal(list(C3_KIND_ACCESS, NULL), "pin,door,timezone\n1,1,1\n10,2,2\n");
}

static void raw_tables(void **state)
{
    (void)state;
    assert_int_equal(run(C3_STORE_TABLES, -1, NULL, NULL, false, NULL, NULL), 0);
    assert_non_null(strstr(F.text, "transaction,5,1,"));
    assert_non_null(strstr(F.text, "user,1,0,UID=i1 CardNo=i2 Pin=i3"));
    assert_non_null(strstr(F.text, "logfmt,256,,"));
    assert_int_equal(run(C3_STORE_SET, -1, "holiday", "Holiday,HolidayType,Loop\n20240101,1,1\n20240501,2,2\n", false,
                         NULL, NULL), 0);
    assert_int_equal(F.adds, 2);
    assert_int_equal(run(C3_STORE_LIST, -1, "holiday", NULL, false, "Loop", "2"), 0);
    assert_string_equal(F.text, "Holiday,HolidayType,Loop\n20240501,2,2\n");
    assert_int_equal(run(C3_STORE_SET, -1, "holiday", "Holiday,Nope\n1,2\n", false, NULL, NULL), C3_S_INVALID);
    assert_non_null(strstr(F.msg, "Nope: unknown column"));
    assert_int_equal(run(C3_STORE_SET, -1, "holiday", "Holiday,HolidayType\n20240101,x\n", false, NULL, NULL),
                     C3_S_INVALID);
    assert_non_null(strstr(F.msg, "line 2: HolidayType: 'x' is not a number"));
    assert_int_equal(run(C3_STORE_DELETE, -1, "holiday", NULL, false, "HolidayType", "1"), 0);
    assert_int_equal(F.deletes, 1);
    assert_string_equal(list(-1, "holiday"), "Holiday,HolidayType,Loop\n20240501,2,2\n");
    assert_int_equal(run(C3_STORE_LIST, -1, "nosuch", NULL, false, NULL, NULL), C3_E_RANGE);
    assert_non_null(strstr(F.msg, "no table \"nosuch\""));
}

/* A raw row that leaves fields empty (or out) is held by the panel with 0 / nothing there: the dry run shows that,
 * the write reads back as written, and writing the same file again changes nothing. */
static void raw_empty_fields(void **state)
{
    (void)state;
    assert_int_equal(run(C3_STORE_SET, -1, "user", "Pin,CardNo,Name\n1,1234567,Ann\n2,7654321,Bob\n", false, NULL,
                         NULL), 0);
    assert_int_equal(F.adds, 2);
    assert_int_equal(F.mismatches, 0);
    static const char upd[] = "Pin,UID,CardNo,Name\n1,,1234567,Ann\n2,0,7654322,Bob\n5,,,Eve\n";
    assert_int_equal(run(C3_STORE_SET, -1, "user", upd, true, NULL, NULL), 0);
    assert_int_equal(F.adds, 1);
    assert_int_equal(F.updates, 1);
    assert_int_equal(F.same, 1);
    assert_string_equal(F.json,
        "{\"change\":\"update\",\"row\":{\"UID\":\"0\",\"CardNo\":\"7654322\",\"Pin\":\"2\",\"Password\":\"\","
        "\"Group\":\"0\",\"StartTime\":\"0\",\"EndTime\":\"0\",\"Name\":\"Bob\",\"SuperAuthorize\":\"0\"},"
        "\"was\":{\"UID\":\"0\",\"CardNo\":\"7654321\",\"Pin\":\"2\",\"Password\":\"\",\"Group\":\"0\","
        "\"StartTime\":\"0\",\"EndTime\":\"0\",\"Name\":\"Bob\",\"SuperAuthorize\":\"0\"}}\n"
        "{\"change\":\"add\",\"row\":{\"UID\":\"0\",\"CardNo\":\"0\",\"Pin\":\"5\",\"Password\":\"\","
        "\"Group\":\"0\",\"StartTime\":\"0\",\"EndTime\":\"0\",\"Name\":\"Eve\",\"SuperAuthorize\":\"0\"}}\n"
        "{\"added\":1,\"updated\":1,\"deleted\":0,\"unchanged\":1,\"dry_run\":true,\"written\":false,"
        "\"mismatches\":0}\n");
    /* an update is named by the table's key (not by its first field, the UID every row has as 0) */
    assert_string_equal(F.lines, "~ Pin=2: CardNo 7654321 -> 7654322\n"
                                 "+ UID=0 CardNo=0 Pin=5 Group=0 StartTime=0 EndTime=0 Name=Eve SuperAuthorize=0\n");
    assert_int_equal(run(C3_STORE_SET, -1, "user", upd, false, NULL, NULL), 0);
    assert_true(F.written);
    assert_int_equal(F.mismatches, 0);
    assert_string_equal(list(-1, "user"), "UID,CardNo,Pin,Password,Group,StartTime,EndTime,Name,SuperAuthorize\n"
                                          "0,1234567,1,,0,0,0,Ann,0\n0,7654322,2,,0,0,0,Bob,0\n0,0,5,,0,0,0,Eve,0\n");
    assert_int_equal(run(C3_STORE_SET, -1, "user", upd, false, NULL, NULL), 0);
    assert_false(F.written);
    assert_int_equal(F.same, 3);
    /* a number with leading zeros is the panel's number: the same key, found by --where too */
    assert_int_equal(run(C3_STORE_SET, -1, "user", "Pin,Group\n005,03\n", false, NULL, NULL), 0);
    assert_int_equal(F.updates, 1);
    assert_int_equal(F.adds, 0);
    assert_int_equal(F.mismatches, 0);
    assert_int_equal(run(C3_STORE_LIST, -1, "user", NULL, false, "Pin", "0005"), 0);
    assert_string_equal(F.text, "UID,CardNo,Pin,Password,Group,StartTime,EndTime,Name,SuperAuthorize\n"
                                "0,0,5,,3,0,0,Eve,0\n");
    /* refused before anything is written: an empty key, a key twice, a password the firmware would cut */
    assert_int_equal(run(C3_STORE_SET, -1, "user", "Pin,CardNo\n6,1\n,2\n", false, NULL, NULL), C3_S_INVALID);
    assert_string_equal(F.msg, "line 3: Pin: empty, but it is the row's key (write 0 if 0 is meant)");
    assert_int_equal(run(C3_STORE_SET, -1, "user", "Pin,CardNo\n7,1\n07,2\n", false, NULL, NULL), C3_S_INVALID);
    assert_string_equal(F.msg, "line 3: Pin: the key Pin=7 appears again (first on line 2)");
    assert_int_equal(run(C3_STORE_SET, -1, "user", "Pin,Password\n8,123456789\n", false, NULL, NULL), C3_S_INVALID);
    assert_string_equal(F.msg, "line 2: Password: '123456789' is longer than the 8 characters the panel keeps");
    assert_false(F.written);
    assert_int_equal(c3sim_tables_count(&F.c.panel->tables, "user"), 3);
}

/* A number written with leading zeros is the panel's number: pin 002 is the user 2 (updated, not added as a new
 * row that would wipe its card), and the changes show what the panel will hold (card 0222 is 222). */
static void kind_numbers_as_the_panel_holds_them(void **state)
{
    (void)state;
    roundtrip(C3_KIND_USERS, users_csv);
    assert_int_equal(run(C3_STORE_SET, C3_KIND_USERS, NULL, "pin,group\n002,4\n", true, NULL, NULL), 0);
    assert_int_equal(F.adds, 0);
    assert_int_equal(F.updates, 1);
    assert_string_equal(F.lines, "~ pin=2: group 3 -> 4\n");
    assert_int_equal(run(C3_STORE_SET, C3_KIND_USERS, NULL, "pin,card\n10,0099\n", false, NULL, NULL), 0);
    assert_int_equal(F.updates + F.adds, 0); /* 99 already */
    assert_false(F.written);
    assert_int_equal(run(C3_STORE_SET, C3_KIND_USERS, NULL, "pin,card,super\n0002,0222,\n", false, NULL, NULL), 0);
    assert_string_equal(F.lines, "~ pin=2: card (none) -> 222, super 1 -> 0\n");
    assert_int_equal(F.mismatches, 0);
    assert_non_null(strstr(list(C3_KIND_USERS, NULL), "\n2,222,,3,2024-01-01,2024-12-31,\"Bob, Jr\",0\n"));
    /* the same key twice in one file, once with zeros, is refused */
    assert_int_equal(run(C3_STORE_SET, C3_KIND_USERS, NULL, "pin,group\n7,1\n07,2\n", false, NULL, NULL),
                     C3_S_INVALID);
    assert_non_null(strstr(F.msg, "line 3: pin: '7' appears again (first on line 2)"));
    /* deleting by key and a scoped replace of one user's rights find the user too */
    roundtrip(C3_KIND_TIMEZONES, "id,sun,mon,tue,wed,thu,fri,sat,hol1,hol2,hol3\n1,,08:00-17:00,,,,,,,,\n");
    assert_int_equal(run(C3_STORE_REPLACE, C3_KIND_ACCESS, NULL, "pin,door,timezone\n02,1,01\n", false, "pin", "002"),
                     0);
    assert_int_equal(F.adds, 1);
    assert_string_equal(list(C3_KIND_ACCESS, NULL), "pin,door,timezone\n2,1,1\n");
    assert_int_equal(run(C3_STORE_DELETE, C3_KIND_USERS, NULL, "pin\n0010\n", false, NULL, NULL), 0);
    assert_int_equal(F.deletes, 1);
    /* a card's row shows its user's name, whatever the file says */
    assert_int_equal(run(C3_STORE_SET, C3_KIND_CARDS, NULL, "card,pin,name\n0555,01,Zed\n", true, NULL, NULL), 0);
    assert_string_equal(F.lines, "+ card=555 pin=1 name=Alice\n- card=1234567 pin=1 name=Alice\n");
}

static void thousands_of_users(void **state)
{
    (void)state;
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    fputs("pin,card,password,group,start,end,name,super\n", f);
    for (unsigned i = 1; i <= 3000; i++)
        fprintf(f, "%u,%u,%u,%u,,,user%u,0\n", i, 100000u + i, 1000u + i % 9000u, i % 10u, i);
    fclose(f);
    roundtrip(C3_KIND_USERS, text);
    assert_int_equal(c3sim_tables_count(&F.c.panel->tables, "user"), 3000);
    free(text);
}

/* A full user table (30 000 users, the most a C3 takes): written, then a file of them changed shown as a dry run
 * by key (merge and replace), with the exact counts and the first lines, and written and read back. Every step
 * finds rows by key: the same steps on a tenth of the users, timed in the process's CPU time in the same run,
 * must cost more than a fortieth (n log n: about 12 times; a return to quadratic work: 100 times and more). */
static char *base_file(unsigned total, bool changed)
{
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    fputs("pin,card,password,group,start,end,name,super\n", f);
    for (unsigned pin = 1; pin <= total; pin++)
        if (!changed || pin % 20 != 3)
            fprintf(f, "%u,%u,,%u,,,%s%u,0\n", pin, 100000u + pin, pin % 10, changed && pin % 10 == 0 ? "ren" : "u",
                    pin);
    fclose(f);
    return text;
}

static double cpu_seconds(void)
{
    struct timespec t;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* n users (a multiple of 400) written; a file of n + n/20 users (every 20th missing, every 10th renamed) merged
 * as a dry run, then replacing them; the panel's table emptied again after (untimed). CPU seconds spent. */
static double user_base(size_t n)
{
    size_t extra = n / 20, total = n + extra;
    char *base = base_file((unsigned)n, false), *changed = base_file((unsigned)total, true);
    double t0 = cpu_seconds();
    assert_int_equal(run(C3_STORE_REPLACE, C3_KIND_USERS, NULL, base, false, NULL, NULL), 0);
    assert_int_equal(F.adds, n);
    assert_int_equal(F.mismatches, 0);
    assert_int_equal(c3sim_tables_count(&F.c.panel->tables, "user"), (long)n);
    /* merge: the new users and the renamed ones; nobody deleted */
    assert_int_equal(run(C3_STORE_SET, C3_KIND_USERS, NULL, changed, true, NULL, NULL), 0);
    expect_counts(extra - extra / 20, n / 10, 0, n - n / 10);
    static const char first[] = "~ pin=10: name u10 -> ren10\n~ pin=20: name u20 -> ren20\n";
    assert_memory_equal(F.lines, first, sizeof first - 1);
    /* replace: those not in the file go too */
    assert_int_equal(run(C3_STORE_REPLACE, C3_KIND_USERS, NULL, changed, false, NULL, NULL), 0);
    expect_counts(extra - extra / 20, n / 10, n / 20, n - n / 10 - n / 20);
    assert_true(F.written);
    assert_int_equal(F.mismatches, 0);
    assert_int_equal(c3sim_tables_count(&F.c.panel->tables, "user"), (long)(total - total / 20));
    double spent = cpu_seconds() - t0;
    free(base);
    free(changed);
    assert_int_equal(run(C3_STORE_REPLACE, C3_KIND_USERS, NULL, "pin,card\n", false, NULL, NULL), 0);
    assert_int_equal(c3sim_tables_count(&F.c.panel->tables, "user"), 0);
    return spent;
}

static void whole_user_base(void **state)
{
    (void)state;
    double small = user_base(3200), whole = user_base(30000);
    if (whole > 40 * small + 0.05)
        fail_msg("30 000 users took %.2f s of CPU, 3 200 users %.3f s: %.0f times (n log n: about 12)", whole, small,
                 whole / small);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(all_kinds_roundtrip, setup, teardown),
        cmocka_unit_test_setup_teardown(old_layout_roundtrip, setup_old, teardown),
        cmocka_unit_test_setup_teardown(bad_row_writes_nothing, setup, teardown),
        cmocka_unit_test_setup_teardown(dry_run_shows_difference, setup, teardown),
        cmocka_unit_test_setup_teardown(add_set_delete, setup, teardown),
        cmocka_unit_test_setup_teardown(replace_one_user, setup, teardown),
        cmocka_unit_test_setup_teardown(raw_tables, setup, teardown),
        cmocka_unit_test_setup_teardown(raw_empty_fields, setup, teardown),
        cmocka_unit_test_setup_teardown(kind_numbers_as_the_panel_holds_them, setup, teardown),
        cmocka_unit_test_setup_teardown(thousands_of_users, setup, teardown),
        cmocka_unit_test_setup_teardown(whole_user_base, setup, teardown),
        cmocka_unit_test_setup_teardown(refused_write_keeps_rows, setup, teardown),
        cmocka_unit_test_setup_teardown(named_users_kept, setup_named, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
