"""``speechbrain-ee export``: a trained run as a SpeechBrain pretrained model.

A run of ``recipes/LibriSpeech/ASR/CTC/train.py`` (any of its YAMLs: every
one builds a ``ctc_model`` of `speechbrain_ee.lobes.contract`) or of
``recipes/LibriSpeech/ASR/transformer/train.py`` (joint CTC+attention: an
``encoder_decoder``) becomes a folder in SpeechBrain's hub format, which
stock SpeechBrain loads and transcribes unchanged:
``speechbrain.inference.ASR.EncoderASR`` a CTC run,
``speechbrain.inference.ASR.EncoderDecoderASR`` a joint one. Their
``encoder`` module is, as in SpeechBrain's own hub models, a
``LengthsCapableSequential`` from waveforms: features, normalisation, then
the model (a CTC model's log-probabilities at its inference setting,
`speechbrain_ee.lobes.contract.CTCLogProbs`; a joint model's acoustic
encoder, whose output the ``decoder``, the run's test beam search with CTC
prefix scores, decodes). The folder holds:

- ``hyperparams.yaml``: the model part of the run's own hyperparameters
  (features, normalisation, ``ctc_model`` or ``encoder_decoder`` and what it
  is built from, the inference defaults ``exit_strategy``,
  ``skip_threshold``, ``spike_width`` where the run has them), then the
  inference part: ``tokenizer``, ``decoding_function`` (CTC) or ``decoder``
  (joint), ``modules`` and a ``pretrainer`` that loads
- ``model.ckpt``, ``normalizer.ckpt``, ``tokenizer.ckpt``: the best
  checkpoint (CTC: lowest dev WER; joint: the average of the kept
  checkpoints, best dev accuracy, as the recipe tests) and the
  SentencePiece model. ``model.ckpt`` holds every weight, those of a
  pretrained SSL model or teacher included: the weights a training YAML
  loads from the training machine when it builds the model (`MACHINE_KEYS`)
  are not loaded again, a transformers model the run loaded from a local
  folder is built from its configuration (written inline), and an export
  whose model part still names a file of this machine is refused
  (`machine_paths`);
- ``README.md``: a model card (architecture, data, the run's WERs, exit
  defaults, usage, licence);
- an example audio file (the first test utterance, or ``--example``);
- ``export.json``: what was exported from where (``speechbrain-ee push``
  uploads exactly the files it lists).

A CTC export also loads with
``EfficientEncoderASR.from_hparams(source=<folder>, savedir=...)``, which
reads the model's exit and skip options (module ``ctc_model``); the export
checks it (and stock SpeechBrain, for a joint model) by transcribing the
example before it finishes.

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

from speechbrain_ee.dataio.recipe_data import dev_selection
from speechbrain_ee.lobes.contract import OPTIONS

MANIFEST = "export.json"
CHECKPOINT_FILES = {"model": "model.ckpt", "normalizer": "normalizer.ckpt"}
TOKENIZER_FILE = "tokenizer.ckpt"
INFERENCE_KEYS = ("sample_rate", "blank_index", "output_neurons",
                  "compute_features", "normalize", "model", "ctc_model",
                  "exit_strategy", "skip_threshold", "spike_width",
                  "max_segment_seconds")  # long-form segment cap, where a run sets one
JOINT_KEYS = ("sample_rate", "blank_index", "output_neurons", "pad_index",
              "bos_index", "eos_index", "compute_features", "normalize",
              "model", "encoder_decoder", "test_search")
MACHINE_KEYS = ("cnn_cache", "checkpoint", "routed_checkpoint")
SOURCE_LOADERS = ("speechbrain_ee.distill.teacher.ssl_model",
                  "speechbrain_ee.distill.teacher.load_ssl_model")
"""Calls that load a transformers model from ``source`` (a local folder is
replaced by the model's configuration, inline: `_inline_configs`)."""
PIPELINE = "inference_encoder"
"""The exported YAML's waveforms-to-output chain (module ``encoder``)."""
LICENSE = "apache-2.0"


OURS = "speechbrain_ee.inference.EfficientEncoderASR"


@dataclass(frozen=True)
class Layout:
    """What an export of one kind of run holds and how it is checked."""

    kind: str
    """What the model is, in the model card."""
    model_key: str
    """The run YAML's model key (``ctc_model``, ``encoder_decoder``)."""
    roots: tuple
    """The keys inference needs (`model_yaml` keeps what they share)."""
    inference: object
    """``hparams -> lines``: the exported YAML's decoding and ``modules``."""
    loaders: tuple
    """The classes that load the export (stock SpeechBrain's first)."""
    recipe: str
    """The recipe that trains such runs."""
    scoring: str
    """How the run's test WERs were decoded, for the model card."""
    max_key: str = None
    """Checkpoints: the best by this meta key (highest), all kept ones
    averaged as the recipe tests; None: the lowest dev WER."""

    @property
    def stock_class(self):
        """The class of ``speechbrain.inference.ASR`` that transcribes it."""
        return self.loaders[0].rsplit(".", 1)[1]


def layout_of(hparams, path="hyperparams.yaml"):
    """The export layout of a run's YAML; a clear error for other YAMLs.

    Example
    -------
    >>> layout_of({"ctc_model": 1}).stock_class, layout_of({"encoder_decoder": 1}).stock_class
    ('EncoderASR', 'EncoderDecoderASR')
    >>> layout_of({"encoder": 1}, "x.yaml")
    Traceback (most recent call last):
    ...
    ValueError: x.yaml: no `ctc_model` or `encoder_decoder`: not a run of this version of recipes/LibriSpeech/ASR/CTC/train.py or recipes/LibriSpeech/ASR/transformer/train.py (train it again).
    """
    for layout in LAYOUTS:
        if layout.model_key in hparams:
            return layout
    raise ValueError(
        f"{path}: no `ctc_model` or `encoder_decoder`: not a run of this version "
        f"of {CTC.recipe} or {JOINT.recipe} (train it again).")


@dataclass
class RunInfo:
    """A training run, read for export."""

    folder: Path
    hparams: dict
    """The run's ``hyperparams.yaml``, as a round-trip YAML tree (tags and
    anchors kept, nothing instantiated)."""
    checkpoint: Path
    """The best checkpoint (its normaliser is exported)."""
    tokenizer: Path
    results: dict
    layout: Layout = None
    """How it is exported (`layout_of`)."""
    averaged: tuple = ()
    """Checkpoints whose models are averaged into the export's (joint runs,
    as their recipe tests); empty: ``checkpoint``'s model."""


def read_run(folder):
    """Reads what the export needs from a run's output folder.

    Arguments
    ---------
    folder : str or Path
        Output folder of ``recipes/LibriSpeech/ASR/CTC/train.py`` or
        ``recipes/LibriSpeech/ASR/transformer/train.py``.

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
            f"{CTC.recipe} or {JOINT.recipe}.")
    hparams = YAML().load(path.read_text(encoding="utf-8"))
    layout = layout_of(hparams, path)
    save = folder / "save"
    checkpoint, *others = best_checkpoints(save, layout.max_key)
    averaged = (checkpoint, *others) if others else ()
    tokenizer = save / f"{hparams['output_neurons']}_{hparams['token_type']}.model"
    if not tokenizer.is_file():
        raise FileNotFoundError(
            f"{tokenizer} not found: the run's SentencePiece model is "
            "missing; rerun the recipe to train it.")
    results_path = folder / "results.json"
    results = {}
    if results_path.is_file():
        results = json.loads(results_path.read_text(encoding="utf-8"))
    return RunInfo(folder, hparams, checkpoint, tokenizer, results, layout,
                   averaged)


def check_model(hparams, path="hyperparams.yaml"):
    """Checks that a run's YAML builds a model export knows (`layout_of`).

    Example
    -------
    >>> check_model({"ctc_model": 1, "model": 2})
    >>> check_model({"encoder": 1}, "x.yaml")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: x.yaml: no `ctc_model` or `encoder_decoder`: not a run of this version ...
    """
    layout_of(hparams, path)


def best_checkpoints(save_folder, max_key=None):
    """The checkpoints the recipe tests, best first, checked to hold the
    model and normaliser: the one with the lowest dev WER (``max_key``
    None: the CTC recipe), or every kept one by highest ``max_key`` (the
    joint recipe averages them)."""
    from speechbrain.utils.checkpoints import Checkpointer

    save_folder = Path(save_folder)
    if not save_folder.is_dir():
        raise FileNotFoundError(
            f"{save_folder} not found: the run has no checkpoints; train it "
            "first.")
    checkpointer = Checkpointer(str(save_folder))
    if max_key is None:
        ckpts = [c for c in [checkpointer.find_checkpoint(**dev_selection())] if c]
    else:
        ckpts = checkpointer.find_checkpoints(max_key=max_key)
    if not ckpts:
        raise FileNotFoundError(
            f"no checkpoint with a dev {max_key or 'WER'} in {save_folder}: "
            "train the run to the end of an epoch first.")
    for ckpt in ckpts:
        for name in CHECKPOINT_FILES.values():
            if not (ckpt.path / name).is_file():
                raise FileNotFoundError(f"{ckpt.path / name} is missing.")
    return [ckpt.path for ckpt in ckpts]


def best_checkpoint(save_folder):
    """The checkpoint with the lowest dev WER (the CTC recipe's choice for
    testing), checked to hold the model and normaliser."""
    return best_checkpoints(save_folder)[0]


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


def _tagged(mapping, tag):
    """``mapping`` with the YAML tag ``tag`` (e.g. ``!apply:f``)."""
    from ruamel.yaml.tag import Tag

    mapping.yaml_set_ctag(Tag(suffix=tag))
    return mapping


def _inline_configs(node, seen=None):
    """Replaces every call of `SOURCE_LOADERS` on a local folder (the
    fine-tuning YAMLs' ``ssl_source``: a transformers HuBERT/wav2vec2 saved
    on the training machine) by the model built from its configuration,
    written inline (``AutoModel.from_config``): ``model.ckpt`` holds the
    weights, so the folder is not needed."""
    from ruamel.yaml.comments import CommentedMap

    seen = set() if seen is None else seen
    if id(node) in seen or not isinstance(node, (dict, list)):
        return
    seen.add(id(node))
    tag = getattr(getattr(node, "tag", None), "value", None) or ""
    source = node.get("source") if isinstance(node, dict) else None
    if tag.split(":", 1)[-1] in SOURCE_LOADERS and isinstance(source, str) \
            and os.path.isdir(source):
        from transformers import AutoConfig

        config = AutoConfig.from_pretrained(source).to_diff_dict()
        config.pop("transformers_version", None)
        node.clear()
        node["config"] = _tagged(CommentedMap(config),
                                 "!apply:transformers.AutoConfig.for_model")
        _tagged(node, "!apply:transformers.AutoModel.from_config")
        return
    for value in node.values() if isinstance(node, dict) else node:
        _inline_configs(value, seen)


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


def machine_paths(node, where="", seen=None):
    """The strings under ``node`` that name an existing file or folder of
    this machine (a pretrained model's folder, a checkpoint): an export
    whose model part names one would not load elsewhere.

    Arguments
    ---------
    node : dict or list
        Part of a run's YAML, loaded round-trip.
    where : str
        Its key path, for the answer.

    Returns
    -------
    list of (str, str)
        ``(key path, value)`` pairs.

    Example
    -------
    >>> import tempfile
    >>> folder = tempfile.mkdtemp()
    >>> machine_paths({"a": {"source": folder, "n": 2}, "b": ["x/y"]}) == [
    ...     ("a.source", folder)]
    True
    """
    seen = set() if seen is None else seen
    if id(node) in seen or not isinstance(node, (dict, list)):
        return []
    seen.add(id(node))
    items = node.items() if isinstance(node, dict) else enumerate(node)
    found = []
    for key, value in items:
        name = f"{where}.{key}" if where else str(key)
        if isinstance(value, str):
            if os.sep in value and os.path.exists(value):
                found.append((name, value))
        else:
            found += machine_paths(value, name, seen)
    return found


def model_yaml(hparams, roots=INFERENCE_KEYS):
    """The model part of the run's YAML: the keys inference needs
    (``roots``) and every top-level key their values share nodes with (the
    run's ``CNN``, ``encoder`` ...), in the run's order, without comments;
    the weights the model would load from the training machine
    (`MACHINE_KEYS`) set to null. A file or folder of this machine still
    named in it (`machine_paths`) is an error.

    Arguments
    ---------
    hparams : ruamel.yaml.comments.CommentedMap
        The run's ``hyperparams.yaml``, loaded round-trip.
    roots : tuple of str
        The keys inference needs (`Layout.roots`).

    Returns
    -------
    str
    """
    from ruamel.yaml import YAML
    from ruamel.yaml.comments import CommentedMap

    roots = [k for k in roots if k in hparams]
    for key in roots:
        _portable(hparams[key])
        _inline_configs(hparams[key])
    seen = set()
    for key in roots:
        _reachable(hparams[key], seen)
    kept = CommentedMap()
    for key, value in hparams.items():
        if key in roots or (isinstance(value, (dict, list))
                            and id(value) in seen):
            kept[key] = value
    local = machine_paths(kept)
    if local:
        raise ValueError(
            "the model names files of this machine, which an export cannot "
            "carry: " + ", ".join(f"{k}: {v}" for k, v in local) + " (export "
            "a model built from the run's YAML and its checkpoint alone).")
    _strip_comments(kept)
    buf = io.StringIO()
    YAML().dump(kept, buf)
    lines = []
    for line in buf.getvalue().splitlines():
        if lines and line[:1].isalpha() and lines[-1][:1] in (" ", "-"):
            lines.append("")  # a blank line after each block
        lines.append(line.rstrip())
    return "\n".join(lines) + "\n"


def _ctc_inference(hparams):
    """The inference part of a CTC export (stock ``EncoderASR`` and
    ``EfficientEncoderASR``)."""
    options = [f"        {key}: !ref <{key}>" for key in OPTIONS if key in hparams]
    return [
        "# Greedy CTC decoding, as the recipe scores dev; a",
        "# speechbrain.decoders.CTCBeamSearcher (with !name:) works too.",
        "decoding_function: !name:speechbrain.decoders.ctc_greedy_decode",
        "    blank_id: !ref <blank_index>",
        "",
        "# Waveforms -> CTC log-probabilities at the model's inference setting,",
        "# in one module as in SpeechBrain's own hub models: what stock",
        "# speechbrain.inference.ASR.EncoderASR calls (modules: encoder).",
        "# EfficientEncoderASR runs ctc_model itself, with any exit or skip",
        "# option.",
        f"{PIPELINE}: !new:speechbrain.nnet.containers.LengthsCapableSequential",
        "    compute_features: !ref <compute_features>",
        "    normalize: !ref <normalize>",
        "    ctc_model: !new:speechbrain_ee.lobes.contract.CTCLogProbs",
        "        model: !ref <ctc_model>",
        *options,
        "",
        "modules:",
        f"    encoder: !ref <{PIPELINE}>",
        "    ctc_model: !ref <ctc_model>",
        "    normalize: !ref <normalize>",
    ]


def _joint_inference(hparams):
    """The inference part of a joint CTC+attention export (stock
    ``EncoderDecoderASR``)."""
    return [
        "# Waveforms -> the acoustic encoder's output, in one module as in",
        "# SpeechBrain's own hub models (modules: encoder); the decoder is the",
        "# run's test search (attention beam search with CTC prefix scores).",
        f"{PIPELINE}: !new:speechbrain.nnet.containers.LengthsCapableSequential",
        "    compute_features: !ref <compute_features>",
        "    normalize: !ref <normalize>",
        "    encoder: !apply:builtins.getattr [!ref <encoder_decoder>, encoder]",
        "",
        "modules:",
        f"    encoder: !ref <{PIPELINE}>",
        "    decoder: !ref <test_search>",
        "    normalize: !ref <normalize>",
    ]


CTC = Layout(
    "CTC", "ctc_model", INFERENCE_KEYS, _ctc_inference,
    ("speechbrain.inference.ASR.EncoderASR", OURS),
    "recipes/LibriSpeech/ASR/CTC/train.py",
    "greedy; beam: the recipe's CTC beam search")
JOINT = Layout(
    "joint CTC+attention", "encoder_decoder", JOINT_KEYS, _joint_inference,
    ("speechbrain.inference.ASR.EncoderDecoderASR",),
    "recipes/LibriSpeech/ASR/transformer/train.py",
    "attention beam search with CTC prefix scores", max_key="ACC")
LAYOUTS = (CTC, JOINT)


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
    layout = layout_of(hparams)
    if PIPELINE in hparams:
        raise ValueError(f"the run's YAML has a key `{PIPELINE}`, which the "
                         "export's own inference part needs: rename it.")
    return "\n".join([
        "# ############################################################",
        "# Inference hyperparameters of a speechbrain-ee model, exported by",
        f"# `speechbrain-ee export` from a run of {layout.recipe}.",
        "# Loads with " + " or ".join(layout.loaders) + ".",
        "# ############################################################",
        "",
        "# The model, as the run defined it.",
        model_yaml(hparams, layout.roots),
        "# Inference.",
        "tokenizer: !new:sentencepiece.SentencePieceProcessor",
        "",
        *layout.inference(hparams),
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
    model = hparams[layout_of(hparams).model_key]
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
        *([f"- Decoder: Transformer, {model.get('num_decoder_layers')} layers; "
           "attention beam search with CTC prefix scores."]
          if "encoder_decoder" in hparams else []),
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
    stock = run.layout.stock_class
    stock_usage = [
        "```python",
        f"from speechbrain.inference.ASR import {stock}",
        "",
        f'asr = {stock}.from_hparams(source="{name}", '
        f'savedir="pretrained_models/{name}")',
        f'print(asr.transcribe_file("{example_file}"))',
        "```",
        "",
    ]
    if OURS not in run.layout.loaders:
        usage = ["Stock SpeechBrain transcribes it (speechbrain-ee installed: "
                 "the YAML names its classes):", "", *stock_usage]
    else:
        usage = [
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
            "Stock SpeechBrain transcribes it too, at the model's default "
            "inference setting (speechbrain-ee installed: the YAML names its "
            "classes):",
            "",
            *stock_usage,
        ]
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
        f"A {run.layout.kind} speech recogniser trained with speechbrain-ee, "
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
        f"WER and CER in % on the run's test sets ({run.layout.scoring}).",
        "",
        "| test set | WER | CER | beam WER |",
        "|---|---|---|---|",
        wer_table(run.results) or "| (the run has no results.json) | | | |",
        "",
        *([dynamic_intro, "", dynamic, ""] if dynamic else []),
        "## Usage",
        "",
        *usage,
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
    if run.averaged:  # the joint recipe tests the average of its kept checkpoints
        from speechbrain.utils.checkpoints import average_checkpoints

        torch.save(average_checkpoints(
            [_Checkpoint(path) for path in run.averaged], "model"),
            folder / CHECKPOINT_FILES["model"])
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
        "format": "speechbrain-ee export 2",  # 2: the stock SpeechBrain layout
        "source_run": str(run.folder.resolve()),
        "checkpoint": run.checkpoint.name,
        "averaged": [path.name for path in run.averaged],
        "loads_with": list(run.layout.loaders),
        "example": example_name,
        "parameters": parameters,
        "results": run.results,
        "files": {f: _sha256(folder / f) for f in files} | {MANIFEST: None},
    }
    (folder / MANIFEST).write_text(json.dumps(manifest, indent=2),
                                   encoding="utf-8")
    return manifest


@dataclass
class _Checkpoint:
    """What SpeechBrain's ``average_checkpoints`` reads of a checkpoint."""

    path: Path
    paramfiles: dict = None

    def __post_init__(self):
        self.paramfiles = {"model": self.path / CHECKPOINT_FILES["model"]}


def _check_export(folder, manifest):
    """Loads the export as users would (stock SpeechBrain's class;
    `EfficientEncoderASR` for a CTC model) and transcribes the example."""
    import speechbrain.inference.ASR as stock

    from speechbrain_ee.inference.asr import EfficientEncoderASR

    check_model_folder(folder)  # the hashes, before stock SpeechBrain runs the YAML
    classes = [EfficientEncoderASR if name == OURS else getattr(stock, name.rsplit(".", 1)[1])
               for name in manifest["loads_with"]]
    for cls in classes:
        with tempfile.TemporaryDirectory() as savedir:
            asr = cls.from_hparams(source=str(folder.resolve()), savedir=savedir)
            if manifest["example"]:
                asr.transcribe_file(str(folder / manifest["example"]))


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


def check_loader(folder, loader=OURS):
    """Refuses an export that ``loader`` cannot run (its ``export.json``'s
    ``loads_with``): a joint CTC+attention model in `EfficientEncoderASR`.

    Example
    -------
    >>> import tempfile
    >>> folder = Path(tempfile.mkdtemp())
    >>> _ = (folder / MANIFEST).write_text(json.dumps({"files": {}, "loads_with": [
    ...     "speechbrain.inference.ASR.EncoderDecoderASR"]}))
    >>> check_loader(folder)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: ...: this model loads with speechbrain.inference.ASR.EncoderDecoderASR, not speechbrain_ee.inference.EfficientEncoderASR (which runs CTC models).
    """
    path = Path(folder) / MANIFEST
    if not path.is_file():
        return
    loaders = load_manifest(path).get("loads_with", [loader])  # older exports: CTC
    if loader not in loaders:
        raise ValueError(
            f"{folder}: this model loads with {' or '.join(loaders)}, not {loader} "
            "(which runs CTC models).")


def add_arguments(parser):
    """The ``export`` sub-command's arguments."""
    parser.add_argument("run", help="output folder of a run of the CTC or the "
                        "joint CTC+attention (transformer) recipe (holds "
                        "hyperparams.yaml and save/)")
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
