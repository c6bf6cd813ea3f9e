"""gRPC servicers exposing kine_shim.store.Store as the etcd v3 API."""
