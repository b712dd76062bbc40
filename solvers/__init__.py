"""Worked, verified solutions to neural-network homework problems."""
