"""A trained run of the CTC recipe, loaded for analysis and inference.

The analysis tools of the dynamic encoders (``speechbrain-ee
exit-tradeoff``, ``benchmarks/blank_skip.py``) start from a run's output
folder: its ``hyperparams.yaml`` (with the run's overrides), its best
checkpoint and its tokenizer, then feed test CSVs through the run's own
features and normalisation.

Authors
-------
* speechbrain-ee contributors 2026
"""

import os

import torch
from hyperpyyaml import load_hyperpyyaml


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
    checkpointer = hparams["checkpointer"]
    if checkpointer.find_checkpoint(min_key="WER") is None:
        raise FileNotFoundError(
            f"no checkpoint in {hparams['save_folder']}: train first.")
    checkpointer.recover_if_possible(min_key="WER")
    tokenizer = tokenizer_from_hparams(hparams)
    return hparams, tokenizer


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
