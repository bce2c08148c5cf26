"""Development tools that are not shipped: the impostor GGUF maker (tests, benchmarks, the demo)."""
