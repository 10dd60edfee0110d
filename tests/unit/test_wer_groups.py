"""WER by group (speechbrain_ee.analysis.wer_groups, tools/wer_by_group.py):
the per-utterance counts of a file SpeechBrain's ErrorRateStats wrote, the
groups of a Common Voice TSV and of the built-in conditions.tsv, the sums."""

import os
import sys

import pytest
from speechbrain.utils.metric_stats import ErrorRateStats

from speechbrain_ee.analysis.wer_groups import group_wer, read_wer_file, tsv_groups

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "tools"))
import wer_by_group  # noqa: E402

REFS = {"clip_a": "THE CAT SAT DOWN", "clip_b": "A DOG", "clip_c": "RED BLUE GREEN"}
HYPS = {"clip_a": "THE CAT SAT DOWN", "clip_b": "A FOG", "clip_c": "RED"}


@pytest.fixture
def run(tmp_path):
    stats = ErrorRateStats()
    ids = sorted(REFS)
    stats.append(ids, [HYPS[i].split() for i in ids], [REFS[i].split() for i in ids])
    with open(tmp_path / "wer_cv-test_greedy.txt", "w", encoding="utf-8") as f:
        stats.write_stats(f)
    tsv = tmp_path / "test.tsv"
    tsv.write_text("client_id\tpath\tsentence\taccents\n"
                   "s1\tclip_a.mp3\tThe cat sat down.\tScottish English\n"
                   "s2\tclip_b.mp3\tA dog.\t\n"
                   "s1\tclip_c.mp3\tRed, blue, green.\tScottish English\n", encoding="utf-8")
    return tmp_path


def test_counts_from_speechbrain_file(run):
    assert read_wer_file(run / "wer_cv-test_greedy.txt") == {
        "clip_a": (0, 4), "clip_b": (1, 2), "clip_c": (2, 3)}


def test_groups_of_a_common_voice_tsv_sum_per_label(run):
    groups = tsv_groups(run / "test.tsv", ["accents", "client_id"])
    assert groups["clip_b"] == ["accents: (none)", "client_id: s2"]
    wer = group_wer(read_wer_file(run / "wer_cv-test_greedy.txt"), groups)
    assert wer["all"] == {"WER": round(100 * 3 / 9, 2), "words": 9, "utterances": 3}
    assert wer["accents: Scottish English"] == {"WER": round(100 * 2 / 7, 2), "words": 7,
                                                "utterances": 2}
    assert wer["client_id: s2"]["WER"] == 50.0


def test_conditions_of_the_built_in_set(tmp_path):
    tsv = tmp_path / "conditions.tsv"
    tsv.write_text("path\tsplit\tvoice\tcondition\n"
                   "x.mp3\ttest\tespeak-ng:en-029+f1:p46:r0.83\trt60=0.3s noise=pink@12dB gain=-4dB\n"
                   "y.mp3\ttest\tflite:awb:p123:r0.95\tgain=-14dB\n", encoding="utf-8")
    groups = tsv_groups(tsv, ["voice", "condition"])
    assert groups == {
        "x": ["voice: espeak-ng:en-029+f1", "condition: perturbed", "condition: reverb",
              "condition: noise"],
        "y": ["voice: flite:awb", "condition: clean"]}


def test_bad_inputs_name_the_file(run, tmp_path):
    with pytest.raises(ValueError, match="no column accent;"):
        tsv_groups(run / "test.tsv", ["accent"])
    other = tmp_path / "other.txt"
    other.write_text("nothing here\n", encoding="utf-8")
    with pytest.raises(ValueError, match="other.txt: no per-utterance lines"):
        read_wer_file(other)


def test_tool_prints_table_and_refuses_missing_decoding(run, capsys):
    out = run / "table.md"
    assert wer_by_group.main([str(run), "--tsv", str(run / "test.tsv"), "--columns",
                              "accents", "--decodings", "greedy", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "| accents: Scottish English | 28.57 | 7 | 2 |" in printed
    assert out.read_text(encoding="utf-8") == printed
    assert wer_by_group.main([str(run), "--tsv", str(run / "test.tsv"), "--columns",
                              "accents"]) == 2
    assert "wer_cv-test_lexicon.txt not found" in capsys.readouterr().err
