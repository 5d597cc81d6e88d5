"""The SR tools end to end on the photo demo set: make the data, train with FBA through tools/train.py, evaluate
with mmagic's PSNR/SSIM, and check that the stock config with the stripped checkpoint gives the same images."""
import os
import os.path as osp
import pickle
import subprocess
import sys

import cv2
import numpy as np
import pytest
import torch

from fba_mm.sr.demo_data import VAL_PHOTOS, bicubic_downsample, make_demo_sr

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
DEMO = osp.join(ROOT, 'configs', 'sr', 'demo')
ENV = dict(os.environ, PYTHONPATH=ROOT, OMP_NUM_THREADS='2')


def run(*args):
    result = subprocess.run([sys.executable, *args], cwd=ROOT, env=ENV, capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, result.stderr[-4000:]
    return result.stdout + result.stderr


@pytest.fixture(scope='module')
def demo_root(tmp_path_factory):
    return make_demo_sr(str(tmp_path_factory.mktemp('demo_sr')), scales=(2, ))


def test_demo_set_is_bicubic_pairs_of_held_out_photos(demo_root):
    train = sorted(os.listdir(osp.join(demo_root, 'train', 'HR')))
    val = sorted(os.listdir(osp.join(demo_root, 'val', 'HR')))
    assert len(train) > 50 and val == [f'{p}.png' for p in sorted(VAL_PHOTOS)]
    assert not {n.split('_s')[0] for n in train} & set(VAL_PHOTOS)  # whole photos held out
    for split, name in (('train', train[0]), ('val', val[0])):
        hr = cv2.imread(osp.join(demo_root, split, 'HR', name))
        lr = cv2.imread(osp.join(demo_root, split, 'LRbicx2', name))
        assert hr.shape[0] % 12 == 0 and hr.shape[1] % 12 == 0
        assert lr.shape[:2] == (hr.shape[0] // 2, hr.shape[1] // 2)
        assert np.array_equal(lr, bicubic_downsample(hr, 2))  # (BGR on disk: the resize is per channel)
    assert make_demo_sr(demo_root, scales=(2, )) == demo_root  # second call: nothing to do


def test_train_evaluate_and_convert(demo_root, tmp_path):
    work = tmp_path / 'work'
    common = [f'train_dataloader.dataset.data_root={demo_root}/train',
              f'val_dataloader.dataset.data_root={demo_root}/val',
              'train_dataloader.num_workers=0', 'val_dataloader.num_workers=0', 'train_dataloader.batch_size=4']
    fba = osp.join(DEMO, 'edsr_x2c32b8_fba-k4_demo.py')
    out = run('tools/train.py', fba, '--work-dir', str(work), '--cfg-options', *common, 'train_cfg.max_iters=6',
              'train_cfg.val_interval=6', 'default_hooks.checkpoint.interval=6', 'default_hooks.logger.interval=2')
    assert 'PSNR:' in out and 'SSIM:' in out  # mmagic's metrics on the val photos
    ckpt = work / 'iter_6.pth'
    assert osp.exists(work / 'iter_6_stock.pth') and osp.exists(work / 'module_losses.png')

    converted = tmp_path / 'converted.pth'
    run('tools/model_converters/strip_aux.py', str(ckpt), str(converted))
    test_data = [f'test_dataloader.0.dataset.data_root={demo_root}/val', 'test_dataloader.0.num_workers=0']
    results = {}
    for name, config, weights in (('fba', fba, ckpt), ('stock', osp.join(DEMO, 'edsr_x2c32b8_demo.py'), converted)):
        log = run('tools/test.py', config, str(weights), '--work-dir', str(tmp_path / name), '--out',
                  str(tmp_path / f'{name}.pkl'), '--cfg-options', *test_data)
        assert 'PSNR:' in log
        results[name] = pickle.load(open(tmp_path / f'{name}.pkl', 'rb'))
    assert len(results['fba']) == len(results['stock']) == len(VAL_PHOTOS)
    for a, b in zip(results['fba'], results['stock']):
        assert torch.equal(a['output']['pred_img'], b['output']['pred_img'])


def test_fine_tune_from_a_stock_checkpoint_starts_the_aux_copies_from_it(demo_root, tmp_path, weight_source='copy'):
    """``load_from`` a stock EDSR (mmengine loads it after init_weights): the auxiliary copies equal the loaded
    weights, not the random ones of init_weights. lr=0, so one iteration moves nothing. (Every weight source:
    tests/*/test_weight_sources_*.py, in process.)"""
    from mmengine.config import Config
    from mmengine.registry import MODELS, DefaultScope

    from fba_mm.core.checkpoint import load_checkpoint_file

    from weight_sources import mirrored_weights

    fba = Config.fromfile(osp.join(DEMO, 'edsr_x2c32b8_fba-k4_demo.py'))
    fba.model.aux_net.weight_source = weight_source
    with DefaultScope.overwrite_default_scope('mmagic'):
        torch.manual_seed(7)
        stock = MODELS.build(fba.model.architecture)
        learner = MODELS.build(fba.model)
    torch.save({'meta': {}, 'state_dict': stock.state_dict()}, tmp_path / 'stock.pth')
    work = tmp_path / 'work'
    run('tools/train.py', osp.join(DEMO, 'edsr_x2c32b8_fba-k4_demo.py'), '--work-dir', str(work), '--cfg-options',
        f'load_from={tmp_path / "stock.pth"}', f'model.aux_net.weight_source={weight_source}',
        f'train_dataloader.dataset.data_root={demo_root}/train', f'val_dataloader.dataset.data_root={demo_root}/val',
        'train_dataloader.num_workers=0', 'val_dataloader.num_workers=0', 'train_dataloader.batch_size=2',
        'optim_wrapper.optimizer.lr=0', 'train_cfg.max_iters=1', 'train_cfg.val_interval=100',
        'default_hooks.checkpoint.interval=1')
    learner.load_state_dict(load_checkpoint_file(str(work / 'iter_1.pth'))['state_dict'], strict=True)
    loaded = stock.state_dict()
    for (k, path, name), (mirror, main) in mirrored_weights(learner).items():
        source = dict(learner.aux_nets[k].mirror_pairs())[path]
        assert torch.equal(main, loaded[f'{source}.{name}']), (k, path, name)
        assert torch.equal(mirror, main), (k, path, name)
