"""Output folder: created with its parents, and reused when it already exists."""

from __future__ import annotations

from grader.checks.expectations import fail_on_todo, require_saved_images
from grader.checks.marks import for_both_parts, observed_outside
from grader.engine.observations import PartView
from grader.engine.outcomes import expect
from grader.engine.plans import Scenario

NESTED = "sortie/images/lot"


@for_both_parts("directory", reads=(Scenario.NESTED_DIR,))
@observed_outside  # the folder on disk is the work itself
def test_main_creates_a_missing_nested_output_folder(view: PartView) -> None:
    """main() crée le dossier de sortie manquant, parents compris"""
    scenario = view.scenario(Scenario.NESTED_DIR)
    created = NESTED in scenario.run.folders
    if not created:
        fail_on_todo(scenario)
    expect(
        created,
        f"Le dossier {NESTED} (trois niveaux) n'existe pas après main()."
        + (f" {scenario.crash_text()}." if scenario.crash_text() else ""),
        "Avec pathlib, quels paramètres de mkdir créent aussi les dossiers parents ?",
    )


@for_both_parts("directory", reads=(Scenario.EXISTING_DIR, Scenario.NESTED_DIR))
def test_main_runs_again_when_the_output_folder_exists(view: PartView) -> None:
    """main() fonctionne quand le dossier de sortie existe déjà (second lancement)"""
    scenario = view.scenario(Scenario.EXISTING_DIR)
    failed = scenario.failed_call or {}
    exists_error = failed.get("exception") == "FileExistsError" or "File exists" in str(failed.get("message"))
    expect(
        not exists_error,
        f"Quand le dossier {NESTED} existe déjà, {scenario.crash_text()}.",
        "main() doit réutiliser le dossier de sortie existant : quel paramètre de mkdir l'autorise ?",
    )
    # A main() that writes nothing, or never creates a folder, does not « work again »: it
    # never did the work that a second launch could break.
    require_saved_images(scenario, folder=NESTED, any_file=True)  # what they hold: download's business
    nested = view.scenario(Scenario.NESTED_DIR)
    # Observed on disk first: in that scenario nobody but the student's code creates the folder.
    # The mkdir count is the worker's claim, for code whose nested folder failed for another reason.
    created = NESTED in nested.run.folders
    expect(
        created or scenario.mkdir_calls + nested.mkdir_calls > 0,
        "main() ne crée jamais le dossier de sortie (aucun appel à mkdir) : le second lancement ne "
        "prouve rien.",
        "Le dossier de sortie doit être créé par votre code : avec pathlib, quelle méthode crée un "
        "dossier, et quel paramètre évite l'erreur quand il existe déjà ?",
    )
