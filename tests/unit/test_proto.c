/* Unit tests for the portierd protocol codec (core/proto.h): line framing (split reads, CRLF, the exact limit and
 * one byte past it), events, audit rows, queries, action runs, the emergency and bytes round-trip; a site loaded
 * from a configuration survives snapshot → text → mirror field by field without its passwords; bad snapshots and
 * change messages are refused and leave the mirror as it was. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/site_config.h"
#include "core/proto.h"

/* ---- framing ---- */

static void feed_str(struct proto_lines *l, const char *s)
{
    assert_int_equal(proto_lines_feed(l, s, strlen(s)), 0);
}

static void test_lines_split_and_crlf(void **state)
{
    (void)state;
    struct proto_lines l;
    proto_lines_init(&l, 64);
    char *line;
    size_t len;
    feed_str(&l, "{\"op\":");
    assert_int_equal(proto_lines_next(&l, &line, &len), 0);
    assert_int_equal(proto_lines_pending(&l), 6);
    feed_str(&l, "\"ping\"}\r\n\n{\"a\":1}\nrest");
    assert_int_equal(proto_lines_next(&l, &line, &len), 1);
    assert_string_equal(line, "{\"op\":\"ping\"}");
    assert_int_equal(len, 13);
    assert_int_equal(proto_lines_next(&l, &line, &len), 1);
    assert_int_equal(len, 0); /* an empty line is a line (the caller skips it) */
    assert_int_equal(proto_lines_next(&l, &line, &len), 1);
    assert_string_equal(line, "{\"a\":1}");
    assert_int_equal(proto_lines_next(&l, &line, &len), 0);
    assert_int_equal(proto_lines_pending(&l), 4);
    proto_lines_free(&l);
}

static void test_lines_limit(void **state)
{
    (void)state;
    struct proto_lines l;
    proto_lines_init(&l, 16);
    char *line;
    size_t len;
    /* exactly max bytes: accepted, through the read interface */
    size_t room;
    char *dst = proto_lines_space(&l, &room);
    assert_non_null(dst);
    assert_true(room >= 17);
    memcpy(dst, "0123456789abcdef\n", 17);
    proto_lines_commit(&l, 17);
    assert_int_equal(proto_lines_next(&l, &line, &len), 1);
    assert_int_equal(len, 16);
    /* one byte more, without a newline yet: refused as soon as it is seen */
    dst = proto_lines_space(&l, &room);
    assert_non_null(dst);
    assert_true(room <= 18);
    memcpy(dst, "0123456789abcdefg", 17);
    proto_lines_commit(&l, 17);
    assert_int_equal(proto_lines_next(&l, &line, &len), -1);
    /* and reading stops there: no unbounded growth */
    while ((dst = proto_lines_space(&l, &room)) != NULL)
        proto_lines_commit(&l, room);
    assert_true(proto_lines_pending(&l) <= 18);
    proto_lines_free(&l);

    /* a long line with its newline in the same read is refused too */
    proto_lines_init(&l, 8);
    feed_str(&l, "0123456789\nok\n");
    assert_int_equal(proto_lines_next(&l, &line, &len), -1);
    proto_lines_free(&l);
}

static void test_parse(void **state)
{
    (void)state;
    char err[128];
    json_t *o = proto_parse("{\"op\":\"ping\",\"id\":3}", 20, err, sizeof err);
    assert_non_null(o);
    json_decref(o);
    assert_null(proto_parse("[1,2]", 5, err, sizeof err));
    assert_string_equal(err, "not a JSON object");
    assert_null(proto_parse("{\"a\":1,\"a\":2}", 13, err, sizeof err));
    assert_null(proto_parse("garbage", 7, err, sizeof err));
    assert_non_null(strstr(err, "not JSON"));
    /* embedded NUL inside the line: not an object */
    assert_null(proto_parse("{}\0{}", 5, err, sizeof err));
    size_t n;
    o = json_pack("{s:s}", "text", "é\n");
    char *s = proto_dump(o, &n);
    json_decref(o);
    assert_string_equal(s, "{\"text\":\"\\u00E9\\n\"}\n");
    assert_int_equal(n, strlen(s));
    free(s);
}

/* ---- events, audit, queries ---- */

static void test_event_roundtrip(void **state)
{
    (void)state;
    struct event ev, back;
    event_init(&ev, EVENT_NIX1_ACCESS, EVENT_WARNING);
    ev.id = 987654321012LL;
    ev.host_time_us = 1700000000123456LL;
    ev.device_time = 1700000000;
    ev.device_tz_min = -150;
    ev.device_tz_valid = true;
    snprintf(ev.device, sizeof ev.device, "Bus 1");
    snprintf(ev.door, sizeof ev.door, "Lab \"north\"");
    ev.door_no = 2;
    ev.code = 0x41;
    snprintf(ev.code_name, sizeof ev.code_name, "ERROR_USER");
    ev.card = 4294967295u;
    ev.pin = 12;
    ev.verify = 4;
    ev.inout = 1;
    snprintf(ev.uid, sizeof ev.uid, "0123456789ABCDEF");
    ev.unit = 65534;
    snprintf(ev.addr, sizeof ev.addr, "271A2100000000FD");
    snprintf(ev.text, sizeof ev.text, "refused key\twith tab");
    event_make_key(&ev);
    ev.journaled = true;
    struct journal_ack ack = { .acked = true, .time_us = 1700000001000000LL };
    snprintf(ack.by, sizeof ack.by, "alice");

    json_t *o = proto_event_to_json(&ev, &ack);
    size_t n;
    char *line = proto_dump(o, &n);
    json_decref(o);
    char err[128];
    o = proto_parse(line, n - 1, err, sizeof err);
    free(line);
    assert_non_null(o);
    struct journal_ack ack2;
    assert_int_equal(proto_event_from_json(o, &back, &ack2, err, sizeof err), 0);
    json_decref(o);
    assert_int_equal(back.id, ev.id);
    assert_int_equal(back.kind, ev.kind);
    assert_int_equal(back.severity, ev.severity);
    assert_int_equal(back.host_time_us, ev.host_time_us);
    assert_int_equal(back.device_time, ev.device_time);
    assert_true(back.device_tz_valid);
    assert_int_equal(back.device_tz_min, -150);
    assert_string_equal(back.device, ev.device);
    assert_string_equal(back.door, ev.door);
    assert_int_equal(back.door_no, 2);
    assert_int_equal(back.code, 0x41);
    assert_string_equal(back.code_name, ev.code_name);
    assert_int_equal(back.card, 4294967295u);
    assert_int_equal(back.pin, 12);
    assert_int_equal(back.verify, 4);
    assert_int_equal(back.inout, 1);
    assert_string_equal(back.uid, ev.uid);
    assert_int_equal(back.unit, 65534);
    assert_string_equal(back.addr, ev.addr);
    assert_string_equal(back.text, ev.text);
    assert_string_equal(back.key, ev.key);
    assert_true(back.journaled);
    assert_true(ack2.acked);
    assert_string_equal(ack2.by, "alice");
    assert_int_equal(ack2.time_us, ack.time_us);

    /* defaults of an event without the optional fields; unknown fields ignored */
    const char *minimal = "{\"kind\":\"gap\",\"severity\":\"warning\",\"future\":[1]}";
    o = proto_parse(minimal, strlen(minimal), err, sizeof err);
    assert_non_null(o);
    assert_int_equal(proto_event_from_json(o, &back, NULL, err, sizeof err), 0);
    assert_false(back.device_tz_valid);
    assert_int_equal(back.code, -1);
    assert_int_equal(back.unit, -1);
    json_decref(o);
    /* bad ones */
    const char *bad[] = {
        "{\"kind\":\"nope\",\"severity\":\"normal\"}",
        "{\"kind\":\"access\",\"severity\":\"normal\",\"card\":-1}",
        "{\"kind\":\"access\",\"severity\":\"normal\",\"card\":4294967296}",
        "{\"kind\":\"access\",\"severity\":\"normal\",\"text\":5}",
        "{\"kind\":\"access\",\"severity\":\"normal\",\"id\":\"1\"}",
        "{\"kind\":\"access\",\"severity\":\"normal\",\"tz\":100000}",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        o = proto_parse(bad[i], strlen(bad[i]), err, sizeof err);
        assert_non_null(o);
        assert_int_equal(proto_event_from_json(o, &back, NULL, err, sizeof err), -1);
        json_decref(o);
    }
}

static void test_audit_and_query(void **state)
{
    (void)state;
    struct audit_record r = { .id = 7, .time_us = 11, .done_us = 12 }, b;
    snprintf(r.user, sizeof r.user, "bob");
    snprintf(r.role, sizeof r.role, "operator");
    snprintf(r.action, sizeof r.action, "door-open");
    snprintf(r.target, sizeof r.target, "Main entrance");
    snprintf(r.params, sizeof r.params, "seconds=5");
    snprintf(r.result, sizeof r.result, "ok");
    snprintf(r.detail, sizeof r.detail, "Main entrance: ok");
    json_t *o = proto_audit_to_json(&r);
    char err[128];
    assert_int_equal(proto_audit_from_json(o, &b, err, sizeof err), 0);
    json_decref(o);
    assert_memory_equal(&r, &b, sizeof r);

    struct journal_query q = { .since_us = 5, .until_us = 9, .device = "Panel A", .door = "Lab", .kind = EVENT_ACCESS,
                               .min_severity = EVENT_WARNING, .search = "card", .user = "bob", .before_id = 100,
                               .after_id = 3, .unacked_only = true, .limit = 20 }, qb;
    o = proto_query_to_json(&q);
    assert_int_equal(proto_query_from_json(o, &qb, err, sizeof err), 0);
    assert_int_equal(qb.since_us, 5);
    assert_int_equal(qb.until_us, 9);
    assert_string_equal(qb.device, "Panel A");
    assert_string_equal(qb.door, "Lab");
    assert_int_equal(qb.kind, EVENT_ACCESS);
    assert_int_equal(qb.min_severity, EVENT_WARNING);
    assert_string_equal(qb.search, "card");
    assert_string_equal(qb.user, "bob");
    assert_int_equal(qb.before_id, 100);
    assert_int_equal(qb.after_id, 3);
    assert_true(qb.unacked_only);
    assert_int_equal(qb.limit, 20);
    json_decref(o);
    /* defaults, and "target" as the audit's name for the door filter */
    o = json_pack("{s:s}", "target", "Back door");
    assert_int_equal(proto_query_from_json(o, &qb, err, sizeof err), 0);
    assert_string_equal(qb.door, "Back door");
    assert_int_equal(qb.kind, -1);
    assert_int_equal(qb.min_severity, -1);
    assert_int_equal(qb.limit, 100);
    json_decref(o);
    const char *bad[] = { "{\"limit\":0}", "{\"limit\":1001}", "{\"kind\":\"x\"}", "{\"severity\":\"loud\"}",
                          "{\"device\":1}", "{\"before_id\":-1}" };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        o = proto_parse(bad[i], strlen(bad[i]), err, sizeof err);
        assert_int_equal(proto_query_from_json(o, &qb, err, sizeof err), -1);
        json_decref(o);
    }
}

/* ---- the site ---- */

static const char conf[] =
    "site = { name = \"Proto site\"; };\n"
    "panels = ( { name = \"Panel A\"; host = \"127.0.0.1\"; port = 4371; password = \"s3cret\"; model = \"C3-400\";\n"
    "    doors = ( \"Main entrance\", \"Back door\", \"Garage\", \"Store\" ); aux = ( \"Siren\" ); poll_ms = 300; } );\n"
    "buses = ( { name = \"Bus 1\"; port = \"/dev/ttyUSB0\"; baud = 19200; rs485 = \"rts\"; server_dir = \"/srv/n\";\n"
    "  slaves = ( { address = \"271A2100000000FD\"; name = \"Lab\"; valid_access_timeout = 7;\n"
    "      probe1 = { door = \"Lab entrance\"; unit = 14; }; probe2 = { door = \"Lab exit\"; unit = 15; }; },\n"
    "    { address = \"2703000000000005\"; name = \"Cellar\"; probe2 = { door = \"Cellar\"; }; } ); } );\n"
    "emergency = { doors = ( \"Main entrance\", \"Lab exit\" ); confirm = \"word\"; word = \"FIRE\"; restore = \"locked\"; };\n"
    "journal = { retention_days = 30; retention_rows = 5000; };\n"
    "ui = { colours = false; bell = \"all\"; keys = ( \"door-open=o\", \"emergency-on=F12\" ); };\n";

static struct site *load(void)
{
    struct config_diags d;
    struct site *s = site_config_load_string(conf, "proto.conf", &d);
    if (!s)
        config_diags_print(&d, stderr);
    config_diags_free(&d);
    assert_non_null(s);
    return s;
}

static struct site *through_text(const struct site *s, char **text)
{
    json_t *snap = json_object();
    assert_int_equal(proto_site_to_snapshot(s, snap), 0);
    size_t n;
    char *line = proto_dump(snap, &n);
    json_decref(snap);
    char err[256];
    json_t *o = proto_parse(line, n - 1, err, sizeof err);
    assert_non_null(o);
    struct site *m = proto_site_from_snapshot(o, err, sizeof err);
    if (!m)
        fprintf(stderr, "%s\n", err);
    json_decref(o);
    *text = line;
    return m;
}

static void test_site_snapshot(void **state)
{
    (void)state;
    struct site *s = load();
    s->devices[0].link = LINK_UP;
    snprintf(s->devices[0].link_detail, sizeof s->devices[0].link_detail, "AC Ver 5.4");
    s->devices[0].events = 42;
    s->devices[1].link = LINK_STALE;
    s->devices[1].was_up = true;
    s->outputs[1].state = (struct output_state){ .sensor = SENSOR_OPEN, .locked = false, .held_open = true,
                                                 .alarm = true, .emergency = true, .open_until_us = 99 };
    s->outputs[1].progress = PROGRESS_FAILED;
    snprintf(s->outputs[1].result, sizeof s->outputs[1].result, "door-open: timeout");
    char *text;
    struct site *m = through_text(s, &text);
    assert_non_null(m);
    assert_null(strstr(text, "s3cret"));
    free(text);

    assert_string_equal(m->name, "Proto site");
    assert_int_equal(m->n_panels, 1);
    assert_string_equal(m->panels[0].host, "127.0.0.1");
    assert_int_equal(m->panels[0].port, 4371);
    assert_string_equal(m->panels[0].password, "");
    assert_int_equal(m->panels[0].doors, 4);
    assert_int_equal(m->panels[0].aux_count, 1);
    assert_int_equal(m->panels[0].poll_ms, 300);
    assert_string_equal(m->panels[0].door_names[3], "Store");
    assert_int_equal(m->n_buses, 1);
    assert_int_equal(m->buses[0].baud, 19200);
    assert_int_equal(m->buses[0].rs485, SITE_RS485_RTS);
    assert_string_equal(m->buses[0].server_dir, "/srv/n");
    assert_int_equal(m->buses[0].n_slaves, 2);
    assert_string_equal(m->buses[0].slaves[0].addr, "271A2100000000FD");
    assert_int_equal(m->buses[0].slaves[0].valid_timeout, 7);
    assert_int_equal(m->buses[0].slaves[0].bad_timeout, -1);
    assert_int_equal(m->buses[0].slaves[0].probe_units[1], 15);
    assert_string_equal(m->buses[0].slaves[1].probe_doors[1], "Cellar");
    assert_int_equal(m->buses[0].slaves[1].probe_units[0], -1);
    assert_false(m->emergency.all_doors);
    assert_int_equal(m->emergency.n_doors, 2);
    assert_string_equal(m->emergency.doors[1], "Lab exit");
    assert_int_equal(m->emergency.confirm, SITE_CONFIRM_WORD);
    assert_string_equal(m->emergency.word, "FIRE");
    assert_int_equal(m->emergency.restore, SITE_RESTORE_LOCKED);
    assert_int_equal(m->journal.retention_days, 30);
    assert_int_equal(m->journal.retention_rows, 5000);
    assert_false(m->ui.colours);
    assert_int_equal(m->ui.bell, SITE_BELL_ALL);
    assert_int_equal(m->ui.n_keys, 2);
    assert_string_equal(m->ui.keys[1].key, "F12");

    assert_int_equal(m->n_devices, s->n_devices);
    for (size_t i = 0; i < s->n_devices; i++) {
        assert_string_equal(m->devices[i].name, s->devices[i].name);
        assert_string_equal(m->devices[i].kind, s->devices[i].kind);
        assert_int_equal(m->devices[i].link, s->devices[i].link);
        assert_int_equal(m->devices[i].was_up, s->devices[i].was_up);
    }
    assert_ptr_equal(m->devices[0].panel, &m->panels[0]);
    assert_ptr_equal(m->devices[1].bus, &m->buses[0]);
    assert_string_equal(m->devices[0].link_detail, "AC Ver 5.4");
    assert_int_equal(m->devices[0].events, 42);
    assert_int_equal(m->n_outputs, s->n_outputs);
    for (size_t i = 0; i < s->n_outputs; i++) {
        assert_string_equal(m->outputs[i].name, s->outputs[i].name);
        assert_int_equal(m->outputs[i].type, s->outputs[i].type);
        assert_int_equal(m->outputs[i].device, s->outputs[i].device);
        assert_int_equal(m->outputs[i].number, s->outputs[i].number);
        assert_int_equal(m->outputs[i].slave, s->outputs[i].slave);
        assert_memory_equal(&m->outputs[i].state, &s->outputs[i].state, sizeof s->outputs[i].state);
        assert_int_equal(m->outputs[i].progress, s->outputs[i].progress);
        assert_string_equal(m->outputs[i].result, s->outputs[i].result);
    }
    /* the mirror answers name lookups like the owner */
    assert_ptr_equal(site_find_output(m, "Panel A/aux1"), &m->outputs[4]);
    assert_ptr_equal(site_find_output(m, "cellar"), &m->outputs[s->n_outputs - 1]);

    /* change messages */
    json_t *d = proto_device_to_json(s, &s->devices[1]);
    json_object_set_new(d, "link", json_string("up"));
    size_t idx = 99;
    char err[256];
    assert_int_equal(proto_device_apply(m, d, &idx, err, sizeof err), 0);
    assert_int_equal(idx, 1);
    assert_int_equal(m->devices[1].link, LINK_UP);
    json_object_set_new(d, "link", json_string("sideways"));
    assert_int_equal(proto_device_apply(m, d, &idx, err, sizeof err), -1);
    assert_int_equal(m->devices[1].link, LINK_UP);
    json_object_set_new(d, "index", json_integer(2));
    assert_int_equal(proto_device_apply(m, d, &idx, err, sizeof err), -1);
    json_decref(d);

    s->outputs[2].state.sensor = SENSOR_OPEN;
    s->outputs[2].state.stale = false;
    json_t *o = proto_output_to_json(&s->outputs[2]);
    assert_int_equal(proto_output_apply(m, o, &idx, err, sizeof err), 0);
    assert_int_equal(idx, 2);
    assert_int_equal(m->outputs[2].state.sensor, SENSOR_OPEN);
    assert_false(m->outputs[2].state.stale);
    json_object_set_new(json_object_get(o, "state"), "locked", json_string("yes"));
    m->outputs[2].state.locked = true;
    assert_int_equal(proto_output_apply(m, o, &idx, err, sizeof err), -1);
    assert_true(m->outputs[2].state.locked);
    json_decref(o);

    site_free(m);
    site_free(s);
}

static void test_bad_snapshots(void **state)
{
    (void)state;
    const char *bad[] = {
        "{\"site\":{},\"devices\":[{\"index\":1,\"name\":\"x\"}]}",
        "{\"site\":{},\"devices\":[{\"index\":0,\"name\":\"x\",\"panel\":0}]}",
        "{\"site\":{\"panels\":[{\"name\":\"P\"}]},\"devices\":[{\"index\":0,\"panel\":0}],"
        "\"outputs\":[{\"index\":0,\"type\":\"door\",\"device\":1}]}",
        "{\"site\":{\"panels\":[{\"name\":\"P\"}]},\"devices\":[{\"index\":0,\"panel\":0}],"
        "\"outputs\":[{\"index\":0,\"type\":\"probe\",\"device\":0}]}",
        "{\"site\":{\"panels\":[{\"doors\":9}]}}",
        "{\"site\":{\"buses\":[{\"slaves\":[{\"probes\":[{},{},{}]}]}]}}",
        "{\"site\":{\"buses\":[{\"slaves\":[{\"valid_access_timeout\":300}]}]}}",
        "{\"site\":[]}",
        "{\"site\":{},\"outputs\":{}}",
        "{\"site\":{\"emergency\":{\"doors\":[1]}}}",
    };
    char err[256];
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        json_t *o = proto_parse(bad[i], strlen(bad[i]), err, sizeof err);
        assert_non_null(o);
        struct site *m = proto_site_from_snapshot(o, err, sizeof err);
        if (m)
            fprintf(stderr, "accepted: %s\n", bad[i]);
        assert_null(m);
        assert_true(err[0]);
        json_decref(o);
    }
    /* the smallest snapshot is an empty site */
    const char *empty = "{\"site\":{\"name\":\"Empty\"}}";
    json_t *o = proto_parse(empty, strlen(empty), err, sizeof err);
    struct site *m = proto_site_from_snapshot(o, err, sizeof err);
    assert_non_null(m);
    assert_string_equal(m->name, "Empty");
    assert_int_equal(m->n_devices, 0);
    site_free(m);
    json_decref(o);
}

static void test_run_roundtrip(void **state)
{
    (void)state;
    struct site *s = load();
    struct action_target_result res[2] = {
        { .output = 1, .device = 0, .progress = PROGRESS_OK, .message = "ok" },
        { .output = SIZE_MAX, .device = 1, .progress = PROGRESS_FAILED, .message = "timeout", .label = "LOCK_0" },
    };
    struct action_run run = { .def = &action_table[ACTION_EMERGENCY_ON], .user = { "carol", ROLE_OPERATOR },
                              .target = "site", .audit_id = 17, .status = ACTION_PARTIAL, .n_results = 2,
                              .results = res, .confirmed = 1, .failed = 1, .error = "" };
    json_t *o = proto_run_to_json(s, &run, true);
    struct action_run b;
    char err[128];
    assert_int_equal(proto_run_from_json(o, s, &b, err, sizeof err), 0);
    json_decref(o);
    assert_ptr_equal(b.def, run.def);
    assert_string_equal(b.user.name, "carol");
    assert_int_equal(b.user.role, ROLE_OPERATOR);
    assert_int_equal(b.status, ACTION_PARTIAL);
    assert_int_equal(b.audit_id, 17);
    assert_int_equal(b.confirmed, 1);
    assert_int_equal(b.failed, 1);
    assert_int_equal(b.n_results, 2);
    assert_int_equal(b.results[0].output, 1);
    assert_int_equal(b.results[0].device, 0);
    assert_int_equal(b.results[0].progress, PROGRESS_OK);
    assert_int_equal(b.results[1].output, SIZE_MAX);
    assert_int_equal(b.results[1].device, 1);
    assert_string_equal(b.results[1].message, "timeout");
    assert_string_equal(b.results[1].label, "LOCK_0");
    proto_run_free(&b);
    /* an index that names another output than the name: the name wins */
    o = json_pack("{s:s,s:[{s:s,s:i}]}", "op", "door-open", "results", "output", "Garage", "output_index", 0);
    assert_int_equal(proto_run_from_json(o, s, &b, err, sizeof err), 0);
    assert_int_equal(b.results[0].output, 2);
    proto_run_free(&b);
    json_decref(o);
    o = json_pack("{s:s}", "op", "fly");
    assert_int_equal(proto_run_from_json(o, s, &b, err, sizeof err), -1);
    json_decref(o);
    site_free(s);
}

static void test_emergency_and_bytes(void **state)
{
    (void)state;
    struct proto_emergency e = { .active = true, .since_us = 5, .by = "dave", .running = true,
                                 .action = "emergency-on", .confirmed = 9, .pending = 1, .failed = 3, .total = 12,
                                 .retrying = 2 }, b;
    /* a reason holding "; " and ": " (the separators of a joined list) stays one door's reason */
    proto_emergency_add_failed(&e, "Lab exit", "offline: cannot connect to tcp 127.0.0.1:9: Connection refused; "
                                               "unlocks when it is back");
    proto_emergency_add_failed(&e, "Yard", "timeout");
    proto_emergency_add_failed(&e, "Gate", "timeout");
    json_t *o = proto_emergency_to_json(&e);
    const json_t *fd = json_object_get(o, "failed_doors");
    assert_int_equal(json_array_size(fd), 3);
    assert_string_equal(json_string_value(json_object_get(json_array_get(fd, 0), "door")), "Lab exit");
    assert_string_equal(json_string_value(json_object_get(json_array_get(fd, 0), "reason")),
                        "offline: cannot connect to tcp 127.0.0.1:9: Connection refused; unlocks when it is back");
    /* version-1 clients of before it still get one "door: reason" per door */
    assert_int_equal(json_array_size(json_object_get(o, "failures")), 3);
    assert_string_equal(json_string_value(json_array_get(json_object_get(o, "failures"), 1)), "Yard: timeout");
    char err[64];
    assert_int_equal(proto_emergency_from_json(o, &b, err, sizeof err), 0);
    assert_memory_equal(&e, &b, sizeof e);
    char text[256];
    proto_emergency_failures_text(&b, text, sizeof text);
    assert_string_equal(text, "Lab exit (offline: cannot connect to tcp 127.0.0.1:9: Connection refused; unlocks when "
                              "it is back), Yard, Gate (timeout)");
    /* through text: what a client reads off the line */
    char *line = json_dumps(o, JSON_COMPACT);
    json_t *reread = json_loads(line, 0, NULL);
    free(line);
    assert_int_equal(proto_emergency_from_json(reread, &b, err, sizeof err), 0);
    assert_memory_equal(&e, &b, sizeof e);
    json_decref(reread);
    /* a daemon of before "failed_doors": its entries are one door each */
    json_object_del(o, "failed_doors");
    assert_int_equal(proto_emergency_from_json(o, &b, err, sizeof err), 0);
    assert_int_equal(b.n_failed_doors, 3);
    assert_string_equal(b.failed_doors[0].door, "Lab exit");
    assert_string_equal(b.failed_doors[0].reason, e.failed_doors[0].reason);
    assert_string_equal(b.failed_doors[2].reason, "timeout");
    json_decref(o);

    const unsigned char data[] = { 0, 1, 2, 0xfe, 0xff, 'a' };
    for (size_t n = 0; n <= sizeof data; n++) {
        char *t = proto_b64_encode(data, n);
        unsigned char *back;
        size_t len;
        assert_int_equal(proto_b64_decode(t, &back, &len), 0);
        assert_int_equal(len, n);
        assert_memory_equal(back, data, n);
        free(back);
        free(t);
        t = proto_hex_encode(data, n);
        assert_int_equal(proto_hex_decode(t, &back, &len), 0);
        assert_int_equal(len, n);
        assert_memory_equal(back, data, n);
        free(back);
        free(t);
    }
    unsigned char *back;
    size_t len;
    assert_int_equal(proto_b64_decode("abc", &back, &len), -1);
    assert_int_equal(proto_b64_decode("ab=c", &back, &len), -1);
    assert_int_equal(proto_b64_decode("a b ", &back, &len), -1);
    assert_int_equal(proto_hex_decode("0g", &back, &len), -1);
    assert_int_equal(proto_hex_decode("abc", &back, &len), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_lines_split_and_crlf),
        cmocka_unit_test(test_lines_limit),
        cmocka_unit_test(test_parse),
        cmocka_unit_test(test_event_roundtrip),
        cmocka_unit_test(test_audit_and_query),
        cmocka_unit_test(test_site_snapshot),
        cmocka_unit_test(test_bad_snapshots),
        cmocka_unit_test(test_run_roundtrip),
        cmocka_unit_test(test_emergency_and_bytes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
