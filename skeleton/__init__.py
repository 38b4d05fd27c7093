"""Squelette du TP : téléchargements synchrone et asynchrone (à compléter)."""
