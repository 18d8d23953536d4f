# SPDX-License-Identifier: Apache-2.0
# Test guests: small S-mode kernels that run as Vireo VMs and natively as
# OpenSBI's payload.  Included by the top Makefile; uses its BUILD, CROSS,
# COMMON and quiet helpers (Q, say).
#
#   make guests      build $(BUILD)/guests/NAME.elf and NAME.bin for every guest
#
# Guest NAME is guests/NAME.c plus any guests/NAME_*.c / guests/NAME_*.S,
# linked with the runtime (guests/rt/) and the freestanding lib/ files it
# uses.  See guests/README.md.

GUEST_NAMES := hello fail smp spin fpu memtest isolation ticks reboot plic ipi echo bench hostile sbitest \
               counter dirty debugee mmioregs smpdirty

# Target and prerequisite names are expanded when this file is read, so these
# two need values even if it is included before the top Makefile sets them
# (the defaults match the top Makefile's).
BUILD ?= build
CROSS ?= riscv64-linux-gnu-

GUEST_CC      = $(CROSS)gcc
GUEST_OBJCOPY = $(CROSS)objcopy
GUEST_OUT    := $(BUILD)/guests
GUEST_OBJDIR := $(GUEST_OUT)/obj

# Like the hypervisor's flags, but guests are ordinary kernels: they may use
# FP (the fpu guest tests that its registers survive), so rv64gc with the
# hard-float ABI.  No PIE and no relaxation: nothing sets up gp.
GUEST_ISYSTEM := $(shell $(CROSS)gcc -print-file-name=include 2>/dev/null)
GUEST_CFLAGS   = $(COMMON) -O2 -g -ffreestanding -fno-builtin -nostdlib -nostdinc \
                 -isystem $(GUEST_ISYSTEM) -march=rv64gc -mabi=lp64d -mcmodel=medany \
                 -mno-relax -fno-pie -fno-stack-protector -fno-omit-frame-pointer \
                 -fno-common -ffunction-sections
GUEST_ASFLAGS  = $(COMMON) -nostdinc -march=rv64gc -mabi=lp64d -mno-relax -D__ASSEMBLER__
GUEST_LDFLAGS  = -nostdlib -no-pie -Wl,--build-id=none -Wl,-T,guests/rt/guest.ld \
                 -Wl,--no-relax -Wl,-z,noexecstack -Wl,--no-warn-rwx-segments

GUEST_RT_SRC := $(sort $(wildcard guests/rt/*.c guests/rt/*.S)) lib/err.c lib/fdt.c lib/printf.c lib/string.c
GUEST_RT_OBJ := $(patsubst %,$(GUEST_OBJDIR)/%.o,$(GUEST_RT_SRC))
guest_src     = $(sort $(wildcard guests/$(1).c guests/$(1)_*.c guests/$(1)_*.S))

GUEST_ELFS := $(patsubst %,$(GUEST_OUT)/%.elf,$(GUEST_NAMES))
GUEST_BINS := $(patsubst %,$(GUEST_OUT)/%.bin,$(GUEST_NAMES))

.PHONY: guests
guests: $(GUEST_ELFS) $(GUEST_BINS)

$(GUEST_OBJDIR)/%.c.o: %.c
	@mkdir -p $(dir $@)
	$(call say,CC,$<)$(GUEST_CC) $(GUEST_CFLAGS) -c $< -o $@

$(GUEST_OBJDIR)/%.S.o: %.S
	@mkdir -p $(dir $@)
	$(call say,AS,$<)$(GUEST_CC) $(GUEST_ASFLAGS) -c $< -o $@

define guest_link
$(GUEST_OUT)/$(1).elf: $(patsubst %,$(GUEST_OBJDIR)/%.o,$(call guest_src,$(1))) $(GUEST_RT_OBJ) guests/rt/guest.ld
	$$(call say,LD,$$@)$$(GUEST_CC) $$(GUEST_LDFLAGS) $$(filter %.o,$$^) -lgcc -o $$@
endef
$(foreach g,$(GUEST_NAMES),$(eval $(call guest_link,$(g))))

$(GUEST_OUT)/%.bin: $(GUEST_OUT)/%.elf
	$(call say,OBJCOPY,$@)$(GUEST_OBJCOPY) -O binary $< $@

-include $(shell find $(GUEST_OBJDIR) -name '*.d' 2>/dev/null)
