/* Catch-up end to end in one process: a simulated panel (sim/c3sim_*), a site with a journal, the C3 adapter.
 * The console "stops" (devices detached) while the panel keeps recording; on restart every recorded event is
 * in the journal exactly once, in table order, recovered ones marked; gaps say what was recovered or lost;
 * a ring overflow under load, a cut in the middle of the transfer and a panel restart lose and double nothing.
 * Each check compares the journal with the simulator's own transaction table. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "config/site_config.h"
#include "core/device.h"
#include "core/journal.h"
#include "drivers/c3/c3_catchup.h"
#include "drivers/c3/c3_frame.h"
#include "drivers/c3/c3_time.h"
#include "drivers/drivers.h"
#include "sim/c3sim_net.h"

#include "fixture.h"
#include "fixture_c3.h"
#include "fixture_site.h"

struct fx {
    loop_t *loop;
    struct c3sim_server *sim;
    struct c3sim_panel *panel;
    struct site *site;
    struct journal *j;
    char dir[64];
    enum c3sim_dialect dialect;
    unsigned npanels;
    bool batching;             /* commit like the console: one transaction per loop iteration */
    uint64_t serial0;          /* the panel's rows before this serial predate first contact */
};

static struct fx F;

/* Up, caught up and polling: the first status record has set the door sensors. */
static bool live(void)
{
    for (size_t i = 0; i < F.site->n_devices; i++)
        if (F.site->devices[i].link != LINK_UP || F.site->outputs[4 * i].state.sensor == SENSOR_UNKNOWN)
            return false;
    return true;
}

static void console_open(unsigned poll_ms)
{
    char conf[8192], err[256];
    size_t o = (size_t)snprintf(conf, sizeof conf, "site = { name = \"T\"; };\npanels = (");
    for (unsigned i = 0; i < F.npanels; i++)
        o += (size_t)snprintf(conf + o, sizeof conf - o,
                              "%s { name = \"P%.0u\"; host = \"127.0.0.1\"; port = %u; model = \"C3-400\"; poll_ms = %u;"
                              " timeout_ms = 1000; doors = ( \"D1-%u\", \"D2-%u\", \"D3-%u\", \"D4-%u\" ); }",
                              i ? "," : "", i, c3sim_server_panel_port(F.sim, i), poll_ms, i, i, i, i);
    snprintf(conf + o, sizeof conf - o, " );\n");
    F.site = fx_site_load(conf, F.loop);
    char path[128];
    snprintf(path, sizeof path, "%s/journal.db", F.dir);
    /* As the console: with batching the journal has the loop too (recovered rows go to its writer thread). */
    struct journal_opts jo = { .path = path, .loop = F.batching ? F.loop : NULL };
    F.j = journal_open(&jo, err, sizeof err);
    assert_non_null(F.j);
    for (int i = 0; i < 3000 && F.batching; i++) {
        struct journal_health h;
        journal_health(F.j, &h);
        if (h.state == JOURNAL_OK)
            break;
        loop_run_once(F.loop, 10); /* its check after opening runs in the background */
    }
    F.site->journal_db = F.j;
    if (F.batching)
        event_bus_set_batching(site_events(F.site), F.loop, 512);
    journal_attach(F.j, site_events(F.site));
    assert_int_equal(device_attach_all(F.site, drivers_registry, err, sizeof err), 0);
    device_start_all(F.site);
}

static void console_start(unsigned poll_ms)
{
    console_open(poll_ms);
    fx_run_until(F.loop, live, 30000);
    assert_true(live());
}

static void console_stop(void)
{
    event_bus_flush(site_events(F.site));
    device_detach_all(F.site);
    loop_run_once(F.loop, 0);
    site_free(F.site);
    F.site = NULL;
    journal_close(F.j);
    F.j = NULL;
}

static int setup_panels(enum c3sim_dialect d, size_t txn_cap, unsigned panels, double activity)
{
    memset(&F, 0, sizeof F);
    fx_tmpdir(F.dir, sizeof F.dir, "catchup");
    setenv("XDG_STATE_HOME", F.dir, 1);
    F.loop = loop_new();
    F.dialect = d;
    F.npanels = panels;
    struct c3sim_server_cfg sc = { .port = 0, .panels = panels, .restart_ms = 300 };
    sc.panel.activity = activity;
    sc.panel.model = c3sim_model_find("C3-400");
    sc.panel.dialect = d;
    sc.panel.password = "";
    sc.panel.seed = 3;
    sc.panel.transactions = txn_cap;
    F.sim = fx_c3sim_start(F.loop, &sc, &F.panel); /* every panel on a free port of its own */
    return 0;
}

static int setup_with(enum c3sim_dialect d, size_t txn_cap) { return setup_panels(d, txn_cap, 1, 0); }

static int setup_index(void **state) { (void)state; return setup_with(C3SIM_DIALECT_SESSION, 5000); }
/* Like a console: batching, and a journal with the loop (its writer thread stores the recovered rows). */
static int setup_index_console(void **state)
{
    int rc = setup_index(state);
    F.batching = true;
    return rc;
}
static int setup_time(void **state) { (void)state; return setup_with(C3SIM_DIALECT_SESSIONLESS, 5000); }
static int setup_kv(void **state) { (void)state; return setup_with(C3SIM_DIALECT_KV, 5000); }
static int setup_small(void **state) { (void)state; return setup_with(C3SIM_DIALECT_SESSION, 200); }
static int setup_small_time(void **state) { (void)state; return setup_with(C3SIM_DIALECT_SESSIONLESS, 200); }

static int teardown(void **state)
{
    (void)state;
    if (F.site)
        console_stop();
    c3sim_server_free(F.sim);
    loop_free(F.loop);
    fx_rmtree(F.dir);
    return 0;
}

/* ---- the journal against the simulator's table ---- */

struct jrows {
    struct event *ev;
    size_t n, cap;
};

static int collect(const struct event *ev, bool acked, void *arg)
{
    (void)acked;
    struct jrows *r = arg;
    if (r->n == r->cap) {
        r->cap = r->cap ? r->cap * 2 : 256;
        r->ev = realloc(r->ev, r->cap * sizeof *r->ev);
    }
    r->ev[r->n++] = *ev;
    return 0;
}

/* Every event of one kind, oldest first. */
static struct jrows journal_rows(int kind)
{
    struct jrows r = { 0 };
    char err[256], path[128];
    snprintf(path, sizeof path, "%s/journal.db", F.dir);
    struct journal_opts jo = { .path = path, .readonly = true };
    struct journal *j = journal_open(&jo, err, sizeof err);
    assert_non_null(j);
    struct journal_query q = { .kind = kind, .min_severity = -1, .limit = 1000000 };
    assert_true(journal_query_events(j, &q, collect, &r) >= 0);
    journal_close(j);
    for (size_t i = 0; i < r.n / 2; i++) { /* newest first -> oldest first */
        struct event t = r.ev[i];
        r.ev[i] = r.ev[r.n - 1 - i];
        r.ev[r.n - 1 - i] = t;
    }
    return r;
}

static bool same_row(const struct event *ev, const struct c3sim_txn *x)
{
    return ev->device_time == c3_catchup_epoch(x->time) && ev->card == x->card && ev->pin == x->pin &&
           ev->code == x->type && ev->door_no == x->door && ev->verify == x->verify && ev->inout == x->inout;
}

/* Every row the panel recorded since first contact is journaled exactly once, except `lost` rows that were
 * overwritten before they could be read; recovered ones appear in table order. Returns how many were recovered. */
static size_t check_panel(unsigned panel, uint64_t lost)
{
    struct jrows all = journal_rows(EVENT_ACCESS), r = { 0 };
    char name[16];
    snprintf(name, sizeof name, "P%.0u", panel);
    for (size_t i = 0; i < all.n; i++)
        if (strcmp(all.ev[i].device, name) == 0)
            collect(&all.ev[i], false, &r);
    free(all.ev);
    const struct c3sim_tables *t = &c3sim_server_panel(F.sim, panel)->tables;
    uint64_t first = t->txn_serial - t->txn_count;
    uint64_t from = first > F.serial0 ? first : F.serial0;
    /* Rows written and gone from the table since first contact were either journaled before, or lost. */
    size_t gone = (size_t)(from - F.serial0);
    assert_true(gone >= lost);
    size_t want = (size_t)(t->txn_serial - F.serial0 - lost);
    bool *used = calloc(r.n + 1, sizeof *used);
    size_t recovered = 0;
    for (uint64_t s = from; s < t->txn_serial; s++) {
        const struct c3sim_txn *x = &t->txn[(t->txn_head + (size_t)(s - first)) % t->txn_cap];
        size_t hit = r.n;
        for (size_t i = 0; i < r.n; i++)
            if (!used[i] && same_row(&r.ev[i], x)) {
                hit = i;
                break;
            }
        if (hit == r.n)
            fail_msg("row index %u (event %u, card %u) is not in the journal", x->index, x->type, x->card);
        used[hit] = true;
    }
    for (size_t i = 0; i < r.n; i++)
        recovered += r.ev[i].recovered;
    /* Recovered rows are journaled in table order (by their Index where the key carries one, else by time;
     * identical rows of one second cannot be told apart, so the order is checked on the rows themselves). */
    int64_t last_index = -1, last_time = 0;
    for (size_t i = 0; i < r.n; i++) {
        if (!r.ev[i].recovered)
            continue;
        const char *h = strstr(r.ev[i].key, "|#");
        if (h) {
            int64_t idx = strtoll(h + 2, NULL, 10);
            assert_true(idx > last_index);
            last_index = idx;
        }
        assert_true(r.ev[i].device_time >= last_time);
        last_time = r.ev[i].device_time;
    }
    if (r.n != want) {
        for (size_t i = 0; i < r.n; i++)
            if (!used[i])
                fprintf(stderr, "unmatched journal row: %s (key %s)\n", r.ev[i].text, r.ev[i].key);
        fail_msg("journal has %zu access events, the panel recorded %zu (%zu gone before the check, %llu lost)", r.n,
                 want, gone, (unsigned long long)lost);
    }
    free(used);
    free(r.ev);
    return recovered;
}

static size_t check_exactly_once(uint64_t lost) { return check_panel(0, lost); }

/* Whether some gap row contains text. */
static bool has_gap(const char *text)
{
    struct jrows r = journal_rows(EVENT_GAP);
    bool found = false;
    for (size_t i = 0; i < r.n && !found; i++)
        found = strstr(r.ev[i].text, text) != NULL;
    if (!found)
        for (size_t i = 0; i < r.n; i++)
            fprintf(stderr, "gap row: %s\n", r.ev[i].text);
    free(r.ev);
    return found;
}

/* The newest gap row's text. */
static void last_gap(char *out, size_t cap)
{
    struct jrows r = journal_rows(EVENT_GAP);
    assert_true(r.n > 0);
    snprintf(out, cap, "%s", r.ev[r.n - 1].text);
    free(r.ev);
}

/* First contact with a freshly booted panel: its device-start event is still in the ring and is shown live,
 * so every row of the table is expected in the journal. */
static void first_start(unsigned poll_ms)
{
    console_start(poll_ms);
    struct jrows r = journal_rows(EVENT_SYSTEM);
    bool found = false;
    for (size_t i = 0; i < r.n; i++)
        found |= strstr(r.ev[i].text, "first contact") && strstr(r.ev[i].text, "1 earlier events");
    free(r.ev);
    assert_true(found);
    F.serial0 = 0;
}

static void burst(unsigned n)
{
    char err[128];
    assert_int_equal(c3sim_panel_burst(F.panel, n, err, sizeof err), 0);
}

/* ---- tests ---- */

static void downtime_recovered_exactly_once(void **state)
{
    (void)state;
    first_start(100);
    burst(10); /* live */
    fx_run_for(F.loop, 800);
    assert_int_equal(check_exactly_once(0), 0);
    console_stop();
    burst(57); /* while nobody polls */
    char err[128];
    assert_int_equal(c3sim_panel_swipe(F.panel, 2, 4242, 0, 0, 1, err, sizeof err), 0);
    console_start(100);
    char gap[300];
    last_gap(gap, sizeof gap);
    assert_non_null(strstr(gap, "portier was not polling"));
    assert_non_null(strstr(gap, "nothing lost, 58 events recovered"));
    burst(5); /* live again */
    fx_run_for(F.loop, 800);
    assert_int_equal(check_exactly_once(0), 58);
    /* A quick restart without activity: nothing recovered, nothing doubled. */
    console_stop();
    console_start(100);
    last_gap(gap, sizeof gap);
    assert_non_null(strstr(gap, "nothing lost, 0 events recovered"));
    assert_int_equal(check_exactly_once(0), 58);
}

static void downtime_recovered_by_time(void **state)
{
    (void)state;
    first_start(100);
    burst(10);
    fx_run_for(F.loop, 800);
    console_stop();
    burst(40);
    console_start(100);
    char gap[300];
    last_gap(gap, sizeof gap);
    assert_non_null(strstr(gap, "nothing lost, 40 events recovered"));
    burst(3);
    fx_run_for(F.loop, 800);
    console_stop();
    console_start(100);
    assert_int_equal(check_exactly_once(0), 40);
}

static void key_value_log_recovered_once(void **state)
{
    (void)state;
    first_start(100);
    burst(12);
    fx_run_for(F.loop, 800);
    console_stop();
    burst(25);
    console_start(100);
    burst(4);
    fx_run_for(F.loop, 800);
    assert_int_equal(check_exactly_once(0), 25);
}

static void wrapped_table_counts_lost(void **state)
{
    (void)state;
    first_start(100);
    burst(5);
    fx_run_for(F.loop, 800);
    /* A restart places the position on a row Index. */
    console_stop();
    console_start(100);
    console_stop();
    burst(500); /* the table keeps 200 */
    console_start(100);
    char gap[300];
    last_gap(gap, sizeof gap);
    assert_non_null(strstr(gap, "300 events lost for good"));
    assert_non_null(strstr(gap, "200 recovered"));
    size_t rec = check_exactly_once(300);
    if (rec != 200) {
        has_gap("no such text: list them");
        fail_msg("%zu recovered", rec);
    }
}

/* The first contact itself places the position on the table's last Index: a wrap right after it is counted. */
static void wrapped_after_first_contact(void **state)
{
    (void)state;
    first_start(100);
    console_stop();
    burst(500); /* the table keeps 200 of 501 rows */
    console_start(100);
    char gap[300];
    last_gap(gap, sizeof gap);
    if (!strstr(gap, "300 events lost for good") || !strstr(gap, "200 recovered"))
        fail_msg("gap row: %s", gap);
    assert_int_equal(check_exactly_once(300), 200);
}

static void wrapped_table_by_time_says_maybe(void **state)
{
    (void)state;
    first_start(100);
    burst(5);
    fx_run_for(F.loop, 800);
    console_stop();
    fx_run_for(F.loop, 1100); /* a later second, so every row of the burst is newer than the position */
    burst(450);
    console_start(100);
    char gap[300];
    last_gap(gap, sizeof gap);
    assert_non_null(strstr(gap, "200 events recovered"));
    assert_non_null(strstr(gap, "may be lost"));
}

/* The connect catch-up has read its rows; anything recorded from now on is not in that read. */
static bool catchup_read_served(void) { return F.panel->tables.newrec_end == F.panel->tables.txn_serial; }

/* The same unknown card at the same door twice in one second: once while nobody polls (recovered by the connect
 * catch-up) and once right after the catch-up's read, before the first poll. The connect emptied the panel's
 * ring, so the second swipe is no echo of the recovered row: it is a new event, journaled once, in table order
 * after the first and before what comes later (by content it cannot be told from an echo until a table read
 * shows its row). */
static void same_second_twin_after_connect_catchup(void **state)
{
    (void)state;
    first_start(100);
    console_stop();
    char err[128];
    assert_int_equal(c3sim_panel_swipe(F.panel, 2, 4242, 0, 0, 1, err, sizeof err), 0);
    struct c3sim_tables *t = &F.panel->tables;
    uint32_t first = t->txn[(t->txn_head + t->txn_count - 1) % t->txn_cap].time;
    t->newrec_end = 0;
    console_open(100);
    fx_run_until(F.loop, catchup_read_served, 10000);
    assert_true(catchup_read_served());
    /* The panel's clock shows the first swipe's second again (however long the start took). */
    F.panel->clock_offset += c3_catchup_epoch(first) - c3_catchup_epoch(c3sim_panel_now(F.panel));
    assert_int_equal(c3sim_panel_swipe(F.panel, 2, 4242, 0, 0, 1, err, sizeof err), 0);
    assert_int_equal(t->txn[(t->txn_head + t->txn_count - 1) % t->txn_cap].time, first);
    fx_run_until(F.loop, live, 10000);
    assert_int_equal(c3sim_panel_swipe(F.panel, 1, 777, 0, 0, 1, err, sizeof err), 0); /* and a later event */
    fx_run_for(F.loop, 800);
    event_bus_flush(site_events(F.site));
    struct jrows r = journal_rows(EVENT_ACCESS);
    size_t n = 0, later = 0;
    for (size_t i = 0; i < r.n; i++) {
        if (r.ev[i].card == 4242 && later) {
            for (size_t k = 0; k < r.n; k++)
                fprintf(stderr, "journal: %s%s\n", r.ev[k].text, r.ev[k].recovered ? " (recovered)" : "");
            fail_msg("journal event %zu (%s) after the later event", i, r.ev[i].text);
        }
        n += r.ev[i].card == 4242;
        later += r.ev[i].card == 777;
    }
    free(r.ev);
    if (n != 2 || later != 1)
        fail_msg("the two swipes of card 4242 are journaled %zu times before the later event (%zu times)", n, later);
    check_exactly_once(0);
}

/* The steps of a first contact that runs while polling goes on, as the panel serves them: after the clock is read,
 * the panel's answers are slow (so a poll waits behind the Index read); once the Index read is answered a card is
 * swiped (a row after the position) and the next request, that poll, takes it off the ring. */
static struct {
    int step;
    bool polled_before_mark;
} FC;

static void first_contact_steps(struct c3sim_panel *p, uint8_t cmd, void *arg)
{
    (void)arg;
    char err[128];
    struct c3sim_faults slow = { .delay_ms = 300 }, none = { 0 };
    if (FC.step == 1 && cmd == C3_CMD_GET_PARAM) {
        c3sim_server_set_faults(F.sim, 0, &slow);
        FC.step = 2;
    } else if (FC.step == 2 && cmd == C3_CMD_GET_DATA) {
        assert_int_equal(c3sim_panel_swipe(p, 2, 4242, 0, 0, 1, err, sizeof err), 0);
        FC.step = 3;
    } else if (FC.step == 3) {
        FC.polled_before_mark = cmd == C3_CMD_RTLOG_BINARY && p->ring_count == 0;
        c3sim_server_set_faults(F.sim, 0, &none);
        FC.step = 4;
    }
}

static bool first_contact_stepped(void) { return FC.step == 4; }
static bool position_saved(void) { return F.panel->tables.newrec_end == F.panel->tables.txn_serial; }

/* The connect catch-up's first contact fails (the panel's clock cannot be read): polling starts all the same and
 * the first contact is made again by a later catch-up while events are polled. An event polled after that
 * first contact read the table's last Index (its row is after the position) is journaled live and, when the next
 * read returns its row, matched: once in the journal (it was forgotten with the events before it, and its row
 * journaled a second time as recovered). */
static void first_contact_while_polling(void **state)
{
    (void)state;
    memset(&FC, 0, sizeof FC);
    F.panel->get_param_error = -5;
    console_open(100);
    fx_run_until(F.loop, live, 10000);
    assert_true(live());
    F.panel->get_param_error = 0;
    F.panel->served = first_contact_steps;
    FC.step = 1;
    burst(10); /* a busy round: a catch-up a second later, a first contact again */
    fx_run_until(F.loop, first_contact_stepped, 15000);
    assert_int_equal(FC.step, 4);
    assert_true(FC.polled_before_mark);
    F.panel->served = NULL;
    burst(10); /* the next catch-up reads the rows after the position */
    fx_run_for(F.loop, 300);
    fx_run_until(F.loop, position_saved, 10000);
    fx_run_for(F.loop, 300);
    event_bus_flush(site_events(F.site));
    struct jrows r = journal_rows(EVENT_ACCESS);
    size_t n = 0;
    for (size_t i = 0; i < r.n; i++)
        n += r.ev[i].card == 4242;
    free(r.ev);
    assert_int_equal(n, 1);
    check_exactly_once(0);
}

static bool count_served(void) { return F.panel->tables.counts_served > 0; }

/* More events than the ring holds while the first contact runs (after the panel counted its rows, before polling
 * starts): the rows the first contact says were not read are the rows its position covers, and every row after
 * them is journaled once (before, rows recorded between the count and the position were in neither). */
static void busy_first_contact(void **state)
{
    (void)state;
    console_open(100);
    fx_run_until(F.loop, count_served, 10000);
    assert_true(count_served());
    burst(40); /* with the boot row 41 events: the 30-event ring drops 11 */
    fx_run_until(F.loop, live, 10000);
    burst(5);
    fx_run_for(F.loop, 800);
    event_bus_flush(site_events(F.site));
    struct jrows sys = journal_rows(EVENT_SYSTEM);
    unsigned before = 0;
    for (size_t i = 0; i < sys.n; i++) {
        static const char fc[] = "first contact with this panel: ";
        const char *p = strstr(sys.ev[i].text, fc);
        if (p)
            before = (unsigned)strtoul(p + sizeof fc - 1, NULL, 10);
    }
    free(sys.ev);
    const struct c3sim_tables *t = &F.panel->tables;
    struct jrows r = journal_rows(EVENT_ACCESS);
    /* The journal: the last rows of the table, from at most the first one after the position. */
    size_t total = (size_t)t->txn_serial;
    if (r.n < total - before)
        fail_msg("first contact says %u rows were not read; of the %zu after them the journal has %zu", before,
                 total - before, r.n);
    for (size_t i = 0; i < r.n; i++) {
        const struct c3sim_txn *x = &t->txn[(t->txn_head + t->txn_count - r.n + i) % t->txn_cap];
        if (!same_row(&r.ev[i], x))
            fail_msg("journal event %zu (%s) is not row %u of the table", i, r.ev[i].text, x->index);
    }
    free(r.ev);
}

static void ring_overflow_recovered(void **state)
{
    (void)state;
    first_start(2000); /* slow polling: the 30-event ring overflows */
    burst(100);
    uint64_t dropped0 = F.panel->events_dropped;
    fx_run_for(F.loop, 200);
    burst(100);
    fx_run_for(F.loop, 4500);
    assert_true(F.panel->events_dropped > dropped0);
    size_t rec = check_exactly_once(0);
    assert_true(rec >= 70);
    char gap[300];
    last_gap(gap, sizeof gap);
    assert_non_null(strstr(gap, "the real-time log missed were recovered"));
}

/* With a console's journal, the recovered rows went through its writer thread. */
static void check_background(void)
{
    if (!F.batching)
        return;
    struct journal_ckpt_stats st;
    journal_checkpoint_stats(F.j, &st);
    assert_true(st.background > 0);
}

static void cut_during_catchup(void **state)
{
    (void)state;
    first_start(100);
    burst(3);
    fx_run_for(F.loop, 600);
    console_stop();
    console_start(100);
    console_stop();
    burst(4000); /* the catch-up needs the big-data transfer */
    c3sim_server_cut(F.sim, 0, 3);
    console_start(100);
    assert_int_equal(F.panel->tables.reads_served > 0, 1);
    assert_int_equal(check_exactly_once(0), 4000);
    /* The first catch-up resumed its transfer after the cut and closed the downtime; the new connection's
     * catch-up found nothing more. */
    assert_true(has_gap("portier was not polling"));
    assert_true(has_gap("nothing lost, 4000 events recovered"));
    assert_true(has_gap("link was down"));
    check_background();
}

/* Recovered rows in the journal now. */
static size_t recovered_rows(void)
{
    struct jrows r = journal_rows(EVENT_ACCESS);
    size_t n = 0;
    for (size_t i = 0; i < r.n; i++)
        n += r.ev[i].recovered;
    free(r.ev);
    return n;
}

/* A new-records read is journaled chunk by chunk while the rest is in flight: when the connection breaks in the
 * middle, the rows of the chunks that arrived are in the journal already, the position has not moved (no gap row
 * says the catch-up is done), and after the transfer resumes every row is there once, in order. */
static void streamed_rows_journaled_before_the_read_ends(void **state)
{
    (void)state;
    first_start(100);
    console_stop();
    console_start(100);
    console_stop();
    burst(4000);
    c3sim_server_cut(F.sim, 0, 4);
    console_open(100);
    size_t early = 0;
    uint64_t end = loop_mono_us() + 20000000u;
    while (!early && loop_mono_us() < end) {
        loop_run_once(F.loop, 5);
        early = recovered_rows();
    }
    assert_true(early > 0);
    assert_true(early < 4000);
    assert_false(has_gap("4000 events recovered"));
    fx_run_until(F.loop, live, 30000);
    assert_true(live());
    assert_int_equal(check_exactly_once(0), 4000);
    assert_true(has_gap("nothing lost, 4000 events recovered"));
    check_background();
}

/* A background store the test hands back itself: each batch is stored at once (the journal's own store) and held
 * until the test says, as the journal's writer thread holds it until its eventfd is read. */
static struct {
    struct event_bus *bus;
    bool held;
    unsigned batches;
    size_t recovered;       /* recovered rows delivered */
} H;

static bool held_ready(void *arg) { (void)arg; return !H.held; }

static void held_start(struct event *evs, size_t n, int *rc, struct event_bus *bus, void *arg)
{
    (void)arg;
    journal_store_events(F.j, evs, n, rc);
    H.bus = bus;
    H.held = true;
    H.batches++;
}

static void held_hand_back(void)
{
    H.held = false;
    event_bus_stored_batch(H.bus);
}

static void held_wait(void *arg)
{
    (void)arg;
    if (H.held)
        held_hand_back();
}

static void note_recovered(const struct event *ev, void *arg)
{
    (void)arg;
    H.recovered += ev->recovered;
}

/* The catch-up moves its position when the bus hands its last batch back, told then, not by looking now and
 * then: while the batch is held the loop runs no timer for it, and the row that ends the catch-up is published
 * inside the hand-back itself, before the loop turns again. */
static void position_moves_when_the_batch_is_handed_back(void **state)
{
    (void)state;
    first_start(100);
    console_stop();
    console_start(100);
    console_stop();
    burst(1500);
    memset(&H, 0, sizeof H);
    console_open(100);
    struct event_bus *bus = site_events(F.site);
    struct event_bus_background bg = { .ready = held_ready, .start = held_start, .wait = held_wait };
    event_bus_set_background(bus, &bg);
    int sub = event_bus_subscribe(bus, note_recovered, NULL);
    /* The first batch is held: every other row of the read arrives behind it and the read ends. */
    uint64_t end = loop_mono_us() + 20000000u;
    while (!H.held && loop_mono_us() < end)
        loop_run_once(F.loop, 5);
    assert_true(H.held);
    /* The read goes on to its end (no more chunks asked for during 200 turns): the catch-up waits. */
    uint64_t reads = F.panel->tables.reads_served;
    for (int still = 0; still < 200 && loop_mono_us() < end; still++) {
        loop_run_once(F.loop, 1);
        if (F.panel->tables.reads_served != reads) {
            reads = F.panel->tables.reads_served;
            still = 0;
        }
    }
    assert_true(H.held);
    assert_false(has_gap("1500 events recovered"));
    /* Held for a while: the loop is idle (a look every 100 µs would be hundreds of callbacks). */
    struct loop_stats a, b;
    loop_get_stats(F.loop, &a);
    uint64_t until = loop_mono_us() + 200000u;
    while (loop_mono_us() < until)
        loop_run_once(F.loop, 20);
    loop_get_stats(F.loop, &b);
    assert_true(b.callbacks - a.callbacks < 40);
    /* Hand the batches back; the one with the last recovered row makes the catch-up publish its gap row at once
     * (nothing else is queued then: polling starts after the catch-up). */
    bool told = false;
    end = loop_mono_us() + 20000000u;
    while (!told && loop_mono_us() < end) {
        if (H.held) {
            held_hand_back();
            told = H.recovered == 1500 && event_bus_unstored_from(bus) != 0;
            if (H.recovered == 1500)
                break;
            continue;
        }
        loop_run_once(F.loop, 1);
    }
    assert_true(told);
    assert_true(H.batches >= 2);
    event_bus_unsubscribe(bus, sub);
    fx_run_until(F.loop, live, 30000);
    assert_true(live());
    assert_int_equal(check_exactly_once(0), 1500);
    assert_true(has_gap("nothing lost, 1500 events recovered"));
}

static bool down(void) { return F.site->devices[0].link != LINK_UP; }

static void panel_restart_while_watched(void **state)
{
    (void)state;
    first_start(100);
    burst(6);
    fx_run_for(F.loop, 600);
    c3sim_server_restart(F.sim, 0); /* 300 ms away, then the device-start event */
    fx_run_until(F.loop, down, 3000);
    fx_run_until(F.loop, live, 10000);
    burst(2);
    fx_run_for(F.loop, 1000);
    /* The device-start row is in the table read and then in the ring (first connect after a boot): once. */
    assert_true(check_exactly_once(0) >= 1);
    char gap[300];
    last_gap(gap, sizeof gap);
    assert_non_null(strstr(gap, "link was down"));
    assert_non_null(strstr(gap, "nothing lost"));
}

static int setup_two(void **state)
{
    (void)state;
    return setup_panels(C3SIM_DIALECT_SESSION, 5000, 2, 0);
}

/* The last row of a panel's table. */
static const struct c3sim_txn *last_row(unsigned panel)
{
    const struct c3sim_tables *t = &c3sim_server_panel(F.sim, panel)->tables;
    return &t->txn[(t->txn_head + t->txn_count - 1) % t->txn_cap];
}

/* Two panels record the same row (the same Index, second, card and door) while nobody polls: each is its own
 * event and both are recovered into the journal (a key without the panel's name made the second one a
 * duplicate of the first, and the journal dropped it). */
static void same_row_on_two_panels_recovered_twice(void **state)
{
    (void)state;
    console_start(100); /* first contact: the device-start rows, shown live */
    console_stop();
    char err[128];
    struct c3sim_panel *p[2] = { c3sim_server_panel(F.sim, 0), c3sim_server_panel(F.sim, 1) };
    assert_int_equal(p[0]->tables.txn_serial, p[1]->tables.txn_serial);
    for (int tries = 0;; tries++) {
        /* Both clocks show the same second (set again if a second began between the two swipes). */
        int64_t at = c3sim_panel_host_wall() + 3600;
        for (int i = 0; i < 2; i++) {
            p[i]->clock_offset = at - c3sim_panel_host_wall();
            assert_int_equal(c3sim_panel_swipe(p[i], 2, 4242, 0, 0, 1, err, sizeof err), 0);
        }
        if (last_row(0)->time == last_row(1)->time)
            break;
        assert_true(tries < 3);
    }
    assert_int_equal(last_row(0)->index, last_row(1)->index);
    console_start(100);
    event_bus_flush(site_events(F.site));
    assert_true(check_panel(0, 0) >= 1);
    assert_true(check_panel(1, 0) >= 1);
}

static int setup_flood(void **state)
{
    (void)state;
    setup_panels(C3SIM_DIALECT_SESSION, 20000, 10, 0);
    F.batching = true;
    return 0;
}

/* 10 panels x 100 events/s (the console's flood case), polled every second: the 30-event rings overflow
 * between polls now and then; the journal still ends up with every row of every panel, once. */
static void flood_ten_panels(void **state)
{
    (void)state;
    console_start(1000); /* first contact: only the device-start events, shown live */
    uint64_t dropped0 = 0;
    for (unsigned i = 0; i < 10; i++) {
        dropped0 += c3sim_server_panel(F.sim, i)->events_dropped;
        c3sim_panel_set_activity(c3sim_server_panel(F.sim, i), 100.0);
    }
    fx_run_for(F.loop, 2500);
    burst(120); /* and one panel gets a burst the ring cannot hold */
    fx_run_for(F.loop, 2500);
    uint64_t dropped = 0, total = 0;
    for (unsigned i = 0; i < 10; i++) {
        struct c3sim_panel *p = c3sim_server_panel(F.sim, i);
        c3sim_panel_set_activity(p, 0); /* the flood ends */
        dropped += p->events_dropped;
        total += p->events_total;
    }
    /* Doors still close (and held ones time out) after the last activity: wait until the panels are quiet,
     * then for a poll round. */
    uint64_t seen = 0, end = loop_mono_us() + 40000000u, quiet_since = loop_mono_us();
    while (loop_mono_us() < end && loop_mono_us() - quiet_since < 2500000u) {
        fx_run_for(F.loop, 100);
        uint64_t now = 0;
        for (unsigned i = 0; i < 10; i++)
            now += c3sim_server_panel(F.sim, i)->events_total;
        if (now != seen) {
            seen = now;
            quiet_since = loop_mono_us();
        }
    }
    event_bus_flush(site_events(F.site));
    assert_true(dropped > dropped0);
    size_t recovered = 0;
    for (unsigned i = 0; i < 10; i++)
        recovered += check_panel(i, 0);
    assert_true(recovered >= dropped - dropped0);
    fprintf(stderr, "flood: %llu events, %llu dropped from rings, %zu recovered\n", (unsigned long long)total,
            (unsigned long long)(dropped - dropped0), recovered);
}

/* Two programs from this file (meson: c3_catchup_site and c3_catchup_site_live): every case runs a simulated
 * panel on real time, and all of them in one program came close to the per-program time limit on a loaded machine.
 * c3_catchup_site: the console stops and starts again (downtime, first contact, a cut during the catch-up);
 * c3_catchup_site_live: the console watches while the panel is busy or restarts (ring overflow, ten panels). */
#ifndef C3_CATCHUP_SITE_PART
#define C3_CATCHUP_SITE_PART 1
#endif

int main(void)
{
    const struct CMUnitTest part1[] = {
        cmocka_unit_test_setup_teardown(downtime_recovered_exactly_once, setup_index, teardown),
        cmocka_unit_test_setup_teardown(downtime_recovered_by_time, setup_time, teardown),
        cmocka_unit_test_setup_teardown(key_value_log_recovered_once, setup_kv, teardown),
        cmocka_unit_test_setup_teardown(wrapped_table_counts_lost, setup_small, teardown),
        cmocka_unit_test_setup_teardown(wrapped_after_first_contact, setup_small, teardown),
        cmocka_unit_test_setup_teardown(wrapped_table_by_time_says_maybe, setup_small_time, teardown),
        cmocka_unit_test_setup_teardown(same_second_twin_after_connect_catchup, setup_index, teardown),
        cmocka_unit_test_setup_teardown(busy_first_contact, setup_index, teardown),
        cmocka_unit_test_setup_teardown(first_contact_while_polling, setup_index, teardown),
        cmocka_unit_test_setup_teardown(cut_during_catchup, setup_index, teardown),
        cmocka_unit_test_setup_teardown(streamed_rows_journaled_before_the_read_ends, setup_index, teardown),
        cmocka_unit_test_setup_teardown(downtime_recovered_exactly_once, setup_index_console, teardown),
        cmocka_unit_test_setup_teardown(cut_during_catchup, setup_index_console, teardown),
        cmocka_unit_test_setup_teardown(streamed_rows_journaled_before_the_read_ends, setup_index_console, teardown),
        cmocka_unit_test_setup_teardown(position_moves_when_the_batch_is_handed_back, setup_index_console, teardown),
        cmocka_unit_test_setup_teardown(same_row_on_two_panels_recovered_twice, setup_two, teardown),
    };
    const struct CMUnitTest part2[] = {
        cmocka_unit_test_setup_teardown(ring_overflow_recovered, setup_index, teardown),
        cmocka_unit_test_setup_teardown(panel_restart_while_watched, setup_index, teardown),
        cmocka_unit_test_setup_teardown(flood_ten_panels, setup_flood, teardown),
    };
    if (C3_CATCHUP_SITE_PART == 2)
        return cmocka_run_group_tests(part2, NULL, NULL);
    return cmocka_run_group_tests(part1, NULL, NULL);
}
