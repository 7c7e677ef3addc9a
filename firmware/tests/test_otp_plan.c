/*
 * test_otp_plan.c — the RP2350 OTP root's states and decisions (firmware/board/otp_plan.c):
 * the row image of a secret (check values computed independently with Python hashlib), every
 * state a reading can be in, what boot and provisioning do in each, the SO-PIN guard, the
 * three-way majority of lock rows, and a power cut after each row write of a provisioning.
 */
#include "check.h"
#include "hsm/err.h"
#include "otp_plan.h"

static void secret_0_31(uint8_t s[32])
{
    for (int i = 0; i < 32; i++) {
        s[i] = (uint8_t)i;
    }
}

static const uint32_t LOCKED = 0x3D3D3D; /* BL 3, NS 3, S 1 in all three copies */

static void test_rows(void)
{
    uint8_t s[32];
    uint16_t rows[OTP_PLAN_ROWS];
    secret_0_31(s);
    CHECK_EQ_INT(otp_plan_rows(s, rows), HSM_OK);
    CHECK_EQ_INT(rows[0], 0x0100);  /* little-endian per row */
    CHECK_EQ_INT(rows[15], 0x1F1E);
    CHECK_EQ_INT(rows[16], 0xA8C0); /* SHA-256("pico-hsm/otp-root/v1" || 00..1F)[0..3] */
    CHECK_EQ_INT(rows[17], 0x89A6);
    CHECK_EQ_INT(rows[18], 0x5048);

    uint8_t a5[32];
    memset(a5, 0xA5, 32);
    uint16_t check[2];
    CHECK_EQ_INT(otp_plan_check(a5, check), HSM_OK);
    CHECK_EQ_INT(check[0], 0x4643);
    CHECK_EQ_INT(check[1], 0x4ED8);

    otp_reading r = {.row_error = false, .lock1 = LOCKED};
    memcpy(r.rows, rows, sizeof(rows));
    uint8_t back[32];
    otp_plan_secret(&r, back);
    CHECK_MEM(back, s, 32);
}

static void test_lock_bits(void)
{
    CHECK_EQ_INT(otp_plan_lock_byte(0x3D3D3D), 0x3D);
    CHECK_EQ_INT(otp_plan_lock_byte(0x3D003D), 0x3D); /* one copy lost */
    CHECK_EQ_INT(otp_plan_lock_byte(0x00003D), 0x00); /* one copy alone does not count */
    CHECK_EQ_INT(otp_plan_lock_byte(0x0C3001), 0x00);
    CHECK_EQ_INT(otp_plan_lock_value(0), 0x3D3D3D);
    CHECK_EQ_INT(otp_plan_lock_value(0x000040), 0x3D3D7D); /* bits already set stay */
    CHECK_EQ_INT(otp_plan_lock_value(0xFF000000u), 0x3D3D3D);
}

static otp_reading provisioned(uint32_t lock1)
{
    uint8_t s[32];
    secret_0_31(s);
    otp_reading r = {.row_error = false, .lock1 = lock1};
    otp_plan_rows(s, r.rows);
    return r;
}

static void test_states(void)
{
    otp_reading r = {.row_error = false, .lock1 = 0};
    memset(r.rows, 0, sizeof(r.rows));
    CHECK_EQ_INT(otp_plan_state(&r), OTP_BLANK);
    r.lock1 = 0x010101; /* already read-only to Secure code: nothing can be written */
    CHECK_EQ_INT(otp_plan_state(&r), OTP_LOCKED_OUT);
    r.lock1 = 0x0C0C0C; /* NS locked only: still writable by us */
    CHECK_EQ_INT(otp_plan_state(&r), OTP_BLANK);
    r.row_error = true;
    CHECK_EQ_INT(otp_plan_state(&r), OTP_DAMAGED);

    r = provisioned(LOCKED);
    CHECK_EQ_INT(otp_plan_state(&r), OTP_READY);
    r = provisioned(0x3D3D00); /* two copies agree: still locked */
    CHECK_EQ_INT(otp_plan_state(&r), OTP_READY);
    r = provisioned(0);
    CHECK_EQ_INT(otp_plan_state(&r), OTP_UNLOCKED);
    r = provisioned(0x0C0C0C); /* partly locked */
    CHECK_EQ_INT(otp_plan_state(&r), OTP_UNLOCKED);
    r = provisioned(0x3F3F3F); /* S inaccessible: cannot be ours */
    CHECK_EQ_INT(otp_plan_state(&r), OTP_DAMAGED);

    /* one flipped bit anywhere in the secret or check: the check catches it */
    for (unsigned row = 0; row < 18; row++) {
        for (unsigned bit = 0; bit < 16; bit += 5) {
            r = provisioned(LOCKED);
            r.rows[row] ^= (uint16_t)(1u << bit);
            CHECK_EQ_INT(otp_plan_state(&r), OTP_DAMAGED);
        }
    }
    r = provisioned(LOCKED);
    r.rows[18] = 0x5049;
    CHECK_EQ_INT(otp_plan_state(&r), OTP_DAMAGED);

    /* an all-zero secret with a matching check is refused too */
    uint8_t z[32] = {0};
    r.lock1 = LOCKED;
    otp_plan_rows(z, r.rows);
    CHECK_EQ_INT(otp_plan_state(&r), OTP_DAMAGED);
}

/* Provisioning writes rows in order (secret, check, marker) then the lock. A power cut after
 * any number of them gives a state that never uses a partial secret. */
static void test_power_cuts(void)
{
    otp_reading done = provisioned(0);
    for (unsigned written = 0; written <= OTP_PLAN_ROWS + 1; written++) {
        otp_reading r = {.row_error = false, .lock1 = 0};
        memset(r.rows, 0, sizeof(r.rows));
        for (unsigned i = 0; i < written && i < OTP_PLAN_ROWS; i++) {
            r.rows[i] = done.rows[i];
        }
        if (written == OTP_PLAN_ROWS + 1) {
            r.lock1 = otp_plan_lock_value(0);
        }
        otp_state s = otp_plan_state(&r);
        if (written == 0) {
            CHECK_EQ_INT(s, OTP_BLANK);
        } else if (written < OTP_PLAN_ROWS) {
            CHECK_EQ_INT(s, OTP_DAMAGED);
            CHECK_EQ_INT(otp_plan_boot(s), OTP_ACT_NONE);
        } else if (written == OTP_PLAN_ROWS) {
            CHECK_EQ_INT(s, OTP_UNLOCKED);
            CHECK_EQ_INT(otp_plan_boot(s), OTP_ACT_LOCK_USE);
        } else {
            CHECK_EQ_INT(s, OTP_READY);
            CHECK_EQ_INT(otp_plan_boot(s), OTP_ACT_USE);
        }
    }
}

static void test_decisions(void)
{
    otp_action act;
    CHECK_EQ_INT(otp_plan_boot(OTP_BLANK), OTP_ACT_NONE);
    CHECK_EQ_INT(otp_plan_boot(OTP_LOCKED_OUT), OTP_ACT_NONE);
    CHECK_EQ_INT(otp_plan_boot(OTP_DAMAGED), OTP_ACT_NONE);

    /* the SO-PIN guard comes first, in every state */
    for (int s = OTP_BLANK; s <= OTP_DAMAGED; s++) {
        act = OTP_ACT_USE;
        CHECK_EQ_INT(otp_plan_provision((otp_state)s, false, &act), HSM_ERR_SECURITY);
        CHECK_EQ_INT(act, OTP_ACT_NONE);
    }
    CHECK_EQ_INT(otp_plan_provision(OTP_BLANK, true, &act), HSM_OK);
    CHECK_EQ_INT(act, OTP_ACT_PROVISION);
    CHECK_EQ_INT(otp_plan_provision(OTP_READY, true, &act), HSM_ERR_CONDITIONS);
    CHECK_EQ_INT(act, OTP_ACT_NONE);
    CHECK_EQ_INT(otp_plan_provision(OTP_UNLOCKED, true, &act), HSM_ERR_CONDITIONS);
    CHECK_EQ_INT(otp_plan_provision(OTP_LOCKED_OUT, true, &act), HSM_ERR_NOT_ALLOWED);
    CHECK_EQ_INT(otp_plan_provision(OTP_DAMAGED, true, &act), HSM_ERR_NOT_ALLOWED);
    CHECK_EQ_INT(act, OTP_ACT_NONE);
}

int main(void)
{
    test_rows();
    test_lock_bits();
    test_states();
    test_power_cuts();
    test_decisions();
    return CHECK_DONE();
}
