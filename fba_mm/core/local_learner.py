"""The task-agnostic half of supervised local learning: the split, the per-module train step, the bank."""
import contextlib
import copy
from collections import OrderedDict
from typing import Dict, List, Optional, Sequence, Union

import torch
import torch.nn as nn
from mmengine.model import BaseModel, ModuleList
from mmengine.optim import OptimWrapperDict
from mmengine.registry import MODELS

from .aux_net import AuxNet
from .checkpoint import AuxCheckpointLoading
from .errors import ConfigError
from .feature_bank import FeatureBank
from .isolation import detach_output
from .layout import Layout, find_layout
from .local_modules import LocalModules
from .local_step import LocalStep
from .module_prediction import ModulePrediction
from .scope import scope_if_unset
from .skip_policy import SkipPolicy
from .split import module_name
from .step_observer import StepObservers


class LocalLearner(AuxCheckpointLoading, ModulePrediction, LocalModules, BaseModel):
    """Base of local-learning models: a stock ``architecture`` cut into K gradient-isolated local modules.

    A training iteration (:meth:`train_step`) runs the parameter-free prefix under ``no_grad``; then for each
    local module k: forward its blocks, compute its loss (auxiliary net for k < K, the real task head for
    k = K), call that module's own ``OptimWrapper.update_params`` (AMP scaling, accumulation and clipping
    work per module), detach its output and hand it to module k+1. Only one module's graph is alive at a
    time. ``val_step``/``test_step`` run the plain architecture.

    The network that is cut (``network_path``) is read through its layout (:mod:`fba_mm.core.layout`), so the
    split, the prefix, the run of every module's blocks and what the bank carries are done here, and so is the
    construction: build the architecture in the adapter's ``scope`` and ``registry``, check it
    (:meth:`check_architecture`), split it, build the auxiliary nets. A task adapter (``fba_mm.det``,
    ``fba_mm.sr``) sets the class attributes below and implements :meth:`head_paths`, :meth:`forward_head` and,
    where its auxiliary nets take more than ``(state, features, data_samples)``, :meth:`forward_aux`; every
    adapter takes the arguments below, and no others, in its config.

    Args:
        architecture (dict | nn.Module): the stock model config (``model`` of a stock config).
        split_points (list[str] | int): names of the blocks where modules 2..K begin (``['layer3', 'layer4']``,
            ``['body.8']``), or an int K for K modules of (nearly) equal numbers of blocks.
        aux_net (dict): the auxiliary-net strategy, built once per module k < K-1 in the adapter's registry
            (:meth:`build_aux_nets`); by default the adapter's ``default_aux_net`` (SLM).
        use_bank (bool): give auxiliary nets the feature bank (False is the no-bank ablation).
        with_cp (bool): activation checkpointing of every block, through the layout (the stock flag of a
            backbone, e.g. ResNet's ``with_cp``, works as well; the SR generators have none).
        max_consecutive_skips (int): a module whose loss is not finite skips that iteration while the other
            modules go on; ``m{k}.skipped`` logs it. Training stops with an error once any module has skipped this
            many iterations in a row (:class:`~fba_mm.core.skip_policy.SkipPolicy`).
        layout (dict, optional): how the network is cut (``dict(type='MyNetLayout')``); by default the registered
            layout of the network's class (:func:`~fba_mm.core.layout.find_layout`).
        data_preprocessor: defaults to the architecture's own.

    Example (every adapter)::

        model = dict(type='LocalLearningDetector', architecture=_base_.model, split_points=['layer3', 'layer4'],
                     aux_net=dict(type='SLMAuxNet', weight_source='tied'), use_bank=True, with_cp=False,
                     max_consecutive_skips=10)
    """

    #: path of the network that is cut, in the architecture (``'backbone'``, ``'generator'``); its layout
    #: (:mod:`fba_mm.core.layout`) then names the stem, blocks and stages, and runs them
    network_path: Optional[str] = None
    #: registry scope and registry in which the architecture and the auxiliary nets are built
    scope: Optional[str] = None
    registry = MODELS
    #: the layout class the task needs (what it reads besides the cut: a backbone's stage features, an SR tail)
    layout_kind: type = Layout
    #: the auxiliary net when the config names none
    default_aux_net: Optional[dict] = None

    def __init__(self,
                 architecture: Union[dict, nn.Module],
                 split_points: Union[Sequence[str], int],
                 aux_net: Optional[dict] = None,
                 use_bank: bool = True,
                 with_cp: bool = False,
                 max_consecutive_skips: int = 10,
                 layout: Optional[dict] = None,
                 data_preprocessor: Optional[Union[dict, nn.Module]] = None,
                 init_cfg: Optional[dict] = None) -> None:
        architecture_cfg = copy.deepcopy(architecture) if isinstance(architecture, dict) else None
        with self._scope():
            if isinstance(architecture, dict):  # a copy: some models edit their config (DETRs their head's)
                architecture = self.registry.build(copy.deepcopy(architecture))
            if isinstance(data_preprocessor, dict):
                data_preprocessor = self.registry.build(data_preprocessor)
        self.check_architecture(architecture)
        super().__init__(data_preprocessor=data_preprocessor if data_preprocessor is not None else
                         architecture.data_preprocessor, init_cfg=init_cfg)
        self.architecture = architecture
        self.architecture_cfg = architecture_cfg  # a rebuild of the heads with other train_cfg needs it
        self.layout = find_layout(self.network, layout, self.network_path, self.layout_kind) \
            if self.network_path else None
        self.with_cp = with_cp
        self.feature_bank = FeatureBank(enabled=use_bank)
        self._split_cfg = split_points
        self._local_steps: List[LocalStep] = []
        # what watches the step (memory, gradient isolation): runner hooks install observers for some iterations
        self.observers = StepObservers()
        self.register_load_state_dict_post_hook(self._recopy_unloaded_aux)
        self.build_split()
        self.skip_policy = SkipPolicy(self.num_modules, max_consecutive_skips)
        self.build_aux_nets(aux_net if aux_net is not None else copy.deepcopy(self.default_aux_net))
        not_aux = [type(n).__name__ for n in self.aux_nets if not isinstance(n, AuxNet)]
        if not_aux:
            raise ConfigError(f'{type(self).__name__} built an auxiliary net of type {not_aux[0]}, which is not an '
                              'AuxNet: auxiliary nets subclass fba_mm.core.AuxNet, whose calls the step makes.')

    def _scope(self):
        return scope_if_unset(self.scope) if self.scope else contextlib.nullcontext()

    # ------------------------------------------------------------------ the adapter interface
    def check_architecture(self, architecture: nn.Module) -> None:
        """Refuse, with a message that says why, an architecture the adapter cannot run."""

    @property
    def network(self) -> nn.Module:
        return self.architecture.get_submodule(self.network_path)

    def head_paths(self) -> List[str]:
        """Modules after the trunk, trained with the last module (neck and heads, SR tail)."""
        raise NotImplementedError

    def forward_head(self, state, features: Dict[str, torch.Tensor], data_samples) -> Dict[str, torch.Tensor]:
        """The task's stock losses from the last module's output ``state``; ``features``: everything the bank
        carries (earlier modules' detached, the last module's live)."""
        raise NotImplementedError

    def forward_aux(self, k: int, state, features: Dict[str, torch.Tensor], data_samples) -> Dict[str, torch.Tensor]:
        """Auxiliary net k's losses from module k's output ``state``; ``features``: what the bank gives auxiliary
        nets (nothing with ``use_bank=False``) and, live, what module k itself produced."""
        return self.aux_nets[k](state, features, data_samples)

    def aux_net_args(self, k: int) -> dict:
        """Task-specific arguments of auxiliary net k, beside the ones every strategy gets (:meth:`build_aux_nets`)."""
        return {}

    def forward_prefix(self, inputs: torch.Tensor):
        """Run the parameter-free prefix (called under ``no_grad``); return module 1's input. With a trainable
        stem, module 1 starts from the input."""
        if self.stem_trainable:
            return inputs
        produced: Dict[str, torch.Tensor] = {}
        state, items = self.layout.forward_stem(self.network, inputs)
        produced.update(items)
        state = self.layout.run_blocks(self.network, self.prefix_blocks, state, produced)
        for key, value in produced.items():
            self.feature_bank.push(key, value)
        return state

    def forward_local(self, k: int, state, data_samples, predict: bool = False):
        """Run local module ``k`` on ``state`` and return ``(output, losses)``: the losses of auxiliary net k
        for k < K-1, of the real task head for the last module. What later parts need goes to the bank.

        ``predict``: ``(output, prediction)`` instead, what those losses are computed from (:meth:`predict_aux`,
        the last module's :meth:`predict_head`), for analysis (:meth:`predict_by_module`)."""
        net, produced = self.network, {}
        if k == 0 and self.stem_trainable:
            state, items = self.layout.forward_stem(net, state)
            produced.update(items)
        state = self.run_module(k, state, produced, data_samples)
        if k == self.num_modules - 1:
            features = {**self.feature_bank.for_head(), **produced}
            return state, (self.predict_head(state, features, data_samples) if predict else
                           self.forward_head(state, features, data_samples))
        for key, value in produced.items():
            self.feature_bank.push(key, value)
        features = {**self.feature_bank.for_aux(), **produced}
        return state, (self.predict_aux(k, state, features, data_samples) if predict else
                       self.forward_aux(k, state, features, data_samples))

    def run_module(self, k: int, state, produced: Dict[str, torch.Tensor], data_samples):
        """Module ``k``'s blocks on ``state`` (each stage's exit after its last block); what the bank carries from
        them is added to ``produced``."""
        return self.layout.run_blocks(self.network, self.module_blocks(k), state, produced, with_cp=self.with_cp)

    def split_hint(self) -> str:
        """Adapter-specific advice appended to split errors."""
        return ''

    def build_aux_nets(self, aux_net: Optional[dict]) -> None:
        """One auxiliary net per module k < K-1, built from the ``aux_net`` config in the adapter's ``registry`` with
        ``architecture``, ``layout``, ``module_index`` (k), ``num_modules`` (K), ``later_blocks`` (the trunk blocks
        after module k) and :meth:`aux_net_args` (k). The constructor calls it after :meth:`build_split`."""
        if aux_net is None:
            if self.num_modules > 1:
                raise ConfigError(f'{type(self).__name__} has no default auxiliary net: give aux_net=dict(type=...).')
            aux_net = {}
        names = list(self.trunk_blocks())
        nets = []
        with self._scope():
            for k in range(self.num_modules - 1):
                end = names.index(self.module_blocks(k)[-1]) + 1
                args = dict(architecture=self.architecture, layout=self.layout, module_index=k,
                            num_modules=self.num_modules, later_blocks=names[end:], **self.aux_net_args(k))
                nets.append(self.registry.build(copy.deepcopy(aux_net), default_args=args))
        # mmengine's ModuleList: init_weights() reaches the layers a strategy builds anew (AuxNet.init_weights)
        self.aux_nets = ModuleList(nets)

    # ------------------------------------------------------------------ training
    def train_step(self, data, optim_wrapper: OptimWrapperDict, local_steps: Optional[Sequence[nn.Module]] = None):
        """One iteration: K forward/backward/step rounds, one per local module (``local_steps``: a DDP wrapper's
        wrapped :class:`LocalStep` s). Logs ``m{k}.<loss>`` and ``m{k}.skipped`` per module, ``loss`` (the last
        module's, the real task loss) and what the installed observers measured (:class:`.StepMemory`)."""
        self.check_optim_wrapper(optim_wrapper)
        steps = local_steps if local_steps is not None else self.local_steps
        log_vars, stepped = OrderedDict(), False
        self.follow_settings()
        with self.feature_bank.in_step(), self.observers.step(self, optim_wrapper):
            data = self.data_preprocessor(data, True)
            with torch.no_grad():
                feature = self.forward_prefix(data['inputs'])
            for k, step in enumerate(steps):
                wrapper = optim_wrapper[module_name(k)]
                with self.observers.module(k), self.aux_weights(k):  # tied weights stay bound through the backward
                    with wrapper.optim_context(step):
                        output, losses = step(feature, data['data_samples'])
                    loss, module_log = self.parse_losses(losses)
                    stepped |= self.skip_policy.update_params(k, wrapper, loss)
                log_vars.update((f'{module_name(k)}.{key}', value.detach()) for key, value in module_log.items())
                feature = self.detach_output(output)  # gradient isolation: module k+1 starts from a leaf
                self.observers.handover(k, feature, self.feature_bank)
                del output, losses, loss
            if stepped:  # once per optimizer step, not per iteration, under gradient accumulation
                self.update_aux_weights()
        self.skip_policy.check()
        log_vars.update(self.skip_policy.log_vars(), loss=log_vars[f'{module_name(self.num_modules - 1)}.loss'])
        return {**log_vars, **self.observers.log_vars()}

    def detach_output(self, output):
        """What module k+1 receives: module k's output with every tensor in it detached (any structure)."""
        return detach_output(output)

    def aux_weights(self, k: int):
        """Context for module ``k``'s forward and backward: its auxiliary net's tied weights are bound (see
        :mod:`~fba_mm.core.weight_sources`); a no-op for the last module and for other weight sources."""
        return self.aux_nets[k].bound_to(self.architecture) if k < self.num_modules - 1 else contextlib.nullcontext()

    def follow_settings(self) -> None:
        """Auxiliary nets take the settings a runner hook changed on the main parts they mirror (a head's loss
        switch), so that they train as the real head now trains (:meth:`.AuxNet.follow_settings`)."""
        for aux in self.aux_nets:
            aux.follow_settings(self.architecture)

    def update_aux_weights(self) -> None:
        """After an iteration whose modules stepped: EMA auxiliary copies follow the new main weights."""
        for aux in self.aux_nets:
            aux.update_from_architecture(self.architecture)

    def check_optim_wrapper(self, optim_wrapper) -> None:
        expected = [module_name(k) for k in range(self.num_modules)]
        if not isinstance(optim_wrapper, OptimWrapperDict) or list(optim_wrapper.keys()) != expected:
            got = list(optim_wrapper.keys()) if isinstance(optim_wrapper, OptimWrapperDict) else type(
                optim_wrapper).__name__
            raise ConfigError(
                f'{type(self).__name__} trains {self.num_modules} local modules, each with its own optimizer, but '
                f'optim_wrapper is {got}. Set runner_type=\'LocalLearningRunner\' in the config (fba_mm\'s and '
                "mmdet's tools/train.py honour it; mmagic's builds the plain Runner, so train with fba_mm's), or add "
                f"constructor='LocalOptimWrapperConstructor' to optim_wrapper: one OptimWrapper per module {expected}.")

    # ------------------------------------------------------------------ inference: the plain architecture
    def forward(self, inputs, data_samples=None, mode: str = 'tensor'):
        if mode == 'loss':
            raise RuntimeError(
                f"{type(self).__name__}.forward(mode='loss') is not used for training: local learning runs one "
                'backward per module inside train_step. If a DDP wrapper called this, set '
                "model_wrapper_cfg=dict(type='LocalDistributedDataParallel') in the config.")
        return self.architecture(inputs, data_samples, mode=mode)

    def val_step(self, data):
        return self.architecture.val_step(data)

    def test_step(self, data):
        return self.architecture.test_step(data)

    # ------------------------------------------------------------------ checkpoints
    def init_weights(self) -> None:
        """Initialise the architecture (pretrained weights load here), then the auxiliary nets' copies."""
        super().init_weights()
        self.init_aux_from_architecture()

    def init_aux_from_architecture(self) -> None:
        """Copy the main model's (possibly pretrained) weights into the auxiliary nets' copies of its parts."""
        for aux in self.aux_nets:
            aux.init_from_architecture(self.architecture)
