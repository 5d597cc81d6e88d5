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
    """Load local checkpoints with ``weights_only=False``, as mmengine did before torch 2.6.

    mmengine 0.10.7 calls ``torch.load`` without ``weights_only``; since torch 2.6 that defaults to True
    and every mmengine checkpoint (its ``meta`` and ``message_hub`` hold Python objects) fails to load,
    so ``--resume`` breaks. Only files the user names are loaded, as before.
    """
    from mmengine.runner.checkpoint import CheckpointLoader

    if getattr(CheckpointLoader, '_fba_mm_patched', False):
        return

    @CheckpointLoader.register_scheme(prefixes='', force=True)
    def load_from_local(filename, map_location):
        import os.path as osp
        filename = osp.expanduser(filename)
        if not osp.isfile(filename):
            raise FileNotFoundError(f'{filename} can not be found.')
        return torch.load(filename, map_location=map_location, weights_only=False)

    CheckpointLoader._fba_mm_patched = True


def apply() -> None:
    patch_torchvision_operators()
    patch_checkpoint_loading()
