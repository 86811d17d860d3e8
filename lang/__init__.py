"""Language rules, one definition each: scripts and the CJK ranges, folding,
terms and stop words, numerals, enumeration markers, sentence ends, question
types and citation markers.

The bottom layer: ``ingest`` (documents and chunks) and ``rag`` (vectors,
hits, answers) both import it; it imports neither.
"""
