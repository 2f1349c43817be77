/* Unit tests for NiX1 provisioning and key rotation: a socketpair plays the RS-485 line, scripted fake
 * slaves with an in-memory µSD (Qu, Qi, Qp, Qg, uploads, record commands, Qk) answer; fake clock. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <cmocka.h>

#include "core/crc.h"
#include "core/loop.h"
#include "drivers/nix1/nix1_bus.h"
#include "drivers/nix1/nix1_files.h"
#include "drivers/nix1/nix1_prov.h"
#include "drivers/nix1/nix1_rc.h"
#include "tests/unit/nix1_fake_line.h"

#define S1 "271A2100000000F3"
#define S2 "270100000000006B"
#define S3 "2702000000000032"
#define BC NIX1_ADDR_BROADCAST_STR
#define MAXFILES 16
#define NOW 1700000000ull
#define DAY 86400ull

struct ffile {
    char name[13];
    char data[4096];
    size_t len;
};

struct fslave {
    const char *addr;
    int unit[2]; /* -1 = unset */
    struct ffile files[MAXFILES];
    int nfiles;
    char up[4096]; /* NEWFILE.TMP */
    size_t up_len;
    bool deaf_bcast;
    uint8_t nk_rc; /* answer to a unicast Nk (0 = store it) */
};

struct fx {
    struct fake_line line;
    struct fslave sl[3];
    int nsl;
    char dir[64];
    bool done;
    struct nix1_prov_report rep;
};

/* ---- the fake µSD ---- */

static struct ffile *ffind(struct fslave *s, const char *name)
{
    for (int i = 0; i < s->nfiles; i++)
        if (strcasecmp(s->files[i].name, name) == 0)
            return &s->files[i];
    return NULL;
}

static void fput(struct fslave *s, const char *name, const char *data, size_t len)
{
    struct ffile *ff = ffind(s, name);
    if (!ff) {
        assert_true(s->nfiles < MAXFILES);
        ff = &s->files[s->nfiles++];
        snprintf(ff->name, sizeof ff->name, "%s", name);
        for (char *c = ff->name; *c; c++)
            if (*c >= 'a' && *c <= 'z')
                *c = (char)(*c - 32);
    }
    assert_true(len <= sizeof ff->data);
    memcpy(ff->data, data, len);
    ff->len = len;
}

static void fdel(struct fslave *s, const char *name)
{
    struct ffile *ff = ffind(s, name);
    if (ff)
        *ff = s->files[--s->nfiles];
}

/* Remove the lines whose first field (up to the first TAB) is key; returns how many. */
static int drop_key(struct ffile *ff, const char *key)
{
    char out[4096];
    size_t o = 0;
    int n = 0;
    size_t klen = strlen(key);
    for (size_t p = 0; p < ff->len;) {
        const char *ln = ff->data + p;
        const char *nl = memchr(ln, '\n', ff->len - p);
        size_t l = nl ? (size_t)(nl - ln) + 1 : ff->len - p;
        if (l > klen && memcmp(ln, key, klen) == 0 && ln[klen] == '\t') {
            n++;
        } else {
            memcpy(out + o, ln, l);
            o += l;
        }
        p += l;
    }
    memcpy(ff->data, out, o);
    ff->len = o;
    return n;
}

static void rec_file_name(char *name, size_t cap, const char *uid, const char *unit)
{
    char c = uid[0] >= 'a' && uid[0] <= 'z' ? (char)(uid[0] - 32) : uid[0];
    if (unit)
        snprintf(name, cap, "%.8sU.%c", unit, c);
    else
        snprintf(name, cap, "USERS.%c", c);
}

/* Split opt at TABs into at most 3 fields (copied). */
static int fields(const char *opt, char f[3][300])
{
    int n = 0;
    const char *p = opt;
    while (n < 3) {
        const char *t = n < 2 ? strchr(p, '\t') : NULL;
        size_t l = t ? (size_t)(t - p) : strlen(p);
        snprintf(f[n++], 300, "%.*s", (int)l, p);
        if (!t)
            break;
        p = t + 1;
    }
    return n;
}

/* Record and key commands (also from a broadcast). Returns the rc. */
static int records(struct fslave *s, char cmd, char arg, const char *opt)
{
    char f[3][300], name[32];
    int nf = fields(opt, f);
    char line[1000];
    if (cmd == 'N' && arg == 'k' && nf == 2) {
        struct ffile *ff = ffind(s, "KEYS.TXT");
        char data[4096];
        size_t o = 0;
        bool placed = false;
        unsigned long long ts = strtoull(f[0], NULL, 10);
        for (size_t p = 0; ff && p < ff->len;) {
            const char *ln = ff->data + p;
            const char *nl = memchr(ln, '\n', ff->len - p);
            size_t l = (size_t)(nl - ln) + 1;
            if (!placed && strtoull(ln, NULL, 10) <= ts) {
                o += (size_t)snprintf(data + o, sizeof data - o, "%s\t%s\n", f[0], f[1]);
                placed = true;
            }
            memcpy(data + o, ln, l);
            o += l;
            p += l;
        }
        if (!placed)
            o += (size_t)snprintf(data + o, sizeof data - o, "%s\t%s\n", f[0], f[1]);
        fput(s, "KEYS.TXT", data, o);
        return 0;
    }
    if (cmd == 'D' && arg == 'k') {
        struct ffile *ff = ffind(s, "KEYS.TXT");
        return ff && drop_key(ff, f[0]) > 0 ? 0 : 0x4E;
    }
    if (cmd == 'N' && arg == 'x' && nf == 3) {
        rec_file_name(name, sizeof name, f[0], NULL);
        struct ffile *ff = ffind(s, name);
        if (ff)
            drop_key(ff, f[0]);
        snprintf(line, sizeof line, "%s\t%s\t%s\n", f[0], f[1], f[2]);
        char data[4096];
        size_t o = ff ? ff->len : 0;
        if (ff)
            memcpy(data, ff->data, o);
        memcpy(data + o, line, strlen(line));
        fput(s, name, data, o + strlen(line));
        return 0;
    }
    if (cmd == 'D' && arg == 'x') {
        rec_file_name(name, sizeof name, f[0], NULL);
        struct ffile *ff = ffind(s, name);
        return ff && drop_key(ff, f[0]) > 0 ? 0 : 0x4E;
    }
    if (cmd == 'N' && arg == 'r' && nf == 3) {
        rec_file_name(name, sizeof name, f[0], f[1]);
        struct ffile *ff = ffind(s, name);
        if (ff)
            drop_key(ff, f[0]);
        snprintf(line, sizeof line, "%s\t%s\n", f[0], f[2]);
        char data[4096];
        size_t o = ff ? ff->len : 0;
        if (ff)
            memcpy(data, ff->data, o);
        memcpy(data + o, line, strlen(line));
        fput(s, name, data, o + strlen(line));
        return 0;
    }
    if (cmd == 'D' && arg == 'r' && nf == 2) {
        rec_file_name(name, sizeof name, f[0], f[1]);
        struct ffile *ff = ffind(s, name);
        return ff && drop_key(ff, f[0]) > 0 ? 0 : 0x4E;
    }
    return 0x41;
}

static int hexval(char c)
{
    return c >= '0' && c <= '9' ? c - '0' : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

/* The scripted slaves answer a request (fake_line_answer_fn). */
static void slave_answer(void *ctx, const char *req)
{
    struct fx *f = ctx;
    char cmd = req[16], arg = req[17];
    const char *opt = req + 18;
    if (strncmp(req, BC, 16) == 0) {
        for (int i = 0; i < f->nsl; i++)
            if (!f->sl[i].deaf_bcast)
                records(&f->sl[i], cmd, arg, opt);
        return;
    }
    struct fslave *s = NULL;
    for (int i = 0; i < f->nsl; i++)
        if (strncmp(f->sl[i].addr, req, 16) == 0)
            s = &f->sl[i];
    if (!s)
        return;
    const char *A = s->addr;
    if (cmd == 'Q' && arg == 'u') {
        int u = s->unit[opt[0] == '2'];
        if (u < 0)
            fake_line_say(&f->line, "%s76Qu", A);
        else
            fake_line_say(&f->line, "%s00Qu\t%d", A, u);
    } else if (cmd == 'Q' && arg == 'i') {
        int n = 0;
        for (int i = 0; i < s->nfiles; i++) {
            const char *dot = strchr(s->files[i].name, '.');
            if (dot && strcasecmp(dot + 1, opt) == 0) {
                fake_line_say(&f->line, "%s00Qi\t%s\t%zu", A, s->files[i].name, s->files[i].len);
                n++;
            }
        }
        fake_line_say(&f->line, "%s04Qi\t%d", A, n);
    } else if (cmd == 'Q' && arg == 'p') {
        struct ffile *ff = ffind(s, opt);
        if (ff)
            fake_line_say(&f->line, "%s00Qp\t%04X\t%zu", A, crc16_arc(ff->data, ff->len), ff->len);
        else
            fake_line_say(&f->line, "%s4EQp", A);
    } else if (cmd == 'Q' && arg == 'g') {
        char name[32];
        snprintf(name, sizeof name, "%.*s", (int)strcspn(opt, "\t"), opt);
        struct ffile *ff = ffind(s, name);
        if (!ff) {
            fake_line_say(&f->line, "%s4EQg", A);
            return;
        }
        int n = 0;
        for (size_t p = 0; p < ff->len;) {
            const char *ln = ff->data + p;
            const char *nl = memchr(ln, '\n', ff->len - p);
            size_t l = nl ? (size_t)(nl - ln) : ff->len - p;
            fake_line_say(&f->line, "%s00Qg\t%.*s", A, (int)l, ln);
            n++;
            p += l + 1;
        }
        fake_line_say(&f->line, "%s04Qg\t%d", A, n);
    } else if (cmd == 'Q' && arg == 'k') {
        struct ffile *ff = ffind(s, "KEYS.TXT");
        if (!ff || ff->len == 0)
            fake_line_say(&f->line, "%s4BQk", A);
        else
            fake_line_say(&f->line, "%s00Qk\t%.*s", A, (int)strcspn(ff->data, "\n"), ff->data);
    } else if (cmd == 'D' && arg == 'y') {
        s->up_len = 0;
        fake_line_say(&f->line, "%s00Dy", A);
    } else if (cmd == 'N' && arg == 'y') {
        unsigned n = 0, len = 0, crc = 0;
        char hex[300] = "";
        assert_int_equal(sscanf(opt, "%u\t%u\t%4X\t%299s", &n, &len, &crc, hex), 4);
        for (unsigned i = 0; i < len; i++)
            s->up[s->up_len++] = (char)(hexval(hex[2 * i]) << 4 | hexval(hex[2 * i + 1]));
        fake_line_say(&f->line, "%s06Ny\t1\t%u", A, n);
    } else if (cmd == 'N' && arg == 'g') {
        char name[32];
        snprintf(name, sizeof name, "%.*s", (int)strcspn(opt, "\t"), opt);
        fput(s, name, s->up, s->up_len);
        fake_line_say(&f->line, "%s00Ng", A);
    } else if (cmd == 'D' && arg == 'g') {
        if (ffind(s, opt)) {
            fdel(s, opt);
            fake_line_say(&f->line, "%s00Dg", A);
        } else {
            fake_line_say(&f->line, "%s4EDg", A);
        }
    } else if (cmd == 'N' && arg == 'k' && s->nk_rc) {
        fake_line_say(&f->line, "%s%02XNk", A, s->nk_rc);
    } else {
        int rc = records(s, cmd, arg, opt);
        fake_line_say(&f->line, "%s%02X%c%c", A, rc, cmd, arg);
    }
}

static void serve(struct fx *f, uint64_t max_us)
{
    fake_line_serve(&f->line, slave_answer, f, &f->done, max_us);
}

static void on_prov(void *arg, const struct nix1_prov_report *r)
{
    struct fx *f = arg;
    assert_false(f->done);
    f->done = true;
    f->rep = *r;
}

/* ---- server files ---- */

static const char KEYS[] = "1350028169\t[Z}4V;qr$(/Kc_aiF7#K8tATNC\n1349094539\tIdRPKslg\\?/\n";
static const char USERS[] = "Arthur Dent\t1350028169\t3\nalice\t0\t0\nAnna\t1349094539\t1\nbob\t0\t2\n";
static const char CRON[] = "1\tArthur Dent\t* 8-17 * * *\n1\tAnna\t* * * * *\n2\talice\t* 7-19 * 1-8 1,4-5\n"
                           "3\tbob\t* * * * *\n";

static void write_file(const char *dir, const char *name, const char *text)
{
    char path[128];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *fp = fopen(path, "wb");
    assert_non_null(fp);
    assert_int_equal(fwrite(text, 1, strlen(text), fp), strlen(text));
    fclose(fp);
}

static char *read_text(const char *dir, const char *name)
{
    char path[128];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *fp = fopen(path, "rb");
    assert_non_null(fp);
    char *buf = calloc(1, 8192);
    size_t n = fread(buf, 1, 8191, fp);
    buf[n] = 0;
    fclose(fp);
    return buf;
}

static struct fx *fx_new(void)
{
    struct fx *f = calloc(1, sizeof *f);
    fake_line_open(&f->line);
    snprintf(f->dir, sizeof f->dir, "/tmp/portier-prov.XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    write_file(f->dir, "keys.txt", KEYS);
    write_file(f->dir, "users.txt", USERS);
    write_file(f->dir, "cron.txt", CRON);
    static const char *const addrs[] = { S1, S2, S3 };
    for (int i = 0; i < 3; i++) {
        f->sl[i].addr = addrs[i];
        f->sl[i].unit[0] = 2 * i + 1;
        f->sl[i].unit[1] = 2 * i + 2;
    }
    f->nsl = 3;
    fake_line_pump(&f->line);
    return f;
}

static void fx_free(struct fx *f)
{
    fake_line_close(&f->line);
    static const char *const names[] = { "keys.txt", "users.txt", "cron.txt", "units.txt" };
    for (int i = 0; i < 4; i++) {
        char path[128];
        snprintf(path, sizeof path, "%s/%s", f->dir, names[i]);
        unlink(path);
    }
    rmdir(f->dir);
    free(f);
}

/* What the generator says slave s should hold, written onto its fake card. */
static void provision_card(struct fx *f, struct fslave *s)
{
    struct nix1_keys k = { 0 };
    struct nix1_users u = { 0 };
    struct nix1_rights r = { 0 };
    struct nix1_diag d = { 0 };
    assert_int_equal(nix1_files_read_keys("keys.txt", KEYS, strlen(KEYS), &k, &d), 0);
    assert_int_equal(nix1_files_read_users("users.txt", USERS, strlen(USERS), &u, &d), 0);
    assert_int_equal(nix1_files_read_cron("cron.txt", CRON, strlen(CRON), &r, &d), 0);
    uint32_t units[2];
    size_t nu = 0;
    for (int i = 0; i < 2; i++)
        if (s->unit[i] >= 0)
            units[nu++] = (uint32_t)s->unit[i];
    struct nix1_genset g = { 0 };
    assert_int_equal(nix1_files_generate(&k, &u, &r, units, nu, false, &g), 0);
    assert_true(g.n >= 3);
    for (size_t i = 0; i < g.n; i++)
        fput(s, g.v[i].name, g.v[i].data, g.v[i].len);
    nix1_genset_free(&g);
    nix1_keys_free(&k);
    nix1_users_free(&u);
    nix1_rights_free(&r);
    nix1_diag_free(&d);
    (void)f;
}

static bool has(const struct ffile *ff, const char *text)
{
    return ff && memmem(ff->data, ff->len, text, strlen(text)) != NULL;
}

static int count_changes(const struct fx *f)
{
    int n = 0;
    for (int i = 0; i < f->line.nlog; i++)
        n += f->line.log[i][16] == 'N' || f->line.log[i][16] == 'D';
    return n;
}

static nix1_addr_t A(const char *s) { return fake_line_addr(s); }

static void provision(struct fx *f, const char *const *slaves, size_t n)
{
    nix1_addr_t v[3];
    for (size_t i = 0; i < n; i++)
        v[i] = A(slaves[i]);
    char err[200];
    f->done = false;
    f->line.nlog = 0;
    struct nix1_prov *p = nix1_prov_start(f->line.bus, f->dir, v, n, NULL, on_prov, f, err, sizeof err);
    assert_non_null(p);
    serve(f, 600000000);
    assert_true(f->done);
    nix1_prov_free(p);
}

/* Provisioning of S1 alone, run to its end. */
static void provision_s1(struct fx *f)
{
    static const char *const v[] = { S1 };
    provision(f, v, 1);
}

/* A new fixture whose first slave's card holds what the generator says it should (provision_card). */
static struct fx *fx_with_card(void)
{
    struct fx *f = fx_new();
    provision_card(f, &f->sl[0]);
    return f;
}

/* A key rotation on the three slaves (keys older than max_age_s pruned) run to its end; the caller frees it. */
static struct nix1_prov *rotate(struct fx *f, uint64_t max_age_s)
{
    nix1_addr_t v[3] = { A(S1), A(S2), A(S3) };
    char err[200];
    struct nix1_prov *p =
        nix1_prov_rotate_key(f->line.bus, f->dir, NOW, max_age_s, v, 3, NULL, on_prov, f, err, sizeof err);
    assert_non_null(p);
    serve(f, 60000000);
    assert_true(f->done);
    return p;
}

/* Swap the first two lines of a file (same records, same size, another CRC). */
static void swap_first_lines(struct ffile *ff)
{
    const char *nl1 = memchr(ff->data, '\n', ff->len);
    assert_non_null(nl1);
    size_t l1 = (size_t)(nl1 - ff->data) + 1;
    const char *nl2 = memchr(nl1 + 1, '\n', ff->len - l1);
    assert_non_null(nl2);
    size_t l2 = (size_t)(nl2 - nl1);
    char tmp[4096];
    memcpy(tmp, nl1 + 1, l2);
    memcpy(tmp + l2, ff->data, l1);
    memcpy(ff->data, tmp, l1 + l2);
}

/* ---- tests ---- */

static void test_equal_pushes_nothing(void **state)
{
    (void)state;
    struct fx *f = fx_with_card();
    provision_card(f, &f->sl[1]);
    static const char *const v[] = { S1, S2 };
    provision(f, v, 2);
    assert_int_equal(f->rep.slaves, 2);
    assert_int_equal(f->rep.verified, 2);
    assert_int_equal(f->rep.changed_slaves, 0);
    assert_int_equal(f->rep.commands + f->rep.files_pushed + f->rep.deleted + f->rep.records, 0);
    assert_int_equal(f->rep.failed + f->rep.unreachable, 0);
    assert_int_equal(count_changes(f), 0); /* only queries went on the wire */
    assert_true(f->line.nlog > 0);
    fx_free(f);
}

static void test_equal_as_sets_in_another_order_pushes_nothing(void **state)
{
    (void)state;
    struct fx *f = fx_with_card();
    struct ffile *users = ffind(&f->sl[0], "USERS.A");
    assert_non_null(users);
    swap_first_lines(users);
    provision_s1(f);
    assert_int_equal(f->rep.changed_slaves, 0);
    assert_int_equal(count_changes(f), 0);
    /* the CRC differed, so the file was read and compared record by record */
    assert_true(fake_line_logged(&f->line, S1 "QgUSERS.A\t0", 0) >= 0);
    fx_free(f);
}

static void test_newer_slave_timestamp_is_kept(void **state)
{
    (void)state;
    struct fx *f = fx_with_card();
    /* Arthur read a newer key on this slave (same increment): the server's older timestamp must not
     * move it back */
    struct ffile *users = ffind(&f->sl[0], "USERS.A");
    assert_int_equal(drop_key(users, "Arthur Dent"), 1);
    static const char newer[] = "Arthur Dent\t1350099999\t3\n";
    memcpy(users->data + users->len, newer, strlen(newer));
    users->len += strlen(newer);
    provision_s1(f);
    assert_int_equal(count_changes(f), 0);
    assert_true(has(ffind(&f->sl[0], "USERS.A"), "Arthur Dent\t1350099999\t3\n"));
    fx_free(f);
}

static void test_missing_record_sent_as_record_and_verified(void **state)
{
    (void)state;
    struct fx *f = fx_with_card();
    struct ffile *users = ffind(&f->sl[0], "USERS.A");
    assert_int_equal(drop_key(users, "alice"), 1);
    provision_s1(f);
    assert_int_equal(f->rep.changed_slaves, 1);
    assert_int_equal(f->rep.commands, 1);
    assert_int_equal(f->rep.files_pushed, 0);
    assert_int_equal(count_changes(f), 1);
    int at = fake_line_logged(&f->line, S1 "Nxalice\t0\t0", 0);
    assert_true(at >= 0);
    assert_string_equal(f->line.log[at + 1], S1 "QgUSERS.A\t0"); /* verified afterwards */
    /* a second run finds it in sync */
    provision_s1(f);
    assert_int_equal(count_changes(f), 0);
    assert_int_equal(f->rep.changed_slaves, 0);
    fx_free(f);
}

static void test_unwanted_managed_file_deleted(void **state)
{
    (void)state;
    struct fx *f = fx_with_card();
    fput(&f->sl[0], "9U.B", "bob\t* * * * *\n", 14);     /* unit 9 is not served here */
    fput(&f->sl[0], "NOTES.TXT", "keep me\n", 8);         /* not managed: left alone */
    provision_s1(f);
    assert_int_equal(f->rep.deleted, 1);
    assert_int_equal(count_changes(f), 1);
    assert_null(ffind(&f->sl[0], "9U.B"));
    assert_non_null(ffind(&f->sl[0], "NOTES.TXT"));
    fx_free(f);
}

static void test_rotate_key_several_slaves(void **state)
{
    (void)state;
    struct fx *f = fx_new();
    char keys[256];
    snprintf(keys, sizeof keys, "%llu\trecentkey\n%llu\toldkey\n", NOW - 1 * DAY, NOW - 40 * DAY);
    write_file(f->dir, "keys.txt", keys);
    for (int i = 0; i < 3; i++)
        fput(&f->sl[i], "KEYS.TXT", keys, strlen(keys));
    f->sl[2].deaf_bcast = true; /* S3 misses the broadcasts */
    struct nix1_prov *p = rotate(f, 30 * DAY);
    assert_int_equal(f->rep.key_ts, NOW);
    assert_int_equal(f->rep.verified, 3);
    assert_int_equal(f->rep.failed + f->rep.unreachable, 0);
    /* keys.txt: the new key first, the recent one kept, the old one pruned */
    char *txt = read_text(f->dir, "keys.txt");
    char first[64];
    snprintf(first, sizeof first, "%llu\t", NOW);
    assert_int_equal(strncmp(txt, first, strlen(first)), 0);
    const char *nl = strchr(txt, '\n');
    assert_int_equal(nl - txt, (long)strlen(first) + 24);
    char newkey[32];
    snprintf(newkey, sizeof newkey, "%.24s", txt + strlen(first));
    assert_non_null(strstr(txt, "recentkey"));
    assert_null(strstr(txt, "oldkey"));
    /* the wire: broadcast Nk, broadcast Dk, then Qk on each slave; S3 gets a unicast Nk */
    char nk[128], dk[64];
    snprintf(nk, sizeof nk, BC "Nk%llu\t%s", NOW, newkey);
    snprintf(dk, sizeof dk, BC "Dk%llu", NOW - 40 * DAY);
    assert_string_equal(f->line.log[0], nk);
    assert_string_equal(f->line.log[1], dk);
    assert_string_equal(f->line.log[2], S1 "Qk");
    assert_string_equal(f->line.log[3], S2 "Qk");
    assert_string_equal(f->line.log[4], S3 "Qk");
    snprintf(nk, sizeof nk, S3 "Nk%llu\t%s", NOW, newkey);
    assert_string_equal(f->line.log[5], nk);
    assert_string_equal(f->line.log[f->line.nlog - 1], S3 "Qk");
    for (int i = 0; i < 3; i++) {
        struct ffile *ff = ffind(&f->sl[i], "KEYS.TXT");
        assert_int_equal(strncmp(ff->data, first, strlen(first)), 0);
        assert_true(has(ff, "recentkey"));
        /* a slave that missed the broadcast prune must not keep accepting the expired key */
        assert_false(has(ff, "oldkey"));
    }
    nix1_prov_free(p);
    free(txt);
    fx_free(f);
}

static void test_rotate_failed_unicast_does_not_skip_other_slaves(void **state)
{
    (void)state;
    struct fx *f = fx_new();
    for (int i = 0; i < 3; i++)
        fput(&f->sl[i], "KEYS.TXT", KEYS, strlen(KEYS));
    f->sl[0].deaf_bcast = true;
    f->sl[0].nk_rc = 0x57; /* its card cannot be written */
    struct nix1_prov *p = rotate(f, 3650 * DAY);
    assert_int_equal(f->rep.failed, 1);
    assert_int_equal(f->rep.verified, 2);
    assert_true(fake_line_logged(&f->line, S2 "Qk", 0) >= 0);
    assert_true(fake_line_logged(&f->line, S3 "Qk", 0) >= 0);
    nix1_prov_free(p);
    fx_free(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_equal_pushes_nothing),
        cmocka_unit_test(test_equal_as_sets_in_another_order_pushes_nothing),
        cmocka_unit_test(test_newer_slave_timestamp_is_kept),
        cmocka_unit_test(test_missing_record_sent_as_record_and_verified),
        cmocka_unit_test(test_unwanted_managed_file_deleted),
        cmocka_unit_test(test_rotate_key_several_slaves),
        cmocka_unit_test(test_rotate_failed_unicast_does_not_skip_other_slaves),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
