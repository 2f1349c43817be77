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
#include "drivers/nix1/nix1_cmd.h"
#include "drivers/nix1/nix1_rc.h"
#include "sim/nix1sim_bus.h"
#include "sim/nix1sim_rec.h"

#define RC_STREAMED 0x100 /* the handler already queued its lines */

enum after { AFTER_NONE, AFTER_RESTART, AFTER_BAUD };

struct exec {
    struct nix1sim_slave *s;
    const struct nix1_cmd *c;
    char cmd, arg;
    struct nix1_span f[NIX1_CMD_FIELDS_MAX];
    size_t nf;
    bool zero;
    bool bcast;
    char payload[NIX1_REPLY_MAX];
    bool has_payload;
    size_t touched; /* µSD bytes read or written: latency */
    enum after after;
    unsigned after_baud;
};

/* ---- small helpers ---- */

static uint64_t now_us(const struct nix1sim_slave *s) { return loop_now_us(s->loop); }

static uint64_t fu(const struct nix1_span *f)
{
    uint64_t v = 0;
    nix1_parse_uint(f->p, f->len, UINT64_MAX, &v);
    return v;
}

static void span_str(const struct nix1_span *f, char *out, size_t cap)
{
    size_t n = f->len < cap - 1 ? f->len : cap - 1;
    memcpy(out, f->p, n);
    out[n] = '\0';
}

static int store_rc_to_nix1(int rc, uint8_t io_code)
{
    switch (rc) {
    case NIX1SIM_STORE_OK: return NIX1_RC_OK;
    case NIX1SIM_STORE_NOCARD: return NIX1_RC_ERROR_SDCARDNOTFOUND;
    case NIX1SIM_STORE_NOTFOUND: return NIX1_RC_ERROR_NOT_FOUND;
    case NIX1SIM_STORE_BADNAME: return NIX1_RC_ERROR_PARAM;
    default: return io_code;
    }
}

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

static bool clock_valid(const struct nix1sim_slave *s) { return nix1sim_slave_time(s) >= NIX1SIM_CLOCK_VALID; }

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
static uint8_t commit_config(struct nix1sim_slave *s, const struct nix1_config *old)
{
    int rc = nix1sim_slave_save_config(s);
    if (rc != NIX1SIM_STORE_OK) {
        s->cfg = *old;
        return rc == NIX1SIM_STORE_NOCARD ? NIX1_RC_ERROR_SDCARDNOTFOUND : NIX1_RC_ERROR_WRITE;
    }
    return NIX1_RC_OK;
}

static void load_config(struct nix1sim_slave *s)
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
static int access_lines(struct nix1sim_slave *s, unsigned doy)
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
    if (!s->store.card_in || !clock_valid(s))
        return false;
    unsigned today = nix1sim_slave_doy(s);
    unsigned pd = s->cfg.has_log_position ? s->cfg.log_doy : today, pl = s->cfg.has_log_position ? s->cfg.log_line : 0;
    if (s->pend_valid && s->pend_gen == s->store.gen && s->pend_doy == pd && s->pend_line == pl &&
        s->pend_today == today)
        return s->pend_value;
    bool v = false;
    for (unsigned d = pd, i = 0; i < 367; i++, d = d % 366 + 1) {
        int l = access_lines(s, d);
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

static uint8_t general_status(struct nix1sim_slave *s)
{
    uint8_t st = s->status & (uint8_t)~(NIX1SIM_ST_CLOCK_UNSET | NIX1SIM_ST_PENDING | NIX1SIM_ST_SD_ERROR);
    if (!clock_valid(s))
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
                 general_status(s));
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
             general_status(s));
    nix1sim_slave_log(s, true, hdr);
}

/* ---- replies ---- */

static void queue_bytes(struct nix1sim_slave *s, const char *p, size_t n)
{
    if (s->pending_len + n > s->pending_cap) {
        size_t cap = s->pending_cap ? s->pending_cap : 512;
        while (cap < s->pending_len + n)
            cap *= 2;
        char *nb = realloc(s->pending, cap);
        if (!nb)
            return;
        s->pending = nb;
        s->pending_cap = cap;
    }
    memcpy(s->pending + s->pending_len, p, n);
    s->pending_len += n;
}

static char echo_char(char c) { return (c >= 0x21 && c <= 0x7E) ? c : '?'; }

static void queue_reply(struct nix1sim_slave *s, unsigned rc, char cmd, char arg, const char *payload)
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
    if (s->pending_len > 0 && !s->muted) {
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
    load_config(s);
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

/* ---- command handlers ---- */

static void set_payload(struct exec *x, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void set_payload(struct exec *x, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(x->payload, sizeof x->payload, fmt, ap);
    va_end(ap);
    x->has_payload = true;
}

static unsigned probe_idx(const struct nix1_span *f) { return (unsigned)fu(f) - 1; }

static uint8_t cfg_change(struct exec *x, void (*apply)(struct exec *x))
{
    struct nix1_config old = x->s->cfg;
    apply(x);
    return commit_config(x->s, &old);
}

static void ap_nb(struct exec *x) { x->s->cfg.bad_access_timeout = (unsigned)fu(&x->f[0]); }
static void ap_nc(struct exec *x) { x->s->cfg.valid_access_timeout = (unsigned)fu(&x->f[0]); }
static void ap_nl(struct exec *x) { x->s->cfg.lock[probe_idx(&x->f[0])] = fu(&x->f[1]) != 0; }
static void ap_nv(struct exec *x) { x->s->cfg.od_speed[probe_idx(&x->f[0])] = fu(&x->f[1]) != 0; }
static void ap_no(struct exec *x) { x->s->cfg.cron_mode = (unsigned)fu(&x->f[0]); }
static void ap_nu(struct exec *x)
{
    x->s->cfg.unit[probe_idx(&x->f[0])] = (uint32_t)fu(&x->f[1]);
    x->s->cfg.has_unit[probe_idx(&x->f[0])] = true;
}
static void ap_dh(struct exec *x) { x->s->cfg.has_cron = false; x->s->cfg.cron[0] = '\0'; }
static void ap_nh(struct exec *x)
{
    x->s->cfg.has_cron = true;
    span_str(&x->f[0], x->s->cfg.cron, sizeof x->s->cfg.cron);
}
static void ap_nm(struct exec *x)
{
    unsigned m = (unsigned)fu(&x->f[0]);
    x->s->cfg.enable = m != 0;
    x->s->cfg.mobile = m == 2;
    x->s->cfg.standalone = m == 3;
}
static void ap_du(struct exec *x)
{
    if (x->zero)
        x->s->cfg.has_unit[0] = x->s->cfg.has_unit[1] = false;
    else
        x->s->cfg.has_unit[probe_idx(&x->f[0])] = false;
}
static void ap_nz(struct exec *x) { x->s->cfg.baudrate = (unsigned)fu(&x->f[0]); }
static void ap_nt(struct exec *x)
{
    int m = 0;
    nix1_parse_tz(x->f[1].p, x->f[1].len, &m);
    x->s->cfg.timezone = m;
}

static unsigned h_nb(struct exec *x) { return cfg_change(x, ap_nb); }
static unsigned h_nc(struct exec *x) { return cfg_change(x, ap_nc); }
static unsigned h_nl(struct exec *x) { return cfg_change(x, ap_nl); }
static unsigned h_nv(struct exec *x) { return cfg_change(x, ap_nv); }
static unsigned h_no(struct exec *x) { return cfg_change(x, ap_no); }
static unsigned h_nu(struct exec *x) { return cfg_change(x, ap_nu); }
static unsigned h_nh(struct exec *x) { return cfg_change(x, ap_nh); }
static unsigned h_dh(struct exec *x) { return cfg_change(x, ap_dh); }
static unsigned h_nm(struct exec *x) { return cfg_change(x, ap_nm); }
static unsigned h_du(struct exec *x) { return cfg_change(x, ap_du); }

static unsigned h_nz(struct exec *x)
{
    uint8_t rc = cfg_change(x, ap_nz);
    if (rc == NIX1_RC_OK) {
        x->after = AFTER_BAUD;
        x->after_baud = x->s->cfg.baudrate;
    }
    return rc;
}

static unsigned h_nt(struct exec *x)
{
    struct nix1_config old = x->s->cfg;
    ap_nt(x);
    uint8_t rc = commit_config(x->s, &old);
    if (rc == NIX1_RC_OK) {
        nix1sim_slave_set_time(x->s, (int64_t)fu(&x->f[0]));
        x->s->status &= (uint8_t)~NIX1SIM_ST_CLOCK_UNSET;
    }
    return rc;
}

static unsigned h_ns(struct exec *x)
{
    uint64_t v = 0;
    nix1_parse_hex(x->f[0].p, x->f[0].len, 2, &v);
    x->s->status = (uint8_t)v;
    return NIX1_RC_OK;
}

static unsigned h_ds(struct exec *x)
{
    x->after = AFTER_RESTART;
    return NIX1_RC_OK;
}

static unsigned h_da(struct exec *x)
{
    struct nix1sim_slave *s = x->s;
    int rc = nix1sim_store_format(&s->store);
    if (rc != NIX1SIM_STORE_OK)
        return (uint8_t)store_rc_to_nix1(rc, NIX1_RC_ERROR_WRITE);
    s->up_active = false;
    s->up_n = s->up_received = 0;
    rc = nix1sim_slave_save_config(s);
    s->busy_until_us = now_us(s) + NIX1SIM_FORMAT_BUSY_MS * 1000u;
    return rc == NIX1SIM_STORE_OK ? NIX1_RC_OK : NIX1_RC_ERROR_WRITE;
}

static bool field_name(const struct nix1_span *f, char out[NIX1SIM_NAME_MAX])
{
    char tmp[16];
    if (f->len >= sizeof tmp)
        return false;
    span_str(f, tmp, sizeof tmp);
    return nix1sim_store_name(tmp, out);
}

static void after_file_change(struct nix1sim_slave *s, const char *name)
{
    if (strcmp(name, "CONFIG.TXT") == 0)
        load_config(s);
    if (strcmp(name, "NEWFILE.TMP") == 0) {
        s->up_active = false;
        s->up_n = s->up_received = 0;
    }
}

static unsigned h_dg(struct exec *x)
{
    char name[NIX1SIM_NAME_MAX];
    if (!field_name(&x->f[0], name))
        return NIX1_RC_ERROR_PARAM;
    int rc = nix1sim_store_remove(&x->s->store, name);
    if (rc == NIX1SIM_STORE_OK && strcmp(name, "NEWFILE.TMP") == 0)
        after_file_change(x->s, name);
    return (uint8_t)store_rc_to_nix1(rc, NIX1_RC_ERROR_WRITE);
}

static unsigned h_dy(struct exec *x)
{
    int rc = nix1sim_store_remove(&x->s->store, "NEWFILE.TMP");
    x->s->up_active = false;
    x->s->up_n = x->s->up_received = 0;
    if (rc == NIX1SIM_STORE_NOTFOUND)
        rc = NIX1SIM_STORE_OK;
    return (uint8_t)store_rc_to_nix1(rc, NIX1_RC_ERROR_WRITE);
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
}

static unsigned h_ny(struct exec *x)
{
    struct nix1sim_slave *s = x->s;
    unsigned n = (unsigned)fu(&x->f[0]), blen = (unsigned)fu(&x->f[1]);
    uint64_t crc = 0;
    nix1_parse_hex(x->f[2].p, x->f[2].len, 4, &crc);
    const struct nix1_span *hb = &x->f[3];
    if (hb->len != 2u * blen)
        return NIX1_RC_ERROR_RXDATA;
    unsigned char block[128];
    for (unsigned i = 0; i < blen; i++) {
        int hi = hexval(hb->p[2 * i]), lo = hexval(hb->p[2 * i + 1]);
        if (hi < 0 || lo < 0)
            return NIX1_RC_ERROR_RXDATA;
        block[i] = (unsigned char)(hi << 4 | lo);
    }
    if (crc16_arc(block, blen) != crc)
        return NIX1_RC_ERROR_CRC;
    if (s->up_active && (n != s->up_n || s->up_received >= s->up_n))
        return NIX1_RC_ERROR_QUANTITY;
    int rc;
    if (!s->up_active)
        rc = nix1sim_store_write(&s->store, "NEWFILE.TMP", block, blen); /* first packet: fresh temp file */
    else
        rc = nix1sim_store_append(&s->store, "NEWFILE.TMP", block, blen);
    if (rc != NIX1SIM_STORE_OK)
        return (uint8_t)store_rc_to_nix1(rc, NIX1_RC_ERROR_WRITE);
    if (!s->up_active) {
        s->up_active = true;
        s->up_n = n;
        s->up_received = 0;
    }
    s->up_received++;
    x->touched += blen;
    set_payload(x, "%u\t%u", s->up_received, s->up_n);
    return NIX1_RC_ACK;
}

static unsigned h_ng(struct exec *x)
{
    struct nix1sim_slave *s = x->s;
    char name[NIX1SIM_NAME_MAX];
    if (!field_name(&x->f[0], name) || strcmp(name, "NEWFILE.TMP") == 0)
        return NIX1_RC_ERROR_PARAM;
    uint64_t crc = 0;
    nix1_parse_hex(x->f[1].p, x->f[1].len, 4, &crc);
    char *d;
    size_t n;
    int rc = nix1sim_store_read(&s->store, "NEWFILE.TMP", &d, &n);
    if (rc == NIX1SIM_STORE_NOTFOUND || (rc == NIX1SIM_STORE_OK && !s->up_active)) {
        free(d);
        return NIX1_RC_ERROR_NOT_FOUND;
    }
    if (rc != NIX1SIM_STORE_OK)
        return (uint8_t)store_rc_to_nix1(rc, NIX1_RC_ERROR_WRITE);
    x->touched += n;
    uint16_t c = crc16_arc(d, n);
    free(d);
    if (s->up_received != s->up_n)
        return NIX1_RC_ERROR_QUANTITY;
    if (c != crc) {
        nix1sim_store_remove(&s->store, "NEWFILE.TMP");
        s->up_active = false;
        s->up_n = s->up_received = 0;
        return NIX1_RC_ERROR_CRC;
    }
    rc = nix1sim_store_rename(&s->store, "NEWFILE.TMP", name);
    if (rc != NIX1SIM_STORE_OK)
        return (uint8_t)store_rc_to_nix1(rc, NIX1_RC_ERROR_WRITE);
    s->up_active = false;
    s->up_n = s->up_received = 0;
    after_file_change(s, name);
    return NIX1_RC_OK;
}

static unsigned h_ni(struct exec *x)
{
    char a[NIX1SIM_NAME_MAX], b[NIX1SIM_NAME_MAX];
    if (!field_name(&x->f[0], a) || !field_name(&x->f[1], b))
        return NIX1_RC_ERROR_PARAM;
    size_t size = 0;
    int rc = nix1sim_store_stat(&x->s->store, a, &size);
    if (rc != NIX1SIM_STORE_OK)
        return (uint8_t)store_rc_to_nix1(rc, NIX1_RC_ERROR_COPY);
    rc = nix1sim_store_copy(&x->s->store, a, b);
    x->touched += 2 * size;
    if (rc != NIX1SIM_STORE_OK)
        return (uint8_t)store_rc_to_nix1(rc, NIX1_RC_ERROR_COPY);
    after_file_change(x->s, b);
    return NIX1_RC_OK;
}

static unsigned h_nn(struct exec *x)
{
    struct nix1sim_slave *s = x->s;
    char name[NIX1SIM_NAME_MAX];
    if (!field_name(&x->f[0], name))
        return NIX1_RC_ERROR_PARAM;
    int rc = nix1sim_store_stat(&s->store, name, NULL);
    if (rc != NIX1SIM_STORE_OK)
        return (uint8_t)store_rc_to_nix1(rc, NIX1_RC_ERROR_WRITE);
    memcpy(s->flash_file, name, sizeof name);
    s->flash_tries_left = (unsigned)fu(&x->f[1]);
    s->busy_until_us = now_us(s) + NIX1SIM_FLASH_TRY_MS * 1000u;
    loop_timer_arm_ms(s->loop, &s->flash_timer, NIX1SIM_FLASH_TRY_MS);
    return NIX1_RC_OK;
}

static unsigned h_qp(struct exec *x)
{
    char name[NIX1SIM_NAME_MAX], *d;
    size_t n;
    if (!field_name(&x->f[0], name))
        return NIX1_RC_ERROR_PARAM;
    int rc = nix1sim_store_read(&x->s->store, name, &d, &n);
    if (rc != NIX1SIM_STORE_OK)
        return (uint8_t)store_rc_to_nix1(rc, NIX1_RC_ERROR_INT);
    x->touched += n;
    set_payload(x, "%04X\t%zu", crc16_arc(d, n), n);
    free(d);
    return NIX1_RC_OK;
}

static unsigned h_qg(struct exec *x)
{
    struct nix1sim_slave *s = x->s;
    char name[NIX1SIM_NAME_MAX], *d;
    size_t n;
    if (!field_name(&x->f[0], name))
        return NIX1_RC_ERROR_PARAM;
    uint64_t limit = fu(&x->f[1]);
    int rc = nix1sim_store_read(&s->store, name, &d, &n);
    if (rc != NIX1SIM_STORE_OK)
        return (uint8_t)store_rc_to_nix1(rc, NIX1_RC_ERROR_INT);
    x->touched += n;
    /* First pass: every line to be sent must fit in a reply line (text files only). */
    size_t pos = 0, count = 0;
    while (pos < n && (limit == 0 || count < limit)) {
        const char *ln = d + pos, *nl = memchr(ln, '\n', n - pos);
        size_t ll = nl ? (size_t)(nl - ln) : n - pos;
        pos += ll + (nl ? 1 : 0);
        if (ll > 0 && ln[ll - 1] == '\r')
            ll--;
        if (!nix1_line_printable(ln, ll, true) || ll + NIX1_ADDR_LEN + 6 > NIX1_REPLY_MAX) {
            free(d);
            return NIX1_RC_ERROR_PARAM;
        }
        count++;
    }
    pos = 0;
    count = 0;
    char *line = malloc(NIX1_REPLY_MAX + 1);
    if (!line) {
        free(d);
        return NIX1_RC_ERROR_INT;
    }
    while (pos < n && (limit == 0 || count < limit)) {
        const char *ln = d + pos, *nl = memchr(ln, '\n', n - pos);
        size_t ll = nl ? (size_t)(nl - ln) : n - pos;
        pos += ll + (nl ? 1 : 0);
        if (ll > 0 && ln[ll - 1] == '\r')
            ll--;
        memcpy(line, ln, ll);
        line[ll] = '\0';
        queue_reply(s, NIX1_RC_OK, x->cmd, x->arg, line);
        count++;
    }
    free(line);
    free(d);
    char cnt[24];
    snprintf(cnt, sizeof cnt, "%zu", count);
    queue_reply(s, NIX1_RC_EOT, x->cmd, x->arg, cnt);
    return RC_STREAMED;
}

static unsigned h_qi(struct exec *x)
{
    char ext[4];
    span_str(&x->f[0], ext, sizeof ext);
    char(*names)[NIX1SIM_NAME_MAX];
    size_t *sizes;
    int cnt = nix1sim_store_list(&x->s->store, ext, &names, &sizes);
    if (cnt < 0)
        return (uint8_t)store_rc_to_nix1(-cnt, NIX1_RC_ERROR_INT);
    for (int i = 0; i < cnt; i++) {
        char l[48];
        snprintf(l, sizeof l, "%s\t%zu", names[i], sizes[i]);
        queue_reply(x->s, NIX1_RC_OK, x->cmd, x->arg, l);
    }
    free(names);
    free(sizes);
    char c[16];
    snprintf(c, sizeof c, "%d", cnt);
    queue_reply(x->s, NIX1_RC_EOT, x->cmd, x->arg, c);
    x->touched += (size_t)cnt * 32u;
    return RC_STREAMED;
}

/* ---- records: KEYS.TXT, USERS.<C>, <unit>U.<C> ---- */

static void users_file(const struct nix1_span *uid, char out[NIX1SIM_NAME_MAX])
{
    snprintf(out, NIX1SIM_NAME_MAX, "USERS.%c", toupper((unsigned char)uid->p[0]));
}

static void rights_file(const struct nix1_span *uid, unsigned unit, char out[NIX1SIM_NAME_MAX])
{
    snprintf(out, NIX1SIM_NAME_MAX, "%uU.%c", unit, toupper((unsigned char)uid->p[0]));
}

static unsigned h_nk(struct exec *x)
{
    char key[80], line[112];
    span_str(&x->f[1], key, sizeof key);
    unsigned long long ts = (unsigned long long)fu(&x->f[0]);
    snprintf(line, sizeof line, "%llu\t%s", ts, key);
    int rc = nix1sim_rec_key_insert(&x->s->store, ts, line);
    return (uint8_t)store_rc_to_nix1(rc, NIX1_RC_ERROR_WRITE);
}

static unsigned h_dk(struct exec *x)
{
    int rc = x->zero ? nix1sim_store_remove(&x->s->store, "KEYS.TXT")
                     : nix1sim_rec_key_delete(&x->s->store, (unsigned long long)fu(&x->f[0]));
    return (uint8_t)store_rc_to_nix1(rc, NIX1_RC_ERROR_WRITE);
}

static unsigned h_qk(struct exec *x)
{
    char line[NIX1SIM_REC_MAX];
    int rc = nix1sim_rec_first(&x->s->store, "KEYS.TXT", line, sizeof line);
    if (rc == NIX1SIM_STORE_NOTFOUND)
        return NIX1_RC_ERROR_KEY;
    if (rc != NIX1SIM_STORE_OK)
        return (uint8_t)store_rc_to_nix1(rc, NIX1_RC_ERROR_INT);
    set_payload(x, "%s", line);
    return NIX1_RC_OK;
}

/* Delete every file matching pred (zero forms of Dx and Dr). NOTFOUND when there was none. */
static int remove_matching(struct nix1sim_store *st, bool (*pred)(const char *name))
{
    char(*names)[NIX1SIM_NAME_MAX];
    size_t *sizes;
    int cnt = nix1sim_store_list(st, NULL, &names, &sizes);
    if (cnt < 0)
        return -cnt;
    int rc = NIX1SIM_STORE_NOTFOUND;
    for (int i = 0; i < cnt; i++) {
        if (!pred(names[i]))
            continue;
        int r = nix1sim_store_remove(st, names[i]);
        if (rc != NIX1SIM_STORE_IO)
            rc = r;
    }
    free(names);
    free(sizes);
    return rc;
}

static bool is_users(const char *n) { return strncmp(n, "USERS.", 6) == 0; }
static bool is_rights(const char *n)
{
    size_t i = 0;
    while (isdigit((unsigned char)n[i]))
        i++;
    return i > 0 && n[i] == 'U' && n[i + 1] == '.';
}

static unsigned h_nx(struct exec *x)
{
    char file[NIX1SIM_NAME_MAX], uid[NIX1_LINE_MAX], line[NIX1_LINE_MAX + 40];
    users_file(&x->f[0], file);
    span_str(&x->f[0], uid, sizeof uid);
    snprintf(line, sizeof line, "%s\t%llu\t%llu", uid, (unsigned long long)fu(&x->f[1]),
             (unsigned long long)fu(&x->f[2]));
    int rc = nix1sim_rec_put(&x->s->store, file, uid, line);
    return (uint8_t)store_rc_to_nix1(rc, NIX1_RC_ERROR_WRITE);
}

static unsigned h_dx(struct exec *x)
{
    if (x->zero)
        return (uint8_t)store_rc_to_nix1(remove_matching(&x->s->store, is_users), NIX1_RC_ERROR_WRITE);
    char file[NIX1SIM_NAME_MAX], uid[NIX1_LINE_MAX];
    users_file(&x->f[0], file);
    span_str(&x->f[0], uid, sizeof uid);
    return (uint8_t)store_rc_to_nix1(nix1sim_rec_del(&x->s->store, file, uid), NIX1_RC_ERROR_WRITE);
}

static unsigned h_qx(struct exec *x)
{
    char file[NIX1SIM_NAME_MAX], uid[NIX1_LINE_MAX], line[NIX1SIM_REC_MAX];
    users_file(&x->f[0], file);
    span_str(&x->f[0], uid, sizeof uid);
    int rc = nix1sim_rec_get(&x->s->store, file, uid, line, sizeof line);
    if (rc != NIX1SIM_STORE_OK)
        return (uint8_t)store_rc_to_nix1(rc, NIX1_RC_ERROR_INT);
    set_payload(x, "%s", line);
    return NIX1_RC_OK;
}

static unsigned h_nr(struct exec *x)
{
    char file[NIX1SIM_NAME_MAX], uid[NIX1_LINE_MAX], cron[CRON_TEXT_MAX + 1], line[NIX1_LINE_MAX + CRON_TEXT_MAX + 8];
    rights_file(&x->f[0], (unsigned)fu(&x->f[1]), file);
    span_str(&x->f[0], uid, sizeof uid);
    span_str(&x->f[2], cron, sizeof cron);
    snprintf(line, sizeof line, "%s\t%s", uid, cron);
    return (uint8_t)store_rc_to_nix1(nix1sim_rec_put(&x->s->store, file, uid, line), NIX1_RC_ERROR_WRITE);
}

static unsigned h_dr(struct exec *x)
{
    if (x->zero)
        return (uint8_t)store_rc_to_nix1(remove_matching(&x->s->store, is_rights), NIX1_RC_ERROR_WRITE);
    char file[NIX1SIM_NAME_MAX], uid[NIX1_LINE_MAX];
    rights_file(&x->f[0], (unsigned)fu(&x->f[1]), file);
    span_str(&x->f[0], uid, sizeof uid);
    return (uint8_t)store_rc_to_nix1(nix1sim_rec_del(&x->s->store, file, uid), NIX1_RC_ERROR_WRITE);
}

static unsigned h_qr(struct exec *x)
{
    char file[NIX1SIM_NAME_MAX], uid[NIX1_LINE_MAX], line[NIX1SIM_REC_MAX];
    rights_file(&x->f[0], (unsigned)fu(&x->f[1]), file);
    span_str(&x->f[0], uid, sizeof uid);
    int rc = nix1sim_rec_get(&x->s->store, file, uid, line, sizeof line);
    if (rc != NIX1SIM_STORE_OK)
        return (uint8_t)store_rc_to_nix1(rc, NIX1_RC_ERROR_INT);
    const char *tab = strchr(line, '\t');
    set_payload(x, "%s", tab ? tab + 1 : "");
    return NIX1_RC_OK;
}

/* ---- access log retrieval (§5.10) ---- */

static unsigned h_ne(struct exec *x)
{
    struct nix1sim_slave *s = x->s;
    if (!clock_valid(s))
        return NIX1_RC_ERROR_DAY_OF_YEAR;
    unsigned today = nix1sim_slave_doy(s);
    int l = access_lines(s, today);
    if (l < 0)
        return -l == NIX1SIM_STORE_NOCARD ? NIX1_RC_ERROR_SDCARDNOTFOUND : NIX1_RC_ERROR_LOG;
    unsigned k = (unsigned)fu(&x->f[0]);
    struct nix1_config old = s->cfg;
    s->cfg.has_log_position = true;
    s->cfg.log_doy = today;
    s->cfg.log_line = (unsigned)l > k ? (unsigned)l - k : 0;
    uint8_t rc = commit_config(s, &old);
    if (rc == NIX1_RC_OK)
        set_payload(x, "%d", l);
    return rc;
}

static unsigned h_qe(struct exec *x)
{
    struct nix1sim_slave *s = x->s;
    if (!clock_valid(s))
        return NIX1_RC_ERROR_DAY_OF_YEAR;
    unsigned today = nix1sim_slave_doy(s);
    unsigned d = s->cfg.has_log_position ? s->cfg.log_doy : today, line = s->cfg.has_log_position ? s->cfg.log_line : 0;
    for (unsigned i = 0; i < 367; i++) {
        char name[24], *data;
        size_t n;
        snprintf(name, sizeof name, "ACCESS.%u", d);
        int rc = nix1sim_store_read(&s->store, name, &data, &n);
        if (rc == NIX1SIM_STORE_NOCARD)
            return NIX1_RC_ERROR_SDCARDNOTFOUND;
        if (rc != NIX1SIM_STORE_OK && rc != NIX1SIM_STORE_NOTFOUND)
            return NIX1_RC_ERROR_LOG;
        if (rc == NIX1SIM_STORE_OK) {
            x->touched += n;
            size_t pos = 0;
            unsigned idx = 0;
            while (pos < n) {
                const char *ln = data + pos, *nl = memchr(ln, '\n', n - pos);
                size_t ll = nl ? (size_t)(nl - ln) : n - pos;
                pos += ll + (nl ? 1 : 0);
                if (idx++ < line)
                    continue;
                if (ll > 0 && ln[ll - 1] == '\r')
                    ll--;
                struct nix1_config old = s->cfg;
                s->cfg.has_log_position = true;
                s->cfg.log_doy = d;
                s->cfg.log_line = idx;
                uint8_t wrc = commit_config(s, &old);
                bool sendable = nix1_line_printable(ln, ll, true) && ll + NIX1_ADDR_LEN + 6 < NIX1_REPLY_MAX;
                if (wrc == NIX1_RC_OK && sendable) {
                    memcpy(x->payload, ln, ll);
                    x->payload[ll] = '\0';
                    x->has_payload = true;
                }
                free(data);
                return wrc != NIX1_RC_OK ? wrc : sendable ? NIX1_RC_OK : NIX1_RC_ERROR_LOG;
            }
            free(data);
        }
        if (d == today)
            break;
        d = d % 366 + 1;
        line = 0;
    }
    if (!s->cfg.has_log_position || s->cfg.log_doy != today) {
        struct nix1_config old = s->cfg;
        s->cfg.has_log_position = true;
        s->cfg.log_doy = today;
        s->cfg.log_line = 0;
        commit_config(s, &old);
    }
    return NIX1_RC_EOT;
}

/* ---- plain queries ---- */

static unsigned h_qb(struct exec *x) { set_payload(x, "%u", x->s->cfg.bad_access_timeout); return 0; }
static unsigned h_qc(struct exec *x) { set_payload(x, "%u", x->s->cfg.valid_access_timeout); return 0; }
static unsigned h_qh(struct exec *x)
{
    if (!x->s->cfg.has_cron)
        return NIX1_RC_ERROR_SYNTAX;
    set_payload(x, "%s", x->s->cfg.cron);
    return 0;
}
static unsigned h_ql(struct exec *x) { set_payload(x, "%d", x->s->cfg.lock[probe_idx(&x->f[0])]); return 0; }
static unsigned h_qm(struct exec *x)
{
    set_payload(x, "%u", nix1_config_mode(&x->s->cfg));
    return 0;
}
static unsigned h_qn(struct exec *x) { set_payload(x, "%s", NIX1SIM_VERSION); return 0; }
static unsigned h_qo(struct exec *x) { set_payload(x, "%u", x->s->cfg.cron_mode); return 0; }
static unsigned h_qs(struct exec *x) { set_payload(x, "%02X", general_status(x->s)); return 0; }
static unsigned h_qt(struct exec *x)
{
    char tz[6];
    set_payload(x, "%lld\t%s", (long long)nix1sim_slave_time(x->s), nix1_format_tz(x->s->cfg.timezone, tz));
    return 0;
}
static unsigned h_qu(struct exec *x)
{
    int u = nix1sim_slave_unit(x->s, (unsigned)fu(&x->f[0]));
    if (u < 0)
        return NIX1_RC_ERROR_UNIT;
    set_payload(x, "%d", u);
    return 0;
}
static unsigned h_qv(struct exec *x)
{
    if (x->nf == 1)
        set_payload(x, "%d", x->s->cfg.od_speed[probe_idx(&x->f[0])]);
    else
        set_payload(x, "%d\t%d", x->s->cfg.od_speed[0], x->s->cfg.od_speed[1]);
    return 0;
}

/* ---- dispatch ---- */

struct handler {
    char cmd, arg;
    unsigned (*fn)(struct exec *x);
    bool card;  /* needs the µSD (7B when it is out): file commands and every config change */
    bool heavy; /* µSD-heavy latency class (§5.1) */
};

static const struct handler handlers[] = {
    { 'D', 'a', h_da, true, true }, { 'D', 'g', h_dg, true, true }, { 'D', 'h', h_dh, true, false },
    { 'D', 'k', h_dk, true, false }, { 'D', 'r', h_dr, true, false }, { 'D', 's', h_ds, false, false },
    { 'D', 'u', h_du, true, false }, { 'D', 'x', h_dx, true, false }, { 'D', 'y', h_dy, true, false },
    { 'N', 'b', h_nb, true, false }, { 'N', 'c', h_nc, true, false }, { 'N', 'e', h_ne, true, false },
    { 'N', 'g', h_ng, true, true }, { 'N', 'h', h_nh, true, false }, { 'N', 'i', h_ni, true, true },
    { 'N', 'k', h_nk, true, false }, { 'N', 'l', h_nl, true, false }, { 'N', 'm', h_nm, true, false },
    { 'N', 'n', h_nn, true, true }, { 'N', 'o', h_no, true, false }, { 'N', 'r', h_nr, true, false },
    { 'N', 's', h_ns, false, false }, { 'N', 't', h_nt, true, false }, { 'N', 'u', h_nu, true, false },
    { 'N', 'v', h_nv, true, false }, { 'N', 'x', h_nx, true, false }, { 'N', 'y', h_ny, true, true },
    { 'N', 'z', h_nz, true, false },
    { 'Q', 'b', h_qb, false, false }, { 'Q', 'c', h_qc, false, false }, { 'Q', 'e', h_qe, true, false },
    { 'Q', 'g', h_qg, true, true }, { 'Q', 'h', h_qh, false, false }, { 'Q', 'i', h_qi, true, true },
    { 'Q', 'k', h_qk, true, false }, { 'Q', 'l', h_ql, false, false }, { 'Q', 'm', h_qm, false, false },
    { 'Q', 'n', h_qn, false, false }, { 'Q', 'o', h_qo, false, false }, { 'Q', 'p', h_qp, true, true },
    { 'Q', 'r', h_qr, true, false }, { 'Q', 's', h_qs, false, false }, { 'Q', 't', h_qt, false, false },
    { 'Q', 'u', h_qu, false, false }, { 'Q', 'v', h_qv, false, false }, { 'Q', 'x', h_qx, true, false },
};

static const struct handler *find_handler(char cmd, char arg)
{
    for (size_t i = 0; i < sizeof handlers / sizeof handlers[0]; i++)
        if (handlers[i].cmd == cmd && handlers[i].arg == arg)
            return &handlers[i];
    return NULL;
}

static void finish_reply(struct nix1sim_slave *s, struct exec *x, unsigned rc, bool heavy)
{
    if (x->bcast) {
        s->pending_len = 0; /* never reply to a broadcast */
    } else if (rc != RC_STREAMED) {
        queue_reply(s, rc, x->cmd, x->arg, rc < 0x10 && x->has_payload ? x->payload : NULL);
    }
    uint64_t lat = heavy ? NIX1SIM_SD_LATENCY_US + (x->touched / 1024u) * 1000u : NIX1SIM_LATENCY_US;
    if (x->bcast) {
        if (x->after == AFTER_RESTART)
            nix1sim_slave_reboot(s);
        else if (x->after == AFTER_BAUD && s->set_baud)
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
    enum after a = (enum after)s->pending_after;
    unsigned b = s->pending_after_baud;
    s->pending_after = AFTER_NONE;
    reply_cb(loop, arg);
    if (a == AFTER_RESTART)
        nix1sim_slave_reboot(s);
    else if (a == AFTER_BAUD && s->set_baud)
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
    struct exec x = { .s = s, .cmd = cmd, .arg = arg, .bcast = bcast };

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
    const struct handler *h = find_handler(req.cmd, req.arg);
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
        load_config(s);
}
