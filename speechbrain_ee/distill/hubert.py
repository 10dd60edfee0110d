"""The HuBERT architecture that teachers and students share.

Teachers and students are `transformers` HuBERT (or wav2vec2) models: a
real checkpoint (``facebook/hubert-base-ls960`` or a local folder) loads
into the same code as the small teacher the project pretrains itself.
This module runs their parts explicitly, layer by layer, so that every
hidden state is at hand and front ends can be swapped:

- `hubert_config` / `build_hubert`: a model from YAML-friendly arguments;
- `waveform_features`: waveform CNN and projection, with the frame mask;
- `encoder_hidden_states`: the positional convolution and the Transformer
  layers, returning ``[input of layer 1, output of layer 1, ...]`` as
  ``transformers`` does with ``output_hidden_states=True``;
- `TransformerLayerLoop`: SpeechBrain's encoder layout (``start_state``,
  ``layers``, ``norm``, ``from_state``) for the encoders around such a
  Transformer (`SSLEncoder`, the students, routed models), so that the one
  layer loop of ``speechbrain_ee.lobes`` (early exits, blank skip) runs
  them;
- `CodewordHead`: HuBERT's pretraining head (projection, cosine with the
  codeword embeddings, temperature).

Authors
-------
* speechbrain-ee contributors 2026
"""

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from speechbrain_ee.distill.feature_cache import make_cnn_cache
from speechbrain_ee.lobes.layer_loop import EncoderState, run_layers


def hubert_config(**kwargs):
    """A ``transformers.HubertConfig``; ``conv_dim`` (one int) sets every
    CNN layer's width, and the CNN has as many layers as ``conv_kernel``
    lists (HuBERT's seven by default).

    Arguments
    ---------
    **kwargs
        ``HubertConfig`` arguments (``hidden_size``,
        ``num_hidden_layers``, ``num_attention_heads``,
        ``intermediate_size``, ``conv_dim`` ...).

    Returns
    -------
    transformers.HubertConfig

    Example
    -------
    >>> cfg = hubert_config(hidden_size=32, num_hidden_layers=2,
    ...                     num_attention_heads=4, intermediate_size=64,
    ...                     conv_dim=16)
    >>> cfg.conv_dim
    [16, 16, 16, 16, 16, 16, 16]
    >>> cpu = hubert_config(conv_dim=128, conv_kernel=[20, 4, 4, 2],
    ...                     conv_stride=[10, 4, 4, 2])
    >>> cpu.num_feat_extract_layers, cpu.conv_dim
    (4, [128, 128, 128, 128])
    """
    from transformers import HubertConfig

    layers = len(kwargs.get("conv_kernel", [None] * 7))
    kwargs.setdefault("num_feat_extract_layers", layers)
    if isinstance(kwargs.get("conv_dim"), int):
        kwargs["conv_dim"] = [kwargs["conv_dim"]] * layers
    return HubertConfig(**kwargs)


def build_hubert(config=None, **kwargs):
    """A randomly initialised ``transformers.HubertModel``.

    Arguments
    ---------
    config : transformers.HubertConfig, optional
        The configuration; default: ``hubert_config(**kwargs)``.
    **kwargs
        See `hubert_config`.

    Returns
    -------
    transformers.HubertModel

    Example
    -------
    >>> model = build_hubert(hidden_size=32, num_hidden_layers=2,
    ...                      num_attention_heads=4, intermediate_size=64,
    ...                      conv_dim=16, num_conv_pos_embeddings=8,
    ...                      num_conv_pos_embedding_groups=4)
    >>> len(model.encoder.layers)
    2
    """
    from transformers import HubertModel

    return HubertModel(config if config is not None else hubert_config(
        **kwargs))


def lengths_to_mask(lengths, max_len):
    """``[batch, max_len]`` True on the first ``lengths[i]`` frames.

    Example
    -------
    >>> lengths_to_mask(torch.tensor([1, 3]), 3).int().tolist()
    [[1, 0, 0], [1, 1, 1]]
    """
    positions = torch.arange(max_len, device=lengths.device)
    return positions.unsqueeze(0) < lengths.unsqueeze(1)


def relative_frame_mask(wav_lens, num_frames):
    """Frame mask from SpeechBrain's relative lengths.

    Example
    -------
    >>> relative_frame_mask(torch.tensor([1.0, 0.5]), 4).int().tolist()
    [[1, 1, 1, 1], [1, 1, 0, 0]]
    """
    lengths = torch.round(wav_lens * num_frames).long().clamp(1, num_frames)
    return lengths_to_mask(lengths, num_frames)


def waveform_features(model, wavs, wav_lens, cache=None):
    """The waveform CNN and the feature projection of a HuBERT/wav2vec2
    model.

    Arguments
    ---------
    model : transformers.HubertModel or transformers.Wav2Vec2Model
        The model.
    wavs : torch.Tensor
        ``[batch, samples]``.
    wav_lens : torch.Tensor
        Relative lengths.
    cache : FrozenFeatureCache, optional
        Takes the (frozen) CNN's outputs from there
        (`speechbrain_ee.distill.feature_cache`).

    Returns
    -------
    features : torch.Tensor
        ``[batch, frames, hidden]``, zero on padded frames.
    frame_mask : torch.Tensor
        ``[batch, frames]`` True on real frames.
    """
    cnn = model.feature_extractor
    if cache is None:
        # A frozen CNN gets no graph (transformers' CNN would otherwise ask
        # for the waveform's gradient and backpropagate through it).
        trained = any(p.requires_grad for p in cnn.parameters())
        with torch.set_grad_enabled(torch.is_grad_enabled() and trained):
            extracted = cnn(wavs)
    else:
        extracted = cache(model.feature_extractor, wavs, wav_lens,
                          model.feature_extractor)
    extracted = extracted.transpose(1, 2)
    samples = torch.round(wav_lens * wavs.shape[1]).long()
    frames = model._get_feat_extract_output_lengths(samples).long()
    frame_mask = lengths_to_mask(frames.clamp(1, extracted.shape[1]),
                                 extracted.shape[1])
    features = model.feature_projection(extracted)
    if isinstance(features, tuple):  # wav2vec2 also returns the normed input
        features = features[0]
    return features, frame_mask


def mask_spans(frame_mask, mask_prob=0.8, mask_length=10, min_masks=2):
    """HuBERT's span masking (fairseq's ``compute_mask_indices``, static
    spans, overlaps allowed) over the real frames only, drawn from torch's
    generator, so that a checkpoint that saves it (SpeechBrain's
    ``SaveableGenerator``) resumes with the same masks.

    Arguments
    ---------
    frame_mask : torch.Tensor
        ``[batch, frames]`` True on real frames.
    mask_prob : float
        Share of frames that start a span (an upper bound of the masked
        share, as in HuBERT).
    mask_length : int
        Span length in frames (shorter for an utterance shorter than it).
    min_masks : int
        Spans per utterance at least.

    Returns
    -------
    torch.Tensor
        ``[batch, frames]`` bool, True where masked.

    Example
    -------
    >>> fm = torch.tensor([[True] * 50, [True] * 20 + [False] * 30])
    >>> m = mask_spans(fm, 0.5, 5)
    >>> bool(m[1, 20:].any()), bool(m[0].any())
    (False, True)
    """
    masked = torch.zeros_like(frame_mask, dtype=torch.bool)
    if mask_prob <= 0:
        return masked
    lengths = frame_mask.sum(dim=1).tolist()
    for row, length in enumerate(lengths):
        span = max(1, min(mask_length, length - 1))
        starts_possible = length - span + 1
        if starts_possible < 1:
            continue
        # fairseq: the number of spans is rounded up or down at random
        count = int(mask_prob * length / span + float(torch.rand(())))
        count = min(max(count, min_masks), starts_possible)
        starts = torch.randperm(starts_possible)[:count]
        frames = (starts[:, None] + torch.arange(span)).flatten()
        masked[row, frames.to(masked.device)] = True
    return masked & frame_mask


def mask_with_embedding(model, features, frame_mask, mask_prob, mask_length):
    """HuBERT's input masking: spans of frames (`mask_spans`) replaced by
    the model's learned mask embedding (``masked_spec_embed``), in
    pretraining and, sparser, in fine-tuning.

    Arguments
    ---------
    model : transformers.HubertModel or transformers.Wav2Vec2Model
        Built with ``mask_time_prob > 0`` (it then has the embedding).
    features : torch.Tensor
        ``[batch, frames, hidden]``, the front end's output.
    frame_mask : torch.Tensor
        ``[batch, frames]`` True on real frames.
    mask_prob, mask_length : float, int
        See `mask_spans`.

    Returns
    -------
    features : torch.Tensor
        With the masked frames replaced.
    masked : torch.Tensor
        ``[batch, frames]`` True where masked.

    Example
    -------
    >>> model = build_hubert(hidden_size=32, num_hidden_layers=1,
    ...                      num_attention_heads=4, intermediate_size=64,
    ...                      conv_dim=16, mask_time_prob=0.5)
    >>> x, masked = mask_with_embedding(model, torch.randn(1, 30, 32),
    ...                                 torch.ones(1, 30, dtype=torch.bool), 0.5, 5)
    >>> bool((x[masked] == model.masked_spec_embed).all())
    True
    """
    masked = mask_spans(frame_mask, mask_prob, mask_length)
    embed = model.masked_spec_embed.to(features.dtype)
    return torch.where(masked.unsqueeze(-1), embed, features), masked


def transformer_input(encoder, features, frame_mask):
    """The input of the first Transformer layer of a HuBERT/wav2vec2
    encoder, as ``transformers`` computes it: padded frames zeroed, the
    positional convolution added, the layer norm for a post-LN model (a
    pre-LN model, ``do_stable_layer_norm``, norms after its last layer
    instead), dropout.

    Arguments
    ---------
    encoder : transformers HubertEncoder (or StableLayerNorm variant)
        ``model.encoder``.
    features : torch.Tensor
        ``[batch, frames, hidden]``, the front end's output.
    frame_mask : torch.Tensor
        ``[batch, frames]`` True on real frames.

    Returns
    -------
    torch.Tensor
        ``[batch, frames, hidden]``.

    Example
    -------
    >>> model = build_hubert(hidden_size=32, num_hidden_layers=1,
    ...                      num_attention_heads=4, intermediate_size=64,
    ...                      conv_dim=16, num_conv_pos_embeddings=8,
    ...                      num_conv_pos_embedding_groups=4).eval()
    >>> x = transformer_input(model.encoder, torch.randn(2, 6, 32),
    ...                       torch.tensor([[1] * 6, [1] * 3 + [0] * 3]).bool())
    >>> x.shape
    torch.Size([2, 6, 32])
    """
    x = features.masked_fill(~frame_mask.unsqueeze(-1), 0.0)
    x = x + encoder.pos_conv_embed(x)
    if not encoder.config.do_stable_layer_norm:
        x = encoder.layer_norm(x)
    return encoder.dropout(x)


def padding_attention_mask(encoder, x, frame_mask):
    """The attention mask ``transformers`` gives the encoder's layers for
    a frame mask (None when it needs none).

    Arguments
    ---------
    encoder : transformers HubertEncoder (or a variant)
        ``model.encoder`` (its config picks the attention implementation).
    x : torch.Tensor
        ``[batch, frames, hidden]`` (its shape, dtype and device).
    frame_mask : torch.Tensor
        ``[batch, frames]`` True on real frames.

    Returns
    -------
    torch.Tensor or None

    Example
    -------
    >>> model = build_hubert(hidden_size=32, num_hidden_layers=1,
    ...                      num_attention_heads=4, intermediate_size=64,
    ...                      conv_dim=16)
    >>> x = torch.zeros(2, 4, 32)
    >>> padding_attention_mask(model.encoder, x, torch.ones(2, 4).bool()) is None
    True
    """
    from transformers.masking_utils import create_bidirectional_mask

    return create_bidirectional_mask(
        config=encoder.config, inputs_embeds=x,
        attention_mask=frame_mask.long())


def transformer_layer(encoder, index, x, attention_mask):
    """Layer ``index`` of a HuBERT/wav2vec2 encoder on ``x``; in training,
    with the config's ``layerdrop``, a dropped layer returns its input
    (LayerDrop as wav2vec2 and HuBERT fine-tuning use it: the whole batch
    skips it).

    Arguments
    ---------
    encoder : transformers HubertEncoder (or a variant)
        ``model.encoder``.
    index : int
        0-based layer.
    x : torch.Tensor
        ``[batch, frames, hidden]``, the layer's input.
    attention_mask : torch.Tensor or None
        From `padding_attention_mask`.

    Returns
    -------
    torch.Tensor
        The layer's output.

    Example
    -------
    >>> model = build_hubert(hidden_size=32, num_hidden_layers=1,
    ...                      num_attention_heads=4, intermediate_size=64,
    ...                      conv_dim=16, layerdrop=1.0)
    >>> x = torch.randn(1, 4, 32)
    >>> torch.equal(transformer_layer(model.encoder.train(), 0, x, None), x)  # dropped
    True
    >>> torch.equal(transformer_layer(model.encoder.eval(), 0, x, None), x)
    False
    """
    layerdrop = encoder.config.layerdrop if encoder.training else 0.0
    if layerdrop and float(torch.rand(())) < layerdrop:
        return x
    out = encoder.layers[index](x, attention_mask=attention_mask)
    return out[0] if isinstance(out, tuple) else out


def encoder_hidden_states(encoder, features, frame_mask, stop=None):
    """Runs a HuBERT/wav2vec2 Transformer encoder layer by layer.

    Arguments
    ---------
    encoder : transformers HubertEncoder (or StableLayerNorm variant)
        ``model.encoder``.
    features : torch.Tensor
        ``[batch, frames, hidden]``, the front end's output.
    frame_mask : torch.Tensor
        ``[batch, frames]`` True on real frames.
    stop : int, optional
        Run only the first ``stop`` layers.

    Returns
    -------
    list of torch.Tensor
        ``[input of layer 1, output of layer 1, ..., output of the last]``;
        the last one layer-normed for pre-LN (stable layer norm) models (the
        encoder's ``last_hidden_state``: what distillation regresses). In
        training, with the config's ``layerdrop``, a dropped layer's output
        is its input (`transformer_layer`).
    """
    x = transformer_input(encoder, features, frame_mask)
    mask = padding_attention_mask(encoder, x, frame_mask)
    states = [x]
    count = len(encoder.layers) if stop is None else min(stop, len(encoder.layers))
    for index in range(count):
        x = transformer_layer(encoder, index, x, mask)
        states.append(x)
    if encoder.config.do_stable_layer_norm and count == len(encoder.layers):
        states[-1] = encoder.layer_norm(states[-1])
    return states


class TransformerLayers(Sequence):
    """The layers of a HuBERT/wav2vec2 encoder with SpeechBrain's layer
    signature, ``layer(x, src_mask, src_key_padding_mask, pos_embs,
    dynchunktrain_config) -> (x, None)``: what the one layer loop
    (`speechbrain_ee.lobes.layer_loop.run_layers`) runs. A view: the layers
    stay registered where they are (checkpoints keep their keys).

    Arguments
    ---------
    encoder : transformers HubertEncoder (or a variant)
        ``model.encoder``.

    Example
    -------
    >>> model = build_hubert(hidden_size=32, num_hidden_layers=2,
    ...                      num_attention_heads=4, intermediate_size=64,
    ...                      conv_dim=16, num_conv_pos_embeddings=8,
    ...                      num_conv_pos_embedding_groups=4).eval()
    >>> layers = TransformerLayers(model.encoder)
    >>> x, _ = layers[0](torch.randn(1, 5, 32),
    ...                  src_key_padding_mask=torch.zeros(1, 5, dtype=torch.bool))
    >>> len(layers), len(layers[1:]), x.shape
    (2, 1, torch.Size([1, 5, 32]))
    """

    def __init__(self, encoder):
        self.encoder = encoder

    def __len__(self):
        return len(self.encoder.layers)

    def __getitem__(self, index):
        if isinstance(index, slice):
            return [_TransformerLayer(self.encoder, i)
                    for i in range(len(self))[index]]
        return _TransformerLayer(self.encoder, range(len(self))[index])


class _TransformerLayer:
    """Layer ``index`` of ``encoder`` with SpeechBrain's layer signature."""

    def __init__(self, encoder, index):
        self.encoder, self.index = encoder, index

    def __call__(self, x, src_mask=None, src_key_padding_mask=None,
                 pos_embs=None, dynchunktrain_config=None):
        if src_mask is not None or dynchunktrain_config is not None:
            raise ValueError(
                "A HuBERT/wav2vec2 layer attends to the whole utterance: no "
                "attention mask (src_mask) or dynamic chunks.")
        if src_key_padding_mask is None:
            frame_mask = torch.ones(x.shape[:2], dtype=torch.bool,
                                    device=x.device)
        else:
            frame_mask = ~src_key_padding_mask
        mask = padding_attention_mask(self.encoder, x, frame_mask)
        return transformer_layer(self.encoder, self.index, x, mask), None


class TransformerLayerLoop:
    """SpeechBrain's encoder layout for an encoder around a HuBERT/wav2vec2
    Transformer (the SSL encoder, a distilled student, hence a routed
    model): ``start_state`` (front end, positional convolution; the batch
    before the first layer), ``layers`` (`TransformerLayers`), ``norm``
    (the final layer norm of a pre-LN model, identity for a post-LN one)
    and ``from_state`` (the layers and the norm: the encoder's output). The
    early-exit and blank-skip wrappers
    (`speechbrain_ee.lobes.dynamic_ctc.DynamicCTCEncoder`) run them one
    layer at a time, as they run SpeechBrain's encoders; the hidden state
    after layer ``k`` is ``transformers``' ``hidden_states[k]``, and
    ``norm`` of the last is its ``last_hidden_state``.

    A subclass (a ``torch.nn.Module``) provides ``transformer`` (the
    ``transformers`` encoder) and ``front_end_features(inputs, wav_lens)
    -> (features, frame_mask)``.

    Example
    -------
    >>> class Encoder(TransformerLayerLoop, nn.Module):
    ...     def __init__(self, model):
    ...         super().__init__()
    ...         self.model = model
    ...     transformer = property(lambda self: self.model.encoder)
    ...     def front_end_features(self, wavs, wav_lens):
    ...         return waveform_features(self.model, wavs, wav_lens)
    >>> model = build_hubert(hidden_size=32, num_hidden_layers=2,
    ...                      num_attention_heads=4, intermediate_size=64,
    ...                      conv_dim=16, num_conv_pos_embeddings=8,
    ...                      num_conv_pos_embedding_groups=4,
    ...                      do_stable_layer_norm=True).eval()
    >>> enc, wavs = Encoder(model), torch.randn(1, 8000)
    >>> out = model(wavs, output_hidden_states=True)
    >>> after_1 = run_layers(enc.layers, enc.start_state(wavs), 0, 1)
    >>> torch.allclose(after_1.x, out.hidden_states[1], atol=1e-6)
    True
    >>> torch.allclose(enc.from_state(enc.start_state(wavs)),
    ...                out.last_hidden_state, atol=1e-6)
    True
    """

    @property
    def layers(self):
        """The Transformer layers, SpeechBrain's signature
        (`TransformerLayers`)."""
        return TransformerLayers(self.transformer)

    @property
    def norm(self):
        """The normalisation after the last layer: the encoder's layer norm
        (pre-LN models) or identity (post-LN models norm before the first
        layer, in `start_state`)."""
        if self.transformer.config.do_stable_layer_norm:
            return self.transformer.layer_norm
        return nn.Identity()

    @property
    def num_layers(self):
        """Transformer layers (the model contract's depth)."""
        return len(self.transformer.layers)

    def start_state(self, inputs, wav_lens=None, dynchunktrain_config=None):
        """The batch before the first Transformer layer.

        Arguments
        ---------
        inputs : torch.Tensor
            The front end's input (waveforms, or features for an Fbank
            student).
        wav_lens : torch.Tensor, optional
            Relative lengths.
        dynchunktrain_config : None
            Refused: these encoders attend to the whole utterance.

        Returns
        -------
        speechbrain_ee.lobes.layer_loop.EncoderState
        """
        if dynchunktrain_config is not None:
            raise ValueError(
                f"{type(self).__name__} cannot stream: its layers attend to "
                "the whole utterance (no dynchunktrain_config).")
        if wav_lens is None:
            wav_lens = torch.ones(inputs.shape[0], device=inputs.device)
        features, frame_mask = self.front_end_features(inputs, wav_lens)
        x = transformer_input(self.transformer, features, frame_mask)
        return EncoderState.start(x, src_key_padding_mask=~frame_mask)

    def from_state(self, state):
        """Every layer and the norm on the batch of `start_state`.

        Arguments
        ---------
        state : speechbrain_ee.lobes.layer_loop.EncoderState
            The batch before the first layer.

        Returns
        -------
        torch.Tensor
            ``[batch, frames, hidden]``, the encoder's output.
        """
        layers = self.layers
        return self.norm(run_layers(layers, state, 0, len(layers)).x)


class CodewordHead(nn.Module):
    """HuBERT's pretraining head: per frame, logits over the codewords,
    ``cos(final_proj(h), E) / logit_temperature``.

    Arguments
    ---------
    input_size : int
        Width of the hidden state it reads (the last layer's).
    proj_size : int
        Width of the projection and the codeword embeddings (256 in
        HuBERT).
    num_codewords : int
        K (HuBERT Base: 504, 500 k-means units and 4 specials).
    logit_temperature : float
        The cosine's divisor (0.1 in HuBERT).

    Example
    -------
    >>> head = CodewordHead(32, 16, 10)
    >>> head(torch.randn(2, 5, 32)).shape
    torch.Size([2, 5, 10])
    """

    def __init__(self, input_size, proj_size, num_codewords,
                 logit_temperature=0.1):
        super().__init__()
        self.final_proj = nn.Linear(input_size, proj_size)
        self.label_embeddings = nn.Parameter(
            torch.randn(num_codewords, proj_size) / proj_size ** 0.5)
        self.logit_temperature = logit_temperature

    @property
    def num_codewords(self):
        """K."""
        return self.label_embeddings.shape[0]

    def forward(self, hidden):
        """``[batch, time, input_size]`` -> ``[batch, time, K]`` logits."""
        proj = F.normalize(self.final_proj(hidden), dim=-1)
        codewords = F.normalize(self.label_embeddings, dim=-1)
        return proj @ codewords.t() / self.logit_temperature


class _ScaleGrad(torch.autograd.Function):
    """Identity forward; gradient times ``scale`` backward."""

    @staticmethod
    def forward(ctx, x, scale):
        ctx.scale = scale
        return x.view_as(x)

    @staticmethod
    def backward(ctx, grad):
        return grad * ctx.scale, None


def scale_grad(x, scale):
    """Identity whose gradient is multiplied by ``scale`` (DistilHuBERT
    trains its CNN with 0.1).

    Example
    -------
    >>> x = torch.ones(2, requires_grad=True)
    >>> scale_grad(x, 0.5).sum().backward()
    >>> x.grad.tolist()
    [0.5, 0.5]
    """
    if scale == 1.0 or not x.requires_grad:
        return x
    return _ScaleGrad.apply(x, scale)


class Passthrough(nn.Module):
    """Returns its input: the ``compute_features`` and ``normalize`` of a
    waveform model in the recipes, which call them with extra arguments.

    Example
    -------
    >>> x = torch.randn(2, 10)
    >>> Passthrough()(x, torch.ones(2), epoch=1) is x
    True
    """

    def forward(self, x, *args, **kwargs):
        """``x``, untouched."""
        return x


class SSLEncoder(TransformerLayerLoop, nn.Module):
    """A HuBERT/wav2vec2 model as a trainable encoder: ``(wavs, wav_lens)
    -> last hidden state``, the CTC recipe's ``encoder`` signature (CTC
    fine-tuning of an SSL model). It has SpeechBrain's encoder layout
    (`TransformerLayerLoop`), so early exits and blank skip wrap it as they
    wrap a Conformer.

    Its attributes are `SSLTeacher`'s (``model``, ``codeword_head``), so a
    teacher checkpoint loads into it as it is. In training it masks the
    features as wav2vec2/HuBERT fine-tuning does (SpecAugment in feature
    space): spans of frames replaced by the model's mask embedding, spans
    of channels set to zero; the config's ``layerdrop`` drops layers (see
    `encoder_hidden_states`).

    Arguments
    ---------
    model : transformers.HubertModel or transformers.Wav2Vec2Model
        The SSL model.
    codeword_head : CodewordHead, optional
        Kept only so that a teacher checkpoint loads without warnings.
    freeze_cnn : bool
        Keep the waveform CNN fixed (usual when fine-tuning).
    cnn_cache : str or bool, optional
        With the CNN frozen, compute each utterance's CNN output once
        (`FrozenFeatureCache`): ``True`` in memory, a folder path also on
        disk, shared by runs over the same CNN. Use it without waveform
        augmentation.
    checkpoint : str, optional
        Pretrained weights to load (a pretraining run's ``teacher.ckpt``);
        ``None``: the model as given (random for the built-in architecture:
        training from scratch).
    mask_time_prob : float
        Share of frames that start a masked span in training (wav2vec2
        fine-tuning: 0.05 to 0.075); needs the model's
        ``masked_spec_embed`` (built with ``mask_time_prob > 0``).
    mask_time_length : int
        Frames per span.
    mask_feature_prob : float
        The same over the channels (0: none).
    mask_feature_length : int
        Channels per span.

    Example
    -------
    >>> model = build_hubert(hidden_size=32, num_hidden_layers=1,
    ...                      num_attention_heads=4, intermediate_size=64,
    ...                      conv_dim=16, num_conv_pos_embeddings=8,
    ...                      num_conv_pos_embedding_groups=4,
    ...                      mask_time_prob=0.05)
    >>> enc = SSLEncoder(model, mask_time_prob=0.1, mask_feature_prob=0.1)
    >>> enc(torch.randn(2, 16000), torch.ones(2)).shape
    torch.Size([2, 49, 32])
    >>> state = enc.eval().start_state(torch.randn(2, 16000), torch.ones(2))
    >>> len(enc.layers), state.x.shape
    (1, torch.Size([2, 49, 32]))
    """

    def __init__(self, model, codeword_head=None, freeze_cnn=True,
                 cnn_cache=None, checkpoint=None, mask_time_prob=0.0,
                 mask_time_length=10, mask_feature_prob=0.0,
                 mask_feature_length=10):
        super().__init__()
        if mask_time_prob and getattr(model, "masked_spec_embed",
                                      None) is None:
            raise ValueError(
                "SSLEncoder mask_time_prob > 0: the model has no mask "
                "embedding; build it with mask_time_prob > 0 in its config.")
        self.model = model
        self.codeword_head = codeword_head
        if codeword_head is not None:
            codeword_head.requires_grad_(False)
        if freeze_cnn:
            model.feature_extractor.requires_grad_(False)
        self.cnn_cache = make_cnn_cache(cnn_cache, freeze_cnn,
                                        "SSLEncoder (freeze_cnn)")
        self.mask_time = (mask_time_prob, mask_time_length)
        self.mask_feature = (mask_feature_prob, mask_feature_length)
        if checkpoint is not None:
            load_weights(self, checkpoint)

    @property
    def transformer(self):
        """The ``transformers`` encoder (`TransformerLayerLoop`)."""
        return self.model.encoder

    def front_end_features(self, wavs, wav_lens):
        """The waveform CNN and projection, masked in training as in
        fine-tuning (`mask_features`): ``(features, frame_mask)``."""
        features, frame_mask = waveform_features(self.model, wavs, wav_lens,
                                                 self.cnn_cache)
        if self.training:
            features = self.mask_features(features, frame_mask)
        return features, frame_mask

    def forward(self, wavs, wav_lens=None):
        """Last hidden state ``[batch, frames, hidden]``."""
        return self.from_state(self.start_state(wavs, wav_lens))

    def mask_features(self, features, frame_mask):
        """Feature-space masking of fine-tuning (time spans to the mask
        embedding, channel spans to zero)."""
        prob, length = self.mask_time
        if prob > 0:
            features, _ = mask_with_embedding(self.model, features, frame_mask,
                                              prob, length)
        prob, length = self.mask_feature
        if prob > 0:
            channels = torch.ones(features.shape[0], features.shape[-1],
                                  dtype=torch.bool, device=features.device)
            dropped = mask_spans(channels, prob, length, min_masks=0)
            features = features.masked_fill(dropped.unsqueeze(1), 0.0)
        return features

    def inference_parameters(self):
        """Parameters an encoding uses: CNN, projection and encoder, not
        the pretraining head or the mask embedding."""
        return sum(p.numel() for m in (self.model.feature_extractor,
                                       self.model.feature_projection,
                                       self.model.encoder)
                   for p in m.parameters())


def load_weights(module, checkpoint, prefix=""):
    """Loads a saved ``state_dict`` into ``module`` strictly (the keys
    under ``prefix`` only, with it removed; a mask embedding is optional).

    Arguments
    ---------
    module : torch.nn.Module
        The module to fill.
    checkpoint : str
        A ``torch.save``d state dict (a teacher's ``teacher.ckpt``, a
        CTC run's ``model.ckpt``...).
    prefix : str
        Keep the keys starting with it (e.g. ``0.`` for the encoder of a
        CTC run's ``model.ckpt``), without it.
    """
    try:
        state = torch.load(checkpoint, map_location="cpu")
    except FileNotFoundError as err:
        raise FileNotFoundError(
            f"pretrained weights {checkpoint} not found: train that model "
            "first (the built-in teacher: recipes/LibriSpeech/distill/"
            "pretrain_teacher.py).") from err
    state = {k[len(prefix):]: v for k, v in state.items()
             if k.startswith(prefix)}
    own = module.state_dict()
    mismatched = [k for k, v in state.items()
                  if k in own and own[k].shape != v.shape]
    if mismatched:
        first = mismatched[0]
        raise RuntimeError(
            f"{checkpoint} does not fit {type(module).__name__}: "
            f"{len(mismatched)} tensors have other sizes (e.g. {first}: "
            f"{list(state[first].shape)} in the checkpoint, "
            f"{list(own[first].shape)} in the model); the YAML's sizes must "
            "be those it was trained with.")
    result = module.load_state_dict(state, strict=False)
    bad = [k for k in result.missing_keys + result.unexpected_keys
           if not k.endswith("masked_spec_embed")]
    if bad:
        raise RuntimeError(
            f"{checkpoint} does not fit {type(module).__name__} (keys "
            f"{bad[:4]}): the YAML's sizes must be those it was trained "
            "with.")
