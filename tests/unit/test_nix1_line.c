#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "drivers/nix1/nix1_cmd.h"
#include "drivers/nix1/nix1_line.h"

#define S "271A2100000000F3"

static nix1_addr_t addr(const char *s)
{
    nix1_addr_t a;
    assert_int_equal(nix1_addr_parse_str(s, &a), 0);
    return a;
}

/* One valid request per command of §5.8 (options TAB-joined). */
static const struct {
    const char *line;
} every[] = {
    { S "Da" }, { S "Dg14U.U" }, { S "Dh" }, { S "Dk1349085044" }, { S "Dk0" }, { S "DrArthur Dent\t15" },
    { S "Dr0" }, { S "Ds" }, { S "Du1" }, { S "Du0" }, { S "DxArthur Dent" }, { S "Dx0" }, { S "Dy" },
    { S "Nb5" }, { S "Nc255" }, { S "Ne0" }, { S "Ne65534" }, { S "Ng14U.U\t09AF" }, { S "Nh* 7-18 * * 1-5" },
    { S "Ni14U.U\t15U.U" }, { S "Nk1350028169\t[Z}4V;qr$(/Kc_aiF7#K8tATNC" }, { S "Nl2\t1" }, { S "Nm1" },
    { S "Nm3" }, { S "NnFW0102.BIN\t3" }, { S "No2" }, { S "Nruser2\t14\t* 7-19 * 1-8 1,4-5" }, { S "Ns0F" },
    { S "Nt1436413339\t+0100" }, { S "Nt0\t-1200" }, { S "Nu2\t15" }, { S "Nv1\t0" },
    { S "NxArthur Dent\t1350028169\t3" },
    { S "Ny1\t25\t09AF\t7573657232092A20372D3139202A20312D3820312C342D350A" }, { S "Nz9600" },
    { S "Nz115200" }, { S "Qb" }, { S "Qc" }, { S "Qe" }, { S "Qg14U.U\t0" }, { S "Qh" }, { S "QiTXT" },
    { S "Qi1" }, { S "Qk" }, { S "Ql1" }, { S "Qm" }, { S "Qn" }, { S "Qo" }, { S "QpKEYS.TXT" },
    { S "QrArthur Dent\t1" }, { S "Qs" }, { S "Qt" }, { S "Qu2" }, { S "Qv" }, { S "Qv2" }, { S "QxArthur Dent" },
};

static void every_command_round_trip(void **state)
{
    (void)state;
    bool seen[128][128];
    memset(seen, 0, sizeof seen);
    nix1_addr_t sa = addr(S);
    for (size_t i = 0; i < sizeof every / sizeof every[0]; i++) {
        const char *line = every[i].line;
        size_t len = strlen(line);
        struct nix1_request r;
        assert_int_equal(nix1_request_parse(line, len, &r), NIX1_REQ_OK);
        assert_true(nix1_addr_equal(&r.addr, &sa));
        const struct nix1_cmd *c = nix1_cmd_lookup(r.cmd, r.arg);
        if (!c)
            fail_msg("no table entry for %s", line);
        char why[128];
        uint8_t rc = nix1_cmd_check(c, r.opt, r.opt_len, why, sizeof why);
        if (rc != 0)
            fail_msg("%s rejected with %02X: %s", line, rc, why);
        seen[(int)r.cmd][(int)r.arg] = true;
        /* re-encode from the split fields: byte-identical, LF-terminated */
        struct nix1_span f[NIX1_FIELDS_MAX];
        size_t n = nix1_fields_split(r.opt, r.opt_len, f, NIX1_FIELDS_MAX);
        char fb[NIX1_FIELDS_MAX][NIX1_LINE_MAX + 1];
        const char *fp[NIX1_FIELDS_MAX];
        for (size_t k = 0; k < n; k++) {
            memcpy(fb[k], f[k].p, f[k].len);
            fb[k][f[k].len] = '\0';
            fp[k] = fb[k];
        }
        char out[NIX1_LINE_MAX + 2];
        int ol = nix1_request_encode(out, sizeof out, &sa, r.cmd, r.arg, fp, n);
        assert_int_equal(ol, (int)len + 1);
        assert_memory_equal(out, line, len);
        assert_int_equal(out[len], '\n');
        /* the joined-option encoder gives the same bytes */
        char opt[NIX1_LINE_MAX + 1];
        memcpy(opt, r.opt, r.opt_len);
        opt[r.opt_len] = '\0';
        char out2[NIX1_LINE_MAX + 2];
        assert_int_equal(nix1_request_encode_opt(out2, sizeof out2, &sa, r.cmd, r.arg, opt), ol);
        assert_memory_equal(out2, out, (size_t)ol);
        /* the same line with CRLF parses the same */
        char crlf[NIX1_LINE_MAX + 3];
        memcpy(crlf, line, len);
        memcpy(crlf + len, "\r\n", 2);
        struct nix1_request r2;
        assert_int_equal(nix1_request_parse(crlf, len + 2, &r2), NIX1_REQ_OK);
        assert_int_equal(r2.opt_len, r.opt_len);
    }
    /* every table entry is exercised */
    for (size_t i = 0; i < nix1_cmd_count; i++)
        if (!seen[(int)nix1_cmd_table[i].cmd][(int)nix1_cmd_table[i].arg])
            fail_msg("command %c%c not exercised", nix1_cmd_table[i].cmd, nix1_cmd_table[i].arg);
    assert_int_equal(nix1_cmd_count, 9 + 19 + 18);
}

static void table_properties(void **state)
{
    (void)state;
    const char *bcast = "Dh Dk Dr Ds Dx Nb Nc Nh Nk Nl Nm No Nr Ns Nt Nv Nx Nz";
    const char *lng = "Da Ng Ni Nn Qp";
    for (size_t i = 0; i < nix1_cmd_count; i++) {
        const struct nix1_cmd *c = &nix1_cmd_table[i];
        char ca[3] = { c->cmd, c->arg, 0 };
        assert_int_equal(c->broadcast, strstr(bcast, ca) != NULL);
        assert_int_equal(c->timeout_ms, strstr(lng, ca) ? 5000u : 1000u);
        if (c->cmd == 'Q')
            assert_false(c->broadcast);
        assert_int_equal(c->multiline, !strcmp(ca, "Qg") || !strcmp(ca, "Qi"));
    }
    assert_false(nix1_cmd_lookup('Q', 'e')->idempotent);
    assert_false(nix1_cmd_lookup('N', 'y')->idempotent);
    assert_true(nix1_cmd_lookup('Q', 'b')->idempotent);
    assert_true(nix1_cmd_lookup('N', 'k')->idempotent);
    assert_true(nix1_cmd_lookup('Q', 'k')->secret);
    assert_null(nix1_cmd_lookup('Q', 'w'));
    assert_null(nix1_cmd_lookup('X', 'b'));
    assert_int_equal(nix1_cmd_rc('Q', 'w'), 0x41);
    assert_int_equal(nix1_cmd_rc('Q', 'a'), 0x41);
    assert_int_equal(nix1_cmd_rc('D', 'z'), 0x41);
    assert_int_equal(nix1_cmd_rc('X', 'b'), 0x43);
    assert_int_equal(nix1_cmd_rc('N', 'b'), 0x00);
}

static uint8_t check(const char *cmdarg_opt)
{
    const struct nix1_cmd *c = nix1_cmd_lookup(cmdarg_opt[0], cmdarg_opt[1]);
    assert_non_null(c);
    return nix1_cmd_check(c, cmdarg_opt + 2, strlen(cmdarg_opt + 2), NULL, 0);
}

static void option_validation(void **state)
{
    (void)state;
    assert_int_equal(check("Nb300"), 0x50);  /* spec example: range */
    assert_int_equal(check("Nb"), 0x50);     /* missing = empty */
    assert_int_equal(check("Nb5\t6"), 0x50); /* too many fields */
    assert_int_equal(check("Nbx"), 0x50);
    assert_int_equal(check("Nb-1"), 0x50);
    assert_int_equal(check("Qb5"), 0x50);    /* options where none allowed */
    assert_int_equal(check("Qv3"), 0x50);
    assert_int_equal(check("Ql0"), 0x50);
    assert_int_equal(check("Du3"), 0x50);
    assert_int_equal(check("Nl0\t1"), 0x50);
    assert_int_equal(check("Nl1\t2"), 0x50);
    assert_int_equal(check("Nm4"), 0x50);
    assert_int_equal(check("No4"), 0x50);
    assert_int_equal(check("Ne65535"), 0x50);
    assert_int_equal(check("Nz9601"), 0x50);
    assert_int_equal(check("Nz300"), 0x50);
    assert_int_equal(check("Nsg0"), 0x50);
    assert_int_equal(check("Ns0"), 0x50);
    assert_int_equal(check("Ns0a"), 0x00);
    assert_int_equal(check("Nt1436413339\t0100"), 0x50);  /* TZ sign is mandatory */
    assert_int_equal(check("Nt1436413339\t+1500"), 0x50); /* TZ range */
    assert_int_equal(check("Nt1436413339\t-1201"), 0x50);
    assert_int_equal(check("Nt1436413339\t+0160"), 0x50);
    assert_int_equal(check("Nt1436413339\t+1400"), 0x00);
    assert_int_equal(check("Nt14364133x9\t+0100"), 0x74);  /* ts not numeric */
    assert_int_equal(check("Nt10000000000\t+0100"), 0x74); /* ts > 9'999'999'999 */
    assert_int_equal(check("Nt9999999999\t+0100"), 0x00);
    assert_int_equal(check("Nk1\t"), 0x4B);                 /* empty key */
    assert_int_equal(check("Nk1\t0123456789012345678901234567890123456789012345678901234567890123"), 0x00);
    assert_int_equal(check("Nk1\t01234567890123456789012345678901234567890123456789012345678901234"), 0x4B);
    assert_int_equal(check("Nkx\tkey"), 0x74);
    assert_int_equal(check("Nh* * * *"), 0x60);
    assert_int_equal(check("Nh* 24 * * *"), 0x60);
    assert_int_equal(check("Nruser2\t14\t* 7-19 * 13 *"), 0x60);
    assert_int_equal(check("Nruser2\t65535\t* * * * *"), 0x76);
    assert_int_equal(check("Nruser2\t1x\t* * * * *"), 0x50); /* unit not numeric: syntax */
    assert_int_equal(check("Nu1\t65535"), 0x76);
    assert_int_equal(check("Qruser2\t70000"), 0x76);
    assert_int_equal(check("Dr0"), 0x00);
    assert_int_equal(check("Druser2"), 0x50);
    assert_int_equal(check("Dr\t15"), 0x50);   /* empty uid */
    assert_int_equal(check("Dr user\t15"), 0x50); /* uid must start with alnum */
    assert_int_equal(check("Nx-bad\t1\t1"), 0x50);
    assert_int_equal(check("Nxa\t1\t100"), 0x50);
    assert_int_equal(check("Dg"), 0x50);
    assert_int_equal(check("DgTOOLONGNAME.TXT"), 0x50);
    assert_int_equal(check("DgA.TEXT"), 0x50);
    assert_int_equal(check("Dg.TXT"), 0x50);
    assert_int_equal(check("DgA B.TXT"), 0x50);
    assert_int_equal(check("DgACCESS.190"), 0x00);
    assert_int_equal(check("DgNEWFILE.TMP"), 0x00);
    assert_int_equal(check("Qi"), 0x50);
    assert_int_equal(check("QiTXTX"), 0x50);
    assert_int_equal(check("Qi.X"), 0x50);
    assert_int_equal(check("Ng14U.U\t9AF"), 0x50);
    assert_int_equal(check("Nn FW.BIN\t3"), 0x50);
    assert_int_equal(check("NnFW.BIN\t10"), 0x50);
    assert_int_equal(check("Ny0\t25\t09AF\t00"), 0x50);
    assert_int_equal(check("Ny1\t129\t09AF\t00"), 0x50);
    assert_int_equal(check("Ny1\t0\t09AF\t"), 0x50);
    assert_int_equal(check("Ny1\t1\t09AF"), 0x50);
    assert_int_equal(check("Ny1\t1\tZZZZ\t00"), 0x50);
    /* §5.5 order: syntax (50) of every field before field-specific codes (74), even in a later field */
    assert_int_equal(check("Nxa\tbad-ts\tx"), 0x50);
    assert_int_equal(check("Nxa\tbad-ts\t100"), 0x74); /* 100 is well-formed; the ts check comes first */
    assert_int_equal(check("Nr bad\t1\tnot a cron"), 0x50);
    assert_int_equal(check("Nrok\t99999\tnot a cron"), 0x76);
    char why[128];
    nix1_cmd_check(nix1_cmd_lookup('N', 'b'), "300", 3, why, sizeof why);
    assert_string_equal(why, "field 1 (timeout): out of range 0-255");
    nix1_cmd_check(nix1_cmd_lookup('N', 'x'), "a", 1, why, sizeof why);
    assert_non_null(strstr(why, "1 option field"));
}

static void request_errors(void **state)
{
    (void)state;
    struct nix1_request r;
    /* spec examples */
    assert_int_equal(nix1_request_parse(S "Qw3\n", 20, &r), NIX1_REQ_OK);
    assert_int_equal(nix1_cmd_rc(r.cmd, r.arg), 0x41);
    assert_int_equal(nix1_request_parse(S "Xb\n", 19, &r), NIX1_REQ_BAD_CMD);
    assert_int_equal(r.cmd, 'X');
    assert_int_equal(r.arg, 'b');
    assert_int_equal(nix1_req_status_rc(NIX1_REQ_BAD_CMD), 0x43);
    /* too short: '?' echoes */
    assert_int_equal(nix1_request_parse(S, 16, &r), NIX1_REQ_BAD_CMD);
    assert_int_equal(r.cmd, '?');
    assert_int_equal(r.arg, '?');
    assert_int_equal(nix1_request_parse(S "Q\n", 18, &r), NIX1_REQ_BAD_ARG);
    assert_int_equal(r.cmd, 'Q');
    assert_int_equal(r.arg, '?');
    assert_int_equal(nix1_req_status_rc(NIX1_REQ_BAD_ARG), 0x41);
    assert_int_equal(nix1_request_parse(S "QB", 18, &r), NIX1_REQ_BAD_ARG);
    /* address problems: silent */
    assert_int_equal(nix1_request_parse("271A21Qb", 8, &r), NIX1_REQ_NO_ADDR);
    assert_int_equal(nix1_request_parse("271A2100000000ZZQb", 18, &r), NIX1_REQ_NO_ADDR);
    assert_int_equal(nix1_req_status_rc(NIX1_REQ_NO_ADDR), -1);
    assert_int_equal(nix1_request_parse(NULL, 5, &r), NIX1_REQ_NO_ADDR);
    /* lowercase address accepted */
    assert_int_equal(nix1_request_parse("271a2100000000f3Qb", 18, &r), NIX1_REQ_OK);
    /* another node's reply is not a request */
    assert_int_equal(nix1_request_parse(S "00Qb\t5\n", 23, &r), NIX1_REQ_REPLY);
    assert_int_equal(nix1_request_parse(S "41Qw", 20, &r), NIX1_REQ_REPLY);
    assert_int_equal(nix1_request_parse(S "FFQe", 20, &r), NIX1_REQ_REPLY);
    assert_int_equal(nix1_request_parse(S "Da", 18, &r), NIX1_REQ_OK); /* 'D' + hex-looking arg is a request */
    assert_int_equal(nix1_req_status_rc(NIX1_REQ_REPLY), -1);
    /* 320 chars is the limit */
    char big[400];
    memset(big, 'a', sizeof big);
    memcpy(big, S "Qg", 18);
    assert_int_equal(nix1_request_parse(big, 320, &r), NIX1_REQ_OK);
    assert_int_equal(r.opt_len, 302);
    assert_int_equal(nix1_request_parse(big, 321, &r), NIX1_REQ_OVERFLOW);
    assert_true(nix1_addr_equal(&r.addr, &(nix1_addr_t){ { 0x27, 0x1A, 0x21, 0, 0, 0, 0, 0xF3 } }));
    assert_int_equal(nix1_req_status_rc(NIX1_REQ_OVERFLOW), 0x15);
    big[320] = '\r';
    big[321] = '\n';
    assert_int_equal(nix1_request_parse(big, 322, &r), NIX1_REQ_OK); /* CRLF is not counted */
    /* non-printable bytes */
    assert_int_equal(nix1_request_parse(S "Nb\x01", 19, &r), NIX1_REQ_BAD_BYTE);
    assert_int_equal(nix1_request_parse(S "Nb5\r", 20, &r), NIX1_REQ_BAD_BYTE); /* a lone CR not before LF */
    assert_int_equal(nix1_request_parse(S "Nk1\t\xC3\xA9", 23, &r), NIX1_REQ_BAD_BYTE);
    assert_int_equal(nix1_req_status_rc(NIX1_REQ_BAD_BYTE), 0x15);
    assert_string_equal(nix1_req_status_str(NIX1_REQ_OVERFLOW), "line longer than 320 chars");
    /* empty option == missing */
    assert_int_equal(nix1_request_parse(S "Qv", 18, &r), NIX1_REQ_OK);
    assert_int_equal(r.opt_len, 0);
    assert_non_null(r.opt);
}

static void request_encode_limits(void **state)
{
    (void)state;
    nix1_addr_t a = addr(S);
    char buf[400];
    const char *f1[] = { "1436413339", "+0100" };
    int n = nix1_request_encode(buf, sizeof buf, &nix1_addr_broadcast, 'N', 't', f1, 2);
    assert_int_equal(n, 35);
    assert_string_equal(buf, "27FFFFFFFFFFFF4ENt1436413339\t+0100\n");
    n = nix1_request_encode(buf, sizeof buf, &a, 'Q', 'b', NULL, 0);
    assert_string_equal(buf, S "Qb\n");
    assert_int_equal(n, 19);
    /* invalid inputs */
    assert_int_equal(nix1_request_encode(buf, sizeof buf, &a, 'X', 'b', NULL, 0), -1);
    assert_int_equal(nix1_request_encode(buf, sizeof buf, &a, 'Q', 'B', NULL, 0), -1);
    const char *tab[] = { "a\tb" };
    assert_int_equal(nix1_request_encode(buf, sizeof buf, &a, 'N', 'k', tab, 1), -1);
    const char *nl[] = { "a\n" };
    assert_int_equal(nix1_request_encode(buf, sizeof buf, &a, 'N', 'k', nl, 1), -1);
    assert_int_equal(nix1_request_encode(buf, sizeof buf, &a, 'N', 'k', NULL, 1), -1);
    /* exactly 320 chars fits, 321 does not */
    char opt[400];
    memset(opt, 'x', sizeof opt);
    opt[302] = '\0';
    const char *o[] = { opt };
    assert_int_equal(nix1_request_encode(buf, sizeof buf, &a, 'Q', 'g', o, 1), 321);
    opt[302] = 'x';
    opt[303] = '\0';
    assert_int_equal(nix1_request_encode(buf, sizeof buf, &a, 'Q', 'g', o, 1), -1);
    assert_int_equal(nix1_request_encode_opt(buf, sizeof buf, &a, 'Q', 'g', opt), -1);
    /* buffer too small */
    assert_int_equal(nix1_request_encode(buf, 18, &a, 'Q', 'b', NULL, 0), -1);
    assert_int_equal(nix1_request_encode(buf, 19, &a, 'Q', 'b', NULL, 0), 19); /* LF fits, no NUL */
    assert_int_equal(nix1_request_encode_opt(buf, sizeof buf, &a, 'N', 'i', "A.TXT\tB.TXT"), 30);
    assert_string_equal(buf, S "NiA.TXT\tB.TXT\n");
}

static void reply_format_and_parse(void **state)
{
    (void)state;
    nix1_addr_t s = addr(S);
    char buf[NIX1_REPLY_MAX + 2];
    struct {
        uint8_t rc;
        char cmd, arg;
        const char *payload, *wire;
    } ex[] = {
        { 0x00, 'Q', 'b', "5", S "00Qb\t5\n" },
        { 0x50, 'N', 'b', NULL, S "50Nb\n" },
        { 0x41, 'Q', 'w', NULL, S "41Qw\n" },
        { 0x43, 'X', 'b', NULL, S "43Xb\n" },
        { 0x00, 'Q', 'n', "SIM-1.0", S "00Qn\tSIM-1.0\n" },
        { 0x00, 'N', 'e', "12", S "00Ne\t12\n" },
        { 0x00, 'Q', 'e', S "\tuser1\t15\t\t1436413339\t+0100\t2\t0\t55",
          S "00Qe\t" S "\tuser1\t15\t\t1436413339\t+0100\t2\t0\t55\n" },
        { 0x04, 'Q', 'e', NULL, S "04Qe\n" },
        { 0x00, 'Q', 'g', "user2\t* 7-19 * 1-8 1,4-5", S "00Qg\tuser2\t* 7-19 * 1-8 1,4-5\n" },
        { 0x04, 'Q', 'g', "1", S "04Qg\t1\n" },
        { 0x00, 'D', 'y', NULL, S "00Dy\n" },
        { 0x06, 'N', 'y', "1\t1", S "06Ny\t1\t1\n" },
        { 0x00, 'N', 'g', NULL, S "00Ng\n" },
        { 0x00, 'Q', 'p', "09AF\t25", S "00Qp\t09AF\t25\n" },
        { 0x15, '?', '?', NULL, S "15??\n" },
        { 0x00, 'Q', 'h', "", S "00Qh\t\n" },
    };
    for (size_t i = 0; i < sizeof ex / sizeof ex[0]; i++) {
        int n = nix1_reply_encode(buf, sizeof buf, &s, ex[i].rc, ex[i].cmd, ex[i].arg, ex[i].payload);
        assert_int_equal(n, (int)strlen(ex[i].wire));
        assert_string_equal(buf, ex[i].wire);
        struct nix1_reply r;
        assert_int_equal(nix1_reply_parse(ex[i].wire, strlen(ex[i].wire), &r), NIX1_REP_OK);
        assert_true(nix1_addr_equal(&r.addr, &s));
        assert_int_equal(r.rc, ex[i].rc);
        assert_int_equal(r.cmd, ex[i].cmd);
        assert_int_equal(r.arg, ex[i].arg);
        assert_int_equal(r.has_payload, ex[i].payload != NULL);
        if (ex[i].payload) {
            assert_int_equal(r.payload_len, strlen(ex[i].payload));
            assert_memory_equal(r.payload, ex[i].payload, r.payload_len);
        } else {
            assert_int_equal(r.payload_len, 0);
        }
    }
    /* the scratch request is answered with the slave's own address */
    struct nix1_request q;
    assert_int_equal(nix1_request_parse("270000000000005CQn\n", 19, &q), NIX1_REQ_OK);
    assert_true(nix1_addr_is_scratch(&q.addr));
    /* fields variant */
    const char *pf[] = { "1350028169", "[Z}4V;qr$(/Kc_aiF7#K8tATNC" };
    nix1_reply_encode_fields(buf, sizeof buf, &s, 0, 'Q', 'k', pf, 2);
    assert_string_equal(buf, S "00Qk\t1350028169\t[Z}4V;qr$(/Kc_aiF7#K8tATNC\n");
    /* multi-line data lines with TABs inside the raw line, then the terminator */
    const char *stream = S "00Qi\tKEYS.TXT\t61\n" S "00Qi\t14U.U\t25\n" S "04Qi\t2\n";
    const char *p = stream;
    size_t lines = 0, data = 0;
    while (*p) {
        const char *nl = strchr(p, '\n');
        struct nix1_reply r;
        assert_int_equal(nix1_reply_parse(p, (size_t)(nl - p + 1), &r), NIX1_REP_OK);
        const struct nix1_cmd *c = nix1_cmd_lookup(r.cmd, r.arg);
        assert_true(c->multiline);
        if (r.rc == 0x00)
            data++;
        else
            assert_int_equal(r.rc, 0x04);
        lines++;
        p = nl + 1;
    }
    assert_int_equal(lines, 3);
    assert_int_equal(data, 2);
    /* CRLF tolerated */
    struct nix1_reply r;
    assert_int_equal(nix1_reply_parse(S "00Qb\t5\r\n", 24, &r), NIX1_REP_OK);
    assert_int_equal(r.payload_len, 1);
}

static void reply_errors(void **state)
{
    (void)state;
    struct nix1_reply r;
    assert_int_equal(nix1_reply_parse(S "00Q", 19, &r), NIX1_REP_SHORT);
    assert_int_equal(nix1_reply_parse("", 0, &r), NIX1_REP_SHORT);
    assert_int_equal(nix1_reply_parse(NULL, 10, &r), NIX1_REP_SHORT);
    assert_int_equal(nix1_reply_parse("271A2100000000X300Qb", 20, &r), NIX1_REP_BAD_ADDR);
    assert_int_equal(nix1_reply_parse(S "Qb\t5\n", 21, &r), NIX1_REP_BAD_RC);
    assert_int_equal(nix1_reply_parse(S "Qbxx", 20, &r), NIX1_REP_BAD_RC); /* a request echo */
    assert_int_equal(nix1_reply_parse(S "00Qb5", 21, &r), NIX1_REP_TRAILING);
    assert_int_equal(nix1_reply_parse(S "00Qb\t\x7f", 22, &r), NIX1_REP_BAD_BYTE);
    char big[NIX1_REPLY_MAX + 10];
    memset(big, 'a', sizeof big);
    memcpy(big, S "00Qg\t", 21);
    assert_int_equal(nix1_reply_parse(big, NIX1_REPLY_MAX, &r), NIX1_REP_OK);
    assert_int_equal(nix1_reply_parse(big, NIX1_REPLY_MAX + 1, &r), NIX1_REP_TOO_LONG);
    assert_string_equal(nix1_rep_status_str(NIX1_REP_TRAILING), "no TAB between reply header and payload");
    /* lowercase rc accepted */
    assert_int_equal(nix1_reply_parse(S "4bQk", 20, &r), NIX1_REP_OK);
    assert_int_equal(r.rc, 0x4B);
    /* encoder refuses bad payloads */
    nix1_addr_t s = addr(S);
    char buf[64];
    assert_int_equal(nix1_reply_encode(buf, sizeof buf, &s, 0, 'Q', 'b', "a\nb"), -1);
    assert_int_equal(nix1_reply_encode(buf, 20, &s, 0, 'Q', 'b', NULL), -1);
    assert_int_equal(nix1_reply_encode(buf, sizeof buf, &s, 0, '\t', 'b', NULL), -1);
    const char *tab[] = { "a\tb" };
    assert_int_equal(nix1_reply_encode_fields(buf, sizeof buf, &s, 0, 'Q', 'b', tab, 1), -1);
}

static void lexical_helpers(void **state)
{
    (void)state;
    uint64_t v;
    int tz;
    char t[6];
    assert_true(nix1_parse_uint("0", 1, 10, &v) && v == 0);
    assert_true(nix1_parse_uint("18446744073709551615", 20, UINT64_MAX, &v) && v == UINT64_MAX);
    assert_false(nix1_parse_uint("18446744073709551616", 20, UINT64_MAX, &v));
    assert_false(nix1_parse_uint("", 0, 10, &v));
    assert_false(nix1_parse_uint("+1", 2, 10, &v));
    assert_false(nix1_parse_uint("11", 2, 10, &v));
    assert_true(nix1_parse_hex("09af", 4, 4, &v) && v == 0x09AF);
    assert_false(nix1_parse_hex("09a", 3, 4, &v));
    assert_true(nix1_parse_tz("+0100", 5, &tz) && tz == 60);
    assert_true(nix1_parse_tz("-0930", 5, &tz) && tz == -570);
    assert_true(nix1_parse_tz("-1200", 5, &tz) && tz == -720);
    assert_true(nix1_parse_tz("+1400", 5, &tz) && tz == 840);
    assert_false(nix1_parse_tz("+1401", 5, &tz));
    assert_false(nix1_parse_tz("0100", 4, &tz));
    assert_string_equal(nix1_format_tz(60, t), "+0100");
    assert_string_equal(nix1_format_tz(-570, t), "-0930");
    assert_string_equal(nix1_format_tz(0, t), "+0000");
    assert_true(nix1_filename_valid("CONFIG.TXT", 10));
    assert_true(nix1_filename_valid("USERS.A", 7));
    assert_true(nix1_filename_valid("FW0102", 6));
    assert_true(nix1_filename_valid("A~1#-_.B_", 9));
    assert_false(nix1_filename_valid("CONFIG.", 7));
    assert_false(nix1_filename_valid("a.b.c", 5));
    assert_false(nix1_filename_valid("../X", 4));
    struct nix1_span f[3];
    assert_int_equal(nix1_fields_split("", 0, f, 3), 0);
    assert_int_equal(nix1_fields_split("a", 1, f, 3), 1);
    assert_int_equal(nix1_fields_split("a\t", 2, f, 3), 2);
    assert_int_equal(f[1].len, 0);
    assert_int_equal(nix1_fields_split("\t\t", 2, f, 3), 3);
    assert_int_equal(nix1_fields_split("a\tb\tc\td", 7, f, 3), 4);
    assert_int_equal(nix1_line_trim("ab\r\n", 4), 2);
    assert_int_equal(nix1_line_trim("ab\n", 3), 2);
    assert_int_equal(nix1_line_trim("ab\r", 3), 3);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(every_command_round_trip),
        cmocka_unit_test(table_properties),
        cmocka_unit_test(option_validation),
        cmocka_unit_test(request_errors),
        cmocka_unit_test(request_encode_limits),
        cmocka_unit_test(reply_format_and_parse),
        cmocka_unit_test(reply_errors),
        cmocka_unit_test(lexical_helpers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
