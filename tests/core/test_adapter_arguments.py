"""Every adapter takes the learner's arguments (the constructor is core's, once): ``max_consecutive_skips`` and
``with_cp``, which the README and the divergence error tell users to set in the model config, reach the learner of
a real detector and a real SR editor built from a config as the Runner builds it."""
import pytest
import torch
from det.det_helpers import build_detector, tiny_detector
from mmengine.optim import build_optim_wrapper
from sr.sr_helpers import build_editor, tiny_editor

from fba_mm.core import ActivationMemoryMeter
from fba_mm.det.testing import random_det_batch
from fba_mm.sr.testing import random_sr_batch

OPTIM = dict(constructor='LocalOptimWrapperConstructor', optimizer=dict(type='SGD', lr=0.0))  # lr 0: same weights

ADAPTERS = {
    'det': (lambda **kw: build_detector(dict(type='LocalLearningDetector', architecture=tiny_detector('faster_rcnn'),
                                             split_points=['layer3', 'layer4'], **kw)),
            lambda: random_det_batch(2, 128)),
    'sr': (lambda **kw: build_editor(dict(type='LocalLearningEditor', architecture=tiny_editor('edsr'),
                                          split_points=['body.2'], **kw)),
           lambda: random_sr_batch(2, 12, scale=2)),
}


def step(learner, data):
    torch.manual_seed(0)
    ow = build_optim_wrapper(learner, OPTIM)
    with ActivationMemoryMeter(learner) as meter:
        log = learner.train_step(data, ow)
    return log, meter.peak_bytes


@pytest.mark.parametrize('task', ADAPTERS)
def test_max_consecutive_skips_and_with_cp_reach_the_learner(task):
    build, batch = ADAPTERS[task]
    torch.manual_seed(0)
    plain = build()
    torch.manual_seed(0)
    learner = build(max_consecutive_skips=3, with_cp=True)
    assert learner.skip_policy.max_consecutive_skips == 3 and learner.with_cp
    (log_plain, saved_plain), (log_cp, saved_cp) = step(plain, batch()), step(learner, batch())
    for key in ('loss', 'm1.loss'):  # the same function, recomputed in the backward
        torch.testing.assert_close(log_cp[key], log_plain[key])
    assert saved_cp < saved_plain  # the blocks' activations are not kept


@pytest.mark.parametrize('task', ADAPTERS)
def test_an_unknown_argument_is_named(task):
    with pytest.raises(TypeError, match='max_consecutive_skip'):
        ADAPTERS[task][0](max_consecutive_skip=3)
