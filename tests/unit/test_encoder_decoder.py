"""Tests of EncoderDecoderASR: shapes, equivalence with SpeechBrain's
TransformerASR, the decode() contract, SpeechBrain's searchers on a tiny
random model, padding invariance with a SummaryMixing encoder."""

import pytest
import torch
from speechbrain.decoders import (
    CTCScorer,
    S2STransformerBeamSearcher,
    S2STransformerGreedySearcher,
    ScorerBuilder,
)
from speechbrain.lobes.models.convolution import ConvolutionFrontEnd
from speechbrain.lobes.models.transformer.Conformer import ConformerEncoder
from speechbrain.lobes.models.transformer.TransformerASR import TransformerASR
from speechbrain.nnet.linear import Linear

from speechbrain_ee.lobes.asr_encoder import ASREncoder
from speechbrain_ee.lobes.encoder_decoder import EncoderDecoderASR
from speechbrain_ee.lobes.summary_mixing_encoders import (
    SummaryMixingConformerEncoder,
)

D = 32
VOCAB = 20
BOS, EOS, BLANK = 1, 2, 0
N_FEATS = 12


def summary_mixing_model(front_end=None, input_size=N_FEATS):
    torch.manual_seed(0)
    encoder = ASREncoder(
        encoder=SummaryMixingConformerEncoder(
            num_layers=2, d_model=D, d_ffn=64, nhead=4, kernel_size=5,
            local_proj_hid_dim=[D], summary_hid_dim=[D]),
        input_size=input_size, d_model=D, front_end=front_end,
        positional_encoding="none")
    return EncoderDecoderASR(encoder, tgt_vocab=VOCAB, d_model=D,
                             num_decoder_layers=2, nhead=4, d_ffn=64)


def conformer_model():
    torch.manual_seed(0)
    encoder = ASREncoder(
        encoder=ConformerEncoder(2, D, 64, 4, kernel_size=5),
        input_size=N_FEATS, d_model=D)
    return EncoderDecoderASR(encoder, tgt_vocab=VOCAB, d_model=D,
                             num_decoder_layers=2, nhead=4, d_ffn=64)


def tokens_bos_batch():
    """bos + tokens, padded with 0 (the pad index)."""
    return torch.tensor([[BOS, 5, 6, 7, 8], [BOS, 9, 10, 0, 0],
                         [BOS, 11, 0, 0, 0]])


@pytest.mark.parametrize("make", [summary_mixing_model, conformer_model])
def test_forward_shapes(make):
    model = make()
    enc, dec = model(torch.rand(3, 30, N_FEATS),
                     torch.tensor([1.0, 0.7, 0.4]), tokens_bos_batch())
    assert enc.shape == (3, 30, D)
    assert dec.shape == (3, 5, D)


def test_forward_with_front_end_subsamples():
    front_end = ConvolutionFrontEnd(
        input_shape=(2, 40, 20), num_blocks=2, num_layers_per_block=1,
        out_channels=(8, 4), kernel_sizes=(3, 3), strides=(2, 2),
        residuals=(False, False))
    model = summary_mixing_model(front_end=front_end, input_size=20)
    enc, dec = model(torch.rand(3, 40, 20), torch.tensor([1.0, 0.7, 0.4]),
                     tokens_bos_batch())
    assert enc.shape == (3, 10, D) and dec.shape == (3, 5, D)


def test_xavier_init_spares_the_front_end():
    torch.manual_seed(3)
    front_end = ConvolutionFrontEnd(
        input_shape=(2, 40, 20), num_blocks=1, num_layers_per_block=1,
        out_channels=(4,), kernel_sizes=(3,), strides=(2,),
        residuals=(False,))
    before = {k: v.clone() for k, v in front_end.state_dict().items()}
    model = summary_mixing_model(front_end=front_end, input_size=40)
    for key, value in model.encoder.front_end.state_dict().items():
        torch.testing.assert_close(value, before[key])


def test_equals_speechbrain_transformer_asr():
    """Same weights -> same encoder and decoder outputs and the same decode()
    as SpeechBrain's TransformerASR (Conformer, RelPosMHAXL)."""
    torch.manual_seed(0)
    ref = TransformerASR(
        tgt_vocab=VOCAB, input_size=N_FEATS, d_model=D, nhead=4,
        num_encoder_layers=2, num_decoder_layers=2, d_ffn=64, dropout=0.0,
        activation=torch.nn.GELU, encoder_module="conformer",
        attention_type="RelPosMHAXL", kernel_size=5, normalize_before=True,
        causal=False,
    ).eval()
    encoder = ASREncoder(encoder=ref.encoder, input_size=N_FEATS, d_model=D,
                         dropout=0.0)
    encoder.projection[0].load_state_dict(
        ref.custom_src_module.layers[0].state_dict())
    ours = EncoderDecoderASR(
        encoder, tgt_vocab=VOCAB, d_model=D, num_decoder_layers=2, nhead=4,
        d_ffn=64, dropout=0.0, activation=torch.nn.GELU,
        normalize_before=True, xavier_init=False).eval()
    ours.custom_tgt_module.load_state_dict(ref.custom_tgt_module.state_dict())
    ours.decoder.load_state_dict(ref.decoder.state_dict())

    x = torch.rand(3, 20, N_FEATS)
    lens = torch.tensor([1.0, 0.7, 0.4])
    tgt = tokens_bos_batch()
    with torch.no_grad():
        ref_enc, ref_dec = ref(x, tgt, lens)
        enc, dec = ours(x, lens, tgt)
    torch.testing.assert_close(enc, ref_enc)
    torch.testing.assert_close(dec, ref_dec)

    enc_len = torch.round(lens * 20).int()
    ref_pred, ref_attn = ref.decode(tgt[:, :3], ref_enc, enc_len)
    pred, attn = ours.decode(tgt[:, :3], enc, enc_len)
    torch.testing.assert_close(pred, ref_pred)
    torch.testing.assert_close(attn, ref_attn)


def test_decode_matches_teacher_forced_forward():
    """decode() on a prefix gives the forward pass's outputs at those steps
    (the causal decoder sees only the prefix), and cross-attention weights
    over the encoder frames."""
    model = summary_mixing_model().eval()
    x = torch.rand(3, 20, N_FEATS)
    lens = torch.tensor([1.0, 0.65, 0.35])
    tgt = torch.tensor([[BOS, 5, 6, 7], [BOS, 9, 10, 3], [BOS, 11, 4, 4]])
    with torch.no_grad():
        enc, dec = model(x, lens, tgt)
        pred, attn = model.decode(tgt[:, :2], enc,
                                  torch.round(lens * 20).int())
    assert pred.shape == (3, 2, D)
    torch.testing.assert_close(pred, dec[:, :2])
    assert attn.shape[0] == 3 and attn.shape[-1] == 20


def test_decode_without_lengths_attends_everywhere():
    model = conformer_model().eval()
    enc = model.encode(torch.rand(2, 15, N_FEATS))
    pred, _ = model.decode(torch.tensor([[BOS], [BOS]]), enc)
    assert pred.shape == (2, 1, D)


@pytest.mark.parametrize("ctc", ["full", "partial"])
@pytest.mark.parametrize("make", [summary_mixing_model, conformer_model])
def test_beam_searcher_with_ctc_scorer_runs(make, ctc):
    """SpeechBrain's joint CTC/attention beam search drives the model, with
    CTC prefix scores on the whole vocabulary or on the attention's best
    tokens (the recipe's choice)."""
    model = make().eval()
    seq_lin = Linear(input_size=D, n_neurons=VOCAB)
    ctc_lin = Linear(input_size=D, n_neurons=VOCAB)
    ctc_scorer = CTCScorer(ctc_fc=ctc_lin, blank_index=BLANK, eos_index=EOS)
    if ctc == "full":
        scorer = ScorerBuilder(full_scorers=[ctc_scorer],
                               weights={"ctc": 0.4})
    else:
        scorer = ScorerBuilder(partial_scorers=[ctc_scorer],
                               scorer_beam_scale=1.5, weights={"ctc": 0.4})
    searcher = S2STransformerBeamSearcher(
        modules=[model, seq_lin, ctc_lin], bos_index=BOS, eos_index=EOS,
        min_decode_ratio=0.0, max_decode_ratio=1.0, beam_size=3,
        using_eos_threshold=False, length_normalization=True, scorer=scorer)
    lens = torch.tensor([1.0, 0.6])
    with torch.no_grad():
        enc = model.encode(torch.rand(2, 12, N_FEATS), lens)
        hyps, best_lens, scores, _ = searcher(enc, lens)
    assert len(hyps) == 2
    for hyp in hyps:
        assert len(hyp) <= 12
        # eos ends a hypothesis; the CTC prefix scorer never emits blank
        assert all(0 <= t < VOCAB and t not in (EOS, BLANK) for t in hyp)


def test_greedy_searcher_runs():
    model = conformer_model().eval()
    seq_lin = Linear(input_size=D, n_neurons=VOCAB)
    searcher = S2STransformerGreedySearcher(
        modules=[model, seq_lin], bos_index=BOS, eos_index=EOS,
        min_decode_ratio=0.0, max_decode_ratio=1.0)
    lens = torch.tensor([1.0, 0.5])
    with torch.no_grad():
        hyps, _, _, _ = searcher(model.encode(torch.rand(2, 10, N_FEATS),
                                              lens), lens)
    assert len(hyps) == 2 and all(len(h) <= 10 for h in hyps)


def test_summary_mixing_padding_invariance():
    """With a SummaryMixing encoder, padding changes neither the real frames
    of the encoder output nor the decoder output."""
    model = summary_mixing_model().eval()
    lengths = [20, 13, 7]
    gen = torch.Generator().manual_seed(1)
    x = torch.randn(3, 20, N_FEATS, generator=gen) * 3  # junk in padding
    lens = torch.tensor(lengths) / 20
    tgt = tokens_bos_batch()
    with torch.no_grad():
        enc, dec = model(x, lens, tgt)
        for i, n in enumerate(lengths):
            enc_i, dec_i = model(x[i:i + 1, :n], torch.ones(1),
                                 tgt[i:i + 1])
            torch.testing.assert_close(enc[i, :n], enc_i[0])
            torch.testing.assert_close(dec[i], dec_i[0])


def test_gradients_reach_every_parameter():
    model = summary_mixing_model()
    enc, dec = model(torch.rand(2, 16, N_FEATS), torch.tensor([1.0, 0.5]),
                     tokens_bos_batch()[:2])
    (enc.sum() + dec.sum()).backward()
    missing = [n for n, p in model.named_parameters() if p.grad is None]
    assert not missing, missing
