"""Tests of ASREncoder: shapes, masks, equivalence with SpeechBrain."""

import pytest
import torch
from speechbrain.lobes.models.convolution import ConvolutionFrontEnd
from speechbrain.lobes.models.transformer.Conformer import ConformerEncoder
from speechbrain.lobes.models.transformer.TransformerASR import TransformerASR

from speechbrain_ee.lobes.asr_encoder import ASREncoder


def small_conformer(layers=2, d_model=32):
    return ConformerEncoder(layers, d_model, 64, 4, kernel_size=7)


def test_shapes_with_front_end():
    torch.manual_seed(0)
    enc = ASREncoder(
        encoder=small_conformer(),
        front_end=ConvolutionFrontEnd(
            input_shape=(2, 40, 20), num_blocks=2, num_layers_per_block=1,
            out_channels=(8, 4), kernel_sizes=(3, 3), strides=(2, 2),
            residuals=(False, False)),
        input_size=20,  # 4 channels x 20 mels / 4
        d_model=32,
    )
    out = enc(torch.rand(2, 40, 20), torch.tensor([1.0, 0.6]))
    assert out.shape == (2, 10, 32)


def test_padding_mask_marks_padded_frames():
    enc = ASREncoder(encoder=small_conformer(), input_size=8, d_model=32)
    x = enc.embed(torch.rand(2, 10, 8))
    key_mask, src_mask = enc.masks(x, torch.tensor([1.0, 0.5]))
    assert src_mask is None
    assert key_mask[0].sum() == 0
    assert key_mask[1].tolist() == [False] * 5 + [True] * 5


def test_causal_mask_forbids_future():
    enc = ASREncoder(encoder=small_conformer(), input_size=8, d_model=32,
                     causal=True)
    x = enc.embed(torch.rand(1, 6, 8))
    _, src_mask = enc.masks(x)
    assert src_mask[0, 1] and not src_mask[1, 0]


def test_equals_speechbrain_transformer_asr_encode():
    """Same weights -> same output as SpeechBrain's TransformerASR.encode."""
    torch.manual_seed(0)
    ref = TransformerASR(
        input_size=12, tgt_vocab=10, d_model=32, nhead=4,
        num_encoder_layers=2, num_decoder_layers=0, d_ffn=64, dropout=0.0,
        encoder_module="conformer", attention_type="RelPosMHAXL",
        kernel_size=7, normalize_before=True, causal=False,
    ).eval()
    ours = ASREncoder(encoder=ref.encoder, input_size=12, d_model=32,
                      dropout=0.0).eval()
    ours.projection[0].load_state_dict(
        ref.custom_src_module.layers[0].state_dict())
    x = torch.rand(3, 20, 12)
    lens = torch.tensor([1.0, 0.7, 0.4])
    with torch.no_grad():
        expected = ref.encode(x, lens)
        got = ours(x, lens)
    torch.testing.assert_close(got, expected)


def test_rejects_unknown_positional_encoding():
    with pytest.raises(ValueError, match="positional_encoding"):
        ASREncoder(encoder=small_conformer(), input_size=8, d_model=32,
                   positional_encoding="sinusoid")


def test_gradients_reach_every_parameter():
    enc = ASREncoder(encoder=small_conformer(), input_size=8, d_model=32)
    enc(torch.rand(2, 12, 8), torch.tensor([1.0, 0.8])).sum().backward()
    missing = [n for n, p in enc.named_parameters() if p.grad is None]
    assert not missing


def test_fixed_abs_sine_adds_positions():
    enc = ASREncoder(encoder=small_conformer(), input_size=8, d_model=32,
                     positional_encoding="fixed_abs_sine", dropout=0.0)
    feats = torch.zeros(1, 5, 8)
    x = enc.embed(feats)
    # Identical frames differ only by their position.
    assert not torch.allclose(x[0, 0], x[0, 1])


def test_no_quadratic_mask_for_linear_time_encoders():
    from speechbrain.utils.dynamic_chunk_training import DynChunkTrainConfig

    from speechbrain_ee.lobes.summary_mixing_encoders import (
        SummaryMixingConformerEncoder,
    )

    sm = SummaryMixingConformerEncoder(
        num_layers=1, d_model=32, d_ffn=64, nhead=4, kernel_size=7)
    enc = ASREncoder(encoder=sm, input_size=8, d_model=32,
                     positional_encoding="none", causal=True)
    x = enc.embed(torch.rand(2, 12, 8))
    key_mask, src_mask = enc.masks(
        x, torch.tensor([1.0, 0.5]), DynChunkTrainConfig(4, 1))
    assert src_mask is None and key_mask.shape == (2, 12)
