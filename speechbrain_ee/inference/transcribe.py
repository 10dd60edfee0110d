"""``speechbrain-ee transcribe``: transcripts of audio files from an
exported model (a local folder or a hub id).

Inputs are audio files (any format soundfile reads, any rate, mono or
stereo: mixed to mono and resampled to the model's rate), folders (every
audio file under them) and list files (``.txt``/``.lst``/``.list``: one
path a line, relative to the list's folder). One file: an error names it
and the command fails. Several: a progress bar, the command keeps going
past bad files and reports them at the end (exit status 1).

Authors
-------
* speechbrain-ee contributors 2026
"""

import json
import re
import sys
import tempfile
from pathlib import Path

import soundfile as sf
from tqdm import tqdm

LIST_SUFFIXES = {".txt", ".lst", ".list"}
MIN_SECONDS = 0.1
HUB_ID = re.compile(r"^[\w.-]+/[\w.-]+$")


def audio_suffixes():
    """File suffixes of the formats soundfile reads (``.wav``, ``.flac``,
    ``.mp3`` ...).

    Example
    -------
    >>> {".wav", ".flac"} <= audio_suffixes()
    True
    """
    return {"." + fmt.lower() for fmt in sf.available_formats()} | {".oga"}


def expand_inputs(inputs):
    """Audio paths from files, folders and list files, in order.

    Arguments
    ---------
    inputs : list of str
        What the command line gave.

    Returns
    -------
    list of pathlib.Path
        Missing paths are kept (they fail, named, when transcribed).

    Example
    -------
    >>> import tempfile, pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> (d / "a.wav").touch(); (d / "b.txt").write_text("a.wav\\n")
    6
    >>> [p.name for p in expand_inputs([str(d / "b.txt"), str(d)])]
    ['a.wav', 'a.wav']
    """
    suffixes = audio_suffixes()
    paths = []
    for item in inputs:
        path = Path(item)
        if path.is_dir():
            paths += sorted(p for p in path.rglob("*")
                            if p.is_file() and p.suffix.lower() in suffixes)
        elif path.suffix.lower() in LIST_SUFFIXES and path.is_file():
            for line in path.read_text(encoding="utf-8").splitlines():
                line = line.strip()
                if line and not line.startswith("#"):
                    entry = Path(line)
                    paths.append(entry if entry.is_absolute()
                                 else path.parent / entry)
        else:
            paths.append(path)
    return paths


def load_model(source, savedir=None, device="cpu"):
    """An `EfficientEncoderASR` from an exported folder or a hub id.

    Arguments
    ---------
    source : str
        A folder made by ``speechbrain-ee export``, or a hub id
        (``owner/name``), fetched with SpeechBrain's fetching.
    savedir : str, optional
        Where fetched files go (default: a temporary folder for a local
        export, ``~/.cache/speechbrain_ee/<owner>--<name>`` for a hub id).
    device : str
        Where the model runs.

    Returns
    -------
    EfficientEncoderASR
    """
    from speechbrain.utils.fetching import LocalStrategy

    from speechbrain_ee.inference.asr import EfficientEncoderASR

    folder = Path(source)
    if folder.exists():
        if not (folder / "hyperparams.yaml").is_file():
            raise FileNotFoundError(
                f"{folder} has no hyperparams.yaml: not an exported model "
                "(make one with `speechbrain-ee export RUN TARGET`).")
        savedir = savedir or tempfile.mkdtemp(prefix="speechbrain_ee_")
        return EfficientEncoderASR.from_hparams(
            source=str(folder.resolve()), savedir=savedir,
            local_strategy=LocalStrategy.NO_LINK, run_opts={"device": device})
    if not HUB_ID.match(source):
        raise FileNotFoundError(
            f"model {source} not found: give an exported folder or a hub id "
            "(owner/name).")
    savedir = savedir or str(
        Path.home() / ".cache" / "speechbrain_ee" / source.replace("/", "--"))
    try:
        return EfficientEncoderASR.from_hparams(
            source=source, savedir=savedir, run_opts={"device": device})
    except (OSError, ValueError) as err:
        raise RuntimeError(
            f"could not fetch model {source} from the hub: {err}") from err


def check_audio(path, sample_rate):
    """Reads the header of an audio file; clear errors for missing, empty,
    unreadable and too short files.

    Arguments
    ---------
    path : pathlib.Path
        The audio file.
    sample_rate : int
        The model's rate.

    Returns
    -------
    list of str
        Notes for the user (resampling, channels mixed).
    """
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such file.")
    if path.stat().st_size == 0:
        raise ValueError(f"{path}: the file is empty.")
    try:
        info = sf.info(str(path))
    except RuntimeError as err:  # soundfile's LibsndfileError
        raise ValueError(f"{path}: not an audio file soundfile can read "
                         f"({err}).") from err
    seconds = info.frames / info.samplerate if info.frames < 2**62 else None
    if seconds is not None and seconds < MIN_SECONDS:
        raise ValueError(
            f"{path}: {seconds * 1000:.0f} ms of audio is too short to "
            f"transcribe (at least {MIN_SECONDS * 1000:.0f} ms).")
    notes = []
    if info.samplerate != sample_rate:
        notes.append(f"resampled from {info.samplerate} Hz to {sample_rate} Hz"
                     + (" (narrowband audio: expect a higher WER)"
                        if info.samplerate < sample_rate else ""))
    if info.channels > 1:
        notes.append(f"{info.channels} channels mixed to mono")
    return notes


def transcribe_paths(asr, paths, exit_strategy=None, threshold=None,
                     progress=True, skip_threshold=None):
    """Transcribes files one by one, past failures.

    Arguments
    ---------
    asr : EfficientEncoderASR
        The model.
    paths : list of pathlib.Path
        Audio files.
    exit_strategy : str, optional
        See `EfficientEncoderASR.exit_strategy`.
    threshold : float, optional
        See `EfficientEncoderASR.encode_batch`.
    progress : bool
        Show a progress bar (stderr).
    skip_threshold : float, optional
        See `EfficientEncoderASR.encode_batch`.

    Yields
    ------
    tuple
        ``(path, Transcription or None, notes, error message or None)``.
    """
    for path in tqdm(paths, disable=not progress, unit="file",
                     file=sys.stderr):
        try:
            notes = check_audio(path, asr.sample_rate)
            result = asr.transcribe_file(path, exit_strategy, threshold, skip_threshold)
        except (OSError, ValueError, RuntimeError) as err:
            message = str(err)
            if str(path) not in message:
                message = f"{path}: {message}"
            yield path, None, [], message
            continue
        yield path, result, notes, None


def format_result(path, result, fmt):
    """One output line.

    Example
    -------
    >>> from speechbrain_ee.inference.asr import Transcription
    >>> t = Transcription("HI", 3, 6, seconds=2.0, real_time_factor=0.05)
    >>> format_result("a.wav", t, "text")
    'a.wav\\tHI\\tlayer 3/6\\tRTF 0.050'
    """
    if fmt == "json":
        return json.dumps({
            "file": str(path), "text": result.text,
            "exit_layer": result.exit_layer,
            "num_layers": result.num_layers,
            "skipped_share": round(result.skipped_share, 4),
            "seconds": round(result.seconds, 3),
            "real_time_factor": round(result.real_time_factor, 4),
        })
    line = (f"{path}\t{result.text}\tlayer {result.exit_layer}/"
            f"{result.num_layers}\tRTF {result.real_time_factor:.3f}")
    if result.skipped_share:
        line += f"\tskipped {result.skipped_share:.1%}"
    return line


def add_arguments(parser):
    """The ``transcribe`` sub-command's arguments."""
    parser.add_argument("inputs", nargs="+", metavar="FILE",
                        help="audio files, folders of audio files, or list "
                        "files (.txt/.lst/.list, one path a line)")
    parser.add_argument("--model", required=True,
                        help="an exported folder or a hub id (owner/name)")
    parser.add_argument("--savedir", default=None,
                        help="where a hub model is stored (default: "
                        "~/.cache/speechbrain_ee/<owner>--<name>)")
    parser.add_argument("--exit-strategy", default=None,
                        help="early-exit models: fixed, confidence, "
                        "sequence_confidence, patience, token_confidence "
                        "(default: the model's own)")
    parser.add_argument("--threshold", type=float, default=None,
                        help="the exit strategy's threshold (fixed: the "
                        "layer; default: the model's own)")
    parser.add_argument("--skip-threshold", type=float, default=None,
                        help="blank-skip models: skip the frames whose "
                        "intermediate p(blank) exceeds it (1.0: none; "
                        "default: the model's own)")
    parser.add_argument("--format", choices=("text", "json"), default="text",
                        help="text: FILE<TAB>TRANSCRIPT<TAB>layer<TAB>RTF; "
                        "json: one JSON object a line")
    parser.add_argument("--device", default="cpu")


def run(args):
    """Runs the ``transcribe`` sub-command."""
    paths = expand_inputs(args.inputs)
    if not paths:
        raise FileNotFoundError(
            f"no audio files in {' '.join(args.inputs)}.")
    asr = load_model(args.model, args.savedir, args.device)
    failures = []
    for path, result, notes, error in transcribe_paths(
            asr, paths, args.exit_strategy, args.threshold,
            progress=len(paths) > 1, skip_threshold=args.skip_threshold):
        if error:
            failures.append(error)
            continue
        for note in notes:
            tqdm.write(f"{path}: {note}", file=sys.stderr)
        print(format_result(path, result, args.format), flush=True)
    if len(paths) == 1 and failures:  # one file: its error is the command's
        print(f"speechbrain-ee transcribe: error: {failures[0]}",
              file=sys.stderr)
        return 2
    if failures:
        print(f"{len(failures)} of {len(paths)} files failed:",
              file=sys.stderr)
        for message in failures:
            print(f"  {message}", file=sys.stderr)
        return 1
    return 0
