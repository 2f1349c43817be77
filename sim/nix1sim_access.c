#include "sim/nix1sim_access.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/cron.h"
#include "core/crc.h"
#include "drivers/nix1/nix1_files.h"
#include "drivers/nix1/nix1_rc.h"
#include "sim/nix1sim_rec.h"

#define DOOR_TICK_MS 1000u

/* iButton families with memory that can hold a credential (§5.11 step 3). */
static bool memory_family(uint8_t f)
{
    return f == 0x08 || f == 0x0C || f == 0x14 || f == 0x23 || f == 0x33 || f == 0x37;
}

void nix1sim_ibutton_init(struct nix1sim_ibutton *b, const char *uid)
{
    memset(b, 0, sizeof *b);
    snprintf(b->uid, sizeof b->uid, "%s", uid ? uid : "");
    b->valid = b->readable = b->od = true;
    /* A stable ROM per uid: family 0x0C (DS1996 memory iButton), serial from a CRC of the uid. */
    uint8_t serial[6];
    uint16_t c1 = crc16_arc(b->uid, strlen(b->uid));
    uint16_t c2 = crc16_arc_update(0x5A5A, b->uid, strlen(b->uid));
    serial[0] = (uint8_t)c1;
    serial[1] = (uint8_t)(c1 >> 8);
    serial[2] = (uint8_t)c2;
    serial[3] = (uint8_t)(c2 >> 8);
    serial[4] = (uint8_t)strlen(b->uid);
    serial[5] = 0;
    nix1_addr_make(&b->rom, 0x0C, serial);
}

static int read_file(struct nix1sim_slave *s, const char *name, char **d, size_t *n)
{
    return nix1sim_store_read(&s->store, name, d, n);
}

static bool load_keys(struct nix1sim_slave *s, struct nix1_keys *k)
{
    char *d;
    size_t n;
    memset(k, 0, sizeof *k);
    if (read_file(s, "KEYS.TXT", &d, &n) != NIX1SIM_STORE_OK)
        return false;
    struct nix1_diag diag = { 0 };
    int rc = nix1_files_read_keys("KEYS.TXT", d, n, k, &diag);
    nix1_diag_free(&diag);
    free(d);
    return rc >= 0;
}

/* The user's record from USERS.<C>; false if absent. */
static bool find_user(struct nix1sim_slave *s, const char *uid, struct nix1_user_entry *out)
{
    char letter = nix1_uid_letter(uid), name[NIX1SIM_NAME_MAX], *d;
    size_t n;
    if (!letter)
        return false;
    snprintf(name, sizeof name, "USERS.%c", letter);
    if (read_file(s, name, &d, &n) != NIX1SIM_STORE_OK)
        return false;
    struct nix1_users u = { 0 };
    struct nix1_diag diag = { 0 };
    nix1_files_read_users(name, d, n, &u, &diag);
    nix1_diag_free(&diag);
    free(d);
    bool found = false;
    for (size_t i = 0; i < u.n; i++) {
        if (strcmp(u.v[i].uid, uid) == 0) {
            *out = u.v[i];
            found = true;
            break;
        }
    }
    nix1_users_free(&u);
    return found;
}

/* The user's right on unit: its cron text into cron; false if none. */
static bool find_right(struct nix1sim_slave *s, const char *uid, uint32_t unit, char *cron, size_t cap)
{
    char letter = nix1_uid_letter(uid), name[32], *d;
    size_t n;
    if (!letter)
        return false;
    snprintf(name, sizeof name, "%uU.%c", (unsigned)unit, letter);
    if (read_file(s, name, &d, &n) != NIX1SIM_STORE_OK)
        return false;
    struct nix1_rights r = { 0 };
    struct nix1_diag diag = { 0 };
    nix1_files_read_unit_rights(name, unit, d, n, &r, &diag);
    nix1_diag_free(&diag);
    free(d);
    bool found = false;
    for (size_t i = 0; i < r.n; i++) {
        if (strcmp(r.v[i].uid, uid) == 0) {
            snprintf(cron, cap, "%s", r.v[i].cron);
            found = true;
            break;
        }
    }
    nix1_rights_free(&r);
    return found;
}

bool nix1sim_access_window(struct nix1sim_slave *s)
{
    struct cron c;
    if (!s->cfg.has_cron || cron_parse_str(s->cfg.cron, &c, NULL, 0) != 0)
        return false;
    return cron_match(&c, (time_t)nix1sim_slave_time(s), s->cfg.timezone);
}

bool nix1sim_access_unlocked(struct nix1sim_slave *s, unsigned probe)
{
    if (probe < 1 || probe > 2 || s->cfg.lock[probe - 1])
        return false;
    struct nix1sim_door *d = &s->door[probe - 1];
    if (loop_now_us(s->loop) < d->relay_until_us)
        return true;
    if (s->cfg.cron_mode == 0 || !nix1sim_access_window(s))
        return false;
    return s->cfg.cron_mode == 1 || d->window_open;
}

/* Mode 2/3: the window's end locks the door again. */
static void door_tick(loop_t *loop, void *arg)
{
    struct nix1sim_slave *s = arg;
    bool any = false;
    if (!nix1sim_access_window(s)) {
        s->door[0].window_open = s->door[1].window_open = false;
    } else {
        any = s->door[0].window_open || s->door[1].window_open;
    }
    if (any)
        loop_timer_arm_ms(loop, &s->door_timer, DOOR_TICK_MS);
}

static void drive_door(struct nix1sim_slave *s, unsigned probe)
{
    struct nix1sim_door *d = &s->door[probe - 1];
    bool window = nix1sim_access_window(s);
    unsigned mode = s->cfg.cron_mode;
    if (window && mode == 2) {
        d->window_open = true;
    } else if (window && mode == 3) {
        d->window_open = !d->window_open;
    } else if (!(window && mode == 1)) {
        d->relay_until_us = loop_now_us(s->loop) + (uint64_t)s->cfg.valid_access_timeout * 1000000u;
    }
    if (d->window_open) {
        s->door_timer.cb = door_tick;
        s->door_timer.arg = s;
        loop_timer_arm_ms(s->loop, &s->door_timer, DOOR_TICK_MS);
    }
}

int nix1sim_access_present(struct nix1sim_slave *s, unsigned probe, const struct nix1sim_ibutton *b,
                           struct nix1sim_decision *out)
{
    memset(out, 0, sizeof *out);
    if (probe < 1 || probe > 2)
        return -1;
    struct nix1sim_door *door = &s->door[probe - 1];
    uint64_t now = loop_now_us(s->loop);
    /* 1-2: ignored */
    if (!s->cfg.enable) {
        out->outcome = NIX1SIM_IGNORED_DISABLED;
        return 0;
    }
    if (now < door->ignore_until_us) {
        out->outcome = NIX1SIM_IGNORED_TIMEOUT;
        return 0;
    }
    out->outcome = NIX1SIM_DECIDED;
    int unit = nix1sim_slave_unit(s, probe);
    unsigned od = s->cfg.od_speed[probe - 1] && b->od;
    /* 3: the device itself */
    if (!b->readable || !memory_family(b->rom.b[0])) {
        out->rc = !b->readable ? NIX1_RC_ERROR_IB : NIX1_RC_ERROR_TYPE;
        out->activity = true;
        nix1sim_slave_log_record(s, true, "", unit, -1, probe, od, out->rc);
        return 0;
    }

    struct nix1_keys keys;
    bool have_keys = load_keys(s, &keys);
    struct nix1_user_entry user;
    memset(&user, 0, sizeof user);
    bool have_user = find_user(s, b->uid, &user);
    uint64_t key_ts = b->has_key_ts ? b->key_ts : have_keys && keys.n > 0 ? keys.v[0].ts : 0;
    unsigned inc = b->has_inc ? b->inc : have_user ? user.inc : 0;
    const struct nix1_key_entry *key = NULL;
    for (size_t i = 0; have_keys && i < keys.n && !key; i++)
        if (keys.v[i].ts == key_ts)
            key = &keys.v[i];
    char hash[NIX1_HASH_HEX_LEN + 1] = "00000000000000000000000000000000";
    if (b->has_hash) {
        memcpy(hash, b->hash, sizeof hash);
    } else if (key) {
        nix1_hash_compute(key->key, strlen(key->key), &b->rom, b->uid, key_ts, inc, hash);
        if (!b->valid)
            hash[0] = hash[0] == '0' ? '1' : '0';
    }

    uint8_t rc = NIX1_RC_OK;
    char cron_text[CRON_TEXT_MAX + 1];
    struct cron cr;
    if (unit < 0)
        rc = NIX1_RC_ERROR_UNIT; /* 4 */
    else if (s->cfg.lock[probe - 1])
        rc = NIX1_RC_ERROR_LOCK; /* 5 */
    else if (!key)
        rc = NIX1_RC_ERROR_KEY; /* 6 */
    else if (!nix1_hash_verify(key->key, strlen(key->key), &b->rom, b->uid, key_ts, inc, hash, strlen(hash)))
        rc = NIX1_RC_ERROR_HASH; /* 7 */
    else if (!have_user)
        rc = NIX1_RC_ERROR_USER; /* 8 */
    else if (inc != user.inc)
        rc = NIX1_RC_ERROR_CREDENTIAL; /* 9 */
    else if (key_ts < user.ts)
        rc = NIX1_RC_ERROR_TIMESTAMP; /* 10 */
    else if (!find_right(s, b->uid, (uint32_t)unit, cron_text, sizeof cron_text))
        rc = NIX1_RC_ERROR_USER; /* 11 */
    else if (cron_parse_str(cron_text, &cr, NULL, 0) != 0 ||
             !cron_match(&cr, (time_t)nix1sim_slave_time(s), s->cfg.timezone))
        rc = NIX1_RC_ERROR_SCHEDULE; /* 12 */
    out->rc = rc;

    if (rc != NIX1_RC_OK) {
        nix1sim_slave_log_record(s, false, b->uid, unit, -1, probe, od, rc);
        door->ignore_until_us = now + (uint64_t)s->cfg.bad_access_timeout * 1000000u;
        door->refused++;
        if (have_keys)
            nix1_keys_free(&keys);
        return 0;
    }
    /* 13: grant. Rewrite the credential with the newest key and record it as the user's timestamp. */
    const struct nix1_key_entry *newest = &keys.v[0];
    out->new_key_ts = newest->ts;
    nix1_hash_compute(newest->key, strlen(newest->key), &b->rom, b->uid, newest->ts, inc, out->new_hash);
    char file[NIX1SIM_NAME_MAX], line[NIX1_UID_MAX + 48];
    snprintf(file, sizeof file, "USERS.%c", nix1_uid_letter(b->uid));
    snprintf(line, sizeof line, "%s\t%llu\t%u", b->uid, (unsigned long long)newest->ts, user.inc);
    nix1sim_rec_put(&s->store, file, b->uid, line);
    nix1sim_slave_log_record(s, false, b->uid, unit, (long long)newest->ts, probe, od, NIX1_RC_OK);
    door->granted++;
    drive_door(s, probe);
    nix1_keys_free(&keys);
    return 0;
}
