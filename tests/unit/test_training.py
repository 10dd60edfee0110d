"""The recipes' shared Brain: the learning-rate cool-down over a run, the
run options of the YAML and the command line, the encoder's learning-rate
group."""

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
