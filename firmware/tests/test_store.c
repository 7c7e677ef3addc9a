/*
 * test_store.c — the object store against its reference model (store_model.h): table-driven
 * scenarios with a remount after every step, offsets and lengths, hsm_store_each order, wipes
 * (also after the wipe record is long gone), garbage collection under churn and wear levelling,
 * a full store and a full index, a corrupted region, and fail-stop after a flash error.
 */
#include "check.h"
#include "hsm/err.h"
#include "hsm/port/flash.h"
#include "hsm/store.h"
#include "ram_port.h"
#include "store_model.h"

#define SECTORS(n) ((uint32_t)(n) * 4096u)

static uint8_t buf[HSM_STORE_OBJ_MAX + 1];

/* Device objects (10xx) survive a wipe, as the card's initialise keeps the device identity. */
static bool keep_device(uint16_t id)
{
    return (id & 0xFF00u) == 0x1000u;
}

static void fresh(uint32_t size)
{
    ram_port_reset(NULL);
    CHECK_EQ_INT(ram_port_set_size(size), HSM_OK);
    CHECK_EQ_INT(hsm_store_mount(keep_device), HSM_OK);
}

static int do_write(model *m, uint16_t id, size_t len, uint32_t seed, unsigned flags)
{
    model_gen(seed, buf, len);
    int rc = hsm_store_write(id, buf, len, flags);
    if (rc == HSM_OK) {
        model_write(m, id, len, seed, flags, keep_device);
    }
    return rc;
}

static bool remount_matches(const model *m)
{
    return hsm_store_mount(keep_device) == HSM_OK && model_matches(m, true);
}

/* ---- table-driven scenarios ---------------------------------------------------------- */

enum { W, WIPE, DEL };

typedef struct {
    int op;
    uint16_t id;
    uint16_t len;
    int expect;
} step;

#define END {-1, 0, 0, 0}

static const step basic[] = {
    {W, 0x0001, 10, HSM_OK},
    {W, 0x0001, 500, HSM_OK},                     /* overwrite, longer */
    {W, 0x0001, 3, HSM_OK},                       /* overwrite, shorter */
    {W, 0x0002, 0, HSM_OK},                       /* zero length */
    {DEL, 0x0001, 0, HSM_OK},
    {DEL, 0x0001, 0, HSM_ERR_NOT_FOUND},          /* already deleted */
    {DEL, 0x0777, 0, HSM_ERR_NOT_FOUND},          /* never existed */
    {W, 0x0001, HSM_STORE_OBJ_MAX, HSM_OK},       /* recreated, at the maximum */
    {W, 0x0003, HSM_STORE_OBJ_MAX + 1, HSM_ERR_WRONG_LENGTH},
    {W, 0x0001, HSM_STORE_OBJ_MAX + 1, HSM_ERR_WRONG_LENGTH}, /* the old content stays */
    {DEL, 0x0002, 0, HSM_OK},
    {W, 0x0002, 224, HSM_OK},                     /* header + data fill exactly one page */
    {W, 0x0004, 225, HSM_OK},                     /* one byte into the second page */
    {W, 0xFFFF, 7, HSM_OK},                       /* the largest id */
    {W, 0x0000, 7, HSM_OK},                       /* the smallest id */
    END,
};

static const step wipe[] = {
    {W, 0x1001, 300, HSM_OK},   /* device objects: kept */
    {W, 0x1002, 1500, HSM_OK},
    {W, 0x0100, 40, HSM_OK},
    {W, 0xCC01, 600, HSM_OK},
    {W, 0xC401, 100, HSM_OK},
    {DEL, 0xC401, 0, HSM_OK},
    {WIPE, 0x0100, 40, HSM_OK}, /* initialise: only 10xx and the wipe record remain */
    {DEL, 0xCC01, 0, HSM_ERR_NOT_FOUND},
    {W, 0xCC01, 600, HSM_OK},   /* a wiped id is written again */
    {W, 0x1002, 1400, HSM_OK},  /* kept objects still update */
    {W, 0x0100, 40, HSM_OK},    /* the wipe record is superseded: the wipe stays */
    {WIPE, 0x1003, 10, HSM_OK}, /* a kept id as the wipe record */
    {WIPE, 0x0200, 10, HSM_OK}, /* two wipes in a row */
    {DEL, 0x0200, 0, HSM_OK},   /* the wipe record deleted: the wipe stays */
    {W, 0xC401, 100, HSM_OK},
    END,
};

/* 4 sectors, pages placed exactly (1 page: 10 bytes, 2: 300, 13: 3200, 14: 3500). X's first
 * tombstone T1 outlives the data it shadowed; X is created again (D2) and deleted again (T2, in
 * another sector than D2). Erasing T1 must not be taken for erasing a record T2 shadows, or T2 is
 * dropped, its sector collected before D2's, and X comes back. Comments: where records land. */
static const step shadow[] = {
    {W, 0x0100, 10, HSM_OK},    /* D1: s0 p1 */
    {W, 0x0200, 3500, HSM_OK},  /* s0 p2-15 */
    {DEL, 0x0100, 0, HSM_OK},   /* T1: s1 p1 */
    {W, 0x0200, 3500, HSM_OK},  /* s1 p2-15 */
    {W, 0x0202, 10, HSM_OK},    /* collects s0 (D1 goes, T1 shadows nothing); s2 p1 */
    {W, 0x0100, 10, HSM_OK},    /* D2: s2 p2 */
    {W, 0x0201, 3200, HSM_OK},  /* s2 p3-15 */
    {DEL, 0x0100, 0, HSM_OK},   /* T2: s3 p1 */
    {W, 0x0200, 3200, HSM_OK},  /* s3 p2-14 */
    {W, 0x0202, 300, HSM_OK},   /* collects s1 (T1 goes), then s2 or s3; remount: X absent */
    END,
};

/* Runs a table; compares with the model after every step, and after a remount after every
 * step when remount_each (else once at the end: some bugs only show while RAM state lives). */
static void run_steps(const char *name, const step *steps, uint32_t size, bool remount_each)
{
    static model m;
    memset(&m, 0, sizeof(m));
    fresh(size);
    for (unsigned i = 0; steps[i].op >= 0; i++) {
        const step *s = &steps[i];
        int rc;
        if (s->op == DEL) {
            rc = hsm_store_delete(s->id);
            if (rc == HSM_OK) {
                model_delete(&m, s->id);
            }
        } else {
            rc = do_write(&m, s->id, s->len, 1000 + i, s->op == WIPE ? HSM_STORE_WIPE : 0);
        }
        if (rc != s->expect) {
            fprintf(stderr, "%s step %u: rc %d, expected %d\n", name, i, rc, s->expect);
        }
        CHECK_EQ_INT(rc, s->expect);
        CHECK(model_matches(&m, true));
        if (remount_each) {
            CHECK(remount_matches(&m)); /* the remounted store equals the state before */
        }
    }
    CHECK(remount_matches(&m));
}

static void test_scenarios(void)
{
    run_steps("basic", basic, SECTORS(16), true);
    run_steps("wipe", wipe, SECTORS(16), true);
    run_steps("shadow", shadow, SECTORS(4), false);
    run_steps("shadow+remounts", shadow, SECTORS(4), true);
}

/* ---- single features ----------------------------------------------------------------- */

static int count_cb(uint16_t id, void *ctx)
{
    (void)id;
    ++*(unsigned *)ctx;
    return 0;
}

static void test_empty(void)
{
    size_t len;
    unsigned n = 0;
    hsm_store_stats s;
    fresh(SECTORS(16));
    CHECK_EQ_INT(hsm_store_size(1, &len), HSM_ERR_NOT_FOUND);
    CHECK_EQ_INT(hsm_store_read(1, 0, buf, 10, &len), HSM_ERR_NOT_FOUND);
    CHECK_EQ_INT(hsm_store_delete(1), HSM_ERR_NOT_FOUND);
    CHECK_EQ_INT(hsm_store_each(count_cb, &n), 0);
    CHECK_EQ_INT(n, 0);
    hsm_store_get_stats(&s);
    CHECK_EQ_INT(s.sectors, 16);
    CHECK_EQ_INT(s.free_sectors, 16);
    CHECK_EQ_INT(s.live_objects, 0);
    CHECK_EQ_INT(s.capacity, 14 * 15 * 256);
    CHECK_EQ_INT(ram_port_flash_ops(), 0); /* mounting an empty region writes nothing */

    /* Too small a region fails cleanly, and the store refuses service. */
    ram_port_reset(NULL);
    CHECK_EQ_INT(ram_port_set_size(SECTORS(3)), HSM_OK);
    CHECK_EQ_INT(hsm_store_mount(keep_device), HSM_ERR_NO_SPACE);
    CHECK_EQ_INT(hsm_store_write(1, buf, 1, 0), HSM_ERR_FLASH);
    CHECK_EQ_INT(hsm_store_size(1, &len), HSM_ERR_FLASH);
    fresh(SECTORS(4));
    model m = {0};
    CHECK_EQ_INT(do_write(&m, 1, 100, 1, 0), HSM_OK);
    CHECK(remount_matches(&m));
}

static void test_read_offsets(void)
{
    static const struct {
        size_t off, cap, want;
        int rc;
    } cases[] = {
        {0, 10, 10, HSM_OK},       {0, 5000, 1000, HSM_OK}, {990, 100, 10, HSM_OK},
        {224, 256, 256, HSM_OK},   {223, 2, 2, HSM_OK},     {999, 1, 1, HSM_OK},
        {1000, 10, 0, HSM_OK},     {500, 0, 0, HSM_OK},     {1001, 10, 0, HSM_ERR_WRONG_LENGTH},
    };
    uint8_t want[1000];
    model m = {0};
    fresh(SECTORS(8));
    CHECK_EQ_INT(do_write(&m, 0x2F02, sizeof(want), 77, 0), HSM_OK);
    model_gen(77, want, sizeof(want));
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        size_t n = 12345;
        memset(buf, 0xA5, sizeof(buf));
        CHECK_EQ_INT(hsm_store_read(0x2F02, cases[i].off, buf, cases[i].cap, &n), cases[i].rc);
        CHECK_EQ_INT(n, cases[i].want);
        if (cases[i].want) {
            CHECK_MEM(buf, want + cases[i].off, cases[i].want);
        }
        CHECK_EQ_INT(buf[n], 0xA5); /* nothing beyond *len */
    }
}

typedef struct {
    uint16_t ids[64];
    unsigned n, stop_at;
} order_ctx;

static int order_cb(uint16_t id, void *ctx)
{
    order_ctx *o = ctx;
    o->ids[o->n++] = id;
    return o->n == o->stop_at ? 42 : 0;
}

static void test_each_order(void)
{
    static const uint16_t ids[] = {0xCE05, 0x0001, 0x1001, 0xC401, 0x0100, 0xFFFE, 0x2F02, 0xCC00};
    model m = {0};
    fresh(SECTORS(8));
    for (unsigned i = 0; i < 8; i++) {
        CHECK_EQ_INT(do_write(&m, ids[i], 20, i, 0), HSM_OK);
    }
    CHECK_EQ_INT(hsm_store_delete(0x1001), HSM_OK);
    model_delete(&m, 0x1001);
    order_ctx o = {{0}, 0, 0};
    CHECK_EQ_INT(hsm_store_each(order_cb, &o), 0);
    CHECK_EQ_INT(o.n, 7);
    for (unsigned i = 1; i < o.n; i++) {
        CHECK(o.ids[i - 1] < o.ids[i]);
    }
    order_ctx stop = {{0}, 0, 3};
    CHECK_EQ_INT(hsm_store_each(order_cb, &stop), 42); /* stops at the first non-zero return */
    CHECK_EQ_INT(stop.n, 3);
    CHECK(remount_matches(&m));
}

/* Many GCs in a small region: static objects (kept and not), a few hot objects rewritten
 * thousands of times, wipes in between; nothing lost, and wear stays level. */
static void test_churn(void)
{
    static model m;
    uint32_t r = 12345;
    hsm_store_stats s;
    memset(&m, 0, sizeof(m));
    fresh(SECTORS(16));
    for (unsigned i = 0; i < 6; i++) { /* ~40 pages that never change */
        CHECK_EQ_INT(do_write(&m, (uint16_t)(0x1000 + i), 1500, 900 + i, 0), HSM_OK);
    }
    unsigned bad = 0, writes = 20000;
    for (unsigned i = 0; i < writes; i++) {
        uint16_t id = (uint16_t)(0xCC00 + model_rand(&r) % 5);
        size_t len = model_rand(&r) % 1500;
        unsigned flags = i % 5000 == 4999 ? HSM_STORE_WIPE : 0;
        bad += do_write(&m, id, len, i, flags) != HSM_OK;
        if (i % 500 == 0) {
            bad += !model_matches(&m, true);
            bad += !remount_matches(&m);
        }
    }
    CHECK_EQ_INT(bad, 0);
    CHECK(remount_matches(&m));
    hsm_store_get_stats(&s);
    printf("churn: %u writes, %u erases, erase counts %u..%u\n", writes, ram_port_flash_erases(),
           s.erase_min, s.erase_max);
    /* Static levelling collects the least-worn sector every 16th collection: with 16 sectors
     * each one is visited at least every 16 * 16 collections, so the spread stays near
     * 16 collections' worth of erases; 10% of the mean plus 16 is the bound we hold to. */
    uint32_t mean = ram_port_flash_erases() / s.sectors;
    CHECK(s.erase_max - s.erase_min <= mean / 10 + 16);
    CHECK(s.erase_min > 0);
}

/* Fill until HSM_ERR_NO_SPACE; everything written stays; deletions make room again. */
static void test_full(void)
{
    static model m;
    memset(&m, 0, sizeof(m));
    fresh(SECTORS(8));
    unsigned n = 0;
    int rc;
    while ((rc = do_write(&m, (uint16_t)(0x100 + n), 1000, n, 0)) == HSM_OK) {
        n++;
    }
    CHECK_EQ_INT(rc, HSM_ERR_NO_SPACE);
    hsm_store_stats s;
    hsm_store_get_stats(&s);
    printf("full: %u objects of 1000 bytes in 8 sectors (capacity %u bytes, live %u)\n", n,
           s.capacity, s.live_bytes);
    CHECK(n >= 6 * 3); /* 6 usable sectors, three 5-page records each */
    CHECK(model_matches(&m, true));
    CHECK(remount_matches(&m));
    CHECK_EQ_INT(do_write(&m, 0x100, 3000, 1, 0), HSM_ERR_NO_SPACE); /* overwrite needs room */
    CHECK(model_matches(&m, true));
    /* A deletion works even when full, and its room is reused. */
    CHECK_EQ_INT(hsm_store_delete(0x100), HSM_OK);
    model_delete(&m, 0x100);
    CHECK_EQ_INT(do_write(&m, 0x900, 1000, 5, 0), HSM_OK);
    for (unsigned i = 1; i < n; i += 2) {
        CHECK_EQ_INT(hsm_store_delete((uint16_t)(0x100 + i)), HSM_OK);
        model_delete(&m, (uint16_t)(0x100 + i));
    }
    CHECK(remount_matches(&m));
    for (unsigned i = 0; i < n / 2 - 1; i++) {
        CHECK_EQ_INT(do_write(&m, (uint16_t)(0xA00 + i), 1000, 50 + i, 0), HSM_OK);
    }
    CHECK(remount_matches(&m));
}

/* The index holds HSM_STORE_MAX_OBJECTS; a deleted id's slot comes back. */
static void test_index_full(void)
{
    static model m;
    memset(&m, 0, sizeof(m));
    fresh(SECTORS(96));
    unsigned bad = 0;
    for (unsigned i = 0; i < HSM_STORE_MAX_OBJECTS; i++) {
        bad += hsm_store_write((uint16_t)i, NULL, 0, 0) != HSM_OK;
    }
    CHECK_EQ_INT(bad, 0);
    CHECK_EQ_INT(hsm_store_write(0x5000, NULL, 0, 0), HSM_ERR_NO_SPACE);
    CHECK_EQ_INT(hsm_store_mount(keep_device), HSM_OK);
    CHECK_EQ_INT(hsm_store_delete(7), HSM_OK);
    CHECK_EQ_INT(hsm_store_write(0x5000, NULL, 0, 0), HSM_OK);
    CHECK_EQ_INT(hsm_store_write(0x5001, NULL, 0, 0), HSM_ERR_NO_SPACE);
    CHECK_EQ_INT(hsm_store_mount(keep_device), HSM_OK);
    hsm_store_stats s;
    hsm_store_get_stats(&s);
    CHECK_EQ_INT(s.live_objects, HSM_STORE_MAX_OBJECTS);
    size_t len;
    CHECK_EQ_INT(hsm_store_size(7, &len), HSM_ERR_NOT_FOUND);
    CHECK_EQ_INT(hsm_store_size(0x5000, &len), HSM_OK);
}

/* A wipe must outlive its wipe record and every record that carried it: dead objects sit in
 * sectors that stay (they share them with kept objects) while everything written after the wipe
 * is superseded or deleted and collected, with remounts in between (after a remount the head
 * may be a sector with no record written since the wipe). */
static void test_wipe_outlives_records(void)
{
    static model m;
    for (uint32_t seed = 1; seed <= 40; seed++) {
        uint32_t r = seed;
        unsigned bad = 0;
        memset(&m, 0, sizeof(m));
        fresh(SECTORS(7));
        for (unsigned i = 0; i < 4; i++) { /* pairs: a dead-to-be object, a kept one */
            size_t dead_len = 100 + model_rand(&r) % 800, kept_len = 600 + model_rand(&r) % 1000;
            bad += do_write(&m, (uint16_t)(0xCC00 + i), dead_len, r, 0) != HSM_OK;
            bad += do_write(&m, (uint16_t)(0x1000 + i), kept_len, r, 0) != HSM_OK;
        }
        bad += do_write(&m, 0x0100, 200 + model_rand(&r) % 2000, r, HSM_STORE_WIPE) != HSM_OK;
        for (unsigned i = 0; i < 60; i++) {
            uint16_t id = (uint16_t)(0x0100 + model_rand(&r) % 3);
            if (model_rand(&r) % 3 == 0) {
                if (hsm_store_delete(id) == HSM_OK) {
                    model_delete(&m, id);
                }
            } else {
                bad += do_write(&m, id, model_rand(&r) % 2000, r, 0) != HSM_OK;
            }
            bad += !remount_matches(&m);
        }
        for (uint16_t id = 0x0100; id < 0x0103; id++) { /* nothing written after the wipe stays */
            if (hsm_store_delete(id) == HSM_OK) {
                model_delete(&m, id);
            }
            bad += !remount_matches(&m);
        }
        for (unsigned i = 0; i < 30; i++) { /* kept objects move; the dead ones must not return */
            uint16_t id = (uint16_t)(0x1000 + model_rand(&r) % 4);
            bad += do_write(&m, id, 600 + model_rand(&r) % 1000, r, 0) != HSM_OK;
            bad += !remount_matches(&m);
        }
        if (bad) {
            fprintf(stderr, "wipe_outlives_records seed %u: %u failures\n", seed, bad);
        }
        CHECK_EQ_INT(bad, 0);
    }
}

/* Random operations on a few ids (kept and not) with wipes, in regions of 4 to 8 sectors, with
 * a remount after about every other operation: the index bookkeeping across remounts, deletes
 * and re-creations of the same ids (this found a real bug in the shadow counts). */
static void test_random_remounts(void)
{
    static model m;
    static const unsigned sizes[] = {4, 5, 6, 8};
    unsigned bad = 0, ops = 0;
    for (unsigned z = 0; z < sizeof(sizes) / sizeof(sizes[0]); z++) {
        for (uint32_t seed = 1; seed <= 250; seed++) {
            uint32_t r = seed;
            memset(&m, 0, sizeof(m));
            fresh(SECTORS(sizes[z]));
            for (unsigned i = 0; i < 300; i++, ops++) {
                unsigned d = model_rand(&r) % 100;
                uint16_t id = d < 30 ? (uint16_t)(0x1000 + model_rand(&r) % 3)
                                     : (uint16_t)(0x0100 + model_rand(&r) % 4);
                size_t len = model_rand(&r) % 2 ? model_rand(&r) % 300 : model_rand(&r) % 3800;
                int rc;
                if (d >= 30 && d < 55) {
                    int want = model_delete(&m, id);
                    rc = hsm_store_delete(id) == want ? HSM_OK : HSM_ERR_INTERNAL;
                } else {
                    rc = do_write(&m, id, len, r, d >= 95 ? HSM_STORE_WIPE : 0);
                }
                bool ok = rc == HSM_OK || rc == HSM_ERR_NO_SPACE;
                if (model_rand(&r) % 2) {
                    ok &= hsm_store_mount(keep_device) == HSM_OK;
                }
                if (!ok || !model_matches(&m, false)) {
                    fprintf(stderr, "random_remounts: %u sectors, seed %u, op %u\n", sizes[z],
                            seed, i);
                    bad++;
                    break;
                }
            }
        }
    }
    printf("random remounts: %u operations\n", ops);
    CHECK_EQ_INT(bad, 0);
}

/* S5: junk after a sector's log end (what a torn erase can leave) closes the sector; a record is
 * never programmed over it. */
static void test_tail_junk(void)
{
    static uint8_t junk[256];
    model m = {0};
    fresh(SECTORS(8));
    CHECK_EQ_INT(do_write(&m, 1, 700, 1, 0), HSM_OK); /* sector 0, pages 1-3 */
    for (unsigned i = 0; i < sizeof(junk); i++) {
        junk[i] = (uint8_t)(i * 37 + 5);
    }
    CHECK_EQ_INT(hsm_port_flash_program(6 * 256, junk, sizeof(junk)), HSM_OK);
    CHECK(remount_matches(&m));
    CHECK_EQ_INT(do_write(&m, 2, 700, 2, 0), HSM_OK); /* would span page 6 */
    CHECK(remount_matches(&m));
    for (unsigned i = 0; i < 40; i++) { /* and the closed sector is collected in due course */
        CHECK_EQ_INT(do_write(&m, (uint16_t)(3 + i % 3), 2000, 10 + i, 0), HSM_OK);
    }
    CHECK(remount_matches(&m));
}

/* Garbage in the region: mounting never crashes; the store then works. */
static void test_garbage(void)
{
    static uint8_t junk[4096];
    for (uint32_t seed = 1; seed <= 20; seed++) {
        uint32_t r = seed * 7919u;
        ram_port_reset(NULL);
        CHECK_EQ_INT(ram_port_set_size(SECTORS(16)), HSM_OK);
        model m = {0};
        if (seed % 2 == 0) { /* a valid store first, then garbage over part of it */
            CHECK_EQ_INT(hsm_store_mount(keep_device), HSM_OK);
            for (unsigned i = 0; i < 10; i++) {
                CHECK_EQ_INT(do_write(&m, (uint16_t)i, 700, i, 0), HSM_OK);
            }
        }
        unsigned first = seed % 2 == 0 ? 8 : 0; /* the even case: only sectors never used */
        for (unsigned s = first; s < 16; s++) {
            for (unsigned i = 0; i < sizeof(junk); i++) {
                junk[i] = (uint8_t)model_rand(&r);
            }
            if (s % 3 == 0) { /* a plausible sector header over junk */
                memcpy(junk, "PHS1", 4);
            }
            CHECK_EQ_INT(hsm_port_flash_program(s * 4096u, junk, sizeof(junk)), HSM_OK);
        }
        CHECK_EQ_INT(hsm_store_mount(keep_device), HSM_OK);
        CHECK(model_matches(&m, true));
        CHECK_EQ_INT(do_write(&m, 0x4242, 2000, 4242, 0), HSM_OK);
        CHECK(remount_matches(&m));
    }
}

/* A flash error mid-write stops the store until it is mounted again (S6). */
static void test_fail_stop(void)
{
    model m = {0};
    size_t len;
    fresh(SECTORS(8));
    CHECK_EQ_INT(do_write(&m, 1, 100, 1, 0), HSM_OK);
    ram_port_cut_after(2, 99);
    CHECK_EQ_INT(do_write(&m, 2, 1000, 2, 0), HSM_ERR_FLASH);
    ram_port_power_on();
    CHECK_EQ_INT(hsm_store_size(1, &len), HSM_ERR_FLASH);
    CHECK_EQ_INT(hsm_store_write(3, buf, 1, 0), HSM_ERR_FLASH);
    CHECK(remount_matches(&m)); /* 2 was torn after its first page: the old state */
    CHECK_EQ_INT(do_write(&m, 2, 1000, 3, 0), HSM_OK);
    CHECK(remount_matches(&m));
}

int main(void)
{
    test_empty();
    test_scenarios();
    test_read_offsets();
    test_each_order();
    test_full();
    test_index_full();
    test_wipe_outlives_records();
    test_random_remounts();
    test_tail_junk();
    test_garbage();
    test_fail_stop();
    test_churn();
    return CHECK_DONE();
}
