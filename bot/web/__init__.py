"""The archive on the web: read-only pages, an Atom feed of any search, and the same as JSON
(bot.web.app), served by `techwatch serve` and `techwatch run` when `[web] port` is set
(bot.web.serve)."""
