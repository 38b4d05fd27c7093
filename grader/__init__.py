"""Correcteur automatique du TP « Téléchargements synchrone et asynchrone »."""
