"""Node agent (virtual kubelet). Not built yet: see the open issues."""
