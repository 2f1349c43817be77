/* c3_frame: the ZKTeco C3 / inBio "PullSDK" wire frame (spec c3-protocol.md §1-§2), both directions.
 * Pure codec: encode requests and replies, scan a byte stream for frames, split the session prefix, read reply codes. */
#ifndef PORTIER_C3_FRAME_H
#define PORTIER_C3_FRAME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Frame layout: AA addr cmd lenLo lenHi data[len] crcLo crcHi 55. CRC-16/ARC over addr..data. */
#define C3_FRAME_START     0xAAu
#define C3_FRAME_END       0x55u
#define C3_FRAME_HEAD_LEN  5u   /* start, address, command, length (2) */
#define C3_FRAME_OVERHEAD  8u   /* head + CRC (2) + end */
#define C3_SESSION_LEN     4u   /* session id (2, LE) + message number (2, LE) */
#define C3_ADDRESS_DEFAULT 0x01u
#define C3_TCP_PORT        4370u
#define C3_UDP_DISCOVERY_PORT 65535u
/* Largest data field the scanner accepts unless told otherwise. The firmware's frame limit is ~5 KB
 * (big answers switch to the 0x0D big-data protocol); this leaves room for a client-chosen chunk size. */
#define C3_DATA_MAX_DEFAULT 16384u
#define C3_DATA_MAX_ABS     65535u  /* the length field is 16 bits */
/* First message number zkaccess-c3-py uses (for the 0x76 connect): -258 as 16 bits. */
#define C3_MSGNR_CONNECT   0xFEFEu
#define C3_SID_CONNECT     0xFEFEu
/* What ends a line of a panel's text answers (table structures, real-time key=value records): CR, LF or NUL. */
#define C3_TEXT_LINE_ENDS     "\r\n\0"
#define C3_TEXT_LINE_ENDS_LEN 3u

/* Request commands (byte 2). */
enum c3_cmd {
    C3_CMD_CONNECT = 0x01,          /* session-less connect, payload = password */
    C3_CMD_DISCONNECT = 0x02,
    C3_CMD_SET_PARAM = 0x03,        /* "Name=Value,..." */
    C3_CMD_GET_PARAM = 0x04,        /* "Name,Name,..." */
    C3_CMD_CONTROL = 0x05,          /* 5 bytes, see c3_control.h */
    C3_CMD_TABLE_STRUCT = 0x06,
    C3_CMD_SET_DATA = 0x07,
    C3_CMD_GET_DATA = 0x08,
    C3_CMD_DELETE_DATA = 0x09,
    C3_CMD_GET_DATA_COUNT = 0x0A,
    C3_CMD_RTLOG_BINARY = 0x0B,
    C3_CMD_PREPARE_DATA = 0x0D,
    C3_CMD_READ_DATA = 0x0E,
    C3_CMD_FREE_DATA = 0x0F,
    C3_CMD_DATA = 0x11,
    C3_CMD_DISCOVER = 0x14,         /* UDP, payload "CallSecurityDevice" */
    C3_CMD_MODIFY_IP = 0x15,        /* UDP, "MAC=...,IPAddress=..." */
    C3_CMD_SET_BINARYDATA = 0x16,
    C3_CMD_GET_BINARYDATA = 0x17,
    C3_CMD_GET_DATA_OK = 0x19,
    C3_CMD_CONNECT_SESSION = 0x76,  /* newer firmware: prefix FE FE FE FE + password */
    C3_CMD_HASH_DATA = 0x77,
    C3_CMD_RTLOG_KV = 0x79,         /* newer firmware: text RT log */
};

/* Reply codes (byte 2 of a reply). */
enum c3_reply_code {
    C3_REPLY_OK = 0xC8,
    C3_REPLY_ERROR = 0xC9,
    C3_REPLY_PREPARE = 0x0D,        /* big-data header follows (17 bytes) */
};

#define C3_DISCOVER_PAYLOAD "CallSecurityDevice"

/* Error codes. -1..-99 are the signed bytes panels send after 0xC9 (spec §2), -100..-307 the PullSDK host-side
 * codes (never sent by panels; kept for messages). The codec's own errors live at -1000 and below so one
 * c3_strerror() covers every int this driver returns. */
enum c3_codec_err {
    C3_E_SHORT = -1001,      /* not enough bytes for what the header says */
    C3_E_START = -1002,      /* first byte is not 0xAA */
    C3_E_END = -1003,        /* last byte is not 0x55 */
    C3_E_CRC = -1004,        /* CRC-16/ARC residue not 0 */
    C3_E_TOOLONG = -1005,    /* declared data length above the limit */
    C3_E_TRAILING = -1006,   /* bytes after the frame where exactly one frame was expected */
    C3_E_NOSPACE = -1007,    /* output buffer too small */
    C3_E_PREFIX = -1008,     /* session prefix missing or short */
    C3_E_CODE = -1009,       /* reply code is none of C8 / C9 / 0D */
    C3_E_NOERRBYTE = -1010,  /* C9 reply without the error byte */
    C3_E_BIGDATA = -1011,    /* 0x0D header is not 17 bytes */
    C3_E_SESSION = -1012,    /* echoed session id does not match */
    C3_E_SYNTAX = -1013,     /* text (params, RT log) malformed */
    C3_E_RANGE = -1014,      /* value out of range */
    C3_E_TOOMANY = -1015,    /* more items than a batch or output array allows */
    C3_E_RTLOG_LEN = -1016,  /* binary RT log not a multiple of 16 bytes: switch to 0x79 for good */
};

/* Human message for any error this driver returns or a panel sends, e.g. c3_strerror(-13) =
 * "unknown or unsupported command". Unknown codes give "unknown error". Never NULL. */
const char *c3_strerror(int code);
/* Short symbolic name of a panel error, e.g. "ERR_UNKNOWN_CMD" for -13; NULL if unknown. */
const char *c3_errname(int code);

/* A frame's fields; data points into the buffer that was parsed. */
struct c3_frame {
    uint8_t address;
    uint8_t command;
    const uint8_t *data;
    size_t data_len;
};

/* What to put in the header of an outgoing frame. */
struct c3_frame_hdr {
    uint8_t address;     /* C3_ADDRESS_DEFAULT for requests; panels put their DeviceID here */
    uint8_t command;     /* a c3_cmd for requests, a c3_reply_code for replies */
    bool session;        /* prepend sid + nr (the length always counts them) */
    uint16_t sid;
    uint16_t nr;
};

/* Total encoded size for a payload of n bytes, with or without the session prefix. */
size_t c3_frame_size(bool session, size_t payload_len);

/* Encode one frame into out[cap]. Returns the total length (>= 8), or C3_E_NOSPACE if cap is too small,
 * C3_E_TOOLONG if the data field would exceed 65535 bytes. payload may be NULL when payload_len is 0. */
int c3_frame_encode(uint8_t *out, size_t cap, const struct c3_frame_hdr *h, const void *payload,
                    size_t payload_len);

/* Encode an error reply (0xC9): [prefix] + one signed error byte (e.g. -13). */
int c3_frame_encode_error(uint8_t *out, size_t cap, uint8_t address, bool session, uint16_t sid,
                          uint16_t nr, int err);

/* Stream scanner. Feed it everything received and not consumed yet; it looks at the front of buf. */
enum c3_scan_status {
    C3_SCAN_NEED,   /* n = minimum number of further bytes needed before calling again */
    C3_SCAN_FRAME,  /* a valid frame of total length n starts at buf[0]; its fields are in s->frame */
    C3_SCAN_SKIP,   /* discard the first n bytes (garbage or a bad frame; reason in err), then call again */
};
struct c3_scan {
    enum c3_scan_status status;
    size_t n;
    int err;   /* for SKIP: C3_E_START (bytes before 0xAA), C3_E_TOOLONG, C3_E_CRC or C3_E_END */
    struct c3_frame frame;   /* for FRAME: the parsed fields, pointing into buf */
};
/* max_data: largest accepted data length (0 = C3_DATA_MAX_DEFAULT). Returns s->status. An empty buffer
 * gives NEED with n = 1. SKIP always has n >= 1 and stops at the next 0xAA (or the end of buf). */
enum c3_scan_status c3_frame_scan(const uint8_t *buf, size_t len, size_t max_data, struct c3_scan *s);

/* Parse exactly one complete frame of len bytes (a C3_SCAN_FRAME result, or one UDP datagram).
 * Checks start, declared length, CRC (residue trick) and end byte; any address byte is accepted.
 * Returns 0 or a C3_E_* code. */
int c3_frame_parse(const uint8_t *buf, size_t len, struct c3_frame *f);

/* Split the 4-byte session prefix off f->data. Returns 0 or C3_E_PREFIX if data is shorter than 4. */
int c3_frame_session(const struct c3_frame *f, uint16_t *sid, uint16_t *nr, const uint8_t **payload,
                     size_t *payload_len);

/* A reply, interpreted. */
struct c3_reply {
    uint8_t address;
    uint8_t code;            /* C3_REPLY_OK / ERROR / PREPARE */
    bool has_session;        /* the prefix was present (session mode and long enough) */
    uint16_t sid, nr;        /* echoed prefix, when has_session */
    const uint8_t *payload;  /* the result after the prefix (for C9: everything before the error byte) */
    size_t payload_len;
    int error;               /* C9: the signed panel error (e.g. -13); 0 otherwise */
};
/* Interpret a parsed frame as a reply. session = the connection is in session mode: a prefix is then
 * expected on C8/0D replies that carry data (a C8 with no data at all is accepted, as panels answer
 * disconnect that way) and on C9 replies longer than the error byte (a session-less firmware rejecting
 * 0x76 answers C9 with just the error byte). Returns 0 or a C3_E_* code. */
int c3_reply_parse(const struct c3_frame *f, bool session, struct c3_reply *r);

/* The 17-byte big-data header (reply code 0x0D, spec §3.7). */
struct c3_bigdata {
    uint8_t compressed;
    uint32_t transfer_len;
    uint32_t original_len;
    uint32_t crc32;
    uint32_t chunk_max;
};
int c3_bigdata_parse(const uint8_t *p, size_t len, struct c3_bigdata *b);
/* Writes the 17 bytes (for the simulator). Returns 17 or C3_E_NOSPACE. */
int c3_bigdata_encode(uint8_t *out, size_t cap, const struct c3_bigdata *b);

/* Message numbers: start at C3_MSGNR_CONNECT and add one per request, wrapping at 16 bits
 * (0xFFFF -> 0x0000 is an ordinary number: the frame length does not depend on it). */
static inline uint16_t c3_msgnr_next(uint16_t nr) { return (uint16_t)(nr + 1u); }

/* Little-endian helpers shared by the C3 codec modules. */
static inline uint16_t c3_get_le16(const uint8_t *p) { return (uint16_t)(p[0] | (p[1] << 8)); }
static inline uint32_t c3_get_le32(const uint8_t *p)
{
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}
static inline void c3_put_le16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)v; p[1] = (uint8_t)(v >> 8); }
static inline void c3_put_le32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v; p[1] = (uint8_t)(v >> 8); p[2] = (uint8_t)(v >> 16); p[3] = (uint8_t)(v >> 24);
}

#endif
