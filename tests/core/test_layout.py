"""The layout contract (fba_mm.core.layout): finding a network's layout, and partial copies of a network."""
from collections import OrderedDict

import pytest
import torch
import torch.nn as nn

from fba_mm.core import LAYOUTS, ConfigError, Layout, find_layout, partial_copy


class Net(nn.Module):

    def __init__(self):
        super().__init__()
        self.stem = nn.Conv2d(3, 4, 3, padding=1)
        self.act = nn.ReLU()
        self.stages = nn.ModuleList([nn.Sequential(nn.Conv2d(4, 4, 3, padding=1), nn.BatchNorm2d(4))
                                     for _ in range(2)])
        self.register_buffer('scale', torch.tensor(2.0))


class SubNet(Net):
    pass


class OtherLayout(Layout):  # not a kind a task asks for
    network_types = (Net, )


@LAYOUTS.register_module(force=True)
class NetLayout(Layout):
    network_types = (Net, )

    def stages(self, net):
        return OrderedDict((f'stages.{i}', [f'stages.{i}.{j}' for j in range(len(s))])
                           for i, s in enumerate(net.stages))


@LAYOUTS.register_module(force=True)
class SubNetLayout(NetLayout):
    network_types = (SubNet, )


def test_the_closest_class_in_the_mro_wins():
    assert type(find_layout(Net())) is NetLayout
    assert type(find_layout(SubNet())) is SubNetLayout
    assert type(find_layout(SubNet(), dict(type='NetLayout'))) is NetLayout  # named explicitly


def test_unknown_layouts_and_networks_say_what_exists():
    with pytest.raises(ConfigError, match=r"layout=.*'Nope'.*no such layout is registered.*NetLayout.*custom_imports"):
        find_layout(Net(), dict(type='Nope'))
    with pytest.raises(ConfigError, match=r'layout=.*is not a NetLayout'):
        find_layout(Net(), dict(type=OtherLayout), kind=NetLayout)
    with pytest.raises(ConfigError, match=r'network Linear has no layout.*registered for: .*Net.*register a Layout'):
        find_layout(nn.Linear(2, 2))


def test_the_layout_keeps_the_whole_network_s_structure_for_partial_copies():
    net = Net()
    layout = find_layout(net)
    part = partial_copy(net, ['stages.1.0'])
    assert layout.blocks(part) == ['stages.0.0', 'stages.0.1', 'stages.1.0', 'stages.1.1']
    assert layout.stage_ends(part) == {'stages.0.1': 0, 'stages.1.1': 1}


def test_a_partial_copy_holds_copies_of_the_named_parts_only():
    net = Net()
    part = partial_copy(net, ['stages.1.0'])
    assert [n for n, _ in part.named_parameters()] == ['stages.1.0.weight', 'stages.1.0.bias']
    assert part.get_submodule('stages.1.0').weight is not net.stages[1][0].weight  # a copy
    assert torch.equal(part.get_submodule('stages.1.0').weight, net.stages[1][0].weight)
    assert isinstance(part.act, nn.ReLU) and torch.equal(part.scale, net.scale)  # parameter-free parts come along
    assert not hasattr(part, 'stem') and 'stages.1.1' not in dict(part.named_modules())
    part.train(False)
    assert net.training  # its own module state
