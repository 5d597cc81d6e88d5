"""LocalLearningDetector.predict_by_module: what each module's training signal predicts (the detections of every
auxiliary net, then the real detector's), in the original image's coordinates, for CocoMetric."""
import torch

from fba_mm.det import LocalLearningDetector

from det_helpers import det_batch, tiny_detector

SPLIT4 = ['layer2.1', 'layer3', 'layer4']


def build(**aux):
    torch.manual_seed(0)
    arch = tiny_detector('faster_rcnn')
    # mmdet's ResNet zero-initialises every block's last BN: each block but a stage's first would be the identity,
    # and a net that skips blocks would predict what the whole one does
    arch.backbone.zero_init_residual = False
    learner = LocalLearningDetector(arch, split_points=SPLIT4, aux_net=dict(type='SLMAuxNet', **aux))
    learner.init_weights()
    return learner.eval()


def boxes(sample):
    return sample.pred_instances.bboxes


def test_last_module_predicts_what_the_detector_predicts_and_a_full_tied_aux_net_does_too():
    # ResNet-18's layer4 has two blocks: with depth=2 the tied auxiliary net of module 3 (layer3) runs the rest of
    # the backbone, the neck and the heads with the main weights, so in eval mode it is the detector itself
    learner = build(weight_source='tied', depth=2)
    data = learner.data_preprocessor(det_batch(size=128), False)
    predictions = learner.predict_by_module(data['inputs'], data['data_samples'])
    stock = learner.architecture.predict(data['inputs'], data['data_samples'])
    assert len(predictions) == 4 and all(len(p) == 2 for p in predictions)
    for module in (2, 3):
        for got, want in zip(predictions[module], stock):
            assert len(boxes(want)) > 0  # the comparison compares something
            torch.testing.assert_close(boxes(got), boxes(want), rtol=0, atol=0)
            torch.testing.assert_close(got.pred_instances.scores, want.pred_instances.scores, rtol=0, atol=0)
    # the earlier auxiliary nets skip blocks, so they predict something else
    assert not torch.equal(boxes(predictions[0][0]), boxes(stock[0]))


def test_half_resolution_aux_nets_predict_in_the_original_image_coordinates():
    learner = build(weight_source='tied', scale=0.5)
    data = learner.data_preprocessor(det_batch(size=128), False)
    predictions = learner.predict_by_module(data['inputs'], data['data_samples'])
    for module in predictions[:-1]:
        for sample, source in zip(module, data['data_samples']):
            assert sample is not source and 'pred_instances' not in source  # the caller's samples are untouched
            assert sample.metainfo['ori_shape'] == source.metainfo['ori_shape']
            b = boxes(sample)
            # boxes span the 128 px image, not the 64 px one the auxiliary net ran at
            assert len(b) > 0 and b.max() > 70 and b.max() <= 128 + 1e-3
