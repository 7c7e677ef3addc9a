/*
 * bench_store.c — the object store on the RAM port with a 1 MiB region: mount time at ~50% full,
 * write and read rates for 600- and 2000-byte objects, flash bytes per stored key set, and how
 * many key sets fit. Not a test (no pass/fail); run by hand: build/emu/bench_store.
 *
 * The RAM port measures the store's CPU cost only. The flash operations per write are printed
 * too, with an estimate for QSPI NOR (page program 0.4 ms, sector erase 45 ms: W25Q16JV typical).
 */
#include <stdio.h>
#include <time.h>

#include "hsm/err.h"
#include "hsm/store.h"
#include "ram_port.h"
#include "store_model.h"

#define REGION (1024u * 1024u)
#define T_PROG_MS 0.4
#define T_ERASE_MS 45.0

static uint8_t buf[HSM_STORE_OBJ_MAX];
static const char dashes[] = "------------------------------------------------------------";

static double now_s(void)
{
    struct timespec ts;
    timespec_get(&ts, TIME_UTC);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void fresh(void)
{
    ram_port_reset(NULL);
    ram_port_set_size(REGION);
    hsm_store_mount(NULL);
}

static uint32_t live_bytes(void)
{
    hsm_store_stats s;
    hsm_store_get_stats(&s);
    return s.live_bytes;
}

/* Fills the store to half its capacity with objects 0..n-1, alternately len_a and len_b bytes
 * long; returns n. */
static unsigned half_fill(size_t len_a, size_t len_b)
{
    hsm_store_stats s;
    unsigned n = 0;
    hsm_store_get_stats(&s);
    model_gen(1, buf, HSM_STORE_OBJ_MAX);
    while (live_bytes() < s.capacity / 2 &&
           hsm_store_write((uint16_t)n, buf, n % 2 ? len_b : len_a, 0) == HSM_OK) {
        n++;
    }
    return n;
}

static void bench_mount(void)
{
    fresh();
    half_fill(600, 2000);
    const int reps = 20;
    double t0 = now_s();
    for (int i = 0; i < reps; i++) {
        hsm_store_mount(NULL);
    }
    double t = (now_s() - t0) / reps;
    hsm_store_stats s;
    hsm_store_get_stats(&s);
    char what[64];
    snprintf(what, sizeof(what), "mount, %u%% full (%u objects)", 100 * s.live_bytes / s.capacity,
             s.live_objects);
    printf("| %-44s | %10.2f ms | %-40s |\n", what, t * 1e3, "600 B and 2000 B objects");
}

/* Overwrites random objects of a half-full store (steady state, garbage collection included),
 * then reads them back. */
static void bench_rw(size_t len)
{
    fresh();
    unsigned n = half_fill(len, len), writes = 20000, reads = 50000;
    uint32_t r = 7, ops0 = ram_port_flash_ops(), er0 = ram_port_flash_erases();
    model_gen(3, buf, len);
    double t0 = now_s();
    for (unsigned i = 0; i < writes; i++) {
        if (hsm_store_write((uint16_t)(model_rand(&r) % n), buf, len, 0) != HSM_OK) {
            printf("write failed\n");
            return;
        }
    }
    double tw = now_s() - t0;
    double erases = (double)(ram_port_flash_erases() - er0) / writes;
    double progs = (double)(ram_port_flash_ops() - ops0) / writes - erases;
    size_t got;
    t0 = now_s();
    for (unsigned i = 0; i < reads; i++) {
        hsm_store_read((uint16_t)(model_rand(&r) % n), 0, buf, len, &got);
    }
    double tr = now_s() - t0;
    double est_ms = progs * T_PROG_MS + erases * T_ERASE_MS;
    char what[64], note[64];
    snprintf(what, sizeof(what), "write %zu B, overwrite at 50%% full", len);
    snprintf(note, sizeof(note), "%.1f programs + %.3f erases: ~%.0f /s on NOR", progs, erases,
             1000.0 / est_ms);
    printf("| %-44s | %10.0f /s | %-40s |\n", what, writes / tw, note);
    snprintf(what, sizeof(what), "read %zu B", len);
    printf("| %-44s | %10.0f /s | %-40s |\n", what, reads / tr, "");
}

typedef struct {
    const char *name;
    size_t len[3];
} keyset;

/* Writes key sets (3 objects each) until the store refuses; returns how many fit. */
static unsigned fill_keys(const keyset *k, uint32_t *per_key, const char **limit)
{
    unsigned n = 0;
    fresh();
    for (;;) {
        uint32_t before = live_bytes();
        int rc = HSM_OK;
        for (unsigned j = 0; j < 3 && rc == HSM_OK; j++) {
            model_gen(n * 3 + j, buf, k->len[j]);
            rc = hsm_store_write((uint16_t)(n * 3 + j), buf, k->len[j], 0);
        }
        if (rc != HSM_OK) {
            hsm_store_stats s;
            hsm_store_get_stats(&s);
            *limit = s.live_objects + 1 >= HSM_STORE_MAX_OBJECTS ? "index" : "flash";
            return n;
        }
        *per_key = live_bytes() - before;
        n++;
    }
}

int main(void)
{
    static const keyset keys[] = {
        {"RSA-2048 (key 900 + PRKD 120 + cert 1100)", {900, 120, 1100}},
        {"P-256 (key 80 + PRKD 100 + CV request 250)", {80, 100, 250}},
    };
    printf("object store, RAM port, 1 MiB region (256 sectors, capacity %u bytes)\n\n",
           (256u - 2u) * 15u * 256u);
    printf("| %-44s | %13s | %-40s |\n", "measure", "value", "notes");
    printf("|%.46s|%.15s|%.42s|\n", dashes, dashes, dashes);
    bench_mount();
    bench_rw(600);
    bench_rw(2000);
    for (unsigned i = 0; i < 2; i++) {
        uint32_t per = 0;
        const char *limit = "";
        unsigned n = fill_keys(&keys[i], &per, &limit);
        char note[64];
        snprintf(note, sizeof(note), "%u fit (limit: %s); flash alone: %u", n, limit,
                 (256u - 2u) * 15u * 256u / per);
        printf("| %-44s | %8u B  | %-40s |\n", keys[i].name, per, note);
    }
    return 0;
}
