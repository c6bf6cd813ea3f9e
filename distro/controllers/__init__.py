"""Controllers that run inside `edgek8s server`."""
