"""The data side of the LibriSpeech recipes, shared by the CTC and the
joint CTC+attention recipes: CSV preparation (LibriSpeech and, for the
out-of-distribution score, Common Voice), SpeechBrain datasets with their
audio and text pipelines, DataLoader options and the ``results.json``
summary.

Every function takes the recipe's loaded YAML (``hparams``, a dict) and
reads the keys the recipes' YAMLs define (``data_folder``,
``cv_data_folder``, ``save_folder``, ``train_csv``, ...).

Authors
-------
* speechbrain-ee contributors 2026
"""

import json
import logging
import os
import zlib

import speechbrain as sb
import torch
from speechbrain.dataio.batch import PaddedBatch
from speechbrain.dataio.dataio import merge_csvs
from speechbrain.utils.distributed import run_on_main

from speechbrain_ee.dataio.audio import load_audio
from speechbrain_ee.dataio.common_voice_prepare import prepare_common_voice
from speechbrain_ee.dataio.librispeech_prepare import prepare_librispeech
from speechbrain_ee.errors import UsageError

CV_TEST_NAME = "cv-test"
TRAIN_CORPORA = ("librispeech", "commonvoice")
logger = logging.getLogger(__name__)


def corpus_csv(save_folder, corpus, split):
    """The training or validation CSV of the corpus a run trains on (the
    YAMLs' ``train_corpus``): LibriSpeech's merged ``train.csv`` and
    ``dev-clean.csv``, or Common Voice's ``train.tsv`` and ``dev.tsv``
    prepared under ``cv/`` (e.g. a second domain's S3-Router masks).

    Example
    -------
    >>> corpus_csv("save", "librispeech", "valid")
    'save/dev-clean.csv'
    >>> corpus_csv("save", "commonvoice", "train")
    'save/cv/train.csv'
    """
    names = {("librispeech", "train"): "train.csv",
             ("librispeech", "valid"): "dev-clean.csv",
             ("commonvoice", "train"): os.path.join("cv", "train.csv"),
             ("commonvoice", "valid"): os.path.join("cv", "dev.csv")}
    if (corpus, split) not in names:
        raise ValueError(f"train_corpus {corpus!r}, split {split!r}: "
                         f"expected a corpus of {TRAIN_CORPORA} and a split "
                         "train or valid.")
    return os.path.join(save_folder, names[corpus, split])


def prepare_data(hparams):
    """Writes the CSVs of LibriSpeech and (if given) Common Voice.

    Arguments
    ---------
    hparams : dict
        The recipe's hyperparameters (``data_folder``, ``save_folder``,
        ``train_splits``, ``dev_splits``, ``test_splits``, ``skip_prep``,
        ``train_csv``, ``cv_data_folder``, ``cv_test_tsv`` and,
        optionally, ``train_corpus``: ``commonvoice`` also prepares the
        Common Voice folder's ``train.tsv`` and ``dev.tsv``, see
        `corpus_csv`).
    """
    corpus = hparams.get("train_corpus", "librispeech")
    if corpus not in TRAIN_CORPORA:
        raise ValueError(f"train_corpus: {corpus!r}; expected one of "
                         f"{TRAIN_CORPORA}.")
    if corpus == "commonvoice" and not hparams.get("cv_data_folder"):
        raise ValueError("train_corpus: commonvoice needs cv_data_folder "
                         "(a Common Voice language folder).")
    run_on_main(
        prepare_librispeech,
        kwargs={
            "data_folder": hparams["data_folder"],
            "save_folder": hparams["save_folder"],
            "tr_splits": hparams["train_splits"],
            "dev_splits": hparams["dev_splits"],
            "te_splits": hparams["test_splits"],
            "skip_prep": hparams["skip_prep"],
        },
    )
    # One training CSV, whatever the number of training splits.
    run_on_main(
        merge_csvs,
        kwargs={
            "data_folder": hparams["save_folder"],
            "csv_lst": [f"{split}.csv" for split in hparams["train_splits"]],
            "merged_csv": os.path.basename(hparams["train_csv"]),
        },
    )
    if hparams.get("cv_data_folder"):
        cv_folder = hparams["cv_data_folder"]
        tsvs = {"test_tsv_file": os.path.join(cv_folder,
                                              hparams["cv_test_tsv"])}
        if corpus == "commonvoice":  # train and validate on Common Voice
            tsvs["train_tsv_file"] = os.path.join(cv_folder, "train.tsv")
            tsvs["dev_tsv_file"] = os.path.join(cv_folder, "dev.tsv")
        run_on_main(
            prepare_common_voice,
            kwargs={
                "data_folder": cv_folder,
                "save_folder": os.path.join(hparams["save_folder"], "cv"),
                "skip_prep": hparams["skip_prep"],
                **tsvs,
            },
        )


def named_test_csvs(hparams):
    """The test CSVs by name: LibriSpeech's, then Common Voice's (OOD).

    Arguments
    ---------
    hparams : dict
        The recipe's hyperparameters (``test_csvs``, ``cv_data_folder``,
        ``cv_test_tsv``, ``save_folder``).

    Returns
    -------
    dict
        Test set name -> CSV path.

    Example
    -------
    >>> named_test_csvs({"test_csvs": ["save/test-clean.csv"],
    ...            "cv_data_folder": "cv", "cv_test_tsv": "test.tsv",
    ...            "save_folder": "save"})
    {'test-clean': 'save/test-clean.csv', 'cv-test': 'save/cv/test.csv'}
    """
    sets = {
        os.path.splitext(os.path.basename(path))[0]: path
        for path in hparams["test_csvs"]
    }
    if hparams.get("cv_data_folder"):
        stem = os.path.splitext(hparams["cv_test_tsv"])[0]
        sets[CV_TEST_NAME] = os.path.join(
            hparams["save_folder"], "cv", f"{stem}.csv"
        )
    return sets


def in_subset(uid, share):
    """Whether utterance ``uid`` belongs to the low-resource subset that
    keeps ``share`` of the training set (a fixed choice by a hash of the
    id: the same subset in every run).

    Example
    -------
    >>> ids = [f"utt-{i}" for i in range(1000)]
    >>> 80 < sum(in_subset(u, 0.1) for u in ids) < 120
    True
    """
    return zlib.crc32(uid.encode("utf-8")) % 10000 < share * 10000


def dataio_prepare(hparams, tokenizer, bos_index=None, eos_index=None):
    """Builds the train, valid and test DynamicItemDatasets.

    Each item has ``id``, ``sig`` (the waveform), ``wrd`` (the transcript)
    and ``tokens`` (its token ids); with ``bos_index`` and ``eos_index``
    (attention decoders) also ``tokens_bos`` (bos + tokens, the decoder
    input) and ``tokens_eos`` (tokens + eos, the decoder target). Audio that
    cannot be read gives an empty ``sig`` and a warning naming the file
    (`read_or_flag`); `readable_batch` leaves such items out of the batch.

    Arguments
    ---------
    hparams : dict
        The recipe's hyperparameters (``data_folder``, ``train_csv``,
        ``valid_csv``, ``test_csvs``, ``sorting``, ``avoid_if_longer_than``,
        ``sample_rate``, those of `named_test_csvs` and, optionally,
        ``train_subset_share``: train on that share of the utterances
        only, see `in_subset`; ``valid_subset_share``: the same for the
        validation set).
    tokenizer : sentencepiece.SentencePieceProcessor or None
        Encodes the transcripts; ``None``: audio only (``id``, ``sig``),
        for self-supervised training and distillation.
    bos_index : int, optional
        Beginning-of-sentence token; with ``eos_index``, adds
        ``tokens_bos`` and ``tokens_eos``.
    eos_index : int, optional
        End-of-sentence token.

    Returns
    -------
    train_data : DynamicItemDataset
    valid_data : DynamicItemDataset
    tests : dict
        Test set name -> DynamicItemDataset.
    """
    if (bos_index is None) != (eos_index is None):
        raise ValueError("dataio_prepare: give both bos_index and eos_index "
                         "or neither.")
    data_folder = hparams["data_folder"]

    def load(csv_path, sort_key=None, reverse=False, max_len=None):
        data = sb.dataio.dataset.DynamicItemDataset.from_csv(
            csv_path=csv_path, replacements={"data_root": data_folder}
        )
        if sort_key:
            data = data.filtered_sorted(
                sort_key=sort_key,
                reverse=reverse,
                key_max_value={"duration": max_len} if max_len else {},
            )
        return data

    sorting = hparams["sorting"]
    train_data = load(
        hparams["train_csv"],
        sort_key=None if sorting == "random" else "duration",
        reverse=sorting == "descending",
        max_len=hparams["avoid_if_longer_than"],
    )
    if sorting == "random":
        train_data = train_data.filtered_sorted(
            key_max_value={"duration": hparams["avoid_if_longer_than"]}
        )
    share = hparams.get("train_subset_share")
    if share:
        train_data = train_data.filtered_sorted(
            key_test={"id": lambda uid: in_subset(uid, share)})
    valid_data = load(hparams["valid_csv"], sort_key="duration")
    share = hparams.get("valid_subset_share")
    if share:  # cheaper validation (e.g. many short benchmark runs)
        valid_data = valid_data.filtered_sorted(
            sort_key="duration",
            key_test={"id": lambda uid: in_subset(uid, share)})
    tests = {
        name: load(path, sort_key="duration")
        for name, path in named_test_csvs(hparams).items()
    }
    datasets = [train_data, valid_data, *tests.values()]

    @sb.utils.data_pipeline.takes("wav")
    @sb.utils.data_pipeline.provides("sig")
    def audio_pipeline(wav):
        return read_or_flag(wav, hparams["sample_rate"])

    sb.dataio.dataset.add_dynamic_item(datasets, audio_pipeline)
    if tokenizer is None:
        sb.dataio.dataset.set_output_keys(datasets, ["id", "sig"])
        return train_data, valid_data, tests

    output_keys = ["id", "sig", "wrd", "tokens"]
    if bos_index is None:

        @sb.utils.data_pipeline.takes("wrd")
        @sb.utils.data_pipeline.provides("wrd", "tokens")
        def text_pipeline(wrd):
            yield wrd
            yield torch.LongTensor(tokenizer.encode_as_ids(wrd))

    else:
        output_keys += ["tokens_bos", "tokens_eos"]

        @sb.utils.data_pipeline.takes("wrd")
        @sb.utils.data_pipeline.provides(
            "wrd", "tokens", "tokens_bos", "tokens_eos"
        )
        def text_pipeline(wrd):
            yield wrd
            ids = tokenizer.encode_as_ids(wrd)
            yield torch.LongTensor(ids)
            yield torch.LongTensor([bos_index] + ids)
            yield torch.LongTensor(ids + [eos_index])

    sb.dataio.dataset.add_dynamic_item(datasets, text_pipeline)
    sb.dataio.dataset.set_output_keys(datasets, output_keys)
    return train_data, valid_data, tests


def read_or_flag(path, sample_rate):
    """`load_audio`, or an empty waveform (the flag `readable_batch` looks
    for) with a warning naming the file when it cannot be read: a file
    damaged after preparation then costs its utterance, not the run.

    Arguments
    ---------
    path : str
        The audio file.
    sample_rate : int
        The rate to resample to.

    Returns
    -------
    torch.Tensor
        ``(time,)``; empty when unreadable.

    Example
    -------
    >>> read_or_flag("/no/such/file.flac", 16000).shape
    torch.Size([0])
    """
    try:
        return load_audio(path, sample_rate)
    except RuntimeError as err:
        logger.warning("%s; this utterance is left out of its batch (prepare the data "
                       "again to drop it for good).", err)
        return torch.zeros(0)


def readable_batch(examples):
    """SpeechBrain's ``PaddedBatch`` of the items whose audio was read
    (`read_or_flag` gives the others an empty ``sig``); None when no item
    was (the recipes' Brain skips such a batch).

    Arguments
    ---------
    examples : list of dict
        The dataset's items.

    Returns
    -------
    PaddedBatch or None

    Example
    -------
    >>> batch = readable_batch([{"id": "a", "sig": torch.ones(3)},
    ...                         {"id": "b", "sig": torch.zeros(0)}])
    >>> batch.id, batch.sig.data.shape
    (['a'], torch.Size([1, 3]))
    >>> readable_batch([{"id": "b", "sig": torch.zeros(0)}]) is None
    True
    """
    kept = [e for e in examples
            if not (isinstance(e, dict) and torch.is_tensor(e.get("sig"))
                    and e["sig"].numel() == 0)]
    return PaddedBatch(kept) if kept else None


def make_loader_kwargs(hparams, train_data, valid_data):
    """DataLoader options, with SpeechBrain's dynamic batching if enabled.

    Arguments
    ---------
    hparams : dict
        The recipe's hyperparameters (``train_dataloader_opts``,
        ``valid_dataloader_opts``, ``dynamic_batching``, ``sorting`` and,
        with dynamic batching, ``dynamic_batch_sampler_train``,
        ``dynamic_batch_sampler_valid``, ``num_workers``).
    train_data : DynamicItemDataset
        The training set.
    valid_data : DynamicItemDataset
        The validation set.

    Returns
    -------
    train_kwargs : dict
    valid_kwargs : dict
    """
    train_kwargs = dict(hparams["train_dataloader_opts"])
    valid_kwargs = dict(hparams["valid_dataloader_opts"])
    if hparams["dynamic_batching"]:
        from speechbrain.dataio.sampler import DynamicBatchSampler

        train_sampler = DynamicBatchSampler(
            train_data,
            length_func=lambda x: x["duration"],
            **hparams["dynamic_batch_sampler_train"],
        )
        valid_sampler = DynamicBatchSampler(
            valid_data,
            length_func=lambda x: x["duration"],
            **hparams["dynamic_batch_sampler_valid"],
        )
        train_kwargs = {"batch_sampler": train_sampler,
                        "num_workers": hparams["num_workers"]}
        valid_kwargs = {"batch_sampler": valid_sampler,
                        "num_workers": hparams["num_workers"]}
    elif hparams["sorting"] != "random":
        train_kwargs["shuffle"] = False
    return train_kwargs, valid_kwargs


def update_results(path, test_name, stats):
    """Adds one test set's numbers to the run's ``results.json``.

    Arguments
    ---------
    path : str
        The JSON file (created if absent).
    test_name : str
        Key of the test set.
    stats : dict
        Its numbers (converted to float).

    Example
    -------
    >>> import tempfile, os
    >>> path = os.path.join(tempfile.mkdtemp(), "results.json")
    >>> update_results(path, "test-clean", {"WER": 12.5})
    >>> update_results(path, "cv-test", {"WER": 40})
    >>> sorted(json.load(open(path)))
    ['cv-test', 'test-clean']
    """
    results = {}
    if os.path.isfile(path):
        with open(path, encoding="utf-8") as f:
            results = json.load(f)
    results[test_name] = {k: float(v) for k, v in stats.items()}
    with open(path, "w", encoding="utf-8") as f:
        json.dump(results, f, indent=2)


CKPT_METRICS = ("WER", "CER")


def ckpt_metric(hparams):
    """The dev error rate a CTC run keeps (and scores, exports) the
    checkpoint with the lowest of: the YAML's ``ckpt_metric``, ``WER`` by
    default, ``CER`` where the greedy WER is near 100 and too coarse to
    choose by (low-resource runs). Checked before training.

    Arguments
    ---------
    hparams : dict
        The recipe's hyperparameters.

    Returns
    -------
    str

    Example
    -------
    >>> ckpt_metric({})
    'WER'
    >>> ckpt_metric({"ckpt_metric": "cer"})
    Traceback (most recent call last):
    ...
    speechbrain_ee.errors.UsageError: ckpt_metric: 'cer'; use WER or CER.
    """
    metric = hparams.get("ckpt_metric") or "WER"
    if metric not in CKPT_METRICS:
        raise UsageError(f"ckpt_metric: {metric!r}; use "
                         f"{' or '.join(CKPT_METRICS)}.")
    return metric


def dev_checkpoint(stats, epoch, metric):
    """``Checkpointer.save_and_keep_only`` keyword arguments at the end of a
    CTC recipe's dev pass: the dev WER and CER, the epoch and the metric
    the run selects on in the meta (`dev_selection` reads it back), and the
    one checkpoint with the lowest ``metric`` kept.

    Arguments
    ---------
    stats : dict
        The dev pass's ``WER`` and ``CER``.
    epoch : int
        The epoch.
    metric : str
        The run's `ckpt_metric`.

    Returns
    -------
    dict

    Example
    -------
    >>> dev_checkpoint({"WER": 90.0, "CER": 40.0}, 3, "CER")["min_keys"]
    ['CER']
    """
    return {"meta": {"WER": stats["WER"], "CER": stats["CER"], "epoch": epoch,
                     "ckpt_metric": metric},
            "min_keys": [metric], "num_to_keep": 1}


def dev_selection():
    """``Checkpointer.find_checkpoint`` / ``recover_if_possible`` keyword
    arguments that pick a CTC run's best checkpoint: among the end-of-epoch
    ones (with a dev ``WER``), the lowest dev error under the metric the
    run selects on (its ``ckpt_metric``, kept in each checkpoint's meta;
    ``WER`` for runs that predate the option).

    Example
    -------
    >>> import tempfile, torch
    >>> from speechbrain.utils.checkpoints import Checkpointer
    >>> ckpt = Checkpointer(
    ...     tempfile.mkdtemp(), {"model": torch.nn.Linear(2, 2)})
    >>> _ = ckpt.save_checkpoint(meta={"WER": 95.0, "CER": 40.0,
    ...                                "ckpt_metric": "CER"}, name="a")
    >>> _ = ckpt.save_checkpoint(meta={"WER": 94.0, "CER": 45.0,
    ...                                "ckpt_metric": "CER"}, name="b")
    >>> _ = ckpt.save_checkpoint(meta={}, name="mid_epoch")
    >>> ckpt.find_checkpoint(**dev_selection()).meta["CER"]
    40.0
    """
    def importance(ckpt):
        return -ckpt.meta[ckpt.meta.get("ckpt_metric", "WER")]

    return {"importance_key": importance,
            "ckpt_predicate": lambda ckpt: "WER" in ckpt.meta}
