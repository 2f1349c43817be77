/* journal_chain: the audit trail's hash chain. Every write of an audit row (written, completed, adopted when it predates
 * the chain) appends a link: the SHA-256 of the row's content then, and the SHA-256 of the previous link's hash with
 * this link's own fields; retention appends a link saying what it removed. journal_audit_verify walks the links and
 * the rows and reports the first thing that does not hold. */
#include <openssl/evp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/grow.h"

#include "core/journal_int.h"

#define HASH_LEN 32

enum { STAGE_WRITTEN = 0, STAGE_COMPLETED = 1, STAGE_ADOPTED = 2, STAGE_RETENTION = 3 };

/* ---- hashing ---- */

static void put_field(EVP_MD_CTX *c, const void *data, size_t len)
{
    unsigned char n[8];
    for (int i = 0; i < 8; i++)
        n[i] = (unsigned char)((uint64_t)len >> (56 - 8 * i));
    EVP_DigestUpdate(c, n, sizeof n);
    EVP_DigestUpdate(c, data, len);
}

static void put_int(EVP_MD_CTX *c, int64_t v)
{
    char buf[32];
    int n = snprintf(buf, sizeof buf, "%lld", (long long)v);
    put_field(c, buf, (size_t)n);
}

static void put_text(EVP_MD_CTX *c, const unsigned char *s)
{
    put_field(c, s ? (const char *)s : "", s ? strlen((const char *)s) : 0);
}

/* SHA-256 of an audit row read by ROW_SQL (columns in the order of the table). */
#define ROW_SQL "SELECT id,time_us,user,role,action,target,params,result,detail,done_us FROM audit"

static void row_digest(sqlite3_stmt *st, unsigned char out[HASH_LEN])
{
    EVP_MD_CTX *c = EVP_MD_CTX_new();
    EVP_DigestInit_ex(c, EVP_sha256(), NULL);
    put_int(c, sqlite3_column_int64(st, 0));
    put_int(c, sqlite3_column_int64(st, 1));
    for (int i = 2; i <= 8; i++)
        put_text(c, sqlite3_column_text(st, i));
    put_int(c, sqlite3_column_int64(st, 9));
    EVP_DigestFinal_ex(c, out, NULL);
    EVP_MD_CTX_free(c);
}

static void text_digest(const char *s, unsigned char out[HASH_LEN])
{
    EVP_MD_CTX *c = EVP_MD_CTX_new();
    EVP_DigestInit_ex(c, EVP_sha256(), NULL);
    put_text(c, (const unsigned char *)s);
    EVP_DigestFinal_ex(c, out, NULL);
    EVP_MD_CTX_free(c);
}

static void link_hash(const unsigned char prev[HASH_LEN], int64_t seq, int64_t audit_id, int stage,
                      const unsigned char digest[HASH_LEN], unsigned char out[HASH_LEN])
{
    EVP_MD_CTX *c = EVP_MD_CTX_new();
    EVP_DigestInit_ex(c, EVP_sha256(), NULL);
    EVP_DigestUpdate(c, prev, HASH_LEN);
    put_int(c, seq);
    put_int(c, audit_id);
    put_int(c, stage);
    EVP_DigestUpdate(c, digest, HASH_LEN);
    EVP_DigestFinal_ex(c, out, NULL);
    EVP_MD_CTX_free(c);
}

static void hex(const unsigned char *h, char *out)
{
    static const char d[] = "0123456789abcdef";
    for (int i = 0; i < HASH_LEN; i++) {
        out[2 * i] = d[h[i] >> 4];
        out[2 * i + 1] = d[h[i] & 15];
    }
    out[2 * HASH_LEN] = '\0';
}

/* ---- appending ---- */

static int append(struct journal *j, int64_t audit_id, int stage, const unsigned char digest[HASH_LEN],
                  const char *note)
{
    sqlite3_stmt *st;
    unsigned char prev[HASH_LEN] = { 0 };
    int64_t seq = 1;
    if (sqlite3_prepare_v2(j->db, "SELECT seq, hash FROM audit_chain ORDER BY seq DESC LIMIT 1", -1, &st, NULL) !=
        SQLITE_OK)
        return -1;
    if (sqlite3_step(st) == SQLITE_ROW) {
        seq = sqlite3_column_int64(st, 0) + 1;
        if (sqlite3_column_bytes(st, 1) == HASH_LEN)
            memcpy(prev, sqlite3_column_blob(st, 1), HASH_LEN);
    }
    sqlite3_finalize(st);
    unsigned char h[HASH_LEN];
    link_hash(prev, seq, audit_id, stage, digest, h);
    if (sqlite3_prepare_v2(j->db, "INSERT INTO audit_chain(seq,audit_id,stage,digest,prev,hash,note) "
                                  "VALUES(?,?,?,?,?,?,?)", -1, &st, NULL) != SQLITE_OK)
        return -1;
    sqlite3_bind_int64(st, 1, seq);
    sqlite3_bind_int64(st, 2, audit_id);
    sqlite3_bind_int(st, 3, stage);
    sqlite3_bind_blob(st, 4, digest, HASH_LEN, SQLITE_TRANSIENT);
    sqlite3_bind_blob(st, 5, prev, HASH_LEN, SQLITE_TRANSIENT);
    sqlite3_bind_blob(st, 6, h, HASH_LEN, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 7, note ? note : "", -1, SQLITE_TRANSIENT);
    int rc = sqlite3_step(st);
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE)
        return -1;
    if (j->audit_copy && stage != STAGE_ADOPTED) {
        char hx[2 * HASH_LEN + 1];
        hex(h, hx);
        struct audit_record rec;
        memset(&rec, 0, sizeof rec);
        rec.id = audit_id;
        if (stage != STAGE_RETENTION && sqlite3_prepare_v2(j->db, ROW_SQL " WHERE id = ?", -1, &st, NULL) == SQLITE_OK) {
            sqlite3_bind_int64(st, 1, audit_id);
            if (sqlite3_step(st) == SQLITE_ROW) {
                rec.time_us = sqlite3_column_int64(st, 1);
                char *const fields[] = { rec.user, rec.role, rec.action, rec.target, rec.params, rec.result, rec.detail };
                const size_t lens[] = { sizeof rec.user, sizeof rec.role, sizeof rec.action, sizeof rec.target,
                                        sizeof rec.params, sizeof rec.result, sizeof rec.detail };
                for (int i = 0; i < 7; i++) {
                    const unsigned char *t = sqlite3_column_text(st, i + 2);
                    event_copy(fields[i], lens[i], t ? (const char *)t : "");
                }
                rec.done_us = sqlite3_column_int64(st, 9);
            }
            sqlite3_finalize(st);
        } else if (stage == STAGE_RETENTION) {
            snprintf(rec.action, sizeof rec.action, "retention");
            event_copy(rec.detail, sizeof rec.detail, note);
        }
        j->audit_copy(&rec, stage == STAGE_WRITTEN ? "written" : stage == STAGE_COMPLETED ? "completed" : "retention",
                      seq, hx, j->audit_copy_arg);
    }
    return 0;
}

/* Link a row as it is now (called in the transaction or savepoint that wrote it). */
static int link_row(struct journal *j, int64_t audit_id, int stage)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(j->db, ROW_SQL " WHERE id = ?", -1, &st, NULL) != SQLITE_OK)
        return -1;
    sqlite3_bind_int64(st, 1, audit_id);
    unsigned char d[HASH_LEN];
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        row_digest(st, d);
    sqlite3_finalize(st);
    return rc == SQLITE_ROW ? append(j, audit_id, stage, d, NULL) : -1;
}

int journal_chain_written(struct journal *j, int64_t audit_id, bool completed)
{
    if (link_row(j, audit_id, STAGE_WRITTEN) < 0)
        return -1;
    /* a row written already complete (a refusal) is sealed as complete at once */
    return completed ? link_row(j, audit_id, STAGE_COMPLETED) : 0;
}

int journal_chain_completed(struct journal *j, int64_t audit_id)
{
    return link_row(j, audit_id, STAGE_COMPLETED);
}

int journal_chain_adopt(struct journal *j)
{
    /* rows that predate the chain (or an older portier) join it once, in order */
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(j->db, "SELECT a.id FROM audit a WHERE NOT EXISTS (SELECT 1 FROM audit_chain c WHERE "
                                  "c.audit_id = a.id AND c.stage < 3) ORDER BY a.id", -1, &st, NULL) != SQLITE_OK)
        return -1;
    int64_t *ids = NULL;
    size_t n = 0, cap = 0;
    while (sqlite3_step(st) == SQLITE_ROW) {
        int64_t *p = grow_array(ids, n, &cap, sizeof *p, 64);
        if (!p)
            break;
        ids = p;
        ids[n++] = sqlite3_column_int64(st, 0);
    }
    sqlite3_finalize(st);
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0; i++)
        rc = link_row(j, ids[i], STAGE_ADOPTED);
    free(ids);
    return rc;
}

int journal_chain_retention(struct journal *j, int64_t upto_audit_id)
{
    /* links before the oldest one a remaining row (or the last retention note) needs can go: the note says so */
    sqlite3_stmt *st;
    int64_t below = 0;
    if (sqlite3_prepare_v2(j->db, "SELECT coalesce(min(seq), (SELECT coalesce(max(seq),0)+1 FROM audit_chain)) "
                                  "FROM audit_chain WHERE audit_id > ? AND stage < 3", -1, &st, NULL) != SQLITE_OK)
        return -1;
    sqlite3_bind_int64(st, 1, upto_audit_id);
    if (sqlite3_step(st) == SQLITE_ROW)
        below = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    char note[96];
    snprintf(note, sizeof note, "rows<=%lld links<%lld", (long long)upto_audit_id, (long long)below);
    unsigned char d[HASH_LEN];
    text_digest(note, d);
    if (append(j, 0, STAGE_RETENTION, d, note) < 0)
        return -1;
    if (sqlite3_prepare_v2(j->db, "DELETE FROM audit_chain WHERE seq < ?", -1, &st, NULL) != SQLITE_OK)
        return -1;
    sqlite3_bind_int64(st, 1, below);
    int rc = sqlite3_step(st);
    sqlite3_finalize(st);
    return rc == SQLITE_DONE ? 0 : -1;
}

/* ---- verifying ---- */

struct journal_verify {
    int phase;                    /* 0 links, 1 rows, 2 orphans, 3 done */
    int64_t next;                 /* the next seq (phase 0) or audit id (phase 1) */
    unsigned char prev[HASH_LEN];
    int64_t last_seq, first_seq;
    int64_t pruned_rows;          /* rows up to this id were removed by retention */
    int64_t pruned_links;         /* links below this seq were removed by retention */
    struct journal_verify_result res;
};

struct journal_verify *journal_verify_new(void)
{
    return calloc(1, sizeof(struct journal_verify));
}

void journal_verify_free(struct journal_verify *v)
{
    free(v);
}

const struct journal_verify_result *journal_verify_result(const struct journal_verify *v)
{
    return &v->res;
}

/* Keep the earliest problem (by link; problems without a link come after every link problem). */
static void problem(struct journal_verify *v, int64_t seq, int64_t audit_id, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void problem(struct journal_verify *v, int64_t seq, int64_t audit_id, const char *fmt, ...)
{
    v->res.problems++;
    int64_t key = seq ? seq : INT64_MAX;
    int64_t have = v->res.bad_seq ? v->res.bad_seq : (v->res.bad_audit_id ? INT64_MAX : 0);
    if (have && key >= have)
        return;
    v->res.bad_seq = seq;
    v->res.bad_audit_id = audit_id;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(v->res.error, sizeof v->res.error, fmt, ap);
    va_end(ap);
}

static sqlite3 *vdb(struct journal *j)
{
    return journal_query_db(j);
}

/* One page of a verification phase: sql takes the position to read from and the most rows to read. */
static sqlite3_stmt *page(struct journal *j, const char *sql, int64_t from, size_t budget)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(vdb(j), sql, -1, &st, NULL) != SQLITE_OK)
        return NULL;
    sqlite3_bind_int64(st, 1, from);
    sqlite3_bind_int64(st, 2, (sqlite3_int64)budget);
    return st;
}

/* phase 0: the links themselves, in order */
static int verify_links(struct journal *j, struct journal_verify *v, size_t budget)
{
    sqlite3_stmt *st = page(j, "SELECT seq,audit_id,stage,digest,prev,hash,note FROM audit_chain WHERE seq >= ? "
                               "ORDER BY seq LIMIT ?", v->next, budget);
    if (!st)
        return -1;
    size_t n = 0;
    while (sqlite3_step(st) == SQLITE_ROW) {
        n++;
        int64_t seq = sqlite3_column_int64(st, 0), id = sqlite3_column_int64(st, 1);
        int stage = sqlite3_column_int(st, 2);
        const unsigned char *digest = sqlite3_column_blob(st, 3), *prev = sqlite3_column_blob(st, 4),
                            *hash = sqlite3_column_blob(st, 5);
        bool sizes = sqlite3_column_bytes(st, 3) == HASH_LEN && sqlite3_column_bytes(st, 4) == HASH_LEN &&
                     sqlite3_column_bytes(st, 5) == HASH_LEN;
        v->res.links++;
        if (v->last_seq == 0) {
            v->first_seq = v->res.first_seq = seq;
            if (sizes)
                memcpy(v->prev, prev, HASH_LEN); /* the anchor: checked against the retention notes below */
        } else if (seq != v->last_seq + 1) {
            problem(v, v->last_seq + 1, 0, "audit link #%lld is missing (links #%lld to #%lld were removed)",
                    (long long)(v->last_seq + 1), (long long)(v->last_seq + 1), (long long)(seq - 1));
        }
        unsigned char h[HASH_LEN];
        if (!sizes) {
            problem(v, seq, id, "audit link #%lld is damaged", (long long)seq);
        } else {
            link_hash(prev, seq, id, stage, digest, h);
            if (memcmp(prev, v->prev, HASH_LEN) != 0)
                problem(v, seq, id, "audit link #%lld does not follow link #%lld (a link was changed or removed)",
                        (long long)seq, (long long)v->last_seq);
            else if (memcmp(h, hash, HASH_LEN) != 0)
                problem(v, seq, id, "audit link #%lld (row #%lld) was changed", (long long)seq, (long long)id);
            memcpy(v->prev, hash, HASH_LEN);
        }
        if (stage == STAGE_RETENTION) {
            const unsigned char *note = sqlite3_column_text(st, 6);
            long long rows = 0, links = 0;
            unsigned char d[HASH_LEN];
            text_digest(note ? (const char *)note : "", d);
            if (!note || sscanf((const char *)note, "rows<=%lld links<%lld", &rows, &links) != 2 ||
                (sizes && memcmp(d, digest, HASH_LEN) != 0))
                problem(v, seq, 0, "audit link #%lld (retention) was changed", (long long)seq);
            if (rows > v->pruned_rows)
                v->pruned_rows = rows;
            if (links > v->pruned_links)
                v->pruned_links = links;
        }
        v->last_seq = seq;
        v->next = seq + 1;
    }
    sqlite3_finalize(st);
    if (n < budget) {
        if (v->first_seq > 1 && v->pruned_links < v->first_seq)
            problem(v, v->first_seq - 1, 0, "audit links before #%lld are missing (no retention removed them)",
                    (long long)v->first_seq);
        v->phase = 1;
        v->next = 0;
    }
    return 0;
}

/* phase 1: every row against its latest link */
static int verify_rows(struct journal *j, struct journal_verify *v, size_t budget)
{
    sqlite3_stmt *st = page(j, ROW_SQL " WHERE id > ? ORDER BY id LIMIT ?", v->next, budget), *ln;
    if (!st)
        return -1;
    if (sqlite3_prepare_v2(vdb(j), "SELECT seq, digest FROM audit_chain WHERE audit_id = ? AND stage < 3 "
                                   "ORDER BY seq DESC LIMIT 1", -1, &ln, NULL) != SQLITE_OK) {
        sqlite3_finalize(st);
        return -1;
    }
    size_t n = 0;
    while (sqlite3_step(st) == SQLITE_ROW) {
        n++;
        int64_t id = sqlite3_column_int64(st, 0);
        v->next = id;
        v->res.rows++;
        unsigned char d[HASH_LEN];
        row_digest(st, d);
        sqlite3_reset(ln);
        sqlite3_bind_int64(ln, 1, id);
        if (sqlite3_step(ln) != SQLITE_ROW) {
            problem(v, 0, id, "audit row #%lld has no link: it was not written by portier", (long long)id);
            continue;
        }
        int64_t seq = sqlite3_column_int64(ln, 0);
        if (sqlite3_column_bytes(ln, 1) != HASH_LEN || memcmp(sqlite3_column_blob(ln, 1), d, HASH_LEN) != 0)
            problem(v, seq, id, "audit row #%lld was changed after it was written (link #%lld)", (long long)id,
                    (long long)seq);
    }
    sqlite3_finalize(ln);
    sqlite3_finalize(st);
    if (n < budget)
        v->phase = 2;
    return 0;
}

/* phase 2: links whose row is gone without a retention note saying so */
static int verify_orphans(struct journal *j, struct journal_verify *v)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(vdb(j), "SELECT c.seq, c.audit_id FROM audit_chain c LEFT JOIN audit a ON a.id = c.audit_id "
                                   "WHERE c.stage < 3 AND a.id IS NULL AND c.audit_id > ? ORDER BY c.seq LIMIT 1",
                           -1, &st, NULL) != SQLITE_OK)
        return -1;
    sqlite3_bind_int64(st, 1, v->pruned_rows);
    if (sqlite3_step(st) == SQLITE_ROW)
        problem(v, sqlite3_column_int64(st, 0), sqlite3_column_int64(st, 1),
                "audit row #%lld was deleted (link #%lld)", (long long)sqlite3_column_int64(st, 1),
                (long long)sqlite3_column_int64(st, 0));
    sqlite3_finalize(st);
    v->phase = 3;
    return 0;
}

int journal_audit_verify_step(struct journal *j, struct journal_verify *v, size_t budget)
{
    if (!vdb(j)) {
        snprintf(v->res.error, sizeof v->res.error, "the journal is not open");
        return -1;
    }
    if (budget == 0)
        budget = 1000;
    int rc = 0;
    if (v->phase == 0)
        rc = verify_links(j, v, budget);
    else if (v->phase == 1)
        rc = verify_rows(j, v, budget);
    else if (v->phase == 2)
        rc = verify_orphans(j, v);
    if (rc < 0) {
        snprintf(v->res.error, sizeof v->res.error, "reading the audit trail: %s", sqlite3_errmsg(vdb(j)));
        return -1;
    }
    if (v->phase == 3)
        v->res.ok = v->res.problems == 0;
    return v->phase == 3 ? 1 : 0;
}

int journal_audit_verify(struct journal *j, struct journal_verify_result *out)
{
    struct journal_verify *v = journal_verify_new();
    if (!v)
        return -1;
    int rc;
    while ((rc = journal_audit_verify_step(j, v, 5000)) == 0)
        ;
    *out = v->res;
    journal_verify_free(v);
    return rc < 0 ? -1 : 0;
}

void journal_set_audit_copy(struct journal *j, journal_audit_copy_fn fn, void *arg)
{
    j->audit_copy = fn;
    j->audit_copy_arg = arg;
}
