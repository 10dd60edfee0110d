"""DistilHuBERT fine-tunes (issue 18, item 4): a checkpoint of the
distillation YAML (``recipes/LibriSpeech/distill/hparams/distilhubert.yaml``:
one shared prediction head) loads strictly into the CTC fine-tuning YAML
made for it (``distilhubert_ctc.yaml``), weight for weight; the deep-thin
students' fine-tuning YAML (layer-wise heads) refuses it by name. No
training: a random teacher and student, saved as the recipes save them."""

import pytest

from speechbrain_ee.training import load_pretrained
from tests.integration.recipe_runs import DISTILL, RECIPES
from tests.unit.distill_runs import (
    TEACHER,
    assert_loads_as_distilled,
    load,
    random_teacher,
    save_as_the_recipe,
)

DISTILHUBERT = {"student_layers": 1, "predicted_layers": [1, 2]}


@pytest.fixture(scope="module")
def distilled(tmp_path_factory):
    """The folder of a DistilHuBERT distillation run (student.ckpt and
    normalizer.ckpt, written as recipes/LibriSpeech/distill/train.py
    writes them) from a random teacher."""
    folder = tmp_path_factory.mktemp("distilhubert")
    random_teacher(folder)
    hparams = load(DISTILL / "hparams" / "distilhubert.yaml",
                   {**TEACHER, **DISTILHUBERT, "output_folder": str(folder / "d"),
                    "teacher_checkpoint": str(folder / "teacher.ckpt")})
    save_as_the_recipe(hparams, folder)
    return folder


def test_distilhubert_checkpoint_loads_strictly_for_fine_tuning(distilled, tmp_path):
    hparams = load(RECIPES / "CTC" / "hparams" / "distilhubert_ctc.yaml",
                   {**TEACHER, **DISTILHUBERT, "distill_folder": str(distilled),
                    "output_folder": str(tmp_path / "run")})
    assert hparams["pretrainer"].custom_hooks["student"].__name__ == "strict_transfer"
    assert_loads_as_distilled(hparams, distilled)
    assert hparams["ctc_model"].num_layers == 1


def test_the_deep_thin_fine_tuning_yaml_refuses_it(distilled, tmp_path):
    hparams = load(RECIPES / "CTC" / "hparams" / "distilled_student_ctc.yaml",
                   {**TEACHER, "student_hidden_size": 32, "student_layers": 1,
                    "student_heads": 4, "student_ffn_size": 64,
                    "layer_map": [[1, 1]], "distill_folder": str(distilled),
                    "output_folder": str(tmp_path / "run")})
    with pytest.raises(RuntimeError, match="student.ckpt does not fit DistillStudent"):
        load_pretrained(hparams["pretrainer"])
