/* nix1sim_exec: one handler a request of spec §5.8 (config changes, files, records, logs, queries). */
#include "sim/nix1sim_exec.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/crc.h"
#include "core/hex.h"
#include "drivers/nix1/nix1_rc.h"
#include "sim/nix1sim_bus.h"
#include "sim/nix1sim_rec.h"

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

/* ---- command handlers ---- */

static void set_payload(struct nix1sim_exec *x, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void set_payload(struct nix1sim_exec *x, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(x->payload, sizeof x->payload, fmt, ap);
    va_end(ap);
    x->has_payload = true;
}

static unsigned probe_idx(const struct nix1_span *f) { return (unsigned)fu(f) - 1; }

static uint8_t cfg_change(struct nix1sim_exec *x, void (*apply)(struct nix1sim_exec *x))
{
    struct nix1_config old = x->s->cfg;
    apply(x);
    return nix1sim_slave_commit_config(x->s, &old);
}

static void ap_nb(struct nix1sim_exec *x) { x->s->cfg.bad_access_timeout = (unsigned)fu(&x->f[0]); }
static void ap_nc(struct nix1sim_exec *x) { x->s->cfg.valid_access_timeout = (unsigned)fu(&x->f[0]); }
static void ap_nl(struct nix1sim_exec *x) { x->s->cfg.lock[probe_idx(&x->f[0])] = fu(&x->f[1]) != 0; }
static void ap_nv(struct nix1sim_exec *x) { x->s->cfg.od_speed[probe_idx(&x->f[0])] = fu(&x->f[1]) != 0; }
static void ap_no(struct nix1sim_exec *x) { x->s->cfg.cron_mode = (unsigned)fu(&x->f[0]); }
static void ap_nu(struct nix1sim_exec *x)
{
    x->s->cfg.unit[probe_idx(&x->f[0])] = (uint32_t)fu(&x->f[1]);
    x->s->cfg.has_unit[probe_idx(&x->f[0])] = true;
}
static void ap_dh(struct nix1sim_exec *x) { x->s->cfg.has_cron = false; x->s->cfg.cron[0] = '\0'; }
static void ap_nh(struct nix1sim_exec *x)
{
    x->s->cfg.has_cron = true;
    span_str(&x->f[0], x->s->cfg.cron, sizeof x->s->cfg.cron);
}
static void ap_nm(struct nix1sim_exec *x)
{
    unsigned m = (unsigned)fu(&x->f[0]);
    x->s->cfg.enable = m != 0;
    x->s->cfg.mobile = m == 2;
    x->s->cfg.standalone = m == 3;
}
static void ap_du(struct nix1sim_exec *x)
{
    if (x->zero)
        x->s->cfg.has_unit[0] = x->s->cfg.has_unit[1] = false;
    else
        x->s->cfg.has_unit[probe_idx(&x->f[0])] = false;
}
static void ap_nz(struct nix1sim_exec *x) { x->s->cfg.baudrate = (unsigned)fu(&x->f[0]); }
static void ap_nt(struct nix1sim_exec *x)
{
    int m = 0;
    nix1_parse_tz(x->f[1].p, x->f[1].len, &m);
    x->s->cfg.timezone = m;
}

static unsigned h_nb(struct nix1sim_exec *x) { return cfg_change(x, ap_nb); }
static unsigned h_nc(struct nix1sim_exec *x) { return cfg_change(x, ap_nc); }
static unsigned h_nl(struct nix1sim_exec *x) { return cfg_change(x, ap_nl); }
static unsigned h_nv(struct nix1sim_exec *x) { return cfg_change(x, ap_nv); }
static unsigned h_no(struct nix1sim_exec *x) { return cfg_change(x, ap_no); }
static unsigned h_nu(struct nix1sim_exec *x) { return cfg_change(x, ap_nu); }
static unsigned h_nh(struct nix1sim_exec *x) { return cfg_change(x, ap_nh); }
static unsigned h_dh(struct nix1sim_exec *x) { return cfg_change(x, ap_dh); }
static unsigned h_nm(struct nix1sim_exec *x) { return cfg_change(x, ap_nm); }
static unsigned h_du(struct nix1sim_exec *x) { return cfg_change(x, ap_du); }

static unsigned h_nz(struct nix1sim_exec *x)
{
    uint8_t rc = cfg_change(x, ap_nz);
    if (rc == NIX1_RC_OK) {
        x->after = NIX1SIM_AFTER_BAUD;
        x->after_baud = x->s->cfg.baudrate;
    }
    return rc;
}

static unsigned h_nt(struct nix1sim_exec *x)
{
    struct nix1_config old = x->s->cfg;
    ap_nt(x);
    uint8_t rc = nix1sim_slave_commit_config(x->s, &old);
    if (rc == NIX1_RC_OK) {
        nix1sim_slave_set_time(x->s, (int64_t)fu(&x->f[0]));
        x->s->status &= (uint8_t)~NIX1SIM_ST_CLOCK_UNSET;
    }
    return rc;
}

static unsigned h_ns(struct nix1sim_exec *x)
{
    uint64_t v = 0;
    nix1_parse_hex(x->f[0].p, x->f[0].len, 2, &v);
    x->s->status = (uint8_t)v;
    return NIX1_RC_OK;
}

static unsigned h_ds(struct nix1sim_exec *x)
{
    x->after = NIX1SIM_AFTER_RESTART;
    return NIX1_RC_OK;
}

static unsigned h_da(struct nix1sim_exec *x)
{
    struct nix1sim_slave *s = x->s;
    int rc = nix1sim_store_format(&s->store);
    if (rc != NIX1SIM_STORE_OK)
        return (uint8_t)store_rc_to_nix1(rc, NIX1_RC_ERROR_WRITE);
    s->up_active = false;
    s->up_n = s->up_received = 0;
    rc = nix1sim_slave_save_config(s);
    s->busy_until_us = loop_now_us(s->loop) + NIX1SIM_FORMAT_BUSY_MS * 1000u;
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
        nix1sim_slave_load_config(s);
    if (strcmp(name, "NEWFILE.TMP") == 0) {
        s->up_active = false;
        s->up_n = s->up_received = 0;
    }
}

static unsigned h_dg(struct nix1sim_exec *x)
{
    char name[NIX1SIM_NAME_MAX];
    if (!field_name(&x->f[0], name))
        return NIX1_RC_ERROR_PARAM;
    int rc = nix1sim_store_remove(&x->s->store, name);
    if (rc == NIX1SIM_STORE_OK && strcmp(name, "NEWFILE.TMP") == 0)
        after_file_change(x->s, name);
    return (uint8_t)store_rc_to_nix1(rc, NIX1_RC_ERROR_WRITE);
}

static unsigned h_dy(struct nix1sim_exec *x)
{
    int rc = nix1sim_store_remove(&x->s->store, "NEWFILE.TMP");
    x->s->up_active = false;
    x->s->up_n = x->s->up_received = 0;
    if (rc == NIX1SIM_STORE_NOTFOUND)
        rc = NIX1SIM_STORE_OK;
    return (uint8_t)store_rc_to_nix1(rc, NIX1_RC_ERROR_WRITE);
}

static unsigned h_ny(struct nix1sim_exec *x)
{
    struct nix1sim_slave *s = x->s;
    unsigned n = (unsigned)fu(&x->f[0]), blen = (unsigned)fu(&x->f[1]);
    uint64_t crc = 0;
    nix1_parse_hex(x->f[2].p, x->f[2].len, 4, &crc);
    const struct nix1_span *hb = &x->f[3];
    if (hb->len != 2u * blen)
        return NIX1_RC_ERROR_RXDATA;
    unsigned char block[128];
    if (hex_decode(hb->p, blen, block) != 0)
        return NIX1_RC_ERROR_RXDATA;
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

static unsigned h_ng(struct nix1sim_exec *x)
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

static unsigned h_ni(struct nix1sim_exec *x)
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

static unsigned h_nn(struct nix1sim_exec *x)
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
    s->busy_until_us = loop_now_us(s->loop) + NIX1SIM_FLASH_TRY_MS * 1000u;
    loop_timer_arm_ms(s->loop, &s->flash_timer, NIX1SIM_FLASH_TRY_MS);
    return NIX1_RC_OK;
}

static unsigned h_qp(struct nix1sim_exec *x)
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

static unsigned h_qg(struct nix1sim_exec *x)
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
    size_t pos = 0, count = 0, ll;
    const char *ln;
    while ((limit == 0 || count < limit) && nix1sim_rec_next(d, n, &pos, &ln, &ll)) {
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
    while ((limit == 0 || count < limit) && nix1sim_rec_next(d, n, &pos, &ln, &ll)) {
        memcpy(line, ln, ll);
        line[ll] = '\0';
        nix1sim_slave_queue_reply(s, NIX1_RC_OK, x->cmd, x->arg, line);
        count++;
    }
    free(line);
    free(d);
    char cnt[24];
    snprintf(cnt, sizeof cnt, "%zu", count);
    nix1sim_slave_queue_reply(s, NIX1_RC_EOT, x->cmd, x->arg, cnt);
    return NIX1SIM_RC_STREAMED;
}

static unsigned h_qi(struct nix1sim_exec *x)
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
        nix1sim_slave_queue_reply(x->s, NIX1_RC_OK, x->cmd, x->arg, l);
    }
    free(names);
    free(sizes);
    char c[16];
    snprintf(c, sizeof c, "%d", cnt);
    nix1sim_slave_queue_reply(x->s, NIX1_RC_EOT, x->cmd, x->arg, c);
    x->touched += (size_t)cnt * 32u;
    return NIX1SIM_RC_STREAMED;
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

static unsigned h_nk(struct nix1sim_exec *x)
{
    char key[80], line[112];
    span_str(&x->f[1], key, sizeof key);
    unsigned long long ts = (unsigned long long)fu(&x->f[0]);
    snprintf(line, sizeof line, "%llu\t%s", ts, key);
    int rc = nix1sim_rec_key_insert(&x->s->store, ts, line);
    return (uint8_t)store_rc_to_nix1(rc, NIX1_RC_ERROR_WRITE);
}

static unsigned h_dk(struct nix1sim_exec *x)
{
    int rc = x->zero ? nix1sim_store_remove(&x->s->store, "KEYS.TXT")
                     : nix1sim_rec_key_delete(&x->s->store, (unsigned long long)fu(&x->f[0]));
    return (uint8_t)store_rc_to_nix1(rc, NIX1_RC_ERROR_WRITE);
}

static unsigned h_qk(struct nix1sim_exec *x)
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

static unsigned h_nx(struct nix1sim_exec *x)
{
    char file[NIX1SIM_NAME_MAX], uid[NIX1_LINE_MAX], line[NIX1_LINE_MAX + 40];
    users_file(&x->f[0], file);
    span_str(&x->f[0], uid, sizeof uid);
    snprintf(line, sizeof line, "%s\t%llu\t%llu", uid, (unsigned long long)fu(&x->f[1]),
             (unsigned long long)fu(&x->f[2]));
    int rc = nix1sim_rec_put(&x->s->store, file, uid, line);
    return (uint8_t)store_rc_to_nix1(rc, NIX1_RC_ERROR_WRITE);
}

static unsigned h_dx(struct nix1sim_exec *x)
{
    if (x->zero)
        return (uint8_t)store_rc_to_nix1(remove_matching(&x->s->store, is_users), NIX1_RC_ERROR_WRITE);
    char file[NIX1SIM_NAME_MAX], uid[NIX1_LINE_MAX];
    users_file(&x->f[0], file);
    span_str(&x->f[0], uid, sizeof uid);
    return (uint8_t)store_rc_to_nix1(nix1sim_rec_del(&x->s->store, file, uid), NIX1_RC_ERROR_WRITE);
}

static unsigned h_qx(struct nix1sim_exec *x)
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

static unsigned h_nr(struct nix1sim_exec *x)
{
    char file[NIX1SIM_NAME_MAX], uid[NIX1_LINE_MAX], cron[CRON_TEXT_MAX + 1], line[NIX1_LINE_MAX + CRON_TEXT_MAX + 8];
    rights_file(&x->f[0], (unsigned)fu(&x->f[1]), file);
    span_str(&x->f[0], uid, sizeof uid);
    span_str(&x->f[2], cron, sizeof cron);
    snprintf(line, sizeof line, "%s\t%s", uid, cron);
    return (uint8_t)store_rc_to_nix1(nix1sim_rec_put(&x->s->store, file, uid, line), NIX1_RC_ERROR_WRITE);
}

static unsigned h_dr(struct nix1sim_exec *x)
{
    if (x->zero)
        return (uint8_t)store_rc_to_nix1(remove_matching(&x->s->store, is_rights), NIX1_RC_ERROR_WRITE);
    char file[NIX1SIM_NAME_MAX], uid[NIX1_LINE_MAX];
    rights_file(&x->f[0], (unsigned)fu(&x->f[1]), file);
    span_str(&x->f[0], uid, sizeof uid);
    return (uint8_t)store_rc_to_nix1(nix1sim_rec_del(&x->s->store, file, uid), NIX1_RC_ERROR_WRITE);
}

static unsigned h_qr(struct nix1sim_exec *x)
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

/* Moves the access log's read position to line of day doy, kept in the slave's configuration: its commit's code. */
static uint8_t log_position(struct nix1sim_slave *s, unsigned doy, unsigned line)
{
    struct nix1_config old = s->cfg;
    s->cfg.has_log_position = true;
    s->cfg.log_doy = doy;
    s->cfg.log_line = line;
    return nix1sim_slave_commit_config(s, &old);
}

static unsigned h_ne(struct nix1sim_exec *x)
{
    struct nix1sim_slave *s = x->s;
    if (!nix1sim_slave_clock_valid(s))
        return NIX1_RC_ERROR_DAY_OF_YEAR;
    unsigned today = nix1sim_slave_doy(s);
    int l = nix1sim_slave_access_lines(s, today);
    if (l < 0)
        return -l == NIX1SIM_STORE_NOCARD ? NIX1_RC_ERROR_SDCARDNOTFOUND : NIX1_RC_ERROR_LOG;
    unsigned k = (unsigned)fu(&x->f[0]);
    uint8_t rc = log_position(s, today, (unsigned)l > k ? (unsigned)l - k : 0);
    if (rc == NIX1_RC_OK)
        set_payload(x, "%d", l);
    return rc;
}

static unsigned h_qe(struct nix1sim_exec *x)
{
    struct nix1sim_slave *s = x->s;
    if (!nix1sim_slave_clock_valid(s))
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
            size_t pos = 0, ll;
            const char *ln;
            unsigned idx = 0;
            while (nix1sim_rec_next(data, n, &pos, &ln, &ll)) {
                if (idx++ < line)
                    continue;
                uint8_t wrc = log_position(s, d, idx);
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
    if (!s->cfg.has_log_position || s->cfg.log_doy != today)
        log_position(s, today, 0);
    return NIX1_RC_EOT;
}

/* ---- plain queries ---- */

static unsigned h_qb(struct nix1sim_exec *x) { set_payload(x, "%u", x->s->cfg.bad_access_timeout); return 0; }
static unsigned h_qc(struct nix1sim_exec *x) { set_payload(x, "%u", x->s->cfg.valid_access_timeout); return 0; }
static unsigned h_qh(struct nix1sim_exec *x)
{
    if (!x->s->cfg.has_cron)
        return NIX1_RC_ERROR_SYNTAX;
    set_payload(x, "%s", x->s->cfg.cron);
    return 0;
}
static unsigned h_ql(struct nix1sim_exec *x) { set_payload(x, "%d", x->s->cfg.lock[probe_idx(&x->f[0])]); return 0; }
static unsigned h_qm(struct nix1sim_exec *x)
{
    set_payload(x, "%u", nix1_config_mode(&x->s->cfg));
    return 0;
}
static unsigned h_qn(struct nix1sim_exec *x) { set_payload(x, "%s", NIX1SIM_VERSION); return 0; }
static unsigned h_qo(struct nix1sim_exec *x) { set_payload(x, "%u", x->s->cfg.cron_mode); return 0; }
static unsigned h_qs(struct nix1sim_exec *x) { set_payload(x, "%02X", nix1sim_slave_general_status(x->s)); return 0; }
static unsigned h_qt(struct nix1sim_exec *x)
{
    char tz[6];
    set_payload(x, "%lld\t%s", (long long)nix1sim_slave_time(x->s), nix1_format_tz(x->s->cfg.timezone, tz));
    return 0;
}
static unsigned h_qu(struct nix1sim_exec *x)
{
    int u = nix1sim_slave_unit(x->s, (unsigned)fu(&x->f[0]));
    if (u < 0)
        return NIX1_RC_ERROR_UNIT;
    set_payload(x, "%d", u);
    return 0;
}
static unsigned h_qv(struct nix1sim_exec *x)
{
    if (x->nf == 1)
        set_payload(x, "%d", x->s->cfg.od_speed[probe_idx(&x->f[0])]);
    else
        set_payload(x, "%d\t%d", x->s->cfg.od_speed[0], x->s->cfg.od_speed[1]);
    return 0;
}

/* ---- dispatch ---- */

static const struct nix1sim_handler handlers[] = {
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

const struct nix1sim_handler *nix1sim_exec_find(char cmd, char arg)
{
    for (size_t i = 0; i < sizeof handlers / sizeof handlers[0]; i++)
        if (handlers[i].cmd == cmd && handlers[i].arg == arg)
            return &handlers[i];
    return NULL;
}
