/*
 * trust.h — what other commands need from the CV certificate trust store of cmd_pso.c
 * (extensions spec 5.5): the domain parameters of a key certificate, and the file layer's hook
 * that withdraws trust from a CA xx file it changes.
 */
#ifndef HSM_TRUST_H
#define HSM_TRUST_H

#include "hsm/cvc.h"
#include "hsm/tlv.h"

/* The 7F49 value holding domain parameters (81 p, 82 a) for certificate c, which need not be
 * trusted itself: c's own, else that of its issuers followed by CAR through the trust store
 * until a certificate with parameters (a self-signed one without parameters ends the search).
 * *dom aliases c or the store's static buffer until the next trust-store call.
 * HSM_ERR_REF_NOT_FOUND when no such certificate is found. */
int hsm_trust_domain_params(const hsm_cvc_cert *c, hsm_tlv *dom);

/* Withdraws the trust PSO gave to the file CA xx (id = CA xx; other ids: nothing to do), before
 * the file interface rewrites or deletes it: so the bytes can never be trusted again without a
 * new PSO. HSM_OK, or the store's error (the caller must then leave the file unchanged). */
int hsm_trust_forget(uint16_t id);

#endif
