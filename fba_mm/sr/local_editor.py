"""Local learning for stock mmagic SR editors."""
import copy
from collections import OrderedDict
from typing import List, Optional, Sequence, Union

import torch
import torch.nn as nn
from mmagic.registry import MODELS

from fba_mm.core import LocalLearner
from fba_mm.core.scope import scope_if_unset

from .aux_nets import run_blocks
from .layouts import check_editor


@MODELS.register_module()
class LocalLearningEditor(LocalLearner):
    """A stock mmagic SR editor (``BaseEditModel`` with EDSRNet, MSRResNet or RCANNet) trained by supervised
    local learning with a feature bank (FBA).

    The generator's residual body is cut at ``split_points``. Module 1 also holds the stem (``conv_first``);
    the last module also holds the tail and is trained by the stock pixel loss; every other module by its
    auxiliary net (``aux_net``). The feature bank carries what the global skip needs (the shallow feature for
    EDSR/RCAN, the LR input for MSRResNet) to the auxiliary nets and to the real tail. Testing runs the stock
    editor alone.

    Example (``configs/sr/edsr_x2c64b16_fba-k4_1xb16-300k_div2k.py``)::

        _base_ = 'mmagic::edsr/edsr_x2c64b16_1xb16-300k_div2k.py'
        custom_imports = dict(imports=['fba_mm.sr'])
        model = dict(_delete_=True, type='LocalLearningEditor', architecture=_base_.model,
                     split_points=['body.4', 'body.8', 'body.12'], aux_net=dict(type='SLMAuxNet', depth=1))
        optim_wrapper = dict(constructor='LocalOptimWrapperConstructor')
        custom_hooks = [dict(type='BasicVisualizationHook', interval=1), dict(type='LocalLearningHook')]
        model_wrapper_cfg = dict(type='LocalDistributedDataParallel')

    Args:
        architecture (dict | nn.Module): the stock editor.
        split_points (list[str] | int): first blocks of modules 2..K (``'body.8'``), or K for K equal parts.
        aux_net (dict): the auxiliary-net strategy, built once per module 1..K-1.
        use_bank (bool): auxiliary nets get the global skip from the bank (False: zeros, the ablation).
        with_cp (bool): activation checkpointing of every body block (with K=1: end-to-end training with
            checkpointing, which the stock SR generators do not offer).
    """

    def __init__(self,
                 architecture: Union[dict, nn.Module],
                 split_points: Union[Sequence[str], int],
                 aux_net: dict = dict(type='SLMAuxNet'),
                 use_bank: bool = True,
                 with_cp: bool = False,
                 data_preprocessor: Optional[dict] = None,
                 init_cfg: Optional[dict] = None) -> None:
        with scope_if_unset('mmagic'):
            if isinstance(architecture, dict):
                architecture = MODELS.build(architecture)
            if isinstance(data_preprocessor, dict):
                data_preprocessor = MODELS.build(data_preprocessor)
        self.layout = check_editor(architecture)
        super().__init__(architecture, split_points, use_bank=use_bank, data_preprocessor=data_preprocessor,
                         init_cfg=init_cfg)
        self.with_cp = with_cp
        self.build_split()
        names = list(self.trunk_blocks())
        with scope_if_unset('mmagic'):
            # torch's ModuleList, out of reach of init_weights(): the aux nets are initialised when built (copies
            # from the main weights, or fresh_copy), and a tail copy must not run its generator's init_weights,
            # which touches the stem it lacks (MSRResNet's)
            self.aux_nets = nn.ModuleList()
            for k in range(self.num_modules - 1):
                end = names.index(self.module_blocks(k)[-1]) + 1
                self.aux_nets.append(MODELS.build(copy.deepcopy(aux_net), default_args=dict(
                    architecture=architecture, later_blocks=names[end:], module_index=k,
                    num_modules=self.num_modules)))

    @property
    def generator(self) -> nn.Module:
        return self.architecture.generator

    # ------------------------------------------------------------------ the adapter interface
    def trunk_blocks(self) -> 'OrderedDict[str, nn.Module]':
        body = self.layout.body
        return OrderedDict((f'{body}.{i}', block) for i, block in enumerate(getattr(self.generator, body)))

    def block_path(self, name: str) -> str:
        return f'architecture.generator.{name}'

    def stem_paths(self) -> List[str]:
        return [f'architecture.generator.{m}' for m in self.layout.stem]

    def head_paths(self) -> List[str]:
        return [f'architecture.generator.{m}' for m in self.layout.tail]

    def split_hint(self) -> str:
        n = len(getattr(self.generator, self.layout.body))
        return (f'({type(self.generator).__name__} has {n} body blocks, '
                f'{self.layout.body}.0..{self.layout.body}.{n - 1}.)')

    # ------------------------------------------------------------------ forward
    def _blocks(self, names):
        return [self.get_submodule(self.block_path(n)) for n in names]

    def forward_prefix(self, inputs: torch.Tensor):
        if self.stem_trainable:
            return inputs  # module 1 starts with the stem
        feat, skip = self.layout.forward_stem(self.generator, inputs)
        self.feature_bank.push('skip', skip)
        return run_blocks(self._blocks(self.prefix_blocks), feat)

    def forward_local(self, k: int, feat, data_samples):
        last = k == self.num_modules - 1
        skip = None  # live (with gradient) only in the module that computes it
        if k == 0 and self.stem_trainable:
            feat, skip = self.layout.forward_stem(self.generator, feat)
            if not last:
                self.feature_bank.push('skip', skip)
        feat = run_blocks(self._blocks(self.module_blocks(k)), feat, self.with_cp)
        if last:
            if skip is None:
                skip = self.feature_bank['skip']
            out = self.layout.forward_tail(self.generator, feat, skip)
            return feat, dict(loss=self.architecture.pixel_loss(out, data_samples.gt_img))  # BaseEditModel's loss
        if skip is None:
            skip = self.feature_bank.for_aux().get('skip')
        return feat, self.aux_nets[k](feat, skip, data_samples)


__all__ = ['LocalLearningEditor']
