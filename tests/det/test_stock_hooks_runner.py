"""The RTMDet-s and YOLOX-s K=4 configs through tools/train.py with their stock custom hooks, at tiny width on the
demo shapes: the configs add local learning's hooks to ``default_hooks``, so the stock ``custom_hooks`` run
unlisted, and each reaches what it should.

- YOLOX's ``YOLOXModeSwitchHook`` switches ``model.detector.bbox_head.use_l1`` for the last epochs: the real head
  (module 4) and every auxiliary head (modules 1-3, which follow the main parts' settings) add ``loss_l1`` from that
  epoch on, not before.
- RTMDet's ``PipelineSwitchHook`` switches the training pipeline (logged), and ``EMAHook`` (both detectors) averages
  the learner's weights: the checkpoint's ``state_dict`` holds the averages, as mmdet saves them, and so does the
  auxiliary-free ``*_stock.pth``, which the stock config loads strictly.
"""
import os.path as osp

import pytest
import torch
from mmengine.config import Config

from fba_mm.core.checkpoint import load_checkpoint_file
from fba_mm.det.demo_data import make_demo_det

from runner_helpers import CLASSES, PIPELINE, ROOT, coco_dataset, on_demo_data, train_with_tools

CONFIGS = {'rtmdet': 'configs/det/rtmdet_s_fba-k4_8xb32-300e_coco.py',
           'yolox': 'configs/det/yolox_s_fba-k4_8xb8-300e_coco.py'}
MAX_EPOCHS = 3  # YOLOX switches its loss (num_last_epochs=1) and RTMDet its pipeline (switch_epoch=1) at epoch 2
WIDTHS = [32, 64, 128]  # widen_factor 0.125 of the stages the neck reads


def tiny_config(name: str, data_root: str, path) -> list:
    """The shipped config at tiny width on the demo set, its stock custom hooks kept, only their epochs shortened;
    returns the hooks' types."""
    cfg = Config.fromfile(osp.join(ROOT, CONFIGS[name]))
    arch = cfg.model.architecture
    arch.backbone.update(widen_factor=0.125, deepen_factor=0.33, init_cfg=None)
    arch.neck.update(in_channels=WIDTHS, out_channels=WIDTHS[0], num_csp_blocks=1)
    arch.bbox_head.update(num_classes=len(CLASSES), in_channels=WIDTHS[0], feat_channels=WIDTHS[0])
    arch.data_preprocessor.batch_augments = None  # YOLOX's would resize the batch to 480-800 px
    dataset = None
    if name == 'yolox':  # YOLOXModeSwitchHook needs the stock MultiImageMixDataset (it turns its mosaic off)
        dataset = dict(type='MultiImageMixDataset', dataset=dict(coco_dataset(data_root), pipeline=PIPELINE[:2]),
                       pipeline=PIPELINE[2:])
    on_demo_data(cfg, data_root, MAX_EPOCHS, dataset)
    for hook in cfg.custom_hooks:
        if hook.type == 'YOLOXModeSwitchHook':
            hook.num_last_epochs = 1
        if hook.type == 'PipelineSwitchHook':
            hook.update(switch_epoch=1, switch_pipeline=PIPELINE)
    cfg.dump(str(path))
    return [h.type for h in cfg.custom_hooks]


@pytest.fixture(scope='module')
def data_root(tmp_path_factory):
    return make_demo_det(str(tmp_path_factory.mktemp('demo_det')), num_train=8, num_val=1, size=96)


def train(name, data_root, tmp_path):
    config = tmp_path / 'config.py'
    hooks = tiny_config(name, data_root, config)
    assert hooks == {'yolox': ['YOLOXModeSwitchHook', 'SyncNormHook', 'EMAHook'],
                     'rtmdet': ['EMAHook', 'PipelineSwitchHook']}[name]  # the stock ones, unlisted by the config
    work = tmp_path / 'work'
    rows, log = train_with_tools(config, work)
    return work, [r for r in rows if 'm4.loss' in r], log


def assert_stock_twin_holds_the_ema_weights(work):
    full = load_checkpoint_file(str(work / f'epoch_{MAX_EPOCHS}.pth'), map_location='cpu')
    twin = torch.load(work / f'epoch_{MAX_EPOCHS}_stock.pth', weights_only=True)['state_dict']
    raw = {k[len('module.'):]: v for k, v in full['ema_state_dict'].items() if k.startswith('module.')}
    averaged = [k for k, v in twin.items() if v.is_floating_point()
                and not torch.equal(v, raw['architecture.' + k])]
    assert averaged, 'the stock checkpoint holds the raw weights, not the EMA'
    for key, value in twin.items():  # mmdet's layout: state_dict = the averages
        assert torch.equal(value, full['state_dict']['architecture.' + key]), key


def test_yolox_mode_switch_reaches_the_real_and_the_auxiliary_heads(data_root, tmp_path):
    work, rows, log = train('yolox', data_root, tmp_path)
    # mmdet switches once (epoch + 1) >= max_epochs - num_last_epochs: from the 2nd of 3 epochs on
    before, after = [r for r in rows if r['epoch'] == 1], [r for r in rows if r['epoch'] > 1]
    assert before and after and 'Add additional L1 loss now!' in log
    for k in range(1, 5):
        assert not any(f'm{k}.loss_l1' in r for r in before), k
        assert all(f'm{k}.loss_l1' in r for r in after), f'm{k} did not switch to the L1 loss'
    assert_stock_twin_holds_the_ema_weights(work)


def test_rtmdet_pipeline_switch_and_ema(data_root, tmp_path):
    work, rows, log = train('rtmdet', data_root, tmp_path)
    assert len(rows) == MAX_EPOCHS * 2 and 'Switch pipeline now!' in log
    assert_stock_twin_holds_the_ema_weights(work)
