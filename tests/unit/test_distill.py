"""Tests of SSL distillation: the losses against hand computations, the
frozen teacher, hidden states against transformers' own, padding
invariance, front-end frame rates, the fairseq head loader, the DistilHuBERT
initialisation and a few distillation steps that lower the loss; the SSL
encoder's fine-tuning options (LayerDrop, feature masking, its pretrained
checkpoint)."""

import math

import pytest
import torch

from speechbrain_ee.distill.hubert import (
    CodewordHead,
    SSLEncoder,
    build_hubert,
    encoder_hidden_states,
    hubert_config,
)
from speechbrain_ee.distill.losses import (
    discriminative_loss,
    frontend_loss,
    regression_loss,
)
from speechbrain_ee.distill.pretrain import HuBERTPretrainer
from speechbrain_ee.distill.student import (
    DistillStudent,
    FbankFrontEnd,
    LayerwisePredictionHeads,
    SharedPredictionHead,
    WaveformFrontEnd,
    align_frames,
)
from speechbrain_ee.distill.teacher import (
    SSLTeacher,
    codeword_head_from_fairseq,
)

TINY = dict(hidden_size=32, num_hidden_layers=3, num_attention_heads=4,
            intermediate_size=64, conv_dim=16, num_conv_pos_embeddings=8,
            num_conv_pos_embedding_groups=4)


def tiny_teacher(**overrides):
    torch.manual_seed(0)
    model = build_hubert(**{**TINY, **overrides})
    return SSLTeacher(model, CodewordHead(32, 16, 10))


def test_regression_loss_by_hand():
    pred = torch.tensor([[[1.0, 0.0], [0.0, 2.0], [9.0, 9.0]]])
    target = torch.tensor([[[1.0, 2.0], [0.0, 2.0], [0.0, 0.0]]])
    mask = torch.tensor([[True, True, False]])  # the third frame is padding
    out = regression_loss({4: pred}, {4: target}, mask, l1_weight=1.0,
                          cos_weight=2.0)
    l1 = ((0 + 2) / 2 + 0) / 2  # per-frame mean |diff|, then frame mean
    cos1 = 1 / math.sqrt(5)  # cos((1,0),(1,2))
    logsig = (-math.log(1 / (1 + math.exp(-cos1)))
              - math.log(1 / (1 + math.exp(-1.0)))) / 2
    assert float(out.l1) == pytest.approx(l1)
    assert float(out.cos) == pytest.approx(logsig, rel=1e-5)
    assert float(out.loss) == pytest.approx(l1 + 2 * logsig, rel=1e-5)


def test_regression_loss_averages_layers():
    mask = torch.ones(1, 2, dtype=torch.bool)
    a, b = torch.zeros(1, 2, 3), torch.ones(1, 2, 3)
    out = regression_loss({1: a, 2: b}, {1: b, 2: b}, mask, cos_weight=0.0)
    assert float(out.l1) == pytest.approx(0.5)
    assert float(out.per_layer[1]) == pytest.approx(1.0)


def test_discriminative_loss_by_hand():
    teacher = torch.tensor([[[0.0, math.log(3.0)]]])  # p_T = (1/4, 3/4)
    student = torch.tensor([[[0.0, 0.0]]])  # p_S = (1/2, 1/2)
    mask = torch.ones(1, 1, dtype=torch.bool)
    kl = 0.25 * math.log(0.25 / 0.5) + 0.75 * math.log(0.75 / 0.5)
    assert float(discriminative_loss(student, teacher, mask)) == \
        pytest.approx(kl, rel=1e-5)
    # Temperature 2 softens both: p_T = softmax(0, log(3)/2).
    p1 = math.sqrt(3) / (1 + math.sqrt(3))
    kl2 = (1 - p1) * math.log((1 - p1) / 0.5) + p1 * math.log(p1 / 0.5)
    assert float(discriminative_loss(student, teacher, mask, 2.0)) == \
        pytest.approx(kl2, rel=1e-5)


def test_discriminative_loss_ignores_padding_and_is_zero_on_match():
    logits = torch.randn(2, 4, 7)
    mask = torch.tensor([[1, 1, 1, 1], [1, 1, 0, 0]], dtype=torch.bool)
    noisy = logits.clone()
    noisy[1, 2:] = torch.randn(2, 7)  # padded frames differ
    assert float(discriminative_loss(noisy, logits, mask)) == \
        pytest.approx(0.0, abs=1e-6)
    assert float(discriminative_loss(logits + 1.0, logits, mask)) == \
        pytest.approx(0.0, abs=1e-6)  # a shift is the same distribution
    assert float(discriminative_loss(torch.randn(2, 4, 7), logits,
                                     mask)) > 0


def test_frontend_loss_by_hand():
    mask = torch.tensor([[True, False]])
    pred = torch.tensor([[[1.0, 3.0], [50.0, 50.0]]])
    target = torch.zeros(1, 2, 2)
    assert float(frontend_loss(pred, target, mask)) == pytest.approx(2.0)


def test_teacher_matches_transformers_hidden_states():
    teacher = tiny_teacher()
    wavs = torch.randn(2, 16000)
    out = teacher(wavs, torch.tensor([1.0, 1.0]))
    ref = teacher.model(wavs, output_hidden_states=True).hidden_states
    assert len(out.hidden_states) == len(ref) == 4
    for ours, theirs in zip(out.hidden_states, ref):
        assert torch.allclose(ours, theirs, atol=1e-5)
    # The codeword head is HuBERT's: cosine with the codewords / 0.1.
    head = teacher.codeword_head
    proj = head.final_proj(out.hidden_states[-1])
    cos = torch.nn.functional.cosine_similarity(
        proj.unsqueeze(2), head.label_embeddings, dim=-1)
    assert torch.allclose(out.codeword_logits, cos / 0.1, atol=1e-4)


def test_teacher_is_padding_invariant_with_layer_norm_cnn():
    teacher = tiny_teacher(feat_extract_norm="layer")
    short = torch.randn(1, 8000)
    alone = teacher(short, torch.tensor([1.0]))
    batch = torch.cat([torch.cat([short, torch.randn(1, 8000)], 1),
                       torch.randn(1, 16000)])
    padded = teacher(batch, torch.tensor([0.5, 1.0]))
    frames = alone.hidden_states[-1].shape[1]
    assert int(padded.frame_mask[0].sum()) == frames
    for a, b in zip(alone.hidden_states, padded.hidden_states):
        assert torch.allclose(a[0], b[0, :frames], atol=1e-4)


def test_teacher_stays_frozen():
    teacher = tiny_teacher()
    before = {k: v.clone() for k, v in teacher.state_dict().items()}
    teacher.train()
    assert not teacher.training and not teacher.model.training
    assert all(not p.requires_grad for p in teacher.parameters())
    student = DistillStudent(
        WaveformFrontEnd(build_hubert(**TINY)), hubert_config(**TINY),
        SharedPredictionHead(32, 32, [1, 3]))
    optimizer = torch.optim.Adam(student.parameters(), lr=1e-2)
    wavs, lens = torch.randn(2, 8000), torch.ones(2)
    target = teacher(wavs, lens)
    out = student(wavs, lens)
    loss = regression_loss(out.predictions, target.hidden_states,
                           out.frame_mask).loss
    loss.backward()
    optimizer.step()
    assert all(p.grad is None for p in teacher.parameters())
    for key, value in teacher.state_dict().items():
        assert torch.equal(value, before[key]), key


@pytest.mark.parametrize("seconds", [0.5, 1.0, 1.37, 3.0])
def test_fbank_front_end_matches_the_teacher_frame_rate(seconds):
    from speechbrain.lobes.features import Fbank

    teacher = tiny_teacher()
    wavs = torch.randn(1, int(seconds * 16000))
    teacher_frames = teacher(wavs, torch.ones(1)).hidden_states[0].shape[1]
    feats = Fbank(n_mels=80)(wavs)
    x, mask = FbankFrontEnd(80, 32)(feats, torch.ones(1))
    assert abs(x.shape[1] - teacher_frames) <= 2
    a, b = align_frames(x, teacher(wavs, torch.ones(1)).hidden_states[0])
    assert a.shape[1] == b.shape[1] == min(x.shape[1], teacher_frames)


def test_fairseq_head_loads(tmp_path):
    head = CodewordHead(32, 16, 10)
    path = tmp_path / "hubert.pt"
    torch.save({"model": {
        "final_proj.weight": head.final_proj.weight.data,
        "final_proj.bias": head.final_proj.bias.data,
        "label_embs_concat": head.label_embeddings.data,
    }}, path)
    loaded = codeword_head_from_fairseq(str(path))
    hidden = torch.randn(1, 3, 32)
    assert torch.allclose(loaded(hidden), head(hidden))
    torch.save({"model": {"w": torch.zeros(1)}}, path)
    with pytest.raises(ValueError, match="pretraining head"):
        codeword_head_from_fairseq(str(path))


def test_distilhubert_init_copies_the_teacher():
    teacher = tiny_teacher()
    student = DistillStudent(
        WaveformFrontEnd(build_hubert(**{**TINY, "num_hidden_layers": 1})),
        hubert_config(**{**TINY, "num_hidden_layers": 2}),
        SharedPredictionHead(32, 32, [1, 3]))
    student.init_from_teacher(teacher, num_layers=2)
    student.eval()
    wavs = torch.randn(1, 8000)
    out = student(wavs, torch.ones(1))
    ref = teacher(wavs, torch.ones(1))
    for layer in (0, 1, 2):
        assert torch.allclose(out.hidden_states[layer],
                              ref.hidden_states[layer], atol=1e-5)


def test_a_few_distillation_steps_lower_the_loss():
    from speechbrain.lobes.features import Fbank

    teacher = tiny_teacher()
    torch.manual_seed(1)
    student = DistillStudent(
        FbankFrontEnd(40, 24), hubert_config(**{**TINY, "hidden_size": 24,
                                                "num_hidden_layers": 2}),
        LayerwisePredictionHeads(24, 32, {1: 2, 2: 3}), num_codewords=10,
        teacher_size=32)
    optimizer = torch.optim.AdamW(student.parameters(), lr=3e-3)
    wavs, lens = torch.randn(4, 12000), torch.tensor([1.0, 0.9, 0.8, 0.7])
    feats = Fbank(n_mels=40)(wavs)
    feats = (feats - feats.mean()) / feats.std()
    target = teacher(wavs, lens)

    def step():
        out = student(feats, lens)
        length = min(out.hidden_states[0].shape[1],
                     target.hidden_states[0].shape[1])
        mask = target.frame_mask[:, :length]
        preds = {k: v[:, :length] for k, v in out.predictions.items()}
        targets = [h[:, :length] for h in target.hidden_states]
        loss = regression_loss(preds, targets, mask).loss
        loss = loss + 0.5 * discriminative_loss(
            out.codeword_logits[:, :length],
            target.codeword_logits[:, :length], mask)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        return float(loss.detach())

    losses = [step() for _ in range(30)]
    assert losses[-1] < 0.7 * losses[0], losses


def test_cnn_cache_is_exact_and_shared_through_its_folder(tmp_path):
    """With the CNN frozen, the cached encoder equals the uncached one at
    batch 1, gives a padded utterance its batch-1 output (group norm
    included), and a second encoder over the same CNN reads the folder."""
    from speechbrain_ee.distill.hubert import SSLEncoder

    def encoder(cache):
        torch.manual_seed(0)
        return SSLEncoder(build_hubert(**TINY), cnn_cache=cache).eval()

    plain, cached = encoder(None), encoder(str(tmp_path))
    short, long = torch.randn(1, 8000), torch.randn(1, 16000)
    batch = torch.cat([torch.cat([short, torch.zeros(1, 8000)], 1), long])
    lens = torch.tensor([0.5, 1.0])
    with torch.no_grad():
        alone = plain(short, torch.ones(1))
        assert torch.allclose(cached(short, torch.ones(1)), alone, atol=1e-6)
        out = cached(batch, lens)
        frames = alone.shape[1]
        assert torch.allclose(out[0, :frames], alone[0], atol=1e-5)
        assert torch.allclose(out[1], plain(long, torch.ones(1))[0],
                              atol=1e-5)
        assert cached.cnn_cache.misses == 2 and cached.cnn_cache.hits == 1
        reader = encoder(str(tmp_path))
        assert torch.allclose(reader(batch, lens), out, atol=1e-6)
        assert reader.cnn_cache.misses == 0
    # Other CNN weights: another subfolder, nothing read.
    other = encoder(str(tmp_path))
    with torch.no_grad():
        other.model.feature_extractor.conv_layers[0].conv.weight.add_(0.1)
        other(batch, lens)
    assert other.cnn_cache.misses == 2
    with pytest.raises(ValueError, match="frozen CNN"):
        SSLEncoder(build_hubert(**TINY), freeze_cnn=False, cnn_cache=True)


def test_frozen_cnn_builds_no_graph():
    """transformers' CNN asks for the waveform's gradient in training mode
    unless frozen its own way; a frozen CNN must not be backpropagated
    through (its output needs no gradient), a trained one must."""
    from speechbrain_ee.distill.hubert import SSLEncoder

    seen = []
    for freeze in (True, False):
        torch.manual_seed(0)
        encoder = SSLEncoder(build_hubert(**TINY), freeze_cnn=freeze).train()
        encoder.model.feature_extractor.register_forward_hook(
            lambda module, args, out: seen.append(out.requires_grad))
        encoder(torch.randn(2, 8000), torch.ones(2)).sum().backward()
    assert seen == [False, True]


def test_layerdrop_skips_layers_in_training_only():
    """LayerDrop 1.0: in training every layer is skipped (each hidden state
    is the input of layer 1); in eval none is."""
    torch.manual_seed(0)
    model = build_hubert(**{**TINY, "layerdrop": 1.0})
    feats = torch.randn(2, 20, 32)
    mask = torch.ones(2, 20, dtype=torch.bool)
    model.train()
    states = encoder_hidden_states(model.encoder, feats, mask)
    assert all(torch.equal(s, states[0]) for s in states[1:])
    model.eval()
    states = encoder_hidden_states(model.encoder, feats, mask)
    assert not torch.equal(states[1], states[0])


def test_ssl_encoder_masks_features_in_training_only():
    torch.manual_seed(0)
    model = build_hubert(**{**TINY, "mask_time_prob": 0.5})
    encoder = SSLEncoder(model, mask_time_prob=0.5, mask_time_length=4,
                         mask_feature_prob=0.3, mask_feature_length=4)
    features = torch.randn(2, 30, 32)
    frame_mask = torch.ones(2, 30, dtype=torch.bool)
    frame_mask[1, 20:] = False
    masked = encoder.mask_features(features, frame_mask)
    embed = model.masked_spec_embed
    # masked frames hold the mask embedding (bar the zeroed channels)
    spans = (masked == embed).sum(-1) >= 32 * 0.5
    assert spans[0].any() and not spans[1, 20:].any()
    zero_channels = (masked == 0).all(dim=1)
    assert zero_channels.any(dim=1).all()
    wavs = torch.randn(2, 8000)
    encoder.eval()
    assert torch.equal(encoder(wavs), encoder(wavs))  # no masking in eval


def test_ssl_encoder_loads_a_pretraining_checkpoint_and_refuses_a_wrong_one(tmp_path):
    torch.manual_seed(0)
    pretrained = HuBERTPretrainer(build_hubert(**{**TINY, "mask_time_prob": 0.5}),
                                  CodewordHead(32, 16, 10))
    torch.save(pretrained.state_dict(), tmp_path / "teacher.ckpt")
    encoder = SSLEncoder(build_hubert(**{**TINY, "mask_time_prob": 0.5}),
                         CodewordHead(32, 16, 10),
                         checkpoint=str(tmp_path / "teacher.ckpt"))
    for name, value in pretrained.model.state_dict().items():
        assert torch.equal(encoder.model.state_dict()[name], value), name
    with pytest.raises(RuntimeError, match="does not fit"):
        SSLEncoder(build_hubert(**{**TINY, "hidden_size": 16}),
                   CodewordHead(16, 16, 10), checkpoint=str(tmp_path / "teacher.ckpt"))
