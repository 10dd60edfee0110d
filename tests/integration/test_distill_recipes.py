"""Integration: the distillation pipeline on a tiny generated corpus. The
built-in teacher pretrains (masked prediction loss falls), the three
students distil from it (losses fall; the Fbank student's front-end stage
comes first), and the CTC recipe fine-tunes a distilled student and the
teacher from their checkpoints (loaded exactly) and scores them; each
fine-tuned run exports without the training machine's paths and its export
gives the recipe's output."""

import doctest
import importlib.util
import json
import re

import pytest
import torch
from hyperpyyaml import load_hyperpyyaml

from speechbrain_ee.training import best_checkpoint_file, load_pretrained, read_progress

from .recipe_runs import (
    RECIPES,
    REPO_ROOT,
    TEACHER,
    TINY_TEACHER,
    distill_command,
    epoch_steps,
    run_recipe,
)
from .round_trip import check_portable_export

DISTILL = REPO_ROOT / "recipes" / "LibriSpeech" / "distill"
STUDENT = ["--student_hidden_size=16", "--student_layers=2",
           "--student_heads=2", "--student_ffn_size=16",
           "--layer_map=[[1, 1], [2, 2]]"]
CTC = ["--test_beam_size=4", "--warmup_steps=5"]


def run_script(script, hparams, corpora, out, *args):
    """Runs a distill recipe script through the shared runner."""
    return run_recipe("", "", corpora, out, *args,
                      command=distill_command(script, hparams))


def log_values(folder, key):
    """Epoch -> the train value of ``key`` in train_log.txt."""
    values = {}
    for line in (folder / "train_log.txt").read_text().splitlines():
        epoch = re.match(r"epoch: (\d+),", line)
        value = re.search(rf"train {key}: ([\d.e+-]+)", line)
        if epoch and value:
            values[int(epoch.group(1))] = float(value.group(1))
    return values


def test_teacher_pretraining(teacher):
    losses = log_values(teacher, "loss")
    assert sorted(losses) == [1, 2, 3] and losses[3] < losses[1], losses
    assert "masked_acc" in (teacher / "train_log.txt").read_text()
    assert (teacher / "teacher.ckpt").is_file()
    assert (teacher / "save" / "kmeans_20.pt").is_file()
    # the unlabelled pool joined the training audio
    rows = {name: len((teacher / "save" / name).read_text().splitlines())
            for name in ("train.csv", "unlabelled.csv", "pretrain.csv")}
    assert rows["pretrain.csv"] == rows["train.csv"] + rows["unlabelled.csv"] - 1


def test_second_iteration_clusters_a_layer_of_the_first(teacher, tiny_corpora,
                                                        tmp_path):
    """HuBERT's second iteration, started from the first model's weights:
    the targets are new k-means units of a layer of the first model and the
    masked prediction loss falls; the folder records that source and carries
    the model, so that continuing it on MFCC targets is refused and
    continuing it on the same layer keeps its units."""
    out = tmp_path / "iter2"
    run_script("pretrain_teacher.py", "hubert_teacher.yaml", tiny_corpora,
               out, "--number_of_epochs=3", "--unlabelled_folder=null",
               f"--init_folder={teacher}",
               f"--units_from={teacher / 'teacher.ckpt'}", "--units_layer=1",
               *TINY_TEACHER)
    losses = log_values(out, "loss")
    assert losses[3] < losses[1], losses
    centroids = torch.load(out / "save" / "kmeans_20.pt")
    assert centroids.shape == (20, 32)  # the first model's width, not MFCC's 39
    units = json.loads((out / "pretraining.json").read_text())["units"]
    assert units["layer"] == 1
    assert (out / "units_model.ckpt").read_bytes() == \
        (teacher / "teacher.ckpt").read_bytes()
    with pytest.raises(AssertionError, match="trained on units of layer 1"):
        run_script("pretrain_teacher.py", "hubert_teacher.yaml", tiny_corpora,
                   tmp_path / "mfcc", "--number_of_epochs=1",
                   "--unlabelled_folder=null", f"--init_folder={out}",
                   *TINY_TEACHER)
    more = tmp_path / "more"
    run_script("pretrain_teacher.py", "hubert_teacher.yaml", tiny_corpora,
               more, "--number_of_epochs=1", "--unlabelled_folder=null",
               f"--init_folder={out}", "--units_layer=1",
               f"--units_from={out / 'units_model.ckpt'}", *TINY_TEACHER)
    assert torch.equal(torch.load(more / "save" / "kmeans_20.pt"), centroids)


def test_teacher_pretraining_resumes_exactly(teacher, tiny_corpora, tiny_pool,
                                             tmp_path):
    """Stopped after epoch 1 and run again, pretraining continues with the
    uninterrupted run's losses (masks and dropout from the saved random
    state)."""
    out = tmp_path / "run"
    for epochs in (1, 3):
        run_script("pretrain_teacher.py", "hubert_teacher.yaml", tiny_corpora,
                   out, f"--number_of_epochs={epochs}",
                   f"--unlabelled_folder={tiny_pool}", *TINY_TEACHER)
    resumed, whole = read_progress(out), read_progress(teacher)
    first = epoch_steps(out)[1]
    assert len(whole) == len(resumed) and len(whole) > first + 2
    assert [(step, loss) for step, _, loss in resumed[first:]] == \
        [(step, loss) for step, _, loss in whole[first:]]


def test_pretraining_continues_from_an_earlier_run(teacher, tiny_corpora,
                                                  tmp_path):
    """``--init_folder``: a new run starts from that run's weights (its
    first losses are the trained model's, below a random model's) and
    units, and adds its steps to the earlier ones; the teacher it writes in
    bfloat16 carries the same keys."""
    out = tmp_path / "more"
    run_script("pretrain_teacher.py", "hubert_teacher.yaml", tiny_corpora,
               out, "--number_of_epochs=1", "--unlabelled_folder=null",
               f"--init_folder={teacher}", "--teacher_file_dtype=bfloat16",
               *TINY_TEACHER)
    assert torch.equal(torch.load(out / "save" / "kmeans_20.pt"),
                       torch.load(teacher / "kmeans_20.pt"))
    first = [loss for _, _, loss in read_progress(teacher)[:3]]
    again = [loss for _, _, loss in read_progress(out)[:3]]
    assert sum(again) < sum(first) - 0.1, (again, first)
    before = json.loads((teacher / "pretraining.json").read_text())
    after = json.loads((out / "pretraining.json").read_text())
    assert after["steps"] == before["steps"] + epoch_steps(out)[1]
    assert 0 < after["dev_masked_acc"] <= 1
    state, trained = (torch.load(folder / "teacher.ckpt")
                      for folder in (out, teacher))
    assert state.keys() == trained.keys()
    assert {v.dtype for v in state.values() if v.is_floating_point()} == \
        {torch.bfloat16}


@pytest.mark.parametrize("option, message", [
    ("--init_folder=nowhere", "init_folder: nowhere/teacher.ckpt not found"),
    ("--teacher_file_dtype=int8", "teacher_file_dtype: 'int8'"),
])
def test_bad_continuation_options_are_named(tiny_corpora, tmp_path, option,
                                            message):
    """Refused before any training, in one line naming the option."""
    with pytest.raises(AssertionError, match=message):
        run_script("pretrain_teacher.py", "hubert_teacher.yaml", tiny_corpora,
                   tmp_path / "run", "--number_of_epochs=1",
                   "--unlabelled_folder=null", option, *TINY_TEACHER)
    assert not (tmp_path / "run" / "progress.csv").exists()


@pytest.fixture(scope="module")
def students(teacher, tiny_corpora, tmp_path_factory):
    """Each distillation YAML, three epochs from the tiny teacher."""
    runs = {}
    for hparams, extra in (
        ("distill_deep_thin.yaml", STUDENT),
        ("distill_deep_thin_fbank.yaml", [*STUDENT, "--frontend_steps=8"]),
        ("distilhubert.yaml", ["--student_layers=1",
                               "--init_layers_from_teacher=1",
                               "--predicted_layers=[1, 2]"]),
    ):
        out = tmp_path_factory.mktemp(hparams[:-5]) / "run"
        run_script("train.py", hparams, tiny_corpora, out,
                   "--number_of_epochs=3", "--warmup_steps=5",
                   f"--teacher_checkpoint={teacher / 'teacher.ckpt'}",
                   *TEACHER, *extra)
        runs[hparams] = out
    return runs


@pytest.mark.parametrize("hparams", ["distill_deep_thin.yaml",
                                     "distill_deep_thin_fbank.yaml",
                                     "distilhubert.yaml"])
def test_distillation_lowers_the_loss(students, hparams):
    out = students[hparams]
    log = (out / "train_log.txt").read_text()
    for key in ("l1", "cos", "kd"):
        values = log_values(out, key)
        first = min(values)
        assert values[3] < values[first], (key, values)
    if "fbank" in hparams:  # stage 1 (front end only) comes first
        assert "stage: front end" in log.splitlines()[0]
        assert "stage: full" in log.splitlines()[-1]
    assert (out / "student.ckpt").is_file()
    assert (out / "normalizer.ckpt").is_file()


def test_missing_teacher_checkpoint_is_named(tiny_corpora, tmp_path):
    with pytest.raises(AssertionError, match="pretrain_teacher.py"):
        run_script("train.py", "distill_deep_thin.yaml", tiny_corpora,
                   tmp_path / "run", "--number_of_epochs=1",
                   f"--teacher_checkpoint={tmp_path / 'nowhere.ckpt'}",
                   *TEACHER, *STUDENT)


FINE_TUNING = {  # CTC YAML -> the distillation YAML it starts from
    "ssl_ctc.yaml": None,
    "distilled_student_ctc.yaml": "distill_deep_thin.yaml",
    "distilled_student_fbank_ctc.yaml": "distill_deep_thin_fbank.yaml",
    "distilhubert_ctc.yaml": "distilhubert.yaml",
}
STUDENT_SIZES = {  # the distillation YAML -> the sizes its students were given
    "distilhubert.yaml": ["--student_layers=1", "--predicted_layers=[1, 2]"],
}


def fine_tuning_overrides(hparams, students, teacher):
    """The CTC recipe's overrides for one fine-tuning YAML."""
    source = FINE_TUNING[hparams]
    if source:
        folder = ["--distill_folder", str(students[source]),
                  *STUDENT_SIZES.get(source, STUDENT)]
    else:
        folder = ["--teacher_folder", str(teacher)]
    # the tri-stage schedule and frozen start, scaled to 2 epochs
    schedule = ["--total_steps=20", "--encoder_freeze_steps=2"]
    return [*TEACHER, *folder, *schedule, *CTC]


@pytest.fixture(scope="module")
def fine_tuned(students, teacher, tiny_corpora, tmp_path_factory):
    """CTC YAML -> its run folder (two epochs)."""
    runs = {}
    for hparams in FINE_TUNING:
        out = tmp_path_factory.mktemp(hparams[:-5]) / "run"
        run_recipe("CTC", hparams, tiny_corpora, out, "--number_of_epochs=2",
                   *fine_tuning_overrides(hparams, students, teacher))
        runs[hparams] = out
    return runs


def encoder_change(run, teacher):
    """Largest change of an encoder weight from the teacher's, and of the
    CTC layer's from its first checkpoint, in a fine-tuning run's last
    checkpoint."""
    model = torch.load(best_checkpoint_file(run, latest=True))
    pretrained = torch.load(teacher / "teacher.ckpt")
    return max(float((model[f"0.{name}"] - value).abs().max())
               for name, value in pretrained.items()
               if f"0.{name}" in model)


def test_ssl_fine_tuning_head_first(teacher, fine_tuned, tiny_corpora,
                                    tmp_path):
    """Encoder frozen for more steps than the run has: the CTC head alone
    learns (the loss falls) and every encoder weight stays the
    pretrained one; frozen for 2 steps only (the fixture's run), the
    encoder learns after them."""
    out = tmp_path / "run"
    overrides = [arg for arg in fine_tuning_overrides("ssl_ctc.yaml", {}, teacher)
                 if not arg.startswith("--encoder_freeze_steps")]
    run_recipe("CTC", "ssl_ctc.yaml", tiny_corpora, out, "--number_of_epochs=3",
               *overrides, "--encoder_freeze_steps=1000", "--progress_interval=1")
    losses = [loss for _, _, loss in read_progress(out)]
    assert len(losses) > 6 and sum(losses[-3:]) < sum(losses[:3]), losses
    assert encoder_change(out, teacher) == 0.0
    assert encoder_change(fine_tuned["ssl_ctc.yaml"], teacher) > 0.0


@pytest.mark.parametrize("hparams", sorted(FINE_TUNING))
def test_ctc_fine_tuning_starts_from_the_distilled_weights(
        students, teacher, fine_tuned, tmp_path, hparams):
    overrides = fine_tuning_overrides(hparams, students, teacher)
    text = (RECIPES / "CTC" / "hparams" / hparams).read_text()
    loaded = load_hyperpyyaml(text, _overrides(overrides, tmp_path))
    if "pretrainer" in loaded:  # the SSL encoder loads its checkpoint itself
        load_pretrained(loaded["pretrainer"])
    source = FINE_TUNING[hparams]
    key, ckpt = (("student", students[source] / "student.ckpt") if source
                 else ("encoder", teacher / "teacher.ckpt"))
    saved = torch.load(ckpt)
    for name, value in loaded[key].state_dict().items():
        assert torch.equal(value, saved[name]), name
    results = json.loads((fine_tuned[hparams] / "results.json").read_text())
    assert set(results) == {"test-clean", "cv-test"}


@pytest.mark.parametrize("hparams", sorted(FINE_TUNING))
def test_fine_tuned_runs_export_and_transcribe(students, teacher, fine_tuned, tmp_path,
                                               hparams):
    check_portable_export(fine_tuned[hparams], tmp_path / "export", tmp_path / "s",
                          [teacher, *students.values()])


def test_benchmark_compares_teacher_and_students(fine_tuned, tmp_path,
                                                 capsys):
    spec = importlib.util.spec_from_file_location(
        "distill_bench", REPO_ROOT / "benchmarks" / "distill.py")
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    summary = bench.main([
        "--teacher", str(fine_tuned["ssl_ctc.yaml"]),
        "--student", str(fine_tuned["distilled_student_ctc.yaml"]),
        "--student-fbank", str(fine_tuned["distilled_student_fbank_ctc.yaml"]),
        "--distilhubert", str(fine_tuned["distilhubert_ctc.yaml"]),
        "--repeats", "1", "--out", str(tmp_path / "bench"),
    ])
    rows = summary["rows"]
    # both students are smaller than the teacher (which of the two front
    # ends is smaller depends on the sizes: the CPU CNN is small)
    assert rows["teacher"]["params"] > max(rows["student"]["params"],
                                           rows["student_fbank"]["params"])
    # DistilHuBERT: the teacher's width, fewer layers
    assert rows["student"]["params"] < rows["distilhubert"]["params"] < \
        rows["teacher"]["params"]
    assert all(row["seconds"] > 0 for row in rows.values())
    out = capsys.readouterr().out
    assert "Fbank vs CNN front end" in out and "DistilHuBERT vs teacher" in out
    assert (tmp_path / "bench" / "distill.png").stat().st_size > 5000
    assert doctest.testmod(bench).failed == 0


def _overrides(args, tmp_path):
    """Command-line ``--key=value`` / ``--key value`` items as a YAML
    override string (plus a scratch output folder)."""
    pairs, items = {}, list(args)
    while items:
        item = items.pop(0)[2:]
        key, sep, value = item.partition("=")
        if not sep:
            value = items.pop(0)
        pairs[key] = value
    pairs["output_folder"] = str(tmp_path / "load")
    return "\n".join(f"{k}: {v}" for k, v in pairs.items())


def test_ssl_probe_tool_measures_units_and_layers(teacher, blank_skip_run, tmp_path):
    """tools/ssl_probe.py on the tiny teacher, aligned by a tiny CTC run:
    one row per layer and model, the targets' unit quality, the plot."""
    spec = importlib.util.spec_from_file_location(
        "ssl_probe_tool", REPO_ROOT / "tools" / "ssl_probe.py")
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    results = tool.main([str(teacher), "--aligner", str(blank_skip_run),
                         "--train-utts", "12", "--dev-utts", "6",
                         "--num-units", "8", "--probe-steps", "5",
                         "--random-baseline", "--out", str(tmp_path)])
    assert set(results) == {"pretrained", "random init"}
    for result in results.values():
        assert [row["layer"] for row in result["layers"]] == [0, 1, 2]
        for row in result["layers"]:
            assert 0.0 <= row["pnmi"] <= 1.0 and row["frames"] > 100
    targets = results["pretrained"]["targets"]
    assert 0.0 < targets["pnmi"] < 1.0
    assert targets == results["random init"]["targets"]  # the same frames
    assert (tmp_path / "ssl_probe.png").stat().st_size > 5000
    assert "pretraining targets" in (tmp_path / "ssl_probe.md").read_text()
