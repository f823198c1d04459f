# Ratify's one Makefile. Targets:
#   make            build build/ratify
#   make serve      install what is missing, build, create ratify.db, serve on :8080
#   make test       the whole suite: unit, end-to-end, browser, the same under
#                   ASan+UBSan, and a short fuzz run
#   make check      SQL and template checkers, formatting, warnings as errors
#   make asan       build/asan/ratify with AddressSanitizer and UBSan
#   make fuzz       build the fuzzers and run each for FUZZ_SECONDS (default 60)
#   make bench      load test against the running binary, into bench/RESULTS.md

CC       ?= cc
CLANG    ?= clang
PYTHON   ?= /usr/bin/python3
PKGS     := libmicrohttpd sqlite3 jansson libsodium libcurl cairo pangocairo xlsxwriter liboath \
            libqrencode libpq libxml-2.0 zlib
WARN     := -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes -Wformat=2
# CI builds with -Werror; locally warnings show but do not stop you.
ifdef CI
WERROR   := -Werror
endif
CFLAGS   ?= -O2 -g
ALL_CFLAGS = -std=c11 -D_GNU_SOURCE $(WARN) $(WERROR) $(CFLAGS) -Isrc -Ibuild \
             $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
LIBS     := $(shell pkg-config --libs $(PKGS) 2>/dev/null) -lpthread
# Without the libraries the compiler's errors would not say what to do.
ifeq ($(filter deps serve test bench clean,$(MAKECMDGOALS)),)
ifneq ($(shell pkg-config --exists $(PKGS) 2>/dev/null && echo yes),yes)
$(info Some libraries Ratify builds with are missing: run `make deps` (or `make serve`) first.)
endif
endif
SAN      := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined

SRCS     := $(wildcard src/*/*.c)
HEADERS  := $(wildcard src/*/*.h) src/feat/routes.def
ASSETS   := $(sort $(wildcard templates/*.html static/* schema/*.sql schema/postgresql/*.sql po/*.po data/countries.csv data/country-languages.csv data/untc-names.csv data/world-map.csv data/country-aliases.csv data/upr-sessions.csv data/upr/upr-info-sessions-1-20-covenant.csv data/untc/icescr.html data/untc/icescr_op.html data/untc/cedaw_op.html data/untc/crpd_op.html data/untc/crc_op_ic.html data/untc/iccpr_op1.html data/model-letters/*.txt))
UNIT     := $(patsubst tests/unit/%.c,%,$(wildcard tests/unit/test_*.c))
FUZZERS  := $(patsubst tests/fuzz/%.c,%,$(wildcard tests/fuzz/fuzz_*.c))
FUZZ_SECONDS ?= 60
FUZZ_SECONDS_IN_TEST ?= 10
# Per input: the server harness renders PDFs and may hash a password (argon2,
# 64 MiB) under ASan, well under these; tests/fuzz/NAME.dict is passed when
# it exists (tools/make-fuzz-dict writes server.dict).
FUZZ_LIMITS := -timeout=25 -rss_limit_mb=2560

OBJS      := $(patsubst src/%.c,build/obj/%.o,$(SRCS)) build/obj/assets.o
ASAN_OBJS := $(patsubst src/%.c,build/asan/obj/%.o,$(SRCS)) build/asan/obj/assets.o

.PHONY: all serve test check asan fuzz bench deps clean unit unit-asan e2e e2e-asan e2e-pg fuzz-short \
        format tools-test

all: build/ratify

deps:
	@scripts/install-deps

build/embed: tools/embed.c
	@mkdir -p build
	$(CC) -O2 -o $@ $<

build/assets.c: build/embed $(ASSETS)
	build/embed $(ASSETS) > $@.tmp && mv $@.tmp $@

build/obj/%.o: src/%.c $(HEADERS)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -c -o $@ $<

build/obj/assets.o: build/assets.c src/base/assets.h
	@mkdir -p build/obj
	$(CC) $(ALL_CFLAGS) -c -o $@ $<

build/ratify: build/obj/main.o $(OBJS)
	$(CC) -o $@ $^ $(LIBS)

build/asan/obj/%.o: src/%.c $(HEADERS)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -O1 $(SAN) -c -o $@ $<

build/asan/obj/assets.o: build/assets.c src/base/assets.h
	@mkdir -p build/asan/obj
	$(CC) $(ALL_CFLAGS) -O1 $(SAN) -c -o $@ $<

build/asan/ratify: build/asan/obj/main.o $(ASAN_OBJS)
	$(CC) $(SAN) -o $@ $^ $(LIBS)

asan: build/asan/ratify

# Unit tests link every module but main.c, so a test can reach any function.
build/test/%: tests/unit/%.c $(OBJS)
	@mkdir -p build/test
	$(CC) $(ALL_CFLAGS) -o $@ $^ $(LIBS) -lcmocka

build/asan/test/%: tests/unit/%.c $(ASAN_OBJS)
	@mkdir -p build/asan/test
	$(CC) $(ALL_CFLAGS) -O1 $(SAN) -o $@ $^ $(LIBS) -lcmocka

# The sources are compiled once for all the fuzzers (with coverage for
# libFuzzer), then each harness links against them.
FUZZ_CFLAGS := -std=c11 -D_GNU_SOURCE -g -O1 -fsanitize=fuzzer-no-link,address,undefined \
               -Isrc -Ibuild $(shell pkg-config --cflags $(PKGS))
FUZZ_OBJS := $(patsubst src/%.c,build/fuzz/obj/%.o,$(SRCS)) build/fuzz/obj/assets.o
.SECONDARY: $(FUZZ_OBJS)

build/fuzz/obj/%.o: src/%.c $(HEADERS)
	@mkdir -p $(dir $@)
	$(CLANG) $(FUZZ_CFLAGS) -c -o $@ $<

build/fuzz/obj/assets.o: build/assets.c src/base/assets.h
	@mkdir -p build/fuzz/obj
	$(CLANG) $(FUZZ_CFLAGS) -c -o $@ $<

build/fuzz/%: tests/fuzz/%.c $(FUZZ_OBJS)
	@mkdir -p build/fuzz
	$(CLANG) $(FUZZ_CFLAGS) -fsanitize=fuzzer -o $@ $^ $(LIBS)

unit: $(addprefix build/test/,$(UNIT))
	@set -e; for t in $^; do echo "== $$t"; $$t; done

# fontconfig's pattern caches look like leaks to LSan: see tests/lsan.supp.
# G_SLICE=always-malloc lets ASan see GLib's (Pango's) allocations.
LSAN := LSAN_OPTIONS=suppressions=$(CURDIR)/tests/lsan.supp:print_suppressions=0 \
        G_SLICE=always-malloc

unit-asan: $(addprefix build/asan/test/,$(UNIT))
	@set -e; for t in $^; do echo "== $$t (asan)"; $(LSAN) $$t; done

e2e: build/ratify
	RATIFY_BIN=$(CURDIR)/build/ratify $(PYTHON) -m pytest -q tests/e2e tests/browser

e2e-asan: build/asan/ratify
	$(LSAN) RATIFY_BIN=$(CURDIR)/build/asan/ratify RATIFY_SANITIZED=1 \
	    $(PYTHON) -m pytest -q tests/e2e tests/browser

# The same suite on PostgreSQL: tests/e2e/ratify_server.py starts a
# throw-away cluster (initdb in a temporary directory, a Unix socket only,
# no TCP port) and stops it at the end.
e2e-pg: build/ratify
	RATIFY_TEST_ENGINE=postgresql RATIFY_BIN=$(CURDIR)/build/ratify \
	    $(PYTHON) -m pytest -q tests/e2e tests/browser

# A fuzzer that finds a crash fails the build, with the end of its report.
fuzz-short: $(addprefix build/fuzz/,$(FUZZERS))
	@set -e; for f in $(FUZZERS); do \
	    echo "== $$f for $(FUZZ_SECONDS_IN_TEST)s"; \
	    seeds=tests/fuzz/corpus/$${f#fuzz_}; [ -d $$seeds ] || seeds=; \
	    dict=tests/fuzz/$${f#fuzz_}.dict; [ -f $$dict ] && dict=-dict=$$dict || dict=; \
	    mkdir -p build/corpus/$$f; \
	    $(LSAN) build/fuzz/$$f -max_total_time=$(FUZZ_SECONDS_IN_TEST) -print_final_stats=0 \
	        $(FUZZ_LIMITS) $$dict build/corpus/$$f $$seeds > build/$$f.log 2>&1 || { tail -n 40 build/$$f.log; exit 1; }; \
	    tail -n 1 build/$$f.log; \
	done

fuzz: $(addprefix build/fuzz/,$(FUZZERS))
	@set -e; for f in $(FUZZERS); do \
	    seeds=tests/fuzz/corpus/$${f#fuzz_}; [ -d $$seeds ] || seeds=; \
	    dict=tests/fuzz/$${f#fuzz_}.dict; [ -f $$dict ] && dict=-dict=$$dict || dict=; \
	    mkdir -p build/corpus/$$f; \
	    $(LSAN) build/fuzz/$$f -max_total_time=$(FUZZ_SECONDS) $(FUZZ_LIMITS) $$dict \
	        build/corpus/$$f $$seeds; \
	done

tools-test:
	$(PYTHON) -m pytest -q tests/tools

test: deps
	$(MAKE) check tools-test
	$(MAKE) unit unit-asan
	$(MAKE) e2e e2e-asan e2e-pg
	$(MAKE) fuzz-short

check: build/assets.c
	$(PYTHON) tools/codecheck.py
	clang-format --dry-run --Werror src/*.c src/*/*.c src/*/*.h tests/unit/*.c tests/fuzz/*.c tools/*.c
	$(PYTHON) tools/po-check
	$(MAKE) --always-make WERROR=-Werror build/ratify

format:
	clang-format -i src/*.c src/*/*.c src/*/*.h tests/unit/*.c tests/fuzz/*.c tools/*.c

# serve, test and bench install the packages first, then build in a second
# make: this one computed the pkg-config flags when it started, before the
# packages were there (on a fresh machine the link failed).
serve: deps
	$(MAKE) build/ratify
	./build/ratify serve --db ratify.db $(SERVE_ARGS)

bench: deps
	$(MAKE) build/ratify build/fsync_delay.so
	$(PYTHON) bench/run.py

# bench/fsync_delay.c: fsync made 1 ms slower, for the write benchmark.
build/fsync_delay.so: bench/fsync_delay.c
	@mkdir -p build
	$(CC) -O2 -shared -fPIC -o $@ $< -ldl

clean:
	rm -rf build
