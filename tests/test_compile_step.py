"""compile_step / compile_update give the eager pure results (checked with the cheap 'eager' backend)."""

from __future__ import annotations

import pytest
import torch

import optimtx as otx
from optimtx.compile import FlatLayout, compile_step, compile_update


def _tree(seed: int, dtypes=(torch.float32,)):
    gen = torch.Generator().manual_seed(seed)
    shapes = [(4, 3), (5,), (2, 2, 2), (1,)]
    return {f"t{i}": torch.randn(s, generator=gen).to(dtypes[i % len(dtypes)]) for i, s in enumerate(shapes)}


def _tx():
    return otx.chain(otx.clip_by_global_norm(0.5), otx.adamw(0.1, weight_decay=0.1))


def _eager_run(steps: int, dtypes):
    tx = _tx()
    params = _tree(0, dtypes)
    state = tx.init(params)
    for i in range(steps):
        updates, state = tx.update(_tree(10 + i, dtypes), state, params)
        params = otx.apply_updates(params, updates)
    return params


def _run_four_steps_and_compare(fast, params, state, dtypes):
    """Four steps of ``fast``; the parameters must be the eager chain's (to rounding). Returns params, state."""
    for i in range(4):
        params, state = fast.step(params, _tree(10 + i, dtypes), state)
    want = _eager_run(4, dtypes)
    assert list(params) == list(want)
    for key in want:
        assert params[key].dtype == want[key].dtype and params[key].shape == want[key].shape
        torch.testing.assert_close(params[key], want[key], rtol=1e-5, atol=1e-6)
    return params, state


@pytest.mark.parametrize("donate", [False, True])
@pytest.mark.parametrize("dtypes", [(torch.float32,), (torch.float32, torch.float64)])
def test_compile_step_matches_eager_chain(donate, dtypes):
    fast = compile_step(_tx(), donate=donate, backend="eager")
    params = _tree(0, dtypes)
    state = fast.init(params)
    params, state = _run_four_steps_and_compare(fast, params, state, dtypes)
    assert len(fast.layout().groups) == len(dtypes)


def test_compile_step_without_donate_leaves_inputs_alone():
    fast = compile_step(_tx(), backend="eager")
    params, grads = _tree(0), _tree(1)
    before = {k: v.clone() for k, v in params.items()}
    state = fast.init(params)
    state_before = [t.clone() for t in torch.utils._pytree.tree_leaves(state)]
    fast.step(params, grads, state)
    assert all(torch.equal(params[k], before[k]) for k in params)
    assert all(torch.equal(a, b) for a, b in zip(torch.utils._pytree.tree_leaves(state), state_before, strict=True))


def test_compile_update_matches_eager_update():
    tx, fast = _tx(), compile_update(_tx(), backend="eager")
    params, grads = _tree(0), _tree(1)
    want, _ = tx.update(grads, tx.init(params), params)
    got, _ = fast.update(grads, fast.init(params), params)
    assert list(got) == list(want)
    for key in want:
        torch.testing.assert_close(got[key], want[key], rtol=1e-5, atol=1e-6)


def test_flatten_is_a_view_for_consecutive_leaves_and_a_copy_otherwise():
    buffer = torch.arange(6.0)
    tree = {"a": buffer[:2].view(2, 1), "b": buffer[2:]}
    layout = FlatLayout.of(tree)
    flat = layout.flatten(tree)["float32@cpu"]
    assert flat.data_ptr() == buffer.data_ptr() and torch.equal(flat, buffer)
    scattered = {"a": torch.ones(2, 1), "b": torch.zeros(4)}
    copied = layout.flatten(scattered)["float32@cpu"]
    assert torch.equal(copied, torch.tensor([1.0, 1, 0, 0, 0, 0]))
    back = layout.unflatten({"float32@cpu": copied})
    assert back["a"].shape == (2, 1) and torch.equal(back["b"], torch.zeros(4))


def test_flatten_reuses_the_out_buffer():
    layout = FlatLayout.of({"a": torch.ones(2), "b": torch.ones(3)})
    out: dict[str, torch.Tensor] = {}
    first = layout.flatten({"a": torch.ones(2), "b": torch.zeros(3)}, out=out)["float32@cpu"]
    second = layout.flatten({"a": torch.zeros(2), "b": torch.ones(3)}, out=out)["float32@cpu"]
    assert first.data_ptr() == second.data_ptr() == out["float32@cpu"].data_ptr()
    assert torch.equal(second, torch.tensor([0.0, 0, 1, 1, 1]))


def test_errors_name_the_fix():
    fast = compile_step(_tx(), backend="eager")
    with pytest.raises(ValueError, match="init"):
        fast.step(_tree(0), _tree(1), None)
    fast.init(_tree(0))
    with pytest.raises(ValueError, match="keys"):
        fast.step({"other": torch.ones(1)}, {"other": torch.ones(1)}, None)


@pytest.mark.parametrize("donate", [False, True])
def test_flat_step_with_gradients_of_the_flat_buffer_matches_eager_chain(donate):
    """Differentiating with respect to the flat buffer gives flat gradients: no gather, same numbers."""
    fast = compile_step(_tx(), donate=donate, backend="eager")
    params = _tree(0)
    state = fast.init(params)
    layout = fast.layout()
    flat = layout.flatten(params)
    for i in range(4):
        grads = _tree(10 + i)
        loss = lambda f, g=grads: sum((v * g[k]).sum() for k, v in layout.unflatten(f).items())  # noqa: E731
        flat_grads = torch.func.grad(loss)(flat)
        assert set(flat_grads) == set(layout.groups)
        flat, state = fast.flat_step(flat, flat_grads, state)
    got, want = layout.unflatten(flat), _eager_run(4, (torch.float32,))
    for key in want:
        torch.testing.assert_close(got[key], want[key], rtol=1e-5, atol=1e-6)


def test_flat_step_rejects_trees_that_are_not_the_layouts_buffers():
    fast = compile_step(_tx(), backend="eager")
    params = _tree(0)
    state = fast.init(params)
    flat = fast.layout().flatten(params)
    with pytest.raises(ValueError, match="flatten"):
        fast.flat_step(params, flat, state)
    with pytest.raises(ValueError, match="flat_grads"):
        fast.flat_step(flat, {"float32@cpu": torch.ones(3)}, state)


def _inductor_code(fn, *args) -> str:
    from torch._inductor.utils import run_and_get_code

    torch._dynamo.reset()
    _, code = run_and_get_code(fn, *args)
    return "\n".join(code)


def test_compiled_adam_step_is_sync_free_and_computes_scalars_outside_the_loop():
    """The bias corrections and the clip coefficient are loaded in the elementwise loop, not recomputed there.

    Inductor would otherwise inline two float64 pow calls into the loop over every value
    (several times slower on a CPU), and lower a tensor scalar added by _foreach_add with a
    host read (.item()).
    """
    numel = 4099  # an odd size that no other buffer in the graph has
    fast = compile_step(otx.chain(otx.clip_by_global_norm(1.0), otx.adamw(1e-3, weight_decay=0.01)), donate=True)
    params = {"w": torch.randn(numel)}
    state = fast.init(params)
    code = _inductor_code(fast.step, params, {"w": torch.randn(numel)}, state)
    assert ".item()" not in code
    loop_header = f"<static_cast<int64_t>({numel}L)"
    loops = [kernel.split(loop_header, 1)[1] for kernel in code.split("cpp_pybinding") if loop_header in kernel]
    assert loops, "no kernel loops over the parameters"
    assert all("std::pow" not in body and "std::sqrt" not in body for body in loops)


@pytest.mark.parametrize("dtypes", [(torch.float32,), (torch.float32, torch.float64)])
def test_in_place_compile_step_runs_the_transform_step_over_flat_buffers(dtypes):
    """torch's kernel writes the donated flat buffers; the parameters are the eager chain's to rounding."""
    fast = compile_step(_tx(), donate=True, in_place=True)
    params = _tree(0, dtypes)
    state = fast.init(params)
    mu = state[1][0].mu  # adamw's first moment over the flat buffers
    buffers = {name: t.data_ptr() for name, t in mu.items()}
    params, state = _run_four_steps_and_compare(fast, params, state, dtypes)
    assert {name: t.data_ptr() for name, t in state[1][0].mu.items()} == buffers  # written, not replaced


def test_in_place_compile_step_refuses_what_it_cannot_honour():
    with pytest.raises(ValueError, match="needs donate=True"):
        compile_step(_tx(), in_place=True)
    with pytest.raises(ValueError, match="offers no in-place step"):
        compile_step(otx.lion(0.1), donate=True, in_place=True)
    with pytest.raises(TypeError, match="in_place must be True or False, got 1"):
        compile_step(_tx(), donate=True, in_place=1)
    with pytest.raises(ValueError, match=r"options \['backend'\] would be ignored"):
        compile_step(_tx(), donate=True, in_place=True, backend="eager")
