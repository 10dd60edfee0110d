"""``speechbrain-ee transcribe``: transcripts of audio files from an
exported model (a local folder or a hub id).

Inputs are audio files (any format soundfile reads, any rate, mono or
stereo: mixed to mono and resampled to the model's rate), folders (every
audio file under them) and list files (``.txt``/``.lst``/``.list``: one
path a line, relative to the list's folder). One file: an error names it
and the command fails. Several: a progress bar, the command keeps going
past bad files and reports them at the end (exit status 1).

Files longer than the model's segment length are transcribed long-form
(`speechbrain_ee.inference.longform`: cut at pauses, in bounded memory);
``--format json`` gives each segment's times, ``srt`` and ``vtt``
subtitles.

``--stream`` transcribes one stream chunk by chunk and prints the text as
it comes (`speechbrain_ee.inference.streaming`): a file, delivered at real
time pace (``--speed``), or ``-``, raw 16 kHz 16-bit mono PCM on standard
input (``arecord -f S16_LE -r 16000 -c 1 -t raw | speechbrain-ee transcribe
--stream - --model M``). On a terminal the transcript grows on one line;
otherwise each change is a line ``SECONDS<TAB>NEW TEXT`` (SECONDS: audio
received when it came), and the last line is ``INPUT<TAB>TRANSCRIPT``.

Authors
-------
* speechbrain-ee contributors 2026
"""

import json
import math
import re
import sys
import tempfile
from pathlib import Path

import soundfile as sf
from tqdm import tqdm

from speechbrain_ee.decoding.exit_strategies import STRATEGIES
from speechbrain_ee.inference.hub import TRUST_VARIABLE

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


def load_model(source, savedir=None, device="cpu", trust_remote_model=False):
    """An `EfficientEncoderASR` from an exported folder or a hub id.

    Arguments
    ---------
    source : str
        A folder made by ``speechbrain-ee export`` (its files checked
        against its ``export.json``), or a hub id (``owner/name``), fetched
        with SpeechBrain's fetching once trusted (see
        `speechbrain_ee.inference.hub`).
    savedir : str, optional
        Where fetched files go (default: none for a local export, which
        loads in place; ``~/.cache/speechbrain_ee/<owner>--<name>`` for a
        hub id).
    device : str
        Where the model runs.
    trust_remote_model : bool
        Load a hub model outside the allow list (its YAML runs code).

    Returns
    -------
    EfficientEncoderASR
    """
    from speechbrain.utils.fetching import LocalStrategy

    from speechbrain_ee.inference.asr import EfficientEncoderASR

    folder = Path(source)
    if folder.exists():
        # loads in place; SpeechBrain wants a savedir, left empty: removed
        with tempfile.TemporaryDirectory(prefix="speechbrain_ee_") as empty:
            return EfficientEncoderASR.from_hparams(
                source=str(folder.resolve()), savedir=savedir or empty,
                local_strategy=LocalStrategy.NO_LINK, run_opts={"device": device})
    if not HUB_ID.match(source):
        raise FileNotFoundError(
            f"model {source} not found: give an exported folder or a hub id "
            "(owner/name).")
    savedir = savedir or str(
        Path.home() / ".cache" / "speechbrain_ee" / source.replace("/", "--"))
    return EfficientEncoderASR.from_hparams(
        source=source, savedir=savedir, run_opts={"device": device},
        trust_remote_model=trust_remote_model)


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
        if path.exists():  # /dev/null, a FIFO, a socket
            raise ValueError(f"{path}: not a regular file; give an audio file.")
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
                     progress=True, skip_threshold=None, long_form=None):
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
    long_form : LongFormOptions or bool, optional
        See `EfficientEncoderASR.transcribe_file`.

    Yields
    ------
    tuple
        ``(path, Transcription or None, notes, error message or None)``.
    """
    for path in tqdm(paths, disable=not progress, unit="file",
                     file=sys.stderr):
        try:
            notes = check_audio(path, asr.sample_rate)
            result = asr.transcribe_file(path, exit_strategy, threshold, skip_threshold,
                                         long_form=long_form)
        except (OSError, ValueError, RuntimeError) as err:
            message = str(err)
            if str(path) not in message:
                message = f"{path}: {message}"
            yield path, None, [], message
            continue
        yield path, result, notes, None


def timed_segments(result):
    """A result's segments: its long-form segments, else the whole file as
    one.

    Example
    -------
    >>> from speechbrain_ee.inference.asr import Transcription
    >>> [(s.start, s.end, s.text) for s in timed_segments(Transcription("HI", 6, 6, seconds=2.0))]
    [(0.0, 2.0, 'HI')]
    """
    from speechbrain_ee.inference.longform import SegmentTranscript

    return result.segments or [SegmentTranscript(0.0, result.seconds, result.text)]


def format_result(path, result, fmt):
    """One output line (``text``, ``json``) or a subtitle document (``srt``,
    ``vtt``).

    Example
    -------
    >>> from speechbrain_ee.inference.asr import Transcription
    >>> t = Transcription("HI", 3, 6, seconds=2.0, real_time_factor=0.05)
    >>> format_result("a.wav", t, "text")
    'a.wav\\tHI\\tlayer 3/6\\tRTF 0.050'
    >>> json.loads(format_result("a.wav", t, "json"))["segments"]
    [{'start': 0.0, 'end': 2.0, 'text': 'HI'}]
    >>> format_result("a.wav", t, "srt").splitlines()[:2]
    ['1', '00:00:00,000 --> 00:00:02,000']
    """
    if fmt in ("srt", "vtt"):
        from speechbrain_ee.inference import subtitles

        cues = subtitles.make_cues(timed_segments(result))
        return (subtitles.to_srt if fmt == "srt" else subtitles.to_vtt)(cues)
    if fmt == "json":
        return json.dumps({
            "file": str(path), "text": result.text,
            "exit_layer": result.exit_layer,
            "num_layers": result.num_layers,
            "skipped_share": round(result.skipped_share, 4),
            "seconds": round(result.seconds, 3),
            "real_time_factor": round(result.real_time_factor, 4),
            "segments": [{"start": round(s.start, 3), "end": round(s.end, 3),
                          "text": s.text} for s in timed_segments(result)],
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
                        help="an exported folder or a hub id (owner/name); "
                        "loading a model runs the Python code its "
                        "hyperparams.yaml names, so a hub model loads only "
                        "with --trust-remote-model or when in the allow list")
    parser.add_argument("--trust-remote-model", action="store_true",
                        help="load a hub model that is not in the allow list "
                        f"(${TRUST_VARIABLE} or ~/.config/speechbrain_ee/"
                        "trusted_models.txt): you trust the code its YAML runs, "
                        "as with transformers' trust_remote_code")
    parser.add_argument("--savedir", default=None,
                        help="where a hub model is stored (default: "
                        "~/.cache/speechbrain_ee/<owner>--<name>)")
    parser.add_argument("--exit-strategy", default=None, choices=sorted(STRATEGIES),
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
    parser.add_argument("--format", choices=("text", "json", "srt", "vtt"),
                        default="text",
                        help="text: FILE<TAB>TRANSCRIPT<TAB>layer<TAB>RTF; "
                        "json: one JSON object a line (with each segment's "
                        "start, end and text); srt, vtt: subtitles")
    parser.add_argument("--output-dir", default=None,
                        help="write each file's output to DIR/<name>.<format> "
                        "instead of printing it (needed for srt/vtt of "
                        "several files)")
    parser.add_argument("--long-form-above", type=float, default=None,
                        metavar="SECONDS",
                        help="cut files longer than this at pauses and "
                        "transcribe the segments in batches, in memory that "
                        "does not grow with the length (default: the "
                        "segment length; inf: never, the whole file at once)")
    parser.add_argument("--max-segment-seconds", type=float, default=None,
                        help="longest segment of a long file (default: the "
                        "model's: 30 for self-attention encoders, 60 for "
                        "linear-time ones such as SummaryMixing)")
    parser.add_argument("--device", default="cpu")
    stream = parser.add_argument_group(
        "streaming", "--stream: one file, or - for raw 16 kHz s16le mono PCM on "
        "standard input; needs a model trained with dynamic chunks")
    stream.add_argument("--stream", action="store_true",
                        help="transcribe chunk by chunk, printing partial results "
                        "as they change")
    stream.add_argument("--chunk-ms", type=float, default=640.0,
                        help="chunk length in ms, a multiple of the model's frame "
                        "(40 ms for the recipe's models); latency is about this "
                        "plus 43 ms (default: 640)")
    stream.add_argument("--left-context-chunks", type=int, default=None,
                        help="past chunks each chunk sees (default: all; "
                        "SummaryMixing keeps constant memory either way, "
                        "self-attention keeps this many chunks of frames)")
    stream.add_argument("--speed", type=float, default=1.0,
                        help="a file is delivered at this multiple of real time "
                        "(0: as fast as possible; default: 1)")


def long_form_options(args):
    """The command line's long-form settings (`LongFormOptions`), or False
    for ``--long-form-above inf``."""
    from speechbrain_ee.inference.longform import LongFormOptions

    if args.long_form_above is not None and math.isinf(args.long_form_above):
        return False
    return LongFormOptions(max_segment_seconds=args.max_segment_seconds,
                           above_seconds=args.long_form_above)


def write_output(path, text, args):
    """Prints one file's output, or writes it to ``--output-dir``."""
    if not args.output_dir:
        print(text, end="" if args.format in ("srt", "vtt") else "\n", flush=True)
        return
    folder = Path(args.output_dir)
    folder.mkdir(parents=True, exist_ok=True)
    suffix = {"text": ".txt"}.get(args.format, "." + args.format)
    (folder / Path(path).with_suffix(suffix).name).write_text(
        text if args.format in ("srt", "vtt") else text + "\n", encoding="utf-8")


def run(args):
    """Runs the ``transcribe`` sub-command."""
    if getattr(args, "stream", False):
        return run_stream(args)
    paths = expand_inputs(args.inputs)
    if not paths:
        raise FileNotFoundError(
            f"no audio files in {' '.join(args.inputs)}.")
    if args.format in ("srt", "vtt") and len(paths) > 1 and not args.output_dir:
        raise ValueError(f"--format {args.format} with several files needs "
                         "--output-dir (one subtitle file per input).")
    long_form = long_form_options(args)
    if long_form is not False:  # this is the command's own process
        from speechbrain_ee.inference.longform import fixed_mmap_threshold

        fixed_mmap_threshold()  # peak memory flat in the files' length
    asr = load_model(args.model, args.savedir, args.device,
                     trust_remote_model=args.trust_remote_model)
    failures = []
    for path, result, notes, error in transcribe_paths(
            asr, paths, args.exit_strategy, args.threshold,
            progress=len(paths) > 1, skip_threshold=args.skip_threshold,
            long_form=long_form):
        if error:
            failures.append(error)
            continue
        for note in notes:
            tqdm.write(f"{path}: {note}", file=sys.stderr)
        write_output(path, format_result(path, result, args.format), args)
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


def check_stream_args(args):
    """Refuses what ``--stream`` cannot do, in one line each."""
    from speechbrain_ee.errors import UsageError

    if len(args.inputs) != 1:
        raise UsageError("--stream transcribes one input: an audio file, or - for "
                         "raw 16 kHz s16le mono PCM on standard input.")
    for option, value in (("--format", args.format != "text"),
                          ("--output-dir", args.output_dir),
                          ("--exit-strategy", args.exit_strategy),
                          ("--threshold", args.threshold is not None),
                          ("--skip-threshold", args.skip_threshold is not None),
                          ("--long-form-above", args.long_form_above is not None),
                          ("--max-segment-seconds", args.max_segment_seconds is not None)):
        if value:
            raise UsageError(f"{option}: not with --stream (text as it comes, "
                             "full model, no segments).")
    if args.speed < 0:
        raise UsageError(f"--speed {args.speed:g}: give 0 (as fast as possible) or "
                         "a positive multiple of real time.")


def run_stream(args, stdin=None, stdout=None):
    """Runs ``transcribe --stream``: text as the audio comes.

    Arguments
    ---------
    args : argparse.Namespace
        The command line.
    stdin : file object, optional
        Binary source of ``-`` (default: standard input).
    stdout : file object, optional
        Where the text goes (default: standard output).

    Returns
    -------
    int
        The exit status.
    """
    from speechbrain_ee.inference.streaming import (
        StreamingTranscriber,
        paced,
        pcm_chunks,
    )

    check_stream_args(args)
    stdout = stdout or sys.stdout
    source = args.inputs[0]
    if source != "-":
        check_audio(Path(source), 16000)  # a clear error before loading the model
    streamer = StreamingTranscriber.from_asr(load_model(
        args.model, args.savedir, args.device, trust_remote_model=args.trust_remote_model))
    config = streamer.config(args.chunk_ms, args.left_context_chunks)
    size = streamer.get_chunk_size_frames(config)
    if source == "-":
        chunks = pcm_chunks(stdin or sys.stdin.buffer, size)
    else:
        from speechbrain_ee.dataio.audio import load_audio

        wav = load_audio(source, streamer.sample_rate)
        chunks = paced(wav.split(size), size / streamer.sample_rate, args.speed)
    inline = stdout.isatty()
    text, samples = "", 0

    def counted(chunks):
        nonlocal samples
        for chunk in chunks:
            samples += chunk.shape[-1]
            yield chunk

    for piece in streamer.transcribe_stream(counted(chunks), config):
        if not piece:
            continue
        text += piece
        if inline:
            stdout.write(piece)
        else:
            stdout.write(f"{samples / streamer.sample_rate:.2f}\t{piece}\n")
        stdout.flush()
    stdout.write("\n" if inline else f"{source}\t{text.strip()}\n")
    stdout.flush()
    return 0
