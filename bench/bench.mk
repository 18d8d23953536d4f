# SPDX-License-Identifier: Apache-2.0
# make bench: path lengths and slowdowns under Vireo and natively on QEMU
# (bench/run, bench/README.md); writes $(BUILD)/bench.json and
# docs/benchmarks.md.  Not part of make check (it runs bench/run --smoke).
.PHONY: bench
# bench/run uses the bench guest and the dirty guest (bench/dirty).
bench: deps all $(BUILD)/guests/bench.elf $(BUILD)/guests/dirty.bin
	@bench/run $(BUILD)
