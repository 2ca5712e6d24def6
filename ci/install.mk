# ci/install.mk: install, uninstall, the install test and the release gate (issue 7).
#
#   make install   [PREFIX=/usr/local] [DESTDIR=...] [LIBDIR=... BINDIR=... ...]
#   make uninstall (same variables): removes exactly the files install listed
#                  in its manifest, $(HAK_MANIFEST), then the directories it created
#   make test-install   tests/install/run.sh: install into a scratch DESTDIR, link
#                       with pkg-config, run, hakmem-run, policies, uninstall
#   make release-check  ci/release-check.sh: the release gate (RELEASE_FUZZ_SECONDS,
#                       RELEASE_BENCH=full|quick, RELEASE_DIR; see the script)
#   make version        prints the version
#
# The version lives only in include/hakmem.h; every number below is derived from it.

hak_vpart    = $(shell sed -n 's/^\#define HAKMEM_VERSION_$(1)  *\([0-9][0-9]*\).*/\1/p' include/hakmem.h)
HAK_VMAJOR  := $(call hak_vpart,MAJOR)
HAK_VMINOR  := $(call hak_vpart,MINOR)
HAK_VPATCH  := $(call hak_vpart,PATCH)
HAK_VERSION := $(HAK_VMAJOR).$(HAK_VMINOR).$(HAK_VPATCH)
HAK_SONAME  := libhakmem.so.$(HAK_VMAJOR)
HAK_REALSO  := libhakmem.so.$(HAK_VERSION)

PREFIX       ?= /usr/local
EXEC_PREFIX  ?= $(PREFIX)
BINDIR       ?= $(EXEC_PREFIX)/bin
LIBDIR       ?= $(EXEC_PREFIX)/lib
INCLUDEDIR   ?= $(PREFIX)/include
DATAROOTDIR  ?= $(PREFIX)/share
MANDIR       ?= $(DATAROOTDIR)/man
PKGCONFIGDIR ?= $(LIBDIR)/pkgconfig
DESTDIR      ?=
# The manifest is installed with the files, so uninstall works from a clean tree.
HAK_MANIFEST  = $(DATAROOTDIR)/hakmem/install-manifest

HAK_PKG := $(BUILD)/pkg
HAK_GENERATED := $(HAK_PKG)/hakmem.pc $(HAK_PKG)/hakmem-run $(HAK_PKG)/hakmem.3 $(HAK_PKG)/hakmem-run.1

.PHONY: install uninstall install-files test-install release-check version
version:
	@echo $(HAK_VERSION)

# Generated files depend on the header (the version) and on the directories,
# which are recorded in a stamp so that a different PREFIX regenerates them.
HAK_DIRS_STAMP := $(HAK_PKG)/dirs.$(shell printf '%s' '$(PREFIX)|$(EXEC_PREFIX)|$(BINDIR)|$(LIBDIR)|$(INCLUDEDIR)|$(DATAROOTDIR)' | cksum | cut -d' ' -f1)
$(HAK_DIRS_STAMP):
	@mkdir -p $(dir $@) && rm -f $(HAK_PKG)/dirs.* && touch $@

# @VAR@ substitution shared by every template in packaging/
HAK_SUBST = sed -e 's|@VERSION@|$(HAK_VERSION)|g' -e 's|@SONAME@|$(HAK_SONAME)|g' \
	-e 's|@PREFIX@|$(PREFIX)|g' -e 's|@EXEC_PREFIX@|$(EXEC_PREFIX)|g' \
	-e 's|@LIBDIR@|$(LIBDIR)|g' -e 's|@INCLUDEDIR@|$(INCLUDEDIR)|g' -e 's|@BINDIR@|$(BINDIR)|g' \
	-e 's|@BIN_TO_LIB@|$(shell realpath -m --relative-to='$(BINDIR)' '$(LIBDIR)')|g' \
	-e 's|@DATE@|$(shell date -u -r include/hakmem.h +%Y-%m-%d)|g'

# hakmem.pc: paths below the prefix are written relative to ${prefix}.
$(HAK_PKG)/hakmem.pc: packaging/hakmem.pc.in include/hakmem.h $(HAK_DIRS_STAMP)
	@mkdir -p $(dir $@)
	@echo "  GEN $@"
	@$(HAK_SUBST) $< | sed -e 's|^libdir=$(EXEC_PREFIX)/|libdir=$${exec_prefix}/|' \
	    -e 's|^includedir=$(PREFIX)/|includedir=$${prefix}/|' -e 's|^exec_prefix=$(PREFIX)$$|exec_prefix=$${prefix}|' >$@.tmp
	@mv $@.tmp $@

$(HAK_PKG)/hakmem-run: packaging/hakmem-run.in include/hakmem.h $(HAK_DIRS_STAMP)
	@mkdir -p $(dir $@)
	@echo "  GEN $@"
	@$(HAK_SUBST) $< >$@.tmp && chmod 755 $@.tmp && mv $@.tmp $@

$(HAK_PKG)/%: packaging/%.in include/hakmem.h $(HAK_DIRS_STAMP)
	@mkdir -p $(dir $@)
	@echo "  GEN $@"
	@$(HAK_SUBST) $< >$@.tmp && mv $@.tmp $@

# A real install (no DESTDIR) refreshes the loader cache: /usr/local/lib is
# searched only through it, so a program linked with -lhakmem would not start.
LDCONFIG ?= ldconfig
HAK_LDCONFIG = if [ -z '$(DESTDIR)' ]; then \
	  if [ "$$(id -u)" = 0 ] && command -v $(LDCONFIG) >/dev/null 2>&1; then $(LDCONFIG) && echo "  ran $(LDCONFIG)"; \
	  else echo "  note: run ldconfig as root so the loader finds $(LIBDIR)/$(HAK_SONAME)"; fi; fi

# The top Makefile names the soname from the same header; stop if they disagree.
install-files: $(BUILD)/libhakmem.so $(BUILD)/libhakmem.a $(HAK_GENERATED)
	@test -n "$(HAK_VMAJOR)" -a -n "$(HAK_VMINOR)" -a -n "$(HAK_VPATCH)" || \
	    { echo "install: cannot read HAKMEM_VERSION_* from include/hakmem.h" >&2; exit 1; }
	@so=$$(readelf -d $(BUILD)/libhakmem.so | sed -n 's/.*Library soname: \[\(.*\)\]/\1/p'); \
	    test "$$so" = "$(HAK_SONAME)" || \
	    { echo "install: $(BUILD)/libhakmem.so has soname '$$so', expected $(HAK_SONAME) (stale build? run make lib)" >&2; exit 1; }

install: install-files
	@echo "install: hakmem $(HAK_VERSION) into $(DESTDIR)$(PREFIX)"
	@DESTDIR='$(DESTDIR)' MANIFEST='$(HAK_MANIFEST)' \
	    sh packaging/install.sh install \
	    'lib 755 $(BUILD)/libhakmem.so $(LIBDIR)/$(HAK_REALSO)' \
	    'link $(HAK_REALSO) $(LIBDIR)/$(HAK_SONAME)' \
	    'link $(HAK_SONAME) $(LIBDIR)/libhakmem.so' \
	    'file 644 $(BUILD)/libhakmem.a $(LIBDIR)/libhakmem.a' \
	    'file 644 include/hakmem.h $(INCLUDEDIR)/hakmem.h' \
	    'file 644 $(HAK_PKG)/hakmem.pc $(PKGCONFIGDIR)/hakmem.pc' \
	    'file 755 $(HAK_PKG)/hakmem-run $(BINDIR)/hakmem-run' \
	    'file 644 $(HAK_PKG)/hakmem.3 $(MANDIR)/man3/hakmem.3' \
	    'file 644 $(HAK_PKG)/hakmem-run.1 $(MANDIR)/man1/hakmem-run.1'
	@$(HAK_LDCONFIG)

uninstall:
	@echo "uninstall: hakmem from $(DESTDIR)$(PREFIX) (manifest $(DESTDIR)$(HAK_MANIFEST))"
	@DESTDIR='$(DESTDIR)' MANIFEST='$(HAK_MANIFEST)' sh packaging/install.sh uninstall
	@$(HAK_LDCONFIG)

# Scratch installs and the test programs live under $(BUILD)/test-install.
test-install: $(BUILD)/libhakmem.so $(BUILD)/libhakmem.a
	bash tests/install/run.sh $(BUILD)

check: test-install

# RELEASE_* are read from the environment by the script; MAKE carries -f/-j.
release-check:
	BUILD=$(BUILD) MAKE='$(MAKE)' bash ci/release-check.sh
