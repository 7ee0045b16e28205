"""Ensembles of proxies: LIBRA-NAS, its ablations, and the AZ-NAS / TE-NAS baselines.

One registry, ENSEMBLES. Each entry chooses members from a ScoreTable (tuned
ones on a tuning sample) and fuses their scores per architecture; see base.py.

    from zcbench.ensembles import ENSEMBLES, score_tables, evaluate, split_archs
"""
from __future__ import annotations

from ..registry import Registry
from .base import (Ensemble, EnsembleResult, MissingMembersError, Selection, as_score_rows, evaluate,
                   fixed_members, log_rank_sum, rank_sum)
from .baselines import AZ_NAS_MEMBERS, TE_NAS_MEMBERS
from .libra import VARIANTS
from .table import ScoreTable, score_tables, split_archs

ENSEMBLES: Registry[Ensemble] = Registry("ensemble")

for _name, (_description, _choose) in VARIANTS.items():
    ENSEMBLES.add(_name, Ensemble(_name, _description, _choose, rank_sum, tuned=True))
ENSEMBLES.add("az_nas", Ensemble("az_nas", "AZ-NAS: log-rank sum of its four components",
                                 fixed_members("az_nas", AZ_NAS_MEMBERS), log_rank_sum, tuned=False,
                                 members=AZ_NAS_MEMBERS))
ENSEMBLES.add("te_nas", Ensemble("te_nas", "TE-NAS: rank sum of NTK conditioning and linear regions",
                                 fixed_members("te_nas", TE_NAS_MEMBERS), rank_sum, tuned=False,
                                 members=TE_NAS_MEMBERS))

__all__ = ["ENSEMBLES", "Ensemble", "EnsembleResult", "MissingMembersError", "ScoreTable", "Selection",
           "as_score_rows", "evaluate", "log_rank_sum", "rank_sum", "score_tables", "split_archs"]
