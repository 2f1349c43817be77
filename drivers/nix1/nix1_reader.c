#include "drivers/nix1/nix1_reader.h"

#include <stdio.h>
#include <string.h>

#include "drivers/nix1/nix1_access.h"
#include "drivers/nix1/nix1_files.h"
#include "drivers/nix1/nix1_line.h"
#include "drivers/nix1/nix1_rc.h"

uint64_t nix1_reader_id(const char *line, size_t len)
{
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < len; i++) {
        h ^= (unsigned char)line[i];
        h *= 1099511628211ull;
    }
    return h;
}

void nix1_reader_init(struct nix1_reader *r, bool resync)
{
    memset(r, 0, sizeof *r);
    r->phase = resync ? NIX1_RD_CONFIG : NIX1_RD_READ;
}

void nix1_reader_rewind(struct nix1_reader *r, unsigned k)
{
    r->phase = NIX1_RD_NE;
    r->blind = true;
    r->ne_k = k;
}

void nix1_reader_next(const struct nix1_reader *r, struct nix1_reader_req *q)
{
    memset(q, 0, sizeof *q);
    q->cmd = 'Q';
    switch (r->phase) {
    case NIX1_RD_READ: q->arg = 'e'; break;
    case NIX1_RD_CONFIG:
        q->arg = 'g';
        snprintf(q->opt, sizeof q->opt, "CONFIG.TXT\t0");
        break;
    case NIX1_RD_CLOCK: q->arg = 't'; break;
    case NIX1_RD_NE:
        q->cmd = 'N';
        q->arg = 'e';
        snprintf(q->opt, sizeof q->opt, "%u", (unsigned)(r->ne_k > 65534 ? 65534 : r->ne_k));
        break;
    case NIX1_RD_REREAD:
        q->arg = 'g';
        snprintf(q->opt, sizeof q->opt, "ACCESS.%u\t%u", r->cfg_doy, (unsigned)r->cfg_idx);
        break;
    }
}

static bool ring_has(const struct nix1_reader *r, uint64_t id)
{
    for (unsigned i = 0; i < r->ring_n; i++)
        if (r->ring[i] == id)
            return true;
    return false;
}

static void delivered(struct nix1_reader *r, uint64_t id)
{
    r->have_last = true;
    r->last_id = id;
    r->ring[r->ring_pos] = id;
    r->ring_pos = (r->ring_pos + 1) % NIX1_READER_RING;
    if (r->ring_n < NIX1_READER_RING)
        r->ring_n++;
}

/* The outcome for a line: dropped as read before, or a new entry. */
static void emit(struct nix1_reader *r, const char *line, size_t len, uint64_t id, bool dup,
                 struct nix1_reader_out *out)
{
    if (dup) {
        out->ev = NIX1_RD_DUP;
        return;
    }
    out->ev = NIX1_RD_ENTRY;
    out->line = line;
    out->len = len;
    delivered(r, id);
}

/* The day file of an ACCESS line: the slave's local day of its timestamp (0 when unreadable). */
static unsigned line_doy(const char *line, size_t len)
{
    struct nix1_access a;
    if (nix1_access_parse(line, len, &a, NULL, 0) != 0)
        return 0;
    int d = nix1_files_doy(a.ts, a.tz);
    return d > 0 ? (unsigned)d : 0;
}

/* A Qe line: where it was in the slave's files, and whether it was delivered before. */
static void got_line(struct nix1_reader *r, const char *line, size_t len, struct nix1_reader_out *out)
{
    uint64_t id = nix1_reader_id(line, len);
    unsigned doy = line_doy(line, len);
    if (r->pos_known && doy) {
        if (doy != r->pos_doy) { /* Qe moves from the end of one day's file to the start of the next */
            r->pos_doy = doy;
            r->pos_idx = 1;
        } else {
            r->pos_idx++;
        }
    } else if (!doy) {
        r->pos_known = false;
    }
    bool dup = false;
    if (r->skip) {
        r->skip--;
        dup = true;
    } else if (r->check_first) {
        r->check_first = false;
        dup = r->have_last && id == r->last_id;
    } else if (r->window) {
        r->window--;
        dup = ring_has(r, id); /* every line of the window is checked: an unseen one does not end it */
    }
    out->more = true;
    emit(r, line, len, id, dup, out);
}

static bool find_position(const struct nix1_result *res, unsigned *doy, uint32_t *idx)
{
    char text[2048];
    size_t k = 0;
    for (size_t i = 0; i < res->nlines && k + 2 < sizeof text; i++)
        k += (size_t)snprintf(text + k, sizeof text - k, "%s\n", res->lines[i]);
    if (k >= sizeof text)
        k = sizeof text - 1;
    struct nix1_config c;
    nix1_config_defaults(&c);
    if (nix1_files_read_config("CONFIG.TXT", text, k, &c, NULL) < 0 || !c.has_log_position || c.log_doy == 0)
        return false;
    *doy = c.log_doy;
    *idx = c.log_line;
    return true;
}

static void blind_rewind(struct nix1_reader *r)
{
    r->phase = NIX1_RD_NE;
    r->blind = true;
    r->ne_k = NIX1_READER_WINDOW;
}

/* CONFIG.TXT: where the slave is, so that the line the lost reply carried (if it moved on) is read again. */
static void got_config(struct nix1_reader *r, const struct nix1_result *res, struct nix1_reader_out *out)
{
    unsigned d;
    uint32_t i;
    out->more = true;
    if (res->rc != NIX1_RC_OK && res->rc != NIX1_RC_EOT) {
        blind_rewind(r); /* the card cannot be read: the spec's Ne window */
        return;
    }
    if (!find_position(res, &d, &i)) {
        r->phase = NIX1_RD_READ; /* no LOG_POSITION yet: Qe starts at today's first line, nothing was read */
        return;
    }
    r->cfg_doy = d;
    r->cfg_idx = i;
    if (r->pos_known && d == r->pos_doy && i == r->pos_idx) {
        r->phase = NIX1_RD_READ; /* it did not move on: nothing to read again */
        return;
    }
    if (r->pos_known && d == r->pos_doy && i == r->pos_idx + 1) {
        r->target = r->pos_idx; /* it moved on: that line was never delivered */
        r->check_first = false;
    } else if (i == 0) {
        r->pos_known = true; /* at the start of a day's file: nothing of it was read */
        r->pos_doy = d;
        r->pos_idx = 0;
        r->phase = NIX1_RD_READ;
        return;
    } else {
        r->target = i - 1; /* unknown here: the line before its position, unless it is the last one delivered */
        r->check_first = r->have_last;
    }
    r->phase = NIX1_RD_CLOCK;
}

/* Qt: Ne can only position in today's file; an older day's line is read with Qg when it is near the start. */
static void got_clock(struct nix1_reader *r, const struct nix1_result *res, struct nix1_reader_out *out)
{
    struct nix1_span f[3];
    uint64_t ts;
    int tz;
    out->more = true;
    if (res->rc != NIX1_RC_OK || nix1_fields_split(res->payload, res->payload_len, f, 2) != 2 ||
        !nix1_parse_uint(f[0].p, f[0].len, 9999999999ull, &ts) || !nix1_parse_tz(f[1].p, f[1].len, &tz)) {
        blind_rewind(r);
        return;
    }
    if ((unsigned)nix1_files_doy(ts, tz) == r->cfg_doy) {
        /* Ne k puts the reader at L - k, L = today's lines now: unknown, and maybe far more than the position
         * (lines logged while the slave was not read). A guess could move it forward past unread lines, and a
         * crash before the next Ne would lose them. So first Ne with the largest k (back to the start: always
         * safe, and its answer is L), then the k that lands on the line in doubt. */
        r->phase = NIX1_RD_NE;
        r->blind = false;
        r->probe = true;
        r->ne_k = NIX1_READER_NE_MAX;
        r->ne_tries = 0;
        return;
    }
    if (r->cfg_idx <= NIX1_READER_REREAD_MAX) {
        r->phase = NIX1_RD_REREAD;
        return;
    }
    out->ev = NIX1_RD_GAP;
    snprintf(out->text, sizeof out->text, "access entry %u of day %u %s: the log of an earlier day cannot be "
             "rewound and it is too far into the file to read again", (unsigned)r->target + 1, r->cfg_doy,
             r->check_first ? "may be lost" : "is lost");
    r->pos_known = true;
    r->pos_doy = r->cfg_doy;
    r->pos_idx = r->cfg_idx;
    r->check_first = false;
    r->phase = NIX1_RD_READ;
}

static void got_ne(struct nix1_reader *r, const struct nix1_result *res, struct nix1_reader_out *out)
{
    uint64_t lines;
    if (res->rc != NIX1_RC_OK || !nix1_parse_uint(res->payload, res->payload_len, 4294967295u, &lines)) {
        /* 61 clock, 4C, 7B: nothing can be rewound now; read on */
        out->ev = NIX1_RD_ERROR;
        out->rc = res->rc;
        r->phase = NIX1_RD_READ;
        r->blind = r->check_first = false;
        return;
    }
    uint32_t l = (uint32_t)lines, start = l > r->ne_k ? l - r->ne_k : 0;
    out->more = true;
    r->phase = NIX1_RD_READ;
    if (r->blind) {
        r->blind = false;
        r->window = l < r->ne_k ? l : r->ne_k;
        r->pos_known = false;
        r->check_first = false;
        return;
    }
    if (r->probe) {
        r->probe = false;
        if (l > r->target && l - r->target <= NIX1_READER_NE_MAX) {
            r->phase = NIX1_RD_NE;
            r->ne_k = l - r->target;
            return;
        }
        /* the file is shorter than the position said (its day began again): read it from here; the journal
         * drops what was stored */
        r->skip = 0;
        r->check_first = false;
        r->pos_known = true;
        r->pos_doy = r->cfg_doy;
        r->pos_idx = start;
        return;
    }
    if (start <= r->target) {
        r->skip = r->target - start; /* lines before the one in doubt, read before */
        r->pos_known = true;
        r->pos_doy = r->cfg_doy;
        r->pos_idx = start;
        return;
    }
    /* lines were logged between the two Ne: this one moved the reader past the line in doubt; back to the start
     * and again */
    if (++r->ne_tries < 4) {
        r->phase = NIX1_RD_NE;
        r->probe = true;
        r->ne_k = NIX1_READER_NE_MAX;
        return;
    }
    out->ev = NIX1_RD_GAP;
    snprintf(out->text, sizeof out->text, "access entries %u to %u of day %u may be lost: the slave kept logging "
             "while its reader was being positioned", (unsigned)r->target + 1, (unsigned)start, r->cfg_doy);
    r->pos_known = false;
    r->check_first = false;
}

static void got_reread(struct nix1_reader *r, const struct nix1_result *res, struct nix1_reader_out *out)
{
    out->more = true;
    r->phase = NIX1_RD_READ;
    r->pos_known = true;
    r->pos_doy = r->cfg_doy;
    r->pos_idx = r->cfg_idx;
    if ((res->rc != NIX1_RC_OK && res->rc != NIX1_RC_EOT) || res->nlines < r->cfg_idx || r->cfg_idx == 0) {
        out->ev = NIX1_RD_GAP;
        snprintf(out->text, sizeof out->text, "access entry %u of day %u %s: it could not be read again (%02X)",
                 (unsigned)r->target + 1, r->cfg_doy, r->check_first ? "may be lost" : "is lost", res->rc);
        r->check_first = false;
        return;
    }
    const char *line = res->lines[r->cfg_idx - 1];
    size_t len = strlen(line);
    uint64_t id = nix1_reader_id(line, len);
    bool dup = r->check_first && r->have_last && id == r->last_id;
    r->check_first = false;
    emit(r, line, len, id, dup, out);
}

void nix1_reader_done(struct nix1_reader *r, const struct nix1_result *res, struct nix1_reader_out *out)
{
    memset(out, 0, sizeof *out);
    if (res->status != NIX1_ST_REPLY) {
        /* Qe is not idempotent: its reply may have been lost after the slave moved on. Find out where it is.
         * Any other request of the resynchronisation is simply asked again at the next turn. */
        if (r->phase == NIX1_RD_READ) {
            r->phase = NIX1_RD_CONFIG;
            r->skip = r->window = 0;
            r->check_first = false;
        }
        return;
    }
    switch (r->phase) {
    case NIX1_RD_READ:
        if (res->rc == NIX1_RC_OK) {
            got_line(r, res->payload ? res->payload : "", res->payload ? res->payload_len : 0, out);
        } else {
            r->skip = r->window = 0;
            r->check_first = false;
            if (res->rc != NIX1_RC_EOT) {
                out->ev = NIX1_RD_ERROR;
                out->rc = res->rc;
            }
        }
        return;
    case NIX1_RD_CONFIG: got_config(r, res, out); return;
    case NIX1_RD_CLOCK: got_clock(r, res, out); return;
    case NIX1_RD_NE: got_ne(r, res, out); return;
    case NIX1_RD_REREAD: got_reread(r, res, out); return;
    }
}
