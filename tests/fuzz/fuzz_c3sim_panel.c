/* fuzz_c3sim_panel: the C3 simulator's panel model driven by untrusted request payloads (GET/SET params text,
 * CONTROL payloads, RT-log reads) and operator actions, on a fake clock; checks the reply invariants. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/loop.h"
#include "sim/c3sim_panel.h"
#include "sim/c3sim_params.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2)
        return 0;
    loop_t *loop = loop_new_fake(1000000);
    if (!loop)
        return 0;
    const char *models[] = { "c3-100", "c3-200", "c3-400" };
    struct c3sim_panel_cfg cfg = { .model = c3sim_model_find(models[data[0] % 3]),
                                   .dialect = (enum c3sim_dialect)(data[1] % 3), .password = "pw",
                                   .seed = data[1], .activity = (data[0] & 0x80) ? 50.0 : 0.0, .device_id = 1 };
    struct c3sim_panel p;
    if (c3sim_panel_init(&p, loop, &cfg) < 0) {
        loop_free(loop);
        return 0;
    }
    static char out[8192];
    size_t i = 2;
    while (i + 2 <= size) {
        uint8_t op = data[i], len = data[i + 1];
        i += 2;
        if (len > size - i)
            len = (uint8_t)(size - i);
        const uint8_t *arg = data + i;
        i += len;
        char err[200];
        int rc;
        uint8_t rec[16];
        switch (op % 9) {
        case 0:
            rc = c3sim_params_get(&p, (const char *)arg, len, out, sizeof out);
            if (rc >= 0 && ((size_t)rc >= sizeof out || out[rc] != '\0'))
                abort();
            break;
        case 1:
            rc = c3sim_params_set(&p, (const char *)arg, len);
            if (rc == C3SIM_RESTART) {
                c3sim_panel_shutdown(&p);
                c3sim_panel_boot(&p);
            }
            break;
        case 2:
            rc = c3sim_panel_control(&p, arg, len);
            if (rc == C3SIM_RESTART) {
                c3sim_panel_shutdown(&p);
                c3sim_panel_boot(&p);
            }
            break;
        case 3:
            c3sim_panel_rtlog_binary(&p, rec);
            break;
        case 4:
            rc = c3sim_panel_rtlog_kv(&p, out, sizeof out);
            if (rc < 0 || (size_t)rc >= sizeof out || out[rc] != '\0')
                abort();
            break;
        case 5:
            if (len >= 6)
                (void)c3sim_panel_swipe(&p, arg[0] % 6, (uint32_t)arg[1] << 16 | arg[2], arg[3], arg[4] % 3 - 1,
                                        arg[5] % 3, err, sizeof err);
            break;
        case 6:
            if (len >= 2) {
                int door = arg[0] % 6;
                switch (arg[1] % 6) {
                case 0: (void)c3sim_panel_sensor(&p, door, true, err, sizeof err); break;
                case 1: (void)c3sim_panel_sensor(&p, door, false, err, sizeof err); break;
                case 2: (void)c3sim_panel_force(&p, door, err, sizeof err); break;
                case 3: (void)c3sim_panel_hold(&p, door, err, sizeof err); break;
                case 4: (void)c3sim_panel_button(&p, door, err, sizeof err); break;
                default: (void)c3sim_panel_auxin(&p, door, arg[1] & 0x40, err, sizeof err); break;
                }
            }
            break;
        case 7:
            c3sim_panel_client_connected(&p);
            break;
        default:
            loop_advance(loop, (uint64_t)len * 250000u); /* up to ~64 s: timeouts, pulses, activity */
            break;
        }
        if (p.ring_count > C3SIM_RING_SIZE)
            abort();
    }
    c3sim_panel_free(&p);
    loop_free(loop);
    return 0;
}
