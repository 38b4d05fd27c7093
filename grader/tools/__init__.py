"""Instructor and student tools: local image server, demo, bench."""
