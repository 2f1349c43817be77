/* cron: five-field cron expressions (min hour dom month dow, Sunday = 0) where ALL fields must match,
 * per-minute matching, the next change of the match state, and fail-safe window crons for timed opens. */
#ifndef PORTIER_CRON_H
#define PORTIER_CRON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

struct cron {
    uint64_t minute; /* bit m for minute 0..59 */
    uint32_t hour;   /* bit h for hour 0..23 */
    uint32_t dom;    /* bit d for day 1..31 */
    uint16_t month;  /* bit m for month 1..12 */
    uint8_t dow;     /* bit w for weekday 0..6, Sunday = 0 */
};

#define CRON_TEXT_MAX 160 /* longest expression cron_parse accepts */

/* Parse "min hour dom month dow": fields separated by runs of spaces, no leading/trailing space. Each
 * field is a comma list of `*`, `n`, `a-b`, `*\/s` or `a-b/s` (numbers of 1-2 digits, a <= b, s >= 1).
 * Returns 0, or -1 with a message in err (if not NULL), e.g. "field 2 (hour): 24 out of range 0-23". */
int cron_parse(const char *s, size_t len, struct cron *out, char *err, size_t errsz);
int cron_parse_str(const char *s, struct cron *out, char *err, size_t errsz);

/* All five fields match the broken-down time (tm_min, tm_hour, tm_mday, tm_mon 0-11, tm_wday). */
bool cron_match_tm(const struct cron *c, const struct tm *tm);
/* Match at UTC epoch t shifted by tz_minutes (local = UTC + tz). */
bool cron_match(const struct cron *c, time_t t, int tz_minutes);

/* The first minute boundary after t (strictly later) at which the match state differs from the state
 * at t, searching up to `limit` seconds ahead. Returns that UTC time, or -1 if no change within limit.
 * Cost: at most one day scanned minute by minute plus O(1) per further day. */
time_t cron_next_change(const struct cron *c, time_t t, int tz_minutes, time_t limit);

/* Fail-safe timed-open window: the cron for the first segment of [start, start + minutes*60) in local
 * time (start rounded down to its minute) that one cron expression can express without matching any
 * minute outside the window: within one hour `m1-m2 H D M *`, or whole hours `* H1-H2 D M *` when the
 * window starts on an hour. *seg_end receives the UTC end of that segment (the first minute NOT matched);
 * when *seg_end < start + minutes*60 the caller re-arms with the rest at *seg_end, so that a vanished
 * console leaves the door closed early, never open late. Returns the text length, or -1. */
int cron_window(char *buf, size_t cap, time_t start, unsigned minutes, int tz_minutes, time_t *seg_end);

#endif
