/* ctl_daemon: the site commands as a client of portierd: they need nothing but its socket (no configuration, no
 * panel password); the daemon decides the caller's role from its Unix identity and audits every action. */
#include <errno.h>
#include <signal.h>
#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli/ctl_site.h"
#include "client/remote.h"
#include "config/site_config.h"
#include "core/proto.h"
#include "core/tcp.h"

#define CONNECT_TIMEOUT_MS 10000
#define ACTION_TIMEOUT_MS 60000

/* The socket ctl_daemon_choose looked for and did not find ("": none missed) */
static char absent_sock[SITE_PATH_MAX];

const char *ctl_daemon_absent(void)
{
    return absent_sock[0] ? absent_sock : NULL;
}

int ctl_daemon_choose(const struct ctl_opts *g, char *sock, size_t len)
{
    if (g->direct)
        return 0;
    snprintf(sock, len, "%s", g->socket_path ? g->socket_path : REMOTE_DEFAULT_SOCKET);
    if (!g->socket_path) {
        /* the configuration's daemon.socket, when this user can read the configuration at all */
        char path[2 * SITE_PATH_MAX + 8];
        if (site_config_find(g->config_path, path, sizeof path)) {
            struct config_diags d;
            struct site *s = site_config_load(path, &d);
            if (s && s->daemon.socket[0])
                snprintf(sock, len, "%s", s->daemon.socket);
            site_free(s);
            config_diags_free(&d);
        }
    }
    struct stat st;
    bool found = stat(sock, &st) == 0;
    int e = errno;
    if (found && S_ISSOCK(st.st_mode))
        return 1;
    if (g->socket_path) {
        fprintf(stderr, "portierctl: --socket %s: %s\n", sock, found ? "not a socket" :
                        e == ENOENT ? "no portierd socket there" : strerror(e));
        return -1;
    }
    snprintf(absent_sock, sizeof absent_sock, "%s", sock);
    return 0; /* no daemon socket: this process owns the devices (direct mode) */
}

/* ---- connecting ---- */

struct session {
    loop_t *loop;
    struct remote *r;
    const struct ctl_opts *g;
    const char *sock;
};

static void on_state(struct remote *r, enum remote_state st, const char *why, void *arg)
{
    (void)r;
    struct session *s = arg;
    if (st == REMOTE_DOWN && why && s->g->verbose)
        fprintf(stderr, "portierctl: %s\n", why);
}

/* What to add to a failure to connect to portierd's socket whose error was e. */
static const char *connect_hint(int e)
{
    return e == EACCES ? " (the socket is for portierd's group: ask to be added to it)" : "";
}

/* quiet: a failure to connect is not printed (the caller has another way) */
static int session_open_as(struct session *s, const struct ctl_call *call, const char *sock, bool quiet)
{
    memset(s, 0, sizeof *s);
    s->g = &call->g;
    s->sock = sock;
    s->loop = loop_new();
    if (!s->loop) {
        fprintf(stderr, "portierctl: out of memory\n");
        return CTL_EXIT_UNREACHABLE;
    }
    struct remote_opts o = { .socket = sock, .client = "portierctl " PORTIER_VERSION, .readonly = call->g.readonly,
                             .role = -1, .journal_rows = 0, .stream = false, .reconnect = false };
    struct remote_handlers h = { .state = on_state, .arg = s };
    s->r = remote_new(s->loop, &o, &h);
    char err[512];
    if (!s->r || remote_connect(s->r, err, sizeof err) < 0 ||
        remote_wait_up(s->r, ctl_timeout(&call->g, CONNECT_TIMEOUT_MS), err, sizeof err) < 0) {
        if (!quiet || call->g.verbose)
            fprintf(stderr, "portierctl: %s%s\n", s->r ? err : "out of memory", connect_hint(errno));
        remote_free(s->r);
        loop_free(s->loop);
        s->r = NULL;
        return CTL_EXIT_UNREACHABLE;
    }
    if (call->g.verbose)
        fprintf(stderr, "portierctl: %s at %s: connected as %s (%s)\n", remote_server(s->r), sock, remote_user(s->r),
                role_name(remote_role(s->r)));
    return CTL_EXIT_OK;
}

static int session_open(struct session *s, const struct ctl_call *call, const char *sock)
{
    return session_open_as(s, call, sock, false);
}

static void session_close(struct session *s)
{
    remote_free(s->r);
    loop_free(s->loop);
}

/* Opens a session and asks portierd {"op": op}; *fin is its final answer (NULL: none within the timeout). */
static int session_ask(struct session *s, const struct ctl_call *call, const char *sock, const char *op,
                       unsigned def_ms, json_t **fin)
{
    int rc = session_open(s, call, sock);
    if (rc != CTL_EXIT_OK)
        return rc;
    *fin = remote_call(s->r, json_pack("{s:s}", "op", op), NULL, NULL, ctl_timeout(&call->g, def_ms));
    return CTL_EXIT_OK;
}

/* The exit status of portierd's final answer st that is not "ok": 2 for the caller's role ("denied": no usage line,
 * the command was right) and, when refused_too, for a request portierd refused; other for anything else. */
static int refusal_exit(const char *st, bool refused_too, int other)
{
    if (st && strcmp(st, "denied") == 0) {
        ctl_refuse();
        return CTL_EXIT_USAGE;
    }
    return refused_too && st && strcmp(st, "refused") == 0 ? CTL_EXIT_USAGE : other;
}

/* ---- status ---- */

int ctl_daemon_status(struct ctl_call *call, const char *sock)
{
    struct session s;
    int rc = session_open(&s, call, sock);
    if (rc != CTL_EXIT_OK)
        return rc;
    if (call->g.json)
        ctl_print_json(json_pack("{s:s,s:s,s:s,s:s}", "portierd", sock, "server", remote_server(s.r), "user",
                                 remote_user(s.r), "role", role_name(remote_role(s.r))));
    else
        printf("connected to %s at %s as %s (%s)\n", remote_server(s.r), sock, remote_user(s.r),
               role_name(remote_role(s.r)));
    int down = ctl_print_status(&call->g, remote_site(s.r), remote_emergency(s.r));
    session_close(&s);
    return down ? CTL_EXIT_UNREACHABLE : CTL_EXIT_OK;
}

/* ---- actions ---- */

struct act {
    struct session *s;
    enum action_id id;
    bool done;
    enum action_status status;
    struct ctl_site_run *run;  /* an action with parameters and lines (ctl_daemon_run), or NULL */
};

static void act_answer(struct remote *r, const json_t *msg, bool final, void *arg)
{
    struct act *a = arg;
    const char *type = proto_str(msg, "type");
    const json_t *step = json_object_get(msg, "step");
    if (!final && step && a->run) {
        const char *line = proto_str(step, "line");
        const json_t *rec = json_object_get(step, "record");
        if (!json_is_object(rec))
            rec = NULL;
        if (line || rec) {
            a->run->lines++;
            if (a->run->record)
                a->run->record(a->run->arg, line, rec);
            else if (a->run->line && line)
                a->run->line(a->run->arg, line);
        } else if (a->run->progress) {
            json_int_t done = json_integer_value(json_object_get(step, "done"));
            json_int_t total = json_integer_value(json_object_get(step, "total"));
            if (total > 0 && done >= 0 && done <= total)
                a->run->progress(a->run->arg, (size_t)done, (size_t)total);
        }
        return;
    }
    if (!final && (!type || strcmp(type, "progress") != 0 || step))
        return;
    struct action_run run;
    remote_action_run(r, msg, final, a->id, &run);
    if (!a->run || !a->run->quiet || (final && run.status != ACTION_OK && !a->run->lines))
        ctl_print_run(a->s->g, remote_site(r), &run, final);
    if (final) {
        a->done = true;
        a->status = run.status;
        if (a->run) {
            a->run->status = run.status;
            event_copy(a->run->message, sizeof a->run->message, run.n_results ? run.results[0].message : run.error);
        }
    }
    proto_run_free(&run);
}

static int daemon_action(struct ctl_call *call, const char *sock, enum action_id id, const char *target, long value,
                         const char *comment, struct ctl_site_run *sr)
{
    struct session s;
    int rc = session_open(&s, call, sock);
    if (rc != CTL_EXIT_OK)
        return rc;
    json_t *req = json_pack("{s:s}", "op", action_table[id].name);
    if (req && target)
        json_object_set_new(req, "target", json_string(target));
    if (req && value > 0)
        json_object_set_new(req, "value", json_integer(value));
    if (req && comment && comment[0])
        json_object_set_new(req, "comment", json_string(comment));
    if (req && sr && sr->settings)
        json_object_set_new(req, "settings", json_string(sr->settings));
    if (req && sr && sr->data) {
        char *b64 = proto_b64_encode(sr->data, sr->len);
        json_object_set_new(req, "data_b64", b64 ? json_string(b64) : json_null());
        free(b64);
    }
    struct act a = { .s = &s, .id = id, .run = sr };
    json_t *fin = remote_call(s.r, req, act_answer, &a, ctl_timeout(&call->g, ACTION_TIMEOUT_MS));
    if (fin)
        act_answer(s.r, fin, true, &a);
    else
        fprintf(stderr, "portierctl: no result from portierd in time (the action may still complete: see the "
                        "audit)\n");
    json_decref(fin);
    session_close(&s);
    return a.done ? ctl_action_exit(id, a.status) : CTL_EXIT_UNREACHABLE;
}

int ctl_daemon_action(struct ctl_call *call, const char *sock, enum action_id id, const char *target, long value,
                      const char *comment)
{
    return daemon_action(call, sock, id, target, value, comment, NULL);
}

int ctl_daemon_run(struct ctl_call *call, const char *sock, struct ctl_site_run *r)
{
    return daemon_action(call, sock, r->id, r->target, 0, NULL, r);
}

/* ---- journal and audit ---- */

struct page {
    enum ctl_out_mode mode;
    bool audit;
    long rows;
    int64_t oldest;
};

static void page_rows(struct remote *r, const json_t *msg, bool final, void *arg)
{
    (void)r;
    struct page *p = arg;
    const char *type = proto_str(msg, "type");
    if (final || !type || strcmp(type, "rows") != 0)
        return;
    const json_t *rows = json_object_get(msg, "rows");
    char err[160];
    for (size_t i = 0; json_is_array(rows) && i < json_array_size(rows); i++) {
        const json_t *o = json_array_get(rows, i);
        if (p->audit) {
            struct audit_record rec;
            if (proto_audit_from_json(o, &rec, err, sizeof err) < 0)
                continue;
            ctl_print_audit(&rec, &p->mode);
            p->oldest = rec.id;
        } else {
            struct event ev;
            struct journal_ack ack;
            if (proto_event_from_json(o, &ev, &ack, err, sizeof err) < 0)
                continue;
            ctl_print_event(&ev, ack.acked, &p->mode);
            p->oldest = ev.id;
        }
        p->rows++;
    }
}

int ctl_daemon_query(const struct ctl_call *call, const char *sock, bool audit)
{
    struct journal_query q = { 0 };
    ctl_query_from_call(call, &q, audit);
    struct session s;
    int rc = session_open(&s, call, sock);
    if (rc != CTL_EXIT_OK)
        return rc;
    struct page p = { .mode = ctl_out_mode_of(call), .audit = audit };
    ctl_print_csv_header(p.mode, audit);
    size_t want = q.limit ? q.limit : 50;
    rc = CTL_EXIT_OK;
    while (want > 0) {
        /* pages of at most what the daemon gives per request, newest first, each older than the last */
        q.limit = want > PROTO_MAX_JOURNAL_ROWS ? PROTO_MAX_JOURNAL_ROWS : want;
        json_t *req = proto_query_to_json(&q);
        if (req)
            json_object_set_new(req, "op", json_string(audit ? "audit" : "journal"));
        long before = p.rows;
        json_t *fin = remote_call(s.r, req, page_rows, &p, ctl_timeout(&call->g, ACTION_TIMEOUT_MS));
        const char *st = fin ? proto_str(fin, "status") : NULL;
        if (!st || strcmp(st, "ok") != 0) {
            fprintf(stderr, "portierctl: %s: %s\n", audit ? "audit" : "journal",
                    fin ? (proto_str(fin, "error") ? proto_str(fin, "error") : "failed") : "no answer from portierd");
            rc = fin ? refusal_exit(st, true, CTL_EXIT_DEVICE_ERROR) : CTL_EXIT_UNREACHABLE;
            json_decref(fin);
            break;
        }
        json_decref(fin);
        size_t got = (size_t)(p.rows - before);
        if (got < q.limit || p.oldest <= 1)
            break;
        want -= got;
        q.before_id = p.oldest;
    }
    session_close(&s);
    return rc;
}

/* ---- raw ---- */

int ctl_daemon_raw(const struct ctl_call *call, const char *sock)
{
    struct session s;
    int rc = session_open(&s, call, sock);
    if (rc != CTL_EXIT_OK)
        return rc;
    json_t *req = json_pack("{s:s,s:s}", "op", "raw", "device", ctl_str(call, "DEVICE", ""));
    if (req && ctl_has(call, "command"))
        json_object_set_new(req, "command", json_integer(ctl_num(call, "command", 0)));
    if (req && ctl_has(call, "payload"))
        json_object_set_new(req, "payload_hex", json_string(ctl_str(call, "payload", "")));
    if (req && ctl_has(call, "slave"))
        json_object_set_new(req, "slave", json_string(ctl_str(call, "slave", "")));
    if (req && ctl_has(call, "line"))
        json_object_set_new(req, "line", json_string(ctl_str(call, "line", "")));
    json_t *fin = remote_call(s.r, req, NULL, NULL, ctl_timeout(&call->g, ACTION_TIMEOUT_MS));
    const char *st = fin ? proto_str(fin, "status") : NULL;
    if (!fin) {
        fprintf(stderr, "portierctl: no answer from portierd in time\n");
        rc = CTL_EXIT_UNREACHABLE;
    } else if (call->g.json) {
        ctl_print_json(json_incref(fin));
        rc = st && strcmp(st, "ok") == 0 ? CTL_EXIT_OK : refusal_exit(st, false, CTL_EXIT_DEVICE_ERROR);
    } else if (st && strcmp(st, "ok") == 0) {
        if (proto_str(fin, "reply_hex"))
            printf("reply 0x%02llX: %s\n", (long long)json_integer_value(json_object_get(fin, "reply_command")),
                   proto_str(fin, "reply_hex"));
        else
            printf("reply %02llX: %s\n", (long long)json_integer_value(json_object_get(fin, "code")),
                   proto_str(fin, "reply") ? proto_str(fin, "reply") : "");
        rc = CTL_EXIT_OK;
    } else {
        fprintf(stderr, "portierctl: raw: %s\n", proto_str(fin, "error") ? proto_str(fin, "error") : "failed");
        rc = refusal_exit(st, true, CTL_EXIT_DEVICE_ERROR);
    }
    json_decref(fin);
    session_close(&s);
    return rc;
}

/* ---- a panel portierd owns, for portierctl c3 HOST ---- */

struct ctl_daemon_device {
    struct session s;
    char sock[SITE_PATH_MAX];
    char device[SITE_NAME_MAX];
    unsigned timeout_ms;
    int64_t command_id;      /* a bus command open in the daemon (raw-begin), 0 = none */
};

/* The device of portierd's site that match() accepts: CTL_EXIT_OK with *out, -1 (not through portierd), or an
 * exit status (printed). */
static int device_open(const struct ctl_call *call, const char *what,
                       bool (*match)(const struct site_device *d, const char *what), struct ctl_daemon_device **out)
{
    *out = NULL;
    struct ctl_daemon_device *p = calloc(1, sizeof *p);
    if (!p) {
        fprintf(stderr, "portierctl: out of memory\n");
        return CTL_EXIT_UNREACHABLE;
    }
    int mode = ctl_daemon_choose(&call->g, p->sock, sizeof p->sock);
    if (mode <= 0 || session_open_as(&p->s, call, p->sock, true) != CTL_EXIT_OK) {
        free(p);
        return mode < 0 ? CTL_EXIT_USAGE : -1; /* an explicit --socket that does not answer was printed */
    }
    const struct site *m = remote_site(p->s.r);
    for (size_t i = 0; m && i < m->n_devices && !p->device[0]; i++)
        if (match(&m->devices[i], what))
            snprintf(p->device, sizeof p->device, "%s", m->devices[i].name);
    if (!p->device[0]) {
        if (call->g.verbose)
            fprintf(stderr, "portierctl: the portierd at %s has no device at %s\n", p->sock, what);
        ctl_daemon_panel_close(p);
        return -1;
    }
    p->timeout_ms = ctl_timeout(&call->g, ACTION_TIMEOUT_MS);
    if (call->g.verbose)
        fprintf(stderr, "portierctl: %s is %s of portierd: asking through it\n", what, p->device);
    *out = p;
    return CTL_EXIT_OK;
}

static bool panel_at(const struct site_device *d, const char *addr)
{
    struct tcp_addr a;
    char err[160];
    return d->panel && tcp_resolve(d->panel->host, d->panel->port, &a, err, sizeof err) == 0 && strcmp(a.text, addr) == 0;
}

static bool bus_on(const struct site_device *d, const char *port)
{
    if (!d->bus)
        return false;
    if (strcmp(d->bus->port, port) == 0)
        return true;
    char a[PATH_MAX], b[PATH_MAX]; /* /dev/serial/by-id/... and the tty it names */
    return realpath(d->bus->port, a) && realpath(port, b) && strcmp(a, b) == 0;
}

int ctl_daemon_panel_open(const struct ctl_call *call, const char *addr, struct ctl_daemon_device **out)
{
    return device_open(call, addr, panel_at, out);
}

int ctl_daemon_bus_open(const struct ctl_call *call, const char *port, struct ctl_daemon_device **out)
{
    return device_open(call, port, bus_on, out);
}

/* One raw request to portierd: its final answer when the status is "ok" (the caller frees it), else NULL with
 * the reason in ERR and the exit code in *RC (usage for a refusal, OTHER_RC for anything else the daemon said). */
static json_t *raw_call(struct ctl_daemon_device *p, json_t *req, int other_rc, int *rc, char *err, size_t errlen)
{
    if (!req) {
        snprintf(err, errlen, "out of memory");
        *rc = CTL_EXIT_UNREACHABLE;
        return NULL;
    }
    json_t *fin = remote_call(p->s.r, req, NULL, NULL, p->timeout_ms);
    const char *st = fin ? proto_str(fin, "status") : NULL;
    *rc = CTL_EXIT_OK;
    if (!fin) {
        snprintf(err, errlen, "no answer from portierd in time");
        *rc = CTL_EXIT_UNREACHABLE;
    } else if (!st || strcmp(st, "ok") != 0) {
        snprintf(err, errlen, "portierd: %s", proto_str(fin, "error") ? proto_str(fin, "error") : "failed");
        *rc = refusal_exit(st, true, other_rc);
        json_decref(fin);
        fin = NULL;
    }
    return fin;
}

/* ---- a command of several NiX1 requests, relayed line by line on a bus portierd owns ---- */

int ctl_daemon_bus_begin(struct ctl_daemon_device *p, const char *command, char *err, size_t errlen)
{
    json_t *req = json_pack("{s:s,s:s,s:s}", "op", "raw-begin", "device", p->device, "command", command);
    int rc;
    json_t *fin = raw_call(p, req, CTL_EXIT_UNREACHABLE, &rc, err, errlen);
    if (fin)
        p->command_id = json_integer_value(json_object_get(fin, "command_id"));
    json_decref(fin);
    return rc;
}

void ctl_daemon_bus_end(struct ctl_daemon_device *p, int exit_code, const char *detail)
{
    if (!p->command_id)
        return;
    char err[320];
    int rc;
    json_t *req = json_pack("{s:s,s:I,s:s,s:s}", "op", "raw-end", "command_id", (json_int_t)p->command_id, "status",
                            exit_code == CTL_EXIT_OK ? "ok" : "failed", "detail", detail ? detail : "");
    json_decref(raw_call(p, req, CTL_EXIT_UNREACHABLE, &rc, err, sizeof err));
    p->command_id = 0;
}

loop_t *ctl_daemon_device_loop(struct ctl_daemon_device *p) { return p->s.loop; }
const char *ctl_daemon_device_socket(const struct ctl_daemon_device *p) { return p->sock; }
const struct site *ctl_daemon_device_site(struct ctl_daemon_device *p) { return remote_site(p->s.r); }

struct line_call {
    ctl_daemon_line_fn done;
    void *arg;
};

static void line_answer(struct remote *r, const json_t *msg, bool final, void *arg)
{
    (void)r;
    struct line_call *lc = arg;
    if (!final)
        return;
    lc->done(lc->arg, msg);
    free(lc);
}

int ctl_daemon_bus_send(struct ctl_daemon_device *p, const char *slave, const char *line, unsigned timeout_ms,
                        ctl_daemon_line_fn done, void *arg)
{
    struct line_call *lc = malloc(sizeof *lc);
    json_t *req = lc ? json_pack("{s:s,s:s,s:s,s:s,s:I}", "op", "raw", "device", p->device, "slave", slave, "line", line,
                                 "command_id", (json_int_t)p->command_id) : NULL;
    if (!req) {
        free(lc);
        return -1;
    }
    if (timeout_ms)
        json_object_set_new(req, "timeout_ms", json_integer(timeout_ms > 60000 ? 60000 : timeout_ms));
    lc->done = done;
    lc->arg = arg;
    if (remote_request(p->s.r, req, line_answer, lc) < 0) {
        free(lc);
        return -1;
    }
    return 0;
}

int ctl_daemon_panel_raw(struct ctl_daemon_device *p, unsigned command, const void *payload, size_t len,
                         unsigned char **reply, size_t *rlen, char *err, size_t errlen)
{
    *reply = NULL;
    *rlen = 0;
    char *hex = proto_hex_encode(payload, len);
    json_t *req = hex ? json_pack("{s:s,s:s,s:i,s:s}", "op", "raw", "device", p->device, "command", (int)command,
                                  "payload_hex", hex) : NULL;
    free(hex);
    int rc;
    json_t *fin = raw_call(p, req, CTL_EXIT_DEVICE_ERROR, &rc, err, errlen);
    if (fin) {
        unsigned char *b = NULL;
        size_t n = 0;
        if (proto_hex_decode(proto_str(fin, "reply_hex") ? proto_str(fin, "reply_hex") : "", &b, &n) < 0) {
            snprintf(err, errlen, "portierd sent a reply that is not hex");
            rc = CTL_EXIT_UNREACHABLE;
        } else {
            unsigned char *t = realloc(b, n + 1); /* NUL-terminated for text replies */
            if (!t) {
                free(b);
                snprintf(err, errlen, "out of memory");
                rc = CTL_EXIT_UNREACHABLE;
            } else {
                t[n] = 0;
                *reply = t;
                *rlen = n;
            }
        }
    }
    json_decref(fin);
    return rc;
}

const char *ctl_daemon_panel_name(const struct ctl_daemon_device *p) { return p->device; }

void ctl_daemon_panel_close(struct ctl_daemon_device *p)
{
    if (!p)
        return;
    session_close(&p->s);
    free(p);
}

/* ---- audit --verify ---- */

int ctl_daemon_verify(const struct ctl_call *call, const char *sock)
{
    struct session s;
    json_t *fin;
    int rc = session_ask(&s, call, sock, "audit-verify", 600000, &fin);
    if (rc != CTL_EXIT_OK)
        return rc;
    struct journal_verify_result v;
    memset(&v, 0, sizeof v);
    char err[64];
    const char *st = fin ? proto_str(fin, "status") : NULL;
    if (st && strcmp(st, "ok") == 0) {
        proto_get_bool(fin, "ok", &v.ok, err, sizeof err);
        proto_get_int(fin, "links", &v.links, err, sizeof err);
        proto_get_int(fin, "rows", &v.rows, err, sizeof err);
        proto_get_int(fin, "first_seq", &v.first_seq, err, sizeof err);
        proto_get_int(fin, "first_bad", &v.bad_seq, err, sizeof err);
        proto_get_int(fin, "bad_audit_id", &v.bad_audit_id, err, sizeof err);
        int64_t n = 0;
        proto_get_int(fin, "problems", &n, err, sizeof err);
        v.problems = (uint64_t)n;
        proto_get_str(fin, "error", v.error, sizeof v.error, err, sizeof err);
        rc = ctl_print_verify(&call->g, &v, NULL);
    } else {
        rc = ctl_print_verify(&call->g, NULL, fin ? (proto_str(fin, "error") ? proto_str(fin, "error") : "failed")
                                                  : "no answer from portierd");
    }
    json_decref(fin);
    session_close(&s);
    return rc;
}

/* ---- watch: the live stream, reconnecting and resuming by itself ---- */

struct watch {
    struct session s;
    const struct ctl_follow *f;
    enum ctl_out_mode mode;
    int kind, min_severity;
    long seen;
    int sub;
    loop_timer_t stop_timer;
    bool started;        /* the first connection was made: a loss from here on is retried */
    bool stopped_down;   /* interrupted while portierd (or the followed device, away_device) was away */
    bool away_device;
    char down_why[320];  /* the loss said last ("": connected), said once however often a retry fails alike */
};

static void watch_event(const struct event *ev, void *arg)
{
    struct watch *w = arg;
    if ((w->kind >= 0 && (int)ev->kind != w->kind) || (w->min_severity >= 0 && (int)ev->severity < w->min_severity))
        return;
    if (w->f->device && strcmp(ev->device, w->f->device) != 0)
        return;
    if (w->f->print)
        w->f->print(ev, w->f->arg);
    else
        ctl_print_event(ev, false, &w->mode);
    fflush(stdout);
    if (w->f->count && ++w->seen >= w->f->count)
        loop_stop(w->s.loop);
}

static void watch_snapshot(struct remote *r, struct site *m, bool replaced, void *arg)
{
    (void)r;
    struct watch *w = arg;
    if (!w->sub || replaced) /* a replaced mirror keeps its bus (and this subscription) */
        w->sub = w->sub ? w->sub : event_bus_subscribe(site_events(m), watch_event, w);
}

static void watch_state(struct remote *r, enum remote_state st, const char *why, void *arg)
{
    struct watch *w = arg;
    if (st == REMOTE_DOWN) {
        /* the first connection's failure is the caller's to say (it gives up); a loss is said once, and again
         * only when its reason changes, not at every retry */
        why = why ? why : "disconnected";
        if (w->started && strcmp(why, w->down_why) != 0)
            fprintf(stderr, "portierctl: %s; reconnecting\n", why);
        snprintf(w->down_why, sizeof w->down_why, "%s", why);
        return;
    }
    if (st == REMOTE_UP)
        w->down_why[0] = '\0';
    if (st == REMOTE_UP && (!w->f->quiet || w->s.g->verbose))
        fprintf(stderr, "portierctl: watching %s as %s (%s), from event #%lld\n", w->s.sock, remote_user(r),
                role_name(remote_role(r)), (long long)remote_last_id(r));
    if (st == REMOTE_UP && w->f->for_ms && !loop_timer_armed(&w->stop_timer))
        loop_timer_arm_ms(w->s.loop, &w->stop_timer, w->f->for_ms);
}

static void watch_missed(struct remote *r, int64_t from, int64_t to, void *arg)
{
    (void)r;
    (void)arg;
    fprintf(stderr, "portierctl: events #%lld..#%lld were not replayed (too many): they are in the journal\n",
            (long long)from, (long long)to);
}

static void watch_stop(loop_t *loop, int signo, void *arg)
{
    (void)signo;
    struct watch *w = arg;
    w->stopped_down = remote_state(w->s.r) == REMOTE_DOWN;
    /* one device's events: interrupted while portierd cannot reach that device is interrupted while away too */
    const struct site *m = w->stopped_down || !w->f->device ? NULL : remote_site(w->s.r);
    for (size_t i = 0; m && i < m->n_devices; i++)
        if (strcmp(m->devices[i].name, w->f->device) == 0 && m->devices[i].link != LINK_UP) {
            w->stopped_down = w->away_device = true;
            snprintf(w->down_why, sizeof w->down_why, "%s", m->devices[i].link_detail[0] ? m->devices[i].link_detail
                                                                                          : "link down");
        }
    loop_stop(loop);
}

static void watch_time_up(loop_t *loop, void *arg)
{
    (void)arg;
    loop_stop(loop);
}

int ctl_daemon_follow(const struct ctl_call *call, const char *sock, const struct ctl_follow *f)
{
    struct watch w = { .f = f, .mode = call->g.json ? OUT_JSON : OUT_TEXT };
    w.kind = ctl_has(call, "kind") ? event_kind_from_name(ctl_str(call, "kind", "")) : -1;
    w.min_severity = ctl_has(call, "severity") ? event_severity_from_name(ctl_str(call, "severity", "")) : -1;
    w.s.g = &call->g;
    w.s.sock = sock;
    w.s.loop = loop_new();
    if (!w.s.loop)
        return CTL_EXIT_UNREACHABLE;
    loop_timer_init(&w.stop_timer, watch_time_up, &w);
    struct remote_opts o = { .socket = sock, .client = "portierctl watch", .readonly = call->g.readonly, .role = -1,
                             .journal_rows = f->journal_rows, .stream = true, .reconnect = true };
    struct remote_handlers h = { .state = watch_state, .snapshot = watch_snapshot, .missed = watch_missed, .arg = &w };
    w.s.r = remote_new(w.s.loop, &o, &h);
    char err[512];
    if (!w.s.r || remote_connect(w.s.r, err, sizeof err) < 0) {
        fprintf(stderr, "portierctl: %s%s\n", w.s.r ? err : "out of memory", connect_hint(errno));
        session_close(&w.s);
        return CTL_EXIT_UNREACHABLE;
    }
    w.started = true;
    loop_add_signal(w.s.loop, SIGINT, watch_stop, &w);
    loop_add_signal(w.s.loop, SIGTERM, watch_stop, &w);
    loop_run(w.s.loop);
    loop_timer_disarm(w.s.loop, &w.stop_timer);
    session_close(&w.s);
    if (w.stopped_down && w.away_device)
        fprintf(stderr, "portierctl: interrupted while portierd could not reach %s (%s)\n", f->device, w.down_why);
    else if (w.stopped_down)
        fprintf(stderr, "portierctl: interrupted while portierd was away (%s)\n", w.down_why);
    return w.stopped_down ? CTL_EXIT_UNREACHABLE : CTL_EXIT_OK;
}

int ctl_daemon_watch(const struct ctl_call *call, const char *sock)
{
    struct ctl_follow f = { .count = ctl_num(call, "count", 0), .journal_rows = (unsigned)ctl_num(call, "last", 0) };
    return ctl_daemon_follow(call, sock, &f);
}

/* ---- status reports of portierd's own parts ---- */

static long long num_of(const json_t *o, const char *k)
{
    return (long long)json_integer_value(json_object_get(o, k));
}

/* Ask portierd for op; its answer in *fin (the caller's to free) and the object named key in it in *obj. CTL_EXIT_OK,
 * or the failure printed ("portierctl: WHAT: ...") with *fin NULL. */
static int ask_report(const struct ctl_call *call, const char *sock, const char *op, const char *key, const char *what,
                      json_t **fin, json_t **obj)
{
    struct session s;
    *fin = NULL;
    int rc = session_ask(&s, call, sock, op, ACTION_TIMEOUT_MS, fin);
    if (rc != CTL_EXIT_OK)
        return rc;
    session_close(&s);
    const char *st = *fin ? proto_str(*fin, "status") : NULL;
    *obj = *fin ? json_object_get(*fin, key) : NULL;
    if (!*fin) {
        fprintf(stderr, "portierctl: no answer from portierd in time\n");
        return CTL_EXIT_UNREACHABLE;
    }
    if (!st || strcmp(st, "ok") != 0 || !json_is_object(*obj)) {
        fprintf(stderr, "portierctl: %s: %s\n", what, proto_str(*fin, "error") ? proto_str(*fin, "error") : "failed");
        json_decref(*fin);
        *fin = NULL;
        return CTL_EXIT_DEVICE_ERROR;
    }
    return CTL_EXIT_OK;
}

int ctl_daemon_mqtt_status(const struct ctl_call *call, const char *sock)
{
    json_t *fin, *m;
    int rc = ask_report(call, sock, "mqtt-status", "mqtt", "mqtt status", &fin, &m);
    if (rc != CTL_EXIT_OK)
        return rc;
    const char *conn = proto_str(m, "connection");
    rc = conn && strcmp(conn, "connected") == 0 ? CTL_EXIT_OK : CTL_EXIT_UNREACHABLE;
    if (call->g.json) {
        ctl_print_json(json_incref(m));
    } else {
        long long proto = num_of(m, "protocol");
        char since[32];
        event_format_time(num_of(m, "since_us"), since, sizeof since);
        printf("MQTT %s: %s%s since %s\n", proto_str(m, "broker"), conn ? conn : "?",
               proto == 5 ? " (MQTT 5)" : proto == 4 ? " (MQTT 3.1.1)" : "", since);
        printf("journal: last acknowledged #%lld, newest #%lld, backlog %lld (%lld in flight%s)\n", num_of(m, "acked_id"),
               num_of(m, "journal_id"), num_of(m, "backlog"), num_of(m, "inflight"),
               json_is_true(json_object_get(m, "catching_up")) ? ", reading the backlog from the journal" : "");
        printf("%lld events acknowledged since start; %lld connections, %lld failures; %lld commands, %lld refused\n",
               num_of(m, "published"), num_of(m, "connects"), num_of(m, "failures"), num_of(m, "commands"),
               num_of(m, "refused"));
        const char *e = proto_str(m, "last_error");
        if (e && e[0])
            printf("last error: %s\n", e);
    }
    json_decref(fin);
    return rc;
}

/* ---- daemon status ---- */

int ctl_daemon_self(const struct ctl_call *call, const char *sock)
{
    json_t *fin, *m;
    int rc = ask_report(call, sock, "daemon-status", "daemon", "daemon status", &fin, &m);
    if (rc != CTL_EXIT_OK)
        return rc;
    if (call->g.json) {
        ctl_print_json(json_incref(m));
    } else {
        long long up = num_of(m, "uptime_s");
        printf("portierd pid %lld, up %lldd %02lld:%02lld:%02lld\n", num_of(m, "pid"), up / 86400, up / 3600 % 24,
               up / 60 % 60, up % 60);
        printf("clients: %lld connected; %lld accepted, %lld refused, %lld closed since start; %lld resynchronised\n",
               num_of(m, "clients"), num_of(m, "accepted"), num_of(m, "refused"), num_of(m, "closed"),
               num_of(m, "resyncs"));
        printf("requests: %lld lines in, %lld malformed; %lld bytes out\n", num_of(m, "lines_in"),
               num_of(m, "bad_lines"), num_of(m, "bytes_out"));
        long long longest = num_of(m, "loop_longest_us");
        printf("event loop: %lld callbacks, %lld held it %u ms or more; longest %lld.%03lld ms", num_of(m, "loop_callbacks"),
               num_of(m, "loop_slow"), LOOP_SLOW_US / 1000u, longest / 1000, longest % 1000);
        if (json_object_get(m, "loop_longest_ago_s"))
            printf(", %lld s ago", num_of(m, "loop_longest_ago_s"));
        printf("\n");
    }
    json_decref(fin);
    return rc;
}
