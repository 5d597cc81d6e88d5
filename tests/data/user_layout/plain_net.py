"""A user's own backbone and its layout, outside fba_mm: what a project adds to cut a new network.

Imported by a config's ``custom_imports=dict(imports=['plain_net'])``, as mmdet's ``projects/`` do.
"""
from collections import OrderedDict

import torch.nn as nn
from mmdet.registry import MODELS
from mmengine.model import BaseModule

from fba_mm.core import LAYOUTS
from fba_mm.det.layouts import BackboneLayout


def conv_bn_relu(cin, cout, stride=1):
    return nn.Sequential(nn.Conv2d(cin, cout, 3, stride, 1, bias=False), nn.BatchNorm2d(cout), nn.ReLU())


@MODELS.register_module()
class PlainNet(BaseModule):
    """A VGG-like backbone: a stride-4 stem, then stages of conv-BN-ReLU blocks, each stage halving the size."""

    def __init__(self, channels=(16, 32, 64, 128), depths=(2, 2, 2, 2), out_indices=(0, 1, 2, 3), init_cfg=None):
        super().__init__(init_cfg=init_cfg)
        self.channels, self.out_indices = tuple(channels), tuple(out_indices)
        self.stem = nn.Sequential(conv_bn_relu(3, channels[0], 2), nn.MaxPool2d(3, 2, 1))
        stages, cin = [], channels[0]
        for i, (c, d) in enumerate(zip(channels, depths)):
            stages.append(nn.Sequential(*[conv_bn_relu(cin if j == 0 else c, c, 2 if i and j == 0 else 1)
                                          for j in range(d)]))
            cin = c
        self.stages = nn.ModuleList(stages)

    def forward(self, x):
        x, outs = self.stem(x), []
        for i, stage in enumerate(self.stages):
            x = stage(x)
            if i in self.out_indices:
                outs.append(x)
        return tuple(outs)


@LAYOUTS.register_module()
class PlainNetLayout(BackboneLayout):
    """PlainNet cut into local modules: stem, the blocks of each stage, stage outputs for the neck."""
    network_types = (PlainNet, )

    def stem(self, net):
        return ['stem']

    def stages(self, net):
        return OrderedDict((f'stages.{i}', [f'stages.{i}.{j}' for j in range(len(stage))])
                           for i, stage in enumerate(net.stages))

    def forward_stem(self, net, x):
        return net.stem(x), {}

    def stage_channels(self, net):
        return list(net.channels)

    def stage_strides(self, net):
        return [1, 2, 2, 2]
