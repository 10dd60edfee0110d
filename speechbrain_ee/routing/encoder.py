"""An SSL encoder fine-tuned by S3-Router: its weights frozen, its
connections learned (spec ``s3_router.md``).

`RoutedEncoder` takes an encoder (e.g. `SSLEncoder` around the built-in
HuBERT teacher), loads its pretrained weights, then routes it
(`speechbrain_ee.routing.masks.route`): the order matters, since the
scores' ``weight_rank`` and ``weight`` initialisations read the loaded
weights. In the CTC recipe it is the ``encoder``; the CTC head on top is
trained as usual, and the optimiser only sees the scores and the head.

Authors
-------
* speechbrain-ee contributors 2026
"""

from torch import nn

from speechbrain_ee.distill.hubert import load_weights
from speechbrain_ee.lobes.contract import stack_depth
from speechbrain_ee.routing.masks import pack_masks, route, routed_layers


class RoutedEncoder(nn.Module):
    """An encoder whose linear layers are routed by learned masks.

    Arguments
    ---------
    encoder : torch.nn.Module
        The encoder (``forward(inputs, wav_lens)``).
    sparsity : float
        Share of each routed weight tensor dropped.
    mode : str
        ``finetune`` (feed-forward layers) or ``prune`` (all block
        linears); see `route`.
    init : str
        Score initialisation: ``kaiming_uniform``, ``weight_rank`` or
        ``weight``.
    checkpoint : str, optional
        Pretrained weights loaded into ``encoder`` before routing.
    checkpoint_prefix : str
        See `load_weights`.
    seed : int
        For the score draws.
    routed_checkpoint : str, optional
        Weights *and scores* of an earlier routed run, loaded after
        routing (e.g. a pruning run's ``model.ckpt``, to fine-tune its
        weights under its masks).
    routed_checkpoint_prefix : str
        Keys of ``routed_checkpoint`` to keep (``0.encoder.`` in a CTC
        run's ``model.ckpt``).
    train_weights : bool
        Fix the masks (the scores stop learning) and train the routed
        layers' weights under them instead: the spec's optional weight
        fine-tuning after pruning. The dropped weights get no gradient, so
        the masks stay exact.

    Example
    -------
    >>> import torch
    >>> from speechbrain_ee.distill.hubert import SSLEncoder, build_hubert
    >>> ssl = SSLEncoder(build_hubert(
    ...     hidden_size=32, num_hidden_layers=1, num_attention_heads=4,
    ...     intermediate_size=64, conv_dim=16, num_conv_pos_embeddings=8,
    ...     num_conv_pos_embedding_groups=4))
    >>> enc = RoutedEncoder(ssl, sparsity=0.1)
    >>> [n for n, p in enc.named_parameters() if p.requires_grad]
    ['encoder.model.encoder.layers.0.feed_forward.intermediate_dense.scores', 'encoder.model.encoder.layers.0.feed_forward.output_dense.scores']
    >>> enc(torch.randn(1, 8000)).shape
    torch.Size([1, 24, 32])
    >>> enc.num_layers, ssl.num_layers, len(enc.layers)
    (1, 1, 1)
    """

    def __init__(self, encoder, sparsity, mode="finetune",
                 init="weight_rank", checkpoint=None, checkpoint_prefix="",
                 seed=0, routed_checkpoint=None,
                 routed_checkpoint_prefix="0.encoder.", train_weights=False):
        super().__init__()
        if checkpoint is not None:
            load_weights(encoder, checkpoint, checkpoint_prefix)
        self.encoder = encoder
        self.routed = route(encoder, sparsity, mode=mode, init=init,
                            seed=seed)
        if routed_checkpoint is not None:
            load_weights(encoder, routed_checkpoint, routed_checkpoint_prefix)
        if train_weights:
            for layer in routed_layers(encoder).values():
                layer.scores.requires_grad_(False)
                layer.weight.requires_grad_(True)

    @property
    def num_layers(self):
        """Layers of the routed encoder (the model contract's depth)."""
        return stack_depth(self.encoder)

    def forward(self, inputs, wav_lens=None):
        """The routed encoder's output."""
        return self.encoder(inputs, wav_lens)

    # SpeechBrain's encoder layout, the routed encoder's own (routing
    # changes its layers in place): early exits wrap a routed model as any
    # other (`speechbrain_ee.distill.hubert.TransformerLayerLoop`).
    @property
    def layers(self):
        """The routed encoder's layers (SpeechBrain's layer signature)."""
        return self.encoder.layers

    @property
    def norm(self):
        """The routed encoder's final normalisation."""
        return self.encoder.norm

    def start_state(self, inputs, wav_lens=None, dynchunktrain_config=None):
        """The batch before the first layer (the routed encoder's
        ``start_state``).

        Arguments
        ---------
        inputs : torch.Tensor
            The encoder's input.
        wav_lens : torch.Tensor, optional
            Relative lengths.
        dynchunktrain_config : DynChunkTrainConfig, optional
            Passed on.

        Returns
        -------
        speechbrain_ee.lobes.layer_loop.EncoderState
        """
        return self.encoder.start_state(inputs, wav_lens, dynchunktrain_config)

    def from_state(self, state):
        """The routed encoder's output from `start_state`'s batch.

        Arguments
        ---------
        state : speechbrain_ee.lobes.layer_loop.EncoderState

        Returns
        -------
        torch.Tensor
        """
        return self.encoder.from_state(state)

    def masks(self):
        """The current masks, packed (1 bit per routed weight)."""
        return pack_masks(self.encoder)

    def mask_bits(self):
        """Bits of a task's masks (one per routed weight)."""
        return sum(layer.weight.numel()
                   for layer in routed_layers(self.encoder).values())

    def inference_parameters(self):
        """Parameters an encoding uses (the scores are not among them)."""
        inner = self.encoder
        if hasattr(inner, "inference_parameters"):
            return inner.inference_parameters() - sum(
                layer.scores.numel()
                for layer in routed_layers(inner).values())
        return sum(p.numel() for n, p in inner.named_parameters()
                   if not n.endswith("scores"))
