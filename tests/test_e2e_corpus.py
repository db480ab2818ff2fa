"""`techwatch run --once` against a local site serving 30 real article pages of the corpus."""

import json

from conftest import need_corpus, write_config
from newsite import query, serve_corpus_site


def test_real_pages_archived_once_and_second_run_is_conditional(site, tmp_path, cli):
    paths = serve_corpus_site(site, need_corpus("extraction-bench"), 30)
    config = write_config(tmp_path, [{"id": "bench", "name": "Bench", "url": site.url("/bench.xml")}])
    code, _, err = cli("--config", str(config), "run", "--once")
    assert code == 0, err
    statuses = dict(query(config, "SELECT extraction_status, count(*) FROM articles "
                                  "WHERE source_id = 'bench' GROUP BY 1"))
    assert sum(statuses.values()) == 30 and statuses.get("full", 0) >= 27, statuses
    assert query(config, "SELECT count(*) FROM articles WHERE source_id = 'bench' AND "
                         "length(text) > 500")[0][0] >= 27
    requests = len(site.requests)

    code, _, err = cli("--config", str(config), "run", "--once")
    assert code == 0 and "1 not modified" in err and "0 new items" in err
    assert [r.status for r in site.requests[requests:]] == [304]  # only the feed, answered 304
    assert all(len(site.hits(p)) == 1 for p in paths)
    title, text = query(config, "SELECT title, text FROM articles WHERE source_id = 'bench' AND "
                                "extraction_status = 'full' ORDER BY id LIMIT 1")[0]
    words = [w for w in text.split()[5:40] if w.isalpha() and len(w) > 3][:4]
    code, out, _ = cli("--config", str(config), "search", *words, "--json")
    assert code == 0 and json.loads(out.splitlines()[0])["title"] == title
