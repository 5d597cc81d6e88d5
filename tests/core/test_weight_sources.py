"""Weight sources are registered strategies: a config names one (with its own arguments), a new one registers."""
import copy

import pytest
import torch
import torch.nn as nn

from fba_mm.core import WEIGHT_SOURCES, AuxNet, ConfigError
from fba_mm.core.weight_sources import CopyWeights


class Main(nn.Module):
    def __init__(self):
        super().__init__()
        self.head = nn.Linear(3, 2)


class Mirror(AuxNet):
    def __init__(self, main, weight_source):
        super().__init__()
        self.head = copy.deepcopy(main.head)
        self.mirror([('head', 'head')], weight_source=weight_source)

    def forward(self, x):
        return self.head(x)


def test_ema_takes_its_momentum_from_a_config_dict():
    main = Main()
    aux = Mirror(main, dict(type='ema', momentum=0.5))
    aux.init_from_architecture(main)
    before = aux.head.weight.detach().clone()
    with torch.no_grad():
        main.head.weight.add_(1.0)
    aux.update_from_architecture(main)
    assert torch.allclose(aux.head.weight, before + 0.5) and not aux.head.weight.requires_grad


def test_a_registered_weight_source_is_chosen_by_name():
    @WEIGHT_SOURCES.register_module('frozen_copy', force=True)
    class FrozenCopy(CopyWeights):
        name = 'frozen_copy'

        def build(self, aux):
            for path, _ in aux.mirror_pairs():
                aux.get_submodule(path).requires_grad_(False)

    try:
        main = Main()
        aux = Mirror(main, 'frozen_copy')
        aux.init_from_architecture(main)
        assert aux.weight_source == 'frozen_copy' and torch.equal(aux.head.weight, main.head.weight)
        assert not any(p.requires_grad for p in aux.parameters())
    finally:
        WEIGHT_SOURCES.module_dict.pop('frozen_copy')


def test_an_unknown_weight_source_names_the_registered_ones():
    with pytest.raises(ConfigError, match=r"weight_source='shared'.*\['copy', 'tied', 'ema'\]"):
        Mirror(Main(), 'shared')
