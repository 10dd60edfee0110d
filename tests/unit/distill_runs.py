"""Helpers of the unit tests that build distillation and fine-tuning runs
from their YAMLs without training: a random tiny teacher, a student saved
as ``recipes/LibriSpeech/distill/train.py`` saves it, and the check that
fine-tuning loads it weight for weight."""

import torch
from hyperpyyaml import load_hyperpyyaml
from speechbrain.utils.checkpoints import DEFAULT_SAVE_HOOKS, get_default_hook

from speechbrain_ee.training import load_pretrained
from tests.integration.recipe_runs import RECIPES, TEACHER_SIZES as TEACHER


def load(path, overrides):
    """A YAML file with its overrides."""
    with open(path, encoding="utf-8") as f:
        return load_hyperpyyaml(f, overrides)


def random_teacher(folder):
    """``folder/teacher.ckpt``: a random built-in teacher."""
    ssl = load(RECIPES / "CTC" / "hparams" / "ssl_ctc.yaml",
               {**TEACHER, "ssl_checkpoint": None, "output_folder": str(folder / "t")})
    torch.save(ssl["encoder"].state_dict(), folder / "teacher.ckpt")


def save_as_the_recipe(hparams, folder):
    """``student.ckpt`` and ``normalizer.ckpt``, as distill/train.py writes them."""
    for key, name in (("student", "student.ckpt"), ("normalize", "normalizer.ckpt")):
        get_default_hook(hparams[key], DEFAULT_SAVE_HOOKS)(hparams[key], folder / name)


def assert_loads_as_distilled(hparams, folder):
    """The fine-tuning YAML's pretrainer loads ``folder/student.ckpt``
    strictly, weight for weight, every saved weight and only those."""
    load_pretrained(hparams["pretrainer"])
    saved = torch.load(folder / "student.ckpt")
    state = hparams["student"].state_dict()
    assert set(state) == set(saved)
    for name, value in state.items():
        assert torch.equal(value, saved[name]), name
