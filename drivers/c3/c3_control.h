/* c3_control: the 5-byte CONTROL_DEVICE (0x05) payloads (spec §3.3): door/aux output pulse or latch,
 * cancel alarms, restart, normal-open enable/disable; built for the client, parsed for the simulator. */
#ifndef PORTIER_C3_CONTROL_H
#define PORTIER_C3_CONTROL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define C3_CONTROL_LEN 5u
#define C3_CONTROL_NUMBER_MAX 4u   /* doors and aux outputs are numbered 1-4 */

enum c3_control_op {
    C3_CTL_OUTPUT = 1,        /* p1 number, p2 address type, p3 duration */
    C3_CTL_CANCEL_ALARM = 2,
    C3_CTL_RESTART = 3,
    C3_CTL_NORMAL_OPEN = 4,   /* p1 door, p2 1 enable / 0 disable */
};

enum c3_output_type {
    C3_OUTPUT_DOOR = 1,       /* door lock relay */
    C3_OUTPUT_AUX = 2,        /* auxiliary output */
};

/* Output durations: 0 closes / switches off, 1-254 seconds, 255 stays open (normal open). */
#define C3_OUTPUT_CLOSE 0u
#define C3_OUTPUT_LATCH 255u

struct c3_control {
    uint8_t op;
    uint8_t number;     /* OUTPUT / NORMAL_OPEN: door or aux 1-4 */
    uint8_t type;       /* OUTPUT: enum c3_output_type */
    uint8_t duration;   /* OUTPUT: 0 / 1-254 / 255 */
    bool enable;        /* NORMAL_OPEN */
};

/* Each writes 5 bytes into out and returns C3_CONTROL_LEN, or C3_E_RANGE for a bad number/type. */
int c3_control_output(uint8_t out[C3_CONTROL_LEN], enum c3_output_type type, unsigned number, unsigned duration);
int c3_control_cancel_alarm(uint8_t out[C3_CONTROL_LEN]);
int c3_control_restart(uint8_t out[C3_CONTROL_LEN]);
int c3_control_normal_open(uint8_t out[C3_CONTROL_LEN], unsigned door, bool enable);
int c3_control_encode(uint8_t out[C3_CONTROL_LEN], const struct c3_control *c);

/* Parse a received payload (simulator side). Returns 0, C3_E_SHORT if len != 5 (the firmware reads exactly
 * five bytes), C3_E_RANGE for an unknown operation or out-of-range field. */
int c3_control_parse(const uint8_t *p, size_t len, struct c3_control *c);

/* One-line description for logs and audit: "door 1 open 5 s", "aux 2 off", "door 2 normal-open enable". */
size_t c3_control_describe(const struct c3_control *c, char *buf, size_t cap);

#endif
