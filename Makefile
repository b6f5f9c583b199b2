# caplab — build, set-up, tests, benchmarks.
# `make run` and `make test` are all a fresh Debian 12 machine needs: both
# install missing host packages first (deps), then build.

PREFIX ?= /usr/local
DESTDIR ?=
CC ?= cc

PKGS_C := libpcap libssh jansson libarchive libcrypto vdeplug cmocka ncursesw vterm
# -Wformat-truncation is off: snprintf truncation is how caplab bounds text
# on purpose, and gcc 12 reports it differently at each -O level.
WARN := -std=c11 -Wall -Wextra -Werror -Wno-format-truncation -D_GNU_SOURCE
CFLAGS ?= -O2 -g
CPPFLAGS_ALL = $(WARN) -Icore -Itui $(TUI_DEF) -DCAPLAB_DATADIR='"$(PREFIX)/share/caplab"' $(CPPFLAGS)
LIBS_CORE := -lpcap -lssh -ljansson -larchive -lcrypto -lvdeplug -lpthread
LIBS_TUI := -lncursesw -lvterm

CORE_SRC := $(sort $(wildcard core/*.c))
TUI_SRC := $(sort $(wildcard tui/*.c))
TUI_DEF := $(if $(TUI_SRC),-DCAPLAB_WITH_TUI)
UNIT_SRC := $(sort $(wildcard tests/unit/test_*.c))

# Two build flavours: plain (build/) and sanitized (build/san/) for tests.
B ?= build
SAN_FLAGS := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined

CORE_OBJ = $(CORE_SRC:%.c=$(B)/%.o)
TUI_OBJ = $(TUI_SRC:%.c=$(B)/%.o)
UNIT_BIN = $(UNIT_SRC:tests/unit/%.c=$(B)/tests/%)

.PHONY: all deps run test test-unit test-integration bench install clean check-deps san

all: caplab

caplab: $(B)/caplab
	@cp $(B)/caplab caplab.tmp && mv -f caplab.tmp caplab

$(B)/%.o: %.c $(wildcard core/*.h tui/*.h)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS_ALL) $(CFLAGS) $(XFLAGS) -c -o $@ $<

$(B)/libcaplab.a: $(CORE_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(B)/libcaplabtui.a: $(TUI_OBJ)
	@rm -f $@
	ar rcs $@ $^

TUI_LIB = $(if $(TUI_OBJ),$(B)/libcaplabtui.a)
$(B)/caplab: $(B)/main.o $(TUI_LIB) $(B)/libcaplab.a
	$(CC) $(CFLAGS) $(XFLAGS) -o $@ $(B)/main.o $(TUI_LIB) $(B)/libcaplab.a $(LIBS_TUI) $(LIBS_CORE)

$(B)/tests/%: tests/unit/%.c $(B)/libcaplab.a tests/unit/unit.h
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS_ALL) -Itests/unit $(CFLAGS) $(XFLAGS) -o $@ $< $(B)/libcaplab.a -lcmocka $(LIBS_CORE)

unit-bins: $(UNIT_BIN)

BENCH_SRC := $(sort $(wildcard tests/bench/bench_*.c))
BENCH_BIN = $(BENCH_SRC:tests/bench/%.c=$(B)/bench/%)
$(B)/bench/%: tests/bench/%.c $(B)/libcaplab.a
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS_ALL) $(CFLAGS) $(XFLAGS) -o $@ $< $(B)/libcaplab.a $(LIBS_CORE)

bench-bins: $(BENCH_BIN)

# Host packages caplab needs to build, run and test. Nothing that belongs in a
# guest (kernel, busybox, sshd, nginx): guests get those from .debs that caplab
# unpacks into its own cache (see README, "Guest images").
HOST_PKGS := build-essential pkg-config qemu-system-x86 qemu-utils vde2 libvdeplug-dev \
	libpcap-dev libssh-dev libjansson-dev libarchive-dev libssl-dev libncurses-dev \
	libvterm-dev libcmocka-dev tshark tcpdump tmux openssh-client iproute2 util-linux procps file

# Installs only what is missing; apt-get update runs once, and only then.
deps:
	@missing=""; for p in $(HOST_PKGS); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "install ok installed" || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "caplab: installing host packages:$$missing"; \
	  if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
	  export DEBIAN_FRONTEND=noninteractive; \
	  $$SUDO apt-get update -qq && \
	  $$SUDO apt-get install -y -qq --no-install-recommends $$missing >/dev/null || exit 1; \
	fi

san:
	@$(MAKE) --no-print-directory B=build/san XFLAGS='$(SAN_FLAGS)' CFLAGS='-O1 -g' build/san/caplab unit-bins bench-bins

run: deps all
	./caplab labs/default.lab

test: deps
	@$(MAKE) --no-print-directory san
	@CAPLAB=$(CURDIR)/build/san/caplab UNITDIR=$(CURDIR)/build/san/tests ./tests/run.sh $(TESTS)

bench: deps all bench-bins
	@CAPLAB=$(CURDIR)/caplab ./tests/bench/run.sh $(BENCH)

install: all
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/share/caplab/labs \
		$(DESTDIR)$(PREFIX)/share/caplab/assets $(DESTDIR)$(PREFIX)/share/man/man1
	install -m 755 caplab $(DESTDIR)$(PREFIX)/bin/caplab
	cp -R labs/. $(DESTDIR)$(PREFIX)/share/caplab/labs/
	cp -R assets/. $(DESTDIR)$(PREFIX)/share/caplab/assets/
	install -m 644 assets/caplab.1 $(DESTDIR)$(PREFIX)/share/man/man1/caplab.1

clean:
	rm -rf build caplab
