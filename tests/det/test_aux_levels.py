"""aux_net.first_level: auxiliary heads that leave out the finest pyramid levels compute nothing there, keep every
other object at its level, train their module alone, and cost fewer FLOPs; necks that cannot drop a level are
refused."""
import copy

import pytest
import torch
from mmengine.hub import get_config
from mmengine.optim import build_optim_wrapper

from fba_mm.core import ConfigError
from fba_mm.core.benchmark import count_flops
from fba_mm.det import LocalLearningDetector
from fba_mm.det.benchmark_recipe import DetBenchmarkRecipe

from det_helpers import det_batch, tiny_detector
from isolation import assert_gradients_isolated


def build(name, split_points=('layer3', ), **aux):
    torch.manual_seed(0)
    learner = LocalLearningDetector(tiny_detector(name), split_points=list(split_points),
                                    aux_net=dict(type='SLMAuxNet', weight_source='tied', **aux))
    learner.init_weights()
    return learner


def test_the_finest_level_is_never_computed_and_every_other_rpn_anchor_stays():
    learner = build('faster_rcnn', first_level=1)
    aux = learner.aux_nets[0]
    fpn = aux.neck.neck
    ran = []
    hooks = [conv.register_forward_hook(lambda m, i, o, n=n: ran.append(n)) for n, conv in
             [(f'lateral{i}', c) for i, c in enumerate(fpn.lateral_convs)] +
             [(f'fpn{i}', c) for i, c in enumerate(fpn.fpn_convs)]]
    ow = build_optim_wrapper(learner, dict(constructor='LocalOptimWrapperConstructor',
                                           optimizer=dict(type='SGD', lr=0.01)))
    learner.train_step(det_batch(), ow)
    for h in hooks:
        h.remove()
    assert sorted(ran) == ['fpn1', 'fpn2', 'fpn3', 'lateral1', 'lateral2', 'lateral3']
    # its RPN keeps the anchors of P3..P6; the main detector keeps all five levels and its neck all four inputs
    main = learner.architecture.rpn_head.prior_generator
    mine = aux.detector.rpn_head.prior_generator
    assert main.num_levels == 5 and mine.num_levels == 4
    for a, m in zip(mine.base_anchors, main.base_anchors[1:]):
        assert torch.equal(a, m)
    assert len(fpn.lateral_convs) == 4 and fpn.start_level == 0 and fpn.num_outs == 5  # restored after the step


def test_rois_of_the_left_out_level_go_to_the_next_and_the_others_keep_theirs():
    learner = build('faster_rcnn', first_level=1)
    main = learner.architecture.roi_head.bbox_roi_extractor
    mine = learner.aux_nets[0].detector.roi_head.bbox_roi_extractor
    rois = torch.tensor([[0, 0, 0, s, s] for s in (30, 60, 130, 250, 600)], dtype=torch.float)
    full = main.map_roi_levels(rois, 4)
    assert full.tolist() == [0, 0, 1, 2, 3]
    assert (mine.map_roi_levels(rois, 3) + 1).tolist() == full.clamp(min=1).tolist() == [1, 1, 1, 2, 3]


@pytest.mark.parametrize('name, first_level', [('faster_rcnn', 1), ('retinanet', 2), ('fcos', 1),
                                               ('faster_rcnn', 'own')])
def test_modules_stay_isolated_without_the_finest_levels(name, first_level):
    learner = build(name, split_points=('layer2.1', 'layer3', 'layer4'), first_level=first_level)
    assert_gradients_isolated(learner, det_batch)


def test_fewer_levels_cost_fewer_flops_and_the_parts_add_up():
    flops = {}
    for first_level in (0, 1):
        learner = build('faster_rcnn', split_points=('layer2.1', 'layer3', 'layer4'), first_level=first_level)
        ow = build_optim_wrapper(learner, dict(constructor='LocalOptimWrapperConstructor',
                                               optimizer=dict(type='SGD', lr=0.0)))
        torch.manual_seed(0)
        flops[first_level] = count_flops(learner, ow, det_batch(), DetBenchmarkRecipe.flop_parts)
    full, fewer = flops[0], flops[1]
    for r in (full, fewer):
        assert abs(sum(r['gflops_by_part'].values()) - r['gflops']) < 1e-6 * r['gflops']
        assert set(r['gflops_by_module']) >= {'m1', 'm2', 'm3', 'm4'}
    # the main detector (module 4's neck and heads, every module's own blocks) costs the same; the aux nets less
    assert fewer['gflops_by_module']['m4'] == pytest.approx(full['gflops_by_module']['m4'])
    for m in ('m1', 'm2', 'm3'):
        assert fewer['gflops_by_module'][m]['own blocks'] == pytest.approx(full['gflops_by_module'][m]['own blocks'])
        assert fewer['gflops_by_module'][m]['neck'] < 0.5 * full['gflops_by_module'][m]['neck']
        assert fewer['gflops_by_module'][m]['dense heads'] < 0.5 * full['gflops_by_module'][m]['dense heads']
    assert fewer['gflops'] < full['gflops']


def test_a_path_aggregation_neck_is_refused_with_the_reason():
    cfg = copy.deepcopy(get_config('mmdet::rtmdet/rtmdet_tiny_8xb32-300e_coco.py').model)
    cfg.backbone.init_cfg = None
    with pytest.raises(ConfigError, match='needs an FPN neck.*CSPNeXtPAFPN.*first_level=0'):
        LocalLearningDetector(cfg, split_points=['stage3'],
                              aux_net=dict(type='SLMAuxNet', weight_source='tied', first_level=1))


@pytest.mark.parametrize('frozen_stages, expected', [(1, [1, 1, 2]), (-1, [0, 1, 2])])
def test_own_levels_keep_what_the_module_computes(frozen_stages, expected):
    """first_level='own': an auxiliary net leaves out the levels fed only by stages before its module (the bank's
    detached features) and keeps the ones its module's stages feed; a trainable stem feeds every level."""
    cfg = tiny_detector('faster_rcnn')
    cfg.backbone.frozen_stages = frozen_stages
    learner = LocalLearningDetector(cfg, split_points=['layer2.1', 'layer3.1', 'layer4'],
                                    aux_net=dict(type='SLMAuxNet', weight_source='tied', first_level='own'))
    assert [aux.first_level for aux in learner.aux_nets] == expected
    assert [len(aux.detector.rpn_head.prior_generator.strides) for aux in learner.aux_nets] == [5 - n for n in expected]
