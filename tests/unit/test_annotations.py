"""`.list` I/O: every problem of a file collected with its line, and writes that lose nothing."""

from __future__ import annotations

from pathlib import Path

import pytest

from gsv_core.dataset.annotations import Clip, format_line, parse_list, read_list, write_list
from gsv_core.errors import DatasetError


@pytest.fixture
def audio_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "clips"
    folder.mkdir()
    for name in ("a.wav", "b.wav", "c.wav", "中文 文件.wav"):
        (folder / name).write_bytes(b"RIFF")
    return folder


def test_bom_crlf_blank_lines_and_pipe_in_text(audio_dir: Path) -> None:
    text = ("\ufeffa.wav|spk|ZH|你好|世界\r\n"
            "\r\n"
            "   \n"
            "b.wav|spk|en|Hello | there\r\n"
            "中文 文件.wav|说话人|yue|冇问题\n")
    parsed = parse_list(text, audio_dir=audio_dir)
    assert parsed.issues == ()
    assert [c.wav for c in parsed.clips] == ["a.wav", "b.wav", "中文 文件.wav"]
    assert [c.text for c in parsed.clips] == ["你好|世界", "Hello | there", "冇问题"]
    assert [c.language for c in parsed.clips] == ["zh", "en", "yue"]
    assert [c.line_number for c in parsed.clips] == [1, 4, 5]
    assert parsed.clips[2].audio_path == audio_dir / "中文 文件.wav"


def test_every_problem_is_collected_with_its_line(audio_dir: Path) -> None:
    text = ("a.wav|spk|ZH|one\n"
            "just some text\n"               # 2: bad line
            "missing.wav|spk|EN|two\n"       # 3: missing audio
            "b.wav|spk|AUTO|three\n"         # 4: unknown language
            "sub/a.wav|spk|JP|four\n"        # 5: duplicate name (and missing: no sub/)
            "c.wav|spk|EN|\n"                # 6: empty text
            "b.wav|spk|de|five\n")           # 7: unknown language and duplicate
    parsed = parse_list(text, audio_dir=audio_dir)
    found = sorted((i.line_number, i.check) for i in parsed.issues)
    assert found == [(2, "bad_line"), (3, "missing_audio"), (4, "unknown_language"),
                     (5, "duplicate_name"), (6, "bad_line"), (7, "duplicate_name"),
                     (7, "unknown_language")]
    # sub/a.wav is found by its name in the audio folder, as upstream does
    assert parsed.clips[3].audio_path == audio_dir / "a.wav"
    messages = {i.line_number: i.message for i in parsed.issues if i.check != "duplicate_name"}
    assert "Line 4" in messages[4] and "AUTO" in messages[4] and "ZH" in messages[4]
    dup = parsed.issues_of("duplicate_name")[0]
    assert "line 1" in dup.message and "a.wav" in dup.message
    with pytest.raises(DatasetError) as error:
        parsed.raise_for_issues()
    assert "7 problem(s) on lines 2, 3, 4, 5, 6, 7." in error.value.message  # each line once
    parsed.raise_for_issues(["missing_audio"][:0])  # no checks asked: nothing raised


def test_paths_resolve_against_the_audio_folder_or_the_list_folder(tmp_path: Path,
                                                                   audio_dir: Path) -> None:
    listed = tmp_path / "set.list"
    listed.write_text("clips/a.wav|s|ZH|x\nD:\\data\\b.wav|s|ZH|y\n/nowhere/c.wav|s|ZH|z\n",
                      encoding="utf-8")
    without = read_list(listed)
    assert without.clips[0].audio_path == tmp_path / "clips" / "a.wav"
    assert [i.line_number for i in without.issues_of("missing_audio")] == [2, 3]
    moved = read_list(listed, audio_dir=audio_dir)
    assert [c.audio_path for c in moved.clips] == [audio_dir / "a.wav", audio_dir / "b.wav",
                                                  audio_dir / "c.wav"]
    assert moved.issues == ()
    assert moved.clips[1].name == "b.wav"


def test_not_utf8_names_the_line(tmp_path: Path) -> None:
    listed = tmp_path / "gbk.list"
    listed.write_bytes(b"a.wav|s|ZH|ok\nb.wav|s|ZH|" + "你好".encode("gbk"))
    with pytest.raises(DatasetError, match="line 2"):
        read_list(listed, check_audio=False)
    with pytest.raises(DatasetError, match="Cannot read"):
        read_list(tmp_path / "absent.list")


def test_write_round_trip_backup_and_identical_skip(tmp_path: Path, audio_dir: Path) -> None:
    target = tmp_path / "out.list"
    user_text = "a.wav|spk|zh|你好|世界\r\n"
    target.write_text(user_text, encoding="utf-8", newline="")
    clips = parse_list(user_text, audio_dir=audio_dir).clips
    first = write_list(target, clips)
    assert first.written and first.backup == tmp_path / "out.list.bak"
    assert first.backup.read_bytes() == user_text.encode()  # user's kept
    assert target.read_text(encoding="utf-8") == "a.wav|spk|ZH|你好|世界\n"
    assert write_list(target, clips).written is False          # same content: untouched
    edited = [Clip(**{**clips[0].__dict__, "text": "新的"})]
    second = write_list(target, edited)
    assert second.backup == tmp_path / "out.list.bak.1"        # the first backup is kept
    assert second.backup.read_text(encoding="utf-8") == "a.wav|spk|ZH|你好|世界\n"
    assert read_list(target, audio_dir=audio_dir).clips[0].text == "新的"
    with pytest.raises(DatasetError, match="already exists"):
        write_list(target, clips, backup=False)
    assert read_list(target, audio_dir=audio_dir).clips[0].text == "新的"


def test_format_line_refuses_what_would_break_the_file(tmp_path: Path) -> None:
    clip = Clip(wav="a.wav", speaker="s", language="en", text="two\nlines",
                audio_path=tmp_path / "a.wav")
    with pytest.raises(DatasetError, match="line break"):
        format_line(clip)
    with pytest.raises(DatasetError, match="'\\|'"):
        format_line(Clip(wav="a|b.wav", speaker="s", language="en", text="t",
                         audio_path=tmp_path / "a.wav"))
    unknown = Clip(wav="a.wav", speaker="s", language="AUTO", text="t|u",
                   audio_path=tmp_path / "a.wav")
    assert format_line(unknown) == "a.wav|s|AUTO|t|u"   # kept as the user wrote it
