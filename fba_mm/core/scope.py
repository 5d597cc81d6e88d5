from contextlib import nullcontext

from mmengine.registry import DefaultScope


def scope_if_unset(scope: str):
    """A context in which nested components are built in ``scope`` when no default scope is set (outside a
    Runner, e.g. in tests and tools); inside a Runner, the Runner's scope stands."""
    if DefaultScope.get_current_instance() is None:
        return DefaultScope.overwrite_default_scope(scope)
    return nullcontext()
