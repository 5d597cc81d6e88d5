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

from .checkpoint import AuxCheckpointLoading
from .errors import ConfigError
from .feature_bank import FeatureBank
from .isolation import IsolationGuard, detach_output
from .layout import Layout, find_layout
from .memory import StepMemory
from .module_prediction import ModulePrediction
from .scope import scope_if_unset
from .skip_policy import SkipPolicy
from .split import even_split_points, module_name, resolve_split_points


class LocalStep(nn.Module):
    """One local module with everything that trains it (its blocks plus its auxiliary net, or plus the real
    task head for the last module), as one ``nn.Module`` so that a DDP can wrap exactly these parameters.

    It is kept outside the learner's module tree (checkpoint keys stay the architecture's own) and calls
    back into the learner, which owns the forward logic.
    """

    def __init__(self, learner: 'LocalLearner', k: int, parts: Sequence[nn.Module]) -> None:
        super().__init__()
        self.parts = nn.ModuleList(parts)
        self.k = k
        object.__setattr__(self, '_learner', learner)  # a back-reference, not a submodule

    def forward(self, feature, data_samples):
        return self._learner.forward_local(self.k, feature, data_samples)


class ParameterHolder(nn.Module):
    """A bare parameter of a model (DINO's ``level_embed``, which sits on the detector itself) as a module of its
    own, so that a local module's optimizer and DDP hold it like any of its parts. It holds the same parameter."""

    def __init__(self, name: str, param: nn.Parameter) -> None:
        super().__init__()
        self.register_parameter(name, param)


class LocalLearner(AuxCheckpointLoading, ModulePrediction, BaseModel):
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
        # set by the runner hooks (or by hand) for some iterations: measure memory, assert gradient isolation
        self.measure_memory = False
        self.check_isolation = False
        self.register_load_state_dict_post_hook(self._recopy_unloaded_aux)
        self.build_split()
        self.skip_policy = SkipPolicy(self.num_modules, max_consecutive_skips)
        self.build_aux_nets(aux_net if aux_net is not None else copy.deepcopy(self.default_aux_net))

    def _scope(self):
        return scope_if_unset(self.scope) if self.scope else contextlib.nullcontext()

    # ------------------------------------------------------------------ the adapter interface
    def check_architecture(self, architecture: nn.Module) -> None:
        """Refuse, with a message that says why, an architecture the adapter cannot run."""

    @property
    def network(self) -> nn.Module:
        return self.architecture.get_submodule(self.network_path)

    def trunk_stages(self) -> 'OrderedDict[str, List[str]]':
        """Stage name -> its blocks, in forward order: the layout's stages of the network, and for an adapter that
        cuts on past it (a DETR's encoder layers, :mod:`fba_mm.det.detr`) its own after them."""
        return self.layout.structure(self.network)

    def trunk_blocks(self) -> 'OrderedDict[str, nn.Module]':
        """The cuttable blocks in forward order, by the names split points use (``'layer2.0'``, ``'body.3'``)."""
        return OrderedDict((name, self.get_submodule(self.block_path(name)))
                           for blocks in self.trunk_stages().values() for name in blocks)

    def block_path(self, name: str) -> str:
        """Module path (relative to the learner) of the trunk block called ``name``."""
        return f'architecture.{self.network_path}.{name}'

    def block_paths(self, name: str) -> List[str]:
        """Module paths trained with block ``name`` (with a stage's last block, the stage's exit)."""
        if self.layout is None:
            return [self.block_path(name)]
        return [f'architecture.{self.network_path}.{p}' for p in self.layout.block_parts(self.network, name)]

    def stem_paths(self) -> List[str]:
        """Trainable modules that run before the first block and belong to module 1 (e.g. EDSR's conv_first)."""
        if self.layout is None:
            return []
        return [f'architecture.{self.network_path}.{m}' for m in self.layout.stem(self.network)]

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

    # ------------------------------------------------------------------ the split
    def build_split(self) -> None:
        """Resolve split points into module boundaries (the constructor calls it before building the auxiliary nets,
        which depend on where the cuts are)."""
        blocks = self.trunk_blocks()
        names = list(blocks)
        trainable = [any(p.requires_grad for p in b.parameters()) for b in blocks.values()]
        stem_trainable = any(p.requires_grad for path in self.stem_paths()
                             for p in self.get_submodule(path).parameters())
        self.stem_trainable = stem_trainable
        if stem_trainable:
            first = 0
        elif any(trainable):
            first = trainable.index(True)
        else:
            raise ConfigError('every block of the trunk is frozen, so there is nothing to train; lower frozen_stages.')
        try:
            if isinstance(self._split_cfg, int):
                points = even_split_points(names, first, self._split_cfg)
            elif isinstance(self._split_cfg, str):
                points = self._split_cfg  # resolve_split_points explains that a list is wanted
            else:
                points = list(self._split_cfg)
            starts = resolve_split_points(points, names, first if not stem_trainable else -1,
                                          stages=self.trunk_stages() if self.layout else None)
        except ConfigError as e:
            raise ConfigError(f'{type(self).__name__}: {e} {self.split_hint()}'.strip()) from None
        if any(trainable[first:]) and not all(trainable[first:]):
            frozen = [n for n, t in zip(names[first:], trainable[first:]) if not t]
            raise ConfigError(f'blocks {frozen} are frozen but come after trainable blocks; local learning needs '
                              'every block after the prefix to be trainable.')
        self.split_points = points
        bounds = [first] + starts + [len(names)]
        self._module_blocks = [names[bounds[k]:bounds[k + 1]] for k in range(len(bounds) - 1)]
        self._prefix_blocks = names[:first]
        self.num_modules = len(self._module_blocks)

    def module_blocks(self, k: int) -> List[str]:
        return self._module_blocks[k]

    @property
    def prefix_blocks(self) -> List[str]:
        return self._prefix_blocks

    def aux_paths(self, k: int) -> List[str]:
        """Paths of the auxiliary net that trains module ``k`` (k < K-1)."""
        return [f'aux_nets.{k}']

    def part_at(self, path: str) -> nn.Module:
        """The module at ``path``, or for a path that names a bare parameter a :class:`ParameterHolder` of it."""
        try:
            return self.get_submodule(path)
        except AttributeError:
            parent, _, name = path.rpartition('.')
            return ParameterHolder(name, self.get_submodule(parent).get_parameter(name))

    def local_module_paths(self) -> List[List[str]]:
        """For every local module, the paths of the modules (or bare parameters) it trains. The single source of
        truth for the optimizer split and the DDP wrapper (both read them through :meth:`part_at`)."""
        paths = []
        for k in range(self.num_modules):
            p = [path for b in self._module_blocks[k] for path in self.block_paths(b)]
            if k == 0 and self.stem_trainable:
                p = self.stem_paths() + p
            p += self.head_paths() if k == self.num_modules - 1 else self.aux_paths(k)
            paths.append(p)
        return paths

    @property
    def local_steps(self) -> List[LocalStep]:
        if not self._local_steps:
            self._local_steps = [
                LocalStep(self, k, [self.part_at(p) for p in paths])
                for k, paths in enumerate(self.local_module_paths())
            ]
        return self._local_steps

    # ------------------------------------------------------------------ training
    def train_step(self, data, optim_wrapper: OptimWrapperDict, local_steps: Optional[Sequence[nn.Module]] = None):
        """One iteration: K forward/backward/step rounds, one per local module.

        ``local_steps`` lets a DDP wrapper pass its DDP-wrapped :class:`LocalStep` s; by default the plain ones.
        Returns log variables: ``m{k}.<loss>`` per module and ``loss``, the real task loss of the last module;
        with :attr:`measure_memory` also ``total_mib`` (peak of all live tensors over the step, see
        :class:`~fba_mm.core.memory.TotalMemoryMeter`) with its parts ``total_mib.<category>`` and, on CPU,
        ``m{k}.total_mib`` (the peak while module k trains); ``m{k}.act_mib`` (peak activation memory while module k
        trains), ``act_mib`` (their maximum) and ``bank_mib`` (what the feature bank held).
        """
        self.check_optim_wrapper(optim_wrapper)
        steps = local_steps if local_steps is not None else self.local_steps
        bank, skips = self.feature_bank, self.skip_policy
        memory = StepMemory(self, optim_wrapper) if self.measure_memory else None
        guard = IsolationGuard(self, {n: [p for g in w.optimizer.param_groups for p in g['params']]
                                      for n, w in optim_wrapper.items()}) if self.check_isolation else None
        bank.clear()
        bank.measure = memory is not None
        self.follow_settings()
        log_vars, stepped = OrderedDict(), False
        try:
            with memory if memory is not None else contextlib.nullcontext():
                data = self.data_preprocessor(data, True)
                with torch.no_grad():
                    feature = self.forward_prefix(data['inputs'])
                for k, step in enumerate(steps):
                    name, wrapper = module_name(k), optim_wrapper[module_name(k)]
                    if memory is not None:
                        memory.module_starts()
                    watching = guard.watch(name) if guard else contextlib.nullcontext()
                    with watching, self.aux_weights(k):  # tied auxiliary weights stay bound through the backward
                        with wrapper.optim_context(step):
                            output, losses = step(feature, data['data_samples'])
                        loss, module_log = self.parse_losses(losses)
                        skip = not skips.all_ranks_finite(loss)
                        if skip:
                            skips.skip(k, wrapper)
                        else:
                            wrapper.update_params(loss)
                            stepped |= wrapper.should_update()  # False inside an accumulation window
                    skips.record(k, skip)
                    for key, value in module_log.items():
                        log_vars[f'{name}.{key}'] = value.detach()
                    log_vars[f'{name}.skipped'] = torch.tensor(float(skip))
                    if memory is not None:
                        memory.module_done(name)
                    # gradient isolation: module k+1 starts from a leaf
                    feature = self.detach_output(output)
                    if guard:
                        guard.check_handover(name, feature, bank.for_head())
                    del output, losses, loss
                if stepped:
                    self.update_aux_weights()
        finally:
            bank_bytes = bank.peak_bytes
            bank.clear()
        skips.check()
        log_vars['loss'] = log_vars[f'{module_name(self.num_modules - 1)}.loss']
        if memory is not None:
            log_vars.update(memory.log_vars(bank_bytes))
        return log_vars

    def detach_output(self, output):
        """What module k+1 receives: module k's output with every tensor in it detached (any structure)."""
        return detach_output(output)

    def aux_weights(self, k: int):
        """Context for module ``k``'s forward and backward: its auxiliary net's tied weights are bound (see
        :class:`~fba_mm.core.aux_net.AuxNet`); a no-op for the last module and for other weight sources."""
        aux_nets = getattr(self, 'aux_nets', ())
        if k < len(aux_nets) and hasattr(aux_nets[k], 'bound_to'):
            return aux_nets[k].bound_to(self.architecture)
        return contextlib.nullcontext()

    def follow_settings(self) -> None:
        """Auxiliary nets take the settings a runner hook changed on the main parts they mirror (a head's loss
        switch), so that they train as the real head now trains (:meth:`.AuxNet.follow_settings`)."""
        for aux in getattr(self, 'aux_nets', ()):
            if hasattr(aux, 'follow_settings'):
                aux.follow_settings(self.architecture)

    def update_aux_weights(self) -> None:
        """After an iteration whose modules stepped (once per optimizer step, not per iteration, under gradient
        accumulation): EMA auxiliary copies follow the new main weights."""
        for aux in getattr(self, 'aux_nets', ()):
            if hasattr(aux, 'update_from_architecture'):
                aux.update_from_architecture(self.architecture)

    def check_optim_wrapper(self, optim_wrapper) -> None:
        expected = [module_name(k) for k in range(self.num_modules)]
        if not isinstance(optim_wrapper, OptimWrapperDict) or list(optim_wrapper.keys()) != expected:
            got = list(optim_wrapper.keys()) if isinstance(optim_wrapper, OptimWrapperDict) else type(
                optim_wrapper).__name__
            raise ConfigError(
                f'{type(self).__name__} trains {self.num_modules} local modules, each with its own optimizer, but '
                f'optim_wrapper is {got}. Add constructor=\'LocalOptimWrapperConstructor\' to the optim_wrapper '
                f'config; it builds one OptimWrapper per module ({expected}).')

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
        for aux in getattr(self, 'aux_nets', []):
            if hasattr(aux, 'init_from_architecture'):
                aux.init_from_architecture(self.architecture)
