"""Why a detection recipe keeps or loses accuracy, module by module, on trained ``compare.py`` runs.

    python tools/analysis/det_module_diagnostics.py work_dirs/compare/det-12e --runs slm-k4 slm_copy-k4 \
        [--seed 0] [--epochs 4 8 12] [--probes tied-0.5 tied-1.0] [--batches 4] \
        [--out docs/bench/det_module_diagnostics.json] [--plot docs/images/det_module_gradient_cosine.png]

For each run (its ``config.py`` and ``epoch_<e>.pth`` checkpoints in ``<root>/<run>/seed<s>``):

1. **mAP of every auxiliary net** beside the real head's, at the last epoch: module k's features through its
   auxiliary net's later blocks, neck and heads (what its local loss trains module k towards), on the val split,
   scored by mmdet's CocoMetric (``LocalLearner.predict_by_module``). The last row is the trained detector itself.
2. **Gradient alignment** at every ``--epochs`` checkpoint, on ``--batches`` train batches: the cosine between the
   gradient module k's parameters get from their local loss and the end-to-end gradient of the same parameters at
   the same weights (the stock detector's loss through every later module), and the ratio of their norms (the
   loss scale module k's optimizer sees, against end-to-end's). Each module's pass is seeded as the end-to-end
   pass is, so RPN and RoI sampling draw alike; the last module (the real head) is the reference: its gradient is
   end-to-end's up to sampling that differs where proposals differ. Besides the run's own auxiliary nets, every
   ``--probes`` recipe (``tied-<scale>``, ``tied-<scale>-levelshift`` without ``scale_priors``: tied weights need
   none of their own, so any tied recipe can be evaluated at the run's weights) is measured at the same weights and
   batches: a controlled comparison of, say, a half-resolution head against a full-resolution one.
3. **BN statistics on the tied path**: for every BN layer an auxiliary net runs, the batch mean and variance of
   its input (what it normalises with in train mode) against the same layer's input in the main forward on the
   same batch: ``|mean_aux - mean_main| / std_main`` and ``var_aux / var_main``, averaged over channels.

Writes a JSON and a plot of the cosines; prints markdown tables.
"""
import argparse
import copy
import json
import os
import os.path as osp
import statistics
import sys

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
sys.path.insert(0, ROOT)

import torch  # noqa: E402
from mmengine.config import Config  # noqa: E402
from mmengine.evaluator import Evaluator  # noqa: E402
from mmengine.registry import MODELS, DefaultScope  # noqa: E402
from mmengine.runner import Runner, load_checkpoint  # noqa: E402
from torch.nn.modules.batchnorm import _BatchNorm  # noqa: E402

import fba_mm.det  # noqa: E402,F401


def build(cfg: Config, aux_options=None):
    model_cfg = copy.deepcopy(cfg.model)
    if aux_options:
        model_cfg.aux_net.update(aux_options)
    with DefaultScope.overwrite_default_scope('mmdet'):
        return MODELS.build(model_cfg)


def load_run(work_dir: str, epoch: int):
    cfg = Config.fromfile(osp.join(work_dir, 'config.py'))
    model = build(cfg)
    load_checkpoint(model, osp.join(work_dir, f'epoch_{epoch}.pth'), map_location='cpu', strict=True,
                    logger='silent')
    return cfg, model


def probe_model(cfg: Config, model, probe: str):
    """The run's weights under another tied recipe: ``tied-<scale>``, with ``-d<depth>`` another depth, with
    ``-levelshift`` the heads' priors not rescaled with the image (``scale_priors=False``)."""
    source, scale, *rest = probe.split('-')
    depth = [int(r[1:]) for r in rest if r.startswith('d')]
    if source != 'tied' or any(r != 'levelshift' and not r.startswith('d') for r in rest):
        raise SystemExit(f'--probes {probe}: only tied recipes can run at another run\'s weights '
                         '(tied-<scale>[-d<depth>][-levelshift])')
    options = dict(weight_source='tied', scale=float(scale), scale_priors='levelshift' not in rest)
    if depth:
        options['depth'] = depth[0]
    other = build(cfg, options)
    other.architecture.load_state_dict(model.architecture.state_dict())
    return other


def recipe_name(cfg_aux: dict) -> str:
    shift = '-levelshift' if cfg_aux.get('scale', 1.0) < 1 and not cfg_aux.get('scale_priors', True) else ''
    return f'{cfg_aux.get("weight_source", "copy")}-{cfg_aux.get("scale", 1.0):g}{shift}'


def module_params(model, k: int):
    paths = [p for b in model.module_blocks(k) for p in model.block_paths(b)]
    if k == 0 and model.stem_trainable:
        paths = model.stem_paths() + paths
    return [p for path in paths for p in model.get_submodule(path).parameters() if p.requires_grad]


def flat(grads, params):
    return torch.cat([(g if g is not None else torch.zeros_like(p)).flatten() for g, p in zip(grads, params)])


def end_to_end_grads(model, data):
    """The stock detector's loss, through every module: each module's gradient, flattened."""
    losses = model.architecture.loss(data['inputs'], copy.deepcopy(data['data_samples']))
    loss, _ = model.parse_losses(losses)
    params = [module_params(model, k) for k in range(model.num_modules)]
    grads = torch.autograd.grad(loss, [p for ps in params for p in ps], allow_unused=True)
    out, i = [], 0
    for ps in params:
        out.append(flat(grads[i:i + len(ps)], ps))
        i += len(ps)
    return out


def local_grads(model, data):
    """Each module's gradient from its own local loss (as train_step computes it, without stepping), and the
    local loss values."""
    bank, grads, values = model.feature_bank, [], []
    bank.clear()
    try:
        with torch.no_grad():
            state = model.forward_prefix(data['inputs'])
        for k in range(model.num_modules):
            params = module_params(model, k)
            torch.manual_seed(0)  # each module's RPN/RoI sampling draws what the end-to-end pass drew
            with model.aux_weights(k):
                output, losses = model.forward_local(k, state, copy.deepcopy(data['data_samples']))
                loss, _ = model.parse_losses(losses)
                grads.append(flat(torch.autograd.grad(loss, params, allow_unused=True), params))
            values.append(float(loss.detach()))
            state = model.detach_output(output)
    finally:
        bank.clear()
    return grads, values


class BNInputs:
    """Per-channel mean and variance of the input of every hooked BN layer, by name."""

    def __init__(self, named_modules):
        self.stats, self.handles = {}, []
        for name, m in named_modules:
            if isinstance(m, _BatchNorm):
                self.handles.append(m.register_forward_hook(self._hook(name)))

    def _hook(self, name):
        def hook(module, args, output):
            x = args[0].detach().transpose(0, 1).flatten(1)
            self.stats[name] = (x.mean(1), x.var(1))
        return hook

    def remove(self):
        for h in self.handles:
            h.remove()


def bn_comparison(model, data) -> dict:
    """Auxiliary net k's BN inputs against the main model's at the same layers (one forward each, same batch)."""
    out = {}
    main = BNInputs((f'backbone.{n}', m) for n, m in model.architecture.backbone.named_modules())
    with torch.no_grad():
        model.architecture.extract_feat(data['inputs'])
    main.remove()
    bank = model.feature_bank
    bank.clear()
    with torch.no_grad():
        state = model.forward_prefix(data['inputs'])
        for k in range(model.num_modules - 1):
            aux = model.aux_nets[k]
            trunk = getattr(aux, 'trunk', None)
            hooks = BNInputs((f'backbone.{n}', m) for n, m in trunk.named_modules()) if trunk is not None else None
            with model.aux_weights(k):
                state, _ = model.forward_local(k, state, copy.deepcopy(data['data_samples']))
            if hooks is None:
                continue
            hooks.remove()
            shift, ratio = [], []
            for name, (mean, var) in hooks.stats.items():
                m_mean, m_var = main.stats[name]
                shift.append(float(((mean - m_mean).abs() / (m_var + 1e-5).sqrt()).mean()))
                ratio.append(float((var / (m_var + 1e-5)).mean()))
            if shift:
                out[f'm{k + 1}'] = dict(layers=len(shift), mean_shift_in_std=statistics.mean(shift),
                                        var_ratio=statistics.mean(ratio))
            state = model.detach_output(state)
    bank.clear()
    return out


def train_batches(cfg: Config, n: int):
    loader_cfg = copy.deepcopy(cfg.train_dataloader)
    loader_cfg.num_workers, loader_cfg.persistent_workers = 0, False
    with DefaultScope.overwrite_default_scope('mmdet'):
        loader = Runner.build_dataloader(loader_cfg, seed=0)
    batches = []
    for batch in loader:
        batches.append(batch)
        if len(batches) == n:
            break
    return batches


def gradient_alignment(models: dict, batches) -> dict:
    """recipe -> module -> dict(cos, norm_ratio, loss) means over the batches (the last module is the real head)."""
    out = {name: {} for name in models}
    for batch in batches:
        for name, model in models.items():
            model.train()
            data = model.data_preprocessor(copy.deepcopy(batch), True)
            torch.manual_seed(0)
            e2e = end_to_end_grads(model, data)
            local, values = local_grads(model, data)
            for k, (g_local, g_e2e) in enumerate(zip(local, e2e)):
                row = out[name].setdefault(f'm{k + 1}', dict(cos=[], norm_ratio=[], loss=[]))
                row['cos'].append(float(torch.nn.functional.cosine_similarity(g_local, g_e2e, dim=0)))
                row['norm_ratio'].append(float(g_local.norm() / g_e2e.norm().clamp_min(1e-12)))
                row['loss'].append(values[k])
    return {name: {m: {key: statistics.mean(v) for key, v in row.items()} for m, row in per.items()}
            for name, per in out.items()}


@torch.no_grad()
def module_map(cfg: Config, model) -> list:
    """Val bbox mAP (CocoMetric) of every module's prediction: auxiliary nets 1..K-1, then the real head."""
    loader_cfg = copy.deepcopy(cfg.val_dataloader)
    loader_cfg.num_workers, loader_cfg.persistent_workers = 0, False
    with DefaultScope.overwrite_default_scope('mmdet'):
        loader = Runner.build_dataloader(loader_cfg, seed=0)
        evaluators = [Evaluator(copy.deepcopy(cfg.val_evaluator)) for _ in range(model.num_modules)]
    for evaluator in evaluators:
        evaluator.dataset_meta = loader.dataset.metainfo
    model.eval()
    for batch in loader:
        data = model.data_preprocessor(copy.deepcopy(batch), False)
        for evaluator, prediction in zip(evaluators, model.predict_by_module(data['inputs'], data['data_samples'])):
            evaluator.process(data_samples=prediction, data_batch=batch)
    return [e.evaluate(len(loader.dataset)) for e in evaluators]


def plot(results: dict, out_file: str) -> None:
    """One panel per auxiliary-net recipe: the cosine of every module's local gradient with end-to-end's, against
    the epoch of the checkpoint, one line style per run."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    recipes = list(dict.fromkeys(rec for r in results.values() for rec in r['alignment']))
    fig, axes = plt.subplots(1, len(recipes), figsize=(3.2 * len(recipes), 3.4), dpi=120, sharey=True, squeeze=False)
    styles = ['-', '--', ':', '-.']
    for ax, recipe in zip(axes[0], recipes):
        for (run, r), style in zip(results.items(), styles):
            per_epoch = r['alignment'].get(recipe)
            if not per_epoch:
                continue
            epochs = sorted(per_epoch, key=int)
            for i, m in enumerate(per_epoch[epochs[0]]):
                ax.plot([int(e) for e in epochs], [per_epoch[e][m]['cos'] for e in epochs], style, marker='o', ms=3,
                        color=f'C{i}', label=f'{m}, {run}')
        ax.set_title(f'aux nets: {recipe}', fontsize=9)
        ax.set_xlabel('epoch of the checkpoint')
        ax.grid(alpha=0.3)
    axes[0][0].set_ylabel('cos(local grad, end-to-end grad)')
    axes[0][-1].legend(fontsize=6, loc='lower left')
    fig.suptitle('The gradient each module gets from its auxiliary net, against end-to-end (m4: the real head)',
                 fontsize=9)
    fig.tight_layout()
    fig.savefig(out_file)
    plt.close(fig)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('root', help='a compare.py work root of a section, e.g. work_dirs/compare/det-12e')
    parser.add_argument('--runs', nargs='+', required=True)
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--epochs', nargs='+', type=int, default=[4, 8, 12])
    parser.add_argument('--probes', nargs='*', default=['tied-0.5', 'tied-0.5-levelshift', 'tied-1'],
                        help='tied recipes evaluated at each run\'s weights (tied-<scale>)')
    parser.add_argument('--batches', type=int, default=4, help='train batches the gradients are averaged over')
    parser.add_argument('--no-map', action='store_true', help='skip the per-module val mAP')
    parser.add_argument('--plot-only', action='store_true', help='measure nothing: plot the JSON of --out')
    parser.add_argument('--out', default='docs/bench/det_module_diagnostics.json')
    parser.add_argument('--plot', default='docs/images/det_module_gradient_cosine.png')
    args = parser.parse_args()
    os.chdir(ROOT)
    results = json.load(open(args.out)) if osp.exists(args.out) else {}
    for run in [] if args.plot_only else args.runs:
        work_dir = osp.join(args.root, run, f'seed{args.seed}')
        cfg = Config.fromfile(osp.join(work_dir, 'config.py'))
        own = recipe_name(cfg.model.aux_net)
        batches = train_batches(cfg, args.batches)
        r = dict(work_dir=work_dir, seed=args.seed, recipe=own, alignment={}, bn={})
        for epoch in args.epochs:
            _, model = load_run(work_dir, epoch)
            r['num_modules'] = model.num_modules
            # a tied run's own recipe is one of the probes (it has no weights of its own to load)
            models = {} if own.startswith('tied') else {f'{own} (own)': model}
            models.update({p: probe_model(cfg, model, p) for p in args.probes})
            for name, per_module in gradient_alignment(models, batches).items():
                r['alignment'].setdefault(name, {})[str(epoch)] = per_module
                print(f'{run} epoch {epoch} {name}: ' + ', '.join(
                    f'{m} cos {v["cos"]:.3f} |g|/|g_e2e| {v["norm_ratio"]:.2f} loss {v["loss"]:.3f}'
                    for m, v in per_module.items()), flush=True)
            model.train()
            data = model.data_preprocessor(copy.deepcopy(batches[0]), True)
            r['bn'][str(epoch)] = {name: bn_comparison(m, data) for name, m in models.items()}
        if not args.no_map:
            _, model = load_run(work_dir, args.epochs[-1])
            maps = module_map(cfg, model)
            r['module_map'] = [m.get('coco/bbox_mAP') for m in maps]
            r['module_map_50'] = [m.get('coco/bbox_mAP_50') for m in maps]
            print(f'{run}: bbox mAP by module (aux nets, then the real head): {r["module_map"]}', flush=True)
        results[run] = r
        with open(args.out, 'w') as f:
            json.dump(results, f, indent=1)
    plot(results, args.plot)
    print(f'written to {args.out} and {args.plot}')


if __name__ == '__main__':
    main()
