"""rapport.html: a self-contained page on the whole class, and one feedback page per student.

No network at all: inline CSS, charts drawn as inline SVG. Everything that comes from a
submission (names, folder names, feedback quoting student code) is escaped.
"""

from __future__ import annotations

import ast
import functools
import statistics
from collections import Counter
from collections.abc import Sequence
from datetime import datetime
from html import escape
from pathlib import Path

from grader.batch.cache import GRADER_DIR
from grader.batch.outcome import StudentOutcome
from grader.batch.scale import CRITERIA, TOTAL_POINTS
from grader.engine.french_numbers import fr_number
from grader.engine.statuses import GradeStatus

FILE_NAME = "rapport.html"
FEEDBACK_DIR = "retours"
TOP_FEEDBACK = 10

_STATUS_CLASS = {
    GradeStatus.GRADED: "ok",
    GradeStatus.INCOMPLETE: "warn",
    GradeStatus.ERROR: "bad",
    GradeStatus.TIMED_OUT: "bad",
}

CSS = """
:root { --ink: #1f2933; --muted: #616e7c; --line: #e4e7eb; --accent: #3b6fb6; --ok: #2f855a;
  --warn: #b7791f; --bad: #c53030; --bg: #f5f7fa; }
* { box-sizing: border-box; }
body { margin: 0; font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif;
  color: var(--ink); background: var(--bg); }
main { max-width: 1180px; margin: 0 auto; padding: 28px 32px 48px; }
h1 { font-size: 26px; margin: 0 0 4px; }
h2 { font-size: 19px; margin: 0 0 12px; }
.sub { color: var(--muted); margin: 0 0 22px; }
.cards { display: grid; grid-template-columns: repeat(auto-fit, minmax(150px, 1fr)); gap: 12px;
  margin-bottom: 20px; }
.card, section { background: #fff; border: 1px solid var(--line); border-radius: 10px; }
.card { padding: 12px 16px; }
.card b { display: block; font-size: 24px; }
.card span { color: var(--muted); font-size: 13px; }
section { padding: 18px 20px; margin-bottom: 20px; }
.grid2 { display: grid; grid-template-columns: 1fr 1fr; gap: 20px; }
.grid2 section { margin-bottom: 0; }
table { width: 100%; border-collapse: collapse; font-size: 14px; }
th, td { text-align: left; padding: 6px 8px; border-bottom: 1px solid var(--line); vertical-align: top; }
th { color: var(--muted); font-weight: 600; }
td.num, th.num { text-align: right; white-space: nowrap; }
a { color: var(--accent); text-decoration: none; }
a:hover { text-decoration: underline; }
.badge { display: inline-block; padding: 1px 8px; border-radius: 999px; font-size: 12px;
  font-weight: 600; color: #fff; white-space: nowrap; }
.badge.ok { background: var(--ok); } .badge.warn { background: var(--warn); }
.badge.bad { background: var(--bad); }
.comment { color: var(--muted); font-size: 13px; }
pre { white-space: pre-wrap; margin: 0; font: 13px/1.45 ui-monospace, "SFMono-Regular", Consolas, monospace; }
svg text { font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; }
.passed { color: var(--ok); font-weight: 600; } .failed { color: var(--bad); font-weight: 600; }
details.qui, p.qui { border-top: 1px solid var(--line); margin: 0; padding: 5px 0; font-size: 14px; }
details.qui summary { cursor: pointer; }
details.qui summary:hover { color: var(--accent); }
td details.qui { border-top: 0; padding: 0; }
td details.qui summary pre { display: inline; }
td details.qui summary .comment { display: block; margin-left: 14px; }
p.qui.vide { color: var(--muted); }
.criteres { display: grid; grid-template-columns: 1fr 1fr; column-gap: 28px; align-items: start; }
ul.eleves { margin: 6px 0 4px; padding-left: 22px; columns: 2; font-size: 13px; }
@media print {
  @page { margin: 14mm; }
  body { background: #fff; font-size: 11pt; }
  main { max-width: none; padding: 0; }
  .ecran, summary::marker, summary::-webkit-details-marker { display: none; content: ""; }
  details.qui summary { list-style: none; cursor: auto; }
  details::details-content { content-visibility: visible !important; display: block !important; }
  .card, section { border-color: #bbb; }
  .card, tr, details.qui, svg { break-inside: avoid; }
  h2 { break-after: avoid; }
  a { color: inherit; }
  ul.eleves { columns: 3; }
}
"""


def _page(title: str, body: str) -> str:
    return (
        '<!DOCTYPE html>\n<html lang="fr">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{escape(title)}</title>\n<style>{CSS}</style>\n</head>\n<body>\n<main>\n"
        f"{body}\n</main>\n</body>\n</html>\n"
    )


def _badge(statut: GradeStatus) -> str:
    return f'<span class="badge {_STATUS_CLASS[statut]}">{escape(statut)}</span>'


def _histogram(scores: Sequence[float]) -> str:
    """Marks in ten 2-point bins (the last one includes 20), as an SVG bar chart."""
    bins = [0] * 10
    for score in scores:
        bins[min(int(score // 2), 9)] += 1
    width, height, left, bottom, top = 520, 330, 36, 40, 20
    plot_h = height - bottom - top
    step = (width - left - 10) / len(bins)
    peak = max(bins) or 1
    parts = [
        f'<svg viewBox="0 0 {width} {height}" width="100%" role="img" '
        'aria-label="Répartition des notes sur 20">'
    ]
    for tick in range(0, peak + 1, max(1, peak // 4)):
        y = top + plot_h - plot_h * tick / peak
        parts.append(f'<line x1="{left}" x2="{width - 10}" y1="{y:.1f}" y2="{y:.1f}" stroke="#e4e7eb"/>')
        parts.append(
            f'<text x="{left - 6}" y="{y + 4:.1f}" font-size="11" text-anchor="end" '
            f'fill="#616e7c">{tick}</text>'
        )
    for index, count in enumerate(bins):
        bar_h = plot_h * count / peak
        x = left + index * step + 4
        y = top + plot_h - bar_h
        color = "#c53030" if index < 5 else "#3b6fb6"
        parts.append(
            f'<rect x="{x:.1f}" y="{y:.1f}" width="{step - 8:.1f}" height="{bar_h:.1f}" rx="3" '
            f'fill="{color}">'
            f"<title>{index * 2} à {index * 2 + 2} : {count} rendu(s)</title></rect>"
        )
        if count:
            parts.append(
                f'<text x="{x + (step - 8) / 2:.1f}" y="{y - 4:.1f}" font-size="12" text-anchor="middle" '
                f'fill="#1f2933">{count}</text>'
            )
        label = f"{index * 2}–{index * 2 + 2}"
        parts.append(
            f'<text x="{x + (step - 8) / 2:.1f}" y="{height - bottom + 16}" font-size="11" '
            f'text-anchor="middle" fill="#616e7c">{label}</text>'
        )
    parts.append(
        f'<text x="{(width + left) / 2:.1f}" y="{height - 6}" font-size="12" text-anchor="middle" '
        'fill="#616e7c">note sur 20 (en rouge : moins de 10)</text></svg>'
    )
    return "".join(parts)


def _criteria_chart(outcomes: Sequence[StudentOutcome]) -> str:
    """Success rate of each criterion (full points), as horizontal SVG bars."""
    row_h, bar_x, bar_w, width = 26, 172, 170, 520
    height = row_h * len(CRITERIA) + 10
    parts = [
        f'<svg viewBox="0 0 {width} {height}" width="100%" role="img" '
        'aria-label="Taux de réussite de chaque critère">'
    ]
    for index, criterion in enumerate(CRITERIA):
        tests = [t for o in outcomes if (t := o.report.test(criterion.id)) is not None]
        rate = sum(t.passed for t in tests) / len(tests) if tests else 0.0
        mean = statistics.fmean(t.score for t in tests) if tests else 0.0
        y = 5 + index * row_h
        color = "#2f855a" if rate >= 0.75 else "#b7791f" if rate >= 0.4 else "#c53030"
        parts.append(
            f'<text x="0" y="{y + 16}" font-size="12" fill="#1f2933">{escape(criterion.id)} '
            f"({fr_number(criterion.points, trim=True)} pt)</text>"
            f'<rect x="{bar_x}" y="{y + 4}" width="{bar_w}" height="16" rx="3" fill="#edf0f4"/>'
            f'<rect x="{bar_x}" y="{y + 4}" width="{bar_w * rate:.1f}" height="16" rx="3" fill="{color}">'
            f"<title>{escape(criterion.title)}</title></rect>"
            f'<text x="{bar_x + bar_w + 8}" y="{y + 16}" font-size="12" fill="#1f2933">'
            f"{round(rate * 100)} % · moyenne {fr_number(mean, trim=True)}/"
            f"{fr_number(criterion.points, trim=True)}</text>"
        )
    parts.append("</svg>")
    return "".join(parts)


@functools.cache
def check_titles() -> tuple[str, ...]:
    """The grader's check titles (first docstring line of each check), longest first.

    Read from the source without importing it: a feedback line is « title : observation ».
    """
    titles = set()
    for path in GRADER_DIR.rglob("test_*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                doc = ast.get_docstring(node)
                if doc:
                    titles.add(doc.strip().splitlines()[0].rstrip("."))
    return tuple(sorted(titles, key=len, reverse=True))


def _without_title(line: str) -> str:
    for title in check_titles():
        if line.startswith(f"{title} : "):
            return line[len(title) + 3 :]
    return line


def _observations(outcome: StudentOutcome) -> dict[str, set[str]]:
    """Each observation of a lost criterion (the text after the check's title), with its criteria."""
    found: dict[str, set[str]] = {}
    for test in outcome.report.tests:
        if test.passed:
            continue
        for line in test.output.splitlines():
            line = line.strip()
            if not line or line.startswith(("Remarque :", "Piste :")):
                continue
            found.setdefault(_without_title(line), set()).add(test.number)
    return found


def feedback_lines(outcomes: Sequence[StudentOutcome]) -> tuple[Counter[str], dict[str, set[str]]]:
    """Each observation counted once per student, with the criteria it was seen in."""
    counts: Counter[str] = Counter()
    criteria: dict[str, set[str]] = {}
    for outcome in outcomes:
        found = _observations(outcome)
        counts.update(found.keys())
        for message, numbers in found.items():
            criteria.setdefault(message, set()).update(numbers)
    return counts, criteria


def _by_name(outcomes: Sequence[StudentOutcome]) -> list[StudentOutcome]:
    return sorted(outcomes, key=lambda o: o.student.casefold())


def _who(entries: Sequence[tuple[StudentOutcome, str]]) -> str:
    """The students concerned, each linked to their feedback page, with a detail (points…)."""
    return (
        '<ul class="eleves">'
        + "".join(
            f'<li><a href="{FEEDBACK_DIR}/{escape(o.slug)}.html">{escape(o.student)}</a>'
            f"{f' <span class=comment>{escape(detail)}</span>' if detail else ''}</li>"
            for o, detail in entries
        )
        + "</ul>"
    )


def _criteria_students(outcomes: Sequence[StudentOutcome]) -> str:
    """Under the chart: each criterion opens onto the students who did not get all its points."""
    items = []
    for criterion in CRITERIA:
        concerned = [
            (o, test) for o in _by_name(outcomes) if (test := o.report.test(criterion.id)) and not test.passed
        ]
        label = (
            f"<b>{escape(criterion.id)}</b> {escape(criterion.title)} · "
            f"{len(concerned)} étudiant(s) sans tous les points"
        )
        if not concerned:
            items.append(f'<p class="qui vide">{label}</p>')
            continue
        entries = [
            (o, f"{fr_number(t.score, trim=True)}/{fr_number(t.max_score, trim=True)}") for o, t in concerned
        ]
        items.append(f'<details class="qui"><summary>{label}</summary>{_who(entries)}</details>')
    return "".join(items)


def _feedback_rows(outcomes: Sequence[StudentOutcome]) -> str:
    """The most frequent observations; each opens onto the students it was made to."""
    counts, where = feedback_lines(outcomes)
    found = {o.slug: _observations(o) for o in outcomes}
    rows = []
    for message, count in counts.most_common(TOP_FEEDBACK):
        concerned = [(o, "") for o in _by_name(outcomes) if message in found[o.slug]]
        rows.append(
            f'<tr><td class=num>{count}</td><td><details class="qui"><summary><pre>{escape(message)}</pre>'
            f"<span class=comment>{escape(', '.join(sorted(where[message])))}</span></summary>"
            f"{_who(concerned)}</details></td></tr>"
        )
    return "".join(rows) or '<tr><td colspan="2">Aucun point perdu.</td></tr>'


def student_page(outcome: StudentOutcome, class_name: str, *, standalone: bool = False) -> str:
    """One student's full report; ``standalone`` (the copy sent to the student) links nowhere."""
    rows = []
    for test in outcome.report.tests:
        css = "passed" if test.passed else "failed"
        rows.append(
            f"<tr><td><b>{escape(test.number)}</b><br><span class=comment>{escape(test.name)}</span></td>"
            f'<td class="num {css}">{fr_number(test.score, trim=True)}/'
            f"{fr_number(test.max_score, trim=True)}</td>"
            f"<td><pre>{escape(test.output)}</pre></td></tr>"
        )
    comments = "".join(f"<li>{escape(comment)}</li>" for comment in outcome.comments)
    back = f'<a href="../{FILE_NAME}">← rapport de la promotion {escape(class_name)}</a>'
    body = (
        f'<p class="sub">{f"Correction automatique : {escape(class_name)}" if standalone else back}</p>'
        f"<h1>{escape(outcome.student)}</h1>"
        f'<p class="sub">Note : <b>{fr_number(outcome.score, trim=True)}/'
        f"{fr_number(TOTAL_POINTS, trim=True)}</b> "
        f"{_badge(outcome.statut)} · dossier « {escape(outcome.folder)} » · "
        f"correction en {fr_number(outcome.elapsed, 1, trim=True)} s</p>"
        + (f"<section><h2>Remarques sur le rendu</h2><ul>{comments}</ul></section>" if comments else "")
        + "<section><h2>Détail par critère</h2><table><tr><th>critère</th><th class=num>points</th>"
        "<th>retour</th></tr>" + "".join(rows) + "</table></section>"
    )
    return _page(f"{outcome.student} : {fr_number(outcome.score, trim=True)}/20", body)


def write_report(
    outcomes: Sequence[StudentOutcome], out_dir: Path, class_name: str, sections: Sequence[str] = ()
) -> Path:
    """Writes rapport.html and retours/<élève>.html; returns the main page's path.

    ``sections`` are more HTML sections (changed marks, look-alike submissions), put last.
    """
    pages = out_dir / FEEDBACK_DIR
    pages.mkdir(parents=True, exist_ok=True)
    for outcome in outcomes:
        (pages / f"{outcome.slug}.html").write_text(student_page(outcome, class_name), encoding="utf-8")
    scores = [outcome.score for outcome in outcomes]
    statuses = Counter(outcome.statut for outcome in outcomes)
    cards = [
        (str(len(outcomes)), "rendus"),
        (fr_number(statistics.fmean(scores), trim=True) if scores else "—", "moyenne /20"),
        (fr_number(statistics.median(scores), trim=True) if scores else "—", "médiane /20"),
        (
            f"{fr_number(min(scores), trim=True)} – {fr_number(max(scores), trim=True)}" if scores else "—",
            "min – max",
        ),
        *((str(statuses[status]), status) for status in GradeStatus if statuses[status]),
    ]
    top_rows = _feedback_rows(outcomes)
    student_rows = "".join(
        f'<tr><td><a href="{FEEDBACK_DIR}/{escape(o.slug)}.html">{escape(o.student)}</a></td>'
        f"<td class=num><b>{fr_number(o.score, trim=True)}</b></td><td>{_badge(o.statut)}</td>"
        f"<td class=num>{fr_number(o.elapsed, 1, trim=True)} s</td>"
        f"<td class=comment>{escape(' | '.join(o.comments))}</td></tr>"
        for o in sorted(outcomes, key=lambda o: o.student.casefold())
    )
    when = datetime.now().strftime("%d/%m/%Y à %H:%M")
    body = (
        f"<h1>Correction de la promotion : {escape(class_name)}</h1>"
        f'<p class="sub">Rapport généré le {when} par le correcteur du TP (python -m grader.batch).</p>'
        '<p class="sub ecran">Cliquez sur un critère ou sur un retour fréquent pour voir les étudiants '
        "concernés. Pour le papier ou un PDF : Ctrl+P (tout est alors déplié).</p>"
        '<div class="cards">'
        + "".join(
            f"<div class=card><b>{escape(value)}</b><span>{escape(label)}</span></div>"
            for value, label in cards
        )
        + "</div>"
        '<div class="grid2">'
        f"<section><h2>Répartition des notes</h2>{_histogram(scores)}</section>"
        f"<section><h2>Réussite de chaque critère</h2>{_criteria_chart(outcomes)}</section>"
        "</div><br>"
        "<section><h2>Qui n'a pas tous les points, critère par critère</h2>"
        f'<div class="criteres">{_criteria_students(outcomes)}</div></section>'
        f"<section><h2>Les {TOP_FEEDBACK} retours les plus fréquents</h2>"
        "<table><tr><th class=num>rendus</th><th>observation (et critères concernés)</th></tr>"
        f"{top_rows}</table></section>"
        "<section><h2>Étudiants</h2><table><tr><th>étudiant (lien vers son retour)</th>"
        "<th class=num>note /20</th><th>statut</th><th class=num>durée</th><th>remarques</th></tr>"
        f"{student_rows}</table></section>" + "".join(sections)
    )
    path = out_dir / FILE_NAME
    path.write_text(_page(f"Correction de la promotion : {class_name}", body), encoding="utf-8")
    return path
