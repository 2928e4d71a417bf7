"""Searching the space: evolutionary search under a FLOPs budget."""
