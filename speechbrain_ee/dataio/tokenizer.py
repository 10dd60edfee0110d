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
        Number of tokens.
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
    """
    _check_train_csv(train_csv)
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
    return tokenizer.sp


def _check_special_ids(tokenizer, bos_id, eos_id):
    """Raises when a model loaded from disk reserves other bos/eos ids."""
    found = (tokenizer.sp.bos_id(), tokenizer.sp.eos_id())
    if found != (bos_id, eos_id):
        raise ValueError(
            f"Tokenizer: {tokenizer.prefix_model_file}.model has bos/eos ids "
            f"{found}, expected {(bos_id, eos_id)}: it was trained for "
            "another recipe. Use another save_folder or delete it."
        )
