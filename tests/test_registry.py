"""Registry behaviour and its error paths (MMEngine's registry tests, adapted)."""

from __future__ import annotations

import functools

import pytest

from optimtx.core.registry import Registry, allow_imports, build_from_cfg


class Backbone:
    def __init__(self, depth: int = 18, stages: int = 4):
        self.depth, self.stages = depth, stages


def make_registry() -> Registry:
    reg = Registry("backbone")
    reg.register_module(module=Backbone)
    return reg


def test_decorator_registers_class_and_function_under_their_names():
    reg = Registry("demo")

    @reg.register_module()
    class Net:
        pass

    @reg.register_module()
    def make_net():
        return Net()

    assert reg.get("Net") is Net and reg.get("make_net") is make_net
    assert "Net" in reg and "make_net" in reg and len(reg) == 2


def test_name_and_aliases():
    reg = Registry("demo")
    reg.register_module(name="X", module=Backbone)
    reg.register_module(name=["A", "B"], module=dict)
    assert reg.get("X") is Backbone and reg.get("A") is dict and reg.get("B") is dict
    assert sorted(reg.module_dict) == ["A", "B", "X"]


def test_bad_name_force_and_module_raise_type_error():
    reg = Registry("demo")
    with pytest.raises(
        TypeError, match="name must be None, an instance of str, or a sequence of str, but got <class 'int'>"
    ):
        reg.register_module(name=7, module=dict)
    with pytest.raises(TypeError, match="force must be a boolean, but got <class 'int'>"):
        reg.register_module(force=1)
    with pytest.raises(TypeError, match="module must be Callable, but got <class 'str'>"):
        reg.register_module(module="string")
    with pytest.raises(TypeError, match="module must be Callable"):
        reg.register_module()("not callable")


def test_duplicate_raises_unless_forced():
    reg = make_registry()
    with pytest.raises(KeyError, match=r"Backbone is already registered in backbone at tests\.test_registry"):
        reg.register_module(module=Backbone)
    reg.register_module(name="Backbone", force=True, module=dict)
    assert reg.get("Backbone") is dict and len(reg) == 1


def test_partials_and_lambdas_register():
    reg = Registry("demo")
    reg.register_module("muchkin0", False, functools.partial(Backbone, depth=50))
    reg.register_module(name="lam", module=lambda: 3)
    assert reg.build(dict(type="muchkin0")).depth == 50 and reg.build(dict(type="lam")) == 3


def test_build_with_default_args_cfg_wins_and_is_not_mutated():
    reg = make_registry()
    cfg = dict(type="Backbone", depth=50)
    obj = reg.build(cfg, default_args=dict(depth=101, stages=3))
    assert (obj.depth, obj.stages) == (50, 3)
    assert cfg == dict(type="Backbone", depth=50)
    assert reg.build(dict(depth=34), default_args=dict(type="Backbone")).depth == 34
    assert reg.build(dict(depth=34), default_args=dict(type=Backbone)).depth == 34
    assert isinstance(reg.build(dict(type=Backbone)), Backbone)


def test_build_error_paths():
    reg = make_registry()
    with pytest.raises(TypeError, match="cfg should be a dict, ConfigDict or Config, but got <class 'str'>"):
        reg.build("Backbone")
    with pytest.raises(KeyError, match='must contain the key "type"'):
        reg.build(dict(depth=1))
    with pytest.raises(TypeError, match="type must be a str or valid type, but got <class 'int'>"):
        reg.build(dict(type=1000))
    with pytest.raises(KeyError, match="VGG is not in the backbone registry"):
        reg.build(dict(type="VGG"))
    with pytest.raises(TypeError, match="unexpected keyword"):
        reg.build(dict(type="Backbone", width=3))
    with pytest.raises(TypeError, match="default_args should be a dict"):
        reg.build(dict(type="Backbone"), default_args=1)
    with pytest.raises(TypeError, match="registry must be a Registry"):
        build_from_cfg(dict(type="Backbone"), "not a registry")


def test_unknown_name_suggests_close_names():
    reg = make_registry()
    with pytest.raises(KeyError, match="Did you mean 'Backbone'") as info:
        reg.build(dict(type="backbone"))
    assert "Registered names: Backbone" in str(info.value)


def test_get_falls_back_to_parent_and_imports_dotted_paths_only_when_allowed():
    child = Registry("child", parent=make_registry())
    assert child.get("Backbone") is Backbone and "Backbone" in child and len(child) == 0
    assert child.get("collections.OrderedDict") is None
    with allow_imports("collections"):
        assert child.get("collections.OrderedDict").__name__ == "OrderedDict"
    assert child.get("collections.OrderedDict") is None  # the permission ends with the block
    with allow_imports("no_such_module"):
        assert child.get("no_such_module.Thing") is None and "Nope" not in child


def test_custom_build_func_is_used():
    reg = Registry("demo", build_func=lambda cfg, registry, default_args: ("built", cfg["type"], registry.name))
    assert reg.build(dict(type="anything")) == ("built", "anything", "demo")


def test_constructor_arguments_are_checked():
    with pytest.raises(TypeError, match="Registry name must be a str"):
        Registry(3)
    with pytest.raises(TypeError, match="parent must be a Registry"):
        Registry("x", parent="y")
