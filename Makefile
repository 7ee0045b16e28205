# zcbench: `make install` then `make test`. ZCBENCH_DATA points at the data folder.
PYTHON ?= python
ZCBENCH_DATA ?= $(abspath ../shared/data)
export ZCBENCH_DATA

# Where the scoring jobs run: a Hydra launcher (zcbench/conf/hydra/launcher/ and the plugins'). basic = one
# after another in this process; joblib = this machine's cores; slurm_cpu / slurm_gpu (presets) or
# submitit_slurm = a SLURM cluster. SHARDS=n splits each task into n jobs, merged into its cache when
# the sweep ends (zcbench/launch.py). E.g. make task-scores LAUNCHER=slurm_cpu SHARDS=8
LAUNCHER ?= basic
SHARDS ?= 1
comma := ,
empty :=
space := $(empty) $(empty)
join_commas = $(subst $(space),$(comma),$(strip $(1)))
SWEEP = -m hydra/launcher=$(LAUNCHER) $(if $(filter 1,$(SHARDS)),,'shard=$(call join_commas,$(foreach i,$(shell seq 0 $$(($(SHARDS) - 1))),$(i)/$(SHARDS)))')

.PHONY: vit-lswag table3-lswag protocol protocol-calibrate protocol-check install test test-slow bench bench-quick task-coverage task-scores tnb-campaign task-table validate-proxies validate-nb201 validate-nb101 validate-nb301 lswag-ablation leaderboard paper-tables vit-results vit-mini-benchmark clean

install:  ## torch pinned to the CPU build on disk; a GPU cluster installs its own torch first
	$(PYTHON) -m pip install torch==2.13.0
	$(PYTHON) -m pip install -e ".[test,cluster]"

test:  ## the default suite (tiny networks, real data, Suite-Zero agreement), about 8 min on 2 cores; CI=true: missing data fails
	$(PYTHON) -m pytest -q -p no:cacheprovider

test-slow:  ## checks on larger real samples (minutes to an hour on a CPU)
	$(PYTHON) -m pytest -q -p no:cacheprovider -m slow

bench:  ## seconds per NB201 arch per proxy, foresight's 7 and all together; peak memory on AutoFormer-T: results/benchmark_nb201_cpu.md
	OMP_NUM_THREADS=1 $(PYTHON) -m zcbench.cli.bench n_archs=3 out=results/benchmark_nb201_cpu.md

bench-quick:  ## proxy=all only: its ratio to one forward+backward, and the cost of each shared pass
	OMP_NUM_THREADS=1 $(PYTHON) -m zcbench.cli.bench n_archs=3 together_only=true 'memory=[]'

task-coverage:  ## proxy=all on 2 archs of each of the paper's 19 CNN tasks (TNB at 64 px): results/task_coverage.md
	$(PYTHON) -m zcbench.cli.task_coverage n_archs=2 tnb_size=64 out=results/task_coverage.md

# Every proxy on 1,000 archs of each NB201 task (into the leaderboard caches), then the first 50
# CIFAR-10 archs again with seed 1 (another init and batch: each proxy's own noise), then
# results/proxy_validation_nb201.md. About 4 core-hours on a CPU: shard=i/n and merge spread it (README).
VALIDATION_ARCHS ?= 1000
validate-proxies:  ## proxy=all vs the published rho on NB201 (1,000 archs x 3 tasks): results/proxy_validation_nb201.md
	$(PYTHON) -m zcbench $(SWEEP) proxy=all task=nb201_cifar10,nb201_cifar100,nb201_imagenet16_120 \
	  n_archs=$(VALIDATION_ARCHS) 'out_dir=results/cache/$${task.name}' hydra.sweep.dir=runs/validate progress=false
	$(PYTHON) -m zcbench.cli.validate tasks=[nb201_cifar10] n_archs=$(VALIDATION_ARCHS) \
	  write_sample=results/nb201_cifar10_seed1/archs.txt sample_size=50
	$(PYTHON) -m zcbench proxy=all task=nb201_cifar10 archs=results/nb201_cifar10_seed1/archs.txt seed=1 \
	  out_dir=results/nb201_cifar10_seed1 hydra.run.dir=runs/validate/seed1 progress=false
	$(PYTHON) -m zcbench.cli.validate n_archs=$(VALIDATION_ARCHS) \
	  noise=results/nb201_cifar10_seed1 out=results/proxy_validation_nb201.md

# Every proxy on the other 16 CNN tasks (NB101, NB301, TNB micro/macro x 7) into the same caches, then
# the proxy x 19-task table against Suite-Zero. Default: 100 archs per task, TNB at 64 px (a CPU
# session does a few tasks: rerun to continue, each cache resumes). FULL=1: 1,000 archs, TNB at 256 px.
ifeq ($(FULL),1)
TASK_ARCHS ?= 1000
TNB_SIZE ?= 256
else
TASK_ARCHS ?= 100
TNB_SIZE ?= 64
endif
SCORE_TASKS ?= nb101_cifar10 nb301_cifar10 \
  $(addprefix tnb101_micro_,class_scene class_object room_layout jigsaw autoencoder normal segmentsemantic) \
  $(addprefix tnb101_macro_,class_scene class_object room_layout jigsaw autoencoder normal segmentsemantic)
task-scores:  ## proxy=all on TASK_ARCHS archs of each of SCORE_TASKS (into results/cache/<task>/, resumable; LAUNCHER, SHARDS)
	$(if $(filter-out tnb101_%,$(SCORE_TASKS)),$(PYTHON) -m zcbench $(SWEEP) proxy=all \
	  task=$(call join_commas,$(filter-out tnb101_%,$(SCORE_TASKS))) n_archs=$(TASK_ARCHS) \
	  'out_dir=results/cache/$${task.name}' hydra.sweep.dir=runs/task_scores/other progress=false)
	$(if $(filter tnb101_%,$(SCORE_TASKS)),$(PYTHON) -m zcbench $(SWEEP) proxy=all \
	  task=$(call join_commas,$(filter tnb101_%,$(SCORE_TASKS))) task.image_size=$(TNB_SIZE) \
	  n_archs=$(TASK_ARCHS) 'out_dir=results/cache/$${task.name}' hydra.sweep.dir=runs/task_scores/tnb progress=false)

# The TNB campaign behind the leaderboard: each task's L-SWAG window (as table3-lswag: 30 networks at 64 px, the
# spike criterion; a task that has one resumes from results/layer_selection/), then 200 archs of every TNB task,
# each proxy at the input results/protocol.md
# validated for it (protocol=cheap: 64 or 128 px where it ranks like 256 px, else 256 px), every proxy but the three
# whose 256 px input costs most on a CPU core (ntk, grasp, plain: ~3 min per macro arch together, ~65% of proxy=all
# there). About 20 s per micro arch and 45 s per macro arch on one core; resumable, LAUNCHER/SHARDS as above.
# On a GPU or cluster: TNB_CAMPAIGN_PROXIES=all.
TNB_CAMPAIGN_TASKS ?= $(foreach s,micro macro,$(addprefix tnb101_$(s)_,class_object class_scene room_layout \
  autoencoder jigsaw normal segmentsemantic))
TNB_CAMPAIGN_CHEAP = params flops l2_norm grad_norm snip fisher synflow nwot swap swap_reg jacov epe_nas zico zen meco \
  linear_regions az_expressivity az_progressivity az_trainability az_complexity gradsign lswag lswag_lambda lswag_psi
TNB_CAMPAIGN_PROXIES ?= [$(call join_commas,$(TNB_CAMPAIGN_CHEAP))]
TNB_CAMPAIGN_ARCHS ?= 200
tnb-campaign:  ## each TNB task's L-SWAG window, then its proxies at their validated inputs on TNB_CAMPAIGN_ARCHS archs (hours per task on a CPU)
	for t in $(TNB_CAMPAIGN_TASKS); do \
	  $(PYTHON) -m zcbench.cli.select_layers task=$$t task.image_size=64 n_archs=30 write=true progress=false || exit 1; \
	done
	$(PYTHON) -m zcbench $(SWEEP) 'proxy=$(TNB_CAMPAIGN_PROXIES)' task=$(call join_commas,$(TNB_CAMPAIGN_TASKS)) \
	  n_archs=$(TNB_CAMPAIGN_ARCHS) 'out_dir=results/cache/$${task.name}' hydra.sweep.dir=runs/tnb_campaign \
	  write_table=false progress=false

task-table:  ## every proxy x the 19 CNN tasks vs Suite-Zero, from the caches: results/task_table.md/.csv
	$(PYTHON) -m zcbench.cli.task_table out=results/task_table.md \
	  'noise=[results/nb201_cifar10_seed1,results/nb101_cifar10_seed1,results/nb301_cifar10_seed1]'

# The cost-aware protocol (results/protocol.md): each proxy's ranking under the paper's input vs cheaper
# inputs on a calibration sample, and the chosen inputs in zcbench/conf/derived/protocol.yaml (generated; the
# harness reads it under protocol=cheap). protocol-calibrate scores the calibration sample (~1.5 h on a
# CPU core for AutoFormer-T); protocol only reads the caches.
CALIB_PROXIES ?= [lswag,lswag_lambda,lswag_psi,nwot,swap,gradsign]
CALIB_TASK ?= autoprox_cifar100_kd
CALIB_SPACE ?= autoformer_t
CALIB_INPUTS ?= 224:64 224:32 112:64 112:32 64:64
CALIB_ROOT ?= results/protocol
# e.g. TransNAS-Bench-101 micro: make protocol-calibrate CALIB_TASK=tnb101_micro_class_object CALIB_SPACE=tnb101_micro CALIB_INPUTS="256:32 64:32"
# AutoFormer-S: make protocol-calibrate CALIB_TASK=ood_autoformer_s_imagenet CALIB_SPACE=autoformer_s CALIB_INPUTS="224:64 112:32 64:64"
protocol-calibrate:  ## score CALIB_PROXIES on 30 archs of CALIB_TASK at each of CALIB_INPUTS (size:batch): CALIB_ROOT/CALIB_SPACE/
	for s in $(CALIB_INPUTS); do \
	  $(PYTHON) -m zcbench proxy=$(CALIB_PROXIES) task=$(CALIB_TASK) n_archs=30 protocol=paper \
	    task.image_size=$${s%%:*} batch_size=$${s##*:} out_dir=$(CALIB_ROOT)/$(CALIB_SPACE)/px$${s%%:*}_b$${s##*:} \
	    hydra.run.dir=runs/protocol/$(CALIB_SPACE)/px$${s%%:*}_b$${s##*:} write_table=false progress=false || exit 1; \
	done

# A check of the protocol on other tasks of a space, without changing the chosen inputs: TransNAS-Bench-101
# jigsaw cuts each image into 9 tiles (16 px at 64 px) and the autoencoder reconstructs the whole image, so their
# 64 px input (calibrated on class_object) is checked against 256 px, on 30 archs each.
CHECK_TASKS ?= tnb101_micro_jigsaw tnb101_micro_autoencoder
protocol-check:  ## the L-SWAG set on 30 archs of each CHECK_TASKS at 64 and 256 px: results/protocol_checks/<task>.md
	for t in $(CHECK_TASKS); do \
	  $(MAKE) protocol-calibrate CALIB_ROOT=results/protocol_checks/$$t CALIB_TASK=$$t \
	    CALIB_SPACE=$$(echo $$t | cut -d_ -f1-2) CALIB_INPUTS="64:32 256:32" || exit 1; \
	  $(PYTHON) -m zcbench.cli.protocol root=results/protocol_checks/$$t out=results/protocol_checks/$$t.md || exit 1; \
	done

protocol:  ## results/protocol.md and zcbench/conf/derived/protocol.yaml from the calibration caches (seconds)
	$(PYTHON) -m zcbench.cli.protocol root=results/protocol \
	  out=results/protocol.md write=zcbench/conf/derived/protocol.yaml

VALIDATE_PROXIES ?= [nwot,synflow]
VALIDATE_PROXIES_NB301 ?= [params,synflow,nwot]
validate-nb201:  ## proxies on 1,000 NB201 CIFAR-10 archs and on Suite-Zero's 725, vs NAS-Bench-Suite-Zero (~20 min for nwot+synflow)
	$(PYTHON) -m zcbench 'proxy=$(VALIDATE_PROXIES)' task=nb201_cifar10 n_archs=1000 out_dir=results/nb201_cifar10
	$(PYTHON) -m zcbench.cli.reference scores=results/nb201_cifar10
	$(PYTHON) -m zcbench.cli.reference suite_zero_task=nb201_cifar10 write_archs=results/nb201_cifar10_suite_zero_archs.txt
	$(PYTHON) -m zcbench 'proxy=$(VALIDATE_PROXIES)' task=nb201_cifar10 archs=results/nb201_cifar10_suite_zero_archs.txt out_dir=results/nb201_cifar10_suite_zero
	$(PYTHON) -m zcbench.cli.reference scores=results/nb201_cifar10_suite_zero

# L-SWAG's layer window per task, then the ablation (paper Table 3's shape) on DISJOINT archs.
# FULL=1 is the paper's 1,000 + 1,000; the default sample is sized for a 2-core CPU.
ABLATION_TASKS ?= nb201_cifar10 nb201_cifar100 nb201_imagenet16_120
ifeq ($(FULL),1)
LAYER_ARCHS ?= 1000
ABLATION_ARCHS ?= 1000
else
LAYER_ARCHS ?= 200
ABLATION_ARCHS ?= 200
endif
lswag-ablation:  ## choose each task's L-SWAG window (generated zcbench/conf/derived/lswag_windows.yaml), score the variants on other archs, table
	for t in $(ABLATION_TASKS); do \
	  $(PYTHON) -m zcbench.cli.select_layers task=$$t n_archs=$(LAYER_ARCHS) write=true progress=false || exit 1; \
	  $(PYTHON) -m zcbench 'proxy=[lswag,lswag_lambda,lswag_psi]' task=$$t n_archs=$(ABLATION_ARCHS) seed=1 \
	    exclude_archs=results/layer_selection/$$t/archs.txt out_dir=results/lswag_ablation/$$t progress=false || exit 1; \
	  $(PYTHON) -m zcbench proxy=lswag proxy.lswag.window_lo=0 proxy.lswag.window_hi=100 task=$$t \
	    n_archs=$(ABLATION_ARCHS) seed=1 exclude_archs=results/layer_selection/$$t/archs.txt \
	    out_dir=results/lswag_ablation/$$t progress=false || exit 1; \
	done
	$(PYTHON) -m zcbench.cli.lswag_ablation \
	  'dirs=[$(call join_commas,$(addprefix results/lswag_ablation/,$(ABLATION_TASKS)))]' out=results/lswag_ablation.md

# L-SWAG on the TransNAS-Bench-101 tasks of the paper's Table 3: each task's window from 30 networks at 64 px
# (spike criterion: reads no accuracy), then the L-SWAG set on TABLE3_ARCHS archs into the leaderboard caches
# (protocol=cheap scores them at 64 px, calibrated against 256 px: results/protocol.md). Resumable.
TABLE3_TNB_TASKS ?= $(addprefix tnb101_micro_,jigsaw normal autoencoder) $(addprefix tnb101_macro_,jigsaw normal autoencoder)
TABLE3_ARCHS ?= 200
table3-lswag:  ## L-SWAG's window and the L-SWAG set on the Table 3 TNB tasks (hours on a CPU core per task)
	for t in $(TABLE3_TNB_TASKS); do \
	  $(PYTHON) -m zcbench.cli.select_layers task=$$t task.image_size=64 n_archs=30 write=true progress=false || exit 1; \
	  case $$t in *micro*) p='[lswag,lswag_lambda,lswag_psi,nwot,swap,params,l2_norm]';; \
	    *) p='[lswag,lswag_psi,nwot,swap,params,l2_norm]';; esac; \
	  $(PYTHON) -m zcbench "proxy=$$p" task=$$t n_archs=$(TABLE3_ARCHS) out_dir=results/cache/$$t \
	    write_table=false progress=false || exit 1; \
	done

validate-nb101:  ## params+synflow on all 292 Suite-Zero NB101 cells, nwot on 50, synflow on MLFE's 846; vs Suite-Zero
	$(PYTHON) -m zcbench 'proxy=[params,synflow]' task=nb101_cifar10 n_archs=all out_dir=results/nb101_cifar10
	$(PYTHON) -m zcbench 'proxy=[params,synflow,nwot]' task=nb101_cifar10 n_archs=50 out_dir=results/nb101_cifar10_nwot50
	$(PYTHON) -m zcbench 'proxy=[params,synflow]' task=nb101_cifar10_mlfe n_archs=all out_dir=results/nb101_cifar10_mlfe
	$(PYTHON) -m zcbench.cli.reference scores=results/nb101_cifar10

validate-nb301:  ## params/synflow/nwot on Suite-Zero's 725 NB301 archs, vs NAS-Bench-Suite-Zero (~1 h on a CPU)
	$(PYTHON) -m zcbench 'proxy=$(VALIDATE_PROXIES_NB301)' task=nb301_cifar10 n_archs=all out_dir=results/nb301_cifar10
	$(PYTHON) -m zcbench.cli.reference scores=results/nb301_cifar10

# The leaderboard and the paper's tables, from the caches in results/cache/ (scoring what they lack first).
# FULL=1 is the paper protocol (sample=full: 1,000 archs x 5 seeds x every proxy x every task); see zcbench/conf/sample/.
LEADERBOARD_ARGS ?=
ifeq ($(FULL),1)
LEADERBOARD_ARGS += sample=full
endif
ifneq ($(LAUNCHER),basic)
LEADERBOARD_ARGS += launcher=$(LAUNCHER) shards=$(SHARDS)
endif
leaderboard:  ## every proxy and ensemble x task: results/leaderboard.md/.csv and figures (~45 min default sample)
	$(PYTHON) -m zcbench.cli.leaderboard $(LEADERBOARD_ARGS)

paper-tables:  ## the paper's Tables 1, 3, 4 beside ours: results/paper_tables.md/.csv (same caches and config)
	$(PYTHON) -m zcbench.cli.paper_tables $(LEADERBOARD_ARGS)

# The ViT results (results/vit/README.md): proxies on the Auto-Prox and OoD-ViT-NAS ground truth, each network as
# its source built it (224 px, patch 16), seed 0, one batch of 16 (real CIFAR-10 training images resized to 224:
# the other datasets' images are not in the data folder). Scores accumulate in results/vit/scores/<task>/ (reruns
# resume). The 2-core CPU decided the proxy sets: the batch-driven proxies on Auto-Prox CIFAR-100
# (vit-scores-batch), data-free ones and swap_reg elsewhere, on 100 of the 1,001 OoD-ViT-NAS archs per space
# (vit-scores-free); the two ran side by side (make -j2). synflow keeps LayerNorm there (the ViT tasks' setting).
# LAUNCHER, SHARDS and DEVICE as above, e.g. make vit-scores LAUNCHER=slurm_gpu SHARDS=4 DEVICE=cuda
.PHONY: vit-scores vit-scores-batch vit-scores-paper vit-scores-free vit-scores-mini vit-tables
DEVICE ?= cpu
VIT_SWEEP = OMP_NUM_THREADS=$${OMP_NUM_THREADS:-1} MKL_NUM_THREADS=$${MKL_NUM_THREADS:-1} $(PYTHON) -m zcbench \
  $(SWEEP) device=$(DEVICE) progress=false 'out_dir=results/vit/scores/$${task.name}' \
  'hydra.sweep.dir=runs/vit/$${now:%Y-%m-%d_%H-%M-%S}'
VIT_BATCH_PROXIES ?= [params,flops,l2_norm,synflow,nwot,grad_norm,snip,swap_reg]
VIT_FREE_PROXIES ?= [params,flops,l2_norm,synflow,swap_reg]
vit-scores-batch:  ## Auto-Prox CIFAR-100 (200 subnets): the proxies that read the batch, and the data-free ones
	$(VIT_SWEEP) 'proxy=$(VIT_BATCH_PROXIES)' task=autoprox_cifar100_kd n_archs=200 batch_size=16

# The paper's input (224 px, batch 64; protocol=cheap moves the calibrated proxies to their cheaper input): the
# proxies the Auto-Prox tasks still lack for the leaderboard's 15, on all 200 subnets (~40 s per subnet on a core).
VIT_PAPER_PROXIES ?= [flops,l2_norm,synflow,swap_reg,meco,zen,zico,fisher,plain,jacov,grad_norm,snip]
VIT_PAPER_TASKS ?= autoprox_cifar100_kd,autoprox_chaoyang_kd,autoprox_flowers_kd,autoprox_imagenet_supernet
vit-scores-paper:  ## the paper-input proxies on the Auto-Prox tasks (200 subnets each; hours per task on a CPU)
	$(VIT_SWEEP) 'proxy=$(VIT_PAPER_PROXIES)' task=$(VIT_PAPER_TASKS) n_archs=200

# L-SWAG on the OoD-ViT-NAS pools: each task's window (50 networks at 112 px, batch 32, as for the other ViT
# tasks), then the L-SWAG set on 200 subnets at the inputs results/protocol.md chose for the space (AutoFormer-S:
# make protocol-calibrate CALIB_TASK=ood_autoformer_s_imagenet CALIB_SPACE=autoformer_s first, then make protocol).
VIT_LSWAG_TASKS ?= ood_autoformer_s_imagenet
VIT_LSWAG_PROXIES ?= [lswag,lswag_lambda,lswag_psi,nwot,swap,gradsign]
vit-lswag:  ## L-SWAG's window and the L-SWAG set on 200 subnets of VIT_LSWAG_TASKS (hours per task on a CPU)
	for t in $(VIT_LSWAG_TASKS); do \
	  $(PYTHON) -m zcbench.cli.select_layers task=$$t n_archs=50 task.image_size=112 batch_size=32 write=true \
	    progress=false || exit 1; \
	done
	$(VIT_SWEEP) 'proxy=$(VIT_LSWAG_PROXIES)' task=$(shell echo $(VIT_LSWAG_TASKS) | tr ' ' ',') n_archs=200

vit-scores-free:  ## data-free proxies and swap_reg: OoD-ViT-NAS T/S/B (100 archs each), Auto-Prox ImageNet/Flowers/Chaoyang (200)
	$(VIT_SWEEP) 'proxy=$(VIT_FREE_PROXIES)' \
	  task=ood_autoformer_t_imagenet,ood_autoformer_s_imagenet,ood_autoformer_b_imagenet n_archs=100 batch_size=16
	$(VIT_SWEEP) 'proxy=$(VIT_FREE_PROXIES)' \
	  task=autoprox_imagenet_supernet,autoprox_flowers_kd,autoprox_chaoyang_kd n_archs=200 batch_size=16

vit-scores-mini:  ## every proxy on the 9 archs of the mini benchmark (after vit-mini-benchmark), 32 px, batch 64
	$(VIT_SWEEP) proxy=all task=autoformer_t_cifar10_mini n_archs=9

vit-scores: vit-scores-batch vit-scores-free vit-scores-mini  ## all the ViT scoring runs (hours on a CPU)

vit-tables:  ## results/vit/tables.md and correlations.csv from results/vit/scores/ (about a minute)
	$(PYTHON) -m zcbench.cli.vit_tables

vit-results: vit-scores  ## the ViT scoring runs, then their tables
	$(MAKE) vit-tables

# The CPU-built AutoFormer-T mini benchmark, results/benchmarks/autoformer_t_cifar10_mini.h5, and its report
# (.md beside it). Resumable: one record per trained network. Build 1 (recipe vit_cpu_mini: 2 epochs over 1,536
# images): 12 subnets (seed 0) trained with train_seed 0, the first 6 again with train_seed 1; its two runs do not
# agree (Spearman -0.03). Build 2 (recipe vit_cpu_small: 8 epochs over all 4,737 images, with learning curves): the
# first MINI_ARCHS of the same subnets, trained with train_seed 1 and 0 side by side, then the file rewritten
# from all records. The task autoformer_t_cifar10_mini reads build 2.
MINI_ARCHS ?= 9
MINI_OUT = results/benchmarks/autoformer_t_cifar10_mini.h5
MINI_BUILD = OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 $(PYTHON) -m zcbench.cli.build task=autoformer_t_cifar10_mini \
  seed=0 out=$(MINI_OUT) progress=false
vit-mini-benchmark:  ## the CPU-built AutoFormer-T mini benchmark and its report (results/benchmarks/, ~2.5 h on 2 cores)
	$(MINI_BUILD) recipe=vit_cpu_mini n_archs=6 train_seed=0
	$(MINI_BUILD) recipe=vit_cpu_mini n_archs=6 train_seed=1
	$(MINI_BUILD) recipe=vit_cpu_mini n_archs=12 train_seed=0
	mkdir -p runs
	$(MINI_BUILD) recipe=vit_cpu_small curve=true n_archs=$(MINI_ARCHS) train_seed=1 > runs/build_small_seed1.log 2>&1 & \
	  $(MINI_BUILD) recipe=vit_cpu_small curve=true n_archs=$(MINI_ARCHS) train_seed=0; status=$$?; \
	  wait $$! && exit $$status
	$(MINI_BUILD) recipe=vit_cpu_small curve=true n_archs=$(MINI_ARCHS) train_seed=0
	$(PYTHON) -m zcbench.cli.report benchmark=$(MINI_OUT) out=results/benchmarks/autoformer_t_cifar10_mini.md

# Proxy-guided search evaluated by lookup (python -m zcbench.search): the AutoFormer-S demo (4 subnets at 32 px),
# the whole-space NB201 searches (they score networks: about an hour on one core the first time, cached in
# results/search/cache/ after), the pool searches (free: committed caches), then results/search.md.
# SEARCH_ARGS=skip_computed=true reruns only what needs no network.
.PHONY: search
search:  ## proxy/ensemble searches, evaluated by ground-truth lookup: results/search.md and results/search/
	$(PYTHON) -m zcbench.search task=autoformer_imagenet strategy=evolution_autoformer fitness=nwot budget=4 n_runs=1 \
	  max_params=23 task.image_size=32 task.space_options.patch_size=4 strategy.population=2 strategy.generations=1 \
	  strategy.parents=2 strategy.mutations=1 strategy.crossovers=1 'reuse=[]' \
	  out_dir=results/search/autoformer_imagenet/demo > results/search/autoformer_demo.log 2>&1
	$(PYTHON) -m zcbench.cli.search_table $(SEARCH_ARGS)

clean:
	rm -rf runs multirun .pytest_cache
