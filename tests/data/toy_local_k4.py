# A complete local-learning run on the toy task, used by the engine's tests through tools/train.py.
custom_imports = dict(imports=['toy_task'], allow_failed_imports=False)
model = dict(
    type='ToyLocalCNN',
    architecture=dict(type='ToyCNN'),
    split_points=['stages.1', 'stages.2', 'stages.3'])
train_dataloader = dict(
    batch_size=4, num_workers=0, collate_fn=dict(type='default_collate'),
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(type='ToyShapes', num_samples=32))
val_dataloader = dict(
    batch_size=8, num_workers=0, collate_fn=dict(type='default_collate'), sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(type='ToyShapes', num_samples=16, seed=1))
val_evaluator = dict(type='ToyAccuracy')
train_cfg = dict(type='IterBasedTrainLoop', max_iters=6, val_interval=6)
val_cfg = dict(type='ValLoop')
optim_wrapper = dict(
    constructor='LocalOptimWrapperConstructor',
    optimizer=dict(type='SGD', lr=0.05, momentum=0.9, weight_decay=1e-4))
param_scheduler = [dict(type='MultiStepLR', by_epoch=False, milestones=[4], gamma=0.1)]
custom_hooks = [dict(type='IsolationCheckHook')]
default_hooks = dict(
    logger=dict(type='LoggerHook', interval=1),
    checkpoint=dict(type='CheckpointHook', by_epoch=False, interval=3),
    local_learning=dict(type='LocalLearningHook'), module_memory=dict(type='ModuleMemoryHook'),
    stock_checkpoint=dict(type='StockCheckpointHook'), module_loss_plot=dict(type='ModuleLossPlotHook'))
log_processor = dict(type='LocalLogProcessor', by_epoch=False)
model_wrapper_cfg = dict(type='LocalDistributedDataParallel')
env_cfg = dict(dist_cfg=dict(backend='gloo'))
randomness = dict(seed=0)
log_level = 'INFO'
