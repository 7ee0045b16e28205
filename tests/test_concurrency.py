"""Two real commands writing one out_dir at the same time lose nothing (zcbench.cache's lock)."""
from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import zcbench

REPO = Path(__file__).resolve().parents[1]


WRITER = textwrap.dedent("""
    import sys, time
    from pathlib import Path
    from zcbench.cache import ScoreCache

    path, proxy, seed, n = Path(sys.argv[1]), sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    Path(f"{path}.ready-{proxy}").touch()
    while len(list(path.parent.glob("*.ready-*"))) < 2:  # start together
        time.sleep(0.01)
    cache = ScoreCache(path)
    for i in range(n):
        cache.add([{"task": "t", "proxy": proxy, "arch": f"arch{i}", "seed": seed, "settings": "s",
                    "score": float(i), "seconds": 0.0, "error": "", "proxy_version": "1"}])
        if i % 2:
            cache.checkpoint()
    cache.checkpoint()
""")


def test_two_processes_writing_one_cache_keep_all_rows(tmp_path):
    """Two writer processes, checkpointing every other row into one file at the same time."""
    path = tmp_path / "scores.h5"
    runs = [subprocess.Popen([sys.executable, "-c", WRITER, str(path), proxy, str(seed), "80"], cwd=REPO,
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
            for proxy, seed in (("params", 0), ("flops", 1))]
    for p in runs:
        out = p.communicate(timeout=120)[0]
        assert p.returncode == 0, out
    frame = zcbench.load_scores(path)
    assert frame.groupby(["proxy", "seed"])["arch"].nunique().to_dict() == {("flops", 1): 80, ("params", 0): 80}


@pytest.mark.slow  # two full commands: about 80 s on a busy CPU core
def test_two_commands_on_one_out_dir_keep_all_rows(tmp_path, real_data):
    """The issue's repro, smaller: params seed 0 and flops seed 1 into one folder, started together,
    checkpointing every 2 networks so their checkpoints interleave."""
    def start(proxy: str, seed: int) -> subprocess.Popen:
        cmd = [sys.executable, "-m", "zcbench", f"proxy={proxy}", "task=nb201_cifar10", "n_archs=50",
               f"seed={seed}", "batch_size=8", "checkpoint_every=2", "progress=false", f"out_dir={tmp_path}",
               f"data_root={real_data}"]
        return subprocess.Popen(cmd, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)

    runs = [start("params", 0), start("flops", 1)]
    outputs = [p.communicate(timeout=300)[0] for p in runs]
    for p, out in zip(runs, outputs):
        assert p.returncode == 0, out
        assert "computed 50 of 50 networks" in out, out
    frame = zcbench.load_scores(tmp_path / "scores.h5")
    counts = frame.groupby(["proxy", "seed"])["arch"].nunique().to_dict()
    assert counts == {("flops", 1): 50, ("params", 0): 50}
    assert (frame["error"] == "").all() and not (tmp_path / "scores.h5.journal").exists()
