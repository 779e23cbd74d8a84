# leadflow: plain make over pkg-config. `make run` and `make test` install
# missing Debian packages first (scripts/deps.sh), so a fresh machine needs
# nothing else.

VERSION := $(shell cat VERSION)
CC ?= cc
BUILD ?= build
PKGS := libmicrohttpd jansson sqlite3 libpq libsodium openssl inih libcurl cjose gmime-3.0
PKG_CFLAGS = $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS = $(shell pkg-config --libs $(PKGS) 2>/dev/null)
# libwslay (WebSocket framing): Debian's package has no pkg-config file, and
# then plain -lwslay is all it takes.
WSLAY_CFLAGS = $(shell pkg-config --silence-errors --cflags libwslay)
WSLAY_LIBS = $(shell pkg-config --silence-errors --libs libwslay || echo -lwslay)

WARN := -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes -Wformat=2 \
        -Wno-unused-parameter -Wvla -Werror
CFLAGS ?= -O2 -g
ALL_CFLAGS = -std=c11 -D_GNU_SOURCE -DLEADFLOW_VERSION='"$(VERSION)"' -Isrc \
             $(WARN) $(CFLAGS) $(PKG_CFLAGS) $(WSLAY_CFLAGS) -MMD -MP
LDLIBS = $(PKG_LIBS) $(WSLAY_LIBS) -lcsv -lpthread -lm

SRC := $(sort $(wildcard src/*/*.c))
OBJ := $(SRC:%.c=$(BUILD)/%.o)
LIB := $(BUILD)/libleadflow.a
BIN := $(BUILD)/leadflow

QUEUE_BENCH := $(BUILD)/queue-bench
WS_BENCH := $(BUILD)/ws-bench
DRIP_BENCH := $(BUILD)/drip-bench
BENCH_OUT := $(BUILD)/bench-results
MODEL_TOOL := $(BUILD)/model-tool

UNIT_SRC := $(sort $(wildcard tests/unit/*.c tests/unit/*/*.c))
UNIT_OBJ := $(UNIT_SRC:%.c=$(BUILD)/%.o)
UNIT_BIN := $(BUILD)/unit-tests

SAN_FLAGS := -O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer \
             -fno-sanitize-recover=undefined

# make install: paths, overridable (make install PREFIX=/usr DESTDIR=/tmp/root).
PREFIX ?= /usr/local
BINDIR ?= $(PREFIX)/bin
DATADIR ?= $(PREFIX)/share/leadflow
SYSCONFDIR ?= /etc
# systemd looks in /usr/lib, /usr/local/lib and /etc: elsewhere the unit goes to /etc.
UNITDIR ?= $(if $(filter /usr /usr/local,$(PREFIX)),$(PREFIX)/lib/systemd/system,/etc/systemd/system)
CONF := $(DESTDIR)$(SYSCONFDIR)/leadflow/leadflow.conf
SUBST = sed -e 's|@BINDIR@|$(BINDIR)|g' -e 's|@DATADIR@|$(DATADIR)|g' \
            -e 's|@SYSCONFDIR@|$(SYSCONFDIR)|g'

.PHONY: all deps run test unit api check bench format lint clean install uninstall model

all: $(BIN)

deps:
	@scripts/deps.sh

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	@echo "  CC      $<"
	@$(CC) $(ALL_CFLAGS) -c $< -o $@

$(LIB): $(OBJ)
	@rm -f $@
	@ar rcs $@ $^

$(BIN): $(BUILD)/src/main.o $(LIB)
	@echo "  LINK    $@"
	@$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(QUEUE_BENCH): $(BUILD)/bench/queue_bench.o $(LIB)
	@echo "  LINK    $@"
	@$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(LDLIBS)

# The analyzer model's embedded files (.incbin in model_data.c).
$(BUILD)/src/ai/model_data.o: data/model/analyzer.model data/model/valence.tsv

# Training and measuring the analyzer model (scripts/train-model.sh).
$(MODEL_TOOL): $(BUILD)/tools/model_tool.o $(LIB)
	@echo "  LINK    $@"
	@$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(LDLIBS)

# Retrains data/model/analyzer.model from tests/data/train and the tuning
# part of tests/data/eval (liblinear-tools; a few minutes, as 5-fold
# cross-validation chooses the intents' thresholds first), then rebuilds.
model: deps
	@$(MAKE) --no-print-directory $(MODEL_TOOL)
	@scripts/train-model.sh $(MODEL_TOOL)
	@$(MAKE) --no-print-directory $(BIN)

$(DRIP_BENCH): $(BUILD)/bench/drip_bench.o $(LIB)
	@echo "  LINK    $@"
	@$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(LDLIBS)

# A WebSocket client on plain sockets and epoll: it needs nothing of the library.
$(WS_BENCH): bench/ws_bench.c
	@mkdir -p $(dir $@)
	@echo "  CC      $<"
	@$(CC) -std=c11 -D_GNU_SOURCE $(WARN) $(CFLAGS) $(LDFLAGS) -o $@ $<

$(BUILD)/tests/%.o: ALL_CFLAGS += -Itests $(shell pkg-config --cflags cmocka 2>/dev/null)
$(UNIT_BIN): $(UNIT_OBJ) $(LIB)
	@echo "  LINK    $@"
	@$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(LDLIBS) $(shell pkg-config --libs cmocka)

run: deps
	@$(MAKE) --no-print-directory $(BIN)
	$(BIN) serve

# Every suite; the last line is "N passed, N failed".
test: deps
	@$(MAKE) --no-print-directory $(BIN) $(UNIT_BIN)
	@scripts/test.sh $(BUILD)

# The same suites on a build with AddressSanitizer and UndefinedBehaviorSanitizer.
check: deps
	@$(MAKE) --no-print-directory BUILD=build/san CFLAGS="$(SAN_FLAGS)" \
		LDFLAGS="-fsanitize=address,undefined" build/san/leadflow build/san/unit-tests
	@ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
		scripts/test.sh build/san

bench: deps
	@scripts/deps.sh --bench
	@$(MAKE) --no-print-directory $(BIN) $(QUEUE_BENCH) $(WS_BENCH) $(DRIP_BENCH) $(MODEL_TOOL)
	@rm -rf $(BENCH_OUT) && mkdir -p $(BENCH_OUT)
	@bench/run.sh $(BENCH_OUT) analyzer.sh $(MODEL_TOOL)
	@bench/run.sh $(BENCH_OUT) http.sh $(BIN)
	@bench/run.sh $(BENCH_OUT) pipeline.sh $(BIN)
	@bench/run.sh $(BENCH_OUT) upload.sh $(BIN)
	@bench/run.sh $(BENCH_OUT) send.sh $(BIN)
	@bench/run.sh $(BENCH_OUT) queue.sh $(QUEUE_BENCH)
	@bench/run.sh $(BENCH_OUT) ws.sh $(BIN) $(WS_BENCH)
	@bench/run.sh $(BENCH_OUT) alerts.sh $(BIN)
	@bench/run.sh $(BENCH_OUT) drip.sh $(DRIP_BENCH)
	@bench/run.sh $(BENCH_OUT) pg.sh $(BIN) $(QUEUE_BENCH) $(DRIP_BENCH)
	@echo; echo "bench summary (outputs in $(BENCH_OUT)/):"
	@bench/table.py $(BENCH_OUT)/*.out || true
	@if [ -e $(BENCH_OUT)/failed ]; then \
		echo "bench: FAILED: $$(tr '\n' ' ' <$(BENCH_OUT)/failed)(their figures are missing above)" >&2; \
		exit 1; fi

# The binary, the dashboard's files and the demo mailbox, the systemd unit,
# and the documented configuration file (root only: it holds secrets). An
# existing leadflow.conf is kept; the new one is put beside it as
# leadflow.conf.new.
install: $(BIN)
	@mkdir -p $(BUILD)
	install -d -m 0755 $(DESTDIR)$(BINDIR) $(DESTDIR)$(UNITDIR) $(DESTDIR)$(DATADIR) \
		$(DESTDIR)$(DATADIR)/demo $(DESTDIR)$(SYSCONFDIR)/leadflow
	install -m 0755 $(BIN) $(DESTDIR)$(BINDIR)/leadflow
	@(cd web && find . -type d) | while read -r d; do \
		install -d -m 0755 "$(DESTDIR)$(DATADIR)/web/$$d" || exit 1; done
	@(cd web && find . -type f) | while read -r f; do \
		install -m 0644 "web/$$f" "$(DESTDIR)$(DATADIR)/web/$$f" || exit 1; done
	install -m 0644 data/demo/sample.mbox $(DESTDIR)$(DATADIR)/demo/sample.mbox
	$(SUBST) dist/leadflow.service.in >$(BUILD)/leadflow.service
	install -m 0644 $(BUILD)/leadflow.service $(DESTDIR)$(UNITDIR)/leadflow.service
	$(SUBST) dist/leadflow.conf.in >$(BUILD)/leadflow.conf
	@if [ -e $(CONF) ]; then \
		install -m 0600 $(BUILD)/leadflow.conf $(CONF).new; \
		echo "kept $(CONF); the new defaults are in $(CONF).new"; \
	else \
		install -m 0600 $(BUILD)/leadflow.conf $(CONF); \
	fi
	@echo "installed; then: systemctl daemon-reload && systemctl enable --now leadflow"

# Leaves the configuration and the data (/var/lib/leadflow) in place.
uninstall:
	rm -f $(DESTDIR)$(BINDIR)/leadflow $(DESTDIR)$(UNITDIR)/leadflow.service
	rm -rf $(DESTDIR)$(DATADIR)
	@echo "kept $(CONF) and the data in /var/lib/leadflow"

FORMAT_FILES = $(shell git ls-files '*.c' '*.h' 2>/dev/null || find src tests -name '*.[ch]')

format:
	@clang-format -i $(FORMAT_FILES)

lint:
	@clang-format --dry-run -Werror $(FORMAT_FILES)
	@scripts/checksrc.sh

clean:
	rm -rf build

-include $(OBJ:.o=.d) $(UNIT_OBJ:.o=.d) $(BUILD)/src/main.o.d $(BUILD)/bench/drip_bench.d \
         $(BUILD)/tools/model_tool.d

include tests/fuzz/fuzz.mk
