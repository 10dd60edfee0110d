"""DistilHuBERT fine-tunes (issue 18, item 4): a checkpoint of the
distillation YAML (``recipes/LibriSpeech/distill/hparams/distilhubert.yaml``:
one shared prediction head) loads strictly into the CTC fine-tuning YAML
made for it (``distilhubert_ctc.yaml``), weight for weight; the deep-thin
students' fine-tuning YAML (layer-wise heads) refuses it by name. No
training: a random teacher and student, saved as the recipes save them."""

import pytest
import torch
from hyperpyyaml import load_hyperpyyaml
from speechbrain.utils.checkpoints import DEFAULT_SAVE_HOOKS, get_default_hook

from speechbrain_ee.training import load_pretrained
from tests.integration.recipe_runs import DISTILL, RECIPES

TEACHER = {"teacher_hidden_size": 32, "teacher_layers": 2, "teacher_heads": 4,
           "teacher_ffn_size": 64, "teacher_conv_dim": 32, "num_codewords": 20,
           "codeword_dim": 16}
DISTILHUBERT = {"student_layers": 1, "predicted_layers": [1, 2]}


def load(path, overrides):
    with open(path, encoding="utf-8") as f:
        return load_hyperpyyaml(f, overrides)


@pytest.fixture(scope="module")
def distilled(tmp_path_factory):
    """The folder of a DistilHuBERT distillation run (student.ckpt and
    normalizer.ckpt, written as recipes/LibriSpeech/distill/train.py
    writes them) from a random teacher."""
    folder = tmp_path_factory.mktemp("distilhubert")
    ssl = load(RECIPES / "CTC" / "hparams" / "ssl_ctc.yaml",
               {**TEACHER, "ssl_checkpoint": None, "output_folder": str(folder / "t")})
    torch.save(ssl["encoder"].state_dict(), folder / "teacher.ckpt")
    hparams = load(DISTILL / "hparams" / "distilhubert.yaml",
                   {**TEACHER, **DISTILHUBERT, "output_folder": str(folder / "d"),
                    "teacher_checkpoint": str(folder / "teacher.ckpt")})
    for key, name in (("student", "student.ckpt"), ("normalize", "normalizer.ckpt")):
        get_default_hook(hparams[key], DEFAULT_SAVE_HOOKS)(hparams[key], folder / name)
    return folder


def test_distilhubert_checkpoint_loads_strictly_for_fine_tuning(distilled, tmp_path):
    hparams = load(RECIPES / "CTC" / "hparams" / "distilhubert_ctc.yaml",
                   {**TEACHER, **DISTILHUBERT, "distill_folder": str(distilled),
                    "output_folder": str(tmp_path / "run")})
    assert hparams["pretrainer"].custom_hooks["student"].__name__ == "strict_transfer"
    load_pretrained(hparams["pretrainer"])
    saved = torch.load(distilled / "student.ckpt")
    state = hparams["student"].state_dict()
    assert set(state) == set(saved)
    for name, value in state.items():
        assert torch.equal(value, saved[name]), name
    assert hparams["ctc_model"].num_layers == 1


def test_the_deep_thin_fine_tuning_yaml_refuses_it(distilled, tmp_path):
    hparams = load(RECIPES / "CTC" / "hparams" / "distilled_student_ctc.yaml",
                   {**TEACHER, "student_hidden_size": 32, "student_layers": 1,
                    "student_heads": 4, "student_ffn_size": 64,
                    "layer_map": [[1, 1]], "distill_folder": str(distilled),
                    "output_folder": str(tmp_path / "run")})
    with pytest.raises(RuntimeError, match="student.ckpt does not fit DistillStudent"):
        load_pretrained(hparams["pretrainer"])
