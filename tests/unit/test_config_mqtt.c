/* Unit tests for the mqtt block of portier.conf: every error with its line, defaults, the password file's
 * permission checks, TLS files, and the writer's round trip. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config/site_config.h"

#include "fixture.h"
#include "fixture_site.h"

#define SITE "site = { name = \"Head office\"; };\npanels = ( { name = \"P\"; host = \"127.0.0.1\"; } );\n"

static const struct fx_conf_case cases[] = {
    { SITE "mqtt = { host = \"127.0.0.1\"; };\n", "", true },
    { SITE "mqtt = { port = 1883; };\n", "t.conf:3: mqtt: missing required key 'host'\n", false },
    { SITE "mqtt = { host = \"h\"; hots = 1; };\n", "t.conf:3: unknown key 'hots' in mqtt\n", false },
    { SITE "mqtt = { host = \"h\";\n port = 0; };\n", "t.conf:4: 'port' = 0 is out of range (1..65535)\n", false },
    { SITE "mqtt = { host = \"h\"; qos = 0; };\n", "t.conf:3: 'qos' = 0 cannot guarantee delivery: use 1 or 2\n",
      false },
    { SITE "mqtt = { host = \"h\"; qos = 3; };\n", "t.conf:3: 'qos' = 3 is out of range (0..2)\n", false },
    { SITE "mqtt = { host = \"h\"; keepalive = 1; };\n", "t.conf:3: 'keepalive' = 1 is out of range (5..3600)\n",
      false },
    { SITE "mqtt = { host = \"h\"; max_inflight = 0; };\n",
      "t.conf:3: 'max_inflight' = 0 is out of range (1..1000)\n", false },
    { SITE "mqtt = { host = \"h\"; commands = \"yes\"; };\n", "t.conf:3: 'commands' must be a boolean, not a string\n",
      false },
    { SITE "mqtt = { host = \"h\";\n base_topic = \"a/+/b\"; };\n",
      "t.conf:4: 'base_topic' = \"a/+/b\" must be a topic prefix: levels separated by '/', none empty, no '+' or "
      "'#'\n", false },
    { SITE "mqtt = { host = \"h\"; base_topic = \"/portier\"; };\n",
      "t.conf:3: 'base_topic' = \"/portier\" must be a topic prefix: levels separated by '/', none empty, no '+' "
      "or '#'\n", false },
    { SITE "mqtt = { host = \"h\"; base_topic = \"a//b\"; };\n",
      "t.conf:3: 'base_topic' = \"a//b\" must be a topic prefix: levels separated by '/', none empty, no '+' or "
      "'#'\n", false },
    { SITE "mqtt = { host = \"h\"; client_id = \"a b\"; };\n",
      "t.conf:3: 'client_id' = \"a b\" must not contain '/', '+', '#' or spaces\n", false },
    { SITE "mqtt = { host = \"h\"; client_id = \"a-very-long-client-identifier\"; };\n",
      "t.conf:3: warning: 'client_id' is 29 characters: MQTT 3.1.1 brokers need only accept 23\n", true },
    { SITE "mqtt = { host = \"h\"; password_file = \"x\"; };\n",
      "t.conf:3: mqtt: a password_file needs a 'username'\n", false },
    { SITE "mqtt = { host = \"h\"; username = \"a/b\"; };\n",
      "t.conf:3: 'username' = \"a/b\" must not be empty or contain '/', '+' or '#' (it is a topic level)\n", false },
    { SITE "mqtt = { host = \"h\"; commands = true;\n roles = (\n { user = \"alice\"; role = \"boss\"; },\n"
           " { user = \"bob\"; },\n { user = \"al+ce\"; role = \"guard\"; },\n"
           " { user = \"alice\"; role = \"guard\"; },\n \"carol\"\n ); };\n",
      "t.conf:5: 'role' = \"boss\" is not one of: guard, operator, technician\n"
      "t.conf:6: mqtt role: missing required key 'role'\n"
      "t.conf:7: 'user' = \"al+ce\" must not be empty or contain '/', '+' or '#' (it is a topic level)\n"
      "t.conf:10: each mqtt role must be a group { user = \"...\"; role = \"...\"; }\n", false },
    { SITE "mqtt = { host = \"h\"; commands = true;\n roles = (\n { user = \"alice\"; role = \"guard\"; },\n"
           " { user = \"ALICE\"; role = \"operator\"; },\n { user = \"alice\"; role = \"operator\"; }\n ); };\n",
      "t.conf:7: duplicate mqtt user \"alice\" (first at line 5)\n", false },
    { SITE "mqtt = { host = \"h\";\n roles = ( { user = \"alice\"; role = \"operator\"; } ); };\n",
      "t.conf:3: warning: mqtt roles are set but commands = false: no command topic is read\n", true },
    { SITE "mqtt = { host = \"h\"; commands = true;\n ha_user = \"ha\"; };\n",
      "t.conf:4: warning: ha_user \"ha\" has no entry in mqtt roles: its commands will be refused\n", true },
    { SITE "mqtt = { host = \"h\";\n tls = { cert = \"c.pem\"; }; };\n",
      "t.conf:4: mqtt tls: 'ca' is required (the CA that signed the broker's certificate)\n"
      "t.conf:4: mqtt tls: 'cert' and 'key' go together (a client certificate needs its key)\n", false },
    { SITE "mqtt = ( );\n", "t.conf:3: 'mqtt' must be a group, not a list\n", false },
};


static void test_table(void **state)
{
    (void)state;
    fx_conf_cases(cases, sizeof cases / sizeof cases[0]);
}

static void test_defaults(void **state)
{
    struct config_diags d;
    struct site *s = site_config_load_string(SITE, "t.conf", &d);
    assert_non_null(s);
    assert_false(s->mqtt.enabled);
    site_free(s);
    config_diags_free(&d);
    s = site_config_load_string(SITE "mqtt = { host = \"broker\"; };\n", "t.conf", &d);
    assert_non_null(s);
    assert_true(s->mqtt.enabled);
    assert_int_equal(s->mqtt.port, 1883);
    assert_int_equal(s->mqtt.qos, 1);
    assert_int_equal(s->mqtt.keepalive, 30);
    assert_int_equal(s->mqtt.max_inflight, 64);
    assert_false(s->mqtt.commands);
    assert_true(s->mqtt.discovery);
    assert_string_equal(s->mqtt.base_topic, "portier");
    assert_string_equal(s->mqtt.discovery_prefix, "homeassistant");
    assert_string_equal(s->mqtt.client_id, "portier-head-office");
    site_free(s);
    config_diags_free(&d);
}

static void expect_diags(const char *path, const char *expect)
{
    struct config_diags d;
    struct site *s = site_config_load(path, &d);
    char *got = fx_diag_text(&d);
    assert_string_equal(got, expect);
    assert_null(s);
    free(got);
    config_diags_free(&d);
}

static void test_password_file(void **state)
{
    char path[300], pw[300], expect[1500];
    snprintf(path, sizeof path, "%s/m.conf", fx_dir);
    snprintf(pw, sizeof pw, "%s/mqtt.pw", fx_dir);
    fx_write_file(pw, "br0ker pass\n", 0600);
    const char *text = SITE "mqtt = { host = \"h\"; username = \"portier\";\n password_file = \"mqtt.pw\"; };\n";
    /* the configuration names a password file: it must be private itself */
    fx_write_file(path, text, 0644);
    snprintf(expect, sizeof expect,
             "%s:4: a password is set but %s is readable by group or others (mode 0644): run chmod 600 %s\n", path,
             path, path);
    expect_diags(path, expect);
    /* and so must the password file */
    assert_int_equal(chmod(path, 0600), 0);
    assert_int_equal(chmod(pw, 0604), 0);
    snprintf(expect, sizeof expect,
             "%s:4: password_file %s is readable by group or others (mode 0604): run chmod 600 %s\n", path, pw, pw);
    expect_diags(path, expect);
    assert_int_equal(chmod(pw, 0600), 0);
    struct config_diags d;
    struct site *s = site_config_load(path, &d);
    assert_non_null(s);
    assert_string_equal(s->mqtt.password, "br0ker pass");
    assert_string_equal(s->mqtt.password_file, pw);
    site_free(s);
    config_diags_free(&d);
    /* a missing password file */
    assert_int_equal(unlink(pw), 0);
    snprintf(expect, sizeof expect, "%s:4: password_file %s: no such file\n", path, pw);
    expect_diags(path, expect);
    /* TLS files must be readable */
    fx_write_file(path, SITE "mqtt = { host = \"h\";\n tls = { ca = \"none.pem\"; }; };\n", 0600);
    snprintf(expect, sizeof expect, "%s:4: tls ca %s/none.pem: No such file or directory\n", path, fx_dir);
    expect_diags(path, expect);
}

static void test_round_trip(void **state)
{
    const char *text = SITE "mqtt = { host = \"broker.example\"; port = 8884; tls = { ca = \"/etc/ca.pem\";"
                            " cert = \"/etc/c.pem\"; key = \"/etc/k.pem\"; }; username = \"portier\";"
                            " password_file = \"/etc/portier/mqtt.pw\"; client_id = \"pd-1\"; base_topic = "
                            "\"site/hq\"; qos = 2; keepalive = 45; max_inflight = 10; commands = true; discovery ="
                            " false; discovery_prefix = \"ha\"; ha_user = \"hass\"; roles = ( { user = \"hass\";"
                            " role = \"operator\"; }, { user = \"guard1\"; role = \"guard\"; } ); };\n";
    struct config_diags d;
    struct site *a = site_config_load_string(text, "t.conf", &d);
    assert_non_null(a);
    config_diags_free(&d);
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    assert_int_equal(site_config_write(a, f), 0);
    fclose(f);
    struct site *b = site_config_load_string(buf, "w.conf", &d);
    if (!b) {
        config_diags_print(&d, stderr);
        fprintf(stderr, "%s", buf);
    }
    assert_non_null(b);
    const struct site_mqtt *x = &a->mqtt, *y = &b->mqtt;
    assert_true(y->enabled && y->tls && y->commands && !y->discovery);
    assert_string_equal(x->host, y->host);
    assert_int_equal(y->port, 8884);
    assert_string_equal(y->tls_ca, "/etc/ca.pem");
    assert_string_equal(y->tls_cert, "/etc/c.pem");
    assert_string_equal(y->tls_key, "/etc/k.pem");
    assert_string_equal(y->username, "portier");
    assert_string_equal(y->password_file, "/etc/portier/mqtt.pw");
    assert_string_equal(y->client_id, "pd-1");
    assert_string_equal(y->base_topic, "site/hq");
    assert_int_equal(y->qos, 2);
    assert_int_equal(y->keepalive, 45);
    assert_int_equal(y->max_inflight, 10);
    assert_string_equal(y->discovery_prefix, "ha");
    assert_string_equal(y->ha_user, "hass");
    assert_int_equal(y->n_users, 2);
    assert_string_equal(y->users[1].user, "guard1");
    assert_int_equal(y->users[0].role, ROLE_OPERATOR);
    assert_int_equal(y->users[1].role, ROLE_GUARD);
    free(buf);
    site_free(a);
    site_free(b);
    config_diags_free(&d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_table),
        cmocka_unit_test(test_defaults),
        cmocka_unit_test_setup_teardown(test_password_file, fx_dir_setup, fx_dir_teardown),
        cmocka_unit_test(test_round_trip),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
