"""The shipped adapters (mmdet, mmagic) under real DDP: two gloo processes through tools/dist_train.sh and
tools/train.py, a few iterations on tiny demo sets, and the ranks must end bitwise identical.

tests/core/test_ddp_accumulation.py and test_runner.py run LocalDistributedDataParallel on the toy CNN only; the
adapters add what the toy task lacks, and each of these runs inside a DDP-wrapped learner here:

- detection, Faster R-CNN R18 K=4 (configs/det/demo/faster-rcnn_r18_fpn_fba-k4_demo.py): tied auxiliary nets
  (``weight_source='tied'``: the main model's own blocks, neck and heads run detached inside the aux nets, which
  hold no parameters of their own, so one DDP per module must still reduce every main gradient) and the
  detector's feature bank (detached stage features handed to later aux nets and to the real neck). With
  ``sync_bn='torch'`` mmengine's Runner converts every BN layer to SyncBatchNorm when it wraps the model, after
  the aux nets were built: ``AuxBNProbe`` (tests/core/ddp_probes.py) checks that the aux nets' tied BN layers
  that actually run are the converted ones and hold the main layers' weights and statistics. The backbone is
  switched to ``norm_eval=True`` (the demo trains its BN from scratch, norm_eval=False, and SyncBatchNorm in
  train mode needs a GPU); BN in eval mode reads its running statistics and never syncs, so it runs on CPU.
- super-resolution, EDSR K=4 with the bank (configs/sr/demo/edsr_x2c32b8_fba-k4_demo.py): the bank carries the
  generator's global skip (the shallow feature) to the auxiliary tails and the real tail, and the aux nets are
  trained copies (their own parameters, reduced by their modules' DDPs).

Both runs take well under a minute each on 2 CPU cores (not marked slow).
"""
import json
import os
import os.path as osp
import socket
import subprocess

import pytest
import torch

from fba_mm.det.demo_data import make_demo_det
from fba_mm.sr.demo_data import make_demo_sr

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
DET_CONFIG = osp.join(ROOT, 'configs', 'det', 'demo', 'faster-rcnn_r18_fpn_fba-k4_demo.py')
SR_CONFIG = osp.join(ROOT, 'configs', 'sr', 'demo', 'edsr_x2c32b8_fba-k4_demo.py')
# tests/ for toy_task (DumpParams), tests/core for ddp_probes (AuxBNProbe, DumpInitialParams)
ENV = dict(os.environ, PYTHONPATH=os.pathsep.join([ROOT, osp.join(ROOT, 'tests'), osp.join(ROOT, 'tests', 'core')]),
           OMP_NUM_THREADS='1')
NO_VAL = 'val_dataloader = None\nval_cfg = None\nval_evaluator = None\n'  # no validation: only training is checked


def free_port():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def custom_hooks(*hooks):
    """The test's probes (the shipped configs' own hooks are in default_hooks, which stay)."""
    return f'custom_hooks = {[dict(type=h) for h in hooks]!r}\n'


def dist_train(config_text, work_dir):
    """``config_text`` as a config in ``work_dir``, trained there by 2 gloo processes."""
    config = work_dir / 'config.py'
    config.write_text(config_text)
    result = subprocess.run(['bash', 'tools/dist_train.sh', str(config), '2', '--work-dir', str(work_dir)], cwd=ROOT,
                            env=dict(ENV, PORT=str(free_port())), capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-5000:]
    return work_dir


def dumped(work_dir, what):
    """(rank 0's, rank 1's) state dict saved by DumpInitialParams ('initial') or DumpParams ('params')."""
    return tuple(torch.load(work_dir / f'{what}_rank{r}.pth') for r in (0, 1))


def assert_ranks_identical(work_dir):
    """Every entry of the state dict, BN statistics included: with norm_eval BN never updates them (detection),
    and EDSR has no BN."""
    rank0, rank1 = dumped(work_dir, 'params')
    assert rank0.keys() == rank1.keys()
    different = [k for k in rank0 if not torch.equal(rank0[k], rank1[k])]
    assert not different, f'ranks differ after training in {len(different)} entries, e.g. {different[:5]}'
    initial0, initial1 = dumped(work_dir, 'initial')
    assert all(torch.equal(initial0[k], initial1[k]) for k in initial0)  # they also started in step


def moved(work_dir):
    """The floating-point entries that training changed (rank 0's)."""
    (initial, _), (final, _) = dumped(work_dir, 'initial'), dumped(work_dir, 'params')
    assert initial.keys() == final.keys()
    return [k for k in final if final[k].is_floating_point() and not torch.equal(initial[k], final[k])]


# ------------------------------------------------------------------ detection: tied aux nets, bank, SyncBN

@pytest.fixture(scope='module')
def det_run(tmp_path_factory):
    """Faster R-CNN R18 K=4 (tied): 8 images / (2 ranks x batch 2) = 2 iterations, checkpoint at the end."""
    data_root = make_demo_det(str(tmp_path_factory.mktemp('demo_det')), num_train=8, num_val=1, size=128)
    return dist_train(
        f'_base_ = {DET_CONFIG!r}\n'
        "custom_imports = dict(imports=['fba_mm.det', 'toy_task', 'ddp_probes'], allow_failed_imports=False)\n"
        f'data_root = {data_root + "/"!r}\n'
        'train_dataloader = dict(batch_size=2, num_workers=0, persistent_workers=False, '
        'dataset=dict(data_root=data_root))\n' + NO_VAL +
        'model = dict(architecture=dict(backbone=dict(norm_eval=True)))\n'
        "sync_bn = 'torch'\n"
        'train_cfg = dict(max_epochs=1, val_interval=1)\n'
        'default_hooks = dict(logger=dict(interval=1), checkpoint=dict(interval=1))\n'
        + custom_hooks('DumpInitialParams', 'AuxBNProbe', 'DumpParams'),
        tmp_path_factory.mktemp('det_ddp'))


def test_detector_with_tied_aux_nets_and_sync_bn_keeps_ranks_identical(det_run):
    assert osp.exists(det_run / 'epoch_1.pth')
    assert_ranks_identical(det_run)
    rank0, _ = dumped(det_run, 'params')
    assert not any(k.startswith('aux_nets.') for k in rank0)  # tied: the aux nets hold no weights of their own
    changed = moved(det_run)
    # every local module trained: modules 1-3 through their (tied) aux nets' losses, module 4 through the real heads
    for prefix in ('backbone.conv1.', 'backbone.layer1.', 'backbone.layer2.0.', 'backbone.layer2.1.',
                   'backbone.layer3.', 'backbone.layer4.', 'neck.', 'rpn_head.', 'roi_head.'):
        assert any(k.startswith('architecture.' + prefix) for k in changed), f'{prefix}* did not move'


def test_detector_tied_aux_bn_runs_converted_with_the_main_weights(det_run):
    for rank in (0, 1):
        records = json.loads((det_run / f'bn_probe_rank{rank}.json').read_text())
        assert records, f'rank {rank}: no BN layer of the auxiliary nets ran'
        assert {r['main'] for r in records} == {'SyncBatchNorm'}, f'rank {rank}: main BN not converted'
        assert {r['cls'] for r in records} == {'SyncBatchNorm'}, f'rank {rank}: aux BN not converted'
        bad = [r for r in records if not (r['weight_shared'] and r['bias_shared'] and r['stats_equal'])]
        layers = sorted({(r['aux'], r['path']) for r in bad})
        assert not bad, (f'rank {rank}: {len(bad)} of {len(records)} runs of auxiliary BN layers did not hold the '
                         f'main layer\'s weights and statistics ({len(layers)} layers, e.g. {bad[0]})')


# ------------------------------------------------------------------ SR: the bank carries EDSR's global skip

def test_edsr_with_the_bank_keeps_ranks_identical(tmp_path_factory):
    """EDSR K=4 (copied aux nets, use_bank): 3 iterations of 2 ranks x batch 2, checkpoint at the end."""
    data_root = make_demo_sr(str(tmp_path_factory.mktemp('demo_sr')), scales=(2, ), sub_size=96, sub_step=400)
    work_dir = dist_train(
        f'_base_ = {SR_CONFIG!r}\n'
        "custom_imports = dict(imports=['fba_mm.sr', 'toy_task', 'ddp_probes'], allow_failed_imports=False)\n"
        'train_dataloader = dict(batch_size=2, num_workers=0, persistent_workers=False, '
        f'dataset=dict(data_root={data_root + "/train"!r}))\n' + NO_VAL +
        'train_cfg = dict(max_iters=3, val_interval=3)\n'
        'default_hooks = dict(logger=dict(interval=1), checkpoint=dict(interval=3))\n'
        + custom_hooks('DumpInitialParams', 'DumpParams'),
        tmp_path_factory.mktemp('sr_ddp'))
    assert osp.exists(work_dir / 'iter_3.pth')
    assert_ranks_identical(work_dir)
    changed = moved(work_dir)
    # each module's blocks (module 4 also the tail, after the skip) and each module's auxiliary net
    for prefix in ('architecture.generator.conv_first.', 'architecture.generator.body.1.',
                   'architecture.generator.body.3.', 'architecture.generator.body.5.',
                   'architecture.generator.body.7.', 'architecture.generator.conv_last.',
                   'aux_nets.0.', 'aux_nets.1.', 'aux_nets.2.'):
        assert any(k.startswith(prefix) for k in changed), f'{prefix}* did not move'
