"""The SSL analysis: unit quality against characters, the linear probe."""

import math

import torch

from speechbrain_ee.analysis.ssl_probe import (
    fit_linear_probe,
    probe_cer,
    resample_labels,
    spike_fill,
    unit_quality,
)


def test_unit_quality_against_a_hand_computation():
    units = torch.tensor([0, 0, 0, 1, 1, 2, 2, 2])
    chars = torch.tensor([5, 5, 6, 6, 6, 7, 7, -1])  # the last frame is unaligned
    q = unit_quality(units, chars, num_units=3)
    assert q["frames"] == 7
    assert q["unit_purity"] == (2 + 2 + 2) / 7  # each unit's commonest character
    assert q["char_purity"] == (2 + 2 + 2) / 7  # each character's commonest unit
    p = {(0, 5): 2 / 7, (0, 6): 1 / 7, (1, 6): 2 / 7, (2, 7): 2 / 7}
    pu = {0: 3 / 7, 1: 2 / 7, 2: 2 / 7}
    pc = {5: 2 / 7, 6: 3 / 7, 7: 2 / 7}
    mi = sum(v * math.log(v / (pu[u] * pc[c])) for (u, c), v in p.items())
    h = -sum(v * math.log(v) for v in pc.values())
    assert abs(q["pnmi"] - mi / h) < 1e-9


def test_independent_units_carry_no_information():
    units = torch.tensor([0, 1, 0, 1])
    chars = torch.tensor([3, 3, 4, 4])
    assert abs(unit_quality(units, chars)["pnmi"]) < 1e-12


def test_spike_fill_and_resampling_keep_the_order_of_characters():
    labels = spike_fill(torch.tensor([0, 0, 3, 0, 4, 4, 0, 5]))
    assert labels.tolist() == [-1, -1, 3, 3, 4, 4, 4, 5]
    assert resample_labels(labels, 4).tolist() == [-1, 3, 4, 4]


def test_linear_probe_reads_characters_that_are_linear_in_the_features():
    torch.manual_seed(0)
    states, tokens = [], []
    for _ in range(40):  # each character held for 3 frames, blank between words
        chars = torch.randint(1, 6, (6,))
        frames = torch.cat([torch.tensor([c, c, c, 0]) for c in chars.tolist()])
        states.append(torch.nn.functional.one_hot(frames, 6).float()
                      + 0.05 * torch.randn(len(frames), 6))
        tokens.append(chars)
    probe = fit_linear_probe(states[:30], tokens[:30], vocab=6, steps=300, lr=0.05)
    decode = lambda ids: "".join("abcdef"[i] for i in ids)  # noqa: E731
    assert probe_cer(probe, states[30:], tokens[30:], decode) < 5.0
    untrained = torch.nn.Linear(6, 6)
    assert probe_cer(untrained, states[30:], tokens[30:], decode) > 50.0
