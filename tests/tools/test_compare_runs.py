"""tools/analysis/compare.py: every run it trains is the demo config with exactly its strategy switched in."""
import os.path as osp
import sys

import pytest
from mmengine.registry import MODELS, DefaultScope

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
sys.path.insert(0, osp.join(ROOT, 'tools', 'analysis'))
import compare  # noqa: E402

import fba_mm.det  # noqa: E402,F401
import fba_mm.sr  # noqa: E402,F401

EXPECTED = {  # run -> (aux net type, use_bank)
    'slm-k2': ('SLMAuxNet', True), 'slm-k4': ('SLMAuxNet', True), 'slm_nobank-k4': ('SLMAuxNet', False),
    'dgl-k2': ('DGLAuxNet', False), 'augloc-k4': ('AugLocAuxNet', False),
}


@pytest.mark.parametrize('task', ['det', 'sr'])
def test_every_run_builds_with_its_strategy_and_nothing_else_changes(task):
    base = compare.run_config(task, 'e2e')
    for run in compare.RUNS:
        cfg = compare.run_config(task, run, {'train_cfg.val_interval': 7})
        assert cfg.train_cfg.val_interval == 7  # --cfg-options reach every run
        assert cfg.train_dataloader == base.train_dataloader and cfg.param_scheduler == base.param_scheduler
        if run in EXPECTED:
            aux_type, bank = EXPECTED[run]
            assert cfg.model.aux_net.type == aux_type and cfg.model.get('use_bank', True) == bank
            k = int(run[-1])
            with DefaultScope.overwrite_default_scope(cfg.default_scope):
                model = MODELS.build(cfg.model)
                stock_keys = MODELS.build(base.model).state_dict().keys()
            assert model.num_modules == k and type(model.aux_nets[0]).__name__.endswith(aux_type)
            assert model.architecture.state_dict().keys() == stock_keys  # the same stock model inside


def test_checkpointed_end_to_end_is_the_same_model_with_checkpointing():
    det = compare.run_config('det', 'e2e_cp')
    assert det.model.backbone.with_cp and det.model.type == 'FasterRCNN'
    sr = compare.run_config('sr', 'e2e_cp')
    assert sr.model.type == 'LocalLearningEditor' and sr.model.split_points == 1 and sr.model.with_cp
    assert sr.optim_wrapper.constructor == 'LocalOptimWrapperConstructor'


def test_committed_results_resume_only_from_the_same_config(tmp_path):
    # a finished run's committed metrics stand in for training it again, unless its config or demo set changed
    (tmp_path / 'data').mkdir()
    (tmp_path / 'data' / 'settings.json').write_text('{"version": 3}')
    data = {'data_root': str(tmp_path / 'data')}
    cfg = compare.seeded(compare.run_config('sr', 'slm-k4', data), 1)
    path = tmp_path / 'slm-k4' / 'seed1.json'
    path.parent.mkdir()
    path.write_text(compare.json.dumps(dict(metrics={'PSNR': 30.0}, fingerprint=compare.fingerprint(cfg))))
    assert compare.committed_result(str(tmp_path), 'slm-k4', 1, cfg)['metrics'] == {'PSNR': 30.0}
    assert compare.committed_result(str(tmp_path), 'slm-k4', 2, compare.seeded(cfg, 2)) is None  # not trained
    assert compare.committed_result(str(tmp_path), 'slm-k4', 1, compare.seeded(cfg, 2)) is None  # another seed
    other = compare.run_config('sr', 'slm-k4', {'train_cfg.max_iters': 10, **data})
    assert compare.committed_result(str(tmp_path), 'slm-k4', 1, compare.seeded(other, 1)) is None  # other options
    (tmp_path / 'data' / 'settings.json').write_text('{"version": 4}')
    assert compare.committed_result(str(tmp_path), 'slm-k4', 1, cfg) is None  # another demo set


def test_measures_are_kept_per_config_and_taken_again_when_it_changes(tmp_path, capsys, monkeypatch):
    """``--measure-only`` and every report: one real training step per run (memory, speed, FLOPs) into
    measures.json, reused while the run's config is the same."""
    monkeypatch.chdir(ROOT)
    compare.prepare_data('sr')
    measures_file = str(tmp_path / 'sr-x2' / 'measures.json')
    configs = {'e2e': compare.run_config('sr', 'e2e')}
    first = compare.measure_runs(configs, 'sr', measures_file, ['e2e'])['e2e']
    assert first['sec_per_iter'] > 0 and first['total_mib'] > 0 and first['gflops'] > 0
    assert first['fingerprint'] == compare.fingerprint(configs['e2e'])
    assert capsys.readouterr().out.count('measuring e2e') == 1
    assert compare.measure_runs(configs, 'sr', measures_file, ['e2e'])['e2e'] == first  # kept
    assert 'measuring' not in capsys.readouterr().out
    configs['e2e'].train_dataloader.batch_size = 4  # another config: measured again
    again = compare.measure_runs(configs, 'sr', measures_file, ['e2e'])['e2e']
    assert again['fingerprint'] != first['fingerprint'] and 'measuring e2e' in capsys.readouterr().out


def test_sr_x4_runs_are_the_x2_recipe_at_scale_4():
    x2, x4 = compare.run_config('sr', 'slm-k4'), compare.run_config('sr-x4', 'slm-k4')
    assert x4.model.architecture.generator.upscale_factor == 4 and x4.model.split_points == x2.model.split_points
    assert x4.train_dataloader.dataset.data_prefix.img == 'LRbicx4' and x4.val_evaluator.metrics[1].crop_border == 4
    assert x4.optim_wrapper == x2.optim_wrapper and x4.param_scheduler == x2.param_scheduler


def test_work_dir_of_another_config_is_not_resumed(tmp_path):
    # checkpoints of another config (e.g. the previous demo recipe) would be resumed into this one: moved aside
    cfg = compare.seeded(compare.run_config('sr', 'e2e'), 0)
    work_dir = tmp_path / 'e2e' / 'seed0'
    work_dir.mkdir(parents=True)
    (work_dir / 'iter_10.pth').write_text('old')
    compare.prepare_work_dir(str(work_dir), cfg)
    assert not (work_dir / 'iter_10.pth').exists() and (tmp_path / 'e2e' / 'seed0.stale' / 'iter_10.pth').exists()
    (work_dir / 'iter_20.pth').write_text('this config, unfinished')
    compare.prepare_work_dir(str(work_dir), cfg)
    assert (work_dir / 'iter_20.pth').exists()  # the same config resumes


def test_learning_curves_give_the_seed_spread_at_every_evaluation():
    # how the spread evolves with the schedule: per run and validation step, mean and std over the seeds there
    histories = {'e2e': {0: [{'PSNR': 30.0, 'step': 2}, {'PSNR': 31.0, 'step': 4}],
                         1: [{'PSNR': 32.0, 'step': 2}]},
                 'slm-k4': {0: [{'loss': 1.0, 'step': 2}]}}  # no validation of the metric: no curve
    curves = compare.learning_curves(histories, 'PSNR')
    assert list(curves) == ['e2e']
    assert curves['e2e'][2] == (31.0, pytest.approx(2 ** 0.5), 2) and curves['e2e'][4] == (31.0, 0.0, 1)
    table = compare.curves_markdown(curves, 'sr')
    assert '| end-to-end | 31.00 ± 1.41 | 31.00 |' in table


def test_the_fingerprint_follows_what_decides_training_and_nothing_else():
    """Moving a hook or a log setting leaves committed results valid; a training setting makes them stale."""
    cfg = compare.seeded(compare.run_config('det', 'slm-k4'), 0)
    stamp = compare.fingerprint(cfg)
    for key, value in (('default_hooks.logger.interval', 50), ('log_processor.window_size', 5),
                       ('default_hooks.checkpoint.interval', 1), ('max_epochs', 99)):
        assert compare.fingerprint(compare.run_config('det', 'slm-k4', {key: value, 'randomness.seed': 0})) == stamp
    for key, value in (('optim_wrapper.optimizer.lr', 2e-3), ('train_cfg.val_interval', 3),
                       ('model.aux_net.first_level', 2), ('randomness.seed', 1)):
        assert compare.fingerprint(compare.run_config('det', 'slm-k4', {key: value})) != stamp, key


@pytest.mark.parametrize('coco', ['faster-rcnn_r50_fpn_fba-k4_1x_coco.py', 'retinanet_r50_fpn_fba-k4_1x_coco.py',
                                  'mask-rcnn_r50_fpn_fba-k4_1x_coco.py', 'cascade-rcnn_r50_fpn_fba-k4_1x_coco.py',
                                  'tood_r50_fpn_fba-k4_1x_coco.py'])
def test_the_demo_trains_the_recipe_the_coco_configs_ship(coco):
    """Every aux_net key but the sizing ones (train_cfg, test_cfg, with_cp) is the demo FBA config's."""
    import importlib.util

    from mmengine.config import Config
    spec = importlib.util.spec_from_file_location('demo', osp.join(ROOT, 'tools', 'demo.py'))
    demo = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(demo)
    demo_cfg = Config.fromfile(osp.join(ROOT, compare.TASKS['det']['fba'][4]))
    coco_cfg = Config.fromfile(osp.join(ROOT, 'configs', 'det', coco))
    assert demo.recipe(coco_cfg) == demo.recipe(demo_cfg)
    assert "weight_source='tied'" in demo.recipe(demo_cfg)


FAMILIES = {  # task -> (the architecture its demo configs build, the full-size FBA config of that family)
    'det-rtmdet': ('RTMDet', 'configs/det/rtmdet_s_fba-k4_8xb32-300e_coco.py'),
    'det-yolox': ('YOLOX', 'configs/det/yolox_s_fba-k4_8xb8-300e_coco.py'),
    'det-tood': ('TOOD', 'configs/det/tood_r50_fpn_fba-k4_1x_coco.py'),
    'det-dino': ('DINO', 'configs/det/dino-4scale_r50_fba-k4_8xb2-12e_coco.py'),
    'sr-rdn': ('RDNNet', 'configs/sr/rdn_x2c64b16_fba-k4_1xb16-1000k_div2k.py'),
    'sr-rrdb': ('RRDBNet', 'configs/sr/esrgan_psnr-x4c64b23g32_fba-k4_1xb16-1000k_div2k.py'),
    'sr-msrresnet': ('MSRResNet', 'configs/sr/msrresnet_x4c64b16_fba-k4_1xb16-1000k_div2k.py'),
    'sr-swinir': ('SwinIRNet', 'configs/sr/swinir_x2s64w8d6e180_fba-k4_8xb4-lr2e-4-500k_df2k.py'),
}


@pytest.mark.parametrize('task', sorted(FAMILIES))
def test_each_family_is_a_task_whose_demo_trains_its_full_size_recipe(task):
    """The family's demo pair builds that family's network, changes only the model against the task's base demo,
    and the FBA demo ships the auxiliary recipe of the family's full-size config (every aux_net key but the sizing
    ones), so that what the comparison measures is what the family's users train."""
    import importlib.util

    from mmengine.config import Config
    spec = importlib.util.spec_from_file_location('demo', osp.join(ROOT, 'tools', 'demo.py'))
    demo = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(demo)
    family, full_size = FAMILIES[task]
    e2e, fba = compare.run_config(task, 'e2e'), compare.run_config(task, 'slm-k4')
    for cfg in (e2e, fba):
        model = cfg.model.get('architecture', cfg.model)
        assert family in (model.type, model.get('generator', {}).get('type'))
    base = compare.run_config('sr-x4' if e2e.get('scale') == 4 else task.split('-')[0], 'e2e')
    assert e2e.train_dataloader == base.train_dataloader and e2e.train_cfg == base.train_cfg
    assert e2e.param_scheduler == base.param_scheduler and e2e.optim_wrapper == base.optim_wrapper
    assert fba.model.type.startswith('LocalLearning') and len(fba.model.split_points) == 3
    assert demo.recipe(fba) == demo.recipe(Config.fromfile(osp.join(ROOT, full_size)))
