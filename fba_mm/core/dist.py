import os

import torch
import torch.distributed as dist


def init_cpu_distributed(launcher: str) -> None:
    """Start a gloo process group when launched with torchrun on a machine without CUDA.

    mmengine's ``init_dist`` calls ``torch.cuda.set_device`` and fails there; once a group exists the
    Runner uses it as it is.
    """
    if launcher == 'none' or torch.cuda.is_available() or dist.is_initialized():
        return
    if launcher != 'pytorch':
        raise RuntimeError(f'--launcher {launcher} without CUDA: only --launcher pytorch (torchrun) runs on CPU')
    dist.init_process_group(backend='gloo', rank=int(os.environ['RANK']), world_size=int(os.environ['WORLD_SIZE']))
