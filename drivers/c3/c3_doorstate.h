/* c3_doorstate: what the C3 adapter remembers of a panel's doors across runs (the emergency's intent, unlocks and
 * restores not yet confirmed, the state before the emergency, held and normal-open) as its state file's text. */
#ifndef PORTIER_C3_DOORSTATE_H
#define PORTIER_C3_DOORSTATE_H

#include <stdbool.h>
#include <stddef.h>

#define C3_DOORSTATE_DOORS 4

struct c3_doorstate_door {
    bool emergency;       /* unlocked by the emergency (confirmed) */
    bool em_pending;      /* the emergency's unlock is due (intent stored, not confirmed) */
    bool restore_pending; /* the restore is due (intent stored, not confirmed) */
    bool prev_held, prev_no; /* held / normal-open before the emergency: what "previous" puts back */
    bool held, normal_open;  /* now, as far as portier knows */
};

struct c3_doorstate {
    bool em_intent;       /* the last emergency command was "on" */
    bool restore_locked;  /* a due restore is "locked" rather than "previous" */
    unsigned doors;       /* 1..4 */
    struct c3_doorstate_door door[C3_DOORSTATE_DOORS];
};

/* The file's text into buf: "emergency on|off restore previous|locked", then per door "door N emergency pending
 * prev_held prev_normal_open held normal_open restore_pending". Returns its length, or 0 when nothing is worth
 * remembering (the file can go). */
size_t c3_doorstate_format(const struct c3_doorstate *st, char *buf, size_t len);
/* Read a file's text into st (st->doors set by the caller; what the text does not say stays as it was). Lines that
 * are not understood are skipped and counted (returned). A text without the "emergency" line (written before
 * the intent was kept) takes the intent from its doors. */
int c3_doorstate_parse(const char *text, size_t len, struct c3_doorstate *st);

#endif
