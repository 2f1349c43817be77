#include "core/loop.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <time.h>
#include <unistd.h>

struct watch {
    loop_io_cb cb;
    void *arg;
    unsigned events;
    bool used;
};

struct sigwatch {
    int signo;
    loop_signal_cb cb;
    void *arg;
};

struct loop {
    struct watch *watches; /* indexed by fd */
    size_t nwatches;
    struct pollfd *pfds;
    size_t npfds, cap_pfds;
    bool pfds_dirty;

    loop_timer_t **heap; /* 1-based binary min-heap of armed timers */
    size_t nheap, cap_heap;

    bool fake;
    uint64_t now_us;
    bool stop;

    int sigfd;
    sigset_t sigmask;
    struct sigwatch sigs[16];
    size_t nsigs;
};

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
    free(loop->watches);
    free(loop->pfds);
    free(loop->heap);
    free(loop);
}

uint64_t loop_now_us(loop_t *loop) { return loop->now_us; }
uint64_t loop_now_ms(loop_t *loop) { return loop->now_us / 1000u; }

/* ---- fds ---- */

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
    loop->watches[fd] = (struct watch){ .cb = cb, .arg = arg, .events = events, .used = true };
    loop->pfds_dirty = true;
    return 0;
}

int loop_mod_fd(loop_t *loop, int fd, unsigned events)
{
    if (fd < 0 || (size_t)fd >= loop->nwatches || !loop->watches[fd].used)
        return -1;
    if (loop->watches[fd].events != events) {
        loop->watches[fd].events = events;
        loop->pfds_dirty = true;
    }
    return 0;
}

void loop_del_fd(loop_t *loop, int fd)
{
    if (fd < 0 || (size_t)fd >= loop->nwatches || !loop->watches[fd].used)
        return;
    loop->watches[fd].used = false;
    loop->pfds_dirty = true;
}

static int rebuild_pfds(loop_t *loop)
{
    size_t n = 0;
    for (size_t fd = 0; fd < loop->nwatches; fd++)
        if (loop->watches[fd].used)
            n++;
    if (n > loop->cap_pfds) {
        size_t cap = loop->cap_pfds ? loop->cap_pfds : 16;
        while (cap < n)
            cap *= 2;
        struct pollfd *p = realloc(loop->pfds, cap * sizeof *p);
        if (!p)
            return -1;
        loop->pfds = p;
        loop->cap_pfds = cap;
    }
    size_t i = 0;
    for (size_t fd = 0; fd < loop->nwatches; fd++) {
        struct watch *w = &loop->watches[fd];
        if (!w->used)
            continue;
        short ev = 0;
        if (w->events & LOOP_READ)
            ev |= POLLIN;
        if (w->events & LOOP_WRITE)
            ev |= POLLOUT;
        loop->pfds[i++] = (struct pollfd){ .fd = (int)fd, .events = ev };
    }
    loop->npfds = n;
    loop->pfds_dirty = false;
    return 0;
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
    if (loop->nheap + 1 >= loop->cap_heap) {
        size_t cap = loop->cap_heap ? loop->cap_heap * 2 : 64;
        loop_timer_t **h = realloc(loop->heap, cap * sizeof *h);
        if (!h)
            abort(); /* out of memory on a timer: nothing sane to do */
        loop->heap = h;
        loop->cap_heap = cap;
    }
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

static int run_due_timers(loop_t *loop)
{
    int n = 0;
    /* Fire only timers due now; a timer re-armed with zero delay runs on the next iteration,
     * so a busy timer cannot starve the fds. */
    uint64_t now = loop->now_us;
    size_t budget = loop->nheap;
    while (budget-- > 0 && loop->nheap > 0 && loop->heap[1]->due_us <= now && !loop->stop) {
        loop_timer_t *t = loop->heap[1];
        loop_timer_disarm(loop, t);
        t->cb(loop, t->arg);
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

int loop_run_once(loop_t *loop, int max_wait_ms)
{
    refresh_now(loop);
    int n = run_due_timers(loop);
    if (loop->stop)
        return n;

    if (loop->pfds_dirty && rebuild_pfds(loop) < 0)
        return -1;

    /* The signalfd is polled as an extra entry after the watches. */
    size_t nfds = loop->npfds;
    struct pollfd sigp = { .fd = loop->sigfd, .events = POLLIN };

    int timeout = max_wait_ms;
    if (n > 0 || loop->fake) {
        timeout = 0;
    } else if (loop->nheap > 0) {
        uint64_t due = loop->heap[1]->due_us;
        uint64_t now = loop->now_us;
        uint64_t wait_ms = due > now ? (due - now + 999u) / 1000u : 0;
        if (timeout < 0 || (uint64_t)timeout > wait_ms)
            timeout = (int)wait_ms;
    }

    /* poll over watches plus, if present, the signalfd. */
    struct pollfd stackbuf[1];
    struct pollfd *p = loop->pfds;
    int rc;
    if (loop->sigfd >= 0) {
        if (nfds + 1 > loop->cap_pfds) {
            size_t cap = loop->cap_pfds ? loop->cap_pfds * 2 : 16;
            struct pollfd *np = realloc(loop->pfds, cap * sizeof *np);
            if (!np)
                return -1;
            loop->pfds = p = np;
            loop->cap_pfds = cap;
        }
        p[nfds] = sigp;
        rc = poll(p, nfds + 1, timeout);
    } else {
        rc = poll(nfds ? p : stackbuf, nfds, timeout);
    }
    if (rc < 0) {
        if (errno == EINTR)
            return n;
        return -1;
    }
    refresh_now(loop);
    if (rc == 0)
        return n + run_due_timers(loop);

    if (loop->sigfd >= 0 && p[nfds].revents)
        n += dispatch_signals(loop);

    for (size_t i = 0; i < nfds && !loop->stop; i++) {
        short re = p[i].revents;
        if (!re)
            continue;
        int fd = p[i].fd;
        /* The watch may have been removed or replaced by an earlier callback in this pass. */
        if ((size_t)fd >= loop->nwatches || !loop->watches[fd].used)
            continue;
        struct watch *w = &loop->watches[fd];
        unsigned ev = 0;
        if (re & POLLIN)
            ev |= LOOP_READ;
        if (re & POLLOUT)
            ev |= LOOP_WRITE;
        if (re & (POLLERR | POLLHUP | POLLNVAL))
            ev |= LOOP_ERROR;
        if (!(ev & (w->events | LOOP_ERROR)))
            continue;
        if (re & POLLNVAL) {
            /* A closed fd left in the set would spin the loop. */
            w->used = false;
            loop->pfds_dirty = true;
        }
        w->cb(loop, fd, ev, w->arg);
        n++;
    }
    return n + run_due_timers(loop);
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
        t->cb(loop, t->arg);
    }
    loop->now_us = target;
}
