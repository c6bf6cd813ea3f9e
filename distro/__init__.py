"""Launcher and control plane: CLI, config, PKI, API server, controllers, tunnel."""
