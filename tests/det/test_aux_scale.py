"""aux_net.scale: an auxiliary net at half resolution rescales its heads' priors (anchors, RoI level thresholds) so that
every object goes to the pyramid level it goes to at full resolution; the main heads are untouched."""
import pytest
import torch

from fba_mm.det import LocalLearningDetector

from det_helpers import tiny_detector


def build(name, **aux):
    torch.manual_seed(0)
    return LocalLearningDetector(tiny_detector(name), split_points=['layer3'],
                                 aux_net=dict(type='SLMAuxNet', weight_source='tied', **aux))


@pytest.mark.parametrize('name, head', [('faster_rcnn', 'rpn_head'), ('retinanet', 'bbox_head')])
def test_half_resolution_heads_use_half_size_anchors(name, head):
    learner = build(name, scale=0.5)
    main = getattr(learner.architecture, head).prior_generator
    aux = getattr(learner.aux_nets[0].detector, head).prior_generator
    assert aux is not main
    for a, m in zip(aux.base_anchors, main.base_anchors):
        torch.testing.assert_close(a, m * 0.5)
    # an object of 16 px at full resolution and its 8 px self at half resolution match the same level's anchors
    full = build(name, scale=1.0)
    torch.testing.assert_close(getattr(full.aux_nets[0].detector, head).prior_generator.base_anchors[0],
                               main.base_anchors[0])
    # the ablation keeps the full-resolution priors: each object is handled one level finer
    shifted = build(name, scale=0.5, scale_priors=False)
    torch.testing.assert_close(getattr(shifted.aux_nets[0].detector, head).prior_generator.base_anchors[0],
                               main.base_anchors[0])


def test_half_resolution_roi_heads_map_rois_to_the_full_resolution_levels():
    learner = build('faster_rcnn', scale=0.5)
    main = learner.architecture.roi_head.bbox_roi_extractor
    aux = learner.aux_nets[0].detector.roi_head.bbox_roi_extractor
    rois = torch.tensor([[0, 0, 0, 60, 60], [0, 0, 0, 130, 130], [0, 0, 0, 250, 250]], dtype=torch.float)
    half = rois.clone()
    half[:, 1:] *= 0.5
    assert torch.equal(aux.map_roi_levels(half, 4), main.map_roi_levels(rois, 4))
    assert main.finest_scale == 56


def test_aux_heads_follow_what_a_hook_switches_on_the_main_head_but_keep_their_own_levels():
    """A setting changed on the main head during training (as YOLOXModeSwitchHook switches use_l1) reaches the
    auxiliary heads at the next step; the rescaled RoI level threshold, theirs since construction, stays."""
    learner = build('faster_rcnn', scale=0.5)
    main, aux = learner.architecture.roi_head, learner.aux_nets[0].detector.roi_head
    assert aux.bbox_roi_extractor.finest_scale == main.bbox_roi_extractor.finest_scale * 0.5
    main.bbox_head.reg_decoded_bbox = not main.bbox_head.reg_decoded_bbox  # a plain switch, as a hook would set
    main.bbox_roi_extractor.finest_scale = 112  # ... and a setting the aux net set itself
    learner.follow_settings()  # train_step calls this first
    assert aux.bbox_head.reg_decoded_bbox == main.bbox_head.reg_decoded_bbox
    assert aux.bbox_roi_extractor.finest_scale == 28
    assert aux.bbox_head.training == main.bbox_head.training  # the mode is not a setting
