"""`zcbench-merge cache=OUT.h5 'inputs=[IN.h5,...]'`: merge score files, or prune one in place.

    zcbench-merge cache=OUT.h5 'inputs=[a.h5,b.h5]'                 rows of later inputs win on equal keys
    zcbench-merge cache=C.h5 prune=PROXY keep_settings=SETTINGS      drop PROXY's rows under other settings
    zcbench-merge cache=C.h5 drop=PROXY drop_task=TASK               drop PROXY's rows on TASK
    zcbench-merge cache=C.h5 relabel=PROXY from_version=V evidence=FRESH.h5
                                        version-V rows of PROXY become the current version where FRESH.h5,
                                        written by the current code, shows them bit-identical on >= 3 archs
The operations are zcbench/cache.py's merge, prune, drop and relabel_verified.
"""
from __future__ import annotations

from pathlib import Path

import hydra
from omegaconf import DictConfig

from ..errors import BadOptionError, exit_on_error
from . import as_list, required

PROG = "zcbench-merge"
# each in-place edit: the keys it needs besides `cache`
EDITS = {"prune": ("keep_settings",), "drop": ("drop_task",), "relabel": ("from_version", "evidence")}


def run(cfg: DictConfig) -> None:
    """Merge `inputs` into `cache`, or apply the one in-place edit that is set."""
    from ..cache import drop, merge, prune, relabel_verified

    path = Path(required(cfg, "cache", "score file"))
    inputs = [Path(p) for p in as_list(cfg.inputs)]
    chosen = [edit for edit in EDITS if cfg.get(edit) is not None]
    if len(chosen) + bool(inputs) != 1:
        given = ", ".join([*(f"{e}={cfg[e]}" for e in chosen), *(["inputs=[...]"] if inputs else [])]) or "none"
        raise BadOptionError(f"give exactly one of inputs=[...], prune=PROXY, drop=PROXY or relabel=PROXY "
                             f"(given: {given})")
    if not chosen:
        merged = merge(path, inputs)
        print(f"{path}: {len(merged.scores)} scores, {len(merged.truth)} ground-truth rows")
        return
    edit = chosen[0]
    proxy = str(cfg[edit])
    needs = {key: required(cfg, key, f"{key} of {edit}") for key in EDITS[edit]}
    if edit == "prune":
        dropped = prune(path, proxy, str(needs["keep_settings"]))
        print(f"{path}: dropped {dropped} {proxy} rows scored under other settings")
    elif edit == "drop":
        dropped = drop(path, proxy, str(needs["drop_task"]))
        print(f"{path}: dropped {dropped} {proxy} rows on task {needs['drop_task']}")
    else:
        from ..proxies import PROXIES

        old, evidence = str(needs["from_version"]), Path(needs["evidence"])
        new = PROXIES.get(proxy).version
        done = relabel_verified(path, proxy, old, new, evidence)
        for (task, settings), n in sorted(done.items()):
            print(f"{path}: {task}: {n} {proxy} rows v{old} -> v{new} ({settings})")
        if not done:
            print(f"{path}: nothing relabelled (no group with >= 3 matching archs in {evidence})")


@hydra.main(config_path="../conf", config_name="merge", version_base=None)
def main(cfg: DictConfig) -> None:
    exit_on_error(PROG, run, cfg)


if __name__ == "__main__":
    main()
