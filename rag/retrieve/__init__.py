"""A question to ranked hits: dense and BM25 retrieval, their fusion, the
sentence-level rerank, and cross-lingual search for a question in another
script than the corpus."""
