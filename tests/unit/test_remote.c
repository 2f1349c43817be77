/* Unit tests for the client library (client/remote.h) against a scripted daemon on a temporary socket: the hello it
 * sends, the mirror built from a snapshot, replayed and live events through the mirror's event bus (journaled, ids,
 * duplicates dropped), device and output changes, an action run on the mirror forwarded with its progress and
 * result mapped onto the mirror (one rule reads every answer: unreadable, an error or still pending at the end is a
 * failed run), a resync that drops an answer, a lost connection failing what was in flight, the
 * reconnect resuming from the last event, a reloaded site of another shape replacing the mirror, a bye. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "client/remote.h"
#include "config/site_config.h"
#include "core/proto.h"

static const char conf[] =
    "site = { name = \"Remote site\"; };\n"
    "panels = ( { name = \"Panel A\"; host = \"127.0.0.1\"; model = \"C3-200\"; doors = ( \"Main entrance\", \"Back door\" ); } );\n"
    "buses = ( { name = \"Bus 1\"; port = \"/dev/ttyUSB0\";\n"
    "  slaves = ( { address = \"271A2100000000FD\"; name = \"Lab\"; probe1 = { door = \"Lab entrance\"; }; } ); } );\n";

struct fx {
    char dir[128], path[160];
    int lfd, sfd;           /* listening socket, the accepted connection */
    loop_t *loop;
    struct remote *r;
    struct site *owner;     /* what the fake daemon "owns" (for snapshots) */
    char buf[1 << 16];
    size_t len;
    int states[16];
    size_t n_states;
    char why[256];
    int snapshots, replaced;
    int events_seen;
    struct event last_ev;
    int changes;
    /* action */
    int progress_calls, final_calls;
    struct action_run last_run;
    size_t last_output;
};

static struct fx F;

static void on_state(struct remote *r, enum remote_state st, const char *why, void *arg)
{
    (void)r;
    (void)arg;
    if (F.n_states < 16)
        F.states[F.n_states++] = (int)st;
    snprintf(F.why, sizeof F.why, "%s", why ? why : "");
}

static void on_snapshot(struct remote *r, struct site *m, bool replaced, void *arg)
{
    (void)r;
    (void)m;
    (void)arg;
    F.snapshots++;
    F.replaced += replaced;
}

static void on_event(const struct event *ev, void *arg)
{
    (void)arg;
    F.events_seen++;
    F.last_ev = *ev;
}

static void on_change(struct site *s, int device, int output, void *arg)
{
    (void)s;
    (void)device;
    (void)output;
    (void)arg;
    F.changes++;
}

static const struct remote_handlers handlers = { .state = on_state, .snapshot = on_snapshot };

/* ---- the scripted daemon ---- */

static void pump(int rounds)
{
    for (int i = 0; i < rounds; i++)
        loop_run_once(F.loop, 5);
}

static void srv_accept(void)
{
    struct pollfd p = { F.lfd, POLLIN, 0 };
    for (int i = 0; i < 400 && poll(&p, 1, 0) == 0; i++)
        pump(1); /* the client's loop runs meanwhile (its reconnect timer) */
    assert_int_equal(poll(&p, 1, 0), 1);
    F.sfd = accept(F.lfd, NULL, NULL);
    assert_true(F.sfd >= 0);
    F.len = 0;
}

/* The next line the client sent (runs the client's loop meanwhile). */
static json_t *srv_read(void)
{
    for (int i = 0; i < 400; i++) {
        char *nl = memchr(F.buf, '\n', F.len);
        if (nl) {
            size_t n = (size_t)(nl - F.buf);
            char err[128];
            json_t *o = proto_parse(F.buf, n, err, sizeof err);
            memmove(F.buf, nl + 1, F.len - n - 1);
            F.len -= n + 1;
            assert_non_null(o);
            return o;
        }
        pump(1);
        struct pollfd p = { F.sfd, POLLIN, 0 };
        if (poll(&p, 1, 5) == 1) {
            ssize_t k = read(F.sfd, F.buf + F.len, sizeof F.buf - F.len);
            assert_true(k > 0);
            F.len += (size_t)k;
        }
    }
    fail_msg("no line from the client");
    return NULL;
}

static void srv_send(json_t *o)
{
    size_t n;
    char *line = proto_dump(o, &n);
    json_decref(o);
    assert_int_equal(write(F.sfd, line, n), (ssize_t)n);
    free(line);
    pump(5);
}

static json_t *snapshot_of(struct site *s, int64_t last_id)
{
    json_t *m = json_object();
    assert_int_equal(proto_site_to_snapshot(s, m), 0);
    json_object_set_new(m, "type", json_string("snapshot"));
    json_object_set_new(m, "user", json_string("alice"));
    json_object_set_new(m, "role", json_string("operator"));
    json_object_set_new(m, "last_id", json_integer(last_id));
    json_object_set_new(m, "alarms", json_array());
    return m;
}

static json_t *event_msg(int64_t id, const char *text, bool replay)
{
    struct event ev;
    event_init(&ev, EVENT_ACCESS, EVENT_NORMAL);
    ev.id = id;
    ev.journaled = id > 0;
    snprintf(ev.device, sizeof ev.device, "Panel A");
    snprintf(ev.text, sizeof ev.text, "%s", text);
    json_t *o = proto_event_to_json(&ev, NULL);
    json_object_set_new(o, "type", json_string("event"));
    if (replay)
        json_object_set_new(o, "replay", json_true());
    return o;
}

/* Answer the hello: greeting, result, snapshot, replay, synced. */
static void srv_hello(int64_t *resume, int64_t last_id, int64_t replay_from)
{
    json_t *h = srv_read();
    assert_string_equal(proto_str(h, "op"), "hello");
    assert_int_equal(json_integer_value(json_object_get(h, "proto")), 1);
    *resume = json_integer_value(json_object_get(h, "resume"));
    int64_t id = json_integer_value(json_object_get(h, "id"));
    json_decref(h);
    srv_send(json_pack("{s:s,s:i,s:s,s:s}", "type", "hello", "proto", 1, "server", "portierd test", "user", "alice"));
    srv_send(json_pack("{s:s,s:I,s:s,s:s,s:s}", "type", "result", "id", (json_int_t)id, "op", "hello", "status", "ok",
                       "role", "operator"));
    srv_send(snapshot_of(F.owner, last_id));
    for (int64_t i = replay_from; i > 0 && i <= last_id; i++)
        srv_send(event_msg(i, "replayed", true));
    srv_send(json_pack("{s:s,s:I}", "type", "synced", "last_id", (json_int_t)last_id));
}

static void action_cb(const struct action_run *run, bool finished, void *arg)
{
    (void)arg;
    if (finished)
        F.final_calls++;
    else
        F.progress_calls++;
    F.last_run = *run;
    F.last_run.results = NULL;
    F.last_output = run->n_results ? run->results[0].output : SIZE_MAX;
}

static int setup(void **state)
{
    (void)state;
    memset(&F, 0, sizeof F);
    snprintf(F.dir, sizeof F.dir, "%s/portier-remote.XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    assert_non_null(mkdtemp(F.dir));
    snprintf(F.path, sizeof F.path, "%s/d.sock", F.dir);
    F.lfd = socket(AF_UNIX, SOCK_STREAM, 0);
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    snprintf(sa.sun_path, sizeof sa.sun_path, "%.100s", F.path);
    assert_int_equal(bind(F.lfd, (struct sockaddr *)&sa, sizeof sa), 0);
    assert_int_equal(listen(F.lfd, 8), 0);
    F.loop = loop_new();
    struct config_diags d;
    F.owner = site_config_load_string(conf, "remote.conf", &d);
    config_diags_free(&d);
    assert_non_null(F.owner);
    struct remote_opts o = { .socket = F.path, .client = "unit test", .role = -1, .journal_rows = 20, .stream = true,
                             .reconnect = true };
    F.r = remote_new(F.loop, &o, &handlers);
    assert_non_null(F.r);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    remote_free(F.r);
    if (F.sfd > 0)
        close(F.sfd);
    close(F.lfd);
    unlink(F.path);
    rmdir(F.dir);
    site_free(F.owner);
    loop_free(F.loop);
    return 0;
}

static void test_session(void **state)
{
    (void)state;
    char err[256];
    assert_int_equal(remote_connect(F.r, err, sizeof err), 0);
    srv_accept();
    int64_t resume = -1;
    srv_hello(&resume, 3, 1);
    assert_int_equal(resume, 0);
    assert_int_equal(remote_state(F.r), REMOTE_UP);
    assert_string_equal(remote_user(F.r), "alice");
    assert_int_equal(remote_role(F.r), ROLE_OPERATOR);
    assert_string_equal(remote_server(F.r), "portierd test");
    struct site *m = remote_site(F.r);
    assert_non_null(m);
    assert_string_equal(m->name, "Remote site");
    assert_int_equal(m->n_outputs, 3);
    assert_int_equal(F.snapshots, 1);
    assert_int_equal(remote_last_id(F.r), 3);

    /* live events go through the mirror's bus: journaled with their id; a duplicate is dropped */
    event_bus_subscribe(site_events(m), on_event, NULL);
    srv_send(event_msg(4, "live", false));
    assert_int_equal(F.events_seen, 1);
    assert_true(F.last_ev.journaled);
    assert_int_equal(F.last_ev.id, 4);
    srv_send(event_msg(4, "again", false));
    srv_send(event_msg(2, "old", false));
    assert_int_equal(F.events_seen, 1);
    srv_send(event_msg(0, "not stored", false));
    assert_int_equal(F.events_seen, 2);
    assert_false(F.last_ev.journaled);
    assert_int_equal(remote_last_id(F.r), 4);

    /* changes */
    assert_int_equal(site_listen(m, on_change, NULL), 0);
    json_t *dm = proto_device_to_json(F.owner, &F.owner->devices[0]);
    json_object_set_new(dm, "link", json_string("up"));
    json_object_set_new(dm, "type", json_string("device"));
    srv_send(dm);
    assert_int_equal(m->devices[0].link, LINK_UP);
    F.owner->outputs[1].state.sensor = SENSOR_OPEN;
    json_t *om = proto_output_to_json(&F.owner->outputs[1]);
    json_object_set_new(om, "type", json_string("output"));
    srv_send(om);
    assert_int_equal(m->outputs[1].state.sensor, SENSOR_OPEN);
    assert_int_equal(F.changes, 2);

    /* an action on the mirror goes to the daemon; progress and result come back mapped on the mirror */
    struct action_user u = { "alice", ROLE_OPERATOR };
    struct action_params p = { .value = 5, .has_value = true };
    assert_int_equal(action_run(m, &u, ACTION_DOOR_OPEN, "Back door", &p, action_cb, NULL, err, sizeof err), 0);
    assert_int_equal(action_running(m), 1);
    json_t *req = srv_read();
    assert_string_equal(proto_str(req, "op"), "door-open");
    assert_string_equal(proto_str(req, "target"), "Back door");
    assert_int_equal(json_integer_value(json_object_get(req, "value")), 5);
    int64_t rid = json_integer_value(json_object_get(req, "id"));
    json_decref(req);
    struct action_target_result tr = { .output = 1, .device = 0, .progress = PROGRESS_OK, .message = "ok" };
    struct action_run run = { .def = &action_table[ACTION_DOOR_OPEN], .user = u, .target = "Back door", .value = 5,
                              .audit_id = 9, .status = ACTION_PENDING, .n_results = 1, .results = &tr, .confirmed = 1 };
    json_t *pm = proto_run_to_json(F.owner, &run, true);
    json_object_set_new(pm, "type", json_string("progress"));
    json_object_set_new(pm, "id", json_integer(rid));
    srv_send(pm);
    assert_int_equal(F.progress_calls, 1);
    run.status = ACTION_OK;
    json_t *rm = proto_run_to_json(F.owner, &run, true);
    json_object_set_new(rm, "type", json_string("result"));
    json_object_set_new(rm, "id", json_integer(rid));
    srv_send(rm);
    assert_int_equal(F.final_calls, 1);
    assert_int_equal(F.last_run.status, ACTION_OK);
    assert_int_equal(F.last_run.audit_id, 9);
    assert_int_equal(F.last_output, 1);
    assert_int_equal(action_running(m), 0);

    /* every answer reads as a run by one rule, the console's and portierctl's: unreadable, an error, still pending */
    struct action_run ar;
    json_t *bad = json_pack("{s:s,s:s,s:i}", "type", "result", "status", "ok", "results", 3);
    remote_action_run(F.r, bad, true, ACTION_DOOR_OPEN, &ar);
    assert_int_equal(ar.status, ACTION_FAILED);
    assert_ptr_equal(ar.def, &action_table[ACTION_DOOR_OPEN]);
    assert_int_equal(strncmp(ar.error, "bad answer from portierd: ", 26), 0);
    proto_run_free(&ar);
    json_decref(bad);
    json_t *er = json_pack("{s:s,s:s,s:s}", "type", "result", "status", "error", "error", "no such door");
    remote_action_run(F.r, er, true, ACTION_DOOR_OPEN, &ar);
    assert_int_equal(ar.status, ACTION_FAILED);
    assert_string_equal(ar.error, "no such door");
    proto_run_free(&ar);
    json_decref(er);
    run.status = ACTION_PENDING;
    json_t *pend = proto_run_to_json(F.owner, &run, true);
    remote_action_run(F.r, pend, false, ACTION_DOOR_OPEN, &ar);
    assert_int_equal(ar.status, ACTION_PENDING); /* a progress: still running */
    assert_int_equal(ar.audit_id, 9);
    proto_run_free(&ar);
    remote_action_run(F.r, pend, true, ACTION_DOOR_OPEN, &ar);
    assert_int_equal(ar.status, ACTION_FAILED); /* the last answer, yet still pending: failed */
    proto_run_free(&ar);
    json_decref(pend);

    /* a resync drops the answer of a request in flight: it fails at once, saying so */
    assert_int_equal(action_run(m, &u, ACTION_DOOR_CLOSE, "Back door", NULL, action_cb, NULL, err, sizeof err), 0);
    req = srv_read();
    rid = json_integer_value(json_object_get(req, "id"));
    json_decref(req);
    srv_send(json_pack("{s:s,s:s,s:[I]}", "type", "resync", "reason", "output queue full", "dropped", (json_int_t)rid));
    assert_int_equal(F.final_calls, 2);
    assert_int_equal(F.last_run.status, ACTION_FAILED);
    assert_non_null(strstr(F.last_run.error, "resynchronised"));
    assert_int_equal(remote_state(F.r), REMOTE_CONNECTING);
    srv_send(snapshot_of(F.owner, 4));
    srv_send(json_pack("{s:s,s:I}", "type", "synced", "last_id", (json_int_t)4));
    assert_int_equal(remote_state(F.r), REMOTE_UP);
    assert_ptr_equal(remote_site(F.r), m); /* same shape: updated in place */

    /* the connection is lost with an action in flight: it fails; the client reconnects and resumes from #4 */
    assert_int_equal(action_run(m, &u, ACTION_DOOR_HOLD, "Main entrance", NULL, action_cb, NULL, err, sizeof err), 0);
    json_decref(srv_read());
    close(F.sfd);
    for (int i = 0; i < 50 && remote_state(F.r) != REMOTE_DOWN; i++)
        pump(1);
    assert_int_equal(remote_state(F.r), REMOTE_DOWN);
    assert_int_equal(F.final_calls, 3);
    assert_int_equal(F.last_run.status, ACTION_FAILED);
    assert_non_null(strstr(F.last_run.error, "connection to portierd lost"));
    /* refused while down, without sending anything */
    assert_int_equal(action_run(m, &u, ACTION_DOOR_OPEN, "Main entrance", NULL, action_cb, NULL, err, sizeof err), -1);
    assert_int_equal(F.last_run.status, ACTION_REFUSED);
    srv_accept(); /* the reconnect (back-off of about 100 ms) */
    F.events_seen = 0;
    srv_hello(&resume, 6, 5);
    assert_int_equal(resume, 4);
    assert_int_equal(F.events_seen, 2); /* events 5 and 6, replayed once each */
    assert_int_equal(remote_last_id(F.r), 6);

    /* a reload changed the site's shape: a new mirror replaces the old one and keeps the observers */
    struct config_diags d;
    struct site *bigger = site_config_load_string(
        "site = { name = \"Remote site\"; };\n"
        "panels = ( { name = \"Panel A\"; host = \"127.0.0.1\"; model = \"C3-400\"; } );\n", "r2.conf", &d);
    config_diags_free(&d);
    assert_non_null(bigger);
    srv_send(snapshot_of(bigger, 6));
    site_free(bigger);
    assert_int_equal(F.replaced, 1);
    struct site *m2 = remote_site(F.r);
    assert_int_equal(m2->n_outputs, 4);
    F.events_seen = 0;
    srv_send(event_msg(7, "after reload", false));
    assert_int_equal(F.events_seen, 1);

    /* bye: down with the reason */
    srv_send(json_pack("{s:s,s:s}", "type", "bye", "reason", "portierd stopping"));
    assert_int_equal(remote_state(F.r), REMOTE_DOWN);
    assert_non_null(strstr(F.why, "portierd stopping"));
}

static void test_refused_version_and_no_daemon(void **state)
{
    (void)state;
    char err[256];
    struct remote_opts o = { .socket = "/nonexistent/portier.sock", .role = -1, .stream = true };
    struct remote *r = remote_new(F.loop, &o, NULL);
    assert_int_equal(remote_connect(r, err, sizeof err), -1);
    assert_non_null(strstr(err, "cannot connect to portierd at /nonexistent/portier.sock"));
    assert_int_equal(remote_wait_up(r, 200, err, sizeof err), -1);
    remote_free(r);

    assert_int_equal(remote_connect(F.r, err, sizeof err), 0);
    srv_accept();
    json_t *h = srv_read();
    int64_t id = json_integer_value(json_object_get(h, "id"));
    json_decref(h);
    srv_send(json_pack("{s:s,s:I,s:s,s:s,s:s}", "type", "result", "id", (json_int_t)id, "op", "hello", "status",
                       "error", "error", "protocol version 1 is not spoken here"));
    assert_int_equal(remote_state(F.r), REMOTE_DOWN);
    assert_non_null(strstr(F.why, "refused the hello"));
    /* no reconnect after a refused hello: it would only be refused again */
    struct pollfd p = { F.lfd, POLLIN, 0 };
    pump(60);
    assert_int_equal(poll(&p, 1, 0), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_session, setup, teardown),
        cmocka_unit_test_setup_teardown(test_refused_version_and_no_daemon, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
