"""The main job: make a demo set, train on it with FBA, and report.

    python tools/demo.py [CONFIG] [--work-dir DIR] [--cfg-options k=v ...]

CONFIG is a demo config: detection (default, configs/det/demo/: the generated shapes set, val bbox mAP by
mmdet's CocoMetric) or super-resolution (configs/sr/demo/: scikit-image's photographs, val PSNR/SSIM by
mmagic's metrics). Prints the metrics and the activation memory of one training step with FBA against
end-to-end training of the same model on the same batch; saves the per-module loss curves as a plot in the
work dir.
"""
import argparse
import copy
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))

import fba_mm  # noqa: E402,F401
from mmengine.config import Config, DictAction  # noqa: E402
from mmengine.runner import Runner  # noqa: E402

DEFAULT = 'configs/det/demo/faster-rcnn_r18_fpn_fba-k4_demo.py'


def det_task(cfg):
    """(make the demo set, the metrics line) for a detection demo config."""
    from fba_mm.det.demo_data import make_demo_det
    make = lambda: make_demo_det(cfg.data_root.rstrip('/'))  # noqa: E731
    report = lambda m: (f'val bbox mAP (CocoMetric): {m.get("coco/bbox_mAP", float("nan")):.3f}   '  # noqa: E731
                        f'mAP@0.5: {m.get("coco/bbox_mAP_50", float("nan")):.3f}')
    return make, report


def sr_task(cfg):
    """(make the demo set, the metrics line) for an SR demo config."""
    from fba_mm.sr.demo_data import make_demo_sr
    make = lambda: make_demo_sr(cfg.data_root)  # noqa: E731
    report = lambda m: (f'val PSNR (Y, mmagic): {m.get("PSNR", float("nan")):.2f} dB   '  # noqa: E731
                        f'SSIM: {m.get("SSIM", float("nan")):.4f}')
    return make, report


def activation_saving(cfg, runner):
    """Activation peak of one step, FBA vs end-to-end, on one real batch of the demo train set."""
    import torch
    from mmengine.optim import build_optim_wrapper
    from mmengine.registry import MODELS, DefaultScope

    from fba_mm.core.benchmark import measure_training
    batch = next(iter(runner.train_dataloader))
    out = {}
    for name, model_cfg in (('e2e', cfg.model.architecture), ('fba', cfg.model)):
        torch.manual_seed(0)
        with DefaultScope.overwrite_default_scope(cfg.default_scope):
            model = MODELS.build(copy.deepcopy(model_cfg))
        model.init_weights()
        optim = copy.deepcopy(cfg.optim_wrapper)
        if name == 'e2e':
            optim.pop('constructor', None)
        ow = build_optim_wrapper(model, optim)
        out[name] = measure_training(model, ow, batch, warmup=0, iters=1)['activation_mib']
    return out


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('config', nargs='?', default=DEFAULT)
    parser.add_argument('--work-dir')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction)
    args = parser.parse_args()

    cfg = Config.fromfile(args.config)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    cfg.work_dir = args.work_dir or osp.join('work_dirs', osp.splitext(osp.basename(args.config))[0])
    make_data, report = (sr_task if cfg.get('default_scope') == 'mmagic' else det_task)(cfg)
    print(f'demo data: {make_data()}', flush=True)

    runner = Runner.from_cfg(cfg)
    runner.train()
    hub = runner.message_hub  # the last validation's metrics, logged by the train loop
    metrics = {k[len('val/'):]: v.current() for k, v in hub.log_scalars.items() if k.startswith('val/')}
    if not metrics:
        metrics = runner.val_loop.run()
    memory = activation_saving(cfg, runner)

    print('\n' + '=' * 72)
    print(f'{osp.basename(args.config)}: {runner.iter} iterations, work dir {cfg.work_dir}')
    print(report(metrics))
    print(f'activation memory of one training step: FBA {memory["fba"]:.1f} MiB vs end-to-end '
          f'{memory["e2e"]:.1f} MiB ({memory["fba"] / memory["e2e"]:.2f}x, saving '
          f'{100 * (1 - memory["fba"] / memory["e2e"]):.0f}%)')
    print(f'per-module loss curves: {osp.join(cfg.work_dir, "module_losses.png")}')
    print('=' * 72)


if __name__ == '__main__':
    main()
