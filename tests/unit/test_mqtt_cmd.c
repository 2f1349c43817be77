/* Unit tests for the MQTT bridge's pure parts: command topics and payloads (accepted, refused with the
 * reason, not a command), topic-level names, event payloads and the discovery set with commands on and off. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/site_config.h"
#include "daemon/mqtt_cmd.h"
#include "daemon/mqtt_ha.h"
#include "daemon/mqtt_json.h"

static int parse(const char *topic, const char *payload, struct mqtt_cmd *c, char *err)
{
    return mqtt_cmd_parse("site/hq", topic, payload, strlen(payload), c, err, 256);
}

static void test_accepted(void **state)
{
    struct mqtt_cmd c;
    char err[256];
    assert_int_equal(parse("site/hq/cmd/alice/command",
                           "{\"action\":\"door-open\",\"target\":\"Main entrance\",\"seconds\":7,\"id\":\"r1\"}", &c, err), 0);
    assert_string_equal(c.user, "alice");
    assert_int_equal(c.action, ACTION_DOOR_OPEN);
    assert_string_equal(c.target, "Main entrance");
    assert_true(c.has_value);
    assert_int_equal(c.value, 7);
    assert_string_equal(c.id, "r1");
    assert_int_equal(c.target_kind, MQTT_TARGET_NAME);
    assert_int_equal(parse("site/hq/cmd/alice/command", "{\"action\":\"ack\",\"target\":42,\"id\":9}", &c, err), 0);
    assert_int_equal(c.action, ACTION_ACK);
    assert_string_equal(c.target, "42");
    assert_string_equal(c.id, "9");
    assert_int_equal(parse("site/hq/cmd/alice/command", "{\"action\":\"emergency-on\"}", &c, err), 0);
    assert_int_equal(c.action, ACTION_EMERGENCY_ON);
    assert_int_equal(parse("site/hq/cmd/hass/output/main_entrance/lock", " unlock\n", &c, err), 0);
    assert_int_equal(c.action, ACTION_TIMED_OPEN);
    assert_int_equal(c.target_kind, MQTT_TARGET_OUTPUT_SLUG);
    assert_string_equal(c.target, "main_entrance");
    assert_int_equal(parse("site/hq/cmd/hass/output/main_entrance/lock", "OPEN", &c, err), 0);
    assert_int_equal(c.action, ACTION_DOOR_OPEN);
    assert_int_equal(parse("site/hq/cmd/hass/output/main_entrance/lock", "LOCK", &c, err), 0);
    assert_int_equal(c.action, ACTION_DOOR_CLOSE);
    assert_int_equal(parse("site/hq/cmd/hass/output/siren/switch", "ON", &c, err), 0);
    assert_int_equal(c.action, ACTION_AUX_ON);
    assert_int_equal(c.value, 255);
    assert_int_equal(parse("site/hq/cmd/hass/device/panel_a/cancel-alarm", "PRESS", &c, err), 0);
    assert_int_equal(c.action, ACTION_CANCEL_ALARM);
    assert_int_equal(c.target_kind, MQTT_TARGET_DEVICE_SLUG);
    assert_int_equal(parse("site/hq/cmd/hass/emergency", "OFF", &c, err), 0);
    assert_int_equal(c.action, ACTION_EMERGENCY_OFF);
}

static void test_refused(void **state)
{
    static const struct {
        const char *topic, *payload, *why;
    } bad[] = {
        { "site/hq/cmd/alice/command", "{\"action\":\"door-open\",\"target\":", "payload is not JSON" },
        { "site/hq/cmd/alice/command", "[1]", "payload must be a JSON object" },
        { "site/hq/cmd/alice/command", "{\"target\":\"x\"}", "\"action\" (a string such as \"door-open\") is required" },
        { "site/hq/cmd/alice/command", "{\"action\":\"fly\"}", "unknown action \"fly\"" },
        { "site/hq/cmd/alice/command", "{\"action\":\"reload-config\"}", "reload-config is not available over MQTT" },
        { "site/hq/cmd/alice/command", "{\"action\":\"slave-provision\",\"target\":\"S\"}",
          "slave-provision is not available over MQTT" },
        { "site/hq/cmd/alice/command", "{\"action\":\"door-open\"}", "door-open needs \"target\"" },
        { "site/hq/cmd/alice/command", "{\"action\":\"door-open\",\"target\":\"A\",\"seconds\":0}",
          "door-open: seconds must be an integer 1..254" },
        { "site/hq/cmd/alice/command", "{\"action\":\"door-open\",\"target\":\"A\",\"seconds\":\"5\"}",
          "door-open: seconds must be an integer 1..254" },
        { "site/hq/cmd/alice/command", "{\"action\":\"door-close\",\"target\":\"A\",\"value\":3}",
          "door-close takes no value" },
        { "site/hq/cmd/alice/command", "{\"action\":\"door-open\",\"target\":\"A\",\"target\":\"B\"}",
          "payload is not JSON" },
        { "site/hq/cmd/alice/command", "{\"action\":\"door-open\",\"target\":\"A\",\"role\":\"technician\"}",
          "unknown key \"role\"" },
        { "site/hq/cmd/alice/command", "{\"action\":\"ack\",\"target\":1,\"id\":[1]}", "\"id\" must be" },
        { "site/hq/cmd/alice/output/x/lock", "BANG", "lock takes LOCK, UNLOCK or OPEN" },
        { "site/hq/cmd/alice/output/x/switch", "ON OFF", "switch takes ON or OFF" },
        { "site/hq/cmd/alice/output/x/fly", "ON", "expected .../output/<name>/lock" },
        { "site/hq/cmd/alice/output/x/lock/more", "LOCK", "expected .../output/<name>/lock" },
        { "site/hq/cmd/alice/device/p/cancel-alarm", "press me", "cancel-alarm takes PRESS" },
        { "site/hq/cmd/alice/emergency", "YES", "emergency takes ON or OFF" },
        { "site/hq/cmd/alice/emergency/x", "ON", "unknown command topic" },
        { "site/hq/cmd/alice/whatever", "ON", "unknown command topic" },
        { "site/hq/cmd/alice", "ON", "command topic without a command" },
        { "site/hq/cmd//command", "{}", "command topic without a user level" },
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct mqtt_cmd c;
        char err[256] = "";
        int rc = parse(bad[i].topic, bad[i].payload, &c, err);
        if (rc != -1 || strncmp(err, bad[i].why, strlen(bad[i].why)) != 0) {
            fprintf(stderr, "case %zu: %s %s -> %d \"%s\"\n", i, bad[i].topic, bad[i].payload, rc, err);
            fail();
        }
    }
    struct mqtt_cmd c;
    char err[256];
    assert_int_equal(parse("site/hq/status", "x", &c, err), -2);
    assert_int_equal(parse("site/hqx/cmd/a/command", "{}", &c, err), -2);
    assert_int_equal(parse("other/cmd/a/command", "{}", &c, err), -2);
    char big[MQTT_CMD_PAYLOAD_MAX + 2];
    memset(big, ' ', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    assert_int_equal(parse("site/hq/cmd/a/command", big, &c, err), -1);
    assert_string_equal(err, "payload too large");
    /* a NUL inside a JSON string is refused, never cut */
    assert_int_equal(mqtt_cmd_parse("site/hq", "site/hq/cmd/a/command", "{\"action\":\"door-open\",\"target\":\"A\\u0000B\"}",
                                    44, &c, err, sizeof err), -1);
}

static void test_slugs(void **state)
{
    char s[MQTT_SLUG_MAX];
    mqtt_slug("Main entrance", s, sizeof s);
    assert_string_equal(s, "main_entrance");
    mqtt_slug("  Lab #2 / exit++ ", s, sizeof s);
    assert_string_equal(s, "lab_2_exit");
    mqtt_slug("Übergang", s, sizeof s);
    assert_string_equal(s, "bergang");
    mqtt_slug("###", s, sizeof s);
    assert_string_equal(s, "x");
    struct config_diags d;
    struct site *site = site_config_load_string(
        "site = { name = \"T\"; };\npanels = ( { name = \"P\"; host = \"h\"; doors = ( \"Lab 1\", \"Lab-1\" ); } );\n",
        "t.conf", &d);
    assert_non_null(site);
    struct mqtt_slugs sl;
    assert_int_equal(mqtt_slugs_build(site, &sl), 0);
    assert_string_equal(sl.output[0], "lab_1");
    assert_string_equal(sl.output[1], "lab_1_1");
    assert_int_equal(mqtt_slugs_find_output(&sl, "lab_1_1"), 1);
    assert_int_equal(mqtt_slugs_find_output(&sl, "nope"), -1);
    assert_int_equal(mqtt_slugs_find_device(&sl, "p"), 0);
    mqtt_slugs_free(&sl);
    site_free(site);
    config_diags_free(&d);
}

static void test_event_json(void **state)
{
    struct event ev;
    event_init(&ev, EVENT_ACCESS, EVENT_NORMAL);
    ev.id = 12;
    ev.journaled = true;
    ev.host_time_us = 1700000000123456LL;
    event_copy(ev.device, sizeof ev.device, "Panel A");
    event_copy(ev.door, sizeof ev.door, "Main entrance");
    ev.code = 0;
    ev.card = 5001;
    event_copy(ev.code_name, sizeof ev.code_name, "normal punch open (card)");
    event_set_text(&ev, "bad \xff byte");
    char *j = mqtt_json_event(&ev);
    assert_non_null(j);
    json_t *o = json_loads(j, 0, NULL);
    assert_non_null(o);
    assert_int_equal(json_integer_value(json_object_get(o, "journal_id")), 12);
    assert_string_equal(json_string_value(json_object_get(o, "time")), "2023-11-14T22:13:20.123Z");
    assert_string_equal(json_string_value(json_object_get(o, "text")), "bad ? byte");
    assert_null(json_object_get(o, "uid"));
    json_decref(o);
    free(j);
    assert_string_equal(mqtt_access_type(&ev), "granted");
    ev.code = 27; /* unregistered card */
    assert_string_equal(mqtt_access_type(&ev), "denied");
    ev.journaled = false;
    j = mqtt_json_event(&ev);
    assert_non_null(strstr(j, "\"journal_id\":null"));
    free(j);
    event_init(&ev, EVENT_LINK, EVENT_NORMAL);
    assert_null(mqtt_access_type(&ev));
}

struct collect {
    int n, removed, locks, emergency;
};

static void emit(const char *topic, const char *payload, void *arg)
{
    struct collect *c = arg;
    c->n++;
    c->removed += payload[0] == '\0';
    c->locks += strstr(topic, "/lock/") && payload[0];
    c->emergency += strstr(topic, "/emergency/") && payload[0];
    if (payload[0]) {
        json_t *o = json_loads(payload, 0, NULL);
        assert_non_null(o);
        assert_non_null(json_object_get(o, "unique_id"));
        json_decref(o);
    }
}

static void test_discovery(void **state)
{
    struct config_diags d;
    struct site *site = site_config_load_string(
        "site = { name = \"T\"; };\npanels = ( { name = \"P\"; host = \"h\"; model = \"C3-200\"; aux = ( \"Siren\" ); } );\n"
        "mqtt = { host = \"b\"; commands = true; ha_user = \"hass\"; roles = ( { user = \"hass\"; role = \"operator\"; } ); };\n",
        "t.conf", &d);
    assert_non_null(site);
    struct mqtt_slugs sl;
    assert_int_equal(mqtt_slugs_build(site, &sl), 0);
    struct collect c = { 0 };
    /* 2 doors x (sensor, lock, event) + 1 switch + 1 button + emergency */
    assert_int_equal(mqtt_ha_discovery(site, &site->mqtt, &sl, "1", emit, &c), 9);
    assert_int_equal(c.removed, 0);
    assert_int_equal(c.locks, 2);
    assert_int_equal(c.emergency, 1);
    site->mqtt.commands = false;
    memset(&c, 0, sizeof c);
    assert_int_equal(mqtt_ha_discovery(site, &site->mqtt, &sl, "1", emit, &c), 9);
    assert_int_equal(c.removed, 5); /* 2 locks, switch, button, emergency taken away */
    assert_int_equal(c.locks + c.emergency, 0);
    mqtt_slugs_free(&sl);
    site_free(site);
    config_diags_free(&d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_accepted),
        cmocka_unit_test(test_refused),
        cmocka_unit_test(test_slugs),
        cmocka_unit_test(test_event_json),
        cmocka_unit_test(test_discovery),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
