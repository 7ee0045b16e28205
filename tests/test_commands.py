"""zcbench's commands (zcbench/cli/): every config composes, every console script resolves, bad input is one line."""
from __future__ import annotations

import ast
import importlib
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from hydra import compose, initialize_config_dir
from omegaconf import OmegaConf

import zcbench.cli

REPO = Path(__file__).resolve().parents[1]
CLI_DIR = Path(zcbench.cli.__file__).parent
VERBS = sorted(p.stem for p in CLI_DIR.glob("*.py") if p.stem != "__init__")
SCRIPTS = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["scripts"]
OWN_RUN_DIR = {"config", "search"}  # score and search keep .hydra/ in their out_dir (README, "What comes out")


def hydra_entry(verb: str) -> tuple[Path, str]:
    """(config folder, config name) of the @hydra.main in zcbench/cli/<verb>.py, read from its source."""
    tree = ast.parse((CLI_DIR / f"{verb}.py").read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and ast.unparse(node.func) == "hydra.main":
            args = {k.arg: ast.literal_eval(k.value) for k in node.keywords}
            return (CLI_DIR / args["config_path"]).resolve(), args["config_name"]
    raise AssertionError(f"zcbench/cli/{verb}.py has no @hydra.main")


@pytest.mark.parametrize("verb", VERBS)
def test_every_command_config_composes_and_resolves(verb):
    config_dir, name = hydra_entry(verb)
    if verb not in ("score", "search"):
        assert name == verb, f"zcbench/cli/{verb}.py should read zcbench/conf/{verb}.yaml"
    with initialize_config_dir(config_dir=str(config_dir), version_base=None):
        hydra_cfg = compose(config_name=name, return_hydra_config=True).hydra
        cfg = compose(config_name=name)
    if name not in OWN_RUN_DIR:  # defaults: [_cli_base, ...]: no outputs/ folder, logs or chdir
        assert hydra_cfg.output_subdir is None and hydra_cfg.run.dir == "." and not hydra_cfg.job.chdir
    OmegaConf.to_container(cfg, resolve=True, throw_on_missing=False)  # every interpolation resolves
    for key in cfg:  # `key=value` on the command line selects a config group of that name instead
        assert not (config_dir / str(key)).is_dir() or OmegaConf.is_dict(cfg[key]), (
            f"{name}.yaml: key {key!r} is the name of the config group {config_dir / str(key)}")


def _target(spec: str):
    module, _, attr = spec.partition(":")
    return getattr(importlib.import_module(module), attr)


@pytest.mark.parametrize("script", sorted(SCRIPTS))
def test_every_console_script_points_at_a_callable(script):
    assert callable(_target(SCRIPTS[script]))


def test_every_command_has_a_console_script_and_a_readme_row():
    assert _target(SCRIPTS["zcbench"]) is _target("zcbench.cli.score:main")
    readme = (REPO / "README.md").read_text()
    for verb in VERBS:
        script = "zcbench" if verb == "score" else f"zcbench-{verb.replace('_', '-')}"
        assert script in SCRIPTS, f"pyproject.toml [project.scripts] lacks {script} (zcbench/cli/{verb}.py)"
        assert f"| `{script}" in readme, f"README's command table lacks {script}"
    assert {s.partition(":")[0] for s in SCRIPTS.values()} == {"zcbench.__main__"} | {
        f"zcbench.cli.{v}" for v in VERBS if v != "score"}


@pytest.mark.parametrize("args, line", [
    ([], "zcbench-merge: error: cache is not set; give cache=<score file>"),
    (["cache=x.h5", "drop=nwot", "prune=nwot"], "zcbench-merge: error: give exactly one of inputs=[...], prune=PROXY"),
])
def test_a_bad_command_line_is_one_line_and_exit_2(args, line, tmp_path):
    done = subprocess.run([sys.executable, "-m", "zcbench.cli.merge", *args], capture_output=True, text=True,
                          cwd=tmp_path, timeout=120)
    assert done.returncode == 2 and done.stderr.startswith(line), done.stderr
    assert len(done.stderr.strip().splitlines()) == 1 and not list(tmp_path.iterdir())
