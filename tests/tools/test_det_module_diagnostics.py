"""tools/analysis/det_module_diagnostics.py measures how far each module's local gradient is from end-to-end's. Its
anchor: a tied auxiliary net that runs every later block with the main weights gives its module exactly the
end-to-end gradient, and one that skips a block does not."""
import os.path as osp
import sys

import torch

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
sys.path.insert(0, osp.join(ROOT, 'tools', 'analysis'))
sys.path.insert(0, osp.join(ROOT, 'tests', 'det'))
import det_module_diagnostics as diag  # noqa: E402

from fba_mm.det import LocalLearningDetector  # noqa: E402

from det_helpers import det_batch, tiny_detector  # noqa: E402


def test_full_depth_tied_aux_nets_give_the_end_to_end_gradient():
    torch.manual_seed(0)
    arch = tiny_detector('faster_rcnn')
    arch.backbone.zero_init_residual = False  # else every block but a stage's first starts as the identity
    # ResNet-18: two blocks a stage, so depth=2 runs every later block; module 1 (layer2.0) skips layer2.1
    learner = LocalLearningDetector(arch, split_points=['layer2.1', 'layer3', 'layer4'],
                                    aux_net=dict(type='SLMAuxNet', depth=2, weight_source='tied'))
    learner.init_weights()
    shallow = LocalLearningDetector(arch, split_points=['layer2.1', 'layer3', 'layer4'],
                                    aux_net=dict(type='SLMAuxNet', depth=1, weight_source='tied'))
    shallow.architecture.load_state_dict(learner.architecture.state_dict())
    result = diag.gradient_alignment({'d2': learner, 'd1': shallow}, [det_batch(size=128)])
    for module in ('m2', 'm3', 'm4'):  # every later block, the same sampling: the end-to-end gradient
        assert abs(result['d2'][module]['cos'] - 1) < 1e-3, result  # float32 sums over ~10M entries
        assert abs(result['d2'][module]['norm_ratio'] - 1) < 1e-3, result
    assert result['d2']['m1']['cos'] < 0.999  # it skips layer2.1
    assert result['d1']['m2']['cos'] < 0.999  # depth 1 skips layer3.1 and layer4.1
    assert abs(result['d1']['m4']['cos'] - 1) < 1e-3  # the last module is trained by the real head
