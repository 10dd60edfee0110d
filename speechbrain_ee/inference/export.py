"""``speechbrain-ee export``: a trained run as a SpeechBrain pretrained model.

A run of ``recipes/LibriSpeech/ASR/CTC/train.py`` (any of its YAMLs: every
one builds a ``ctc_model`` of `speechbrain_ee.lobes.contract`) becomes a
folder in SpeechBrain's hub format:

- ``hyperparams.yaml``: the model part of the run's own hyperparameters
  (features, normalisation, ``ctc_model`` and what it is built from, the
  inference defaults ``exit_strategy``, ``skip_threshold``,
  ``spike_width`` where the run has them), then the inference part: ``tokenizer``,
  ``decoding_function``, ``modules`` and a ``pretrainer`` that loads
- ``model.ckpt``, ``normalizer.ckpt``, ``tokenizer.ckpt``: the best
  checkpoint (lowest dev WER) and the SentencePiece model, nothing else;
- ``README.md``: a model card (architecture, data, the run's WERs, exit
  defaults, usage, licence);
- an example audio file (the first test utterance, or ``--example``);
- ``export.json``: what was exported from where (``speechbrain-ee push``
  uploads exactly the files it lists).

The folder loads with
``EfficientEncoderASR.from_hparams(source=<folder>, savedir=...)``; the
export checks that by transcribing the example before it finishes.

Authors
-------
* speechbrain-ee contributors 2026
"""

import csv
import hashlib
import io
import json
import os
import re
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

import torch

MANIFEST = "export.json"
CHECKPOINT_FILES = {"model": "model.ckpt", "normalizer": "normalizer.ckpt"}
TOKENIZER_FILE = "tokenizer.ckpt"
INFERENCE_KEYS = ("sample_rate", "blank_index", "output_neurons",
                  "compute_features", "normalize", "model", "ctc_model",
                  "exit_strategy", "skip_threshold", "spike_width",
                  "max_segment_seconds")  # long-form segment cap, where a run sets one
MACHINE_KEYS = ("cnn_cache", "checkpoint", "routed_checkpoint")
LICENSE = "apache-2.0"


@dataclass
class RunInfo:
    """A training run, read for export."""

    folder: Path
    hparams: dict
    """The run's ``hyperparams.yaml``, as a round-trip YAML tree (tags and
    anchors kept, nothing instantiated)."""
    checkpoint: Path
    tokenizer: Path
    results: dict


def read_run(folder):
    """Reads what the export needs from a run's output folder.

    Arguments
    ---------
    folder : str or Path
        Output folder of ``recipes/LibriSpeech/ASR/CTC/train.py``.

    Returns
    -------
    RunInfo
    """
    from ruamel.yaml import YAML

    folder = Path(folder)
    path = folder / "hyperparams.yaml"
    if not path.is_file():
        raise FileNotFoundError(
            f"{path} not found: give the output folder of a training run of "
            "recipes/LibriSpeech/ASR/CTC/train.py.")
    hparams = YAML().load(path.read_text(encoding="utf-8"))
    check_model(hparams, path)
    save = folder / "save"
    checkpoint = best_checkpoint(save)
    tokenizer = save / f"{hparams['output_neurons']}_{hparams['token_type']}.model"
    if not tokenizer.is_file():
        raise FileNotFoundError(
            f"{tokenizer} not found: the run's SentencePiece model is "
            "missing; rerun the recipe to train it.")
    results_path = folder / "results.json"
    results = {}
    if results_path.is_file():
        results = json.loads(results_path.read_text(encoding="utf-8"))
    return RunInfo(folder, hparams, checkpoint, tokenizer, results)


def check_model(hparams, path="hyperparams.yaml"):
    """Checks that a run's YAML builds a ``ctc_model`` (a clear error for a
    joint CTC+attention run or an older run).

    Example
    -------
    >>> check_model({"ctc_model": 1, "model": 2})
    >>> check_model({"encoder": 1}, "x.yaml")
    Traceback (most recent call last):
    ...
    ValueError: x.yaml: no `ctc_model`: not a run of this version of recipes/LibriSpeech/ASR/CTC/train.py (train it again).
    """
    if "encoder_decoder" in hparams:
        raise ValueError(
            f"{path}: a joint CTC+attention run; export supports the runs "
            "of recipes/LibriSpeech/ASR/CTC/train.py.")
    if "ctc_model" not in hparams:
        raise ValueError(
            f"{path}: no `ctc_model`: not a run of this version of "
            "recipes/LibriSpeech/ASR/CTC/train.py (train it again).")


def best_checkpoint(save_folder):
    """The checkpoint with the lowest dev WER (the recipe's choice for
    testing), checked to hold the model and normaliser."""
    from speechbrain.utils.checkpoints import Checkpointer

    save_folder = Path(save_folder)
    if not save_folder.is_dir():
        raise FileNotFoundError(
            f"{save_folder} not found: the run has no checkpoints; train it "
            "first.")
    ckpt = Checkpointer(str(save_folder)).find_checkpoint(min_key="WER")
    if ckpt is None:
        raise FileNotFoundError(
            f"no checkpoint with a dev WER in {save_folder}: train the run "
            "to the end of an epoch first.")
    for name in CHECKPOINT_FILES.values():
        if not (ckpt.path / name).is_file():
            raise FileNotFoundError(f"{ckpt.path / name} is missing.")
    return ckpt.path


def _reachable(node, seen):
    """Records the ids of every container under ``node``."""
    if id(node) in seen:
        return
    seen.add(id(node))
    if isinstance(node, dict):
        for value in node.values():
            _reachable(value, seen)
    elif isinstance(node, list):
        for value in node:
            _reachable(value, seen)


def _portable(node, seen=None):
    """Sets every `MACHINE_KEYS` value to null: a training run's feature
    cache folder and the weights its model loads when built (the teacher's,
    a fine-tuned run's) are files of the training machine, and the export's
    ``model.ckpt`` holds every weight."""
    seen = set() if seen is None else seen
    if id(node) in seen or not isinstance(node, (dict, list)):
        return
    seen.add(id(node))
    if isinstance(node, dict):
        for key in MACHINE_KEYS:
            if node.get(key):
                node[key] = None
    for value in node.values() if isinstance(node, dict) else node:
        _portable(value, seen)


def _strip_comments(node, seen=None):
    """Drops the run's comments (they would land in odd places)."""
    seen = set() if seen is None else seen
    if id(node) in seen or not isinstance(node, (dict, list)):
        return
    seen.add(id(node))
    if hasattr(node, "ca"):
        node.ca.items.clear()
        node.ca.comment = None
        node.ca.end = []
    for value in node.values() if isinstance(node, dict) else node:
        _strip_comments(value, seen)


def model_yaml(hparams):
    """The model part of the run's YAML: the keys inference needs and every
    top-level key their values share nodes with (the run's ``CNN``,
    ``encoder`` ...), in the run's order, without comments.

    Arguments
    ---------
    hparams : ruamel.yaml.comments.CommentedMap
        The run's ``hyperparams.yaml``, loaded round-trip.

    Returns
    -------
    str
    """
    from ruamel.yaml import YAML
    from ruamel.yaml.comments import CommentedMap

    roots = [k for k in INFERENCE_KEYS if k in hparams]
    for key in roots:
        _portable(hparams[key])
    seen = set()
    for key in roots:
        _reachable(hparams[key], seen)
    kept = CommentedMap()
    for key, value in hparams.items():
        if key in roots or (isinstance(value, (dict, list))
                            and id(value) in seen):
            kept[key] = value
    _strip_comments(kept)
    buf = io.StringIO()
    YAML().dump(kept, buf)
    lines = []
    for line in buf.getvalue().splitlines():
        if lines and line[:1].isalpha() and lines[-1][:1] in (" ", "-"):
            lines.append("")  # a blank line after each block
        lines.append(line.rstrip())
    return "\n".join(lines) + "\n"


def inference_yaml(hparams):
    """The exported ``hyperparams.yaml``.

    Arguments
    ---------
    hparams : ruamel.yaml.comments.CommentedMap
        The run's ``hyperparams.yaml``, loaded round-trip.

    Returns
    -------
    str
    """
    return "\n".join([
        "# ############################################################",
        "# Inference hyperparameters of a speechbrain-ee model",
        "# (speechbrain_ee.inference.EfficientEncoderASR), exported by",
        "# `speechbrain-ee export` from a run of",
        "# recipes/LibriSpeech/ASR/CTC/train.py.",
        "# ############################################################",
        "",
        "# The model, as the run defined it.",
        model_yaml(hparams),
        "# Inference.",
        "tokenizer: !new:sentencepiece.SentencePieceProcessor",
        "",
        "# Greedy CTC decoding, as the recipe scores dev; a",
        "# speechbrain.decoders.CTCBeamSearcher (with !name:) works too.",
        "decoding_function: !name:speechbrain.decoders.ctc_greedy_decode",
        "    blank_id: !ref <blank_index>",
        "",
        "modules:",
        "    encoder: !ref <ctc_model>",
        "    normalize: !ref <normalize>",
        "",
        "pretrainer: !new:speechbrain.utils.parameter_transfer.Pretrainer",
        "    loadables:",
        "        model: !ref <model>",
        "        normalizer: !ref <normalize>",
        "        tokenizer: !ref <tokenizer>",
        "",
    ])


def wer_table(results):
    """Markdown rows of the run's test WERs (``results.json``).

    Example
    -------
    >>> print(wer_table({"test-clean": {"WER": 10.0, "CER": 5.0,
    ...                                 "beam_WER": 9.5}}))
    | test-clean | 10.00 | 5.00 | 9.50 |
    """
    rows = []
    for name, stats in results.items():
        cells = [f"{stats[k]:.2f}" if k in stats else "-"
                 for k in ("WER", "CER", "beam_WER")]
        rows.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(rows)


DYNAMIC_STATS = ("strategy_WER", "strategy_avg_layers", "oracle_WER",
                 "skipped_share", "speedup", "encoder_speedup")


def dynamic_table(results):
    """Markdown table of the per-head WERs and the dynamic statistics
    (exit strategy, skipping, measured speed-up) of the run's test sets;
    empty for a model with one head.

    Example
    -------
    >>> print(dynamic_table({"t": {"WER_L1": 50.0, "WER_L2": 40.0,
    ...     "strategy_WER": 41.0, "strategy_avg_layers": 1.5}}))
    | test set | WER_L1 | WER_L2 | strategy_WER | strategy_avg_layers |
    |---|---|---|---|---|
    | t | 50.00 | 40.00 | 41.00 | 1.50 |
    >>> dynamic_table({"t": {"WER": 10.0}})
    ''
    """
    if not results:
        return ""
    first = next(iter(results.values()))
    keys = sorted((k for k in first if k.startswith("WER_L")),
                  key=lambda k: int(k[5:]))
    keys += [k for k in DYNAMIC_STATS if k in first]
    if not keys:
        return ""
    rows = [f"| test set | {' | '.join(keys)} |",
            "|" + "---|" * (len(keys) + 1)]
    for name, stats in results.items():
        cells = [f"{stats[k]:.2f}" if k in stats else "-" for k in keys]
        rows.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(rows)


def _describe(hparams):
    """Architecture lines of the model card."""
    model = hparams["ctc_model"]
    encoder = model["encoder"]
    stack = encoder.get("encoder", encoder)  # ASREncoder: its stack
    if stack.get("num_layers") is not None:
        architecture = (
            f"`{stack.tag.value.split(':', 1)[-1]}`, "
            f"{stack.get('num_layers')} layers, d_model "
            f"{stack.get('d_model')}, token mixing "
            f"`{stack.get('attention_type', 'n/a')}`")
    else:  # another encoder (a distilled student, an SSL model)
        architecture = f"`{encoder.tag.value.split(':', 1)[-1]}`"
    lines = [
        f"- Encoder: {architecture}.",
        f"- Tokens: SentencePiece {hparams['token_type']}, "
        f"{hparams['output_neurons']} (CTC blank = id "
        f"{hparams['blank_index']}).",
    ]
    if model.get("skip_layer") is not None:
        lines.append(
            f"- Blank skip: intermediate CTC head after layer "
            f"{model['skip_layer']}; by default frames with p(blank) > "
            f"{hparams.get('skip_threshold')} skip the later layers (spike width "
            f"{hparams.get('spike_width')}).")
    if "exit_strategy" in hparams:
        strategy = hparams["exit_strategy"]
        args = ", ".join(f"{k}={v}" for k, v in strategy.items())
        exits = hparams.get("exit_layers")
        where = f" after layers {list(exits)}" if isinstance(exits, list) else ""
        lines.append(
            f"- Early exits{where}; default strategy `{strategy.tag.value.rsplit('.', 1)[-1]}` "
            f"({args}).")
    return lines


def _training_hours(run):
    """Hours of training audio, from the run's train CSV (None if absent)."""
    path = run.folder / "save" / "train.csv"
    if not path.is_file():
        return None
    with open(path, newline="", encoding="utf-8") as f:
        return sum(float(row["duration"]) for row in csv.DictReader(f)) / 3600


def model_card(run, name, example, parameters):
    """The exported ``README.md``.

    Arguments
    ---------
    run : RunInfo
        The run.
    name : str
        The model's name (the target folder's).
    example : str or None
        The example audio's file name.
    parameters : int
        Parameter count.

    Returns
    -------
    str
    """
    hours = _training_hours(run)
    dynamic = dynamic_table(run.results)
    dynamic_intro = ("Per exit (`WER_L<k>`: greedy WER of the head after "
                     "layer k) and the dynamic model's statistics:")
    data = f"`{run.hparams['data_folder']}`"
    if hours is not None:
        data += f", {hours:.2f} h of training audio"
    strategy_args = ""
    if "exit_strategy" in run.hparams:
        strategy_args = ', exit_strategy="confidence", threshold=0.9'
    example_file = example or "my_audio.flac"
    return "\n".join([
        "---",
        "language: en",
        f"license: {LICENSE}",
        "library_name: speechbrain",
        "tags: [automatic-speech-recognition, CTC, speechbrain, "
        "speechbrain-ee]",
        "---",
        "",
        f"# {name}",
        "",
        f"A CTC speech recogniser trained with speechbrain-ee, "
        f"exported from `{run.folder}`.",
        "",
        "## Architecture",
        "",
        *_describe(run.hparams),
        f"- Parameters: {parameters / 1e6:.2f} M.",
        "",
        "## Training data",
        "",
        f"{data} (LibriSpeech layout).",
        "",
        "## Results",
        "",
        "WER and CER in % on the run's test sets (greedy; beam: the recipe's "
        "CTC beam search).",
        "",
        "| test set | WER | CER | beam WER |",
        "|---|---|---|---|",
        wer_table(run.results) or "| (the run has no results.json) | | | |",
        "",
        *([dynamic_intro, "", dynamic, ""] if dynamic else []),
        "## Usage",
        "",
        "```python",
        "from speechbrain_ee.inference import EfficientEncoderASR",
        "",
        f'asr = EfficientEncoderASR.from_hparams(source="{name}", '
        f'savedir="pretrained_models/{name}")',
        f'result = asr.transcribe_file("{example_file}"{strategy_args})',
        "print(result.text, result.exit_layer)",
        "```",
        "",
        "From the command line:",
        "",
        "```bash",
        f"speechbrain-ee transcribe {example_file} --model {name}",
        "```",
        "",
        "Loading the model runs the Python code its `hyperparams.yaml` names "
        "(HyperPyYAML). From the hub, speechbrain-ee loads it only if you trust "
        "it: `trust_remote_model=True` (`--trust-remote-model`) or an entry in "
        "your allow list (`SPEECHBRAIN_EE_TRUSTED_MODELS`). Its files are checked "
        "against the hashes of `export.json` first.",
        "",
        "## Licence",
        "",
        f"The model is released under {LICENSE.capitalize()}. Its training "
        "data carries its own licence.",
        "",
    ])


def _first_test_audio(run):
    """The first utterance of the run's first test CSV, if it exists."""
    data_root = str(run.hparams.get("data_folder", ""))
    for csv_path in sorted((run.folder / "save").glob("test*.csv")):
        with open(csv_path, newline="", encoding="utf-8") as f:
            for row in csv.DictReader(f):
                wav = row["wav"].replace("$data_root", data_root)
                return Path(wav) if Path(wav).is_file() else None
    return None


def _sha256(path):
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def check_target(target, overwrite):
    """Refuses a non-empty target unless ``overwrite``."""
    target = Path(target)
    if target.exists() and not target.is_dir():
        raise FileExistsError(f"{target} exists and is not a folder.")
    if target.is_dir() and any(target.iterdir()) and not overwrite:
        raise FileExistsError(
            f"{target} is not empty: choose another folder, or pass "
            "--overwrite to replace it.")


def export_run(run_folder, target, overwrite=False, example=None,
               check=True):
    """Exports a run; see the module's docstring.

    Arguments
    ---------
    run_folder : str or Path
        The run's output folder.
    target : str or Path
        The folder to create; refused when not empty unless ``overwrite``.
    overwrite : bool
        Replace a non-empty target (only once the new export is complete).
    example : str or Path, optional
        The example audio file; default: the run's first test utterance.
    check : bool
        Load the export and transcribe the example before finishing.

    Returns
    -------
    dict
        The manifest (also written to ``export.json``).
    """
    target = Path(target)
    check_target(target, overwrite)
    run = read_run(run_folder)
    if example is not None and not Path(example).is_file():
        raise FileNotFoundError(f"example audio {example} not found.")
    example = Path(example) if example else _first_test_audio(run)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.",
                                        dir=target.parent))
    except OSError as err:  # named as the user gave it, not the staging folder
        raise OSError(err.errno, err.strerror, str(target)) from err
    staging.chmod(0o755)  # mkdtemp's 0700 would stay on the export
    try:
        manifest = _write_export(run, staging, target.name, example)
        if check:
            _check_export(staging, manifest)
        if target.exists():
            shutil.rmtree(target)
        os.replace(staging, target)
    finally:
        if staging.exists():
            shutil.rmtree(staging)
    return manifest


def _write_export(run, folder, name, example):
    """Writes every exported file into ``folder``; returns the manifest."""
    for key, file_name in CHECKPOINT_FILES.items():
        shutil.copyfile(run.checkpoint / file_name, folder / file_name)
    shutil.copyfile(run.tokenizer, folder / TOKENIZER_FILE)
    (folder / "hyperparams.yaml").write_text(
        inference_yaml(run.hparams), encoding="utf-8")
    example_name = None
    if example is not None:
        example_name = "example" + "".join(example.suffixes[-1:])
        shutil.copyfile(example, folder / example_name)
    state = torch.load(folder / "model.ckpt", map_location="cpu")
    parameters = sum(t.numel() for t in state.values())
    (folder / "README.md").write_text(
        model_card(run, name, example_name, parameters), encoding="utf-8")
    files = sorted(p.name for p in folder.iterdir())
    manifest = {
        "format": "speechbrain-ee export 1",
        "source_run": str(run.folder.resolve()),
        "checkpoint": run.checkpoint.name,
        "example": example_name,
        "parameters": parameters,
        "results": run.results,
        "files": {f: _sha256(folder / f) for f in files} | {MANIFEST: None},
    }
    (folder / MANIFEST).write_text(json.dumps(manifest, indent=2),
                                   encoding="utf-8")
    return manifest


def _check_export(folder, manifest):
    """Loads the export as a user would and transcribes the example."""
    from speechbrain_ee.inference.asr import EfficientEncoderASR

    with tempfile.TemporaryDirectory() as savedir:
        asr = EfficientEncoderASR.from_hparams(
            source=str(folder.resolve()), savedir=savedir)
        if manifest["example"]:
            asr.transcribe_file(folder / manifest["example"])


def read_manifest(folder):
    """The manifest of an export; a clear error for other folders.

    Arguments
    ---------
    folder : str or Path
        An exported folder.

    Returns
    -------
    dict
    """
    folder = Path(folder)
    path = folder / MANIFEST
    if not folder.is_dir():
        raise FileNotFoundError(f"{folder} is not a folder.")
    if not path.is_file():
        raise ValueError(
            f"{folder} is not an export of speechbrain-ee (no {MANIFEST}): "
            "create one with `speechbrain-ee export RUN TARGET`.")
    manifest = load_manifest(path)
    missing = [f for f in manifest["files"] if not (folder / f).is_file()]
    if missing:
        raise FileNotFoundError(
            f"{folder}: exported files missing: {missing}; export again.")
    return manifest


def load_manifest(path):
    """An ``export.json``, read; a damaged one is an error naming it.

    Arguments
    ---------
    path : str or Path
        The file.

    Returns
    -------
    dict
        With its ``files`` (name -> SHA-256).

    Example
    -------
    >>> import tempfile
    >>> path = Path(tempfile.mkdtemp()) / MANIFEST
    >>> _ = path.write_text('{"files": {"a": null')
    >>> load_manifest(path)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: .../export.json is damaged (JSONDecodeError: ...); export the model again ...
    """
    try:
        manifest = json.loads(Path(path).read_text(encoding="utf-8"))
        if not isinstance(manifest.get("files"), dict):
            raise TypeError("no `files` mapping")
    except (ValueError, AttributeError, TypeError) as err:
        raise ValueError(
            f"{path} is damaged ({type(err).__name__}: {err}); export the model "
            "again (speechbrain-ee export RUN TARGET --overwrite).") from None
    return manifest


def is_model_file(name):
    """Whether loading an export reads ``name`` (the YAML it runs, the
    checkpoints it unpickles): the files `verify_export` checks. The model
    card and the example may be edited (e.g. on the hub).

    Example
    -------
    >>> [is_model_file(f) for f in ("hyperparams.yaml", "model.ckpt", "README.md")]
    [True, True, False]
    """
    return name == "hyperparams.yaml" or name.endswith(".ckpt")


def verify_export(folder):
    """Checks an export's model files (`is_model_file`) against the SHA-256
    hashes of its ``export.json``: a file changed after the export (by hand,
    a broken copy, someone else) is refused before its YAML runs.

    Arguments
    ---------
    folder : str or Path
        An exported folder.

    Returns
    -------
    dict
        The manifest.

    Example
    -------
    >>> import tempfile
    >>> folder = Path(tempfile.mkdtemp())
    >>> _ = (folder / "hyperparams.yaml").write_text("a: 1\\n")
    >>> _ = (folder / MANIFEST).write_text(json.dumps({"files": {
    ...     "hyperparams.yaml": _sha256(folder / "hyperparams.yaml"), MANIFEST: None}}))
    >>> sorted(verify_export(folder)["files"])
    ['export.json', 'hyperparams.yaml']
    >>> _ = (folder / "hyperparams.yaml").write_text("a: !apply:os.system [echo]\\n")
    >>> verify_export(folder)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: ...: hyperparams.yaml changed since the export (its SHA-256 is not export.json's): ...
    """
    folder = Path(folder)
    manifest = load_manifest(folder / MANIFEST)
    model_files = [name for name in manifest["files"] if is_model_file(name)]
    missing = [name for name in model_files if not (folder / name).is_file()]
    if missing:
        raise FileNotFoundError(
            f"{folder}: exported files missing: {missing}; export again.")
    changed = [name for name in model_files
               if manifest["files"][name] != _sha256(folder / name)]
    if changed:
        raise ValueError(
            f"{folder}: {', '.join(changed)} changed since the export (its SHA-256 "
            f"is not {MANIFEST}'s): refusing to load it; export the run again or "
            "restore the exported files.")
    return manifest


def check_model_folder(folder):
    """Checks a local folder before it loads as a model: an export's files
    must match its ``export.json`` (`verify_export`); a training run, or
    another folder without an inference ``pretrainer``, is named as such.
    A folder of SpeechBrain's format without ``export.json`` (made by
    hand) loads as it is.

    Arguments
    ---------
    folder : str or Path
        The folder given as the model.

    Example
    -------
    >>> import tempfile
    >>> run = Path(tempfile.mkdtemp())
    >>> _ = (run / "hyperparams.yaml").write_text("ctc_model: 1\\n")
    >>> (run / "save").mkdir()
    >>> check_model_folder(run)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: ... is a training run, not an exported model; export it first: speechbrain-ee export ... TARGET, then give TARGET.
    """
    folder = Path(folder)
    yaml_path = folder / "hyperparams.yaml"
    if not yaml_path.is_file():
        raise FileNotFoundError(
            f"{folder} has no hyperparams.yaml: not an exported model "
            "(make one with `speechbrain-ee export RUN TARGET`).")
    if (folder / MANIFEST).is_file():
        verify_export(folder)
        return
    text = yaml_path.read_text(encoding="utf-8", errors="replace")
    if not re.search(r"^pretrainer\s*:", text, re.M):
        if (folder / "save").is_dir() or (folder / "train_log.txt").is_file():
            raise ValueError(
                f"{folder} is a training run, not an exported model; export it "
                f"first: speechbrain-ee export {folder} TARGET, then give TARGET.")
        raise ValueError(
            f"{yaml_path} has no `pretrainer`: not an exported model (make one "
            "with `speechbrain-ee export RUN TARGET`).")


def add_arguments(parser):
    """The ``export`` sub-command's arguments."""
    parser.add_argument("run", help="output folder of a CTC-recipe run "
                        "(holds hyperparams.yaml and save/)")
    parser.add_argument("target", help="the folder to create")
    parser.add_argument("--overwrite", action="store_true",
                        help="replace a non-empty target (after the new "
                        "export is complete)")
    parser.add_argument("--example", default=None,
                        help="example audio file to ship (default: the "
                        "run's first test utterance)")
    parser.add_argument("--no-check", action="store_true",
                        help="skip loading the export back")


def run(args):
    """Runs the ``export`` sub-command."""
    manifest = export_run(args.run, args.target, overwrite=args.overwrite,
                          example=args.example, check=not args.no_check)
    print(f"Exported the model "
          f"({manifest['parameters'] / 1e6:.2f} M parameters) to "
          f"{args.target}:")
    for name in manifest["files"]:
        print(f"  {name}")
