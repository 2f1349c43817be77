#include "sim/nix1sim_rec.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/textline.h"

int nix1sim_rec_next(const char *d, size_t n, size_t *pos, const char **ln, size_t *ll)
{
    if (!textline_next(d, n, pos, ln, ll))
        return 0;
    if (*ll > 0 && (*ln)[*ll - 1] == '\r')
        (*ll)--;
    return 1;
}

static bool key_is(const char *ln, size_t ll, const char *key)
{
    size_t kl = strlen(key);
    return ll >= kl && memcmp(ln, key, kl) == 0 && (ll == kl || ln[kl] == '\t');
}

static void copy_out(const char *ln, size_t ll, char *out, size_t cap)
{
    size_t n = ll < cap - 1 ? ll : cap - 1;
    memcpy(out, ln, n);
    out[n] = '\0';
}

/* The first record of file whose key is key (key NULL: the first non-empty line) into out. */
static int find_line(struct nix1sim_store *st, const char *file, const char *key, char *out, size_t cap)
{
    char *d;
    size_t n, pos = 0, ll;
    const char *ln;
    int rc = nix1sim_store_read(st, file, &d, &n);
    if (rc != NIX1SIM_STORE_OK)
        return rc;
    rc = NIX1SIM_STORE_NOTFOUND;
    while (nix1sim_rec_next(d, n, &pos, &ln, &ll)) {
        if (key ? key_is(ln, ll, key) : ll > 0) {
            copy_out(ln, ll, out, cap);
            rc = NIX1SIM_STORE_OK;
            break;
        }
    }
    free(d);
    return rc;
}

int nix1sim_rec_get(struct nix1sim_store *st, const char *file, const char *key, char *out, size_t cap)
{
    return find_line(st, file, key, out, cap);
}

int nix1sim_rec_first(struct nix1sim_store *st, const char *file, char *out, size_t cap)
{
    return find_line(st, file, NULL, out, cap);
}

/* Rebuild a file line by line. mode: 0 = put (replace in place or append), 1 = delete. */
static int rewrite(struct nix1sim_store *st, const char *file, const char *key, const char *line, int mode)
{
    char *d = NULL;
    size_t n = 0, pos = 0, ll;
    const char *ln;
    int rc = nix1sim_store_read(st, file, &d, &n);
    if (rc == NIX1SIM_STORE_NOTFOUND) {
        if (mode == 1)
            return rc;
    } else if (rc != NIX1SIM_STORE_OK) {
        return rc;
    }
    size_t cap = n + (line ? strlen(line) : 0) + 2, o = 0;
    char *out = malloc(cap);
    if (!out) {
        free(d);
        return NIX1SIM_STORE_IO;
    }
    bool hit = false;
    while (d && nix1sim_rec_next(d, n, &pos, &ln, &ll)) {
        if (ll == 0)
            continue;
        if (key_is(ln, ll, key)) {
            if (mode == 0 && !hit) {
                size_t l = strlen(line);
                memcpy(out + o, line, l);
                o += l;
                out[o++] = '\n';
            }
            hit = true;
            continue;
        }
        memcpy(out + o, ln, ll);
        o += ll;
        out[o++] = '\n';
    }
    free(d);
    if (mode == 0 && !hit) {
        size_t l = strlen(line);
        memcpy(out + o, line, l);
        o += l;
        out[o++] = '\n';
    }
    if (mode == 1 && !hit)
        rc = NIX1SIM_STORE_NOTFOUND;
    else if (mode == 1 && o == 0)
        rc = nix1sim_store_remove(st, file);
    else
        rc = nix1sim_store_write(st, file, out, o);
    free(out);
    return rc;
}

int nix1sim_rec_put(struct nix1sim_store *st, const char *file, const char *key, const char *line)
{
    return rewrite(st, file, key, line, 0);
}

int nix1sim_rec_del(struct nix1sim_store *st, const char *file, const char *key)
{
    return rewrite(st, file, key, NULL, 1);
}

static bool line_ts(const char *ln, size_t ll, unsigned long long *ts)
{
    unsigned long long v = 0;
    size_t i = 0;
    for (; i < ll && ln[i] >= '0' && ln[i] <= '9' && i < 20; i++)
        v = v * 10 + (unsigned long long)(ln[i] - '0');
    if (i == 0 || (i < ll && ln[i] != '\t'))
        return false;
    *ts = v;
    return true;
}

int nix1sim_rec_key_insert(struct nix1sim_store *st, unsigned long long ts, const char *line)
{
    char *d = NULL;
    size_t n = 0, pos = 0, ll;
    const char *ln;
    int rc = nix1sim_store_read(st, "KEYS.TXT", &d, &n);
    if (rc != NIX1SIM_STORE_OK && rc != NIX1SIM_STORE_NOTFOUND)
        return rc;
    size_t l = strlen(line);
    while (d && nix1sim_rec_next(d, n, &pos, &ln, &ll)) {
        if (ll == l && memcmp(ln, line, l) == 0) {
            free(d);
            return NIX1SIM_STORE_OK; /* exact duplicate */
        }
    }
    char *out = malloc(n + l + 2);
    if (!out) {
        free(d);
        return NIX1SIM_STORE_IO;
    }
    size_t o = 0;
    bool placed = false;
    pos = 0;
    while (d && nix1sim_rec_next(d, n, &pos, &ln, &ll)) {
        if (ll == 0)
            continue;
        unsigned long long t;
        /* Descending order; a new entry goes before existing entries with an equal ts. Lines that are not
         * "ts<TAB>key" keep their place. */
        if (!placed && line_ts(ln, ll, &t) && t <= ts) {
            memcpy(out + o, line, l);
            o += l;
            out[o++] = '\n';
            placed = true;
        }
        memcpy(out + o, ln, ll);
        o += ll;
        out[o++] = '\n';
    }
    if (!placed) {
        memcpy(out + o, line, l);
        o += l;
        out[o++] = '\n';
    }
    free(d);
    rc = nix1sim_store_write(st, "KEYS.TXT", out, o);
    free(out);
    return rc;
}

int nix1sim_rec_key_delete(struct nix1sim_store *st, unsigned long long ts)
{
    char *d;
    size_t n, pos = 0, ll, o = 0;
    const char *ln;
    int rc = nix1sim_store_read(st, "KEYS.TXT", &d, &n);
    if (rc != NIX1SIM_STORE_OK)
        return rc;
    char *out = malloc(n + 1);
    if (!out) {
        free(d);
        return NIX1SIM_STORE_IO;
    }
    bool hit = false;
    while (nix1sim_rec_next(d, n, &pos, &ln, &ll)) {
        unsigned long long t;
        if (ll == 0)
            continue;
        if (line_ts(ln, ll, &t) && t == ts) {
            hit = true;
            continue;
        }
        memcpy(out + o, ln, ll);
        o += ll;
        out[o++] = '\n';
    }
    free(d);
    rc = hit ? nix1sim_store_write(st, "KEYS.TXT", out, o) : NIX1SIM_STORE_NOTFOUND;
    free(out);
    return rc;
}
