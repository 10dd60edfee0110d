"""Integration: ``speechbrain-ee leaderboard`` on two tiny trained runs (the
blank-skip Conformer and the composed SummaryMixing model, at a setting
given on the command line) writes both rows, the CSV, the plot and the
README section."""

import csv

from speechbrain_ee.analysis.leaderboard import README_END, README_START
from speechbrain_ee.cli import main


def test_leaderboard_of_two_tiny_runs(blank_skip_run, composed_run, tmp_path, capsys):
    runs = tmp_path / "runs"
    runs.mkdir()
    (runs / "conformer_blankskip_ctc").symlink_to(blank_skip_run)
    (runs / "summarymixing_ee_blankskip_ctc").symlink_to(composed_run)
    readme = tmp_path / "README.md"
    readme.write_text(f"# Mine\n\nbefore\n{README_START}\nold table\n{README_END}\nafter\n")
    out = tmp_path / "board"
    status = main(["leaderboard", "--runs-dir", str(runs),
                   "--yamls", "conformer_blankskip_ctc", "summarymixing_ee_blankskip_ctc",
                   "--baseline", "conformer_blankskip_ctc", "--seconds", "3",
                   "--inputs", "2", "--repeats", "2", "--out", str(out),
                   "--overrides", "summarymixing_ee_blankskip_ctc={skip_threshold: 1.0, "
                   "exit_strategy: !new:speechbrain_ee.decoding.exit_strategies.FixedExit "
                   "{layer: 2}}",
                   "--readme", str(readme)])
    assert status == 0, capsys.readouterr().err
    rows = {r["run"]: r for r in csv.DictReader(open(out.with_suffix(".csv")))}
    assert set(rows) == {"conformer_blankskip_ctc", "summarymixing_ee_blankskip_ctc"}
    base, composed = rows["conformer_blankskip_ctc"], rows["summarymixing_ee_blankskip_ctc"]
    assert float(base["speedup"]) == 1.0  # the baseline against itself, round by round
    # the overrides' setting: every utterance stops at layer 2, nothing skipped
    assert float(composed["avg_layers"]) == 2.0 and float(composed["skipped_share"]) == 0.0
    for row in rows.values():
        for key in ("WER_test-clean", "WER_cv-test", "rtf", "peak_memory_MB",
                    "parameters_M"):
            assert float(row[key]) > 0, (row["run"], key)
    assert out.with_suffix(".png").stat().st_size > 1000
    table = out.with_suffix(".md").read_text()
    assert "summarymixing_ee_blankskip_ctc" in table and "speed-up vs conformer_blankskip_ctc" in table
    text = readme.read_text()
    assert text.startswith("# Mine\n\nbefore\n") and text.endswith(f"{README_END}\nafter\n")
    assert "old table" not in text and "summarymixing_ee_blankskip_ctc" in text
