"""The contract core the mock server, the proxy and the harness share: reading openapi.yaml,
judging an exchange by it, credentials and masking."""
