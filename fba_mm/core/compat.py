"""Two narrow fixes that make the pinned stack (torch 2.13 CPU, mmengine 0.10.7) usable.

Both are applied once, when :mod:`fba_mm` is imported, and do nothing where they are not needed.
"""
import torch


def patch_torchvision_operators() -> None:
    """Let torchvision's pure-Python parts import beside a torch it was not built for.

    PyPI's torchvision 0.28 is a CUDA build; next to the CPU torch its compiled ops do not load and
    ``import torchvision`` fails in its meta registrations with ``operator torchvision::nms does not
    exist``. mmagic imports torchvision, and mmdet/mmengine reach it through ``transformers`` and
    ``collect_env``. Declaring the two operator schemas it registers meta kernels for is enough for the
    import; ``torchvision.ops.nms``/``roi_align`` still do not run there, so fba_mm uses ``mmcv.ops``.
    """
    try:
        torch.ops.torchvision.nms  # noqa: B018  (exists where torch and torchvision match)
        return
    except (AttributeError, RuntimeError):
        pass
    lib = torch.library.Library('torchvision', 'DEF')  # noqa: TOR101
    lib.define('nms(Tensor dets, Tensor scores, float iou_threshold) -> Tensor')
    lib.define('qnms(Tensor dets, Tensor scores, float iou_threshold) -> Tensor')
    # keep the library object alive, or the definitions are dropped with it
    patch_torchvision_operators._lib = lib


def patch_checkpoint_loading() -> None:
    """Load local checkpoints safely on torch >= 2.6: ``weights_only=True`` with an allowlist of exactly the types
    mmengine checkpoints hold (:func:`fba_mm.core.checkpoint.load_checkpoint_file`).

    mmengine 0.10.7 calls ``torch.load`` without ``weights_only``; torch >= 2.6 defaults that to True and refuses
    every mmengine checkpoint (its ``message_hub`` holds Python objects), so ``--resume`` breaks. Turning
    ``weights_only`` off would let any checkpoint run code; the allowlist applies to each load only.
    """
    from mmengine.runner.checkpoint import CheckpointLoader

    from .checkpoint import load_checkpoint_file

    if getattr(CheckpointLoader, '_fba_mm_patched', False):
        return
    @CheckpointLoader.register_scheme(prefixes='', force=True)
    def load_from_local(filename, map_location):  # the name mmengine's log line shows ('by local backend')
        return load_checkpoint_file(filename, map_location)

    CheckpointLoader._fba_mm_patched = True


def apply() -> None:
    patch_torchvision_operators()
    patch_checkpoint_loading()
