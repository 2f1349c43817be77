#include "drivers/nix1/nix1_rc.h"

#include <string.h>

const struct nix1_rc_info nix1_rc_table[] = {
    { 0x00, "OK", NULL, "success (also each data line of a multi-line reply)", "access granted", NULL },
    { 0x04, "EOT", NULL, "end of a multi-line reply, or no pending access entry", NULL, NULL },
    { 0x06, "ACK", NULL, "upload packet stored", NULL, NULL },
    { 0x15, "NAK", NULL, "line garbled or longer than 320 chars; resend", NULL, NULL },
    { 0x16, "SYN", NULL, "slave busy (format, flashing, restart); retry later", NULL, NULL },
    { 0x21, "ERROR_ADDRESS", NULL, "address error (reserved)", NULL, NULL },
    { 0x41, "ERROR_ARG", NULL, "argument letter not defined for this command", NULL, NULL },
    { 0x42, "ERROR_BUS", NULL, "1-Wire probe bus fault", "1-Wire probe bus fault (short or no presence pulse)", NULL },
    { 0x43, "ERROR_CMD", "ERROR_CREDENTIAL", "command not D, N or Q",
      "key increment differs from the user's (lost or revoked key)", NULL },
    { 0x44, "ERROR_DATA", NULL, "data error (iC products only)", NULL, "iC" },
    { 0x46, "ERROR_FLASH", NULL, "firmware flashing failed", "firmware flashing failed after the retries", NULL },
    { 0x47, "ERROR_CRC", NULL, "block or file CRC mismatch", NULL, NULL },
    { 0x48, "ERROR_HASH", NULL, "hash mismatch", "iButton credential hash mismatch", NULL },
    { 0x49, "ERROR_IB", NULL, "iButton unreadable", "iButton present but unreadable", NULL },
    { 0x4B, "ERROR_KEY", NULL, "no key, or invalid key text", "key timestamp on the iButton not in KEYS.TXT", NULL },
    { 0x4C, "ERROR_LOG", NULL, "cannot read the ACCESS log file", NULL, NULL },
    { 0x4D, "ERROR_MALLOC", NULL, "out of memory (reserved)", NULL, NULL },
    { 0x4E, "ERROR_NOT_FOUND", NULL, "file, record, key, right or user not found", NULL, NULL },
    { 0x4F, "ERROR_OFFSET", NULL, "offset error (reserved)", NULL, NULL },
    { 0x50, "ERROR_PARAM", NULL, "wrong option fields, bad value, filename, TZ, probe or baud rate", NULL, NULL },
    { 0x51, "ERROR_QUANTITY", NULL, "packet count mismatch", NULL, NULL },
    { 0x52, "ERROR_RXDATA", NULL, "block is not valid hex or has the wrong length", NULL, NULL },
    { 0x53, "ERROR_STOPPED_MISSION", NULL, "mission stopped (iC products only)", NULL, "iC" },
    { 0x54, "ERROR_TYPE", NULL, "unsupported 1-Wire device family", "presented 1-Wire device has an unsupported family", NULL },
    { 0x55, "ERROR_USER", NULL, "unknown user", "uid unknown, or no right for this unit", NULL },
    { 0x57, "ERROR_WRITE", NULL, "µSD write or rename failed", NULL, NULL },
    { 0x58, "ERROR_X", NULL, "unspecified error (reserved)", NULL, NULL },
    { 0x60, "ERROR_SYNTAX", NULL, "cron expression invalid, or no cron set", NULL, NULL },
    { 0x61, "ERROR_DAY_OF_YEAR", NULL, "clock not set: day of year unknown", NULL, NULL },
    { 0x63, "ERROR_COPY", NULL, "file copy failed", NULL, NULL },
    { 0x64, "ERROR_NOBROADCAST", NULL, "command cannot be broadcast", "non-broadcastable command received by broadcast", NULL },
    { 0x65, "ERROR_EMPTY_MISSION", NULL, "empty mission (iC products only)", NULL, "iC" },
    { 0x6C, "ERROR_LOCK", NULL, "probe locked", "probe locked", NULL },
    { 0x72, "ERROR_RESOLUTION", NULL, "resolution error (sC products only)", NULL, "sC" },
    { 0x73, "ERROR_SCHEDULE", NULL, "outside the allowed schedule", "user right exists but its cron does not match now", NULL },
    { 0x74, "ERROR_TIMESTAMP", NULL, "timestamp not numeric or out of range",
      "iButton key timestamp older than the user's (suspected copy)", NULL },
    { 0x76, "ERROR_UNIT", NULL, "unit out of range or not set", "probe has no unit", NULL },
    { 0x7B, "ERROR_SDCARDNOTFOUND", NULL, "µSD card not found", NULL, NULL },
    { 0xFF, "ERROR_INT", NULL, "internal error", NULL, NULL },
};
const size_t nix1_rc_count = sizeof nix1_rc_table / sizeof nix1_rc_table[0];

const struct nix1_rc_info *nix1_rc_info(unsigned code)
{
    for (size_t i = 0; i < nix1_rc_count; i++)
        if (nix1_rc_table[i].code == code)
            return &nix1_rc_table[i];
    return NULL;
}

bool nix1_rc_known(unsigned code)
{
    return nix1_rc_info(code) != NULL;
}

const char *nix1_rc_name(unsigned code)
{
    const struct nix1_rc_info *i = nix1_rc_info(code);
    return i ? i->name : "UNKNOWN";
}

const char *nix1_rc_meaning(unsigned code)
{
    const struct nix1_rc_info *i = nix1_rc_info(code);
    return i ? i->meaning : "unknown return code";
}

const char *nix1_rc_log_name(unsigned code)
{
    const struct nix1_rc_info *i = nix1_rc_info(code);
    if (!i)
        return "UNKNOWN";
    return i->log_name ? i->log_name : i->name;
}

const char *nix1_rc_log_meaning(unsigned code)
{
    const struct nix1_rc_info *i = nix1_rc_info(code);
    if (!i)
        return "unknown return code";
    return i->log_meaning ? i->log_meaning : i->meaning;
}

int nix1_rc_from_name(const char *name)
{
    if (!name)
        return -1;
    for (size_t i = 0; i < nix1_rc_count; i++) {
        const struct nix1_rc_info *r = &nix1_rc_table[i];
        const char *names[2] = { r->name, r->log_name };
        for (int k = 0; k < 2; k++) {
            const char *n = names[k];
            if (!n)
                continue;
            if (strcmp(n, name) == 0)
                return r->code;
            if (strncmp(n, "ERROR_", 6) == 0 && strcmp(n + 6, name) == 0)
                return r->code;
        }
    }
    return -1;
}
