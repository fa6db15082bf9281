# Artemis in C -- one Makefile for the server, the SDK, the sidecar and the tests.
#
#   make            build everything into build/
#   make run        install missing packages, build, start the server on 127.0.0.1:8080
#   make test       install missing packages, build, run every test plain and under ASan+UBSan
#   make fuzz       build the libFuzzer targets (clang) and run each one briefly
#   make bench      run the benchmarks in bench/
#   make install    PREFIX=/usr/local DESTDIR=
#
# Every library comes from pkg-config; `deps` installs the Debian packages pkg-config
# does not find. Object files live under $(BUILD); a sanitizer build uses its own tree.

PREFIX     ?= /usr/local
BINDIR     ?= $(PREFIX)/bin
LIBDIR     ?= $(PREFIX)/lib
INCLUDEDIR ?= $(PREFIX)/include
PKGCONFIGDIR ?= $(LIBDIR)/pkgconfig
SYSTEMDUNITDIR ?= $(PREFIX)/lib/systemd/system
MANDIR     ?= $(PREFIX)/share/man
BASHCOMPDIR ?= $(PREFIX)/share/bash-completion/completions
DESTDIR    ?=

BUILD     ?= build
SANITIZER ?=
WERROR    ?= 1
CC        ?= cc
PYTHON    ?= /usr/bin/python3

VMAJ := $(shell awk '/define ARTEMIS_VERSION_MAJOR/{print $$3}' include/artemis/version.h)
VMIN := $(shell awk '/define ARTEMIS_VERSION_MINOR/{print $$3}' include/artemis/version.h)
VPAT := $(shell awk '/define ARTEMIS_VERSION_PATCH/{print $$3}' include/artemis/version.h)
VERSION := $(VMAJ).$(VMIN).$(VPAT)

# pkg-config name -> Debian package; `deps` installs only what pkg-config misses.
PKG_MAP := libevent:libevent-dev libevent_pthreads:libevent-dev jansson:libjansson-dev \
           libevent_openssl:libevent-dev \
           libcurl:libcurl4-openssl-dev \
           libsystemd:libsystemd-dev cmocka:libcmocka-dev zlib:zlib1g-dev \
           sqlite3:libsqlite3-dev libpq:libpq-dev openssl:libssl-dev
# tool -> Debian package
TOOL_MAP := pkg-config:pkg-config $(PYTHON):python3 clang:clang clang-format:clang-format \
            ip:iproute2 dig:bind9-dnsutils psql:postgresql-client pg_isready:postgresql-client \
            chromium:chromium go:golang-go

SERVER_PKGS := libevent libevent_openssl jansson zlib libsystemd openssl libcurl sqlite3 libpq
SDK_PKGS    := libevent libevent_pthreads libevent_openssl jansson zlib openssl libcurl
TEST_PKGS   := cmocka

PKG_CFLAGS = $(shell pkg-config --cflags $(SERVER_PKGS) $(SDK_PKGS) $(TEST_PKGS) 2>/dev/null)
SERVER_LIBS = $(shell pkg-config --libs $(SERVER_PKGS) $(SDK_PKGS) 2>/dev/null) -lpthread
SDK_LIBS    = $(shell pkg-config --libs $(SDK_PKGS) 2>/dev/null) -lpthread
TEST_LIBS   = $(shell pkg-config --libs $(TEST_PKGS) 2>/dev/null)

WARN := -Wall -Wextra -Wpedantic -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
        -Wold-style-definition -Wwrite-strings -Wformat=2 -Wundef -Wpointer-arith \
        -Wcast-align -Wvla -Wimplicit-fallthrough -Wdouble-promotion
ifeq ($(WERROR),1)
WARN += -Werror
endif

OPT := -O2 -g -D_FORTIFY_SOURCE=2 -fstack-protector-strong
ifneq ($(SANITIZER),)
OPT := -O1 -g -fsanitize=$(SANITIZER) -fno-sanitize-recover=all -fno-omit-frame-pointer
SANLD := -fsanitize=$(SANITIZER)
endif

CFLAGS_BASE = -std=c11 -D_GNU_SOURCE $(OPT) $(WARN) -fPIC $(PKG_CFLAGS) -MMD -MP $(CFLAGS)
# One include path per component, so the compiler enforces who may use what (docs/design.md):
#   sdk/common  pure modules everyone shares (buffers, JSON codec, model, hashing, clocks, ...)
#   sdk/net     the async HTTP client the SDK and the server's replication share
#   sdk         libartemis itself (private headers stay private)
#   server, sidecar  each its own headers; the sidecar sees only the public include/ + common
INC_COMMON  = -Iinclude -Isdk/common
INC_NET     = $(INC_COMMON) -Isdk/net
INC_SDK     = $(INC_NET) -Isdk
INC_SERVER  = $(INC_NET) -Iserver
INC_SIDECAR = $(INC_COMMON) -Isidecar
INC_TESTS   = $(INC_NET) -Isdk -Iserver -Isidecar -Itests/support
CFLAGS_ALL  = $(CFLAGS_BASE) $(INC_TESTS)
# The library exports only what include/artemis marks ARTEMIS_EXPORT.
SDK_CFLAGS = -DARTEMIS_BUILDING -fvisibility=hidden
LDFLAGS_ALL = $(SANLD) -Wl,-z,relro,-z,now $(LDFLAGS)

COMMON_SRC := $(wildcard sdk/common/*.c) $(wildcard sdk/net/*.c)
SDK_SRC    := $(wildcard sdk/*.c)
SERVER_SRC := $(wildcard server/*.c)
UNIT_SRC   := $(wildcard tests/unit/test_*.c)
EXAMPLE_SRC := $(wildcard examples/*.c)
SIDECAR_SRC := $(wildcard sidecar/*.c)
# artemisctl: the operator CLI (server side of the tree, but a client: libcurl + jansson and
# the pure modules only, never the server's objects).
CTL_SRC    := $(wildcard server/ctl/*.c)

COMMON_OBJ := $(COMMON_SRC:%.c=$(BUILD)/obj/%.o)
SDK_OBJ    := $(SDK_SRC:%.c=$(BUILD)/obj/%.o)
# The web console's files become one generated C source (server/console/embed.sh).
CONSOLE_FILES := $(filter-out %.sh,$(wildcard server/console/*))
CONSOLE_GEN := $(BUILD)/gen/console_files.c
CONSOLE_OBJ := $(BUILD)/obj/gen/console_files.o
SERVER_OBJ := $(SERVER_SRC:%.c=$(BUILD)/obj/%.o) $(CONSOLE_OBJ)
SERVER_LIBOBJ := $(filter-out $(BUILD)/obj/server/main.o,$(SERVER_OBJ))
SIDECAR_OBJ := $(SIDECAR_SRC:%.c=$(BUILD)/obj/%.o)
CTL_OBJ    := $(CTL_SRC:%.c=$(BUILD)/obj/%.o)
SIDECAR_LIBOBJ := $(filter-out $(BUILD)/obj/sidecar/main.o,$(SIDECAR_OBJ))
# Unit tests and fuzz targets link every module except the two main()s.
TEST_OBJ := $(SERVER_LIBOBJ) $(SIDECAR_LIBOBJ)
UNIT_BIN   := $(UNIT_SRC:tests/unit/%.c=$(BUILD)/tests/%)

LIBA   := $(BUILD)/lib/libartemis.a
# The shared modules as an internal static library: the server links this, not the SDK.
LIBCOMMON := $(BUILD)/lib/libartemis-common.a
ABI    := $(shell awk '/define ARTEMIS_ABI_VERSION/{print $$3}' include/artemis/version.h)
SONAME := libartemis.so.$(ABI)
# The real name follows the SONAME (ldconfig's convention): libartemis.so.1 -> .so.1.<minor>.<patch>.
SOREAL := libartemis.so.$(ABI).$(VMIN).$(VPAT)
LIBSO  := $(BUILD)/lib/$(SOREAL)
SERVER := $(BUILD)/bin/artemis-server
SIDECAR := $(if $(SIDECAR_SRC),$(BUILD)/bin/artemis-sidecar)
CTL := $(BUILD)/bin/artemisctl
CTL_LIBS = $(shell pkg-config --libs jansson libcurl libcrypto 2>/dev/null)
EXAMPLES := $(EXAMPLE_SRC:examples/%.c=$(BUILD)/examples/%)
SDK_TEST_BIN := $(patsubst tests/sdk/%.c,$(BUILD)/tests/sdk/%,$(wildcard tests/sdk/*.c))
# Driver tests that need a database server: run by check-integration, which starts one.
PG_TEST_BIN := $(patsubst tests/pg/%.c,$(BUILD)/tests/pg/%,$(wildcard tests/pg/test_*.c))
PCFILE := $(BUILD)/lib/artemis.pc
# The same package description pointing at this tree (pkg-config prefers NAME-uninstalled.pc
# on its path): the bindings build against it with PKG_CONFIG_PATH=$(BUILD)/lib.
PCUNINST := $(BUILD)/lib/artemis-uninstalled.pc

# ---- bindings (docs/bindings.md): plain builds only, never a sanitizer tree ------------------
# Go from Debian's golang-go, standard library only: no module proxy, caches inside build/.
GO ?= go
GO_ENV = PKG_CONFIG_PATH=$(abspath $(BUILD)/lib) GOCACHE=$(abspath build/go/cache) \
         GOPATH=$(abspath build/go/path) GOPROXY=off GOFLAGS=-mod=mod CGO_ENABLED=1
GO_SRC := $(wildcard bindings/go/*.go bindings/go/internal/*/*.go)
GO_EXAMPLES := $(patsubst bindings/go/examples/%/main.go,$(BUILD)/examples/go/%,\
                 $(wildcard bindings/go/examples/*/main.go))
# The CPython extension is built in place, so PYTHONPATH=bindings/python imports it.
PY_EXT_SUFFIX := $(shell $(PYTHON) -c 'import sysconfig; print(sysconfig.get_config_var("EXT_SUFFIX"))' 2>/dev/null)
PY_EXT := bindings/python/artemis/_artemis$(PY_EXT_SUFFIX)
BINDINGS := $(if $(SANITIZER),,$(PY_EXT) $(GO_EXAMPLES))
.PHONY: bindings
bindings: $(BINDINGS)

.PHONY: all deps run test check check-unit check-bindings check-exports check-integration check-io-threads test-asan test-tsan \
        fuzz fuzz-smoke \
        bench soak \
        install uninstall format format-check clean

all: $(SERVER) $(SIDECAR) $(CTL) $(LIBA) $(LIBSO) $(PCFILE) $(EXAMPLES) $(SDK_TEST_BIN) $(UNIT_BIN) \
     $(BINDINGS)

# V=1 shows the full command lines.
ifeq ($(V),1)
Q :=
else
Q := @
endif

# Each component compiles with its own include path (see INC_* above). GNU make picks the
# pattern with the shortest stem, so sdk/common/x.c uses the common rule, not the sdk one.
$(BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC    $<")
	$(Q)$(CC) $(CFLAGS_ALL) -c $< -o $@

$(BUILD)/obj/sdk/common/%.o: sdk/common/%.c
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC    $<")
	$(Q)$(CC) $(CFLAGS_BASE) $(INC_COMMON) $(SDK_CFLAGS) -c $< -o $@

$(BUILD)/obj/sdk/net/%.o: sdk/net/%.c
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC    $<")
	$(Q)$(CC) $(CFLAGS_BASE) $(INC_NET) $(SDK_CFLAGS) -c $< -o $@

$(BUILD)/obj/sdk/%.o: sdk/%.c
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC    $<")
	$(Q)$(CC) $(CFLAGS_BASE) $(INC_SDK) $(SDK_CFLAGS) -c $< -o $@

$(BUILD)/obj/server/%.o: server/%.c
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC    $<")
	$(Q)$(CC) $(CFLAGS_BASE) $(INC_SERVER) -c $< -o $@

$(BUILD)/obj/server/ctl/%.o: server/ctl/%.c
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC    $<")
	$(Q)$(CC) $(CFLAGS_BASE) $(INC_COMMON) -c $< -o $@

$(BUILD)/obj/sidecar/%.o: sidecar/%.c
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC    $<")
	$(Q)$(CC) $(CFLAGS_BASE) $(INC_SIDECAR) -c $< -o $@

$(CONSOLE_GEN): server/console/embed.sh $(CONSOLE_FILES)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  GEN   $@")
	$(Q)sh server/console/embed.sh $(sort $(CONSOLE_FILES)) > $@.tmp && mv $@.tmp $@

$(CONSOLE_OBJ): $(CONSOLE_GEN)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC    $<")
	$(Q)$(CC) $(CFLAGS_BASE) $(INC_SERVER) -c $< -o $@

$(LIBSO): $(SDK_OBJ) $(COMMON_OBJ)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  SO    $@")
	$(Q)$(CC) -shared $(LDFLAGS_ALL) -Wl,-soname,$(SONAME) -o $@ $(SDK_OBJ) $(COMMON_OBJ) \
	    $(SDK_LIBS) -lm
	@ln -sf $(SOREAL) $(BUILD)/lib/$(SONAME)
	@ln -sf $(SONAME) $(BUILD)/lib/libartemis.so

$(PCFILE): sdk/artemis.pc.in include/artemis/version.h
	@mkdir -p $(dir $@)
	@sed -e 's|@PREFIX@|$(PREFIX)|g' -e 's|@LIBDIR@|$(LIBDIR)|g' \
	    -e 's|@INCLUDEDIR@|$(INCLUDEDIR)|g' -e 's|@VERSION@|$(VERSION)|g' $< > $@

$(PCUNINST): sdk/artemis.pc.in include/artemis/version.h
	@mkdir -p $(dir $@)
	@sed -e 's|@PREFIX@|$(CURDIR)|g' -e 's|@LIBDIR@|$(abspath $(BUILD)/lib)|g' \
	    -e 's|@INCLUDEDIR@|$(CURDIR)/include|g' -e 's|@VERSION@|$(VERSION)|g' \
	    -e 's|^Libs: .*|& -Wl,-rpath,$${libdir}|' $< > $@

$(PY_EXT): bindings/python/artemis/_artemis.c bindings/python/build_artemis.py $(LIBSO) $(PCUNINST)
	@$(if $(Q),echo "  PYEXT $@")
	$(Q)PKG_CONFIG_PATH=$(abspath $(BUILD)/lib) $(PYTHON) bindings/python/build_artemis.py \
	    --inplace --werror

$(BUILD)/examples/go/%: bindings/go/examples/%/main.go $(GO_SRC) bindings/go/go.mod $(LIBSO) \
                        $(PCUNINST)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  GO    $@")
	$(Q)cd bindings/go && $(GO_ENV) $(GO) build -o $(abspath $@) ./examples/$*

# Programs the SDK end-to-end tests drive (public API only, like the examples).
$(BUILD)/tests/sdk/%: tests/sdk/%.c $(LIBA)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  SDKT  $@")
	$(Q)$(CC) $(CFLAGS_BASE) -Iinclude $(LDFLAGS_ALL) -o $@ $< $(LIBA) $(SDK_LIBS) -lm

# Examples link the static library so they run from the build tree without LD_LIBRARY_PATH.
$(BUILD)/examples/%: examples/%.c $(LIBA)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  EX    $@")
	$(Q)$(CC) $(CFLAGS_BASE) -Iinclude $(LDFLAGS_ALL) -o $@ $< $(LIBA) $(SDK_LIBS) -lm

$(LIBA): $(SDK_OBJ) $(COMMON_OBJ)
	@mkdir -p $(dir $@)
	@rm -f $@
	@$(if $(Q),echo "  AR    $@")
	$(Q)ar rcs $@ $^

$(LIBCOMMON): $(COMMON_OBJ)
	@mkdir -p $(dir $@)
	@rm -f $@
	@$(if $(Q),echo "  AR    $@")
	$(Q)ar rcs $@ $^

$(BUILD)/bin/artemis-sidecar: $(SIDECAR_OBJ) $(LIBA)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  LD    $@")
	$(Q)$(CC) $(LDFLAGS_ALL) -o $@ $(SIDECAR_OBJ) $(LIBA) $(SERVER_LIBS) -lm

$(CTL): $(CTL_OBJ) $(LIBCOMMON)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  LD    $@")
	$(Q)$(CC) $(LDFLAGS_ALL) -o $@ $(CTL_OBJ) $(LIBCOMMON) $(CTL_LIBS)

$(SERVER): $(SERVER_OBJ) $(LIBCOMMON)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  LD    $@")
	$(Q)$(CC) $(LDFLAGS_ALL) -o $@ $(SERVER_OBJ) $(LIBCOMMON) $(SERVER_LIBS) -lm

# Allocation-failure sweeps: tests named test_*_oom.c wrap the allocator of everything linked
# statically (the project's own objects) so they can fail the Nth allocation.
OOM_WRAP := -Wl,--wrap=malloc,--wrap=calloc,--wrap=realloc,--wrap=strdup

$(BUILD)/tests/%_oom: tests/unit/%_oom.c $(TEST_OBJ) $(LIBA)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  TEST  $@")
	$(Q)$(CC) $(CFLAGS_ALL) $(LDFLAGS_ALL) $(OOM_WRAP) -o $@ $< $(TEST_OBJ) \
	    $(LIBA) $(SERVER_LIBS) $(TEST_LIBS) -lm

$(BUILD)/tests/%: tests/unit/%.c $(TEST_OBJ) $(LIBA)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  TEST  $@")
	$(Q)$(CC) $(CFLAGS_ALL) $(LDFLAGS_ALL) -o $@ $< $(TEST_OBJ) $(LIBA) \
	    $(SERVER_LIBS) $(TEST_LIBS) -lm

$(BUILD)/tests/pg/%: tests/pg/%.c $(TEST_OBJ) $(LIBA)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  TEST  $@")
	$(Q)$(CC) $(CFLAGS_ALL) $(LDFLAGS_ALL) -o $@ $< $(TEST_OBJ) $(LIBA) \
	    $(SERVER_LIBS) $(TEST_LIBS) -lm

# ---- dependencies --------------------------------------------------------------------------

deps:
	@missing=""; \
	for m in $(PKG_MAP); do p=$${m%%:*}; d=$${m#*:}; \
	    pkg-config --exists $$p 2>/dev/null || missing="$$missing $$d"; done; \
	for m in $(TOOL_MAP); do t=$${m%%:*}; d=$${m#*:}; \
	    command -v $$t >/dev/null 2>&1 || missing="$$missing $$d"; done; \
	if ! echo 'int LLVMFuzzerTestOneInput(const char *d, long n){(void)d;(void)n;return 0;}' \
	        | clang -x c -fsanitize=fuzzer - -o /dev/null \
	        >/dev/null 2>&1; then missing="$$missing libclang-rt-14-dev"; fi; \
	ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || missing="$$missing postgresql"; \
	$(PYTHON) -c 'import yaml' >/dev/null 2>&1 || missing="$$missing python3-yaml"; \
	$(PYTHON) -c 'import cffi' >/dev/null 2>&1 || missing="$$missing python3-cffi"; \
	$(PYTHON) -c 'import ensurepip' >/dev/null 2>&1 || missing="$$missing python3-venv"; \
	[ -f "$$($(PYTHON) -c 'import sysconfig; print(sysconfig.get_paths()["include"])')/Python.h" ] \
	    || missing="$$missing python3-dev"; \
	missing=$$(echo $$missing | tr ' ' '\n' | sort -u | tr '\n' ' '); \
	if [ -n "$$(echo $$missing | tr -d ' ')" ]; then \
	    echo "deps: installing$$missing"; \
	    if [ "$$(id -u)" != 0 ]; then echo "deps: run as root to install:$$missing" >&2; exit 1; fi; \
	    DEBIAN_FRONTEND=noninteractive apt-get install -y -q $$missing >/dev/null 2>&1 || \
	    { apt-get update -q >/dev/null && \
	      DEBIAN_FRONTEND=noninteractive apt-get install -y -q $$missing; }; \
	else echo "deps: all present"; fi

# ---- run and test --------------------------------------------------------------------------

run: deps
	$(MAKE) $(SERVER)
	$(SERVER) --listen=127.0.0.1:8080

check-unit: $(UNIT_BIN)
	@pass=0; fail=0; for t in $(UNIT_BIN); do \
	    if $$t; then pass=$$((pass+1)); else fail=$$((fail+1)); echo "FAILED: $$t"; fi; done; \
	echo "unit ($(BUILD)): $$pass passed, $$fail failed"; [ $$fail -eq 0 ]

# The bindings' example modules (test_bindings_*) run in the plain tree only: the bindings
# link the plain libartemis.so, and a sanitizer tree builds none (ARTEMIS_BINDINGS=0 skips
# them with a note).
check-integration: $(SERVER) $(SIDECAR) $(CTL) $(EXAMPLES) $(SDK_TEST_BIN) $(PG_TEST_BIN) $(BINDINGS)
	ARTEMIS_SERVER=$(SERVER) ARTEMIS_SIDECAR=$(BUILD)/bin/artemis-sidecar ARTEMISCTL=$(CTL) \
	    ARTEMIS_EXAMPLES=$(BUILD)/examples ARTEMIS_TEST_BIN_DIR=$(BUILD)/tests \
	    ARTEMIS_BINDINGS=$(if $(SANITIZER),0,1) ARTEMIS_LIB_DIR=$(abspath $(BUILD)/lib) \
	    $(PYTHON) tests/integration/run.py \
	    "$(INTEGRATION_FILTER)"

# The integration suites again with I/O threads (http.io-threads, docs/design.md "More than one
# core"): every suite plainly, and under the sanitizers the suites that drive the HTTP layer's
# paths -- pipelining, deferred and streamed answers, WebSocket hand-over, limits, faults.
IO_THREADS_SUITES := test_io_threads|test_registry|test_discovery|test_websocket|test_hostile::
IO_THREADS_SUITES := $(IO_THREADS_SUITES)|test_cluster_bootstrap|test_compat_http|test_review_defects
IO_THREADS_SUITES := $(IO_THREADS_SUITES)|test_leases|test_management::|test_auth::|test_ratelimit
# TSan: of test_hostile, not the tests that bound RSS (TSan's own memory exceeds those bounds)
IO_THREADS_TSAN_SUITES := $(subst test_hostile::,test_slowloris|test_idle_connections_do_not_block,$(IO_THREADS_SUITES))
IO_THREADS_TSAN_SUITES := $(IO_THREADS_TSAN_SUITES)|test_websocket_garbage|test_gzip_bomb_413
check-io-threads:
	ARTEMIS_SERVER_IO_THREADS=2 $(MAKE) check-integration

# The shared library exports only the public artemis_* API (opaque ABI, docs/sdk.md).
check-exports: $(LIBSO)
	@bad=$$(nm -D --defined-only $(LIBSO) | awk '$$2 ~ /[TDBR]/ {print $$3}' | grep -v '^artemis_' \
	    | grep -v '^_' || true); \
	if [ -n "$$bad" ]; then echo "libartemis exports internal symbols:"; echo "$$bad"; exit 1; fi; \
	echo "exports: $$(nm -D --defined-only $(LIBSO) | grep -c ' T artemis_') artemis_* functions, nothing else"

# Each binding's own suite against a real server: Python under -X dev, Go with -race. Then
# the installed path: `make install` into a scratch prefix, `pip install ./bindings/python`
# into a fresh venv (offline: the package's build backend needs nothing from an index) and
# `go build ./...` against that prefix's artemis.pc.
BINDINGS_PREFIX := $(abspath $(BUILD)/bindings-install)
check-bindings: $(BINDINGS) $(SERVER)
	ARTEMIS_SERVER_BIN=$(abspath $(SERVER)) PYTHONPATH=bindings/python \
	    LD_LIBRARY_PATH=$(abspath $(BUILD)/lib) \
	    $(PYTHON) -X dev -m unittest discover -s bindings/python/tests -v
	cd bindings/go && $(GO_ENV) $(GO) vet ./... && \
	    $(GO_ENV) ARTEMIS_SERVER_BIN=$(abspath $(SERVER)) $(GO) test -race -count=1 ./...
	rm -rf $(BINDINGS_PREFIX)
	$(MAKE) -s install PREFIX=$(BINDINGS_PREFIX) >/dev/null
	$(PYTHON) -m venv $(BINDINGS_PREFIX)/venv
	@# PIP_NO_INDEX: proves nothing is fetched (and a CI machine cannot hang on an index).
	cd bindings/python && PKG_CONFIG_PATH=$(BINDINGS_PREFIX)/lib/pkgconfig PIP_NO_INDEX=1 \
	    PIP_DISABLE_PIP_VERSION_CHECK=1 $(BINDINGS_PREFIX)/venv/bin/pip install -q ./ && cd / && \
	    $(BINDINGS_PREFIX)/venv/bin/python -X dev -c 'import artemis, sys; \
	    assert artemis.__file__.startswith(sys.prefix), artemis.__file__; \
	    print("bindings: pip-installed", artemis.__file__, "libartemis", artemis.library_version())'
	cd bindings/go && PKG_CONFIG_PATH=$(BINDINGS_PREFIX)/lib/pkgconfig GOCACHE=$(abspath build/go/cache) \
	    GOPATH=$(abspath build/go/path) GOPROXY=off CGO_ENABLED=1 \
	    CGO_LDFLAGS=-Wl,-rpath,$(BINDINGS_PREFIX)/lib $(GO) build ./... && \
	    echo "bindings: go build ./... against $(BINDINGS_PREFIX)/lib/pkgconfig/artemis.pc"

check: check-unit check-exports check-integration $(if $(SANITIZER),,check-bindings)

test-asan:
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:quarantine_size_mb=16 UBSAN_OPTIONS=print_stacktrace=1 \
	    $(MAKE) BUILD=build/asan SANITIZER=address,undefined check
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:quarantine_size_mb=16 UBSAN_OPTIONS=print_stacktrace=1 \
	    ARTEMIS_SERVER_IO_THREADS=2 $(MAKE) BUILD=build/asan SANITIZER=address,undefined \
	    check-integration INTEGRATION_FILTER='$(IO_THREADS_SUITES)|test_faults'

# ThreadSanitizer: the SDK's threaded mode (cache readers vs the SDK thread, the command
# queue, registration states) through the unit tests and the SDK end-to-end tests, the
# server's management store thread (jobs, reloads, reconnects) through the management suites
# on SQLite and PostgreSQL, and the server's I/O threads through the HTTP suites.
test-tsan:
	TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1 \
	    $(MAKE) BUILD=build/tsan SANITIZER=thread check-unit
	TSAN_OPTIONS=halt_on_error=1 $(MAKE) BUILD=build/tsan SANITIZER=thread check-integration \
	    INTEGRATION_FILTER=test_sdk
	TSAN_OPTIONS=halt_on_error=1 $(MAKE) BUILD=build/tsan SANITIZER=thread check-integration \
	    INTEGRATION_FILTER=test_management
	TSAN_OPTIONS=halt_on_error=1 ARTEMIS_SERVER_IO_THREADS=2 $(MAKE) BUILD=build/tsan \
	    SANITIZER=thread check-integration INTEGRATION_FILTER='$(IO_THREADS_TSAN_SUITES)'

test: deps
	$(MAKE) all
	$(MAKE) check
	$(MAKE) check-io-threads
	$(MAKE) test-asan
	$(MAKE) test-tsan
	$(MAKE) fuzz-smoke

# ---- fuzzing (clang + libFuzzer) -----------------------------------------------------------

FUZZ_SRC := $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_BIN := $(FUZZ_SRC:tests/fuzz/%.c=build/fuzz/%)
FUZZ_CFLAGS = -std=c11 -D_GNU_SOURCE -g -O1 -fsanitize=fuzzer,address,undefined \
              $(INC_TESTS) $(PKG_CFLAGS)
FUZZ_LIBSRC := $(COMMON_SRC) $(SDK_SRC) $(filter-out server/main.c,$(SERVER_SRC)) \
               $(filter-out sidecar/main.c,$(SIDECAR_SRC)) $(CONSOLE_GEN)

build/fuzz/%: tests/fuzz/%.c $(FUZZ_LIBSRC)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  FUZZ  $@")
	$(Q)clang $(FUZZ_CFLAGS) -o $@ $< $(FUZZ_LIBSRC) $(SERVER_LIBS) -lm

fuzz: $(FUZZ_BIN)

# A bounded run of every target over its seed corpus: enough to catch regressions in CI.
# Leak detection is on explicitly: a leak on a network path is a denial of service (the
# all-null instances leak grew RSS by 73 MB per 2,000 requests and was found this way).
fuzz-smoke: $(FUZZ_BIN)
	@for f in $(FUZZ_BIN); do n=$$(basename $$f); mkdir -p build/fuzz/corpus/$$n; \
	    cp -n tests/fuzz/corpus/$$n/* build/fuzz/corpus/$$n/ 2>/dev/null || true; \
	    echo "fuzz: $$n"; \
	    ASAN_OPTIONS=detect_leaks=1 $$f -detect_leaks=1 -runs=30000 -max_len=8192 -timeout=10 \
	        build/fuzz/corpus/$$n >build/fuzz/$$n.log 2>&1 \
	        || { tail -40 build/fuzz/$$n.log; exit 1; }; \
	    grep -E '^Done' build/fuzz/$$n.log; done

# bench: release build (-O2 -DNDEBUG) in its own tree; etcd-server is installed only if missing.
BENCH_BUILD := build/release
.PHONY: bench-quick bench-server bench-etcd
bench-server:
	$(MAKE) BUILD=$(BENCH_BUILD) CFLAGS=-DNDEBUG $(BENCH_BUILD)/bin/artemis-server
bench-etcd:
	@command -v etcd >/dev/null 2>&1 || { echo "bench: installing etcd-server"; \
	    (command -v sudo >/dev/null && [ "$$(id -u)" != 0 ] && S=sudo; \
	     DEBIAN_FRONTEND=noninteractive timeout 600 $$S apt-get install -y --no-install-recommends \
	     etcd-server) || echo "bench: etcd-server could not be installed; the etcd rows are skipped"; }
# nginx (one worker, fixed answers) is the machine's HTTP reference; installed only if missing.
# Debian's policy-rc.d may keep the package from starting its service on port 80; if it did start
# one, it is stopped by its pid file.
.PHONY: bench-nginx
bench-nginx:
	@command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ] || { echo "bench: installing nginx"; \
	    S=; command -v sudo >/dev/null && [ "$$(id -u)" != 0 ] && S=sudo; \
	    DEBIAN_FRONTEND=noninteractive timeout 600 $$S apt-get install -y --no-install-recommends \
	     nginx || echo "bench: nginx could not be installed; the nginx references are skipped"; \
	    [ ! -f /run/nginx.pid ] || { echo "bench: stopping the nginx service the package started"; \
	     $$S kill "$$(cat /run/nginx.pid)" || true; }; }
bench: bench-server bench-etcd bench-nginx
	$(PYTHON) bench/run.py --server $(BENCH_BUILD)/bin/artemis-server
bench-quick: bench-server
	$(PYTHON) bench/run.py --quick --server $(BENCH_BUILD)/bin/artemis-server

# soak: fault-injection soak (tests/soak/README.md), ~10 minutes; not part of `make test`.
SOAK_MINUTES ?= 10
soak:
	$(MAKE) all
	ARTEMIS_SERVER=$(BUILD)/bin/artemis-server $(PYTHON) tests/soak/soak.py --minutes $(SOAK_MINUTES)

# ---- install -------------------------------------------------------------------------------

install: all
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(SYSTEMDUNITDIR) $(DESTDIR)$(LIBDIR) \
	    $(DESTDIR)$(PKGCONFIGDIR) $(DESTDIR)$(INCLUDEDIR)/artemis/adapters
	install -m 644 include/artemis/*.h $(DESTDIR)$(INCLUDEDIR)/artemis/
	install -m 644 include/artemis/adapters/*.h $(DESTDIR)$(INCLUDEDIR)/artemis/adapters/
	install -m 755 $(LIBSO) $(DESTDIR)$(LIBDIR)/
	ln -sf $(SOREAL) $(DESTDIR)$(LIBDIR)/$(SONAME)
	ln -sf $(SONAME) $(DESTDIR)$(LIBDIR)/libartemis.so
	install -m 644 $(LIBA) $(DESTDIR)$(LIBDIR)/
	@# Written for this PREFIX: the build tree's artemis.pc has the PREFIX of the build.
	sed -e 's|@PREFIX@|$(PREFIX)|g' -e 's|@LIBDIR@|$(LIBDIR)|g' -e 's|@INCLUDEDIR@|$(INCLUDEDIR)|g' \
	    -e 's|@VERSION@|$(VERSION)|g' sdk/artemis.pc.in > $(DESTDIR)$(PKGCONFIGDIR)/artemis.pc
	chmod 644 $(DESTDIR)$(PKGCONFIGDIR)/artemis.pc
	install -m 755 $(SERVER) $(DESTDIR)$(BINDIR)/artemis-server
	install -m 755 $(CTL) $(DESTDIR)$(BINDIR)/artemisctl
	install -d $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(MANDIR)/man8 $(DESTDIR)$(BASHCOMPDIR)
	install -m 644 docs/man/artemisctl.1 $(DESTDIR)$(MANDIR)/man1/
	install -m 644 docs/man/artemis-server.8 docs/man/artemis-sidecar.8 $(DESTDIR)$(MANDIR)/man8/
	install -m 644 server/ctl/artemisctl.bash $(DESTDIR)$(BASHCOMPDIR)/artemisctl
	$(if $(SIDECAR),install -m 755 $(SIDECAR) $(DESTDIR)$(BINDIR)/artemis-sidecar)
	$(if $(SIDECAR),install -m 644 sidecar/artemis-sidecar.service $(DESTDIR)$(SYSTEMDUNITDIR)/)
	install -m 644 server/artemis-server.service $(DESTDIR)$(SYSTEMDUNITDIR)/
	install -m 644 server/artemis-server.socket $(DESTDIR)$(SYSTEMDUNITDIR)/

uninstall:
	rm -f $(DESTDIR)$(LIBDIR)/libartemis.so* $(DESTDIR)$(LIBDIR)/libartemis.a \
	      $(DESTDIR)$(PKGCONFIGDIR)/artemis.pc
	rm -rf $(DESTDIR)$(INCLUDEDIR)/artemis
	rm -f $(DESTDIR)$(BINDIR)/artemis-sidecar $(DESTDIR)$(SYSTEMDUNITDIR)/artemis-sidecar.service
	rm -f $(DESTDIR)$(BINDIR)/artemisctl $(DESTDIR)$(MANDIR)/man1/artemisctl.1 \
	      $(DESTDIR)$(MANDIR)/man8/artemis-server.8 $(DESTDIR)$(MANDIR)/man8/artemis-sidecar.8 \
	      $(DESTDIR)$(BASHCOMPDIR)/artemisctl
	rm -f $(DESTDIR)$(BINDIR)/artemis-server \
	      $(DESTDIR)$(SYSTEMDUNITDIR)/artemis-server.service \
	      $(DESTDIR)$(SYSTEMDUNITDIR)/artemis-server.socket

# ---- style ---------------------------------------------------------------------------------

FORMAT_FILES = $(shell git ls-files '*.c' '*.h' 2>/dev/null)

format:
	clang-format -i $(FORMAT_FILES)

format-check:
	clang-format --dry-run -Werror $(FORMAT_FILES)

clean:
	rm -rf build

-include $(COMMON_OBJ:.o=.d) $(SDK_OBJ:.o=.d) $(SERVER_OBJ:.o=.d) $(SIDECAR_OBJ:.o=.d) \
         $(CTL_OBJ:.o=.d)
