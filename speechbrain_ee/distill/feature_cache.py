"""Outputs of a frozen waveform CNN, computed once per utterance.

Fine-tuning an SSL model with its waveform CNN frozen (HuBERT's usual
recipe, and every S3-Router run) recomputes the same CNN features every
epoch, and on CPU the CNN is most of the cost. `FrozenFeatureCache` keeps
each utterance's CNN output, keyed by a hash of its samples and of the CNN's
weights, in memory and optionally in a folder that several runs over the
same frozen CNN share (e.g. the runs of ``benchmarks/s3router.py``).

The cached output of an utterance is computed on that utterance alone
(no padding). HuBERT's first CNN layer normalises over time (group norm),
so this is the output the utterance gets at batch 1, as in inference. It is
exact whatever the batch it later comes in. Training with waveform
augmentation produces waveforms that never come twice; set
``wav_augment_prob: 0.0`` in a YAML that uses the cache.

Authors
-------
* speechbrain-ee contributors 2026
"""

import hashlib
import os

import torch


def module_fingerprint(module):
    """A hash of a module's parameters (its weights decide its outputs).

    Example
    -------
    >>> a, b = torch.nn.Linear(2, 2), torch.nn.Linear(2, 2)
    >>> module_fingerprint(a) == module_fingerprint(a)
    True
    >>> module_fingerprint(a) == module_fingerprint(b)
    False
    """
    digest = hashlib.sha1()
    for name, param in sorted(module.state_dict().items()):
        digest.update(name.encode("utf-8"))
        digest.update(param.detach().cpu().contiguous().numpy().tobytes())
    return digest.hexdigest()[:16]


class FrozenFeatureCache:
    """Per-utterance outputs of a frozen module over waveforms.

    Arguments
    ---------
    folder : str, optional
        Where the outputs are also saved (one file per utterance, under a
        subfolder named by the module's weights), for later runs.

    Example
    -------
    >>> cnn = torch.nn.Conv1d(1, 4, kernel_size=10, stride=5)
    >>> cnn.requires_grad_(False) and None
    >>> def extractor(wavs):  # [batch, samples] -> [batch, channels, frames]
    ...     return cnn(wavs.unsqueeze(1))
    >>> cache = FrozenFeatureCache()
    >>> wavs = torch.randn(2, 100)
    >>> lens = torch.tensor([1.0, 0.5])
    >>> out = cache(extractor, wavs, lens, cnn)
    >>> out.shape, cache.misses, cache.hits
    (torch.Size([2, 4, 19]), 2, 0)
    >>> torch.allclose(out[1, :, :9], extractor(wavs[1:, :50])[0])
    True
    >>> again = cache(extractor, wavs.flip(0), lens.flip(0), cnn)
    >>> cache.hits, torch.equal(again[1], out[0])
    (2, True)
    """

    def __init__(self, folder=None):
        self.folder = folder
        self.memory = {}
        self.prefix = None
        self.hits = self.misses = 0

    def __call__(self, extractor, wavs, wav_lens, module):
        """``extractor(wavs)`` as ``[batch, channels, frames]``, each
        utterance's real samples computed alone (and once), zero after its
        frames.

        Arguments
        ---------
        extractor : callable
            ``[batch, samples] -> [batch, channels, frames]``.
        wavs : torch.Tensor
            ``[batch, samples]``.
        wav_lens : torch.Tensor
            Relative lengths.
        module : torch.nn.Module
            The module behind ``extractor`` (its weights key the cache; it
            must be frozen).
        """
        if any(p.requires_grad for p in module.parameters()):
            raise ValueError(
                "FrozenFeatureCache: the cached module is trained (its "
                "outputs change); freeze it (e.g. freeze_cnn: True) or turn "
                "the cache off.")
        if self.prefix is None:  # weights are loaded by the first call
            self.prefix = module_fingerprint(module)
        samples = torch.round(wav_lens * wavs.shape[1]).long().tolist()
        outputs = [self._output(extractor, wavs[i:i + 1, :max(n, 1)])
                   for i, n in enumerate(samples)]
        frames = max(o.shape[-1] for o in outputs)
        batch = outputs[0].new_zeros(len(outputs), outputs[0].shape[0],
                                     frames)
        for i, out in enumerate(outputs):
            batch[i, :, :out.shape[-1]] = out
        return batch.to(wavs.device)

    def _output(self, extractor, wav):
        """One utterance's output, from memory, the folder or computed."""
        key = hashlib.sha1(
            wav.detach().cpu().contiguous().numpy().tobytes()).hexdigest()
        if key in self.memory:
            self.hits += 1
            return self.memory[key]
        path = None
        if self.folder:
            path = os.path.join(self.folder, self.prefix, key[:2],
                                f"{key}.pt")
            if os.path.isfile(path):
                self.hits += 1
                self.memory[key] = torch.load(path)
                return self.memory[key]
        self.misses += 1
        with torch.no_grad():
            out = extractor(wav)[0].detach().cpu()
        self.memory[key] = out
        if path:
            os.makedirs(os.path.dirname(path), exist_ok=True)
            tmp = f"{path}.{os.getpid()}.tmp"
            torch.save(out, tmp)
            os.replace(tmp, path)  # atomic: runs may share the folder
        return out


def make_cnn_cache(cnn_cache, frozen, owner):
    """The `FrozenFeatureCache` a YAML's ``cnn_cache`` asks for.

    Arguments
    ---------
    cnn_cache : str or bool or None
        ``None``/``False``: no cache; ``True``: in memory; a folder: also
        on disk.
    frozen : bool
        Whether the CNN is frozen (a cache needs it).
    owner : str
        The module's name, for the error.

    Example
    -------
    >>> make_cnn_cache(None, False, "x") is None
    True
    >>> make_cnn_cache(True, True, "x").folder is None
    True
    """
    if not cnn_cache:
        return None
    if not frozen:
        raise ValueError(f"{owner}: cnn_cache needs a frozen CNN (a trained "
                         "CNN's outputs change).")
    return FrozenFeatureCache(None if cnn_cache is True else str(cnn_cache))


def without_caches(module):
    """Turns off every frozen-CNN cache in ``module`` (e.g. before timing a
    run's model: a cache would skip the CNN).

    Example
    -------
    >>> from speechbrain_ee.distill.hubert import SSLEncoder, build_hubert
    >>> enc = SSLEncoder(build_hubert(
    ...     hidden_size=32, num_hidden_layers=1, num_attention_heads=4,
    ...     intermediate_size=64, conv_dim=16), cnn_cache=True)
    >>> without_caches(enc).cnn_cache is None
    True
    """
    for sub in module.modules():
        if getattr(sub, "cnn_cache", None) is not None:
            sub.cnn_cache = None
    return module
