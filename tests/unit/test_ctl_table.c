/* portierctl's verb table: every row is consistent with itself, and command lines parse (or are refused with
 * the reason) exactly as documented, without opening anything. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "cli/ctl.h"
#include "cli/ctl_syntax.h"
#include "core/action.h"
#include "core/event.h"

#include <jansson.h>

/* ---- the table itself ---- */

static void check_row(const struct ctl_family *f, const struct ctl_verb *v)
{
    const char *p = v->syntax;
    struct tok t;
    size_t args = 0, slots = 0;
    bool optional_seen = false, rest_seen = false;
    assert_non_null(v->run);
    if (!ctl_verb_help(v)[0])
        fail_msg("%s: no help", v->syntax);
    struct tok first;
    const char *fp = v->syntax;
    if (next_tok(&fp, &first) != TK_WORD)
        fail_msg("%s: a command starts with a word", v->syntax);
    while (next_tok(&p, &t) != TK_END) {
        if (rest_seen)
            fail_msg("%s: an argument taking the rest must be last", v->syntax);
        if (t.kind == TK_WORD) {
            if (optional_seen)
                fail_msg("%s: a word after an optional argument", v->syntax);
            continue;
        }
        slots++;
        if (t.kind == TK_CHOICE)
            continue;
        if (t.optional)
            optional_seen = true;
        else if (optional_seen)
            fail_msg("%s: a required argument after an optional one", v->syntax);
        rest_seen = t.rest;
        if (!v->args || !v->args[args].name)
            fail_msg("%s: %s has no description", v->syntax, t.text);
        if (strcmp(v->args[args].name, t.text) != 0)
            fail_msg("%s: argument %zu is described as %s", v->syntax, args + 1, v->args[args].name);
        const struct ctl_def *d = &v->args[args];
        if (d->type == CTL_FLAG)
            fail_msg("%s: %s cannot be a flag", v->syntax, d->name);
        if (d->type == CTL_CUSTOM && !d->sample)
            fail_msg("%s: %s has no sample", v->syntax, d->name);
        if (d->type == CTL_UINT && def_min(d, v) > def_max(d, v))
            fail_msg("%s: %s has an empty range", v->syntax, d->name);
        if ((d->flags & CTL_ACTION_RANGE) && (v->action < 0 || !action_table[v->action].param))
            fail_msg("%s: %s takes its range from an action without a parameter", v->syntax, d->name);
        args++;
    }
    assert_true(slots <= CTL_MAX_ARGS);
    if (v->args && v->args[args].name)
        fail_msg("%s: %s is described but not in the syntax", v->syntax, v->args[args].name);
    for (size_t i = 0; v->opts && v->opts[i].name; i++) {
        assert_true(i < CTL_MAX_OPTS);
        for (size_t k = 0; k < i; k++)
            if (strcmp(v->opts[i].name, v->opts[k].name) == 0)
                fail_msg("%s: --%s twice", v->syntax, v->opts[i].name);
        for (size_t g = 0; ctl_global_opts[g].name; g++)
            if (strcmp(v->opts[i].name, ctl_global_opts[g].name) == 0)
                fail_msg("%s: --%s is a global option", v->syntax, v->opts[i].name);
        for (size_t g = 0; f->opts && f->opts[g].name; g++)
            if (strcmp(v->opts[i].name, f->opts[g].name) == 0)
                fail_msg("%s: --%s is a family option", v->syntax, v->opts[i].name);
        if (v->opts[i].type == CTL_CUSTOM && !v->opts[i].sample)
            fail_msg("%s: --%s has no sample", v->syntax, v->opts[i].name);
        if (v->opts[i].type == CTL_CHOICE && !v->opts[i].choices)
            fail_msg("%s: --%s has no choices", v->syntax, v->opts[i].name);
    }
    if (v->action != CTL_NO_ACTION && (v->action < 0 || v->action >= ACTION_COUNT))
        fail_msg("%s: no such action", v->syntax);
}

static void table_is_consistent(void **state)
{
    (void)state;
    size_t nfam = 0;
    for (size_t i = 0; ctl_families[i]; i++, nfam++) {
        const struct ctl_family *f = ctl_families[i];
        assert_non_null(f->help);
        assert_true(ndefs(f->opts) <= CTL_MAX_OPTS);
        for (size_t k = 0; k < f->nverbs; k++) {
            check_row(f, &f->verbs[k]);
            for (size_t j = 0; j < k; j++) {
                if (strcmp(f->verbs[j].syntax, f->verbs[k].syntax) == 0)
                    fail_msg("%s twice", f->verbs[k].syntax);
                /* rows that start alike must agree on the options they share */
                char a[64], b[64];
                verb_name(&f->verbs[j], a, sizeof a);
                verb_name(&f->verbs[k], b, sizeof b);
                if (strtok(a, " ") && strtok(b, " ") && strcmp(a, b) != 0)
                    continue;
                for (size_t x = 0; f->verbs[j].opts && f->verbs[j].opts[x].name; x++)
                    for (size_t y = 0; f->verbs[k].opts && f->verbs[k].opts[y].name; y++)
                        if (strcmp(f->verbs[j].opts[x].name, f->verbs[k].opts[y].name) == 0 &&
                            (f->verbs[j].opts[x].type == CTL_FLAG) != (f->verbs[k].opts[y].type == CTL_FLAG))
                            fail_msg("%s / %s: --%s differs", f->verbs[j].syntax, f->verbs[k].syntax,
                                     f->verbs[j].opts[x].name);
            }
        }
        for (size_t k = 0; k < i; k++)
            if (f->name && ctl_families[k]->name && strcmp(f->name, ctl_families[k]->name) == 0)
                fail_msg("family %s twice", f->name);
    }
    assert_true(nfam >= 1);
    assert_null(ctl_families[0]->name); /* the site commands come first */
}

/* journal --kind and --severity list exactly the names the journal knows. */
static void site_choices_match_the_events(void **state)
{
    (void)state;
    const struct ctl_verb *journal = NULL;
    for (size_t k = 0; k < ctl_families[0]->nverbs; k++)
        if (strcmp(ctl_families[0]->verbs[k].syntax, "journal") == 0)
            journal = &ctl_families[0]->verbs[k];
    assert_non_null(journal);
    const struct ctl_def *kind = NULL, *sev = NULL;
    for (size_t i = 0; journal->opts[i].name; i++) {
        if (strcmp(journal->opts[i].name, "kind") == 0)
            kind = &journal->opts[i];
        if (strcmp(journal->opts[i].name, "severity") == 0)
            sev = &journal->opts[i];
    }
    assert_non_null(kind);
    assert_non_null(sev);
    for (int k = 0; k < EVENT_KIND_COUNT; k++)
        assert_int_equal(choice_index(kind->choices, event_kind_name((enum event_kind)k)), k);
    assert_int_equal(choice_index(kind->choices, "nothing"), -1);
    for (int s = 0; s < EVENT_SEVERITY_COUNT; s++)
        assert_int_equal(choice_index(sev->choices, event_severity_name((enum event_severity)s)), s);
}

/* ---- parsing ---- */

static struct ctl_call call;
static struct ctl_error err;

/* Parse a command line given as one string (words split at spaces; "\x1f" stands for an empty word). */
static enum ctl_parse_result parse(const char *line)
{
    static char buf[2048];
    char *argv[128];
    int argc = 0;
    snprintf(buf, sizeof buf, "%s", line);
    argv[argc++] = (char *)"portierctl";
    for (char *tok = strtok(buf, " "); tok && argc < 127; tok = strtok(NULL, " "))
        argv[argc++] = strcmp(tok, "\x1f") == 0 ? (char *)"" : tok;
    argv[argc] = NULL;
    return ctl_parse(argc, argv, ctl_families, &call, &err);
}

static void ok(const char *line, const char *syntax)
{
    if (parse(line) != CTL_PARSE_RUN)
        fail_msg("'%s' refused: %s", line, err.msg);
    if (strcmp(call.verb->syntax, syntax) != 0)
        fail_msg("'%s' is '%s', not '%s'", line, call.verb->syntax, syntax);
}

static void bad(const char *line, const char *want)
{
    if (parse(line) != CTL_PARSE_ERROR)
        fail_msg("'%s' accepted", line);
    if (!strstr(err.msg, want))
        fail_msg("'%s': \"%s\" lacks \"%s\"", line, err.msg, want);
}

static void site_commands_parse(void **state)
{
    (void)state;
    ok("door open Main 5", "door open NAME [SECONDS]");
    assert_string_equal(ctl_str(&call, "NAME", NULL), "Main");
    assert_int_equal(ctl_num(&call, "SECONDS", 0), 5);
    assert_true(call.changes);
    ok("door open Main", "door open NAME [SECONDS]");
    assert_false(ctl_has(&call, "SECONDS"));
    ok("--json -c /x door timed-open Vault 1440", "door timed-open NAME [MINUTES]");
    assert_true(call.g.json);
    assert_string_equal(call.g.config_path, "/x");
    ok("door aux-on Siren 255", "door aux-on NAME [SECONDS]");
    ok("emergency off", "emergency off");
    assert_int_equal(call.verb->action, ACTION_EMERGENCY_OFF);
    ok("status", "status");
    assert_false(call.changes);
    /* global options anywhere, options in any order, --opt=value, unique prefixes */
    ok("journal --limit 3 --json --since=-5m --kind door -v", "journal");
    assert_true(call.g.json);
    assert_true(call.g.verbose);
    assert_int_equal(ctl_num(&call, "limit", 0), 3);
    assert_int_equal(ctl_num(&call, "kind", -1), 1);
    assert_string_equal(ctl_str(&call, "kind", NULL), "door");
    assert_true(ctl_num(&call, "since", 0) > 0);
    ok("audit --lim 7 --user alice --csv", "audit");
    assert_int_equal(ctl_num(&call, "limit", 0), 7);
    ok("--readonly --timeout 2500 status", "status");
    assert_true(call.g.readonly);
    assert_int_equal(call.g.timeout_ms, 2500);
    ok("--check-config /etc/p.conf", "check-config [FILE]");
    assert_string_equal(ctl_str(&call, "FILE", NULL), "/etc/p.conf");
    ok("--check-config", "check-config [FILE]");
    ok("check-config", "check-config [FILE]");
    ok("door open -- -odd-name", "door open NAME [SECONDS]");
    assert_string_equal(ctl_str(&call, "NAME", NULL), "-odd-name");
}

static void site_commands_refused(void **state)
{
    (void)state;
    bad("", "missing COMMAND");
    bad("frobnicate", "unknown command 'frobnicate'");
    bad("--frob status", "unknown option '--frob'");
    bad("door", "door: missing open, close,");
    bad("door frob x", "door: expected open, close");
    bad("door open", "door open: missing NAME");
    bad("door open Main 0", "SECONDS: 0 is below the minimum 1");
    bad("door open Main 255", "SECONDS: 255 is too large (the maximum is 254)");
    bad("door open Main -5", "SECONDS: -5 is negative");
    bad("door open Main 5x", "SECONDS: '5x' is not a number");
    bad("door open Main 99999999999999999999999", "too large");
    bad("door close Main 5", "door close: unexpected '5'");
    bad("door open \x1f", "NAME: empty");
    bad("emergency maybe", "emergency: expected on or off, not 'maybe'");
    bad("journal --limit -5", "--limit: -5 is negative (a number from 1 to 1000000)");
    bad("journal --limit", "--limit needs a value");
    bad("journal --limit 0", "--limit: 0 is below the minimum 1");
    bad("journal --kind foo", "--kind: 'foo' is not access, door,");
    bad("journal --since 25:00", "--since: '25:00': hour 25 out of range 0-23");
    bad("journal --limit 1 --limit 2", "--limit given twice");
    bad("journal --user x", "unknown option '--user'");
    bad("journal extra", "unexpected 'extra'");
    bad("--timeout 0 status", "--timeout: 0 is below the minimum 1");
    bad("--timeout x status", "--timeout: 'x' is not a number");
    bad("-c", "-c needs a value");
    bad("status --version", "--version is not an option of a command");
    bad("--check-config a b", "unexpected 'b'");
    /* a text's bound is in bytes: said in characters for ASCII, in bytes (with the count) otherwise */
    char line[600] = "ack 5 --comment ";
    memset(line + strlen(line), 'a', 201);
    bad(line, "--comment: longer than 200 characters");
    line[16] = '\0';
    for (int i = 0; i < 101; i++)
        strcat(line, "\xc3\xa9");
    bad(line, "--comment: longer than 200 bytes (202 given; a non-ASCII character takes 2 to 4)");
    /* the usage lines offered are those of the rows that agree with the words typed */
    bad("door open", "missing NAME");
    assert_int_equal(err.nverbs, 1);
    bad("door frob", "expected");
    assert_true(err.nverbs >= 12);
}

static void c3_commands_parse(void **state)
{
    (void)state;
    ok("c3 127.0.0.1:4370 info", "info");
    assert_string_equal(call.fam->name, "c3");
    assert_string_equal(call.target, "127.0.0.1:4370");
    assert_false(call.changes);
    /* family options before and after the target, global ones anywhere */
    ok("--json c3 --password s3cret 10.0.0.1 --dialect sessionless --timeout 300 door open 2 9 -v", "door open N [SECONDS]");
    assert_string_equal(ctl_str(&call, "password", NULL), "s3cret");
    assert_int_equal(ctl_num(&call, "dialect", 0), 2);
    assert_int_equal(call.g.timeout_ms, 300);
    assert_true(call.g.json && call.g.verbose);
    assert_int_equal(ctl_num(&call, "N", 0), 2);
    assert_int_equal(ctl_num(&call, "SECONDS", 0), 9);
    assert_true(call.changes);
    ok("c3 h door normal-open 3 off", "door normal-open N on|off");
    assert_int_equal(ctl_num(&call, "on|off", -1), 1);
    ok("c3 h door normal-open 3 1", "door normal-open N on|off");
    assert_int_equal(ctl_num(&call, "on|off", -1), 0);
    ok("c3 h params get ~SerialNumber LockCount", "params get NAME...");
    assert_int_equal(call.nrest, 2);
    assert_string_equal(call.restv[1], "LockCount");
    ok("c3 h params set Door1Drivertime=7", "params set NAME=VALUE...");
    ok("c3 h events -f --count 3 --interval 100", "events");
    assert_true(ctl_has(&call, "follow"));
    assert_int_equal(ctl_num(&call, "count", 0), 3);
    ok("c3 [::1]:4370 time get", "time get");
    bad("c3", "c3: missing HOST[:PORT]");
    bad("c3 h", "c3: missing COMMAND");
    bad("c3 h frobnicate", "c3: unknown command 'frobnicate'");
    bad("c3 h door open 9", "c3 door open: N: 9 is too large (the maximum is 4)");
    bad("c3 h door open 1 300", "SECONDS: 300 is too large");
    bad("c3 h door normal-open 1 maybe", "expected on or off, not 'maybe'");
    bad("c3 h events --count -5", "c3 events: --count: -5 is negative");
    bad("c3 h events --count 0", "--count: 0 is below the minimum 1");
    bad("c3 h events --interval 5", "--interval: 5 is below the minimum 10");
    bad("c3 h info --count 3", "unknown option '--count'");
    bad("c3 host:99999 info", "bad port");
    bad("c3 h params get", "missing NAME");
    bad("c3 h params set X", "'X' is not NAME=VALUE");
    bad("c3 h params get A=1", "without '=' or ','");
    bad("c3 h --dialect foo info", "--dialect: 'foo' is not auto, session or sessionless");
    bad("c3 --password 1234567890123456 h info", "--password: longer than 15 characters");
    bad("c3 h --timeout x info", "--timeout: 'x' is not a number");
    bad("c3 h time", "missing get or sync");
}

static void nix1_commands_parse(void **state)
{
    (void)state;
    ok("nix1 /dev/ttyUSB0 --slave 270100000000006B lock 2 on", "lock PROBE on|off");
    assert_string_equal(call.target, "/dev/ttyUSB0");
    assert_int_equal(ctl_num(&call, "PROBE", 0), 2);
    assert_int_equal(ctl_num(&call, "on|off", -1), 0);
    assert_true(call.changes);
    ok("nix1 P --slave 270100000000006B,2702000000000032 --slave 2703000000000005 entries -f", "entries");
    assert_int_equal(ctl_get(&call, "slave")->nlist, 2);
    assert_false(call.changes);
    ok("nix1 P --slave 270100000000006B entries --rewind 5", "entries");
    assert_true(call.changes); /* Ne moves the slave's read position */
    ok("nix1 P --scratch scan", "scan");
    assert_false(call.changes);
    ok("nix1 P --scratch scan --assign 7,8", "scan");
    assert_true(call.changes);
    ok("nix1 tcp://127.0.0.1:9 --baud 115200 --broadcast emergency on", "emergency on|off");
    assert_int_equal(ctl_num(&call, "baud", 0), 115200);
    ok("nix1 P --slave 270100000000006B cron set * 7-18 * * 1-5", "cron set EXPR...");
    assert_string_equal(ctl_str(&call, "EXPR", NULL), "* 7-18 * * 1-5");
    ok("nix1 P --slave 270100000000006B right set alice 14 */5 * * * *", "right set UID UNIT CRON...");
    assert_string_equal(ctl_str(&call, "CRON", NULL), "*/5 * * * *");
    ok("nix1 P --slave 270100000000006B right del 0", "right del 0");
    ok("nix1 P --slave 270100000000006B right del alice 3", "right del UID UNIT");
    ok("nix1 P --slave 270100000000006B timeouts set valid=7 bad=9", "timeouts set SETTING...");
    assert_int_equal(call.nrest, 2);
    ok("nix1 P --slave 270100000000006B --wait 60 emergency off", "emergency on|off");
    bad("nix1 P --slave 270100000000006B cron set * * * *", "fewer than 5 fields");
    bad("nix1 P --slave 270100000000006B lock 3 on", "PROBE: 3 is too large (the maximum is 2)");
    bad("nix1 P --slave 270100000000006B unit 1 set 65535", "UNIT: 65535 is too large");
    bad("nix1 P --slave 270100000000006B timeouts set valid=300", "valid: 300 is too large");
    bad("nix1 P --slave 270100000000006B timeouts set fast=3", "is not valid=S or bad=S");
    bad("nix1 P --slave 2701 status", "not a slave address");
    bad("nix1 P --slave 270100000000006B, status", "does not end with ','");
    bad("nix1 P --baud 9601 status", "not a NiX1 rate");
    bad("nix1 P --rs485 maybe status", "--rs485: 'maybe' is not auto, kernel or rts");
    bad("nix1 P open 0", "MINUTES: 0 is below the minimum 1");
    bad("nix1 P --scratch scan --assign 70000", "unit for probe 1: 70000 is too large");
    bad("nix1 P --slave 270100000000006B general-status set 1", "is not two hex digits");
    bad("nix1 P entries --count 3", "unknown option '--count'");
    bad("nix1 P --follow entries", "unknown option '--follow'");
    /* an empty port is no port (the shell's "" or an unset variable), never a device to open */
    bad("nix1 \x1f --broadcast emergency on", "nix1: PORT is empty");
    bad("nix1 \x1f status", "PORT is empty");
    bad("c3 \x1f info", "is empty");
}

/* Every row's sample command line (--list-commands) parses back to that row: the samples tests build their
 * command lines from are accepted, and no row hides another. */
static void samples_parse_to_their_row(void **state)
{
    (void)state;
    char *text = NULL;
    size_t len = 0;
    FILE *mem = open_memstream(&text, &len);
    assert_non_null(mem);
    ctl_print_commands(mem, ctl_families);
    fclose(mem);
    size_t rows = 0;
    for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
        json_error_t je;
        json_t *o = json_loads(line, 0, &je);
        assert_non_null(o);
        if (strcmp(json_string_value(json_object_get(o, "type")), "command") != 0) {
            json_decref(o);
            continue;
        }
        char *argv[64];
        int argc = 0;
        argv[argc++] = (char *)"portierctl";
        const char *fam = json_string_value(json_object_get(o, "family"));
        if (fam) {
            argv[argc++] = (char *)fam;
            if (!json_is_true(json_object_get(o, "targetless")))
                argv[argc++] = strcmp(fam, "c3") == 0 ? (char *)"127.0.0.1" : (char *)"/dev/ttyUSB0";
        }
        json_t *words = json_object_get(o, "argv");
        for (size_t i = 0; i < json_array_size(words) && argc < 63; i++)
            argv[argc++] = (char *)json_string_value(json_array_get(words, i));
        argv[argc] = NULL;
        enum ctl_parse_result r = ctl_parse(argc, argv, ctl_families, &call, &err);
        if (r != CTL_PARSE_RUN)
            fail_msg("sample of '%s' refused: %s", json_string_value(json_object_get(o, "syntax")), err.msg);
        assert_string_equal(call.verb->syntax, json_string_value(json_object_get(o, "syntax")));
        assert_int_equal(call.changes, json_is_true(json_object_get(o, "changes")));
        rows++;
        json_decref(o);
    }
    free(text);
    size_t want = 0;
    for (size_t i = 0; ctl_families[i]; i++)
        want += ctl_families[i]->nverbs;
    assert_true(rows >= want);
}

static void help_is_scoped(void **state)
{
    (void)state;
    assert_int_equal(parse("--help"), CTL_PARSE_HELP);
    assert_null(err.fam);
    assert_int_equal(parse("door open --help"), CTL_PARSE_HELP);
    assert_int_equal(err.nverbs, 1);
    assert_string_equal(err.verbs[0]->syntax, "door open NAME [SECONDS]");
    assert_int_equal(parse("door -h"), CTL_PARSE_HELP);
    assert_true(err.nverbs >= 12);
    assert_int_equal(parse("--version"), CTL_PARSE_VERSION);
    assert_int_equal(parse("--man-synopsis"), CTL_PARSE_MAN);
    /* every help text and usage line can be printed */
    FILE *devnull = fopen("/dev/null", "w");
    assert_non_null(devnull);
    ctl_print_help(devnull, ctl_families, NULL, NULL);
    for (size_t i = 0; ctl_families[i]; i++) {
        ctl_print_help(devnull, ctl_families, ctl_families[i], NULL);
        for (size_t k = 0; k < ctl_families[i]->nverbs; k++)
            ctl_print_usage_line(devnull, ctl_families[i], &ctl_families[i]->verbs[k]);
    }
    ctl_print_man(devnull, ctl_families);
    fclose(devnull);
}

static void numbers(void **state)
{
    (void)state;
    long long v;
    char e[128];
    assert_int_equal(ctl_parse_uint("42", 1, 100, &v, e, sizeof e), 0);
    assert_int_equal(v, 42);
    assert_int_equal(ctl_parse_uint("0042", 1, 100, &v, e, sizeof e), 0);
    assert_int_equal(v, 42);
    assert_int_equal(ctl_parse_uint("", 1, 100, &v, e, sizeof e), -1);
    assert_non_null(strstr(e, "empty"));
    assert_int_equal(ctl_parse_uint("+5", 1, 100, &v, e, sizeof e), -1);
    assert_int_equal(ctl_parse_uint(" 5", 1, 100, &v, e, sizeof e), -1);
    assert_int_equal(ctl_parse_uint("18446744073709551616", 0, INT64_MAX, &v, e, sizeof e), -1);
    assert_non_null(strstr(e, "too large"));
    assert_int_equal(ctl_parse_uint("9223372036854775807", 0, INT64_MAX, &v, e, sizeof e), 0);
    assert_true(v == INT64_MAX);
    assert_int_equal(ctl_parse_uint("9223372036854775808", 0, INT64_MAX, &v, e, sizeof e), -1);
}

static void timeout_given_or_the_commands_own(void **state)
{
    (void)state;
    ok("status", "status");
    assert_int_equal(ctl_timeout(&call.g, 600000), 600000);
    ok("--timeout 1500 status", "status");
    assert_int_equal(ctl_timeout(&call.g, 600000), 1500);
    ok("status --timeout 7", "status");
    assert_int_equal(ctl_timeout(&call.g, 2000), 7);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(table_is_consistent),
        cmocka_unit_test(site_choices_match_the_events),
        cmocka_unit_test(site_commands_parse),
        cmocka_unit_test(site_commands_refused),
        cmocka_unit_test(c3_commands_parse),
        cmocka_unit_test(nix1_commands_parse),
        cmocka_unit_test(samples_parse_to_their_row),
        cmocka_unit_test(help_is_scoped),
        cmocka_unit_test(numbers),
        cmocka_unit_test(timeout_given_or_the_commands_own),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
