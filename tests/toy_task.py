"""A tiny classification task for the engine's tests: a stock 4-stage CNN and its local learner.

The engine is task-agnostic; this is the smallest task adapter that exercises all of it (prefix, split,
auxiliary nets, real head, bank) and trains in milliseconds on CPU.
"""
from collections import OrderedDict

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.dataset import BaseDataset
from mmengine.evaluator import BaseMetric
from mmengine.model import BaseModel
from mmengine.registry import DATASETS, METRICS, MODELS

from fba_mm.core import AuxNet, LocalLearner


def conv_bn_relu(cin, cout, stride=1, norm=True):
    if not norm:  # no batch statistics: a batch's gradient is the mean of its samples' gradients
        return nn.Sequential(nn.Conv2d(cin, cout, 3, stride, 1), nn.ReLU())
    return nn.Sequential(nn.Conv2d(cin, cout, 3, stride, 1, bias=False), nn.BatchNorm2d(cout), nn.ReLU())


@MODELS.register_module()
class ToyCNN(BaseModel):
    """Stem (frozen) + 4 stages of 2 blocks + linear classifier; ``forward(mode='loss')`` as a stock model.
    ``norm=False`` builds every block as conv+ReLU (with a conv bias) instead of conv+BN+ReLU."""

    def __init__(self, channels=(8, 16, 32, 64), strides=(1, 2, 2, 2), num_classes=4, frozen_stem=True,
                 data_preprocessor=None, init_cfg=None, norm=True):
        super().__init__(data_preprocessor=data_preprocessor or dict(type='BaseDataPreprocessor'), init_cfg=init_cfg)
        self.stem = conv_bn_relu(3, channels[0], norm=norm)
        stages, cin = [], channels[0]
        for c, s in zip(channels, strides):
            stages.append(nn.Sequential(conv_bn_relu(cin, c, s, norm), conv_bn_relu(c, c, norm=norm)))
            cin = c
        self.stages = nn.Sequential(*stages)
        self.head = nn.Linear(cin, num_classes)
        if frozen_stem:
            self.stem.requires_grad_(False)

    def head_loss(self, feat, labels):
        return dict(loss_cls=F.cross_entropy(self.head(feat.mean((2, 3))), labels))

    def forward(self, inputs, data_samples=None, mode='tensor'):
        feat = self.stages(self.stem(inputs))
        if mode == 'loss':
            return self.head_loss(feat, data_samples)
        logits = self.head(feat.mean((2, 3)))
        if mode == 'predict':
            return [dict(pred=p, gt=g) for p, g in zip(logits.argmax(1), data_samples)]
        return logits


class ToyAuxNet(AuxNet):
    """A linear classifier of pooled features: fresh layers, no mirrors."""

    def __init__(self, width, num_classes):
        super().__init__()
        self.linear = nn.Linear(width, num_classes)

    def forward(self, x):
        return self.linear(x)


@MODELS.register_module()
class ToyLocalCNN(LocalLearner):
    """Local learner for :class:`ToyCNN`: auxiliary net = global pool of the live feature and of every bank
    feature, then a linear classifier (bank features make the auxiliary input wider, so ``use_bank`` matters)."""

    def __init__(self, architecture, split_points, use_bank=True, poison=None, **kwargs):
        super().__init__(architecture, split_points, use_bank=use_bank, **kwargs)
        # dict(module=2, iters=[1], ranks=[1]): module 2's loss is NaN at those iterations (runner.iter, 0-based)
        # on those ranks, a diverging auxiliary net on demand
        self.poison = poison

    def build_aux_nets(self, aux_net):
        num_classes = self.architecture.head.out_features
        aux = []
        for k in range(self.num_modules - 1):
            blocks = [self.trunk_blocks()[b] for b in self.module_blocks(k)]
            width = blocks[-1][0].out_channels
            if self.feature_bank.enabled:
                width += sum(self.trunk_blocks()[b][0].out_channels
                             for j in range(k) for b in self.module_blocks(j)[-1:])
            aux.append(ToyAuxNet(width, num_classes))
        self.aux_nets = nn.ModuleList(aux)

    def trunk_blocks(self):
        return OrderedDict((f'stages.{i}.{j}', blk) for i, stage in enumerate(self.architecture.stages)
                           for j, blk in enumerate(stage))

    def block_path(self, name):
        return f'architecture.{name}'

    def head_paths(self):
        return ['architecture.head']

    def forward_prefix(self, inputs):
        return self.architecture.stem(inputs)

    def forward_local(self, k, feature, labels):
        for name in self.module_blocks(k):
            feature = self.architecture.get_submodule(name)(feature)
        if k == self.num_modules - 1:
            return feature, self.poisoned(k, self.architecture.head_loss(feature, labels))
        pooled = [f.mean((2, 3)) for f in self.feature_bank.for_aux().values()] + [feature.mean((2, 3))]
        self.feature_bank.push(f'm{k + 1}', feature)
        return feature, self.poisoned(k, dict(loss_aux=F.cross_entropy(self.aux_nets[k](torch.cat(pooled, 1)), labels)))

    def poisoned(self, k, losses):
        from mmengine.dist import get_rank
        from mmengine.logging import MessageHub
        p = self.poison
        if p and k + 1 == p['module'] and MessageHub.get_current_instance().get_info('iter') in p['iters'] \
                and get_rank() in p.get('ranks', [0]):
            return {key: v * float('nan') for key, v in losses.items()}
        return losses


@DATASETS.register_module()
class ToyShapes(BaseDataset):
    """Generated 4-class images: the class sets which quadrant is bright, plus noise. Learnable in a few steps."""

    def __init__(self, num_samples=32, size=32, seed=0, **kwargs):
        self.num_samples, self.size, self.seed = num_samples, size, seed
        super().__init__(serialize_data=False, **kwargs)

    def load_data_list(self):
        g = torch.Generator().manual_seed(self.seed)
        out, h = [], self.size // 2
        for i in range(self.num_samples):
            label = i % 4
            img = torch.randn(3, self.size, self.size, generator=g) * 0.5
            r, c = divmod(label, 2)
            img[:, r * h:(r + 1) * h, c * h:(c + 1) * h] += 1.5
            out.append(dict(inputs=img, data_samples=torch.tensor(label)))
        return out

    def prepare_data(self, idx):
        info = self.get_data_info(idx)
        return dict(inputs=info['inputs'], data_samples=info['data_samples'])


@METRICS.register_module()
class ToyAccuracy(BaseMetric):

    def process(self, data_batch, data_samples):
        self.results.extend(float(s['pred'] == s['gt']) for s in data_samples)

    def compute_metrics(self, results):
        return dict(accuracy=sum(results) / max(len(results), 1))


from mmengine.hooks import Hook  # noqa: E402
from mmengine.registry import HOOKS  # noqa: E402


@HOOKS.register_module()
class InterruptAfter(Hook):
    """Kills training right after iteration ``at`` (after its checkpoint is written), like a crash."""
    priority = 'LOWEST'

    def __init__(self, at):
        self.at = at

    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None):
        if runner.iter + 1 == self.at:
            raise SystemExit(3)


@HOOKS.register_module()
class DumpParams(Hook):
    """Saves every rank's parameters at the end of training, to compare ranks."""

    def after_train(self, runner):
        import os.path as osp
        model = runner.model.module if hasattr(runner.model, 'module') else runner.model
        torch.save({k: v.detach().cpu() for k, v in model.state_dict().items()},
                   osp.join(runner.work_dir, f'params_rank{runner.rank}.pth'))
        with open(osp.join(runner.work_dir, f'ddp_rank{runner.rank}.txt'), 'w') as f:
            f.write(' '.join(str(ddp.gradient_as_bucket_view) for ddp in getattr(runner.model, 'local_ddps', [])))
