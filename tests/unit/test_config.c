/* Unit tests for the configuration loader: a table of broken configurations, each with the exact
 * "file:line: message" expected; the example file; permissions and password files; the search order. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config/site_config.h"

#include "fixture.h"
#include "fixture_site.h"

/* A minimal valid configuration; cases append or replace parts of it. */
#define SITE "site = { name = \"T\"; };\n"
#define PANEL(extra) "panels = ( { name = \"P\"; host = \"127.0.0.1\";" extra " } );\n"

static const struct fx_conf_case cases[] = {
    /* valid */
    { SITE PANEL(""), "", true },
    { SITE PANEL(" model = \"C3-200\"; doors = ( \"A\", \"B\" );"), "", true },
    /* syntax */
    { SITE "panels = ( { name = \"P\"; host = \"h\"; }, );\n",
      "t.conf:2: syntax error in: panels = ( { name = \"P\"; host = \"h\"; }, );\n", false },
    { SITE "\npanels = ( { name = ; } );\n", "t.conf:3: syntax error in: panels = ( { name = ; } );\n", false },
    { SITE "doors = [\"A\", 5];\n", "t.conf:2: syntax error: mismatched element type in array in: doors = [\"A\", 5];\n",
      false },
    { SITE "\n\n@include \"/etc/passwd\"\n",
      "t.conf:4: @include is not supported: keep the whole configuration in one file\n", false },
    /* structure */
    { "panels = ( );\n", "t.conf:1: missing required group 'site' (site = { name = \"...\"; };)\n"
                         "t.conf:1: warning: no panels and no buses: the site has no doors\n", false },
    /* integers as written (libconfig 1.5 cuts plain ones to 32 bits: 4294967297 would be port 1) */
    { SITE PANEL(" port = 99999999999999999999999;"),
      "t.conf:2: 'port' = 99999999999999999999999 is out of range (1..65535)\n", false },
    { SITE PANEL(" port = 4294967297;"), "t.conf:2: 'port' = 4294967297 is out of range (1..65535)\n", false },
    { SITE PANEL(" port = -99999999999999999999;"),
      "t.conf:2: 'port' = -99999999999999999999 is out of range (1..65535)\n", false },
    { SITE PANEL(" port = 0x10000000000000001;"),
      "t.conf:2: 'port' = 0x10000000000000001 is out of range (1..65535)\n", false },
    { SITE PANEL(" port = 0x1F90; poll_ms = 1000L;"), "", true },
    { SITE "panels = ( { name = \"A\"; host = \"h\"; port = 70000; }, { name = \"B\"; host = \"h\"; port = 4294967297; } );\n",
      "t.conf:2: 'port' = 70000 is out of range (1..65535)\n"
      "t.conf:2: 'port' = 4294967297 is out of range (1..65535)\n", false },
    { SITE PANEL("") "journal = { retention_rows =\n  99999999999999999999L; };\n",
      "t.conf:3: 'retention_rows' = 99999999999999999999L is out of range (0..1000000000000)\n", false },
    { SITE "buses = ( { name = \"B\"; port = \"/dev/ttyUSB0\"; baud = 4294976896; } );\n",
      "t.conf:2: 'baud' = 4294976896 is not a NiX1 rate (1200, 2400, 4800, 9600, 19200, 38400, 57600, 115200)\n"
      "t.conf:2: bus \"B\": missing required key 'slaves'\n", false },
    /* text an operator sees is UTF-8 without control characters */
    { "site = { name = \"\xff\"; };\n" PANEL(""),
      "t.conf:1: 'name' has a byte 0xFF that is not UTF-8 (at byte 1): names and texts must be UTF-8 without "
      "control characters\n", false },
    { SITE PANEL(" doors = ( \"ok\", \"D\xc3\x28\" );"),
      "t.conf:2: 'doors' has a byte 0xC3 that is not UTF-8 (at byte 2): names and texts must be UTF-8 without "
      "control characters\n", false },
    { SITE "panels = ( { name = \"P\"; host = \"x\xc2\x85y\"; } );\n",
      "t.conf:2: 'host' has a control character U+0085 (at byte 2): names and texts must be UTF-8 without control "
      "characters\n", false },
    { SITE PANEL(" doors = ( \"T\xc3\xbcr\", \"\xe2\x82\xac\" );"), "", true },
    { SITE PANEL(" doors = ( \"\xe0\x80\xaf\" );"),
      "t.conf:2: 'doors' has a byte 0xE0 that is not UTF-8 (at byte 1): names and texts must be UTF-8 without "
      "control characters\n", false },
    { SITE PANEL("") "roles = { default = \"\xf4\x90\x80\x80\"; };\n",
      "t.conf:3: 'default' has a byte 0xF4 that is not UTF-8 (at byte 1): names and texts must be UTF-8 without "
      "control characters\n", false },
    { SITE "colour = true;\n" PANEL(""), "t.conf:2: unknown key 'colour' in the top level\n", false },
    { SITE PANEL(" hots = \"x\";"),
      "t.conf:2: unknown key 'hots' in panel \"P\"\n", false },
    { SITE "panels = ( { name = \"P\"; } );\n", "t.conf:2: panel \"P\": missing required key 'host'\n", false },
    /* types and ranges */
    { SITE PANEL(" port = \"4370\";"), "t.conf:2: 'port' must be an integer, not a string\n", false },
    { SITE PANEL(" port = 0;"), "t.conf:2: 'port' = 0 is out of range (1..65535)\n", false },
    { SITE PANEL(" port = 65536;"), "t.conf:2: 'port' = 65536 is out of range (1..65535)\n", false },
    { SITE PANEL(" poll_ms = 50;"), "t.conf:2: 'poll_ms' = 50 is out of range (100..60000)\n", false },
    { SITE PANEL(" password = \"0123456789abcdef\";"),
      "t.conf:2: 'password' is too long (at most 15 bytes)\n", false },
    { SITE PANEL(" model = \"C3-300\";"),
      "t.conf:2: 'model' = \"C3-300\" is not one of: C3-100, C3-200, C3-400, inBio160, inBio260, inBio460\n",
      false },
    { SITE PANEL(" model = \"C3-200\"; doors = ( \"A\", \"B\", \"C\" );"),
      "t.conf:2: 'doors' names 3 outputs but a C3-200 has 2\n", false },
    { SITE PANEL(" doors = ( \"A\", \"B\", \"C\", \"D\", \"E\" );"),
      "t.conf:2: 'doors' names 5 outputs but a C3 panel has at most 4\n", false },
    { SITE PANEL(" model = \"C3-100\"; aux = ( \"S1\", \"S2\" );"),
      "t.conf:2: 'aux' names 2 outputs but a C3-100 has 1\n", false },
    { SITE PANEL(" doors = ( \"A/B\" );"), "t.conf:2: name \"A/B\" must not contain '/'\n", false },
    /* duplicates, with both lines */
    { SITE "panels = (\n { name = \"P\"; host = \"h\"; doors = ( \"Main\" ); },\n"
           " { name = \"p\"; host = \"h\"; doors = ( \"main\" ); }\n);\n",
      "t.conf:4: duplicate device name \"p\" (first at line 3)\n"
      "t.conf:4: duplicate door name \"main\" (first at line 3)\n", false },
    /* buses */
    { SITE "buses = ( { name = \"B\"; port = \"/dev/ttyS0\"; baud = 9601; slaves = ( ); } );\n",
      "t.conf:2: 'baud' = 9601 is not a NiX1 rate (1200, 2400, 4800, 9600, 19200, 38400, 57600, 115200)\n",
      false },
    { SITE "buses = ( { name = \"B\"; port = \"COM1\"; slaves = ( ); } );\n",
      "t.conf:2: 'port' = \"COM1\" must be a serial device path (/dev/...) or tcp://HOST:PORT\n", false },
    { SITE "buses = ( { name = \"B\"; port = \"tcp://host:99999\"; slaves = ( ); } );\n",
      "t.conf:2: 'port' = \"tcp://host:99999\": a device server is tcp://HOST:PORT with PORT 1..65535\n", false },
    { SITE "buses = ( { name = \"B\"; port = \"tcp://10.0.0.5:4001\"; rs485 = \"yes\"; slaves = ( ); } );\n",
      "t.conf:2: 'rs485' = \"yes\" is not one of: auto, rts, none\n", false },
    { SITE "buses = ( { name = \"B\"; port = \"/dev/ttyS0\"; } );\n",
      "t.conf:2: bus \"B\": missing required key 'slaves'\n", false },
    { SITE "buses = ( { name = \"B\"; port = \"/dev/ttyS0\"; slaves = (\n"
           "  { address = \"271A2100000000F3\"; probe1 = { door = \"D1\"; unit = 14; }; }\n); } );\n",
      "t.conf:3: warning: address 271A2100000000F3: CRC-8 mismatch (expected FD; a real slave would be "
      "271A2100000000FD)\n", true },
    { SITE "buses = ( { name = \"B\"; port = \"/dev/ttyS0\"; slaves = (\n"
           "  { address = \"271A21000000FD\"; }\n); } );\n",
      "t.conf:3: 'address' = \"271A21000000FD\" must be 16 hex digits (family, serial, CRC)\n", false },
    { SITE "buses = ( { name = \"B\"; port = \"/dev/ttyS0\"; slaves = (\n"
           "  { address = \"27FFFFFFFFFFFF4E\"; }\n); } );\n",
      "t.conf:3: address 27FFFFFFFFFFFF4E is the broadcast address, not a slave\n", false },
    { SITE "buses = ( { name = \"B\"; port = \"/dev/ttyS0\"; slaves = (\n"
           "  { address = \"270100000000006B\"; probe1 = { door = \"D1\"; unit = 65535; }; },\n"
           "  { address = \"2701000000000006b\"; }\n); } );\n",
      "t.conf:3: 'unit' = 65535 is out of range (0..65534)\n"
      "t.conf:4: 'address' = \"2701000000000006b\" must be 16 hex digits (family, serial, CRC)\n", false },
    { SITE "buses = ( { name = \"B\"; port = \"/dev/ttyS0\"; slaves = (\n"
           "  { address = \"270100000000006B\"; valid_access_timeout = 256; },\n"
           "  { address = \"270100000000006b\"; bad_access_timeout = -1; }\n); } );\n",
      "t.conf:3: 'valid_access_timeout' = 256 is out of range (0..255)\n"
      "t.conf:4: duplicate slave address name \"270100000000006B\" (first at line 3)\n"
      "t.conf:4: 'bad_access_timeout' = -1 is out of range (0..255)\n", false },
    { SITE "buses = ( { name = \"B\"; port = \"/dev/ttyS0\"; slaves = (\n"
           "  { address = \"270100000000006B\"; probe3 = { door = \"X\"; }; probe1 = { unit = 1; }; }\n); } );\n",
      "t.conf:3: unknown key 'probe3' in slave \"270100000000006B\"\n"
      "t.conf:3: slave \"270100000000006B\" probe1: missing required key 'door'\n", false },
    /* roles, emergency, journal, ui */
    { SITE PANEL("") "roles = { default = \"boss\"; map = ( { user = \"a\"; group = \"b\"; role = \"guard\"; },\n"
                     "{ user = \"c\"; role = \"admin\"; } ); };\n",
      "t.conf:3: 'default' = \"boss\" is not one of: guard, operator, technician\n"
      "t.conf:3: a role mapping needs exactly one of 'user' or 'group'\n"
      "t.conf:4: 'role' = \"admin\" is not one of: guard, operator, technician\n", false },
    { SITE PANEL(" doors = ( \"Main\" );") "emergency = {\n doors = ( \"Main\", \"Nowhere\" );\n confirm = \"twice\";\n};\n",
      "t.conf:4: emergency door \"Nowhere\" is not a door of this site\n"
      "t.conf:5: 'confirm' = \"twice\" is not one of: none, double, word\n", false },
    { SITE PANEL("") "journal = { retention_days = -1; };\nui = { bell = 1; keys = ( \"door-open\" ); };\n",
      "t.conf:3: 'retention_days' = -1 is out of range (0..36500)\n"
      "t.conf:4: 'bell' must be a string, not an integer\n"
      "t.conf:4: 'keys' entries must be \"action-name=key\" strings\n", false },
    /* daemon */
    { SITE PANEL("") "daemon = { socket = \"/run/portier/portier.sock\"; group = \"portier\"; };\n", "", true },
    { SITE PANEL("") "daemon = {\n socket = \"run/p.sock\";\n group = \"Bad Group\";\n sock = 1;\n};\n",
      "t.conf:4: daemon socket \"run/p.sock\" must be an absolute path\n"
      "t.conf:5: daemon group \"Bad Group\" is not a group name\n"
      "t.conf:6: unknown key 'sock' in daemon\n", false },
    { SITE PANEL("") "daemon = { socket = \"/tmp/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
                     "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.sock\"; };\n",
      "t.conf:3: daemon socket path is longer than 107 bytes (a Unix socket limit)\n", false },
};


static void test_table(void **state)
{
    (void)state;
    fx_conf_cases(cases, sizeof cases / sizeof cases[0]);
}

static void test_model(void **state)
{
    struct config_diags d;
    const char *text = SITE
        "panels = ( { name = \"Panel A\"; host = \"h\"; model = \"C3-400\"; doors = ( \"Main entrance\", \"Back\" );"
        " aux = ( \"Siren\" ); } );\n"
        "buses = ( { name = \"Bus 1\"; port = \"tcp://127.0.0.1:4001\"; baud = 19200; slaves = (\n"
        " { address = \"271a2100000000fd\"; name = \"Lab\"; probe2 = { door = \"Lab exit\"; unit = 15; }; }\n"
        "); } );\n"
        "roles = { default = \"operator\"; map = ( { group = \"wheel\"; role = \"technician\"; } ); };\n"
        "emergency = { doors = ( \"Main entrance\" ); confirm = \"word\"; word = \"FIRE\"; restore = \"locked\"; };\n";
    struct site *s = site_config_load_string(text, "m.conf", &d);
    assert_non_null(s);
    assert_int_equal(d.errors, 0);
    assert_int_equal(d.warnings, 0);
    assert_string_equal(s->name, "T");
    assert_int_equal(s->n_panels, 1);
    assert_int_equal(s->panels[0].port, 4370);
    assert_int_equal(s->panels[0].doors, 4);
    assert_int_equal(s->n_devices, 2);
    /* 4 doors + 1 aux + 1 probe */
    assert_int_equal(s->n_outputs, 6);
    assert_string_equal(s->outputs[0].name, "Main entrance");
    assert_string_equal(s->outputs[2].name, "Panel A door 3");
    assert_int_equal(s->outputs[4].type, OUTPUT_AUX);
    assert_string_equal(s->outputs[4].name, "Siren");
    assert_int_equal(s->outputs[5].type, OUTPUT_PROBE);
    assert_int_equal(s->outputs[5].number, 2);
    assert_string_equal(s->buses[0].slaves[0].addr, "271A2100000000FD");
    assert_int_equal(s->buses[0].slaves[0].probe_units[1], 15);
    assert_int_equal(s->buses[0].slaves[0].probe_units[0], -1);
    assert_int_equal(s->buses[0].baud, 19200);
    assert_ptr_equal(site_find_output(s, "main ENTRANCE"), &s->outputs[0]);
    assert_ptr_equal(site_find_output(s, "Panel A/2"), &s->outputs[1]);
    assert_ptr_equal(site_find_output(s, "Panel A/aux1"), &s->outputs[4]);
    assert_ptr_equal(site_find_output(s, "Bus 1/2"), &s->outputs[5]);
    assert_null(site_find_output(s, "Panel A/5"));
    assert_null(site_find_output(s, "Nowhere"));
    assert_int_equal(s->default_role, ROLE_OPERATOR);
    assert_int_equal(s->n_roles, 1);
    assert_true(s->roles[0].is_group);
    assert_false(s->emergency.all_doors);
    assert_int_equal(s->emergency.n_doors, 1);
    assert_int_equal(s->emergency.confirm, SITE_CONFIRM_WORD);
    assert_string_equal(s->emergency.word, "FIRE");
    assert_int_equal(s->emergency.restore, SITE_RESTORE_LOCKED);
    site_free(s);
    config_diags_free(&d);
}

static void test_permissions(void **state)
{
    char path[300], pw[300], expect[1200];
    snprintf(path, sizeof path, "%s/p.conf", fx_dir);
    /* A password in a world-readable file is refused with the fix. */
    fx_write_file(path, SITE "panels = ( { name = \"P\"; host = \"h\";\n password = \"1234\"; } );\n", 0644);
    struct config_diags d;
    struct site *s = site_config_load(path, &d);
    assert_null(s);
    char *got = fx_diag_text(&d);
    snprintf(expect, sizeof expect,
             "%s:3: a password is set but %s is readable by group or others (mode 0644): run chmod 600 %s\n", path,
             path, path);
    assert_string_equal(got, expect);
    free(got);
    config_diags_free(&d);
    /* chmod 600 fixes it */
    assert_int_equal(chmod(path, 0600), 0);
    s = site_config_load(path, &d);
    assert_non_null(s);
    assert_string_equal(s->panels[0].password, "1234");
    site_free(s);
    config_diags_free(&d);
    /* No password: any mode is fine. */
    fx_write_file(path, SITE PANEL(""), 0644);
    s = site_config_load(path, &d);
    assert_non_null(s);
    site_free(s);
    config_diags_free(&d);
    /* A password file (relative to the config) is read; both files must be private. */
    snprintf(pw, sizeof pw, "%s/a.pw", fx_dir);
    fx_write_file(pw, "s3cret\n", 0640);
    fx_write_file(path, SITE "panels = ( { name = \"P\"; host = \"h\"; password_file = \"a.pw\"; } );\n", 0600);
    s = site_config_load(path, &d);
    assert_null(s);
    got = fx_diag_text(&d);
    snprintf(expect, sizeof expect,
             "%s:2: password_file %s is readable by group or others (mode 0640): run chmod 600 %s\n", path, pw, pw);
    assert_string_equal(got, expect);
    free(got);
    config_diags_free(&d);
    assert_int_equal(chmod(pw, 0600), 0);
    s = site_config_load(path, &d);
    assert_non_null(s);
    assert_string_equal(s->panels[0].password, "s3cret");
    site_free(s);
    config_diags_free(&d);
    /* Missing file */
    snprintf(pw, sizeof pw, "%s/none.conf", fx_dir);
    s = site_config_load(pw, &d);
    assert_null(s);
    got = fx_diag_text(&d);
    snprintf(expect, sizeof expect, "%s: no such file\n", pw);
    assert_string_equal(got, expect);
    free(got);
    config_diags_free(&d);
}

/* One diagnostic for path, as printed. */
static char *load_diag(const char *path)
{
    struct config_diags d;
    struct site *s = site_config_load(path, &d);
    assert_null(s);
    char *got = fx_diag_text(&d);
    config_diags_free(&d);
    return got;
}

/* Files that are no regular files are refused at once with what they are: nothing waits on a FIFO; a link
 * loop is not "no such file"; advice never names a system file. */
static void test_special_files(void **state)
{
    char path[300], other[300], expect[1200];
    /* the configuration itself */
    snprintf(path, sizeof path, "%s/fifo.conf", fx_dir);
    assert_int_equal(mkfifo(path, 0600), 0);
    char *got = load_diag(path);
    snprintf(expect, sizeof expect, "%s: is a FIFO (named pipe), not a regular file\n", path);
    assert_string_equal(got, expect);
    free(got);
    got = load_diag(fx_dir);
    snprintf(expect, sizeof expect, "%s: is a directory, not a regular file\n", fx_dir);
    assert_string_equal(got, expect);
    free(got);
    snprintf(path, sizeof path, "%s/loop1", fx_dir);
    snprintf(other, sizeof other, "%s/loop2", fx_dir);
    assert_int_equal(symlink(other, path), 0);
    assert_int_equal(symlink(path, other), 0);
    char buf[600];
    assert_non_null(site_config_find(path, buf, sizeof buf)); /* found: the loader says what is wrong */
    got = load_diag(path);
    snprintf(expect, sizeof expect, "%s: symbolic link loop (too many levels of symbolic links)\n", path);
    assert_string_equal(got, expect);
    free(got);
    snprintf(path, sizeof path, "%s/nul.conf", fx_dir);
    fx_write_file(path, SITE "\n\n", 0600);
    FILE *f = fopen(path, "a");
    fputs("x = 1;", f);
    fputc(0, f);
    fclose(f);
    got = load_diag(path);
    snprintf(expect, sizeof expect, "%s:4: contains a NUL byte\n", path);
    assert_string_equal(got, expect);
    free(got);

    /* password files */
    static const struct {
        const char *file, *what;
    } pw[] = {
        { "fifo.conf", "is a FIFO (named pipe), not a regular file" },
        { "/dev/null", "is a character device, not a regular file" },
        { "/", "is a directory, not a regular file" },
        { "loop1", "symbolic link loop (too many levels of symbolic links)" },
        { "missing.pw", "no such file" },
    };
    snprintf(path, sizeof path, "%s/p.conf", fx_dir);
    for (size_t i = 0; i < sizeof pw / sizeof pw[0]; i++) {
        char text[400], shown[400];
        snprintf(text, sizeof text, SITE "panels = ( { name = \"P\"; host = \"h\"; password_file = \"%s\"; } );\n",
                 pw[i].file);
        fx_write_file(path, text, 0600);
        if (pw[i].file[0] == '/')
            snprintf(shown, sizeof shown, "%s", pw[i].file);
        else
            snprintf(shown, sizeof shown, "%s/%s", fx_dir, pw[i].file);
        got = load_diag(path);
        snprintf(expect, sizeof expect, "%s:2: password_file %s: %s\n", path, shown, pw[i].what);
        assert_string_equal(got, expect);
        free(got);
    }
    /* A readable system file: said so, but no "chmod 600 /etc/passwd". */
    fx_write_file(path, SITE "panels = ( { name = \"P\"; host = \"h\"; password_file = \"/etc/passwd\"; } );\n", 0600);
    got = load_diag(path);
    assert_non_null(strstr(got, "password_file /etc/passwd is readable by group or others"));
    assert_non_null(strstr(got, "keep the password in a file of your own with mode 600"));
    assert_null(strstr(got, "chmod"));
    free(got);
}

static void test_search_order(void **state)
{
    char buf[2200], xdg[300], p[400];
    snprintf(xdg, sizeof xdg, "%s/xdg", fx_dir);
    setenv("XDG_CONFIG_HOME", xdg, 1);
    /* explicit wins, even when missing */
    assert_null(site_config_find("/nonexistent/x.conf", buf, sizeof buf));
    assert_string_equal(buf, "/nonexistent/x.conf");
    snprintf(p, sizeof p, "%s/portier", xdg);
    assert_int_equal(mkdir(xdg, 0700), 0);
    assert_int_equal(mkdir(p, 0700), 0);
    snprintf(p, sizeof p, "%s/portier/portier.conf", xdg);
    fx_write_file(p, SITE PANEL(""), 0600);
    assert_non_null(site_config_find(NULL, buf, sizeof buf));
    assert_string_equal(buf, p);
    /* check: summary on out, nothing on err */
    char *o = NULL, *e = NULL;
    size_t ol = 0, el = 0;
    FILE *fo = open_memstream(&o, &ol), *fe = open_memstream(&e, &el);
    assert_int_equal(site_config_check(NULL, fo, fe), 0);
    fclose(fo);
    fclose(fe);
    char expect[600];
    snprintf(expect, sizeof expect, "%s: OK: site \"T\": 1 panel, 0 buses, 1 door, 0 warnings\n", p);
    assert_string_equal(o, expect);
    assert_string_equal(e, "");
    free(o);
    free(e);
    unsetenv("XDG_CONFIG_HOME");
}

static void test_example_file(void **state)
{
    /* config/portier.conf.example relative to this source file */
    char path[1024];
    const char *src = __FILE__;
    const char *cut = strstr(src, "tests/unit/test_config.c");
    assert_non_null(cut);
    snprintf(path, sizeof path, "%.*sconfig/portier.conf.example", (int)(cut - src), src);
    if (access(path, R_OK) != 0) {
        /* relative to the build directory one level up */
        char alt[1100];
        snprintf(alt, sizeof alt, "../%s", path);
        memcpy(path, alt, sizeof path - 1);
        path[sizeof path - 1] = '\0';
    }
    struct config_diags d;
    struct site *s = site_config_load(path, &d);
    char *got = fx_diag_text(&d);
    assert_string_equal(got, "");
    free(got);
    assert_non_null(s);
    assert_int_equal(s->n_outputs, 4 + 1 + 2);
    assert_non_null(site_find_output(s, "Lab exit"));
    site_free(s);
    config_diags_free(&d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_table),
        cmocka_unit_test(test_model),
        cmocka_unit_test_setup_teardown(test_permissions, fx_dir_setup, fx_dir_teardown),
        cmocka_unit_test_setup_teardown(test_search_order, fx_dir_setup, fx_dir_teardown),
        cmocka_unit_test_setup_teardown(test_special_files, fx_dir_setup, fx_dir_teardown),
        cmocka_unit_test(test_example_file),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
