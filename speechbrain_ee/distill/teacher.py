"""The frozen SSL teacher of distillation.

`SSLTeacher` wraps a ``transformers`` HuBERT or wav2vec2 model: a real
checkpoint from a hub id or a local folder (`load_ssl_model`), or the small
HuBERT the project pretrains on the built-in corpus (`build_hubert` plus
the pretraining recipe's checkpoint). It never trains: no parameter needs
gradients and it stays in eval mode. It returns every hidden state and,
with a `CodewordHead` (a HuBERT pretraining head, e.g. read from a fairseq
checkpoint by `codeword_head_from_fairseq`), the logits over the teacher's
codewords that the discriminative loss needs.

Authors
-------
* speechbrain-ee contributors 2026
"""

from dataclasses import dataclass
from typing import List, Optional

import torch
from torch import nn

from speechbrain_ee.distill.hubert import (
    CodewordHead,
    encoder_hidden_states,
    waveform_features,
)


@dataclass
class TeacherOutput:
    """What `SSLTeacher` returns."""

    hidden_states: List[torch.Tensor]
    """``[input of layer 1, layer 1, ..., layer L]``, each
    ``[batch, frames, hidden]``."""
    frame_mask: torch.Tensor
    """``[batch, frames]`` True on real frames."""
    codeword_logits: Optional[torch.Tensor] = None
    """``[batch, frames, K]`` (with a codeword head)."""


class SSLTeacher(nn.Module):
    """A frozen HuBERT/wav2vec2 teacher.

    Arguments
    ---------
    model : transformers.HubertModel or transformers.Wav2Vec2Model
        The SSL model.
    codeword_head : CodewordHead, optional
        Its pretraining head (HuBERT); needed by the discriminative loss.

    Example
    -------
    >>> from speechbrain_ee.distill.hubert import build_hubert
    >>> model = build_hubert(hidden_size=32, num_hidden_layers=2,
    ...                      num_attention_heads=4, intermediate_size=64,
    ...                      conv_dim=16, num_conv_pos_embeddings=8,
    ...                      num_conv_pos_embedding_groups=4)
    >>> teacher = SSLTeacher(model, CodewordHead(32, 16, 10))
    >>> out = teacher(torch.randn(2, 16000), torch.tensor([1.0, 0.5]))
    >>> len(out.hidden_states), out.codeword_logits.shape
    (3, torch.Size([2, 49, 10]))
    """

    def __init__(self, model, codeword_head=None):
        super().__init__()
        self.model = model
        self.codeword_head = codeword_head
        self.freeze()

    def freeze(self):
        """No gradients, eval mode (also after a checkpoint load)."""
        for param in self.parameters():
            param.requires_grad_(False)
        return super().train(False)

    def train(self, mode=True):
        """Stays in eval mode: a teacher is never trained."""
        return super().train(False)

    @property
    def hidden_size(self):
        """Width of the hidden states."""
        return self.model.config.hidden_size

    @property
    def num_layers(self):
        """Transformer layers."""
        return len(self.model.encoder.layers)

    @torch.no_grad()
    def forward(self, wavs, wav_lens):
        """Every hidden state (and the codeword logits).

        Arguments
        ---------
        wavs : torch.Tensor
            ``[batch, samples]`` at 16 kHz.
        wav_lens : torch.Tensor
            Relative lengths.

        Returns
        -------
        TeacherOutput
        """
        features, frame_mask = waveform_features(self.model, wavs, wav_lens)
        states = encoder_hidden_states(self.model.encoder, features,
                                       frame_mask)
        logits = None
        if self.codeword_head is not None:
            logits = self.codeword_head(states[-1])
        return TeacherOutput(states, frame_mask, logits)


def load_ssl_model(source, cache_dir=None):
    """A HuBERT or wav2vec2 model from a hub id or a local folder
    (``transformers``' ``from_pretrained``; a hub id needs the network).

    Arguments
    ---------
    source : str
        ``facebook/hubert-base-ls960``, or a folder with ``config.json``
        and the weights.
    cache_dir : str, optional
        Where downloads go.

    Returns
    -------
    transformers.PreTrainedModel
    """
    from transformers import AutoModel

    try:
        model = AutoModel.from_pretrained(source, cache_dir=cache_dir)
    except OSError as err:
        raise RuntimeError(
            f"cannot load the SSL model {source!r}: {err}. Give a local "
            "folder saved with save_pretrained, or a hub id with the "
            "network on.") from err
    if not hasattr(model, "feature_extractor") or not hasattr(
            model, "encoder"):
        raise ValueError(
            f"{source}: a {type(model).__name__}, not a HuBERT/wav2vec2 "
            "model (no feature_extractor/encoder).")
    return model


def ssl_model(source=None, config=None):
    """The SSL model of a fine-tuning YAML, switched by one key: a HuBERT
    or wav2vec2 checkpoint (``source``: hub id or local folder, with its
    weights) or the built-in architecture (``config``; its weights come
    from the encoder's ``checkpoint``, or none: training from scratch).

    Arguments
    ---------
    source : str, optional
        See `load_ssl_model`.
    config : transformers.HubertConfig, optional
        Used when ``source`` is None.

    Returns
    -------
    transformers.PreTrainedModel

    Example
    -------
    >>> from speechbrain_ee.distill.hubert import hubert_config
    >>> model = ssl_model(config=hubert_config(
    ...     hidden_size=32, num_hidden_layers=1, num_attention_heads=4,
    ...     intermediate_size=64, conv_dim=16))
    >>> type(model).__name__
    'HubertModel'
    """
    from speechbrain_ee.distill.hubert import build_hubert

    if source:
        return load_ssl_model(source)
    if config is None:
        raise ValueError("ssl_model: give a source (hub id or folder) or "
                         "the built-in model's config.")
    return build_hubert(config)


def build_teacher(source=None, config=None, codeword_head=None,
                  checkpoint=None, fairseq_head=None):
    """The teacher of a distillation YAML: a real SSL model or the built-in
    one, switched by one key.

    Arguments
    ---------
    source : str, optional
        A hub id or local folder of a HuBERT/wav2vec2 model
        (`load_ssl_model`); ``None``: the built-in teacher.
    config : transformers.HubertConfig, optional
        The built-in teacher's architecture (``source`` is None).
    codeword_head : CodewordHead, optional
        The built-in teacher's head (``source`` is None).
    checkpoint : str, optional
        The built-in teacher's weights (``teacher.ckpt`` of
        ``recipes/LibriSpeech/distill/pretrain_teacher.py``).
    fairseq_head : str, optional
        With ``source``: a fairseq HuBERT checkpoint to read the codeword
        head from (`codeword_head_from_fairseq`).

    Returns
    -------
    SSLTeacher
    """
    from speechbrain_ee.distill.hubert import build_hubert, load_weights

    if source is not None:
        head = codeword_head_from_fairseq(fairseq_head) if fairseq_head \
            else None
        return SSLTeacher(load_ssl_model(source), head)
    if config is None or checkpoint is None:
        raise ValueError(
            "the built-in teacher needs its config and checkpoint (the "
            "teacher.ckpt of recipes/LibriSpeech/distill/pretrain_teacher.py)"
            ", or give teacher_source: a HuBERT hub id or folder.")
    teacher = SSLTeacher(build_hubert(config), codeword_head)
    load_weights(teacher, checkpoint)
    return teacher.freeze()


def codeword_head_from_fairseq(path, logit_temperature=0.1):
    """HuBERT's pretraining head from a fairseq checkpoint (the ``.pt`` of
    the HuBERT release: ``final_proj`` and ``label_embs_concat``), which
    ``transformers`` checkpoints do not keep.

    Arguments
    ---------
    path : str
        The fairseq checkpoint.
    logit_temperature : float
        HuBERT's logit temperature.

    Returns
    -------
    CodewordHead
    """
    state = torch.load(path, map_location="cpu", weights_only=False)
    state = state.get("model", state)
    needed = ("final_proj.weight", "final_proj.bias", "label_embs_concat")
    missing = [k for k in needed if k not in state]
    if missing:
        raise ValueError(
            f"{path}: no HuBERT pretraining head ({missing} missing); give "
            "the fairseq HuBERT checkpoint, not a fine-tuned or "
            "transformers one.")
    weight = state["final_proj.weight"]
    head = CodewordHead(weight.shape[1], weight.shape[0],
                        state["label_embs_concat"].shape[0],
                        logit_temperature)
    head.final_proj.weight.data.copy_(weight)
    head.final_proj.bias.data.copy_(state["final_proj.bias"])
    head.label_embeddings.data.copy_(state["label_embs_concat"])
    return head
