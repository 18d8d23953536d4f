# SPDX-License-Identifier: Apache-2.0
# make bench: path lengths and slowdowns under Vireo and natively on QEMU
# (bench/run, bench/README.md); writes $(BUILD)/bench.json and
# docs/benchmarks.md.  Not part of make check (it runs bench/run --smoke).
.PHONY: bench
bench: deps all $(BUILD)/guests/bench.elf
	@bench/run $(BUILD)
