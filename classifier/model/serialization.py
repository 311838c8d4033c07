"""Save and load a fitted :class:`HierarchicalClassifier` as ``config.json`` + safetensors."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
from safetensors.torch import load_file, save_file

from classifier.model.network import CommitteeNet
from classifier.tree import Tree

if TYPE_CHECKING:
    from classifier.model.estimator import HierarchicalClassifier

FORMAT_VERSION = 1
CONFIG = "config.json"
WEIGHTS = "weights.safetensors"


def save(model: HierarchicalClassifier, directory: Path) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    tree = model.tree
    config: dict[str, Any] = {
        "format_version": FORMAT_VERSION,
        "params": model.get_params(),
        "tree": {
            "keys": list(tree.keys),
            "parents": [int(p) for p in tree.parents],
            "names": list(tree.names),
        },
        "modalities": model.modalities_,
        "dims": model.dims_,
        "members": model.members_,
        "temperature": model.temperature_,
        "n_epochs": model.n_epochs_,
        "warm_started": model.warm_started_,
        "has_zero_shot": model.zero_shot_ is not None,
    }
    tensors = {
        f"net.{k}": v.detach().cpu().contiguous() for k, v in model.net_.state_dict().items()
    }
    tensors["leaf_counts"] = torch.from_numpy(model.leaf_counts_.astype(np.int64))
    for m, p in model.prototypes_.items():
        tensors[f"prototypes.{m}"] = torch.from_numpy(np.ascontiguousarray(p))
    if model.zero_shot_ is not None:
        tensors["zero_shot"] = torch.from_numpy(np.ascontiguousarray(model.zero_shot_))
    (directory / CONFIG).write_text(json.dumps(config, indent=2))
    save_file(tensors, str(directory / WEIGHTS))


def load(
    directory: Path, model_class: type[HierarchicalClassifier], *, device: str = "cpu"
) -> HierarchicalClassifier:
    """Rebuild a model written by :func:`save`; ``model_class`` is ``HierarchicalClassifier``
    (passed in: the estimator imports this module)."""
    config = json.loads((directory / CONFIG).read_text())
    if config.get("format_version") != FORMAT_VERSION:
        raise ValueError(f"unsupported model format {config.get('format_version')!r}")
    t = config["tree"]
    tree = Tree(keys=tuple(t["keys"]), parents=np.array(t["parents"]), names=tuple(t["names"]))
    params = {**config["params"], "device": device}
    model = model_class(tree, **params)
    tensors = load_file(str(directory / WEIGHTS))
    model.modalities_ = list(config["modalities"])
    model.dims_ = {m: int(d) for m, d in config["dims"].items()}
    model.net_ = CommitteeNet(model.dims_, tree.n_leaves, model.bottleneck)
    net_state = {k[len("net.") :]: v for k, v in tensors.items() if k.startswith("net.")}
    model.net_.load_state_dict(net_state)
    model.net_.to(device).eval()
    model.members_ = list(config["members"])
    model.temperature_ = float(config["temperature"])
    model.n_epochs_ = int(config["n_epochs"])
    # Files written before warm starts existed lack the key: they were all cold-started.
    model.warm_started_ = bool(config.get("warm_started", False))
    model.leaf_counts_ = tensors["leaf_counts"].numpy()
    model.prototypes_ = {m: tensors[f"prototypes.{m}"].numpy() for m in model.modalities_}
    model.zero_shot_ = tensors["zero_shot"].numpy() if config["has_zero_shot"] else None
    return model
