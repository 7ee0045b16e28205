"""`zcbench-protocol [root=.. out=.. write=..]`: the cost-aware protocol from the calibration caches.

Per space folder under root: each proxy's rank agreement between the paper's input and cheaper
ones, the page (out) and, with write=, the generated zcbench/conf/derived/protocol.yaml that the
harness reads under protocol=cheap (zcbench/analysis/protocol.py).
"""
from __future__ import annotations

from pathlib import Path

import hydra
from omegaconf import DictConfig

from ..errors import exit_on_error

PROG = "zcbench-protocol"


def run(cfg: DictConfig) -> None:
    """Write the protocol page and, with `write`, the derived input choices."""
    from ..analysis.protocol import derived_text, parse_input, protocol_report

    references = {str(space): parse_input(str(space), spec) for space, spec in (cfg.reference or {}).items()}
    text, choices = protocol_report(cfg.root, references)
    Path(cfg.out).parent.mkdir(parents=True, exist_ok=True)
    Path(cfg.out).write_text(text)
    print(f"[{PROG}] wrote {cfg.out}")
    if cfg.write:
        Path(cfg.write).parent.mkdir(parents=True, exist_ok=True)
        Path(cfg.write).write_text(derived_text(choices))
        print(f"[{PROG}] wrote {cfg.write}")


@hydra.main(config_path="../conf", config_name="protocol", version_base=None)
def main(cfg: DictConfig) -> None:
    exit_on_error(PROG, run, cfg)


if __name__ == "__main__":
    main()
