"""Optimizer state in 8 or 4 bits: block-wise dynamic-range quantization of any optimizer's moments.

`quantize_state` wraps any transform: between steps, every per-parameter floating
buffer of the inner state (Adam's ``mu`` and ``nu``, Lion's or SGD's momentum, Muon's
momentum...) is stored as `QuantizedTensor` codes; each step reads them back,
runs the inner update in full precision, and stores the new buffers quantized again.

Quantization follows the block-wise dynamic scheme of Dettmers et al. (2022, the
``bitsandbytes`` 8-bit optimizers): a tensor is cut into blocks of ``block_size``
consecutive values; each block keeps its absolute maximum (``absmax``, in the tensor's
dtype) and one code per value, the index of the nearest entry of a fixed table of numbers
in [-1, 1] (the value is ``table[code] * absmax``). The tables are *dynamic*: decades
``[0.1, 1]``, ``[0.01, 0.1]``... each hold linearly spaced entries, half as many per decade
down, so large values are precise and small ones still representable.

Two tables per width, chosen per block with no host read: a block holding a negative value
uses the *signed* table (zero and ``2**(bits-1) - 1`` magnitudes of each sign); a block of
non-negative values (second moments always) uses the *unsigned* table, whose ``2**bits``
entries are all positive. The unsigned table has no zero on purpose: a second moment
rounded to zero would turn ``m / (sqrt(v) + eps)`` into ``m / eps``, the blow-up that makes
naive 4-bit second moments diverge (Li et al., 2023). The block's map is recorded in the
sign of its stored ``absmax``.
"""

from __future__ import annotations

import functools
import itertools
import math
from collections.abc import Collection, Mapping
from typing import Any, NamedTuple

import torch
from torch import Tensor
from torch.nn import functional

from optimtx.core.base import GradientTransformation, Params, Updates
from optimtx.core.state_tree import is_namedtuple, iter_nodes
from optimtx.core.tree import Tree, check_params
from optimtx.core.validation import check_non_negative_int
from optimtx.transforms._dtensor import is_dtensor

__all__ = [
    "BITS",
    "DEFAULT_BLOCK_SIZE",
    "QuantizedTensor",
    "dequantize_many",
    "max_error",
    "quantization_table",
    "quantize_many",
    "quantize_state",
    "state_nbytes",
]

BITS = (8, 4)
DEFAULT_BLOCK_SIZE = {8: 256, 4: 128}


class QuantizedTensor(NamedTuple):
    """A tensor stored block-wise in ``bits``-bit codes (see the module docstring).

    Attributes:
        codes: uint8, one code per value (8 bits) or two per byte (4 bits), padded to whole blocks.
        absmax: one scale per block, in the original tensor's dtype; negative for blocks on the signed table.
        shape: the original shape.
    """

    codes: Tensor
    absmax: Tensor
    shape: tuple[int, ...]


def _magnitudes(count: int) -> list[float]:
    """``count`` positive numbers up to 1, decade by decade, each decade half as dense as the one above."""
    out: list[float] = []
    decade = 0
    while len(out) < count:
        n = max(1, (count - len(out) + 1) // 2)
        out += [10.0**-decade * (0.1 + 0.9 * k / n) for k in range(1, n + 1)]
        decade += 1
    return sorted(out)


@functools.cache
def quantization_table(bits: int, signed: bool) -> tuple[float, ...]:
    """The sorted numbers in [-1, 1] (``signed``) or (0, 1] that ``bits``-bit codes stand for.

    Example:
        >>> quantization_table(4, signed=True)
        (-1.0, -0.775, -0.55, -0.325, -0.1, -0.055, -0.01, 0.0, 0.01, 0.055, 0.1, 0.325, 0.55, 0.775, 1.0)
        >>> len(quantization_table(8, signed=True)), len(quantization_table(8, signed=False))
        (255, 256)
    """
    _check_bits(bits)
    if not signed:
        return tuple(_magnitudes(2**bits))
    mags = _magnitudes(2 ** (bits - 1) - 1)
    return tuple(round(v, 12) for v in [-m for m in reversed(mags)] + [0.0] + mags)


def max_error(bits: int, signed: bool) -> float:
    """The largest ``|x - dequantize(quantize(x))|`` for any ``x`` in a block, as a fraction of its ``absmax``.

    Half the widest gap between neighbouring table entries (the gaps of the top decade). For
    unsigned blocks, values below the smallest entry are rounded up to it, an error no larger.

    Example:
        >>> round(max_error(8, signed=True), 5), round(max_error(8, signed=False), 5)
        (0.00703, 0.00352)
    """
    table = quantization_table(bits, signed)
    return max(b - a for a, b in itertools.pairwise(table)) / 2


_TABLES: dict[tuple[int, torch.device], tuple[Tensor, Tensor, int]] = {}


def _tables(bits: int, device: torch.device) -> tuple[Tensor, Tensor, int]:
    """(values, boundaries, signed size) on ``device``: signed then unsigned entries, the unsigned ones shifted by 4.

    One ``bucketize`` against these boundaries finds the nearest entry for both maps at once
    (values of unsigned blocks are shifted by 4 too, so they fall among the unsigned entries).
    Built once per device and kept: the update never copies a table from the host.
    """
    found = _TABLES.get((bits, device))
    if found is None:
        signed, unsigned = quantization_table(bits, True), quantization_table(bits, False)
        values = torch.tensor(signed + unsigned, dtype=torch.float32, device=device)
        shifted = torch.tensor(signed + tuple(u + 4.0 for u in unsigned), dtype=torch.float64)
        boundaries = ((shifted[1:] + shifted[:-1]) / 2).to(torch.float32).to(device)
        found = _TABLES[(bits, device)] = (values, boundaries, len(signed))
    return found


def _check_bits(bits: Any) -> None:
    if isinstance(bits, bool) or bits not in BITS:
        raise ValueError(f"Invalid bits: {bits!r}. It must be 8 or 4.")


def _check_block_size(block_size: Any) -> int:
    if isinstance(block_size, bool) or not isinstance(block_size, int) or block_size < 2 or block_size % 2:
        raise ValueError(f"Invalid block_size: {block_size!r}. It must be an even int >= 2, such as 256 or 128.")
    return block_size


def _blocks(t: Tensor, block_size: int) -> Tensor:
    # A complex tensor is quantized as its real view (real and imaginary parts side by side), as torch's optimizers
    # treat it; its scales are stored in the complex dtype so that reading back knows to rebuild it.
    flat = (torch.view_as_real(t) if t.is_complex() else t).reshape(-1)
    return functional.pad(flat, (0, -flat.numel() % block_size)).view(-1, block_size)


def quantize_many(tensors: list[Tensor], bits: int = 8, block_size: int = 256) -> list[QuantizedTensor]:
    """Each tensor in ``bits``-bit block-wise codes, all blocks of all tensors quantized in one batch.

    Non-finite values poison their block: its ``absmax`` is ``inf`` or ``nan``, and so is the whole
    block read back (the full-precision optimizer would have poisoned that element only).

    Example:
        >>> q = quantize_many([torch.tensor([0.5, -1.0, 0.0, 0.25])], bits=8, block_size=4)[0]
        >>> q.codes.dtype, q.absmax, q.shape
        (torch.uint8, tensor([-1.]), (4,))
        >>> dequantize_many([q], bits=8)[0]  # within 0.7 % of the block's absmax (1.0)
        tensor([ 0.4938, -1.0000,  0.0000,  0.2547])
    """
    if not tensors:
        return []
    _values, boundaries, n_signed = _tables(bits, tensors[0].device)
    blocks = [_blocks(t, block_size) for t in tensors]
    x = torch.cat([b.to(torch.float32) for b in blocks])
    absmax = torch.linalg.vector_norm(x, math.inf, dim=1, keepdim=True)
    signed = x.amin(dim=1, keepdim=True) < 0
    normalized = x / torch.where(absmax > 0, absmax, 1.0)
    index = torch.bucketize(torch.where(signed, normalized, normalized + 4.0), boundaries)
    codes = (index - torch.where(signed, 0, n_signed)).to(torch.uint8)
    if bits == 4:
        codes = codes[:, 0::2] | (codes[:, 1::2] << 4)
    scales = torch.where(signed, -absmax, absmax).squeeze(1)
    sizes = [b.size(0) for b in blocks]
    return [
        QuantizedTensor(c.reshape(-1).clone(), s.to(t.dtype, copy=True), tuple(t.shape))  # own storage each
        for c, s, t in zip(codes.split(sizes), scales.split(sizes), tensors, strict=True)
    ]


def dequantize_many(quantized: list[QuantizedTensor], bits: int = 8) -> list[Tensor]:
    """The tensors behind ``quantized`` (made by [`quantize_many`][optimtx.transforms.low_bit.quantize_many]).

    Example:
        >>> q = quantize_many([torch.full((3, 2), 2.0)], bits=4, block_size=2)
        >>> dequantize_many(q, bits=4)[0]
        tensor([[2., 2.],
                [2., 2.],
                [2., 2.]])
    """
    if not quantized:
        return []
    n_blocks = [q.absmax.numel() for q in quantized]
    codes = torch.cat([q.codes.view(n, -1) for q, n in zip(quantized, n_blocks, strict=True)])
    absmax = torch.cat([_real_part(q.absmax).to(torch.float32) for q in quantized]).unsqueeze(1)
    if bits == 4:
        codes = torch.stack((codes & 15, codes >> 4), dim=2).flatten(1)
    values, _, n_signed = _tables(bits, codes.device)
    index = codes.to(torch.int64) + torch.where(absmax < 0, 0, n_signed)
    x = values[index] * absmax.abs()
    return [_unblocked(blocks, q) for blocks, q in zip(x.split(n_blocks), quantized, strict=True)]


def _real_part(t: Tensor) -> Tensor:
    return t.real if t.is_complex() else t


def _unblocked(blocks: Tensor, q: QuantizedTensor) -> Tensor:
    if not q.absmax.is_complex():
        return blocks.reshape(-1)[: math.prod(q.shape)].view(q.shape).to(q.absmax.dtype)
    real = blocks.reshape(-1)[: 2 * math.prod(q.shape)].view(*q.shape, 2).to(_real_part(q.absmax).dtype)
    return torch.view_as_complex(real)


Path = tuple[Any, ...]


def _quantizable(value: Any, shape: torch.Size, min_size: int) -> bool:
    return (
        isinstance(value, Tensor)
        and (value.is_floating_point() or value.is_complex())
        and not is_dtensor(value)  # a rank's shard is not a whole tensor: left in full precision
        and value.shape == shape
        and value.numel() >= max(min_size, 1)
    )


def _buffers(
    node: Any,
    shapes: Mapping[str, torch.Size],
    rule: tuple[int, Collection[str] | None],
    path: Path = (),
    field: str | None = None,
) -> list[tuple[Path, Tensor]]:
    """(path, tensor) of every per-parameter floating buffer ``rule`` (min_size, fields) selects, depth-first."""
    if isinstance(node, QuantizedTensor):
        return []
    if is_namedtuple(node):
        return [b for f, v in zip(node._fields, node, strict=True) for b in _buffers(v, shapes, rule, (*path, f), f)]
    if isinstance(node, tuple):
        return [b for i, v in enumerate(node) for b in _buffers(v, shapes, rule, (*path, i), field)]
    if not isinstance(node, dict):
        return []
    min_size, fields = rule
    per_parameter = bool(node) and all(isinstance(k, str) and k in shapes for k in node)
    wanted = per_parameter and (fields is None or field in fields)
    found: list[tuple[Path, Tensor]] = []
    for k, v in node.items():
        if wanted and _quantizable(v, shapes[k], min_size):
            found.append(((*path, k), v))
        else:
            found += _buffers(v, shapes, rule, (*path, k), field)
    return found


def _quantized_leaves(node: Any, path: Path = ()) -> list[tuple[Path, QuantizedTensor]]:
    if isinstance(node, QuantizedTensor):
        return [(path, node)]
    if is_namedtuple(node):
        return [q for f, v in zip(node._fields, node, strict=True) for q in _quantized_leaves(v, (*path, f))]
    if isinstance(node, tuple):
        return [q for i, v in enumerate(node) for q in _quantized_leaves(v, (*path, i))]
    if isinstance(node, dict):
        return [q for k, v in node.items() for q in _quantized_leaves(v, (*path, k))]
    return []


def _replaced(node: Any, new: Mapping[Path, Any], path: Path = ()) -> Any:
    """``node`` with the values at the paths of ``new`` swapped in (rebuilt only along those paths)."""
    if path in new:
        return new[path]
    if not any(p[: len(path)] == path for p in new):
        return node
    if is_namedtuple(node):
        return type(node)(*(_replaced(v, new, (*path, f)) for f, v in zip(node._fields, node, strict=True)))
    if isinstance(node, tuple):
        return tuple(_replaced(v, new, (*path, i)) for i, v in enumerate(node))
    if isinstance(node, dict):
        return {k: _replaced(v, new, (*path, k)) for k, v in node.items()}
    return node


def _at(node: Any, path: Path) -> Any:
    for step in path:
        node = getattr(node, step) if is_namedtuple(node) and isinstance(step, str) else node[step]
    return node


def quantize_state(
    inner: GradientTransformation,
    bits: int = 8,
    block_size: int | None = None,
    min_size: int = 4096,
    fields: Collection[str] | None = None,
) -> GradientTransformation:
    """``inner`` with its per-parameter buffers stored in ``bits``-bit block-wise codes between steps.

    ``init`` quantizes every floating buffer of ``inner.init(params)`` that is shaped like its
    parameter and has at least ``min_size`` values (smaller ones, such as biases and norms,
    stay in full precision, as in ``bitsandbytes``); ``update`` reads them back, runs
    ``inner.update`` unchanged, and quantizes the same buffers of the new state. Counters,
    injected hyperparameters and anything not shaped like a parameter are left as they are,
    so schedules, ``get_hyperparams`` and ``TransformOptimizer`` work as with ``inner``.

    Each value read back is within `max_error`
    ``(bits, signed)`` times its block's absolute maximum of the value stored: for 8 bits
    0.7 % (signed blocks) and 0.35 % (non-negative blocks), for 4 bits 11 % and 5.6 %.
    Buffers that hold copies of the parameters (``lookahead``'s slow weights, EMA or
    schedule-free averages) lose that much of each weight: name the moment fields in
    ``fields`` (e.g. ``('mu', 'nu')``) when wrapping such transforms.

    Args:
        inner: the transform whose state to quantize (``adamw(...)``, ``lion(...)``, a chain...).
        bits: 8 or 4.
        block_size: values per block (even); default 256 for 8 bits, 128 for 4 bits.
        min_size: buffers with fewer values stay in full precision.
        fields: names of the state fields (``mu``, ``nu``, ``trace``...) to quantize; ``None``: all.

    Example:
        >>> import optimtx as otx
        >>> tx = quantize_state(otx.adamw(1e-3), bits=8, min_size=0)
        >>> params = {"w": torch.zeros(64, 64)}
        >>> state = tx.init(params)
        >>> state[0].mu["w"].codes.dtype, state[0].mu["w"].codes.shape, state[0].mu["w"].absmax.shape
        (torch.uint8, torch.Size([4096]), torch.Size([16]))
        >>> updates, state = tx.update({"w": torch.randn(64, 64)}, state, params)
        >>> bool(updates["w"].abs().max() <= 1e-3 * 1.01)
        True

    References:
        Dettmers et al., 2022, "8-bit Optimizers via Block-wise Quantization" (``bitsandbytes``);
        Li et al., 2023, "Memory Efficient Optimizers with 4-bit States".
    """
    if not isinstance(inner, GradientTransformation):
        raise TypeError(f"quantize_state() needs a GradientTransformation as inner, got {inner!r}.")
    _check_bits(bits)
    size = _check_block_size(DEFAULT_BLOCK_SIZE[bits] if block_size is None else block_size)
    rule = (check_non_negative_int("min_size", min_size), _check_fields(fields))

    def store(state: Any, shapes: Mapping[str, torch.Size]) -> Any:
        found = _buffers(state, shapes, rule)
        quantized = quantize_many([t for _, t in found], bits, size)
        return _replaced(state, {p: q for (p, _), q in zip(found, quantized, strict=True)})

    def init(params: Params) -> Any:
        check_params(params)
        return store(inner.init(params), {k: v.shape for k, v in params.items()})

    def update(updates: Updates, state: Any, params: Params | None = None, **extra: Any) -> tuple[Tree, Any]:
        stored = _quantized_leaves(state)
        full = dequantize_many([q for _, q in stored], bits)
        new_updates, new_state = inner.update(
            updates, _replaced(state, {p: t for (p, _), t in zip(stored, full, strict=True)}), params, **extra
        )
        # The same buffers as before, so the state keeps its structure step after step.
        paths = [p for p, _ in stored]
        quantized = quantize_many([_at(new_state, p) for p in paths], bits, size)
        return new_updates, _replaced(new_state, dict(zip(paths, quantized, strict=True)))

    return GradientTransformation(init, update)


def _check_fields(fields: Any) -> frozenset[str] | None:
    if fields is None:
        return None
    if isinstance(fields, str) or not isinstance(fields, Collection) or not all(isinstance(f, str) for f in fields):
        raise TypeError(
            f"fields must be None or a collection of state field names such as ('mu', 'nu'), got {fields!r}."
        )
    return frozenset(fields)


def state_nbytes(state: Any) -> int:
    """Bytes held by the tensors of a state (codes, scales, counters and full-precision buffers alike).

    Example:
        >>> import optimtx as otx
        >>> state_nbytes(quantize_state(otx.adamw(1e-3), min_size=0).init({"w": torch.zeros(256)}))
        528
    """
    return sum(n.numel() * n.element_size() for n in iter_nodes(state) if isinstance(n, Tensor))
