"""Tests of S3-Router's masks: sparsity 0 is the original model, each
layer keeps exactly the requested share, weights never change while the
scores learn through the straight-through estimator, packed masks round
trip, task masks switch and restore outputs, permanent pruning has real
zeros, and the similarity measures."""

import pytest
import torch
from torch import nn

from speechbrain_ee.distill.hubert import SSLEncoder, build_hubert
from speechbrain_ee.routing.masks import (
    MaskedLinear,
    keep_mask,
    load_masks,
    magnitude_masks,
    make_permanent,
    mask_similarity,
    pack_masks,
    route,
    routed_layers,
    unpack_mask,
)

TINY = dict(hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
            intermediate_size=64, conv_dim=16, num_conv_pos_embeddings=8,
            num_conv_pos_embedding_groups=4)


def tiny_encoder():
    torch.manual_seed(0)
    return SSLEncoder(build_hubert(**TINY), freeze_cnn=False).eval()


def wavs():
    torch.manual_seed(1)
    return torch.randn(2, 8000), torch.tensor([1.0, 0.7])


def test_sparsity_zero_is_the_original_model():
    encoder = tiny_encoder()
    x, lens = wavs()
    with torch.no_grad():
        before = encoder(x, lens)
        names = route(encoder, 0.0, mode="prune")
        after = encoder(x, lens)
    assert len(names) == 2 * 6  # q, k, v, out, fc1, fc2 per block
    assert torch.equal(before, after)


def test_finetune_mode_routes_feed_forward_only():
    names = route(tiny_encoder(), 0.1)
    assert len(names) == 4
    assert all("feed_forward" in n for n in names)


@pytest.mark.parametrize("sparsity", [0.1, 0.3, 0.7])
def test_each_layer_keeps_exactly_the_share(sparsity):
    encoder = tiny_encoder()
    route(encoder, sparsity, mode="prune")
    for layer in routed_layers(encoder).values():
        dropped = int((layer.mask() == 0).sum())
        assert dropped == int(sparsity * layer.weight.numel())


def test_weights_frozen_and_scores_learn_straight_through():
    encoder = tiny_encoder()
    route(encoder, 0.2)
    trainable = [n for n, p in encoder.named_parameters() if p.requires_grad]
    assert trainable and all(n.endswith("scores") for n in trainable)
    weights = {n: p.clone() for n, p in encoder.named_parameters()
               if not n.endswith("scores")}
    scores = {n: p.clone() for n, p in encoder.named_parameters()
              if n.endswith("scores")}
    optimizer = torch.optim.Adam(
        [p for p in encoder.parameters() if p.requires_grad], lr=0.1)
    x, lens = wavs()
    for _ in range(3):
        loss = encoder(x, lens).pow(2).mean()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    for name, value in encoder.named_parameters():
        if name.endswith("scores"):
            assert not torch.equal(value, scores[name]), name
        else:
            assert torch.equal(value, weights[name]), name


def test_straight_through_gradient_formula():
    torch.manual_seed(0)
    layer = MaskedLinear(nn.Linear(3, 2), sparsity=0.5)
    x = torch.randn(4, 3)
    layer(x).sum().backward()
    # dL/dW_eff = sum over the batch of the input (the output's grad is 1).
    grad_w_eff = x.sum(dim=0).expand(2, 3)
    expected = grad_w_eff * layer.weight * torch.sign(layer.scores)
    assert torch.allclose(layer.scores.grad, expected, atol=1e-6)


def test_packed_masks_round_trip_and_cost_one_bit(tmp_path):
    encoder = tiny_encoder()
    route(encoder, 0.3, mode="prune")
    packed = pack_masks(encoder)
    torch.save(packed, tmp_path / "task.masks")
    loaded = torch.load(tmp_path / "task.masks")
    for name, layer in routed_layers(encoder).items():
        assert torch.equal(unpack_mask(loaded[name]), layer.mask())
        assert loaded[name]["bits"].numel() == -(-layer.weight.numel() // 8)


def test_switching_task_masks_changes_and_restores_outputs():
    encoder = tiny_encoder()
    route(encoder, 0.3, mode="prune", seed=1)
    x, lens = wavs()
    with torch.no_grad():
        task_a = pack_masks(encoder)
        out_a = encoder(x, lens)
        for layer in routed_layers(encoder).values():
            layer.scores.normal_()  # another task's scores
        task_b = pack_masks(encoder)
        out_b = encoder(x, lens)
        assert not torch.allclose(out_a, out_b)
        load_masks(encoder, task_a)
        assert torch.allclose(encoder(x, lens), out_a, atol=1e-6)
        load_masks(encoder, task_b)
        assert torch.allclose(encoder(x, lens), out_b, atol=1e-6)
        load_masks(encoder, None)  # back to the learned scores
        assert torch.allclose(encoder(x, lens), out_b, atol=1e-6)


def test_make_permanent_gives_real_zeros_and_the_same_outputs():
    encoder = tiny_encoder()
    route(encoder, 0.5, mode="prune")
    x, lens = wavs()
    with torch.no_grad():
        masked = encoder(x, lens)
        zeros = make_permanent(encoder)
        pruned = encoder(x, lens)
    assert zeros == pytest.approx(0.5, abs=0.01)
    assert not routed_layers(encoder)
    assert torch.allclose(masked, pruned, atol=1e-5)


def test_weight_rank_init_starts_from_magnitude_pruning():
    encoder = tiny_encoder()
    route(encoder, 0.3, mode="prune", init="weight_rank")
    learned = {n: l.mask() for n, l in routed_layers(encoder).items()}
    sim = mask_similarity(learned, magnitude_masks(encoder, 0.3))
    assert sim["cosine"] == pytest.approx(1.0)
    assert sim["iou_removed"] == pytest.approx(1.0)
    other = tiny_encoder()
    route(other, 0.3, mode="prune", init="kaiming_uniform")
    random = mask_similarity(pack_masks(other), learned)
    assert random["iou_removed"] < 0.5


def test_keep_mask_and_bad_sparsity():
    assert keep_mask(torch.ones(10), 0.0).sum() == 10
    with pytest.raises(ValueError, match="sparsity"):
        MaskedLinear(nn.Linear(2, 2), 1.0)
    with pytest.raises(ValueError, match="no linear layer"):
        route(nn.Sequential(nn.ReLU()), 0.1)


def _routed(tmp_path, **kwargs):
    """A RoutedEncoder over the tiny encoder (its weights saved first, as
    a pretrained checkpoint)."""
    from speechbrain_ee.routing.encoder import RoutedEncoder

    source = tiny_encoder()
    torch.save(source.state_dict(), tmp_path / "pretrained.ckpt")
    torch.manual_seed(5)
    fresh = SSLEncoder(build_hubert(**TINY), freeze_cnn=False)
    return RoutedEncoder(fresh, checkpoint=str(tmp_path / "pretrained.ckpt"),
                         **kwargs).eval()


def test_weight_fine_tuning_under_fixed_masks(tmp_path):
    """The optional second pruning stage: a routed run's weights and
    scores reloaded, the scores frozen, the weights trained; the dropped
    weights get no gradient, so the mask stays exact."""
    first = _routed(tmp_path, sparsity=0.5, mode="prune", init="weight")
    with torch.no_grad():
        for layer in routed_layers(first).values():
            layer.scores.normal_()  # "learned" scores
    torch.save(nn.ModuleList([first]).state_dict(), tmp_path / "model.ckpt")
    second = _routed(tmp_path, sparsity=0.5, mode="prune", init="weight",
                     routed_checkpoint=str(tmp_path / "model.ckpt"),
                     routed_checkpoint_prefix="0.encoder.",
                     train_weights=True)
    x, lens = wavs()
    with torch.no_grad():
        assert torch.allclose(second(x, lens), first(x, lens), atol=1e-6)
    trainable = [n for n, p in second.named_parameters() if p.requires_grad]
    assert trainable and all(n.endswith(".weight") for n in trainable)
    assert len(trainable) == len(routed_layers(second))
    second.train()
    second(x, lens).pow(2).mean().backward()
    for layer in routed_layers(second).values():
        assert layer.scores.grad is None
        dropped = layer.mask() == 0
        assert layer.weight.grad[dropped].abs().max() == 0
        assert layer.weight.grad[~dropped].abs().max() > 0


def test_task_router_switches_masks_and_heads(tmp_path):
    from speechbrain_ee.routing.tasks import TaskRouter, current_task

    encoder = _routed(tmp_path, sparsity=0.3)
    router = TaskRouter(encoder)
    masks_a, fingerprint = current_task(encoder)
    router.add_task("a", masks_a, nn.Linear(32, 5), fingerprint)
    with torch.no_grad():
        for layer in routed_layers(encoder).values():
            layer.scores.normal_()
    router.add_task("b", *current_task(encoder)[:1], nn.Linear(32, 7))
    x, lens = wavs()
    with torch.no_grad():
        router.use("a")
        out_a = router(x, lens)
        router.use("b")
        assert router(x, lens).shape[-1] == 7
        router.use("a")
        assert torch.equal(router(x, lens), out_a)
    bits = router.task_bits("a")
    assert bits["mask_bits_per_routed_weight"] == 1.0
    assert bits["copy_bits"] == 32 * (bits["routed_weights"] + 32 * 5 + 5)
    # Saved tasks reload into a router over the same frozen weights.
    router.save_tasks(tmp_path / "tasks.pt")
    again = TaskRouter(_routed(tmp_path, sparsity=0.3))
    again.load_tasks(tmp_path / "tasks.pt",
                     lambda name: nn.Linear(32, 5 if name == "a" else 7))
    again.eval().use("a")
    with torch.no_grad():
        assert torch.allclose(again(x, lens), out_a, atol=1e-6)
    with pytest.raises(KeyError, match="unknown task 'c'"):
        router.use("c")


def test_task_router_refuses_masks_of_other_weights(tmp_path):
    from speechbrain_ee.routing.tasks import TaskRouter, current_task

    router = TaskRouter(_routed(tmp_path, sparsity=0.3))
    other = tiny_encoder()
    with torch.no_grad():
        other.model.encoder.layers[0].feed_forward.output_dense.weight.add_(1)
    route(other, 0.3)
    with pytest.raises(ValueError, match="other frozen weights"):
        router.add_task("x", *current_task(other), nn.Linear(32, 5))
    bigger = SSLEncoder(build_hubert(**dict(TINY, intermediate_size=128)))
    route(bigger, 0.3)
    with pytest.raises(ValueError, match="right shape"):
        router.add_task("y", pack_masks(bigger), nn.Linear(32, 5))
