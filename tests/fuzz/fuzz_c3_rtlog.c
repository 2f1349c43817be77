/* libFuzzer target: C3 RT log, binary 16-byte records (first byte even) and 0x79 key/value text (odd). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "drivers/c3/c3_frame.h"
#include "drivers/c3/c3_rtlog.h"
#include "drivers/c3/c3_tables.h"
#include "drivers/c3/c3_time.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void touch_tables(const struct c3_rt_record *r)
{
    char buf[C3_LABEL_LEN], t[C3_TIME_ISO_LEN];
    struct tm tm;
    c3_time_format(r->time, 'T', t, sizeof t);
    (void)c3_time_to_tm(r->time, &tm);
    if (r->kind == C3_RT_EVENT) {
        if (!c3_event_label(r->event.type, buf, sizeof buf) || !c3_verify_label(r->event.verify, buf, sizeof buf) ||
            !c3_inout_label(r->event.inout, buf, sizeof buf))
            abort();
        (void)c3_event_severity(r->event.type);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    struct c3_rt_record rec[8];
    const uint8_t *p = data + 1;
    size_t n = size - 1;
    if ((data[0] & 1u) == 0) {
        int k = c3_rtlog_parse_binary(p, n, rec, 8);
        if (k == C3_E_RTLOG_LEN) {
            if (c3_rtlog_binary_ok(n))
                abort();
            return 0;
        }
        size_t got = k == C3_E_TOOMANY ? 8 : (size_t)k;
        if (k < 0 && k != C3_E_TOOMANY)
            abort();
        for (size_t i = 0; i < got; i++) {
            uint8_t out[16];
            if (c3_rtlog_encode_record(&rec[i], out) != 16)
                abort();
            /* Bytes 11 of a status record and the sensor high nibble are the only fields not kept verbatim. */
            const uint8_t *in = p + 16 * i;
            if (rec[i].kind == C3_RT_EVENT ? memcmp(out, in, 16) != 0
                                           : memcmp(out, in, 11) != 0 || memcmp(out + 12, in + 12, 4) != 0)
                abort();
            touch_tables(&rec[i]);
        }
        return 0;
    }
    size_t bad = 0;
    int k = c3_rtlog_parse_kv((const char *)p, n, rec, 8, &bad);
    if (k < 0 && k != C3_E_TOOMANY)
        abort();
    size_t got = k == C3_E_TOOMANY ? 8 : (size_t)k;
    for (size_t i = 0; i < got; i++) {
        char line[256];
        int m = c3_rtlog_format_kv(&rec[i], line, sizeof line);
        if (m < 0 || (size_t)m >= sizeof line)
            abort();
        struct c3_rt_record back;
        size_t b2 = 0;
        if (c3_rtlog_parse_kv(line, (size_t)m, &back, 1, &b2) != 1 || b2 != 0 || back.kind != rec[i].kind ||
            back.time != rec[i].time)
            abort();
        if (back.kind == C3_RT_EVENT && (back.event.type != rec[i].event.type || back.event.pin != rec[i].event.pin ||
                                         back.event.card != rec[i].event.card || back.event.index != rec[i].event.index))
            abort();
        if (back.kind == C3_RT_STATUS && memcmp(back.status.alarm, rec[i].status.alarm, 4) != 0)
            abort();
        touch_tables(&rec[i]);
    }
    return 0;
}
