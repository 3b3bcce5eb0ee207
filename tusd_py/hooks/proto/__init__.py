"""Messages of tusd's gRPC hook service, generated from hook.proto (`make grpc-stubs`)."""
