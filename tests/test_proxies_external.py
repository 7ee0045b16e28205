"""A proxy from another distribution: found through the `zcbench.proxies` entry-point group,
configured from its signature (no YAML), and scored through the harness like a built-in one."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from hydra.core.config_store import ConfigStore

import zcbench
from zcbench.harness import compose, run
from zcbench.proxies import PROXIES
from zcbench.proxies.configs import config_options
from zcbench.proxies.external import load_entry_point_proxies

PLUGIN = '''"""A proxy shipped by a fake distribution (test only)."""
from zcbench.proxies import proxy


@proxy("fake_depth", orientation="test only: more parameter tensors = predicted better")
def fake_depth(probe, scale: float = 2.0) -> float:
    """The number of parameter tensors of the network, times scale."""
    return scale * sum(1 for _ in probe.net.parameters())
'''


def _distribution(root: Path, module: str, source: str, entry: str) -> Path:
    """A minimal installed distribution on a folder: one module and its dist-info with entry points."""
    (root / f"{module}.py").write_text(source)
    info = root / f"{module}-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {module}\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text(f"[zcbench.proxies]\n{entry} = {module}\n")
    return root


@pytest.fixture
def plugin_on_path(tmp_path, monkeypatch):
    """The fake distribution importable; its proxy, config and module removed after the test."""
    site = tmp_path / "site"
    site.mkdir()
    monkeypatch.syspath_prepend(str(_distribution(site, "fake_zc_plugin", PLUGIN, "fake_depth")))
    yield site
    PROXIES._items.pop("fake_depth", None)
    ConfigStore.instance().repo.get("proxy", {}).pop("fake_depth.yaml", None)
    sys.modules.pop("fake_zc_plugin", None)


def test_entry_point_registers_the_proxy_with_a_generated_config(plugin_on_path):
    assert "fake_depth" not in PROXIES
    assert load_entry_point_proxies() == ["fake_depth"]
    assert PROXIES.get("fake_depth").defaults == {"scale": 2.0}
    assert config_options("fake_depth") == {"scale": 2.0}
    assert dict(compose(["proxy=fake_depth"]).proxy) == {"fake_depth": {"scale": 2.0}}
    chosen = compose(["proxy=[nwot,fake_depth]", "proxy.fake_depth.scale=3.0"]).proxy
    assert dict(chosen.fake_depth) == {"scale": 3.0} and "nwot" in chosen


def test_external_proxy_scores_through_the_harness(plugin_on_path, tmp_path, real_data):
    load_entry_point_proxies()
    cfg = compose([f"out_dir={tmp_path / 'run'}", f"data_root={real_data}", "progress=false",
                   "proxy=fake_depth", "n_archs=3", "batch_size=8"])
    result = run(cfg)
    assert result.n_computed == 3 and result.n_failed == 0
    frame = zcbench.load_scores(tmp_path / "run")
    fake = frame[frame["proxy"] == "fake_depth"]
    assert len(fake) == 3 and fake["settings"].str.endswith("scale=2.0").all()
    assert (fake["score"] > 0).all() and (fake["score"] % 2 == 0).all()


def test_the_main_command_finds_an_installed_external_proxy(plugin_on_path, tmp_path, real_data):
    """`python -m zcbench proxy=<external>`: loaded at import, composed by Hydra, no help from the test."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(plugin_on_path), os.environ.get("PYTHONPATH", "")]),
           "OMP_NUM_THREADS": "1"}
    out = subprocess.run([sys.executable, "-m", "zcbench", "proxy=fake_depth", "n_archs=2", "batch_size=8",
                          f"out_dir={tmp_path / 'cli'}", f"data_root={real_data}", "progress=false"],
                         capture_output=True, text=True, env=env, timeout=600)
    assert out.returncode == 0, out.stderr[-2000:]
    frame = zcbench.load_scores(tmp_path / "cli")
    assert sorted(frame["proxy"].unique()) == ["fake_depth"] and len(frame) == 2


def test_a_broken_plugin_is_skipped_with_a_warning_naming_it(tmp_path, monkeypatch):
    site = tmp_path / "site"
    site.mkdir()
    monkeypatch.syspath_prepend(str(_distribution(site, "broken_zc_plugin", "raise ImportError('no torch_foo')\n",
                                                  "broken")))
    before = PROXIES.names()
    with pytest.warns(UserWarning, match=r"skipped proxy entry point broken = 'broken_zc_plugin'.*no torch_foo"):
        assert load_entry_point_proxies() == []
    assert PROXIES.names() == before
