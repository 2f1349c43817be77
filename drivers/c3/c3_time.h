/* c3_time: the C3 "packed time" (spec §4.3: seconds on a 31-day-month calendar from 2000-01-01, panel local
 * time) both ways, validation, struct tm and ISO 8601 conversion, and the DST word; pure, no clock reads. */
#ifndef PORTIER_C3_TIME_H
#define PORTIER_C3_TIME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

struct c3_time {
    int year;    /* 2000 .. 2133 */
    int month;   /* 1-12 */
    int day;     /* 1-31 (real month length when valid) */
    int hour, minute, second;
};

#define C3_TIME_YEAR_MIN 2000
#define C3_TIME_YEAR_MAX 2133   /* 0xFFFFFFFF / 32140800 = 133 years */
#define C3_TIME_ISO_LEN 20      /* "2023-06-25T07:52:05" + NUL */

/* Split a packed value into fields. Every 32-bit value gives fields in range (month 1-12, day 1-31),
 * but the date may not exist (e.g. 31 February): see c3_time_valid(). */
void c3_time_unpack(uint32_t v, struct c3_time *t);
/* true if t is a real calendar date and time (Gregorian, years 2000-2133) that fits in 32 bits. */
bool c3_time_valid(const struct c3_time *t);
/* Pack; returns 0 or C3_E_RANGE when !c3_time_valid(t). */
int c3_time_pack(const struct c3_time *t, uint32_t *v);

/* Packed value <-> struct tm (tm_isdst = -1; tm_wday and tm_yday computed). to_tm fails with C3_E_RANGE
 * for a value that is not a real date. */
int c3_time_to_tm(uint32_t v, struct tm *tm);
int c3_time_from_tm(const struct tm *tm, uint32_t *v);

/* Format as ISO 8601 local time "2023-06-25T07:52:05" (sep = 'T') or "2023-06-25 07:52:05" (sep = ' ').
 * Writes at most cap bytes, always NUL-terminated when cap > 0; returns the length it needed (19). An
 * impossible date is still printed field by field so raw values stay visible. */
size_t c3_time_format(uint32_t v, char sep, char *buf, size_t cap);
/* Parse "YYYY-MM-DDTHH:MM:SS" or "YYYY-MM-DD HH:MM:SS" (exactly this shape, len bytes, no NUL needed). */
int c3_time_parse(const char *s, size_t len, uint32_t *v);

/* The panel's local time for a given instant, using the process time zone (localtime_r). Pass time(NULL)
 * in production and a fixed value in tests. Returns 0 or C3_E_RANGE outside 2000-2133. */
int c3_time_from_time_t(time_t when, uint32_t *v);

/* DaylightSavingTime / StandardTime parameter word: (month << 24) | (day << 16) | (hour << 8) | minute. */
uint32_t c3_time_dst_pack(int month, int day, int hour, int minute);
void c3_time_dst_unpack(uint32_t w, int *month, int *day, int *hour, int *minute);

#endif
