# SPDX-License-Identifier: Apache-2.0
# Vireo: a bare-metal RISC-V hypervisor.
#
#   make            build build/vireo.elf and build/vireo.bin
#   make run        boot Vireo on QEMU (4 harts)
#   make check      unit tests (plain and ASan/UBSan), fuzz smoke, QEMU system
#                   tests and Linux guest tests
#   make fuzz       every libFuzzer target for 60 s (docs/fuzzing.md)
#   make soak       8 VMs with disk and network I/O for 10 minutes
#                   (SOAK_SECONDS=N for less; docs/security.md)
#   make clean      remove build/
#
# Every target that needs Debian packages installs the missing ones first
# (tools/install-deps; root or sudo).

CROSS     ?= riscv64-linux-gnu-
BUILD     ?= build
HOST_CC   ?= gcc
SAN_CC    ?= clang
QEMU      ?= qemu-system-riscv64

V ?= 0
ifeq ($(V),0)
Q := @
say = @printf '  %-7s %s\n' $(1) $(2);
else
Q :=
say :=
endif

TARGET_CC := $(CROSS)gcc
OBJCOPY   := $(CROSS)objcopy

WARN      := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
             -Wno-unused-parameter
COMMON    := -std=c11 $(WARN) -I. -MMD -MP

# The hypervisor: freestanding, no FP registers (they hold guest state),
# medany so it runs at any address, no PIE, no linker relaxation (gp is a
# guest register like any other).
TARGET_CFLAGS := $(COMMON) -O2 -g -ffreestanding -fno-builtin -nostdlib -nostdinc \
                 -isystem $(shell $(TARGET_CC) -print-file-name=include 2>/dev/null) \
                 -march=rv64imac_zicsr_zifencei -mabi=lp64 -mcmodel=medany \
                 -mno-relax -fno-pie -fno-stack-protector -fomit-frame-pointer \
                 -fno-common -ffunction-sections -flto=auto -isystem $(BUILD)/jsmn
TARGET_ASFLAGS := $(COMMON) -nostdinc -march=rv64imac_zicsr_zifencei -mabi=lp64 -mno-relax -D__ASSEMBLER__
TARGET_LDFLAGS := -nostdlib -no-pie -Wl,--build-id=none -Wl,-T,arch/riscv/vireo.ld \
                  -Wl,--no-relax -Wl,-z,noexecstack -Wl,--no-warn-rwx-segments

HOST_CFLAGS := $(COMMON) -O1 -g -DVIREO_HOST
SAN_CFLAGS  := $(COMMON) -O1 -g -DVIREO_HOST -fsanitize=address,undefined \
               -fno-sanitize-recover=all -fno-omit-frame-pointer

# Portable code: built into the hypervisor and, for tests, on the host.
PORTABLE_SRC := $(sort $(wildcard core/*.c core/sbi/*.c core/vdev/*.c core/control/*.c core/gdb/*.c devices/*.c drivers/*.c lib/*.c))
ARCH_SRC     := $(sort $(wildcard arch/riscv/*.c arch/riscv/*.S))
# The host's C library provides these.
HOST_SRC     := $(filter-out lib/string.c lib/compiler_rt.c,$(PORTABLE_SRC))

VIREO_OBJ := $(patsubst %,$(BUILD)/target/%.o,$(ARCH_SRC) $(PORTABLE_SRC))

UNIT_SRC   := $(sort $(wildcard tests/unit/test_*.c))
UNIT_NAMES := $(patsubst tests/unit/%.c,%,$(UNIT_SRC))
UNIT_BINS  := $(addprefix $(BUILD)/host/,$(UNIT_NAMES)) $(addprefix $(BUILD)/host-san/,$(UNIT_NAMES))
FIXTURES   := $(patsubst tests/unit/data/%.dts,$(BUILD)/fixtures/%.dtb,$(wildcard tests/unit/data/*.dts))

.PHONY: all deps run check unit unit-build system soak clean format format-check vireoctl \
        migrate-check migrate-demo migrate-bench
.DEFAULT_GOAL := all

all: $(BUILD)/vireo.elf $(BUILD)/vireo.bin

deps:
	@tools/install-deps

# Flags live here: a change rebuilds the hypervisor.
$(VIREO_OBJ): Makefile

# Library-call providers stay outside LTO: calls to them appear only after it.
$(BUILD)/target/lib/compiler_rt.c.o $(BUILD)/target/lib/string.c.o: TARGET_CFLAGS += -fno-lto

# jsmn (Debian's libjsmn-dev), the JSON tokenizer lib/json.c builds on: a
# header-only library in /usr/include, which the freestanding build does
# not search, so it gets a directory of its own.
$(BUILD)/jsmn/jsmn.h: /usr/include/jsmn.h
	@mkdir -p $(dir $@)
	@cp $< $@

$(BUILD)/target/%.c.o: %.c | $(BUILD)/jsmn/jsmn.h
	@mkdir -p $(dir $@)
	$(call say,CC,$<)$(TARGET_CC) $(TARGET_CFLAGS) -c $< -o $@

$(BUILD)/target/%.S.o: %.S
	@mkdir -p $(dir $@)
	$(call say,AS,$<)$(TARGET_CC) $(TARGET_ASFLAGS) -c $< -o $@

# The link compiles again (LTO): GCC 12's maybe-uninitialized then misfires on
# structs cleared by Vireo's own memset, which -fno-builtin hides from it.
$(BUILD)/vireo.elf: $(VIREO_OBJ) arch/riscv/vireo.ld
	$(call say,LD,$@)$(TARGET_CC) $(TARGET_CFLAGS) -Wno-maybe-uninitialized $(TARGET_LDFLAGS) $(VIREO_OBJ) -o $@

$(BUILD)/vireo.bin: $(BUILD)/vireo.elf
	$(call say,OBJCOPY,$@)$(OBJCOPY) -O binary $< $@

# Host builds: one library per flavour, tests link what they use.
$(BUILD)/host/%.c.o: %.c
	@mkdir -p $(dir $@)
	$(call say,HOSTCC,$<)$(HOST_CC) $(HOST_CFLAGS) -c $< -o $@

$(BUILD)/host-san/%.c.o: %.c
	@mkdir -p $(dir $@)
	$(call say,SANCC,$<)$(SAN_CC) $(SAN_CFLAGS) -c $< -o $@

HOST_LIB_SRC := $(HOST_SRC) tests/unit/fake_arch.c
$(BUILD)/host/libvireo.a: $(patsubst %,$(BUILD)/host/%.o,$(HOST_LIB_SRC))
	@rm -f $@
	$(call say,AR,$@)ar rcs $@ $^

$(BUILD)/host-san/libvireo.a: $(patsubst %,$(BUILD)/host-san/%.o,$(HOST_LIB_SRC))
	@rm -f $@
	$(call say,AR,$@)ar rcs $@ $^

$(BUILD)/host/test_%: $(BUILD)/host/tests/unit/test_%.c.o $(BUILD)/host/libvireo.a
	$(call say,HOSTLD,$@)$(HOST_CC) $(HOST_CFLAGS) $^ -lcmocka -lpthread -o $@

$(BUILD)/host-san/test_%: $(BUILD)/host-san/tests/unit/test_%.c.o $(BUILD)/host-san/libvireo.a
	$(call say,SANLD,$@)$(SAN_CC) $(SAN_CFLAGS) $^ -lcmocka -lpthread -o $@

# The trace converter is vireoctl's (tools/vireoctl/trace_json.c); its test
# links it too.
$(BUILD)/host/test_trace: $(BUILD)/host/tools/vireoctl/trace_json.c.o
$(BUILD)/host-san/test_trace: $(BUILD)/host-san/tools/vireoctl/trace_json.c.o

$(BUILD)/fixtures/%.dtb: tests/unit/data/%.dts
	@mkdir -p $(dir $@)
	$(call say,DTC,$<)dtc -q -I dts -O dtb -o $@ $<

# vireoctl (docs/control.md): for the build machine, and static for riscv64
# Linux (a control VM's initramfs).
VIREOCTL_SRC := tools/vireoctl/vireoctl.c tools/vireoctl/trace_json.c tools/vireoctl/pump.c lib/json.c lib/base64.c
VIREOCTL_CFLAGS := -std=c11 $(WARN) -I. -O2 -DVIREO_HOST

$(BUILD)/vireoctl: $(VIREOCTL_SRC) lib/json.h lib/base64.h lib/trace_rec.h tools/vireoctl/trace_json.h tools/vireoctl/pump.h
	@mkdir -p $(dir $@)
	$(call say,HOSTCC,$@)$(HOST_CC) $(VIREOCTL_CFLAGS) -o $@ $(VIREOCTL_SRC)

$(BUILD)/riscv64/vireoctl: $(VIREOCTL_SRC) lib/json.h lib/base64.h lib/trace_rec.h tools/vireoctl/trace_json.h tools/vireoctl/pump.h | $(BUILD)/jsmn/jsmn.h
	@mkdir -p $(dir $@)
	$(call say,CC,$@)$(TARGET_CC) $(VIREOCTL_CFLAGS) -isystem $(BUILD)/jsmn -static -o $@ $(VIREOCTL_SRC)

vireoctl: $(BUILD)/vireoctl $(BUILD)/riscv64/vireoctl

unit-build: $(UNIT_BINS) $(FIXTURES)

unit: deps unit-build
	@tests/unit/run $(BUILD)

system: deps all guests
	@tests/system/run $(BUILD)

soak: deps all guests
	@tests/soak/run $(BUILD)

# Live migration in full (docs/migration.md): one host, then two QEMU hosts
# joined on loopback (about 10 minutes); make check runs the one-host part.
migrate-check: deps all vireoctl guests
	@MIGRATE_TWO_HOSTS=1 tests/system/migrate $(BUILD)

# Migration figures (docs/migration.md): an idle 256 MiB Linux VM and a VM
# dirtying memory at a fixed rate, each migrated on one host.
migrate-bench: deps all vireoctl guests
	@tests/system/migrate $(BUILD) --bench

# The two-host demo: Linux VM alpha on host A pings beta on host B while it
# migrates to B and back; prints each move's summary.
migrate-demo: deps all vireoctl guests
	@tests/system/migrate $(BUILD) --demo

check: deps
	@$(MAKE) --no-print-directory format-check all vireoctl guests unit-build fuzz-build
	@tests/check $(BUILD)

run: deps all vireoctl
	@tools/demo $(BUILD)

FORMATTED = $$(git ls-files '*.c' '*.h')

format:
	clang-format -i $(FORMATTED)

format-check:
	@clang-format --dry-run -Werror $(FORMATTED) && echo "format: clean" 

clean:
	rm -rf $(BUILD)

include guests/guests.mk
include tests/fuzz/fuzz.mk
include bench/bench.mk

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
