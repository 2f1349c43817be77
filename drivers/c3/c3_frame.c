#include "drivers/c3/c3_frame.h"

#include <string.h>

#include "core/crc.h"

struct err_entry {
    int code;
    const char *name;
    const char *msg;
};

static const struct err_entry err_table[] = {
    /* Sent by panels after 0xC9 (firmware header, matches the PullSDK list). */
    { -1, "ERR_SEND", "command send failed" },
    { -2, "ERR_NO_RESPONSE", "no response" },
    { -3, "ERR_BUFFER", "buffer not big enough" },
    { -4, "ERR_DECOMPRESS", "decompression failed" },
    { -5, "ERR_READ_LEN", "read data length wrong" },
    { -6, "ERR_DECOMP_LEN", "decompressed length differs from expected" },
    { -7, "ERR_REPEATED", "command repeated" },
    { -8, "ERR_NOT_AUTH", "connection not authorised" },
    { -9, "ERR_DATA_CRC", "data CRC check failed" },
    { -10, "ERR_PARSE", "data cannot be parsed" },
    { -11, "ERR_PARAM", "data or parameter error" },
    { -12, "ERR_EXEC", "command execution error" },
    { -13, "ERR_UNKNOWN_CMD", "unknown or unsupported command" },
    { -14, "ERR_PASSWORD", "wrong communication password" },
    { -15, "ERR_WRITE_FILE", "write file failed" },
    { -16, "ERR_READ_FILE", "read file failed" },
    { -17, "ERR_NO_FILE", "file does not exist" },
    { -18, "ERR_NO_SPACE", "no space on device (table full)" },
    { -19, "ERR_CHECKSUM", "checksum error" },
    { -20, "ERR_LENGTH", "received length differs from declared length" },
    { -21, "ERR_PLATFORM_UNSET", "platform parameter not set" },
    { -22, "ERR_PLATFORM", "firmware platform mismatch" },
    { -23, "ERR_FW_OLDER", "firmware older than installed" },
    { -24, "ERR_UPGRADE_FLAG", "upgrade file flag error" },
    { -25, "ERR_UPGRADE_NAME", "upgrade file name wrong (must be emfw.cfg)" },
    { -99, "ERR_UNKNOWN", "unknown error" },
    /* PullSDK host-side codes: never sent by panels, listed so logs from other tools read well. */
    { -100, "SDK_NO_TABLE", "table structure does not exist" },
    { -101, "SDK_NO_FIELD", "condition field does not exist in the table structure" },
    { -102, "SDK_FIELD_COUNT", "total number of fields inconsistent" },
    { -103, "SDK_FIELD_ORDER", "field order inconsistent" },
    { -104, "SDK_RTLOG", "real-time event data error" },
    { -105, "SDK_PARSE", "data parsing error" },
    { -106, "SDK_OVERFLOW", "data overflow (more than 4 MB)" },
    { -107, "SDK_TABLE_STRUCT", "failed to get the table structure" },
    { -108, "SDK_OPTIONS", "invalid options" },
    { -201, "SDK_LOADLIB", "library load failed" },
    { -202, "SDK_INVOKE", "interface call failed" },
    { -203, "SDK_COMM_INIT", "communication initialisation failed" },
    { -206, "SDK_SERIAL", "serial port start failed" },
    { -301, "SDK_TCP_VERSION", "requested TCP/IP version error" },
    { -302, "SDK_VERSION", "incorrect version number" },
    { -303, "SDK_PROTOCOL", "failed to get the protocol type" },
    { -304, "SDK_SOCKET_INVALID", "invalid socket" },
    { -305, "SDK_SOCKET", "socket error" },
    { -306, "SDK_HOST", "host error" },
    { -307, "SDK_CONNECT", "connection attempt failed" },
    /* The codec's own. */
    { C3_E_SHORT, "E_SHORT", "frame shorter than its declared length" },
    { C3_E_START, "E_START", "frame does not start with 0xAA" },
    { C3_E_END, "E_END", "frame does not end with 0x55" },
    { C3_E_CRC, "E_CRC", "frame CRC mismatch" },
    { C3_E_TOOLONG, "E_TOOLONG", "frame data length above the limit" },
    { C3_E_TRAILING, "E_TRAILING", "extra bytes after the frame" },
    { C3_E_NOSPACE, "E_NOSPACE", "output buffer too small" },
    { C3_E_PREFIX, "E_PREFIX", "session prefix missing or short" },
    { C3_E_CODE, "E_CODE", "unexpected reply code" },
    { C3_E_NOERRBYTE, "E_NOERRBYTE", "error reply without an error code" },
    { C3_E_BIGDATA, "E_BIGDATA", "big-data header is not 17 bytes" },
    { C3_E_SESSION, "E_SESSION", "reply carries another session id" },
    { C3_E_SYNTAX, "E_SYNTAX", "malformed text" },
    { C3_E_RANGE, "E_RANGE", "value out of range" },
    { C3_E_TOOMANY, "E_TOOMANY", "too many items" },
    { C3_E_RTLOG_LEN, "E_RTLOG_LEN", "binary RT log length not a multiple of 16" },
};

static const struct err_entry *err_find(int code)
{
    for (size_t i = 0; i < sizeof err_table / sizeof err_table[0]; i++)
        if (err_table[i].code == code)
            return &err_table[i];
    return NULL;
}

const char *c3_strerror(int code)
{
    if (code == 0)
        return "success";
    const struct err_entry *e = err_find(code);
    return e ? e->msg : "unknown error";
}

const char *c3_errname(int code)
{
    const struct err_entry *e = err_find(code);
    return e ? e->name : NULL;
}

size_t c3_frame_size(bool session, size_t payload_len)
{
    return C3_FRAME_OVERHEAD + (session ? C3_SESSION_LEN : 0u) + payload_len;
}

int c3_frame_encode(uint8_t *out, size_t cap, const struct c3_frame_hdr *h, const void *payload,
                    size_t payload_len)
{
    size_t pre = h->session ? C3_SESSION_LEN : 0u;
    if (payload_len > C3_DATA_MAX_ABS - pre)
        return C3_E_TOOLONG;
    size_t n = pre + payload_len;
    size_t total = n + C3_FRAME_OVERHEAD;
    if (!out || cap < total)
        return C3_E_NOSPACE;
    out[0] = C3_FRAME_START;
    out[1] = h->address;
    out[2] = h->command;
    c3_put_le16(out + 3, (uint16_t)n); /* always counts the prefix, whatever the message number */
    if (h->session) {
        c3_put_le16(out + 5, h->sid);
        c3_put_le16(out + 7, h->nr);
    }
    if (payload_len)
        memmove(out + C3_FRAME_HEAD_LEN + pre, payload, payload_len);
    uint16_t crc = crc16_arc(out + 1, 4 + n);
    c3_put_le16(out + C3_FRAME_HEAD_LEN + n, crc);
    out[total - 1] = C3_FRAME_END;
    return (int)total;
}

int c3_frame_encode_error(uint8_t *out, size_t cap, uint8_t address, bool session, uint16_t sid,
                          uint16_t nr, int err)
{
    if (err < -128 || err > 127)
        return C3_E_RANGE;
    struct c3_frame_hdr h = { address, C3_REPLY_ERROR, session, sid, nr };
    uint8_t b = (uint8_t)(int8_t)err;
    return c3_frame_encode(out, cap, &h, &b, 1);
}

/* Bytes to drop to reach the next 0xAA after position 0 (or all of buf). */
static size_t skip_to_next_start(const uint8_t *buf, size_t len)
{
    if (len <= 1)
        return len ? len : 1;
    const uint8_t *p = memchr(buf + 1, C3_FRAME_START, len - 1);
    return p ? (size_t)(p - buf) : len;
}

enum c3_scan_status c3_frame_scan(const uint8_t *buf, size_t len, size_t max_data, struct c3_scan *s)
{
    if (max_data == 0 || max_data > C3_DATA_MAX_ABS)
        max_data = max_data ? C3_DATA_MAX_ABS : C3_DATA_MAX_DEFAULT;
    s->err = 0;
    memset(&s->frame, 0, sizeof s->frame);
    if (len == 0) {
        s->status = C3_SCAN_NEED;
        s->n = 1;
        return s->status;
    }
    if (buf[0] != C3_FRAME_START) {
        const uint8_t *p = memchr(buf, C3_FRAME_START, len);
        s->status = C3_SCAN_SKIP;
        s->n = p ? (size_t)(p - buf) : len;
        s->err = C3_E_START;
        return s->status;
    }
    if (len < C3_FRAME_HEAD_LEN) {
        s->status = C3_SCAN_NEED;
        s->n = C3_FRAME_HEAD_LEN - len;
        return s->status;
    }
    size_t n = c3_get_le16(buf + 3);
    if (n > max_data) {
        s->status = C3_SCAN_SKIP;
        s->n = skip_to_next_start(buf, len);
        s->err = C3_E_TOOLONG;
        return s->status;
    }
    size_t total = n + C3_FRAME_OVERHEAD;
    if (len < total) {
        s->status = C3_SCAN_NEED;
        s->n = total - len;
        return s->status;
    }
    int rc = c3_frame_parse(buf, total, &s->frame);
    if (rc < 0) {
        s->status = C3_SCAN_SKIP;
        s->n = skip_to_next_start(buf, len);
        s->err = rc;
        return s->status;
    }
    s->status = C3_SCAN_FRAME;
    s->n = total;
    return s->status;
}

int c3_frame_parse(const uint8_t *buf, size_t len, struct c3_frame *f)
{
    if (len < 1)
        return C3_E_SHORT;
    if (buf[0] != C3_FRAME_START)
        return C3_E_START;
    if (len < C3_FRAME_OVERHEAD)
        return C3_E_SHORT;
    size_t n = c3_get_le16(buf + 3);
    size_t total = n + C3_FRAME_OVERHEAD;
    if (len < total)
        return C3_E_SHORT;
    if (len > total)
        return C3_E_TRAILING;
    if (buf[total - 1] != C3_FRAME_END)
        return C3_E_END;
    /* Residue trick: the CRC over address..data followed by the received CRC (low, high) is 0. */
    if (crc16_arc(buf + 1, total - 2) != 0)
        return C3_E_CRC;
    f->address = buf[1];
    f->command = buf[2];
    f->data = buf + C3_FRAME_HEAD_LEN;
    f->data_len = n;
    return 0;
}

int c3_frame_session(const struct c3_frame *f, uint16_t *sid, uint16_t *nr, const uint8_t **payload,
                     size_t *payload_len)
{
    if (f->data_len < C3_SESSION_LEN)
        return C3_E_PREFIX;
    if (sid)
        *sid = c3_get_le16(f->data);
    if (nr)
        *nr = c3_get_le16(f->data + 2);
    if (payload)
        *payload = f->data + C3_SESSION_LEN;
    if (payload_len)
        *payload_len = f->data_len - C3_SESSION_LEN;
    return 0;
}

int c3_reply_parse(const struct c3_frame *f, bool session, struct c3_reply *r)
{
    memset(r, 0, sizeof *r);
    r->address = f->address;
    r->code = f->command;
    r->payload = f->data;
    r->payload_len = f->data_len;
    switch (f->command) {
    case C3_REPLY_OK:
    case C3_REPLY_PREPARE:
        if (session && f->data_len > 0) {
            if (f->data_len < C3_SESSION_LEN)
                return C3_E_PREFIX;
            r->has_session = true;
            c3_frame_session(f, &r->sid, &r->nr, &r->payload, &r->payload_len);
        }
        if (f->command == C3_REPLY_PREPARE && r->payload_len != 17)
            return C3_E_BIGDATA;
        return 0;
    case C3_REPLY_ERROR:
        if (f->data_len == 0)
            return C3_E_NOERRBYTE;
        r->error = (int8_t)f->data[f->data_len - 1];
        r->payload_len = f->data_len - 1;
        if (session && f->data_len > 1) {
            if (f->data_len < C3_SESSION_LEN + 1)
                return C3_E_PREFIX;
            r->has_session = true;
            r->sid = c3_get_le16(f->data);
            r->nr = c3_get_le16(f->data + 2);
            r->payload = f->data + C3_SESSION_LEN;
            r->payload_len = f->data_len - C3_SESSION_LEN - 1;
        }
        if (r->error == 0)
            r->error = -99; /* an error reply that claims success: treat as unknown error */
        return 0;
    default:
        return C3_E_CODE;
    }
}

int c3_bigdata_parse(const uint8_t *p, size_t len, struct c3_bigdata *b)
{
    if (len != 17)
        return C3_E_BIGDATA;
    b->compressed = p[0];
    b->transfer_len = c3_get_le32(p + 1);
    b->original_len = c3_get_le32(p + 5);
    b->crc32 = c3_get_le32(p + 9);
    b->chunk_max = c3_get_le32(p + 13);
    return 0;
}

int c3_bigdata_encode(uint8_t *out, size_t cap, const struct c3_bigdata *b)
{
    if (cap < 17)
        return C3_E_NOSPACE;
    out[0] = b->compressed;
    c3_put_le32(out + 1, b->transfer_len);
    c3_put_le32(out + 5, b->original_len);
    c3_put_le32(out + 9, b->crc32);
    c3_put_le32(out + 13, b->chunk_max);
    return 17;
}
