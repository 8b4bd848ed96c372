"""The SVG badge, `Cust123 | running`, in the familiar flat style; geometry only, no I/O.

Text widths come from a small table of Verdana advance widths at 11 px; the SVG
also sets `textLength`, so a renderer with another font still fits each text into
its box.
"""

from __future__ import annotations

from dataclasses import dataclass

from tenantstatus.model import TenantState
from tenantstatus.service.status.states import Tone, describe

__all__ = ["BADGE_COLOURS", "Badge", "badge_for", "text_width"]

# Background colours; white text on each has a contrast ratio of at least 4.5:1.
BADGE_COLOURS = {
    Tone.OK: "#1a7f37",
    Tone.MAINTENANCE: "#0b5cad",
    Tone.PENDING: "#6639ba",
    Tone.PAUSED: "#8a4600",
    Tone.GONE: "#57606a",
    Tone.DOWN: "#b42318",
}
LABEL_COLOUR = "#3d444d"

_NARROW = frozenset("fijlrtI.,:;!|'() ")
_WIDE = frozenset("mwMW")
_PADDING = 6


def text_width(text: str) -> int:
    """Approximate width in pixels of `text` in Verdana 11 px."""
    width = 0.0
    for char in text:
        if char in _NARROW:
            width += 3.9
        elif char in _WIDE:
            width += 10.0
        elif char.isupper() or char.isdigit():
            width += 7.5
        else:
            width += 6.6
    return round(width)


@dataclass(frozen=True, slots=True)
class Badge:
    """What the badge template draws."""

    label: str
    message: str
    colour: str
    label_colour: str
    label_width: int
    message_width: int

    @property
    def width(self) -> int:
        """The whole badge's width."""
        return self.label_width + self.message_width

    @property
    def label_box(self) -> int:
        """Width of the label's box."""
        return self.label_width

    @property
    def label_text_length(self) -> int:
        """Width the label text is fitted to."""
        return self.label_width - 2 * _PADDING

    @property
    def message_text_length(self) -> int:
        """Width the message text is fitted to."""
        return self.message_width - 2 * _PADDING

    @property
    def label_x(self) -> float:
        """Centre of the label."""
        return self.label_width / 2

    @property
    def message_x(self) -> float:
        """Centre of the message."""
        return self.label_width + self.message_width / 2

    @property
    def alt(self) -> str:
        """The text alternative: `Cust123: running`."""
        return f"{self.label}: {self.message}"


def badge_for(context_identifier: str, state: TenantState) -> Badge:
    """The badge of a tenant in `state`."""
    description = describe(state)
    message = description.badge
    return Badge(
        label=context_identifier,
        message=message,
        colour=BADGE_COLOURS[description.tone],
        label_colour=LABEL_COLOUR,
        label_width=text_width(context_identifier) + 2 * _PADDING,
        message_width=text_width(message) + 2 * _PADDING,
    )
