/* libFuzzer target: portierd's panel-data records as portierctl reads them (doc/protocol.md, "Panel-data
 * records"): each line a protocol message; a step's stored event ("txn") decoded, and what decodes must encode
 * and decode to the same event. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "core/proto.h"
#include "drivers/c3/c3_data.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void one(const json_t *rec)
{
    struct c3_txn t, again;
    if (c3_txn_from_json(json_object_get(rec, "txn"), &t) != 0)
        return;
    json_t *o = c3_txn_json(&t);
    if (!o)
        return;
    if (c3_txn_from_json(o, &again) != 0 || again.time != t.time || again.door != t.door || again.type != t.type ||
        again.verify != t.verify || again.inout != t.inout || again.card != t.card || again.pin != t.pin ||
        again.index != t.index)
        abort();
    json_decref(o);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 64 * 1024)
        return 0;
    const char *p = (const char *)data, *end = p + size;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t len = nl ? (size_t)(nl - p) : (size_t)(end - p);
        char err[128];
        json_t *m = proto_parse(p, len, err, sizeof err);
        if (m) {
            const json_t *step = json_object_get(m, "step");
            one(json_object_get(step, "record"));
            one(m);
            json_decref(m);
        }
        p += len + 1;
    }
    return 0;
}
