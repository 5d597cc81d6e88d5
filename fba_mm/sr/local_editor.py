"""Local learning for stock mmagic SR editors."""
import copy
from collections import OrderedDict
from typing import List, Optional, Sequence, Union

import torch
import torch.nn as nn
from mmagic.registry import MODELS

from fba_mm.core import LocalLearner
from fba_mm.core.scope import scope_if_unset

from .layouts import check_editor


@MODELS.register_module()
class LocalLearningEditor(LocalLearner):
    """A stock mmagic SR editor (``BaseEditModel`` with EDSRNet, MSRResNet, RCANNet, RRDBNet, RDNNet or
    SwinIRNet) trained by supervised local learning with a feature bank (FBA).

    The generator's residual body is cut at ``split_points``. Module 1 also holds the stem (``conv_first``);
    the last module also holds the tail and is trained by the stock pixel loss; every other module by its
    auxiliary net (``aux_net``). The feature bank carries what the global skip needs (the shallow feature, or
    the LR input for MSRResNet) to the auxiliary nets and to the real tail; for RDN, whose tail fuses every body
    block's output, it also carries each block output of the earlier modules (one key per block). How a
    generator is read is its layout (:mod:`fba_mm.sr.layouts`). Testing runs the stock editor alone.

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
        use_bank (bool): auxiliary nets get the global skip (and RDN's earlier block outputs) from the bank
            (False: zeros, the ablation; the real tail still gets them).
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

    def _blocks_before(self, k: int) -> List[str]:
        """Names of the body blocks before module ``k`` (the prefix's and earlier modules')."""
        return self.prefix_blocks + [b for j in range(k) for b in self.module_blocks(j)]

    def forward_prefix(self, inputs: torch.Tensor):
        if self.stem_trainable:
            return inputs  # module 1 starts with the stem
        feat, skip = self.layout.forward_stem(self.generator, inputs)
        self.feature_bank.push('skip', skip)
        outputs = [] if self.layout.tail_reads_blocks else None
        feat = self.layout.run_blocks(self._blocks(self.prefix_blocks), feat, outputs=outputs)
        self._push_block_outputs(self.prefix_blocks, outputs)
        return feat

    def _push_block_outputs(self, names, outputs) -> None:
        # RDN's tail fuses every block's output: the bank carries those of the modules before the last
        for name, out in zip(names, outputs or ()):
            self.feature_bank.push(name, out)

    def forward_local(self, k: int, feat, data_samples):
        layout, bank = self.layout, self.feature_bank
        last = k == self.num_modules - 1
        skip = None  # live (with gradient) only in the module that computes it
        if k == 0 and self.stem_trainable:
            feat, skip = layout.forward_stem(self.generator, feat)
            if not last:
                bank.push('skip', skip)
        names = self.module_blocks(k)
        outputs = [] if layout.tail_reads_blocks else None  # this module's block outputs, live
        feat = layout.run_blocks(self._blocks(names), feat, self.with_cp, outputs)
        if last:
            # the real tail always gets what the stock net needs (even with use_bank=False: it cannot run without)
            if skip is None:
                skip = bank['skip']
            blocks = [bank[n] for n in self._blocks_before(k)] + outputs if layout.tail_reads_blocks else None
            out = layout.forward_tail(self.generator, feat, skip, blocks)
            return feat, dict(loss=self.architecture.pixel_loss(out, data_samples.gt_img))  # BaseEditModel's loss
        if layout.tail_reads_blocks:
            self._push_block_outputs(names, outputs)
        banked = bank.for_aux()  # {} with use_bank=False: the auxiliary net gets zeros instead
        if skip is None:
            skip = banked.get('skip')
        if not layout.tail_reads_blocks:
            return feat, self.aux_nets[k](feat, skip, data_samples)
        blocks = [banked.get(n) for n in self._blocks_before(k)] + outputs  # None: not in the bank
        return feat, self.aux_nets[k](feat, skip, data_samples, block_outputs=blocks)


__all__ = ['LocalLearningEditor']
