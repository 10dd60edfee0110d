"""Exports of untrained (random) tiny runs of every kind of recipe YAML load
in stock SpeechBrain unchanged: ``EncoderASR`` gives our model's exact
log-probabilities and transcripts for the CTC YAMLs (plain, early exits,
blank skip and both, the SSL teacher fine-tuned, both deep-thin students,
DistilHuBERT, a routed model), and ``EncoderDecoderASR`` the joint
CTC+attention recipe's beam search hypotheses; ``EfficientEncoderASR``
still reads the exit and skip options from the same folder; an SSL export
names no file of the training machine. No training: the runs are built from
their YAMLs (random weights) and saved as the recipes save them."""

import csv
import math

import pytest
import soundfile as sf
import torch
from hyperpyyaml import load_hyperpyyaml, resolve_references
from ruamel.yaml import YAML

from speechbrain_ee.dataio.tokenizer import tokenizer_from_hparams
from speechbrain_ee.inference.export import export_run, machine_paths
from speechbrain_ee.inference.transcribe import load_model
from tests.integration.round_trip import (
    check_stock,
    check_stock_joint,
    joint_recipe_outputs,
    recipe_log_probs,
)
from tests.integration.recipe_runs import RECIPES
from tests.unit.distill_runs import TEACHER

TINY = {"d_model": 32, "d_ffn": 64, "nhead": 4, "num_encoder_layers": 2}
STUDENT = {**TEACHER, "student_hidden_size": 16, "student_layers": 3,
           "student_heads": 2, "student_ffn_size": 16,
           "layer_map": [[1, 1], [2, 2], [3, 3]]}
SENTENCES = ["THE CAT SAT ON THE MAT", "A QUICK BROWN FOX JUMPS OVER",
             "THE LAZY DOG'S BONE", "HELLO WORLD AND ALL", "VERY ZESTY QUIZ"]
RUNS = {  # name -> (YAML, overrides, stack depth)
    "ctc": ("conformer_ctc.yaml", TINY, 2),
    "early_exit": ("conformer_early_exit_ctc.yaml",
                   {**TINY, "num_encoder_layers": 3, "exit_layers": [1, 2, 3]}, 3),
    "composed": ("summarymixing_ee_blankskip_ctc.yaml",
                 {**TINY, "num_encoder_layers": 3, "skip_layer": 1,
                  "exit_layers": [2, 3], "skip_threshold": 0.4}, 3),
    "ssl": ("ssl_ctc.yaml", TEACHER, 2),
    "student": ("distilled_student_ctc.yaml", STUDENT, 3),
    "student_fbank": ("distilled_student_fbank_ctc.yaml", STUDENT, 3),
    "distilhubert": ("distilhubert_ctc.yaml",
                     {**TEACHER, "student_layers": 3, "predicted_layers": [1, 2]}, 3),
    "routed": ("s3router_ctc.yaml", {**TEACHER, "sparsity": 0.2}, 2),
}


def audio(folder):
    """Two utterances (a chirp and noise, 1.0 s and 0.7 s) as a padded
    batch, and the first one as a file."""
    torch.manual_seed(0)
    t = torch.arange(16000) / 16000
    first = 0.3 * torch.sin(2 * math.pi * (200 + 400 * t) * t)
    second = 0.1 * torch.randn(11200)
    wavs = torch.zeros(2, 16000)
    wavs[0], wavs[1, :11200] = first, second
    path = folder / "example.wav"
    sf.write(path, first.numpy(), 16000)
    return wavs, torch.tensor([1.0, 0.7]), path


def make_run(folder, recipe, hparams_file, overrides, checkpoints=1):
    """A run folder as the recipe writes it (resolved ``hyperparams.yaml``,
    tokenizer, checkpoints with every recoverable), the model untrained;
    ``checkpoints`` of them (the model changed between them)."""
    folder.mkdir(parents=True)
    overrides = {"output_folder": str(folder), "data_folder": str(folder / "data"),
                 "cv_data_folder": None, "lm_text": None, **overrides}
    with open(RECIPES / recipe / "hparams" / hparams_file, encoding="utf-8") as f:
        text = resolve_references(f, overrides).getvalue()
    (folder / "hyperparams.yaml").write_text(text, encoding="utf-8")
    hparams = load_hyperpyyaml(text)
    (folder / "save").mkdir(exist_ok=True)
    with open(hparams["train_csv"], "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(["ID", "duration", "wav", "spk_id", "wrd"])
        for i, words in enumerate(SENTENCES * 4):
            writer.writerow([f"u{i}", 1.0, "x.flac", "s", words])
    tokenizer_from_hparams(hparams)
    torch.manual_seed(1)
    normalize = hparams["normalize"].train()
    if hasattr(normalize, "glob_mean"):  # global statistics, as after training
        feats = hparams["compute_features"](torch.randn(2, 16000))
        normalize(feats, torch.ones(2), epoch=0)
    for i in range(checkpoints):
        if i:
            with torch.no_grad():
                for p in hparams["model"].parameters():
                    p.add_(0.01 * torch.randn_like(p))
        hparams["checkpointer"].save_checkpoint(meta={"WER": 50.0 + i, "ACC": 0.5 - i / 10})
    return folder


@pytest.fixture(scope="module")
def teacher_ckpt(tmp_path_factory):
    """A random built-in teacher's weights (the SSL YAMLs load them when
    they build the model)."""
    folder = tmp_path_factory.mktemp("teacher")
    text = (RECIPES / "CTC" / "hparams" / "ssl_ctc.yaml").read_text()
    hparams = load_hyperpyyaml(text, {**TEACHER, "ssl_checkpoint": None,
                                      "output_folder": str(folder / "x")})
    torch.save(hparams["encoder"].state_dict(), folder / "teacher.ckpt")
    return folder


@pytest.mark.parametrize("name", sorted(RUNS))
def test_stock_encoder_asr_matches_ours(name, teacher_ckpt, tmp_path):
    hparams_file, overrides, depth = RUNS[name]
    if name in ("ssl", "routed"):
        overrides = {**overrides, "teacher_folder": str(teacher_ckpt)}
    run = make_run(tmp_path / "run", "CTC", hparams_file, overrides)
    wavs, wav_lens, example = audio(tmp_path)
    export = tmp_path / "export"
    export_run(run, export, example=example, check=name == "ssl")
    text = (export / "hyperparams.yaml").read_text()
    assert str(teacher_ckpt) not in text and str(run) not in text
    expected, texts = recipe_log_probs(run, wavs, wav_lens)
    asr = load_model(str(export), savedir=str(tmp_path / "s"))
    with torch.no_grad():
        ours = asr.encode_batch(wavs, wav_lens).output
    # equal up to float rounding: on CPUs without AVX-512 the two code paths
    # differ by up to 1e-6
    assert torch.allclose(ours, expected, atol=1e-5, rtol=0), \
        float((ours - expected).abs().max())
    assert [r.text for r in asr.transcribe_batch(wavs, wav_lens)] == texts
    assert asr.num_layers == depth
    check_stock(export, wavs, wav_lens, expected, texts, tmp_path / "stock")


def test_our_class_keeps_the_exit_and_skip_options(teacher_ckpt, tmp_path):
    """The composed model's export: EfficientEncoderASR reads its default
    strategy and skip threshold and takes others per call; stock
    EncoderASR gets the defaults' output."""
    hparams_file, overrides, _ = RUNS["composed"]
    run = make_run(tmp_path / "run", "CTC", hparams_file, overrides)
    wavs, wav_lens, example = audio(tmp_path)
    export_run(run, tmp_path / "export", example=example, check=False)
    asr = load_model(str(tmp_path / "export"), savedir=str(tmp_path / "s"))
    options = asr.options()
    assert options["skip_threshold"] == 0.4 and "exit_strategy" in options
    first = asr.transcribe_batch(wavs, wav_lens, exit_strategy="fixed", threshold=2)
    assert [r.exit_layer for r in first] == [2, 2]
    none_skipped = asr.transcribe_batch(wavs, wav_lens, skip_threshold=1.0)
    assert all(r.skipped_share == 0.0 for r in none_skipped)


def test_stock_encoder_decoder_asr_matches_the_joint_recipe(tmp_path):
    """A joint CTC+attention run (two kept checkpoints, averaged as the
    recipe tests): stock EncoderDecoderASR gives the recipe's encoder
    output and beam search hypotheses."""
    run = make_run(tmp_path / "run", "transformer", "conformer.yaml",
                   {**TINY, "num_decoder_layers": 1, "output_neurons": 40,
                    "test_beam_size": 3, "max_decode_ratio": 0.5},
                   checkpoints=2)
    wavs, wav_lens, example = audio(tmp_path)
    manifest = export_run(run, tmp_path / "export", example=example)
    assert len(manifest["averaged"]) == 2
    encoded, texts = joint_recipe_outputs(run, wavs, wav_lens)
    check_stock_joint(tmp_path / "export", wavs, wav_lens, encoded, texts, tmp_path / "s")
    card = (tmp_path / "export" / "README.md").read_text()
    assert "EncoderDecoderASR.from_hparams" in card
    with pytest.raises(ValueError, match="loads with speechbrain.inference.ASR."
                       "EncoderDecoderASR, not speechbrain_ee"):
        load_model(str(tmp_path / "export"), savedir=str(tmp_path / "ours"))


def test_a_model_naming_a_file_of_this_machine_is_refused(teacher_ckpt, tmp_path):
    """A path the export does not know to drop (here a teacher folder under
    a key of its own) is an error naming it, not an export that loads only
    here."""
    assert machine_paths({"x": {"source": str(teacher_ckpt)}}) == [
        ("x.source", str(teacher_ckpt))]
    run = make_run(tmp_path / "run", "CTC", "ssl_ctc.yaml",
                   {**TEACHER, "teacher_folder": str(teacher_ckpt)})
    tree = YAML().load((run / "hyperparams.yaml").read_text())
    tree["encoder"]["note"] = str(teacher_ckpt)  # the node ctc_model's encoder is
    with open(run / "hyperparams.yaml", "w") as f:
        YAML().dump(tree, f)
    with pytest.raises(ValueError, match="names files of this machine.*encoder.note"):
        export_run(run, tmp_path / "export", check=False)


def test_a_transformers_model_of_a_local_folder_travels_in_the_export(tmp_path):
    """ssl_ctc.yaml on a transformers HuBERT saved in a local folder: the
    export builds it from its configuration (inline) and model.ckpt holds
    its weights, so it loads and gives the same output once the folder is
    gone."""
    import shutil

    from speechbrain_ee.distill.hubert import build_hubert, hubert_config

    source = tmp_path / "my-hubert"
    build_hubert(hubert_config(
        hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
        intermediate_size=64, conv_dim=32, conv_kernel=[20, 4, 4, 2],
        conv_stride=[10, 4, 4, 2], mask_time_prob=0.65)).save_pretrained(source)
    run = make_run(tmp_path / "run", "CTC", "ssl_ctc.yaml",
                   {**TEACHER, "ssl_source": str(source), "ssl_checkpoint": None})
    wavs, wav_lens, example = audio(tmp_path)
    expected, texts = recipe_log_probs(run, wavs, wav_lens)
    export_run(run, tmp_path / "export", example=example, check=False)
    text = (tmp_path / "export" / "hyperparams.yaml").read_text()
    assert str(source) not in text and "AutoModel.from_config" in text
    shutil.rmtree(source)
    asr = load_model(str(tmp_path / "export"), savedir=str(tmp_path / "s"))
    with torch.no_grad():
        assert torch.allclose(asr.encode_batch(wavs, wav_lens).output, expected,
                              atol=1e-5, rtol=0)
    assert asr.num_layers == 2
    check_stock(tmp_path / "export", wavs, wav_lens, expected, texts, tmp_path / "stock")


def test_an_export_of_the_earlier_layout_still_loads(teacher_ckpt, tmp_path):
    """An export made before the stock layout (module ``encoder`` = the
    model of the contract, no ``ctc_model``) loads in EfficientEncoderASR
    with the same output."""
    hparams_file, overrides, depth = RUNS["early_exit"]
    run = make_run(tmp_path / "run", "CTC", hparams_file, overrides)
    wavs, wav_lens, example = audio(tmp_path)
    export = tmp_path / "export"
    export_run(run, export, example=example, check=False)
    text = (export / "hyperparams.yaml").read_text()
    start = text.index("\nmodules:\n") + 1
    end = text.index("\npretrainer:") + 1
    old = text[:start] + ("modules:\n    encoder: !ref <ctc_model>\n"
                          "    normalize: !ref <normalize>\n\n") + text[end:]
    (export / "hyperparams.yaml").write_text(old)
    (export / "export.json").unlink()  # a hand-edited folder: loads as it is
    asr = load_model(str(export), savedir=str(tmp_path / "s"))
    assert asr.model is asr.mods.encoder and asr.num_layers == depth
    expected, texts = recipe_log_probs(run, wavs, wav_lens)
    with torch.no_grad():
        assert torch.allclose(asr.encode_batch(wavs, wav_lens).output, expected,
                              atol=1e-5, rtol=0)
