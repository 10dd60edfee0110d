"""What makes the deep & thin student fast on CPU (issue 18: 2x the
teacher's speed) is in YAML: a shorter positional convolution
(``student_conv_pos_kernel``) and a waveform CNN of its own with fewer
channels than the teacher's (``student_conv_dim``, trained in stage 1
through ``frontend_projection``). Distillation and fine-tuning YAMLs build
them, a checkpoint loads strictly into fine-tuning with the same options,
other options are refused by name. No training: a random teacher and
student, saved as the recipes save them."""

import pytest
import torch

from speechbrain_ee.training import load_pretrained
from tests.integration.recipe_runs import DISTILL, RECIPES
from tests.unit.distill_runs import (
    TEACHER,
    assert_loads_as_distilled,
    load,
    random_teacher,
    save_as_the_recipe,
)

STUDENT = {"student_hidden_size": 32, "student_layers": 2, "student_heads": 4,
           "student_ffn_size": 32, "layer_map": [[1, 1], [2, 2]]}


def kernel(student):
    return student.encoder.pos_conv_embed.conv.kernel_size[0]


@pytest.fixture(scope="module")
def distilled(tmp_path_factory):
    """A deep & thin distillation run's folder, positional kernel 8."""
    folder = tmp_path_factory.mktemp("deep_thin_k8")
    random_teacher(folder)
    hparams = load(DISTILL / "hparams" / "distill_deep_thin.yaml",
                   {**TEACHER, **STUDENT, "student_conv_pos_kernel": 8,
                    "output_folder": str(folder / "d"),
                    "teacher_checkpoint": str(folder / "teacher.ckpt")})
    assert kernel(hparams["student"]) == 8
    save_as_the_recipe(hparams, folder)
    return folder


def fine_tuning(distilled, tmp_path, pos_kernel):
    return load(RECIPES / "CTC" / "hparams" / "distilled_student_ctc.yaml",
                {**TEACHER, **STUDENT, "student_conv_pos_kernel": pos_kernel,
                 "distill_folder": str(distilled),
                 "output_folder": str(tmp_path / "run")})


def test_every_deep_thin_yaml_has_the_option():
    for path in (DISTILL / "hparams" / "distill_deep_thin.yaml",
                 DISTILL / "hparams" / "distill_deep_thin_fbank.yaml",
                 RECIPES / "CTC" / "hparams" / "distilled_student_ctc.yaml",
                 RECIPES / "CTC" / "hparams" / "distilled_student_fbank_ctc.yaml"):
        text = path.read_text(encoding="utf-8")
        assert "num_conv_pos_embeddings: !ref <student_conv_pos_kernel>" in text, path
        assert "\nstudent_conv_pos_kernel: " in text, path


def test_a_shorter_kernel_fine_tunes_from_its_distillation(distilled, tmp_path):
    hparams = fine_tuning(distilled, tmp_path, 8)
    assert_loads_as_distilled(hparams, distilled)
    assert kernel(hparams["student"]) == 8


def test_another_kernel_is_refused_by_name(distilled, tmp_path):
    hparams = fine_tuning(distilled, tmp_path, 16)
    with pytest.raises(RuntimeError, match="student.ckpt does not fit DistillStudent"):
        load_pretrained(hparams["pretrainer"])


def test_a_cnn_of_its_own_fine_tunes_from_its_distillation(tmp_path):
    """A student with fewer CNN channels than the teacher trains its own
    CNN (stage 1's projection, ``frontend_projection``); fine-tuning loads
    it, projection included, strictly."""
    random_teacher(tmp_path)
    own = {**TEACHER, **STUDENT, "student_conv_dim": 16, "frontend_projection": 32}
    hparams = load(DISTILL / "hparams" / "distill_deep_thin.yaml",
                   {**own, "output_folder": str(tmp_path / "d"),
                    "teacher_checkpoint": str(tmp_path / "teacher.ckpt")})
    student = hparams["student"]
    assert student.front_end.feature_extractor.conv_layers[0].conv.out_channels == 16
    out = student(torch.randn(1, 4000), torch.ones(1), frontend_only=True)
    assert out.frontend_projection.shape[-1] == 32
    save_as_the_recipe(hparams, tmp_path)
    tuned = load(RECIPES / "CTC" / "hparams" / "distilled_student_ctc.yaml",
                 {**own, "distill_folder": str(tmp_path), "output_folder": str(tmp_path / "run")})
    assert_loads_as_distilled(tuned, tmp_path)


def test_copying_a_cnn_of_other_channels_is_refused_by_name(tmp_path):
    random_teacher(tmp_path)
    hparams = load(DISTILL / "hparams" / "distill_deep_thin.yaml",
                   {**TEACHER, **STUDENT, "student_conv_dim": 16,
                    "output_folder": str(tmp_path / "d"),
                    "teacher_checkpoint": str(tmp_path / "teacher.ckpt")})
    with pytest.raises(ValueError, match="init_cnn_from_teacher: the student's waveform "
                                         "CNN has 16 channels, the teacher's 32"):
        hparams["student"].init_from_teacher(hparams["teacher"], 0, cnn=True)
