"""Every module's own prediction: what each auxiliary net's local loss scores, beside the real head's."""
from typing import Dict

import torch


class ModulePrediction:
    """Prediction module by module (a mixin of :class:`~fba_mm.core.LocalLearner`). Shows how far each module's own
    training signal is from the real task's: the PSNR of each auxiliary net's SR output
    (``tools/analysis/sr_module_psnr.py``), the mAP of each auxiliary detector
    (``tools/analysis/det_module_diagnostics.py``). Adapters implement :meth:`predict_head` (and, where their
    auxiliary nets need more than the features, :meth:`predict_aux`)."""

    def predict_head(self, state, features: Dict[str, torch.Tensor], data_samples=None):
        """What the real task head predicts from the last module's output (adapters that support
        :meth:`predict_by_module`)."""
        raise NotImplementedError(f'{type(self).__name__} does not predict module by module')

    def predict_aux(self, k: int, state, features: Dict[str, torch.Tensor], data_samples=None):
        """What auxiliary net k predicts from module k's output: what its local loss scores."""
        return self.aux_nets[k].predict(state, features)

    @torch.no_grad()
    def predict_by_module(self, inputs: torch.Tensor, data_samples=None) -> list:
        """Every module's prediction on preprocessed ``inputs``: auxiliary net k's for k < K-1 (what its local
        loss scores), the real head's for the last module. A detector also needs the ``data_samples`` whose image
        metas it predicts with."""
        self.feature_bank.clear()
        try:
            state, predictions = self.forward_prefix(inputs), []
            for k in range(self.num_modules):
                with self.aux_weights(k):
                    state, prediction = self.forward_local(k, state, data_samples, predict=True)
                predictions.append(prediction)
            return predictions
        finally:
            self.feature_bank.clear()
