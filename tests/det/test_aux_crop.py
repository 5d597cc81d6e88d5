"""aux_net.crop: an auxiliary net trains on one random window of the image, cut alike from every stage it reads and
from the targets; it reads nothing outside the window, keeps its module isolated, and its neck and dense heads cost
about the window's share of the image."""
import pytest
import torch
from mmengine.optim import build_optim_wrapper

from fba_mm.core import ConfigError
from fba_mm.core.benchmark import count_flops
from fba_mm.det import LocalLearningDetector
from fba_mm.det.benchmark_recipe import DetBenchmarkRecipe
from fba_mm.det.crop import Window, crop_sample, random_window

from det_helpers import det_batch, tiny_detector
from isolation import assert_gradients_isolated


def build(name='faster_rcnn', split_points=('layer2.1', 'layer3', 'layer4'), **aux):
    torch.manual_seed(0)
    learner = LocalLearningDetector(tiny_detector(name), split_points=list(split_points),
                                    aux_net=dict(type='SLMAuxNet', weight_source='tied', **aux))
    learner.init_weights()
    return learner


def test_every_stride_is_cut_at_the_same_image_window():
    """A map at stride s whose value is the input pixel each cell starts at: every stride's window starts at the
    window's corner and spans its size."""
    height = 256
    window = Window(top=64, left=128, height=96, width=128)
    for stride in (4, 8, 16, 32):
        n = height // stride
        rows = torch.arange(n).view(n, 1).expand(n, n) * stride
        cols = torch.arange(n).view(1, n).expand(n, n) * stride
        cut = window.of(torch.stack([rows, cols]).unsqueeze(0), height)
        assert cut.shape[-2:] == (96 // stride, 128 // stride)
        assert cut[0, :, 0, 0].tolist() == [64, 128]
        assert cut[0, :, -1, -1].tolist() == [64 + 96 - stride, 128 + 128 - stride]


def test_a_window_is_on_the_coarsest_grid_and_starts_inside_every_image():
    samples = det_batch(n=2, size=256)['data_samples']
    samples[1].set_metainfo(dict(img_shape=(160, 200)))  # the smaller image of a padded batch
    torch.manual_seed(0)
    seen = set()
    for _ in range(50):
        w = random_window(samples, crop=0.5, unit=32)
        assert (w.height, w.width) == (128, 128)
        assert w.top % 32 == 0 and w.left % 32 == 0
        assert w.top <= 160 - 128 and w.left <= 200 - 128
        seen.add((w.top, w.left))
    assert seen == {(t, left) for t in (0, 32) for left in (0, 32, 64)}  # it moves over every position


def test_boxes_and_masks_are_cut_as_random_crop_cuts_them():
    sample = det_batch(n=1, size=128, with_mask=True)['data_samples'][0]
    sample.gt_instances.bboxes = torch.tensor([[10., 10., 50., 50.],    # inside
                                               [40., 60., 100., 120.],  # cut by the window's border
                                               [100., 0., 120., 20.]])  # outside: dropped
    sample.gt_instances.labels = torch.tensor([0, 1, 2])
    window = Window(top=0, left=0, height=64, width=64)
    cut = crop_sample(sample, window)
    assert cut.metainfo['img_shape'] == cut.metainfo['batch_input_shape'] == (64, 64)
    assert cut.gt_instances.bboxes.tolist() == [[10., 10., 50., 50.], [40., 60., 64., 64.]]
    assert cut.gt_instances.labels.tolist() == [0, 1]
    masks = sample.gt_instances.masks.masks
    assert cut.gt_instances.masks.masks.shape == (2, 64, 64)
    assert (cut.gt_instances.masks.masks == masks[:2, :64, :64]).all()
    assert len(sample.gt_instances) == 3 and sample.metainfo['img_shape'] == (128, 128)  # the original is untouched


def test_the_auxiliary_net_reads_only_its_window():
    """The gradient its loss sends into module 1's output is zero outside one window of half the map's side, on
    the coarsest stage's grid (stride 32 of the input, 4 cells of module 1's stride-8 output)."""
    learner = build(crop=0.5)
    learner.train()
    batch = learner.data_preprocessor(det_batch(size=128), True)
    aux = learner.aux_nets[0]
    state = torch.randn(2, 128, 16, 16, requires_grad=True)  # module 1's output: layer2, stride 8
    stage_feats = {0: torch.randn(2, 64, 32, 32)}  # the bank's layer1
    with learner.aux_weights(0):
        losses = aux(state, stage_feats, batch['data_samples'])
        learner.parse_losses(losses)[0].backward()
    read = state.grad.abs().sum((0, 1)) > 0
    rows, cols = read.any(1).nonzero().flatten(), read.any(0).nonzero().flatten()
    assert len(rows) == len(cols) == 8  # 64 px of 128
    assert rows[0] % 4 == 0 and cols[0] % 4 == 0
    assert read[rows[0]:rows[-1] + 1, cols[0]:cols[-1] + 1].all() and read.sum() == 64


@pytest.mark.parametrize('name', ['faster_rcnn', 'retinanet', 'mask_rcnn'])
def test_modules_stay_isolated_on_windows(name):
    learner = build(name, crop=0.5)
    assert_gradients_isolated(learner, lambda: det_batch(with_mask=name == 'mask_rcnn'))


def test_a_half_window_costs_a_quarter_in_the_neck_and_dense_heads():
    flops = {}
    for crop in (1.0, 0.5):
        learner = build(crop=crop)
        ow = build_optim_wrapper(learner, dict(constructor='LocalOptimWrapperConstructor',
                                               optimizer=dict(type='SGD', lr=0.0)))
        torch.manual_seed(0)
        flops[crop] = count_flops(learner, ow, det_batch(size=256), DetBenchmarkRecipe.flop_parts)
    whole, window = flops[1.0]['gflops_by_module'], flops[0.5]['gflops_by_module']
    assert window['m4'] == pytest.approx(whole['m4'])  # the main detector sees the whole image
    for m in ('m1', 'm2', 'm3'):
        assert window[m]['own blocks'] == pytest.approx(whole[m]['own blocks'])
        for part in ('neck', 'dense heads'):
            assert window[m][part] == pytest.approx(0.25 * whole[m][part], rel=0.1)


@pytest.mark.parametrize('aux, match', [
    (dict(crop=0), r'aux_net.crop=0: .*0 < crop <= 1'),
    (dict(crop=0.5, scale=0.5), r'aux_net.crop=0.5 with aux_net.scale=0.5: .*use one of them'),
])
def test_bad_windows_are_refused(aux, match):
    with pytest.raises(ConfigError, match=match):
        build(**aux)
