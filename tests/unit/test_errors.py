"""Ordinary mistakes and failures end a command in one line that names the
file or option and what to do, with exit status 2 (usage) or 1 (failure),
and no traceback: read-only or full disks, Ctrl-C, the corpus command's
writes."""

import errno
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
import soundfile as sf

from speechbrain_ee.cli import main
from speechbrain_ee.errors import UsageError, error_line, run_command


def one_line(err):
    """The single line of a failed command's stderr (progress bars aside)."""
    lines = [line for line in err.splitlines() if line.strip() and "%|" not in line]
    assert len(lines) == 1 and "Traceback" not in err, err
    return lines[0]


@pytest.mark.parametrize("err,status,words", [
    (OSError(errno.ENOSPC, "No space left on device", "c/a.flac"), 1,
     ["c/a.flac", "No space left", "free some space"]),
    (OSError(errno.EROFS, "Read-only file system", "/ro/run"), 1,
     ["/ro/run", "writable folder"]),
    (PermissionError(errno.EACCES, "Permission denied", "/x"), 1, ["/x", "permissions"]),
    (KeyboardInterrupt(), 1, ["interrupted", "again"]),
    (FileNotFoundError("data folder x not found"), 2, ["data folder x"]),
    (UsageError("--device cuda: no GPU"), 2, ["--device cuda"]),
])
def test_each_error_has_a_status_and_a_line(err, status, words):
    got, message = error_line(err)
    assert got == status and all(w in message for w in words), message


def test_a_system_error_without_a_file_names_the_option():
    err = OSError(errno.ENOSPC, "No space left on device")
    assert error_line(err, where="--out c")[1].startswith("--out c: No space left")


def test_command_errors_are_one_line(monkeypatch, tmp_path, capsys):
    """A permission error in any sub-command (here export) is one line,
    exit status 1."""
    import speechbrain_ee.inference.export as export

    def denied(*args, **kwargs):
        raise PermissionError(errno.EACCES, "Permission denied", str(tmp_path / "model"))

    monkeypatch.setattr(export, "export_run", denied)
    assert main(["export", str(tmp_path), str(tmp_path / "model")]) == 1
    line = one_line(capsys.readouterr().err)
    assert line.startswith("speechbrain-ee export: error: ") and "model: Permission" in line


def test_run_command_leaves_other_errors_alone():
    def bug():
        raise RuntimeError("a bug in training")

    with pytest.raises(RuntimeError):
        run_command("train.py", bug, catch=(OSError,))


def test_corpus_on_a_full_disk_names_the_file(monkeypatch, tmp_path, capsys):
    """soundfile says only "System error." when the disk is full: the
    command names the file and the cause; no partial file is left."""
    import shutil

    import speechbrain_ee.dataio.corpus as corpus

    def full(path, *args, **kwargs):
        open(path, "wb").close()  # what a full disk leaves
        raise sf.LibsndfileError(2, prefix="System error. ")

    monkeypatch.setattr(corpus.sf, "write", full)
    monkeypatch.setattr(shutil, "disk_usage",
                        lambda path: shutil._ntuple_diskusage(100, 100, 0))
    status = main(["corpus", "--out", str(tmp_path), "--preset", "tiny",
                   "--only", "commonvoice", "--workers", "1"])
    assert status == 1
    line = one_line(capsys.readouterr().err)
    assert "No space left on device" in line and ".mp3" in line
    assert not list(tmp_path.rglob("*.part"))


def test_corpus_write_error_keeps_libsndfile_text(monkeypatch, tmp_path):
    import speechbrain_ee.dataio.corpus as corpus

    def broken(path, *args, **kwargs):
        raise sf.LibsndfileError(2, prefix="Error : ")

    monkeypatch.setattr(corpus.sf, "write", broken)
    with pytest.raises(OSError) as err:
        corpus.write_audio(str(tmp_path / "a.flac"), np.zeros(10, "float32"), 16000)
    assert err.value.filename.endswith("a.flac") and "cannot write audio" in str(err.value)


def test_ctrl_c_in_corpus_is_one_line(tmp_path):
    """Ctrl-C (SIGINT to the process group, as a terminal sends it) stops
    the command and its synthesis processes with one line, status 1; the
    same command resumes."""
    out = tmp_path / "c"
    proc = subprocess.Popen(
        [sys.executable, "-m", "speechbrain_ee.cli", "corpus", "--out", str(out),
         "--only", "librispeech", "--workers", "2"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        start_new_session=True, env=dict(os.environ, OMP_NUM_THREADS="1"),
        # a shell's background job (`pytest ... &`) ignores SIGINT, and so
        # would the command: give it the terminal's default
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    deadline = time.time() + 60
    while not list(out.rglob("*.flac")) and time.time() < deadline:
        time.sleep(0.2)
    os.killpg(proc.pid, signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 1, err[-2000:]
    lines = [line for line in err.splitlines() if "error:" in line or "Traceback" in line]
    assert lines == ["speechbrain-ee corpus: error: interrupted; run the same command "
                     "again to go on"], err[-2000:]
