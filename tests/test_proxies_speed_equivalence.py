"""The cheaper shared passes give the scores of the definitions they replaced.

Issue 3 made proxy=all cheaper by sharing work: GraSP's Hessian-vector product
reuses the gradient pass's graph, the input Jacobian reuses its forward, the
FLOP count is done once for flops and az_complexity, and zen measures only
the batch variances it reads, swap-like counts pack unit patterns into int64
words and are counted once per probe, ntk and meco use the probe's working
copy instead of a deep copy of their own. Each check below recomputes the old definition
directly (a second forward and backward on an independent copy, a direct
FlopCounterMode run, ...) on a tiny CNN and on real NB201 networks, and
compares the scores to a tight tolerance (exact for counts).
"""
from __future__ import annotations

import copy
import math

import pytest
import torch
from torch import nn
from torch.nn.modules.batchnorm import _BatchNorm
from torch.utils.flop_counter import FlopCounterMode

from zcbench.proxies import PROXIES, Probe, score_network
from zcbench.proxies.activation import distinct_columns
from zcbench.proxies.flop_count import EXTRA_FLOPS
from zcbench.proxies.jacobian import epe_nas_from_jacobian, jacov_from_jacobian
from zcbench.proxies.meco import _feature_maps, min_correlation_eigenvalue
from zcbench.proxies.ntk import condition_number, tangent_features
from zcbench.proxies.probe import scored_layers
from zcbench.proxies.zen import gaussian_init_
from zcbench.spaces import get_space

from conftest import tiny_cnn

# cells chosen to cover convs, pooling, skips and a 'none' edge (an NB201 net with dead paths)
NB201_ARCHS = [
    "|nor_conv_3x3~0|+|nor_conv_1x1~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_1x1~2|",
    "|none~0|+|skip_connect~0|nor_conv_3x3~1|+|avg_pool_3x3~0|none~1|nor_conv_1x1~2|",
]
RTOL = 1e-4


def _nets():
    yield "tiny_cnn", tiny_cnn
    space = get_space("nb201")
    for i, arch in enumerate(NB201_ARCHS):
        yield f"nb201_{i}", (lambda a=arch: space.build(a, 10))


NETS = dict(_nets())


@pytest.fixture(params=sorted(NETS))
def case(request):
    """(network, images, labels): 8 images, 16x16 for NB201 (its global pooling accepts any size)."""
    torch.manual_seed(0)
    net = NETS[request.param]()
    g = torch.Generator().manual_seed(1)
    side = 8 if request.param == "tiny_cnn" else 16
    x = torch.randn(8, 3, side, side, generator=g)
    return net, x, torch.randint(0, 10, (8,), generator=g)


# ------------------------------------------------------------- old definitions
def grasp_two_pass(net: nn.Module, x: torch.Tensor, y: torch.Tensor) -> float:
    """NASLib's GraSP: g from one backward, then a second forward and H g on an independent copy."""
    first = copy.deepcopy(net).train()
    nn.functional.cross_entropy(first(x), y).backward()
    g_const = [m.weight.grad.detach() if m.weight.grad is not None else torch.zeros_like(m.weight)
               for _, m in scored_layers(first)]
    second = copy.deepcopy(net).train()
    weights = [m.weight for _, m in scored_layers(second)]
    grad_f = torch.autograd.grad(nn.functional.cross_entropy(second(x), y), weights,
                                 create_graph=True, allow_unused=True)
    z = sum((g * gf).sum() for g, gf in zip(g_const, grad_f) if gf is not None)
    hg = torch.autograd.grad(z, weights, allow_unused=True)
    return -sum((w.detach().double() * h.double()).sum().item() for w, h in zip(weights, hg) if h is not None)


def jacobian_own_pass(net: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """d(sum of outputs)/d(input) from its own forward and full backward on a train-mode copy."""
    work = copy.deepcopy(net).train()
    x = x.clone().requires_grad_(True)
    work(x).sum().backward()
    return x.grad.detach()


def flops_direct(net: nn.Module, x: torch.Tensor) -> float:
    """torch's FlopCounterMode on an eval-mode copy at batch 1 (pooling counted as the proxy does)."""
    work = copy.deepcopy(net).eval()
    counter = FlopCounterMode(display=False, custom_mapping=EXTRA_FLOPS)
    with counter, torch.no_grad():
        work(x[:1])
    return float(counter.get_total_flops())


def zen_direct(net: nn.Module, x: torch.Tensor, gamma: float = 0.01, seed: int = 0) -> float:
    """Zen-score written out: Gaussian copy, two forwards, pre-pool difference + BN running-variance term."""
    work = copy.deepcopy(net).float().train()
    gen = torch.Generator().manual_seed(seed)
    gaussian_init_(work, gen)
    a = torch.randn(x.shape, generator=gen)
    b = a + gamma * torch.randn(x.shape, generator=gen)
    pooled = []
    pools = [m for m in work.modules() if isinstance(m, nn.AdaptiveAvgPool2d)]
    handle = pools[-1].register_forward_hook(lambda m, i, o: pooled.append(i[0]))
    with torch.no_grad():
        work(a)
        work(b)
    handle.remove()
    diff = (pooled[0].double() - pooled[1].double()).abs().reshape(x.shape[0], -1).sum(1).mean().item()
    bn = sum(0.5 * math.log(m.running_var.double().mean().item())
             for m in work.modules() if isinstance(m, _BatchNorm))
    return math.log(diff) + bn


# ------------------------------------------------------------------- checks
def test_grasp_equals_naslib_two_pass_definition(case):
    net, x, y = case
    got = score_network(net, x, y, ["grasp"])["grasp"]
    assert got.ok, got.error
    assert got.score == pytest.approx(grasp_two_pass(net, x, y), rel=RTOL, abs=1e-9)


def test_shared_input_jacobian_equals_its_own_pass(case):
    net, x, y = case
    probe = Probe(net, x, y, planned=[PROXIES.get(n).needs for n in ("jacov", "grasp", "fisher", "nwot")])
    probe.gradients()  # the Jacobian is computed by this shared forward, after loss backward and H g
    assert "input_jacobian" in probe.pass_seconds
    torch.testing.assert_close(probe.input_jacobian(), jacobian_own_pass(net, x), rtol=RTOL, atol=1e-7)
    alone = Probe(net, x, y).input_jacobian()  # its own pass: a backward to the input only
    torch.testing.assert_close(alone, jacobian_own_pass(net, x), rtol=RTOL, atol=1e-7)


def test_jacobian_proxies_equal_old_pass(case):
    net, x, y = case
    rows = jacobian_own_pass(net, x).reshape(x.shape[0], -1).double().numpy()
    res = score_network(net, x, y, ["jacov", "epe_nas", "grasp", "grad_norm"])
    for name, expected in (("jacov", lambda: jacov_from_jacobian(rows)),
                           ("epe_nas", lambda: epe_nas_from_jacobian(rows, y.numpy(), 10))):
        try:
            value = expected()
        except ValueError:  # undefined on this network (a constant Jacobian): both must fail
            assert not res[name].ok
            continue
        assert res[name].ok, res[name].error
        assert res[name].score == pytest.approx(value, rel=RTOL)


def test_gradients_and_saliency_unchanged_by_the_kept_graph(case):
    """Keeping the graph for H g and the Jacobian leaves dL/dW and the channel saliency as they were."""
    net, x, y = case
    plain_probe = Probe(net, x, y, planned=[PROXIES.get("fisher").needs])
    shared_probe = Probe(net, x, y, planned=[PROXIES.get(n).needs for n in ("fisher", "grasp", "jacov")])
    for a, b in zip(plain_probe.channel_saliency(), shared_probe.channel_saliency()):
        assert a[0] == b[0]
        torch.testing.assert_close(a[1], b[1], rtol=RTOL, atol=1e-9)
    work = copy.deepcopy(net).train()
    nn.functional.cross_entropy(work(x), y).backward()
    for name, m in scored_layers(work):
        ref = m.weight.grad if m.weight.grad is not None else torch.zeros_like(m.weight)
        torch.testing.assert_close(shared_probe.gradients()[name], ref, rtol=RTOL, atol=1e-9)


def test_scores_alone_equal_scores_together(case):
    """Every proxy gives the same score alone as in proxy=all (sharing changes no score)."""
    net, x, y = case
    cheap = [n for n in PROXIES.names() if n not in ("ntk", "gradsign", "lswag", "lswag_lambda")]
    together = score_network(net, x, y, PROXIES.names())
    for name in cheap:
        alone = score_network(net, x, y, [name])[name]
        assert alone.ok == together[name].ok, (name, alone.error, together[name].error)
        if alone.ok:
            assert together[name].score == pytest.approx(alone.score, rel=RTOL, abs=1e-12), name


def test_flops_counted_once_and_exactly(case):
    net, x, _ = case
    expected = flops_direct(net, x)
    probe = Probe(net, x, None)
    passes: dict[str, float] = {}
    res = score_network(net, x, None, ["flops", "az_complexity"], pass_seconds=passes)
    assert res["flops"].score == res["az_complexity"].score == expected
    assert list(passes) == ["forward_flops"]  # one count serves both proxies
    assert probe.forward_flops() == expected
    assert net.training and all(m.training for m in net.modules())


def test_flops_restores_mixed_module_modes():
    net = tiny_cnn()
    net[1].eval()  # one BN frozen by its owner: must stay so
    score_network(net, torch.randn(2, 3, 8, 8), None, ["flops"])
    assert [m.training for m in net.modules()] == [m is not net[1] for m in net.modules()]


def test_zen_equals_written_out_definition(case):
    net, x, y = case
    got = score_network(net, x, y, ["zen"])["zen"]
    try:
        expected = zen_direct(net, x)
    except ValueError:  # log(0): a network whose features ignore the input
        assert not got.ok
        return
    assert got.ok, got.error
    assert got.score == pytest.approx(expected, rel=RTOL)


def test_grasp_failure_leaves_the_shared_gradients():
    """An op without a second derivative fails grasp only; the gradients of the same pass survive."""
    class NoDoubleBackward(torch.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x.clamp_min(0)

        @staticmethod
        def backward(ctx, g):
            (x,) = ctx.saved_tensors
            return NoDoubleBackwardGrad.apply(g, x)

    class NoDoubleBackwardGrad(torch.autograd.Function):
        @staticmethod
        def forward(ctx, g, x):
            return g * (x > 0)

        @staticmethod
        def backward(ctx, gg):
            raise RuntimeError("derivative for no_double_backward_grad is not implemented")  # torch's words

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.a, self.b = nn.Linear(4, 6), nn.Linear(6, 3)

        def forward(self, x):
            return self.b(NoDoubleBackward.apply(self.a(x)))

    torch.manual_seed(0)
    x, y = torch.randn(8, 4), torch.randint(0, 3, (8,))
    net = Net()
    res = score_network(net, x, y, ["grasp", "grad_norm", "jacov"])
    assert not res["grasp"].ok and "derivative for no_double_backward_grad" in res["grasp"].error
    assert res["grad_norm"].ok and res["jacov"].ok
    assert res["grad_norm"].score == score_network(net, x, y, ["grad_norm"])["grad_norm"].score


def test_ntk_and_meco_on_the_working_copy_equal_a_fresh_copy(case):
    """ntk and meco now run on the probe's working copy (buffers restored) instead of a deep copy."""
    net, x, y = case
    feats = tangent_features(copy.deepcopy(net).train(), x).double()
    cond = condition_number((feats @ feats.T).numpy())
    res = score_network(net, x, y, ["ntk", "meco", "grad_norm"])  # grad_norm: the working copy is used before
    if math.isfinite(cond):
        assert res["ntk"].score == pytest.approx(-math.log(cond), rel=RTOL)
    else:
        assert not res["ntk"].ok
    maps = _feature_maps(copy.deepcopy(net).train(), x[:1])
    expected = sum(min_correlation_eigenvalue(m[0].reshape(m.shape[1], -1)) for m in maps
                   if m.dim() >= 2 and m.shape[0] == 1)
    assert res["meco"].score == pytest.approx(expected, rel=RTOL, abs=1e-12)


@pytest.mark.parametrize("batch", [5, 64, 130])
def test_distinct_columns_equals_a_set_of_column_tuples(batch):
    """The int64 packing counts what a set of per-unit tuples counts (bit 63 and several words included)."""
    g = torch.Generator().manual_seed(batch)
    a = torch.rand(batch, 300, generator=g) > 0.5
    a[:, 100:200] = a[:, :100]                   # repeated columns
    a[:, 200:210] = False                        # all-off columns
    b = torch.rand(batch, 50, generator=g) > 0.9
    expected = len({tuple(col.tolist()) for t in (a, b) for col in t.T})
    assert distinct_columns([("a", a), ("b", b), ("a_again", a)]) == expected
    probe = Probe(nn.Identity(), torch.zeros(batch, 1), None)
    assert distinct_columns([("a", a), ("b", b)], probe) == expected
    assert distinct_columns([("b", b), ("a", a)], probe) == expected  # memoised per set of tensors


def test_per_sample_statistics_equal_the_float64_sums_bit_for_bit():
    """PerSampleStats.add works on one float64 copy in place; its sums are those of the plain
    float64 formulas (|g|, g*g and sign(g) of g.double(), summed over samples), chunk by chunk."""
    from zcbench.proxies.probe import PerSampleStats

    g = torch.Generator().manual_seed(0)
    grads = torch.randn(16, 8, 4, 3, 3, generator=g) * torch.rand(16, 1, 1, 1, 1, generator=g) * 1e-3
    grads[3, 0] = 0.0  # sign 0 and |g| 0 are counted too
    stats = PerSampleStats.empty(grads[0])
    abs_ref, sq_ref, sign_ref = (torch.zeros_like(grads[0], dtype=torch.float64) for _ in range(3))
    for chunk in (grads, grads[:5]):
        stats.add(chunk)
        d = chunk.double()
        abs_ref += d.abs().sum(0)
        sq_ref += (d * d).sum(0)
        sign_ref += torch.sign(d).sum(0)
    assert stats.count == 21
    assert torch.equal(stats.abs_total, abs_ref)
    assert torch.equal(stats.sq_total, sq_ref)
    assert torch.equal(stats.sign_total, sign_ref)


@pytest.mark.parametrize("window", [(0, 100), (50, 100), (0, 49)])
def test_lswag_alone_reads_a_window_pass_with_the_full_pass_numbers(case, window):
    """L-SWAG as the only per-sample reader computes its window's layers only; its score is the full
    pass's, bit for bit, and the pass holds exactly the window's layers."""
    net, x, y = case
    lo, hi = window
    options = {"lswag": {"window_lo": lo, "window_hi": hi}, "lswag_lambda": {"window_lo": lo, "window_hi": hi}}
    alone = score_network(net, x, y, ["lswag"], options)["lswag"]
    with_others = score_network(net, x, y, ["lswag", "gradsign"], options)["lswag"]
    assert alone.ok and with_others.ok
    assert alone.score == with_others.score
    probe = Probe(net, x, y, planned=[PROXIES.get("lswag").needs])
    names = [n for n, _ in scored_layers(probe.net)]
    chosen = names[len(names) // 2:]
    assert list(probe.per_sample_gradients(layers=chosen)) == chosen
    full = Probe(net, x, y).per_sample_gradients()
    subset = probe.per_sample_gradients(layers=chosen)
    for n in chosen:
        assert torch.equal(subset[n].abs_total, full[n].abs_total)
        assert torch.equal(subset[n].sq_total, full[n].sq_total)
        assert torch.equal(subset[n].sign_total, full[n].sign_total)


def test_ntk_rows_per_sample_equal_the_batch_backward_rows_where_samples_never_meet(tiny_batch):
    """A ViT (LayerNorm, no BatchNorm, no dropout): J's rows from each sample alone (per-sample
    gradients) are the rows of one backward per sample through the whole batch."""
    from conftest import tiny_cnn, tiny_vit

    from zcbench.proxies.ntk import _coupled_rows, samples_independent

    x, _ = tiny_batch
    net = tiny_vit().train()
    assert samples_independent(net) and not samples_independent(tiny_cnn().train())
    weights = [p for name, p in net.named_parameters() if name.endswith("weight")]
    coupled = _coupled_rows(net, x, weights).double()
    alone = tangent_features(net, x, chunk_size=3).double()  # chunks that do not divide the batch
    assert alone.shape == coupled.shape
    torch.testing.assert_close(alone, coupled, rtol=1e-4, atol=1e-6)
    torch.testing.assert_close(alone @ alone.T, coupled @ coupled.T, rtol=1e-4, atol=1e-6)
    net.blocks[0].mlp.insert(2, torch.nn.Dropout(0.1))  # a dropout mask per batch couples them again
    assert not samples_independent(net)


def test_per_sample_chunks_are_sized_by_memory_and_do_not_change_the_statistics(tiny_batch):
    from conftest import tiny_cnn

    from zcbench.proxies.probe import Probe, per_sample_chunk

    # NB201 (~1.5M weights) and AutoFormer-T (7.6M): 16; a TNB autoencoder (37M): 4; never under 2
    assert [per_sample_chunk(n) for n in (1_500_000, 7_600_000, 37_000_000, 10**9)] == [16, 16, 4, 2]
    x, y = tiny_batch
    net = tiny_cnn()
    stats = {c: Probe(net, x, y).per_sample_gradients(chunk_size=c) for c in (None, 4, 16)}
    for name, ref in stats[16].items():
        for c in (None, 4):
            torch.testing.assert_close(stats[c][name].abs_total, ref.abs_total, rtol=1e-5, atol=1e-9)  # float32 rounding of the vmapped convolutions
            torch.testing.assert_close(stats[c][name].sq_total, ref.sq_total, rtol=1e-5, atol=1e-12)
            assert torch.equal(stats[c][name].sign_total, ref.sign_total)


def _shared_forward(net, x, y, batch_chunk, loss_fn=None):
    """Every pass of the shared forward, planned together, with the given chunking."""
    passes = frozenset({"activation_codes", "gradients", "channel_saliency", "hessian_gradient", "input_jacobian"})
    from zcbench.proxies.base import Needs

    probe = Probe(net, x, y, loss_fn, planned=[Needs(passes=passes)], batch_chunk=batch_chunk)
    probe.gradients()
    return probe


def test_shared_forward_in_chunks_equals_the_whole_batch_where_samples_never_meet(tiny_batch, monkeypatch):
    """A ViT's shared forward run 3 samples at a time (chunks that do not divide the batch of 16):
    codes, gradients, saliency, H g and the input Jacobian equal one pass over the whole batch,
    layers fed one tensor still share one code tensor, and the scores are unchanged."""
    from conftest import tiny_vit

    from zcbench.proxies import probe as probe_module
    from zcbench.proxies.probe import input_chunk

    x, y = tiny_batch
    torch.manual_seed(0)
    net = tiny_vit()
    whole, chunked = _shared_forward(net, x, y, 0), _shared_forward(net, x, y, 3)
    assert whole._forward_chunk() is None and chunked._forward_chunk() == 3
    a, b = whole.activation_codes(), chunked.activation_codes()
    assert [n for n, _ in a] == [n for n, _ in b] and all(torch.equal(s, t) for (_, s), (_, t) in zip(a, b))
    assert len({id(t) for _, t in a}) == len({id(t) for _, t in b})
    for key in ("gradients", "hessian_gradient"):
        for name, ref in getattr(whole, key)().items():
            torch.testing.assert_close(getattr(chunked, key)()[name], ref, rtol=1e-4, atol=1e-7)
    for (n1, s1), (n2, s2) in zip(whole.channel_saliency(), chunked.channel_saliency()):
        assert n1 == n2
        torch.testing.assert_close(s2, s1, rtol=1e-4, atol=1e-8)
    torch.testing.assert_close(chunked.input_jacobian(), whole.input_jacobian(), rtol=1e-4, atol=1e-7)
    names = ["grad_norm", "snip", "grasp", "fisher", "jacov", "plain", "nwot", "swap", "epe_nas"]
    alone = score_network(net, x, y, names)  # 16 images of 8 px: input_chunk keeps the whole batch
    assert input_chunk(x) >= 16
    monkeypatch.setattr(probe_module, "input_chunk", lambda inputs: 3)  # what 224 px inputs would give
    in_chunks = score_network(net, x, y, names)
    for n in names:
        assert math.isclose(in_chunks[n].score, alone[n].score, rel_tol=1e-4, abs_tol=1e-7), n


def test_shared_forward_is_not_chunked_where_the_batch_couples_samples_or_the_loss_is_no_mean(tiny_batch):
    """BatchNorm in train mode couples the samples, and a summed loss is no size-weighted mean of
    chunk losses: both run the whole batch at once (same numbers as batch_chunk=0)."""
    from conftest import tiny_vit

    from zcbench.proxies.probe import input_chunk

    x, y = tiny_batch
    assert _shared_forward(tiny_cnn(), x, y, 3)._forward_chunk() is None
    torch.manual_seed(0)
    net = tiny_vit()
    summed = lambda out, target: nn.functional.cross_entropy(out, target, reduction="sum")  # noqa: E731
    probe = _shared_forward(net, x, y, 3, loss_fn=summed)
    ref = _shared_forward(net, x, y, 0, loss_fn=summed)
    for name, g in ref.gradients().items():
        assert torch.equal(probe.gradients()[name], g)
    # 8 images at 224 px fill a chunk; 32 or 64 px batches are never cut
    assert input_chunk(torch.zeros(16, 3, 224, 224)) == 8 and input_chunk(torch.zeros(64, 3, 64, 64)) >= 64
