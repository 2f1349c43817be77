#include "drivers/c3/c3_tables.h"

#include <stdio.h>

#define N C3_SEV_NORMAL
#define W C3_SEV_WARNING
#define A C3_SEV_ALARM

struct event_info {
    const char *key;
    const char *name;
    uint8_t severity;
    bool grant;
};

/* Indexed by code; entries with name NULL are unknown. Severity rationale in doc/decisions.md (C3 codec). */
static const struct event_info events[256] = {
    [0] = { "card_open", "normal punch open (card)", N, true },
    [1] = { "punch_normal_open_tz", "punch during normal-open time zone", N, true },
    [2] = { "first_card_normal_open", "first card normal open (card)", N, true },
    [3] = { "multi_card_open", "multi-card open (card)", N, true },
    [4] = { "emergency_password_open", "emergency password open", N, true },
    [5] = { "normal_open_tz_start", "open during normal-open time zone", N, false },
    [6] = { "linkage", "linkage event triggered", N, false },
    [7] = { "cancel_alarm", "alarm cancelled", N, false },
    [8] = { "remote_open", "remote opening", N, true },
    [9] = { "remote_close", "remote closing", N, false },
    [10] = { "intraday_normal_open_disabled", "intraday normal-open time zone disabled", N, false },
    [11] = { "intraday_normal_open_enabled", "intraday normal-open time zone enabled", N, false },
    [12] = { "aux_output_open", "auxiliary output opened", N, false },
    [13] = { "aux_output_close", "auxiliary output closed", N, false },
    [14] = { "finger_open", "fingerprint open", N, true },
    [15] = { "multi_card_open_finger", "multi-card open (fingerprint)", N, true },
    [16] = { "finger_normal_open_tz", "fingerprint during normal-open time zone", N, true },
    [17] = { "card_finger_open", "card plus fingerprint open", N, true },
    [18] = { "first_card_normal_open_finger", "first card normal open (fingerprint)", N, true },
    [19] = { "first_card_normal_open_card_finger", "first card normal open (card plus fingerprint)", N, true },
    [20] = { "punch_interval_too_short", "punch interval too short", W, false },
    [21] = { "door_inactive_tz_card", "door inactive time zone (card)", W, false },
    [22] = { "illegal_tz", "illegal time zone", W, false },
    [23] = { "access_denied", "access denied", W, false },
    [24] = { "anti_passback", "anti-passback", W, false },
    [25] = { "interlock", "interlock", W, false },
    [26] = { "multi_card_auth_card", "multi-card authentication (card)", N, false },
    [27] = { "unregistered_card", "unregistered card", W, false },
    [28] = { "open_timeout", "door open timeout", W, false },
    [29] = { "card_expired", "card expired", W, false },
    [30] = { "password_error", "password error", W, false },
    [31] = { "finger_interval_too_short", "fingerprint interval too short", W, false },
    [32] = { "multi_card_auth_finger", "multi-card authentication (fingerprint)", N, false },
    [33] = { "finger_expired", "fingerprint expired", W, false },
    [34] = { "unregistered_finger", "unregistered fingerprint", W, false },
    [35] = { "door_inactive_tz_finger", "door inactive time zone (fingerprint)", W, false },
    [36] = { "door_inactive_tz_button", "door inactive time zone (exit button)", W, false },
    [37] = { "close_failed_normal_open_tz", "failed to close during normal-open time zone", W, false },
    [41] = { "verify_type_invalid", "verify type invalid", W, false },
    [42] = { "wiegand_format_error", "Wiegand format error", W, false },
    [43] = { "background_verify_timeout", "background verification timeout", W, false },
    [44] = { "background_verify", "background verification", N, false },
    [45] = { "user_unknown", "user does not exist", W, false },
    [100] = { "tamper", "tamper alarm", A, false },
    [101] = { "duress_password_open", "duress password open", A, true },
    [102] = { "forced_open", "door forced open", A, false },
    [103] = { "duress_finger_open", "duress fingerprint open", A, true },
    [200] = { "door_opened", "door opened", N, false },
    [201] = { "door_closed", "door closed", N, false },
    [202] = { "exit_button_open", "exit button open", N, true },
    [203] = { "multi_card_open_card_finger", "multi-card open (card plus fingerprint)", N, true },
    [204] = { "normal_open_tz_over", "normal-open time zone over", N, false },
    [205] = { "remote_normal_open", "remote normal opening", N, true },
    [206] = { "device_start", "device started", W, false },
    [207] = { "password_open", "password open", N, true },
    [208] = { "superuser_open", "superuser open", N, true },
    [220] = { "aux_input_open", "auxiliary input disconnected", W, false },
    [221] = { "aux_input_short", "auxiliary input shorted", W, false },
    [255] = { "status", "door/alarm status", N, false },
};

const char *c3_event_name(unsigned code)
{
    return code < 256 ? events[code].name : NULL;
}

const char *c3_event_key(unsigned code)
{
    return code < 256 ? events[code].key : NULL;
}

bool c3_event_known(unsigned code)
{
    return c3_event_name(code) != NULL;
}

enum c3_severity c3_event_severity(unsigned code)
{
    if (!c3_event_known(code))
        return C3_SEV_WARNING;
    return (enum c3_severity)events[code].severity;
}

bool c3_event_is_grant(unsigned code)
{
    return code < 256 && events[code].grant;
}

static const char *label(const char *name, const char *prefix, unsigned code, char *buf, size_t cap)
{
    if (name)
        return name;
    if (buf && cap)
        snprintf(buf, cap, "%s %u", prefix, code);
    return buf ? buf : "unknown";
}

const char *c3_event_label(unsigned code, char *buf, size_t cap)
{
    return label(c3_event_name(code), "event", code, buf, cap);
}

const char *c3_severity_name(enum c3_severity s)
{
    switch (s) {
    case C3_SEV_NORMAL:
        return "normal";
    case C3_SEV_WARNING:
        return "warning";
    case C3_SEV_ALARM:
        return "alarm";
    }
    return "unknown";
}

const char *c3_verify_name(unsigned code)
{
    static const char *const modes[] = {
        "card, finger or password", "finger", "PIN", "password", "card", "finger or password",
        "finger or card", "password or card", "PIN and finger", "finger and password", "finger and card",
        "password and card", "finger, password and card", "PIN, finger and password",
        "finger and card, or PIN",
    };
    if (code < sizeof modes / sizeof modes[0])
        return modes[code];
    if (code == 200)
        return "other";
    return NULL;
}

const char *c3_verify_label(unsigned code, char *buf, size_t cap)
{
    return label(c3_verify_name(code), "verify", code, buf, cap);
}

const char *c3_inout_name(unsigned code)
{
    switch (code) {
    case C3_INOUT_ENTRY:
        return "entry";
    case C3_INOUT_EXIT:
        return "exit";
    case C3_INOUT_NONE:
        return "none";
    }
    return NULL;
}

const char *c3_inout_label(unsigned code, char *buf, size_t cap)
{
    return label(c3_inout_name(code), "inout", code, buf, cap);
}
