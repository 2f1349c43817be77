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

/* Appends one line and its LF to out at *o (out has room: it is sized from the file read plus the new line). */
static void emit(char *out, size_t *o, const char *ln, size_t ll)
{
    memcpy(out + *o, ln, ll);
    *o += ll;
    out[(*o)++] = '\n';
}

typedef bool rec_match(const char *ln, size_t ll, const void *arg);

/* Rebuild a file without its empty lines and without the lines match() picks. With line, line takes the place of
 * the first line picked (appended when none is). Without line: NOTFOUND when none is, and the file is removed when
 * nothing is left and drop_empty. */
static int rewrite(struct nix1sim_store *st, const char *file, rec_match *match, const void *arg, const char *line,
                   bool drop_empty)
{
    char *d = NULL;
    size_t n = 0, pos = 0, ll;
    const char *ln;
    int rc = nix1sim_store_read(st, file, &d, &n);
    if (rc == NIX1SIM_STORE_NOTFOUND) {
        if (!line)
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
        if (match(ln, ll, arg)) {
            if (line && !hit)
                emit(out, &o, line, strlen(line));
            hit = true;
            continue;
        }
        emit(out, &o, ln, ll);
    }
    free(d);
    if (line && !hit)
        emit(out, &o, line, strlen(line));
    if (!line && !hit)
        rc = NIX1SIM_STORE_NOTFOUND;
    else if (!line && o == 0 && drop_empty)
        rc = nix1sim_store_remove(st, file);
    else
        rc = nix1sim_store_write(st, file, out, o);
    free(out);
    return rc;
}

static bool key_match(const char *ln, size_t ll, const void *key)
{
    return key_is(ln, ll, key);
}

int nix1sim_rec_put(struct nix1sim_store *st, const char *file, const char *key, const char *line)
{
    return rewrite(st, file, key_match, key, line, true);
}

int nix1sim_rec_del(struct nix1sim_store *st, const char *file, const char *key)
{
    return rewrite(st, file, key_match, key, NULL, true);
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
            emit(out, &o, line, l);
            placed = true;
        }
        emit(out, &o, ln, ll);
    }
    if (!placed)
        emit(out, &o, line, l);
    free(d);
    rc = nix1sim_store_write(st, "KEYS.TXT", out, o);
    free(out);
    return rc;
}

static bool ts_match(const char *ln, size_t ll, const void *ts)
{
    unsigned long long t;
    return line_ts(ln, ll, &t) && t == *(const unsigned long long *)ts;
}

/* KEYS.TXT stays, empty, when its last entry goes (a record file is removed). */
int nix1sim_rec_key_delete(struct nix1sim_store *st, unsigned long long ts)
{
    return rewrite(st, "KEYS.TXT", ts_match, &ts, NULL, false);
}
