/* libFuzzer target: the portierd protocol as either side reads it: line framing, then every decoder (snapshot
 * into a mirror site and back, change messages applied to it, events, audit rows, queries, action runs, the
 * emergency, base64 and hex fields) on each line. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/proto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void decode_bytes(const json_t *o, const char *key, bool hex)
{
    const char *s = proto_str(o, key);
    unsigned char *out = NULL;
    size_t len = 0;
    if (s && (hex ? proto_hex_decode(s, &out, &len) : proto_b64_decode(s, &out, &len)) == 0)
        free(out);
}

static void one_line(const char *line, size_t len, struct site **mirror)
{
    char err[256];
    json_t *o = proto_parse(line, len, err, sizeof err);
    if (!o)
        return;
    struct event ev;
    struct journal_ack ack;
    (void)proto_event_from_json(o, &ev, &ack, err, sizeof err);
    struct audit_record rec;
    (void)proto_audit_from_json(o, &rec, err, sizeof err);
    struct journal_query q;
    (void)proto_query_from_json(o, &q, err, sizeof err);
    struct proto_emergency em;
    (void)proto_emergency_from_json(o, &em, err, sizeof err);
    decode_bytes(o, "data_b64", false);
    decode_bytes(o, "payload_hex", true);
    struct site *m = proto_site_from_snapshot(o, err, sizeof err);
    if (m) {
        /* what a mirror holds must encode and decode again */
        json_t *snap = json_object();
        if (snap && proto_site_to_snapshot(m, snap) == 0) {
            struct site *again = proto_site_from_snapshot(snap, err, sizeof err);
            if (!again || again->n_outputs != m->n_outputs || again->n_devices != m->n_devices)
                abort();
            site_free(again);
        }
        json_decref(snap);
        site_free(*mirror);
        *mirror = m;
    }
    if (*mirror) {
        size_t idx;
        (void)proto_device_apply(*mirror, o, &idx, err, sizeof err);
        (void)proto_output_apply(*mirror, o, &idx, err, sizeof err);
        for (size_t i = 0; i < (*mirror)->n_outputs; i++)
            (void)site_output_state_word(&(*mirror)->outputs[i]);
    }
    struct action_run run;
    if (proto_run_from_json(o, *mirror, &run, err, sizeof err) == 0)
        proto_run_free(&run);
    json_decref(o);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 256 * 1024)
        return 0;
    struct proto_lines l;
    proto_lines_init(&l, 64 * 1024);
    struct site *mirror = NULL;
    /* in reads of varying size, as from a socket */
    size_t off = 0, step = 1;
    while (off < size) {
        size_t n = size - off < step ? size - off : step;
        size_t room;
        char *dst = proto_lines_space(&l, &room);
        if (!dst)
            break;
        if (n > room)
            n = room;
        memcpy(dst, data + off, n);
        proto_lines_commit(&l, n);
        off += n;
        step = step * 3 + 1;
        char *line;
        size_t len;
        int r;
        while ((r = proto_lines_next(&l, &line, &len)) == 1)
            one_line(line, len, &mirror);
        if (r < 0)
            break;
    }
    site_free(mirror);
    proto_lines_free(&l);
    return 0;
}
