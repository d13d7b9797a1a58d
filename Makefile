# dmakit: the two commands of the README, and a few more for developers.
#
#   make run     install what is missing, build, run the main job
#   make check   install what is missing, build, run every test
#
# Everything else (bench, fuzz, lab-fuzz, ...) is for developers and listed
# in `make help`.

BUILD      ?= build
SAN_BUILD  ?= build-san
TSAN_BUILD ?= build-tsan
MESON_OPTS ?=

.PHONY: all run check deps build build-san test test-san test-valgrind test-tsan lab lab-fuzz help clean

all: build

help:
	@echo "make run     install missing packages, build, replay the example trace"
	@echo "make check   install missing packages, build, run every test (plain and ASan+UBSan)"
	@echo "make build   configure and build into $(BUILD)/"
	@echo "make lab     run the real-kernel lab tests only"
	@echo "make lab-fuzz SEEDS='1 2 3' OPS=2000"
	@echo "             differential runs of random traces: real kernel vs emulator"
	@echo "make clean   remove the build directories"

deps:
	@sh scripts/setup-deps.sh

$(BUILD)/build.ninja:
	meson setup $(BUILD) $(MESON_OPTS)

$(SAN_BUILD)/build.ninja:
	meson setup $(SAN_BUILD) -Db_sanitize=address,undefined -Db_lundef=false $(MESON_OPTS)

$(TSAN_BUILD)/build.ninja:
	meson setup $(TSAN_BUILD) -Db_sanitize=thread -Db_lundef=false $(MESON_OPTS)

build: deps $(BUILD)/build.ninja
	ninja -C $(BUILD)

build-san: deps $(SAN_BUILD)/build.ninja
	ninja -C $(SAN_BUILD)

run: build
	./$(BUILD)/dmakit replay examples/traces/example.trace
	@# The headline (docs/plan.md): will these VMs' DMA mappings fit? Then one
	@# timeline through the listener, plotted to $(BUILD)/sim.svg.
	@for f in examples/plan/*; do ./$(BUILD)/dmakit plan $$f; echo "exit status $$?"; echo; done
	@# This scenario is refused part-way on purpose (exit status 1).
	@./$(BUILD)/dmakit sim --plot $(BUILD)/sim.svg examples/sim/virtio-mem-256g-dynamic.scenario; \
		echo "exit status $$?"
	@echo "plot: $(BUILD)/sim.svg"

test: build
	meson test -C $(BUILD) --print-errorlogs --num-processes 2

test-san: build-san
	UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 \
	meson test -C $(SAN_BUILD) --print-errorlogs --num-processes 2 --no-suite lab

VALGRIND = valgrind --error-exitcode=1 --leak-check=full --errors-for-leak-kinds=definite,indirect --quiet
# ThreadSanitizer: the tests that share containers between threads.
test-tsan: deps $(TSAN_BUILD)/build.ninja
	ninja -C $(TSAN_BUILD) tests/test_threads
	TSAN_OPTIONS=halt_on_error=1 meson test -C $(TSAN_BUILD) --no-rebuild threads --print-errorlogs

test-valgrind: build
	meson test -C $(BUILD) --setup valgrind --suite unit --print-errorlogs --num-processes 2 \
		--logbase valgrind-unit
	DMAKIT_TEST_WRAPPER="$(VALGRIND)" meson test -C $(BUILD) --suite conformance \
		--print-errorlogs --num-processes 2 --logbase valgrind-conformance

check: build build-san
	@rm -f $(BUILD)/meson-logs/*.json $(SAN_BUILD)/meson-logs/*.json $(TSAN_BUILD)/meson-logs/*.json
	@rc=0; \
	$(MAKE) --no-print-directory test || rc=1; \
	$(MAKE) --no-print-directory test-san || rc=1; \
	$(MAKE) --no-print-directory test-valgrind || rc=1; \
	$(MAKE) --no-print-directory test-tsan || rc=1; \
	sh scripts/test-summary.sh $(BUILD) $(SAN_BUILD) $(TSAN_BUILD); \
	exit $$rc

lab: build
	meson test -C $(BUILD) --suite lab --print-errorlogs -v

SEEDS ?= $(shell seq -s ' ' 1 32)
OPS ?= 2000
lab-fuzz: build
	SEEDS="$(SEEDS)" OPS="$(OPS)" tests/lab/real_kernel.sh \
		$(BUILD)/dmakit-static $(BUILD)/tests/lab/dma_proof \
		$(BUILD)/tests/lab/abi_corners $(BUILD)/tests/lab/listener_proof $(CURDIR)

clean:
	rm -rf $(BUILD) $(SAN_BUILD) $(TSAN_BUILD)

# `make bench`: build, then the project's benchmark (docs/bench.md): the range
# table and the emulated MAP/UNMAP path against GTree and an RB tree, a few
# minutes. BENCH_ARGS='--quick' for a half-minute run, '--json' for JSON.
BENCH_ARGS ?=
.PHONY: bench
bench: build
	./$(BUILD)/dmakit bench $(BENCH_ARGS)

# libFuzzer targets against reference models (tests/fuzz/README.md):
# FUZZ_SECONDS per target; `make check` runs them for 15 s each.
FUZZ_SECONDS ?= 300
.PHONY: fuzz
fuzz: deps
	sh tests/fuzz/run.sh $(FUZZ_SECONDS)

# Shipping (tests/install): `meson install` into a temporary DESTDIR with the
# example built against it, and the Debian packages (dpkg-buildpackage -b in
# a copy of the tree; the .debs are unpacked into a temporary root only).
.PHONY: test-install
test-install: build
	meson test -C $(BUILD) --print-errorlogs --suite install --suite deb
