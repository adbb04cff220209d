"""Internal implementation modules: unstable, no compatibility guarantees."""
