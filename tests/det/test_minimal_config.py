"""A user's FBA config is the stock ``_base_`` plus a few lines: ``runner_type='LocalLearningRunner'`` supplies the
per-module optimizers, the DDP wrapper, the local-learning hooks and the log line, through fba_mm's and mmdet's own
``tools/train.py``."""
import glob
import json
import os
import os.path as osp
import re
import subprocess
import sys

import mmdet
import pytest
from mmengine.config import Config

from fba_mm.core import LOCAL_HOOKS
from fba_mm.det.demo_data import make_demo_det

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
MMDET_TRAIN = osp.join(osp.dirname(mmdet.__file__), '.mim', 'tools', 'train.py')


def readme_config(header: str) -> str:
    """The first python block after ``header`` in the README."""
    text = open(osp.join(ROOT, 'README.md')).read()
    return re.search(r'```python\n(.*?)```', text[text.index(header):], re.S).group(1)


BUILD_RUNNER = """
import json, sys
from mmengine.config import Config
from mmengine.registry import RUNNERS
cfg = Config.fromfile(sys.argv[1])
cfg.work_dir = sys.argv[2]
runner = RUNNERS.build(cfg)  # as tools/train.py builds it where the config names a runner_type
optim_wrapper = runner.build_optim_wrapper(runner.optim_wrapper)
print(json.dumps(dict(runner=type(runner).__name__, model=type(runner.model).__name__,
                      hooks=[type(h).__name__ for h in runner.hooks], log_processor=type(runner.log_processor).__name__,
                      optim_wrapper=type(optim_wrapper).__name__, modules=list(optim_wrapper.keys()),
                      lr=optim_wrapper['m1'].optimizer.defaults['lr'])))
"""


def test_the_readme_config_builds_a_runner_with_the_local_hooks_and_one_optimizer_per_module(tmp_path):
    source = readme_config('### Detection (mmdet)')
    lines = [line for line in source.splitlines() if line.strip() and not line.lstrip().startswith('#')]
    assert len(lines) <= 10, lines
    path = tmp_path / 'my_faster-rcnn_fba-k4.py'
    path.write_text(source)
    # in a process of its own: a Runner sets mmengine's default scope for the rest of its process
    result = subprocess.run([sys.executable, '-c', BUILD_RUNNER, str(path), str(tmp_path / 'work')], cwd=ROOT,
                            env=dict(os.environ, PYTHONPATH=ROOT), capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-4000:]
    built = json.loads(result.stdout.strip().splitlines()[-1])
    assert built['runner'] == 'LocalLearningRunner' and built['model'] == 'LocalLearningDetector'
    hooks = set(built['hooks'])
    assert {'LocalLearningHook', 'ModuleMemoryHook', 'StockCheckpointHook', 'ModuleLossPlotHook'} <= hooks
    assert {'CheckpointHook', 'LoggerHook', 'DetVisualizationHook', 'ParamSchedulerHook'} <= hooks  # the stock ones
    assert built['optim_wrapper'] == 'LocalOptimWrapperDict' and built['modules'] == ['m1', 'm2', 'm3', 'm4']
    assert built['lr'] == 0.02  # the stock optimizer, one per module
    assert built['log_processor'] == 'LocalLogProcessor'


def test_a_key_the_config_sets_keeps_its_value(tmp_path):
    from fba_mm.core import local_learning_defaults
    cfg = Config(dict(optim_wrapper=dict(constructor='MyConstructor'), log_processor=dict(type='MyLogProcessor'),
                      default_hooks=dict(module_memory=dict(type='ModuleMemoryHook', interval=7))))
    filled = local_learning_defaults(cfg)
    assert filled.optim_wrapper.constructor == 'MyConstructor' and filled.log_processor.type == 'MyLogProcessor'
    assert filled.default_hooks.module_memory.interval == 7
    assert set(LOCAL_HOOKS) <= set(filled.default_hooks)


@pytest.fixture(scope='module')
def demo_root(tmp_path_factory):
    return make_demo_det(str(tmp_path_factory.mktemp('demo_det')), num_train=8, num_val=4, size=128)


@pytest.mark.parametrize('train_py', ['tools/train.py', MMDET_TRAIN], ids=['fba_mm', 'mmdet'])
def test_the_demo_config_in_its_short_form_trains_through_train_py(train_py, demo_root, tmp_path):
    """The demo FBA config is the short form (its _base_ + runner_type + model); a few iterations on the demo set."""
    demo = osp.join(ROOT, 'configs', 'det', 'demo', 'faster-rcnn_r18_fpn_fba-k4_demo.py')
    assert 'LocalOptimWrapperConstructor' not in open(demo).read()
    lines = [f'_base_ = {demo!r}', f'data_root = {demo_root + "/"!r}']
    for split in ('train', 'val', 'test'):
        lines.append(f'{split}_dataloader = dict(dataset=dict(data_root=data_root), num_workers=0, '
                     'persistent_workers=False)')
    lines += ["val_evaluator = dict(ann_file=data_root + 'val.json')", 'test_evaluator = val_evaluator',
              'train_cfg = dict(max_epochs=1, val_interval=1)', 'default_hooks = dict(checkpoint=dict(interval=1))']
    config = tmp_path / 'fba.py'
    config.write_text('\n'.join(lines) + '\n')
    work = tmp_path / 'work'
    env = dict(os.environ, PYTHONPATH=ROOT, OMP_NUM_THREADS='2')
    result = subprocess.run([sys.executable, train_py, str(config), '--work-dir', str(work)], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, result.stderr[-4000:]
    log = ''.join(open(p).read() for p in glob.glob(str(work / '*' / '*.log')))
    assert 'local learning: 4 modules' in log  # LocalLearningHook ran
    assert re.search(r'm1\.loss: [0-9.]+ +m2\.loss', log)  # the LocalLogProcessor's line
    assert osp.exists(work / 'epoch_1_stock.pth') and osp.exists(work / 'module_losses.png')
