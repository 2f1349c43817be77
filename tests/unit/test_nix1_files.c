#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "drivers/nix1/nix1_access.h"
#include "drivers/nix1/nix1_files.h"

#define S "271A2100000000F3"

static void access_lines(void **state)
{
    (void)state;
    const char *ex = S "\tuser1\t15\t\t1436413339\t+0100\t2\t0\t55\n";
    struct nix1_access a;
    char err[128];
    assert_int_equal(nix1_access_parse(ex, strlen(ex), &a, err, sizeof err), 0);
    char t[17];
    assert_string_equal(nix1_addr_format(&a.slave, t), S);
    assert_string_equal(a.uid, "user1");
    assert_true(a.has_unit);
    assert_int_equal(a.unit, 15);
    assert_false(a.has_key_ts);
    assert_int_equal(a.ts, 1436413339);
    assert_int_equal(a.tz, 60);
    assert_int_equal(a.probe, 2);
    assert_int_equal(a.od, 0);
    assert_int_equal(a.code, 0x55);
    assert_false(nix1_access_granted(&a));
    assert_string_equal(nix1_access_code_name(&a), "ERROR_USER");
    char buf[400];
    int n = nix1_access_format(buf, sizeof buf, &a);
    assert_int_equal(n, (int)strlen(ex) - 1);
    assert_memory_equal(buf, ex, (size_t)n);
    /* a grant with key timestamp and a name with spaces; code 43 reads as ERROR_CREDENTIAL */
    const char *g = S "\tArthur Dent\t1\t1350028169\t1436413400\t-0930\t1\t1\t00";
    assert_int_equal(nix1_access_parse(g, strlen(g), &a, err, sizeof err), 0);
    assert_true(nix1_access_granted(&a));
    assert_true(a.has_key_ts);
    assert_int_equal(a.key_ts, 1350028169);
    assert_int_equal(a.tz, -570);
    assert_string_equal(nix1_access_code_name(&a), "OK");
    n = nix1_access_format(buf, sizeof buf, &a);
    assert_string_equal(buf, g);
    a.code = 0x43;
    assert_string_equal(nix1_access_code_name(&a), "ERROR_CREDENTIAL");
    /* ACTIVITY-style line: empty uid */
    const char *act = S "\t\t15\t\t1436413339\t+0100\t1\t0\t49";
    assert_int_equal(nix1_access_parse(act, strlen(act), &a, err, sizeof err), 0);
    assert_string_equal(a.uid, "");
    assert_string_equal(nix1_access_code_meaning(&a), "iButton present but unreadable");
    /* errors */
    static const char *bad[] = {
        S "\tuser1\t15\t\t1436413339\t+0100\t2\t0",          /* 8 fields */
        S "\tuser1\t15\t\t1436413339\t+0100\t2\t0\t55\tx",   /* 10 fields */
        "271A21\tuser1\t15\t\t1436413339\t+0100\t2\t0\t55",  /* address */
        S "\tuser1\t15\t\t1436413339\t+0100\t3\t0\t55",      /* probe */
        S "\tuser1\t15\t\t1436413339\t+0100\t2\t2\t55",      /* od */
        S "\tuser1\t15\t\t1436413339\t0100\t2\t0\t55",       /* tz */
        S "\tuser1\t15\t\t\t+0100\t2\t0\t55",                /* ts empty */
        S "\tuser1\t15\tx\t1436413339\t+0100\t2\t0\t55",     /* key ts */
        S "\tuser1\t99999\t\t1436413339\t+0100\t2\t0\t55",   /* unit */
        S "\tuser1\t15\t\t1436413339\t+0100\t2\t0\t5",       /* code */
        S "\tuser1\t15\t\t1436413339\t+0100\t2\t0\t5\x01",   /* byte */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        err[0] = '\0';
        if (nix1_access_parse(bad[i], strlen(bad[i]), &a, err, sizeof err) == 0)
            fail_msg("accepted bad ACCESS line %zu", i);
        assert_true(err[0] != '\0');
    }
}

/* Each message of the NULL-terminated list stands in the diagnostics d; then d is freed for the next file. */
static void expect_diags(struct nix1_diag *d, ...)
{
    va_list ap;
    va_start(ap, d);
    for (const char *want; (want = va_arg(ap, const char *));)
        if (!strstr(d->text ? d->text : "", want))
            fail_msg("diagnostics lack \"%s\": %s", want, d->text ? d->text : "(none)");
    va_end(ap);
    nix1_diag_free(d);
}

static void server_files(void **state)
{
    (void)state;
    struct nix1_diag d = { 0 };
    /* keys.txt from the public demo: three entries sharing a timestamp, CRLF, a blank line */
    const char *keys = "1349085044\tabc\\\"';$\r\n1349085044\t{}[]xyz\r\n\r\n1349085044\tkey3\n"
                       "notanumber\tk\n1\t\n2\ta\tb\n# comment\n";
    struct nix1_keys k = { 0 };
    assert_int_equal(nix1_files_read_keys("keys.txt", keys, strlen(keys), &k, &d), 3);
    assert_int_equal(k.n, 3);
    assert_string_equal(k.v[0].key, "abc\\\"';$");
    assert_string_equal(k.v[1].key, "{}[]xyz");
    assert_int_equal(k.v[2].line, 4);
    expect_diags(&d,
                 "keys.txt:5: timestamp \"notanumber\" is not a number",
                 "keys.txt:6: key must be 1-64 printable ASCII chars",
                 "keys.txt:7: expected 2 TAB-separated fields (timestamp, key), found more than 2",
                 (const char *)NULL);
    nix1_keys_free(&k);

    const char *units = "1\tReception\n2\tMain Office\n3\tCEO's Office\n3\tDuplicate\n70000\tToo big\n4\tBüro\n";
    struct nix1_units u = { 0 };
    assert_int_equal(nix1_files_read_units("units.txt", units, strlen(units), &u, &d), 2);
    assert_int_equal(u.n, 4);
    assert_string_equal(u.v[2].label, "CEO's Office");
    assert_string_equal(u.v[3].label, "Büro"); /* labels may be UTF-8 */
    expect_diags(&d,
                 "units.txt:4: unit 3 already defined on line 3",
                 "units.txt:5: unit id \"70000\" is not a number in 0-65534",
                 (const char *)NULL);
    nix1_units_free(&u);

    const char *users = "Arthur Dent\t1350028169\t3\nFord Prefect\t0\t0\r\n"
                        "Arthur Dent\t1\t1\n 1lead\t1\t1\nzaphod\t1\t100\n0\t1\t1\ntrail \t1\t1\nMarvin\t1\n";
    struct nix1_users us = { 0 };
    assert_int_equal(nix1_files_read_users("users.txt", users, strlen(users), &us, &d), 6);
    assert_int_equal(us.n, 2);
    assert_string_equal(us.v[0].uid, "Arthur Dent");
    assert_int_equal(us.v[0].ts, 1350028169);
    assert_int_equal(us.v[0].inc, 3);
    expect_diags(&d,
                 "users.txt:3: user \"Arthur Dent\" already defined on line 1",
                 "users.txt:4: uid must start with a letter or digit",
                 "users.txt:5: increment \"100\" is not a number in 0-99",
                 "users.txt:6: uid \"0\" is reserved",
                 "users.txt:7: uid ends with a space",
                 "users.txt:8: expected 3 TAB-separated fields",
                 (const char *)NULL);
    nix1_users_free(&us);

    const char *cron = "1\tArthur Dent\t0 8-17 * * *\n14\tuser2\t* 7-19 * 1-8 1,4-5\n2\tFord\t* * * *\n"
                       "1\tArthur Dent\t* * * * *\n";
    struct nix1_rights r = { 0 };
    assert_int_equal(nix1_files_read_cron("cron.txt", cron, strlen(cron), &r, &d), 2);
    assert_int_equal(r.n, 2);
    assert_int_equal(r.v[1].unit, 14);
    assert_string_equal(r.v[1].cron, "* 7-19 * 1-8 1,4-5");
    expect_diags(&d,
                 "cron.txt:3: bad cron \"* * * *\": fewer than 5 fields",
                 "cron.txt:4: right for \"Arthur Dent\" on unit 1 already defined on line 1",
                 (const char *)NULL);
    nix1_rights_free(&r);

    /* <unit>U.<C> from the doc */
    const char *uu = "user2\t* 7-19 * 1-8 1,4-5\n";
    assert_int_equal(nix1_files_read_unit_rights("14U.U", 14, uu, strlen(uu), &r, &d), 0);
    assert_int_equal(r.n, 1);
    assert_int_equal(r.v[0].unit, 14);
    assert_int_equal(d.count, 0);
    nix1_rights_free(&r);
    /* many errors: the count keeps going, the text stops at 100 lines */
    char many[4000] = "";
    for (int i = 0; i < 150; i++)
        strcat(many, "x\n");
    assert_int_equal(nix1_files_read_keys("k", many, strlen(many), &k, &d), 150);
    assert_int_equal(d.count, 150);
    size_t nl = 0;
    for (const char *p = d.text; *p; p++)
        nl += *p == '\n';
    assert_int_equal(nl, 100);
    nix1_diag_free(&d);
    nix1_keys_free(&k);
    /* no data at all */
    assert_int_equal(nix1_files_read_keys("k", NULL, 0, &k, NULL), 0);
    assert_int_equal(k.n, 0);
}

static void config_txt(void **state)
{
    (void)state;
    const char *doc = "BAD_ACCESS_TIMEOUT 5\nBAUDRATE 9600\nCRON * 7-18 * * 1-5\nENABLE 1\nLOCK_0 0\nLOCK_1 0\n"
                      "OD_SPEED_0 1\nOD_SPEED_1 1\nSTANDALONE 0\nTIMEZONE +0100\nUNIT_0 14\nUNIT_1 15\n"
                      "VALID_ACCESS_TIMEOUT 5\n";
    struct nix1_config c;
    struct nix1_diag d = { 0 };
    nix1_config_defaults(&c);
    assert_int_equal(c.baudrate, 9600);
    assert_false(c.has_unit[0]);
    assert_int_equal(nix1_files_read_config("CONFIG.TXT", doc, strlen(doc), &c, &d), 0);
    assert_true(c.has_cron);
    assert_string_equal(c.cron, "* 7-18 * * 1-5");
    assert_true(c.enable);
    assert_true(c.od_speed[0] && c.od_speed[1]);
    assert_int_equal(c.timezone, 60);
    assert_true(c.has_unit[0] && c.has_unit[1]);
    assert_int_equal(c.unit[0], 14);
    assert_int_equal(c.unit[1], 15);
    assert_int_equal(nix1_config_mode(&c), 1);
    char buf[1024];
    int n = nix1_config_format(&c, buf, sizeof buf);
    assert_true(n > 0);
    assert_string_equal(buf, "BAD_ACCESS_TIMEOUT\t5\nBAUDRATE\t9600\nCRON\t* 7-18 * * 1-5\nCRON_MODE\t0\nENABLE\t1\n"
                             "LOCK_0\t0\nLOCK_1\t0\nMOBILE\t0\nOD_SPEED_0\t1\nOD_SPEED_1\t1\nSTANDALONE\t0\n"
                             "TIMEZONE\t+0100\nUNIT_0\t14\nUNIT_1\t15\nVALID_ACCESS_TIMEOUT\t5\n");
    /* round trip through our own format, plus the added keys */
    c.has_log_position = true;
    c.log_doy = 190;
    c.log_line = 12;
    c.cron_mode = 2;
    c.has_unit[1] = false;
    nix1_config_format(&c, buf, sizeof buf);
    struct nix1_config c2;
    nix1_config_defaults(&c2);
    assert_int_equal(nix1_files_read_config("CONFIG.TXT", buf, strlen(buf), &c2, &d), 0);
    assert_string_equal(c2.cron, c.cron);
    assert_int_equal(c2.cron_mode, 2);
    assert_true(c2.has_log_position);
    assert_int_equal(c2.log_doy, 190);
    assert_int_equal(c2.log_line, 12);
    assert_true(c2.has_unit[0]);
    assert_false(c2.has_unit[1]);
    assert_int_equal(c2.timezone, 60);
    char buf2[1024];
    nix1_config_format(&c2, buf2, sizeof buf2);
    assert_string_equal(buf2, buf);
    assert_non_null(strstr(buf, "UNIT_1\t65535\n"));
    /* errors, each reported with its line; good lines still apply */
    const char *bad = "BAUDRATE 9601\nENABLE 2\nTIMEZONE 0100\nCRON * * *\nFOO 1\nUNIT_0\nLOG_POSITION 0:1\n"
                      "STANDALONE 1\r\n";
    nix1_config_defaults(&c);
    assert_int_equal(nix1_files_read_config("CONFIG.TXT", bad, strlen(bad), &c, &d), 7);
    assert_non_null(strstr(d.text, "CONFIG.TXT:1: unsupported baud rate 9601"));
    assert_non_null(strstr(d.text, "CONFIG.TXT:5: unknown key FOO"));
    assert_non_null(strstr(d.text, "CONFIG.TXT:6: UNIT_0 has no value"));
    assert_true(c.standalone);
    c.enable = true;
    assert_int_equal(nix1_config_mode(&c), 3);
    nix1_diag_free(&d);
}

static void log_files(void **state)
{
    (void)state;
    const char *act = "1436400000\tSlave ID: " S "\tGeneral status: 00\n" S "\t\t15\t\t1436413339\t+0100\t1\t0\t49\n"
                      "garbage\n";
    struct nix1_log l = { 0 };
    struct nix1_diag d = { 0 };
    assert_int_equal(nix1_files_read_log("ACTIVITY.190", act, strlen(act), &l, &d), 1);
    assert_int_equal(l.n, 2);
    assert_true(l.v[0].is_header);
    assert_int_equal(l.v[0].header_ts, 1436400000);
    assert_int_equal(l.v[0].header_status, 0);
    assert_false(l.v[1].is_header);
    assert_int_equal(l.v[1].access.code, 0x49);
    assert_non_null(strstr(d.text, "ACTIVITY.190:3: expected 9 TAB-separated fields"));
    nix1_log_free(&l);
    nix1_diag_free(&d);
    /* 2015-07-09 04:42 local (+0100) is day 190 */
    assert_int_equal(nix1_files_doy(1436413339, 60), 190);
    assert_int_equal(nix1_files_doy(1420070400, 0), 1); /* 2015-01-01 */
    assert_int_equal(nix1_files_doy(1420070400, -60), 365);
}

static void generators(void **state)
{
    (void)state;
    struct nix1_diag d = { 0 };
    struct nix1_keys k = { 0 };
    struct nix1_users u = { 0 };
    struct nix1_rights r = { 0 };
    const char *keys = "1349094539\tIdRPKslg\\?/\n1350028169\t[Z}4V;qr$(/Kc_aiF7#K8tATNC\n1349094539\tIdRPKslg\\?/\n";
    const char *users = "Arthur Dent\t1350028169\t3\nuser2\t0\t0\nuser1\t5\t1\nFord\t7\t2\n";
    const char *cron = "14\tuser2\t* 7-19 * 1-8 1,4-5\n15\tuser1\t* * * * *\n1\tArthur Dent\t0 8-17 * * *\n"
                       "14\tArthur Dent\t* * * * 1-5\n";
    assert_int_equal(nix1_files_read_keys("keys.txt", keys, strlen(keys), &k, &d), 0);
    assert_int_equal(nix1_files_read_users("users.txt", users, strlen(users), &u, &d), 0);
    assert_int_equal(nix1_files_read_cron("cron.txt", cron, strlen(cron), &r, &d), 0);
    const uint32_t units[] = { 14, 15, 14 };
    struct nix1_genset g;
    assert_int_equal(nix1_files_generate(&k, &u, &r, units, 3, true, &g), 0);
    const char *names[] = { "14U.A", "14U.U", "15U.U", "KEYS.TXT", "USERS.A", "USERS.F", "USERS.U" };
    assert_int_equal(g.n, 7);
    for (size_t i = 0; i < g.n; i++)
        assert_string_equal(g.v[i].name, names[i]);
    /* KEYS.TXT: newest first, exact duplicate dropped, the spec's 61-byte example */
    const struct nix1_gen_file *f = nix1_genset_find(&g, "keys.txt");
    assert_non_null(f);
    assert_int_equal(f->len, 61);
    assert_memory_equal(f->data, "1350028169\t[Z}4V;qr$(/Kc_aiF7#K8tATNC\n1349094539\tIdRPKslg\\?/\n", 61);
    char crc[5];
    assert_string_equal(nix1_crc4(f->data, f->len, crc), "7A79");
    /* 14U.U is the spec's 25-byte file with CRC 09AF */
    f = nix1_genset_find(&g, "14U.U");
    assert_int_equal(f->len, 25);
    assert_string_equal(nix1_crc4(f->data, f->len, crc), "09AF");
    assert_string_equal(nix1_genset_find(&g, "14U.A")->data, "Arthur Dent\t* * * * 1-5\n");
    assert_string_equal(nix1_genset_find(&g, "15U.U")->data, "user1\t* * * * *\n");
    assert_string_equal(nix1_genset_find(&g, "USERS.U")->data, "user2\t0\t0\nuser1\t5\t1\n");
    assert_string_equal(nix1_genset_find(&g, "USERS.F")->data, "Ford\t7\t2\n");
    assert_null(nix1_genset_find(&g, "1U.A")); /* unit 1 is not served */
    nix1_genset_free(&g);
    /* only users with a right on the served units: Ford has none */
    assert_int_equal(nix1_files_generate(&k, &u, &r, units, 2, false, &g), 0);
    assert_null(nix1_genset_find(&g, "USERS.F"));
    assert_non_null(nix1_genset_find(&g, "USERS.A"));
    nix1_genset_free(&g);
    /* nothing at all: no files */
    assert_int_equal(nix1_files_generate(NULL, NULL, NULL, NULL, 0, true, &g), 0);
    assert_int_equal(g.n, 0);
    nix1_genset_free(&g);
    /* generated files read back cleanly with the µSD readers */
    assert_int_equal(nix1_files_generate(&k, &u, &r, units, 2, true, &g), 0);
    for (size_t i = 0; i < g.n; i++) {
        assert_true(nix1_files_is_managed(g.v[i].name));
        int rc;
        if (!strcmp(g.v[i].name, "KEYS.TXT")) {
            struct nix1_keys kk = { 0 };
            rc = nix1_files_read_keys(g.v[i].name, g.v[i].data, g.v[i].len, &kk, &d);
            nix1_keys_free(&kk);
        } else if (!strncmp(g.v[i].name, "USERS.", 6)) {
            struct nix1_users uu = { 0 };
            rc = nix1_files_read_users(g.v[i].name, g.v[i].data, g.v[i].len, &uu, &d);
            nix1_users_free(&uu);
        } else {
            struct nix1_rights rr = { 0 };
            rc = nix1_files_read_unit_rights(g.v[i].name, 14, g.v[i].data, g.v[i].len, &rr, &d);
            nix1_rights_free(&rr);
        }
        assert_int_equal(rc, 0);
    }
    nix1_genset_free(&g);
    assert_true(nix1_files_is_managed("users.z"));
    assert_true(nix1_files_is_managed("65534U.9"));
    assert_false(nix1_files_is_managed("CONFIG.TXT"));
    assert_false(nix1_files_is_managed("ACCESS.190"));
    assert_false(nix1_files_is_managed("U.A"));
    assert_false(nix1_files_is_managed("USERS.AB"));
    assert_int_equal(nix1_uid_letter("user2"), 'U');
    assert_int_equal(nix1_uid_letter("9lives"), '9');
    assert_int_equal(nix1_uid_letter("_x"), 0);
    nix1_keys_free(&k);
    nix1_users_free(&u);
    nix1_rights_free(&r);
    nix1_diag_free(&d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(access_lines), cmocka_unit_test(server_files), cmocka_unit_test(config_txt),
        cmocka_unit_test(log_files),    cmocka_unit_test(generators),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
