"""Atelier's services: model operations, images and settings, free of any UI."""
