/* c3_device_data: DEVICE_PANEL_DATA of the C3 adapter: a panel's users, cards, access rights, time zones and
 * holidays read or changed through c3_store on the adapter's session, for every front end that goes through the
 * site (console, portierd, portierctl's site commands). The rows travel as CSV text (the export's header); the
 * answer as lines and, to a front end that takes them (device_cmd.record), each line's JSON record beside it. */
#ifndef PORTIER_C3_DEVICE_DATA_H
#define PORTIER_C3_DEVICE_DATA_H

#include <stddef.h>
#include <stdint.h>

#include "core/device.h"
#include "core/loop.h"
#include "drivers/c3/c3_session.h"

struct c3d_data;
struct c3_store_req;

#define C3D_TABLE_MAX 31     /* the longest table name of a request */
#define C3D_SCOPE_MAX 63     /* the longest FIELD=VALUE of a request */
#define C3D_NAME_CHARS "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_"

/* The request text into rq: "KIND OP [FIELD=VALUE] [dry-run]" (KIND users|cards|access|timezones|holidays, OP
 * list|add|set|delete|replace; the scope only with replace), or a table by name: "tables list" (every table),
 * "table:NAME list [FIELD=VALUE]", "table:NAME set [dry-run]", "table:NAME delete FIELD=VALUE [dry-run]" (NAME and
 * FIELD of letters, digits and '_', VALUE printable without spaces, at most 63 characters for the scope). The
 * table's name and the scope are copied to where (wcap bytes; a request that does not fit is refused, never cut)
 * and rq->table / where_field / where_value point into it. 0, or -1 with err. A history request (below) is not
 * one of these. */
int c3d_data_parse(const char *text, struct c3_store_req *rq, char *where, size_t wcap, char *err, size_t errlen);

/* "history" or "history since=PACKED" (the panel's packed time, decimal): the event table read as it stands, by a
 * plain GET_DATA that moves no record pointer, from that time on. 0 with *since (0 = everything), or -1. */
int c3d_history_parse(const char *text, uint32_t *since);

/* How long a request waits for a link that is down (doc/decisions.md): it fails with "panel not connected for
 * N s" (code C3_S_EXPIRED, result offline) when the link stays down that long while it runs. */
#define C3D_LINK_WAIT_MS 15000u

struct c3d_link {
    loop_t *loop;
    uint32_t wait_ms;   /* 0 = C3D_LINK_WAIT_MS */
};

/* Start cmd (DEVICE_PANEL_DATA) on session s and link it into *list. 0: its step lines, one device-wide result
 * and done follow from the loop; -1 with err: refused now, nothing follows. */
int c3d_data_start(struct c3d_data **list, const struct c3d_link *lk, struct c3_session *s,
                   const struct device_cmd *cmd, char *err, size_t errlen);
/* The session went online (every request's link-wait bound stops) or left it (the bound starts for those that
 * have none running). While online nothing expires: a request on the wire is left to the session's own deadline
 * and retries, never failed here nor sent twice. */
void c3d_data_link(struct c3d_data **list, bool online);
/* The adapter goes away: every running one reports `why` (failed) and done, then is freed with its request. */
void c3d_data_destroy_all(struct c3d_data **list, const char *why);

#endif
