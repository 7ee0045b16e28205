# zcbench: `make install` then `make test`. ZCBENCH_DATA points at the data folder.
PYTHON ?= python
ZCBENCH_DATA ?= $(abspath ../shared/data)
export ZCBENCH_DATA

.PHONY: install test test-slow bench validate-nb201 clean

install:  ## torch pinned to the CPU build on disk; a GPU cluster installs its own torch first
	$(PYTHON) -m pip install torch==2.13.0
	$(PYTHON) -m pip install -e ".[test]"

test:  ## the default suite (tiny networks, real data where present), a few minutes on 2 cores
	$(PYTHON) -m pytest -q -p no:cacheprovider

test-slow:  ## checks on larger real samples (minutes to an hour on a CPU)
	$(PYTHON) -m pytest -q -p no:cacheprovider -m slow

bench:  ## seconds per NB201 architecture, per proxy and for all proxies together
	$(PYTHON) benchmarks/bench_proxies.py

VALIDATE_PROXIES ?= [nwot,synflow]
validate-nb201:  ## proxies on 1,000 NB201 CIFAR-10 archs and on Suite-Zero's 725, vs NAS-Bench-Suite-Zero (~20 min for nwot+synflow)
	$(PYTHON) -m zcbench 'proxy=$(VALIDATE_PROXIES)' task=nb201_cifar10 n_archs=1000 out_dir=results/nb201_cifar10
	$(PYTHON) -m zcbench.analysis.reference results/nb201_cifar10
	$(PYTHON) -m zcbench.analysis.reference --task nb201_cifar10 --write-archs results/nb201_cifar10_suite_zero_archs.txt
	$(PYTHON) -m zcbench 'proxy=$(VALIDATE_PROXIES)' task=nb201_cifar10 archs=results/nb201_cifar10_suite_zero_archs.txt out_dir=results/nb201_cifar10_suite_zero
	$(PYTHON) -m zcbench.analysis.reference results/nb201_cifar10_suite_zero

clean:
	rm -rf runs multirun .pytest_cache
