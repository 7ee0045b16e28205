#!/bin/bash
# Builds results/benchmarks/autoformer_t_cifar10_mini.h5 (run from the repository root, ZCBENCH_DATA set)
# and its report autoformer_t_cifar10_mini.md. Resumable: rerun to go on (one record per network).
#
# Build 1 (recipe vit_cpu_mini: 2 epochs over 1,536 images): 12 AutoFormer-T subnets (seed 0) trained
# once with train_seed 0, the first 6 again with train_seed 1. Its two runs do not agree (Spearman -0.03).
# Build 2 (recipe vit_cpu_small: 8 epochs over all 4,737 images, with learning curves): the first
# N_SMALL of the same subnets, trained twice (train_seed 0 and 1, the two side by side on 2 cores).
# The task autoformer_t_cifar10_mini reads build 2.
set -e
export OMP_NUM_THREADS=1 MKL_NUM_THREADS=1
OUT=results/benchmarks/autoformer_t_cifar10_mini.h5
N_SMALL=${N_SMALL:-9}
mkdir -p runs
B="python -m zcbench.build task=autoformer_t_cifar10_mini seed=0 out=$OUT progress=false"
$B recipe=vit_cpu_mini n_archs=6 train_seed=0
$B recipe=vit_cpu_mini n_archs=6 train_seed=1
$B recipe=vit_cpu_mini n_archs=12 train_seed=0
$B recipe=vit_cpu_small curve=true n_archs=$N_SMALL train_seed=1 > runs/build_small_seed1.log 2>&1 &
$B recipe=vit_cpu_small curve=true n_archs=$N_SMALL train_seed=0
wait
$B recipe=vit_cpu_small curve=true n_archs=$N_SMALL train_seed=0   # both runs done: rewrite the file from all records
python -m zcbench.build_report $OUT --out results/benchmarks/autoformer_t_cifar10_mini.md
