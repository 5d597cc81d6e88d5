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
