"""The failure contract: runtime events of a network are cached failures, bugs stop the run.

zcbench/errors.py (failure_reason) is the one rule; these tests run it through the
harness with test-only proxies registered for the duration of one test.
"""
from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
import torch
from torch import nn

import zcbench
from zcbench.errors import ProxyFailure, failure_reason
from zcbench.harness import compose, run
from zcbench.proxies import PROXIES, Needs, score_network
from zcbench.proxies.registry import proxy


@pytest.fixture
def registered():
    """Register test-only proxies with `registered(name, fn, **kw)`; removed after the test."""
    names = []

    def add(name, fn, **kw):
        proxy(name, orientation="test only", **kw)(fn)
        names.append(name)

    yield add
    for name in names:
        PROXIES._items.pop(name, None)


def _cfg(tmp_path, real_data, proxies, *overrides):
    cfg = compose([f"out_dir={tmp_path}", f"data_root={real_data}", "progress=false", "batch_size=8",
                   *overrides])
    cfg.proxy = {name: {} for name in proxies}
    return cfg


# ------------------------------------------------------------------ the rule
def _bn_error() -> BaseException:
    try:
        nn.BatchNorm1d(3).train()(torch.randn(1, 3))
    except Exception as err:  # noqa: BLE001  (the error torch raises, whatever its class)
        return err
    raise AssertionError("BatchNorm accepted one value per channel")


def _unused_input_error() -> BaseException:
    x = torch.randn(2, 3, requires_grad=True)
    try:
        torch.autograd.grad(torch.zeros(()) + torch.randn(2, requires_grad=True).sum(), x)
    except RuntimeError as err:
        return err
    raise AssertionError("autograd accepted an unused input")


def _linalg_error() -> BaseException:
    try:
        np.linalg.inv(np.zeros((2, 2)))
    except np.linalg.LinAlgError as err:
        return err
    raise AssertionError("a singular matrix was inverted")


@pytest.mark.parametrize("make_err", [
    lambda: ProxyFailure("network has no ReLU/GELU units to read"),
    lambda: torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB"),
    lambda: RuntimeError("[enforce fail at alloc_cpu.cpp:117] DefaultCPUAllocator: can't allocate memory"),
    lambda: MemoryError(),
    lambda: RuntimeError("the derivative for 'foo_backward' is not implemented"),
    _bn_error, _unused_input_error, _linalg_error,
], ids=["proxy_failure", "cuda_oom", "cpu_oom", "memory_error", "no_double_backward", "batchnorm_one_value",
        "output_independent_of_input", "linalg"])
def test_runtime_events_of_a_network_are_failures(make_err):
    err = make_err()
    assert failure_reason(err) == f"{type(err).__name__}: {err}"


@pytest.mark.parametrize("err", [
    TypeError("unsupported operand type(s)"), KeyError("weight"), AttributeError("no attribute 'fc'"),
    AssertionError("shapes differ"), IndexError("list index out of range"), ZeroDivisionError("division by zero"),
    ValueError("too many values to unpack"),
    RuntimeError("mat1 and mat2 shapes cannot be multiplied (8x16 and 32x10)"),
], ids=lambda e: type(e).__name__)
def test_programming_errors_are_not_failures(err):
    assert failure_reason(err) is None


def test_score_network_reraises_a_bug_with_the_proxy_named(registered):
    registered("test_typo", lambda probe: probe.net.weight + "1")
    net = nn.Linear(3, 2)
    with pytest.raises(TypeError) as caught:
        score_network(net, torch.randn(4, 3), torch.tensor([0, 1, 0, 1]), ["test_typo"])
    assert any("test_typo" in note for note in caught.value.__notes__)


# ------------------------------------------------------------------ through the harness
def test_a_bug_stops_the_run_keeps_earlier_rows_and_caches_no_failure(tmp_path, real_data, registered):
    calls = []

    def buggy(probe):
        calls.append(1)
        if len(calls) == 4:
            return {"a": 1}["b"]  # KeyError: a bug, on the 4th network only
        return 1.0

    registered("test_buggy", buggy)
    cfg = _cfg(tmp_path, real_data, ["params", "test_buggy"], "n_archs=6", "checkpoint_every=1000")
    with pytest.raises(KeyError) as caught:
        run(cfg)
    assert any("saved in" in note for note in caught.value.__notes__)
    assert not (tmp_path / "scores.h5.journal").exists(), "the rows must be checkpointed, not left in a journal"
    frame = zcbench.load_scores(tmp_path / "scores.h5")
    assert (frame["error"] == "").all(), "a bug must never be cached as a failure"
    assert frame.groupby("proxy")["arch"].nunique().to_dict() == {"params": 3, "test_buggy": 3}
    assert frame["accuracy"].notna().all(), "the ground truth is recorded before scoring, so the file ranks"
    # fixed, the same command does the rest and recomputes nothing it kept
    PROXIES._items.pop("test_buggy")
    registered("test_buggy", lambda probe: 1.0)
    rerun = run(cfg)
    assert rerun.n_computed == 3 and rerun.n_failed == 0
    assert len(zcbench.load_scores(tmp_path)) == 12


def test_nan_and_proxy_failure_are_cached_failures_and_the_run_goes_on(tmp_path, real_data, registered):
    def picky(probe):
        convs = sum(isinstance(m, nn.Conv2d) for m in probe.net.modules())
        if convs % 2 == 0:
            raise ProxyFailure(f"cannot score {convs} convolutions (test)")
        return math.nan if convs % 3 == 0 else 1.0

    registered("test_picky", picky)
    result = run(_cfg(tmp_path, real_data, ["params", "test_picky"], "n_archs=12"))
    frame = zcbench.load_scores(tmp_path)
    picky_rows = frame[frame["proxy"] == "test_picky"]
    errors = picky_rows["error"]
    assert len(picky_rows) == 12 and result.n_computed == 12
    assert errors.str.startswith("ProxyFailure: cannot score").any()
    assert (errors.str.startswith("ProxyFailure: cannot score") | errors.str.startswith("non-finite score")
            | (errors == "")).all()
    assert picky_rows.loc[errors != "", "score"].isna().all()
    assert result.n_failed == (errors != "").sum() > 0
    assert (frame.loc[frame["proxy"] == "params", "error"] == "").all()


def test_a_proxy_that_does_not_apply_is_skipped_once_with_no_rows(tmp_path, real_data, registered, capsys):
    """epe_nas groups samples by class; TNB room layout has 9 regression targets per image."""
    registered("test_by_class", lambda probe: 1.0, needs=Needs(labels="classes"))
    cfg = compose([f"out_dir={tmp_path}", f"data_root={real_data}", "progress=false", "task=tnb101_micro_room_layout",
                   "n_archs=3", "batch_size=4"])
    cfg.proxy = {"params": {}, "epe_nas": {}, "test_by_class": {}}
    run(cfg)
    out = capsys.readouterr().out
    for name in ("epe_nas", "test_by_class"):
        line = f"skipped {name} on tnb101_micro_room_layout: n/a: needs one class label per sample"
        assert out.count(line) == 1, out
    frame = zcbench.load_scores(tmp_path)
    assert set(frame["proxy"]) == {"params"}
    corr = pd.read_csv(tmp_path / "correlations.csv", keep_default_na=False).set_index("proxy")
    assert corr.loc["epe_nas", "note"].startswith("n/a: needs one class label per sample; task "
                                                  "tnb101_micro_room_layout has float32 targets of shape (4, 9)")
    assert corr.loc["epe_nas", "n_archs"] == 0 and corr.loc["params", "note"] == ""
