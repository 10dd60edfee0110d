"""The recipes' shared Brain: the learning-rate cool-down over a run, the
run options of the YAML and the command line, the encoder's learning-rate
group."""

import pytest
import speechbrain as sb
import torch
from speechbrain.nnet.schedulers import NoamScheduler
from speechbrain.utils.epoch_loop import EpochCounter

from speechbrain_ee.training import BudgetedBrain, make_brain, param_groups, read_progress


class _Regression(BudgetedBrain):
    def compute_forward(self, batch, stage):
        return self.modules.model(batch[0])

    def compute_objectives(self, predictions, batch, stage):
        return torch.nn.functional.mse_loss(predictions, batch[1])


def _fit(tmp_path, cooldown, epochs=2, batches=4):
    tmp_path.mkdir()
    torch.manual_seed(0)
    data = [(torch.randn(2, 3), torch.randn(2, 1)) for _ in range(batches)]
    hparams = {
        "noam_annealing": NoamScheduler(lr_initial=0.1, n_warmup_steps=2),
        "epoch_counter": EpochCounter(epochs),
        "output_folder": str(tmp_path),
        "progress_interval": 1,
        "lr_cooldown": cooldown,
    }
    brain = _Regression(
        modules={"model": torch.nn.Linear(3, 1)},
        opt_class=lambda params: torch.optim.SGD(params, lr=0.1),
        hparams=hparams,
        run_opts={"device": "cpu"},
    )
    brain.fit(hparams["epoch_counter"], data, data,
              train_loader_kwargs={"batch_size": None},
              valid_loader_kwargs={"batch_size": None})
    with open(tmp_path / "progress.csv", encoding="utf-8") as f:
        lrs = [float(line.split(",")[3]) for line in f.read().splitlines()[1:]]
    return [step for step, _, _ in read_progress(tmp_path)], lrs


def test_cooldown_takes_the_learning_rate_to_zero_over_the_last_share(tmp_path):
    steps, noam = _fit(tmp_path / "noam", cooldown=None)
    _, cooled = _fit(tmp_path / "cooled", cooldown=0.5)
    assert steps == list(range(1, 9))
    # The first half of the run is the Noam schedule's; then a linear decay
    # to 0 at the last step (8 steps: shares 5/8 .. 8/8 of the run done).
    assert cooled[:4] == noam[:4]
    expected = [lr * (1 - step / 8) / 0.5 for step, lr in zip(steps[4:], noam[4:])]
    assert cooled[4:] == [float(f"{lr:.3g}") for lr in expected]
    assert cooled[-1] == 0.0 and noam[-1] > 0.01


def _brain(run_opts, **hparams):
    """A `make_brain` Brain over a tiny model with these YAML values."""
    model = torch.nn.Linear(3, 1)
    hparams = {"modules": {"model": model}, "opt_class": None,
               "checkpointer": None, **hparams}
    return make_brain(_Regression, hparams, run_opts)


def test_make_brain_keeps_the_yaml_run_options_the_command_line_leaves():
    """The YAML's run options apply unless the command line gives them
    (SpeechBrain's defaults had replaced them: no intra-epoch checkpoint
    ever ran)."""
    _, run_opts, _ = sb.parse_arguments(["x.yaml", "--device=cpu"])
    brain = _brain(run_opts, ckpt_interval_minutes=5, max_grad_norm=10.0)
    assert brain.ckpt_interval_minutes == 5 and brain.max_grad_norm == 10.0
    _, run_opts, _ = sb.parse_arguments(["x.yaml", "--max_grad_norm=2.0"])
    brain = _brain(run_opts, ckpt_interval_minutes=5, max_grad_norm=10.0)
    assert brain.max_grad_norm == 2.0 and brain.ckpt_interval_minutes == 5


def test_make_brain_takes_the_precision_from_the_yaml_or_the_command_line(
        monkeypatch):
    monkeypatch.setattr(torch.cpu, "_is_avx512_bf16_supported", lambda: True)
    _, run_opts, _ = sb.parse_arguments(["x.yaml", "--device=cpu"])
    assert _brain(run_opts, precision="bf16").precision == "bf16"
    assert _brain(run_opts).precision == "fp32"
    _, run_opts, _ = sb.parse_arguments(["x.yaml", "--precision=fp32"])
    assert _brain(run_opts, precision="bf16").precision == "fp32"


def test_encoder_group_learns_at_its_share_of_the_rate(tmp_path):
    """`param_groups` and `BudgetedBrain`: each schedule step sets every
    group's rate, then the encoder's group gets its lr_scale."""
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(3, 3), torch.nn.Linear(3, 1))
    data = [(torch.randn(2, 3), torch.randn(2, 1)) for _ in range(3)]
    hparams = {"noam_annealing": NoamScheduler(lr_initial=0.1, n_warmup_steps=2),
               "epoch_counter": EpochCounter(1), "output_folder": str(tmp_path)}

    class Brain(_Regression):
        def init_optimizers(self):
            self.optimizer = torch.optim.SGD(
                param_groups(self.modules, self.modules.model[0], 0.25), lr=0.1)

    brain = Brain(modules={"model": model}, hparams=hparams,
                  run_opts={"device": "cpu"})
    brain.fit(hparams["epoch_counter"], data,
              train_loader_kwargs={"batch_size": None})
    head, encoder = brain.optimizer.param_groups
    assert head["lr"] > 0 and encoder["lr"] == head["lr"] * 0.25


def test_make_brain_reads_the_optimizer_step_limit_as_a_number():
    """SpeechBrain 1.1's parser leaves --optimizer_step_limit a string."""
    _, run_opts, _ = sb.parse_arguments(["x.yaml", "--optimizer_step_limit=5"])
    assert _brain(run_opts).optimizer_step_limit == 5


RUN_YAML = """seed: 1
output_folder: !ref results/x/<seed>
save_folder: !ref <output_folder>/save
number_of_epochs: 3
d_model: 48
test_beam_size: 4
epoch_counter: !new:speechbrain.utils.epoch_loop.EpochCounter
    limit: !ref <number_of_epochs>
model: !new:torch.nn.Linear [!ref <d_model>, 2]
"""


def _trained_run(tmp_path, **overrides):
    """A run folder as train.py leaves it: the saved YAML and a checkpoint."""
    import os

    from speechbrain.utils.checkpoints import Checkpointer

    from hyperpyyaml import resolve_references

    yaml = tmp_path / "recipe.yaml"
    yaml.write_text(RUN_YAML)
    run = tmp_path / "run"
    given = {"output_folder": str(run), **overrides}
    Checkpointer(os.path.join(run, "save")).save_checkpoint()
    with open(yaml) as f:  # what sb.create_experiment_directory saves
        (run / "hyperparams.yaml").write_text(resolve_references(f, given).getvalue())
    return yaml, run


def test_rerun_with_other_model_options_is_refused(tmp_path):
    """Budgets, test options and the output folder's spelling may change on
    a rerun; the model's options may not: the keys are named, nothing is
    written."""
    from speechbrain_ee.errors import UsageError
    from speechbrain_ee.training import check_rerun

    yaml, run = _trained_run(tmp_path)
    saved = (run / "hyperparams.yaml").read_text()
    check_rerun(str(run), str(yaml), {"output_folder": str(run)})
    check_rerun(str(run), str(yaml), {"output_folder": f"{run}/", "number_of_epochs": 9,
                                      "test_beam_size": 2})
    with pytest.raises(UsageError, match=r"d_model: 48 -> 64\): .*--output_folder"):
        check_rerun(str(run), str(yaml), {"output_folder": str(run), "d_model": 64})
    assert (run / "hyperparams.yaml").read_text() == saved
    # a folder without a checkpoint is no trained run: anything goes
    check_rerun(str(tmp_path / "new"), str(yaml), {"d_model": 64})


def test_misspelt_override_and_missing_device_are_named(tmp_path):
    from speechbrain_ee.errors import UsageError
    from speechbrain_ee.training import check_device, load_hparams

    yaml = tmp_path / "recipe.yaml"
    yaml.write_text(RUN_YAML)
    with pytest.raises(UsageError, match="--test_beam: no such option .* did you mean "
                                         "--test_beam_size"):
        load_hparams(str(yaml), "test_beam: 3")
    with pytest.raises(UsageError, match="--d_model: given twice"):
        load_hparams(str(yaml), "d_model: 3\nd_model: 4")
    if not torch.cuda.is_available():
        with pytest.raises(UsageError, match="--device cuda: this machine has no CUDA GPU"):
            check_device("cuda")


def test_train_py_errors_are_one_line_before_anything_is_written(tmp_path, monkeypatch,
                                                                 capsys):
    """train.py's start (`setup_experiment`) under `run_command`, as every
    recipe runs it: a misspelt option and a folder it may not write are one
    line each, status 2 and 1."""
    import errno

    from speechbrain_ee.errors import RECIPE_ERRORS, run_command
    from speechbrain_ee.training import setup_experiment

    yaml = tmp_path / "recipe.yaml"
    yaml.write_text(RUN_YAML)
    out = tmp_path / "run"
    argv = [str(yaml), f"--output_folder={out}", "--device=cpu"]
    assert run_command("train.py", setup_experiment, [*argv, "--dmodel=3"],
                       catch=RECIPE_ERRORS) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "did you mean --d_model?" in err
    assert not out.exists()

    def denied(experiment_directory, **kwargs):
        raise PermissionError(errno.EACCES, "Permission denied", experiment_directory)

    monkeypatch.setattr(sb, "create_experiment_directory", denied)
    assert run_command("train.py", setup_experiment, argv, catch=RECIPE_ERRORS) == 1
    err = capsys.readouterr().err
    assert err.strip() == (f"train.py: error: {out}: Permission denied; check its "
                           "permissions or choose another folder")


def test_a_rerun_logs_each_test_once(tmp_path):
    """A test set scored again for the same epochs replaces its line."""
    from types import SimpleNamespace

    from speechbrain.utils.train_logger import FileTrainLogger

    log = tmp_path / "train_log.txt"
    brain = SimpleNamespace(hparams=SimpleNamespace(train_logger=FileTrainLogger(log)))
    meta = {"test set": "test-clean", "epochs trained": 2}
    BudgetedBrain.log_test(brain, meta, {"WER": 50.0})
    BudgetedBrain.log_test(brain, dict(meta, **{"epochs trained": 3}), {"WER": 40.0})
    BudgetedBrain.log_test(brain, meta, {"WER": 50.0})
    lines = log.read_text().splitlines()
    assert len(lines) == 2 and lines[0].startswith("test set: test-clean, epochs trained: 3")


@pytest.mark.parametrize("uncaught", [False, True])
def test_end_process_group_waits_then_destroys(monkeypatch, uncaught):
    """A one-process gloo group: the barrier passes at once (or, after an
    uncaught exception, is skipped), and the group is gone."""
    import socket

    from speechbrain_ee.training import end_process_group

    with socket.socket() as s:  # a free port
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    torch.distributed.init_process_group(
        "gloo", init_method=f"tcp://127.0.0.1:{port}", rank=0, world_size=1)
    barriers = []
    real_barrier = torch.distributed.monitored_barrier
    monkeypatch.setattr(torch.distributed, "monitored_barrier",
                        lambda **kw: barriers.append(real_barrier(**kw)))
    if uncaught:
        monkeypatch.setattr("sys.last_value", ValueError("a failed rank"), raising=False)
    end_process_group()
    assert not torch.distributed.is_initialized()
    assert len(barriers) == (0 if uncaught else 1)
