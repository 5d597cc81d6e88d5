"""Local learning for stock mmdet detectors."""
import copy
from collections import OrderedDict
from typing import Dict, List, Optional, Sequence, Union

import torch
import torch.nn as nn
from mmdet.registry import MODELS
from mmengine.model import ModuleList

from fba_mm.core import LocalLearner
from fba_mm.core.scope import scope_if_unset

from .utils import check_supported, loss_from_features, stage_channels


@MODELS.register_module()
class LocalLearningDetector(LocalLearner):
    """A stock mmdet detector (any ``BaseDetector`` with a ResNet-family backbone: Faster/Mask/Cascade R-CNN,
    RetinaNet, FCOS, ATSS, ...) trained by supervised local learning with a feature bank (FBA).

    The backbone's blocks are cut at ``split_points``. The stem and frozen stages (``frozen_stages``) are the
    gradient-free prefix; every other module is trained by its auxiliary net (``aux_net``, one per module but
    the last), and the last module together with the neck and the stock heads by the stock loss. The feature
    bank carries the detached stage outputs (C2..C5) to later auxiliary nets and to the real neck. Testing runs
    the stock detector alone.

    Example (``configs/det/faster-rcnn_r50_fpn_fba-k4_1x_coco.py``)::

        _base_ = 'mmdet::faster_rcnn/faster-rcnn_r50_fpn_1x_coco.py'
        custom_imports = dict(imports=['fba_mm.det'])
        model = dict(_delete_=True, type='LocalLearningDetector', architecture=_base_.model,
                     split_points=['layer2.2', 'layer3', 'layer4'], aux_net=dict(type='SLMAuxNet', depth=1))
        optim_wrapper = dict(constructor='LocalOptimWrapperConstructor')
        custom_hooks = [dict(type='LocalLearningHook')]
        model_wrapper_cfg = dict(type='LocalDistributedDataParallel')

    Args:
        architecture (dict | nn.Module): the stock detector.
        split_points (list[str] | int): first blocks of modules 2..K (``'layer3'``, ``'layer2.2'``), or K.
        aux_net (dict): the auxiliary-net strategy (``SLMAuxNet``, ``DGLAuxNet``, ``AugLocAuxNet`` or any
            registered component), built once per module k < K-1 with ``architecture``, ``architecture_cfg``,
            ``live_stage`` (stage of module k's last block), ``module_index`` (k), ``num_modules`` (K) and
            ``later_blocks`` (the trunk blocks after module k). It maps ``({stage: feature}, data_samples)`` to
            losses; ``init_from_architecture(architecture)``, if it has one, runs after pretrained weights load.
        use_bank (bool): auxiliary nets read earlier stages from the bank (False: zeros, the ablation).
    """

    def __init__(self,
                 architecture: Union[dict, nn.Module],
                 split_points: Union[Sequence[str], int],
                 aux_net: dict = dict(type='SLMAuxNet'),
                 use_bank: bool = True,
                 data_preprocessor: Optional[dict] = None,
                 init_cfg: Optional[dict] = None) -> None:
        architecture_cfg = copy.deepcopy(architecture) if isinstance(architecture, dict) else None
        with scope_if_unset('mmdet'):
            if isinstance(architecture, dict):
                architecture = MODELS.build(architecture)
            if isinstance(data_preprocessor, dict):
                data_preprocessor = MODELS.build(data_preprocessor)
        backbone = check_supported(architecture)
        super().__init__(architecture, split_points, use_bank=use_bank, data_preprocessor=data_preprocessor,
                         init_cfg=init_cfg)
        self._stage_channels = stage_channels(backbone)
        self._stage_of = {}
        self._stage_end = set()
        for s, layer_name in enumerate(backbone.res_layers):
            layer = getattr(backbone, layer_name)
            for j in range(len(layer)):
                self._stage_of[f'{layer_name}.{j}'] = s
            self._stage_end.add(f'{layer_name}.{len(layer) - 1}')
        self.build_split()
        blocks = list(self.trunk_blocks())
        with scope_if_unset('mmdet'):
            # mmengine's ModuleList, so that init_weights() reaches auxiliary nets with fresh layers
            self.aux_nets = ModuleList([
                MODELS.build(copy.deepcopy(aux_net), default_args=dict(
                    architecture=architecture, architecture_cfg=architecture_cfg, live_stage=self._live_stage(k),
                    module_index=k, num_modules=self.num_modules,
                    later_blocks=blocks[blocks.index(self.module_blocks(k)[-1]) + 1:]))
                for k in range(self.num_modules - 1)
            ])

    @property
    def backbone(self):
        return self.architecture.backbone

    def _live_stage(self, k: int) -> int:
        return self._stage_of[self.module_blocks(k)[-1]]

    # ------------------------------------------------------------------ the adapter interface
    def trunk_blocks(self) -> 'OrderedDict[str, nn.Module]':
        blocks = OrderedDict()
        for layer_name in self.backbone.res_layers:
            for j, block in enumerate(getattr(self.backbone, layer_name)):
                blocks[f'{layer_name}.{j}'] = block
        return blocks

    def block_path(self, name: str) -> str:
        return f'architecture.backbone.{name}'

    def stem_paths(self) -> List[str]:
        stem = ['stem'] if self.backbone.deep_stem else ['conv1', self.backbone.norm1_name]
        return [f'architecture.backbone.{m}' for m in stem]

    def head_paths(self) -> List[str]:
        return [f'architecture.{name}' for name, child in self.architecture.named_children()
                if name not in ('backbone', 'data_preprocessor') and child is not None
                and any(True for _ in child.parameters())]

    def split_hint(self) -> str:
        return (f'(frozen_stages={self.backbone.frozen_stages}: the stem'
                f'{" and layer1..layer%d" % self.backbone.frozen_stages if self.backbone.frozen_stages > 0 else ""} '
                'are the gradient-free prefix.)')

    # ------------------------------------------------------------------ forward
    def _stem(self, x):
        bb = self.backbone
        x = bb.stem(x) if bb.deep_stem else bb.relu(bb.norm1(bb.conv1(x)))
        return bb.maxpool(x)

    def _run_blocks(self, names, x, push: bool):
        """Run blocks; return the output and the stage outputs completed on the way (live, with gradients)."""
        completed = {}
        for name in names:
            x = self.get_submodule(self.block_path(name))(x)
            if name in self._stage_end:
                stage = self._stage_of[name]
                completed[stage] = x
                if push and stage in self.backbone.out_indices:
                    self.feature_bank.push(f'stage{stage}', x)
        return x, completed

    def forward_prefix(self, inputs: torch.Tensor):
        if self.stem_trainable:
            return inputs  # module 1 starts with the stem
        x, _ = self._run_blocks(self.prefix_blocks, self._stem(inputs), push=True)
        return x

    def forward_local(self, k: int, x, data_samples):
        last = k == self.num_modules - 1
        if k == 0 and self.stem_trainable:
            x = self._stem(x)
        x, completed = self._run_blocks(self.module_blocks(k), x, push=not last)
        out_indices = self.backbone.out_indices
        if last:
            feats = [completed[i] if i in completed else self.feature_bank[f'stage{i}'] for i in out_indices]
            neck = getattr(self.architecture, 'neck', None)
            return x, loss_from_features(self.architecture, neck(tuple(feats)) if neck is not None else feats,
                                         data_samples)
        live_stage = self._live_stage(k)
        bank = self.feature_bank.for_aux()
        stage_feats: Dict[int, torch.Tensor] = {}
        for i in out_indices:
            if i < live_stage:
                if i in completed:
                    stage_feats[i] = completed[i]
                elif f'stage{i}' in bank:
                    stage_feats[i] = bank[f'stage{i}']
        stage_feats[live_stage] = x
        return x, self.aux_nets[k](stage_feats, data_samples)


__all__ = ['LocalLearningDetector']
