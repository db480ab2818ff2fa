"""The `techwatch classify` and `techwatch eval` contracts, end to end through the command."""

import io
import json
import sys

import pytest
from conftest import ROOT

CONFIG = str(ROOT / "config" / "techwatch.toml")
GOOD = {"id": "a1", "title": "US and Japan sign quantum computing pact",
        "text": "The United States and Japan agreed to build quantum computers together at Riken "
                "and a US national laboratory, sharing qubit designs and researchers."}
OFF = {"id": "a2", "title": "Japan and US agree on auto tariffs",
       "text": "Tokyo and Washington cut tariffs on cars and beef.", "lang": "en"}


def run(cli, monkeypatch, *args, stdin: bytes = b""):
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(stdin)))
    return cli("--config", CONFIG, *args)


def lines(*items) -> bytes:
    return "".join(i if isinstance(i, str) else json.dumps(i) + "\n" for i in items).encode()


def test_classify_writes_one_line_per_input_in_order(cli, monkeypatch):
    code, out, _ = run(cli, monkeypatch, "classify", stdin=lines(GOOD, OFF))
    results = [json.loads(line) for line in out.splitlines()]
    assert code == 0 and [r["id"] for r in results] == ["a1", "a2"]
    first, second = results
    assert first["relevant"] is True and 0.5 <= first["score"] <= 1.0
    assert "quantum" in first["topics"] and first["evidence"]["quantum"]
    assert set(first["evidence"]) == set(first["topics"])
    assert first["actors"]["us"] and first["actors"]["japan"]
    assert first["category"] == "agreement"  # the labeling guide's category, a contract
    assert second["relevant"] is False and 0.0 <= second["score"] < 0.5
    assert second["category"] == "non_tech"


def test_bad_lines_get_an_error_in_their_place(cli, monkeypatch):
    code, out, err = run(cli, monkeypatch, "classify", stdin=lines(
        GOOD, "{not json\n", "\n", "[1, 2]\n", {"id": "x", "title": 5}, {"id": "y"}, OFF))
    results = [json.loads(line) for line in out.splitlines()]
    assert code == 0 and len(results) == 6
    assert [r.get("id") for r in results] == ["a1", None, None, "x", "y", "a2"]
    assert results[1]["line"] == 2 and "not JSON" in results[1]["error"]
    assert results[2]["line"] == 4 and "JSON object" in results[2]["error"]
    assert "'title' must be a string" in results[3]["error"]
    assert "needs a 'title' or a 'text'" in results[4]["error"]
    assert "relevant" in results[5] and "Traceback" not in err


def test_empty_input_gives_empty_output(cli, monkeypatch):
    assert run(cli, monkeypatch, "classify", stdin=b"") == (0, "", "")


def test_non_utf8_input_is_read_not_fatal(cli, monkeypatch):
    sjis = json.dumps({"id": "j", "title": "日米が量子で協力", "text": "量子技術"},
                      ensure_ascii=False).encode("shift_jis") + b"\n"
    code, out, _ = run(cli, monkeypatch, "classify", stdin=sjis + lines(GOOD))
    results = [json.loads(line) for line in out.splitlines()]
    assert code == 0 and len(results) == 2 and results[1]["id"] == "a1"


def test_input_file_and_unreadable_file(cli, monkeypatch, tmp_path):
    path = tmp_path / "in.jsonl"
    path.write_bytes(lines(GOOD))
    code, out, _ = run(cli, monkeypatch, "classify", "--input", str(path))
    assert code == 0 and json.loads(out)["id"] == "a1"
    code, out, err = run(cli, monkeypatch, "classify", "--input", str(tmp_path / "missing"))
    assert code == 1 and out == "" and "cannot read" in err and err.count("\n") == 1


def labeled(id_, title, text, relevant, topics=(), borderline=False, lang="en"):
    return {"id": id_, "title": title, "text": text, "relevant": relevant, "topics": list(topics),
            "borderline": borderline, "lang": lang, "event": None}


def test_eval_scores_relevance_and_topics_and_lists_misses(cli, monkeypatch, tmp_path):
    rows = [
        labeled("r1", GOOD["title"], GOOD["text"], True, ["quantum", "research"]),
        labeled("r2", "NASA and JAXA sign Artemis rover deal",
                "NASA and Japan's JAXA agreed that Japan will build a lunar rover for Artemis.",
                True, ["space"]),
        labeled("n1", OFF["title"], OFF["text"], False),
        labeled("n2", "Sony ships a camera", "Sony sells a camera in the US.", False),
        labeled("b1", "ambiguous", "US and Japan quantum maybe", True, ["quantum"], True),
        labeled("m1", "Japan's chip subsidy", "Japan funds a chip fab, and US firm Micron joins "
                "Japanese partners in a 2nm chip research pact.", True, ["semiconductors"]),
    ]
    path = tmp_path / "labeled.jsonl"
    path.write_bytes(lines(*rows))
    code, out, _ = run(cli, monkeypatch, "eval", str(path), "--json")
    report = json.loads(out)
    assert code == 0 and report["items"] == 5 and report["skipped_borderline"] == 1
    assert report["relevance"]["support"] == 3
    assert report["topics"]["space"]["support"] == 1 and report["topics"]["space"]["f1"] == 1.0
    assert report["by_language"]["en"]["items"] == 5
    assert 0 <= report["topic_micro"]["f1"] <= 1 and "topic_macro_f1" in report
    missed = {m["id"]: m for m in report["misclassified"]}
    for m in missed.values():
        assert m["kind"] in ("false positive", "false negative", "topics") and "evidence" in m
        assert m["category"]  # the guide's category it was put in
    categories = report["categories"]  # named by the classifier: items, of which labeled relevant
    assert sum(c["items"] for c in categories.values()) == 5
    assert categories["non_tech"] == {"items": 1, "labeled_relevant": 0}  # the tariff text
    assert categories["customer"] == {"items": 1, "labeled_relevant": 0}  # Sony sells
    code, text, _ = run(cli, monkeypatch, "eval", str(path))
    assert code == 0 and "Relevance (5 items, 1 borderline skipped)" in text
    assert "Categories of the labeling guide" in text
    assert "micro" in text and "macro F1" in text and "Misclassified" in text


@pytest.fixture
def dev_set():
    from conftest import need_corpus

    return need_corpus("labeled", "dev.jsonl")


def test_quality_targets_hold_on_the_labeled_dev_set(dev_set):
    """Not below the figures of issue 20: relevance F1 >= 0.965 and precision >= 0.95, topic
    micro-F1 >= 0.90, no topic with support >= 5 below 0.70 F1, Japanese items no worse than
    0.90 F1. Fails when a change lowers quality below them."""
    from test_classify import CLASSIFIER

    from bot.classify.evaluate import evaluate

    rows = [json.loads(line) for line in dev_set.read_text(encoding="utf-8").splitlines()]
    report = evaluate(rows, CLASSIFIER)
    assert report.relevance.f1 >= 0.965 and report.relevance.precision >= 0.95, report.relevance
    assert report.topic_micro.f1 >= 0.90, report.topic_micro
    assert report.by_language["ja"][1].f1 >= 0.90, report.by_language
    weak = {t: s.f1 for t, s in report.topics.items() if s.support >= 5 and s.f1 < 0.70}
    assert not weak, weak


def test_eval_stories_groups_syndicated_copies_and_keeps_stories_apart(cli, monkeypatch,
                                                                      tmp_path):
    body = ("IBM and Rapidus agreed on Tuesday to extend their partnership to chips below one "
            "nanometre, building on two years of joint work on 2nm logic in Hokkaido, where IBM "
            "engineers have helped ramp up the pilot line. Rapidus aims for mass production in "
            "2027 with support from Japan's industry ministry.")
    other = ("NASA and JAXA agreed a schedule for the pressurized lunar rover that Japan will "
             "supply for Artemis, with a Japanese astronaut to land on the Moon later this "
             "decade under the agreement signed in Washington.")
    rows = [labeled("a1", "IBM, Rapidus extend chip pact", body, True) | {"event": "ibm"},
            labeled("a2", "IBM and Rapidus widen partnership", body.replace("Tuesday", "Wed"),
                    True) | {"event": "ibm"},
            labeled("a3", "Rapidus, IBM go below 1nm", body + " Reporting by staff.", True)
            | {"event": "ibm"},
            labeled("b1", "Japan to build Artemis rover", other, True) | {"event": "rover"},
            labeled("c1", "Chip subsidy", "Japan gives a domestic chipmaker a subsidy.", False)]
    path = tmp_path / "events.jsonl"
    path.write_bytes(lines(*rows))
    code, out, _ = run(cli, monkeypatch, "eval", str(path), "--stories", "--json")
    report = json.loads(out)
    assert code == 0 and report["pairs_labeled"] == 3
    assert report["precision"] == 1.0 and report["recall"] == 1.0
    assert report["found_stories"] == report["labeled_stories"] == 3


def test_hostile_lines_each_get_an_error_and_the_output_stays_valid_json(cli, monkeypatch):
    hostile = [
        "\ufeff" + json.dumps(GOOD) + "\n",  # a byte-order mark before the first line
        '{"id": "cr",\r"title": "US and Japan sign a chip pact"}\n',  # a stray carriage return
        '{"id": NaN, "title": "x"}\n', '{"id": 1e999, "title": "x"}\n',
        '{"id": ' + "9" * 5000 + ', "title": "x"}\n', "[" * 100_000 + "]" * 100_000 + "\n",
        '{"id": "s\\ud800", "title": "US and Japan \\ud800"}\n', json.dumps(OFF) + "\n"]
    code, out, err = run(cli, monkeypatch, "classify", stdin="".join(hostile).encode())
    results = [json.loads(line) for line in out.splitlines()]  # every line valid JSON
    assert code == 0 and len(results) == len(hostile) and "Traceback" not in err
    assert results[0]["id"] == "a1" and "relevant" in results[0]
    assert results[1]["id"] == "cr" and "relevant" in results[1]
    assert [r["line"] for r in results[2:6]] == [3, 4, 5, 6]
    assert all("not usable JSON" in r["error"] for r in results[2:6])
    assert results[6]["id"] == "s\ud800" and results[7]["id"] == "a2"


@pytest.mark.parametrize("sink", ["| head -1", "> /dev/full"])
def test_a_reader_that_goes_away_or_a_full_disk_is_not_a_read_error(tmp_path, sink):
    import subprocess

    path = tmp_path / "many.jsonl"
    path.write_bytes(lines(*[dict(GOOD, id=f"a{i}") for i in range(3000)]))
    command = (f"{sys.executable} -m bot --config {CONFIG} classify --input {path} {sink}; "
               "echo exit=${PIPESTATUS[0]}")
    result = subprocess.run(["bash", "-c", command], capture_output=True, text=True, cwd=ROOT,
                            timeout=120)
    assert "cannot read" not in result.stderr and "Traceback" not in result.stderr
    if sink.startswith("|"):
        assert result.stdout.startswith('{"id": "a0"') and "exit=0" in result.stdout
    else:
        assert "cannot write the output: No space left on device" in result.stderr
        assert "exit=1" in result.stdout


def test_eval_skips_malformed_rows_counts_unknown_topics_and_refuses_an_empty_file(
        cli, monkeypatch, tmp_path):
    good = labeled("g", GOOD["title"], GOOD["text"], True, ["quantum", "robotics"])
    bad = [dict(good, id="b1", title=None, text=5), dict(good, id="b2", relevant="false"),
           dict(good, id="b3", topics="ai"), dict(good, id="b4", event=["x"])]
    path = tmp_path / "labeled.jsonl"
    path.write_bytes(lines(good, *bad))
    code, out, err = run(cli, monkeypatch, "eval", str(path), "--json")
    report = json.loads(out)
    assert code == 0 and report["items"] == 1 and err.count("eval: skipped line") == 4
    assert "'robotics' is not in the taxonomy" in err
    assert report["topic_micro"]["support"] == 2 and report["topic_micro"]["recall"] <= 0.5
    code, out, err = run(cli, monkeypatch, "eval", str(path), "--stories")
    assert code == 1 and "no 'event' labels" in err and "Traceback" not in err
    path.write_bytes(lines(dict(good, event="e1"), dict(good, id="g2", event="e1")))
    code, out, err = run(cli, monkeypatch, "eval", str(path), "--stories")
    assert code == 0 and "Same-story pairs: 1 found, 1 labeled" in out
    (tmp_path / "empty.jsonl").write_text("\n")
    code, out, err = run(cli, monkeypatch, "eval", str(tmp_path / "empty.jsonl"))
    assert code == 1 and "no labeled items to score" in err and out == ""
    # texts without labels (a classify input) are no scores of 0.000 but an error
    unlabeled = {k: good[k] for k in ("id", "title", "text")}
    path.write_bytes(lines(unlabeled, dict(unlabeled, id="u2")))
    code, out, err = run(cli, monkeypatch, "eval", str(path))
    assert code == 1 and "no 'relevant' label" in err and "no labeled items" in err and out == ""
    # a file that is no JSON Lines at all says so in a few lines, not one a line
    path.write_bytes(bytes(range(256)) * 200)
    code, out, err = run(cli, monkeypatch, "eval", str(path))
    assert code == 1 and len(err.splitlines()) <= 12 and "more lines" in err


@pytest.mark.parametrize("command", ["status", "status --json", "stats", "search Japan"])
def test_report_commands_end_quietly_when_the_reader_goes_away(tmp_path, command):
    import subprocess

    from conftest import write_config

    config = write_config(tmp_path, [])
    base = f"{sys.executable} -m bot --config {config} {command}"
    # `true` exits at once: every write of the command meets a closed pipe
    result = subprocess.run(["bash", "-c", f"{base} | true; echo exit=${{PIPESTATUS[0]}};"
                             f" {base} > /dev/full; echo full=$?"], capture_output=True,
                            text=True, cwd=ROOT, timeout=120)
    assert "exit=0" in result.stdout and "Traceback" not in result.stderr
    assert "full=1" in result.stdout and "No space left on device" in result.stderr
