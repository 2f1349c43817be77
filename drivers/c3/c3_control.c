#include "drivers/c3/c3_control.h"

#include <stdio.h>
#include <string.h>

#include "drivers/c3/c3_frame.h"

static int put(uint8_t out[C3_CONTROL_LEN], unsigned op, unsigned p1, unsigned p2, unsigned p3)
{
    out[0] = (uint8_t)op;
    out[1] = (uint8_t)p1;
    out[2] = (uint8_t)p2;
    out[3] = (uint8_t)p3;
    out[4] = 0;
    return (int)C3_CONTROL_LEN;
}

static bool number_ok(unsigned n)
{
    return n >= 1 && n <= C3_CONTROL_NUMBER_MAX;
}

int c3_control_output(uint8_t out[C3_CONTROL_LEN], enum c3_output_type type, unsigned number, unsigned duration)
{
    if ((type != C3_OUTPUT_DOOR && type != C3_OUTPUT_AUX) || !number_ok(number) || duration > 255)
        return C3_E_RANGE;
    return put(out, C3_CTL_OUTPUT, number, (unsigned)type, duration);
}

int c3_control_cancel_alarm(uint8_t out[C3_CONTROL_LEN])
{
    return put(out, C3_CTL_CANCEL_ALARM, 0, 0, 0);
}

int c3_control_restart(uint8_t out[C3_CONTROL_LEN])
{
    return put(out, C3_CTL_RESTART, 0, 0, 0);
}

int c3_control_normal_open(uint8_t out[C3_CONTROL_LEN], unsigned door, bool enable)
{
    if (!number_ok(door))
        return C3_E_RANGE;
    return put(out, C3_CTL_NORMAL_OPEN, door, enable ? 1u : 0u, 0);
}

int c3_control_encode(uint8_t out[C3_CONTROL_LEN], const struct c3_control *c)
{
    switch (c->op) {
    case C3_CTL_OUTPUT:
        return c3_control_output(out, (enum c3_output_type)c->type, c->number, c->duration);
    case C3_CTL_CANCEL_ALARM:
        return c3_control_cancel_alarm(out);
    case C3_CTL_RESTART:
        return c3_control_restart(out);
    case C3_CTL_NORMAL_OPEN:
        return c3_control_normal_open(out, c->number, c->enable);
    }
    return C3_E_RANGE;
}

int c3_control_parse(const uint8_t *p, size_t len, struct c3_control *c)
{
    memset(c, 0, sizeof *c);
    if (len != C3_CONTROL_LEN)
        return C3_E_SHORT;
    c->op = p[0];
    switch (p[0]) {
    case C3_CTL_OUTPUT:
        c->number = p[1];
        c->type = p[2];
        c->duration = p[3];
        if (!number_ok(p[1]) || (p[2] != C3_OUTPUT_DOOR && p[2] != C3_OUTPUT_AUX))
            return C3_E_RANGE;
        return 0;
    case C3_CTL_CANCEL_ALARM:
    case C3_CTL_RESTART:
        return 0;
    case C3_CTL_NORMAL_OPEN:
        c->number = p[1];
        c->enable = p[2] != 0;
        if (!number_ok(p[1]) || p[2] > 1)
            return C3_E_RANGE;
        return 0;
    }
    return C3_E_RANGE;
}

size_t c3_control_describe(const struct c3_control *c, char *buf, size_t cap)
{
    int n;
    const char *what = c->type == C3_OUTPUT_AUX ? "aux" : "door";
    switch (c->op) {
    case C3_CTL_OUTPUT:
        if (c->duration == C3_OUTPUT_CLOSE)
            n = snprintf(buf, cap, "%s %u %s", what, c->number, c->type == C3_OUTPUT_AUX ? "off" : "close");
        else if (c->duration == C3_OUTPUT_LATCH)
            n = snprintf(buf, cap, "%s %u %s", what, c->number, c->type == C3_OUTPUT_AUX ? "on" : "open (latched)");
        else
            n = snprintf(buf, cap, "%s %u %s %u s", what, c->number, c->type == C3_OUTPUT_AUX ? "on" : "open",
                         c->duration);
        break;
    case C3_CTL_CANCEL_ALARM:
        n = snprintf(buf, cap, "cancel alarms");
        break;
    case C3_CTL_RESTART:
        n = snprintf(buf, cap, "restart");
        break;
    case C3_CTL_NORMAL_OPEN:
        n = snprintf(buf, cap, "door %u normal-open %s", c->number, c->enable ? "enable" : "disable");
        break;
    default:
        n = snprintf(buf, cap, "control op %u", c->op);
        break;
    }
    return n < 0 ? 0 : (size_t)n;
}
