"""``speechbrain-ee transcribe --stream``: from a file (paced or not) and
from raw PCM on standard input, partial results as they change, and one
clear line for what it cannot do."""

import io
import types

import soundfile as sf
import torch

from speechbrain_ee.cli import main
from speechbrain_ee.inference import transcribe
from tests.unit.test_streaming import STREAMING_YAMLS, Chars, audio, build


def fake_asr(hparams):
    """What `transcribe.load_model` returns, as far as streaming reads it."""
    return types.SimpleNamespace(
        model=hparams["ctc_model"],
        hparams=types.SimpleNamespace(compute_features=hparams["compute_features"],
                                      blank_index=0),
        mods=types.SimpleNamespace(normalize=hparams["normalize"]),
        tokenizer=Chars(), sample_rate=16000)


def talkative(yaml=STREAMING_YAMLS[0]):
    hparams = build(yaml, seed=3)
    with torch.no_grad():
        hparams["ctc_lin"].w.bias[0] -= 3.0  # a random model that says something
    return hparams


def args_for(argv):
    from speechbrain_ee.cli import build_parser

    return build_parser().parse_args(["transcribe", *argv])


def test_stream_from_a_file_prints_partial_results(monkeypatch, tmp_path):
    hparams = talkative()
    monkeypatch.setattr(transcribe, "load_model", lambda *a, **k: fake_asr(hparams))
    wav = audio(3.0, seed=5)[0]
    path = tmp_path / "a.wav"
    sf.write(path, wav.numpy(), 16000, subtype="FLOAT")
    out = io.StringIO()
    status = transcribe.run_stream(
        args_for(["--stream", "--speed", "0", "--chunk-ms", "320", "--model", "m",
                  str(path)]), stdout=out)
    assert status == 0
    lines = out.getvalue().splitlines()
    partial, final = lines[:-1], lines[-1]
    assert len(partial) >= 2  # the text came in pieces
    seconds = [float(line.split("\t")[0]) for line in partial]
    assert seconds == sorted(seconds) and seconds[-1] <= 3.0 + 1e-6
    name, text = final.split("\t")
    assert name == str(path)
    assert text == "".join(line.split("\t", 1)[1] for line in partial).strip()
    assert text  # the random model's letters


def test_stream_from_stdin_raw_pcm_gives_the_file_s_text(monkeypatch, tmp_path):
    hparams = talkative()
    monkeypatch.setattr(transcribe, "load_model", lambda *a, **k: fake_asr(hparams))
    pcm = (audio(3.0, seed=5)[0] * 32767).round().to(torch.int16).numpy()
    path = tmp_path / "a.wav"
    sf.write(path, pcm, 16000, subtype="PCM_16")
    texts = []
    for source, stdin in ((str(path), None), ("-", io.BytesIO(pcm.astype("<i2").tobytes()))):
        out = io.StringIO()
        argv = ["--stream", "--speed", "0", "--model", "m", source]
        assert transcribe.run_stream(args_for(argv), stdin=stdin, stdout=out) == 0
        last = out.getvalue().splitlines()[-1]
        assert last.startswith(f"{source}\t")
        texts.append(last.split("\t", 1)[1])
    assert texts[0] == texts[1] and texts[0]


def test_stream_at_real_time_pace_takes_the_audio_s_time(monkeypatch, tmp_path):
    import time

    hparams = talkative()
    monkeypatch.setattr(transcribe, "load_model", lambda *a, **k: fake_asr(hparams))
    path = tmp_path / "a.wav"
    sf.write(path, audio(1.28)[0].numpy(), 16000, subtype="FLOAT")
    start = time.monotonic()
    transcribe.run_stream(args_for(["--stream", "--speed", "2", "--chunk-ms", "320",
                                    "--model", "m", str(path)]), stdout=io.StringIO())
    # 4 chunks of 320 ms at twice real time: the last arrives after 0.48 s
    assert time.monotonic() - start >= 0.48


def test_stream_errors_are_one_line(monkeypatch, tmp_path, capsys):
    from speechbrain.nnet.linear import Linear

    from speechbrain_ee.lobes.asr_encoder import ASREncoder
    from speechbrain_ee.lobes.contract import CTCModel
    from speechbrain_ee.lobes.summary_mixing_encoders import (
        SummaryMixingBranchformerEncoder)

    path = tmp_path / "a.wav"
    sf.write(path, audio(1.0)[0].numpy(), 16000, subtype="FLOAT")
    cases = [
        (["--stream", "--model", "m", str(path), str(path)], "one input"),
        (["--stream", "--format", "json", "--model", "m", str(path)], "--format"),
        (["--stream", "--model", "m", str(tmp_path / "none.wav")], "no such file"),
        (["--stream", "--speed", "-1", "--model", "m", str(path)], "--speed -1"),
        (["--stream", "--chunk-ms", "100", "--model", "m", str(path)],
         "--chunk-ms 100: give a multiple of this model's 40 ms"),
    ]
    hparams = build(STREAMING_YAMLS[0])
    monkeypatch.setattr(transcribe, "load_model", lambda *a, **k: fake_asr(hparams))
    for argv, message in cases:
        assert main(["transcribe", *argv]) == 2, argv
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and message in err, err
    branchformer = dict(hparams, ctc_model=CTCModel(
        ASREncoder(SummaryMixingBranchformerEncoder(1, 16, 1, csgu_linear_units=32),
                   input_size=160, d_model=16, positional_encoding="none"),
        Linear(input_size=16, n_neurons=29)))
    monkeypatch.setattr(transcribe, "load_model", lambda *a, **k: fake_asr(branchformer))
    assert main(["transcribe", "--stream", "--model", "m", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("speechbrain-ee transcribe: error: ") and err.count("\n") == 1
    assert "cannot stream" in err and "conformer_summarymixing_streaming_ctc.yaml" in err
