"""Tests of the transcriber's input handling (no model needed): folders
and list files, and the documented behaviour on bad audio."""

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from speechbrain_ee.inference.transcribe import (
    check_audio,
    expand_inputs,
    load_model,
)


def write(path, seconds=0.5, rate=16000, channels=1):
    data = np.random.default_rng(0).normal(
        0, 0.1, (int(seconds * rate), channels)).astype("float32")
    sf.write(path, data, rate)
    return path


def written(path, data):
    path.write_bytes(data)
    return path


def test_folders_and_list_files_expand(tmp_path):
    (tmp_path / "sub").mkdir()
    write(tmp_path / "sub" / "b.flac")
    write(tmp_path / "a.wav")
    (tmp_path / "notes.md").write_text("not audio")
    listing = tmp_path / "files.txt"
    listing.write_text("# my files\na.wav\n\nmissing.wav\n")
    paths = expand_inputs([str(tmp_path), str(listing), "x.mp3"])
    names = [p.relative_to(tmp_path).as_posix() if p.is_absolute() else
             str(p) for p in paths]
    assert names == ["a.wav", "sub/b.flac", "a.wav", "missing.wav", "x.mp3"]


def test_good_audio_has_no_notes(tmp_path):
    assert check_audio(write(tmp_path / "a.flac"), 16000) == []


def test_8khz_and_stereo_are_converted_with_a_note(tmp_path):
    notes = check_audio(write(tmp_path / "n.wav", rate=8000), 16000)
    assert notes and "8000 Hz" in notes[0] and "narrowband" in notes[0]
    notes = check_audio(write(tmp_path / "s.wav", channels=2), 16000)
    assert notes == ["2 channels mixed to mono"]


@pytest.mark.parametrize("make,message", [
    (lambda d: d / "missing.wav", "no such file"),
    (lambda d: written(d / "empty.wav", b""), "empty"),
    (lambda d: written(d / "text.wav", b"hello"), "not an audio file"),
    (lambda d: write(d / "short.wav", seconds=0.05), "50 ms"),
])
def test_bad_audio_names_the_file(tmp_path, make, message):
    path = make(tmp_path)
    with pytest.raises((OSError, ValueError)) as err:
        check_audio(path, 16000)
    assert str(path) in str(err.value) and message in str(err.value)


def test_model_must_be_an_export_or_a_hub_id(tmp_path):
    with pytest.raises(FileNotFoundError, match="not an exported model"):
        load_model(str(tmp_path))
    with pytest.raises(FileNotFoundError, match="not found"):
        load_model(str(tmp_path / "no" / "such" / "folder"))


def test_devices_and_fifos_are_not_missing_files(tmp_path):
    import os

    fifo = tmp_path / "pipe.wav"
    os.mkfifo(fifo)
    for path in (fifo, Path("/dev/null")):
        with pytest.raises(ValueError, match="not a regular file"):
            check_audio(path, 16000)


def test_a_hub_model_needs_trust(tmp_path, monkeypatch):
    """Loading a hub model runs its YAML's code: refused unless trusted,
    before anything is fetched."""
    from speechbrain_ee.errors import UsageError
    from speechbrain_ee.inference import hub

    monkeypatch.delenv(hub.TRUST_VARIABLE, raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    fetched = []
    monkeypatch.setattr(hub, "fetch_file", lambda *args: fetched.append(args))
    with pytest.raises(UsageError, match="--trust-remote-model"):
        load_model("someone/model", savedir=str(tmp_path / "s"))
    assert not fetched
    allow = tmp_path / "config" / "speechbrain_ee" / "trusted_models.txt"
    allow.parent.mkdir(parents=True)
    allow.write_text("# mine\nmyorg/*\n")
    hub.check_trusted("myorg/model")
    with pytest.raises(UsageError):
        hub.check_trusted("someone/model")
