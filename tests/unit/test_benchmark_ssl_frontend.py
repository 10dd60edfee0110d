"""benchmarks/ssl_frontend.py on a short input: every CNN timed side by
side (no timing is asserted: the benchmark reports it), the CPU CNN the
smallest."""

import importlib.util
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "ssl_frontend.py"


def test_times_each_cnn_against_the_first(capsys):
    spec = importlib.util.spec_from_file_location("ssl_frontend", SCRIPT)
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    rows = bench.main(["--seconds", "1", "--batch", "1", "--repeats", "1",
                       "--cnns", "previous_7x256", "cpu_4x128"])
    assert rows["cpu_4x128"]["cnn_params"] * 4 < rows["previous_7x256"]["cnn_params"]
    assert set(rows["cpu_4x128"]) >= {"step_s", "cnn_s", "cnn_share", "speedup"}
    assert rows["previous_7x256"]["speedup"] == 1.0
    assert "cpu_4x128" in capsys.readouterr().out
