"""Sealed files in the data folder (issue 19 step 2): whatsapp-sessions.json and media, queued and kept, are on
disk only sealed when sealing is on, read back whole, refused (set aside, never read as something else) when
swapped or damaged; an existing folder converts in place, resumably. Real files, real stores, real AES-GCM."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from flask import Flask

from backend.api.media import serve
from backend.media import ServedMedia
from backend.sealing import KeyFile, Sealer, is_sealed
from backend.store.atomic import write_atomic
from backend.store.media import KeptMedia, MediaFiles, sent_name
from backend.store.pictures import PictureFiles
from backend.store.sealed import SealedFolder
from backend.store.sessions import SessionStore

PHONE, NAME = "5511988887777", "Maria da Silva"
PHOTO = b"\xff\xd8\xff\xe0JFIF" + bytes(range(256)) * 40


def _sealer(folder: Path) -> Sealer:
    folder.mkdir(parents=True, exist_ok=True)
    return KeyFile(folder, write_atomic).create("uma frase-senha", use_keyring=False)


def _everything(folder: Path) -> bytes:
    return b"".join(p.read_bytes() for p in folder.rglob("*") if p.is_file())


def test_the_sessions_file_is_sealed_on_disk_and_read_back(tmp_path: Path):
    sealer = _sealer(tmp_path)
    store = SessionStore(tmp_path / "whatsapp-sessions.json", sealer)
    store.save({"clientId": "c1", "status": "ready", "phoneNumber": PHONE, "metadata": {"pushname": NAME}})
    raw = (tmp_path / "whatsapp-sessions.json").read_bytes()
    assert is_sealed(raw) and PHONE.encode() not in raw and NAME.encode() not in raw
    again = SessionStore(tmp_path / "whatsapp-sessions.json", sealer)
    assert again.get("c1")["phoneNumber"] == PHONE and again.set_aside_as is None


def test_a_sessions_file_swapped_for_another_sealed_file_is_set_aside_not_read(tmp_path: Path):
    sealer = _sealer(tmp_path)
    path = tmp_path / "whatsapp-sessions.json"
    path.write_bytes(sealer.seal(json.dumps({"sessions": [{"clientId": "evil"}]}).encode(), "media/x"))
    store = SessionStore(path, sealer)
    assert store.all() == [] and store.set_aside_as is not None and store.set_aside_as.exists()


def test_media_queued_and_kept_is_sealed_and_moves_without_resealing(tmp_path: Path):
    sealer = _sealer(tmp_path)
    kept = KeptMedia(tmp_path / "media" / "kept", sealer)
    queued = MediaFiles(tmp_path / "media", kept, sealer)
    queued.write("abc123", PHOTO)
    assert queued.read("abc123") == PHOTO
    queued.finish("abc123")  # sent: moved to kept/out-abc123, a rename
    assert kept.read(sent_name("abc123")) == PHOTO and kept.size(sent_name("abc123")) == len(PHOTO)
    size, _ = kept.write_stream("in-1", [PHOTO[:100], PHOTO[100:]], 1 << 20)
    assert size == len(PHOTO) and kept.read("in-1") == PHOTO
    with pytest.raises(ValueError):
        kept.write_stream("in-2", [PHOTO], 10)
    assert PHOTO[:64] not in _everything(tmp_path) and not kept.exists("in-2")


def test_sealed_media_is_served_clear_with_ranges(tmp_path: Path):
    data = tmp_path / "sealed-on-disk"
    data.write_bytes(b"not what is served")
    app = Flask(__name__)
    with app.test_request_context(headers={"Range": "bytes=0-9"}):
        response = serve(ServedMedia(data, "image/jpeg", "f.jpg", len(PHOTO), PHOTO), "m1")
        response.direct_passthrough = False
        assert response.status_code == 206 and response.get_data() == PHOTO[:10]
    with app.test_request_context():
        response = serve(ServedMedia(data, "image/jpeg", "f.jpg", len(PHOTO), PHOTO), "m1")
        response.direct_passthrough = False
        assert response.get_data() == PHOTO and response.headers["ETag"]


def test_converting_a_folder_in_place_resumes_after_a_crash(tmp_path: Path):
    SessionStore(tmp_path / "whatsapp-sessions.json").save({"clientId": "c1", "phoneNumber": PHONE})
    clear = MediaFiles(tmp_path / "media", KeptMedia(tmp_path / "media" / "kept"))
    for i in range(3):
        clear.write(f"m{i}", PHOTO + bytes([i]))
    sealer = _sealer(tmp_path)
    folder = SealedFolder(tmp_path)
    path, role = folder.files()[0]  # a crash after the first file: the rest still clear
    path.write_bytes(sealer.seal(path.read_bytes(), role))
    assert len(folder.clear_files(sealer)) == 3
    assert folder.reseal(sealer) == 3 and folder.clear_files(sealer) == []
    assert PHONE.encode() not in _everything(tmp_path) and PHOTO[:64] not in _everything(tmp_path)
    sealed_media = MediaFiles(tmp_path / "media", None, sealer)
    assert [sealed_media.read(f"m{i}") for i in range(3)] == [PHOTO + bytes([i]) for i in range(3)]
    assert SessionStore(tmp_path / "whatsapp-sessions.json", sealer).get("c1")["phoneNumber"] == PHONE



def test_a_damaged_sessions_file_in_a_sealed_folder_lists_the_numbers_again_from_their_snapshots(tmp_path: Path):
    from backend.whatsapp.profiles import ProfileSnapshots
    from backend.whatsapp.saved import SavedNumbers
    sealer = _sealer(tmp_path)
    (tmp_path / "snapshots").mkdir()
    (tmp_path / "snapshots" / "loja").write_bytes(sealer.seal(b"tar", "snapshot/loja"))
    (tmp_path / "whatsapp-sessions.json").write_bytes(b"\x00 not sealed, not json")
    profiles = ProfileSnapshots(tmp_path, sealer, tmp_path / "run")
    saved = SavedNumbers(SessionStore(tmp_path / "whatsapp-sessions.json", sealer), tmp_path / "sessions", profiles)
    assert [r["clientId"] for r in saved.load()] == ["loja"]


def test_the_snapshot_period_is_a_setting_of_the_command_line(tmp_path: Path):
    import app
    assert app.build_settings(app.parse_args(["--data", str(tmp_path)])).snapshot_interval_s == 180
    given = app.build_settings(app.parse_args(["--data", str(tmp_path), "--snapshot-interval", "600"]))
    assert given.snapshot_interval_s == 600
    assert app.build_settings(app.parse_args(["--data", str(tmp_path), "--snapshot-interval", "1"])
                              ).snapshot_interval_s == 30, "not so often that the disk does nothing else"


def test_contacts_profile_pictures_are_sealed_and_a_clear_leftover_is_fetched_again(tmp_path: Path):
    """A contact's face is personal data: in a sealed folder the picture cache holds it sealed, reads it back
    whole, and treats a picture kept in clear before the folder was sealed as not kept (fetched again)."""
    data = tmp_path / "dados"
    sealer = _sealer(data)
    pictures = PictureFiles(data / "pictures", sealer=sealer)
    pictures.keep("client_a", "5511988887777@c.us", PHOTO)
    assert PHOTO[:64] not in _everything(data / "pictures")
    kept = pictures.read("client_a", "5511988887777@c.us", 3600, 3600)
    assert kept is not None and kept.data == PHOTO
    PictureFiles(data / "pictures").keep("client_a", "5511900001111@c.us", PHOTO)  # kept while not sealed
    assert pictures.read("client_a", "5511900001111@c.us", 3600, 3600) is None

    PictureFiles(data / "pictures").keep("client_a", "5511900002222@c.us", PHOTO)  # clear, then the folder converts
    assert SealedFolder(data).reseal(sealer) >= 1
    assert PHOTO[:64] not in _everything(data / "pictures")
    kept = pictures.read("client_a", "5511900002222@c.us", 3600, 3600)
    assert kept is not None and kept.data == PHOTO
