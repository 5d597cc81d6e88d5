"""Checkpoints load with weights_only=True through an allowlist; anything that could run code is refused."""
import fractions
import os
import pickle

import numpy as np
import pytest
import torch
from mmengine.logging import HistoryBuffer
from mmengine.runner import load_checkpoint

from fba_mm.core.checkpoint import TRUST_ENV, load_checkpoint_file


class RunsCode:
    """A pickle payload: unpickling it runs a shell command."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return os.system, (f'touch {self.marker}',)


class FetchesAttribute:
    """Pickles as ``getattr(numpy.ndarray, 'tofile')``: the general getattr the allowlist must not give out."""

    def __reduce__(self):
        return getattr, (np.ndarray, 'tofile')


def save(tmp_path, name, extra):
    path = tmp_path / name
    torch.save({'state_dict': {'w': torch.ones(2)}, 'meta': {'extra': extra}}, path)
    return str(path)


def test_a_malicious_checkpoint_is_refused_naming_the_file_and_how_to_trust_it(tmp_path):
    marker = tmp_path / 'pwned'
    path = save(tmp_path, 'evil.pth', RunsCode(marker))
    model = torch.nn.Linear(1, 2)
    with pytest.raises(pickle.UnpicklingError) as e:
        load_checkpoint(model, path)  # what load_from, --resume and init_cfg=Pretrained go through
    assert 'evil.pth' in str(e.value) and TRUST_ENV in str(e.value) and 'system' in str(e.value)
    assert not marker.exists()
    # importing fba_mm left torch's own default alone: a plain torch.load refuses it too
    with pytest.raises(pickle.UnpicklingError):
        torch.load(path)
    assert not marker.exists()


def test_the_allowlisted_getattr_serves_history_buffers_only(tmp_path):
    ok = save(tmp_path, 'hub.pth', HistoryBuffer([1.0, 2.0], [1, 1]))  # what mmengine's message hub saves
    buffer = load_checkpoint_file(ok)['meta']['extra']
    assert buffer.mean() == 1.5 and buffer.statistics('min') == 1.0
    with pytest.raises(pickle.UnpicklingError, match='tofile'):
        load_checkpoint_file(save(tmp_path, 'attr.pth', FetchesAttribute()))


def test_a_checkpoint_trusted_by_name_loads_with_its_objects(tmp_path, monkeypatch):
    path = save(tmp_path, 'mine.pth', fractions.Fraction(1, 3))
    with pytest.raises(pickle.UnpicklingError):
        load_checkpoint_file(path)
    monkeypatch.setenv(TRUST_ENV, os.pathsep.join([str(tmp_path / 'other.pth'), path]))
    assert load_checkpoint_file(path)['meta']['extra'] == fractions.Fraction(1, 3)
