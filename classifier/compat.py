"""Compatibility shim that lets a CUDA torchvision wheel import beside a CPU torch.

The PyPI torchvision 0.28.0 wheel is a CUDA build. With the CPU torch wheel its C++
extension cannot load, so ``torchvision/_meta_registrations.py`` fails at import with
``RuntimeError: operator torchvision::nms does not exist`` (pytorch/vision#9085). transformers,
sentence-transformers, timm and open_clip all import torchvision, so they fail too.

:func:`ensure_torchvision` imports torchvision and, only when that exact failure happens,
declares schema-only ``torchvision::nms`` and ``torchvision::qnms`` operators (the signatures
torchvision itself declares), forgets the half-imported torchvision modules and imports again.
The ops have no kernel: calling them raises, which is fine because Taxoloop never runs NMS;
everything else in torchvision (transforms, models) is pure Python on top of torch.
Any other import error is re-raised untouched.
"""

from __future__ import annotations

import importlib
import logging
import sys
import threading
from types import ModuleType
from typing import Any

logger = logging.getLogger(__name__)

MISSING_NMS_MESSAGE = "operator torchvision::nms does not exist"

# The exact schemas torchvision's C++ extension declares (csrc/ops/nms.cpp, qnms_kernel.cpp).
TORCHVISION_SCHEMAS = {
    "nms": "nms(Tensor dets, Tensor scores, float iou_threshold) -> Tensor",
    "qnms": "qnms(Tensor dets, Tensor scores, float iou_threshold) -> Tensor",
}

_lock = threading.Lock()
_state: dict[str, Any] = {"done": False, "patched": False}
# Dropping the Library object would unregister the schemas, so it lives as long as the process.
_libraries: list[Any] = []


def ensure_torchvision() -> bool:
    """Import torchvision, patching the CPU-torch / CUDA-torchvision mismatch if needed.

    Idempotent and thread-safe; call it before importing transformers, timm or open_clip.

    Returns:
        True when the schema-only operators had to be registered, False when torchvision
        imported cleanly.

    Raises:
        Exception: whatever ``import torchvision`` raised, when it is not the known
            missing-``nms`` failure (or when the import still fails after patching).
    """
    with _lock:
        if not _state["done"]:
            _state["patched"] = _import_or_patch()
            _state["done"] = True
        return bool(_state["patched"])


def _import_or_patch() -> bool:
    try:
        _import_torchvision()
        return False
    except RuntimeError as error:
        if MISSING_NMS_MESSAGE not in str(error):
            raise
    _register_schema_only_ops()
    _forget_torchvision_modules()
    _import_torchvision()
    logger.warning(
        "torchvision's C++ ops do not match this CPU torch (pytorch/vision#9085); registered "
        "schema-only torchvision::nms/qnms so torchvision imports (NMS itself is unavailable)."
    )
    return True


def _import_torchvision() -> ModuleType:
    return importlib.import_module("torchvision")


def _register_schema_only_ops() -> None:
    import torch

    missing = [name for name in TORCHVISION_SCHEMAS if not _op_exists(torch, name)]
    if not missing:
        return
    # FRAGMENT, not DEF: another library may already own the "torchvision" namespace.
    library = torch.library.Library("torchvision", "FRAGMENT")
    for name in missing:
        library.define(TORCHVISION_SCHEMAS[name])
    _libraries.append(library)


def _op_exists(torch: Any, name: str) -> bool:
    try:
        getattr(torch.ops.torchvision, name)
    except (AttributeError, RuntimeError):
        return False
    return True


def _forget_torchvision_modules() -> None:
    # The failed import leaves submodules (torchvision.extension, ...) half-initialised.
    for name in [m for m in sys.modules if m == "torchvision" or m.startswith("torchvision.")]:
        del sys.modules[name]
