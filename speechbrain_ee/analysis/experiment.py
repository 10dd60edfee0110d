"""A trained run of the CTC recipe, loaded for analysis and inference.

The analysis tools of the dynamic encoders (``speechbrain-ee
exit-tradeoff``, ``benchmarks/blank_skip.py``) start from a run's output
folder: its ``hyperparams.yaml`` (with the run's overrides), its best
checkpoint and its tokenizer, then feed test CSVs through the run's own
features and normalisation. `load_model` loads a run or an exported model
alike (for scoring out of distribution and adapting: the Common Voice
recipe), and `inference_setting` resolves an exit strategy and thresholds
given by name against the model's own defaults.

Authors
-------
* speechbrain-ee contributors 2026
"""

import os
from dataclasses import dataclass

import torch
from hyperpyyaml import load_hyperpyyaml

from speechbrain_ee.dataio.recipe_data import dev_selection


def load_experiment(folder, overrides="", model_key="ctc_model"):
    """Loads a run of ``recipes/LibriSpeech/ASR/CTC/train.py``.

    Arguments
    ---------
    folder : str
        The run's output folder.
    overrides : str
        YAML overrides of its ``hyperparams.yaml``: each top-level key
        replaces the run's (e.g. another ``data_folder``, or an inference
        setting chosen after training: ``{exit_strategy: !new:...}``);
        see `replace_keys`.
    model_key : str
        The YAML key the run must have: ``ctc_model`` (the model of
        `speechbrain_ee.lobes.contract`, every CTC YAML has it) or a part
        of it (``encoder``).

    Returns
    -------
    hparams : dict
        With the best checkpoint (lowest dev WER) loaded into its modules.
    tokenizer : sentencepiece.SentencePieceProcessor
    """
    from speechbrain_ee.dataio.tokenizer import tokenizer_from_hparams

    hparams = _run_hparams(folder, overrides, model_key)
    hparams["checkpointer"].recover_if_possible(**dev_selection())
    tokenizer = tokenizer_from_hparams(hparams)
    return hparams, tokenizer


def _run_hparams(folder, overrides, model_key):
    """A run's hyperparameters, checked to have ``model_key`` and a
    checkpoint (not loaded yet)."""
    path = os.path.join(folder, "hyperparams.yaml")
    if not os.path.isfile(path):
        raise FileNotFoundError(
            f"{path} not found: give the output folder of a training run "
            "of recipes/LibriSpeech/ASR/CTC/train.py.")
    with open(path, encoding="utf-8") as f:
        hparams = load_hyperpyyaml(replace_keys(f.read(), overrides, path))
    if model_key not in hparams:
        raise ValueError(
            f"{path} has no `{model_key}`: not a run of a CTC YAML of this "
            "version of recipes/LibriSpeech/ASR/CTC (train it again).")
    if hparams["checkpointer"].find_checkpoint(**dev_selection()) is None:
        raise FileNotFoundError(
            f"no checkpoint in {hparams['save_folder']}: train first.")
    return hparams


def trained_modules(folder, overrides=""):
    """The modules of a finished run of the CTC recipe, with its best
    checkpoint's weights (lowest dev WER): for a YAML that builds on
    another run, e.g. exit heads on a frozen fine-tuned model
    (``hparams/ssl_early_exit_ctc.yaml``: ``!ref <finetuned.encoder>``).

    Only the run's modules (its model and feature normalisation) are
    loaded from the checkpoint, not its counters, schedules or random
    states.

    Arguments
    ---------
    folder : str
        The run's output folder (``hyperparams.yaml`` and ``save/``).
    overrides : str
        YAML overrides of its ``hyperparams.yaml`` (`replace_keys`), e.g.
        ``"{cnn_cache: True}"``.

    Returns
    -------
    types.SimpleNamespace
        The run's hyperparameters as attributes (``encoder``, ``ctc_lin``,
        ``compute_features``, ``normalize``, ``d_model`` ...).

    Example
    -------
    >>> trained_modules("/no/such/run")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    FileNotFoundError: /no/such/run/hyperparams.yaml not found: ...
    """
    from types import SimpleNamespace

    from speechbrain.utils.checkpoints import Checkpointer

    hparams = _run_hparams(folder, overrides, "ctc_model")
    checkpointer = hparams["checkpointer"]
    modules = {name: obj for name, obj in checkpointer.recoverables.items()
               if isinstance(obj, torch.nn.Module)}
    Checkpointer(checkpointer.checkpoints_dir, modules).recover_if_possible(
        **dev_selection())
    return SimpleNamespace(**hparams)


def replace_keys(text, overrides, source="hyperparams.yaml"):
    """``text`` with its top-level keys replaced by those of ``overrides``.

    A run's saved ``hyperparams.yaml`` has its references resolved, so an
    override replaces one node, tag included (hyperpyyaml's own overrides
    would merge a new strategy's arguments into the old one's).

    Arguments
    ---------
    text : str
        A YAML document.
    overrides : str or dict
        YAML text (or a dict) of top-level keys, each present in ``text``.
    source : str
        ``text``'s file, for the error message.

    Returns
    -------
    str

    Example
    -------
    >>> print(replace_keys("a: 1\\nb: !new:collections.Counter {x: 1}\\n",
    ...                    "{b: !new:collections.OrderedDict {y: 2}}"), end="")
    a: 1
    b: !new:collections.OrderedDict {y: 2}
    """
    import io

    from ruamel.yaml import YAML

    if not overrides:
        return text
    yaml = YAML()
    tree = yaml.load(text)
    new = yaml.load(overrides) if isinstance(overrides, str) else overrides
    for key, value in new.items():
        if key not in tree:
            raise ValueError(f"override {key!r}: {source} has no such key.")
        tree[key] = value
    buf = io.StringIO()
    yaml.dump(tree, buf)
    return buf.getvalue()


def test_sets(hparams, named_csvs=()):
    """The test CSVs to analyse, by name.

    Arguments
    ---------
    hparams : dict
        The run's hyperparameters.
    named_csvs : list of str
        ``NAME=PATH`` items (a command line's); empty: the run's own test
        sets (in-domain and Common Voice).

    Returns
    -------
    dict
        Name -> CSV path.

    Example
    -------
    >>> test_sets({}, ["mine=/data/mine.csv"])
    {'mine': '/data/mine.csv'}
    """
    from speechbrain_ee.dataio.recipe_data import named_test_csvs

    if not named_csvs:
        return named_test_csvs(hparams)
    sets = {}
    for item in named_csvs:
        name, sep, path = item.partition("=")
        if not sep or not name or not path:
            raise ValueError(
                f"test CSV {item!r}: expected NAME=PATH, e.g. "
                "test-other=results/run/save/test-other.csv.")
        sets[name] = path
    return sets


def csv_batches(csv_path, hparams, batch_size, device, features=True,
                limit=None):
    """Normalised features (or waveforms) of a test CSV, batch by batch.

    Arguments
    ---------
    csv_path : str
        A CSV with ``ID, duration, wav, wrd`` (``$data_root`` in ``wav`` is
        the run's ``data_folder``).
    hparams : dict
        The run's hyperparameters (features, normalisation, sample rate).
    batch_size : int
        Utterances per batch (sorted by duration).
    device : str
        Where the features go.
    features : bool
        Features and normalisation of the run (True), or the waveforms.
    limit : int, optional
        Only the first (shortest) ``limit`` utterances.

    Yields
    ------
    tuple
        ``(ids, feats or wavs, wav_lens, reference word lists)``.
    """
    import speechbrain as sb

    from speechbrain_ee.dataio.audio import load_audio

    if not os.path.isfile(csv_path):
        raise FileNotFoundError(f"test CSV {csv_path} not found.")
    data = sb.dataio.dataset.DynamicItemDataset.from_csv(
        csv_path=csv_path,
        replacements={"data_root": hparams["data_folder"]},
    ).filtered_sorted(sort_key="duration", select_n=limit)

    @sb.utils.data_pipeline.takes("wav")
    @sb.utils.data_pipeline.provides("sig")
    def audio_pipeline(wav):
        return load_audio(wav, hparams["sample_rate"])

    data.add_dynamic_item(audio_pipeline)
    data.set_output_keys(["id", "sig", "wrd"])
    loader = sb.dataio.dataloader.make_dataloader(data, batch_size=batch_size)
    normalize = hparams["normalize"].to(device).eval()
    for batch in loader:
        wavs, wav_lens = batch.sig
        wavs, wav_lens = wavs.to(device), wav_lens.to(device)
        refs = [w.split() for w in batch.wrd]
        if not features:
            yield batch.id, wavs, wav_lens, refs
            continue
        with torch.no_grad():
            feats = normalize(hparams["compute_features"](wavs), wav_lens)
        yield batch.id, feats, wav_lens, refs


@dataclass
class LoadedModel:
    """A CTC model of the contract (`speechbrain_ee.lobes.contract`) with
    what scoring it takes: a training run's best checkpoint or an exported
    pretrained model, alike (`load_model`).

    Example
    -------
    >>> m = LoadedModel("runs/x", "run", torch.nn.Identity(), torch.nn.Identity(),
    ...                 None, None, {"skip_threshold": 0.9})
    >>> m.kind, m.blank_index, m.sample_rate
    ('run', 0, 16000)
    """

    source: str
    """The run folder, exported folder or hub id it was loaded from."""
    kind: str
    """``"run"`` or ``"export"``."""
    model: torch.nn.Module
    """The ``ctc_model`` (a run) or ``encoder`` module (an export)."""
    normalize: torch.nn.Module
    """The feature normalisation, with the model's statistics."""
    compute_features: object
    """Waveforms -> features."""
    tokenizer: object
    """The SentencePiece model."""
    hparams: dict
    """The model's hyperparameters (inference defaults ``exit_strategy``,
    ``skip_threshold``, ``spike_width``; a run's every key)."""
    blank_index: int = 0
    sample_rate: int = 16000


def load_model(source, overrides="", savedir=None, trust_remote_model=False):
    """A LibriSpeech-trained CTC model for scoring or adaptation elsewhere:
    the output folder of a run of ``recipes/LibriSpeech/ASR/CTC/train.py``
    (its best checkpoint, `load_experiment`), or an exported pretrained
    folder or hub id (``speechbrain-ee export``; loaded and checked by
    `speechbrain_ee.inference.asr.EfficientEncoderASR.from_hparams`).

    Arguments
    ---------
    source : str
        The run folder (holds ``hyperparams.yaml`` and ``save/``), the
        exported folder (holds ``export.json``) or a hub id.
    overrides : str
        For a run: YAML overrides of its ``hyperparams.yaml`` (see
        `load_experiment`).
    savedir : str, optional
        For an export: where SpeechBrain links or fetches its files.
    trust_remote_model : bool
        For a hub id: run its code without the allow list.

    Returns
    -------
    LoadedModel

    Example
    -------
    >>> load_model("/no/such/run")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    FileNotFoundError: --model /no/such/run: not found; give ...
    """
    from pathlib import Path

    path = Path(str(source))
    if path.is_dir() and (path / "save").is_dir():
        hparams, tokenizer = load_experiment(str(path), overrides)
        return LoadedModel(str(source), "run", hparams["ctc_model"], hparams["normalize"],
                           hparams["compute_features"], tokenizer, hparams,
                           hparams.get("blank_index", 0), hparams.get("sample_rate", 16000))
    if not path.exists() and (str(source).startswith((".", "/")) or str(source).count("/") != 1):
        raise FileNotFoundError(
            f"--model {source}: not found; give the output folder of a run of "
            "recipes/LibriSpeech/ASR/CTC/train.py, a folder of `speechbrain-ee "
            "export` or a hub id (owner/name).")
    from speechbrain_ee.inference.asr import EfficientEncoderASR

    asr = EfficientEncoderASR.from_hparams(
        source=str(source), savedir=savedir, trust_remote_model=trust_remote_model,
        run_opts={"device": "cpu"})
    hparams = dict(vars(asr.hparams))
    return LoadedModel(str(source), "export", asr.model, asr.mods.normalize,
                       asr.hparams.compute_features, asr.tokenizer, hparams,
                       hparams.get("blank_index", 0), hparams.get("sample_rate", 16000))


def inference_setting(model, defaults, exit_strategy=None, threshold=None,
                      skip_threshold=None, blank_index=0, exit_options=None):
    """The forward options of one scoring run: the model's own inference
    defaults, with an exit strategy and thresholds changed by name (the
    command line's ``--exit_strategy confidence --exit_threshold 0.9
    --skip_threshold 0.95``), checked against the model
    (`speechbrain_ee.lobes.contract.check_options`: a plain model refuses
    an exit strategy in one line).

    Arguments
    ---------
    model : torch.nn.Module
        A model of the contract (``head_layers``, ``num_layers``).
    defaults : dict
        Its hyperparameters (``exit_strategy``, ``skip_threshold``,
        ``spike_width`` where it has them).
    exit_strategy : str or ExitStrategy, optional
        None: the model's own; ``"full"``: none (every layer, the last
        head); a registered name (``fixed``, ``confidence``,
        ``sequence_confidence``, ``patience``, ``token_confidence``) or a
        strategy.
    threshold : float, optional
        The strategy's threshold (``fixed``: the exit layer).
    skip_threshold : float, optional
        Blank skip's threshold (``1.0`` skips nothing); None: the model's.
    blank_index : int
        For the strategies that look at blanks.
    exit_options : dict, optional
        Other arguments of a strategy given by name (e.g. ``{"measure":
        "margin"}`` for ``confidence``).

    Returns
    -------
    dict
        Keyword arguments of the model's forward.

    Example
    -------
    >>> class TwoExits:
    ...     head_layers, num_layers, skip_layer = [2, 4], 4, None
    >>> inference_setting(TwoExits(), {}, "fixed", 2)
    {'exit_strategy': FixedExit(layer=2)}
    >>> inference_setting(TwoExits(), {}, "confidence", 0.6, exit_options={"measure": "margin"})
    {'exit_strategy': Confidence(measure='margin', threshold=0.6)}
    >>> inference_setting(TwoExits(), {}, skip_threshold=0.9)
    Traceback (most recent call last):
    ...
    ValueError: skip_threshold=0.9: this model has no blank-skip stage (its CTC heads are after layers [2, 4]).
    """
    import inspect

    from speechbrain_ee.decoding.exit_strategies import (
        STRATEGIES,
        FixedExit,
        build_strategy,
        with_threshold,
    )
    from speechbrain_ee.lobes.contract import check_options, inference_options

    options = inference_options(defaults)
    default = options.pop("exit_strategy", None)
    if exit_options and not isinstance(exit_strategy, str):
        raise ValueError(f"exit_options={exit_options}: name the strategy they belong "
                         "to (--exit_strategy).")
    if exit_strategy == "full":
        strategy = None
    elif exit_strategy is None:
        if default is None and threshold is not None:
            raise ValueError(f"exit_threshold={threshold}: this model has no exit "
                             "strategy; name one (--exit_strategy).")
        strategy = default if threshold is None or default is None else \
            with_threshold(default, threshold)
    elif exit_strategy == "fixed":
        strategy = FixedExit(model.num_layers if threshold is None else int(threshold))
    elif isinstance(exit_strategy, str):
        kwargs = dict(exit_options or {})
        if threshold is not None:
            kwargs["threshold"] = threshold
        cls = STRATEGIES.get(exit_strategy)
        if cls and "blank_index" in inspect.signature(cls).parameters:
            kwargs["blank_index"] = blank_index
        strategy = build_strategy(exit_strategy, **kwargs)
    else:
        strategy = exit_strategy
    if strategy is not None:
        options["exit_strategy"] = strategy
    if skip_threshold is not None:
        options["skip_threshold"] = skip_threshold
    check_options(model, **options)
    if isinstance(strategy, FixedExit) and strategy.layer not in list(model.head_layers):
        raise ValueError(f"exit layer {strategy.layer}: this model exits after layers "
                         f"{list(model.head_layers)}.")
    return options
