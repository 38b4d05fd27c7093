"""Look-alike submissions: each part compared with every classmate's, skeleton left out.

The fingerprints are copydetect's (hashed k-grams of the normalized code, MOSS's method):
names of variables, functions and classes, strings and comments are normalized away, so
renaming does not hide a copy, and fingerprints are compared whatever their order, so moving
functions around does not either. Every fingerprint of the skeleton that the students
started from is boilerplate and never counts as shared. The files are small, so every
k-gram is kept (winnowing window 1): the comparison is exact, not a sample.

A pair is kept when enough of one of the two files' own code (not the skeleton's) is found in
the other. This is a lead for the instructor to look at, never a proof, and it never changes
a mark.
"""

from __future__ import annotations

import importlib.util
import io
import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from html import escape
from typing import Any

import numpy as np

from grader.batch.similarity_report import DEFAULT_THRESHOLD

# copydetect itself is imported when first needed (it loads matplotlib, a second); its absence
# (optional Poetry group « similarity ») is told now, like numpy's.
if importlib.util.find_spec("copydetect") is None:
    raise ImportError("copydetect n'est pas installé : poetry install --with similarity")

LANGUAGE = "python"  # told to pygments, rather than guessed from each file's name (slower)
NOISE = 25  # copydetect's noise threshold: shared runs shorter than this (in tokens' characters) are ignored
GUARANTEE = 25  # ... and runs at least this long are always found: every k-gram is kept (window 1)
MIN_SHARED = 3 * NOISE  # below this many shared characters of normalized code, a pair is noise


@dataclass(frozen=True)
class Fingerprint:
    """One file's copydetect fingerprint, with its k-grams as arrays for fast comparisons."""

    code: Any  # copydetect.CodeFingerprint
    positions: Any  # where each k-gram kept (not the skeleton's) starts in the normalized code, sorted
    hashes: Any  # its hash, same order

    @classmethod
    def of(cls, name: str, text: str, boilerplate: Any) -> Fingerprint:
        from copydetect import CodeFingerprint  # imported when needed: it loads matplotlib (1 s)

        window = GUARANTEE - NOISE + 1
        code = CodeFingerprint(name, NOISE, window, boilerplate, language=LANGUAGE, fp=io.StringIO(text))
        found = sorted((index, value) for value, indexes in code.hash_idx.items() for index in indexes)
        positions = np.array([index for index, _ in found], dtype=np.int64)
        hashes = np.array([value for _, value in found], dtype=np.int64)
        return cls(code, positions, hashes)

    @property
    def coverage(self) -> float:
        """Characters of normalized code that the file's own k-grams cover (copydetect's)."""
        return float(self.code.token_coverage)


def covered_matrix(prints: Sequence[Fingerprint]) -> Any:
    """``covered[a, b]``: characters of file a's normalized code covered by k-grams also in b.

    The count copydetect's compare_files gives (its copied slices, summed), for every pair at
    once: compare_files takes a millisecond a pair, too slow for the 45 000 pairs of a class of
    300. For each file a, a boolean matrix says which of its k-grams each other file holds;
    the characters they cover are counted with a running sum over a window of NOISE.
    """
    count = len(prints)
    covered = np.zeros((count, count), dtype=np.int64)
    if not count:
        return covered
    every = np.concatenate([fingerprint.hashes for fingerprint in prints])
    _, ids = np.unique(every, return_inverse=True)
    holds = np.zeros((count, int(ids.max(initial=-1)) + 1), dtype=bool)  # file → its k-grams
    bounds = np.cumsum([0, *(len(fingerprint.hashes) for fingerprint in prints)])
    own_ids = [ids[bounds[i] : bounds[i + 1]] for i in range(count)]
    for index, own in enumerate(own_ids):
        holds[index, own] = True
    for index, fingerprint in enumerate(prints):
        if not fingerprint.positions.size:
            continue
        length = int(fingerprint.positions[-1]) + NOISE
        starts = np.zeros((count, length), dtype=np.int32)
        starts[:, fingerprint.positions] = holds[:, own_ids[index]]
        running = np.concatenate([np.zeros((count, 1), dtype=np.int32), np.cumsum(starts, axis=1)], axis=1)
        lag = np.maximum(np.arange(length) - NOISE + 1, 0)
        covered[index] = ((running[:, 1:] - running[:, lag]) > 0).sum(axis=1)
    np.fill_diagonal(covered, 0)
    return covered


@dataclass(frozen=True)
class Pair:
    """Two submissions whose ``part`` look alike; ``share`` is how much of each one's own code
    (without the skeleton) is found in the other, from 0 to 1."""

    part: str  # the file's name: sync_downloader.py or async_downloader.py
    first: str  # the students' keys (slugs), as given
    second: str
    share: tuple[float, float]
    prints: tuple[Fingerprint, Fingerprint] = field(repr=False, compare=False)

    @property
    def similarity(self) -> float:
        return max(self.share)

    def highlighted(self) -> tuple[str, str]:
        """Each file, HTML-escaped, with the shared passages in <mark> (copydetect's slices)."""
        from copydetect import compare_files

        first, second = (fingerprint.code for fingerprint in self.prints)
        _, _, (slices_first, slices_second) = compare_files(first, second)
        return _highlighted(first.raw_code, slices_first), _highlighted(second.raw_code, slices_second)


def boilerplate_hashes(name: str, skeleton: str) -> Any:
    """Every k-gram fingerprint of the skeleton's file (copydetect's own way, window 1)."""
    from copydetect import CodeFingerprint

    code = CodeFingerprint(name, NOISE, 1, None, language=LANGUAGE, fp=io.StringIO(skeleton))
    return np.unique(np.array(list(code.hashes), dtype=np.int64))


def _highlighted(text: str, slices: Any) -> str:
    if not len(slices) or not len(slices[0]):
        return escape(text)
    from copydetect.utils import highlight_overlap

    marked, _ = highlight_overlap(text, slices, "<mark>", "</mark>", escape_html=True)  # escapes the code
    return str(marked)


def compare_part(
    part: str,
    texts: Mapping[str, str],
    skeleton: str = "",
    threshold: float = DEFAULT_THRESHOLD,
) -> list[Pair]:
    """The pairs of ``texts`` (student key → this part's source) at or above ``threshold``.

    Identical files are fingerprinted once: all their own code is shared.
    """
    boilerplate = boilerplate_hashes(part, skeleton) if skeleton.strip() else None
    by_text: dict[str, list[str]] = {}
    for key in sorted(texts):
        if texts[key].strip():
            by_text.setdefault(texts[key], []).append(key)
    groups = list(by_text.values())
    prints = [Fingerprint.of(part, text, boilerplate) for text in by_text]
    coverage = np.array([max(fingerprint.coverage, 1.0) for fingerprint in prints])
    covered = covered_matrix(prints)
    np.fill_diagonal(covered, [int(fingerprint.coverage) for fingerprint in prints])
    share = covered / coverage[:, None]
    alike = (covered >= MIN_SHARED) & (np.maximum(share, share.T) >= threshold)
    pairs = []
    for a, b in zip(*np.nonzero(np.triu(alike)), strict=True):
        if a == b:  # identical files
            keys = list(itertools.combinations(groups[a], 2))
        else:
            keys = [(x, y) for x in groups[a] for y in groups[b]]
        shares = (float(share[a, b]), float(share[b, a]))
        pairs += [_pair(part, (x, y), shares, (prints[a], prints[b])) for x, y in keys]
    return pairs


def _pair(
    part: str, keys: tuple[str, str], share: tuple[float, float], prints: tuple[Fingerprint, Fingerprint]
) -> Pair:
    """A pair in its students' order, whatever the order they were compared in."""
    if keys[0] <= keys[1]:
        return Pair(part, keys[0], keys[1], share, prints)
    return Pair(part, keys[1], keys[0], (share[1], share[0]), (prints[1], prints[0]))


def compare_class(
    documents: Mapping[str, Mapping[str, str]],
    parts: Sequence[str],
    skeleton: Mapping[str, str],
    threshold: float = DEFAULT_THRESHOLD,
) -> list[Pair]:
    """Each part compared separately; the pairs, most alike first."""
    pairs = []
    for part in parts:
        texts = {key: files[part] for key, files in documents.items() if part in files}
        pairs += compare_part(part, texts, skeleton.get(part, ""), threshold)
    return sorted(pairs, key=lambda pair: (-pair.similarity, pair.part, pair.first, pair.second))
