"""The accuracy claim of docs/sr.md, as a test: on the photo demo set, end-to-end and FBA K=4 both beat bicubic
upsampling, and FBA K=4 trails end-to-end by less than 0.3 dB PSNR with the same schedule and seed. About 10
minutes on 2 cores: marked slow (`make test-all`)."""
import os
import os.path as osp
import subprocess
import sys

import pytest
from mmengine.config import Config

from fba_mm.core.plots import read_evaluations
from fba_mm.sr.demo_data import make_demo_sr

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
DEMO = osp.join(ROOT, 'configs', 'sr', 'demo')


def train_and_evaluate(config: str, work_dir: str, data_root: str) -> float:
    """Train a demo config on ``data_root`` through tools/train.py; return the final val PSNR (mmagic's)."""
    overrides = [f'train_dataloader.dataset.data_root={data_root}/train',
                 f'val_dataloader.dataset.data_root={data_root}/val']
    result = subprocess.run([sys.executable, 'tools/train.py', osp.join(DEMO, f'{config}.py'), '--work-dir', work_dir,
                             '--cfg-options', *overrides], cwd=ROOT, env=dict(os.environ, PYTHONPATH=ROOT),
                            capture_output=True, text=True, timeout=3600)
    assert result.returncode == 0, result.stderr[-3000:]
    return read_evaluations(work_dir, 'PSNR')[-1]['PSNR']


@pytest.mark.slow
def test_fba_k4_beats_bicubic_and_stays_near_end_to_end(tmp_path, monkeypatch):
    data_root = make_demo_sr(str(tmp_path / 'demo_sr'), scales=(2, ))
    sys.path.insert(0, osp.join(ROOT, 'tools', 'analysis'))
    import sr_samples
    monkeypatch.setattr(sr_samples, 'VAL', osp.join(data_root, 'val'))
    _, (bicubic, _) = sr_samples.bicubic_row(Config.fromfile(osp.join(DEMO, 'edsr_x2c32b8_demo.py')))
    e2e = train_and_evaluate('edsr_x2c32b8_demo', str(tmp_path / 'e2e'), data_root)
    fba = train_and_evaluate('edsr_x2c32b8_fba-k4_demo', str(tmp_path / 'k4'), data_root)
    assert e2e > float(bicubic) + 0.5  # the baseline learned to super-resolve: the gap means something
    assert fba > float(bicubic) + 0.5 and fba > e2e - 0.3, (fba, e2e, bicubic)


@pytest.mark.slow
def test_fba_k4_at_x4_stays_within_a_tenth_of_a_db(tmp_path, monkeypatch):
    # docs/benchmarks.md, SR x4: seed 0 measured 29.83 (FBA K=4, crop=0.45) against 29.89 dB (end-to-end), the gap
    # 0.076 ± 0.024 dB over 3 seeds; trained as
    # `compare.py sr-x4` trains its runs, at one thread as they were. About 95 minutes.
    sys.path.insert(0, osp.join(ROOT, 'tools', 'analysis'))
    import compare
    monkeypatch.chdir(ROOT)
    monkeypatch.setenv('OMP_NUM_THREADS', '1')  # as the committed runs trained
    psnr = {run: compare.train_seed('sr-x4', run, 0, str(tmp_path / run))['metrics']['PSNR']
            for run in ('e2e', 'slm-k4')}
    assert psnr['e2e'] > 29.5, psnr  # learned x4 (bicubic on this val set is lower, see docs/benchmarks.md)
    assert psnr['slm-k4'] > psnr['e2e'] - 0.1, psnr


#: family task -> its end-to-end floor (the baseline learned). Measured at seed 0 (docs/benchmarks.md, "Every family";
#: about 60-100 minutes each at one thread):
FAMILY_SEED0 = {
    'sr-rdn': 33.5,        # 33.83 dB end-to-end, 33.82 FBA (copies, crop 0.5); seed 1 lost 1.6 dB: this seed's claim
    'sr-msrresnet': 30.0,  # 30.37 dB end-to-end, 30.31 FBA (copies of the next block and of the x4 tail, crop 0.5)
}


@pytest.mark.slow
@pytest.mark.parametrize('task', sorted(FAMILY_SEED0))
def test_family_fba_k4_stays_within_a_tenth_of_a_db_at_seed_0(task, tmp_path, monkeypatch):
    """The family's demo trained as ``compare.py <task>`` trains its runs (seed 0, one thread as they were): FBA K=4
    with the family's shipped recipe stays within 0.1 dB of end-to-end, as measured."""
    sys.path.insert(0, osp.join(ROOT, 'tools', 'analysis'))
    import compare
    monkeypatch.chdir(ROOT)
    monkeypatch.setenv('OMP_NUM_THREADS', '1')
    floor = FAMILY_SEED0[task]
    psnr = {run: compare.train_seed(task, run, 0, str(tmp_path / run))['metrics']['PSNR']
            for run in ('e2e', 'slm-k4')}
    assert psnr['e2e'] > floor, psnr  # the baseline learned
    assert psnr['slm-k4'] > psnr['e2e'] - 0.1, psnr
