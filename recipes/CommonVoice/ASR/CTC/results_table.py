"""Prints the README's results tables from what measure.sh wrote in results/cv_recipe."""
import json
import re
from pathlib import Path

OUT = Path("results/cv_recipe")  # what measure.sh wrote (run from the repository root)
RUNS = Path("results/leaderboard/runs")


def in_domain(run):
    for line in (RUNS / run / "train_log.txt").read_text().splitlines():
        if line.startswith("test set: test-clean"):
            return float(re.search(r"test WER: ([\d.e+]+)", line).group(1))


def stats(folder, name):
    path = OUT / folder / "results.json"
    return json.loads(path.read_text())[name] if path.is_file() else None


def logged(run):
    for line in (RUNS / run / "train_log.txt").read_text().splitlines():
        if line.startswith("test set: cv-test"):
            return float(re.search(r"test WER: ([\d.e+]+)", line).group(1))


print("| run | WER test-clean (in-domain) | WER cv-test (OOD, this recipe) | "
      "(LibriSpeech recipe's cv-test) | CER cv-test | WER real clips | CER real clips |")
print("|---|---|---|---|---|---|---|")
runs = sorted(p.name for p in RUNS.iterdir() if (p / "train_log.txt").is_file())
for run in runs:
    ood, real = stats(f"ood/{run}", "cv-test"), stats(f"real/{run}", "real")
    f = lambda s, k: f"{s[k]:.2f}" if s else "-"
    print(f"| {run} | {in_domain(run):.2f} | {f(ood, 'WER')} | {logged(run):.2f} | "
          f"{f(ood, 'CER')} | {f(real, 'WER')} | {f(real, 'CER')} |")
print()
for own_dir in sorted((OUT / "own").glob("*")):
    run = own_dir.name
    own = stats(f"own/{run}", "cv-test")
    if own:
        print(f"own setting {run}: WER {own['WER']:.2f} layers {own['avg_layers']:.2f} "
              f"skipped {100 * own['skipped_share']:.1f}%")
print("| adaptation | WER cv-test | CER cv-test | trained |")
print("|---|---|---|---|")
for name, folder in [("weights (finetune_ctc.yaml)", "finetune/conformer_ctc"),
                     ("S3-Router masks + head (finetune_s3router.yaml)",
                      "finetune_s3router/conformer_ctc"),
                     ("head alone (--routing_sparsity 0.0)",
                      "finetune_s3router/conformer_ctc_heads_only")]:
    ft = OUT / folder / "results.json"
    if not ft.is_file():
        continue
    r = json.loads(ft.read_text())
    b, a = r["cv-test-before"], r.get("cv-test-after")
    if name.startswith("weights"):
        print(f"| before (the LibriSpeech run) | {b['WER']:.2f} | {b['CER']:.2f} | |")
    if a is None:
        continue
    routed = (f"; {int(a['routed_weights']):,} routed weights, mask "
              f"{a['mask_bytes'] / 1024:.0f} KiB" if a.get("sparsity") else "")
    print(f"| {name} | {a['WER']:.2f} | {a['CER']:.2f} | "
          f"{int(a['train_utterances'])} utterances, {a['train_hours']:.3f} h{routed} |")
