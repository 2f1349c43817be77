/* nix1_reader: exactly-once reading of one slave's ACCESS log (spec §5.10) for the bus master's poller: Qe in order,
 * and after a reply that may have been lost (the slave may have moved on) a resynchronisation from the slave's own
 * LOG_POSITION that re-reads the one line in doubt and drops what was read before. A pure state machine. */
#ifndef PORTIER_NIX1_READER_H
#define PORTIER_NIX1_READER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "drivers/nix1/nix1_bus.h"

#define NIX1_READER_RING 64     /* identities of the lines delivered last (for rewinds without a position) */
#define NIX1_READER_WINDOW 10   /* Ne window when the slave does not tell its position (§5.10) */
#define NIX1_READER_REREAD_MAX 8 /* a line in doubt of an older day is re-read with Qg up to this line number */
#define NIX1_READER_NE_MAX 65534 /* the largest Ne (§5.8): back to the start of today's file */

enum nix1_reader_phase { NIX1_RD_READ, NIX1_RD_CONFIG, NIX1_RD_CLOCK, NIX1_RD_NE, NIX1_RD_REREAD };

struct nix1_reader {
    enum nix1_reader_phase phase;
    bool pos_known;             /* the next line's day file and index are known */
    unsigned pos_doy;
    uint32_t pos_idx;
    bool have_last;             /* identity of the last line delivered */
    uint64_t last_id;
    uint64_t ring[NIX1_READER_RING];
    unsigned ring_n, ring_pos;
    /* resynchronisation */
    unsigned cfg_doy;           /* the slave's LOG_POSITION (day, next line) */
    uint32_t cfg_idx;
    uint32_t target;            /* the line in doubt, to position at */
    bool check_first;           /* that line may be the last one delivered: dropped when it is */
    uint32_t ne_k;
    unsigned ne_tries;
    bool probe;                 /* the Ne that goes back to the start and learns today's line count */
    bool blind;                 /* Ne without a position (explicit rewind, no LOG_POSITION): ring window */
    uint32_t skip;              /* replayed lines before the target: dropped by position */
    uint32_t window;            /* lines after a blind Ne that may be replays: dropped when seen */
};

struct nix1_reader_req {
    char cmd, arg;
    char opt[40];
};

enum nix1_reader_ev {
    NIX1_RD_NONE,  /* nothing for the listeners */
    NIX1_RD_ENTRY, /* a new entry: line, len */
    NIX1_RD_DUP,   /* a line read again: dropped */
    NIX1_RD_ERROR, /* the log cannot be read now: rc */
    NIX1_RD_GAP,   /* an entry may be lost: text */
};

struct nix1_reader_out {
    enum nix1_reader_ev ev;
    bool more;                  /* another request to this slave is due at once */
    const char *line;           /* NIX1_RD_ENTRY: points into the result */
    size_t len;
    uint8_t rc;
    char text[200];
};

/* resync: begin by asking the slave where it is and reading the line before that position again (after a restart:
 * the last line a crashed process read may not have been stored). */
void nix1_reader_init(struct nix1_reader *r, bool resync);
/* The request to send next for this slave. */
void nix1_reader_next(const struct nix1_reader *r, struct nix1_reader_req *q);
/* The outcome of that request (REPLY, or TIMEOUT/IO/...: nothing came back and the slave may have moved on). */
void nix1_reader_done(struct nix1_reader *r, const struct nix1_result *res, struct nix1_reader_out *out);
/* Read the last k lines of today again (Ne<k>); lines delivered recently are dropped. */
void nix1_reader_rewind(struct nix1_reader *r, unsigned k);
/* The identity of an ACCESS line (64-bit FNV-1a of the whole line: the spec's "full identical line"). */
uint64_t nix1_reader_id(const char *line, size_t len);

#endif
