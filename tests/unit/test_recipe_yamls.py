"""Every recipe YAML builds with its defaults, and the SummaryMixing
variants keep the baseline's parameter budget."""

from pathlib import Path

import pytest
from hyperpyyaml import load_hyperpyyaml

RECIPES = Path(__file__).resolve().parents[2] / "recipes" / "LibriSpeech" / \
    "ASR"
# recipe folder -> its self-attention baseline YAML
BASELINES = {"CTC": "conformer_ctc.yaml", "transformer": "conformer.yaml"}
YAMLS = sorted(
    f"{recipe}/{p.name}"
    for recipe in BASELINES
    for p in (RECIPES / recipe / "hparams").glob("*.yaml")
)


DISTILL = RECIPES.parent / "distill" / "hparams"


def teacher_folder(tmp_path_factory=None, _cache={}):
    """A folder with a ``teacher.ckpt`` of the built-in teacher's default
    architecture (random weights): what the routed and SSL fine-tuning
    YAMLs load when built."""
    if "folder" not in _cache:
        import tempfile

        import torch

        folder = Path(tempfile.mkdtemp(prefix="teacher_"))
        with open(DISTILL / "hubert_teacher.yaml", encoding="utf-8") as f:
            teacher = load_hyperpyyaml(
                f, {"output_folder": str(folder / "run")})["teacher"]
        torch.save(teacher.state_dict(), folder / "teacher.ckpt")
        _cache["folder"] = folder
    return _cache["folder"]


def finetuned_run(_cache={}):
    """A run folder of ``ssl_ctc.yaml`` (its ``hyperparams.yaml`` and a
    best checkpoint of its model, random weights): what the pruning and
    the SSL early-exit YAMLs start from."""
    if "folder" not in _cache:
        import tempfile

        from speechbrain.utils.checkpoints import Checkpointer

        from speechbrain_ee.analysis.experiment import replace_keys

        folder = Path(tempfile.mkdtemp(prefix="finetuned_"))
        text = replace_keys(
            (RECIPES / "CTC" / "hparams" / "ssl_ctc.yaml").read_text(encoding="utf-8"),
            {"output_folder": str(folder), "teacher_folder": str(teacher_folder())})
        (folder / "hyperparams.yaml").write_text(text, encoding="utf-8")
        hparams = load_hyperpyyaml(text)
        Checkpointer(folder / "save", {"model": hparams["model"],
                                       "normalizer": hparams["normalize"]}
                     ).save_checkpoint(meta={"WER": 50.0})
        _cache["folder"] = folder
    return _cache["folder"]


def load(name):
    recipe, yaml = name.split("/")
    path = RECIPES / recipe / "hparams" / yaml
    text = path.read_text(encoding="utf-8")
    overrides = {}
    if "finetuned_run:" in text:  # loads a fine-tuned run when built
        overrides["finetuned_run"] = str(finetuned_run())
    elif "RoutedEncoder" in text or "ssl_checkpoint:" in text:
        # loads the teacher's weights when built
        overrides["teacher_folder"] = str(teacher_folder())
    return load_hyperpyyaml(text, overrides)


def encoder_parameters(name, hparams=None):
    """Parameters of the encoder stack (of an ASREncoder: without its front
    end; another encoder, e.g. a distilled student: all of it)."""
    encoder = (hparams or load(name))["encoder"]
    stack = getattr(encoder, "encoder", encoder)
    return sum(p.numel() for p in stack.parameters())


def test_every_recipe_folder_has_yamls():
    for recipe in BASELINES:
        assert any(name.startswith(f"{recipe}/") for name in YAMLS), recipe


@pytest.mark.parametrize("name", YAMLS)
def test_yaml_builds_with_defaults(name):
    """Every YAML builds; its checkpoints hold the random states, so that a
    resumed run continues as an uninterrupted one: torch's generators
    (dropout, noise) and Python's (SpeechBrain's augmentation choices)."""
    from speechbrain.utils.repro import SaveableGenerator

    from speechbrain_ee.training import PythonRandomState

    hparams = load(name)
    assert encoder_parameters(name, hparams) > 0
    recoverables = hparams["checkpointer"].recoverables
    assert isinstance(recoverables.get("rng"), SaveableGenerator)
    assert isinstance(recoverables.get("python_rng"), PythonRandomState)


def self_attention_twin(name):
    """The YAML whose budget a SummaryMixing YAML keeps: its twin with
    ``conformer`` for ``summarymixing`` where there is one (the early-exit
    and blank-skip variants; the MHSA early-exit one for the composed
    model), else the recipe's baseline."""
    recipe, yaml = name.split("/")
    # the composed model's stack is the early-exit one's
    twin = yaml.replace("summarymixing_ee_blankskip", "conformer_early_exit")
    twin = twin.replace("summarymixing", "conformer")
    if (RECIPES / recipe / "hparams" / twin).is_file():
        return f"{recipe}/{twin}"
    return f"{recipe}/{BASELINES[recipe]}"


@pytest.mark.parametrize("name", [n for n in YAMLS if "summarymixing" in n])
def test_summary_mixing_matches_baseline_budget(name):
    baseline = encoder_parameters(self_attention_twin(name))
    assert abs(encoder_parameters(name) - baseline) / baseline < 0.01


@pytest.mark.parametrize("name", [n for n in YAMLS if n.startswith("CTC/")])
def test_ctc_yaml_builds_one_model_of_the_contract(name):
    """Every CTC YAML's ``ctc_model`` is what the recipe trains, checkpoints
    and the inference class loads."""
    hparams = load(name)
    model = hparams["ctc_model"]
    assert hparams["modules"]["ctc_model"] is model
    assert len(model.loss_weights) == len(model.head_layers) >= 1
    saved = {id(p) for p in hparams["model"].parameters()}
    assert all(id(p) in saved for p in model.parameters())


@pytest.mark.parametrize(
    "name", [n for n in YAMLS if n.startswith("transformer/")])
def test_joint_yaml_wires_encoder_decoder(name):
    """The searchers decode with the model that trains, the CTC scorer uses
    the CTC head, and bos, eos and blank differ."""
    hparams = load(name)
    model = hparams["encoder_decoder"]
    assert model.encoder is hparams["encoder"]
    for search in ("valid_search", "test_search"):
        assert hparams[search].model is model
        assert hparams[search].fc is hparams["seq_lin"]
    assert hparams["ctc_scorer"].ctc_fc is hparams["ctc_lin"]
    assert len({hparams["bos_index"], hparams["eos_index"],
                hparams["blank_index"]}) == 3


@pytest.mark.parametrize("kind", ["hubert", "wav2vec2"])
def test_ssl_ctc_fine_tunes_a_transformers_model_from_a_local_folder(tmp_path, kind):
    """``ssl_source``: a folder saved with ``save_pretrained`` (what a hub id
    downloads) is the encoder, weights and all; nothing is downloaded."""
    import torch
    import transformers

    config_class, model_class = {
        "hubert": (transformers.HubertConfig, transformers.HubertModel),
        "wav2vec2": (transformers.Wav2Vec2Config, transformers.Wav2Vec2Model),
    }[kind]
    torch.manual_seed(0)
    model = model_class(config_class(
        hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
        intermediate_size=64, conv_dim=[16] * 7, num_conv_pos_embeddings=8,
        num_conv_pos_embedding_groups=4, mask_time_prob=0.05))
    model.save_pretrained(tmp_path / kind)
    text = (RECIPES / "CTC" / "hparams" / "ssl_ctc.yaml").read_text(encoding="utf-8")
    hparams = load_hyperpyyaml(text, {
        "ssl_source": str(tmp_path / kind), "ssl_checkpoint": None,
        "teacher_hidden_size": 32, "output_folder": str(tmp_path / "run")})
    loaded = hparams["encoder"].model
    assert type(loaded).__name__ == model_class.__name__
    for name, value in model.state_dict().items():
        assert torch.equal(loaded.state_dict()[name], value), name
    out = hparams["ctc_model"](torch.randn(2, 16000), torch.tensor([1.0, 0.6]))
    assert out.output.shape[-1] == hparams["output_neurons"]


PUBLISHED = DISTILL.parent / "models" / "hubert_teacher"


def test_the_published_teacher_fits_the_recipes(tmp_path):
    """The published built-in HuBERT loads strictly into the pretraining
    YAML's model (its bfloat16 weights cast exactly), its units are of the
    YAML's number and width (stacked MFCC), and the SSL fine-tuning YAML builds on
    it: a change of the default architecture that would orphan it fails
    here."""
    import json

    import torch

    from speechbrain_ee.training import strict_transfer

    with open(DISTILL / "hubert_teacher.yaml", encoding="utf-8") as f:
        hparams = load_hyperpyyaml(f, {"output_folder": str(tmp_path)})
    saved = torch.load(PUBLISHED / "teacher.ckpt")
    strict_transfer(hparams["teacher"], PUBLISHED / "teacher.ckpt")
    loaded = hparams["teacher"].state_dict()
    assert all(torch.equal(loaded[k], v.float()) for k, v in saved.items())
    units = torch.load(PUBLISHED / f"kmeans_{hparams['num_units']}.pt")
    assert units.shape == (hparams["num_units"], 39 * hparams["mfcc_stack"])
    summary = json.loads((PUBLISHED / "pretraining.json").read_text())
    assert summary["steps"] > 0 and 0.01 < summary["dev_masked_acc"] < 1
    text = (RECIPES / "CTC" / "hparams" / "ssl_ctc.yaml").read_text(encoding="utf-8")
    load_hyperpyyaml(text, {"teacher_folder": str(PUBLISHED)})
