"""Tests of the export's pieces that need no trained run: the model part of
a run's YAML, the run check, the model card tables, the target and
manifest checks."""

import json

import pytest
from hyperpyyaml import load_hyperpyyaml
from ruamel.yaml import YAML

from speechbrain_ee.inference.export import (
    check_target,
    inference_yaml,
    check_model,
    dynamic_table,
    model_yaml,
    read_manifest,
    wer_table,
)

RUN_YAML = """\
seed: 1234
output_folder: results/x
sample_rate: 16000
blank_index: 0
output_neurons: 12
token_type: unigram
d_model: 8
compute_features: !new:speechbrain.lobes.features.Fbank
  n_mels: 20
normalize: !new:speechbrain.processing.features.InputNormalization
  norm_type: global
hidden: &id001 [16]  # a comment the export drops
encoder: &id002 !new:torch.nn.Linear
  in_features: 20
  out_features: 8
ctc_lin: &id003 !new:torch.nn.Linear
  in_features: 8
  out_features: 12
log_softmax: !new:speechbrain.nnet.activations.Softmax
  apply_log: true
ctc_model: !new:speechbrain_ee.lobes.contract.CTCModel
  encoder: *id002
  ctc_lin: *id003
unused_block: !new:torch.nn.Linear
  in_features: 3
  out_features: *id001
model: !new:torch.nn.ModuleList
- [*id002, *id003]
train_logger: !new:speechbrain.utils.train_logger.FileTrainLogger
  save_file: results/x/train_log.txt
"""


def load_rt(text):
    return YAML().load(text)


def test_model_yaml_keeps_what_inference_needs_only():
    text = model_yaml(load_rt(RUN_YAML))
    for key in ("sample_rate:", "compute_features:", "normalize:",
                "encoder:", "ctc_lin:", "ctc_model:", "model:"):
        assert key in text
    for key in ("seed:", "output_folder:", "train_logger:", "unused_block:",
                "hidden:", "comment", "log_softmax:"):
        assert key not in text, key


def test_model_yaml_keeps_keys_shared_through_anchors():
    run = RUN_YAML.replace("  out_features: 8\nctc_lin",
                           "  out_features: 8\n  bias: *id001\nctc_lin")
    text = model_yaml(load_rt(run))
    assert "hidden: &id001 [16]" in text


def test_inference_yaml_loads_with_shared_modules(tmp_path):
    text = inference_yaml(load_rt(RUN_YAML))
    hparams = load_hyperpyyaml(text)
    assert hparams["modules"]["ctc_model"] is hparams["ctc_model"]
    assert hparams["ctc_model"].encoder is hparams["encoder"]
    assert hparams["model"][0] is hparams["encoder"]
    loadables = hparams["pretrainer"].loadables
    assert set(loadables) == {"model", "normalizer", "tokenizer"}
    assert loadables["model"] is hparams["model"]


def test_check_model_names_the_file():
    check_model({"ctc_model": 1}, "x.yaml")
    check_model({"encoder_decoder": 1, "encoder": 1}, "x.yaml")  # joint: exported too
    with pytest.raises(ValueError, match="x.yaml: no `ctc_model` or `encoder_decoder`"):
        check_model({"early_exit": 1}, "x.yaml")


def test_inference_yaml_has_the_stock_layout():
    """Module ``encoder`` is the chain stock EncoderASR calls (features,
    normalisation, the model's log-probabilities); ``ctc_model`` the model
    of the contract EfficientEncoderASR runs."""
    hparams = load_hyperpyyaml(inference_yaml(load_rt(RUN_YAML)))
    chain = hparams["modules"]["encoder"]
    assert list(chain.keys()) == ["compute_features", "normalize", "ctc_model"]
    assert chain["normalize"] is hparams["normalize"]
    assert chain["ctc_model"].model is hparams["ctc_model"]
    assert hparams["modules"]["ctc_model"] is hparams["ctc_model"]


def test_dynamic_table_shows_what_the_run_measured():
    table = dynamic_table({"t": {"WER": 9.0, "WER_L3": 20.0, "WER_L6": 10.0,
                                 "skipped_share": 0.25, "strategy_WER": 11.0}})
    assert table.splitlines()[0] == (
        "| test set | WER_L3 | WER_L6 | strategy_WER | skipped_share |")
    assert dynamic_table({"t": {"WER": 9.0}}) == ""


def test_wer_table_rows():
    rows = wer_table({"a": {"WER": 12.345, "CER": 1.0}}).splitlines()
    assert rows == ["| a | 12.35 | 1.00 | - |"]


def test_target_must_be_empty_unless_overwrite(tmp_path):
    check_target(tmp_path / "new", overwrite=False)
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "mine.txt").write_text("keep")
    with pytest.raises(FileExistsError, match="--overwrite"):
        check_target(tmp_path / "full", overwrite=False)
    check_target(tmp_path / "full", overwrite=True)
    (tmp_path / "file").write_text("x")
    with pytest.raises(FileExistsError, match="not a folder"):
        check_target(tmp_path / "file", overwrite=True)


def test_read_manifest_errors(tmp_path):
    with pytest.raises(ValueError, match="not an export"):
        read_manifest(tmp_path)
    (tmp_path / "export.json").write_text(json.dumps(
        {"files": {"model.ckpt": "x", "export.json": None}}))
    with pytest.raises(FileNotFoundError, match="model.ckpt"):
        read_manifest(tmp_path)
    (tmp_path / "model.ckpt").write_text("x")
    assert set(read_manifest(tmp_path)["files"]) == {"model.ckpt",
                                                     "export.json"}


def test_model_yaml_drops_a_training_feature_cache():
    run = RUN_YAML.replace(
        "encoder: &id002 !new:torch.nn.Linear\n",
        "encoder: &id002 !new:torch.nn.Linear\n  cnn_cache: results/cache\n")
    assert "cnn_cache: results/cache" in run
    text = model_yaml(load_rt(run))
    assert "cnn_cache:" in text and "results/cache" not in text


def test_model_yaml_drops_weights_loaded_from_the_training_machine():
    """A routed model loads the teacher's weights when built, a pruning run a
    fine-tuned run's (through a top-level !apply): the export keeps neither
    path; its model.ckpt holds every weight."""
    run = RUN_YAML.replace(
        "encoder: &id002 !new:torch.nn.Linear\n",
        "finetuned: &id009 !apply:os.path.join [results/ft, model.ckpt]\n"
        "encoder: &id002 !new:torch.nn.Linear\n  checkpoint: *id009\n"
        "  routed_checkpoint: results/routed/model.ckpt\n")
    text = model_yaml(load_rt(run))
    encoder = load_rt(text)["encoder"]
    assert encoder["checkpoint"] is None and encoder["routed_checkpoint"] is None
    assert "results/" not in text and "finetuned" not in text
