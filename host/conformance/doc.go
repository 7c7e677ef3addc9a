// Package conformance holds the wire-conformance suite of the Pico HSM emulator: tests that
// drive pico-hsm-emu through an in-process vpcd reader (hermetic, always run) and, when
// PICO_HSM_E2E=1, through pcscd and the OpenSC tools (e2e_test.go).
//
// Every expectation cites the section of /work/shared/spec/smartcard-hsm-core.md (the
// SmartCard-HSM core protocol) it checks. The package has no non-test code.
//
// Environment:
//
//	PICO_HSM_EMU       emulator binary (default ../../build/emu/pico-hsm-emu; missing = FAIL,
//	                   run `make emu`)
//	PICO_HSM_SKIP_EMU  1 = skip every test that needs the emulator
//	PICO_HSM_E2E       1 = also run the pcscd/OpenSC end-to-end tests
//	PICO_HSM_SIGKILL_SEED   replay the SIGKILL workload (sigkill_test.go) with this seed
//	PICO_HSM_SIGKILL_KILLS  number of kills of that workload (default 60)
package conformance
