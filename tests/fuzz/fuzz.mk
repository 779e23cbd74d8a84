# libFuzzer targets (tests/fuzz/fuzz_NAME.c), built with clang and ASan +
# UBSan against the src/ files they call into, each run for FUZZ_SECONDS with
# the seeds in tests/fuzz/corpus/NAME/. A crash, leak, UB report or timeout
# fails the run; the input is saved in build/fuzz/artifacts/. Needs clang and
# libFuzzer (Debian: clang, libclang-rt-14-dev).
#
# Included from the main Makefile (`make fuzz`), or on its own from the
# repository root:  make -f tests/fuzz/fuzz.mk fuzz FUZZ_SECONDS=30
# `make fuzz-router` runs one target; `make fuzz-build` only builds.

FUZZ_CC ?= clang
FUZZ_SECONDS ?= 20
FUZZ_DIR ?= build/fuzz
FUZZ_NAMES := router json_escape config mime mbox ws_frame dkim_canon reply csv report

FUZZ_PKGS := libmicrohttpd jansson sqlite3 libsodium openssl inih gmime-3.0
FUZZ_SAN := -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
            -fno-omit-frame-pointer
FUZZ_CFLAGS := -std=c11 -D_GNU_SOURCE -Isrc -g -O1 $(FUZZ_SAN) -Wall -Wextra \
               -Wno-unused-parameter $(shell pkg-config --cflags $(FUZZ_PKGS) 2>/dev/null) -MMD -MP
# libwslay has no pkg-config file on Debian (see the Makefile).
FUZZ_LIBS := $(shell pkg-config --libs $(FUZZ_PKGS) 2>/dev/null) \
             $(shell pkg-config --silence-errors --libs libwslay || echo -lwslay) -lcsv -lpthread -lm
# UB is fatal (-fno-sanitize-recover); leaks are checked after every input.
FUZZ_ENV := ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
            UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1

# What the targets call into: base/ and the part of http/ that does not
# depend on the HTTP library, the MIME, reply, inbox and DKIM code of mail/
# (with the subject rules of ai/), and the WebSocket framing of ws/.
# Compiled here, instrumented, into one archive.
FUZZ_LIB_SRC := $(sort $(wildcard src/base/*.c)) src/http/http.c src/http/reply.c \
                src/http/router.c src/mail/mime.c src/mail/reply_text.c src/mail/inbox.c \
                src/mail/dkim.c src/ai/subject.c src/ws/conn.c
FUZZ_LIB_OBJ := $(FUZZ_LIB_SRC:%.c=$(FUZZ_DIR)/%.o)
FUZZ_LIB := $(FUZZ_DIR)/libleadflow-fuzz.a
FUZZ_TGT_OBJ := $(FUZZ_NAMES:%=$(FUZZ_DIR)/tests/fuzz/fuzz_%.o)
FUZZ_BINS := $(FUZZ_NAMES:%=$(FUZZ_DIR)/fuzz_%)
FUZZ_PROBE := $(FUZZ_DIR)/.libfuzzer-ok

.PHONY: fuzz fuzz-build $(FUZZ_NAMES:%=fuzz-%)

# Every target in turn (with make -j2, two at a time); one summary line each.
fuzz: $(FUZZ_NAMES:%=fuzz-%)

fuzz-build: $(FUZZ_BINS)

$(FUZZ_NAMES:%=fuzz-%): fuzz-%: $(FUZZ_DIR)/fuzz_%
	@case "$(FUZZ_SECONDS)" in ''|*[!0-9]*|0) \
		echo "fuzz: FUZZ_SECONDS must be a whole number of seconds above 0" >&2; exit 2;; esac
	@mkdir -p $(FUZZ_DIR)/corpus/$* $(FUZZ_DIR)/artifacts
	@echo "  FUZZ    $* for $(FUZZ_SECONDS) s (log: $(FUZZ_DIR)/$*.log)"
	@$(FUZZ_ENV) $< -max_total_time=$(FUZZ_SECONDS) -timeout=10 -rss_limit_mb=2048 \
		-print_final_stats=1 -artifact_prefix=$(FUZZ_DIR)/artifacts/$*- \
		$(if $(wildcard tests/fuzz/$*.dict),-dict=tests/fuzz/$*.dict) \
		$(FUZZ_DIR)/corpus/$* tests/fuzz/corpus/$* >$(FUZZ_DIR)/$*.log 2>&1 || { \
		tail -n 60 $(FUZZ_DIR)/$*.log; \
		echo "fuzz: $* FAILED; input saved as $(FUZZ_DIR)/artifacts/$*-*;" \
		     "replay with: $< FILE" >&2; exit 1; }
	@awk -v name=$* -v corpus=$$(ls $(FUZZ_DIR)/corpus/$* | wc -l) \
		'/^stat::number_of_executed_units:/ { n = $$2 } \
		 /^stat::average_exec_per_sec:/ { r = $$2 } \
		 /^stat::peak_rss_mb:/ { m = $$2 } \
		 END { printf "  fuzz_%s: %d runs (%d/s), corpus %d inputs, peak RSS %d MB, no crash\n", \
		       name, n, r, corpus, m }' $(FUZZ_DIR)/$*.log

# A clear message when clang or its libFuzzer runtime is missing.
$(FUZZ_PROBE):
	@mkdir -p $(@D)
	@printf 'int LLVMFuzzerTestOneInput(const char *d, unsigned long n);\n%s\n' \
		'int LLVMFuzzerTestOneInput(const char *d, unsigned long n) { return 0; }' \
		>$(FUZZ_DIR)/probe.c
	@$(FUZZ_CC) -fsanitize=fuzzer $(FUZZ_DIR)/probe.c -o $(FUZZ_DIR)/probe 2>/dev/null || { \
		echo "fuzz: $(FUZZ_CC) cannot link libFuzzer; install clang and libclang-rt-14-dev" >&2; \
		exit 1; }
	@touch $@

$(FUZZ_LIB_OBJ) $(FUZZ_TGT_OBJ): $(FUZZ_DIR)/%.o: %.c | $(FUZZ_PROBE)
	@mkdir -p $(@D)
	@echo "  FUZZCC  $<"
	@$(FUZZ_CC) $(FUZZ_CFLAGS) -c $< -o $@

$(FUZZ_LIB): $(FUZZ_LIB_OBJ)
	@rm -f $@
	@ar rcs $@ $^

$(FUZZ_BINS): $(FUZZ_DIR)/fuzz_%: $(FUZZ_DIR)/tests/fuzz/fuzz_%.o $(FUZZ_LIB)
	@echo "  LINK    $@"
	@$(FUZZ_CC) $(FUZZ_SAN) -o $@ $^ $(FUZZ_LIBS)

-include $(FUZZ_LIB_OBJ:.o=.d) $(FUZZ_TGT_OBJ:.o=.d)
