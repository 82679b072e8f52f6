"""The validation proxy: between an app and a platform we do not own, every exchange passed
through unchanged and judged by the contract core."""
