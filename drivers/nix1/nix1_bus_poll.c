/* nix1_bus_poll: the bus master's slave table and poller: each slave's state and backoff, and the round-robin
 * reading of every slave's ACCESS log exactly once (nix1_reader), between operator requests. */
#include "drivers/nix1/nix1_bus_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/grow.h"
#include "drivers/nix1/nix1_cmd.h"
#include "drivers/nix1/nix1_rc.h"

static void poll_done(nix1_bus_t *bus, const struct nix1_result *res, void *arg);

static struct slave *find_slave(nix1_bus_t *bus, const nix1_addr_t *a)
{
    for (size_t i = 0; i < bus->nslaves; i++)
        if (nix1_addr_equal(&bus->slaves[i].addr, a))
            return &bus->slaves[i];
    return NULL;
}

static void notify_state(nix1_bus_t *bus, struct slave *s)
{
    nix1_addr_t a = s->addr;
    enum nix1_slave_state st = s->state;
    NIX1_BUS_NOTIFY(bus, slave_state, &a, st);
}

void nix1_bus_poll_slave_seen(nix1_bus_t *bus, const nix1_addr_t *a)
{
    struct slave *s = find_slave(bus, a);
    if (!s)
        return;
    s->fails = 0;
    s->last_seen_us = loop_now_us(bus->loop);
    s->next_poll_us = 0;
    if (s->state != NIX1_SLAVE_ONLINE) {
        s->state = NIX1_SLAVE_ONLINE;
        notify_state(bus, s);
    }
}

static uint64_t backoff_us(const nix1_bus_t *bus, unsigned fails)
{
    uint64_t ms = bus->cfg.backoff_min_ms;
    for (unsigned i = 1; i < fails && ms < bus->cfg.backoff_max_ms; i++)
        ms *= 2;
    if (ms > bus->cfg.backoff_max_ms)
        ms = bus->cfg.backoff_max_ms;
    return ms * 1000u;
}

void nix1_bus_poll_slave_failed(nix1_bus_t *bus, const nix1_addr_t *a)
{
    struct slave *s = find_slave(bus, a);
    if (!s)
        return;
    s->fails++;
    s->timeouts++;
    s->next_poll_us = loop_now_us(bus->loop) + backoff_us(bus, s->fails);
    if (s->fails >= bus->cfg.offline_after && s->state != NIX1_SLAVE_OFFLINE) {
        s->state = NIX1_SLAVE_OFFLINE;
        notify_state(bus, s);
    }
}

struct req *nix1_bus_poll_next(nix1_bus_t *bus, uint64_t now, uint64_t *next_due)
{
    if (!bus->polling || bus->nslaves == 0)
        return NULL;
    size_t idx = SIZE_MAX;
    if (bus->poll_continue && bus->poll_idx < bus->nslaves && bus->burst < bus->cfg.poll_burst &&
        bus->slaves[bus->poll_idx].next_poll_us <= now) {
        idx = bus->poll_idx;
    } else {
        bus->poll_continue = false;
        bus->burst = 0;
        for (size_t i = 0; i < bus->nslaves; i++) {
            size_t j = (bus->poll_start + i) % bus->nslaves;
            struct slave *s = &bus->slaves[j];
            if (s->next_poll_us <= now) {
                idx = j;
                break;
            }
            if (s->next_poll_us < *next_due)
                *next_due = s->next_poll_us;
        }
    }
    if (idx == SIZE_MAX)
        return NULL;
    bus->poll_idx = idx;
    bus->poll_start = (idx + 1) % bus->nslaves;
    struct slave *s = &bus->slaves[idx];
    int err = 0;
    struct nix1_reader_req q;
    nix1_reader_next(&s->log, &q);
    struct req *r = nix1_bus_make_req(bus, &s->addr, q.cmd, q.arg, q.opt[0] ? q.opt : NULL, NIX1_PRIO_POLL,
                                      NIX1_REQF_NO_RETRY, 0, &err);
    if (!r)
        return NULL;
    r->poll = true;
    r->cb = poll_done;
    s->polls++;
    return r;
}

static void poll_done(nix1_bus_t *bus, const struct nix1_result *res, void *arg)
{
    (void)arg;
    struct slave *s = find_slave(bus, &res->from);
    if (!s)
        return; /* removed meanwhile */
    struct nix1_reader_out out;
    nix1_reader_done(&s->log, res, &out);
    bus->poll_continue = out.more;
    nix1_addr_t a = s->addr;
    switch (out.ev) {
    case NIX1_RD_ENTRY:
        bus->burst++;
        s->entries++;
        NIX1_BUS_NOTIFY(bus, access, &a, out.line, out.len);
        break;
    case NIX1_RD_DUP:
        bus->burst++;
        s->duplicates++;
        break;
    case NIX1_RD_ERROR:
        NIX1_BUS_NOTIFY(bus, poll_error, &a, out.rc);
        break;
    case NIX1_RD_GAP:
        NIX1_BUS_NOTIFY(bus, gap, &a, out.text);
        break;
    case NIX1_RD_NONE:
        break;
    }
}

int nix1_bus_add_slave(nix1_bus_t *bus, const nix1_addr_t *a)
{
    if (find_slave(bus, a))
        return 0;
    if (nix1_addr_is_broadcast(a) || nix1_addr_is_scratch(a))
        return -1;
    struct slave *ns = grow_array(bus->slaves, bus->nslaves, &bus->cap_slaves, sizeof *ns, 16);
    if (!ns)
        return -1;
    bus->slaves = ns;
    struct slave *s = &bus->slaves[bus->nslaves++];
    memset(s, 0, sizeof *s);
    nix1_reader_init(&s->log, bus->cfg.log_resync_first);
    s->addr = *a;
    nix1_bus_kick(bus);
    return 0;
}

bool nix1_bus_remove_slave(nix1_bus_t *bus, const nix1_addr_t *a)
{
    struct slave *s = find_slave(bus, a);
    if (!s)
        return false;
    size_t i = (size_t)(s - bus->slaves);
    memmove(s, s + 1, (bus->nslaves - i - 1) * sizeof *s);
    bus->nslaves--;
    if (bus->poll_idx >= bus->nslaves)
        bus->poll_idx = 0;
    bus->poll_continue = false;
    return true;
}

size_t nix1_bus_slave_count(const nix1_bus_t *bus)
{
    return bus->nslaves;
}

bool nix1_bus_slave_info(const nix1_bus_t *bus, size_t i, struct nix1_slave_info *out)
{
    if (i >= bus->nslaves)
        return false;
    const struct slave *s = &bus->slaves[i];
    out->addr = s->addr;
    out->state = s->state;
    out->fails = s->fails;
    out->last_seen_us = s->last_seen_us;
    out->next_poll_us = s->next_poll_us;
    out->entries = s->entries;
    out->duplicates = s->duplicates;
    out->polls = s->polls;
    out->timeouts = s->timeouts;
    return true;
}

enum nix1_slave_state nix1_bus_slave_state(const nix1_bus_t *bus, const nix1_addr_t *a)
{
    for (size_t i = 0; i < bus->nslaves; i++)
        if (nix1_addr_equal(&bus->slaves[i].addr, a))
            return bus->slaves[i].state;
    return NIX1_SLAVE_UNKNOWN;
}

void nix1_bus_set_polling(nix1_bus_t *bus, bool on)
{
    bus->polling = on;
    if (on)
        nix1_bus_kick(bus);
}

void nix1_bus_poll_rewind(nix1_bus_t *bus, const nix1_addr_t *a, unsigned k)
{
    struct slave *s = find_slave(bus, a);
    if (s)
        nix1_reader_rewind(&s->log, k);
}
