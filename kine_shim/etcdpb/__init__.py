"""Generated etcd v3 API protobuf/gRPC modules."""
