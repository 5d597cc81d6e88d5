from mmagic.registry import METRICS
from mmengine.evaluator import DumpResults


@METRICS.register_module()
class DumpEditResults(DumpResults):
    """mmengine's ``DumpResults`` (pickle every output for offline use) with the interface mmagic's Evaluator asks
    of its metrics. ``tools/test.py --out`` adds it for mmagic configs::

        test_evaluator = [dict(type='Evaluator', metrics=[dict(type='PSNR'),
                                                           dict(type='DumpEditResults', out_file_path='out.pkl')])]
    """
    SAMPLER_MODE = 'normal'
    sample_model = 'orig'

    def prepare(self, module, dataloader) -> None:
        self.size = len(dataloader.dataset)  # mmagic's Evaluator calls evaluate() without the size

    def evaluate(self, size=None) -> dict:
        return super().evaluate(self.size if size is None else size)

    def get_metric_sampler(self, model, dataloader, metrics):
        return dataloader
