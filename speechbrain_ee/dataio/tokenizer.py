"""The tokenizer step of the recipes: a SentencePiece model trained on the
``wrd`` column of a training CSV, through SpeechBrain's wrapper.

Authors
-------
* speechbrain-ee contributors 2026
"""

import csv
import os

from speechbrain.tokenizers.SentencePiece import SentencePiece


def _check_train_csv(train_csv, column="wrd"):
    """Raises a clear error when the training CSV cannot train a tokenizer."""
    if not os.path.isfile(train_csv):
        raise FileNotFoundError(
            f"Tokenizer: training CSV {train_csv} does not exist. Run the "
            "data preparation first (or check train_csv in the YAML)."
        )
    with open(train_csv, newline="", encoding="utf-8") as f:
        reader = csv.DictReader(f)
        if reader.fieldnames is None or column not in reader.fieldnames:
            raise ValueError(
                f"Tokenizer: {train_csv} has no '{column}' column "
                f"(columns: {reader.fieldnames})."
            )
        if not any(row[column].strip() for row in reader):
            raise ValueError(
                f"Tokenizer: {train_csv} has no non-empty '{column}' entry."
            )


def train_tokenizer(
    save_folder,
    vocab_size,
    train_csv,
    model_type="unigram",
    character_coverage=1.0,
    bos_id=-1,
    eos_id=-1,
    alphabet=None,
):
    """Trains (or loads, when already trained) a SentencePiece tokenizer.

    The model is ``<save_folder>/<vocab_size>_<model_type>.model``; an
    existing model is loaded, not trained again. Token 0 is ``<unk>``, which
    the CTC recipes use as the blank (SpeechBrain's convention). The
    attention recipes reserve bos and eos tokens too (SpeechBrain's
    LibriSpeech convention: bos 1, eos 2).

    Arguments
    ---------
    save_folder : str
        Folder for the model files.
    vocab_size : int
        Number of tokens (of a ``"char"`` model: the most it may have; its
        size is the number of characters in the text, plus ``<unk>``; with an
        ``alphabet``, exactly its size).
    train_csv : str
        CSV with a ``wrd`` column (the output of the data preparation).
    model_type : str
        ``"unigram"``, ``"bpe"`` or ``"char"``.
    character_coverage : float
        SentencePiece's character coverage.
    bos_id : int
        Id reserved for ``<s>`` (beginning of sentence); -1: none.
    eos_id : int
        Id reserved for ``</s>`` (end of sentence); -1: none.
    alphabet : str or None
        For a ``"char"`` model: the characters it always has, in this order
        after ``<unk>`` (the word boundary ``▁`` follows), whether or not the
        training text has them all, so that every output of a CTC head of
        ``vocab_size`` is a token (``vocab_size = len(alphabet) + 2``).

    Returns
    -------
    sentencepiece.SentencePieceProcessor
        The trained tokenizer.

    Example
    -------
    >>> import tempfile, os
    >>> tmp = tempfile.mkdtemp()
    >>> csv_path = os.path.join(tmp, "train.csv")
    >>> with open(csv_path, "w") as f:
    ...     _ = f.write("ID,duration,wav,spk_id,wrd\\n")
    ...     _ = f.write("a,1.0,a.flac,1,HELLO WORLD\\n")
    >>> sp = train_tokenizer(tmp, 12, csv_path, model_type="char")
    >>> sp.decode_ids(sp.encode_as_ids("HELLO"))
    'HELLO'
    >>> sp = train_tokenizer(os.path.join(tmp, "s2s"), 12, csv_path,
    ...                      model_type="char", bos_id=1, eos_id=2)
    >>> sp.id_to_piece(1), sp.id_to_piece(2)
    ('<s>', '</s>')
    >>> sp = train_tokenizer(os.path.join(tmp, "abc"), 29, csv_path, model_type="char",
    ...                      alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZ'")
    >>> sp.get_piece_size(), sp.id_to_piece(1), sp.id_to_piece(28)
    (29, 'A', '▁')
    """
    _check_train_csv(train_csv)
    symbols = _alphabet_symbols(alphabet, model_type)
    os.makedirs(save_folder, exist_ok=True)
    try:
        tokenizer = SentencePiece(
            model_dir=save_folder,
            vocab_size=vocab_size,
            annotation_train=train_csv,
            annotation_read="wrd",
            model_type=model_type,
            character_coverage=character_coverage,
            bos_id=bos_id,
            eos_id=eos_id,
            user_defined_symbols=symbols,
        )
    except RuntimeError as err:
        if "Vocabulary size" in str(err):
            raise ValueError(
                f"Tokenizer: vocab_size={vocab_size} is too large for the "
                f"text of {train_csv} ({err}). Lower output_neurons in the "
                "YAML or use token_type: char."
            ) from err
        raise
    _check_special_ids(tokenizer, bos_id, eos_id)
    size = tokenizer.sp.get_piece_size()
    if alphabet and size != vocab_size:
        raise ValueError(
            f"Tokenizer: {tokenizer.prefix_model_file}.model has {size} tokens "
            f"(<unk>, the alphabet's {len(alphabet)} characters, the word boundary"
            f"{', and characters of the text outside the alphabet' if size > len(alphabet) + 2 else ''}"
            f"), not output_neurons={vocab_size}: set output_neurons: {size} in the "
            "YAML, or normalise the text.")
    if size > vocab_size:  # a character model's size is the text's alphabet
        raise ValueError(
            f"Tokenizer: the text of {train_csv} has {size} characters (with "
            f"<unk>), more than output_neurons={vocab_size}: raise "
            "output_neurons in the YAML or normalise the text.")
    return tokenizer.sp


def _alphabet_symbols(alphabet, model_type):
    """SentencePiece's ``user_defined_symbols`` for an alphabet, or None."""
    if not alphabet:
        return None
    if model_type != "char":
        raise ValueError(f"Tokenizer: alphabet is for token_type: char, not {model_type}.")
    if "," in alphabet or " " in alphabet or len(set(alphabet)) != len(alphabet):
        raise ValueError(f"Tokenizer: alphabet {alphabet!r} must list distinct characters, "
                         "without commas or spaces.")
    return ",".join(alphabet)


def tokenizer_from_hparams(hparams):
    """`train_tokenizer` with a recipe YAML's settings (``save_folder``,
    ``output_neurons``, ``train_csv``, ``token_type``,
    ``character_coverage`` and, where the YAML has them, ``bos_index``,
    ``eos_index`` and ``alphabet``).

    Arguments
    ---------
    hparams : dict
        The loaded YAML.

    Returns
    -------
    sentencepiece.SentencePieceProcessor
    """
    return train_tokenizer(
        save_folder=hparams["save_folder"],
        vocab_size=hparams["output_neurons"],
        train_csv=hparams["train_csv"],
        model_type=hparams["token_type"],
        character_coverage=hparams["character_coverage"],
        bos_id=hparams.get("bos_index", -1),
        eos_id=hparams.get("eos_index", -1),
        alphabet=hparams.get("alphabet"),
    )


def _check_special_ids(tokenizer, bos_id, eos_id):
    """Raises when a model loaded from disk reserves other bos/eos ids."""
    found = (tokenizer.sp.bos_id(), tokenizer.sp.eos_id())
    if found != (bos_id, eos_id):
        raise ValueError(
            f"Tokenizer: {tokenizer.prefix_model_file}.model has bos/eos ids "
            f"{found}, expected {(bos_id, eos_id)}: it was trained for "
            "another recipe. Use another save_folder or delete it."
        )
