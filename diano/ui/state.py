"""Per-session state of the app: one typed object per page, kept in ``st.session_state``.

Streamlit gives every browser session its own ``st.session_state``, so edits a person makes
(latent edits, marches, probe points) never reach another person's session. The models
themselves are shared and read-only (``diano.ui.cache``); edits are tensors held here.

Each state remembers the ``source`` it was built from (benchmark, model, case, frame); when
the sidebar selection changes, :func:`page_state` starts afresh instead of mixing a latent of
one model with another model's decoder.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeVar

import streamlit as st
from torch import Tensor

from diano.latent_edit import Cells, EditHistory

S = TypeVar("S")


@dataclass
class EditorState:
    """Latent editor: the base latent, the edit history and the selection.

    Attributes:
        source: ``(benchmark, model, scenario, case, frame)`` the base latent came from.
        base: encoded latent ``(1, Lc, M_y, M_x)`` of that frame.
        history: the edits in effect and those that can be redone.
        selected: cells picked on the grid (for set/scale region).
        last_event: number of the grid view's last selection event taken into
            ``selected`` (the view keeps reporting its last selection on later reruns;
            only a new event replaces the cells, so a reset is not undone).
        applied: number of edit actions so far (shown in the figure title).
    """

    source: tuple
    base: Tensor
    history: EditHistory = field(default_factory=EditHistory)
    selected: Cells = ()
    last_event: int = 0
    applied: int = 0


@dataclass
class Fork:
    """One marched future: latent states and their error against the truth per step."""

    label: str
    latents: list[Tensor]
    errors: list[float] = field(default_factory=list)


@dataclass
class PlaygroundState:
    """Solver playground: the forks being marched and how far they have gone.

    Attributes:
        source: as in :class:`EditorState`, plus the start latent's kind.
        forks: name -> fork; ``"A"`` is the reference future, ``"B"`` the alternative.
        playing: whether the play loop is stepping.
        message: the last warning (e.g. unstable settings), shown until the next action.
        start_frame: the frame both forks start from.
        settings: name -> the :class:`~diano.explore.SolverSettings` each fork marches with.
        b_other: fork B marches the same latent with other settings (``False``: the edited
            latent with A's settings).
        b_edited: fork B started from the latent editor's edits.
    """

    source: tuple
    forks: dict[str, Fork] = field(default_factory=dict)
    playing: bool = False
    message: str | None = None
    start_frame: int = 0
    settings: dict = field(default_factory=dict)
    b_other: bool = False
    b_edited: bool = False

    @property
    def n_steps(self) -> int:
        return min((len(f.latents) - 1 for f in self.forks.values()), default=0)


def page_state(key: str, source: tuple, factory: Callable[[], S]) -> S:
    """The state object at ``st.session_state[key]``, rebuilt by ``factory`` when missing or
    when it was made for another ``source``."""
    state = st.session_state.get(key)
    if state is None or getattr(state, "source", None) != source:
        state = factory()
        st.session_state[key] = state
    return state
