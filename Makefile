# Keel: a thin pipeline. `make` builds the firmware, the test guests and the host CLI;
# `make run` boots the demo guest; `make test` runs every test. Both install what is missing.
#
# Tools: the Swift toolchain's own swiftc, clang (assembler, C), ld.lld and llvm-objcopy;
# QEMU 10 from Debian's <codename>-backports and the rest from Debian (installed by `make deps`).

SWIFTC    ?= $(shell command -v swiftc)
TOOLBIN   := $(dir $(SWIFTC))
CLANG     := $(TOOLBIN)clang
LD_LLD    := $(TOOLBIN)ld.lld
OBJCOPY   := $(TOOLBIN)llvm-objcopy
NM        := $(TOOLBIN)llvm-nm
OBJDUMP   := $(TOOLBIN)llvm-objdump
SWIFT     := $(TOOLBIN)swift
SUDO      := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

BUILD     := build

# One short line per step (`SWIFTC build/hyp/keel-swift.o`, `LD build/hyp/keel.elf`), as kernel
# and U-Boot builds print; `make V=1` prints the full command lines instead.
V ?= 0
ifeq ($(V),1)
Q :=
step = @true
else
Q := @
step = @printf '  %-7s %s\n' '$(1)' '$(2)'
endif
GUEST_OUT := $(BUILD)/guests

# Board: the firmware is built per board (`make BOARD=xlnx-zcu102 firmware`; plain `make` builds
# every board in BOARDS). qemu-virt's goes to build/hyp, the others' to build/hyp-BOARD. Each
# board's load address (DRAM base + text_offset) must agree with its file in boards/ (a test
# checks the built images against it); -D KEEL_BOARD_<NAME> picks `activeBoard` in
# hyp/core/Configuration.swift. Guests are linked at the VM's RAM IPA, the same on every board.
BOARDS    := qemu-virt xlnx-zcu102 raspberry-pi-4 imx8mp-evk
BOARD     ?= qemu-virt
KEEL_LOAD_ADDR_qemu-virt   := 0x40080000
KEEL_LOAD_ADDR_xlnx-zcu102 := 0x00080000
KEEL_LOAD_ADDR_raspberry-pi-4 := 0x00080000
KEEL_LOAD_ADDR_imx8mp-evk  := 0x40080000
KEEL_LOAD_ADDR   := $(KEEL_LOAD_ADDR_$(BOARD))
BOARD_FILE_qemu-virt   := boards/QEMUVirt.swift
BOARD_FILE_xlnx-zcu102 := boards/XilinxZCU102.swift
BOARD_FILE_raspberry-pi-4 := boards/RaspberryPi4.swift
BOARD_FILE_imx8mp-evk  := boards/IMX8MPlusEVK.swift
KEEL_TEXT_OFFSET := 0x80000
BOARD_DEFINE     := KEEL_BOARD_$(subst -,_,$(shell echo $(BOARD) | tr a-z A-Z))
HYP_OUT   := $(if $(filter qemu-virt,$(BOARD)),$(BUILD)/hyp,$(BUILD)/hyp-$(BOARD))
# The test firmware (`make TEST_HOOKS=1 firmware`, part of `make`): qemu-virt's, with the
# test-only hypercalls of hyp/core/TestHooks.swift (-D KEEL_TEST_HOOKS), in build/hyp-test.
# Never shipped: the contained-fault test boots it, and checks that build/hyp has none of it.
TEST_HOOKS ?=
ifneq ($(TEST_HOOKS),)
ifneq ($(BOARD),qemu-virt)
$(error TEST_HOOKS=1: the test firmware is built for qemu-virt only)
endif
HYP_OUT   := $(BUILD)/hyp-test
TEST_HOOKS_DEFINE := -D KEEL_TEST_HOOKS
endif
GUEST_RAM_IPA  := 0x40000000
ifeq ($(KEEL_LOAD_ADDR),)
$(error BOARD=$(BOARD): the firmware is built for $(BOARDS))
endif

# --- firmware ---------------------------------------------------------------------------------
# One Embedded Swift module: the portable KeelCore and KeelMachine sources, this board's data
# and hyp/. Only this board's file: every global a file defines lands in the image. KEEL_FIRMWARE
# leaves out what only the host tools use (the boards' device lists).
FW_SWIFT := $(sort $(wildcard Sources/KeelCore/*.swift Sources/KeelCore/*/*.swift Sources/KeelMachine/*.swift hyp/*/*.swift) \
            boards/Board.swift $(BOARD_FILE_$(BOARD)))
FW_ASM   := $(sort $(wildcard hyp/*/*.S))
FW_C     := $(sort $(wildcard hyp/runtime/*.c))
FW_HDRS  := $(wildcard hyp/include/keel/*.h) hyp/include/module.modulemap
FW_OBJS  := $(HYP_OUT)/keel-swift.o \
            $(patsubst hyp/%.S,$(HYP_OUT)/%.o,$(FW_ASM)) \
            $(patsubst hyp/%.c,$(HYP_OUT)/%.o,$(FW_C))

TARGET_FLAGS := -target aarch64-none-none-elf
# Memory safety the compiler proves (SE-0458): every unsafe construct must be marked `unsafe`, or
# the build fails; scripts/unsafe-sites (run by check-firmware) counts the marks per folder and
# fails when one lies outside hyp/arch, hyp/mm, hyp/drivers and hyp/handles.
STRICT_FLAGS := -strict-memory-safety -Werror StrictMemorySafety
# -mgeneral-regs-only keeps FP/SIMD registers the guest's; -mstrict-align because Device memory
# (all of it before the MMU is on) faults on unaligned accesses.
CFLAGS_FW    := $(TARGET_FLAGS) -ffreestanding -fno-builtin -nostdlib -O2 -Wall -Werror \
                -mgeneral-regs-only -mstrict-align -Ihyp/include -DKEEL_TEXT_OFFSET=$(KEEL_TEXT_OFFSET)
# -O: the hot paths are built for speed. Cold code (boot, reset, faults, reports) is marked
# @_optimize(size), which gives it LLVM's minsize; LLVM's machine outliner, on by default for
# AArch64, outlines from minsize functions only, so its shared sequences are called from cold
# code alone (hyp/HOTPATH.md).
SWIFTFLAGS_FW := $(TARGET_FLAGS) -enable-experimental-feature Embedded -enable-experimental-feature Lifetimes -wmo -parse-as-library \
                -O -module-name Keel $(STRICT_FLAGS) \
                -Xfrontend -disable-stack-protector -Xfrontend -function-sections \
                -Xcc -mstrict-align -Xcc -mgeneral-regs-only -Xcc -ffreestanding \
                -I hyp/include -Xcc -Ihyp/include -Xcc -DKEEL_TEXT_OFFSET=$(KEEL_TEXT_OFFSET) -D $(BOARD_DEFINE) -D KEEL_FIRMWARE $(TEST_HOOKS_DEFINE)

# --- test guests --------------------------------------------------------------------------------
GUEST_LIB  := $(sort $(wildcard Tests/Guests/lib/*.S))
GUEST_SRCS := $(sort $(wildcard Tests/Guests/*.S))
GUEST_BINS := $(patsubst Tests/Guests/%.S,$(GUEST_OUT)/%.bin,$(GUEST_SRCS))
GUEST_LIB_OBJS := $(patsubst Tests/Guests/lib/%.S,$(GUEST_OUT)/lib/%.o,$(GUEST_LIB))

.PHONY: all firmware firmwares guests cli deps run test bench clean check-firmware linux fuzz fuzz-build keel-dm check-keel-dm dm-driver
.DELETE_ON_ERROR:
# Keep objects and ELFs of the guest chain (they are what gdb and objdump want).
.SECONDARY:

all: firmwares guests cli keel-dm dm-driver

firmware: $(HYP_OUT)/keel.bin check-firmware

# Every board's firmware, one sub-make per board (each has its own objects under its HYP_OUT).
firmwares:
	@for board in $(BOARDS); do $(MAKE) --no-print-directory BOARD=$$board firmware || exit 1; done
	@$(MAKE) --no-print-directory BOARD=qemu-virt TEST_HOOKS=1 firmware
	@scripts/unsafe-sites

guests: $(GUEST_BINS)

$(HYP_OUT)/keel-swift.o: $(FW_SWIFT) $(FW_HDRS)
	@mkdir -p $(@D)
	$(call step,SWIFTC,$@)
	$(Q)$(SWIFTC) $(SWIFTFLAGS_FW) -c $(FW_SWIFT) -o $@
	@touch $@  # swiftc keeps an unchanged object's old timestamp; make would rebuild it every time

$(HYP_OUT)/%.o: hyp/%.S $(FW_HDRS)
	@mkdir -p $(@D)
	$(call step,AS,$@)
	$(Q)$(CLANG) $(CFLAGS_FW) -c $< -o $@

$(HYP_OUT)/%.o: hyp/%.c $(FW_HDRS)
	@mkdir -p $(@D)
	$(call step,CC,$@)
	$(Q)$(CLANG) $(CFLAGS_FW) -c $< -o $@

$(HYP_OUT)/keel.elf: $(FW_OBJS) linker/keel.ld
	$(call step,LD,$@)
	$(Q)$(LD_LLD) -T linker/keel.ld --defsym=KEEL_LOAD_ADDR=$(KEEL_LOAD_ADDR) --gc-sections --build-id=sha1 \
		-z noexecstack -o $@ $(FW_OBJS)

$(HYP_OUT)/keel.bin: $(HYP_OUT)/keel.elf
	$(call step,OBJCOPY,$@)
	$(Q)$(OBJCOPY) -O binary $< $@

# Nothing lazy may run on the trap path, and no heap exists. The mitigating vector tables and the
# fast paths that run before the Spectre-BHB loop (hyp/arch/vectors.S) hold no indirect branch.
check-firmware: $(HYP_OUT)/keel.elf $(HYP_OUT)/arch/vectors.o
	@! $(NM) $< | grep -E ' U |swift_once|posix_memalign|swift_allocObject| [tT] .*_WZ$$' \
		|| { echo "keel.elf: unresolved symbols, lazy globals (a *_WZ initializer) or heap use (see above)"; exit 1; }
	@! $(OBJDUMP) -d --no-show-raw-insn -j .text.vectors.mitigated -j .text.vectors.deferred $(HYP_OUT)/arch/vectors.o \
		| grep -E '\s(br|blr|ret)(aa|ab|aaz|abz)?\s' \
		|| { echo "vectors.o: an indirect branch before the Spectre-BHB loop (see above)"; exit 1; }

$(GUEST_OUT)/lib/%.o: Tests/Guests/lib/%.S $(wildcard Tests/Guests/lib/*.h)
	@mkdir -p $(@D)
	$(call step,AS,$@)
	$(Q)$(CLANG) $(TARGET_FLAGS) -ITests/Guests/lib -c $< -o $@

$(GUEST_OUT)/%.o: Tests/Guests/%.S $(wildcard Tests/Guests/lib/*.h)
	@mkdir -p $(@D)
	$(call step,AS,$@)
	$(Q)$(CLANG) $(TARGET_FLAGS) -ITests/Guests/lib -c $< -o $@

$(GUEST_OUT)/%.elf: $(GUEST_OUT)/%.o $(GUEST_LIB_OBJS) linker/guest.ld
	$(call step,LD,$@)
	$(Q)$(LD_LLD) -T linker/guest.ld --defsym=GUEST_RAM_IPA=$(GUEST_RAM_IPA) -o $@ $< $(GUEST_LIB_OBJS)

$(GUEST_OUT)/%.bin: $(GUEST_OUT)/%.elf
	$(call step,OBJCOPY,$@)
	$(Q)$(OBJCOPY) -O binary $< $@

# --- keel-dm: the device model, a static aarch64 Linux program ------------------------------------
# Embedded Swift for aarch64-none-none-elf (one module: the virtqueue walker of KeelCore, the
# register files and devices of KeelDMCore, the Linux glue of Sources/KeelDM), linked statically
# against Debian's glibc for arm64 (libc6-dev-arm64-cross) by aarch64-linux-gnu-gcc with the
# toolchain's ld.lld (GNU ld rejects Swift's objects). It runs in the device-model VM's initramfs;
# `keel-dm --self-test` runs its device cases under qemu-aarch64-static.
DM_OUT    := $(BUILD)/keel-dm
DM_SWIFT  := Sources/KeelCore/DeviceModel/Virtqueue.swift $(sort $(wildcard Sources/KeelDMCore/*.swift Sources/KeelDM/*.swift))
DM_HDRS   := $(wildcard Sources/KeelDM/include/*)
DM_CC     ?= aarch64-linux-gnu-gcc
# String comparison in Embedded Swift needs the toolchain's Unicode tables.
DM_LIBS   := $(TOOLBIN)../lib/swift/embedded/aarch64-none-none-elf/libswiftUnicodeDataTables.a
SWIFTFLAGS_DM := $(TARGET_FLAGS) -enable-experimental-feature Embedded -enable-experimental-feature Lifetimes -wmo -parse-as-library \
                -O -module-name KeelDM $(STRICT_FLAGS) -Xfrontend -function-sections -I Sources/KeelDM/include

keel-dm: $(DM_OUT)/keel-dm check-keel-dm

$(DM_OUT)/keel-dm.o: $(DM_SWIFT) $(DM_HDRS)
	@mkdir -p $(@D)
	$(call step,SWIFTC,$@)
	$(Q)$(SWIFTC) $(SWIFTFLAGS_DM) -c $(DM_SWIFT) -o $@
	@touch $@

$(DM_OUT)/keel-dm: $(DM_OUT)/keel-dm.o
	$(call step,LD,$@)
	$(Q)$(DM_CC) -static -fuse-ld=lld -B$(TOOLBIN) -Wl,--gc-sections -o $@ $< $(DM_LIBS) \
		|| { echo "keel-dm: linking needs aarch64-linux-gnu-gcc and libc6-dev-arm64-cross (make deps)"; exit 1; }

# The link itself refuses symbols nobody defines (what Embedded Swift asks of its host,
# posix_memalign, free, arc4random_buf, __stack_chk_guard, comes from glibc); this checks the
# result is static: no interpreter and no shared library, so it runs in any initramfs.
check-keel-dm: $(DM_OUT)/keel-dm
	@! $(TOOLBIN)llvm-objdump -p $< | grep -E 'INTERP|NEEDED' || { echo "keel-dm: not a static executable"; exit 1; }

# --- host CLI -----------------------------------------------------------------------------------
cli:
	$(call step,SWIFT,build/bin/keel)
	$(Q)$(SWIFT) build $(if $(filter 1,$(V)),,--quiet) --product keel
	@mkdir -p $(BUILD)/bin
	@ln -sf "$$($(SWIFT) build --show-bin-path)/keel" $(BUILD)/bin/keel

# --- Linux guest ---------------------------------------------------------------------------------
# Debian's arm64 cloud kernel (.cache/linux/Image) and a busybox initramfs
# (.cache/linux/initramfs.cpio), fetched once with a private apt configuration and then reused
# (`keel linux fetch --force` fetches again). apt-get, apt-cache, dpkg-deb and gzip come with Debian.
linux: cli
	$(Q)$(BUILD)/bin/keel linux fetch
	$(Q)$(BUILD)/bin/keel linux headers

# --- keel-dm.ko, the device-model VM's driver ----------------------------------------------------
# Built out of tree against the fetched kernel's headers (`keel linux headers`, under
# .cache/linux/headers, nothing in /usr/src) with Debian's linux-kbuild-6.1 and
# gcc-aarch64-linux-gnu (`make deps`). Kbuild writes its objects beside the sources, so it builds
# a copy in build/keel-dm/driver and Sources/KeelDMDriver stays clean. keel-dm-check, a static
# arm64 program, exercises /dev/keel-dm in the tests (Tests/DeviceModel).
DM_SRCS    := $(wildcard Sources/KeelDMDriver/*.c Sources/KeelDMDriver/*.h) Sources/KeelDMDriver/Kbuild
LINUX_HEADERS := .cache/linux/headers/build
CROSS_GCC  := aarch64-linux-gnu-gcc

dm-driver: $(DM_OUT)/keel-dm.ko $(DM_OUT)/keel-dm-check

# The headers' Makefile is a prerequisite once it exists, so new headers rebuild the module.
$(DM_OUT)/keel-dm.ko: $(DM_SRCS) $(wildcard $(LINUX_HEADERS)/Makefile) | linux
	$(call step,KBUILD,$@)
	$(Q)rm -rf $(DM_OUT)/driver && mkdir -p $(DM_OUT)/driver && cp $(DM_SRCS) $(DM_OUT)/driver/
	$(Q)$(MAKE) --no-print-directory -C $(LINUX_HEADERS) M=$(abspath $(DM_OUT)/driver) ARCH=arm64 \
		CROSS_COMPILE=aarch64-linux-gnu- $(if $(filter 1,$(V)),V=1,-s) modules
	$(Q)cp $(DM_OUT)/driver/keel-dm.ko $@

$(DM_OUT)/keel-dm-check: Tests/DeviceModel/keel_dm_check.c Sources/KeelDMDriver/keel_dm.h
	@mkdir -p $(@D)
	$(call step,CC,$@)
	$(Q)$(CROSS_GCC) -static -O2 -Wall -Wextra -Werror -ISources/KeelDMDriver -o $@ $<

# --- fuzzing -------------------------------------------------------------------------------------
# libFuzzer (+ASan) on every parser (Sources/KeelKit/Fuzz, fuzz/README.md), FUZZ_SECONDS each, in
# its own scratch folder: the ordinary build never sees the sanitizers or keel-fuzz (KEEL_FUZZ=1
# adds it to the package). New inputs go to build/fuzz/corpus, reproducers to fuzz/crashes/TARGET;
# fuzz/corpus (the seeds and fixed reproducers) is only read, and `make test` replays it.
FUZZ_SECONDS ?= 60
FUZZ_TARGETS ?= fdt bootBundle trace elf config cpio
FUZZ_FLAGS ?=
FUZZ_SCRATCH := .build/fuzz
FUZZ_BIN := $(FUZZ_SCRATCH)/debug/keel-fuzz

fuzz-build:
	$(call step,SWIFT,$(FUZZ_BIN))
	$(Q)KEEL_FUZZ=1 $(SWIFT) build $(if $(filter 1,$(V)),,--quiet) --scratch-path $(FUZZ_SCRATCH) -c debug -Xswiftc -sanitize=fuzzer,address -Xswiftc -use-ld=lld --product keel-fuzz

fuzz: fuzz-build
	@mkdir -p $(BUILD)/fuzz; failed=""; \
	for t in $(FUZZ_TARGETS); do \
		mkdir -p fuzz/crashes/$$t $(BUILD)/fuzz/corpus/$$t; \
		echo "FUZZ $$t ($(FUZZ_SECONDS) s, log in $(BUILD)/fuzz/$$t.log)"; \
		SWIFT_BACKTRACE=enable=no ASAN_OPTIONS=detect_leaks=0 $(FUZZ_BIN) $$t -max_total_time=$(FUZZ_SECONDS) -timeout=10 -rss_limit_mb=4096 \
			-artifact_prefix=fuzz/crashes/$$t/ $$([ -f fuzz/$$t.dict ] && echo -dict=fuzz/$$t.dict) $(FUZZ_FLAGS) $(BUILD)/fuzz/corpus/$$t fuzz/corpus/$$t >$(BUILD)/fuzz/$$t.log 2>&1 \
			|| { failed="$$failed $$t"; grep -m6 -E 'ERROR: libFuzzer|^==.*ERROR: AddressSanitizer|Swift runtime failure|#[5-7] .* in |Test unit written' $(BUILD)/fuzz/$$t.log; }; \
	done; \
	if [ -n "$$failed" ]; then echo "make fuzz: crashes in:$$failed (reproducers in fuzz/crashes/, see fuzz/README.md)"; exit 1; fi

# --- set-up, run, test ----------------------------------------------------------------------------
# Debian packages the build and the tests use, as "command:package" (what is checked, what apt
# installs): QEMU, dtc (tests decompile the guest device trees), cpio (tests read the initramfs
# back with GNU cpio), gdb-multiarch (keel run --gdb's attach is tested); and as "file:package"
# U-Boot for QEMU's virt board (the booti test); keel-dm's cross toolchain: gcc-aarch64-linux-gnu as
# the link driver, libc6-dev-arm64-cross (static glibc), qemu-user-static (its smoke tests).
# keel-dm.ko and keel-dm-check: the arm64 cross compiler (Debian's kernel is built with gcc 12,
# which its headers' Makefile names) and the host half of the kernel's build system (fixdep,
# modpost) that the headers link to; e2fsprogs makes the ext4 images the virtio tests mount.
DEB_TOOLS := qemu-system-aarch64:qemu-system-arm dtc:device-tree-compiler cpio:cpio gdb-multiarch:gdb-multiarch \
             aarch64-linux-gnu-gcc-12:gcc-aarch64-linux-gnu qemu-aarch64-static:qemu-user-static mke2fs:e2fsprogs
DEB_FILES := /usr/lib/u-boot/qemu_arm64/u-boot.bin:u-boot-qemu /usr/aarch64-linux-gnu/lib/libc.a:libc6-dev-arm64-cross \
             /usr/lib/linux-kbuild-6.1/scripts/mod/modpost:linux-kbuild-6.1

deps:
	@scripts/qemu-from-backports
	@missing=""; for pair in $(DEB_TOOLS); do \
		command -v "$${pair%%:*}" >/dev/null 2>&1 || missing="$$missing $${pair#*:}"; done; \
	for pair in $(DEB_FILES); do [ -e "$${pair%%:*}" ] || missing="$$missing $${pair#*:}"; done; \
	if [ -n "$$missing" ]; then \
		echo "make: installing from Debian:$$missing"; \
		$(SUDO) apt-get update -qq && \
		$(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null || exit 1; \
	fi; \
	for pair in $(DEB_TOOLS); do \
		command -v "$${pair%%:*}" >/dev/null 2>&1 || { echo "make: $${pair%%:*} is still missing"; exit 1; }; done; \
	for pair in $(DEB_FILES); do [ -e "$${pair%%:*}" ] || { echo "make: $${pair%%:*} is still missing"; exit 1; }; done

run: deps all
	$(Q)$(BUILD)/bin/keel run --guest $(GUEST_OUT)/demo.bin --timeout 60

test: deps all linux
	$(call step,TEST,swift test)
	$(Q)$(SWIFT) test

# Figures from a release build of the host tools (the decoder figure depends on it): the bench
# guest and decoder, Linux boot to /init natively and under Keel, the device-model round trip and
# read, and virtio-net between two frontends. All merge into one JSON. The bench guest also runs
# on the test firmware with the CLRBHB and firmware-call vector tables forced (keel.test.entry=),
# which no QEMU core selects itself: their figures go under "bootargs keel.test.entry=...".
bench: deps firmware guests linux keel-dm dm-driver
	$(SWIFT) build -c release --product keel
	@$(MAKE) --no-print-directory BOARD=qemu-virt TEST_HOOKS=1 firmware
	"$$($(SWIFT) build -c release --show-bin-path)/keel" bench --firmware $(HYP_OUT)/keel.bin --guest $(GUEST_OUT)/bench.bin --json $(BUILD)/bench/results.json
	for entry in clrbhb wa3; do "$$($(SWIFT) build -c release --show-bin-path)/keel" bench --firmware $(BUILD)/hyp-test/keel.bin \
	    --guest $(GUEST_OUT)/bench.bin --bootargs keel.test.entry=$$entry --json $(BUILD)/bench/results.json || exit 1; done
	"$$($(SWIFT) build -c release --show-bin-path)/keel" bench linux --firmware $(HYP_OUT)/keel.bin --json $(BUILD)/bench/results.json
	"$$($(SWIFT) build -c release --show-bin-path)/keel" bench dm --firmware $(HYP_OUT)/keel.bin --frontend $(GUEST_OUT)/dm_bench.bin --json $(BUILD)/bench/results.json
	"$$($(SWIFT) build -c release --show-bin-path)/keel" bench virtio-net --json $(BUILD)/bench/results.json

clean:
	rm -rf $(BUILD)
