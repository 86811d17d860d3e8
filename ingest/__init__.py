"""Files to Documents to Chunks: the text side of indexing, no models.

In the order of the data flow:

- ``loaders``: ``SUPPORTED_SUFFIXES``, ``discover`` a corpus folder,
  ``load_document`` (dispatch to a format, complete the record);
  ``errors``: ``LoadError``, how every step refuses a file.
- ``decoding``: bytes of a text file to str (BOM, UTF-8, GB18030, a guess).
- ``formats/``: one parser per format (``markdown``, ``pdf``, ``docx``,
  ``html``), each handing back a ``Parsed``; ``lines``: lines with offsets.
- ``front_matter``: title line, metadata lines, YAML block at the top.
- ``sentences``: ``split_sentences`` (also used at question time).
- ``headings``: numbered headings of plain text.
- ``outline``: the section path of every offset, where the body starts.
- ``chunking``: ``chunk_document``, sentences packed into chunks.
- ``records``: ``Document``, ``Chunk``, ``Sentence``, ``Heading``.

``__main__`` is the ``python -m ingest`` shell over the engine.
"""
