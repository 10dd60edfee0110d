"""Several languages, domains or tasks over one frozen routed model: one
packed mask set (1 bit per routed weight) and one head per task; switching
task = loading its masks and using its head (spec ``s3_router.md``,
"Multilingual / multitask").

Each task's masks and head come from a run of the CTC recipe with a routed
encoder (``s3router_ctc.yaml``) trained on that task's data; every run
must route the same frozen weights (`TaskRouter.add_task` checks the
routed weights' fingerprint).

Authors
-------
* speechbrain-ee contributors 2026
"""

import torch
from torch import nn

from speechbrain_ee.routing.masks import load_masks, pack_masks, routed_layers


def routed_fingerprint(model):
    """A checksum of the routed layers' weights: equal for two models that
    route the same frozen weights.

    Example
    -------
    >>> from speechbrain_ee.routing.masks import route
    >>> torch.manual_seed(0) and None
    >>> net = nn.Sequential(nn.Linear(4, 4))
    >>> _ = route(net, 0.5, patterns=[r"^0$"])
    >>> routed_fingerprint(net) == routed_fingerprint(net)
    True
    """
    total = torch.zeros((), dtype=torch.float64)
    for index, (_, layer) in enumerate(sorted(routed_layers(model).items())):
        weight = layer.weight.detach().double().flatten()
        positions = torch.arange(1, weight.numel() + 1, dtype=torch.float64)
        total += (index + 1) * (weight * positions.sqrt()).sum()
    return round(float(total), 6)


class TaskRouter(nn.Module):
    """One frozen routed encoder, a mask set and a head per task.

    Arguments
    ---------
    encoder : torch.nn.Module
        A routed encoder (e.g. `RoutedEncoder`); its weights are shared by
        every task.

    Example
    -------
    >>> from speechbrain_ee.routing.masks import route
    >>> torch.manual_seed(0) and None
    >>> encoder = nn.Sequential(nn.Linear(8, 8), nn.ReLU())
    >>> _ = route(encoder, 0.5, patterns=[r"^0$"])
    >>> router = TaskRouter(encoder)
    >>> router.add_task("a", pack_masks(encoder), nn.Linear(8, 3))
    >>> with torch.no_grad():
    ...     _ = encoder[0].scores.copy_(torch.randn(8, 8))
    >>> router.add_task("b", pack_masks(encoder), nn.Linear(8, 5))
    >>> x = torch.randn(2, 8)
    >>> router.use("a"); out_a = router(x)
    >>> router.use("b"); router(x).shape
    torch.Size([2, 5])
    >>> router.use("a"); torch.equal(router(x), out_a)
    True
    >>> router.task_bits("a")["mask_bits_per_routed_weight"]
    1.0
    """

    def __init__(self, encoder):
        super().__init__()
        self.encoder = encoder
        self.heads = nn.ModuleDict()
        self.masks = {}
        self.active = None
        self.fingerprint = routed_fingerprint(encoder)
        if not routed_layers(encoder):
            raise ValueError("TaskRouter: the encoder has no routed layer.")

    def add_task(self, name, masks, head, fingerprint=None):
        """Adds a task.

        Arguments
        ---------
        name : str
            The task (language, domain) name.
        masks : dict
            Its packed masks (`pack_masks`).
        head : torch.nn.Module
            Its head (e.g. the CTC layer).
        fingerprint : float, optional
            `routed_fingerprint` of the model the masks were learned on;
            refused if it differs from this router's (other frozen
            weights).
        """
        if fingerprint is not None and fingerprint != self.fingerprint:
            raise ValueError(
                f"task {name!r}: its masks were learned over other frozen "
                "weights (routed-weight fingerprint "
                f"{fingerprint} != {self.fingerprint}); every task must "
                "route the same pretrained model.")
        shapes = {n: list(layer.weight.shape)
                  for n, layer in routed_layers(self.encoder).items()}
        wrong = [n for n, shape in shapes.items()
                 if n not in masks or list(masks[n]["shape"]) != shape]
        if wrong:
            raise ValueError(
                f"task {name!r}: no mask of the right shape for the routed "
                f"layers {wrong[:3]}; was it learned on this model?")
        self.masks[name] = masks
        self.heads[name] = head

    def use(self, name):
        """Switches to task ``name``: its masks and its head."""
        if name not in self.masks:
            raise KeyError(f"unknown task {name!r}; the tasks are "
                           f"{sorted(self.masks)}.")
        load_masks(self.encoder, self.masks[name])
        self.active = name

    def forward(self, *inputs):
        """The active task's head over the routed encoder's output."""
        if self.active is None:
            raise RuntimeError("TaskRouter: choose a task with use() first.")
        return self.heads[self.active](self.encoder(*inputs))

    def task_bits(self, name):
        """What one task adds to the shared model.

        Returns
        -------
        dict
            ``mask_bits`` (packed masks, 1 per routed weight),
            ``head_bits`` (32 per head parameter), ``routed_weights``,
            ``mask_bits_per_routed_weight`` and ``copy_bits`` (a fine-tuned
            copy of the routed weights and the head at 32 bits).
        """
        routed = sum(int(torch.tensor(entry["shape"]).prod())
                     for entry in self.masks[name].values())
        stored = sum(entry["bits"].numel() * 8
                     for entry in self.masks[name].values())
        head = sum(p.numel() for p in self.heads[name].parameters())
        return {"routed_weights": routed, "mask_bits": stored,
                "head_bits": 32 * head,
                "mask_bits_per_routed_weight": stored / max(routed, 1),
                "copy_bits": 32 * (routed + head)}

    def save_tasks(self, path):
        """Saves every task's packed masks and head (not the shared
        weights)."""
        torch.save({"fingerprint": self.fingerprint, "masks": self.masks,
                    "heads": {n: h.state_dict()
                              for n, h in self.heads.items()}}, path)

    def load_tasks(self, path, make_head):
        """Adds the tasks saved by `save_tasks`.

        Arguments
        ---------
        path : str
            The saved file.
        make_head : callable
            ``make_head(name) -> nn.Module`` of the right shape, filled
            with the saved head.
        """
        saved = torch.load(path, map_location="cpu")
        for name, masks in saved["masks"].items():
            head = make_head(name)
            head.load_state_dict(saved["heads"][name])
            self.add_task(name, masks, head, saved["fingerprint"])


def current_task(encoder):
    """``(packed masks, fingerprint)`` of a routed encoder's current masks,
    the arguments `TaskRouter.add_task` takes from a trained run."""
    return pack_masks(encoder), routed_fingerprint(encoder)
