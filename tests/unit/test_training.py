"""The recipes' shared Brain: the learning-rate cool-down over a run."""

import torch
from speechbrain.nnet.schedulers import NoamScheduler
from speechbrain.utils.epoch_loop import EpochCounter

from speechbrain_ee.training import BudgetedBrain, read_progress


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
