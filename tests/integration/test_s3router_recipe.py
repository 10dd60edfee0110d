"""Integration: S3-Router mask fine-tuning of the tiny built-in teacher in
the CTC recipe, on a low-resource subset: it trains and scores, only the
scores and the CTC head are trained (the teacher's weights are those of
its checkpoint); the routed run exports without the teacher's path and its
export gives the recipe's output."""

import doctest
import importlib.util
import json

import pytest
import torch
from speechbrain.utils.checkpoints import Checkpointer

from speechbrain_ee.dataio.recipe_data import dev_selection, in_subset
from speechbrain_ee.training import best_checkpoint_file

from .recipe_runs import REPO_ROOT, TEACHER, run_recipe
from .round_trip import check_portable_export

CTC = ["--test_beam_size=4", "--warmup_steps=5"]


@pytest.fixture(scope="module")
def routed_run(teacher, tiny_corpora, tmp_path_factory):
    """Three epochs of mask fine-tuning at sparsity 0.2."""
    out = tmp_path_factory.mktemp("s3router") / "run"
    run_recipe("CTC", "s3router_ctc.yaml", tiny_corpora, out,
               "--number_of_epochs=3", "--train_subset_share=0.5",
               "--sparsity=0.2", f"--teacher_folder={teacher}",
               "--encoder_freeze_steps=2", *TEACHER, *CTC)
    return out


def test_mask_fine_tuning(routed_run, teacher):
    out = routed_run
    results = json.loads((out / "results.json").read_text())
    assert set(results) == {"test-clean", "cv-test"}
    # Weights frozen: every non-score encoder weight is the teacher's.
    ckpt = sorted((out / "save").glob("CKPT*"))[-1] / "model.ckpt"
    state = torch.load(ckpt)
    original = torch.load(teacher / "teacher.ckpt")
    scores = 0
    for key, value in state.items():
        if not key.startswith("0.encoder."):
            continue  # the CTC head
        name = key[len("0.encoder."):]
        if name.endswith("scores"):
            scores += 1
            continue
        assert torch.equal(value, original[name]), name
    assert scores == 2 * 2  # fc1, fc2 of each of the 2 blocks
    # Low resource: the checkpoint is chosen by dev CER (the YAML's
    # ckpt_metric), and export / analysis find the same one.
    kept = Checkpointer(out / "save").find_checkpoints(min_key="CER")
    chosen = Checkpointer(out / "save").find_checkpoint(**dev_selection())
    assert chosen.meta["ckpt_metric"] == "CER"
    assert chosen.path == kept[0].path


def test_routed_run_exports_and_transcribes(routed_run, teacher, tmp_path):
    check_portable_export(routed_run, tmp_path / "export", tmp_path / "s", [teacher])


def test_low_resource_subset_is_a_fixed_share():
    ids = [f"{spk}-{chapter}-{utt:04d}" for spk in range(20)
           for chapter in range(3) for utt in range(20)]
    kept = [uid for uid in ids if in_subset(uid, 0.1)]
    assert 0.08 < len(kept) / len(ids) < 0.12
    assert kept == [uid for uid in ids if in_subset(uid, 0.1)]
    assert set(kept) <= {uid for uid in ids if in_subset(uid, 0.5)}


def test_mask_analysis_tool(routed_run, tmp_path, capsys):
    spec = importlib.util.spec_from_file_location(
        "mask_analysis", REPO_ROOT / "tools" / "mask_analysis.py")
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    other = tmp_path / "copy"  # the same masks under another name
    other.symlink_to(routed_run, target_is_directory=True)
    report = tool.main([str(routed_run), str(other), "--out",
                        str(tmp_path / "out")])
    same = report["comparisons"]["run vs copy"]
    assert same["cosine"] == pytest.approx(1.0)
    assert same["iou_removed"] == pytest.approx(1.0)
    # The scores started as magnitude pruning (weight_rank) and learned
    # after the frozen start: some dropped weights came back.
    magnitude = report["comparisons"]["run vs magnitude"]
    assert 0.0 < magnitude["iou_removed"] < 1.0
    assert report["bits_finetuned_copy"] == 32 * report["bits_per_task"]
    assert "IoU of removed weights" in capsys.readouterr().out
    assert (tmp_path / "out" / "mask_analysis.png").is_file()


def _tool(path, name):
    """Loads a benchmark or tool script as a module."""
    spec = importlib.util.spec_from_file_location(name, REPO_ROOT / path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_benchmark_curve_domains_and_pruning(teacher, tiny_corpora, tmp_path,
                                             capsys):
    """benchmarks/s3router.py on the tiny corpus: weight against mask
    fine-tuning at two sparsities, Common Voice masks over the same frozen
    model, then (a second call that reuses those runs) pruning of the
    weight-fine-tuned run against one-shot magnitude pruning, and weight
    fine-tuning under the pruned masks."""
    bench = _tool("benchmarks/s3router.py", "s3router_bench")
    out = tmp_path / "bench"
    args = ["--teacher-folder", str(teacher), "--sparsities", "0.2", "0.5",
            "--subset", "0.5", "--epochs", "2", "--domains",
            "--domain-sparsity", "0.2", "--out", str(out),
            "--data-folder", str(tiny_corpora["librispeech"]),
            "--cv-data-folder", str(tiny_corpora["commonvoice"]),
            "--lm-text", str(tiny_corpora["librispeech-lm"] / "librispeech-lm-norm.txt"),
            *[f"--override={o}" for o in (*TEACHER, *CTC)]]
    summary = bench.main(args)
    runs = summary["runs"]
    assert set(runs) == {"weights", "masks_0.2", "masks_0.5",
                         "commonvoice_masks"}
    steps = {run["steps"] for name, run in runs.items()
             if name != "commonvoice_masks"}
    assert len(steps) == 1 and steps.pop() > 0  # equal optimiser steps
    assert summary["storage"]["mask_bits_per_routed_weight"] == 1.0
    domains = summary["domains"]
    assert set(domains["WER"]) == {"librispeech", "commonvoice"}
    assert 0.0 < domains["cosine"] <= 1.0
    report = capsys.readouterr().out
    assert "masks, sparsity 0.5" in report and "Domains over one" in report
    # Pruning: the first call's runs are reused, only the pruning trains.
    mtime = (out / "runs" / "weights" / "results.json").stat().st_mtime
    summary = bench.main([*args, "--prune-from",
                          str(out / "runs" / "weights"),
                          "--prune-sparsity", "0.6",
                          "--prune-weight-epochs", "1"])
    assert (out / "runs" / "weights" / "results.json").stat().st_mtime \
        == mtime
    pruning = summary["pruning"]
    assert pruning["sparsity"] == 0.6
    assert pruning["s3router_weights_WER"] is not None
    # The weights moved under the pruning run's masks, which stayed fixed.
    ckpts = [best_checkpoint_file(str(out / "runs" / name))
             for name in ("prune_0.6", "prune_0.6_weights")]
    pruned, tuned = (torch.load(c) for c in ckpts)
    moved = [k for k in pruned if k.endswith("intermediate_dense.weight")
             and not torch.equal(pruned[k], tuned[k])]
    assert moved
    for key in pruned:
        if key.endswith("scores"):
            assert torch.equal(pruned[key], tuned[key]), key
    assert all(0 <= pruning[k] for k in ("omp_WER", "s3router_WER",
                                         "finetuned_WER"))
    assert (out / "s3router.png").stat().st_size > 5000
    assert "one-shot magnitude" in capsys.readouterr().out
    assert doctest.testmod(bench).failed == 0
