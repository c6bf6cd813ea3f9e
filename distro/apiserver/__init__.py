"""The embedded Kubernetes API server (being built: storage and Status errors so far)."""
