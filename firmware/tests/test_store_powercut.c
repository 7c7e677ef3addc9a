/*
 * test_store_powercut.c — a power cut at every flash operation of an HSM-like workload.
 *
 * The workload (built once from a fixed seed against the reference model): device objects,
 * initialise (a write with HSM_STORE_WIPE), PIN records rewritten over and over (retry counter
 * down, then reset), key objects (~600 bytes), descriptions (~100), certificates (1200-3000),
 * data objects, overwrites, deletions, re-initialisations; in a 14-sector region, so the store
 * collects garbage many times. A clean run counts its program/erase operations N. Then, for every
 * cut point k in 1..N and each torn-pattern seed: fresh flash, replay with the k-th operation
 * torn (the workload stops at the first error), power on, mount, and require that the store
 * equals the model before the interrupted operation or after it — exactly, as a whole. Then run
 * the next few operations of the workload, remount, and compare again. The workload remounts
 * now and then, as a card does at every power-up (the head after a mount is chosen afresh).
 *
 * A second, small workload aims at one window: the collection that erases the last record
 * carrying a wipe's barrier, while records the wipe killed still sit in another sector (STORE.md
 * § Barrier notes). It is cut at every point too.
 */
#include <time.h>

#include "check.h"
#include "hsm/err.h"
#include "hsm/store.h"
#include "ram_port.h"
#include "store_model.h"

#define REGION (14u * 4096u)
#define MAX_OPS 1200u
#define AFTER_CUT 6u /* operations run after the recovery mount */

enum { OP_WRITE, OP_DELETE, OP_MOUNT };

typedef struct {
    uint8_t kind;
    uint8_t flags;
    uint16_t id;
    uint16_t len;
    uint32_t seed;
} op;

static op ops[MAX_OPS];
static unsigned nops;
static uint32_t region;
static uint8_t buf[HSM_STORE_OBJ_MAX];

/* Initialise keeps the device identity (10xx). */
static bool keep_device(uint16_t id)
{
    return (id & 0xFF00u) == 0x1000u;
}

/* ---- the workload --------------------------------------------------------------------- */

enum { ID_SO_PIN = 0x1081, ID_USER_PIN = 0x0101, ID_INIT = 0x0100 };
#define KEY(slot) ((uint16_t)(0xCC00 + (slot)))
#define PRKD(slot) ((uint16_t)(0xC400 + (slot)))
#define CERT(slot) ((uint16_t)(0xCE00 + (slot)))
#define DATA(slot) ((uint16_t)(0xCD00 + (slot)))
#define SLOTS 5u

static uint32_t gen_rng = 0xC0FFEE;

static unsigned between(unsigned lo, unsigned hi)
{
    return lo + model_rand(&gen_rng) % (hi - lo + 1);
}

static void add_write(model *m, uint16_t id, unsigned len, unsigned flags)
{
    if (nops < MAX_OPS) {
        ops[nops] = (op){OP_WRITE, (uint8_t)flags, id, (uint16_t)len, 0x5EED0000u + nops};
        model_write(m, id, len, ops[nops].seed, flags, keep_device);
        nops++;
    }
}

static void add_delete(model *m, uint16_t id)
{
    if (nops < MAX_OPS && model_get(m, id)->present) {
        ops[nops++] = (op){OP_DELETE, 0, id, 0, 0};
        model_delete(m, id);
    }
}

static void add_initialise(model *m)
{
    add_write(m, ID_INIT, between(30, 60), HSM_STORE_WIPE);
    add_write(m, ID_USER_PIN, 16, 0);
}

static void add_pin_use(model *m)
{
    add_write(m, ID_USER_PIN, 16, 0); /* retry counter decremented before the compare */
    add_write(m, ID_USER_PIN, 16, 0); /* reset on success */
}

static void add_keygen(model *m, unsigned slot)
{
    add_write(m, KEY(slot), between(560, 640), 0);
    add_write(m, PRKD(slot), between(80, 120), 0);
    if (model_rand(&gen_rng) % 2) {
        add_write(m, CERT(slot), between(1200, 3000), 0);
    }
}

static void add_key_delete(model *m, unsigned slot)
{
    add_delete(m, KEY(slot));
    add_delete(m, PRKD(slot));
    add_delete(m, CERT(slot));
}

static void add_mount(void)
{
    if (nops < MAX_OPS) {
        ops[nops++] = (op){OP_MOUNT, 0, 0, 0, 0};
    }
}

static void build_workload(void)
{
    static model m;
    memset(&m, 0, sizeof(m));
    nops = 0;
    region = REGION;
    add_write(&m, 0x1001, 300, 0);  /* device key */
    add_write(&m, 0x1002, 1500, 0); /* device certificate */
    add_write(&m, ID_SO_PIN, 16, 0);
    add_initialise(&m);
    unsigned round = 0;
    while (nops < MAX_OPS - 8) {
        unsigned slot = model_rand(&gen_rng) % SLOTS, dice = model_rand(&gen_rng) % 100;
        if (++round % 90 == 0) {
            add_initialise(&m);
        } else if (round % 23 == 0) {
            add_mount();
        } else if (dice < 35) {
            add_pin_use(&m);
        } else if (dice < 55) {
            add_keygen(&m, slot);
        } else if (dice < 70) {
            add_write(&m, model_rand(&gen_rng) % 2 ? PRKD(slot) : CERT(slot),
                      model_rand(&gen_rng) % 2 ? between(80, 120) : between(1200, 3000), 0);
        } else if (dice < 85) {
            add_key_delete(&m, slot);
        } else if (dice < 95) {
            add_write(&m, DATA(slot), between(20, 300), 0);
        } else {
            add_delete(&m, DATA(slot));
        }
    }
}

/* 4 sectors. s0: X (dies in the wipe) and K0 (kept), full. s1: K1..K14 (kept, empty) and the
 * wipe record, full. Then all of s1 is deleted: 15 tombstones fill s2, leaving one empty
 * sector. After a remount (no head), a write needs room: the first collection erases s1, which
 * frees every tombstone of s2; the second erases s2, the last sector carrying the barrier. A cut
 * between that erase and the write must not bring X back. */
static void build_barrier_workload(void)
{
    static model m;
    memset(&m, 0, sizeof(m));
    nops = 0;
    region = 4u * 4096u;
    add_write(&m, 0xCC00, 100, 0);                  /* X: 1 page */
    add_write(&m, 0x1000, 3500, 0);                 /* K0: 14 pages */
    for (uint16_t i = 1; i <= 14; i++) {
        add_write(&m, (uint16_t)(0x1000 + i), 0, 0); /* K1..K14 */
    }
    add_write(&m, 0x0100, 0, HSM_STORE_WIPE);       /* W, the last page of s1 */
    for (uint16_t i = 1; i <= 14; i++) {
        add_delete(&m, (uint16_t)(0x1000 + i));
    }
    add_delete(&m, 0x0100);
    add_mount();
    add_write(&m, 0xCC01, 10, 0);
    add_mount();
    add_write(&m, 0xCC02, 10, 0);
}

/* 4 sectors. X is written and deleted in the same sector, which is then collected: the
 * tombstone must be copied even though the data it shadows is in the victim itself, since a torn
 * erase can keep the data's page and lose the tombstone's. Run with many torn-pattern seeds. */
static void build_shadow_workload(void)
{
    static model m;
    memset(&m, 0, sizeof(m));
    nops = 0;
    region = 4u * 4096u;
    add_write(&m, 0xCC00, 10, 0);   /* X: s0 p1 */
    add_delete(&m, 0xCC00);         /* its tombstone: s0 p2 */
    add_write(&m, 0x0200, 3200, 0); /* s0 p3-15 */
    add_write(&m, 0x0200, 3200, 0); /* s1 p1-13 */
    add_write(&m, 0x0201, 1000, 0); /* collects s0 */
    add_write(&m, 0x0202, 1000, 0);
    add_mount();
    add_write(&m, 0x0201, 1000, 0);
}

/* ---- running it ----------------------------------------------------------------------- */

/* What ops[i] does to the model; returns the rc the store must give. */
static int model_op(unsigned i, model *m)
{
    const op *o = &ops[i];
    if (o->kind == OP_MOUNT) {
        return HSM_OK;
    }
    if (o->kind == OP_DELETE) {
        return model_delete(m, o->id);
    }
    model_write(m, o->id, o->len, o->seed, o->flags, keep_device);
    return HSM_OK;
}

static int store_op(unsigned i)
{
    const op *o = &ops[i];
    if (o->kind == OP_MOUNT) {
        return hsm_store_mount(keep_device);
    }
    if (o->kind == OP_DELETE) {
        return hsm_store_delete(o->id);
    }
    model_gen(o->seed, buf, o->len);
    return hsm_store_write(o->id, buf, o->len, o->flags);
}

/* Runs ops[i] on the store and the model; true when the store answered as the model says. */
static bool run_op(unsigned i, model *m)
{
    return store_op(i) == model_op(i, m);
}

static unsigned failures;

static void fail(const char *what, uint32_t k, uint64_t seed, unsigned at)
{
    if (failures++ < 10) {
        fprintf(stderr, "cut %u seed %llu (op %u): %s\n", k, (unsigned long long)seed, at, what);
    }
}

static void fresh_store(void)
{
    ram_port_reset(NULL);
    ram_port_set_size(region);
    hsm_store_mount(keep_device);
}

/* One cut point: replay with the k-th flash operation torn, recover, check, continue. */
static void cut_at(uint32_t k, uint64_t seed)
{
    static model before, after;
    memset(&before, 0, sizeof(before));
    fresh_store();
    ram_port_cut_after(k, seed);
    unsigned i;
    int rc = HSM_OK;
    for (i = 0; i < nops; i++) {
        after = before;
        int expect = model_op(i, &after);
        if ((rc = store_op(i)) != expect) {
            break;
        }
        before = after;
    }
    if (rc != HSM_ERR_FLASH) {
        fail("the workload did not stop with HSM_ERR_FLASH", k, seed, i);
        return;
    }
    ram_port_power_on();
    if (hsm_store_mount(keep_device) != HSM_OK) {
        fail("mount after the cut", k, seed, i);
        return;
    }
    model *now = model_matches(&before, false) ? &before : &after;
    if (now == &after && !model_matches(&after, false)) {
        fail("state after the cut is neither the old nor the new one", k, seed, i);
        model_matches(&before, true);
        return;
    }
    for (unsigned j = i; j < i + AFTER_CUT && j < nops; j++) { /* the interrupted op again, on */
        model probe = *now;
        int want = model_op(j, &probe), got = store_op(j);
        if (got != want) {
            char what[80];
            snprintf(what, sizeof(what), "operation %u after recovery: rc %d, expected %d", j, got,
                     want);
            fail(what, k, seed, j);
            return;
        }
        *now = probe;
    }
    if (hsm_store_mount(keep_device) != HSM_OK || !model_matches(now, true)) {
        fail("state after recovery and remount", k, seed, i);
    }
}

static uint32_t clean_run(unsigned *nerase)
{
    static model m;
    unsigned bad = 0;
    memset(&m, 0, sizeof(m));
    fresh_store();
    for (unsigned i = 0; i < nops; i++) {
        bad += !run_op(i, &m);
    }
    CHECK_EQ_INT(bad, 0);
    CHECK(model_matches(&m, true));
    *nerase = ram_port_flash_erases();
    uint32_t n = ram_port_flash_ops();
    CHECK_EQ_INT(hsm_store_mount(keep_device), HSM_OK);
    CHECK(model_matches(&m, true));
    return n;
}

/* Every cut point of the current workload, each with nseeds torn patterns. */
static unsigned cut_everywhere(const char *name, unsigned nseeds)
{
    unsigned nerase, before = failures;
    uint32_t n = clean_run(&nerase);
    for (unsigned s = 0; s < nseeds; s++) {
        for (uint32_t k = 1; k <= n; k++) {
            cut_at(k, 0x9E3779B97F4A7C15u * (s + 1));
        }
    }
    printf("%s: %u store operations, %u flash operations, %u collections; %u cut points "
           "(%u x %u seeds), %u failures\n",
           name, nops, n, nerase, n * nseeds, n, nseeds, failures - before);
    return n * nseeds;
}

int main(void)
{
    clock_t t0 = clock();
    unsigned tested = 0;
    build_workload();
    tested += cut_everywhere("hsm workload", 3);
    build_barrier_workload();
    tested += cut_everywhere("barrier workload", 64);
    build_shadow_workload();
    tested += cut_everywhere("shadow workload", 64);
    CHECK_EQ_INT(failures, 0);
    printf("cut points tested: %u, %.1f s\n", tested, (double)(clock() - t0) / CLOCKS_PER_SEC);
    return CHECK_DONE();
}
