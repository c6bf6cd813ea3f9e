#!/usr/bin/env bash
# Regenerate the Python protobuf/gRPC modules for the etcd v3 API.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
python -m grpc_tools.protoc -I . --python_out=. --grpc_python_out=. \
  kine_shim/etcdpb/kv.proto kine_shim/etcdpb/auth.proto kine_shim/etcdpb/rpc.proto
