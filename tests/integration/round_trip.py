"""Helpers of the export tests: a run's first test utterances, its own
model's output on them, and the export round trip (same log-probabilities,
same transcripts, through our class and through stock SpeechBrain's)."""

import re

import torch

from speechbrain_ee.analysis.experiment import load_experiment
from speechbrain_ee.dataio.audio import load_audio
from speechbrain_ee.decoding.ctc import greedy_decoder
from speechbrain_ee.inference.export import export_run
from speechbrain_ee.inference.transcribe import load_model
from speechbrain_ee.lobes.contract import inference_options


def first_test_audio(run, count=3):
    """The first test utterances of a run, as a padded batch."""
    csv_path = run / "save" / "test-clean.csv"
    hparams_text = (run / "hyperparams.yaml").read_text()
    data_root = re.search(r"^data_folder: (.*)$", hparams_text, re.M)[1]
    wavs = []
    for line in csv_path.read_text().splitlines()[1:count + 1]:
        wavs.append(load_audio(line.split(",")[2].replace(
            "$data_root", data_root.strip())))
    lengths = torch.tensor([len(w) for w in wavs], dtype=torch.float)
    batch = torch.nn.utils.rnn.pad_sequence(wavs, batch_first=True)
    return batch, lengths / lengths.max()


def recipe_log_probs(run, wavs, wav_lens):
    """The recipe's model on a batch, at the run's inference setting (exit
    strategy, skip threshold): greedy texts and log-probs."""
    hparams, tokenizer = load_experiment(str(run))
    with torch.no_grad():
        feats = hparams["compute_features"](wavs)
        feats = hparams["normalize"].eval()(feats, wav_lens)
        model = hparams["ctc_model"].eval()
        log_probs = model(feats, wav_lens, **inference_options(hparams)).output
    words = greedy_decoder(tokenizer)(log_probs, wav_lens)
    return log_probs, [" ".join(w) for w in words]


def check_stock(export, wavs, wav_lens, expected, texts, savedir):
    """Stock SpeechBrain's ``EncoderASR`` loads ``export`` unchanged and
    gives ``expected`` log-probabilities and ``texts``."""
    from speechbrain.inference.ASR import EncoderASR

    stock = EncoderASR.from_hparams(source=str(export), savedir=str(savedir))
    with torch.no_grad():
        got = stock.encode_batch(wavs, wav_lens)
    assert got.shape == expected.shape
    assert torch.allclose(got, expected, atol=1e-5, rtol=0), \
        float((got - expected).abs().max())
    words, _ = stock.transcribe_batch(wavs, wav_lens)
    # stock SpeechBrain keeps a word boundary the model emits last ("R ")
    assert [" ".join(w.split()) for w in words] == texts


def check_round_trip(run, export, savedir):
    """The export of ``run`` gives the recipe's log-probabilities and
    transcripts on the run's first test utterances, through
    ``EfficientEncoderASR`` and through stock ``EncoderASR``; both models
    have the same depth."""
    wavs, wav_lens = first_test_audio(run)
    expected, texts = recipe_log_probs(run, wavs, wav_lens)
    asr = load_model(str(export), savedir=str(savedir))
    with torch.no_grad():
        got = asr.encode_batch(wavs, wav_lens).output
    assert torch.allclose(got, expected, atol=1e-5, rtol=0)
    results = asr.transcribe_batch(wavs, wav_lens)
    assert [r.text for r in results] == texts
    assert all(r.num_layers == asr.num_layers for r in results)
    hparams, _ = load_experiment(str(run))
    assert asr.num_layers == hparams["ctc_model"].num_layers
    check_stock(export, wavs, wav_lens, expected, texts, savedir / "stock")


def check_portable_export(run, target, savedir, machine_paths):
    """Exports ``run``; its ``hyperparams.yaml`` names none of
    ``machine_paths`` (the training machine's teacher, fine-tuned run, cache)
    and the round trip holds."""
    export_run(run, target)
    text = (target / "hyperparams.yaml").read_text()
    for path in machine_paths:
        assert str(path) not in text, path
    check_round_trip(run, target, savedir)


def joint_recipe_outputs(run, wavs, wav_lens):
    """A joint CTC+attention run's model as its recipe tests it (the kept
    checkpoints averaged): the acoustic encoder's output and the test beam
    search's texts."""
    from hyperpyyaml import load_hyperpyyaml
    from speechbrain.utils.checkpoints import average_checkpoints

    from speechbrain_ee.dataio.tokenizer import tokenizer_from_hparams

    hparams = load_hyperpyyaml((run / "hyperparams.yaml").read_text())
    checkpointer = hparams["checkpointer"]
    checkpointer.recover_if_possible(max_key="ACC")
    hparams["model"].load_state_dict(average_checkpoints(
        checkpointer.find_checkpoints(max_key="ACC"), "model"))
    tokenizer = tokenizer_from_hparams(hparams)
    with torch.no_grad():
        feats = hparams["normalize"].eval()(hparams["compute_features"](wavs), wav_lens)
        enc = hparams["encoder_decoder"].eval().encode(feats, wav_lens)
        hyps, _, _, _ = hparams["test_search"](enc, wav_lens)
    return enc, [tokenizer.decode_ids(h) for h in hyps]


def check_stock_joint(export, wavs, wav_lens, encoded, texts, savedir):
    """Stock SpeechBrain's ``EncoderDecoderASR`` loads ``export`` unchanged
    and gives the ``encoded`` encoder output and the ``texts``."""
    from speechbrain.inference.ASR import EncoderDecoderASR

    stock = EncoderDecoderASR.from_hparams(source=str(export), savedir=str(savedir))
    with torch.no_grad():
        got = stock.encode_batch(wavs, wav_lens)
    assert torch.allclose(got, encoded, atol=1e-5, rtol=0)
    words, _ = stock.transcribe_batch(wavs, wav_lens)
    assert list(words) == texts
