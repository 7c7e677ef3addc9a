/*
 * store_model.h — the reference model the store tests check the real store against: a map
 * id -> (length, content seed). Object contents are generated from the seed, so a model is a
 * few bytes per object and copying one (old/new state around a power cut) is cheap.
 * Header-only; included by test_store.c, test_store_powercut.c and bench_store.c.
 */
#ifndef HSM_TEST_STORE_MODEL_H
#define HSM_TEST_STORE_MODEL_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "hsm/err.h"
#include "hsm/store.h"

#define MODEL_MAX 160u

typedef struct {
    uint16_t id;
    bool present;
    uint16_t len;
    uint32_t seed;
} model_obj;

typedef struct {
    model_obj o[MODEL_MAX];
    unsigned n;
} model;

static inline uint32_t model_rand(uint32_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 17;
    *s ^= *s << 5;
    return *s;
}

/* Content of an object written with `seed`: every byte depends on the seed and the offset. */
static inline void model_gen(uint32_t seed, uint8_t *buf, size_t len)
{
    uint32_t s = seed * 2654435761u + 1u;
    for (size_t i = 0; i < len; i++) {
        if (i % 4 == 0) {
            model_rand(&s);
        }
        buf[i] = (uint8_t)(s >> (8 * (i % 4)));
    }
}

static inline model_obj *model_get(model *m, uint16_t id)
{
    for (unsigned i = 0; i < m->n; i++) {
        if (m->o[i].id == id) {
            return &m->o[i];
        }
    }
    if (m->n == MODEL_MAX) {
        fprintf(stderr, "store_model: too many ids\n");
        return NULL;
    }
    m->o[m->n] = (model_obj){id, false, 0, 0};
    return &m->o[m->n++];
}

/* What hsm_store_write does to the state. */
static inline void model_write(model *m, uint16_t id, size_t len, uint32_t seed, unsigned flags,
                               hsm_store_keep_fn keep)
{
    if (flags & HSM_STORE_WIPE) {
        for (unsigned i = 0; i < m->n; i++) {
            if (m->o[i].id != id && !(keep && keep(m->o[i].id))) {
                m->o[i].present = false;
            }
        }
    }
    model_obj *o = model_get(m, id);
    *o = (model_obj){id, true, (uint16_t)len, seed};
}

static inline int model_delete(model *m, uint16_t id)
{
    model_obj *o = model_get(m, id);
    if (!o->present) {
        return HSM_ERR_NOT_FOUND;
    }
    o->present = false;
    return HSM_OK;
}

static inline unsigned model_count(const model *m)
{
    unsigned n = 0;
    for (unsigned i = 0; i < m->n; i++) {
        n += m->o[i].present;
    }
    return n;
}

typedef struct {
    const model *m;
    unsigned seen;
    bool ok;
    int last;
} model_walk;

static inline int model_each_cb(uint16_t id, void *ctx)
{
    model_walk *w = ctx;
    bool known = false;
    for (unsigned i = 0; i < w->m->n; i++) {
        known |= w->m->o[i].id == id && w->m->o[i].present;
    }
    w->ok &= known && (int)id > w->last;
    w->last = id;
    w->seen++;
    return 0;
}

/* True when the store holds exactly the model's objects, in ascending order. */
static inline bool model_matches(const model *m, bool verbose)
{
    static uint8_t want[HSM_STORE_OBJ_MAX], got[HSM_STORE_OBJ_MAX + 1];
    bool ok = true;
    for (unsigned i = 0; i < m->n; i++) {
        const model_obj *o = &m->o[i];
        size_t len = 0, n = 0;
        int rc = hsm_store_size(o->id, &len);
        bool good;
        if (!o->present) {
            good = rc == HSM_ERR_NOT_FOUND;
        } else {
            model_gen(o->seed, want, o->len);
            good = rc == HSM_OK && len == o->len &&
                   hsm_store_read(o->id, 0, got, sizeof(got), &n) == HSM_OK && n == o->len &&
                   memcmp(want, got, n) == 0;
        }
        if (!good && verbose) {
            fprintf(stderr, "  id %04X: model %s len %u, store rc %d len %zu\n", o->id,
                    o->present ? "present" : "absent", o->len, rc, len);
        }
        ok &= good;
    }
    model_walk w = {m, 0, true, -1};
    ok &= hsm_store_each(model_each_cb, &w) == 0 && w.ok && w.seen == model_count(m);
    if (verbose && !(w.ok && w.seen == model_count(m))) {
        fprintf(stderr, "  each: %u objects (model %u), order/known %d\n", w.seen, model_count(m),
                w.ok);
    }
    return ok;
}

#endif
