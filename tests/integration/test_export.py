"""Integration: trained runs of the CTC recipe (plain, early-exit,
blank-skip, and early exits with blank skip composed) are exported, loaded
back with ``from_hparams`` (ours and stock SpeechBrain's ``EncoderASR``)
and give the recipe's own log-probabilities and transcripts; a joint
CTC+attention run exports and stock ``EncoderDecoderASR`` gives its
recipe's encoder output and beam search transcripts; the model card holds the
run's WERs; the command line transcribes files and folders, past bad
files; an export never replaces a folder unasked."""

import json
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from speechbrain_ee.cli import main
from speechbrain_ee.inference.export import export_run
from speechbrain_ee.inference.transcribe import load_model

from .recipe_runs import run_recipe
from .round_trip import (
    check_round_trip,
    check_stock_joint,
    first_test_audio,
    joint_recipe_outputs,
)

TINY = [
    "--d_model=48", "--d_ffn=96", "--nhead=4",
    "--lr_adam=0.002", "--warmup_steps=10", "--max_batch_length_train=30",
    "--test_beam_size=4",
]
RUNS = {  # name -> (YAML, extra arguments)
    "ctc": ("conformer_ctc.yaml", ["--num_encoder_layers=2"]),
    "early_exit": ("conformer_early_exit_ctc.yaml",
                   ["--num_encoder_layers=3", "--exit_layers=[1,2,3]"]),
}


@pytest.fixture(scope="module")
def runs(tiny_corpora, tmp_path_factory, blank_skip_run, composed_run):
    """Name -> trained run folder (two epochs each; blank skip and
    composed: conftest)."""
    folders = {"blank_skip": blank_skip_run, "composed": composed_run}
    for kind, (hparams, extra) in RUNS.items():
        out = tmp_path_factory.mktemp(kind) / "run"
        run_recipe("CTC", hparams, tiny_corpora, out, "--number_of_epochs=2",
                   *TINY, *extra)
        folders[kind] = out
    return folders


@pytest.fixture(scope="module")
def exports(runs, tmp_path_factory):
    """Name -> exported folder."""
    root = tmp_path_factory.mktemp("exports")
    return {kind: export_run(run, root / kind) and root / kind
            for kind, run in runs.items()}


@pytest.mark.parametrize("kind", ["ctc", "early_exit", "blank_skip", "composed"])
def test_export_round_trip_matches_the_recipe(runs, exports, kind, tmp_path):
    check_round_trip(runs[kind], exports[kind], tmp_path / "s")


def test_joint_run_exports_for_stock_encoder_decoder_asr(tiny_corpora, tmp_path,
                                                        capsys):
    """Two epochs of the joint recipe (two checkpoints kept, averaged as its
    test does), exported from the command line: stock EncoderDecoderASR
    gives the recipe's encoder output and beam search transcripts."""
    from .test_joint_recipe import TINY_MODEL

    run = tmp_path / "run"
    run_recipe("transformer", "conformer_summarymixing.yaml", tiny_corpora, run,
               *TINY_MODEL, "--number_of_epochs=2")
    assert main(["export", str(run), str(tmp_path / "export")]) == 0
    manifest = json.loads((tmp_path / "export" / "export.json").read_text())
    assert len(manifest["averaged"]) == 2
    assert manifest["loads_with"] == ["speechbrain.inference.ASR.EncoderDecoderASR"]
    wavs, wav_lens = first_test_audio(run)
    encoded, texts = joint_recipe_outputs(run, wavs, wav_lens)
    assert any(texts)
    check_stock_joint(tmp_path / "export", wavs, wav_lens, encoded, texts,
                      tmp_path / "s")
    card = (tmp_path / "export" / "README.md").read_text()
    results = json.loads((run / "results.json").read_text())
    assert f"{results['test-clean']['WER']:.2f}" in card
    assert "joint CTC+attention" in card and "EncoderDecoderASR" in card
    # our transcriber runs CTC models: a one-line error naming the stock class
    example = tmp_path / "export" / "example.flac"
    assert main(["transcribe", str(example), "--model", str(tmp_path / "export")]) == 2
    assert "loads with speechbrain.inference.ASR.EncoderDecoderASR" in \
        capsys.readouterr().err


def test_model_card_and_manifest(runs, exports):
    for kind, folder in exports.items():
        card = (folder / "README.md").read_text()
        results = json.loads((runs[kind] / "results.json").read_text())
        for stats in results.values():
            assert f"{stats['WER']:.2f}" in card
        assert "from_hparams" in card
        manifest = json.loads((folder / "export.json").read_text())
        assert sorted(manifest["files"]) == sorted(
            p.name for p in folder.iterdir())
        assert "checkpointer" not in (folder / "hyperparams.yaml").read_text()


def test_early_exit_strategy_and_layer_in_result(exports, tmp_path):
    asr = load_model(str(exports["early_exit"]), savedir=str(tmp_path))
    example = exports["early_exit"] / "example.flac"
    first = asr.transcribe_file(example, exit_strategy="fixed", threshold=1)
    assert first.exit_layer == 1 and first.num_layers == 3
    last = asr.transcribe_file(example, exit_strategy="fixed", threshold=3)
    assert last.exit_layer == 3 and last.real_time_factor > 0
    assert 1 <= asr.transcribe_file(
        example, exit_strategy="confidence", threshold=0.5).exit_layer <= 3
    with pytest.raises(ValueError, match="exits after layers"):
        asr.transcribe_file(example, exit_strategy="fixed", threshold=7)


def test_threshold_alone_keeps_the_models_other_strategy_settings(exports, tmp_path):
    """``--threshold`` without ``--exit-strategy`` changes the threshold of
    the model's own strategy and nothing else."""
    from speechbrain_ee.decoding.exit_strategies import Confidence, FixedExit, Patience

    asr = load_model(str(exports["early_exit"]), savedir=str(tmp_path))
    asr.hparams.exit_strategy = Confidence(measure="entropy", threshold=0.01)
    assert repr(asr.exit_strategy(threshold=0.002)) == repr(
        Confidence(measure="entropy", threshold=0.002))
    asr.hparams.exit_strategy = Patience(patience=3, threshold=0.1, distance="bce")
    changed = asr.exit_strategy(threshold=0.05)
    assert (changed.patience, changed.distance, changed.threshold) == (3, "bce", 0.05)
    assert asr.hparams.exit_strategy.threshold == 0.1  # the model's own is untouched
    asr.hparams.exit_strategy = FixedExit(3)
    assert asr.exit_strategy(threshold=2).layer == 2
    with pytest.raises(ValueError, match="exits after layers"):
        asr.exit_strategy(threshold=9)


def test_export_refuses_a_non_empty_target(runs, tmp_path, capsys):
    target = tmp_path / "model"
    target.mkdir()
    (target / "mine.txt").write_text("keep")
    assert main(["export", str(runs["ctc"]), str(target)]) == 2
    assert "--overwrite" in capsys.readouterr().err
    assert (target / "mine.txt").read_text() == "keep"
    # A failing export leaves the target as it was, even with --overwrite.
    assert main(["export", str(runs["ctc"]), str(target), "--overwrite",
                 "--example", str(tmp_path / "missing.wav")]) == 2
    assert (target / "mine.txt").read_text() == "keep"
    assert main(["export", str(runs["ctc"]), str(target), "--overwrite",
                 "--no-check"]) == 0
    assert not (target / "mine.txt").exists()
    assert (target / "model.ckpt").is_file()
    assert [p.name for p in tmp_path.iterdir()] == ["model"]  # no leftovers


def test_command_line_transcribes_past_bad_files(exports, tmp_path, capsys):
    model = exports["blank_skip"]
    example = model / "example.flac"
    data, rate = sf.read(example, dtype="float32")
    folder = tmp_path / "audio"
    folder.mkdir()
    sf.write(folder / "a_good.flac", data, rate)
    sf.write(folder / "b_stereo.wav", np.stack([data, data], 1), rate)
    sf.write(folder / "c_8k.wav", data[::2], rate // 2)
    sf.write(folder / "d_short.wav", data[:800], rate)
    (folder / "e_empty.wav").write_bytes(b"")

    assert main(["transcribe", str(example), "--model", str(model)]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"{example}\t") and "layer 3/3" in out

    status = main(["transcribe", str(folder), "--model", str(model),
                   "--format", "json"])
    assert status == 1
    captured = capsys.readouterr()
    lines = [json.loads(line) for line in captured.out.splitlines()]
    assert [line["file"].rsplit("/", 1)[1] for line in lines] == [
        "a_good.flac", "b_stereo.wav", "c_8k.wav"]
    assert lines[0]["text"] == lines[1]["text"]  # stereo: the same, mixed
    assert "2 of 5 files failed" in captured.err
    assert "d_short.wav: 50 ms" in captured.err
    assert "e_empty.wav: the file is empty" in captured.err
    assert "resampled from 8000 Hz" in captured.err

    assert main(["transcribe", str(folder / "e_empty.wav"), "--model",
                 str(model)]) == 2
    assert "e_empty.wav" in capsys.readouterr().err


def test_command_line_on_real_recordings(exports, shared_dir, tmp_path,
                                         capsys):
    """Real LibriSpeech FLAC and Common Voice MP3 clips (../shared), a list
    file of them: every one is transcribed."""
    real = shared_dir / "data" / "real"
    clips = sorted(real.rglob("*.flac"))[:2] + sorted(real.rglob("*.mp3"))[:2]
    listing = tmp_path / "clips.lst"
    listing.write_text("\n".join(str(c) for c in clips) + "\n")
    status = main(["transcribe", str(listing), "--model",
                   str(exports["early_exit"]), "--format", "json"])
    assert status == 0, capsys.readouterr().err
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [line["file"] for line in lines] == [str(c) for c in clips]
    assert all(line["seconds"] > 0.1 for line in lines)


def test_composed_model_takes_both_settings_and_others_refuse_them(exports, capsys):
    """The composed export takes an exit strategy and a skip threshold on
    the command line; a model without blank skip or exits refuses them in
    one line."""
    model = exports["composed"]
    example = model / "example.flac"
    assert main(["transcribe", str(example), "--model", str(model), "--format", "json",
                 "--exit-strategy", "fixed", "--threshold", "2",
                 "--skip-threshold", "0.0"]) == 0
    line = json.loads(capsys.readouterr().out)
    assert line["exit_layer"] == 2 and line["skipped_share"] == 1.0
    assert main(["transcribe", str(example), "--model", str(model), "--format", "json",
                 "--skip-threshold", "1.0"]) == 0
    assert json.loads(capsys.readouterr().out)["skipped_share"] == 0.0
    assert main(["transcribe", str(example), "--model", str(exports["ctc"]),
                 "--skip-threshold", "0.9"]) == 2
    assert "skip_threshold=0.9: this model has no blank-skip stage" in capsys.readouterr().err
    assert main(["transcribe", str(example), "--model", str(exports["blank_skip"]),
                 "--threshold", "0.9"]) == 2
    assert "threshold=0.9: this model has no exit strategy" in capsys.readouterr().err


def copy_export(exports, kind, target):
    """A copy of an export to change."""
    import shutil

    shutil.copytree(exports[kind], target)
    return target


def error_line(capsys):
    """The command's one stderr line."""
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and "Traceback" not in err, err
    return lines[0]


def test_a_training_run_is_not_a_model(runs, exports, capsys):
    example = exports["ctc"] / "example.flac"
    assert main(["transcribe", str(example), "--model", str(runs["ctc"])]) == 2
    line = error_line(capsys)
    assert "is a training run" in line and f"speechbrain-ee export {runs['ctc']}" in line


def test_a_damaged_or_changed_export_is_refused(exports, tmp_path, capsys):
    """A damaged export.json is named; a model file that no longer matches
    its hash (here a YAML that would run other code) is refused before it
    runs."""
    example = exports["ctc"] / "example.flac"
    damaged = copy_export(exports, "ctc", tmp_path / "damaged")
    (damaged / "export.json").write_text('{"files": {"model.ckpt": ')
    assert main(["transcribe", str(example), "--model", str(damaged)]) == 2
    assert f"{damaged / 'export.json'} is damaged" in error_line(capsys)
    changed = copy_export(exports, "ctc", tmp_path / "changed")
    marker = tmp_path / "ran"
    with open(changed / "hyperparams.yaml", "a") as f:
        f.write(f"ran: !apply:pathlib.Path.touch [!new:pathlib.Path [{marker}]]\n")
    assert main(["transcribe", str(example), "--model", str(changed)]) == 2
    assert "hyperparams.yaml changed since the export" in error_line(capsys)
    assert not marker.exists()


def test_unknown_exit_strategy_names_the_valid_ones(exports, capsys):
    example = exports["early_exit"] / "example.flac"
    with pytest.raises(SystemExit) as exit_:
        main(["transcribe", str(example), "--model", str(exports["early_exit"]),
              "--exit-strategy", "bogus"])
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert "invalid choice: 'bogus'" in err and "'confidence'" in err


def test_a_local_model_leaves_no_temporary_folder(exports, tmp_path, monkeypatch, capsys):
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    assert main(["transcribe", str(exports["ctc"] / "example.flac"), "--model",
                 str(exports["ctc"])]) == 0
    assert list(tmp_path.iterdir()) == []


def test_a_read_only_savedir_is_one_line(exports, tmp_path, monkeypatch, capsys):
    import errno
    import pathlib

    savedir = tmp_path / "ro"
    mkdir = pathlib.Path.mkdir

    def read_only(self, *args, **kwargs):
        if self == savedir:
            raise OSError(errno.EROFS, "Read-only file system", str(self))
        return mkdir(self, *args, **kwargs)

    monkeypatch.setattr(pathlib.Path, "mkdir", read_only)
    assert main(["transcribe", str(exports["ctc"] / "example.flac"), "--model",
                 str(exports["ctc"]), "--savedir", str(savedir)]) == 1
    assert error_line(capsys).endswith(f"{savedir}: Read-only file system; choose a "
                                       "writable folder")


def test_a_hub_model_loads_once_trusted_and_checked(exports, tmp_path, monkeypatch, capsys):
    """The hub is a local folder here (no network): refused until trusted by
    the flag or the allow list; then its files are fetched and checked
    against export.json before its YAML runs."""
    import shutil

    from speechbrain_ee.inference import hub

    remote = copy_export(exports, "ctc", tmp_path / "hub")

    def fetch_file(source, filename, savedir):
        assert source == "me/model"
        Path(savedir).mkdir(parents=True, exist_ok=True)
        return Path(shutil.copy(remote / filename, Path(savedir) / filename))

    monkeypatch.setattr(hub, "fetch_file", fetch_file)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.delenv(hub.TRUST_VARIABLE, raising=False)
    example = str(exports["ctc"] / "example.flac")
    args = ["transcribe", example, "--model", "me/model"]
    assert main([*args, "--savedir", str(tmp_path / "a")]) == 2
    assert "--trust-remote-model" in error_line(capsys)
    assert not (tmp_path / "a").exists()
    assert main([*args, "--savedir", str(tmp_path / "b"), "--trust-remote-model"]) == 0
    monkeypatch.setenv(hub.TRUST_VARIABLE, "me/*")
    assert main([*args, "--savedir", str(tmp_path / "c")]) == 0
    assert capsys.readouterr().out.count(example) == 2
    with open(remote / "model.ckpt", "ab") as f:
        f.write(b"changed")
    assert main([*args, "--savedir", str(tmp_path / "d")]) == 2
    assert "model.ckpt changed since the export" in error_line(capsys)
