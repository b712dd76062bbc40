"""Helpers for the figures kinds draw, knowing nothing of what is drawn: about how much room
a label takes, and boxes that must not overlap (a label goes where it covers the fewest
others). Pure arithmetic in inches: matplotlib is not imported here."""
from __future__ import annotations

POINT = 1 / 72  # inches


def text_size(text: str, points: float) -> tuple[float, float]:
    """About how wide and high (inches) one line of `text` is at `points` in matplotlib's
    default sans-serif font: enough to keep labels apart without measuring them."""
    narrow = sum(c in ".,:;ijlt()|' " for c in text)
    wide = sum(c in "\u2212+=×mwMW" for c in text)
    ems = 0.84 * wide + 0.32 * narrow + 0.64 * (len(text) - narrow - wide)
    return ems * points * POINT, 1.2 * points * POINT


class Boxes:
    """Rectangles (centre, half width, half height, in inches) already taken on a figure; a
    label goes where it overlaps the fewest of them."""

    def __init__(self):
        self.taken: list[tuple[float, float, float, float]] = []

    def add(self, x: float, y: float, half_width: float, half_height: float) -> None:
        self.taken.append((x, y, half_width, half_height))

    def overlap(self, x: float, y: float, half_width: float, half_height: float) -> float:
        """The area of (x, y)'s box that others cover."""
        total = 0.0
        for ox, oy, ow, oh in self.taken:
            dx = min(x + half_width, ox + ow) - max(x - half_width, ox - ow)
            dy = min(y + half_height, oy + oh) - max(y - half_height, oy - oh)
            if dx > 0 and dy > 0:
                total += dx * dy
        return total

    def place(self, candidates, half_width: float, half_height: float) -> tuple[float, float]:
        """The first of the candidate centres whose box overlaps nothing taken (else the one
        that overlaps least), taken from now on."""
        best, least = None, None
        for x, y in candidates:
            covered = self.overlap(x, y, half_width, half_height)
            if covered == 0:
                best = (x, y)
                break
            if least is None or covered < least:
                best, least = (x, y), covered
        self.add(*best, half_width, half_height)
        return best
