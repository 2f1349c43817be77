/* Unit tests for NiX1 file transfer (spec §5.9): a socketpair plays the RS-485 line, a scripted fake slave
 * keeps the upload state (NEWFILE.TMP, received/n) and injects refusals and lost replies; fake clock. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/crc.h"
#include "core/loop.h"
#include "drivers/nix1/nix1_bus.h"
#include "drivers/nix1/nix1_rc.h"
#include "drivers/nix1/nix1_xfer.h"
#include "tests/unit/nix1_fake_line.h"

#define S1 "271A2100000000F3"

/* What the fake slave does with the k-th Ny line it receives (1-based), or with Ng. */
enum fault { F_NONE = 0, F_47, F_52, F_15, F_LOST /* acts, reply lost */, F_DEAF /* neither acts nor answers */ };

struct fx {
    struct fake_line line;
    /* fake slave */
    unsigned char tmp[8192];
    size_t tmp_len;
    unsigned n, received;
    bool temp_open;
    char fname[16];
    unsigned char file[8192];
    size_t file_len;
    bool has_file;
    enum fault ny_fault[64];
    unsigned ny_count;
    enum fault ng_fault[4];
    unsigned ng_count;
    /* result */
    bool done;
    struct nix1_xfer_result res;
};

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1; /* the master sends uppercase */
}

/* Ny<n>\t<len>\t<CRC4>\t<hex>: returns the code the slave answers (06 on success). */
static int fake_ny(struct fx *f, const char *opt)
{
    unsigned n = 0, len = 0, crc = 0;
    char hex[300];
    if (sscanf(opt, "%u\t%u\t%4X\t%299s", &n, &len, &crc, hex) != 4)
        return 0x50;
    if (strlen(hex) != 2 * (size_t)len)
        return 0x52;
    unsigned char blk[128];
    for (unsigned i = 0; i < len; i++) {
        int h = hexval(hex[2 * i]), l = hexval(hex[2 * i + 1]);
        if (h < 0 || l < 0)
            return 0x52;
        blk[i] = (unsigned char)(h << 4 | l);
    }
    if (crc16_arc(blk, len) != crc)
        return 0x47;
    if (!f->temp_open) {
        f->temp_open = true;
        f->n = n;
        f->received = 0;
        f->tmp_len = 0;
    }
    if (n != f->n || f->received >= f->n)
        return 0x51;
    memcpy(f->tmp + f->tmp_len, blk, len);
    f->tmp_len += len;
    f->received++;
    return 0x06;
}

/* The scripted slaves answer a request (fake_line_answer_fn). */
static void slave_answer(void *ctx, const char *req)
{
    struct fx *f = ctx;
    char cmd = req[16], arg = req[17];
    const char *opt = req + 18;
    assert_int_equal(strncmp(req, S1, 16), 0);
    if (cmd == 'D' && arg == 'y') {
        f->temp_open = false;
        f->received = f->n = 0;
        f->tmp_len = 0;
        fake_line_say(&f->line, S1 "00Dy");
    } else if (cmd == 'N' && arg == 'y') {
        enum fault ft = f->ny_count < 64 ? f->ny_fault[f->ny_count] : F_NONE;
        f->ny_count++;
        if (ft == F_DEAF)
            return;
        if (ft == F_47 || ft == F_52 || ft == F_15) {
            fake_line_say(&f->line, S1 "%sNy", ft == F_47 ? "47" : ft == F_52 ? "52" : "15");
            return;
        }
        int rc = fake_ny(f, opt);
        if (ft == F_LOST)
            return;
        if (rc == 0x06)
            fake_line_say(&f->line, S1 "06Ny\t%u\t%u", f->received, f->n);
        else
            fake_line_say(&f->line, S1 "%02XNy", rc);
    } else if (cmd == 'N' && arg == 'g') {
        enum fault ft = f->ng_count < 4 ? f->ng_fault[f->ng_count] : F_NONE;
        f->ng_count++;
        if (ft == F_DEAF)
            return;
        char name[16];
        unsigned crc = 0;
        int rc;
        if (sscanf(opt, "%15[^\t]\t%4X", name, &crc) != 2)
            rc = 0x50;
        else if (!f->temp_open)
            rc = 0x4E;
        else if (f->received != f->n)
            rc = 0x51;
        else if (crc16_arc(f->tmp, f->tmp_len) != crc) {
            f->temp_open = false;
            rc = 0x47;
        } else {
            snprintf(f->fname, sizeof f->fname, "%s", name);
            memcpy(f->file, f->tmp, f->tmp_len);
            f->file_len = f->tmp_len;
            f->has_file = true;
            f->temp_open = false;
            rc = 0;
        }
        if (ft != F_LOST)
            fake_line_say(&f->line, S1 "%02XNg", rc);
    } else if (cmd == 'Q' && arg == 'p') {
        if (f->has_file && strcmp(opt, f->fname) == 0)
            fake_line_say(&f->line, S1 "00Qp\t%04X\t%zu", crc16_arc(f->file, f->file_len), f->file_len);
        else
            fake_line_say(&f->line, S1 "4EQp");
    } else {
        fake_line_say(&f->line, S1 "41%c%c", cmd, arg);
    }
}

static void serve(struct fx *f, uint64_t max_us)
{
    fake_line_serve(&f->line, slave_answer, f, &f->done, max_us);
}

static void on_xfer(void *arg, const struct nix1_xfer_result *r)
{
    struct fx *f = arg;
    assert_false(f->done); /* exactly once */
    f->done = true;
    f->res = *r;
}

static struct fx *fx_new(void)
{
    struct fx *f = calloc(1, sizeof *f);
    fake_line_open(&f->line);
    fake_line_pump(&f->line);
    return f;
}

static void fx_free(struct fx *f)
{
    fake_line_close(&f->line);
    free(f);
}

static void upload(struct fx *f, const char *name, const void *data, size_t len, size_t block)
{
    nix1_addr_t a;
    assert_int_equal(nix1_addr_parse_str(S1, &a), 0);
    struct nix1_xfer_opts o = { .block = block, .verify = true, .prio = NIX1_PRIO_OPERATOR };
    char err[200];
    struct nix1_xfer *x = nix1_xfer_upload(f->line.bus, &a, name, data, len, &o, on_xfer, f, err, sizeof err);
    assert_non_null(x);
    assert_false(f->done); /* never from inside the call */
    serve(f, 120000000);
    assert_true(f->done);
}

static void fill(unsigned char *buf, size_t len)
{
    for (size_t i = 0; i < len; i++)
        buf[i] = (unsigned char)(' ' + (i * 7 + i / 13) % 90);
}

static int count_log(const struct fx *f, const char *prefix)
{
    int n = 0;
    for (int i = 0; i < f->line.nlog; i++)
        n += strncmp(f->line.log[i], prefix, strlen(prefix)) == 0;
    return n;
}

/* ---- tests ---- */

static void test_spec_worked_example(void **state)
{
    (void)state;
    struct fx *f = fx_new();
    static const char file[] = "user2\t* 7-19 * 1-8 1,4-5\n";
    upload(f, "14U.U", file, strlen(file), 0);
    assert_int_equal(f->res.ok, 1);
    assert_int_equal(f->res.crc, 0x09AF);
    assert_int_equal(f->line.nlog, 4);
    assert_string_equal(f->line.log[0], S1 "Dy");
    assert_string_equal(f->line.log[1], S1 "Ny1\t25\t09AF\t7573657232092A20372D3139202A20312D3820312C342D350A");
    assert_string_equal(f->line.log[2], S1 "Ng14U.U\t09AF");
    assert_string_equal(f->line.log[3], S1 "Qp14U.U");
    assert_int_equal(f->file_len, 25);
    assert_memory_equal(f->file, file, 25);
    fx_free(f);
}

static void test_packet_resent_on_47_52_15(void **state)
{
    (void)state;
    struct fx *f = fx_new();
    unsigned char data[300];
    fill(data, sizeof data);
    /* packet 2 (Ny lines 2, 3, 4) is refused with 47, then 52, then NAK; the fourth try is taken */
    f->ny_fault[1] = F_47;
    f->ny_fault[2] = F_52;
    f->ny_fault[3] = F_15;
    upload(f, "DATA.BIN", data, sizeof data, 0);
    assert_int_equal(f->res.ok, 1);
    assert_int_equal(f->res.resends, 3);
    assert_int_equal(f->res.restarts, 0);
    assert_int_equal(count_log(f, S1 "Dy"), 1);
    assert_int_equal(count_log(f, S1 "Ny"), 6);
    /* the same packet each time */
    assert_string_equal(f->line.log[2], f->line.log[3]);
    assert_string_equal(f->line.log[3], f->line.log[4]);
    assert_string_equal(f->line.log[4], f->line.log[5]);
    assert_true(strncmp(f->line.log[2], S1 "Ny3\t128\t", 24) == 0);
    assert_int_equal(f->file_len, sizeof data);
    assert_memory_equal(f->file, data, sizeof data);
    fx_free(f);
}

static void test_packet_refused_too_often(void **state)
{
    (void)state;
    struct fx *f = fx_new();
    unsigned char data[200];
    fill(data, sizeof data);
    for (int i = 0; i < 4; i++)
        f->ny_fault[i] = F_47;
    upload(f, "DATA.BIN", data, sizeof data, 0);
    assert_int_equal(f->res.ok, 0);
    assert_int_equal(f->res.rc, NIX1_RC_ERROR_CRC);
    assert_string_equal(f->res.step, "Ny");
    assert_int_equal(f->res.resends, NIX1_XFER_PACKET_RESENDS);
    assert_int_equal(count_log(f, S1 "Ny"), 4);
    assert_int_equal(count_log(f, S1 "Ng"), 0);
    assert_false(f->has_file);
    fx_free(f);
}

static void test_restart_on_packet_timeout(void **state)
{
    (void)state;
    struct fx *f = fx_new();
    unsigned char data[300];
    fill(data, sizeof data);
    f->ny_fault[1] = F_LOST; /* packet 2 stored, its reply lost: the slave's state is unknown to the master */
    upload(f, "DATA.BIN", data, sizeof data, 0);
    assert_int_equal(f->res.ok, 1);
    assert_int_equal(f->res.restarts, 1);
    assert_int_equal(count_log(f, S1 "Dy"), 2);
    assert_int_equal(count_log(f, S1 "Ny"), 2 + 3); /* never resent by the bus itself */
    assert_string_equal(f->line.log[3], S1 "Dy");
    assert_int_equal(f->file_len, sizeof data); /* not appended twice */
    assert_memory_equal(f->file, data, sizeof data);
    fx_free(f);
}

static void test_gives_up_after_restarts(void **state)
{
    (void)state;
    struct fx *f = fx_new();
    unsigned char data[100];
    fill(data, sizeof data);
    for (int i = 0; i < 64; i++)
        f->ny_fault[i] = F_DEAF;
    upload(f, "DATA.BIN", data, sizeof data, 0);
    assert_int_equal(f->res.ok, 0);
    assert_int_equal(f->res.status, NIX1_ST_TIMEOUT);
    assert_int_equal(f->res.restarts, NIX1_XFER_RESTARTS);
    assert_int_equal(count_log(f, S1 "Dy"), NIX1_XFER_RESTARTS + 1);
    assert_int_equal(count_log(f, S1 "Ny"), NIX1_XFER_RESTARTS + 1);
    fx_free(f);
}

static void test_ng_reply_lost_checked_with_qp(void **state)
{
    (void)state;
    struct fx *f = fx_new();
    unsigned char data[150];
    fill(data, sizeof data);
    f->ng_fault[0] = F_LOST; /* committed, reply lost */
    upload(f, "KEYS.TXT", data, sizeof data, 0);
    assert_int_equal(f->res.ok, 1);
    assert_int_equal(f->res.restarts, 0);
    assert_int_equal(count_log(f, S1 "Ng"), 1); /* Ng is never resent (a second one would answer 4E) */
    assert_int_equal(count_log(f, S1 "Qp"), 1);
    assert_string_equal(f->line.log[f->line.nlog - 1], S1 "QpKEYS.TXT");
    assert_non_null(strstr(f->res.msg, "lost commit"));
    fx_free(f);
}

static void test_ng_lost_and_not_committed_restarts(void **state)
{
    (void)state;
    struct fx *f = fx_new();
    unsigned char data[150];
    fill(data, sizeof data);
    f->ng_fault[0] = F_DEAF; /* the commit never arrived */
    upload(f, "KEYS.TXT", data, sizeof data, 0);
    assert_int_equal(f->res.ok, 1);
    assert_int_equal(f->res.restarts, 1);
    assert_int_equal(count_log(f, S1 "Dy"), 2);
    assert_int_equal(count_log(f, S1 "Ng"), 2);
    assert_int_equal(f->file_len, sizeof data);
    assert_memory_equal(f->file, data, sizeof data);
    fx_free(f);
}

static void test_ng_crc_refused_restarts(void **state)
{
    (void)state;
    struct fx *f = fx_new();
    /* a corrupted temp file: simulate by making the slave hold an extra byte before the commit */
    unsigned char d2[40];
    fill(d2, sizeof d2);
    nix1_addr_t a;
    assert_int_equal(nix1_addr_parse_str(S1, &a), 0);
    struct nix1_xfer_opts o = { .verify = true };
    char err[200];
    assert_non_null(nix1_xfer_upload(f->line.bus, &a, "A.TXT", d2, sizeof d2, &o, on_xfer, f, err, sizeof err));
    /* answer Dy and the packet by hand, then damage the temp file so Ng's CRC check fails once */
    for (int step = 0; step < 2; step++) {
        const char *l = NULL;
        for (int i = 0; i < 100 && !l; i++) {
            l = fake_line_next_req(&f->line);
            if (!l)
                fake_line_advance(&f->line, 1000);
        }
        assert_non_null(l);
        char copy[400];
        snprintf(copy, sizeof copy, "%s", l);
        slave_answer(f, copy);
        fake_line_pump(&f->line);
    }
    f->tmp[0] ^= 1;
    serve(f, 60000000);
    assert_true(f->done);
    assert_int_equal(f->res.ok, 1);
    assert_int_equal(f->res.restarts, 1); /* 47 at Ng: start over from Dy */
    assert_memory_equal(f->file, d2, sizeof d2);
    fx_free(f);
}

static void test_local_refusals(void **state)
{
    (void)state;
    struct fx *f = fx_new();
    nix1_addr_t a;
    assert_int_equal(nix1_addr_parse_str(S1, &a), 0);
    char err[200];
    assert_null(nix1_xfer_upload(f->line.bus, &a, "EMPTY.TXT", "", 0, NULL, on_xfer, f, err, sizeof err));
    assert_non_null(strstr(err, "empty"));
    assert_null(nix1_xfer_upload(f->line.bus, &a, "TOOLONGNAME.TXT", "x", 1, NULL, on_xfer, f, err, sizeof err));
    assert_null(
        nix1_xfer_upload(f->line.bus, &nix1_addr_broadcast, "A.TXT", "x", 1, NULL, on_xfer, f, err, sizeof err));
    assert_non_null(strstr(err, "64"));
    serve(f, 100000);
    assert_int_equal(f->line.nlog, 0);
    assert_false(f->done);
    fx_free(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_spec_worked_example),
        cmocka_unit_test(test_packet_resent_on_47_52_15),
        cmocka_unit_test(test_packet_refused_too_often),
        cmocka_unit_test(test_restart_on_packet_timeout),
        cmocka_unit_test(test_gives_up_after_restarts),
        cmocka_unit_test(test_ng_reply_lost_checked_with_qp),
        cmocka_unit_test(test_ng_lost_and_not_committed_restarts),
        cmocka_unit_test(test_ng_crc_refused_restarts),
        cmocka_unit_test(test_local_refusals),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
