"""Pure pieces of the scheduler: resource arithmetic, node/pod predicates, the node cache and the
filter/score algorithm. Nothing here talks to the API."""
