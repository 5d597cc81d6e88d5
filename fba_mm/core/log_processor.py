"""A compact log line for local learning; every per-module figure still goes to the scalars and visualisers."""
import re

from mmengine.registry import LOG_PROCESSORS
from mmengine.runner import LogProcessor

_MODULE_KEY = re.compile(r'm(\d+)\.(.+)')


@LOG_PROCESSORS.register_module()
class LocalLogProcessor(LogProcessor):
    """mmengine's ``LogProcessor`` with the terminal line an OpenMMLab user reads: ``lr``, ``eta``, ``time``,
    ``memory``, then ``loss`` (the real task loss) and its parts, each module's total local loss (``m1.loss`` ..)
    and, on the iterations that measure it, the memory total (``total_mib``). Everything a local learner logs
    (each module's every loss, ``m{k}.grad_norm``, ``m{k}.skipped``, the memory parts) still reaches the message
    hub, ``vis_data/scalars.json`` and the visualisation backends: only the text line is shortened, to a small part
    of the stock line's length (docs/benchmarks.md, "The baselines").

    Example (the stock config's ``log_processor`` keeps its other settings)::

        log_processor = dict(type='LocalLogProcessor')
    """

    _compact = False

    def get_log_after_iter(self, runner, batch_idx: int, mode: str):
        if mode != 'train':
            return super().get_log_after_iter(runner, batch_idx, mode)
        self._compact = True
        try:
            tag, log_str = super().get_log_after_iter(runner, batch_idx, mode)
        finally:
            self._compact = False
        # the scalars keep every key the line leaves out
        full = self._collect_scalars(self._parse_windows_size(runner, batch_idx, self.custom_cfg), runner, mode,
                                     self.log_with_hierarchy)
        return {**full, **tag}, log_str

    def _collect_scalars(self, custom_cfg, runner, mode, reserve_prefix=False):
        scalars = super()._collect_scalars(custom_cfg, runner, mode, reserve_prefix)
        return self.compact(scalars) if self._compact else scalars

    @staticmethod
    def compact(scalars: dict) -> dict:
        """The keys of the line, in this order: the runner's own (``time``, ...), the last module's learning rate and
        losses under their stock names (``lr``, ``loss_cls``, ``acc``), ``loss``, every other module's total
        (``m1.loss``) and ``total_mib``."""
        names = {key: key.rpartition('/') for key in scalars}  # ('train', '/', 'm1.loss') with log_with_hierarchy
        modules = [int(m.group(1)) for m in (_MODULE_KEY.fullmatch(n[2]) for n in names.values()) if m]
        last = max(modules, default=0)
        runner, task, loss, totals, memory = {}, {}, {}, {}, {}
        for key, value in scalars.items():
            prefix, sep, name = names[key]
            match = _MODULE_KEY.fullmatch(name)
            if match is None:
                if name == 'total_mib':
                    memory[key] = value
                elif name == 'loss':
                    loss[key] = value
                elif not (name.startswith('total_mib.') or name in ('act_mib', 'bank_mib')):
                    runner[key] = value
            elif int(match.group(1)) == last:
                part = match.group(2)
                if part == 'lr' or (part != 'loss' and ('loss' in part or part == 'acc')):
                    task[prefix + sep + part] = value  # named as in stock training (the modules share the lr)
            elif match.group(2) == 'loss':
                totals[key] = value
        return {**runner, **task, **loss, **totals, **memory}
