#include "sim/nix1sim_slave.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/crc.h"
#include "core/grow.h"
#include "drivers/nix1/nix1_cmd.h"
#include "drivers/nix1/nix1_rc.h"
#include "sim/nix1sim_bus.h"
#include "sim/nix1sim_exec.h"
#include "sim/nix1sim_rec.h"

/* ---- small helpers ---- */

static uint64_t now_us(const struct nix1sim_slave *s) { return loop_now_us(s->loop); }

int64_t nix1sim_slave_time(const struct nix1sim_slave *s)
{
    return s->rtc_base + (int64_t)((now_us(s) - s->rtc_mono_us) / 1000000u);
}

void nix1sim_slave_set_time(struct nix1sim_slave *s, int64_t ts)
{
    s->rtc_base = ts;
    s->rtc_mono_us = now_us(s);
    s->clock_set = ts >= NIX1SIM_CLOCK_VALID;
}

bool nix1sim_slave_clock_valid(const struct nix1sim_slave *s) { return nix1sim_slave_time(s) >= NIX1SIM_CLOCK_VALID; }

unsigned nix1sim_slave_doy(const struct nix1sim_slave *s)
{
    int64_t t = nix1sim_slave_time(s);
    int d = nix1_files_doy(t > 0 ? (uint64_t)t : 0, s->cfg.timezone);
    return d > 0 ? (unsigned)d : 1;
}

bool nix1sim_slave_unconfigured(const struct nix1sim_slave *s)
{
    return !s->cfg.has_unit[0] && !s->cfg.has_unit[1];
}

bool nix1sim_slave_listening(const struct nix1sim_slave *s)
{
    return !s->muted && now_us(s) >= s->silent_until_us;
}

/* ---- config ---- */

int nix1sim_slave_unit(const struct nix1sim_slave *s, unsigned probe)
{
    if (probe < 1 || probe > 2 || !s->cfg.has_unit[probe - 1])
        return -1;
    return (int)s->cfg.unit[probe - 1];
}

int nix1sim_slave_save_config(struct nix1sim_slave *s)
{
    char buf[2048];
    int n = nix1_config_format(&s->cfg, buf, sizeof buf);
    if (n < 0)
        return NIX1SIM_STORE_IO;
    return nix1sim_store_write(&s->store, "CONFIG.TXT", buf, (size_t)n);
}

/* Apply a config change: rewrite CONFIG.TXT, roll back RAM on failure (§5.7). */
uint8_t nix1sim_slave_commit_config(struct nix1sim_slave *s, const struct nix1_config *old)
{
    int rc = nix1sim_slave_save_config(s);
    if (rc != NIX1SIM_STORE_OK) {
        s->cfg = *old;
        return rc == NIX1SIM_STORE_NOCARD ? NIX1_RC_ERROR_SDCARDNOTFOUND : NIX1_RC_ERROR_WRITE;
    }
    return NIX1_RC_OK;
}

void nix1sim_slave_load_config(struct nix1sim_slave *s)
{
    char *data;
    size_t len;
    int rc = nix1sim_store_read(&s->store, "CONFIG.TXT", &data, &len);
    if (rc == NIX1SIM_STORE_OK) {
        struct nix1_config c;
        struct nix1_diag diag = { 0 };
        nix1_config_defaults(&c);
        nix1_files_read_config("CONFIG.TXT", data, len, &c, &diag);
        nix1_diag_free(&diag);
        s->cfg = c;
        free(data);
    } else if (rc == NIX1SIM_STORE_NOTFOUND) {
        nix1_config_defaults(&s->cfg);
        nix1sim_slave_save_config(s);
    }
    /* card out: keep what is in RAM */
}

/* ---- status ---- */

static int count_lines(const char *d, size_t n)
{
    int c = 0;
    for (size_t i = 0; i < n; i++)
        if (d[i] == '\n')
            c++;
    if (n > 0 && d[n - 1] != '\n')
        c++;
    return c;
}

/* Lines in ACCESS.<doy>: >= 0, or -rc. */
int nix1sim_slave_access_lines(struct nix1sim_slave *s, unsigned doy)
{
    char name[24], *d;
    size_t n;
    snprintf(name, sizeof name, "ACCESS.%u", doy);
    int rc = nix1sim_store_read(&s->store, name, &d, &n);
    if (rc == NIX1SIM_STORE_NOTFOUND)
        return 0;
    if (rc != NIX1SIM_STORE_OK)
        return -rc;
    int c = count_lines(d, n);
    free(d);
    return c;
}

static bool pending_entries(struct nix1sim_slave *s)
{
    if (!s->store.card_in || !nix1sim_slave_clock_valid(s))
        return false;
    unsigned today = nix1sim_slave_doy(s);
    unsigned pd = s->cfg.has_log_position ? s->cfg.log_doy : today, pl = s->cfg.has_log_position ? s->cfg.log_line : 0;
    if (s->pend_valid && s->pend_gen == s->store.gen && s->pend_doy == pd && s->pend_line == pl &&
        s->pend_today == today)
        return s->pend_value;
    bool v = false;
    for (unsigned d = pd, i = 0; i < 367; i++, d = d % 366 + 1) {
        int l = nix1sim_slave_access_lines(s, d);
        if (l > (int)(d == pd ? pl : 0)) {
            v = true;
            break;
        }
        if (d == today)
            break;
    }
    s->pend_valid = true;
    s->pend_gen = s->store.gen;
    s->pend_doy = pd;
    s->pend_line = pl;
    s->pend_today = today;
    s->pend_value = v;
    return v;
}

uint8_t nix1sim_slave_general_status(struct nix1sim_slave *s)
{
    uint8_t st = s->status & (uint8_t)~(NIX1SIM_ST_CLOCK_UNSET | NIX1SIM_ST_PENDING | NIX1SIM_ST_SD_ERROR);
    if (!nix1sim_slave_clock_valid(s))
        st |= NIX1SIM_ST_CLOCK_UNSET;
    if (!s->store.card_in)
        st |= NIX1SIM_ST_SD_ERROR;
    if (pending_entries(s))
        st |= NIX1SIM_ST_PENDING;
    s->status = st;
    return st;
}

/* ---- logs ---- */

static int64_t first_line_ts(const char *d, size_t n, bool activity)
{
    const char *nl = memchr(d, '\n', n);
    size_t ll = nl ? (size_t)(nl - d) : n;
    const char *p = d;
    size_t field = activity ? 0 : 4;
    for (size_t f = 0; f < field; f++) {
        const char *t = memchr(p, '\t', ll - (size_t)(p - d));
        if (!t)
            return -1;
        p = t + 1;
    }
    size_t fl = 0;
    while ((size_t)(p - d) + fl < ll && p[fl] != '\t')
        fl++;
    uint64_t v;
    return nix1_parse_uint(p, fl, 9999999999ull, &v) ? (int64_t)v : -1;
}

int nix1sim_slave_log(struct nix1sim_slave *s, bool activity, const char *line)
{
    char name[24];
    snprintf(name, sizeof name, "%s.%u", activity ? "ACTIVITY" : "ACCESS", nix1sim_slave_doy(s));
    int64_t now = nix1sim_slave_time(s);
    char *d;
    size_t n;
    int rc = nix1sim_store_read(&s->store, name, &d, &n);
    if (rc == NIX1SIM_STORE_NOCARD)
        return rc;
    bool fresh = rc == NIX1SIM_STORE_NOTFOUND;
    if (rc == NIX1SIM_STORE_OK) {
        /* Rotation: a file left from the same day of last year is truncated on the first write. */
        int64_t first = n > 0 ? first_line_ts(d, n, activity) : -1;
        free(d);
        if (first >= 0 && now - first > 300 * 86400) {
            nix1sim_store_remove(&s->store, name);
            fresh = true;
        }
    }
    if (fresh && activity) {
        char hdr[96];
        snprintf(hdr, sizeof hdr, "%lld\tSlave ID: %s\tGeneral status: %02X\n", (long long)now, s->id,
                 nix1sim_slave_general_status(s));
        if (strcmp(line, hdr) == 0)
            return nix1sim_store_append(&s->store, name, hdr, strlen(hdr));
        nix1sim_store_append(&s->store, name, hdr, strlen(hdr));
    }
    return nix1sim_store_append(&s->store, name, line, strlen(line));
}

int nix1sim_slave_log_record(struct nix1sim_slave *s, bool activity, const char *uid, long unit, long long key_ts,
                             unsigned probe, unsigned od, unsigned rc)
{
    char line[512], us[24] = "", ks[24] = "", tz[6];
    if (unit >= 0)
        snprintf(us, sizeof us, "%ld", unit);
    if (key_ts >= 0)
        snprintf(ks, sizeof ks, "%lld", key_ts);
    snprintf(line, sizeof line, "%s\t%s\t%s\t%s\t%lld\t%s\t%u\t%u\t%02X\n", s->id, uid ? uid : "", us, ks,
             (long long)nix1sim_slave_time(s), nix1_format_tz(s->cfg.timezone, tz), probe, od, rc & 0xFFu);
    return nix1sim_slave_log(s, activity, line);
}

static void log_header(struct nix1sim_slave *s)
{
    char hdr[96];
    snprintf(hdr, sizeof hdr, "%lld\tSlave ID: %s\tGeneral status: %02X\n", (long long)nix1sim_slave_time(s), s->id,
             nix1sim_slave_general_status(s));
    nix1sim_slave_log(s, true, hdr);
}

/* ---- replies ---- */

static void queue_bytes(struct nix1sim_slave *s, const char *p, size_t n)
{
    char *nb = grow_to(s->pending, s->pending_len + n, &s->pending_cap, 1, 512);
    if (!nb)
        return;
    s->pending = nb;
    memcpy(s->pending + s->pending_len, p, n);
    s->pending_len += n;
}

static char echo_char(char c) { return (c >= 0x21 && c <= 0x7E) ? c : '?'; }

void nix1sim_slave_queue_reply(struct nix1sim_slave *s, unsigned rc, char cmd, char arg, const char *payload)
{
    char buf[NIX1_REPLY_MAX + 2];
    int n = nix1_reply_encode(buf, sizeof buf, &s->addr, (uint8_t)rc, echo_char(cmd), echo_char(arg), payload);
    if (n < 0)
        n = nix1_reply_encode(buf, sizeof buf, &s->addr, NIX1_RC_ERROR_INT, echo_char(cmd), echo_char(arg), NULL);
    if (n > 0)
        queue_bytes(s, buf, (size_t)n);
}

static void reply_cb(loop_t *loop, void *arg)
{
    (void)loop;
    struct nix1sim_slave *s = arg;
    if (s->pending_len > 0 && !s->muted && s->mute_at && s->replies_out + 1 >= s->mute_at) {
        s->muted = true; /* this reply is the first one lost */
        s->mute_at = 0;
    }
    if (s->pending_len > 0 && !s->muted) {
        uint64_t nth = ++s->replies_out;
        for (size_t i = 0; i < NIX1SIM_GARBLE_MAX; i++)
            if (s->garble_at[i] && s->garble_at[i] <= nth) {
                s->garble_at[i] = 0;
                s->garble_next = true;
            }
        if (s->garble_next) {
            /* Corrupt one character in the middle of the first line: detectable, like line noise. */
            const char *nl = memchr(s->pending, '\n', s->pending_len);
            size_t l = nl ? (size_t)(nl - s->pending) : s->pending_len;
            s->pending[l / 2] = (char)(s->pending[l / 2] ^ 0x80);
            s->garble_next = false;
        }
        s->tx(s->cb_arg, s, s->pending, s->pending_len);
    }
    s->pending_len = 0;
}

static void schedule_replies(struct nix1sim_slave *s, uint64_t latency_us)
{
    if (s->pending_len == 0)
        return;
    if (!loop_timer_armed(&s->reply_timer))
        loop_timer_arm_us(s->loop, &s->reply_timer, latency_us);
}

/* ---- boot ---- */

static void boot(struct nix1sim_slave *s)
{
    nix1sim_slave_load_config(s);
    s->status |= NIX1SIM_ST_RESTARTED;
    s->up_active = false;
    s->up_n = s->up_received = 0;
    memset(s->door, 0, sizeof s->door);
    log_header(s);
}

static void boot_cb(loop_t *loop, void *arg)
{
    (void)loop;
    struct nix1sim_slave *s = arg;
    boot(s);
    s->busy_until_us = now_us(s) + NIX1SIM_INIT_BUSY_MS * 1000u;
}

void nix1sim_slave_reboot(struct nix1sim_slave *s)
{
    loop_timer_disarm(s->loop, &s->flash_timer);
    loop_timer_disarm(s->loop, &s->reply_timer);
    s->pending_len = 0;
    s->silent_until_us = now_us(s) + NIX1SIM_RESTART_SILENT_MS * 1000u;
    loop_timer_arm_ms(s->loop, &s->boot_timer, NIX1SIM_RESTART_SILENT_MS);
}

static void flash_cb(loop_t *loop, void *arg)
{
    (void)loop;
    struct nix1sim_slave *s = arg;
    size_t size = 0;
    bool ok = !s->flash_fail && nix1sim_store_stat(&s->store, s->flash_file, &size) == NIX1SIM_STORE_OK && size > 0;
    if (ok) {
        s->status &= (uint8_t)~NIX1SIM_ST_FLASH_FAILED;
        s->busy_until_us = 0;
        nix1sim_slave_reboot(s);
        return;
    }
    if (s->flash_tries_left > 0) {
        s->flash_tries_left--;
        s->busy_until_us = now_us(s) + NIX1SIM_FLASH_TRY_MS * 1000u;
        loop_timer_arm_ms(s->loop, &s->flash_timer, NIX1SIM_FLASH_TRY_MS);
        return;
    }
    s->busy_until_us = 0;
    s->status |= NIX1SIM_ST_FLASH_FAILED;
    nix1sim_slave_log_record(s, true, "", -1, -1, 0, 0, NIX1_RC_ERROR_FLASH);
}

static void finish_reply(struct nix1sim_slave *s, struct nix1sim_exec *x, unsigned rc, bool heavy)
{
    if (x->bcast) {
        s->pending_len = 0; /* never reply to a broadcast */
    } else if (rc != NIX1SIM_RC_STREAMED) {
        nix1sim_slave_queue_reply(s, rc, x->cmd, x->arg, rc < 0x10 && x->has_payload ? x->payload : NULL);
    }
    uint64_t lat = heavy ? NIX1SIM_SD_LATENCY_US + (x->touched / 1024u) * 1000u : NIX1SIM_LATENCY_US;
    if (x->bcast) {
        if (x->after == NIX1SIM_AFTER_RESTART)
            nix1sim_slave_reboot(s);
        else if (x->after == NIX1SIM_AFTER_BAUD && s->set_baud)
            s->set_baud(s->cb_arg, s, x->after_baud);
        return;
    }
    schedule_replies(s, lat);
    s->pending_after = (int)x->after;
    s->pending_after_baud = x->after_baud;
}

static void reply_and_after_cb(loop_t *loop, void *arg)
{
    struct nix1sim_slave *s = arg;
    enum nix1sim_after a = (enum nix1sim_after)s->pending_after;
    unsigned b = s->pending_after_baud;
    s->pending_after = NIX1SIM_AFTER_NONE;
    reply_cb(loop, arg);
    if (a == NIX1SIM_AFTER_RESTART)
        nix1sim_slave_reboot(s);
    else if (a == NIX1SIM_AFTER_BAUD && s->set_baud)
        s->set_baud(s->cb_arg, s, b);
}

void nix1sim_slave_line(struct nix1sim_slave *s, const char *line, size_t len, unsigned flags)
{
    if (!nix1sim_slave_listening(s) || len < NIX1_ADDR_LEN)
        return;
    nix1_addr_t to;
    if (nix1_addr_parse(line, NIX1_ADDR_LEN, &to) != 0)
        return;
    bool own = nix1_addr_equal(&to, &s->addr);
    bool bcast = nix1_addr_is_broadcast(&to);
    bool scratch = nix1_addr_is_scratch(&to) && nix1sim_slave_unconfigured(s);
    if (!own && !bcast && !scratch)
        return;
    char cmd = len > NIX1_ADDR_LEN ? line[NIX1_ADDR_LEN] : '?';
    char arg = len > NIX1_ADDR_LEN + 1 ? line[NIX1_ADDR_LEN + 1] : '?';
    struct nix1sim_exec x = { .s = s, .cmd = cmd, .arg = arg, .bcast = bcast };

    /* 1. framing */
    struct nix1_request req;
    enum nix1_req_status st = nix1_request_parse(line, len, &req);
    if (st == NIX1_REQ_REPLY || st == NIX1_REQ_NO_ADDR)
        return;
    if (flags || st == NIX1_REQ_OVERFLOW || st == NIX1_REQ_BAD_BYTE) {
        finish_reply(s, &x, NIX1_RC_NAK, false);
        return;
    }
    /* 3-4. cmd, arg */
    if (st != NIX1_REQ_OK) {
        finish_reply(s, &x, (unsigned)nix1_req_status_rc(st), false);
        return;
    }
    x.c = nix1_cmd_lookup(req.cmd, req.arg);
    const struct nix1sim_handler *h = nix1sim_exec_find(req.cmd, req.arg);
    if (!x.c || !h) {
        finish_reply(s, &x, nix1_cmd_rc(req.cmd, req.arg) ? nix1_cmd_rc(req.cmd, req.arg) : NIX1_RC_ERROR_ARG, false);
        return;
    }
    /* 5. broadcast eligibility */
    if (bcast && !x.c->broadcast) {
        nix1sim_slave_log_record(s, true, "", -1, -1, 0, 0, NIX1_RC_ERROR_NOBROADCAST);
        return;
    }
    /* 6. busy */
    if (now_us(s) < s->busy_until_us) {
        finish_reply(s, &x, NIX1_RC_SYN, false);
        return;
    }
    /* 7-8. options */
    uint8_t rc = nix1_cmd_check(x.c, req.opt, req.opt_len, NULL, 0);
    if (rc != NIX1_RC_OK) {
        finish_reply(s, &x, rc, false);
        return;
    }
    x.zero = nix1_cmd_is_zero_form(x.c, req.opt, req.opt_len);
    if (!x.zero)
        x.nf = nix1_fields_split(req.opt, req.opt_len, x.f, NIX1_CMD_FIELDS_MAX);
    /* 9. µSD presence */
    if (h->card && !s->store.card_in) {
        finish_reply(s, &x, NIX1_RC_ERROR_SDCARDNOTFOUND, false);
        return;
    }
    /* 10. execution */
    unsigned r = h->fn(&x);
    finish_reply(s, &x, r, h->heavy);
}

/* ---- lifecycle ---- */

struct nix1sim_slave *nix1sim_slave_new(loop_t *loop, const nix1_addr_t *addr, const char *base,
                                        nix1sim_tx_fn tx, nix1sim_baud_fn set_baud, void *cb_arg)
{
    struct nix1sim_slave *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    s->loop = loop;
    s->addr = *addr;
    nix1_addr_format(addr, s->id);
    if (nix1sim_store_open(&s->store, base, s->id) < 0) {
        free(s);
        return NULL;
    }
    s->tx = tx;
    s->set_baud = set_baud;
    s->cb_arg = cb_arg;
    nix1_config_defaults(&s->cfg);
    s->rtc_mono_us = loop_now_us(loop);
    loop_timer_init(&s->boot_timer, boot_cb, s);
    loop_timer_init(&s->flash_timer, flash_cb, s);
    loop_timer_init(&s->reply_timer, reply_and_after_cb, s);
    s->status = NIX1SIM_ST_CLOCK_UNSET;
    boot(s);
    return s;
}

void nix1sim_slave_free(struct nix1sim_slave *s)
{
    if (!s)
        return;
    loop_timer_disarm(s->loop, &s->boot_timer);
    loop_timer_disarm(s->loop, &s->flash_timer);
    loop_timer_disarm(s->loop, &s->reply_timer);
    loop_timer_disarm(s->loop, &s->door_timer);
    nix1sim_store_close(&s->store);
    free(s->pending);
    free(s);
}

void nix1sim_slave_preconfigure(struct nix1sim_slave *s, int unit1, int unit2)
{
    s->cfg.has_unit[0] = unit1 >= 0;
    s->cfg.unit[0] = unit1 >= 0 ? (uint32_t)unit1 : 0;
    s->cfg.has_unit[1] = unit2 >= 0;
    s->cfg.unit[1] = unit2 >= 0 ? (uint32_t)unit2 : 0;
    s->cfg.enable = true;
    nix1sim_slave_set_time(s, (int64_t)time(NULL));
    nix1sim_slave_save_config(s);
}

void nix1sim_slave_card(struct nix1sim_slave *s, bool in)
{
    s->store.card_in = in;
    s->store.gen++;
    if (in)
        nix1sim_slave_load_config(s);
}
