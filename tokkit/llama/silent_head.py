"""LM-head rows for new tokens that leave the base model's distribution on old text unchanged.

Copying the base rows keeps every base logit bit for bit, but the loss on text that uses no new
token still moves: the new rows enter the softmax normaliser. For a final hidden state ``h`` the
base log-normaliser is ``L(h) = logsumexp_i(w_i · h)``; a new row ``v`` adds ``exp(v · h)``. The
loss is unchanged *to float precision* once every new logit is far enough below ``L(h)`` that the
sum cannot move: ``N`` new rows at ``margin`` nats below add at most ``N · e^-margin`` relative,
under float32's 2^-24 for ``margin`` ≥ 30 and ``N`` up to ~10^5.

So each new row ``v0`` (from the chosen init) is moved against a direction ``u`` along which every
final hidden state of the base model on calibration text (the old domain: English for a Chinese
extension) lies: ``v = v0 - t·u``, with the smallest ``t`` that puts ``v · h`` at least ``margin``
below ``L(h)`` on every calibration position. ``u`` is the direction of the point of the states'
convex hull nearest the origin (Gilbert's algorithm), which maximises the smallest ``u · h``.

When is it possible at all? If the origin lies in that hull (``Σ λ_p h_p = 0``, ``λ ≥ 0``,
``Σ λ_p = 1``), then for *any* row ``v``, ``Σ λ_p (v · h_p) = 0``, so some position has
``v · h_p ≥ 0``, a logit that is not far below ``L(h_p)`` whenever ``L(h_p)`` is small: no head
row without a bias can be silent on all of them. Trained models' final states share a dominant
direction (anisotropy), which keeps the origin outside; a position the direction cannot reach is
counted (``against``) and not silenced. Text like the calibration text is then predicted exactly as before; for text far from
it (Chinese) the shift is smaller, and training moves the rows where the new tokens are targets
(the gradient of a target's logit is ``p - 1``, not vanishing however low it starts).

Only the LM head can do this: with tied embeddings the same rows are the input embeddings of the
new tokens, so the shift would also move what the model reads for them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

from tokkit.errors import InputError

DEFAULT_MARGIN = 30.0
"""Nats below the base log-normaliser: ``N · e^-30`` < 2^-24 for up to ~10^5 new rows."""


@dataclass(frozen=True)
class SilentReport:
    """What :func:`silence_rows` did (saved in the resize output's ``tokkit.json``)."""

    positions: int
    """Calibration positions (hidden states) the rows were made silent on."""
    against: int
    """Positions whose hidden state points against the mean direction (not silenced)."""
    margin: float
    shift_median: float
    shift_max: float
    worst_gap: float
    """max over silenced positions and new rows of ``v · h - L(h)`` after the shift (≤ -margin)."""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def final_states(model: Any, sequences: Sequence[Sequence[int]]) -> tuple[Any, Any]:
    """The hidden states that enter the LM head, and the log-normaliser of the base logits, for
    every position of ``sequences`` (token ids the model knows), in float32."""
    import torch

    head = model.get_output_embeddings()
    states: list[Any] = []
    normalisers: list[Any] = []

    def keep(_module: Any, inputs: tuple[Any, ...], output: Any) -> None:
        states.append(inputs[0][0].detach().float())
        normalisers.append(torch.logsumexp(output[0].detach().float(), dim=-1))

    hook = head.register_forward_hook(keep)
    try:
        with torch.no_grad():
            for ids in sequences:
                model(input_ids=torch.tensor([list(ids)]))
    finally:
        hook.remove()
    if not states:
        raise InputError("no calibration text the base model can read; pass calibration lines of its own domain")
    return torch.cat(states), torch.cat(normalisers)


def nearest_hull_point(points: Any, *, steps: int = 2000, tolerance: float = 1e-6) -> Any:
    """Gilbert's algorithm: the point of the convex hull of ``points`` (rows) nearest the origin.

    Its direction ``x / |x|`` maximises ``min_p x · h_p / |x|``; it stops when no point lies
    below ``|x|²`` along ``x`` (optimal) or the hull reaches the origin (``x`` ≈ 0)."""
    x = points.mean(dim=0)
    for _ in range(steps):
        scores = points @ x
        worst = int(scores.argmin())
        norm2 = float(x @ x)
        if norm2 <= 1e-30 or float(scores[worst]) >= norm2 * (1 - tolerance):
            break
        d = points[worst] - x
        gamma = min(1.0, max(0.0, -float(x @ d) / float(d @ d)))
        x = x + gamma * d
    return x


def silence_rows(rows: Any, states: Any, normalisers: Any, *, margin: float = DEFAULT_MARGIN,
                 block: int = 2048) -> tuple[Any, SilentReport]:
    """``rows`` (new LM-head rows, N × d) moved against the mean direction of ``states`` until each
    logit is ``margin`` nats below ``normalisers`` on every position pointing along it."""
    import torch

    rows = rows.float()
    direction = nearest_hull_point(states)
    direction = direction / direction.norm()
    projection = states @ direction
    along = projection > 0
    h, lse, p = states[along], normalisers[along], projection[along]
    shifts = torch.empty(len(rows))
    for start in range(0, len(rows), block):
        gaps = h @ rows[start:start + block].T - lse[:, None]
        shifts[start:start + block] = ((gaps + margin) / p[:, None]).max(dim=0).values.clamp(min=0)
    moved = rows - shifts[:, None] * direction
    worst = max(float((h @ moved[s:s + block].T - lse[:, None]).max()) for s in range(0, len(rows), block))
    return moved, SilentReport(positions=int(along.sum()), against=int((~along).sum()), margin=margin,
                               shift_median=float(shifts.median()), shift_max=float(shifts.max()),
                               worst_gap=worst)
