#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <arpa/inet.h>
#include <sys/socket.h>
#include <unistd.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "drivers/c3/c3_discover.h"
#include "drivers/c3/c3_frame.h"
#include "drivers/c3/c3_params.h"

static int parse(const char *s, struct c3_param_span *out, size_t max)
{
    return c3_params_parse(s, strlen(s), out, max);
}

static void expect_item(const struct c3_param_span *it, const char *name, const char *value)
{
    assert_int_equal(it->name_len, strlen(name));
    assert_memory_equal(it->name, name, it->name_len);
    assert_int_equal(it->value_len, strlen(value));
    if (it->value_len)
        assert_memory_equal(it->value, value, it->value_len);
}

static void get_request_spec(void **state)
{
    (void)state;
    const char *names[] = { "~SerialNumber", "LockCount" };
    char out[64];
    int n = c3_params_get_request(out, sizeof out, names, 2);
    assert_int_equal(n, 23);
    assert_string_equal(out, "~SerialNumber,LockCount");
    /* The whole spec §1 frame. */
    static const uint8_t want[] = { 0xaa, 0x01, 0x04, 0x17, 0x00, '~', 'S', 'e', 'r', 'i', 'a', 'l', 'N', 'u',
                                    'm', 'b', 'e', 'r', ',', 'L', 'o', 'c', 'k', 'C', 'o', 'u', 'n', 't',
                                    0x9b, 0x4c, 0x55 };
    uint8_t frame[64];
    struct c3_frame_hdr h = { 1, C3_CMD_GET_PARAM, false, 0, 0 };
    assert_int_equal(c3_frame_encode(frame, sizeof frame, &h, out, (size_t)n), (int)sizeof want);
    assert_memory_equal(frame, want, sizeof want);

    assert_int_equal(c3_params_get_request(out, sizeof out, names, 0), C3_E_SYNTAX);
    assert_int_equal(c3_params_get_request(out, 10, names, 2), C3_E_NOSPACE);
    const char *bad1[] = { "A,B" }, *bad2[] = { "" }, *bad3[] = { "A=1" }, *bad4[] = { "A B" };
    assert_int_equal(c3_params_get_request(out, sizeof out, bad1, 1), C3_E_SYNTAX);
    assert_int_equal(c3_params_get_request(out, sizeof out, bad2, 1), C3_E_SYNTAX);
    assert_int_equal(c3_params_get_request(out, sizeof out, bad3, 1), C3_E_SYNTAX);
    assert_int_equal(c3_params_get_request(out, sizeof out, bad4, 1), C3_E_SYNTAX);
}

static void batching(void **state)
{
    (void)state;
    /* 4 doors x 16 per-door names + 8 globals = 72 names: 3 GET batches (30, 30, 12). */
    static char store[72][24];
    const char *names[72];
    for (int i = 0; i < 72; i++) {
        snprintf(store[i], sizeof store[i], "Door%dParam%d", i % 4 + 1, i);
        names[i] = store[i];
    }
    assert_int_equal(c3_params_batches(72, C3_PARAMS_GET_MAX), 3);
    assert_int_equal(c3_params_batches(60, C3_PARAMS_GET_MAX), 2);
    assert_int_equal(c3_params_batches(0, C3_PARAMS_GET_MAX), 0);
    assert_int_equal(c3_params_batches(1, C3_PARAMS_SET_MAX), 1);
    size_t first, count, total = 0;
    char out[2048];
    for (size_t b = 0; b < 3; b++) {
        c3_params_batch(72, C3_PARAMS_GET_MAX, b, &first, &count);
        assert_int_equal(first, b * 30);
        assert_int_equal(count, b < 2 ? 30 : 12);
        assert_true(c3_params_get_request(out, sizeof out, names + first, count) > 0);
        total += count;
    }
    assert_int_equal(total, 72);
    c3_params_batch(72, C3_PARAMS_GET_MAX, 3, &first, &count);
    assert_int_equal(count, 0);
    c3_params_batch(72, C3_PARAMS_GET_MAX, 1000, &first, &count);
    assert_int_equal(count, 0);
    assert_int_equal(c3_params_get_request(out, sizeof out, names, 31), C3_E_TOOMANY);
    assert_int_equal(c3_params_get_request(out, sizeof out, names, 30) > 0, 1);

    struct c3_param pairs[21];
    for (int i = 0; i < 21; i++)
        pairs[i] = (struct c3_param){ names[i], "1" };
    assert_int_equal(c3_params_set_request(out, sizeof out, pairs, 21), C3_E_TOOMANY);
    assert_true(c3_params_set_request(out, sizeof out, pairs, 20) > 0);
    c3_params_batch(21, C3_PARAMS_SET_MAX, 1, &first, &count);
    assert_int_equal(first, 20);
    assert_int_equal(count, 1);
}

static void set_request(void **state)
{
    (void)state;
    char out[128];
    struct c3_param p[] = { { "Door1Drivertime", "5" }, { "DeviceName", "Front gate" }, { "Door2ForcePassWord", "" } };
    int n = c3_params_set_request(out, sizeof out, p, 3);
    assert_string_equal(out, "Door1Drivertime=5,DeviceName=Front gate,Door2ForcePassWord=");
    assert_int_equal(n, (int)strlen(out));
    struct c3_param bad[] = { { "A", "x,y" } }, bad2[] = { { "A", "x\ny" } }, bad3[] = { { "A", NULL } };
    assert_int_equal(c3_params_set_request(out, sizeof out, bad, 1), C3_E_SYNTAX);
    assert_int_equal(c3_params_set_request(out, sizeof out, bad2, 1), C3_E_SYNTAX);
    assert_int_equal(c3_params_set_request(out, sizeof out, bad3, 1), C3_E_SYNTAX);
    /* DateTime: the spec §1 vector "DateTime=812649252". */
    n = c3_params_set_datetime(out, sizeof out, 812649252u);
    assert_string_equal(out, "DateTime=812649252");
    assert_int_equal(n, 18);
    assert_int_equal(c3_params_set_datetime(out, 18, 812649252u), C3_E_NOSPACE);
}

static void parse_reply(void **state)
{
    (void)state;
    struct c3_param_span it[8];
    /* Real C3-400 reply (spec §3.1). */
    int n = parse("~SerialNumber=DDG8130016092200401,LockCount=4,AuxInCount=4,AuxOutCount=4", it, 8);
    assert_int_equal(n, 4);
    expect_item(&it[0], "~SerialNumber", "DDG8130016092200401");
    expect_item(&it[3], "AuxOutCount", "4");
    uint32_t v;
    assert_int_equal(c3_params_value_u32(c3_params_find(it, 4, "LockCount"), &v), 0);
    assert_int_equal(v, 4);
    assert_null(c3_params_find(it, 4, "lockcount"));
    assert_null(c3_params_find(it, 4, "SerialNumber"));

    /* Empty value, spaces in a value, '=' in a value, trailing comma, trailing NUL and CRLF. */
    static const char txt[] = "~ZKFPVersion=,FirmVer=AC Ver 4.3.4 Apr 27 2017,X=a=b,\r\n";
    n = c3_params_parse(txt, sizeof txt, it, 8); /* sizeof: includes the NUL */
    assert_int_equal(n, 3);
    expect_item(&it[0], "~ZKFPVersion", "");
    expect_item(&it[1], "FirmVer", "AC Ver 4.3.4 Apr 27 2017");
    expect_item(&it[2], "X", "a=b");
    char s[8];
    assert_int_equal(c3_params_value_str(&it[0], s, sizeof s), 0);
    assert_string_equal(s, "");
    assert_int_equal(c3_params_value_str(&it[1], s, sizeof s), C3_E_NOSPACE);
    assert_string_equal(s, "AC Ver ");
    assert_int_equal(c3_params_value_u32(&it[0], &v), C3_E_SYNTAX);
    assert_int_equal(c3_params_value_u32(&it[1], &v), C3_E_SYNTAX);

    /* Doubled commas and empty text. */
    assert_int_equal(parse("A=1,,B=2", it, 8), 2);
    assert_int_equal(parse("", it, 8), 0);
    assert_int_equal(parse(",", it, 8), 0);
    /* Missing '=': at the start an error; after an item, the comma was part of the value. */
    assert_int_equal(parse("LockCount", it, 8), C3_E_SYNTAX);
    assert_int_equal(parse("A=x,y z,B=2", it, 8), 2);
    expect_item(&it[0], "A", "x,y z");
    expect_item(&it[1], "B", "2");
    assert_int_equal(parse("=5", it, 8), C3_E_SYNTAX);
    assert_int_equal(parse("A=1,=5", it, 8), C3_E_SYNTAX);
    /* Too many for the array: first max filled, error returned. */
    assert_int_equal(parse("A=1,B=2,C=3", it, 2), C3_E_TOOMANY);
    expect_item(&it[1], "B", "2");
    assert_int_equal(parse("A=1,B=2,C", it, 2), 2);
    expect_item(&it[1], "B", "2,C");
    /* Numbers. */
    assert_int_equal(parse("D=4294967295,E=4294967296,F=-1", it, 8), 3);
    assert_int_equal(c3_params_value_u32(&it[0], &v), 0);
    assert_int_equal(v, 4294967295u);
    assert_int_equal(c3_params_value_u32(&it[1], &v), C3_E_RANGE);
    assert_int_equal(c3_params_value_u32(&it[2], &v), C3_E_SYNTAX);
}

static void discovery(void **state)
{
    (void)state;
    struct c3_discovery d;
    const char *a = "MAC=00:17:61:C8:12:34,IP=192.168.1.201,SN=DDG8130016092200401,Device=C3-400,"
                    "Ver=AC Ver 4.3.4 Apr 28 2017";
    assert_int_equal(c3_discovery_parse(a, strlen(a), &d), 0);
    assert_string_equal(d.mac, "00:17:61:C8:12:34");
    assert_string_equal(d.ip, "192.168.1.201");
    assert_string_equal(d.serial, "DDG8130016092200401");
    assert_string_equal(d.device, "C3-400");
    assert_string_equal(d.version, "AC Ver 4.3.4 Apr 28 2017");
    assert_string_equal(d.netmask, "");
    /* Other order and extra keys, as the Qt client sees them. */
    const char *b = "MAC=00:17:61:01:02:03,IP=10.0.0.5,NetMask=255.255.255.0,GATEIPAddress=10.0.0.1,SN=X1,Foo=bar";
    assert_int_equal(c3_discovery_parse(b, strlen(b), &d), 0);
    assert_string_equal(d.netmask, "255.255.255.0");
    assert_string_equal(d.gateway, "10.0.0.1");
    assert_string_equal(d.device, "");
    const char *c = "SN=X1,Device=C3-100";
    assert_int_equal(c3_discovery_parse(c, strlen(c), &d), C3_E_SYNTAX);
    const char *e = "MAC=00:17:61:01:02:03:04:05:06:07:08:09,IP=1.2.3.4";
    assert_int_equal(c3_discovery_parse(e, strlen(e), &d), 0);
    assert_int_equal(strlen(d.mac), sizeof d.mac - 1);
}

/* Datagrams from a loopback UDP socket: a frame, noise, then nothing more. */
static void discover_recv(void **state)
{
    (void)state;
    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    assert_true(fd >= 0);
    struct sockaddr_in me = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    socklen_t ml = sizeof me;
    assert_int_equal(bind(fd, (struct sockaddr *)&me, sizeof me), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&me, &ml), 0);
    uint8_t frame[64];
    struct c3_frame_hdr h = { .address = 1, .command = C3_CMD_DISCOVER };
    int fl = c3_frame_encode(frame, sizeof frame, &h, "ab", 2);
    assert_true(fl > 0);
    assert_int_equal(sendto(fd, frame, (size_t)fl, 0, (struct sockaddr *)&me, sizeof me), fl);
    assert_int_equal(sendto(fd, "noise", 5, 0, (struct sockaddr *)&me, sizeof me), 5);
    struct c3_datagram dg;
    assert_int_equal(c3_discover_recv(fd, &dg), 1);
    assert_int_equal(dg.frame.command, C3_CMD_DISCOVER);
    assert_int_equal(dg.frame.data_len, 2);
    assert_memory_equal(dg.frame.data, "ab", 2);
    assert_ptr_equal(dg.frame.data, dg.buf + 5);
    assert_int_equal(dg.from.sin_port, me.sin_port);
    assert_int_equal(dg.from.sin_addr.s_addr, htonl(INADDR_LOOPBACK));
    assert_int_equal(c3_discover_recv(fd, &dg), 0);
    assert_int_equal(c3_discover_recv(fd, &dg), -1);
    close(fd);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(get_request_spec), cmocka_unit_test(batching), cmocka_unit_test(set_request),
        cmocka_unit_test(parse_reply),      cmocka_unit_test(discovery), cmocka_unit_test(discover_recv),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
