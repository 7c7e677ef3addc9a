/*
 * test_health.c — host tests of the SP 800-90B health tests (firmware/entropy/health.c):
 * the tabulated cutoffs against the 90B formulas, then good, stuck and biased sources and the
 * exact boundaries of both tests.
 */
#include <math.h>
#include <stdint.h>

#include "check.h"
#include "health.h"
#include "hsm/err.h"

/* log P(X >= c) for X ~ Binomial(n, p), summed in long double from the top of the tail. */
static long double binom_tail(unsigned n, long double p, unsigned c) {
    long double sum = 0;
    for (unsigned k = c; k <= n; k++) {
        long double lt = lgammal(n + 1.0L) - lgammal(k + 1.0L) - lgammal(n - k + 1.0L) +
                         k * logl(p) + (n - k) * logl(1 - p);
        sum += expl(lt);
    }
    return sum;
}

/* 90B 4.4.2: C = 1 + CRITBINOM(W, 2^-H, 1 - alpha), i.e. the smallest C with
 * P(X >= C) <= alpha. Check c is that value. */
static void check_apt_cutoff(unsigned w, long double h, int log2_alpha, unsigned c) {
    long double p = powl(2.0L, -h), alpha = powl(2.0L, (long double)log2_alpha);
    CHECK(binom_tail(w, p, c) <= alpha);
    CHECK(binom_tail(w, p, c - 1) > alpha);
}

static void test_cutoffs(void) {
    /* RCT: C = 1 + ceil(-log2(alpha) / H) */
    CHECK_EQ_INT(HSM_HEALTH_BINARY_RCT_CUTOFF, 1 + (unsigned)ceil(30 / 0.5));
    CHECK_EQ_INT(HSM_HEALTH_BINARY_APT_WINDOW, 1024);
    check_apt_cutoff(1024, 0.5L, -30, HSM_HEALTH_BINARY_APT_CUTOFF);
    check_apt_cutoff(1024, 0.5L, -20, 793);
    check_apt_cutoff(1024, 1.0L, -20, 589); /* the value printed in SP 800-90B table 2 */
}

static hsm_health h;

static void init(void) {
    hsm_health_init(&h, HSM_HEALTH_BINARY_RCT_CUTOFF, HSM_HEALTH_BINARY_APT_WINDOW,
                    HSM_HEALTH_BINARY_APT_CUTOFF);
}

static uint64_t rng_state = 0x9E3779B97F4A7C15u;
static uint32_t rng32(void) { /* xorshift64* */
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return (uint32_t)((rng_state * 0x2545F4914F6CDD1Du) >> 32);
}

/* Bit with P(1) = num / 1000. */
static uint8_t biased_bit(unsigned num) { return (uint8_t)(rng32() % 1000 < num); }

/* Feeds n samples from gen(arg); returns the 1-based index of the first failure, 0 if none. */
static uint64_t run(unsigned n, uint8_t (*gen)(unsigned), unsigned arg) {
    for (unsigned i = 0; i < n; i++)
        if (hsm_health_feed(&h, gen(arg)) != HSM_OK)
            return i + 1;
    return 0;
}

static void test_good_sources(void) {
    init();
    CHECK(!hsm_health_startup_done(&h));
    CHECK_EQ_INT(run(1023, biased_bit, 500), 0);
    CHECK(!hsm_health_startup_done(&h));
    CHECK_EQ_INT(run(1, biased_bit, 500), 0);
    CHECK(hsm_health_startup_done(&h));
    CHECK_EQ_INT(run(2000000, biased_bit, 500), 0);

    /* biased, but within the claim: P(1) = 0.65 has H = 0.62 > 0.5 */
    init();
    CHECK_EQ_INT(run(1000000, biased_bit, 650), 0);
    init();
    CHECK_EQ_INT(run(1000000, biased_bit, 350), 0);
}

static uint8_t constant(unsigned v) { return (uint8_t)v; }

static void test_stuck_sources(void) {
    init();
    CHECK_EQ_INT(run(10000, constant, 0), HSM_HEALTH_BINARY_RCT_CUTOFF);
    /* sticky: even good samples fail afterwards */
    CHECK_EQ_INT(hsm_health_feed(&h, 1), HSM_ERR_ENTROPY);
    CHECK(!hsm_health_startup_done(&h));

    /* stuck after a good start */
    init();
    CHECK_EQ_INT(run(5000, biased_bit, 500), 0);
    uint64_t at = run(10000, constant, 1);
    CHECK(at >= 1 && at <= HSM_HEALTH_BINARY_RCT_CUTOFF); /* the run may have begun earlier */
    CHECK_EQ_INT(h.rct_count, HSM_HEALTH_BINARY_RCT_CUTOFF);

    /* RCT boundary: cutoff - 1 repeats pass, cutoff repeats fail */
    init();
    CHECK_EQ_INT(run(HSM_HEALTH_BINARY_RCT_CUTOFF - 1, constant, 1), 0);
    CHECK_EQ_INT(run(HSM_HEALTH_BINARY_RCT_CUTOFF - 1, constant, 0), 0);
    CHECK_EQ_INT(run(1, constant, 0), 1);
}

/* Evenly spread `zeros` zeros over a window of 1024, ones elsewhere; sample 0 is a one. */
static unsigned spread_zeros, spread_pos; /* generator state */
static uint8_t spread(unsigned zeros) {
    unsigned i = spread_pos++ % 1024;
    return (uint8_t)!((i + 1) * zeros / 1024 > i * zeros / 1024);
}

static void test_biased_sources(void) {
    /* APT boundary: the window's first value 809 times passes, 810 times fails on the 810th */
    init();
    spread_pos = 0;
    spread_zeros = 1024 - (HSM_HEALTH_BINARY_APT_CUTOFF - 1);
    CHECK_EQ_INT(run(1024 * 8, spread, spread_zeros), 0);

    init();
    spread_pos = 0;
    spread_zeros = 1024 - HSM_HEALTH_BINARY_APT_CUTOFF;
    unsigned ones = 0;
    uint64_t fail = 0;
    for (unsigned i = 0; i < 1024 && !fail; i++) {
        uint8_t b = spread(spread_zeros);
        ones += b;
        if (hsm_health_feed(&h, b) != HSM_OK)
            fail = i + 1;
    }
    CHECK(fail != 0);
    CHECK_EQ_INT(ones, HSM_HEALTH_BINARY_APT_CUTOFF);
    CHECK(h.rct_count < HSM_HEALTH_BINARY_RCT_CUTOFF); /* it was the APT, not the RCT */

    /* random bits with P(1) = 0.9 (H = 0.15): the APT catches them within a few windows */
    init();
    uint64_t at = run(8192, biased_bit, 900);
    CHECK(at != 0 && at <= 8192);
    /* and so for the opposite bias */
    init();
    at = run(8192, biased_bit, 100);
    CHECK(at != 0);

    /* the window that starts with the minority value does not count the majority */
    init();
    CHECK_EQ_INT(hsm_health_feed(&h, 0), HSM_OK);
    spread_pos = 1;
    CHECK_EQ_INT(run(1023, spread, 100), 0); /* ~92% ones, but the window counts zeros */
}

int main(void) {
    test_cutoffs();
    test_good_sources();
    test_stuck_sources();
    test_biased_sources();
    return CHECK_DONE();
}
