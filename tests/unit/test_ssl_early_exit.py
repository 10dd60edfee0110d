"""Early exits on the encoders around a HuBERT/wav2vec2 Transformer (the SSL
encoder, distilled students, routed models): their layer loop gives
transformers' own hidden states; every exit is "backbone to layer k, then
head k"; heads-only training on a frozen backbone leaves it bit-identical;
the overthinking statistic counts as by hand."""

import numpy as np
import pytest
import torch
from speechbrain.nnet.linear import Linear

from speechbrain_ee.analysis.tradeoff import ExitRecords, overthinking_summary
from speechbrain_ee.analysis.timing import measure_speed
from speechbrain_ee.decoding.exit_strategies import FixedExit, TokenConfidence
from speechbrain_ee.distill.hubert import SSLEncoder, build_hubert
from speechbrain_ee.distill.student import (
    DistillStudent,
    FbankFrontEnd,
    SharedPredictionHead,
    StudentEncoder,
    WaveformFrontEnd,
)
from speechbrain_ee.lobes.contract import CTCModel
from speechbrain_ee.lobes.dynamic_ctc import DynamicCTCEncoder
from speechbrain_ee.lobes.early_exit import ExitAdapter
from speechbrain_ee.lobes.layer_loop import run_layers
from speechbrain_ee.nnet.frozen import freeze, is_frozen
from speechbrain_ee.routing.encoder import RoutedEncoder

D, LAYERS, VOCAB = 32, 3, 9
SIZES = dict(hidden_size=D, num_hidden_layers=LAYERS, num_attention_heads=4,
             intermediate_size=64, conv_dim=16, num_conv_pos_embeddings=8,
             num_conv_pos_embedding_groups=4, hidden_dropout=0.1,
             attention_dropout=0.1, layerdrop=0.1)


def hubert(pre_ln, seed=0):
    torch.manual_seed(seed)
    return build_hubert(do_stable_layer_norm=pre_ln,
                        feat_extract_norm="layer" if pre_ln else "group",
                        mask_time_prob=0.05, **SIZES)


def waves(lengths=(8000, 6000, 4000), seed=3):
    gen = torch.Generator().manual_seed(seed)
    wavs = torch.randn(len(lengths), max(lengths), generator=gen)
    mask = torch.zeros(wavs.shape, dtype=torch.long)
    for row, length in enumerate(lengths):
        wavs[row, length:] = 0.0
        mask[row, :length] = 1
    return wavs, torch.tensor(lengths, dtype=torch.float) / max(lengths), mask


def reference_states(model, wavs, sample_mask):
    """transformers' own hidden states and last hidden state."""
    out = model(wavs, attention_mask=sample_mask, output_hidden_states=True)
    return list(out.hidden_states), out.last_hidden_state


def encoder_states(encoder, features, frame_mask):
    """transformers' encoder on its own (a student's): each layer's output
    (recorded by hooks; index 0 unused) and its last hidden state."""
    outputs = [None]
    hooks = [layer.register_forward_hook(
        lambda module, args, out: outputs.append(out[0] if isinstance(out, tuple) else out))
        for layer in encoder.layers]
    last = encoder(features.clone(), attention_mask=frame_mask).last_hidden_state
    for hook in hooks:
        hook.remove()
    return outputs, last


@pytest.mark.parametrize("pre_ln", [True, False])
def test_ssl_layer_loop_gives_transformers_hidden_states(pre_ln):
    model = hubert(pre_ln).eval()
    encoder = SSLEncoder(model).eval()
    wavs, wav_lens, sample_mask = waves()
    with torch.no_grad():
        states, last = reference_states(model, wavs, sample_mask)
        state = encoder.start_state(wavs, wav_lens)
        real = ~state.src_key_padding_mask
        assert torch.equal(real.sum(1), model._get_feature_vector_attention_mask(
            state.x.shape[1], sample_mask).sum(1))
        torch.testing.assert_close(state.x, states[0])
        for k in range(1, LAYERS + 1):
            after = run_layers(encoder.layers, state, 0, k)
            torch.testing.assert_close(after.x[real], states[k][real])
        torch.testing.assert_close(encoder.norm(after.x)[real], last[real])
        torch.testing.assert_close(encoder(wavs, wav_lens)[real], last[real])
    assert isinstance(encoder.norm, torch.nn.LayerNorm) == pre_ln


def exit_model(encoder, final_head=None, **kwargs):
    torch.manual_seed(5)
    return DynamicCTCEncoder(encoder, D, VOCAB, adapter=ExitAdapter,
                             final_head=final_head, head_init=final_head,
                             exit_loss_scheme="final_weighted", **kwargs).eval()


def check_exits_are_backbone_then_head(model, states, real, final_head=None):
    """Exit k's log-probabilities are head k on the backbone's hidden state
    after layer k (transformers' hidden_states[k])."""
    assert model.head_layers == list(range(1, LAYERS + 1))
    for position, layer in enumerate(model.head_layers):
        hidden = states[layer]
        if final_head is not None and layer == LAYERS:
            expected = torch.log_softmax(final_head(model.exit_norms[-1](hidden)), -1)
        else:
            head = model.adapters[position](hidden)
            head = model.exit_norms[position](head)
            expected = torch.log_softmax(model.ctc_heads[0](head), -1)
        yield position, expected[real]


@pytest.mark.parametrize("pre_ln", [True, False])
def test_ssl_exits_equal_backbone_to_layer_k_then_head_k(pre_ln):
    model = hubert(pre_ln).eval()
    ssl = freeze(SSLEncoder(model))
    ctc_lin = freeze(Linear(input_size=D, n_neurons=VOCAB))
    ee = exit_model(ssl, final_head=ctc_lin)
    wavs, wav_lens, sample_mask = waves()
    with torch.no_grad():
        states, last = reference_states(model, wavs, sample_mask)
        out = ee(wavs, wav_lens)
        real = ~out.padding
        for position, expected in check_exits_are_backbone_then_head(
                ee, states, real, ctc_lin):
            torch.testing.assert_close(out.heads[position][real], expected)
        # The last exit is the frozen fine-tuned single-exit model itself.
        single = CTCModel(ssl, ctc_lin)(wavs, wav_lens).output
        torch.testing.assert_close(out.heads[-1][real], single[real])
        # Every exit's CTC layer starts as the fine-tuned one.
        assert torch.equal(ee.ctc_heads[0].weight, ctc_lin.w.weight)
        # An exit strategy decides online as the heads say (fixed exit 2).
        fixed = ee(wavs, wav_lens, exit_strategy=FixedExit(layer=2))
        assert fixed.layers_computed.tolist() == [2, 2, 2]
        torch.testing.assert_close(fixed.output[real], out.heads[1][real])
        # The full model and the timing of a strategy run on it.
        torch.testing.assert_close(ee.forward_full(wavs, wav_lens).output[real],
                                   single[real])
    rounds = measure_speed(ee, [(wavs, wav_lens)], {"token": ee.inference_variant(
        exit_strategy=TokenConfidence(threshold=0.5))}, repeats=1)
    assert {"full", "token", "encoder:token"} <= set(rounds)


@pytest.mark.parametrize("front", ["fbank", "waveform"])
def test_student_exits_equal_backbone_to_layer_k_then_head_k(front):
    from speechbrain_ee.distill.hubert import hubert_config

    torch.manual_seed(0)
    config = hubert_config(**{k: v for k, v in SIZES.items() if k != "layerdrop"})
    front_end = FbankFrontEnd(20, D) if front == "fbank" else \
        WaveformFrontEnd(hubert(False), grad_scale=0.1)
    student = DistillStudent(front_end, config, SharedPredictionHead(D, D, [1]))
    encoder = StudentEncoder(student).eval()
    inputs = torch.randn(2, 80, 20) if front == "fbank" else waves((6000, 4000))[0]
    lens = torch.tensor([1.0, 0.6])
    ee = exit_model(encoder)
    with torch.no_grad():
        features, frame_mask = student.front_end(inputs, lens)
        states, last = encoder_states(student.encoder, features, frame_mask)
        out = ee(inputs, lens)
        real = ~out.padding
        assert torch.equal(real, frame_mask)
        for position, expected in check_exits_are_backbone_then_head(
                ee, states, real):
            torch.testing.assert_close(out.heads[position][real], expected)
        # The encoder's own output is still the student's, transformers'.
        torch.testing.assert_close(encoder(inputs, lens)[real], last[real])
        torch.testing.assert_close(encoder(inputs, lens)[real],
                                   student.encode(inputs, lens)[real])


def test_routed_exits_equal_backbone_to_layer_k_then_head_k():
    model = hubert(True).eval()
    routed = RoutedEncoder(SSLEncoder(model), sparsity=0.5).eval()
    ee = exit_model(routed)
    wavs, wav_lens, sample_mask = waves()
    with torch.no_grad():
        states, last = reference_states(model, wavs, sample_mask)  # routed layers
        out = ee(wavs, wav_lens)
        real = ~out.padding
        for position, expected in check_exits_are_backbone_then_head(ee, states, real):
            torch.testing.assert_close(out.heads[position][real], expected)
        torch.testing.assert_close(routed.from_state(routed.start_state(wavs, wav_lens))[real],
                                   last[real])
    assert routed.norm is model.encoder.layer_norm


def test_heads_only_training_leaves_the_backbone_bit_identical():
    """A few AdamW steps (weight decay on) on the exits' CTC losses, as the
    recipe computes them: the heads learn, the backbone (encoder, its norm,
    the fine-tuned CTC layer) does not change by a bit and stays in eval
    mode (no masking, LayerDrop or dropout)."""
    ssl = freeze(SSLEncoder(hubert(True), mask_time_prob=0.5))
    ctc_lin = freeze(Linear(input_size=D, n_neurons=VOCAB))
    ee = exit_model(ssl, final_head=ctc_lin).train()
    assert not ssl.training and not ssl.model.training and is_frozen(ssl)
    backbone = {k: v.clone() for k, v in list(ssl.state_dict().items())
                + list(ctc_lin.state_dict().items())}
    heads = {k: v.clone() for k, v in ee.adapters.state_dict().items()}
    optimizer = torch.optim.AdamW(ee.parameters(), lr=1e-3, weight_decay=0.1)
    wavs, wav_lens, _ = waves()
    tokens = torch.randint(1, VOCAB, (3, 4))
    token_lens = torch.tensor([1.0, 0.75, 0.5])
    losses = []
    for _ in range(4):
        out = ee(wavs, wav_lens)
        loss = sum(w * torch.nn.functional.ctc_loss(
            lp.transpose(0, 1), tokens, (~out.padding).sum(1),
            (token_lens * 4).round().long(), zero_infinity=True)
            for w, lp in zip(out.loss_weights, out.heads))
        optimizer.zero_grad()
        loss.backward()
        # every trainable parameter is used (DDP needs it), the backbone is not
        assert all(p.grad is not None for p in ee.parameters() if p.requires_grad)
        assert all(p.grad is None for p in ssl.parameters())
        optimizer.step()
        losses.append(float(loss.detach()))
    assert losses[-1] < losses[0], losses
    after = dict(list(ssl.state_dict().items()) + list(ctc_lin.state_dict().items()))
    for key, value in backbone.items():
        assert torch.equal(after[key], value), key
    assert any(not torch.equal(v, heads[k]) for k, v in ee.adapters.state_dict().items())
    # The frozen model still answers as the single-exit model.
    with torch.no_grad():
        torch.testing.assert_close(ee.eval()(wavs, wav_lens).heads[-1],
                                   CTCModel(ssl, ctc_lin)(wavs, wav_lens).output)


def test_final_head_needs_an_exit_at_the_last_layer():
    ssl = SSLEncoder(hubert(True))
    with pytest.raises(ValueError, match="last exit there"):
        DynamicCTCEncoder(ssl, D, VOCAB, exit_layers=[1, 2],
                          final_head=Linear(input_size=D, n_neurons=VOCAB))


def test_overthinking_statistic_equals_a_hand_count():
    """Four utterances, three exits. By hand: utterance a's exit 1 is
    strictly better than the last (0 errors against 2), b's exit 2 too (1
    against 2), c's earlier exits tie with the last (not overthinking), d's
    are worse. Share 2/4; the oracle saves 2 + 1 errors of 10 reference
    words: 30 WER points."""
    refs = [["A", "B", "C"], ["D", "E"], ["F", "G", "H"], ["I", "J"]]
    per_exit = [  # [exit][utterance] hypotheses
        [["A", "B", "C"], ["X"], ["F", "G", "X"], ["X", "X", "X"]],
        [["A", "X", "C"], ["D", "X"], ["F", "G", "X"], ["I"]],
        [["A", "X", "Y"], ["X", "Y"], ["F", "G", "X"], ["I", "J"]],
    ]
    records = ExitRecords([2, 4, 6], 6)
    records.add(["a", "b", "c", "d"], per_exit, refs)
    assert records.error_matrix.tolist() == [[0, 1, 2], [2, 1, 2], [1, 1, 1], [3, 1, 0]]
    summary = overthinking_summary(records)
    assert summary["overthinking_share"] == 0.5
    assert summary["overthinking_utterances"] == 2
    assert summary["per_exit_WER"] == [60.0, 40.0, 50.0]
    assert summary["last_WER"] == 50.0
    assert summary["oracle_WER"] == 20.0
    assert summary["overthinking_WER_gain"] == pytest.approx(30.0)
    assert summary["best_exit_share"] == pytest.approx([0.5, 0.25, 0.25])
    np.testing.assert_allclose(summary["last_WER"] - summary["oracle_WER"],
                               summary["overthinking_WER_gain"])
