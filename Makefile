# alphad — `make help` lists the targets.
SHELL := /bin/bash
GO ?= go
ALPHAD_SHARED ?= $(abspath ../shared)
export ALPHAD_SHARED
BIN := bin/alphad
# A release tag (v1.2.3) names the version; between tags it is 0.1.0-dev
# and the commit tells the build apart.
VERSION ?= $(shell git describe --tags --match 'v[0-9]*' --dirty 2>/dev/null | sed 's/^v//' || true)
VERSION := $(or $(VERSION),0.1.0-dev)
COMMIT ?= $(shell git rev-parse --short HEAD 2>/dev/null || echo unknown)
LDFLAGS := -s -w -X main.version=$(VERSION) -X main.commit=$(COMMIT)
# The native engine's GEMM kernels want FMA: amd64 builds target x86-64-v3
# (Haswell and later). Override with GOAMD64=v1 for older CPUs.
GOAMD64 ?= v3
export GOAMD64
# The XNNPACK engine is compiled in whenever Debian's headers are installed.
# Both are expanded when used, so `make test` sees headers its deps step
# has just installed.
HAVE_XNNPACK = $(shell test -f /usr/include/xnnpack.h && test -f /usr/include/pthreadpool.h && echo yes)
TAGS ?= $(if $(HAVE_XNNPACK),xnnpack)
ORACLE := .cache/oracle/run_tflite.js
# Package groups `make test` installs when run as root (scripts/deps.sh groups).
DEPS ?= test
# Tests skipped for a missing tool or data record themselves here
# (internal/testshared); make test ends with a line naming them.
SKIPS := $(CURDIR)/.cache/test-skips.tsv
SKIP_SUMMARY = ./scripts/deps.sh summary $(SKIPS)
# Run again under the race detector: the packages with goroutines of their
# own. -short leaves out their long numeric tests (embedding hundreds of
# images), which run in the plain pass.
RACE_PKGS := ./internal/daemon/... ./mqtt/... ./device/... ./pipeline/head/... ./pipeline/store/...

.PHONY: man help build test faults cross-test bench eval demo cross-arm64 cross-armv7 release-arm64 oracle deps fuzz vmtest install deb fleet-scale clean

help: ## list the targets
	@grep -hE '^[a-zA-Z0-9_-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-14s %s\n", $$1, $$2}'

build: ## build bin/alphad (with the xnnpack engine when libxnnpack-dev is installed)
	@if [ -n "$(HAVE_XNNPACK)" ]; then echo "build: xnnpack engine compiled in (libxnnpack-dev found)"; \
	else echo "build: native engine only (apt install libxnnpack-dev libpthreadpool-dev for xnnpack)"; fi
	$(GO) build -tags '$(TAGS)' -trimpath -ldflags '$(LDFLAGS)' -o $(BIN) ./cmd/alphad

oracle: $(ORACLE) ## install the real TFLite runtime (npm) used as the test oracle

$(ORACLE): $(ALPHAD_SHARED)/tools/tflite-oracle/package-lock.json
	@command -v npm >/dev/null || { echo "oracle: npm not found (apt-get install nodejs npm)"; exit 1; }
	rm -rf .cache/oracle && mkdir -p .cache/oracle
	cp $(ALPHAD_SHARED)/tools/tflite-oracle/{package.json,package-lock.json,run_tflite.js} .cache/oracle/
	cd .cache/oracle && npm ci --no-audit --no-fund --loglevel=error
	touch $(ORACLE)

deps: ## install the packages make test needs, as root (DEPS="mqtt systemd" picks groups; scripts/deps.sh groups lists them)
	@./scripts/deps.sh ensure $(DEPS) || echo "deps: the tests that need them will skip (make test names them at the end)"

test: deps ## run all tests, the concurrent packages also with -race (run as root it installs what they need: make deps)
	@unformatted=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$unformatted" ]; then echo "gofmt needed: $$unformatted"; exit 1; fi
	$(GO) mod tidy -diff
	$(GO) vet -tags '$(TAGS)' ./...
	@if command -v npm >/dev/null; then $(MAKE) --no-print-directory oracle; else echo "test: npm not found: no TFLite oracle, its tests will skip"; fi
	@mkdir -p .cache && : > $(SKIPS)
	$(GO) test -tags '$(TAGS)' -count=1 -timeout 30m ./... || { $(SKIP_SUMMARY); exit 1; }
	$(GO) test -race -short -tags '$(TAGS)' -count=1 -timeout 30m $(RACE_PKGS) || { $(SKIP_SUMMARY); exit 1; }
	$(GO) test -tags '$(TAGS)' -count=1 -run '^$$' -bench . -benchtime 1x ./... > /dev/null || { $(SKIP_SUMMARY); exit 1; }
	$(GO) test -tags purego -count=1 -short -run 'Golden|Conv|Depthwise|Gemm|Dot|Quad|DW9|Teachable' ./pipeline/engine/native/... || { $(SKIP_SUMMARY); exit 1; }
	@if command -v qemu-aarch64 >/dev/null; then ./scripts/cross-test.sh arm64 || { $(SKIP_SUMMARY); exit 1; }; \
	else echo "test: qemu-user not installed, arm64 conformance skipped (make cross-test; apt-get install qemu-user)"; fi
	@$(SKIP_SUMMARY)

test: export ALPHAD_SKIPS = $(SKIPS)

# The fault-injection suite of issue 14 (docs/faults.md): tests named
# TestFault* and the earlier ones that cover a finding. They are ordinary
# tests, so make test runs them too; this target runs them alone, verbose,
# for their figures (peak RSS, seconds, answers counted).
FAULT_PKGS := ./pipeline/store/... ./cmd/alphad/ ./device/camerafile/ ./internal/daemon/ ./internal/control/ ./internal/stillimage/ ./internal/web/
FAULT_RUN := Fault|Journal|StoreCorruptJournal|CrashSafety|ImagePathsAgree|ClassNameRule|TrainBounds|ConfigCheckListen|ImportRefusesNonImageModels|DirSkipsBadImages|BrokerFlaps|CommandFlood|ReducedJPEG|PNGRows|^TestParse$$|^TestCommands$$

faults: DEPS += time
faults: deps ## run the fault-injection suite alone, with its figures (full disk, image bombs and RSS, broker flaps, command floods, class rules, bad values, SIGKILL)
	@mkdir -p .cache && : > $(SKIPS)
	$(GO) test -tags '$(TAGS)' -count=1 -timeout 20m -v -run '$(FAULT_RUN)' $(FAULT_PKGS) || { $(SKIP_SUMMARY); exit 1; }
	@$(SKIP_SUMMARY)

faults: export ALPHAD_SKIPS = $(SKIPS)

cross-test: oracle ## golden conformance of the native engine on arm64 and armv7 under qemu-user
	./scripts/cross-test.sh arm64 armv7

, := ,
BENCH_ENGINES := $(if $(filter xnnpack,$(TAGS)),native$(,)xnnpack,native)

bench: build oracle ## time native (1 and 2 threads), xnnpack and the TFLite oracle on MobileNetV2 float32 and uint8
	$(BIN) bench --model $(ALPHAD_SHARED)/models/mobilenet_v2_1.0_224_dequant_f32.tflite --engine $(BENCH_ENGINES) --threads 1,2 --runs 30 --oracle $(ORACLE)
	$(BIN) bench --model $(ALPHAD_SHARED)/models/mobilenet_v2_1.0_224_quant.tflite --engine $(BENCH_ENGINES) --threads 1,2 --runs 30 --oracle $(ORACLE)

eval: build ## cross-validate training on ../shared/datasets (rps, flowers), few-shot and open-set rows: one table
	./scripts/eval.sh

demo: build ## teach a fresh daemon rock/paper, train over MQTT, print predictions (DEMO_SECONDS=30; needs mosquitto)
	./scripts/demo.sh

cross-arm64: ## build bin/alphad-linux-arm64 (xnnpack when the arm64 libraries are installed)
	./scripts/cross.sh arm64

cross-armv7: ## build bin/alphad-linux-armv7 (native engine)
	./scripts/cross.sh armv7

release-arm64: ## build bin/alphad-linux-arm64-static: CGO_ENABLED=0, native engine with NEON kernels (make cross-test runs it)
	./scripts/cross.sh arm64-static

fleet-scale: build ## the fleet scale run (not in make test): FLEET_N (50) daemons at 1 fps, one mosquitto; rollout time, broker msg/s, RSS
	ALPHAD_BIN=$(abspath $(BIN)) $(GO) test -tags 'fleetscale $(TAGS)' -count=1 -timeout 30m -run TestFleetScale -v ./cmd/alphad

vmtest: ## run camera/GPIO tests against real kernel drivers (vivid, v4l2loopback, gpio-sim) in a QEMU VM
	./scripts/vmtest.sh

fuzz: ## run every fuzz target for FUZZTIME (default 30s) each
	./scripts/fuzz.sh $${FUZZTIME:-30s}

clean: ## remove build outputs
	rm -rf bin dist

ARCH ?=
DESTDIR ?=

man: build ## generate the man pages (dist/man/man1) and shell completions (dist/completions) from the command tree
	rm -rf dist/man dist/completions && mkdir -p dist/man/man1 dist/completions
	$(BIN) __man dist/man/man1 >/dev/null
	gzip -9n dist/man/man1/*.1
	$(BIN) completion bash > dist/completions/alphad.bash
	$(BIN) completion zsh > dist/completions/_alphad
	$(BIN) completion fish > dist/completions/alphad.fish

install: man ## install bin, unit, config (kept if present), udev rule, man pages, completions, docs; create user alphad (groups video, gpio)
	install -D -m 0755 $(BIN) $(DESTDIR)/usr/bin/alphad
	install -d $(DESTDIR)/usr/share/man/man1 && install -m 0644 dist/man/man1/*.1.gz $(DESTDIR)/usr/share/man/man1/
	install -D -m 0644 dist/completions/alphad.bash $(DESTDIR)/usr/share/bash-completion/completions/alphad
	install -D -m 0644 dist/completions/_alphad $(DESTDIR)/usr/share/zsh/vendor-completions/_alphad
	install -D -m 0644 dist/completions/alphad.fish $(DESTDIR)/usr/share/fish/vendor_completions.d/alphad.fish
	install -d $(DESTDIR)/usr/share/doc/alphad && install -m 0644 README.md CHANGELOG.md docs/*.md $(DESTDIR)/usr/share/doc/alphad/
	install -D -m 0644 systemd/alphad.service $(DESTDIR)/lib/systemd/system/alphad.service
	install -D -m 0644 systemd/alphad@.service $(DESTDIR)/lib/systemd/system/alphad@.service
	test -e $(DESTDIR)/etc/alphad/alphad.yaml || install -D -m 0640 packaging/alphad.yaml $(DESTDIR)/etc/alphad/alphad.yaml
	for r in firmware-config/*.rules; do install -D -m 0644 $$r $(DESTDIR)/etc/udev/rules.d/$$(basename $$r); done
	@if [ -z "$(DESTDIR)" ]; then sh packaging/postinst configure; else echo "install: DESTDIR set, user and reloads skipped (run packaging/postinst on the target)"; fi

deb: $(if $(ARCH),,build) ## build dist/alphad_<version>_<arch>.deb (ARCH=arm64|armhf cross-builds; default: this machine)
	VERSION=$(VERSION) COMMIT=$(COMMIT) ./scripts/deb.sh $(ARCH)
