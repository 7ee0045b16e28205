#!/bin/bash
# The scoring runs behind results/vit/ (run from the repository root; ZCBENCH_DATA must point at the data).
# Scores accumulate in results/vit/scores/<task>/scores.h5 (kept in the project; reruns resume).
# Networks at the sources' own 224x224 resolution, patch 16; seed 0; one batch of 16 images.
# CIFAR-100, Flowers, Chaoyang and ImageNet images are not in the data folder, so the batch is
# real CIFAR-10 training images resized to 224 (the harness announces this stand-in).
# Cost on the shared 2-core CPU decided the proxy sets: the batch-driven proxies (nwot, grad_norm, snip)
# on the CIFAR-100 networks; data-free ones (params, flops, l2_norm, synflow) and swap_reg (one forward
# pass, ~1.5 s per arch) elsewhere, on 100 of the 1,001 OoD-ViT-NAS archs per space. `part=free` and
# `part=batch` ran side by side. synflow keeps LayerNorm (the ViT tasks' setting, no overflow).
# Each line is one Hydra sweep (tasks x shards): LAUNCHER=joblib uses this machine's cores,
# LAUNCHER=slurm_gpu (or slurm_cpu, submitit_slurm) a SLURM cluster; SHARDS=n splits each task into
# n jobs merged into its scores.h5 when the sweep ends. E.g. LAUNCHER=slurm_gpu SHARDS=4 DEVICE=cuda results/vit/score_vit.sh
set -e
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-1} MKL_NUM_THREADS=${MKL_NUM_THREADS:-1}
LAUNCHER=${LAUNCHER:-basic} SHARDS=${SHARDS:-1} DEVICE=${DEVICE:-cpu}
shards=""
if [ "$SHARDS" -gt 1 ]; then
  shards="shard=$(seq -s, 0 $((SHARDS - 1)) | sed "s|\([0-9]*\)|\1/$SHARDS|g")"
fi
sweep() { python -m zcbench -m hydra/launcher=$LAUNCHER $shards device=$DEVICE "$@" progress=false \
  'out_dir=results/vit/scores/${task.name}' 'hydra.sweep.dir=runs/vit/${now:%Y-%m-%d_%H-%M-%S}'; }
CHEAP='[params,flops,l2_norm,synflow,nwot,grad_norm,snip,swap_reg]'
FREE='[params,flops,l2_norm,synflow,swap_reg]'
part=${1:-all}
if [ "$part" != free ]; then
  sweep proxy=$CHEAP task=autoprox_cifar100_kd n_archs=200 batch_size=16
fi
if [ "$part" != batch ]; then
  sweep proxy=$FREE task=ood_autoformer_t_imagenet,ood_autoformer_s_imagenet,ood_autoformer_b_imagenet \
    n_archs=100 batch_size=16
  sweep proxy=$FREE task=autoprox_imagenet_supernet,autoprox_flowers_kd,autoprox_chaoyang_kd n_archs=200 batch_size=16
fi
# the mini benchmark (after results/benchmarks/autoformer_t_cifar10_mini.sh): every proxy, 32 px, batch 64
if [ "$part" = all ] || [ "$part" = mini ]; then
  sweep proxy=all task=autoformer_t_cifar10_mini n_archs=9
fi
