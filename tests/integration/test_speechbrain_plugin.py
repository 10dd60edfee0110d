"""`speechbrain_ee.lobes.TransformerASR` driven as SpeechBrain 1.1's own
LibriSpeech recipes drive SpeechBrain's ``TransformerASR``.

``ASR/transformer/train.py`` (``conformer_small.yaml``: joint CTC +
attention) calls ``Transformer(src, tokens_bos, wav_lens, pad_idx=...)``,
decodes with ``S2STransformerBeamSearcher(modules=[Transformer, seq_lin])``
and a ``CTCScorer``, and averages its best checkpoints
(``average_checkpoints(..., recoverable_name="model")`` then
``model.load_state_dict(..., strict=True)``). ``ASR/CTC/train.py``
(``conformer_large.yaml`` / ``branchformer_large.yaml``: encoder only) calls
``Transformer(src, tgt=None, wav_len=wav_lens)`` and unpacks ``enc_out,
pred``. The Brains below do the same on synthetic audio (tiny sizes, a few
steps), with only the model's YAML block changed: the ``!new:`` line and
``attention_type: SummaryMixing``.
"""

import copy

import pytest
import speechbrain as sb
import torch
from hyperpyyaml import load_hyperpyyaml
from speechbrain.dataio.dataset import DynamicItemDataset
from speechbrain.lobes.models.transformer.TransformerASR import (
    TransformerASR as SpeechBrainTransformerASR,
)
from speechbrain.utils.checkpoints import average_checkpoints

from speechbrain_ee.lobes import TransformerASR

VOCAB, BOS, EOS, BLANK, PAD = 12, 1, 2, 0, 0

# The model blocks of SpeechBrain's YAMLs at tiny sizes, with the two changed
# lines: `!new:speechbrain_ee.lobes.TransformerASR` and the attention type.
COMMON_YAML = """
d_model: 32
nhead: 4
output_neurons: 12
CNN: !new:speechbrain.lobes.models.convolution.ConvolutionFrontEnd
    input_shape: (8, 10, 20)
    num_blocks: 2
    num_layers_per_block: 1
    out_channels: (8, 8)
    kernel_sizes: (3, 3)
    strides: (2, 2)
    residuals: (False, False)
compute_features: !new:speechbrain.lobes.features.Fbank
    n_mels: 20
normalize: !new:speechbrain.processing.features.InputNormalization
    norm_type: global
    update_until_epoch: 4
ctc_lin: !new:speechbrain.nnet.linear.Linear
    input_size: !ref <d_model>
    n_neurons: !ref <output_neurons>
log_softmax: !new:torch.nn.LogSoftmax
    dim: -1
ctc_cost: !name:speechbrain.nnet.losses.ctc_loss
    blank_index: 0
epoch_counter: !new:speechbrain.utils.epoch_loop.EpochCounter
    limit: 3
"""

TRANSFORMER_YAML = COMMON_YAML + """
Transformer: !new:speechbrain_ee.lobes.TransformerASR
    input_size: 40
    tgt_vocab: !ref <output_neurons>
    d_model: !ref <d_model>
    nhead: !ref <nhead>
    num_encoder_layers: 2
    num_decoder_layers: 2
    d_ffn: 64
    dropout: 0.1
    activation: !name:torch.nn.GELU
    encoder_module: conformer
    attention_type: SummaryMixing
    normalize_before: True
    causal: False
seq_lin: !new:speechbrain.nnet.linear.Linear
    input_size: !ref <d_model>
    n_neurons: !ref <output_neurons>
seq_cost: !name:speechbrain.nnet.losses.kldiv_loss
    label_smoothing: 0.1
ctc_weight: 0.3
modules:
    CNN: !ref <CNN>
    Transformer: !ref <Transformer>
    seq_lin: !ref <seq_lin>
    ctc_lin: !ref <ctc_lin>
    normalize: !ref <normalize>
model: !new:torch.nn.ModuleList
    - [!ref <CNN>, !ref <Transformer>, !ref <seq_lin>, !ref <ctc_lin>]
ctc_scorer: !new:speechbrain.decoders.scorer.CTCScorer
    eos_index: 2
    blank_index: 0
    ctc_fc: !ref <ctc_lin>
scorer: !new:speechbrain.decoders.scorer.ScorerBuilder
    full_scorers: [!ref <ctc_scorer>]
    weights:
        ctc: 0.4
valid_search: !new:speechbrain.decoders.S2STransformerBeamSearcher
    modules: [!ref <Transformer>, !ref <seq_lin>]
    bos_index: 1
    eos_index: 2
    min_decode_ratio: 0.0
    max_decode_ratio: 0.3
    beam_size: 3
    using_eos_threshold: False
    length_normalization: True
    scorer: !ref <scorer>
"""

CTC_YAML = COMMON_YAML + """
Transformer: !new:speechbrain_ee.lobes.TransformerASR
    input_size: 40
    tgt_vocab: !ref <output_neurons>
    d_model: !ref <d_model>
    nhead: !ref <nhead>
    num_encoder_layers: 2
    num_decoder_layers: 0
    d_ffn: 64
    dropout: 0.1
    activation: !name:torch.nn.GELU
    encoder_module: {encoder_module}
    attention_type: SummaryMixing
    normalize_before: True
    causal: False
    csgu_linear_units: 64
    kernel_size: 15
modules:
    CNN: !ref <CNN>
    Transformer: !ref <Transformer>
    ctc_lin: !ref <ctc_lin>
    normalize: !ref <normalize>
model: !new:torch.nn.ModuleList
    - [!ref <CNN>, !ref <Transformer>, !ref <ctc_lin>]
"""


def synthetic_data(n=6, seed=0):
    """Short random waveforms with random token sequences (the batch keys
    of SpeechBrain's LibriSpeech recipes)."""
    gen = torch.Generator().manual_seed(seed)
    data = {}
    for i in range(n):
        samples = int(torch.randint(4000, 8000, (1,), generator=gen))
        tokens = torch.randint(3, VOCAB, (int(3 + i % 3),), generator=gen)
        data[f"utt{i}"] = {
            "sig": torch.randn(samples, generator=gen) * 0.1,
            "tokens_list": tokens.tolist(),
        }
    dataset = DynamicItemDataset(data)

    @sb.utils.data_pipeline.takes("tokens_list")
    @sb.utils.data_pipeline.provides("tokens_bos", "tokens_eos", "tokens")
    def text_pipeline(tokens_list):
        yield torch.LongTensor([BOS] + tokens_list)
        yield torch.LongTensor(tokens_list + [EOS])
        yield torch.LongTensor(tokens_list)

    dataset.add_dynamic_item(text_pipeline)
    dataset.set_output_keys(
        ["id", "sig", "tokens_bos", "tokens_eos", "tokens"]
    )
    return dataset


class TransformerRecipeASR(sb.Brain):
    """``compute_forward`` / ``compute_objectives`` of SpeechBrain's
    ``ASR/transformer/train.py`` (no augmentation, no LM)."""

    def compute_forward(self, batch, stage):
        batch = batch.to(self.device)
        wavs, wav_lens = batch.sig
        tokens_bos, _ = batch.tokens_bos
        feats = self.hparams.compute_features(wavs)
        current_epoch = self.hparams.epoch_counter.current
        feats = self.modules.normalize(feats, wav_lens, epoch=current_epoch)
        src = self.modules.CNN(feats)
        enc_out, pred = self.modules.Transformer(
            src, tokens_bos, wav_lens, pad_idx=PAD
        )
        p_ctc = self.hparams.log_softmax(self.modules.ctc_lin(enc_out))
        p_seq = self.hparams.log_softmax(self.modules.seq_lin(pred))
        hyps = None
        if stage != sb.Stage.TRAIN:
            hyps, _, _, _ = self.hparams.valid_search(
                enc_out.detach(), wav_lens
            )
        return p_ctc, p_seq, wav_lens, hyps

    def compute_objectives(self, predictions, batch, stage):
        p_ctc, p_seq, wav_lens, hyps = predictions
        tokens_eos, tokens_eos_lens = batch.tokens_eos
        tokens, tokens_lens = batch.tokens
        loss_seq = self.hparams.seq_cost(
            p_seq, tokens_eos, length=tokens_eos_lens
        ).sum()
        loss_ctc = self.hparams.ctc_cost(
            p_ctc, tokens, wav_lens, tokens_lens
        ).sum()
        if hyps is not None:
            self.hyps.extend(hyps)
        w = self.hparams.ctc_weight
        return w * loss_ctc + (1 - w) * loss_seq

    def on_stage_start(self, stage, epoch=None):
        self.hyps = []

    def on_stage_end(self, stage, stage_loss, epoch=None):
        if stage == sb.Stage.VALID:
            self.checkpointer.save_and_keep_only(
                meta={"loss": stage_loss, "epoch": epoch},
                min_keys=["loss"],
                num_to_keep=3,
            )

    def on_evaluate_start(self, max_key=None, min_key=None):
        """SpeechBrain's: load the average of the kept checkpoints."""
        super().on_evaluate_start()
        ckpts = self.checkpointer.find_checkpoints(
            max_key=max_key, min_key=min_key
        )
        ckpt = average_checkpoints(ckpts, recoverable_name="model")
        self.hparams.model.load_state_dict(ckpt, strict=True)
        self.hparams.model.eval()
        self.averaged = ckpt


class CTCRecipeASR(TransformerRecipeASR):
    """``compute_forward`` / ``compute_objectives`` of SpeechBrain's
    ``ASR/CTC/train.py`` (greedy CTC decoding)."""

    def compute_forward(self, batch, stage):
        batch = batch.to(self.device)
        wavs, wav_lens = batch.sig
        feats = self.hparams.compute_features(wavs)
        current_epoch = self.hparams.epoch_counter.current
        feats = self.modules.normalize(feats, wav_lens, epoch=current_epoch)
        src = self.modules.CNN(feats)
        enc_out, pred = self.modules.Transformer(
            src, tgt=None, wav_len=wav_lens
        )
        p_ctc = self.hparams.log_softmax(self.modules.ctc_lin(enc_out))
        p_tokens = None
        if stage != sb.Stage.TRAIN:
            p_tokens = sb.decoders.ctc_greedy_decode(
                p_ctc, wav_lens, blank_id=BLANK
            )
        return p_ctc, wav_lens, p_tokens

    def compute_objectives(self, predictions, batch, stage):
        p_ctc, wav_lens, p_tokens = predictions
        tokens, tokens_lens = batch.tokens
        if p_tokens is not None:
            self.hyps.extend(p_tokens)
        return self.hparams.ctc_cost(p_ctc, tokens, wav_lens, tokens_lens)


def run_recipe(brain_class, yaml_text, tmp_path):
    """Three epochs of three steps, then evaluation of the averaged model."""
    torch.manual_seed(0)
    hparams = load_hyperpyyaml(yaml_text)
    checkpointer = sb.utils.checkpoints.Checkpointer(
        tmp_path / "save",
        recoverables={
            "model": hparams["model"],
            "normalizer": hparams["normalize"],
            "counter": hparams["epoch_counter"],
        },
    )
    brain = brain_class(
        modules=hparams["modules"],
        opt_class=lambda params: torch.optim.Adam(params, lr=1e-3),
        hparams=hparams,
        run_opts={"device": "cpu"},
        checkpointer=checkpointer,
    )
    train, valid = synthetic_data(6, seed=0), synthetic_data(2, seed=1)
    loader = {"batch_size": 2}
    before = copy.deepcopy(hparams["model"].state_dict())
    brain.fit(
        hparams["epoch_counter"], train, valid,
        train_loader_kwargs=loader, valid_loader_kwargs=loader,
    )
    loss = brain.evaluate(valid, min_key="loss", test_loader_kwargs=loader)
    return brain, hparams, before, loss


def assert_trained_and_averaged(brain, hparams, before, loss):
    model = hparams["model"]
    assert torch.isfinite(torch.tensor(loss))
    changed = [
        name for name, value in model.state_dict().items()
        if value.is_floating_point() and not torch.equal(value, before[name])
    ]
    assert any(".summary_mixing." in name for name in changed)
    # The evaluated model is the average of the kept checkpoints.
    ckpts = brain.checkpointer.find_checkpoints(min_key="loss")
    assert len(ckpts) == 3
    for name, value in model.state_dict().items():
        torch.testing.assert_close(value, brain.averaged[name])
    assert len(brain.hyps) == 2
    assert all(all(0 <= t < VOCAB for t in hyp) for hyp in brain.hyps)


def test_transformer_recipe_conformer_small(tmp_path):
    brain, hparams, before, loss = run_recipe(
        TransformerRecipeASR, TRANSFORMER_YAML, tmp_path
    )
    assert isinstance(hparams["Transformer"], TransformerASR)
    assert hparams["Transformer"].encoder.__class__.__name__ == (
        "SummaryMixingConformerEncoder"
    )
    assert_trained_and_averaged(brain, hparams, before, loss)
    assert_encoder_decoder_asr_transcribes(hparams)


def assert_encoder_decoder_asr_transcribes(hparams):
    """Stock ``EncoderDecoderASR`` with the layout of SpeechBrain's hub
    models (``encoder``: features, normalisation, CNN, ``EncoderWrapper``;
    ``decoder``: the beam searcher) gives the recipe's own beam search."""
    from speechbrain.inference.ASR import EncoderDecoderASR
    from speechbrain.lobes.models.transformer.TransformerASR import (
        EncoderWrapper,
    )
    from speechbrain.nnet.containers import LengthsCapableSequential

    class Tokenizer:
        def decode_ids(self, ids):
            return " ".join(str(i) for i in ids)

    encoder = LengthsCapableSequential(
        hparams["compute_features"], hparams["normalize"], hparams["CNN"],
        EncoderWrapper(hparams["Transformer"]),
    )
    asr = EncoderDecoderASR(
        modules={"encoder": encoder, "decoder": hparams["valid_search"]},
        hparams={"tokenizer": Tokenizer()},
    )
    for item in synthetic_data(2, seed=1):
        wavs, lens = item["sig"][None], torch.ones(1)
        words, _ = asr.transcribe_batch(wavs, lens)
        with torch.no_grad():
            feats = hparams["compute_features"](wavs)
            feats = hparams["normalize"](feats, lens)
            enc = hparams["Transformer"].encode(hparams["CNN"](feats), lens)
            hyps, _, _, _ = hparams["valid_search"](enc, lens)
        assert words == [Tokenizer().decode_ids(hyps[0])]


@pytest.mark.parametrize("encoder_module", ["conformer", "branchformer"])
def test_ctc_recipe(encoder_module, tmp_path):
    yaml_text = CTC_YAML.format(encoder_module=encoder_module)
    brain, hparams, before, loss = run_recipe(
        CTCRecipeASR, yaml_text, tmp_path
    )
    assert not hasattr(hparams["Transformer"], "decoder")
    assert_trained_and_averaged(brain, hparams, before, loss)


# ---- any other attention_type: exactly SpeechBrain's model ----

SPEECHBRAIN_CONFIGS = {
    "conformer_relpos": dict(
        encoder_module="conformer", attention_type="RelPosMHAXL",
        normalize_before=True, causal=False, activation=torch.nn.GELU,
    ),
    "branchformer_relpos": dict(
        encoder_module="branchformer", attention_type="RelPosMHAXL",
        normalize_before=True, causal=False, csgu_linear_units=64,
        kernel_size=7,
    ),
    "transformer_regular": dict(
        encoder_module="transformer", attention_type="regularMHA",
        normalize_before=True, causal=True,
    ),
}


@pytest.mark.parametrize("name", sorted(SPEECHBRAIN_CONFIGS))
def test_other_attention_types_are_speechbrains_model(name):
    kwargs = dict(
        tgt_vocab=VOCAB, input_size=24, d_model=32, nhead=4,
        num_encoder_layers=2, num_decoder_layers=1, d_ffn=64, dropout=0.0,
        **SPEECHBRAIN_CONFIGS[name],
    )
    torch.manual_seed(3)
    theirs = SpeechBrainTransformerASR(**kwargs).eval()
    torch.manual_seed(3)
    ours = TransformerASR(**kwargs).eval()
    assert list(ours.state_dict()) == list(theirs.state_dict())
    for key, value in theirs.state_dict().items():  # same init, same seed
        torch.testing.assert_close(ours.state_dict()[key], value)
    src = torch.randn(3, 30, 24)
    tgt = torch.randint(0, VOCAB, (3, 5))
    wav_len = torch.tensor([1.0, 0.7, 0.4])
    with torch.no_grad():
        for a, b in zip(ours(src, tgt, wav_len, pad_idx=0),
                        theirs(src, tgt, wav_len, pad_idx=0)):
            torch.testing.assert_close(a, b, rtol=0, atol=0)
        enc = theirs.encode(src, wav_len)
        torch.testing.assert_close(ours.encode(src, wav_len), enc)
        enc_len = torch.tensor([30, 21, 12])
        for a, b in zip(ours.decode(tgt, enc, enc_len),
                        theirs.decode(tgt, enc, enc_len)):
            torch.testing.assert_close(a, b, rtol=0, atol=0)


def test_summary_mixing_padding_and_streaming():
    """Real frames of a padded batch equal the unpadded utterance; chunk by
    chunk streaming equals the chunked ``encode``."""
    from speechbrain.utils.dynamic_chunk_training import DynChunkTrainConfig

    torch.manual_seed(0)
    net = TransformerASR(
        tgt_vocab=VOCAB, input_size=24, d_model=32, nhead=4,
        num_encoder_layers=2, num_decoder_layers=1, d_ffn=64,
        encoder_module="conformer", attention_type="SummaryMixing",
        normalize_before=True, causal=False,
    ).eval()
    src = torch.randn(2, 40, 24)
    with torch.no_grad():
        padded = net.encode(src, torch.tensor([1.0, 0.5]))
        alone = net.encode(src[1:, :20])
        torch.testing.assert_close(padded[1, :20], alone[0])
        config = DynChunkTrainConfig(8, 2)
        chunked = net.encode(src, dynchunktrain_config=config)
        context = net.make_streaming_context(config)
        streamed = torch.cat(
            [net.encode_streaming(src[:, i : i + 8], context)
             for i in range(0, 40, 8)], dim=1
        )
    torch.testing.assert_close(streamed, chunked, rtol=1e-4, atol=1e-4)
