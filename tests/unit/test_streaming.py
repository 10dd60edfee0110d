"""Streaming recognition: the chunk-by-chunk pipeline (front end, encoder
state, greedy CTC) gives the log-probabilities of the chunk-masked pass of
the same model over the whole stream, for the SummaryMixing Conformer and
SpeechBrain's MHSA Conformer as the streaming YAMLs build them; the
transcriber's text, partial results, raw-PCM input and errors."""

import io
from pathlib import Path

import numpy as np
import pytest
import torch
from hyperpyyaml import load_hyperpyyaml
from speechbrain.utils.dynamic_chunk_training import DynChunkTrainConfig

from speechbrain_ee.errors import UsageError
from speechbrain_ee.inference.streaming import (
    StreamingTranscriber,
    paced,
    pcm_chunks,
)
from speechbrain_ee.lobes.streaming import StreamingFrontEnd, front_end_properties

HPARAMS = Path(__file__).resolve().parents[2] / "recipes" / "LibriSpeech" / "ASR" / \
    "CTC" / "hparams"
STREAMING_YAMLS = ["conformer_summarymixing_streaming_ctc.yaml",
                   "conformer_streaming_ctc.yaml"]
TINY = {"d_model": 32, "d_ffn": 64, "nhead": 4, "n_mels": 20, "cnn_channels": 8,
        "kernel_size": 15, "num_encoder_layers": 2}
SUMMARY = {"local_proj_hid_dim": [32], "summary_hid_dim": [32]}
SAMPLE_RATE = 16000


class Chars:
    """A character tokenizer with SentencePiece's methods: blank/unk, word
    boundary, letters."""

    pieces = ["<unk>", "\u2581"] + list("ABCDEFGHIJKLMNOPQRSTUVWXYZ'")

    def id_to_piece(self, i):
        return self.pieces[i]

    def is_unknown(self, i):
        return i == 0

    def decode_ids(self, ids):
        return "".join(self.pieces[i] for i in ids).replace("\u2581", " ").strip()

    def vocab_size(self):
        return len(self.pieces)


def build(yaml, seed=0):
    """The YAML's model at tiny sizes, random weights, with normalisation
    statistics; eval mode."""
    torch.manual_seed(seed)
    overrides = dict(TINY, **(SUMMARY if "summarymixing" in yaml else {}))
    with open(HPARAMS / yaml, encoding="utf-8") as f:
        hparams = load_hyperpyyaml(f, overrides)
    normalize = hparams["normalize"]
    normalize(hparams["compute_features"](torch.randn(2, 8000)), torch.ones(2))
    hparams["ctc_model"].eval()
    normalize.eval()
    return hparams


def transcriber(hparams):
    return StreamingTranscriber(hparams["ctc_model"], hparams["compute_features"],
                                hparams["normalize"], Chars(), 0, SAMPLE_RATE)


def audio(seconds, seed=1):
    """Noise with a slow envelope."""
    g = torch.Generator().manual_seed(seed)
    n = int(seconds * SAMPLE_RATE)
    envelope = 0.3 + 0.7 * torch.sin(torch.linspace(0, 12, n)).abs()
    return (0.1 * torch.randn(1, n, generator=g) * envelope).clamp(-1, 1)


def masked_full_pass(hparams, wav, config):
    """The chunk-masked pass of the whole stream (what the recipe scores)."""
    with torch.no_grad():
        feats = hparams["normalize"](hparams["compute_features"](wav), torch.ones(1))
        return hparams["ctc_model"](feats, None, dynchunktrain_config=config).output


def streamed(asr, wav, config, piece_samples):
    """Log-probabilities of the stream fed in pieces of the given sizes."""
    context = asr.make_streaming_context(config)
    outputs, start = [], 0
    sizes = list(piece_samples)
    while start < wav.shape[1]:
        size = sizes[len(outputs) % len(sizes)]
        end = min(wav.shape[1], start + size)
        out = asr.encode_chunk(context, wav[:, start:end], end_of_stream=end == wav.shape[1])
        outputs.append(out if out is not None else torch.zeros(1, 0, 29))
        start = end
    return torch.cat(outputs, dim=1)


@pytest.fixture(scope="module", params=STREAMING_YAMLS)
def model(request):
    return request.param, build(request.param)


CONFIGS = [DynChunkTrainConfig(4, None), DynChunkTrainConfig(3, 2),
           DynChunkTrainConfig(16, 1), DynChunkTrainConfig(5, 0)]


@pytest.mark.parametrize("config", CONFIGS, ids=str)
def test_streaming_equals_chunk_masked_full_pass(model, config):
    """Chunk by chunk, whatever sizes the audio arrives in, the whole
    pipeline gives the log-probabilities of the chunk-masked full pass: the
    first frames, the last (partial) chunk and the left context included."""
    name, hparams = model
    asr = transcriber(hparams)
    wav = audio(3.37)
    reference = masked_full_pass(hparams, wav, config)
    for pieces in ([asr.get_chunk_size_frames(config)], [1000, 3111, 77], [wav.shape[1]]):
        got = streamed(asr, wav, config, pieces)
        assert got.shape == reference.shape, (name, pieces)
        assert torch.allclose(got, reference, atol=2e-4), (
            name, pieces, (got - reference).abs().max().item())


def test_exact_on_silences_and_band_limited_audio(model):
    """Digital silence and empty high bands: where SpeechBrain's Fbank clips
    at 80 dB below the utterance's loudest bin (the future included), the
    streaming YAMLs' StreamableFbank does not, and streaming stays exact."""
    name, hparams = model
    asr = transcriber(hparams)
    wav = audio(2.6, seed=4)
    wav = torch.nn.functional.avg_pool1d(wav.unsqueeze(0), 9, 1, 4)[0]  # low-pass
    wav[:, 8000:20000] = 0.0
    wav[:, 30000:] *= 20
    config = DynChunkTrainConfig(8, 2)
    reference = masked_full_pass(hparams, wav, config)
    got = streamed(asr, wav, config, [asr.get_chunk_size_frames(config)])
    assert torch.allclose(got, reference, atol=2e-4), (got - reference).abs().max()


def test_streaming_differs_from_a_full_context_pass(model):
    """The test can fail: the chunk-masked pass is not the full-context one."""
    _, hparams = model
    asr = transcriber(hparams)
    wav = audio(3.0)
    config = DynChunkTrainConfig(4, 1)
    with torch.no_grad():
        feats = hparams["normalize"](hparams["compute_features"](wav), torch.ones(1))
        full = hparams["ctc_model"](feats, None).output
    got = streamed(asr, wav, config, [asr.get_chunk_size_frames(config)])
    assert (got - full).abs().max() > 1e-3


def test_front_end_frames_equal_the_offline_front_end():
    hparams = build(STREAMING_YAMLS[0])
    cnn = hparams["ctc_model"].encoder.front_end
    fbank = hparams["compute_features"]

    def module(wavs):
        return cnn(fbank(wavs))

    front = StreamingFrontEnd(module, front_end_properties(fbank, cnn))
    assert (front.stride, front.lookahead_samples()) == (640, 680)
    for seconds in (0.02, 0.5, 1.234):
        wav = audio(seconds)
        with torch.no_grad():
            reference = module(wav)
            context = front.make_streaming_context()
            parts = [front(p, context) for p in wav.split(333, dim=1)]
            parts.append(front(wav[:, :0], context, end_of_stream=True))
        got = torch.cat([p for p in parts if p is not None], dim=1)
        assert got.shape == reference.shape
        assert torch.allclose(got, reference, atol=1e-4)
        # bounded memory: the kept audio is a few frames, whatever the length
        assert context.audio.shape[1] <= 3 * 640 + 333


def test_summary_mixing_stream_state_is_constant_in_its_age():
    """SummaryMixing's state: running sums; its size does not grow with the
    stream (SpeechBrain's MHSA cache does, without a left-context limit)."""

    def state_size(context):
        total = 0
        stack = [context]
        seen = set()
        while stack:
            obj = stack.pop()
            if id(obj) in seen:
                continue
            seen.add(id(obj))
            if torch.is_tensor(obj):
                total += obj.numel()
            elif isinstance(obj, (list, tuple)) or type(obj).__name__ == "deque":
                stack.extend(obj)
            elif hasattr(obj, "__dict__"):
                stack.extend(vars(obj).values())
        return total

    sizes = {}
    for yaml in STREAMING_YAMLS:
        asr = transcriber(build(yaml))
        context = asr.make_streaming_context(DynChunkTrainConfig(4, None))
        chunk = audio(asr.get_chunk_size_frames(context.config) / SAMPLE_RATE)
        grown = []
        for n in range(12):
            asr.encode_chunk(context, chunk)
            if n in (3, 11):
                grown.append(state_size(context.encoder))
        sizes[yaml] = grown
    summary, mhsa = sizes.values()
    assert summary[0] == summary[1], sizes
    assert mhsa[1] > mhsa[0], sizes


def test_text_comes_in_pieces_and_equals_offline_greedy_decoding():
    """Partial results: the text arrives over several chunks; joined, it is
    the greedy transcript of the chunk-masked pass."""
    hparams = build(STREAMING_YAMLS[0], seed=3)
    # a CTC layer that favours letters, so that a random model says something
    with torch.no_grad():
        hparams["ctc_lin"].w.bias[0] -= 3.0
    asr = transcriber(hparams)
    wav = audio(4.0, seed=5)
    config = asr.config(chunk_ms=320)
    pieces = list(asr.transcribe_stream(wav[0].split(asr.get_chunk_size_frames(config)),
                                        config))
    assert len(pieces) == len(wav[0].split(asr.get_chunk_size_frames(config))) + 1
    assert sum(1 for p in pieces if p) >= 3
    import speechbrain as sb

    log_probs = masked_full_pass(hparams, wav, config)
    (ids,) = sb.decoders.ctc_greedy_decode(log_probs, torch.ones(1), blank_id=0)
    assert "".join(pieces).strip() == Chars().decode_ids(ids)
    assert " ".join("".join(pieces).split()) == "".join(pieces).strip()


def test_config_from_milliseconds_and_errors():
    asr = transcriber(build(STREAMING_YAMLS[0]))
    assert asr.frame_seconds == pytest.approx(0.04)
    assert asr.config(640, 4) == DynChunkTrainConfig(16, 4)
    assert asr.get_chunk_size_frames(asr.config(160)) == 2560
    with pytest.raises(UsageError, match="multiple of this model's 40 ms"):
        asr.config(100)
    with pytest.raises(UsageError, match="left-context-chunks -1"):
        asr.config(640, -1)


def test_a_model_that_cannot_stream_is_refused_in_one_line():
    from speechbrain.nnet.linear import Linear

    from speechbrain_ee.lobes.asr_encoder import ASREncoder
    from speechbrain_ee.lobes.contract import CTCModel
    from speechbrain_ee.lobes.summary_mixing_encoders import (
        SummaryMixingBranchformerEncoder)

    hparams = build(STREAMING_YAMLS[0])
    branchformer = CTCModel(
        ASREncoder(SummaryMixingBranchformerEncoder(1, 16, 1, csgu_linear_units=32),
                   input_size=20, d_model=16, positional_encoding="none"),
        Linear(input_size=16, n_neurons=29))
    with pytest.raises(UsageError, match="SummaryMixingBranchformerEncoder cannot stream"):
        StreamingTranscriber(branchformer, hparams["compute_features"],
                             hparams["normalize"], Chars())

    class NoStreaming(torch.nn.Module):
        pass

    with pytest.raises(UsageError, match="NoStreaming cannot stream"):
        StreamingTranscriber(NoStreaming(), hparams["compute_features"],
                             hparams["normalize"], Chars())


def test_raw_pcm_from_a_binary_stream_streams_like_the_waveform():
    """``transcribe --stream -``: raw s16le PCM, read chunk by chunk (as from
    a pipe), gives the text of the same waveform."""
    hparams = build(STREAMING_YAMLS[0], seed=3)
    with torch.no_grad():
        hparams["ctc_lin"].w.bias[0] -= 3.0
    asr = transcriber(hparams)
    pcm = (audio(2.5, seed=5)[0] * 32767).round().to(torch.int16).numpy()
    wav = torch.from_numpy(pcm.astype("float32") / 32768.0)
    config = asr.config(chunk_ms=640)
    size = asr.get_chunk_size_frames(config)

    class Pipe(io.BytesIO):
        def read(self, n=-1):  # a pipe returns what is there: at most 1000 bytes
            return super().read(min(n, 1000))

    chunks = list(pcm_chunks(Pipe(pcm.astype("<i2").tobytes()), size))
    assert [len(c) for c in chunks] == [len(c) for c in wav.split(size)]
    assert "".join(asr.transcribe_stream(chunks, config)) == \
        "".join(asr.transcribe_stream(wav.split(size), config))


def test_paced_delivers_at_real_time_multiples():
    now, waits = [0.0], []
    list(paced(range(4), 0.64, speed=2.0, clock=lambda: now[0], sleep=waits.append))
    assert waits == pytest.approx([0.32, 0.64, 0.96])
    assert list(paced(range(3), 0.64, speed=0)) == [0, 1, 2]


def test_summary_mixing_conformer_streams_chunks_shorter_than_its_kernel():
    """Dynamic Chunk Convolution's left context spans several chunks when a
    chunk is shorter than half the kernel (2 frames, kernel 15): the
    streaming state keeps the last 7 frames, not the last chunk's."""
    from speechbrain_ee.lobes.summary_mixing_encoders import SummaryMixingConformerEncoder

    torch.manual_seed(0)
    encoder = SummaryMixingConformerEncoder(2, 16, 32, 2, kernel_size=15).eval()
    x = torch.rand(1, 23, 16)
    for config in (DynChunkTrainConfig(2, None), DynChunkTrainConfig(3, 1)):
        context = encoder.make_streaming_context(config)
        with torch.no_grad():
            streamed_out = torch.cat([encoder.forward_streaming(c, context)[0]
                                      for c in x.split(config.chunk_size, dim=1)], dim=1)
            reference = encoder(x, dynchunktrain_config=config)[0]
        assert torch.allclose(streamed_out, reference, atol=1e-5), config
