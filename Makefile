# Pico HSM — top-level build. `make run` starts the emulated HSM; `make test` runs everything CI
# runs. Both install what is missing first (scripts/deps; idempotent, no network once cached).

SHELL := /bin/bash
BUILD ?= build
GO ?= go
FUZZ_SECONDS ?= 300
FUZZ_RUNS ?= -1
FUZZ_BRIEF_RUNS ?= 200000
FUZZ_BRIEF_SECONDS ?= 15

EMU := $(BUILD)/emu/pico-hsm-emu
TOOL := $(BUILD)/bin/pico-hsm-tool
BENCH := $(BUILD)/bin/pico-hsm-bench
SOAK := $(BUILD)/bin/pico-hsm-soak
SOAK_DURATION ?= 1h

.PHONY: all deps emu tool firmware firmware-rp2040 firmware-rp2350 run stop test test-c test-go \
        test-c-sanitize test-go-sanitize fuzz-build \
        fuzz fuzz-brief fuzz-corpus bench bench-keys soak fil bench-device clean

all: emu tool

deps:
	@scripts/deps

# ---- emulator and C unit tests -------------------------------------------------------------
$(BUILD)/emu/build.ninja:
	cmake -S firmware -B $(BUILD)/emu -G Ninja

emu: deps $(BUILD)/emu/build.ninja
	cmake --build $(BUILD)/emu

test-c: emu
	ctest --test-dir $(BUILD)/emu --output-on-failure

# The C unit tests again under AddressSanitizer + UBSan, in a Debug build (asserts on).
$(BUILD)/asan/build.ninja:
	cmake -S firmware -B $(BUILD)/asan -G Ninja -DHSM_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug

test-c-sanitize: deps $(BUILD)/asan/build.ninja
	cmake --build $(BUILD)/asan
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
	  ctest --test-dir $(BUILD)/asan --output-on-failure

# ---- Go host tools ---------------------------------------------------------------------------
tool: deps
	cd host && $(GO) build -o ../$(TOOL) ./cmd/pico-hsm-tool && $(GO) build -o ../$(BENCH) ./cmd/pico-hsm-bench \
	  && $(GO) build -o ../$(SOAK) ./cmd/pico-hsm-soak

# ---- RP2040 / RP2350 firmware ----------------------------------------------------------------
# USB identity of the image: make firmware VIDPID=NitroHSM (presets in platform/rp2/CMakeLists.txt)
# or USB_VID=0x1209 USB_PID=0x0001; passed every time, so an unset one returns to 2E8A:10FD.
USB_ID_FLAGS = -DVIDPID=$(VIDPID) -DUSB_VID=$(USB_VID) -DUSB_PID=$(USB_PID)
firmware: firmware-rp2040 firmware-rp2350

firmware-rp2040: deps tool
	cmake -S firmware/platform/rp2 -B $(BUILD)/rp2040 -G Ninja -DPICO_BOARD=pico -DPICO_PLATFORM=rp2040 $(USB_ID_FLAGS)
	cmake --build $(BUILD)/rp2040
	$(TOOL) uf2 --family rp2040 -o $(BUILD)/rp2040/pico_hsm.uf2 $(BUILD)/rp2040/pico_hsm.elf
	cp $(BUILD)/rp2040/pico_hsm.uf2 $(BUILD)/rp2040/pico-hsm-rp2040-pico.uf2
	scripts/size-report $(BUILD)/rp2040 rp2040

firmware-rp2350: deps tool
	cmake -S firmware/platform/rp2 -B $(BUILD)/rp2350 -G Ninja -DPICO_BOARD=pico2 -DPICO_PLATFORM=rp2350-arm-s $(USB_ID_FLAGS)
	cmake --build $(BUILD)/rp2350
	$(TOOL) uf2 --family rp2350 -o $(BUILD)/rp2350/pico_hsm.uf2 $(BUILD)/rp2350/pico_hsm.elf
	cp $(BUILD)/rp2350/pico_hsm.uf2 $(BUILD)/rp2350/pico-hsm-rp2350-pico2.uf2
	scripts/size-report $(BUILD)/rp2350 rp2350

# ---- firmware in the loop: the RP2040 image in rp2040js (fil/) -----------------------------------
# `make fil`: boot, USB enumeration, CCID, the SmartCard-HSM flow with a chip reset (node --test).
# `make bench-device`: cycles per key operation in the emulated RP2040 (long; not in make test).
FIL_UF2 := $(CURDIR)/$(BUILD)/rp2040/pico_hsm.uf2
BENCH_DEVICE_RUNS ?= 5

fil: firmware-rp2040
	cd fil && PICO_HSM_UF2=$(FIL_UF2) node --test --test-reporter=spec test/

bench-device: firmware-rp2040
	cd fil && PICO_HSM_UF2=$(FIL_UF2) node bench.js --runs $(BENCH_DEVICE_RUNS)

# ---- fuzzing (clang + libFuzzer, ASan/UBSan) -------------------------------------------------
$(BUILD)/fuzz/build.ninja:
	CC=clang cmake -S firmware -B $(BUILD)/fuzz -G Ninja -DHSM_FUZZ=ON

fuzz-build: deps $(BUILD)/fuzz/build.ninja
	cmake --build $(BUILD)/fuzz

# A short run of every target over its seed corpus (part of `make test`).
fuzz-brief: fuzz-build
	@for t in $(BUILD)/fuzz/fuzz_*; do \
	  name=$${t##*/fuzz_}; work=$(BUILD)/fuzz/corpus-$$name; mkdir -p $$work; \
	  echo "fuzz $$name: up to $(FUZZ_BRIEF_RUNS) runs or $(FUZZ_BRIEF_SECONDS) s"; \
	  $$t -runs=$(FUZZ_BRIEF_RUNS) -max_total_time=$(FUZZ_BRIEF_SECONDS) -max_len=4096 -artifact_prefix=$$work- \
	    $$work firmware/fuzz/corpus/$$name \
	    > $$work.log 2>&1 || { tail -40 $$work.log; exit 1; }; tail -1 $$work.log; \
	done

# Seeds from real traffic: the conformance suite's APDUs (the first 4 KiB of each emulator's)
# added to the APDU target's corpus, named by content.
fuzz-corpus: emu
	cd host && PICO_HSM_CORPUS_DIR=$(CURDIR)/firmware/fuzz/corpus/apdu PICO_HSM_EMU=$(CURDIR)/$(EMU) \
	  $(GO) test -count=1 -timeout 30m ./conformance/

# Longer runs on demand, each target in turn for FUZZ_SECONDS or FUZZ_RUNS executions, whichever
# ends first (-1 runs, 0 s: no limit): make fuzz FUZZ_RUNS=10000000 FUZZ_SECONDS=0 FUZZ_TARGETS="store cvc".
# Each run's log (with libFuzzer's final statistics) is kept in $(BUILD)/fuzz/run-<target>.log;
# what libFuzzer writes on a finding (crash-, leak-, timeout-, slow-unit-<sha1>) goes next to the
# target's working corpus, as $(BUILD)/fuzz/corpus-<target>-<kind>-<sha1>.
fuzz: fuzz-build
	@targets='$(FUZZ_TARGETS)'; [ -n "$$targets" ] || targets=$$(ls $(BUILD)/fuzz | sed -n 's/^fuzz_//p'); \
	for name in $$targets; do \
	  t=$(BUILD)/fuzz/fuzz_$$name; work=$(BUILD)/fuzz/corpus-$$name; mkdir -p $$work; \
	  echo "fuzz $$name: $(FUZZ_RUNS) runs, $(FUZZ_SECONDS) s"; \
	  $$t -runs=$(FUZZ_RUNS) -max_total_time=$(FUZZ_SECONDS) -max_len=4096 -print_final_stats=1 -artifact_prefix=$$work- \
	    $$work firmware/fuzz/corpus/$$name > $(BUILD)/fuzz/run-$$name.log 2>&1 || { tail -60 $(BUILD)/fuzz/run-$$name.log; exit 1; }; \
	  grep -E "DONE|stat::number_of_executed_units|stat::peak_rss" $(BUILD)/fuzz/run-$$name.log; \
	done

# ---- run the emulated HSM --------------------------------------------------------------------
run: emu tool
	@scripts/run

stop:
	@scripts/stop

# ---- everything CI runs ------------------------------------------------------------------------
test-go: emu firmware
	cd host && $(GO) vet ./... && test -z "$$(gofmt -l .)" || { gofmt -l .; exit 1; }
	cd host && PICO_HSM_EMU=$(CURDIR)/$(EMU) PICO_HSM_BUILD_DIR=$(CURDIR)/$(BUILD) \
	  PICO_HSM_FIRMWARE_DIR=$(CURDIR)/$(BUILD) PICO_HSM_E2E=1 $(GO) test -count=1 ./...

# The Go conformance suite and the OpenSC end-to-end tests against the emulator built with
# ASan + UBSan (Debug): any sanitizer report fails the test that stopped that emulator.
test-go-sanitize: test-c-sanitize tool
	cd host && PICO_HSM_EMU=$(CURDIR)/$(BUILD)/asan/pico-hsm-emu PICO_HSM_BUILD_DIR=$(CURDIR)/$(BUILD) \
	  ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
	  PICO_HSM_E2E=1 $(GO) test -count=1 -timeout 30m ./conformance/

test: test-c test-c-sanitize fuzz-brief firmware fil test-go test-go-sanitize
	scripts/test-run-stop

# APDU round trip through pcscd (needs `make run` first): median and p99 over 1000 commands.
bench: tool
	$(BENCH) --via pcsc --n 1000
	$(BENCH) --via vpcd --n 1000 --emu $(EMU)

# Key operation latency on the emulator through the harness's own reader (no pcscd needed).
BENCH_KEYS := keygen:rsa:1024:30 keygen:rsa:2048:30 keygen:ec:secp256r1:50 keygen:ec:secp384r1:50 \
  keygen:ec:secp521r1:50 sign:rsa:1024:100 sign:rsa:2048:100 sign:rsa:4096:100 \
  sign:ec:secp256r1:100 sign:ec:secp384r1:100 sign:ec:secp521r1:100 sign:ec:secp256k1:100 \
  decrypt:rsa:2048:100 ecdh:ec:secp256r1:100
bench-keys: emu tool
	@for spec in $(BENCH_KEYS); do \
	  op=$${spec%%:*}; rest=$${spec#*:}; n=$${rest##*:}; key=$${rest%:*}; \
	  printf '%-8s %-14s ' $$op $$key; \
	  $(BENCH) --via vpcd --emu $(EMU) --op $$op --key $$key --n $$n | tail -1; \
	done

# Hours-long mixed workload through pcscd on vpcd slot 1, every answer checked (not in make
# test): make soak SOAK_DURATION=3h. Needs pcscd with vsmartcard-vpcd (started if none runs).
soak: emu tool
	@pgrep -x pcscd >/dev/null || { pcscd && sleep 1; }
	$(SOAK) --duration $(SOAK_DURATION) --emu $(EMU)

clean:
	rm -rf $(BUILD)
