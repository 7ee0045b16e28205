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
set -e
export OMP_NUM_THREADS=1 MKL_NUM_THREADS=1
CHEAP='[params,flops,l2_norm,synflow,nwot,grad_norm,snip,swap_reg]'
FREE='[params,flops,l2_norm,synflow,swap_reg]'
run() { python -m zcbench "$@" batch_size=16 progress=false; }
part=${1:-all}
if [ "$part" != free ]; then
  run proxy=$CHEAP task=autoprox_cifar100_kd n_archs=200 out_dir=results/vit/scores/autoprox_cifar100_kd
fi
if [ "$part" != batch ]; then
  for t in t s b; do
    run proxy=$FREE task=ood_autoformer_${t}_imagenet n_archs=100 out_dir=results/vit/scores/ood_autoformer_${t}_imagenet
  done
  for t in imagenet_supernet flowers_kd chaoyang_kd; do
    run proxy=$FREE task=autoprox_$t n_archs=200 out_dir=results/vit/scores/autoprox_$t
  done
fi
# the mini benchmark (after results/benchmarks/autoformer_t_cifar10_mini.sh): every proxy, 32 px, batch 64
if [ "$part" = all ] || [ "$part" = mini ]; then
  python -m zcbench proxy=all task=autoformer_t_cifar10_mini n_archs=9 progress=false out_dir=results/vit/scores/autoformer_t_cifar10_mini
fi
