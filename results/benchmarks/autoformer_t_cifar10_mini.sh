#!/bin/bash
# Builds results/benchmarks/autoformer_t_cifar10_mini.h5 (run from the repository root, ZCBENCH_DATA set).
# 12 AutoFormer-T subnets (seed 0) trained once with train_seed 0; the first 6 trained again with
# train_seed 1 to measure how much the ranking moves between training runs. Resumable: rerun to go on.
# (For the kept file the second and third commands ran side by side with the first one's last network;
# the builder writes one record per network, so concurrent jobs do not collide.)
set -e
export OMP_NUM_THREADS=1 MKL_NUM_THREADS=1
OUT=results/benchmarks/autoformer_t_cifar10_mini.h5
B="python -m zcbench.build task=autoformer_t_cifar10_mini recipe=vit_cpu_mini seed=0 out=$OUT progress=false"
$B n_archs=6 train_seed=0
$B n_archs=6 train_seed=1
$B n_archs=12 train_seed=0
