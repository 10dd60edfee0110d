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
ft = OUT / "finetune/conformer_ctc/results.json"
if ft.is_file():
    r = json.loads(ft.read_text())
    b, a = r["cv-test-before"], r.get("cv-test-after")
    print(f"finetune: before {b['WER']:.2f}/{b['CER']:.2f} after "
          f"{a['WER'] if a else '-'}/{a['CER'] if a else '-'} on {b['train_utterances']} "
          f"utts {b['train_hours']:.3f} h")
