"""`python -m service import-torchserve`: archives as torch-model-archiver writes them become model
directories; what cannot be carried over is refused naming the archive entry."""

from __future__ import annotations

import io
import json
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest

from service.torchserve.archive import MANIFEST, ArchiveImportError, import_archive, imported_copy, is_archive
from tests.service.live import REPO


def test_a_mar_becomes_a_directory_with_the_archive_its_handler_and_requirements(
    store: Path, tmp_path: Path
) -> None:
    [imported] = import_archive(store / "brightness.mar", tmp_path / "brightness")
    folder = imported.directory
    meta = json.loads((folder / "model.json").read_text())
    assert (meta["name"], meta["version"], meta["platform"]) == ("brightness", "2.0", "torchserve")
    assert [(s["name"], s["datatype"]) for s in meta["inputs"]] == [("body", "BYTES")]
    for entry in ("net.py", "brightness.pth", "brightness_handler.py", "index_to_name.json", MANIFEST):
        assert (folder / "archive" / entry).is_file(), entry
    # The handler imports ts.torch_handler.base_handler (and TorchServe imports PyYAML undeclared).
    assert (folder / "requirements.txt").read_text().split() == ["torchserve==0.12.0", "pyyaml"]
    assert "TorchServeHandler" in (folder / "handler.py").read_text()


def test_a_function_handler_without_ts_imports_needs_no_torchserve(store: Path, tmp_path: Path) -> None:
    [imported] = import_archive(store / "sentiment.mar", tmp_path / "sentiment")
    assert not (imported.directory / "requirements.txt").exists()


def test_a_model_store_imports_each_archive_under_its_name_with_its_sample(
    store: Path, tmp_path: Path
) -> None:
    imported = import_archive(store, tmp_path / "models")
    assert sorted(each.directory.name for each in imported) == ["brightness", "sentiment"]
    for each in imported:
        assert json.loads((each.directory / "model.json").read_text())["sample"]["body"]["file"].startswith(
            "sample."
        )


def test_without_a_sample_the_import_says_the_check_needs_one(store: Path, tmp_path: Path) -> None:
    [imported] = import_archive(store / "sentiment.mar", tmp_path / "s")
    assert "sample" not in json.loads((imported.directory / "model.json").read_text())
    assert any("--sample" in note and "model check" in note for note in imported.notes)


def test_an_unpacked_archive_and_a_tarball_import_like_the_mar(store: Path, tmp_path: Path) -> None:
    unpacked = tmp_path / "unpacked"
    with zipfile.ZipFile(store / "sentiment.mar") as zipped:
        zipped.extractall(unpacked)
    tarball = tmp_path / "sentiment.tar.gz"
    with tarfile.open(tarball, "w:gz") as tarred:
        tarred.add(unpacked, arcname=".")
    for source, name in ((unpacked, "a"), (tarball, "b")):
        [imported] = import_archive(source, tmp_path / name)
        assert (imported.directory / "archive" / "sentiment.pt").is_file()


def test_the_archives_batch_settings_are_named_as_liftoff_settings(store: Path, tmp_path: Path) -> None:
    source = tmp_path / "unpacked"
    with zipfile.ZipFile(store / "sentiment.mar") as zipped:
        zipped.extractall(source)
    manifest = json.loads((source / MANIFEST).read_text())
    manifest["model"]["configFile"] = "model-config.yaml"
    (source / MANIFEST).write_text(json.dumps(manifest))
    (source / "model-config.yaml").write_text("batchSize: 8\nmaxBatchDelay: 50\n")
    [imported] = import_archive(source, tmp_path / "out")
    assert (imported.batch_size, imported.max_batch_delay_ms) == (8, 50.0)
    assert any("LIFTOFF_MAX_BATCH_SIZE=8 LIFTOFF_MAX_BATCH_WAIT_MS=50" in note for note in imported.notes)


def _zip(path: Path, entries: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w") as zipped:
        for name, data in entries.items():
            zipped.writestr(name, data)
    return path


def _manifest(**model: str) -> bytes:
    return json.dumps({"runtime": "python", "model": {"modelName": "m", "handler": "h.py", **model}}).encode()


@pytest.mark.parametrize(
    ("entries", "named"),
    [
        ({"h.py": b""}, MANIFEST),
        ({MANIFEST: b"{not json"}, MANIFEST),
        ({MANIFEST: _manifest(), "../evil.py": b""}, "'../evil.py'"),
        ({MANIFEST: _manifest(handler="missing.py")}, "'missing.py'"),
        ({MANIFEST: _manifest(handler="vllm_handler")}, "'vllm_handler'"),
        ({MANIFEST: _manifest(serializedFile="model.pt"), "h.py": b""}, "'model.pt'"),
        ({MANIFEST: _manifest(requirementsFile="req.txt"), "h.py": b""}, "'req.txt'"),
        ({"WAR-INF/MANIFEST.json": b"{}"}, "workflow"),
    ],
)
def test_what_cannot_be_carried_over_is_refused_naming_the_entry(
    tmp_path: Path, entries: dict[str, bytes], named: str
) -> None:
    archive = _zip(tmp_path / "broken.mar", entries)
    with pytest.raises(ArchiveImportError) as refused:
        import_archive(archive, tmp_path / "out")
    assert "broken.mar" in str(refused.value) and named in str(refused.value)
    assert not (tmp_path / "out" / "handler.py").exists()


def test_a_tarball_with_a_link_is_refused(tmp_path: Path) -> None:
    tarball = tmp_path / "linked.tgz"
    with tarfile.open(tarball, "w:gz") as tarred:
        link = tarfile.TarInfo("model.pt")
        link.type = tarfile.SYMTYPE
        link.linkname = "/etc/passwd"
        tarred.addfile(link)
        data = _manifest()
        info = tarfile.TarInfo(MANIFEST)
        info.size = len(data)
        tarred.addfile(info, io.BytesIO(data))
    with pytest.raises(ArchiveImportError, match=r"'model\.pt' is a link"):
        import_archive(tarball, tmp_path / "out")


def test_the_command_prints_what_it_wrote_and_fails_cleanly_on_a_bad_archive(
    store: Path, tmp_path: Path
) -> None:
    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "service", "import-torchserve", *args],
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )

    done = run(
        str(store / "brightness.mar"), str(tmp_path / "b"), "--sample", str(store / "brightness.sample.png")
    )
    assert done.returncode == 0, done.stderr
    checked = subprocess.run(
        [sys.executable, "-m", "service", "check", str(tmp_path / "b")],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert checked.returncode == 0, checked.stderr  # the imported handler passes the one model check
    assert "model 'brightness' version 2.0" in done.stdout and "torchserve==0.12.0" in done.stdout
    again = run(str(store / "brightness.mar"), str(tmp_path / "b"))
    assert again.returncode == 1 and "not empty" in again.stderr and "Traceback" not in again.stderr
    usage = run("only-one-argument")
    assert usage.returncode == 2 and "usage: python -m service import-torchserve" in usage.stderr
    broken = run(str(_zip(tmp_path / "x.mar", {"a.txt": b""})), str(tmp_path / "x"))
    assert broken.returncode == 1 and MANIFEST in broken.stderr and not (tmp_path / "x").exists()


def test_an_archive_named_as_the_model_is_imported_once_by_its_contents(store: Path, tmp_path: Path) -> None:
    first = imported_copy(store / "sentiment.mar", tmp_path)
    again = imported_copy(store / "sentiment.mar", tmp_path)
    other = imported_copy(store / "brightness.mar", tmp_path)
    assert first == again and first != other and first.name.startswith("sentiment-")
    assert (first / "model.json").is_file() and is_archive(store / "sentiment.mar")
    assert not is_archive(first)  # an imported directory is a model directory, not an archive


def test_the_server_imports_without_pyyaml_which_the_image_does_not_install() -> None:
    # The image's runtime holds the server's dependencies only; PyYAML is the importer's and the dev extras'.
    code = "import sys; sys.modules['yaml'] = None; import service.app, service.torchserve.handler"
    done = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
