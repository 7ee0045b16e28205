"""`zcbench-select-layers task=<task> [n_archs=..] [criterion=spike] [write=true]`: L-SWAG's layer window.

Computes per-layer gradient statistics of the task's sampled networks at initialisation, chooses
the window (zcbench/layer_selection.py; keys: zcbench/conf/select_layers.yaml) and, with
write=true, makes it the task's: its entry in the generated zcbench/conf/derived/lswag_windows.yaml.
"""
from __future__ import annotations

import hydra
from omegaconf import DictConfig

from ..errors import exit_on_error


@hydra.main(config_path="../conf", config_name="select_layers", version_base=None)
def main(cfg: DictConfig) -> None:
    from ..layer_selection import select_window

    exit_on_error("zcbench-select-layers", select_window, cfg)


if __name__ == "__main__":
    main()
