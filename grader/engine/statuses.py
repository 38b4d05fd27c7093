"""The statuses of a grade: the one vocabulary the report writes and the batch and platforms read.

The report writes the status in ``results.json`` under ``extra_data.statut`` (the member's
French value); readers parse it back with :class:`GradeStatus` and never guess it from the
French feedback.
"""

from __future__ import annotations

from enum import StrEnum

# Said when the student stops a grade with Ctrl-C, wherever it is stopped: no status, no mark.
INTERRUPTED = (
    "Correction interrompue (Ctrl-C) : aucune note n'est donnée, et le results.json précédent "
    "est laissé tel quel. Relancez la correction quand vous voulez."
)


class GradeStatus(StrEnum):
    """A grade's status, from best to worst (when two sources disagree, the worse one wins)."""

    GRADED = "noté"  # the code ran: the marks say how well
    INCOMPLETE = "incomplet"  # TODOs left (NotImplementedError), or a part not handed in
    ERROR = "erreur"  # code that crashes or does not load, or a grade that could not be made
    TIMED_OUT = "délai dépassé"  # code still running when the grader stopped it

    @property
    def meaning(self) -> str:
        """What the status means, in French, for the instructor (one line)."""
        return _MEANINGS[self]


_MEANINGS = {
    GradeStatus.GRADED: "noté : le code a tourné, la note dit ce qui est réussi",
    GradeStatus.INCOMPLETE: (
        "incomplet : des fonctions lèvent encore NotImplementedError (TODO restants) "
        "ou une partie n'a pas été rendue"
    ),
    GradeStatus.ERROR: (
        "erreur : le code plante ou ne se charge pas (détail dans le compte rendu des critères)"
    ),
    GradeStatus.TIMED_OUT: (
        "délai dépassé : le code tournait encore quand le correcteur l'a arrêté (boucle infinie ?)"
    ),
}
