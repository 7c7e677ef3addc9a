/*
 * store.c — the power-fail-safe object store. Format, reasoning and capacity: firmware/store/
 * STORE.md; the section names below (§) refer to it.
 *
 * Invariants this file keeps (a power cut may stop it between any two flash operations, and
 * tear the one in progress):
 *  S1 A record is valid iff its magic, header CRC, data CRC and bounds check. It is programmed
 *     page by page, header page first, into pages that were all FF, so it commits when its last
 *     page is programmed; before that it is invalid, and the next write starts after it.
 *  S2 Every record carries the barrier current when it was written; before a sector is erased,
 *     some valid record outside it carries the current barrier (GC writes a note if none does).
 *  S3 Before a sector is erased, every record in it that the state needs — the latest record of
 *     a live object, or the latest record of a deleted id (tombstone) while any older non-dead
 *     data record of that id is still valid anywhere, this sector included — has been copied.
 *  S4 Index (RAM): an id has an entry iff its latest valid record is in flash and not dead and
 *     (it holds data, or `older` > 0); `older` counts the id's valid non-dead *data* records
 *     other than the latest (tombstones need not be shadowed, so they are not counted).
 *     An id without an entry has no valid non-dead data record in flash.
 *  S5 Pages are programmed only at or after a sector's log end, and a sector's pages after its
 *     log end are known to be FF (checked at mount); a sector whose tail is not FF is closed.
 *  S6 After any flash error during a mutation the RAM state may disagree with flash: the store
 *     stops (every call fails with HSM_ERR_FLASH) until the next successful mount.
 *
 * RAM: the index (HSM_STORE_MAX_OBJECTS entries, sorted by id), one descriptor per sector (at
 * most STORE_MAX_SECTORS) and `page`, a one-page scratch buffer owned by this file and used by
 * one flash access at a time. No dynamic memory.
 */
#include <assert.h>
#include <string.h>

#include "crc32.h"
#include "hsm/err.h"
#include "hsm/port/flash.h"
#include "hsm/store.h"

#define SECTOR HSM_FLASH_ERASE_SIZE
#define PAGE HSM_FLASH_PROG_SIZE
#define PAGES (SECTOR / PAGE)     /* 16: page 0 is the sector header, 1..15 hold records */
#define REC_HDR 32u
#define STORE_MAX_SECTORS 256u    /* 1 MiB; a larger region is used up to this size */
#define STORE_MIN_SECTORS 4u
#define WL_PERIOD 16u             /* every 16th collection levels wear (§ Garbage collection) */
#define RESERVE_DATA 2u           /* empty sectors a data write must leave (§ Writing) */
#define RESERVE_TOMB 1u           /* ... a deletion must leave, so deleting works when full */

#define SEC_MAGIC 0x31534850u     /* "PHS1" */
#define REC_MAGIC 0x5243u         /* "CR" */
#define F_TOMB 0x1u
#define F_WIPE 0x2u
#define F_NOTE 0x4u               /* carries only the barrier (§ Barrier notes) */
#define NOTE_ID 0xFFFFu

typedef struct {
    uint16_t id, flags, len;
    uint32_t seq, barrier, dcrc;
} rec_hdr;

enum { SEC_ERASED, SEC_USED, SEC_DIRTY };

typedef struct {
    uint32_t erase_count;
    uint32_t carry;    /* largest barrier carried by a valid record here (S2) */
    uint32_t last_seq; /* seq of the last valid record; 0: none */
    uint16_t valid;    /* bit p: a valid record starts at page p */
    uint8_t state;
    uint8_t used;      /* log end: next record goes at this page; PAGES: closed or full */
} sector;

typedef struct {
    uint32_t seq;
    uint16_t id, len;
    uint16_t older;    /* S4: older non-dead data records still valid in flash */
    uint8_t sector, page, tomb;
} entry;

static struct {
    bool mounted;
    hsm_store_keep_fn keep;
    uint32_t nsectors, next_seq, barrier, gc_count, nix;
    int head; /* sector records are appended to; -1: none yet */
    sector sec[STORE_MAX_SECTORS];
    entry ix[HSM_STORE_MAX_OBJECTS];
} st;

static uint8_t page[PAGE];

/* ---- encoding ------------------------------------------------------------------------- */

static void put16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}

static void put32(uint8_t *p, uint32_t v)
{
    put16(p, (uint16_t)v);
    put16(p + 2, (uint16_t)(v >> 16));
}

static uint16_t get16(const uint8_t *p)
{
    return (uint16_t)(p[0] | (p[1] << 8));
}

static uint32_t get32(const uint8_t *p)
{
    return get16(p) | ((uint32_t)get16(p + 2) << 16);
}

static unsigned rec_pages(size_t len)
{
    return (unsigned)((REC_HDR + len + PAGE - 1) / PAGE);
}

static uint32_t page_off(unsigned s, unsigned p)
{
    return (uint32_t)s * SECTOR + (uint32_t)p * PAGE;
}

static void hdr_encode(const rec_hdr *h, uint8_t out[REC_HDR])
{
    memset(out, 0xFF, REC_HDR);
    put16(out, REC_MAGIC);
    put16(out + 2, h->id);
    put16(out + 4, h->flags);
    put16(out + 6, h->len);
    put32(out + 8, h->seq);
    put32(out + 12, h->barrier);
    put32(out + 16, h->dcrc);
    put32(out + 28, hsm_crc32(0, out, 28));
}

/* Header at page p of a sector: magic, CRC and bounds (data CRC not checked here). */
static bool hdr_decode(const uint8_t in[REC_HDR], unsigned p, rec_hdr *h)
{
    if (get16(in) != REC_MAGIC || get32(in + 28) != hsm_crc32(0, in, 28)) {
        return false;
    }
    h->id = get16(in + 2);
    h->flags = get16(in + 4);
    h->len = get16(in + 6);
    h->seq = get32(in + 8);
    h->barrier = get32(in + 12);
    h->dcrc = get32(in + 16);
    bool empty = (h->flags & (F_TOMB | F_NOTE)) != 0;
    return h->seq != 0 && (h->flags & ~(F_TOMB | F_WIPE | F_NOTE)) == 0 &&
           h->len <= HSM_STORE_OBJ_MAX && (!empty || h->len == 0) && p + rec_pages(h->len) <= PAGES;
}

static uint32_t carried(const rec_hdr *h)
{
    return (h->flags & F_WIPE) && h->seq > h->barrier ? h->seq : h->barrier;
}

/* True when p[0..n) are all FF: p[0] is FF and every byte equals the one before it (one
 * memcmp, which the C library does a word at a time; mount runs this over every free page). */
static bool all_ff(const uint8_t *p, size_t n)
{
    return n == 0 || (p[0] == 0xFF && memcmp(p, p + 1, n - 1) == 0);
}

static bool keep(uint16_t id)
{
    return st.keep != NULL && st.keep(id);
}

/* § Meaning: a record below the barrier of an object the wipe does not keep. */
static bool dead(const rec_hdr *h)
{
    return h->seq < st.barrier && !keep(h->id);
}

/* ---- index ---------------------------------------------------------------------------- */

/* Position of id, or where it would be inserted. */
static uint32_t ix_pos(uint16_t id)
{
    uint32_t lo = 0, hi = st.nix;
    while (lo < hi) {
        uint32_t mid = (lo + hi) / 2;
        if (st.ix[mid].id < id) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    return lo;
}

static entry *ix_find(uint16_t id)
{
    uint32_t i = ix_pos(id);
    return i < st.nix && st.ix[i].id == id ? &st.ix[i] : NULL;
}

static entry *ix_insert(uint16_t id)
{
    uint32_t i = ix_pos(id);
    if (st.nix >= HSM_STORE_MAX_OBJECTS) {
        return NULL;
    }
    memmove(&st.ix[i + 1], &st.ix[i], (st.nix - i) * sizeof(entry));
    st.nix++;
    memset(&st.ix[i], 0, sizeof(entry));
    st.ix[i].id = id;
    return &st.ix[i];
}

static void ix_remove(entry *e)
{
    uint32_t i = (uint32_t)(e - st.ix);
    memmove(&st.ix[i], &st.ix[i + 1], (st.nix - i - 1) * sizeof(entry));
    st.nix--;
}

static void ix_point(entry *e, const rec_hdr *h, unsigned s, unsigned p)
{
    e->seq = h->seq;
    e->len = h->len;
    e->tomb = (h->flags & F_TOMB) != 0;
    e->sector = (uint8_t)s;
    e->page = (uint8_t)p;
}

/* A new latest record of h->id at (s, p): S4 bookkeeping. The entry exists or there is room. */
static void ix_commit(const rec_hdr *h, unsigned s, unsigned p)
{
    entry *e = ix_find(h->id);
    if (e != NULL) {
        e->older += !e->tomb; /* the previous latest, if data (not dead: it had an entry) */
    } else {
        e = ix_insert(h->id);
        assert(e != NULL);
    }
    ix_point(e, h, s, p);
}

/* § Meaning: the wipe record w (seq = new barrier) kills every object keep() rejects. */
static void ix_wipe(uint16_t w)
{
    for (uint32_t i = st.nix; i-- > 0;) {
        if (st.ix[i].id == w) {
            st.ix[i].older = keep(w) ? st.ix[i].older : 0;
        } else if (!keep(st.ix[i].id)) {
            ix_remove(&st.ix[i]);
        }
    }
}

/* ---- sectors -------------------------------------------------------------------------- */

static bool is_empty(unsigned s)
{
    const sector *c = &st.sec[s];
    return (int)s != st.head && (c->state == SEC_ERASED || (c->state == SEC_USED && c->used == 1));
}

static unsigned free_count(void)
{
    unsigned n = 0;
    for (unsigned s = 0; s < st.nsectors; s++) {
        n += is_empty(s);
    }
    return n;
}

static unsigned head_room(void)
{
    return st.head < 0 ? 0 : PAGES - st.sec[st.head].used;
}

static void sector_reset(unsigned s, uint8_t state, uint32_t erase_count)
{
    sector *c = &st.sec[s];
    memset(c, 0, sizeof(*c));
    c->state = state;
    c->erase_count = erase_count;
    c->used = 1;
}

static int program_sector_header(unsigned s)
{
    memset(page, 0xFF, PAGE);
    put32(page, SEC_MAGIC);
    put32(page + 4, st.sec[s].erase_count);
    put32(page + 12, hsm_crc32(0, page, 12));
    int rc = hsm_port_flash_program(page_off(s, 0), page, PAGE);
    if (rc == HSM_OK) {
        sector_reset(s, SEC_USED, st.sec[s].erase_count);
    }
    return rc;
}

/* Makes the empty sector with the lowest erase count the head (§ Writing, step 1). */
static int open_sector(void)
{
    int best = -1;
    for (unsigned s = 0; s < st.nsectors; s++) {
        if (is_empty(s) && (best < 0 || st.sec[s].erase_count < st.sec[best].erase_count)) {
            best = (int)s;
        }
    }
    assert(best >= 0);
    if (st.sec[best].state == SEC_ERASED) {
        int rc = program_sector_header((unsigned)best);
        if (rc != HSM_OK) {
            return rc;
        }
    }
    st.head = best;
    return HSM_OK;
}

static void sector_append(unsigned s, unsigned p, const rec_hdr *h)
{
    sector *c = &st.sec[s];
    c->used = (uint8_t)(p + rec_pages(h->len));
    c->valid |= (uint16_t)(1u << p);
    c->last_seq = h->seq;
    if (carried(h) > c->carry) {
        c->carry = carried(h);
    }
}

/* ---- writing records (S1) ------------------------------------------------------------- */

/* Where a record's data comes from: caller memory, or an existing record (a GC copy). */
typedef struct {
    const uint8_t *ram;
    uint32_t flash_off; /* record start, when ram == NULL */
} rec_src;

/* Fills `page` with page i of the record; *crc accumulates the data bytes (for copies). */
static int fill_page(const rec_hdr *h, const rec_src *src, unsigned i, uint32_t *crc)
{
    size_t first = i == 0 ? 0 : (size_t)i * PAGE - REC_HDR;    /* data bytes in this page */
    size_t end = (size_t)(i + 1) * PAGE - REC_HDR;
    size_t n = (end < h->len ? end : h->len) - first;
    size_t at = i == 0 ? REC_HDR : 0;
    if (src->ram != NULL) {
        memset(page, 0xFF, PAGE);
        memcpy(page + at, src->ram + first, n);
    } else {
        int rc = hsm_port_flash_read(src->flash_off + (uint32_t)i * PAGE, page, PAGE);
        if (rc != HSM_OK) {
            return rc;
        }
        *crc = hsm_crc32(*crc, page + at, n);
    }
    if (i == 0) {
        hdr_encode(h, page);
    }
    return HSM_OK;
}

/* Appends a record at the head, which must have room. */
static int append(const rec_hdr *h, const rec_src *src)
{
    unsigned s = (unsigned)st.head, p = st.sec[s].used, n = rec_pages(h->len);
    uint32_t crc = 0;
    assert(st.head >= 0 && p + n <= PAGES);
    for (unsigned i = 0; i < n; i++) {
        int rc = fill_page(h, src, i, &crc);
        if (rc == HSM_OK) {
            rc = hsm_port_flash_program(page_off(s, p + i), page, PAGE);
        }
        if (rc != HSM_OK) {
            return rc;
        }
    }
    if (src->ram == NULL && crc != h->dcrc) {
        return HSM_ERR_FLASH; /* the source no longer reads back: never erase it (S3) */
    }
    sector_append(s, p, h);
    return HSM_OK;
}

/* ---- garbage collection (§ Garbage collection) ------------------------------------------ */

static int alloc(unsigned npages, unsigned reserve, bool may_gc);

static void live_pages(uint16_t live[])
{
    memset(live, 0, st.nsectors * sizeof(live[0]));
    for (uint32_t i = 0; i < st.nix; i++) {
        const entry *e = &st.ix[i];
        live[e->sector] += (uint16_t)(e->tomb ? (e->older ? 1 : 0) : rec_pages(e->len));
    }
}

static bool is_candidate(unsigned s)
{
    return st.sec[s].state == SEC_USED && (int)s != st.head && st.sec[s].used > 1;
}

/* True when no valid record outside sector v carries the current barrier (S2). */
static bool needs_note(unsigned v)
{
    if (st.barrier == 0) {
        return false;
    }
    for (unsigned s = 0; s < st.nsectors; s++) {
        if (s != v && st.sec[s].state == SEC_USED && st.sec[s].carry >= st.barrier) {
            return false;
        }
    }
    return true;
}

/* Room for v's copies (at most 15 pages, or a note): in the head, or the head plus one fresh
 * sector, since a record that does not fit the head's rest goes to a fresh one. */
static bool copies_fit(unsigned v, unsigned live, unsigned nfree)
{
    unsigned need = live ? live : needs_note(v);
    return need <= head_room() || nfree > 0;
}

static int pick_victim(const uint16_t live[])
{
    int best = -1, oldest = -1;
    unsigned nfree = free_count();
    for (unsigned s = 0; s < st.nsectors; s++) {
        if (!is_candidate(s)) {
            continue;
        }
        if (oldest < 0 || st.sec[s].erase_count < st.sec[oldest].erase_count) {
            oldest = (int)s;
        }
        bool gains = live[s] < PAGES - 1 && copies_fit(s, live[s], nfree);
        bool fewer = best < 0 || live[s] < live[best] ||
                     (live[s] == live[best] && st.sec[s].erase_count < st.sec[best].erase_count);
        if (gains && fewer) {
            best = (int)s;
        }
    }
    if (st.gc_count % WL_PERIOD == WL_PERIOD - 1 && oldest >= 0 &&
        copies_fit((unsigned)oldest, live[oldest], nfree)) {
        return oldest;
    }
    return best;
}

typedef struct {
    rec_hdr h;
    unsigned p;
} victim_rec;

/* The valid records of sector v, in page order. */
static int read_records(unsigned v, victim_rec out[], unsigned *n)
{
    *n = 0;
    for (unsigned p = 1; p < PAGES; p++) {
        if (!(st.sec[v].valid & (1u << p))) {
            continue;
        }
        int rc = hsm_port_flash_read(page_off(v, p), page, REC_HDR);
        if (rc != HSM_OK) {
            return rc;
        }
        if (!hdr_decode(page, p, &out[*n].h)) {
            return HSM_ERR_FLASH; /* was valid when scanned or written */
        }
        out[(*n)++].p = p;
    }
    return HSM_OK;
}

/* S3: is this record of the victim needed, and so copied? */
static bool needed(const victim_rec *r, unsigned v)
{
    const entry *e = (r->h.flags & F_NOTE) ? NULL : ix_find(r->h.id);
    return e != NULL && e->sector == v && e->page == r->p && (!e->tomb || e->older > 0);
}

static int copy_record(const victim_rec *r, unsigned v)
{
    rec_hdr h = r->h;
    h.flags &= F_TOMB; /* a copy is not a wipe: the barrier field carries the wipe on */
    h.seq = st.next_seq;
    h.barrier = st.barrier;
    rec_src src = {NULL, page_off(v, r->p)};
    int rc = alloc(rec_pages(h.len), 0, false);
    if (rc == HSM_OK) {
        st.next_seq++;
        rc = append(&h, &src);
    }
    if (rc == HSM_OK) {
        ix_commit(&h, (unsigned)st.head, st.sec[st.head].used - rec_pages(h.len));
    }
    return rc;
}

static int write_note(void)
{
    rec_hdr h = {NOTE_ID, F_NOTE, 0, st.next_seq, st.barrier, hsm_crc32(0, NULL, 0)};
    rec_src src = {(const uint8_t *)"", 0};
    int rc = alloc(1, 0, false);
    if (rc == HSM_OK) {
        st.next_seq++;
        rc = append(&h, &src);
    }
    return rc;
}

/* After the victim is erased: S4 for each of its records. */
static void release(const victim_rec *r)
{
    entry *e = (r->h.flags & F_NOTE) ? NULL : ix_find(r->h.id);
    if (e == NULL) {
        return;
    }
    if (e->seq == r->h.seq) {
        ix_remove(e); /* a latest tombstone that shadowed nothing */
    } else if (!(r->h.flags & F_TOMB) && !dead(&r->h)) {
        assert(e->older > 0);
        e->older--;
        if (e->tomb && e->older == 0) {
            ix_remove(e);
        }
    }
}

static int erase_sector(unsigned v)
{
    uint32_t count = st.sec[v].erase_count + 1;
    int rc = hsm_port_flash_erase(page_off(v, 0));
    if (rc != HSM_OK) {
        return rc;
    }
    sector_reset(v, SEC_ERASED, count);
    return program_sector_header(v);
}

static int collect(unsigned v)
{
    victim_rec recs[PAGES];
    unsigned n;
    int rc = read_records(v, recs, &n);
    for (unsigned i = 0; i < n && rc == HSM_OK; i++) {
        if (needed(&recs[i], v)) {
            rc = copy_record(&recs[i], v);
        }
    }
    if (rc == HSM_OK && needs_note(v)) {
        rc = write_note();
    }
    if (rc == HSM_OK) {
        rc = erase_sector(v);
    }
    for (unsigned i = 0; i < n && rc == HSM_OK; i++) {
        release(&recs[i]);
    }
    st.gc_count++;
    return rc;
}

static int gc_step(void)
{
    uint16_t live[STORE_MAX_SECTORS];
    live_pages(live);
    int v = pick_victim(live);
    return v < 0 ? HSM_ERR_NO_SPACE : collect((unsigned)v);
}

/* Makes the head hold npages, leaving `reserve` empty sectors (§ Writing, step 1). */
static int alloc(unsigned npages, unsigned reserve, bool may_gc)
{
    for (unsigned steps = 0;; steps++) {
        if (npages <= head_room()) {
            return HSM_OK;
        }
        st.head = -1; /* its rest is too small: an ordinary sector now, open to collection */
        if (free_count() > reserve) {
            return open_sector();
        }
        if (!may_gc || steps > st.nsectors) {
            return HSM_ERR_NO_SPACE;
        }
        int rc = gc_step();
        if (rc != HSM_OK) {
            return rc;
        }
    }
}

/* A new id needs an entry; tombstone entries give theirs back when GC erases what they shadow. */
static int index_room(void)
{
    for (unsigned i = 0; st.nix >= HSM_STORE_MAX_OBJECTS && i < st.nsectors; i++) {
        bool tombs = false;
        for (uint32_t k = 0; k < st.nix && !tombs; k++) {
            tombs = st.ix[k].tomb;
        }
        int rc = tombs ? gc_step() : HSM_ERR_NO_SPACE;
        if (rc != HSM_OK) {
            return rc;
        }
    }
    return st.nix < HSM_STORE_MAX_OBJECTS ? HSM_OK : HSM_ERR_NO_SPACE;
}

/* ---- mount (§ Mount) ------------------------------------------------------------------ */

static int read_page(unsigned s, unsigned p)
{
    return hsm_port_flash_read(page_off(s, p), page, PAGE);
}

/* Data CRC of the record whose header page is in `page` (it is overwritten). */
static int data_crc_ok(unsigned s, unsigned p, const rec_hdr *h, bool *ok)
{
    size_t n = h->len < PAGE - REC_HDR ? h->len : PAGE - REC_HDR;
    uint32_t crc = hsm_crc32(0, page + REC_HDR, n);
    for (unsigned i = 1; n < h->len; i++) {
        int rc = read_page(s, p + i);
        if (rc != HSM_OK) {
            return rc;
        }
        size_t k = h->len - n < PAGE ? h->len - n : PAGE;
        crc = hsm_crc32(crc, page, k);
        n += k;
    }
    *ok = crc == h->dcrc;
    return HSM_OK;
}

/* Pages from..PAGES-1 all FF? */
static int tail_ff(unsigned s, unsigned from, bool *ff)
{
    *ff = true;
    for (unsigned p = from; p < PAGES && *ff; p++) {
        int rc = read_page(s, p);
        if (rc != HSM_OK) {
            return rc;
        }
        *ff = all_ff(page, PAGE);
    }
    return HSM_OK;
}

/* One record at page *p of an in-use sector; advances *p, or sets *p = PAGES when the sector
 * must be closed (a header that is not valid: a torn write). *end: the log ends here. */
static int scan_record(unsigned s, unsigned *p, bool *end, uint32_t *max_seq)
{
    rec_hdr h;
    int rc = read_page(s, *p);
    if (rc != HSM_OK) {
        return rc;
    }
    *end = all_ff(page, PAGE);
    if (*end) {
        return HSM_OK;
    }
    if (!hdr_decode(page, *p, &h)) {
        *p = PAGES;
        return HSM_OK;
    }
    bool ok;
    if ((rc = data_crc_ok(s, *p, &h, &ok)) != HSM_OK) {
        return rc;
    }
    if (ok) {
        sector_append(s, *p, &h);
        *max_seq = h.seq > *max_seq ? h.seq : *max_seq;
    }
    *p += rec_pages(h.len);
    return HSM_OK;
}

static int scan_log(unsigned s, uint32_t *max_seq)
{
    unsigned p = 1;
    bool end = false, ff;
    while (p < PAGES && !end) {
        int rc = scan_record(s, &p, &end, max_seq);
        if (rc != HSM_OK) {
            return rc;
        }
    }
    int rc = HSM_OK;
    if (end && (rc = tail_ff(s, p + 1, &ff)) == HSM_OK && !ff) {
        p = PAGES; /* S5: junk after the log end (a torn erase) */
    }
    st.sec[s].used = (uint8_t)(p < PAGES ? p : PAGES);
    return rc;
}

static int classify(unsigned s, uint32_t *max_seq)
{
    int rc = read_page(s, 0);
    if (rc != HSM_OK) {
        return rc;
    }
    if (get32(page) == SEC_MAGIC && get32(page + 12) == hsm_crc32(0, page, 12)) {
        sector_reset(s, SEC_USED, get32(page + 4));
        return scan_log(s, max_seq);
    }
    bool ff = all_ff(page, PAGE);
    if (ff && (rc = tail_ff(s, 1, &ff)) != HSM_OK) {
        return rc;
    }
    sector_reset(s, ff ? SEC_ERASED : SEC_DIRTY, 0);
    return HSM_OK;
}

/* Erased and dirty sectors lost their count: assume the largest seen. Dirty ones are erased. */
static int settle_sectors(void)
{
    uint32_t max_count = 0;
    for (unsigned s = 0; s < st.nsectors; s++) {
        if (st.sec[s].state == SEC_USED && st.sec[s].erase_count > max_count) {
            max_count = st.sec[s].erase_count;
        }
    }
    for (unsigned s = 0; s < st.nsectors; s++) {
        if (st.sec[s].state == SEC_USED) {
            continue;
        }
        if (st.sec[s].state == SEC_DIRTY) {
            int rc = hsm_port_flash_erase(page_off(s, 0));
            if (rc != HSM_OK) {
                return rc;
            }
        }
        sector_reset(s, SEC_ERASED, max_count);
    }
    return HSM_OK;
}

/* Index pass over valid records: data records first (pass 0), then tombstones (pass 1), so a
 * tombstone only takes an entry for an id that has a non-dead data record (S4). */
static int index_record(const rec_hdr *h, unsigned s, unsigned p, int pass)
{
    bool tomb = (h->flags & F_TOMB) != 0;
    if ((h->flags & F_NOTE) || dead(h) || tomb != (pass == 1)) {
        return HSM_OK;
    }
    entry *e = ix_find(h->id);
    if (e == NULL && tomb) {
        return HSM_OK;
    }
    if (e == NULL && (e = ix_insert(h->id)) == NULL) {
        return HSM_ERR_NO_SPACE;
    }
    if (h->seq > e->seq) {
        e->older += e->seq != 0 && !e->tomb; /* the data record it supersedes */
        ix_point(e, h, s, p);
    } else {
        e->older += !tomb;
    }
    return HSM_OK;
}

static int build_index(void)
{
    for (int pass = 0; pass < 2; pass++) {
        for (unsigned s = 0; s < st.nsectors; s++) {
            for (unsigned p = 1; p < PAGES && st.sec[s].state == SEC_USED; p++) {
                rec_hdr h;
                if (!(st.sec[s].valid & (1u << p))) {
                    continue;
                }
                int rc = hsm_port_flash_read(page_off(s, p), page, REC_HDR);
                if (rc == HSM_OK) {
                    rc = hdr_decode(page, p, &h) ? index_record(&h, s, p, pass) : HSM_ERR_FLASH;
                }
                if (rc != HSM_OK) {
                    return rc;
                }
            }
        }
    }
    return HSM_OK;
}

/* The head: the in-use sector with the most recent record that still has free pages. */
static void choose_head(void)
{
    st.head = -1;
    for (unsigned s = 0; s < st.nsectors; s++) {
        const sector *c = &st.sec[s];
        if (c->state == SEC_USED && c->used < PAGES && c->valid != 0 &&
            (st.head < 0 || c->last_seq > st.sec[st.head].last_seq)) {
            st.head = (int)s;
        }
    }
}

static int mount(void)
{
    uint32_t max_seq = 0;
    st.nsectors = hsm_port_flash_size() / SECTOR;
    if (st.nsectors > STORE_MAX_SECTORS) {
        st.nsectors = STORE_MAX_SECTORS;
    }
    if (st.nsectors < STORE_MIN_SECTORS) {
        return HSM_ERR_NO_SPACE;
    }
    for (unsigned s = 0; s < st.nsectors; s++) {
        int rc = classify(s, &max_seq);
        if (rc != HSM_OK) {
            return rc;
        }
        if (st.sec[s].carry > st.barrier) {
            st.barrier = st.sec[s].carry;
        }
    }
    int rc = settle_sectors();
    if (rc == HSM_OK) {
        rc = build_index();
    }
    st.next_seq = max_seq + 1;
    choose_head();
    return rc;
}

/* ---- API ------------------------------------------------------------------------------ */

static int stop_on_error(int rc)
{
    if (rc == HSM_ERR_FLASH || rc == HSM_ERR_INTERNAL) {
        st.mounted = false; /* S6 */
    }
    return rc;
}

int hsm_store_mount(hsm_store_keep_fn keep_fn)
{
    memset(&st, 0, sizeof(st));
    st.keep = keep_fn;
    int rc = mount();
    st.mounted = rc == HSM_OK;
    return rc;
}

static const entry *live_entry(uint16_t id)
{
    const entry *e = ix_find(id);
    return e != NULL && !e->tomb ? e : NULL;
}

int hsm_store_size(uint16_t id, size_t *len)
{
    if (!st.mounted) {
        return HSM_ERR_FLASH;
    }
    const entry *e = live_entry(id);
    if (e == NULL) {
        return HSM_ERR_NOT_FOUND;
    }
    *len = e->len;
    return HSM_OK;
}

int hsm_store_read(uint16_t id, size_t off, uint8_t *buf, size_t cap, size_t *len)
{
    *len = 0;
    if (!st.mounted) {
        return HSM_ERR_FLASH;
    }
    const entry *e = live_entry(id);
    if (e == NULL) {
        return HSM_ERR_NOT_FOUND;
    }
    if (off > e->len) {
        return HSM_ERR_WRONG_LENGTH;
    }
    size_t n = e->len - off < cap ? e->len - off : cap;
    int rc = n ? hsm_port_flash_read(page_off(e->sector, e->page) + REC_HDR + (uint32_t)off, buf, n)
               : HSM_OK;
    if (rc == HSM_OK) {
        *len = n;
    }
    return rc;
}

/* A new record for id (data, tombstone or wipe): § Writing. */
static int put(uint16_t id, unsigned flags, const uint8_t *data, size_t len)
{
    int rc = ix_find(id) ? HSM_OK : index_room();
    if (rc == HSM_OK) {
        rc = alloc(rec_pages(len), (flags & F_TOMB) ? RESERVE_TOMB : RESERVE_DATA, true);
    }
    if (rc != HSM_OK) {
        return rc;
    }
    rec_hdr h = {id, (uint16_t)flags, (uint16_t)len, st.next_seq++, st.barrier,
                 hsm_crc32(0, data, len)};
    rec_src src = {data, 0};
    if ((rc = append(&h, &src)) != HSM_OK) {
        return rc;
    }
    ix_commit(&h, (unsigned)st.head, st.sec[st.head].used - rec_pages(len));
    if (flags & F_WIPE) {
        st.barrier = h.seq;
        ix_wipe(id);
    }
    return HSM_OK;
}

int hsm_store_write(uint16_t id, const uint8_t *data, size_t len, unsigned flags)
{
    if (!st.mounted) {
        return HSM_ERR_FLASH;
    }
    if (len > HSM_STORE_OBJ_MAX) {
        return HSM_ERR_WRONG_LENGTH;
    }
    if ((data == NULL && len > 0) || (flags & ~(unsigned)HSM_STORE_WIPE)) {
        return HSM_ERR_INTERNAL;
    }
    static const uint8_t none[1];
    return stop_on_error(put(id, (flags & HSM_STORE_WIPE) ? F_WIPE : 0, len ? data : none, len));
}

int hsm_store_delete(uint16_t id)
{
    if (!st.mounted) {
        return HSM_ERR_FLASH;
    }
    if (live_entry(id) == NULL) {
        return HSM_ERR_NOT_FOUND;
    }
    static const uint8_t none[1];
    return stop_on_error(put(id, F_TOMB, none, 0));
}

int hsm_store_each(int (*fn)(uint16_t id, void *ctx), void *ctx)
{
    if (!st.mounted) {
        return HSM_ERR_FLASH;
    }
    for (uint32_t i = 0; i < st.nix; i++) {
        if (!st.ix[i].tomb) {
            int rc = fn(st.ix[i].id, ctx);
            if (rc != 0) {
                return rc;
            }
        }
    }
    return HSM_OK;
}

void hsm_store_get_stats(hsm_store_stats *s)
{
    memset(s, 0, sizeof(*s));
    if (!st.mounted) {
        return;
    }
    s->sectors = st.nsectors;
    s->free_sectors = free_count();
    s->capacity = (st.nsectors - RESERVE_DATA) * (PAGES - 1) * PAGE;
    s->erase_min = UINT32_MAX;
    for (unsigned i = 0; i < st.nsectors; i++) {
        uint32_t c = st.sec[i].erase_count;
        s->erase_min = c < s->erase_min ? c : s->erase_min;
        s->erase_max = c > s->erase_max ? c : s->erase_max;
    }
    for (uint32_t i = 0; i < st.nix; i++) {
        if (!st.ix[i].tomb) {
            s->live_objects++;
            s->live_bytes += rec_pages(st.ix[i].len) * PAGE;
        }
    }
}
