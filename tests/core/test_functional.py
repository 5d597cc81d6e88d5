"""fba_mm.core.functional: one activation-checkpointing switch and one local-loss weight for every adapter."""
import torch
import torch.nn as nn

from fba_mm.core.functional import maybe_checkpoint, scale_losses


def saved_tensors(fn):
    """(fn(), how many tensors autograd keeps for the backward; checkpointing keeps its inputs alone)"""
    count = [0]

    def pack(t):
        count[0] += 1
        return t
    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        out = fn()
    return out, count[0]


def test_maybe_checkpoint_keeps_nothing_and_gives_the_same_gradients():
    torch.manual_seed(0)
    block = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 4))
    x = torch.randn(3, 4)  # detached, as a module's first block gets it: checkpointed all the same
    plain, saved_plain = saved_tensors(lambda: maybe_checkpoint(block, x, enabled=False))
    grads_plain = torch.autograd.grad(plain.sum(), list(block.parameters()))
    cp, saved_cp = saved_tensors(lambda: maybe_checkpoint(block, x, enabled=True))
    grads_cp = torch.autograd.grad(cp.sum(), list(block.parameters()))
    assert saved_cp < saved_plain
    assert torch.equal(plain, cp) and all(torch.equal(a, b) for a, b in zip(grads_plain, grads_cp))
    with torch.no_grad():  # nothing to keep: runs plainly
        out, saved = saved_tensors(lambda: maybe_checkpoint(block, x, enabled=True))
    assert torch.equal(out, plain) and saved == 0 and out.grad_fn is None


def test_maybe_checkpoint_passes_arguments_on():
    def fn(a, b, scale=1.0):
        return (a * b).sum() * scale
    a = torch.randn(3, requires_grad=True)
    assert torch.equal(maybe_checkpoint(fn, a, a, scale=2.0, enabled=True), fn(a, a, scale=2.0))


def test_scale_losses_scales_only_losses_and_every_stage():
    losses = dict(loss_cls=[torch.tensor(1.0), torch.tensor(2.0)], loss_bbox=torch.tensor(3.0), acc=torch.tensor(90.0))
    scaled = scale_losses(losses, 0.5)
    assert [v.item() for v in scaled['loss_cls']] == [0.5, 1.0] and scaled['loss_bbox'].item() == 1.5
    assert scaled['acc'] is losses['acc'] and losses['loss_bbox'].item() == 3.0  # the input is left as it was
    assert scale_losses(losses, 1.0) is losses
