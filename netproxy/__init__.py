"""nftables service proxy. Not built yet: see the open issues."""
