#include "core/loop.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <time.h>
#include <unistd.h>

#include "core/grow.h"

/* The reactor is level-triggered epoll: a wake-up costs what is ready, not what is watched (poll(2) scanned
 * every fd each time, which dominated a 1000-panel process). Each registration carries a generation tag in its
 * epoll data, so an event collected for an fd that a callback closed and a later callback reopened under the
 * same number in the same iteration is dropped instead of reaching the new owner. Fds epoll refuses (EPERM:
 * regular files, some character devices) are kept on a side list and reported ready whenever asked, as poll(2)
 * reports them; a number that is not an open fd is reported once with LOOP_ERROR and dropped, as POLLNVAL was.
 * One difference remains: an fd closed while watched simply stops being reported (poll(2) said POLLNVAL). */

struct watch {
    loop_io_cb cb;
    void *arg;
    unsigned events;
    uint32_t gen;   /* tag of the current registration (never 0; 0 tags the signalfd) */
    bool used;
    bool always;    /* refused by epoll: always ready, like poll(2) says */
    bool nval;      /* not an open fd: reported once as LOOP_ERROR, then dropped (poll(2)'s POLLNVAL) */
};

struct sigwatch {
    int signo;
    loop_signal_cb cb;
    void *arg;
};

struct loop {
    struct watch *watches; /* indexed by fd */
    size_t nwatches;
    size_t nused;
    int epfd;
    struct epoll_event *evs;
    size_t cap_evs;
    uint32_t next_gen;
    int *always; /* fds with watch.always set */
    size_t nalways, cap_always;

    loop_timer_t **heap; /* 1-based binary min-heap of armed timers */
    size_t nheap, cap_heap;

    bool fake;
    uint64_t now_us;
    bool stop;

    int sigfd;
    sigset_t sigmask;
    struct sigwatch sigs[16];
    size_t nsigs;

    struct loop_stats st;
};

/* A callback's run, for the stats: how long the loop was held. */
static void note_run(loop_t *loop, uint64_t t0)
{
    uint64_t now = loop_mono_us(), dt = now - t0;
    loop->st.callbacks++;
    if (dt >= LOOP_SLOW_US)
        loop->st.slow++;
    if (dt > loop->st.longest_us) {
        loop->st.longest_us = dt;
        loop->st.longest_at_us = now;
    }
}

void loop_get_stats(const loop_t *loop, struct loop_stats *st)
{
    *st = loop->st;
}

static bool no_pwait2; /* kernel without epoll_pwait2 (< 5.11): millisecond waits */

uint64_t loop_mono_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static void refresh_now(loop_t *loop)
{
    if (!loop->fake)
        loop->now_us = loop_mono_us();
}

static loop_t *loop_alloc(bool fake, uint64_t start)
{
    loop_t *loop = calloc(1, sizeof *loop);
    if (!loop)
        return NULL;
    loop->epfd = epoll_create1(EPOLL_CLOEXEC);
    if (loop->epfd < 0) {
        free(loop);
        return NULL;
    }
    loop->fake = fake;
    loop->now_us = start;
    loop->sigfd = -1;
    sigemptyset(&loop->sigmask);
    refresh_now(loop);
    return loop;
}

loop_t *loop_new(void) { return loop_alloc(false, 0); }
loop_t *loop_new_fake(uint64_t start_us) { return loop_alloc(true, start_us); }

void loop_free(loop_t *loop)
{
    if (!loop)
        return;
    if (loop->sigfd >= 0) {
        close(loop->sigfd);
        sigprocmask(SIG_UNBLOCK, &loop->sigmask, NULL);
    }
    /* Timers still armed belong to their owners, who may already be gone: never touch them here. */
    close(loop->epfd);
    free(loop->watches);
    free(loop->evs);
    free(loop->always);
    free(loop->heap);
    free(loop);
}

uint64_t loop_now_us(loop_t *loop) { return loop->now_us; }
uint64_t loop_now_ms(loop_t *loop) { return loop->now_us / 1000u; }

int loop_child_detach(pid_t parent)
{
    sigset_t all;
    sigfillset(&all);
    sigprocmask(SIG_UNBLOCK, &all, NULL);
    setpgid(0, 0);
    prctl(PR_SET_PDEATHSIG, SIGTERM);
    return getppid() == parent ? 0 : -1; /* died before PDEATHSIG was set: nobody would stop the child */
}

/* ---- fds ---- */

static uint64_t ep_tag(uint32_t gen, int fd) { return (uint64_t)gen << 32 | (uint32_t)fd; }

static uint32_t ep_mask(unsigned events)
{
    uint32_t m = 0;
    if (events & LOOP_READ)
        m |= EPOLLIN;
    if (events & LOOP_WRITE)
        m |= EPOLLOUT;
    return m; /* EPOLLERR and EPOLLHUP are always reported, as poll(2) reports POLLERR/POLLHUP */
}

/* Put fd's registration in the kernel in line with w (events and tag). `known` says whether we believe the
 * kernel holds one; an owner may have closed the fd without loop_del_fd (the kernel then forgot it) or reused
 * the number, so each way falls back to the other. Returns 0 registered, 1 refused by epoll (always ready),
 * 2 not an open fd, -1 other error (errno set). */
static int ep_sync(loop_t *loop, int fd, const struct watch *w, bool known)
{
    struct epoll_event ev = { .events = ep_mask(w->events), .data.u64 = ep_tag(w->gen, fd) };
    int op = known ? EPOLL_CTL_MOD : EPOLL_CTL_ADD;
    if (epoll_ctl(loop->epfd, op, fd, &ev) == 0)
        return 0;
    if ((op == EPOLL_CTL_ADD && errno == EEXIST) || (op == EPOLL_CTL_MOD && errno == ENOENT)) {
        op = op == EPOLL_CTL_ADD ? EPOLL_CTL_MOD : EPOLL_CTL_ADD;
        if (epoll_ctl(loop->epfd, op, fd, &ev) == 0)
            return 0;
    }
    return errno == EPERM ? 1 : errno == EBADF ? 2 : -1;
}

static void always_remove(loop_t *loop, int fd)
{
    for (size_t i = 0; i < loop->nalways; i++) {
        if (loop->always[i] == fd) {
            loop->always[i] = loop->always[--loop->nalways];
            return;
        }
    }
}

static int always_add(loop_t *loop, int fd)
{
    int *a = grow_array(loop->always, loop->nalways, &loop->cap_always, sizeof *a, 8);
    if (!a)
        return -1;
    loop->always = a;
    loop->always[loop->nalways++] = fd;
    return 0;
}

static void watch_drop(loop_t *loop, int fd)
{
    struct watch *w = &loop->watches[fd];
    if (w->always)
        always_remove(loop, fd);
    w->used = false;
    w->always = false;
    w->nval = false;
    w->gen = 0;
    loop->nused--;
}

int loop_add_fd(loop_t *loop, int fd, unsigned events, loop_io_cb cb, void *arg)
{
    if (fd < 0 || !cb)
        return -1;
    if ((size_t)fd >= loop->nwatches) {
        size_t n = loop->nwatches ? loop->nwatches : 16;
        while (n <= (size_t)fd)
            n *= 2;
        struct watch *w = realloc(loop->watches, n * sizeof *w);
        if (!w)
            return -1;
        memset(w + loop->nwatches, 0, (n - loop->nwatches) * sizeof *w);
        loop->watches = w;
        loop->nwatches = n;
    }
    struct watch *w = &loop->watches[fd];
    bool known = w->used && !w->always;
    if (w->used)
        watch_drop(loop, fd);
    /* A fresh tag: events already collected for the previous registration of this number are dropped
     * (level-triggered, so anything still true is reported again on the next wait). */
    if (++loop->next_gen == 0)
        loop->next_gen = 1;
    *w = (struct watch){ .cb = cb, .arg = arg, .events = events, .gen = loop->next_gen, .used = true };
    loop->nused++;
    int rc = ep_sync(loop, fd, w, known);
    if (rc >= 1 && always_add(loop, fd) == 0) {
        w->always = true;
        w->nval = rc == 2;
        return 0;
    }
    if (rc != 0) {
        watch_drop(loop, fd);
        return -1;
    }
    return 0;
}

int loop_mod_fd(loop_t *loop, int fd, unsigned events)
{
    if (fd < 0 || (size_t)fd >= loop->nwatches || !loop->watches[fd].used)
        return -1;
    struct watch *w = &loop->watches[fd];
    if (w->events == events)
        return 0;
    w->events = events;
    if (w->always)
        return 0;
    int rc = ep_sync(loop, fd, w, true);
    if (rc >= 1 && always_add(loop, fd) == 0) {
        w->always = true;
        w->nval = rc == 2;
        return 0;
    }
    return rc == 0 ? 0 : -1;
}

void loop_del_fd(loop_t *loop, int fd)
{
    if (fd < 0 || (size_t)fd >= loop->nwatches || !loop->watches[fd].used)
        return;
    if (!loop->watches[fd].always)
        (void)epoll_ctl(loop->epfd, EPOLL_CTL_DEL, fd, NULL); /* fails harmlessly if the owner closed it */
    watch_drop(loop, fd);
}

void loop_del_fd_of(loop_t *loop, int fd, loop_io_cb cb, const void *arg)
{
    if (fd < 0 || (size_t)fd >= loop->nwatches || !loop->watches[fd].used || loop->watches[fd].cb != cb ||
        loop->watches[fd].arg != arg)
        return;
    loop_del_fd(loop, fd);
}

/* ---- timers (binary heap) ---- */

static void heap_set(loop_t *loop, size_t i, loop_timer_t *t)
{
    loop->heap[i] = t;
    t->heap_index = i;
}

static void heap_up(loop_t *loop, size_t i)
{
    loop_timer_t *t = loop->heap[i];
    while (i > 1 && loop->heap[i / 2]->due_us > t->due_us) {
        heap_set(loop, i, loop->heap[i / 2]);
        i /= 2;
    }
    heap_set(loop, i, t);
}

static void heap_down(loop_t *loop, size_t i)
{
    loop_timer_t *t = loop->heap[i];
    for (;;) {
        size_t c = 2 * i;
        if (c > loop->nheap)
            break;
        if (c + 1 <= loop->nheap && loop->heap[c + 1]->due_us < loop->heap[c]->due_us)
            c++;
        if (loop->heap[c]->due_us >= t->due_us)
            break;
        heap_set(loop, i, loop->heap[c]);
        i = c;
    }
    heap_set(loop, i, t);
}

void loop_timer_init(loop_timer_t *t, loop_timer_cb cb, void *arg)
{
    t->due_us = 0;
    t->heap_index = 0;
    t->cb = cb;
    t->arg = arg;
}

void loop_timer_disarm(loop_t *loop, loop_timer_t *t)
{
    size_t i = t->heap_index;
    if (i == 0 || i > loop->nheap || loop->heap[i] != t)
        return;
    loop_timer_t *last = loop->heap[loop->nheap--];
    t->heap_index = 0;
    if (last == t)
        return;
    heap_set(loop, i, last);
    heap_up(loop, i);
    heap_down(loop, last->heap_index);
}

void loop_timer_arm_at(loop_t *loop, loop_timer_t *t, uint64_t due_us)
{
    loop_timer_disarm(loop, t);
    loop_timer_t **h = grow_array(loop->heap, loop->nheap + 1, &loop->cap_heap, sizeof *h, 64); /* 1-based */
    if (!h)
        abort(); /* out of memory on a timer: nothing sane to do */
    loop->heap = h;
    t->due_us = due_us;
    loop->nheap++;
    heap_set(loop, loop->nheap, t);
    heap_up(loop, loop->nheap);
}

void loop_timer_arm_us(loop_t *loop, loop_timer_t *t, uint64_t delay_us)
{
    loop_timer_arm_at(loop, t, loop->now_us + delay_us);
}

void loop_timer_arm_ms(loop_t *loop, loop_timer_t *t, uint64_t delay_ms)
{
    loop_timer_arm_us(loop, t, delay_ms * 1000u);
}

static int run_due_timers(loop_t *loop, uint64_t now)
{
    int n = 0;
    /* Fire only timers due by now; a timer re-armed with zero delay runs on the next iteration,
     * so a busy timer cannot starve the fds. */
    size_t budget = loop->nheap;
    while (budget-- > 0 && loop->nheap > 0 && loop->heap[1]->due_us <= now && !loop->stop) {
        loop_timer_t *t = loop->heap[1];
        loop_timer_disarm(loop, t);
        uint64_t t0 = loop_mono_us();
        t->cb(loop, t->arg);
        note_run(loop, t0);
        n++;
    }
    return n;
}

/* ---- signals ---- */

int loop_add_signal(loop_t *loop, int signo, loop_signal_cb cb, void *arg)
{
    if (loop->nsigs >= sizeof loop->sigs / sizeof loop->sigs[0])
        return -1;
    sigaddset(&loop->sigmask, signo);
    if (sigprocmask(SIG_BLOCK, &loop->sigmask, NULL) < 0)
        return -1;
    int fd = signalfd(loop->sigfd, &loop->sigmask, SFD_NONBLOCK | SFD_CLOEXEC);
    if (fd < 0)
        return -1;
    if (loop->sigfd < 0) {
        struct epoll_event ev = { .events = EPOLLIN, .data.u64 = ep_tag(0, fd) };
        if (epoll_ctl(loop->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
            close(fd);
            return -1;
        }
    }
    loop->sigfd = fd;
    loop->sigs[loop->nsigs++] = (struct sigwatch){ .signo = signo, .cb = cb, .arg = arg };
    return 0;
}

static int dispatch_signals(loop_t *loop)
{
    struct signalfd_siginfo si;
    int n = 0;
    while (read(loop->sigfd, &si, sizeof si) == (ssize_t)sizeof si) {
        for (size_t i = 0; i < loop->nsigs; i++) {
            if (loop->sigs[i].signo == (int)si.ssi_signo) {
                loop->sigs[i].cb(loop, (int)si.ssi_signo, loop->sigs[i].arg);
                n++;
            }
        }
    }
    return n;
}

/* ---- running ---- */

/* Wait for events; timeout_us < 0 = no limit. */
static int wait_events(loop_t *loop, int64_t timeout_us, int maxevents)
{
    if (!no_pwait2) {
        struct timespec ts = { .tv_sec = (time_t)(timeout_us / 1000000), .tv_nsec = (long)(timeout_us % 1000000) * 1000 };
        int rc = epoll_pwait2(loop->epfd, loop->evs, maxevents, timeout_us < 0 ? NULL : &ts, NULL);
        if (rc >= 0 || errno != ENOSYS)
            return rc;
        no_pwait2 = true;
    }
    int ms = timeout_us < 0 ? -1 : (int)((timeout_us + 999) / 1000);
    return epoll_wait(loop->epfd, loop->evs, maxevents, ms);
}

static void dispatch_one(loop_t *loop, int fd, unsigned ev, int *n)
{
    struct watch *w = &loop->watches[fd];
    if (!(ev & (w->events | LOOP_ERROR)))
        return;
    uint64_t t0 = loop_mono_us();
    w->cb(loop, fd, ev, w->arg);
    note_run(loop, t0);
    (*n)++;
}

/* Room for every watched fd and the signalfd in one wait (level-triggered: more are simply reported by the next
 * wait, so the array is capped). */
static int ensure_evs(loop_t *loop)
{
    size_t want = loop->nused + 1u;
    if (want > 4096u)
        want = 4096u;
    struct epoll_event *e = grow_to(loop->evs, want, &loop->cap_evs, sizeof *e, 16);
    if (!e)
        return -1;
    loop->evs = e;
    return 0;
}

/* Dispatch the rc events one wait collected. */
static int dispatch_events(loop_t *loop, int rc)
{
    int n = 0;
    for (int i = 0; i < rc && !loop->stop; i++) {
        uint64_t tag = loop->evs[i].data.u64;
        uint32_t gen = (uint32_t)(tag >> 32);
        int fd = (int)(uint32_t)tag;
        if (gen == 0) {
            if (fd == loop->sigfd)
                n += dispatch_signals(loop);
            continue;
        }
        /* The watch may have been removed, replaced or its number reused by an earlier callback of this pass. */
        if ((size_t)fd >= loop->nwatches || !loop->watches[fd].used || loop->watches[fd].gen != gen)
            continue;
        uint32_t re = loop->evs[i].events;
        unsigned ev = 0;
        if (re & EPOLLIN)
            ev |= LOOP_READ;
        if (re & EPOLLOUT)
            ev |= LOOP_WRITE;
        if (re & (EPOLLERR | EPOLLHUP))
            ev |= LOOP_ERROR;
        dispatch_one(loop, fd, ev, &n);
    }
    return n;
}

/* Fire the timers that are due, but only after taking in what the fds already have (a wait that does not block):
 * a process that was busy or not scheduled past a deadline must not judge it before reading the answer that
 * arrived in time (the rest of a reply line, a request's reply). Timers that come due during that dispatch fire
 * on the next call, after the next look at the fds. */
static int fire_due_timers(loop_t *loop)
{
    refresh_now(loop);
    if (loop->nheap == 0 || loop->heap[1]->due_us > loop->now_us || loop->stop)
        return 0;
    uint64_t due_by = loop->now_us;
    int n = 0;
    if (ensure_evs(loop) == 0) {
        int rc = wait_events(loop, 0, (int)loop->cap_evs);
        if (rc > 0)
            n += dispatch_events(loop, rc);
    }
    if (loop->stop)
        return n;
    return n + run_due_timers(loop, due_by);
}

int loop_run_once(loop_t *loop, int max_wait_ms)
{
    int n = fire_due_timers(loop);
    if (loop->stop)
        return n;
    if (ensure_evs(loop) < 0)
        return -1;

    bool always_ready = false;
    for (size_t i = 0; i < loop->nalways && !always_ready; i++) {
        const struct watch *w = &loop->watches[loop->always[i]];
        always_ready = w->nval || (w->events & (LOOP_READ | LOOP_WRITE)) != 0;
    }

    int64_t timeout_us = max_wait_ms < 0 ? -1 : (int64_t)max_wait_ms * 1000;
    if (n > 0 || loop->fake || always_ready) {
        timeout_us = 0;
    } else if (loop->nheap > 0) {
        uint64_t due = loop->heap[1]->due_us;
        uint64_t now = loop->now_us;
        int64_t wait_us = due > now ? (int64_t)(due - now) : 0;
        if (timeout_us < 0 || timeout_us > wait_us)
            timeout_us = wait_us;
    }

    int rc = wait_events(loop, timeout_us, (int)loop->cap_evs);
    if (rc < 0) {
        if (errno == EINTR)
            return n;
        return -1;
    }
    refresh_now(loop);
    n += dispatch_events(loop, rc);

    /* Fds epoll refused are ready for whatever they ask (poll(2) semantics for regular files). */
    size_t i = 0, left = loop->nalways;
    while (left-- > 0 && i < loop->nalways && !loop->stop) {
        int fd = loop->always[i];
        struct watch *w = &loop->watches[fd];
        if (w->nval) {
            /* Dropped before the callback, which may watch the number again; the last entry moves to i. */
            loop_io_cb cb = w->cb;
            void *arg = w->arg;
            watch_drop(loop, fd);
            cb(loop, fd, LOOP_ERROR, arg);
            n++;
            continue;
        }
        i++;
        unsigned ev = w->events & (LOOP_READ | LOOP_WRITE);
        if (ev)
            dispatch_one(loop, fd, ev, &n);
    }
    return n + fire_due_timers(loop);
}

int loop_run(loop_t *loop)
{
    loop->stop = false;
    while (!loop->stop) {
        if (loop_run_once(loop, -1) < 0)
            return -1;
    }
    return 0;
}

void loop_stop(loop_t *loop) { loop->stop = true; }
bool loop_stopped(const loop_t *loop) { return loop->stop; }

void loop_advance(loop_t *loop, uint64_t delta_us)
{
    if (!loop->fake)
        return;
    uint64_t target = loop->now_us + delta_us;
    while (loop->nheap > 0 && loop->heap[1]->due_us <= target) {
        loop_timer_t *t = loop->heap[1];
        if (t->due_us > loop->now_us)
            loop->now_us = t->due_us;
        loop_timer_disarm(loop, t);
        uint64_t t0 = loop_mono_us();
        t->cb(loop, t->arg);
        note_run(loop, t0);
    }
    loop->now_us = target;
}
