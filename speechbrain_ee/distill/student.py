"""Distillation students (spec ``distillation.md``).

A `DistillStudent` is a front end, a HuBERT-style Transformer encoder and
prediction heads:

- front end: `WaveformFrontEnd` (the teacher's kind of waveform CNN and
  projection, gradient scaled by 0.1) or `FbankFrontEnd` (normalised Fbank
  at 10 ms, a strided GLU convolution to the teacher's frame rate (40 ms
  for the built-in teacher), a linear layer and dropout);
- heads: `SharedPredictionHead` (DistilHuBERT, shallow & wide: the last
  student layer predicts several teacher layers through
  ``Linear -> GELU -> split``) or `LayerwisePredictionHeads` (deep & thin:
  student layer j's own linear layer predicts teacher layer j);
- optionally a codeword classifier (``Linear(D -> K)``, the discriminative
  loss) and the front-end projection (``Linear(D -> D_teacher)``, stage 1
  of the Fbank algorithm).

`StudentEncoder` exposes the student as an encoder ``(inputs, wav_lens) ->
last hidden state`` for CTC fine-tuning in the CTC recipe.

Authors
-------
* speechbrain-ee contributors 2026
"""

from dataclasses import dataclass, field
from typing import Dict, List, Optional

import torch
from torch import nn

from speechbrain_ee.distill.feature_cache import make_cnn_cache
from speechbrain_ee.distill.hubert import (
    TransformerLayerLoop,
    build_hubert,
    encoder_hidden_states,
    relative_frame_mask,
    scale_grad,
    waveform_features,
)


class WaveformFrontEnd(nn.Module):
    """HuBERT's waveform CNN and feature projection.

    Arguments
    ---------
    model : transformers.HubertModel
        Its ``feature_extractor`` and ``feature_projection`` are used (the
        rest is dropped).
    grad_scale : float
        Multiplies the CNN's gradient (DistilHuBERT: 0.1); ``0`` freezes
        the CNN (no gradient, no weight decay).
    cnn_cache : str or bool, optional
        With the CNN frozen (``grad_scale=0``), compute each utterance's
        CNN output once (see `SSLEncoder`).

    Example
    -------
    >>> from speechbrain_ee.distill.hubert import build_hubert
    >>> front = WaveformFrontEnd(build_hubert(
    ...     hidden_size=32, num_hidden_layers=1, num_attention_heads=4,
    ...     intermediate_size=64, conv_dim=16))
    >>> x, mask = front(torch.randn(2, 16000), torch.tensor([1.0, 0.5]))
    >>> x.shape, mask.sum(dim=1).tolist()
    (torch.Size([2, 49, 32]), [49, 24])
    """

    def __init__(self, model, grad_scale=0.1, cnn_cache=None):
        super().__init__()
        self.feature_extractor = model.feature_extractor
        self.feature_projection = model.feature_projection
        self._get_feat_extract_output_lengths = (
            model._get_feat_extract_output_lengths)
        self.grad_scale = grad_scale
        if grad_scale == 0:
            self.feature_extractor.requires_grad_(False)
        self.cnn_cache = make_cnn_cache(cnn_cache, grad_scale == 0,
                                        "WaveformFrontEnd (grad_scale 0)")

    def forward(self, wavs, wav_lens):
        """``[batch, samples]`` -> (``[batch, frames, D]``, frame mask)."""
        features, frame_mask = waveform_features(self, wavs, wav_lens,
                                                 self.cnn_cache)
        return scale_grad(features, self.grad_scale), frame_mask


class FbankFrontEnd(nn.Module):
    """Normalised Fbank (10 ms) -> Conv1d (kernel 5, GLU) -> Linear(D, D)
    -> dropout, at the teacher's frame rate through the convolution's
    stride (2: 20 ms, HuBERT's; 4: 40 ms, the built-in teacher's).

    Arguments
    ---------
    n_mels : int
        Fbank channels.
    hidden_size : int
        D, the encoder's width.
    kernel_size : int
        The convolution's kernel.
    dropout : float
        After the linear layer.
    stride : int
        Fbank frames per output frame.

    Example
    -------
    >>> front = FbankFrontEnd(80, 32)
    >>> x, mask = front(torch.randn(2, 101, 80), torch.tensor([1.0, 0.5]))
    >>> x.shape, mask.sum(dim=1).tolist()
    (torch.Size([2, 51, 32]), [51, 26])
    >>> FbankFrontEnd(80, 32, stride=4)(torch.randn(2, 101, 80),
    ...                                 torch.ones(2))[0].shape
    torch.Size([2, 26, 32])
    """

    def __init__(self, n_mels, hidden_size, kernel_size=5, dropout=0.1,
                 stride=2):
        super().__init__()
        self.conv = nn.Conv1d(n_mels, 2 * hidden_size, kernel_size,
                              stride=stride, padding=kernel_size // 2)
        self.glu = nn.GLU(dim=1)
        self.linear = nn.Linear(hidden_size, hidden_size)
        self.dropout = nn.Dropout(dropout)

    def forward(self, feats, wav_lens):
        """``[batch, time, n_mels]`` -> (``[batch, time / stride, D]``,
        mask)."""
        x = self.glu(self.conv(feats.transpose(1, 2))).transpose(1, 2)
        x = self.dropout(self.linear(x))
        return x, relative_frame_mask(wav_lens, x.shape[1])


class SharedPredictionHead(nn.Module):
    """DistilHuBERT's head: the last student layer predicts several
    teacher layers, ``Linear(D, D_T * N) -> GELU -> split``.

    Arguments
    ---------
    input_size : int
        Student width D.
    target_size : int
        Teacher width D_T.
    teacher_layers : list of int
        The teacher layers to predict (e.g. ``[4, 8, 12]``).

    Example
    -------
    >>> head = SharedPredictionHead(16, 32, [4, 8])
    >>> preds = head([torch.randn(2, 5, 16)] * 3)
    >>> sorted(preds), preds[8].shape
    ([4, 8], torch.Size([2, 5, 32]))
    """

    def __init__(self, input_size, target_size, teacher_layers):
        super().__init__()
        self.teacher_layers = list(teacher_layers)
        self.linear = nn.Linear(input_size,
                                target_size * len(self.teacher_layers))
        self.activation = nn.GELU()

    def forward(self, hidden_states):
        """Student hidden states -> {teacher layer: prediction}."""
        out = self.activation(self.linear(hidden_states[-1]))
        parts = out.chunk(len(self.teacher_layers), dim=-1)
        return dict(zip(self.teacher_layers, parts))


class LayerwisePredictionHeads(nn.Module):
    """Deep & thin: student layer j has its own ``Linear(D -> D_T)``
    predicting teacher layer ``layer_map[j]``.

    Arguments
    ---------
    input_size : int
        Student width D.
    target_size : int
        Teacher width D_T.
    layer_map : dict
        Student layer (1-based) -> teacher layer (or a list of
        ``[student, teacher]`` pairs).

    Example
    -------
    >>> heads = LayerwisePredictionHeads(16, 32, {1: 2, 2: 4})
    >>> preds = heads([torch.randn(2, 5, 16)] * 3)
    >>> sorted(preds), preds[4].shape
    ([2, 4], torch.Size([2, 5, 32]))
    """

    def __init__(self, input_size, target_size, layer_map):
        super().__init__()
        self.layer_map = {int(s): int(t) for s, t in dict(layer_map).items()}
        self.linears = nn.ModuleDict({
            str(s): nn.Linear(input_size, target_size)
            for s in self.layer_map
        })

    @property
    def teacher_layers(self):
        """The predicted teacher layers."""
        return list(self.layer_map.values())

    def forward(self, hidden_states):
        """Student hidden states -> {teacher layer: prediction}."""
        return {
            t: self.linears[str(s)](hidden_states[s])
            for s, t in self.layer_map.items()
        }


@dataclass
class StudentOutput:
    """What `DistillStudent` returns."""

    hidden_states: List[torch.Tensor]
    """``[front-end output (after the positional convolution), layer 1,
    ..., layer L]``."""
    frame_mask: torch.Tensor
    predictions: Dict[int, torch.Tensor] = field(default_factory=dict)
    """Teacher layer -> the student's prediction."""
    codeword_logits: Optional[torch.Tensor] = None
    frontend_projection: Optional[torch.Tensor] = None
    """The front end's output projected to the teacher's width."""
    frontend_output: Optional[torch.Tensor] = None


class DistillStudent(nn.Module):
    """A student: front end, HuBERT-style encoder, prediction heads.

    Arguments
    ---------
    front_end : WaveformFrontEnd or FbankFrontEnd
        Inputs -> ``[batch, frames, D]`` at the teacher's frame rate.
    encoder_config : transformers.HubertConfig
        The student encoder (``hidden_size`` D, ``num_hidden_layers`` ...);
        only its Transformer part is built.
    heads : SharedPredictionHead or LayerwisePredictionHeads
        Predict the teacher's layers.
    num_codewords : int, optional
        K: adds a ``Linear(D -> K)`` codeword classifier on the last layer
        (the discriminative loss).
    teacher_size : int, optional
        D_T: adds the front-end projection ``Linear(D -> D_T)`` (stage 1
        of the Fbank algorithm).

    Example
    -------
    >>> from speechbrain_ee.distill.hubert import hubert_config
    >>> cfg = hubert_config(hidden_size=32, num_hidden_layers=2,
    ...                     num_attention_heads=4, intermediate_size=64,
    ...                     num_conv_pos_embeddings=8,
    ...                     num_conv_pos_embedding_groups=4)
    >>> student = DistillStudent(FbankFrontEnd(80, 32), cfg,
    ...                          LayerwisePredictionHeads(32, 48, {1: 2, 2: 4}),
    ...                          num_codewords=10, teacher_size=48)
    >>> out = student(torch.randn(2, 101, 80), torch.tensor([1.0, 0.6]))
    >>> len(out.hidden_states), out.predictions[4].shape
    (3, torch.Size([2, 51, 48]))
    >>> out.codeword_logits.shape, out.frontend_projection.shape
    (torch.Size([2, 51, 10]), torch.Size([2, 51, 48]))
    """

    def __init__(self, front_end, encoder_config, heads, num_codewords=None,
                 teacher_size=None):
        super().__init__()
        self.front_end = front_end
        self.encoder = build_hubert(encoder_config).encoder
        self.heads = heads
        width = encoder_config.hidden_size
        self.codeword_classifier = (
            nn.Linear(width, num_codewords) if num_codewords else None)
        self.frontend_head = (
            nn.Linear(width, teacher_size) if teacher_size else None)

    @property
    def num_layers(self):
        """Transformer layers."""
        return len(self.encoder.layers)

    def forward(self, inputs, wav_lens, frontend_only=False):
        """Front end, encoder and heads.

        Arguments
        ---------
        inputs : torch.Tensor
            Waveforms ``[batch, samples]`` (waveform front end) or
            normalised features ``[batch, time, n_mels]`` (Fbank).
        wav_lens : torch.Tensor
            Relative lengths.
        frontend_only : bool
            Stage 1: only the front end and its projection.

        Returns
        -------
        StudentOutput
        """
        features, frame_mask = self.front_end(inputs, wav_lens)
        projection = (self.frontend_head(features)
                      if self.frontend_head is not None else None)
        if frontend_only:
            return StudentOutput([], frame_mask, frontend_projection=projection,
                                 frontend_output=features)
        states = encoder_hidden_states(self.encoder, features, frame_mask)
        logits = (self.codeword_classifier(states[-1])
                  if self.codeword_classifier is not None else None)
        return StudentOutput(states, frame_mask, self.heads(states), logits,
                             projection, features)

    def encode(self, inputs, wav_lens):
        """The last hidden state ``[batch, frames, D]`` (no heads)."""
        features, frame_mask = self.front_end(inputs, wav_lens)
        return encoder_hidden_states(self.encoder, features, frame_mask)[-1]

    def init_from_teacher(self, teacher, num_layers=0, cnn=True):
        """Initialisation from the teacher: its waveform CNN (``cnn``, when
        the student has a waveform front end of the same channels) and, as
        DistilHuBERT, its feature projection, positional convolution and
        first ``num_layers`` Transformer layers (widths must match).

        Arguments
        ---------
        teacher : speechbrain_ee.distill.teacher.SSLTeacher
            The teacher.
        num_layers : int
            Transformer layers to copy (0: none).
        cnn : bool
            Copy the waveform CNN.
        """
        source = teacher.model
        waveform = isinstance(self.front_end, WaveformFrontEnd)
        if cnn and waveform:
            ours = self.front_end.feature_extractor.conv_layers[0].conv
            theirs = source.feature_extractor.conv_layers[0].conv
            if ours.out_channels != theirs.out_channels:
                raise ValueError(
                    f"init_cnn_from_teacher: the student's waveform CNN has "
                    f"{ours.out_channels} channels, the teacher's "
                    f"{theirs.out_channels}; set init_cnn_from_teacher: False "
                    "(and frontend_steps, frontend_projection to train it).")
            self.front_end.feature_extractor.load_state_dict(
                source.feature_extractor.state_dict())
        if not num_layers:
            return
        if waveform:
            self.front_end.feature_projection.load_state_dict(
                source.feature_projection.state_dict())
        self.encoder.pos_conv_embed.load_state_dict(
            source.encoder.pos_conv_embed.state_dict())
        self.encoder.layer_norm.load_state_dict(
            source.encoder.layer_norm.state_dict())
        for i in range(num_layers):
            self.encoder.layers[i].load_state_dict(
                source.encoder.layers[i].state_dict())


class StudentEncoder(TransformerLayerLoop, nn.Module):
    """A distilled student as an encoder: ``(inputs, wav_lens) -> last
    hidden state``, the signature of the CTC recipe's ``encoder``; with
    SpeechBrain's encoder layout (`TransformerLayerLoop`: ``start_state``,
    ``layers``, ``norm``), so early exits wrap it as they wrap a Conformer.

    Arguments
    ---------
    student : DistillStudent
        The student (its heads are kept for checkpoint compatibility but
        not run).

    Example
    -------
    >>> from speechbrain_ee.distill.hubert import hubert_config
    >>> cfg = hubert_config(hidden_size=32, num_hidden_layers=1,
    ...                     num_attention_heads=4, intermediate_size=64,
    ...                     num_conv_pos_embeddings=8,
    ...                     num_conv_pos_embedding_groups=4)
    >>> student = DistillStudent(FbankFrontEnd(80, 32), cfg,
    ...                          SharedPredictionHead(32, 32, [1]))
    >>> StudentEncoder(student)(torch.randn(1, 50, 80)).shape
    torch.Size([1, 25, 32])
    >>> StudentEncoder(student).num_layers, len(StudentEncoder(student).layers)
    (1, 1)
    """

    def __init__(self, student):
        super().__init__()
        self.student = student

    @property
    def transformer(self):
        """The student's ``transformers`` encoder (`TransformerLayerLoop`)."""
        return self.student.encoder

    def front_end_features(self, inputs, wav_lens):
        """The student's front end: ``(features, frame_mask)``."""
        return self.student.front_end(inputs, wav_lens)

    def forward(self, inputs, wav_lens=None):
        """Last hidden state of the student (`DistillStudent.encode`)."""
        return self.from_state(self.start_state(inputs, wav_lens))

    def inference_parameters(self):
        """Parameters an encoding uses: front end and encoder, not the
        distillation heads."""
        return sum(p.numel() for m in (self.student.front_end,
                                       self.student.encoder)
                   for p in m.parameters())


def align_frames(*tensors):
    """Trims ``[batch, time, ...]`` tensors to their shortest time (the
    Fbank front end and the teacher's CNN differ by a frame or two).

    Example
    -------
    >>> a, b = align_frames(torch.zeros(1, 51, 2), torch.zeros(1, 49))
    >>> a.shape[1], b.shape[1]
    (49, 49)
    """
    length = min(t.shape[1] for t in tensors)
    return tuple(t[:, :length] for t in tensors)
