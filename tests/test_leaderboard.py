"""The leaderboard and paper-table builders on a small constructed cache, their config, and one
tiny real end-to-end run."""
from __future__ import annotations

from pathlib import Path

import math

import numpy as np
import pandas as pd
import pytest

from zcbench.analysis.leaderboard import OFF_INPUT_MARK, aggregate, leaderboard_rows, markdown, summary
from zcbench.analysis.paper_tables import paper_values
from zcbench.cache import ScoreCache
from zcbench.ensembles import ENSEMBLES
from zcbench.harness import compose
from zcbench.proxies import PROXIES

PROXY_SET = ["params", "nwot", "synflow", "az_expressivity", "az_progressivity", "az_trainability",
             "az_complexity", "ntk", "linear_regions", "lswag"]
PNG = b"\x89PNG\r\n\x1a\n"


def _write_cache(root, task: str, n: int, seed: int = 0, fail_every: int = 0, others_upto: int | None = None) -> None:
    """A score file like the harness writes: proxies noisy in accuracy, current proxy versions
    (`others_upto`: only lswag is scored on the archs from that index on)."""
    rng = np.random.default_rng(abs(hash(task)) % 2**32)
    acc = rng.normal(70, 5, size=n)
    cache = ScoreCache(root / task / "scores.h5") if (root / task).mkdir(parents=True, exist_ok=True) is None else None
    rows = []
    for k, proxy in enumerate(PROXY_SET):
        noise = 2.0 + 3.0 * k / len(PROXY_SET)
        score = acc + rng.normal(0, noise, size=n)
        for i in range(n if proxy == "lswag" or others_upto is None else others_upto):
            failed = bool(fail_every) and proxy == "nwot" and i % fail_every == 0
            rows.append({"task": task, "proxy": proxy, "arch": f"({i % 5}, {i // 5 % 5}, {i // 25}, 0, 0, 0)",
                         "seed": seed, "settings": "input=cifar10;batch=8x3x32x32",
                         "score": float("nan") if failed else float(score[i]), "seconds": 0.1,
                         "error": "constructed failure" if failed else "",
                         "proxy_version": PROXIES.get(proxy).version})
    cache.add(rows)
    cache.set_truth(pd.DataFrame({"task": task, "arch": [f"({i % 5}, {i // 5 % 5}, {i // 25}, 0, 0, 0)"
                                                         for i in range(n)], "accuracy": acc}))
    cache.checkpoint()


def _overrides(tmp_path, *extra):
    return [f"cache_dir={tmp_path / 'cache'}", f"out_dir={tmp_path / 'out'}",
            f"figures_dir={tmp_path / 'out' / 'figures'}", "compute=false", "n_boot=30",
            "tasks=[nb201_cifar10,nb201_cifar100,nb201_imagenet16_120]", "extra_scores=[]",
            "list_tasks=paper", *extra]


def test_leaderboard_config_loads_and_names_registered_things():
    cfg = compose([], config_name="leaderboard")
    assert all(p in PROXIES for p in cfg.proxies)
    assert all(e in ENSEMBLES for e in cfg.ensembles)
    full = compose(["sample=full"], config_name="leaderboard")     # zcbench/conf/sample/full.yaml
    assert full.n_archs == 1000 and list(full.seeds) == [0, 1, 2, 3, 4] and full.tasks == "paper"
    # what Table 1 and Table 3 need is in the default proxy set
    needed = {"params", "ntk", "linear_regions", "lswag", "az_expressivity", "az_progressivity",
              "az_trainability", "az_complexity"}
    assert needed <= set(cfg.proxies)
    values = paper_values()
    repo = Path(__file__).resolve().parents[1]
    assert all((repo / f).is_file() for f in cfg.extra_scores), "extra_scores must name committed files"
    assert values["table1"]["methods"]["libra"]["nb201_cifar10"] == 0.89
    assert set(values["table1"]["methods"]) <= set(ENSEMBLES.names())


def test_leaderboard_and_paper_tables_from_a_constructed_cache(tmp_path, capsys):
    from zcbench.analysis.pages import leaderboard_page, paper_tables_page

    _write_cache(tmp_path / "cache", "nb201_cifar10", 120, fail_every=10)
    _write_cache(tmp_path / "cache", "nb201_cifar100", 120)
    rows = leaderboard_page(compose(_overrides(tmp_path), config_name="leaderboard")).rows
    out = tmp_path / "out"
    text = (out / "leaderboard.md").read_text()
    for method in PROXY_SET + ["libra", "az_nas", "te_nas", "top3_rho", "libra_no_bias", "libra_z2_max_rho"]:
        assert f"| {method} |" in text
    assert "nb201_imagenet16_120" in text and "no scores yet" in text   # listed, not dropped
    assert "Kendall tau" in text and "mean rank" in text
    csv = pd.read_csv(out / "leaderboard.csv")
    assert set(csv["task"]) == {"nb201_cifar10", "nb201_cifar100"}
    assert (csv["ci_lo"] <= csv["spearman"] + 1e-9).all() and (csv["spearman"] <= csv["ci_hi"] + 1e-9).all()
    libra = csv[(csv["method"] == "libra")]
    assert (libra["n_tune"] > 0).all() and (libra["n_tune"] + libra["n_eval"] == 120).all()
    nwot = csv[(csv["method"] == "nwot") & (csv["task"] == "nb201_cifar10")].iloc[0]
    assert nwot["n_failed"] > 0
    for png in [out / "figures" / "leaderboard_rho.png",
                *(out / "figures" / "nb201_cifar10" / f for f in
                  ("score_vs_accuracy.png", "proxy_correlations.png", "score_vs_params.png"))]:
        assert png.read_bytes()[:8] == PNG and png.stat().st_size > 5000
    assert len(rows) == 2 * (len(PROXY_SET) + 6)
    assert "[nb201_cifar10](figures/nb201_cifar10)" in text
    choices = pd.read_csv(out / "leaderboard_libra_choices.csv")
    mine = choices[choices["task"] == "nb201_cifar10"]
    chosen = mine[mine["role"].notna()].sort_values("role")
    assert "+".join(chosen["proxy"]) == libra["members"][libra["task"] == "nb201_cifar10"].iloc[0]
    assert (mine.loc[mine["role"] == "z1", "rho_tuning"].iloc[0] == mine["rho_tuning"].max())

    paper_tables_page(compose(_overrides(tmp_path), config_name="paper_tables"))
    tables = (out / "paper_tables.md").read_text()
    assert "Table 1" in tables and "Table 3" in tables and "Table 4" in tables
    assert "The paper's Table 4 values are not transcribed" in tables
    long = pd.read_csv(out / "paper_tables.csv")
    cell = long[(long["table"] == "table1") & (long["method"] == "libra") & (long["task"] == "nb201_cifar10")].iloc[0]
    assert cell["paper"] == 0.89 and cell["ours - paper"] == pytest.approx(cell["ours"] - 0.89)
    ours = csv[(csv["method"] == "libra") & (csv["task"] == "nb201_cifar10")]["spearman"].iloc[0]
    assert cell["ours"] == pytest.approx(ours)


def test_table3_reads_lswag_on_every_arch_it_was_scored_on(tmp_path):
    """The leaderboard compares proxies on the archs they all have (60 here); Table 3 puts L-SWAG alone
    beside the paper, on the evaluation half of all 120 archs it was scored on."""
    from zcbench.analysis.pages import leaderboard_page, paper_tables_page

    _write_cache(tmp_path / "cache", "nb201_cifar10", 120, others_upto=60)
    leaderboard_page(compose(_overrides(tmp_path), config_name="leaderboard"))
    paper_tables_page(compose(_overrides(tmp_path), config_name="paper_tables"))
    board = pd.read_csv(tmp_path / "out" / "leaderboard.csv").set_index("method")
    long = pd.read_csv(tmp_path / "out" / "paper_tables.csv")
    cell = long[(long["table"] == "table3") & (long["task"] == "nb201_cifar10")].iloc[0]
    assert board.at["lswag", "n_eval"] <= 30 < cell["archs evaluated"] <= 60
    assert "every arch it was scored on" in (tmp_path / "out" / "paper_tables.md").read_text()


def test_time_budget_and_per_task_overrides(tmp_path, real_data):
    from zcbench.analysis.collect import _merge, collect, task_overrides

    cfg = compose([f"cache_dir={tmp_path}", "time_budget_min=0", f"data_root={real_data}", "extra_scores=[]"],
                  config_name="leaderboard")
    got = collect(cfg)
    assert all("computed 0 (not computed: the time budget" in note for t, note in got.status.items()
               if t in cfg.tasks) and got.frame.empty
    assert not any(tmp_path.iterdir())                     # nothing was scored
    assert task_overrides("tnb101_micro_jigsaw", cfg) == ["n_archs=30", "task.image_size=64"]
    assert task_overrides("nb201_cifar10", cfg) == []
    assert _merge(["task=x", "n_archs=60"], ["n_archs=30"]) == ["task=x", "n_archs=30"]
    full = compose(["sample=full"], config_name="leaderboard")
    assert task_overrides("tnb101_micro_jigsaw", full) == []


def test_mean_rank_and_mean_rho_across_tasks():
    agg = pd.DataFrame({"task": ["t1", "t1", "t2", "t2", "t2"], "method": ["x", "y", "x", "y", "z"],
                        "kind": "proxy", "spearman": [0.9, 0.5, 0.2, 0.6, 0.4]})
    s = summary(agg, ["t1", "t2"])
    assert s.loc["x", "mean rho"] == pytest.approx(0.55) and s.loc["x", "mean rank"] == pytest.approx(2.0)
    assert s.loc["y", "mean rank"] == pytest.approx(1.5) and s.loc["z", "tasks"] == 1
    assert list(s.index) == ["y", "x", "z"]               # equal mean rho: the better mean rank first


def test_stale_proxy_versions_are_not_ranked(tmp_path):
    from zcbench.cache import load_scores

    _write_cache(tmp_path, "nb201_cifar10", 40)
    frame = load_scores(tmp_path / "nb201_cifar10")
    frame.loc[frame["proxy"] == "synflow", "proxy_version"] = "old"
    rows = leaderboard_rows(frame, ["te_nas"], n_boot=0)
    assert "synflow" not in set(rows["method"]) and "nwot" in set(rows["method"])
    assert math.isnan(rows["ci_lo"].iloc[0])


def test_tiny_real_run_computes_then_reuses_the_cache(tmp_path, real_data):
    from zcbench.cli.leaderboard import run as leaderboard

    args = [f"cache_dir={tmp_path / 'cache'}", f"out_dir={tmp_path / 'out'}", "figures=false",
            f"figures_dir={tmp_path / 'out' / 'figures'}", "n_boot=20", "tasks=[nb201_cifar10]",
            "n_archs=30", "batch_size=8", "proxies=[params,synflow,nwot]", f"data_root={real_data}",
            "extra_scores=[]", "list_tasks=paper"]
    first = leaderboard(compose(args, config_name="leaderboard"))
    assert (tmp_path / "cache" / "nb201_cifar10" / "scores.h5").exists()
    assert set(first["method"]) >= {"params", "synflow", "nwot", "libra"}
    second = leaderboard(compose(args, config_name="leaderboard"))
    pd.testing.assert_frame_equal(first, second)          # nothing recomputed, same numbers
    assert "missing az_complexity, az_expressivity" in (tmp_path / "out" / "leaderboard.md").read_text()
    libra = first[first["method"] == "libra"].iloc[0]
    assert libra["n_tune"] >= 5 and not math.isnan(libra["spearman"])
    assert set(libra["members"].split("+")) <= {"params", "synflow", "nwot"}


def test_an_ensemble_written_as_a_score_file_reads_like_a_proxy(tmp_path, capsys):
    from zcbench.cache import load_scores
    from zcbench.cli.ensembles import run as ensembles

    _write_cache(tmp_path, "nb201_cifar10", 80)
    report = ensembles(compose([f"scores={tmp_path / 'nb201_cifar10'}", "ensemble=az_nas", f"out={tmp_path / 'az.h5'}"],
                               config_name="ensembles"))
    assert report[0]["members"] == "az_expressivity+az_progressivity+az_trainability+az_complexity"
    assert "az_nas on nb201_cifar10" in capsys.readouterr().out
    frame = load_scores(tmp_path / "az.h5")
    assert set(frame["proxy"]) == {"az_nas"} and len(frame) == report[0]["n_eval"]
    assert frame["accuracy"].notna().all()
    rows = leaderboard_rows(frame, [], n_boot=0)             # ranked like any proxy
    assert rows.iloc[0]["spearman"] == pytest.approx(report[0]["spearman"])


def _frame(scores: dict[str, np.ndarray], acc: np.ndarray, task: str = "nb201_cifar10",
           settings: dict[str, str] | None = None) -> pd.DataFrame:
    """A load_scores()-style frame of NB201-looking archs (made-up strings) with current proxy versions."""
    archs = [f"arch{i:04d}" for i in range(len(acc))]
    return pd.DataFrame([{"task": task, "arch": a, "proxy": p, "seed": 0, "score": float(s[i]), "seconds": 0.1,
                          "accuracy": float(acc[i]), "error": "", "settings": (settings or {}).get(p, "input=x"),
                          "proxy_version": PROXIES.get(p).version}
                         for p, s in scores.items() for i, a in enumerate(archs)])


def test_leaderboard_lists_each_computation_once_and_libra_never_holds_two_aliases():
    rng = np.random.default_rng(1)
    acc = rng.normal(70, 5, size=160)
    swap = acc + rng.normal(0, 2, size=160)
    flops = acc + rng.normal(0, 3, size=160)
    frame = _frame({"swap": swap, "lswag_psi": swap, "flops": flops, "az_complexity": flops,
                    "nwot": swap + rng.normal(0, 0.05, size=160), "params": acc + rng.normal(0, 4, size=160),
                    "synflow": acc + rng.normal(0, 6, size=160)}, acc,
                   settings={"lswag_psi": "input=x;psi_from=first;window_hi=99;window_lo=80"})
    rows = leaderboard_rows(frame, ["libra", "libra_no_bias", "top3_rho"], n_boot=0)
    proxies = rows[rows["kind"] == "proxy"].set_index("method")
    assert "lswag_psi" not in proxies.index and "az_complexity" not in proxies.index
    assert "lswag_psi" in proxies.at["swap", "note"] and "az_complexity" in proxies.at["flops", "note"]
    # no two proxy rows with the same Spearman (the done-criterion of the leaderboard)
    assert proxies["spearman"].round(12).is_unique
    one_signal = {"swap", "lswag_psi", "nwot"}   # nwot is a near-duplicate of swap here (|rho| >= 0.99)
    for members in rows.loc[rows["kind"] == "ensemble", "members"]:
        assert len(one_signal & set(members.split("+"))) <= 1, members
        assert not {"flops", "az_complexity"} <= set(members.split("+")), members


def test_archs_an_option_was_chosen_on_leave_every_rows_evaluation(monkeypatch):
    import zcbench.analysis.leaderboard as lb
    from zcbench.ensembles import split_archs

    rng = np.random.default_rng(2)
    acc = rng.normal(70, 5, size=120)
    frame = _frame({"params": acc + rng.normal(0, 3, size=120), "swap_reg": acc + rng.normal(0, 2, size=120),
                    "nwot": acc + rng.normal(0, 4, size=120)}, acc)
    _, held = split_archs(sorted(set(frame["arch"])))
    fitted = frozenset(held[:10] + ["not-in-this-task"])
    monkeypatch.setattr(lb, "held_out", lambda task, settings: {"swap_reg": (fitted, "a prior")})
    rows = leaderboard_rows(frame, ["libra"], n_boot=0)
    assert (rows["n_eval"] == len(held) - 10).all()
    assert rows["note"].str.contains("10 evaluation archs left out: a prior was chosen on them").all()
    swap_reg = rows.set_index("method").at["swap_reg", "spearman"]
    keep = [a for a in held if a not in fitted]
    sub = frame[(frame["proxy"] == "swap_reg")].set_index("arch").loc[keep]
    assert swap_reg == pytest.approx(pd.Series(sub["score"]).corr(sub["accuracy"], method="spearman"))


def test_swap_reg_prior_archs_are_recorded_and_held_out():
    from zcbench.analysis.chosen_on import held_out
    from zcbench.ensembles import split_archs
    from zcbench.proxies.size_prior import CALIBRATION_SIZE, PRIOR_ARCHS, prior_archs

    archs = prior_archs(PRIOR_ARCHS)
    assert len(archs) == CALIBRATION_SIZE == len(set(archs))
    tune, _ = split_archs(archs)
    assert tune == archs  # drawn from the tuning half: the leaderboard's evaluation half never held them
    with_prior = held_out("nb201_cifar100", {"swap_reg": "input=cifar10;batch=64x3x32x32;mu=1500.0;sigma=1000000.0",
                                             "swap": "input=cifar10;batch=64x3x32x32"})
    assert set(with_prior) == {"swap_reg"} and with_prior["swap_reg"][0] == frozenset(archs)
    assert held_out("nb201_cifar100", {"swap_reg": "input=cifar10;batch=64x3x32x32"}) == {}  # no prior: swap


def test_missing_scores_go_through_a_hydra_shard_sweep_when_a_launcher_is_set(monkeypatch):
    """launcher=<name> shards=n: each task's scoring is `python -m zcbench -m hydra/launcher=<name> ... shard=0/n,...`
    (whose callback merges the shards into the task's cache), and a failed sweep stops with its reason."""
    import subprocess
    import sys

    from zcbench.analysis import collect
    from zcbench.errors import ZcbenchError

    command = collect.sweep_command(["task=nb201_cifar10", "n_archs=16"], "joblib", 3)
    assert command[:5] == [sys.executable, "-m", "zcbench", "-m", "hydra/launcher=joblib"]
    assert command[-1] == "shard=0/3,1/3,2/3" and "n_archs=16" in command
    with pytest.raises(ZcbenchError, match="positive number of shards"):
        collect.sweep_command([], "joblib", 0)
    seen = []
    monkeypatch.setattr(subprocess, "run", lambda cmd, check: seen.append(cmd) or subprocess.CompletedProcess(cmd, 1))
    with pytest.raises(ZcbenchError, match="joblib sweep .* failed \\(exit 1\\); rerun to resume"):
        collect.launch_sweep(["task=nb201_cifar10"], "joblib", 2)
    assert seen and seen[0][-1] == "shard=0/2,1/2"


def test_task_means_compare_like_with_like():
    """LIBRA's mean is set beside the paper's mean over the same tasks, and the paper's over all of them."""
    from zcbench.analysis.paper_tables import task_means

    comp = pd.DataFrame({"method": ["libra"] * 3 + ["lswag"],
                         "task": ["a", "b", "c", "a"],
                         "ours": [0.8, 0.6, float("nan"), 0.5],
                         "paper": [0.9, 0.7, 0.4, float("nan")]})
    lines = task_means(comp, ["libra", "lswag"])
    assert lines == ["- libra: mean over the 2 of the paper's 3 tasks scored here: ours 0.700, paper 0.800 on "
                     "the same tasks; the paper's mean over all 3: 0.667."]


def test_rows_at_the_paper_input_replace_an_unvalidated_cheaper_input_and_the_rest_are_noted():
    """TNB micro's protocol (zcbench/conf/derived/protocol.yaml): meco must be scored at 256 px
    (64 px ranked differently in the calibration), nwot may be scored at 64 px."""
    rng = np.random.default_rng(3)
    acc = rng.normal(70, 5, size=120)
    px64, px256 = "input=x;batch=32x3x64x64;samples=1", "input=x;batch=32x3x256x256;samples=1"  # meco's options
    cheap = _frame({"meco": rng.normal(size=120), "nwot": acc + rng.normal(0, 3, size=120)}, acc,
                   task="tnb101_micro_class_object", settings={"meco": px64, "nwot": px64})
    rows = leaderboard_rows(cheap, [], n_boot=0).set_index("method")
    assert "64 px, batch 32: an input not validated for meco on tnb101_micro" in rows.at["meco", "note"]
    assert rows.at["nwot", "note"] == ""
    page = markdown(aggregate(rows.reset_index()), {"tnb101_micro_class_object": "test"})
    assert "| tnb101_micro_class_object | meco | scored at 64 px" in page
    assert OFF_INPUT_MARK + " |" in page
    # meco rescored at the paper's input on 80 of the 120 archs (over half): those rows are ranked
    paper = _frame({"meco": acc + rng.normal(0, 1, size=120)}, acc, task="tnb101_micro_class_object",
                   settings={"meco": px256}).iloc[:80]
    rows = leaderboard_rows(pd.concat([cheap, paper]), [], n_boot=0, min_coverage=0.5).set_index("method")
    assert rows.at["meco", "note"] == "" and rows.at["meco", "spearman"] > 0.9


def test_rows_at_an_unvalidated_input_never_shrink_the_validated_rows_archs():
    """TNB micro: nwot validated at 64 px on 120 archs; meco (64 px, not validated) on 80 of them is
    left out with its reason instead of cutting nwot's evaluation to 80 archs; on all 120 it stays."""
    rng = np.random.default_rng(4)
    acc = rng.normal(70, 5, size=120)
    px64 = "input=x;batch=32x3x64x64"
    full = _frame({"meco": rng.normal(size=120), "nwot": acc + rng.normal(0, 3, size=120)}, acc,
                  task="tnb101_micro_class_object", settings={"meco": px64, "nwot": px64})
    short = full[(full["proxy"] == "nwot") | full["arch"].isin(full["arch"].unique()[:80])]
    from zcbench.ensembles.table import score_tables
    table = score_tables(short)[("tnb101_micro_class_object", 0)]
    assert table.proxies == ["nwot"] and len(table.scores) == 120
    assert table.left_out["meco"].startswith("scored only at an input not validated for it (64 px, batch 32) "
                                             "on 80 of the 120 archs")
    table = score_tables(full)[("tnb101_micro_class_object", 0)]
    assert table.proxies == ["meco", "nwot"] and len(table.scores) == 120


def test_rows_with_the_options_a_run_uses_now_replace_older_options():
    """An L-SWAG window chosen after a task was scored: the rescoring with it is ranked once it covers
    most archs, though the window-less rows cover more."""
    from zcbench.ensembles.table import widest_settings
    from zcbench.harness import current_options

    task = "tnb101_micro_jigsaw"
    now = current_options(task, "lswag")
    assert "window_lo=None" not in now
    stale = "input=x;batch=32x3x64x64;" + now.replace(
        now[now.index("window_hi="):], "window_hi=None;window_lo=None")
    fresh = "input=x;batch=32x3x64x64;" + now
    rng = np.random.default_rng(5)
    acc = rng.normal(70, 5, size=120)
    old = _frame({"lswag": rng.normal(size=120)}, acc, task=task, settings={"lswag": stale})
    new = _frame({"lswag": acc}, acc, task=task, settings={"lswag": fresh}).iloc[:80]
    assert widest_settings(pd.concat([old, new]), task) == {"lswag": fresh}
    assert widest_settings(pd.concat([old, new.iloc[:50]]), task) == {"lswag": stale}  # under half: not yet
