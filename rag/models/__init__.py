"""The models the pipeline runs: the embedder (texts to unit vectors), the
optional generators (local transformers or an OpenAI-compatible endpoint) and
the converters that make local model files from installed packages."""
