"""Chunks to a searchable index on disk: the versioned store (FAISS vectors,
chunks, sentence table), BM25, the cross-lingual term table, and the
incremental, resumable, atomic build that writes them."""
