from pathlib import Path

import pytest
from conftest import ROOT, write_config

from bot.config import config_path, load_settings
from bot.errors import ConfigError


def test_shipped_config_loads_with_sources_and_all_topics():
    settings = load_settings(ROOT / "config" / "techwatch.toml", {})
    assert len(settings.sources) >= 20
    assert {s.lang for s in settings.sources} == {"en", "ja"}
    assert any("news.google.com/rss/search" in s.url for s in settings.sources)
    ids = [t["id"] for t in settings.topics["topics"]]
    assert ids == ["ai", "semiconductors", "telecom", "quantum", "energy", "biotech",
                   "critical_minerals", "space", "export_controls", "supply_chain", "research",
                   "standards", "digital_trade"]
    assert settings.storage.database == "sqlite:///data/techwatch.db"


def test_watches_are_read_beside_the_alerts(tmp_path):
    config = write_config(tmp_path, [])
    config.write_text(config.read_text() + "[[slack.watches]]\nchannel = 'C0WATCH'\n"
                      "query = '\"Open RAN\" OR 量子 -tariffs'\ntopics = ['telecom']\n"
                      "[[slack.watches]]\nchannel = 'C0WATCH'\nquery = 'Rapidus'\n"
                      "relevant_only = false\nlang = 'ja'\n")
    first, second = load_settings(config, {}).slack.watches
    assert (first.channel, first.query, first.relevant_only, first.topics, first.lang) == (
        "C0WATCH", '"Open RAN" OR 量子 -tariffs', True, ("telecom",), "")
    assert (second.query, second.relevant_only, second.lang) == ("Rapidus", False, "ja")


def test_a_watch_on_an_unknown_topic_is_one_line_at_start(tmp_path, cli):
    config = write_config(tmp_path, [])
    config.write_text(config.read_text() + "[[slack.watches]]\nchannel = 'C0WATCH'\n"
                      "query = 'Rapidus'\ntopics = ['robots']\n")
    code, _, err = cli("--config", str(config), "status")
    assert code == 2 and "slack.watches[0].topics" in err and "unknown topic 'robots'" in err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err


def test_config_path_precedence():
    assert config_path("a.toml", {"TECHWATCH_CONFIG": "b.toml"}) == Path("a.toml")
    assert config_path(None, {"TECHWATCH_CONFIG": "b.toml"}) == Path("b.toml")
    assert config_path(None, {}) == Path("config/techwatch.toml")


def test_database_url_from_environment_wins(tmp_path):
    config = write_config(tmp_path, [])
    settings = load_settings(config, {"TECHWATCH_DATABASE_URL": "sqlite:///elsewhere.db"})
    assert settings.storage.database == "sqlite:///elsewhere.db"


@pytest.mark.parametrize(("extra", "key", "problem"), [
    ("[fetch]\ntimeout_secs = 3\n", "fetch.timeout_secs", "unknown key"),
    ("[poll]\ndefault_poll_minutes = 'often'\n", "poll.default_poll_minutes", "expected a number"),
    ("[poll]\ndefault_poll_minutes = 0\n", "poll.default_poll_minutes", "greater than 0"),
    ("[classify]\nrelevance_threshold = true\n", "classify.relevance_threshold", "expected a number"),
    ("[digest]\ntime = '25:00'\n", "digest.time", "HH:MM"),
    ("[digest]\ntimezone = 'Mars/Olympus'\n", "digest.timezone", "unknown time zone"),
    ("colour = 'blue'\n", "colour", "unknown key"),
    ("[fetch\n", "(syntax)", "invalid TOML"),
    ("[digest]\ngrace_hours = 0\n", "digest.grace_hours", "greater than 0"),
    ("[fetch]\narticle_retry_minutes = 0\n", "fetch.article_retry_minutes", "greater than 0"),
    ("[poll]\nmin_minutes = 30\nmax_minutes = 20\n", "poll.min_minutes", "not be above"),
    ("[health]\nport = 70000\n", "health.port", "TCP port"),
    ("[logging]\nformat = 'xml'\n", "logging.format", "'text' or 'json'"),
    ("[slack]\nevents_port = 70000\n", "slack.events_port", "TCP port"),
    ("[slack]\nops_channel = '#ops team'\n", "slack.ops_channel", "not a channel"),
    ("[stories]\nsame_event = 1.5\n", "stories.same_event", "between 0 and 1"),
    ("[stories]\nsame_event = 0\n", "stories.same_event", "greater than 0"),
    ("[stories]\nsame_event_undated = 1.5\n", "stories.same_event_undated", "between 0 and 1"),
    ("[poll]\ntick_seconds = nan\n", "poll.tick_seconds", "a finite number"),
    ("[poll]\ntick_seconds = 0.05\n", "poll.tick_seconds", "at least 1"),
    ("[poll]\nmax_backoff_hours = inf\n", "poll.max_backoff_hours", "a finite number"),
    ("[poll]\nmin_minutes = nan\n", "poll.min_minutes", "a finite number"),
    ("[digest]\nlookback_hours = 1e300\n", "digest.lookback_hours", "at most 876000"),
    ("[digest]\nmax_age_days = 1e6\n", "digest.max_age_days", "a century"),
    ("[classify]\nrelevance_threshold = 1.5\n", "classify.relevance_threshold", "between 0 and 1"),
    ("[stories]\npreferred_sources = 'kyodo'\n", "stories.preferred_sources",
     "a list of strings"),
    ("[[slack.digests]]\nchannel = 'C1'\n[[slack.digests]]\nchannel = 'C1'\ntime = '17:00'\n",
     "slack.digests", "two digests"),
    ("[[slack.watches]]\nchannel = 'C1'\nquery = '-tariffs'\n", "slack.watches[0].query",
     "only excluded words"),
    ("[[slack.watches]]\nchannel = 'C1'\nquery = '   '\n", "slack.watches[0].query", "no words to find"),
    ("[[slack.watches]]\nchannel = 'C1'\nquery = '" + " ".join(["w"] * 40) + "'\n",
     "slack.watches[0].query", "too many words"),
    ("[[slack.watches]]\nchannel = 'C1'\n", "slack.watches[0].query", "missing"),
    ("[[slack.watches]]\nchannel = 'C1'\nquery = 'Rapidus'\nlang = 'fr'\n",
     "slack.watches[0].lang", "\"en\" or \"ja\""),
    ("[[slack.watches]]\nchannel = '#ops team'\nquery = 'Rapidus'\n", "slack.watches[0].channel",
     "not a channel"),
    ("[[slack.watches]]\nchannel = 'C1'\nquery = 'Rapidus'\nrelevant_only = 'yes'\n",
     "slack.watches[0].relevant_only", "expected"),
])
def test_malformed_main_config_names_file_key_and_problem(tmp_path, extra, key, problem):
    config = write_config(tmp_path, [])
    text = config.read_text()
    # repeat a table header -> merge the extra keys into the existing table where needed
    for table in ("[fetch]", "[extract]"):
        if extra.startswith(table):
            text = text.replace(table + "\n", extra, 1)
            extra = ""
    config.write_text(text + extra)
    with pytest.raises(ConfigError) as error:
        load_settings(config, {})
    message = str(error.value)
    assert str(config) in message and key in message and problem in message
    assert "\n" not in message


def test_unsupported_database_url_is_refused_naming_where_it_came_from(tmp_path):
    config = write_config(tmp_path, [])
    with pytest.raises(ConfigError, match="TECHWATCH_DATABASE_URL: unsupported database URL"):
        load_settings(config, {"TECHWATCH_DATABASE_URL": "mysql://db/x"})
    with pytest.raises(ConfigError) as error:  # its password is not repeated
        load_settings(config, {"TECHWATCH_DATABASE_URL": "mysql://tw:hunter2@db:5432/x"})
    assert "hunter2" not in str(error.value) and "mysql://***@db:5432/x" in str(error.value)


def test_postgresql_urls_are_taken_with_psycopg_3(tmp_path):
    config = write_config(tmp_path, [])
    for given in ("postgresql://tw@db:5432/x", "postgres://tw@db:5432/x",
                  "postgresql+psycopg://tw@db:5432/x"):
        settings = load_settings(config, {"TECHWATCH_DATABASE_URL": given})
        assert settings.storage.database == "postgresql+psycopg://tw@db:5432/x"


@pytest.mark.parametrize(("source", "key", "problem"), [
    ({"id": "a", "name": "A"}, "sources[0].url", "missing"),
    ({"id": "a", "name": "A", "url": "ftp://x/feed"}, "url", "not an http(s) URL"),
    ({"id": "A B", "name": "A", "url": "http://x/"}, "id", "lowercase"),
    ({"id": "a", "name": "A", "url": "http://x/", "lang": "de"}, "lang", "'en' or 'ja'"),
    ({"id": "a", "name": "A", "url": "http://x/", "poll_minutes": "5"}, "poll_minutes",
     "expected a number"),
    ({"id": "a", "name": "A", "url": "http://x/", "min_minutes": 30, "max_minutes": 20},
     "min_minutes", "must not be above max_minutes"),
    ({"id": "a", "name": "A", "url": "http://x/", "fetch_full_text": True}, "fetch_full_text",
     "unknown key"),
])
def test_malformed_sources_name_the_entry(tmp_path, source, key, problem):
    config = write_config(tmp_path, [source])
    with pytest.raises(ConfigError) as error:
        load_settings(config, {})
    message = str(error.value)
    assert "sources.toml" in message and key in message and problem in message


def test_duplicate_source_ids_are_refused(tmp_path):
    source = {"id": "a", "name": "A", "url": "http://x/"}
    with pytest.raises(ConfigError, match="duplicate id"):
        load_settings(write_config(tmp_path, [source, source]), {})
    again = {**source, "id": "b", "url": "http://x"}  # one feed under two ids
    with pytest.raises(ConfigError, match=r"sources\[1\] \(id 'b'\)\.url: the same feed as 'a'"):
        load_settings(write_config(tmp_path, [source, again]), {})


def test_polling_no_source_says_where_to_add_one(tmp_path, cli):
    config = write_config(tmp_path, [])
    code, _, err = cli("--config", str(config), "poll")
    assert code == 0 and "no source to poll: add [[sources]] to" in err


def test_cli_reports_config_error_in_one_line_without_traceback(tmp_path, cli):
    config = write_config(tmp_path, [{"id": "a", "name": "A", "url": "nope"}])
    code, out, err = cli("--config", str(config), "status")
    assert code == 2
    assert err.strip().count("\n") == 0 and "sources[0]" in err and "Traceback" not in err


def test_missing_config_file_is_one_clear_line(tmp_path, cli):
    code, _, err = cli("--config", str(tmp_path / "nope.toml"), "status")
    assert code == 2 and "nope.toml" in err and "not found" in err


def test_broken_taxonomy_is_reported_with_its_key(tmp_path, cli):
    config = write_config(tmp_path, [])
    topics = tmp_path / "topics.toml"
    topics.write_text('[relevance]\nus = ["US"]\n[[topics]]\nid = "ai"\nterms = "AI"\n')
    config.write_text(config.read_text().replace(str(ROOT / "config" / "topics.toml"),
                                                 str(topics)))
    code, _, err = cli("--config", str(config), "status")
    assert code == 2 and "topics[0].terms" in err and "list of non-empty strings" in err


def test_a_broken_glossary_is_reported_with_its_section_and_key(tmp_path, cli):
    config = write_config(tmp_path, [])
    (tmp_path / "glossary.toml").write_text('[people]\n"トランプ" = ["Trump"]\n',
                                            encoding="utf-8")
    code, _, err = cli("--config", str(config), "status")
    assert code == 2 and "glossary.toml: people.トランプ: expected a string" in err
    assert len(err.strip().splitlines()) == 1


def test_a_seeds_path_that_is_no_directory_is_named(tmp_path):
    config = write_config(tmp_path, [])
    config.write_text(config.read_text().replace(str(ROOT / "seeds"), str(tmp_path / "nope")))
    with pytest.raises(ConfigError, match=r"seeds: .*nope is not a directory"):
        load_settings(config, {})


def test_a_config_of_ones_own_may_leave_out_the_taxonomy_and_the_seeds(tmp_path):
    """A config written elsewhere (a service's /etc, an acceptance run's temp dir) gets the
    shipped taxonomy and seeds; a path it names must exist."""
    (tmp_path / "sources.toml").write_text("")
    config = tmp_path / "mine.toml"
    config.write_text('[classify]\nrelevance_threshold = 0.6\n')
    settings = load_settings(config, {})
    assert settings.topics_file == ROOT / "config" / "topics.toml"
    assert settings.seeds_dir == ROOT / "seeds" and settings.topics["topics"]
    config.write_text('topics = "mine-topics.toml"\n')
    with pytest.raises(ConfigError, match="topics: .*mine-topics.toml is not a file"):
        load_settings(config, {})


def test_classify_works_outside_the_checkout_with_the_shipped_config(tmp_path, cli,
                                                                      monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert config_path(None, {}) == ROOT / "config" / "techwatch.toml"
    (tmp_path / "in.jsonl").write_text(
        '{"id": "1", "title": "IBM and Rapidus extend 2nm chip partnership", "text": "IBM and '
        "Japan's Rapidus will co-develop 2nm semiconductors in Hokkaido, the US and Japanese "
        'partners said."}\n', encoding="utf-8")
    code, out, err = cli("classify", "--input", str(tmp_path / "in.jsonl"))
    assert code == 0 and '"relevant": true' in out and "semiconductors" in out, err


@pytest.mark.parametrize("key", ["sources", "topics", "glossary"])
def test_a_missing_sources_topics_or_glossary_file_is_named_by_its_key(tmp_path, key):
    config = write_config(tmp_path, [])
    config.write_text(f'{key} = "nope.toml"\n' + "\n".join(
        line for line in config.read_text().splitlines() if not line.startswith(key)))
    with pytest.raises(ConfigError, match=rf"{key}: .*nope.toml is not a file"):
        load_settings(config, {})


def test_a_health_port_from_the_environment_is_blamed_on_the_environment(tmp_path):
    config = write_config(tmp_path, [])
    with pytest.raises(ConfigError, match="TECHWATCH_HEALTH_PORT: must be a TCP port"):
        load_settings(config, {"TECHWATCH_HEALTH_PORT": "99999"})
