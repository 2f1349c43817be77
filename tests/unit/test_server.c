/* Unit tests of portierd's socket server (daemon/server.c) over a real Unix socket: the change stream never queues a
 * journal event a client already has (a replay read it from the journal before its live delivery came), and a
 * client resynchronised after an overflow has only what it read counted as had. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "daemon/server.h"

static char dir[32], sock_path[64];
static loop_t *L;
static struct server *S;
static struct client *C;        /* the server's side of the one connection */
static int resyncs;
static int64_t queued_at_resync, sent_at_resync;

static bool on_accept(struct client *c, char *why, size_t whylen, void *arg)
{
    (void)why, (void)whylen, (void)arg;
    snprintf(c->user, sizeof c->user, "test");
    return true;
}

static void on_connected(struct client *c, void *arg)
{
    (void)arg;
    C = c;
}

static void on_resync(struct client *c, const char *reason, const int64_t *dropped, size_t n, void *arg)
{
    (void)reason, (void)dropped, (void)n, (void)arg;
    resyncs++;
    queued_at_resync = c->last_queued_id;
    sent_at_resync = c->last_sent_id;
}

static void on_closed(struct client *c, void *arg)
{
    (void)arg;
    if (c == C)
        C = NULL;
}

static const struct server_handlers handlers = {
    .accept = on_accept, .connected = on_connected, .resync = on_resync, .closed = on_closed,
};

/* A server with a queue of queue_limit bytes per client and one client connected to it; the client's fd. */
static int start(size_t queue_limit)
{
    snprintf(dir, sizeof dir, "/tmp/portier-server-XXXXXX");
    assert_non_null(mkdtemp(dir));
    snprintf(sock_path, sizeof sock_path, "%s/s", dir);
    L = loop_new();
    assert_non_null(L);
    struct server_opts o;
    server_opts_default(&o);
    o.path = sock_path;
    if (queue_limit)
        o.queue_limit = queue_limit;
    char err[256];
    S = server_new(L, &o, &handlers, err, sizeof err);
    assert_non_null(S);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_un a = { .sun_family = AF_UNIX };
    snprintf(a.sun_path, sizeof a.sun_path, "%s", sock_path);
    assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof a), 0);
    C = NULL;
    resyncs = 0;
    for (int i = 0; i < 200 && !C; i++)
        loop_run_once(L, 10);
    assert_non_null(C);
    C->hello = true; /* as after the hello: the stream runs */
    C->stream = true;
    return fd;
}

static void stop(int fd)
{
    close(fd);
    server_free(S, NULL);
    loop_free(L);
    rmdir(dir);
}

static json_t *event_msg(int64_t id)
{
    return json_pack("{s:s,s:I}", "type", "event", "id", (json_int_t)id);
}

static void send_replayed(int64_t id)
{
    json_t *m = event_msg(id);
    server_send(C, m, 0, false, id);
    json_decref(m);
}

static void broadcast(int64_t id)
{
    json_t *m = event_msg(id);
    server_broadcast(S, m, id);
    json_decref(m);
}

/* The event ids the client reads until nothing comes for 200 ms (the loop turning meanwhile). */
static size_t read_ids(int fd, int64_t *ids, size_t cap)
{
    static char buf[1 << 20];
    size_t len = 0, n = 0;
    for (int idle = 0; idle < 20;) {
        loop_run_once(L, 10);
        ssize_t r = recv(fd, buf + len, sizeof buf - 1 - len, MSG_DONTWAIT);
        if (r <= 0) {
            idle++;
            continue;
        }
        idle = 0;
        len += (size_t)r;
    }
    buf[len] = '\0';
    for (char *line = buf, *nl; (nl = strchr(line, '\n')); line = nl + 1) {
        *nl = '\0';
        json_t *m = json_loads(line, 0, NULL);
        json_t *id = m ? json_object_get(m, "id") : NULL;
        if (id && n < cap && strcmp(json_string_value(json_object_get(m, "type")), "event") == 0)
            ids[n++] = json_integer_value(id);
        json_decref(m);
    }
    return n;
}

/* Events 5 and 6 replayed from the journal, then their live deliveries (and one of an older id, which the journal
 * had before them): each reaches the client once; a newer one still goes out. */
static void test_replayed_event_not_sent_again(void **state)
{
    (void)state;
    int fd = start(0);
    send_replayed(5);
    send_replayed(6);
    broadcast(4);
    broadcast(5);
    broadcast(6);
    broadcast(7);
    int64_t ids[16];
    size_t n = read_ids(fd, ids, 16);
    assert_int_equal(n, 3);
    assert_int_equal(ids[0], 5);
    assert_int_equal(ids[1], 6);
    assert_int_equal(ids[2], 7);
    /* messages that are not journal events (id 0) are never held back */
    json_t *m = json_pack("{s:s}", "type", "notice");
    server_broadcast(S, m, 0);
    server_broadcast(S, m, 0);
    json_decref(m);
    assert_int_equal(read_ids(fd, ids, 16), 0);
    assert_int_equal(server_queued(C), 0);
    stop(fd);
}

/* A client that does not read overflows its queue: what was dropped is not counted as had. At the resync, what
 * it has is what it read (the replay starts there), and the events after it go out again. */
static void test_overflow_counts_only_what_was_read(void **state)
{
    (void)state;
    int fd = start(4096);
    int64_t id = 0;
    while (resyncs == 0 && id < 100000) {
        broadcast(++id);
        loop_run_once(L, 0);
        if (C->resync)
            break;
    }
    assert_true(C->resync);
    int64_t newest = id;
    int64_t ids[100000];
    size_t n = read_ids(fd, ids, 100000);
    assert_int_equal(resyncs, 1);
    assert_true(n > 0);
    assert_int_equal(sent_at_resync, ids[n - 1]);
    assert_int_equal(queued_at_resync, sent_at_resync);
    assert_true(sent_at_resync < newest);
    /* the replay (as the daemon's, paced by its reading) from what it has: the dropped ones reach it once, then the
     * stream goes on */
    for (int64_t k = sent_at_resync + 1; k <= newest; k++) {
        send_replayed(k);
        loop_run_once(L, 0);
    }
    broadcast(newest);
    broadcast(newest + 1);
    size_t m = read_ids(fd, ids, 100000);
    assert_int_equal(m, (size_t)(newest + 1 - sent_at_resync));
    for (size_t i = 0; i < m; i++)
        assert_int_equal(ids[i], sent_at_resync + 1 + (int64_t)i);
    stop(fd);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_replayed_event_not_sent_again),
        cmocka_unit_test(test_overflow_counts_only_what_was_read),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
