import importlib
import logging
import subprocess
import sys

import pytest

from classifier import compat

FRESH_PROCESS = """
import logging
logging.basicConfig(format="%(levelname)s %(message)s")
from classifier.compat import ensure_torchvision
print("patched" if ensure_torchvision() else "clean")
import torchvision.transforms, timm, open_clip, sentence_transformers
print("imports ok")
"""


@pytest.mark.slow
def test_it_makes_torchvision_and_the_libraries_that_need_it_importable():
    compat.ensure_torchvision()
    for name in ("torchvision.transforms", "timm", "open_clip", "sentence_transformers"):
        assert importlib.import_module(name).__name__ == name


def test_it_is_harmless_to_call_twice():
    first = compat.ensure_torchvision()
    torchvision = sys.modules["torchvision"]
    assert compat.ensure_torchvision() == first
    assert sys.modules["torchvision"] is torchvision


@pytest.mark.slow
def test_it_logs_one_warning_in_a_fresh_process_only_when_it_patches():
    done = subprocess.run(
        [sys.executable, "-c", FRESH_PROCESS], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    patched = done.stdout.startswith("patched")
    assert "imports ok" in done.stdout
    assert done.stderr.count("pytorch/vision#9085") == (1 if patched else 0)


def test_it_reraises_any_other_import_error(monkeypatch):
    monkeypatch.setitem(compat._state, "done", False)

    def broken_import():
        raise RuntimeError("operator torchvision::roi_align does not exist")

    monkeypatch.setattr(compat, "_import_torchvision", broken_import)
    with pytest.raises(RuntimeError, match="roi_align"):
        compat.ensure_torchvision()


def test_it_registers_the_ops_and_retries_only_on_the_known_failure(monkeypatch, caplog):
    monkeypatch.setitem(compat._state, "done", False)
    calls = []
    failures = [RuntimeError("operator torchvision::nms does not exist")]

    def flaky_import():
        calls.append("import")
        if failures:
            raise failures.pop()

    monkeypatch.setattr(compat, "_import_torchvision", flaky_import)
    monkeypatch.setattr(compat, "_register_schema_only_ops", lambda: calls.append("register"))
    monkeypatch.setattr(compat, "_forget_torchvision_modules", lambda: calls.append("forget"))
    with caplog.at_level(logging.WARNING, logger="classifier.compat"):
        assert compat.ensure_torchvision() is True
    assert calls == ["import", "register", "forget", "import"]
    assert len(caplog.records) == 1


def test_it_declares_the_same_schemas_as_torchvision():
    assert compat.TORCHVISION_SCHEMAS == {
        "nms": "nms(Tensor dets, Tensor scores, float iou_threshold) -> Tensor",
        "qnms": "qnms(Tensor dets, Tensor scores, float iou_threshold) -> Tensor",
    }
