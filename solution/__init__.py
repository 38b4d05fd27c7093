"""Corrigé du TP : téléchargements synchrone et asynchrone."""
