"""A real mmengine Runner through tools/train.py: resume is exact, DDP keeps ranks in step, checkpoints strip."""
import glob
import json
import os
import os.path as osp
import subprocess
import sys

import pytest
import torch

from fba_mm.core.checkpoint import load_checkpoint_file

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CONFIG = osp.join(ROOT, 'tests', 'data', 'toy_local_k4.py')
ENV = dict(os.environ, PYTHONPATH=os.pathsep.join([ROOT, osp.join(ROOT, 'tests')]), OMP_NUM_THREADS='1')


def with_hook(tmp_path, hook: str, extra: str = '') -> str:
    """The toy config plus one more custom hook (and ``extra`` config lines)."""
    path = tmp_path / 'config.py'
    path.write_text(f'_base_ = {CONFIG!r}\n'
                    f"custom_hooks = [dict(type='IsolationCheckHook'), {hook}]\n"
                    + extra)
    return str(path)


def run(cmd):
    return subprocess.run(cmd, cwd=ROOT, env=ENV, capture_output=True, text=True, timeout=600)


def train(work_dir, *args, config=CONFIG):
    return run([sys.executable, 'tools/train.py', config, '--work-dir', str(work_dir), *args])


def logged(work_dir):
    """iter -> scalars, across every run (a resumed run logs into a new timestamped folder)."""
    out = {}
    for path in sorted(glob.glob(osp.join(work_dir, '*', 'vis_data', 'scalars.json'))):
        for line in open(path):
            row = json.loads(line)
            if 'm1.loss' in row:
                out[row['iter']] = row
    return out


def weights(path):
    return load_checkpoint_file(str(path), map_location='cpu')['state_dict']  # the loader mmengine uses here


@pytest.fixture(scope='module')
def uninterrupted(tmp_path_factory):
    work_dir = tmp_path_factory.mktemp('straight')
    result = train(work_dir)
    assert result.returncode == 0, result.stderr[-3000:]
    return work_dir


def test_resume_after_interruption_is_bitwise_exact(uninterrupted, tmp_path):
    crashed = train(tmp_path, config=with_hook(tmp_path, "dict(type='InterruptAfter', at=3)"))
    assert crashed.returncode == 3, crashed.stderr[-3000:]
    assert osp.exists(tmp_path / 'iter_3.pth') and not osp.exists(tmp_path / 'iter_6.pth')
    resumed = train(tmp_path, '--resume')
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert 'resumed' in (resumed.stdout + resumed.stderr).lower()

    straight, interrupted = logged(uninterrupted), logged(tmp_path)
    assert sorted(straight) == sorted(interrupted) == [1, 2, 3, 4, 5, 6]
    for it in range(1, 7):
        for key in ('m1.loss', 'm2.loss', 'm3.loss', 'm4.loss', 'loss', 'm1.lr', 'm4.lr'):
            assert straight[it][key] == interrupted[it][key], (it, key)
    # every module logs its own loss, and the memory of a whole step is logged: the total (every live tensor)
    # with its parts, each module's peak, and the activations saved for backward
    first = straight[1]
    assert all(f'm{k}.act_mib' in first and f'm{k}.total_mib' in first for k in range(1, 5)) and first['act_mib'] > 0
    parts = [first[f'total_mib.{p}'] for p in ('params', 'buffers', 'grads', 'optimizer', 'activations',
                                                'temporaries', 'other')]
    assert first['total_mib'] == pytest.approx(sum(parts), rel=1e-4)
    assert first['total_mib'] == pytest.approx(max(first[f'm{k}.total_mib'] for k in range(1, 5)), rel=1e-4)
    assert first['total_mib.params'] > 0 and first['total_mib.activations'] > 0
    # the loss fell (the run trains something)
    assert straight[6]['loss'] < straight[1]['loss']
    a, b = weights(uninterrupted / 'iter_6.pth'), weights(tmp_path / 'iter_6.pth')
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def test_stock_checkpoint_is_written_and_loads_strictly(uninterrupted):
    from toy_task import ToyCNN
    for it in (3, 6):
        stock = torch.load(uninterrupted / f'iter_{it}_stock.pth')  # torch's default (weights_only) loads it
        model = ToyCNN()
        model.load_state_dict(stock['state_dict'], strict=True)
        full = weights(uninterrupted / f'iter_{it}.pth')
        assert torch.equal(model.head.weight, full['architecture.head.weight'])
        assert any(k.startswith('aux_nets.') for k in full)


def test_two_gloo_processes_keep_ranks_identical(uninterrupted, tmp_path):
    # module 2's loss is NaN on rank 1 only, at the second iteration; every module clips its gradient
    config = with_hook(tmp_path, "dict(type='DumpParams')",
                       "model = dict(poison=dict(module=2, iters=[1], ranks=[1]))\n"
                       "optim_wrapper = dict(clip_grad=dict(max_norm=10.0))\n")
    result = run(['bash', 'tools/dist_train.sh', config, '2', '--work-dir', str(tmp_path)])
    assert result.returncode == 0, result.stderr[-5000:]
    log = logged(tmp_path)  # rank 0's: its own m2 loss was finite at iteration 2, and it skipped with rank 1
    assert [log[it]['m2.skipped'] for it in range(1, 7)] == [0, 1, 0, 0, 0, 0]
    assert all(log[2][f'm{k}.skipped'] == 0 for k in (1, 3, 4))
    assert all(log[it][f'm{k}.grad_norm'] > 0 for it in (1, 6) for k in range(1, 5))  # each module's own norm
    assert 'grad_norm' not in log[1]
    assert (result.stdout + result.stderr).count('applies to each of the 4 local modules separately') == 1  # once
    rank0, rank1 = torch.load(tmp_path / 'params_rank0.pth'), torch.load(tmp_path / 'params_rank1.pth')
    initial = weights(uninterrupted / 'iter_3.pth')
    moved = [k for k in rank0 if rank0[k].is_floating_point() and not torch.equal(rank0[k], initial[k])]
    assert moved  # training changed the parameters, so equality below means they were synchronised
    for key in rank0:
        if 'running_' in key or 'num_batches' in key:
            continue  # BN statistics are per rank (broadcast_buffers=False), as with mmengine's own DDP
        assert torch.equal(rank0[key], rank1[key]), key
    assert weights(tmp_path / 'iter_6.pth').keys() == weights(uninterrupted / 'iter_6.pth').keys()
    # one DDP per module, each with its gradients as views into its buckets (no second copy of them)
    assert (tmp_path / 'ddp_rank0.txt').read_text() == ' '.join(['True'] * 4)


def test_resuming_from_a_stock_checkpoint_says_to_use_the_full_one(uninterrupted, tmp_path):
    result = train(tmp_path, '--resume', str(uninterrupted / 'iter_3_stock.pth'))
    assert result.returncode != 0
    assert 'auxiliary-free checkpoint' in result.stderr and 'iter_N.pth' in result.stderr


def test_stock_copies_follow_out_dir_best_and_max_keep_ckpts(tmp_path):
    """Stock copies go where CheckpointHook writes (out_dir, its file backend), also for best checkpoints, and
    leave with the checkpoints that max_keep_ckpts or a new best removes."""
    out_dir = tmp_path / 'elsewhere'
    config = with_hook(tmp_path, "dict(type='DumpParams')",
                       'train_cfg = dict(val_interval=1)\n'
                       f"default_hooks = dict(checkpoint=dict(interval=1, max_keep_ckpts=2, out_dir={str(out_dir)!r}, "
                       "save_best='accuracy', rule='greater'))\n")
    result = train(tmp_path / 'work', config=config)
    assert result.returncode == 0, result.stderr[-3000:]
    folder = out_dir / 'work'
    names = sorted(os.listdir(folder))
    full = [n for n in names if n.endswith('.pth') and not n.endswith('_stock.pth')]
    twins = [n for n in names if n.endswith('_stock.pth')]
    assert [n for n in full if n.startswith('iter_')] == ['iter_5.pth', 'iter_6.pth']  # max_keep_ckpts=2
    assert any(n.startswith('best_accuracy_iter_') for n in full)
    assert sorted(twins) == sorted(n[:-len('.pth')] + '_stock.pth' for n in full)  # one per checkpoint, no orphans
    from toy_task import ToyCNN
    for name in full:
        stock = ToyCNN()
        stock.load_state_dict(torch.load(folder / (name[:-4] + '_stock.pth'))['state_dict'], strict=True)
        assert torch.equal(stock.head.weight, weights(folder / name)['architecture.head.weight'])


def test_stock_copies_it_did_not_write_stay(tmp_path):
    """A ``*_stock.pth`` that is not this run's twin (a user's file, an earlier run's) is never deleted."""
    (tmp_path / 'work').mkdir()
    theirs = tmp_path / 'work' / 'iter_1_stock.pth'
    theirs.write_bytes(b'not ours')
    result = train(tmp_path / 'work', config=with_hook(tmp_path, "dict(type='DumpParams')",
                                                       'default_hooks = dict(checkpoint=dict(interval=3))\n'))
    assert result.returncode == 0, result.stderr[-3000:]
    assert theirs.read_bytes() == b'not ours'
    assert (tmp_path / 'work' / 'iter_3_stock.pth').exists() and (tmp_path / 'work' / 'iter_6_stock.pth').exists()


def test_the_log_line_is_compact_and_the_scalars_keep_every_key(uninterrupted):
    log = next(iter(glob.glob(osp.join(uninterrupted, '*', '*.log'))))
    lines = [line for line in open(log) if 'Iter(train)' in line]
    assert lines and all(len(line) < 400 for line in lines), max(lines, key=len)
    first = lines[0]
    for shown in (' lr: ', ' loss_cls: ', ' loss: ', ' m1.loss: ', ' m3.loss: '):
        assert shown in first, shown
    assert ' total_mib: ' in first  # measured on the first iteration
    assert 'm4.' not in first and 'total_mib.' not in first and 'act_mib' not in first and 'skipped' not in first
    row = logged(uninterrupted)[1]  # the scalars keep every per-module key
    assert {'m1.loss_aux', 'm4.loss_cls', 'm2.skipped', 'm1.act_mib', 'total_mib.params', 'bank_mib'} <= set(row)


def test_the_loss_plot_leaves_the_process_matplotlib_backend_alone(uninterrupted):
    """A user's backend (here svg, set before) survives the plot: fba_mm never calls matplotlib.use."""
    import matplotlib

    from fba_mm.core.plots import plot_module_losses
    assert (uninterrupted / 'module_losses.png').exists()  # ModuleLossPlotHook drew it after training
    before = matplotlib.get_backend()
    matplotlib.use('svg')
    try:
        assert plot_module_losses(str(uninterrupted), str(uninterrupted / 'again.png'))
        assert matplotlib.get_backend() == 'svg'
    finally:
        matplotlib.use(before)
